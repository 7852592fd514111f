//! One workspace's audience index: profiles numbered densely, each with its traits,
//! tags and compact timeline; conditions answered as roaring bitmaps of members.
//!
//! This first version evaluates a condition profile by profile (in parallel); the
//! bitmap-first plans of ADR 0006 build on the same data and must give the same
//! answers, which the differential test pins.

mod announced;
mod image;
#[cfg(test)]
pub mod observe;
mod plan;
mod tally;

pub use announced::Announced;
pub use image::{Captured, IndexImage, MalformedImage};
pub use tally::QuarterHours;

use super::behaviour::{event_holds, sequence_holds};
use super::filters::Filters;
use super::held::{HeldTags, HeldTraits};
use super::timeline::{Interner, ProfileTimeline, UNNAMED};
use foldhash::HashMap;
use orbit_core::ProfileId;
use orbit_core::audience::membership::{AnnouncedTransition, Transition};
use orbit_core::audience::values::{Today, passes, read_number};
use orbit_core::audience::{Condition, Evaluation};
use roaring::RoaringBitmap;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the index holds on one profile.
#[derive(Debug, Default, Clone)]
struct Slot {
    id: Option<ProfileId>,
    traits: HeldTraits,
    tags: HeldTags,
    /// Shared with a snapshot being written, which takes it without copying while
    /// commits wait; a commit that changes it meanwhile copies it first.
    timeline: Arc<ProfileTimeline>,
}

/// One workspace's index.
#[derive(Debug, Default)]
pub struct AudienceIndex {
    slots: Vec<Slot>,
    dense: HashMap<ProfileId, u32>,
    /// Profiles merged away → the profile they were merged into (which may itself have
    /// been merged since), so lists of profile ids keep finding their people.
    aliases: HashMap<ProfileId, ProfileId>,
    live: RoaringBitmap,
    strings: Interner,
    /// Trait names, numbered for [`HeldTraits`].
    trait_names: Interner,
    /// Tag names and values, numbered for [`HeldTags`].
    tag_strings: Interner,
    segments: HashMap<String, RoaringBitmap>,
    /// Profiles whose traits, tags or events changed since the membership watcher last
    /// looked.
    touched: RoaringBitmap,
    /// Per dynamic segment, the membership last announced with transition events.
    announced: HashMap<String, Announced>,
    /// Bitmaps that narrow an evaluation to the profiles that can match.
    filters: Filters,
    /// Profiles whose events, traits or merges changed since [`Self::take_changed`]:
    /// what computed tags must look at again.
    changed: RoaringBitmap,
    /// Events held, by event time.
    events_by_time: QuarterHours,
    /// Live profiles, by when their id was minted.
    profiles_by_creation: QuarterHours,
}

/// One event type's occurrences on a profile within a time range.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EventSummary {
    /// How many.
    pub count: u32,
    /// When the latest happened, epoch milliseconds.
    pub last_ms: Option<i64>,
    /// The sum of a numeric property over them (missing values count as 0).
    pub sum: f64,
}

impl AudienceIndex {
    /// The dense number of a profile, assigned on first sight.
    pub fn number(&mut self, profile: ProfileId) -> u32 {
        if let Some(n) = self.dense.get(&profile) {
            return *n;
        }
        let n = self.slots.len() as u32;
        self.slots.push(Slot {
            id: Some(profile),
            ..Slot::default()
        });
        self.dense.insert(profile, n);
        if let Some(created_ms) = profile.minted_at_ms() {
            self.profiles_by_creation.add(created_ms);
        }
        self.live.insert(n);
        self.touched.insert(n);
        self.changed.insert(n);
        n
    }

    /// The profile behind a dense number, while it is live.
    pub fn profile(&self, number: u32) -> Option<ProfileId> {
        self.slots.get(number as usize).and_then(|s| s.id)
    }

    /// Replaces a profile's traits.
    pub fn set_traits(&mut self, profile: ProfileId, traits: Map<String, Value>) {
        let n = self.number(profile);
        let traits = HeldTraits::new(traits, &mut self.trait_names);
        let old = std::mem::replace(&mut self.slots[n as usize].traits, traits);
        self.filters
            .set_traits(n, &old, &self.slots[n as usize].traits, &self.trait_names);
        self.touched.insert(n);
        self.changed.insert(n);
    }

    /// Replaces a profile's values of one tag (empty: the tag is removed).
    pub fn set_tag(&mut self, profile: ProfileId, tag: &str, values: Vec<String>) {
        let n = self.number(profile);
        self.set_tag_values(n, tag, values);
    }

