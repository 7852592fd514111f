//! The segments of every workspace, held in memory for evaluation: a dynamic segment's
//! members are those meeting its condition now; a static segment's are its stored list.
//! Conditions may name other segments; names are checked to exist and not to loop.

use super::index::AudienceIndex;
use foldhash::HashMap;
use orbit_core::audience::{Condition, ConditionError, Evaluation};
use orbit_core::{ProfileId, SegmentId, WorkspaceId};
use orbit_store::{SegmentKind, SegmentRecord, StoreError, Stores};
use roaring::RoaringBitmap;
use std::collections::BTreeMap;

/// How deep segments may name segments that name segments.
const MAX_SEGMENT_DEPTH: usize = 8;

/// A segment with what evaluation needs of it.
#[derive(Debug, Clone)]
pub struct SegmentDefinition {
    /// The stored definition.
    pub record: SegmentRecord,
    /// A static segment's members; empty for a dynamic one.
    pub members: Vec<ProfileId>,
}

/// Every workspace's segments, by id.
#[derive(Debug, Default)]
pub struct SegmentCatalog {
    workspaces: std::collections::HashMap<WorkspaceId, BTreeMap<SegmentId, SegmentDefinition>>,
}

impl SegmentCatalog {
    /// Loads every segment, with static segments' members.
    pub async fn load(stores: &Stores) -> Result<Self, StoreError> {
        let mut catalog = Self::default();
        for record in stores.segments.all_segments().await? {
            let members = match record.kind {
                SegmentKind::Static => {
                    stores
                        .segments
                        .static_members(&record.workspace_id, &record.id)
                        .await?
                }
                SegmentKind::Dynamic => Vec::new(),
            };
            catalog.put(SegmentDefinition { record, members });
        }
        Ok(catalog)
    }

    /// Adds or replaces a segment.
    pub fn put(&mut self, definition: SegmentDefinition) {
        self.workspaces
            .entry(definition.record.workspace_id.clone())
            .or_default()
            .insert(definition.record.id.clone(), definition);
    }

    /// Forgets a segment.
    pub fn remove(&mut self, workspace: &WorkspaceId, id: &SegmentId) {
        if let Some(segments) = self.workspaces.get_mut(workspace) {
            segments.remove(id);
        }
    }

    /// The workspaces that have segments.
    pub fn workspaces(&self) -> impl Iterator<Item = &WorkspaceId> {
        self.workspaces.keys()
    }

    /// One segment.
    pub fn get(&self, workspace: &WorkspaceId, id: &SegmentId) -> Option<&SegmentDefinition> {
        self.workspaces.get(workspace)?.get(id)
    }

    /// Adds members to a static segment's list, kept in profile id order as it is
    /// stored; answers those that were not in it. A dynamic or unknown segment takes
    /// nobody.
    pub fn add_static_members(
        &mut self,
        workspace: &WorkspaceId,
        id: &SegmentId,
        profiles: &[ProfileId],
    ) -> Vec<ProfileId> {
        let Some(definition) = self.workspaces.get_mut(workspace).and_then(|s| s.get_mut(id)) else {
            return Vec::new();
        };
        if definition.record.kind != SegmentKind::Static {
            return Vec::new();
        }
        let mut joined = Vec::new();
        for profile in profiles {
            if let Err(at) = definition.members.binary_search(profile) {
                definition.members.insert(at, *profile);
                joined.push(*profile);
            }
        }
        joined
    }

    /// A workspace's segments, by id.
    pub fn list(&self, workspace: &WorkspaceId) -> impl Iterator<Item = &SegmentDefinition> {
        self.workspaces
            .get(workspace)
            .into_iter()
            .flat_map(|s| s.values())
    }

    /// The segments whose conditions name `id`.
    pub fn dependents(&self, workspace: &WorkspaceId, id: &SegmentId) -> Vec<SegmentId> {
        self.list(workspace)
            .filter(|d| {
                d.record
                    .condition
                    .as_ref()
                    .is_some_and(|c| named_segments(c).iter().any(|n| *n == id.as_str()))
            })
            .map(|d| d.record.id.clone())
            .collect()
    }

    /// Checks that every segment `condition` names exists and that, were it the
    /// condition of segment `own`, no segment would come to depend on itself.
    pub fn check_references(
        &self,
        workspace: &WorkspaceId,
        own: Option<&SegmentId>,
        condition: &Condition,
    ) -> Result<(), ConditionError> {
        let mut path = Vec::new();
        if let Some(own) = own {
            path.push(own.as_str().to_owned());
        }
        self.walk(workspace, condition, &mut path, "condition")
    }

    fn walk(
        &self,
        workspace: &WorkspaceId,
        condition: &Condition,
        path: &mut Vec<String>,
        field: &str,
    ) -> Result<(), ConditionError> {
        for name in named_segments(condition) {
            if path.iter().any(|p| p == name) {
                return Err(ConditionError {
                    path: field.to_owned(),
                    message: format!("segment {name:?} would depend on itself ({})", path.join(" → ")),
                });
            }
            if path.len() >= MAX_SEGMENT_DEPTH {
                return Err(ConditionError {
                    path: field.to_owned(),
                    message: format!("segments may name segments at most {MAX_SEGMENT_DEPTH} deep"),
                });
            }
            let named = SegmentId::parse(name)
                .ok()
                .and_then(|id| self.get(workspace, &id))
                .ok_or_else(|| ConditionError {
                    path: field.to_owned(),
                    message: format!("no segment {name:?} in this workspace"),
                })?;
            if let Some(inner) = &named.record.condition
                && named.record.kind == SegmentKind::Dynamic
            {
                path.push(name.to_owned());
                self.walk(workspace, inner, path, field)?;
                path.pop();
            }
        }
        Ok(())
    }

