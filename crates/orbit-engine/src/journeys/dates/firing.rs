//! Firing date and schedule entries when they come due, and admitting the people they
//! enter under the journey's re-entry rules and limits.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use orbit_core::journey::{DateSource, Entry, JourneyEvent, PersonFacts, Schedule, too_late};
use orbit_core::{JourneyId, ProfileId, WorkspaceId};
use orbit_store::{DateTimerKey, JourneyBatch, LogPosition};

use super::memory::{DateTimer, Slot};
use super::{DateEntry, Live, date_entry, live};
use crate::EngineError;
use crate::delivery::CampaignAudience;
use crate::journeys::JourneyRunner;
use crate::journeys::admission::Admission;
use crate::journeys::facts::LiveFacts;
use crate::journeys::state::RunnerState;

/// People a schedule enters per stored batch: a big segment is entered in steps, each
/// marking the last person entered, so a crash part-way resumes after them.
const SCHEDULE_CHUNK: usize = 2_000;

/// How often the marks of journeys with trait dates are stored when nothing fires:
/// a restart works occurrences out from the mark, so a fresh one means less to redo.
const MARK_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

impl JourneyRunner {
    /// Enters everyone whose date or schedule came due by `now`, and stores the marks.
    pub(in crate::journeys) async fn fire_dates(
        &self,
        state: &mut RunnerState,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let mut batch = JourneyBatch::default();
        let mut fired = false;
        while let Some((due, timer)) = state.dates.pop_due(now) {
            fired = true;
            match timer {
                DateTimer::Trait(slot, profile) => {
                    state.dates.by_trait.remove(&(slot, profile));
                    self.fire_trait_date(state, &mut batch, slot, profile, due, now);
                }
                DateTimer::Event(slot, profile, position) => {
                    let Some((_, event)) = state.dates.by_event.remove(&(slot, profile, position)) else {
                        continue;
                    };
                    let Some((workspace, journey)) = state.dates.journey(slot).cloned() else {
                        continue;
                    };
                    batch.date_timers_done.push(DateTimerKey {
                        workspace_id: workspace.clone(),
                        journey_id: journey.clone(),
                        profile_id: profile,
                        position,
                    });
                    self.fire_event_date(
                        state,
                        &mut batch,
                        (&workspace, &journey),
                        profile,
                        position,
                        event,
                        due,
                        now,
                    );
                }
                DateTimer::Schedule(slot) => {
                    state.dates.schedules.remove(&slot);
                    // Entries so far go first: a schedule commits in steps of its own.
                    self.commit(std::mem::take(&mut batch)).await?;
                    self.fire_schedule(state, slot, due, now).await?;
                }
            }
        }
        let stale = state
            .dates
            .marked_at
            .is_none_or(|at| now.duration_since(at) >= MARK_EVERY);
        if fired || stale {
            // Every trait date due by now was just entered: the marks move up to now.
            for (slot, (workspace, journey)) in state.dates.slots.clone().into_iter().enumerate() {
                let Some(live) = state.journeys.get(&(workspace, journey)) else {
                    continue;
                };
                let Some((_, definition)) = live.taking_entries() else {
                    continue;
                };
                let Some(DateEntry {
                    from: DateSource::Trait { .. },
                    ..
                }) = date_entry(definition)
                else {
                    continue;
                };
                let since = live.live_since.unwrap_or(now);
                let slot = Slot::try_from(slot).unwrap_or(Slot::MAX);
                let mark = state.dates.mark(slot, since);
                if mark.done_until < now {
                    mark.done_until = now;
                    batch.marks.push(mark.clone());
                }
            }
            state.dates.marked_at = Some(now);
        }
        self.commit(batch).await
    }