    /// Records the event at log `position` on a profile's timeline.
    pub fn record_event(
        &mut self,
        profile: ProfileId,
        at_ms: i64,
        position: i64,
        name: Option<&str>,
        properties: &Map<String, Value>,
    ) {
        let n = self.number(profile);
        Arc::make_mut(&mut self.slots[n as usize].timeline).push(
            at_ms,
            position,
            name,
            properties,
            &mut self.strings,
        );
        let name_id = name.and_then(|name| self.strings.find(name)).unwrap_or(UNNAMED);
        self.filters.record_event(n, name_id, at_ms);
        self.events_by_time.add(at_ms);
        self.touched.insert(n);
        self.changed.insert(n);
    }

    /// Sets a segment's members, for conditions on segment membership.
    pub fn set_segment(&mut self, segment: &str, members: RoaringBitmap) {
        self.segments.insert(segment.to_owned(), members);
    }

    /// Folds a merged-away profile into its survivor: events move over, in time and
    /// log order; announced memberships combine as a replay of the log would combine
    /// them; the merged profile's number is retired.
    pub fn merge(&mut self, survivor: ProfileId, merged: ProfileId) {
        let Some(gone) = self.dense.remove(&merged) else {
            return;
        };
        self.aliases.insert(merged, survivor);
        if let Some(created_ms) = merged.minted_at_ms() {
            self.profiles_by_creation.remove(created_ms);
        }
        let moved = std::mem::take(&mut self.slots[gone as usize]);
        let keep = self.number(survivor);
        for announced in self.announced.values_mut() {
            announced.merge(keep, gone);
        }
        self.retire(gone);
        self.touched.insert(keep);
        self.changed.insert(keep);
        for event in moved.timeline.events() {
            self.filters.record_event(keep, event.name, event.at_ms);
        }
        Arc::make_mut(&mut self.slots[keep as usize].timeline).absorb(Arc::unwrap_or_clone(moved.timeline));
    }

    /// Forgets a profile: its number is retired.
    pub fn erase(&mut self, profile: ProfileId) {
        if let Some(n) = self.dense.remove(&profile) {
            let gone = std::mem::take(&mut self.slots[n as usize]);
            for event in gone.timeline.events() {
                self.events_by_time.remove(event.at_ms);
            }
            if let Some(created_ms) = profile.minted_at_ms() {
                self.profiles_by_creation.remove(created_ms);
            }
            self.retire(n);
        }
    }

    /// Takes a retired number out of every membership; a merged or erased profile
    /// leaves its segments without an exit event, since nobody is left to receive it.
    fn retire(&mut self, n: u32) {
        self.live.remove(n);
        self.touched.remove(n);
        self.changed.remove(n);
        for segment in self.segments.values_mut() {
            segment.remove(n);
        }
        for announced in self.announced.values_mut() {
            announced.forget(n);
        }
    }

    /// Marks a profile for the next membership sweep, when something conditions read
    /// changed outside the index (a static segment it joined).
    pub fn touch(&mut self, profile: ProfileId) {
        if let Some(n) = self.resolve(profile) {
            self.touched.insert(n);
        }
    }

    /// Takes the set of profiles touched since the last call.
    pub fn take_touched(&mut self) -> RoaringBitmap {
        std::mem::take(&mut self.touched)
    }

    /// Every live profile, as dense numbers.
    pub fn live(&self) -> &RoaringBitmap {
        &self.live
    }

    /// Starts a segment's announced membership over from a baseline at `since`, as it
    /// was just saved: `members` are live profiles.
    pub fn set_baseline(&mut self, segment: &str, since: i64, members: &[ProfileId]) {
        let numbers = members.iter().filter_map(|p| self.find(*p)).collect();
        self.announced.insert(
            segment.to_owned(),
            Announced::from_baseline(since, numbers, members),
        );
    }

    /// Starts a segment's announced membership over from a stored baseline, whose
    /// members may have been merged away since (`canonical` names their survivors) or
    /// erased.
    pub fn set_stored_baseline(
        &mut self,
        segment: &str,
        baseline: &orbit_store::MembershipBaseline,
        canonical: impl Fn(ProfileId) -> Option<ProfileId>,
    ) {
        let numbers = baseline
            .members
            .iter()
            .filter_map(|p| self.find(canonical(*p)?))
            .collect();
        self.announced.insert(
            segment.to_owned(),
            Announced::from_baseline(baseline.position.0, numbers, &baseline.members),
        );
    }