    /// The members of `condition` in a workspace's index, as dense numbers, with the
    /// segments it names evaluated first.
    pub fn members(
        &self,
        workspace: &WorkspaceId,
        index: &AudienceIndex,
        condition: &Condition,
        at: &Evaluation,
    ) -> Result<RoaringBitmap, ConditionError> {
        let mut known = HashMap::default();
        self.resolve_named(workspace, index, condition, at, None, &mut known, 0)?;
        Ok(index.members_with(condition, at, &known))
    }

    /// The members of `condition` among `among`, with the segments it names evaluated
    /// for the same profiles only: a condition looks at one profile at a time.
    pub fn members_among(
        &self,
        workspace: &WorkspaceId,
        index: &AudienceIndex,
        condition: &Condition,
        at: &Evaluation,
        among: &RoaringBitmap,
    ) -> Result<RoaringBitmap, ConditionError> {
        let mut known = HashMap::default();
        self.resolve_named(workspace, index, condition, at, Some(among), &mut known, 0)?;
        Ok(index.members_among(condition, at, &known, Some(among)))
    }

    /// The members of a stored segment, as dense numbers.
    pub fn segment_members(
        &self,
        workspace: &WorkspaceId,
        index: &AudienceIndex,
        id: &SegmentId,
        at: &Evaluation,
    ) -> Result<RoaringBitmap, ConditionError> {
        self.segment_members_among(workspace, index, id, at, None)
    }

    /// The members of a stored segment among `among` (everyone when `None`). A
    /// condition looks at one profile at a time, so the segments it names need
    /// evaluating only for the same profiles.
    pub fn segment_members_among(
        &self,
        workspace: &WorkspaceId,
        index: &AudienceIndex,
        id: &SegmentId,
        at: &Evaluation,
        among: Option<&RoaringBitmap>,
    ) -> Result<RoaringBitmap, ConditionError> {
        let mut known = HashMap::default();
        self.evaluate_segment(workspace, index, id.as_str(), at, among, &mut known, 0)?;
        Ok(known.remove(id.as_str()).unwrap_or_default())
    }

    /// Whether a segment's membership can change with time alone, through its own
    /// condition or a segment it names.
    pub fn depends_on_time(&self, workspace: &WorkspaceId, id: &SegmentId) -> bool {
        let mut seen = Vec::new();
        self.time_dependent(workspace, id.as_str(), &mut seen)
    }

    fn time_dependent<'a>(&'a self, workspace: &WorkspaceId, name: &'a str, seen: &mut Vec<&'a str>) -> bool {
        if seen.contains(&name) {
            return false;
        }
        seen.push(name);
        let Some(definition) = SegmentId::parse(name)
            .ok()
            .and_then(|id| self.get(workspace, &id))
        else {
            return false;
        };
        match (&definition.record.kind, &definition.record.condition) {
            (SegmentKind::Dynamic, Some(condition)) => {
                condition.depends_on_time()
                    || named_segments(condition)
                        .into_iter()
                        .any(|named| self.time_dependent(workspace, named, seen))
            }
            _ => false,
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the recursion carries its evaluation context and what it has evaluated so far"
    )]
    fn resolve_named(
        &self,
        workspace: &WorkspaceId,
        index: &AudienceIndex,
        condition: &Condition,
        at: &Evaluation,
        among: Option<&RoaringBitmap>,
        known: &mut HashMap<String, RoaringBitmap>,
        depth: usize,
    ) -> Result<(), ConditionError> {
        for name in named_segments(condition) {
            self.evaluate_segment(workspace, index, name, at, among, known, depth)?;
        }
        Ok(())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the recursion carries its evaluation context and what it has evaluated so far"
    )]
    fn evaluate_segment(
        &self,
        workspace: &WorkspaceId,
        index: &AudienceIndex,
        name: &str,
        at: &Evaluation,
        among: Option<&RoaringBitmap>,
        known: &mut HashMap<String, RoaringBitmap>,
        depth: usize,
    ) -> Result<(), ConditionError> {
        if known.contains_key(name) {
            return Ok(());
        }
        if depth > MAX_SEGMENT_DEPTH {
            return Err(ConditionError {
                path: "condition".into(),
                message: format!("segments name each other more than {MAX_SEGMENT_DEPTH} deep"),
            });
        }
        let Some(definition) = SegmentId::parse(name)
            .ok()
            .and_then(|id| self.get(workspace, &id))
        else {
            // A segment deleted since: nobody is in it.
            known.insert(name.to_owned(), RoaringBitmap::new());
            return Ok(());
        };
        let members = match (&definition.record.kind, &definition.record.condition) {
            (SegmentKind::Dynamic, Some(inner)) => {
                self.resolve_named(workspace, index, inner, at, among, known, depth + 1)?;
                index.members_among(inner, at, known, among)
            }
            (SegmentKind::Dynamic, None) => RoaringBitmap::new(),
            (SegmentKind::Static, _) => definition
                .members
                .iter()
                .filter_map(|p| index.resolve(*p))
                .collect(),
        };
        known.insert(name.to_owned(), members);
        Ok(())
    }
}

/// The segments a condition names directly or inside its groups.
pub fn named_segments(condition: &Condition) -> Vec<&str> {
    let mut names = Vec::new();
    let mut stack = vec![condition];
    while let Some(c) = stack.pop() {
        match c {
            Condition::And { conditions } | Condition::Or { conditions } => stack.extend(conditions),
            Condition::Not { condition } => stack.push(condition),
            Condition::Segment { segment } => names.push(segment.as_str()),
            _ => {}
        }
    }
    names
}
