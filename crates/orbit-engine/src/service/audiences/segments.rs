//! Segments: named audiences, dynamic (kept live from a condition) or static (a
//! snapshot or an upload); sizes, samples, member exports, size history, previews of
//! unsaved conditions, and the segments one person is in.

use super::{Audiences, Evaluated, Target, Want, blocking, condition_problem};
use crate::EngineError;
use crate::audience::SegmentDefinition;
use jiff::Timestamp;
use orbit_core::audience::{Condition, validate};
use orbit_core::event::clean_identity;
use orbit_core::{ErrorCode, IdentityKind, Problem, ProfileId, SegmentId, WorkspaceId};
use orbit_store::{SegmentKind, SegmentRecord, StoreError, Write};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most members a preview's sample holds.
const MAX_SAMPLE: usize = 100;

/// Most members one page of a member listing holds.
const MAX_PAGE: usize = 10_000;

/// How far back a size history reaches when no start is given.
const DEFAULT_HISTORY_DAYS: i64 = 30;

/// A segment as it is written (`POST /v1/segments`, `PUT /v1/segments/{id}`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentDraft {
    /// `[a-z0-9_-]`, 1–64; one is made up (`seg-…`) on create when left out. On `PUT`
    /// it must match the path.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "gold")]
    pub id: Option<String>,
    /// The display name, not blank.
    #[schema(example = "金卡会员")]
    pub name: String,
    /// What it is for, in the marketer's words.
    #[serde(default)]
    pub description: String,
    /// `dynamic` (kept live from `condition`, the default) or `static` (a fixed list).
    #[serde(rename = "type", default = "dynamic")]
    pub kind: SegmentKind,
    /// The condition (docs/audiences.md): a dynamic segment's, or the one a static
    /// segment takes its snapshot of.
    #[serde(default)]
    pub condition: Option<Condition>,
    /// A static segment's members: profile ids or `TYPE:VALUE` identities.
    #[serde(default)]
    pub members: Option<Vec<String>>,
}

fn dynamic() -> SegmentKind {
    SegmentKind::Dynamic
}

/// A segment as the API shows it, with its size now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentView {
    /// Its id.
    pub id: SegmentId,
    /// Its display name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// `dynamic` or `static`.
    #[serde(rename = "type")]
    pub kind: SegmentKind,
    /// Its condition; a static segment's is the one its snapshot was taken with.
    pub condition: Option<Condition>,
    /// How many people are in it now.
    pub size: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its definition last changed.
    pub updated_at: Timestamp,
}

impl SegmentView {
    fn of(definition: &SegmentDefinition, size: u64) -> Self {
        let r = &definition.record;
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            kind: r.kind,
            condition: r.condition.clone(),
            size,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A segment just saved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedSegment {
    /// The segment with its size.
    #[serde(flatten)]
    pub segment: SegmentView,
    /// A static segment's uploaded members that matched nobody.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<Vec<String>>,
}

/// The workspace's segments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentList {
    /// Every segment, by id, with its size.
    pub segments: Vec<SegmentView>,
}

/// The size and a sample of an unsaved condition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    /// How many people meet the condition now.
    pub size: u64,
    /// Up to `sample` of them, spread over the whole set, by profile id.
    pub sample: Vec<ProfileId>,
    /// How long the evaluation took.
    pub took_ms: f64,
    /// The moment the condition was evaluated at.
    pub evaluated_at: Timestamp,
}

/// What a preview takes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The condition to count (docs/audiences.md).
    pub condition: Condition,
    /// How many members to show, 0–100 (default 10).
    #[serde(default)]
    pub sample: Option<usize>,
}

/// One member with the identities marketers match on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberRow {
    /// The profile.
    pub profile_id: ProfileId,
    /// Its first `user_id`, if any.
    pub user_id: Option<String>,
    /// Its first email, if any.
    pub email: Option<String>,
    /// Its first phone number, if any.
    pub phone: Option<String>,
}

/// One page of a segment's members, in profile id order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberPage {
    /// How many members the segment has now.
    pub size: u64,
    /// This page's members.
    pub members: Vec<MemberRow>,
    /// Pass back as `after` for the next page; absent on the last.
    pub next: Option<ProfileId>,
}

/// One point of a segment's size history.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct SizePointView {
    /// When the size was taken.
    pub at: Timestamp,
    /// How many members the segment had.
    pub size: u64,
}

/// A segment's sizes over time, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SizeHistory {
    /// The recorded sizes.
    pub points: Vec<SizePointView>,
}

