//! The tags of every workspace, held in memory: definitions, the values imports and
//! people assigned, and what the last refresh computed (RFM scores). Tag values live
//! in the audience index (ADR 0008), where conditions read them; [`TagCatalog::refresh`]
//! (in `tag_values`) puts them there.

use super::segments::SegmentCatalog;
use crate::sync::Exclusive;
use orbit_core::tags::{
    Reference, RfmFacts, RfmScore, TagDefinition, TagError, check_tag_references, references,
};
use orbit_core::{ProfileId, SegmentId, TagId, WorkspaceId};
use orbit_store::{StoreError, Stores, TagAssignment, TagRecord};
use std::collections::{BTreeMap, HashMap};

/// A tag with the values assigned to profiles (imported and manual tags).
#[derive(Debug, Clone)]
pub struct TagEntry {
    /// The stored definition.
    pub record: TagRecord,
    /// Assigned values by the profile id they were assigned to; sorted, distinct.
    pub assigned: BTreeMap<ProfileId, Vec<String>>,
}

/// One buyer's RFM facts and scores, as the last refresh computed them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmProfile {
    /// Recency, frequency and monetary value.
    pub facts: RfmFacts,
    /// Their scores and group.
    pub score: RfmScore,
}

/// What one refresh did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshReport {
    /// The moment conditions were evaluated at.
    pub evaluated_at: jiff::Timestamp,
    /// Whether every profile was looked at (else only the changed ones, and RFM).
    pub full: bool,
    /// Profiles whose rule tags were evaluated.
    pub profiles: u64,
    /// Tag values that changed (one per profile and tag).
    pub changes: u64,
    /// How long it took.
    pub took_ms: f64,
}

/// What the refreshes of one workspace left behind.
#[derive(Debug, Clone, Default)]
pub(crate) struct Computed {
    pub(crate) last: Option<RefreshReport>,
    pub(crate) last_full: Option<jiff::Timestamp>,
    pub(crate) rfm: HashMap<TagId, HashMap<ProfileId, RfmProfile>>,
}

/// Every workspace's tags, by id.
#[derive(Debug, Default)]
pub struct TagCatalog {
    workspaces: HashMap<WorkspaceId, BTreeMap<TagId, TagEntry>>,
    /// Written by refreshes, which hold the catalog only for reading.
    pub(crate) computed: Exclusive<HashMap<WorkspaceId, Computed>>,
}

fn merge_values(into: &mut Vec<String>, values: &[String]) {
    into.extend(values.iter().cloned());
    into.sort_unstable();
    into.dedup();
}

impl TagCatalog {
    /// Loads every tag, with imported and manual tags' assigned values.
    pub async fn load(stores: &Stores) -> Result<Self, StoreError> {
        let mut catalog = Self::default();
        for record in stores.tags.all_tags().await? {
            let assigned = if record.definition.source.kind().is_computed() {
                Vec::new()
            } else {
                stores.tags.tag_values(&record.workspace_id, &record.id).await?
            };
            let (workspace, id) = (record.workspace_id.clone(), record.id.clone());
            catalog.put(record);
            catalog.assign(&workspace, &id, &assigned);
        }
        Ok(catalog)
    }

    /// Adds or replaces a tag; assigned values stay while it is imported or manual.
    pub fn put(&mut self, record: TagRecord) {
        let tags = self.workspaces.entry(record.workspace_id.clone()).or_default();
        let assigned = match tags.remove(&record.id) {
            Some(old) if !record.definition.source.kind().is_computed() => old.assigned,
            _ => BTreeMap::new(),
        };
        tags.insert(record.id.clone(), TagEntry { record, assigned });
    }

    /// Forgets a tag.
    pub fn remove(&mut self, workspace: &WorkspaceId, id: &TagId) {
        if let Some(tags) = self.workspaces.get_mut(workspace) {
            tags.remove(id);
        }
        if let Some(computed) = self.computed_mut().get_mut(workspace) {
            computed.rfm.remove(id);
        }
    }

    /// Replaces the assigned values of each listed profile (empty values remove them).
    pub fn assign(&mut self, workspace: &WorkspaceId, id: &TagId, assignments: &[TagAssignment]) {
        let Some(entry) = self.workspaces.get_mut(workspace).and_then(|t| t.get_mut(id)) else {
            return;
        };
        for assignment in assignments {
            if assignment.values.is_empty() {
                entry.assigned.remove(&assignment.profile);
            } else {
                let values = entry.assigned.entry(assignment.profile).or_default();
                values.clear();
                merge_values(values, &assignment.values);
            }
        }
    }

