//! The audience indexes from a snapshot, brought to what a rebuild from the log would
//! give at the snapshot's position (ADR 0010); the log after it is replayed next.
//!
//! # Contract
//! What changed while the snapshot aged, outside the log after its position, is read
//! from its sources and applied, never assumed:
//! - profiles merged since are folded into their survivors, and erased ones (whose
//!   events left the log) forgotten, by comparing every profile the snapshot holds
//!   with the identity graph as stored now;
//! - traits and merged-id aliases are set from the stored profiles, as a rebuild does;
//! - a segment's announced membership is kept only while its stored baseline is the
//!   one it rests on; a baseline saved at or after the snapshot's position starts it
//!   over (the transitions after it are in the log replayed next); an older baseline
//!   the snapshot does not rest on cannot be brought up to date, and the snapshot is
//!   refused; segments without a stored baseline (deleted) are forgotten;
//! - tag values are not in the snapshot: start-up computes them from the definitions.

use super::index::{AudienceIndex, IndexImage, MalformedImage};
use super::live::AudienceIndexes;
use crate::resolver::Resolver;
use orbit_core::{ProfileId, SegmentId, WorkspaceId};
use orbit_store::{LogPosition, MembershipBaseline};
use std::collections::HashMap;

/// Why a snapshot cannot be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The snapshot is not one this code wrote.
    #[error(transparent)]
    Malformed(#[from] MalformedImage),
    /// A segment was saved again before the snapshot's position, onto a baseline the
    /// snapshot does not hold.
    #[error("segment {segment} has a baseline the snapshot does not rest on")]
    StaleBaseline {
        /// The segment.
        segment: String,
    },
}

/// The baselines stored now, by workspace.
pub(crate) type StoredBaselines = Vec<(WorkspaceId, SegmentId, MembershipBaseline)>;

impl AudienceIndexes {
    /// The indexes of a snapshot taken at `position`, reconciled with the profiles and
    /// baselines as stored now; see the module's contract.
    pub(crate) fn restore(
        images: Vec<(WorkspaceId, IndexImage)>,
        position: LogPosition,
        resolver: &Resolver,
        baselines: &StoredBaselines,
    ) -> Result<Self, RestoreError> {
        let mut indexes = HashMap::new();
        for (workspace, image) in images {
            let Some(state) = resolver.get(&workspace) else {
                // Every profile of the workspace is gone, with its events.
                continue;
            };
            let mut index = image.into_index()?;
            follow_merges_and_erasures(&mut index, |id| state.graph.canonical(id));
            indexes.insert(workspace, index);
        }
        let mut audiences = Self::from_indexes(indexes, position);
        audiences.set_profiles(resolver);
        let mut stored: HashMap<&WorkspaceId, Vec<(&SegmentId, &MembershipBaseline)>> = HashMap::new();
        for (workspace, segment, baseline) in baselines {
            stored.entry(workspace).or_default().push((segment, baseline));
        }
        for (workspace, index) in audiences.indexes_mut() {
            let Some(state) = resolver.get(workspace) else {
                continue;
            };
            let saved = stored.remove(workspace).unwrap_or_default();
            let gone: Vec<String> = index
                .announced_segments()
                .filter(|s| !saved.iter().any(|(id, _)| id.as_str() == *s))
                .map(str::to_owned)
                .collect();
            for segment in gone {
                index.forget_announced(&segment);
            }
            for (segment, baseline) in saved {
                let rests_on = index
                    .announced(segment.as_str())
                    .is_some_and(|a| a.rests_on(baseline.position.0, &baseline.members));
                if rests_on {
                    continue;
                }
                if baseline.position < position {
                    return Err(RestoreError::StaleBaseline {
                        segment: segment.to_string(),
                    });
                }
                index.set_stored_baseline(segment.as_str(), baseline, |p| state.graph.canonical(p));
            }
        }
        Ok(audiences)
    }
}

/// Folds every profile of `index` that `canonical` no longer names as itself into its
/// survivor, and forgets those it names as nobody (erased).
fn follow_merges_and_erasures(index: &mut AudienceIndex, canonical: impl Fn(ProfileId) -> Option<ProfileId>) {
    let held: Vec<ProfileId> = index.live().iter().filter_map(|n| index.profile(n)).collect();
    for id in held {
        match canonical(id) {
            Some(live) if live == id => {}
            Some(survivor) => index.merge(survivor, id),
            None => index.erase(id),
        }
    }
}
