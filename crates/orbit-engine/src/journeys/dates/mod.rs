//! Date and schedule entries: a person enters on a datetime trait's anniversary or a
//! time after a trait or an event, at a local time of day; everyone in a segment
//! enters on a schedule.
//!
//! The next firing of each is held in a heap in memory. One read from a trait is
//! worked out again from the profile at start-up; one set after an event is stored
//! when the event is matched. Each journey's mark says up to when every occurrence was
//! entered, so after downtime the occurrences that came due fire once (or are skipped
//! as late, by the entry's lateness limit), and none fires twice.

mod firing;
mod memory;

use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use orbit_core::journey::{
    DateRule, DateSource, Entry, JourneyDefinition, JourneyEvent, PersonFacts, Schedule, event_matches,
};
use orbit_core::{JourneyId, ProfileId, WorkspaceId};
use orbit_store::{DateTimerKey, DateTimerRecord, JourneyBatch};
use serde_json::Value;

use super::JourneyRunner;
use super::facts::LiveFacts;
use super::state::RunnerState;
use crate::EngineError;

pub(super) use memory::DateEntries;

/// A date entry's parts.
pub(super) struct DateEntry<'a> {
    pub(super) from: &'a DateSource,
    pub(super) rule: DateRule,
    pub(super) lateness_limit: Option<orbit_core::journey::Delay>,
}

pub(super) fn date_entry(definition: &JourneyDefinition) -> Option<DateEntry<'_>> {
    match &definition.entry {
        Entry::Date {
            from,
            repeat,
            offset,
            time_of_day,
            lateness_limit,
        } => Some(DateEntry {
            from,
            rule: DateRule {
                repeat: *repeat,
                offset: *offset,
                time_of_day: *time_of_day,
            },
            lateness_limit: *lateness_limit,
        }),
        _ => None,
    }
}

/// What a live journey takes entries with.
pub(super) struct Live {
    pub(super) version: u32,
    pub(super) definition: Arc<JourneyDefinition>,
    /// When the version went live.
    pub(super) since: Option<Timestamp>,
}

pub(super) fn live(state: &RunnerState, workspace: &WorkspaceId, journey: &JourneyId) -> Option<Live> {
    let journey = state.journeys.get(&(workspace.clone(), journey.clone()))?;
    let (version, definition) = journey.taking_entries()?;
    Some(Live {
        version,
        definition: Arc::clone(definition),
        since: journey.live_since,
    })
}

/// A person's time zone from their `time_zone` trait, else the workspace's.
fn zone_of(own: Option<&Value>, workspace: &TimeZone) -> TimeZone {
    own.and_then(Value::as_str)
        .and_then(|name| TimeZone::get(name).ok())
        .unwrap_or_else(|| workspace.clone())
}

/// An event's time as a date entry reads it.
fn event_time(event: &JourneyEvent) -> Value {
    Value::String(event.at.to_string())
}

impl JourneyRunner {
    /// Reads the stored marks and date entries, and works out every live journey's
    /// next date and schedule occurrences.
    pub(super) async fn load_dates(&self, state: &mut RunnerState) -> Result<(), EngineError> {
        for mark in self.stores.journey_runs.entry_marks().await? {
            let slot = state.dates.slot(&mark.workspace_id, &mark.journey_id);
            state.dates.marks.insert(slot, mark);
        }
        for record in self.stores.journey_runs.date_timers().await? {
            let slot = state.dates.slot(&record.key.workspace_id, &record.key.journey_id);
            state.dates.add_event(slot, record);
        }
        let live: Vec<(WorkspaceId, JourneyId)> = state
            .journeys
            .iter()
            .filter(|(_, j)| j.taking_entries().is_some())
            .map(|(key, _)| key.clone())
            .collect();
        for (workspace, journey) in live {
            self.plan_dates(state, &workspace, &journey);
        }
        Ok(())
    }

    /// Works out a live journey's next trait-date and schedule occurrences after its
    /// mark (the time its version went live, the first time).
    pub(super) fn plan_dates(&self, state: &mut RunnerState, workspace: &WorkspaceId, journey: &JourneyId) {
        let Some(live) = state.journeys.get(&(workspace.clone(), journey.clone())) else {
            return;
        };
        let (Some((_, definition)), Some(since)) = (live.taking_entries(), live.live_since) else {
            return;
        };
        let definition = Arc::clone(definition);
        let slot = state.dates.slot(workspace, journey);
        let after = state.dates.mark(slot, since).done_until;
        let workspace_zone = self.pipeline.time_zone(workspace);
        match &definition.entry {
            Entry::Schedule { cron, time_zone, .. } => {
                let zone = time_zone
                    .as_deref()
                    .and_then(|name| TimeZone::get(name).ok())
                    .unwrap_or(workspace_zone);
                let Ok(schedule) = Schedule::parse(cron, zone) else {
                    return;
                };
                let resuming = state.dates.marks.get(&slot).and_then(|m| m.in_progress);
                let next = match resuming {
                    Some((at, _)) => Some(at),
                    None => schedule
                        .latest_missed(after, self.clock.now())
                        .or_else(|| schedule.next_after(after.max(self.clock.now()))),
                };
                state.dates.set_schedule(slot, next);
            }
            Entry::Date { .. } => {
                let Some(date) = date_entry(&definition) else {
                    return;
                };
                let DateSource::Trait { name } = date.from else {
                    return;
                };
                state.dates.by_trait.retain(|(s, _), _| *s != slot);
                for (profile, value, own_zone) in self.pipeline.profiles_with_trait(workspace, name) {
                    let zone = zone_of(own_zone.as_ref(), &workspace_zone);
                    let next = date.rule.next_after(&value, after, &zone).map(|o| o.at);
                    state.dates.set_trait(slot, profile, next);
                }
            }
            _ => {}
        }
    }

