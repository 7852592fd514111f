//! Tags: definitions (rule, RFM, imported, manual), how many profiles hold each value,
//! a profile's tags, values assigned by hand or by file, and industry libraries.
//! Saving or deleting a tag recomputes everyone before answering.

use super::{Audiences, RefreshScope, blocking};
use crate::EngineError;
use crate::audience::libraries::{libraries, library};
use crate::audience::tags::segments_naming;
use crate::audience::{TagCatalog, TagEntry};
use jiff::Timestamp;
use orbit_core::profile::Profile;
use orbit_core::tags::{
    Label, RfmGroup, TagDefinition, TagError, TagFamily, TagInput, TagKind, TagLibrary, TagSource,
    ValueInput, clean_value,
};
use orbit_core::{ErrorCode, Problem, ProfileId, TagId, WorkspaceId};
use orbit_store::{StoreError, TagAssignment, TagRecord};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

mod import;

pub use import::{ImportFormat, ImportReport, UnmatchedLine};

/// A tag definition as the API shows it: the shape it is written in, with its id, the
/// RFM groups as its values, and whether it is computed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagDefinitionView {
    /// The definition, as `POST /v1/tags` takes it.
    #[serde(flatten)]
    pub input: TagInput,
    /// Whether its values are computed (rule and RFM) rather than assigned.
    pub computed: bool,
}

impl TagDefinitionView {
    fn of(id: &TagId, definition: &TagDefinition) -> Self {
        let mut input = TagInput::from(definition);
        input.id = Some(id.to_string());
        if let TagSource::Rfm { .. } = definition.source {
            input.values = Some(
                declared_values(definition)
                    .into_iter()
                    .map(|(value, label)| ValueInput {
                        value,
                        label,
                        condition: None,
                    })
                    .collect(),
            );
        }
        Self {
            input,
            computed: definition.source.kind().is_computed(),
        }
    }
}

/// When a workspace's tag values were last computed.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct TagFreshness {
    /// The moment the last refresh evaluated conditions at.
    pub evaluated_at: Option<Timestamp>,
    /// The moment the last refresh of every profile evaluated conditions at.
    pub everyone_evaluated_at: Option<Timestamp>,
}

/// A tag with how many profiles hold it and each of its values.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagView {
    /// The definition.
    #[serde(flatten)]
    pub definition: TagDefinitionView,
    /// How many live profiles hold a value of it.
    pub profiles: u64,
    /// How many hold each value.
    pub counts: BTreeMap<String, u64>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its definition last changed.
    pub updated_at: Timestamp,
    /// When values were last computed (in answers about one tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refreshed: Option<TagFreshness>,
}

/// The workspace's tags.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagListing {
    /// Every tag with its counts, by id.
    pub tags: Vec<TagView>,
    /// When values were last computed.
    pub refreshed: TagFreshness,
}

/// A value with its label.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagValueView {
    /// The value.
    pub value: String,
    /// How people read it, when the tag declares a label.
    pub label: Option<Label>,
}

/// One buyer's RFM facts and scores.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct RfmScores {
    /// Whole days since the last order.
    pub recency_days: u32,
    /// Orders in the window.
    pub frequency: u32,
    /// Total amount of those orders.
    pub monetary: f64,
    /// Recency score, 1–5 (5: ordered most recently).
    pub r: u8,
    /// Frequency score, 1–5.
    pub f: u8,
    /// Monetary score, 1–5.
    pub m: u8,
}

/// A tag one person holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileTag {
    /// The tag's id.
    pub tag: TagId,
    /// Its name.
    pub name: String,
    /// Its family.
    pub family: TagFamily,
    /// How its values come about.
    pub kind: TagKind,
    /// The values the person holds.
    pub values: Vec<TagValueView>,
    /// An RFM tag's scores for the person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rfm: Option<RfmScores>,
}

/// Every tag value one person holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileTags {
    /// The profile (the survivor, when a merged-away id was asked for).
    pub profile_id: ProfileId,
    /// Its tags, by id.
    pub tags: Vec<ProfileTag>,
    /// The moment the values were last computed at.
    pub refreshed_at: Option<Timestamp>,
}