    fn fire_trait_date(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        slot: Slot,
        profile: ProfileId,
        due: Timestamp,
        now: Timestamp,
    ) {
        let Some((workspace, journey)) = state.dates.journey(slot).cloned() else {
            return;
        };
        let Some(Live {
            version, definition, ..
        }) = live(state, &workspace, &journey)
        else {
            return;
        };
        let Some(date) = date_entry(&definition) else {
            return;
        };
        let DateSource::Trait { name } = date.from else {
            return;
        };
        // A person merged into another since is entered through the survivor's trait.
        if self.pipeline.survivor(&workspace, profile) != Some(profile) {
            return;
        }
        let facts = LiveFacts::read(&workspace, profile, &self.pipeline, &self.audiences);
        let zone = facts.time_zone();
        let Some(value) = facts.trait_value(name) else {
            return;
        };
        // A trait changed without an event (a patch) may have moved the date.
        let Some(occurrence) = date.rule.next_after(
            &value,
            due.checked_sub(jiff::SignedDuration::from_millis(1))
                .unwrap_or(due),
            &zone,
        ) else {
            return;
        };
        if occurrence.at != due {
            state
                .dates
                .set_trait(slot, profile, Some(occurrence.at).filter(|at| *at > due));
            return;
        }
        let late = too_late(date.lateness_limit, due, now, &zone);
        // Refused by the re-entry rules or limits: nothing to record.
        let _refused = self.admit(
            state,
            batch,
            Admission {
                workspace: &workspace,
                journey: &journey,
                version,
                definition: &definition,
                profile,
                entry: format!("date:{}", occurrence.key),
                key: Some(occurrence.key),
                entry_event: None,
                late,
            },
            now,
        );
        let next = date.rule.next_after(&value, due, &zone).map(|o| o.at);
        state.dates.set_trait(slot, profile, next);
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one fired date entry's parts, read where it fires"
    )]
    fn fire_event_date(
        &self,
        state: &mut RunnerState,
        batch: &mut JourneyBatch,
        (workspace, journey): (&WorkspaceId, &JourneyId),
        profile: ProfileId,
        position: LogPosition,
        event: JourneyEvent,
        due: Timestamp,
        now: Timestamp,
    ) {
        let Some(Live {
            version, definition, ..
        }) = live(state, workspace, journey)
        else {
            return;
        };
        let Some(date) = date_entry(&definition) else {
            return;
        };
        let Some(profile) = self.pipeline.survivor(workspace, profile) else {
            return;
        };
        let facts = LiveFacts::read(workspace, profile, &self.pipeline, &self.audiences);
        let zone = facts.time_zone();
        let key = due.to_zoned(zone.clone()).date().to_string();
        // Refused by the re-entry rules or limits: nothing to record.
        let _refused = self.admit(
            state,
            batch,
            Admission {
                workspace,
                journey,
                version,
                definition: &definition,
                profile,
                entry: format!("date:{}", position.0),
                key: Some(key),
                entry_event: Some(event),
                late: too_late(date.lateness_limit, due, now, &zone),
            },
            now,
        );
    }

    /// Enters a segment's members for one occurrence of a schedule, a chunk per
    /// stored batch, resuming after the last person a crash left it at.
    async fn fire_schedule(
        &self,
        state: &mut RunnerState,
        slot: Slot,
        occurrence: Timestamp,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let Some((workspace, journey)) = state.dates.journey(slot).cloned() else {
            return Ok(());
        };
        let Some(Live {
            version,
            definition,
            since,
        }) = live(state, &workspace, &journey)
        else {
            return Ok(());
        };
        let since = since.unwrap_or(now);
        let Entry::Schedule {
            segment,
            cron,
            time_zone,
        } = &definition.entry
        else {
            return Ok(());
        };
        let resume_after = state
            .dates
            .mark(slot, since)
            .in_progress
            .filter(|(at, _)| *at == occurrence)
            .map(|(_, profile)| profile);
        let mut members = match self.audiences.members(&workspace, segment) {
            Ok(members) => members,
            Err(error) => {
                tracing::warn!(%error, journey = %journey, "a schedule's segment could not be evaluated");
                Vec::new()
            }
        };
        members.sort_unstable();
        members.retain(|p| resume_after.is_none_or(|last| *p > last));
        let entry = format!("schedule:{}", occurrence.as_millisecond());
        for chunk in members.chunks(SCHEDULE_CHUNK) {
            let mut batch = JourneyBatch::default();
            for profile in chunk {
                let _refused = self.admit(
                    state,
                    &mut batch,
                    Admission {
                        workspace: &workspace,
                        journey: &journey,
                        version,
                        definition: &definition,
                        profile: *profile,
                        entry: entry.clone(),
                        key: None,
                        entry_event: None,
                        late: false,
                    },
                    now,
                );
            }
            let mark = state.dates.mark(slot, since);
            mark.in_progress = chunk.last().map(|last| (occurrence, *last));
            batch.marks.push(mark.clone());
            self.commit(batch).await?;
        }
        let mark = state.dates.mark(slot, since);
        mark.done_until = occurrence;
        mark.in_progress = None;
        let mut batch = JourneyBatch::default();
        batch.marks.push(mark.clone());
        self.commit(batch).await?;
        let zone = time_zone
            .as_deref()
            .and_then(|name| TimeZone::get(name).ok())
            .unwrap_or_else(|| self.pipeline.time_zone(&workspace));
        if let Ok(schedule) = Schedule::parse(cron, zone) {
            state
                .dates
                .set_schedule(slot, schedule.next_after(occurrence.max(now)));
        }
        Ok(())
    }
}