    /// The segments with an announced membership.
    pub fn announced_segments(&self) -> impl Iterator<Item = &str> {
        self.announced.keys().map(String::as_str)
    }

    /// Forgets a deleted segment's announced membership.
    pub fn forget_announced(&mut self, segment: &str) {
        self.announced.remove(segment);
    }

    /// The membership last announced for a segment, if it has a baseline.
    pub fn announced(&self, segment: &str) -> Option<&Announced> {
        self.announced.get(segment)
    }

    /// Applies a transition event appended at `position` to the announced membership;
    /// events from before the segment's baseline are already in it.
    pub fn apply_announcement(
        &mut self,
        profile: ProfileId,
        announcement: &AnnouncedTransition,
        position: i64,
    ) {
        let Some(n) = self.find(profile) else { return };
        if let Some(state) = self.announced.get_mut(&announcement.segment)
            && position > state.since
        {
            let entered = announcement.transition == Transition::Entered;
            state.set(n, entered, position);
        }
    }

    /// How many live profiles the index holds.
    pub fn len(&self) -> u64 {
        self.live.len()
    }

    /// Whether the index holds no live profile.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// The live profiles meeting `condition`, as dense numbers.
    pub fn members(&self, condition: &Condition, at: &Evaluation) -> RoaringBitmap {
        self.members_with(condition, at, &self.segments)
    }

    /// The live profiles meeting `condition`, with memberships of the segments it
    /// names given by `segments` (dense numbers).
    pub fn members_with(
        &self,
        condition: &Condition,
        at: &Evaluation,
        segments: &HashMap<String, RoaringBitmap>,
    ) -> RoaringBitmap {
        self.members_among(condition, at, segments, None)
    }

    /// As [`Self::members_with`], looking only at the profiles in `among` when given.
    pub fn members_among(
        &self,
        condition: &Condition,
        at: &Evaluation,
        segments: &HashMap<String, RoaringBitmap>,
        among: Option<&RoaringBitmap>,
    ) -> RoaringBitmap {
        let within = match among {
            Some(among) => among & &self.live,
            None => self.live.clone(),
        };
        let plan = plan::Plan {
            index: self,
            at,
            today: at.today(),
            segments,
        };
        plan.members(condition, within)
    }

    fn holds(
        &self,
        condition: &Condition,
        n: u32,
        at: &Evaluation,
        today: &Today,
        segments: &HashMap<String, RoaringBitmap>,
    ) -> bool {
        let slot = &self.slots[n as usize];
        let holds = |c: &Condition| self.holds(c, n, at, today, segments);
        match condition {
            Condition::And { conditions } => conditions.iter().all(holds),
            Condition::Or { conditions } => conditions.iter().any(holds),
            Condition::Not { condition } => !holds(condition),
            Condition::Trait {
                name,
                value_type,
                test,
            } => passes(
                slot.traits.lookup(name, &self.trait_names),
                *value_type,
                test,
                today,
            ),
            Condition::Tag { tag, values } => self.tag_strings.find(tag).is_some_and(|tag| {
                let mut held = slot.tags.values(tag).peekable();
                let wanted = |v: u32| {
                    let text = self.tag_strings.text(v);
                    text.is_some_and(|text| values.iter().any(|w| w == text))
                };
                held.peek().is_some() && (values.is_empty() || held.any(wanted))
            }),
            Condition::Event(event) => event_holds(event, &slot.timeline, &self.strings, at, today),
            Condition::Sequence(sequence) => {
                sequence_holds(sequence, &slot.timeline, &self.strings, at, today)
            }
            Condition::Segment { segment } => segments.get(segment).is_some_and(|m| m.contains(n)),
        }
    }

    /// Events held on every timeline.
    pub fn event_count(&self) -> usize {
        self.slots.iter().map(|s| s.timeline.events().len()).sum()
    }

    /// Records that `merged` was merged into `survivor` before this index was built.
    pub fn alias(&mut self, merged: ProfileId, survivor: ProfileId) {
        self.aliases.insert(merged, survivor);
    }

    /// The dense number of the live profile behind an id, following merges.
    pub fn resolve(&self, profile: ProfileId) -> Option<u32> {
        let mut id = profile;
        // Chains are short (each merge adds one link); the bound guards a corrupt loop.
        for _ in 0..64 {
            if let Some(n) = self.dense.get(&id) {
                return Some(*n);
            }
            id = *self.aliases.get(&id)?;
        }
        None
    }

