//! The profile: one person, their identities and traits.

use crate::event::DataIssue;
use crate::identity::Identity;
use crate::ids::ProfileId;
use crate::trait_rules::TraitSet;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How many data-quality issues a profile keeps (the newest).
pub const MAX_PROFILE_ISSUES: usize = 20;

/// One person as Orbit knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The profile's id; ids of profiles merged into it resolve here too.
    pub id: ProfileId,
    /// The earliest event time seen for this person; the older profile survives a merge.
    pub first_seen: Timestamp,
    /// The latest event time seen for this person.
    pub last_seen: Timestamp,
    /// Every identity linked to this person.
    pub identities: Vec<Identity>,
    /// Traits with the time each was set.
    pub traits: TraitSet,
    /// Ids of profiles merged into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_ids: Vec<ProfileId>,
    /// Values received for this person that could not be used (invalid email…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<DataIssue>,
}

impl Profile {
    /// A new profile first seen at `at`.
    pub fn new(id: ProfileId, at: Timestamp) -> Self {
        Self {
            id,
            first_seen: at,
            last_seen: at,
            identities: Vec::new(),
            traits: TraitSet::default(),
            merged_ids: Vec::new(),
            issues: Vec::new(),
        }
    }

    /// Whether this profile is older than `other`: it survives when the two merge.
    pub fn is_older_than(&self, other: &Profile) -> bool {
        (self.first_seen, self.id) < (other.first_seen, other.id)
    }

    /// Records a data-quality issue, keeping the newest few and no duplicates; returns
    /// whether it was new.
    pub fn flag(&mut self, issue: DataIssue) -> bool {
        if self.issues.contains(&issue) {
            return false;
        }
        if self.issues.len() >= MAX_PROFILE_ISSUES {
            self.issues.remove(0);
        }
        self.issues.push(issue);
        true
    }

    /// Widens the seen window to include `at`; returns whether the change must be
    /// stored: only an earlier `first_seen` (it decides merges). `last_seen` is the
    /// newest event on the profile's timeline, which the engine rebuilds from the log,
    /// so a profile is not rewritten for every event.
    pub fn touch(&mut self, at: Timestamp) -> bool {
        let earlier = at < self.first_seen;
        self.first_seen = self.first_seen.min(at);
        self.last_seen = self.last_seen.max(at);
        earlier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + secs).expect("a valid time")
    }

    #[test]
    fn touch_widens_the_window_and_asks_for_a_write_only_when_it_matters() {
        let mut p = Profile::new(ProfileId::mint(at(0), 1), at(120));
        assert!(!p.touch(at(150)), "a later event needs no write");
        assert_eq!(p.last_seen, at(150), "but the value moves in memory");
        assert!(!p.touch(at(3_600)), "nor one an hour later");
        assert!(
            !p.touch(at(130)),
            "an older event inside the window changes nothing"
        );
        assert_eq!((p.first_seen, p.last_seen), (at(120), at(3_600)));
        assert!(p.touch(at(119)), "an earlier first_seen decides merges: stored");
        assert_eq!(p.first_seen, at(119));
    }
}