/// What `PUT /v1/profiles/{id}/tags/{tag}` takes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignValues {
    /// The values to set, replacing the ones the person had; at least one.
    #[schema(example = json!(["vip"]))]
    pub values: Vec<String>,
}

/// The values one person now holds of a manual or imported tag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignedValues {
    /// The profile.
    pub profile_id: ProfileId,
    /// The tag.
    pub tag: TagId,
    /// Its values now, sorted.
    pub values: Vec<String>,
}

/// A bundled industry library, in short.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LibrarySummary {
    /// Its id (`retail`, `tea`…).
    pub id: String,
    /// Its name.
    pub name: Label,
    /// What it is for.
    pub description: Label,
    /// How many tags it holds.
    pub tag_count: usize,
    /// Their ids.
    pub tags: Vec<TagId>,
}

/// The bundled industry libraries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LibraryList {
    /// Every library.
    pub libraries: Vec<LibrarySummary>,
}

/// One library with its tags, and which of them the workspace already has.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LibraryDetail {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Label,
    /// What it is for.
    pub description: Label,
    /// Its tags.
    pub tags: Vec<TagDefinitionView>,
    /// The ids of its tags the workspace has.
    pub installed: Vec<TagId>,
}

/// What installing a library did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstallReport {
    /// The library.
    pub library: String,
    /// Tags created.
    pub installed: Vec<TagId>,
    /// Tags overwritten (with `replace`).
    pub replaced: Vec<TagId>,
    /// Tags kept because their id exists.
    pub skipped: Vec<TagId>,
}

/// How many live profiles hold a tag, and each of its values.
#[derive(Debug, Default, Clone)]
struct Counts {
    holders: u64,
    values: BTreeMap<String, u64>,
}

pub(super) fn parse_tag_id(raw: &str, field: &str) -> Result<TagId, Problem> {
    TagId::parse(raw).map_err(|e| Problem::at(ErrorCode::InvalidId, field, format!("tag id {e}")))
}

fn tag_problem(e: TagError) -> Problem {
    Problem::at(ErrorCode::InvalidTag, e.path, e.message)
}

fn parse_profile_id(raw: &str) -> Result<ProfileId, Problem> {
    ProfileId::parse(raw).map_err(|e| Problem::at(ErrorCode::InvalidId, "id", format!("profile id {e}")))
}

/// A tag's values with their labels: rule values in order, the RFM groups, or the
/// values an imported or manual tag accepts.
pub(crate) fn declared_values(definition: &TagDefinition) -> Vec<(String, Option<Label>)> {
    match &definition.source {
        TagSource::Rule { values } => values
            .iter()
            .map(|v| (v.value.clone(), v.label.clone()))
            .collect(),
        TagSource::Rfm { .. } => RfmGroup::ALL
            .iter()
            .map(|g| (g.as_str().to_owned(), Some(g.label())))
            .collect(),
        TagSource::Imported { values } | TagSource::Manual { values } => values
            .iter()
            .map(|v| (v.value.clone(), v.label.clone()))
            .collect(),
    }
}

/// The label of one value, if the tag declares one.
pub(crate) fn label_of(definition: &TagDefinition, value: &str) -> Option<Label> {
    declared_values(definition)
        .into_iter()
        .find(|(v, _)| v == value)
        .and_then(|(_, label)| label)
}

/// 409 unless values of the tag may be assigned (imported and manual tags).
fn require_assignable(entry: &TagEntry) -> Result<(), Problem> {
    if entry.record.definition.source.kind().is_computed() {
        let from = if matches!(entry.record.definition.source, TagSource::Rfm { .. }) {
            "orders"
        } else {
            "rules"
        };
        return Err(Problem::at(
            ErrorCode::ComputedTag,
            "tag",
            format!(
                "tag {} is computed from its {from}; its values cannot be set",
                entry.record.id
            ),
        ));
    }
    Ok(())
}

/// The assignments that give `profile` exactly `values` (empty: none), taking the
/// values off the ids merged into it too, since they resolve to it.
fn assignments_for(profile: &Profile, values: &[String]) -> Vec<TagAssignment> {
    let mut all = vec![TagAssignment {
        profile: profile.id,
        values: values.to_vec(),
    }];
    all.extend(profile.merged_ids.iter().map(|id| TagAssignment {
        profile: *id,
        values: Vec::new(),
    }));
    all
}

