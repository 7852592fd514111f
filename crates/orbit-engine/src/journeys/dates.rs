//! Date and schedule entries: a person enters on a datetime trait's anniversary or a
//! time after a trait or an event, at a local time of day; everyone in a segment
//! enters on a schedule.
//!
//! The next firing of each is held in a heap in memory. One read from a trait is
//! worked out again from the profile at start-up; one set after an event is stored
//! when the event is matched. Each journey's mark says up to when every occurrence was
//! entered, so after downtime the occurrences that came due fire once (or are skipped
//! as late, by the entry's lateness limit), and none fires twice.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use orbit_core::journey::{
    DateRule, DateSource, Entry, ExitReason, Input, JourneyDefinition, JourneyEvent, PersonFacts, Run,
    RunPath, RunState, Schedule, event_matches, may_enter, too_late,
};
use orbit_core::{JourneyId, ProfileId, WorkspaceId};
use orbit_store::{DateTimerKey, DateTimerRecord, EntryMark, JourneyBatch, LogPosition, StoredRun};
use serde_json::Value;

use super::JourneyRunner;
use super::facts::LiveFacts;
use super::state::{RunKey, RunnerState, tallies};
use crate::EngineError;
use crate::delivery::CampaignAudience;

/// People a schedule enters per stored batch: a big segment is entered in steps, each
/// marking the last person entered, so a crash part-way resumes after them.
const SCHEDULE_CHUNK: usize = 2_000;

/// How often the marks of journeys with trait dates are stored when nothing fires:
/// a restart works occurrences out from the mark, so a fresh one means less to redo.
const MARK_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// A journey by a small number: the heap holds millions of timers.
type Slot = u32;

/// What comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DateTimer {
    /// A person's next occurrence of a trait's date.
    Trait(Slot, ProfileId),
    /// A person's date after one event of theirs.
    Event(Slot, ProfileId, LogPosition),
    /// A schedule's next occurrence.
    Schedule(Slot),
}

/// The date and schedule entries the runner holds.
#[derive(Debug, Default)]
pub(super) struct DateEntries {
    slots: Vec<(WorkspaceId, JourneyId)>,
    slot_of: HashMap<(WorkspaceId, JourneyId), Slot>,
    heap: BinaryHeap<Reverse<(Timestamp, DateTimer)>>,
    by_trait: HashMap<(Slot, ProfileId), Timestamp>,
    by_event: HashMap<(Slot, ProfileId, LogPosition), (Timestamp, JourneyEvent)>,
    schedules: HashMap<Slot, Timestamp>,
    marks: HashMap<Slot, EntryMark>,
    marked_at: Option<Timestamp>,
}

impl DateEntries {
    fn slot(&mut self, workspace: &WorkspaceId, journey: &JourneyId) -> Slot {
        let key = (workspace.clone(), journey.clone());
        if let Some(slot) = self.slot_of.get(&key) {
            return *slot;
        }
        let slot = Slot::try_from(self.slots.len()).unwrap_or(Slot::MAX);
        self.slots.push(key.clone());
        self.slot_of.insert(key, slot);
        slot
    }

    fn journey(&self, slot: Slot) -> Option<&(WorkspaceId, JourneyId)> {
        self.slots.get(slot as usize)
    }

    fn is_current(&self, at: Timestamp, timer: &DateTimer) -> bool {
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
    pub(super) fn next_due(&mut self) -> Option<Timestamp> {
        while let Some(Reverse((at, timer))) = self.heap.peek() {
            if self.is_current(*at, timer) {
                return Some(*at);
            }
            self.heap.pop();
        }
        None
    }

    fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, DateTimer)> {
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

    fn set_trait(&mut self, slot: Slot, profile: ProfileId, next: Option<Timestamp>) {
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

    fn add_event(&mut self, slot: Slot, record: DateTimerRecord) {
        let (profile, position) = (record.key.profile_id, record.key.position);
        self.heap.push(Reverse((
            record.due_at,
            DateTimer::Event(slot, profile, position),
        )));
        self.by_event
            .insert((slot, profile, position), (record.due_at, record.event));
    }

    fn set_schedule(&mut self, slot: Slot, next: Option<Timestamp>) {
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
    fn mark(&mut self, slot: Slot, since: Timestamp) -> &mut EntryMark {
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
    fn forget(&mut self, slot: Slot, with_events: bool) -> Vec<DateTimerKey> {
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

/// A date entry's parts.
struct DateEntry<'a> {
    from: &'a DateSource,
    rule: DateRule,
    lateness_limit: Option<orbit_core::journey::Delay>,
}

fn date_entry(definition: &JourneyDefinition) -> Option<DateEntry<'_>> {
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
struct Live {
    version: u32,
    definition: Arc<JourneyDefinition>,
    /// When the version went live.
    since: Option<Timestamp>,
}

fn live(state: &RunnerState, workspace: &WorkspaceId, journey: &JourneyId) -> Option<Live> {
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

/// Who enters, how, and into what.
struct Admission<'a> {
    workspace: &'a WorkspaceId,
    journey: &'a JourneyId,
    version: u32,
    definition: &'a JourneyDefinition,
    profile: ProfileId,
    entry: String,
    key: Option<String>,
    entry_event: Option<JourneyEvent>,
    /// Skipped as later than the entry's lateness limit: recorded as entered and
    /// left at once, with the reason.
    late: bool,
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

    /// Enters everyone whose date or schedule came due by `now`, and stores the marks.
    pub(super) async fn fire_dates(
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
        self.admit(
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
        self.admit(
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
                self.admit(
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

    /// Enters one person if the journey's re-entry rules and limits allow it.
    fn admit(&self, state: &mut RunnerState, batch: &mut JourneyBatch, who: Admission<'_>, now: Timestamp) {
        let facts = LiveFacts::read(who.workspace, who.profile, &self.pipeline, &self.audiences);
        let history = state.history(who.workspace, who.journey, who.profile, who.key.as_deref());
        let definition = who.definition;
        if may_enter(
            &definition.reentry,
            &definition.limits,
            &history,
            now,
            &facts.time_zone(),
        )
        .is_err()
        {
            return;
        }
        let mut run = Run {
            journey: who.journey.clone(),
            version: who.version,
            profile: who.profile,
            entry: who.entry,
            key: who.key,
            entered_at: now,
            entry_event: who.entry_event,
            wait_event: None,
            steps: 0,
            state: RunState::Entering,
            path: RunPath::default(),
        };
        state.note_entry(who.workspace, &run);
        if who.late {
            run.state = RunState::Exited {
                node: None,
                reason: ExitReason::Late,
                at: now,
            };
            run.path.leave(None, ExitReason::Late, now);
            batch.counts.extend(tallies(who.workspace, &run, &[], true));
            batch.runs.push(StoredRun {
                workspace_id: who.workspace.clone(),
                run: run.clone(),
                updated_at: now,
            });
            state.put(who.workspace, run);
            return;
        }
        let key = RunKey::of(who.workspace, &run);
        state.put(who.workspace, run);
        self.move_run(state, batch, &key, Input::Enter, now);
    }
}
