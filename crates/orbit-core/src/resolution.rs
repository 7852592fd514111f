//! OneID: incremental identity resolution over one workspace's identity graph.
//!
//! Every identity belongs to exactly one profile. An event's identities are resolved in
//! priority order: the strongest one chooses the profile, the others join it, and a
//! known identity on another profile merges the two (the older profile survives).
//! Guard rails refuse links that would over-merge and record them as conflicts:
//! - `max_per_profile`: at most N identities of a type on one profile (one `user_id`);
//! - `max_linked`: a weak identifier (a shared family iPad's `device_id`) seen with more
//!   than N distinct stronger identities of one type stops linking.
//!
//! # Contract
//! For histories that trip no guard rail, the grouping of identities into profiles is
//! the connected components of "appeared in one event", so it does not depend on the
//! order events arrive in.

use crate::event::DataIssue;
use crate::identity::{Identity, IdentityKind};
use crate::ids::ProfileId;
use crate::profile::Profile;
use crate::trait_rules::TraitRules;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// How one identity type takes part in resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityRule {
    /// Higher decides first which profile an event belongs to.
    pub priority: u16,
    /// At most this many identities of the type on one profile.
    #[serde(default)]
    pub max_per_profile: Option<u32>,
    /// Stops linking once seen with more than this many distinct stronger identities of
    /// one type (user ids, emails, phones…): a device shared by a household.
    #[serde(default)]
    pub max_linked: Option<u32>,
}

/// The identity rules of a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityPolicy {
    /// Rules by identity type name.
    pub rules: HashMap<IdentityKind, IdentityRule>,
    /// The rule of types not named (custom types).
    pub default_rule: IdentityRule,
}

impl Default for IdentityPolicy {
    fn default() -> Self {
        let rule = |priority, max_per_profile, max_linked| IdentityRule {
            priority,
            max_per_profile,
            max_linked,
        };
        Self {
            rules: HashMap::from([
                (IdentityKind::UserId, rule(100, Some(1), None)),
                (IdentityKind::WechatUnionid, rule(90, Some(1), None)),
                (IdentityKind::Phone, rule(80, Some(3), None)),
                (IdentityKind::Email, rule(80, Some(5), None)),
                (IdentityKind::WechatOpenid, rule(70, None, None)),
                (IdentityKind::DeviceId, rule(20, None, Some(3))),
                (IdentityKind::AnonymousId, rule(10, None, None)),
            ]),
            default_rule: rule(60, None, None),
        }
    }
}

impl IdentityPolicy {
    /// The rule for `kind`.
    pub fn rule(&self, kind: &IdentityKind) -> &IdentityRule {
        self.rules.get(kind).unwrap_or(&self.default_rule)
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ConflictReason {
    /// The profile would hold more identities of a type than allowed.
    TooManyOfType {
        /// The identity type.
        kind: IdentityKind,
        /// The configured maximum.
        limit: u32,
    },
    /// The identity was seen with too many distinct people and no longer links.
    SharedIdentity {
        /// The configured maximum.
        limit: u32,
    },
}

/// A link that was not made, kept for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conflict {
    /// The identity whose link was refused.
    pub identity: Identity,
    /// The profile the event resolved to.
    pub profile: ProfileId,
    /// The profile the identity already belongs to, when it belongs to another.
    pub other_profile: Option<ProfileId>,
    /// Why the link was refused.
    pub reason: ConflictReason,
}

/// Two profiles that became one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Merge {
    /// The profile that remains.
    pub survivor: ProfileId,
    /// The profile that became an alias of the survivor.
    pub merged: ProfileId,
    /// The identity that was found on both sides of the link.
    pub linked_by: Identity,
}

/// What resolving one event did to the graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolution {
    /// The profile the event belongs to, if it had any usable identity.
    pub profile: Option<ProfileId>,
    /// Whether that profile was created by this event.
    pub created: bool,
    /// Whether the profile changed in a way worth storing (identities, merges, a new
    /// first-seen time or a new minute of last-seen time).
    pub profile_changed: bool,
    /// Identities whose state changed: newly linked, moved by a merge, or seen with a
    /// new stronger identity.
    pub relinked: Vec<Identity>,
    /// Profiles merged, in order.
    pub merges: Vec<Merge>,
    /// Links refused.
    pub conflicts: Vec<Conflict>,
}