impl Audiences {
    /// A stored tag, or `not_found`.
    fn stored_tag(&self, workspace: &WorkspaceId, id: &TagId) -> Result<TagEntry, Problem> {
        self.tags
            .read()
            .get(workspace, id)
            .cloned()
            .ok_or_else(|| Problem::not_found("tag"))
    }

    fn profile(&self, workspace: &WorkspaceId, id: &str) -> Result<Profile, Problem> {
        self.pipeline
            .profile(workspace, parse_profile_id(id)?)
            .ok_or_else(|| Problem::not_found("profile"))
    }

    /// How many live profiles hold each tag and value in a workspace, now.
    async fn value_counts(&self, workspace: &WorkspaceId) -> Result<HashMap<String, Counts>, EngineError> {
        let (pipeline, workspace) = (self.pipeline.clone(), workspace.clone());
        blocking(move || {
            pipeline.with_audience(&workspace, |index| {
                let mut counts: HashMap<String, Counts> = HashMap::new();
                let Some(index) = index else { return counts };
                for n in index.live() {
                    for (tag, values) in index.tags_of(n).into_iter().flatten() {
                        let entry = counts.entry(tag.to_owned()).or_default();
                        entry.holders += 1;
                        for value in values {
                            *entry.values.entry(value.to_owned()).or_default() += 1;
                        }
                    }
                }
                counts
            })
        })
        .await
    }

    fn freshness(&self, workspace: &WorkspaceId) -> TagFreshness {
        let (last, full) = self.tags.read().last_refresh(workspace);
        TagFreshness {
            evaluated_at: last.map(|r| r.evaluated_at),
            everyone_evaluated_at: full,
        }
    }

    fn tag_view(record: &TagRecord, counts: &HashMap<String, Counts>) -> TagView {
        let counts = counts.get(record.id.as_str()).cloned().unwrap_or_default();
        TagView {
            definition: TagDefinitionView::of(&record.id, &record.definition),
            profiles: counts.holders,
            counts: counts.values,
            created_at: record.created_at,
            updated_at: record.updated_at,
            refreshed: None,
        }
    }

    /// Checks an input against the workspace: a valid definition whose rules name
    /// existing tags without a loop.
    fn check_tag(
        &self,
        workspace: &WorkspaceId,
        input: TagInput,
        path_id: Option<&TagId>,
    ) -> Result<(TagId, TagDefinition), Problem> {
        let (given, definition) = input.parse().map_err(tag_problem)?;
        let id = match (given, path_id) {
            (Some(given), Some(path)) if given != *path => {
                return Err(Problem::invalid("id", "the id in the body differs from the path"));
            }
            (_, Some(path)) => path.clone(),
            (Some(given), None) => given,
            (None, None) => TagId::mint(),
        };
        self.tags
            .read()
            .check_references(workspace, &id, &definition, &[])
            .map_err(tag_problem)?;
        Ok((id, definition))
    }

    /// Makes a saved definition current and recomputes everyone's values.
    async fn publish(&self, record: TagRecord) -> Result<TagView, EngineError> {
        let workspace = record.workspace_id.clone();
        self.tags.write().put(record.clone());
        self.refresh_tags(&workspace, RefreshScope::Everyone).await?;
        let counts = self.value_counts(&workspace).await?;
        Ok(Self::tag_view(&record, &counts))
    }

    /// Creates a tag; its values are computed before the answer.
    ///
    /// # Errors
    /// `invalid_tag` naming the field; `already_exists` when the id is taken.
    pub async fn create_tag(&self, workspace: &WorkspaceId, input: TagInput) -> Result<TagView, EngineError> {
        let (id, definition) = self.check_tag(workspace, input, None)?;
        let now = self.clock.now();
        let record = TagRecord {
            workspace_id: workspace.clone(),
            id,
            definition,
            created_at: now,
            updated_at: now,
        };
        self.stores.tags.insert_tag(&record).await.map_err(|e| match e {
            StoreError::AlreadyExists(_) => EngineError::from(Problem::at(
                ErrorCode::AlreadyExists,
                "id",
                format!(
                    "a tag {} exists; PUT /v1/tags/{} changes it",
                    record.id, record.id
                ),
            )),
            other => other.into(),
        })?;
        self.publish(record).await
    }

