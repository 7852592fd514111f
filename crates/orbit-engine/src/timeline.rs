//! Every profile's timeline: where its events sit in the log, ordered by event time.
//!
//! The store keeps no index of events by profile (ADR 0005): a random-key index costs
//! a B-tree page per event written. The timelines live here instead, rebuilt from the
//! log's placements at start-up, updated after each commit, and followed through
//! merges. Reads see only committed events.

use foldhash::HashMap;
use orbit_core::{ProfileId, WorkspaceId};
use orbit_store::LogPosition;

/// One event on a timeline, and where a page of a timeline ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimelineCursor {
    /// The event time in epoch milliseconds.
    pub timestamp_ms: i64,
    /// The log position, which orders events of the same millisecond.
    pub position: LogPosition,
}

/// Every workspace's profile timelines.
#[derive(Debug, Default)]
pub struct Timelines {
    workspaces: HashMap<WorkspaceId, HashMap<ProfileId, Vec<TimelineCursor>>>,
    events: usize,
}

impl Timelines {
    /// Puts an event on a profile's timeline, in event-time order.
    pub fn record(&mut self, workspace: &WorkspaceId, profile: ProfileId, entry: TimelineCursor) {
        // Called per event: the workspace id is cloned only the first time.
        if !self.workspaces.contains_key(workspace) {
            self.workspaces.insert(workspace.clone(), HashMap::default());
        }
        let Some(profiles) = self.workspaces.get_mut(workspace) else {
            return;
        };
        let timeline = profiles.entry(profile).or_default();
        // Events mostly arrive in time order: appending is the common case.
        if timeline.last().is_none_or(|last| *last < entry) {
            timeline.push(entry);
            self.events += 1;
        } else {
            let at = timeline.partition_point(|e| *e < entry);
            if timeline.get(at) != Some(&entry) {
                timeline.insert(at, entry);
                self.events += 1;
            }
        }
    }

    /// Moves the merged profile's events onto the survivor's timeline.
    pub fn merge(&mut self, workspace: &WorkspaceId, survivor: ProfileId, merged: ProfileId) {
        let Some(profiles) = self.workspaces.get_mut(workspace) else {
            return;
        };
        let Some(moved) = profiles.remove(&merged) else {
            return;
        };
        let kept = profiles.entry(survivor).or_default();
        let mut both = Vec::with_capacity(kept.len() + moved.len());
        let (mut a, mut b) = (kept.iter().peekable(), moved.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x <= y => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            both.extend(next.copied());
        }
        *kept = both;
    }

    /// Removes a profile's timeline; returns the positions it held.
    pub fn remove(&mut self, workspace: &WorkspaceId, profile: ProfileId) -> Vec<LogPosition> {
        let removed: Vec<LogPosition> = self
            .workspaces
            .get_mut(workspace)
            .and_then(|profiles| profiles.remove(&profile))
            .map(|timeline| timeline.iter().map(|e| e.position).collect())
            .unwrap_or_default();
        self.events -= removed.len();
        removed
    }

    /// The positions of every event on a profile's timeline, oldest first.
    pub fn positions(&self, workspace: &WorkspaceId, profile: ProfileId) -> Vec<LogPosition> {
        self.timeline(workspace, profile)
            .iter()
            .map(|e| e.position)
            .collect()
    }

    /// Up to `limit` events newest first, strictly older than `after` when given.
    pub fn page(
        &self,
        workspace: &WorkspaceId,
        profile: ProfileId,
        after: Option<TimelineCursor>,
        limit: usize,
    ) -> Vec<TimelineCursor> {
        let timeline = self.timeline(workspace, profile);
        let end = after.map_or(timeline.len(), |cursor| timeline.partition_point(|e| *e < cursor));
        timeline[..end].iter().rev().take(limit).copied().collect()
    }

    /// Gives a profile that has no timeline yet the one `entries` make, which must be
    /// in order (as a snapshot's are).
    pub fn insert_ordered(
        &mut self,
        workspace: &WorkspaceId,
        profile: ProfileId,
        entries: Vec<TimelineCursor>,
    ) {
        debug_assert!(entries.is_sorted(), "a timeline is in order");
        if entries.is_empty() {
            return;
        }
        let profiles = self.workspaces.entry(workspace.clone()).or_default();
        self.events += entries.len();
        if let Some(replaced) = profiles.insert(profile, entries) {
            self.events -= replaced.len();
        }
    }

    /// Every profile's newest event time, epoch milliseconds.
    pub fn newest(&self) -> impl Iterator<Item = (&WorkspaceId, ProfileId, i64)> {
        self.workspaces.iter().flat_map(|(workspace, profiles)| {
            profiles
                .iter()
                .filter_map(move |(id, timeline)| Some((workspace, *id, timeline.last()?.timestamp_ms)))
        })
    }

    /// Every timeline, by workspace and profile.
    #[cfg(test)]
    pub fn all(&self) -> std::collections::BTreeMap<(WorkspaceId, ProfileId), Vec<TimelineCursor>> {
        self.workspaces
            .iter()
            .flat_map(|(ws, profiles)| profiles.iter().map(|(p, t)| ((ws.clone(), *p), t.clone())))
            .filter(|(_, t)| !t.is_empty())
            .collect()
    }

    /// How many events every timeline holds together.
    pub fn event_count(&self) -> usize {
        self.events
    }

    fn timeline(&self, workspace: &WorkspaceId, profile: ProfileId) -> &[TimelineCursor] {
        self.workspaces
            .get(workspace)
            .and_then(|profiles| profiles.get(&profile))
            .map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn entry(ms: i64, position: i64) -> TimelineCursor {
        TimelineCursor {
            timestamp_ms: ms,
            position: LogPosition(position),
        }
    }

    fn id(seed: u128) -> ProfileId {
        ProfileId::mint(Timestamp::UNIX_EPOCH, seed)
    }

    #[test]
    fn timelines_order_by_event_time_then_position_and_page_newest_first() {
        let (ws, p) = (WorkspaceId::default_workspace(), id(1));
        let mut t = Timelines::default();
        for (ms, pos) in [(30, 1), (10, 2), (20, 3), (40, 4), (20, 5)] {
            t.record(&ws, p, entry(ms, pos));
        }
        t.record(&ws, p, entry(10, 2));
        let first = t.page(&ws, p, None, 3);
        assert_eq!(first, vec![entry(40, 4), entry(30, 1), entry(20, 5)]);
        let rest = t.page(&ws, p, first.last().copied(), 10);
        assert_eq!(
            rest,
            vec![entry(20, 3), entry(10, 2)],
            "a re-recorded event is kept once"
        );
        assert!(
            t.page(&WorkspaceId::parse("other").expect("a valid id"), p, None, 10)
                .is_empty()
        );
    }

    #[test]
    fn a_merge_interleaves_both_timelines_and_removal_returns_every_position() {
        let ws = WorkspaceId::default_workspace();
        let (old, young) = (id(1), id(2));
        let mut t = Timelines::default();
        t.record(&ws, old, entry(10, 1));
        t.record(&ws, old, entry(30, 3));
        t.record(&ws, young, entry(20, 2));
        t.record(&ws, young, entry(40, 4));
        t.merge(&ws, old, young);
        assert_eq!(t.positions(&ws, old), [1, 2, 3, 4].map(LogPosition).to_vec());
        assert!(t.positions(&ws, young).is_empty());
        assert_eq!(t.event_count(), 4);
        assert_eq!(t.remove(&ws, old).len(), 4);
        assert_eq!(t.event_count(), 0);
    }
}
