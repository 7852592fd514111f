//! Comparing two segments' tag distributions: the engine tallies each segment's
//! members' tags; the arithmetic is [`orbit_core::audience::compare`].

use super::segments::parse_segment_id;
use super::tags::{label_of, parse_tag_id};
use super::{Audiences, blocking, condition_problem};
use crate::EngineError;
use jiff::Timestamp;
use orbit_core::audience::compare::{Share, Tally, compare_tallies};
use orbit_core::tags::{Label, TagDefinition, TagKind};
use orbit_core::{ErrorCode, Problem, SegmentId, TagId, WorkspaceId};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One side of a comparison.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComparedSegment {
    /// The segment's id.
    pub id: SegmentId,
    /// Its name.
    pub name: String,
    /// How many members it has now.
    pub size: u64,
}

/// How many members of one segment hold something, and their share of it.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct SideShare {
    /// How many.
    pub count: u64,
    /// Their share of the segment, 0–1.
    pub share: f64,
}

impl From<Share> for SideShare {
    fn from(s: Share) -> Self {
        Self {
            count: s.count,
            share: s.share,
        }
    }
}

/// One value of a tag, compared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValueComparison {
    /// The value.
    pub value: String,
    /// Its label, when the tag declares one.
    pub label: Option<Label>,
    /// Its holders in `a`.
    pub a: SideShare,
    /// Its holders in `b`.
    pub b: SideShare,
    /// `a`'s share minus `b`'s, in percentage points.
    pub difference_pp: f64,
    /// `a`'s share over `b`'s; null when no one in `b` holds it.
    pub lift: Option<f64>,
}

/// One tag, compared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagComparison {
    /// The tag's id.
    pub tag: TagId,
    /// Its name.
    pub name: String,
    /// How its values come about.
    pub kind: TagKind,
    /// The largest difference of its values, in percentage points.
    pub max_difference_pp: f64,
    /// Holders of any of its values in `a`.
    pub a: SideShare,
    /// Holders of any of its values in `b`.
    pub b: SideShare,
    /// Its values, those that differ most first.
    pub values: Vec<ValueComparison>,
}

/// Two segments' tag distributions side by side.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comparison {
    /// The first segment.
    pub a: ComparedSegment,
    /// The segment it is compared with.
    pub b: ComparedSegment,
    /// The moment both were evaluated at.
    pub evaluated_at: Timestamp,
    /// Every tag compared, those that differ most first.
    pub tags: Vec<TagComparison>,
}

impl Audiences {
    fn named_segment(
        &self,
        workspace: &WorkspaceId,
        raw: Option<&str>,
        field: &str,
    ) -> Result<SegmentId, Problem> {
        let raw =
            raw.ok_or_else(|| Problem::at(ErrorCode::InvalidQuery, field, "name the segment to compare"))?;
        let id = parse_segment_id(raw, field)?;
        if !self.has_segment(workspace, &id) {
            return Err(Problem::at(
                ErrorCode::NotFound,
                field,
                format!("no segment {id}"),
            ));
        }
        Ok(id)
    }

    /// The tags to compare: those listed (comma-separated ids) or every tag.
    fn compared_tags(
        &self,
        workspace: &WorkspaceId,
        list: Option<&str>,
    ) -> Result<BTreeMap<TagId, TagDefinition>, Problem> {
        let catalog = self.tags.read();
        let all: BTreeMap<TagId, TagDefinition> = catalog
            .list(workspace)
            .map(|e| (e.record.id.clone(), e.record.definition.clone()))
            .collect();
        let Some(list) = list.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(all);
        };
        let mut chosen = BTreeMap::new();
        for raw in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let unknown = || {
                Problem::at(
                    ErrorCode::InvalidQuery,
                    "tags",
                    format!("no tag {raw:?} in this workspace"),
                )
            };
            let id = parse_tag_id(raw, "tags").map_err(|_| unknown())?;
            let definition = all.get(&id).ok_or_else(unknown)?;
            chosen.insert(id, definition.clone());
        }
        Ok(chosen)
    }

    /// For every tag and value, the members of segments `a` and `b` holding it, their
    /// shares, the difference in percentage points and the lift; tags that differ most
    /// first. `tags` lists tag ids, comma-separated (default: every tag).
    ///
    /// # Errors
    /// `invalid_query` or `not_found` naming `a`, `b` or `tags`.
    pub async fn compare(
        &self,
        workspace: &WorkspaceId,
        a: Option<&str>,
        b: Option<&str>,
        tags: Option<&str>,
    ) -> Result<Comparison, EngineError> {
        let a = self.named_segment(workspace, a, "a")?;
        let b = self.named_segment(workspace, b, "b")?;
        let definitions = self.compared_tags(workspace, tags)?;
        let at = self.evaluation(workspace);
        let evaluated_at = at.now;
        let wanted: Vec<String> = definitions.keys().map(|id| id.as_str().to_owned()).collect();
        let (pipeline, catalog, ws, ids) = (
            self.pipeline.clone(),
            self.segments.clone(),
            workspace.clone(),
            (a.clone(), b.clone()),
        );
        let job = move || {
            let catalog = catalog.read();
            pipeline.with_audience(&ws, |index| {
                let Some(index) = index else {
                    return Ok((Tally::default(), Tally::default()));
                };
                let tally = |id: &SegmentId| {
                    let members = catalog.segment_members(&ws, index, id, &at)?;
                    let mut t = Tally::of_size(members.len());
                    for n in &members {
                        for (tag, values) in index.tags_of(n).into_iter().flatten() {
                            if wanted.iter().any(|w| w == tag) {
                                t.add(tag, &values);
                            }
                        }
                    }
                    Ok(t)
                };
                Ok((tally(&ids.0)?, tally(&ids.1)?))
            })
        };
        let (ta, tb) = blocking(job).await?.map_err(condition_problem)?;
        let order: Vec<&str> = definitions.keys().map(TagId::as_str).collect();
        let tags = compare_tallies(&order, &ta, &tb)
            .into_iter()
            .filter_map(|t| {
                let (id, definition) = definitions.iter().find(|(id, _)| id.as_str() == t.tag)?;
                Some(TagComparison {
                    tag: id.clone(),
                    name: definition.name.clone(),
                    kind: definition.source.kind(),
                    max_difference_pp: t.max_difference_pp,
                    a: t.a.into(),
                    b: t.b.into(),
                    values: t
                        .values
                        .into_iter()
                        .map(|v| ValueComparison {
                            label: label_of(definition, &v.value),
                            value: v.value,
                            a: v.a.into(),
                            b: v.b.into(),
                            difference_pp: v.difference_pp,
                            lift: v.lift,
                        })
                        .collect(),
                })
            })
            .collect();
        let side = |id: &SegmentId, size: u64| -> Result<ComparedSegment, Problem> {
            Ok(ComparedSegment {
                id: id.clone(),
                name: self.stored_segment(workspace, id)?.record.name,
                size,
            })
        };
        Ok(Comparison {
            a: side(&a, ta.size)?,
            b: side(&b, tb.size)?,
            evaluated_at,
            tags,
        })
    }
}
