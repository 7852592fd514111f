//! Matching committed events: the waits and goals of the people they concern, then
//! new entries by event, segment transition and event count.

use std::sync::Arc;

use jiff::Timestamp;
use orbit_core::JourneyId;
use orbit_core::audience::membership::{Transition as SegmentTransition, announced};
use orbit_core::audience::values::{lookup, read_text};
use orbit_core::journey::{Entry, Input, JourneyDefinition, JourneyEvent, SegmentChange, event_matches};
use orbit_store::{JourneyBatch, LogPosition, StoredEvent};

use super::JourneyRunner;
use super::admission::Admission;
use super::facts::LiveFacts;
use super::state::RunnerState;
use crate::EngineError;

/// Events read from the log per step.
const EVENTS_PER_STEP: u32 = 1_024;

/// Per event and event-count journey: the person's count so far.
type EventCounts = std::collections::HashMap<(LogPosition, JourneyId), u64>;

impl JourneyRunner {
    /// Matches the events committed after the cursor, a page at a time.
    pub(super) async fn match_log(&self, state: &mut RunnerState) -> Result<(), EngineError> {
        loop {
            let events = self
                .stores
                .events
                .read_after(state.cursor, EVENTS_PER_STEP)
                .await?;
            let Some(last) = events.last().map(|e| e.position) else {
                return Ok(());
            };
            let now = self.clock.now();
            let counts = self.event_counts(state, &events, now).await?;
            let mut batch = JourneyBatch::default();
            for event in &events {
                self.match_event(state, &mut batch, event, &counts, now);
            }
            batch.cursor = Some(last);
            self.commit(batch).await?;
            state.cursor = last;
        }
    }

    /// One event: the waits and goals of the person's runs first, then new entries, so
    /// an entry's own event never ends a wait of the run it starts.
    fn match_event(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        stored: &StoredEvent,
        counts: &EventCounts,
        now: Timestamp,
    ) {
        self.follow_merges(state, batch, stored, now);
        let event = &stored.event;
        let Some(profile_id) = stored.profile_id else {
            return;
        };
        let workspace = &event.workspace_id;
        // Merged profiles' events belong to the survivor; an erased person has none.
        let Some(survivor) = self.pipeline.survivor(workspace, profile_id) else {
            return;
        };
        // Any event (an identify above all) may have set a date trait or a time zone.
        self.note_trait_dates(state, workspace, survivor, now);
        let Some(name) = &event.name else {
            return;
        };
        let journey_event = JourneyEvent {
            name: name.as_str().to_owned(),
            at: event.timestamp,
            properties: event.properties.clone(),
        };
        for key in state.runs_of(workspace, survivor) {
            self.move_run(state, batch, &key, Input::Event(&journey_event), now);
        }
        let entering: Vec<(JourneyId, u32, Arc<JourneyDefinition>, Option<String>)> = {
            // Read only when a journey's entry names this event.
            let tz = std::cell::OnceCell::new();
            let tz = || {
                tz.get_or_init(|| {
                    let facts = LiveFacts::read(workspace, survivor, &self.pipeline, &self.audiences);
                    orbit_core::journey::PersonFacts::time_zone(&facts)
                })
                .clone()
            };
            state
                .journeys
                .iter()
                .filter(|((ws, _), _)| ws == workspace)
                .filter_map(|((_, id), journey)| {
                    let (version, definition) = journey.taking_entries()?;
                    // An event from before the version was published enters nobody,
                    // however far behind the log the runner is when it reads it.
                    if journey.live_since.is_some_and(|since| event.received_at < since) {
                        return None;
                    }
                    let key = match &definition.entry {
                        Entry::Event { event, filters, key } => {
                            if event != name.as_str() {
                                return None;
                            }
                            if !event_matches(&journey_event, Some(event), filters, &tz(), now) {
                                return None;
                            }
                            match key {
                                Some(property) => {
                                    Some(read_text(lookup(&journey_event.properties, property)?)?)
                                }
                                None => None,
                            }
                        }
                        Entry::Segment { segment, on } => {
                            // Only Orbit's own announcements count, not look-alikes a client sent.
                            let announced =
                                announced(&event.source_id, Some(name.as_str()), &event.properties)?;
                            let wanted = match on {
                                SegmentChange::Entered => SegmentTransition::Entered,
                                SegmentChange::Exited => SegmentTransition::Exited,
                            };
                            if announced.segment != segment.as_str() || announced.transition != wanted {
                                return None;
                            }
                            None
                        }
                        Entry::EventCount {
                            threshold,
                            per_property,
                            ..
                        } => {
                            // Entered at the event that makes the count reach the threshold.
                            let count = counts.get(&(stored.position, id.clone()))?;
                            if *count != u64::from(*threshold) {
                                return None;
                            }
                            match per_property {
                                Some(property) => {
                                    Some(read_text(lookup(&journey_event.properties, property)?)?)
                                }
                                None => None,
                            }
                        }
                        _ => return None,
                    };
                    Some((id.clone(), version, Arc::clone(definition), key))
                })
                .collect()
        };
        self.note_event_dates(state, batch, stored, &journey_event, survivor, now);
        for (journey, version, definition, key) in entering {
            // Refused by the re-entry rules or limits: nothing to record.
            let _refused = self.admit(
                state,
                batch,
                Admission {
                    workspace,
                    journey: &journey,
                    version,
                    definition: &definition,
                    profile: survivor,
                    entry: stored.position.0.to_string(),
                    key,
                    entry_event: Some(journey_event.clone()),
                    late: false,
                },
                now,
            );
        }
    }