/// A segment one person is in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentMembership {
    /// The segment's id.
    pub id: SegmentId,
    /// Its name.
    pub name: String,
    /// `dynamic` or `static`.
    #[serde(rename = "type")]
    pub kind: SegmentKind,
}

/// The segments one person is in now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileSegments {
    /// The profile (the survivor, when a merged-away id was asked for).
    pub profile_id: ProfileId,
    /// Its segments, dynamic and static, by id.
    pub segments: Vec<SegmentMembership>,
    /// The moment conditions were evaluated at.
    pub evaluated_at: Timestamp,
}

/// Parses a segment id, naming `field` when it is not one.
pub(super) fn parse_segment_id(raw: &str, field: &str) -> Result<SegmentId, Problem> {
    SegmentId::parse(raw).map_err(|e| Problem::at(ErrorCode::InvalidId, field, format!("segment id {e}")))
}

impl Audiences {
    /// A stored segment's definition, or `not_found`.
    pub(super) fn stored_segment(
        &self,
        workspace: &WorkspaceId,
        id: &SegmentId,
    ) -> Result<SegmentDefinition, Problem> {
        self.segments
            .read()
            .get(workspace, id)
            .cloned()
            .ok_or_else(|| Problem::not_found("segment"))
    }

    /// The workspace's segments and whether each is static, and its tags' ids: what a
    /// journey definition may name.
    pub fn audience_names(
        &self,
        workspace: &WorkspaceId,
    ) -> (
        std::collections::BTreeMap<SegmentId, SegmentKind>,
        std::collections::BTreeSet<String>,
    ) {
        let segments = self
            .segments
            .read()
            .list(workspace)
            .map(|d| (d.record.id.clone(), d.record.kind))
            .collect();
        let tags = self
            .tags
            .read()
            .list(workspace)
            .map(|t| t.record.id.as_str().to_owned())
            .collect();
        (segments, tags)
    }

    /// Whether a segment exists.
    pub fn has_segment(&self, workspace: &WorkspaceId, id: &SegmentId) -> bool {
        self.segments.read().get(workspace, id).is_some()
    }

    /// Checks a condition and the segments it names (for segment `own`, if any).
    fn check_condition(
        &self,
        workspace: &WorkspaceId,
        own: Option<&SegmentId>,
        condition: &Condition,
    ) -> Result<(), Problem> {
        validate(condition).map_err(condition_problem)?;
        self.segments
            .read()
            .check_references(workspace, own, condition)
            .map_err(condition_problem)
    }

    /// Creates a segment (its id must be free) and answers it with its size.
    ///
    /// # Errors
    /// `invalid_request`, `invalid_id` or `invalid_condition` naming the field;
    /// `already_exists` when the id is taken.
    pub async fn create_segment(
        &self,
        workspace: &WorkspaceId,
        draft: SegmentDraft,
    ) -> Result<SavedSegment, EngineError> {
        let id = match &draft.id {
            Some(raw) => parse_segment_id(raw, "id")?,
            None => SegmentId::mint(),
        };
        // Answered before any snapshot is taken; the insert itself refuses a race's loser.
        if self.stores.segments.segment(workspace, &id).await?.is_some() {
            return Err(taken(&id).into());
        }
        let (definition, unmatched) = self.definition_from(workspace, draft, id, None).await?;
        self.save(&definition, unmatched, Write::Create).await
    }

    /// Replaces a segment's definition; a static segment's members are taken again
    /// from `members` or its condition.
    ///
    /// # Errors
    /// As for [`Audiences::create_segment`]; `not_found` when there is none.
    pub async fn replace_segment(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        draft: SegmentDraft,
    ) -> Result<SavedSegment, EngineError> {
        let id = parse_segment_id(id, "id")?;
        let existing = self.stored_segment(workspace, &id)?;
        if draft.id.as_deref().is_some_and(|given| given != id.as_str()) {
            return Err(Problem::invalid("id", "the id in the body differs from the path").into());
        }
        let created = Some(existing.record.created_at);
        let (definition, unmatched) = self.definition_from(workspace, draft, id, created).await?;
        self.save(&definition, unmatched, Write::Replace).await
    }

    /// Deletes a segment no other segment names.
    ///
    /// # Errors
    /// `not_found`; `in_use` while other segments name it.
    pub async fn delete_segment(&self, workspace: &WorkspaceId, id: &str) -> Result<(), EngineError> {
        let id = parse_segment_id(id, "id")?;
        self.stored_segment(workspace, &id)?;
        let dependents = self.segments.read().dependents(workspace, &id);
        if !dependents.is_empty() {
            let names: Vec<&str> = dependents.iter().map(SegmentId::as_str).collect();
            return Err(Problem::new(
                ErrorCode::InUse,
                format!("segments {} name this one; change them first", names.join(", ")),
            )
            .into());
        }
        let _writes = self.member_writes.lock().await;
        self.stores.segments.delete_segment(workspace, &id).await?;
        let catalog = self.segments.clone();
        self.membership
            .deleted(workspace, &id, || catalog.write().remove(workspace, &id))
            .await;
        Ok(())
    }

