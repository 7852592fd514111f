//! A dynamic segment's membership as Orbit announced it (ADR 0007): a stored baseline
//! plus the transition events appended after it, replayed in log order.
//!
//! # Contract
//! However the state was reached (events recorded as they commit, profiles merged
//! live, a snapshot brought up to date), it equals a replay of the log over the
//! baseline with merged-away ids read as their survivors: a profile's membership is
//! that of its last transition after the baseline, or, with none, whether the
//! baseline names it or anyone merged into it.

use foldhash::HashMap;
use orbit_core::ProfileId;
use roaring::RoaringBitmap;

/// A dynamic segment's membership as its transition events announced it.
#[derive(Debug, Default, Clone)]
pub struct Announced {
    /// The log position of the baseline the events replay over.
    pub since: i64,
    /// The members announced, as dense numbers.
    pub members: RoaringBitmap,
    /// The position of the last transition applied, per profile that had one.
    pub(super) last: HashMap<u32, i64>,
    /// Which baseline this is: a digest of the members it was saved with, since a
    /// segment saved twice without an event between has two baselines at one position.
    pub(super) baseline: [u8; 16],
}

impl Announced {
    /// A membership a baseline sets, before any transition; `saved` is the member list
    /// as the baseline was stored.
    pub(super) fn from_baseline(since: i64, members: RoaringBitmap, saved: &[ProfileId]) -> Self {
        Self {
            since,
            members,
            last: HashMap::default(),
            baseline: baseline_digest(saved),
        }
    }

    /// Whether this state was built on the baseline saved at `since` with `saved`.
    pub fn rests_on(&self, since: i64, saved: &[ProfileId]) -> bool {
        self.since == since && self.baseline == baseline_digest(saved)
    }

    /// Applies a transition appended at `position`: later ones decide.
    pub(super) fn set(&mut self, n: u32, member: bool, position: i64) {
        if member {
            self.members.insert(n);
        } else {
            self.members.remove(n);
        }
        self.last.insert(n, position);
    }

    /// Folds `merged`'s announced state into `survivor`'s, as the contract says: the
    /// later transition of the two decides; with none, either being a baseline member
    /// makes the survivor one.
    pub(super) fn merge(&mut self, survivor: u32, merged: u32) {
        let theirs = self.last.remove(&merged);
        let was_member = self.members.remove(merged);
        let ours = self.last.get(&survivor).copied();
        match (ours, theirs) {
            (None, None) if was_member => {
                self.members.insert(survivor);
            }
            (Some(ours), Some(theirs)) if theirs > ours => self.set(survivor, was_member, theirs),
            (None, Some(theirs)) => self.set(survivor, was_member, theirs),
            _ => {}
        }
    }

    /// Forgets a retired number.
    pub(super) fn forget(&mut self, n: u32) {
        self.members.remove(n);
        self.last.remove(&n);
    }
}

/// A digest of a baseline's member list, whatever order it was stored in.
fn baseline_digest(saved: &[ProfileId]) -> [u8; 16] {
    let mut ids: Vec<&[u8; 16]> = saved.iter().map(ProfileId::as_bytes).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut hasher = blake3::Hasher::new();
    for id in ids {
        hasher.update(id);
    }
    let mut digest = [0u8; 16];
    digest.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    digest
}