    /// The dense number of a live profile, without assigning one.
    pub fn find(&self, profile: ProfileId) -> Option<u32> {
        self.dense.get(&profile).copied()
    }

    /// Takes the set of profiles whose events, traits or merges changed since the
    /// last call (newly numbered profiles included), leaving it empty.
    pub fn take_changed(&mut self) -> RoaringBitmap {
        std::mem::take(&mut self.changed)
    }

    /// A live profile's tag values, by tag.
    pub fn tags_of(&self, number: u32) -> Option<BTreeMap<&str, Vec<&str>>> {
        if !self.live.contains(number) {
            return None;
        }
        let mut tags: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (tag, value) in self.slots[number as usize].tags.pairs() {
            if let (Some(tag), Some(value)) = (self.tag_strings.text(*tag), self.tag_strings.text(*value)) {
                tags.entry(tag).or_default().push(value);
            }
        }
        Some(tags)
    }

    /// A profile's tags as templates see them: one value as a string, several as a
    /// list; empty for a profile that is not live.
    pub fn tags_document(&self, profile: ProfileId) -> Map<String, Value> {
        let tags = self
            .find(profile)
            .and_then(|n| self.tags_of(n))
            .unwrap_or_default();
        tags.into_iter()
            .map(|(tag, values)| {
                let value = match values.as_slice() {
                    [one] => Value::from(*one),
                    many => Value::from(many.to_vec()),
                };
                (tag.to_owned(), value)
            })
            .collect()
    }

    /// A live profile's values of one tag, in the order they were set (none for a
    /// profile that is not live).
    pub fn tag_values_of(&self, number: u32, tag: &str) -> Vec<&str> {
        let (Some(tag), true) = (self.tag_strings.find(tag), self.live.contains(number)) else {
            return Vec::new();
        };
        let held = self.slots[number as usize].tags.values(tag);
        held.filter_map(|v| self.tag_strings.text(v)).collect()
    }

    /// Replaces a live profile's values of one tag (empty: the tag is removed); returns
    /// whether they changed. Numbers that are not live are left alone.
    pub fn set_tag_values(&mut self, number: u32, tag: &str, values: Vec<String>) -> bool {
        if !self.live.contains(number) {
            return false;
        }
        let tag_id = self.tag_strings.intern(tag);
        let value_ids: Vec<u32> = values.iter().map(|v| self.tag_strings.intern(v)).collect();
        let tags = &mut self.slots[number as usize].tags;
        if tags.holds_exactly(tag_id, &value_ids) {
            return false;
        }
        let old: Vec<String> = tags
            .values(tag_id)
            .filter_map(|v| self.tag_strings.text(v).map(str::to_owned))
            .collect();
        tags.replace(tag_id, &value_ids);
        self.filters.set_tag(number, tag, &old, &values);
        // Segments may name the tag: membership is looked at again.
        self.touched.insert(number);
        true
    }

    /// How often a live profile did `event` in `(from_ms, to_ms]`, when it last did,
    /// and the sum of its numeric `property` (numbers or numeric text).
    pub fn event_summary(
        &self,
        number: u32,
        event: &str,
        property: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> EventSummary {
        let mut summary = EventSummary::default();
        let (Some(name), true) = (self.strings.find(event), self.live.contains(number)) else {
            return summary;
        };
        let key = self.strings.find(property);
        let timeline = &self.slots[number as usize].timeline;
        let events = timeline.events();
        let start = events.partition_point(|e| e.at_ms <= from_ms);
        for record in events[start..].iter().take_while(|e| e.at_ms <= to_ms) {
            if record.name != name {
                continue;
            }
            summary.count += 1;
            summary.last_ms = Some(record.at_ms);
            summary.sum += key
                .and_then(|k| timeline.property(record, k))
                .and_then(|v| read_number(&v.to_json(&self.strings)))
                .unwrap_or(0.0);
        }
        summary
    }

    /// Every live profile with its timeline.
    pub fn timelines(&self) -> impl Iterator<Item = (ProfileId, &ProfileTimeline)> {
        self.live
            .iter()
            .filter_map(|n| self.slots.get(n as usize))
            .filter_map(|slot| Some((slot.id?, &*slot.timeline)))
    }

    /// Bytes held by timelines, for memory accounting.
    pub fn timeline_bytes(&self) -> usize {
        self.slots.iter().map(|s| s.timeline.heap_bytes()).sum()
    }
}