    /// One segment with its size now.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn segment(&self, workspace: &WorkspaceId, id: &str) -> Result<SegmentView, EngineError> {
        let id = parse_segment_id(id, "id")?;
        let definition = self.stored_segment(workspace, &id)?;
        let size = self.size_of(workspace, &id).await?;
        Ok(SegmentView::of(&definition, size))
    }

    /// Every segment of the workspace with its size now, by id.
    ///
    /// # Errors
    /// Fails only when evaluation itself fails.
    pub async fn segments(&self, workspace: &WorkspaceId) -> Result<SegmentList, EngineError> {
        let definitions: Vec<SegmentDefinition> = self.segments.read().list(workspace).cloned().collect();
        // Each size is its own blocking evaluation under a shared read of the index, so
        // the list takes about the longest one per core rather than their sum.
        let sizes =
            futures::future::try_join_all(definitions.iter().map(|d| self.size_of(workspace, &d.record.id)))
                .await?;
        let segments = definitions
            .iter()
            .zip(sizes)
            .map(|(definition, size)| SegmentView::of(definition, size))
            .collect();
        Ok(SegmentList { segments })
    }

    /// The size and a sample of an unsaved condition, now.
    ///
    /// # Errors
    /// `invalid_condition` naming the field.
    pub async fn preview(
        &self,
        workspace: &WorkspaceId,
        request: PreviewRequest,
    ) -> Result<Preview, EngineError> {
        self.check_condition(workspace, None, &request.condition)?;
        let sample = request.sample.unwrap_or(10).min(MAX_SAMPLE);
        let evaluated_at = self.clock.now();
        let Evaluated {
            size,
            members,
            took_ms,
        } = self
            .evaluate(
                workspace,
                Target::Condition(request.condition),
                Want::Sample(sample),
            )
            .await?;
        Ok(Preview {
            size,
            sample: members,
            took_ms,
            evaluated_at,
        })
    }

    /// A page of a segment's members in profile id order: up to `limit` (1–10,000,
    /// default 1,000) after the profile id `after`.
    ///
    /// # Errors
    /// `invalid_id`, `invalid_request` (`after`), `not_found`.
    pub async fn member_page(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<MemberPage, EngineError> {
        let after = after
            .map(|raw| {
                ProfileId::parse(raw).map_err(|e| Problem::invalid("after", format!("profile id {e}")))
            })
            .transpose()?;
        let (size, members) = self.all_members(workspace, id).await?;
        let limit = limit.unwrap_or(1_000).clamp(1, MAX_PAGE);
        let start = after.map_or(0, |a| members.partition_point(|p| *p <= a));
        let page: Vec<ProfileId> = members.iter().skip(start).take(limit).copied().collect();
        let next = if start + page.len() < members.len() {
            page.last().copied()
        } else {
            None
        };
        Ok(MemberPage {
            size,
            members: page.into_iter().map(|p| self.member_row(workspace, p)).collect(),
            next,
        })
    }

    /// Every member of a segment, in profile id order, with the identities marketers
    /// match on (for exports).
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn member_rows(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<Vec<MemberRow>, EngineError> {
        let (_, members) = self.all_members(workspace, id).await?;
        Ok(members
            .into_iter()
            .map(|p| self.member_row(workspace, p))
            .collect())
    }

    async fn all_members(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<(u64, Vec<ProfileId>), EngineError> {
        let id = parse_segment_id(id, "id")?;
        self.stored_segment(workspace, &id)?;
        let answer = self.evaluate(workspace, Target::Segment(id), Want::All).await?;
        Ok((answer.size, answer.members))
    }

    fn member_row(&self, workspace: &WorkspaceId, id: ProfileId) -> MemberRow {
        let profile = self.pipeline.profile(workspace, id);
        let first = |kind: &IdentityKind| {
            profile.as_ref().and_then(|p| {
                p.identities
                    .iter()
                    .find(|i| &i.kind == kind)
                    .map(|i| i.value.clone())
            })
        };
        MemberRow {
            profile_id: id,
            user_id: first(&IdentityKind::UserId),
            email: first(&IdentityKind::Email),
            phone: first(&IdentityKind::Phone),
        }
    }

    /// Adds people to a static segment (a journey's add-to-segment node); those in it
    /// already stay as they are. A merged-away id counts as its survivor and an erased
    /// person joins nothing. Answers how many joined.
    ///
    /// # Errors
    /// `not_found`; `invalid_request` for a dynamic segment, whose members follow its
    /// condition; a store failure, after which nothing changed in memory.
    pub async fn add_static_members(
        &self,
        workspace: &WorkspaceId,
        segment: &SegmentId,
        profiles: &[ProfileId],
    ) -> Result<usize, EngineError> {
        let _writes = self.member_writes.lock().await;
        let kind = self
            .segments
            .read()
            .get(workspace, segment)
            .map(|d| d.record.kind);
        match kind {
            None => return Err(Problem::not_found("segment").into()),
            Some(SegmentKind::Dynamic) => {
                return Err(Problem::invalid(
                    "segment",
                    format!("{segment} is dynamic: its members follow its condition"),
                )
                .into());
            }
            Some(SegmentKind::Static) => {}
        }
        let people: Vec<ProfileId> = profiles
            .iter()
            .filter_map(|p| self.pipeline.profile(workspace, *p))
            .map(|p| p.id)
            .collect();
        if people.is_empty() {
            return Ok(0);
        }
        // The store first: what memory holds is never more than what a restart loads.
        self.stores
            .segments
            .add_static_members(workspace, segment, &people)
            .await?;
        let joined = self
            .segments
            .write()
            .add_static_members(workspace, segment, &people);
        if !joined.is_empty() {
            // Dynamic segments may name this one: their sweep looks at the newcomers.
            self.pipeline.with_audience_mut(workspace, |index| {
                for profile in &joined {
                    index.touch(*profile);
                }
            });
            self.membership.nudge();
        }
        Ok(joined.len())
    }

    /// A segment's recorded sizes since `since` (default: 30 days ago), oldest first.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn size_history(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        since: Option<Timestamp>,
    ) -> Result<SizeHistory, EngineError> {
        let id = parse_segment_id(id, "id")?;
        self.stored_segment(workspace, &id)?;
        let since = since.unwrap_or_else(|| {
            self.clock
                .now()
                .checked_sub(jiff::SignedDuration::from_hours(24 * DEFAULT_HISTORY_DAYS))
                .unwrap_or(Timestamp::UNIX_EPOCH)
        });
        let points = self.stores.segments.size_history(workspace, &id, since).await?;
        Ok(SizeHistory {
            points: points
                .iter()
                .map(|p| SizePointView {
                    at: p.at,
                    size: p.size,
                })
                .collect(),
        })
    }

    /// Every segment the profile is a member of now, dynamic and static.
    ///
    /// # Errors
    /// `invalid_id` or `not_found` for the profile.
    pub async fn segments_of(
        &self,
        workspace: &WorkspaceId,
        profile: &str,
    ) -> Result<ProfileSegments, EngineError> {
        let id = ProfileId::parse(profile)
            .map_err(|e| Problem::at(ErrorCode::InvalidId, "id", format!("profile id {e}")))?;
        let profile = self
            .pipeline
            .profile(workspace, id)
            .ok_or_else(|| Problem::not_found("profile"))?;
        let at = self.evaluation(workspace);
        let evaluated_at = at.now;
        let (pipeline, catalog, ws) = (self.pipeline.clone(), self.segments.clone(), workspace.clone());
        let job = move || {
            let catalog = catalog.read();
            pipeline.with_audience(&ws, |index| {
                // Conditions look at one profile at a time: evaluating among just this
                // one costs a look-up per condition, whatever the workspace's size.
                let Some((index, n)) = index.and_then(|index| Some((index, index.find(profile.id)?))) else {
                    return Vec::new();
                };
                let one: RoaringBitmap = std::iter::once(n).collect();
                catalog
                    .list(&ws)
                    .filter(|d| {
                        catalog
                            .segment_members_among(&ws, index, &d.record.id, &at, Some(&one))
                            .is_ok_and(|members| members.contains(n))
                    })
                    .map(|d| SegmentMembership {
                        id: d.record.id.clone(),
                        name: d.record.name.clone(),
                        kind: d.record.kind,
                    })
                    .collect()
            })
        };
        Ok(ProfileSegments {
            profile_id: profile.id,
            segments: blocking(job).await?,
            evaluated_at,
        })
    }

    /// Resolves uploaded members: profile ids (merged-away ids follow their survivor)
    /// or `TYPE:VALUE` identities. Returns the profiles and the entries that matched
    /// nobody.
    fn resolve_members(&self, workspace: &WorkspaceId, raw: &[String]) -> (Vec<ProfileId>, Vec<String>) {
        let (mut found, mut unmatched) = (Vec::new(), Vec::new());
        for entry in raw {
            let profile = match ProfileId::parse(entry.trim()) {
                Ok(id) => self.pipeline.profile(workspace, id),
                Err(_) => entry.split_once(':').and_then(|(kind, value)| {
                    let kind = IdentityKind::parse(kind.trim()).ok()?;
                    let identity = clean_identity(kind, value.trim(), self.default_region).ok()?;
                    self.pipeline.profile_by_identity(workspace, &identity)
                }),
            };
            match profile {
                Some(p) => found.push(p.id),
                None => unmatched.push(entry.clone()),
            }
        }
        found.sort_unstable();
        found.dedup();
        (found, unmatched)
    }

    /// Checks a draft and turns it into a definition (static members resolved now).
    async fn definition_from(
        &self,
        workspace: &WorkspaceId,
        draft: SegmentDraft,
        id: SegmentId,
        created_at: Option<Timestamp>,
    ) -> Result<(SegmentDefinition, Vec<String>), EngineError> {
        if draft.name.trim().is_empty() {
            return Err(Problem::invalid("name", "give the segment a name").into());
        }
        if let Some(condition) = &draft.condition {
            self.check_condition(workspace, Some(&id), condition)?;
        }
        let (members, unmatched) = match (draft.kind, &draft.condition, &draft.members) {
            (SegmentKind::Dynamic, None, _) => {
                return Err(Problem::invalid("condition", "a dynamic segment needs a condition").into());
            }
            (SegmentKind::Dynamic, Some(_), Some(_)) => {
                return Err(Problem::invalid("members", "only a static segment takes a member list").into());
            }
            (SegmentKind::Dynamic, Some(_), None) => (Vec::new(), Vec::new()),
            (SegmentKind::Static, _, Some(list)) => self.resolve_members(workspace, list),
            (SegmentKind::Static, Some(condition), None) => {
                let answer = self
                    .evaluate(workspace, Target::Condition(condition.clone()), Want::All)
                    .await?;
                (answer.members, Vec::new())
            }
            (SegmentKind::Static, None, None) => {
                return Err(Problem::invalid(
                    "members",
                    "a static segment needs members or a condition to take a snapshot of",
                )
                .into());
            }
        };
        let now = self.clock.now();
        let record = SegmentRecord {
            workspace_id: workspace.clone(),
            id,
            name: draft.name.trim().to_owned(),
            description: draft.description,
            kind: draft.kind,
            condition: draft.condition,
            created_at: created_at.unwrap_or(now),
            updated_at: now,
        };
        Ok((SegmentDefinition { record, members }, unmatched))
    }

    /// Stores a definition, makes it current for evaluation, records its size, and
    /// answers it.
    async fn save(
        &self,
        definition: &SegmentDefinition,
        unmatched: Vec<String>,
        write: Write,
    ) -> Result<SavedSegment, EngineError> {
        let r = &definition.record;
        let writes = self.member_writes.lock().await;
        let stored = match r.kind {
            // A static segment's row and members are written together: never one
            // without the other.
            SegmentKind::Static => {
                self.stores
                    .segments
                    .save_static_segment(r, write, &definition.members)
                    .await
            }
            SegmentKind::Dynamic => match write {
                Write::Create => self.stores.segments.insert_segment(r).await,
                Write::Replace => self.stores.segments.save_segment(r).await,
            },
        };
        stored.map_err(|e| match e {
            StoreError::AlreadyExists(_) => EngineError::from(taken(&r.id)),
            other => other.into(),
        })?;
        let catalog = self.segments.clone();
        self.membership
            .saved(&r.workspace_id, &r.id, r.kind, || {
                catalog.write().put(definition.clone())
            })
            .await?;
        drop(writes);
        let size = self.size_of(&r.workspace_id, &r.id).await?;
        self.stores
            .segments
            .record_sizes(&r.workspace_id, self.clock.now(), &[(r.id.clone(), size)])
            .await?;
        Ok(SavedSegment {
            segment: SegmentView::of(definition, size),
            unmatched: (r.kind == SegmentKind::Static).then_some(unmatched),
        })
    }
}

fn taken(id: &SegmentId) -> Problem {
    Problem::at(
        ErrorCode::AlreadyExists,
        "id",
        format!("a segment {id} exists; PUT /v1/segments/{id} changes it"),
    )
}
