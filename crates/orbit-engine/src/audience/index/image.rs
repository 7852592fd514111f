//! One workspace's index as a snapshot holds it (ADR 0010).
//!
//! Capturing runs while commits wait, so it copies little: timelines are shared, only
//! the event bitmaps and announced memberships are copied. Compacting then runs
//! without the lock: retired numbers are dropped and the rest renumbered in order.
//!
//! Traits (and the bitmaps and columns over them), tag values, merged-id aliases and
//! segment bitmaps are not kept: start-up sets them again from the stored profiles
//! and the tag definitions, exactly as a rebuild from the log does.

use super::{Announced, AudienceIndex, Slot};
use crate::audience::filters::{EventBitmaps, Filters};
use crate::audience::timeline::{Interner, ProfileTimeline};
use foldhash::HashMap;
use orbit_core::ProfileId;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// An index captured under the lock, not yet compacted.
#[derive(Debug)]
pub struct Captured {
    strings: Vec<String>,
    /// Live profiles: dense number, id, timeline, in dense order.
    profiles: Vec<(u32, ProfileId, Arc<ProfileTimeline>)>,
    announced: Vec<(String, Announced)>,
    bitmaps: EventBitmaps,
}

/// One workspace's index as a snapshot stores it, numbered densely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexImage {
    strings: Vec<String>,
    profiles: Vec<ProfileImage>,
    announced: Vec<AnnouncedImage>,
    bitmaps: EventBitmaps,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ProfileImage {
    id: [u8; 16],
    timeline: Arc<ProfileTimeline>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AnnouncedImage {
    segment: String,
    since: i64,
    members: RoaringBitmap,
    /// (dense number, position of its last transition), by number.
    last: Vec<(u32, i64)>,
    baseline: [u8; 16],
}

/// Why an image cannot become an index.
#[derive(Debug, thiserror::Error)]
#[error("the snapshot's audience index is malformed: {0}")]
pub struct MalformedImage(&'static str);

impl AudienceIndex {
    /// Takes what a snapshot keeps of this index; see the module's notes.
    pub fn capture(&self) -> Captured {
        let profiles = self
            .live
            .iter()
            .filter_map(|n| {
                let slot = self.slots.get(n as usize)?;
                Some((n, slot.id?, slot.timeline.clone()))
            })
            .collect();
        let mut announced: Vec<(String, Announced)> = self
            .announced
            .iter()
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect();
        announced.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Captured {
            strings: self.strings.texts().to_vec(),
            profiles,
            announced,
            bitmaps: self.filters.event_bitmaps(),
        }
    }
}

impl Captured {
    /// Drops retired numbers and renumbers the live profiles 0, 1, 2… in their order.
    pub fn compact(self) -> IndexImage {
        let renumbered: HashMap<u32, u32> = self
            .profiles
            .iter()
            .enumerate()
            .map(|(new, (old, _, _))| (*old, new as u32))
            .collect();
        let map = |old: u32| renumbered.get(&old).copied();
        let renumber = |bitmap: &RoaringBitmap| -> RoaringBitmap {
            // The mapping keeps order, so the numbers come out sorted.
            RoaringBitmap::from_sorted_iter(bitmap.iter().filter_map(map))
                .unwrap_or_else(|_| bitmap.iter().filter_map(map).collect())
        };
        let announced = self
            .announced
            .into_iter()
            .map(|(segment, state)| {
                let mut last: Vec<(u32, i64)> = state
                    .last
                    .iter()
                    .filter_map(|(n, at)| Some((map(*n)?, *at)))
                    .collect();
                last.sort_unstable();
                AnnouncedImage {
                    segment,
                    since: state.since,
                    members: renumber(&state.members),
                    last,
                    baseline: state.baseline,
                }
            })
            .collect();
        let mut bitmaps = self.bitmaps;
        bitmaps.renumber(&map);
        IndexImage {
            strings: self.strings,
            profiles: self
                .profiles
                .into_iter()
                .map(|(_, id, timeline)| ProfileImage {
                    id: *id.as_bytes(),
                    timeline,
                })
                .collect(),
            announced,
            bitmaps,
        }
    }
}

impl IndexImage {
    /// The index this image holds, with nothing but timelines, event bitmaps and
    /// announced memberships (and the counts by quarter hour the timelines and ids
    /// give): every profile counts as touched and changed, as after a rebuild.
    ///
    /// # Errors
    /// A timeline out of order or naming strings the image lacks, a profile twice, or a
    /// bitmap naming profiles it lacks: the snapshot was not written by this code.
    pub fn into_index(self) -> Result<AudienceIndex, MalformedImage> {
        let strings = self.strings.len();
        let count = u32::try_from(self.profiles.len()).map_err(|_| MalformedImage("too many profiles"))?;
        let mut index = AudienceIndex {
            strings: Interner::from_texts(self.strings),
            ..AudienceIndex::default()
        };
        index.slots.reserve(self.profiles.len());
        for (n, profile) in (0..count).zip(self.profiles) {
            if !profile.timeline.is_well_formed(strings) {
                return Err(MalformedImage("a timeline is out of order or out of range"));
            }
            let id = ProfileId::from_bytes(profile.id);
            if index.dense.insert(id, n).is_some() {
                return Err(MalformedImage("a profile appears twice"));
            }
            if let Some(created_ms) = id.minted_at_ms() {
                index.profiles_by_creation.add(created_ms);
            }
            for event in profile.timeline.events() {
                index.events_by_time.add(event.at_ms);
            }
            index.slots.push(Slot {
                id: Some(id),
                timeline: profile.timeline,
                ..Slot::default()
            });
        }
        index.live.insert_range(0..count);
        let in_range = |bitmap: &RoaringBitmap| bitmap.max().is_none_or(|max| max < count);
        let bitmaps_fit = self.bitmaps.ever.iter().all(|(_, b)| in_range(b))
            && self.bitmaps.days.iter().all(|(_, b)| in_range(b));
        if !bitmaps_fit {
            return Err(MalformedImage("an event bitmap names profiles the image lacks"));
        }
        index.filters = Filters::from_event_bitmaps(self.bitmaps);
        for image in self.announced {
            let last_fit = image.last.iter().all(|(n, _)| *n < count);
            if !in_range(&image.members) || !last_fit {
                return Err(MalformedImage(
                    "an announced membership names profiles the image lacks",
                ));
            }
            index.announced.insert(
                image.segment,
                Announced {
                    since: image.since,
                    members: image.members,
                    last: image.last.into_iter().collect(),
                    baseline: image.baseline,
                },
            );
        }
        index.touched = index.live.clone();
        index.changed = index.live.clone();
        Ok(index)
    }
}