/// Where an identity stands in the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityState {
    /// The profile it belongs to.
    pub profile: ProfileId,
    /// Distinct stronger identities seen with it (only for types with `max_linked`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_with: Vec<Identity>,
    /// Whether it stopped linking because it was seen with too many people.
    #[serde(default)]
    pub shared: bool,
}

/// One workspace's profiles and identities, in memory.
#[derive(Debug, Default, Clone)]
pub struct IdentityGraph {
    identities: FastMap<Identity, IdentityState>,
    profiles: FastMap<ProfileId, Profile>,
    aliases: FastMap<ProfileId, ProfileId>,
}

impl IdentityGraph {
    /// Loads a stored profile with its identities; `linking` holds the states of those
    /// with more to remember than their profile (see [`IdentityGraph::linking`]).
    pub fn restore_profile(&mut self, profile: Profile, linking: Vec<(Identity, IdentityState)>) {
        for merged in &profile.merged_ids {
            self.aliases.insert(*merged, profile.id);
        }
        for identity in &profile.identities {
            self.identities.insert(
                identity.clone(),
                IdentityState {
                    profile: profile.id,
                    seen_with: Vec::new(),
                    shared: false,
                },
            );
        }
        for (identity, state) in linking {
            self.identities.insert(identity, state);
        }
        self.profiles.insert(profile.id, profile);
    }

    /// The states of a profile's identities that were seen with other people or found
    /// shared: what must be stored beside the profile to restore it.
    pub fn linking(&self, profile: &Profile) -> Vec<(Identity, IdentityState)> {
        profile
            .identities
            .iter()
            .filter_map(|i| {
                let state = self.identities.get(i)?;
                (state.shared || !state.seen_with.is_empty()).then(|| (i.clone(), state.clone()))
            })
            .collect()
    }

    /// The live profile `id` resolves to, following merges.
    pub fn canonical(&self, id: ProfileId) -> Option<ProfileId> {
        if self.profiles.contains_key(&id) {
            return Some(id);
        }
        self.aliases
            .get(&id)
            .copied()
            .filter(|p| self.profiles.contains_key(p))
    }

    /// A live profile.
    pub fn profile(&self, id: ProfileId) -> Option<&Profile> {
        self.profiles.get(&self.canonical(id)?)
    }

    /// A live profile, for changes.
    pub fn profile_mut(&mut self, id: ProfileId) -> Option<&mut Profile> {
        let id = self.canonical(id)?;
        self.profiles.get_mut(&id)
    }

    /// The profile holding `identity`.
    pub fn profile_of(&self, identity: &Identity) -> Option<ProfileId> {
        self.identities.get(identity).map(|s| s.profile)
    }

    /// An identity's state.
    pub fn identity_state(&self, identity: &Identity) -> Option<&IdentityState> {
        self.identities.get(identity)
    }

    /// How many live profiles the graph holds.
    pub fn profile_count(&self) -> usize {
        self.profiles.len()
    }