    /// Every tag with its counts, and when values were last computed.
    ///
    /// # Errors
    /// Fails only when counting itself fails.
    pub async fn tags(&self, workspace: &WorkspaceId) -> Result<TagListing, EngineError> {
        let records: Vec<TagRecord> = self
            .tags
            .read()
            .list(workspace)
            .map(|e| e.record.clone())
            .collect();
        let counts = self.value_counts(workspace).await?;
        Ok(TagListing {
            tags: records.iter().map(|r| Self::tag_view(r, &counts)).collect(),
            refreshed: self.freshness(workspace),
        })
    }

    /// One tag with its counts.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn tag(&self, workspace: &WorkspaceId, id: &str) -> Result<TagView, EngineError> {
        let id = parse_tag_id(id, "id")?;
        let entry = self.stored_tag(workspace, &id)?;
        let counts = self.value_counts(workspace).await?;
        let mut view = Self::tag_view(&entry.record, &counts);
        view.refreshed = Some(self.freshness(workspace));
        Ok(view)
    }

    /// Replaces a tag's definition; values are recomputed before the answer. Assigned
    /// values are kept while the tag stays imported or manual.
    ///
    /// # Errors
    /// `invalid_tag` naming the field; `not_found`.
    pub async fn replace_tag(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        input: TagInput,
    ) -> Result<TagView, EngineError> {
        let id = parse_tag_id(id, "id")?;
        let existing = self.stored_tag(workspace, &id)?;
        let (id, definition) = self.check_tag(workspace, input, Some(&id))?;
        let record = TagRecord {
            workspace_id: workspace.clone(),
            id,
            definition,
            created_at: existing.record.created_at,
            updated_at: self.clock.now(),
        };
        self.stores.tags.save_tag(&record).await?;
        if record.definition.source.kind().is_computed() && !existing.assigned.is_empty() {
            self.stores
                .tags
                .replace_tag_values(&record.workspace_id, &record.id, &[])
                .await?;
        }
        self.publish(record).await
    }

    /// Deletes a tag no segment or other tag names, with its values.
    ///
    /// # Errors
    /// `not_found`; `in_use` while segments or tags name it.
    pub async fn delete_tag(&self, workspace: &WorkspaceId, id: &str) -> Result<(), EngineError> {
        let id = parse_tag_id(id, "id")?;
        self.stored_tag(workspace, &id)?;
        let segments = segments_naming(&self.segments.read(), workspace, &id);
        let tags = self.tags.read().dependents(workspace, &id);
        if !segments.is_empty() || !tags.is_empty() {
            let mut users: Vec<String> = segments.iter().map(|s| format!("segment {s}")).collect();
            users.extend(tags.iter().map(|t| format!("tag {t}")));
            return Err(Problem::new(
                ErrorCode::InUse,
                format!("{} name this tag; change them first", users.join(", ")),
            )
            .into());
        }
        self.stores.tags.delete_tag(workspace, &id).await?;
        self.tags.write().remove(workspace, &id);
        let (pipeline, workspace) = (self.pipeline.clone(), workspace.clone());
        blocking(move || {
            pipeline.with_audience_mut(&workspace, |index| TagCatalog::clear_values(index, &id));
        })
        .await
    }

    /// Every tag value a profile holds (computed or assigned), RFM tags with their
    /// scores, as of the last refresh.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub fn profile_tags(&self, workspace: &WorkspaceId, id: &str) -> Result<ProfileTags, EngineError> {
        let profile = self.profile(workspace, id)?;
        let held: BTreeMap<String, Vec<String>> = self.pipeline.with_audience(workspace, |index| {
            index
                .and_then(|index| index.tags_of(index.find(profile.id)?))
                .map(|tags| {
                    tags.into_iter()
                        .map(|(tag, values)| {
                            (tag.to_owned(), values.into_iter().map(str::to_owned).collect())
                        })
                        .collect()
                })
                .unwrap_or_default()
        });
        let catalog = self.tags.read();
        let mut tags = Vec::with_capacity(held.len());
        for (tag, values) in held {
            let Some(entry) = TagId::parse(&tag).ok().and_then(|id| catalog.get(workspace, &id)) else {
                continue;
            };
            let definition = &entry.record.definition;
            let rfm = catalog
                .rfm_of(workspace, &entry.record.id, profile.id)
                .map(|rfm| RfmScores {
                    recency_days: rfm.facts.recency_days,
                    frequency: rfm.facts.frequency,
                    monetary: rfm.facts.monetary,
                    r: rfm.score.r,
                    f: rfm.score.f,
                    m: rfm.score.m,
                });
            tags.push(ProfileTag {
                tag: entry.record.id.clone(),
                name: definition.name.clone(),
                family: definition.family,
                kind: definition.source.kind(),
                values: values
                    .iter()
                    .map(|v| TagValueView {
                        value: v.clone(),
                        label: label_of(definition, v),
                    })
                    .collect(),
                rfm,
            });
        }
        Ok(ProfileTags {
            profile_id: profile.id,
            tags,
            refreshed_at: catalog.last_refresh(workspace).0.map(|r| r.evaluated_at),
        })
    }

    /// Sets a manual or imported tag's values on one profile, replacing the ones it
    /// had.
    ///
    /// # Errors
    /// `not_found` for the profile or tag; `computed_tag`; `invalid_request` or
    /// `invalid_value` naming the value.
    pub async fn assign_tag(
        &self,
        workspace: &WorkspaceId,
        profile: &str,
        tag: &str,
        request: AssignValues,
    ) -> Result<AssignedValues, EngineError> {
        let profile = self.profile(workspace, profile)?;
        let tag = parse_tag_id(tag, "tag")?;
        let entry = self.stored_tag(workspace, &tag)?;
        require_assignable(&entry)?;
        if request.values.is_empty() {
            return Err(Problem::invalid("values", "give at least one value; DELETE removes the tag").into());
        }
        let mut values = Vec::with_capacity(request.values.len());
        for (i, raw) in request.values.iter().enumerate() {
            let field = format!("values[{i}]");
            let value = clean_value(raw).map_err(|m| Problem::at(ErrorCode::InvalidValue, &field, m))?;
            if !entry.record.definition.source.accepts(&value) {
                return Err(Problem::at(
                    ErrorCode::InvalidValue,
                    field,
                    format!("{value:?} is not one of the tag's values"),
                )
                .into());
            }
            values.push(value);
        }
        values.sort_unstable();
        values.dedup();
        self.assign(workspace, &tag, &assignments_for(&profile, &values))
            .await?;
        Ok(AssignedValues {
            profile_id: profile.id,
            tag,
            values,
        })
    }

    /// Removes a manual or imported tag from one profile (also when it did not hold it).
    ///
    /// # Errors
    /// `not_found` for the profile or tag; `computed_tag`.
    pub async fn unassign_tag(
        &self,
        workspace: &WorkspaceId,
        profile: &str,
        tag: &str,
    ) -> Result<(), EngineError> {
        let profile = self.profile(workspace, profile)?;
        let tag = parse_tag_id(tag, "tag")?;
        let entry = self.stored_tag(workspace, &tag)?;
        require_assignable(&entry)?;
        self.assign(workspace, &tag, &assignments_for(&profile, &[]))
            .await
    }

    /// Stores assignments, makes them current, and recomputes the profiles they name.
    async fn assign(
        &self,
        workspace: &WorkspaceId,
        tag: &TagId,
        assignments: &[TagAssignment],
    ) -> Result<(), EngineError> {
        self.stores
            .tags
            .assign_tag_values(workspace, tag, assignments)
            .await?;
        self.tags.write().assign(workspace, tag, assignments);
        let ids: Vec<ProfileId> = assignments.iter().map(|a| a.profile).collect();
        self.refresh_profiles(workspace, &ids).await
    }

    /// Forgets the values assigned to an erased person, under every id they had.
    ///
    /// # Errors
    /// Fails when the store cannot be written.
    pub async fn forget_profile(&self, workspace: &WorkspaceId, erased: &Profile) -> Result<(), EngineError> {
        let mut ids = vec![erased.id];
        ids.extend(erased.merged_ids.iter().copied());
        self.stores.tags.forget_tag_values(workspace, &ids).await?;
        self.tags.write().forget_profiles(workspace, &ids);
        Ok(())
    }

    /// The imported and manual values assigned to a person under any of their ids, by
    /// tag (for the personal data export).
    pub fn assigned_to(&self, workspace: &WorkspaceId, profile: &Profile) -> BTreeMap<String, Vec<String>> {
        let mut ids = vec![profile.id];
        ids.extend(profile.merged_ids.iter().copied());
        let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in self.tags.read().list(workspace) {
            for id in &ids {
                if let Some(values) = entry.assigned.get(id) {
                    let held = found.entry(entry.record.id.to_string()).or_default();
                    held.extend(values.iter().cloned());
                    held.sort_unstable();
                    held.dedup();
                }
            }
        }
        found
    }

    /// The bundled industry libraries.
    pub fn libraries(&self) -> LibraryList {
        LibraryList {
            libraries: libraries()
                .iter()
                .map(|l| LibrarySummary {
                    id: l.id.clone(),
                    name: l.name.clone(),
                    description: l.description.clone(),
                    tag_count: l.tags.len(),
                    tags: l.tags.iter().map(|(id, _)| id.clone()).collect(),
                })
                .collect(),
        }
    }

    /// One library with its tags, and which of them the workspace already has.
    ///
    /// # Errors
    /// `not_found`.
    pub fn library(&self, workspace: &WorkspaceId, id: &str) -> Result<LibraryDetail, EngineError> {
        let library = find_library(id)?;
        let catalog = self.tags.read();
        Ok(LibraryDetail {
            id: library.id.clone(),
            name: library.name.clone(),
            description: library.description.clone(),
            tags: library
                .tags
                .iter()
                .map(|(id, d)| TagDefinitionView::of(id, d))
                .collect(),
            installed: library
                .tags
                .iter()
                .map(|(id, _)| id)
                .filter(|id| catalog.get(workspace, id).is_some())
                .cloned()
                .collect(),
        })
    }

    /// Creates a library's tags in the workspace; tags whose id exists are kept, or
    /// overwritten when `replace`.
    ///
    /// # Errors
    /// `not_found`; `library_conflict` when a tag would not fit the workspace's tags.
    pub async fn install_library(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        replace: bool,
    ) -> Result<InstallReport, EngineError> {
        let library = find_library(id)?;
        let (mut installed, mut replaced, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        let mut writes: Vec<(TagId, TagDefinition, Option<TagRecord>)> = Vec::new();
        {
            let catalog = self.tags.read();
            for (tag, definition) in &library.tags {
                match catalog.get(workspace, tag) {
                    Some(_) if !replace => skipped.push(tag.clone()),
                    existing => writes.push((
                        tag.clone(),
                        definition.clone(),
                        existing.map(|e| e.record.clone()),
                    )),
                }
            }
            // The tags written must fit with the ones kept: names that exist, no loops.
            let incoming: Vec<(TagId, TagDefinition)> =
                writes.iter().map(|(id, d, _)| (id.clone(), d.clone())).collect();
            for (tag, definition) in &incoming {
                catalog
                    .check_references(workspace, tag, definition, &incoming)
                    .map_err(|e| {
                        Problem::new(
                            ErrorCode::LibraryConflict,
                            format!("tag {tag} does not fit this workspace: {}", e.message),
                        )
                    })?;
            }
        }
        let now = self.clock.now();
        for (tag, definition, existing) in writes {
            let record = TagRecord {
                workspace_id: workspace.clone(),
                id: tag.clone(),
                definition,
                created_at: existing.as_ref().map_or(now, |e| e.created_at),
                updated_at: now,
            };
            match &existing {
                Some(old) => {
                    self.stores.tags.save_tag(&record).await?;
                    if record.definition.source.kind().is_computed()
                        && !old.definition.source.kind().is_computed()
                    {
                        self.stores.tags.replace_tag_values(workspace, &tag, &[]).await?;
                    }
                    replaced.push(tag);
                }
                None => {
                    self.stores.tags.insert_tag(&record).await?;
                    installed.push(tag);
                }
            }
            self.tags.write().put(record);
        }
        self.refresh_tags(workspace, RefreshScope::Everyone).await?;
        Ok(InstallReport {
            library: library.id.clone(),
            installed,
            replaced,
            skipped,
        })
    }
}

fn find_library(id: &str) -> Result<&'static TagLibrary, Problem> {
    library(id).ok_or_else(|| Problem::not_found("tag library"))
}
