//! What an index holds, by profile id and by text rather than by dense number and
//! interned id: two indexes built by different paths (live, rebuilt, restored from a
//! snapshot) number profiles and strings differently, and compare equal here when
//! they hold the same.

use super::AudienceIndex;
use crate::audience::filters::ObservedFilters;
use crate::audience::timeline::UNNAMED;
use orbit_core::ProfileId;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One event on a timeline: time, position, name, indexed properties.
pub type ObservedEvent = (i64, i64, Option<String>, Map<String, Value>);

/// One live profile as the index holds it.
#[derive(Debug, PartialEq)]
pub struct ObservedProfile {
    /// Its traits.
    pub traits: Map<String, Value>,
    /// Its tag values.
    pub tags: BTreeMap<String, Vec<String>>,
    /// Its timeline, in order.
    pub events: Vec<ObservedEvent>,
}

/// A segment's announced membership.
#[derive(Debug, PartialEq)]
pub struct ObservedAnnounced {
    /// The baseline's position.
    pub since: i64,
    /// Which baseline.
    pub baseline: [u8; 16],
    /// The members.
    pub members: BTreeSet<ProfileId>,
    /// The last transition's position, per profile that had one.
    pub last: BTreeMap<ProfileId, i64>,
}

/// An index, observed.
#[derive(Debug, PartialEq)]
pub struct ObservedIndex {
    /// Live profiles.
    pub profiles: BTreeMap<ProfileId, ObservedProfile>,
    /// Every id the index resolves to a live profile other than itself.
    pub aliases: BTreeMap<ProfileId, ProfileId>,
    /// Announced memberships by segment.
    pub announced: BTreeMap<String, ObservedAnnounced>,
    /// The narrowing bitmaps.
    pub filters: ObservedFilters,
}

impl AudienceIndex {
    /// What this index holds; see the module's notes.
    pub fn observe(&self) -> ObservedIndex {
        let live = |n: u32| self.live.contains(n).then(|| self.profile(n)).flatten();
        let text = |id: u32| self.strings.text(id).unwrap_or("<missing>").to_owned();
        let profiles = self
            .live
            .iter()
            .filter_map(|n| {
                let slot = self.slots.get(n as usize)?;
                let timeline = &slot.timeline;
                let events = timeline
                    .events()
                    .iter()
                    .map(|e| {
                        let name = (e.name != UNNAMED).then(|| text(e.name));
                        (
                            e.at_ms,
                            e.position(),
                            name,
                            timeline.properties_of(e, &self.strings),
                        )
                    })
                    .collect();
                Some((
                    slot.id?,
                    ObservedProfile {
                        traits: slot.traits.to_document(&self.trait_names),
                        tags: self
                            .tags_of(n)?
                            .into_iter()
                            .map(|(tag, values)| {
                                (tag.to_owned(), values.into_iter().map(str::to_owned).collect())
                            })
                            .collect(),
                        events,
                    },
                ))
            })
            .collect();
        let aliases = self
            .aliases
            .keys()
            .filter_map(|merged| {
                let survivor = self.profile(self.resolve(*merged)?)?;
                (survivor != *merged).then_some((*merged, survivor))
            })
            .collect();
        let announced = self
            .announced
            .iter()
            .map(|(segment, state)| {
                (
                    segment.clone(),
                    ObservedAnnounced {
                        since: state.since,
                        baseline: state.baseline,
                        members: state.members.iter().filter_map(live).collect(),
                        last: state
                            .last
                            .iter()
                            .filter_map(|(n, at)| Some((live(*n)?, *at)))
                            .collect(),
                    },
                )
            })
            .collect();
        ObservedIndex {
            profiles,
            aliases,
            announced,
            filters: self.filters.observe(&live, &text),
        }
    }
}