    /// Every live profile.
    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    /// Resolves the identities of one event observed at `at`.
    ///
    /// `mint` makes the id of a profile this event creates.
    pub fn resolve(
        &mut self,
        identities: &[Identity],
        at: Timestamp,
        policy: &IdentityPolicy,
        rules: &TraitRules,
        mint: &mut dyn FnMut() -> ProfileId,
    ) -> Resolution {
        let mut resolution = Resolution::default();
        let mut ordered: Vec<&Identity> = Vec::with_capacity(identities.len());
        for identity in identities {
            if !ordered.contains(&identity) {
                ordered.push(identity);
            }
        }
        // Stable: equal priorities keep the order the sender gave.
        ordered.sort_by_key(|i| std::cmp::Reverse(policy.rule(&i.kind).priority));

        let (linking, new_weak) = self.screen_shared(&ordered, policy, &mut resolution);
        let Some(first) = linking.first().copied() else {
            // Only identities that stopped linking: the event stays with where they are.
            resolution.profile = ordered.iter().find_map(|i| self.profile_of(i));
            if let Some(id) = resolution.profile {
                resolution.profile_changed = self.touch(id, at);
            }
            return resolution;
        };

        let mut target = match self.profile_of(first) {
            Some(known) => known,
            None => {
                let strongest_known = linking.iter().find_map(|i| self.profile_of(i));
                match strongest_known.filter(|p| self.may_attach(first, *p, policy).is_ok()) {
                    Some(existing) => {
                        self.attach(first, existing, &mut resolution);
                        existing
                    }
                    None => {
                        let id = mint();
                        self.profiles.insert(id, Profile::new(id, at));
                        resolution.created = true;
                        self.attach(first, id, &mut resolution);
                        id
                    }
                }
            }
        };

        for identity in linking.iter().skip(1).copied() {
            match self.profile_of(identity) {
                Some(p) if p == target => {}
                Some(other) => match self.may_merge(target, other, policy) {
                    Ok(()) => target = self.merge(target, other, identity, rules, &mut resolution),
                    Err(reason) => resolution.conflicts.push(Conflict {
                        identity: identity.clone(),
                        profile: target,
                        other_profile: Some(other),
                        reason,
                    }),
                },
                None => match self.may_attach(identity, target, policy) {
                    Ok(()) => self.attach(identity, target, &mut resolution),
                    Err(reason) => resolution.conflicts.push(Conflict {
                        identity: identity.clone(),
                        profile: target,
                        other_profile: None,
                        reason,
                    }),
                },
            }
        }
        for (weak, anchor) in new_weak {
            if let Some(state) = self.identities.get_mut(weak) {
                state.seen_with.push(anchor.clone());
            }
        }
        let touched = self.touch(target, at);
        resolution.profile_changed =
            touched || resolution.created || !resolution.merges.is_empty() || !resolution.relinked.is_empty();
        resolution.profile = Some(target);
        resolution
    }

    /// Applies traits observed on an event to a profile; returns whether any changed.
    pub fn observe_traits(
        &mut self,
        id: ProfileId,
        traits: &Map<String, Value>,
        at: Timestamp,
        rules: &TraitRules,
    ) -> bool {
        let Some(profile) = self.profile_mut(id) else {
            return false;
        };
        let mut changed = false;
        for (name, value) in traits {
            changed |= profile.traits.observe(name, value.clone(), at, rules);
        }
        changed
    }

    /// Flags data-quality issues on a profile; returns whether any was new.
    pub fn flag(&mut self, id: ProfileId, issues: &[DataIssue]) -> bool {
        let Some(profile) = self.profile_mut(id) else {
            return false;
        };
        let mut changed = false;
        for issue in issues {
            changed |= profile.flag(issue.clone());
        }
        changed
    }

    /// Removes a profile, its identities and its aliases; returns what was removed.
    pub fn erase(&mut self, id: ProfileId) -> Option<Profile> {
        let id = self.canonical(id)?;
        let profile = self.profiles.remove(&id)?;
        for identity in &profile.identities {
            self.identities.remove(identity);
        }
        for merged in &profile.merged_ids {
            self.aliases.remove(merged);
        }
        Some(profile)
    }

    fn touch(&mut self, id: ProfileId, at: Timestamp) -> bool {
        self.profiles.get_mut(&id).is_some_and(|p| p.touch(at))
    }

    /// Updates `seen_with` of weak identities and drops from linking those that are
    /// shared; returns the identities that take part in linking, strongest first, and
    /// the anchors of weak identities not yet in the graph.
    fn screen_shared<'a>(
        &mut self,
        ordered: &[&'a Identity],
        policy: &IdentityPolicy,
        resolution: &mut Resolution,
    ) -> (Vec<&'a Identity>, Vec<(&'a Identity, &'a Identity)>) {
        let mut linking = Vec::with_capacity(ordered.len());
        let mut new_weak = Vec::new();
        for (position, identity) in ordered.iter().copied().enumerate() {
            let rule = policy.rule(&identity.kind);
            let Some(limit) = rule.max_linked else {
                linking.push(identity);
                continue;
            };
            // The strongest identity of the event stands for the person it was seen with.
            let anchor = ordered[..position]
                .iter()
                .copied()
                .find(|i| policy.rule(&i.kind).priority > rule.priority);
            let Some(state) = self.identities.get_mut(identity) else {
                if let Some(anchor) = anchor {
                    new_weak.push((identity, anchor));
                }
                linking.push(identity);
                continue;
            };
            if let Some(anchor) = anchor.filter(|a| !state.shared && !state.seen_with.contains(a)) {
                state.seen_with.push(anchor.clone());
                // Its state changed: it must be stored.
                resolution.relinked.push(identity.clone());
                let same_kind = state.seen_with.iter().filter(|s| s.kind == anchor.kind).count();
                if same_kind > limit as usize {
                    state.shared = true;
                    resolution.conflicts.push(Conflict {
                        identity: identity.clone(),
                        profile: state.profile,
                        other_profile: None,
                        reason: ConflictReason::SharedIdentity { limit },
                    });
                }
            }
            if !state.shared {
                linking.push(identity);
            }
        }
        (linking, new_weak)
    }