    /// For each event that counts towards an event-count entry, the person's count of
    /// such events up to and including it (per value of the entry's property, when it
    /// names one), read from their timeline: the same on every replay of the page.
    async fn event_counts(
        &self,
        state: &RunnerState,
        events: &[StoredEvent],
        now: Timestamp,
    ) -> Result<EventCounts, EngineError> {
        let mut counts = EventCounts::new();
        for stored in events {
            let event = &stored.event;
            let (Some(name), Some(profile_id)) = (&event.name, stored.profile_id) else {
                continue;
            };
            let workspace = &event.workspace_id;
            let counted: Vec<(
                JourneyId,
                Vec<orbit_core::audience::PropertyFilter>,
                Option<String>,
            )> = state
                .journeys
                .iter()
                .filter(|((ws, _), _)| ws == workspace)
                .filter_map(|((_, id), journey)| {
                    let (_, definition) = journey.taking_entries()?;
                    match &definition.entry {
                        Entry::EventCount {
                            event,
                            filters,
                            per_property,
                            ..
                        } if event == name.as_str() => {
                            Some((id.clone(), filters.clone(), per_property.clone()))
                        }
                        _ => None,
                    }
                })
                .collect();
            if counted.is_empty() {
                continue;
            }
            let Some(survivor) = self.pipeline.survivor(workspace, profile_id) else {
                continue;
            };
            let positions: Vec<LogPosition> = self
                .pipeline
                .timeline_positions(workspace, survivor)
                .into_iter()
                .filter(|p| *p <= stored.position)
                .collect();
            let history = self.stores.events.events_at(&positions).await?;
            let tz = self.pipeline.time_zone(workspace);
            for (journey, filters, per_property) in counted {
                let value = |e: &orbit_core::NewEvent| {
                    per_property
                        .as_deref()
                        .and_then(|p| lookup(&e.properties, p))
                        .and_then(read_text)
                };
                let wanted = value(event);
                if per_property.is_some() && wanted.is_none() {
                    continue;
                }
                let count = history
                    .iter()
                    .filter(|e| e.event.name.as_ref().map(|n| n.as_str()) == Some(name.as_str()))
                    .filter(|e| {
                        let as_journey_event = JourneyEvent {
                            name: name.as_str().to_owned(),
                            at: e.event.timestamp,
                            properties: e.event.properties.clone(),
                        };
                        event_matches(&as_journey_event, None, &filters, &tz, now)
                    })
                    .filter(|e| per_property.is_none() || value(&e.event) == wanted)
                    .count() as u64;
                counts.insert((stored.position, journey), count);
            }
        }
        Ok(counts)
    }
}