    /// Replaces every assigned value of a tag.
    pub fn replace_assigned(&mut self, workspace: &WorkspaceId, id: &TagId, assignments: &[TagAssignment]) {
        if let Some(entry) = self.workspaces.get_mut(workspace).and_then(|t| t.get_mut(id)) {
            entry.assigned.clear();
        }
        self.assign(workspace, id, assignments);
    }

    /// Forgets every value assigned to these profiles (erasure).
    pub fn forget_profiles(&mut self, workspace: &WorkspaceId, profiles: &[ProfileId]) {
        if let Some(tags) = self.workspaces.get_mut(workspace) {
            for entry in tags.values_mut() {
                for profile in profiles {
                    entry.assigned.remove(profile);
                }
            }
        }
        if let Some(computed) = self.computed_mut().get_mut(workspace) {
            for scores in computed.rfm.values_mut() {
                for profile in profiles {
                    scores.remove(profile);
                }
            }
        }
    }

    /// The workspaces that have tags.
    pub fn workspaces(&self) -> impl Iterator<Item = &WorkspaceId> {
        self.workspaces.keys()
    }

    /// One tag.
    pub fn get(&self, workspace: &WorkspaceId, id: &TagId) -> Option<&TagEntry> {
        self.workspaces.get(workspace)?.get(id)
    }

    /// A workspace's tags, by id.
    pub fn list(&self, workspace: &WorkspaceId) -> impl Iterator<Item = &TagEntry> {
        self.workspaces
            .get(workspace)
            .into_iter()
            .flat_map(|t| t.values())
    }

    /// Checks that the tags `definition`'s rules name exist and that, were it the
    /// definition of tag `id`, no tag would come to depend on itself. `extra` tags
    /// count as existing too (a library being installed alongside).
    pub fn check_references(
        &self,
        workspace: &WorkspaceId,
        id: &TagId,
        definition: &TagDefinition,
        extra: &[(TagId, TagDefinition)],
    ) -> Result<(), TagError> {
        let tags = self.workspaces.get(workspace);
        let lookup = |name: &str| -> Option<&TagDefinition> {
            if let Some((_, d)) = extra.iter().find(|(e, _)| e.as_str() == name) {
                return Some(d);
            }
            tags.and_then(|t| TagId::parse(name).ok().and_then(|n| t.get(&n)))
                .map(|e| &e.record.definition)
        };
        check_tag_references(id.as_str(), definition, lookup)
    }

    /// The tags whose rules name `id`.
    pub fn dependents(&self, workspace: &WorkspaceId, id: &TagId) -> Vec<TagId> {
        self.list(workspace)
            .filter(|e| {
                e.record.id != *id
                    && e.record.definition.source.conditions().iter().any(|(_, c)| {
                        references(c)
                            .iter()
                            .any(|(_, r)| *r == Reference::Tag(id.as_str()))
                    })
            })
            .map(|e| e.record.id.clone())
            .collect()
    }

    /// A buyer's RFM facts and scores for an RFM tag, as last computed.
    pub fn rfm_of(&self, workspace: &WorkspaceId, tag: &TagId, profile: ProfileId) -> Option<RfmProfile> {
        self.computed_mut()
            .get(workspace)?
            .rfm
            .get(tag)?
            .get(&profile)
            .copied()
    }

    /// The last refresh of a workspace, and when the last full one evaluated.
    pub fn last_refresh(&self, workspace: &WorkspaceId) -> (Option<RefreshReport>, Option<jiff::Timestamp>) {
        self.computed_mut()
            .get(workspace)
            .map_or((None, None), |c| (c.last, c.last_full))
    }

    pub(crate) fn computed_mut(&self) -> std::sync::MutexGuard<'_, HashMap<WorkspaceId, Computed>> {
        // Replaced whole under the lock, never left half-updated by a panic.
        self.computed.lock()
    }
}

/// The segments whose conditions name tag `tag`.
pub fn segments_naming(segments: &SegmentCatalog, workspace: &WorkspaceId, tag: &TagId) -> Vec<SegmentId> {
    segments
        .list(workspace)
        .filter(|d| {
            d.record.condition.as_ref().is_some_and(|c| {
                references(c)
                    .iter()
                    .any(|(_, r)| *r == Reference::Tag(tag.as_str()))
            })
        })
        .map(|d| d.record.id.clone())
        .collect()
}