    fn count_of_kind(&self, profile: ProfileId, kind: &IdentityKind) -> u32 {
        self.profiles.get(&profile).map_or(0, |p| {
            p.identities.iter().filter(|i| &i.kind == kind).count() as u32
        })
    }

    fn may_attach(
        &self,
        identity: &Identity,
        profile: ProfileId,
        policy: &IdentityPolicy,
    ) -> Result<(), ConflictReason> {
        match policy.rule(&identity.kind).max_per_profile {
            Some(limit) if self.count_of_kind(profile, &identity.kind) >= limit => {
                Err(ConflictReason::TooManyOfType {
                    kind: identity.kind.clone(),
                    limit,
                })
            }
            _ => Ok(()),
        }
    }

    fn may_merge(&self, a: ProfileId, b: ProfileId, policy: &IdentityPolicy) -> Result<(), ConflictReason> {
        let Some(smaller) = self.profiles.get(&b) else {
            return Ok(());
        };
        let mut kinds: Vec<&IdentityKind> = smaller.identities.iter().map(|i| &i.kind).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            if let Some(limit) = policy.rule(kind).max_per_profile
                && self.count_of_kind(a, kind) + self.count_of_kind(b, kind) > limit
            {
                return Err(ConflictReason::TooManyOfType {
                    kind: kind.clone(),
                    limit,
                });
            }
        }
        Ok(())
    }

    fn attach(&mut self, identity: &Identity, profile: ProfileId, resolution: &mut Resolution) {
        if let Some(p) = self.profiles.get_mut(&profile) {
            p.identities.push(identity.clone());
        }
        self.identities.insert(
            identity.clone(),
            IdentityState {
                profile,
                seen_with: Vec::new(),
                shared: false,
            },
        );
        resolution.relinked.push(identity.clone());
    }

    /// Merges `a` and `b`; the older survives. Returns the survivor.
    fn merge(
        &mut self,
        a: ProfileId,
        b: ProfileId,
        linked_by: &Identity,
        rules: &TraitRules,
        resolution: &mut Resolution,
    ) -> ProfileId {
        let (Some(pa), Some(pb)) = (self.profiles.get(&a), self.profiles.get(&b)) else {
            return a;
        };
        let (survivor, merged) = if pa.is_older_than(pb) { (a, b) } else { (b, a) };
        let Some(gone) = self.profiles.remove(&merged) else {
            return survivor;
        };
        for identity in &gone.identities {
            if let Some(state) = self.identities.get_mut(identity) {
                state.profile = survivor;
            }
            resolution.relinked.push(identity.clone());
        }
        for alias in gone.merged_ids.iter().chain(std::iter::once(&merged)) {
            self.aliases.insert(*alias, survivor);
        }
        if let Some(keep) = self.profiles.get_mut(&survivor) {
            keep.identities.extend(gone.identities);
            keep.traits.absorb(gone.traits, rules);
            keep.merged_ids.extend(gone.merged_ids);
            keep.merged_ids.push(merged);
            keep.touch(gone.first_seen);
            keep.touch(gone.last_seen);
            for issue in gone.issues {
                keep.flag(issue);
            }
        }
        resolution.merges.push(Merge {
            survivor,
            merged,
            linked_by: linked_by.clone(),
        });
        survivor
    }
}

#[cfg(test)]
mod tests;
