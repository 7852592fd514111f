//! The date and schedule entries the runner holds in memory: the next firing of each,
//! in a heap, with the maps that say which heap entries are still current.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use jiff::Timestamp;
use orbit_core::journey::JourneyEvent;
use orbit_core::{JourneyId, ProfileId, WorkspaceId};
use orbit_store::{DateTimerKey, DateTimerRecord, EntryMark, LogPosition};

/// A journey by a small number: the heap holds millions of timers.
pub(super) type Slot = u32;

/// What comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum DateTimer {
    /// A person's next occurrence of a trait's date.
    Trait(Slot, ProfileId),
    /// A person's date after one event of theirs.
    Event(Slot, ProfileId, LogPosition),
    /// A schedule's next occurrence.
    Schedule(Slot),
}

/// The date and schedule entries the runner holds.
#[derive(Debug, Default)]
pub(in crate::journeys) struct DateEntries {
    pub(super) slots: Vec<(WorkspaceId, JourneyId)>,
    pub(super) slot_of: HashMap<(WorkspaceId, JourneyId), Slot>,
    pub(super) heap: BinaryHeap<Reverse<(Timestamp, DateTimer)>>,
    pub(super) by_trait: HashMap<(Slot, ProfileId), Timestamp>,
    pub(super) by_event: HashMap<(Slot, ProfileId, LogPosition), (Timestamp, JourneyEvent)>,
    pub(super) schedules: HashMap<Slot, Timestamp>,
    pub(super) marks: HashMap<Slot, EntryMark>,
    pub(super) marked_at: Option<Timestamp>,
}

impl DateEntries {
    pub(super) fn slot(&mut self, workspace: &WorkspaceId, journey: &JourneyId) -> Slot {
        let key = (workspace.clone(), journey.clone());
        if let Some(slot) = self.slot_of.get(&key) {
            return *slot;
        }
        let slot = Slot::try_from(self.slots.len()).unwrap_or(Slot::MAX);
        self.slots.push(key.clone());
        self.slot_of.insert(key, slot);
        slot
    }

    pub(super) fn journey(&self, slot: Slot) -> Option<&(WorkspaceId, JourneyId)> {
        self.slots.get(slot as usize)
    }

    pub(super) fn is_current(&self, at: Timestamp, timer: &DateTimer) -> bool {
        match timer {
            DateTimer::Trait(slot, profile) => self.by_trait.get(&(*slot, *profile)) == Some(&at),
            DateTimer::Event(slot, profile, position) => self
                .by_event
                .get(&(*slot, *profile, *position))
                .is_some_and(|(due, _)| *due == at),
            DateTimer::Schedule(slot) => self.schedules.get(slot) == Some(&at),
        }
    }

    /// When the next date or schedule entry is due.
    pub(in crate::journeys) fn next_due(&mut self) -> Option<Timestamp> {
        while let Some(Reverse((at, timer))) = self.heap.peek() {
            if self.is_current(*at, timer) {
                return Some(*at);
            }
            self.heap.pop();
        }
        None
    }

    pub(super) fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, DateTimer)> {
        while let Some(Reverse((at, timer))) = self.heap.peek().copied() {
            if at > now {
                return None;
            }
            self.heap.pop();
            if self.is_current(at, &timer) {
                return Some((at, timer));
            }
        }
        None
    }

    pub(super) fn set_trait(&mut self, slot: Slot, profile: ProfileId, next: Option<Timestamp>) {
        match next {
            Some(at) if self.by_trait.get(&(slot, profile)) != Some(&at) => {
                self.by_trait.insert((slot, profile), at);
                self.heap.push(Reverse((at, DateTimer::Trait(slot, profile))));
            }
            Some(_) => {}
            None => {
                self.by_trait.remove(&(slot, profile));
            }
        }
    }

    pub(super) fn add_event(&mut self, slot: Slot, record: DateTimerRecord) {
        let (profile, position) = (record.key.profile_id, record.key.position);
        self.heap.push(Reverse((
            record.due_at,
            DateTimer::Event(slot, profile, position),
        )));
        self.by_event
            .insert((slot, profile, position), (record.due_at, record.event));
    }

    pub(super) fn set_schedule(&mut self, slot: Slot, next: Option<Timestamp>) {
        match next {
            Some(at) => {
                self.schedules.insert(slot, at);
                self.heap.push(Reverse((at, DateTimer::Schedule(slot))));
            }
            None => {
                self.schedules.remove(&slot);
            }
        }
    }

    /// The journey's mark, or one at `since` when it has none yet.
    pub(super) fn mark(&mut self, slot: Slot, since: Timestamp) -> &mut EntryMark {
        let (workspace_id, journey_id) = self.slots[slot as usize].clone();
        self.marks.entry(slot).or_insert(EntryMark {
            workspace_id,
            journey_id,
            done_until: since,
            in_progress: None,
        })
    }

    /// Forgets a journey's planned entries, and with `with_events` its dates set after
    /// events too, answering those to delete from the store.
    pub(super) fn forget(&mut self, slot: Slot, with_events: bool) -> Vec<DateTimerKey> {
        self.by_trait.retain(|(s, _), _| *s != slot);
        self.schedules.remove(&slot);
        if !with_events {
            return Vec::new();
        }
        let Some((workspace_id, journey_id)) = self.journey(slot).cloned() else {
            return Vec::new();
        };
        let mut gone = Vec::new();
        self.by_event.retain(|(s, profile, position), _| {
            if *s != slot {
                return true;
            }
            gone.push(DateTimerKey {
                workspace_id: workspace_id.clone(),
                journey_id: journey_id.clone(),
                profile_id: *profile,
                position: *position,
            });
            false
        });
        gone
    }
}