    /// A journey left the live state or changed: forgets its planned entries, and
    /// deletes its stored date entries when it is gone for good (archived, deleted).
    /// A paused journey keeps them: those that come due while it is paused are skipped.
    pub(super) fn forget_dates(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        workspace: &WorkspaceId,
        journey: &JourneyId,
        drop_stored: bool,
    ) {
        let slot = state.dates.slot(workspace, journey);
        batch
            .date_timers_done
            .extend(state.dates.forget(slot, drop_stored));
    }

    /// Resuming skips the occurrences that came due while the journey was paused.
    pub(super) fn mark_resumed(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        workspace: &WorkspaceId,
        journey: &JourneyId,
        now: Timestamp,
    ) {
        let slot = state.dates.slot(workspace, journey);
        let mark = state.dates.mark(slot, now);
        mark.done_until = now;
        mark.in_progress = None;
        batch.marks.push(mark.clone());
    }

    /// The live journeys of a workspace with a date entry, whose source passes `wanted`.
    fn dated_journeys(
        state: &RunnerState,
        workspace: &WorkspaceId,
        wanted: impl Fn(&DateSource) -> bool,
    ) -> Vec<(JourneyId, Arc<JourneyDefinition>, Option<Timestamp>)> {
        state
            .journeys
            .iter()
            .filter(|((ws, _), _)| ws == workspace)
            .filter_map(|((_, id), journey)| {
                let (_, definition) = journey.taking_entries()?;
                let from = date_entry(definition)?.from;
                wanted(from).then(|| (id.clone(), Arc::clone(definition), journey.live_since))
            })
            .collect()
    }

    /// A person's trait dates worked out again after an event of theirs, which may
    /// have set the trait or their time zone.
    pub(super) fn note_trait_dates(
        &self,
        state: &mut RunnerState,
        workspace: &WorkspaceId,
        profile: ProfileId,
        now: Timestamp,
    ) {
        let dated = Self::dated_journeys(state, workspace, |from| matches!(from, DateSource::Trait { .. }));
        if dated.is_empty() {
            return;
        }
        let facts = LiveFacts::read(workspace, profile, &self.pipeline, &self.audiences);
        let zone = facts.time_zone();
        for (journey, definition, live_since) in dated {
            let Some(DateEntry {
                from: DateSource::Trait { name },
                rule,
                ..
            }) = date_entry(&definition)
            else {
                continue;
            };
            let slot = state.dates.slot(workspace, &journey);
            let after = state
                .dates
                .mark(slot, live_since.unwrap_or(now))
                .done_until
                .max(now);
            let next = facts
                .trait_value(name)
                .and_then(|value| rule.next_after(&value, after, &zone))
                .map(|o| o.at);
            state.dates.set_trait(slot, profile, next);
        }
    }

    /// A person's traits changed without an event (a patch through the API): their
    /// trait dates are worked out again at once.
    pub async fn traits_changed(&self, workspace: &WorkspaceId, profile: ProfileId) {
        {
            let mut state = self.state.lock().await;
            self.note_trait_dates(&mut state, workspace, profile, self.clock.now());
        }
        // The next date may now come sooner than the loop is waiting for.
        self.changed.notify_one();
    }

    /// A date set a time after a committed event, for each live journey whose date
    /// entry reads that event; stored with the step that matched it.
    pub(super) fn note_event_dates(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        stored: &orbit_store::StoredEvent,
        event: &JourneyEvent,
        profile: ProfileId,
        now: Timestamp,
    ) {
        let workspace = &stored.event.workspace_id;
        let dated = Self::dated_journeys(
            state,
            workspace,
            |from| matches!(from, DateSource::Event { event: name, .. } if *name == event.name),
        );
        if dated.is_empty() {
            return;
        }
        let zone = LiveFacts::read(workspace, profile, &self.pipeline, &self.audiences).time_zone();
        for (journey, definition, live_since) in dated {
            let Some(DateEntry {
                from:
                    DateSource::Event {
                        event: wanted,
                        filters,
                    },
                rule,
                ..
            }) = date_entry(&definition)
            else {
                continue;
            };
            // An event received before the version went live enters nobody.
            if live_since.is_some_and(|since| stored.event.received_at < since)
                || !event_matches(event, Some(wanted), filters, &zone, now)
            {
                continue;
            }
            let Some(occurrence) = rule.next_after(&event_time(event), Timestamp::MIN, &zone) else {
                continue;
            };
            let record = DateTimerRecord {
                key: DateTimerKey {
                    workspace_id: workspace.clone(),
                    journey_id: journey.clone(),
                    profile_id: profile,
                    position: stored.position,
                },
                due_at: occurrence.at,
                event: event.clone(),
            };
            batch.date_timers.push(record.clone());
            let slot = state.dates.slot(workspace, &journey);
            state.dates.add_event(slot, record);
        }
    }
}
