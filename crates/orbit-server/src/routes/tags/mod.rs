//! Tags: definitions (rule, RFM, imported, manual) and how many profiles hold each
//! value. Values are computed into the engine's audience index by the tag refresher;
//! saving or deleting a tag recomputes everyone before answering.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use crate::tag_refresher::{RefreshScope, refresh_tags};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orbit_core::tags::{Label, RfmGroup, TagDefinition, TagError, TagInput, TagSource};
use orbit_core::{TagId, WorkspaceId};
use orbit_engine::audience::tags::segments_naming;
use orbit_engine::audience::{TagCatalog, TagEntry};
use orbit_store::{Scope, TagRecord};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::PoisonError;

mod import;
mod libraries;
mod values;
pub use import::{__path_import_values, import_values};
pub use libraries::{
    __path_get_library, __path_install_library, __path_list_libraries, get_library, install_library,
    list_libraries,
};
pub use values::{
    __path_delete_profile_tag, __path_list_profile_tags, __path_put_profile_tag, delete_profile_tag,
    list_profile_tags, put_profile_tag,
};
pub(crate) use values::{assigned_to, forget_profile, refresh_profiles};

/// How many profiles hold a tag, and each of its values.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counts {
    pub(crate) holders: u64,
    pub(crate) values: BTreeMap<String, u64>,
}

pub(crate) fn parse_tag_id(raw: &str, field: &str) -> Result<TagId, ApiError> {
    TagId::parse(raw).map_err(|e| ApiError::bad_request("invalid_id", field, format!("tag id {e}")))
}

pub(crate) fn tag_error(e: TagError) -> ApiError {
    ApiError::bad_request("invalid_tag", e.path, e.message)
}

/// A stored tag, or 404.
pub(crate) fn stored_tag(
    state: &AppState,
    workspace: &WorkspaceId,
    id: &TagId,
) -> Result<TagEntry, ApiError> {
    read_catalog(state)
        .get(workspace, id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("tag"))
}

pub(crate) fn read_catalog(state: &AppState) -> std::sync::RwLockReadGuard<'_, TagCatalog> {
    state.tags.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write_catalog(state: &AppState) -> std::sync::RwLockWriteGuard<'_, TagCatalog> {
    state.tags.write().unwrap_or_else(PoisonError::into_inner)
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

/// A tag definition as the API shows it (the shape it is written in, plus the RFM
/// groups as values), without counts.
pub(crate) fn definition_view(id: &TagId, definition: &TagDefinition) -> Value {
    let mut view = serde_json::to_value(TagInput::from(definition)).unwrap_or_default();
    view["id"] = json!(id);
    if let TagSource::Rfm { .. } = definition.source {
        view["values"] = declared_values(definition)
            .into_iter()
            .map(|(value, label)| json!({"value": value, "label": label}))
            .collect();
    }
    view["computed"] = json!(definition.source.kind().is_computed());
    view
}

fn tag_view(record: &TagRecord, counts: &Counts) -> Value {
    let mut view = definition_view(&record.id, &record.definition);
    view["profiles"] = json!(counts.holders);
    view["counts"] = json!(counts.values);
    view["created_at"] = json!(record.created_at);
    view["updated_at"] = json!(record.updated_at);
    view
}

/// How many live profiles hold each tag and value in a workspace, now.
pub(crate) async fn value_counts(
    state: &AppState,
    workspace: &WorkspaceId,
) -> Result<HashMap<String, Counts>, ApiError> {
    let (pipeline, workspace) = (state.pipeline.clone(), workspace.clone());
    let job = move || {
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
    };
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// The freshness of a workspace's tag values, for listings.
fn refreshed_view(state: &AppState, workspace: &WorkspaceId) -> Value {
    let (last, full) = read_catalog(state).last_refresh(workspace);
    json!({
        "evaluated_at": last.map(|r| r.evaluated_at),
        "everyone_evaluated_at": full,
    })
}

/// Checks an input against the workspace: a valid definition whose rules name
/// existing tags without a loop.
fn check(
    state: &AppState,
    workspace: &WorkspaceId,
    input: TagInput,
    path_id: Option<&TagId>,
) -> Result<(TagId, TagDefinition), ApiError> {
    let (given, definition) = input.parse().map_err(tag_error)?;
    let id = match (given, path_id) {
        (Some(given), Some(path)) if given != *path => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "id",
                "the id in the body differs from the path",
            ));
        }
        (_, Some(path)) => path.clone(),
        (Some(given), None) => given,
        (None, None) => parse_tag_id(
            &format!("tag-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            "id",
        )?,
    };
    read_catalog(state)
        .check_references(workspace, &id, &definition, &[])
        .map_err(tag_error)?;
    Ok((id, definition))
}

/// Makes a saved definition current and recomputes everyone's values.
async fn publish(state: &AppState, record: TagRecord) -> Result<Value, ApiError> {
    let workspace = record.workspace_id.clone();
    write_catalog(state).put(record.clone());
    refresh_tags(state, &workspace, RefreshScope::Everyone).await?;
    let counts = value_counts(state, &workspace).await?;
    Ok(tag_view(
        &record,
        &counts.get(record.id.as_str()).cloned().unwrap_or_default(),
    ))
}

/// `POST /v1/tags`: creates a tag; its values are computed before the answer.
#[utoipa::path(post, path = "/v1/tags", tag = "tags", request_body(content = Object, description = "`{id?, name, description?, family, kind: rule|rfm|imported|manual, values?, rfm?}` (docs/api.md#tags)"), security(("api_key" = [])), responses((status = 201, description = "The tag with its counts"), (status = 400, description = "Bad input; the error names the field (`values[2].condition.window`)"), (status = 409, description = "A tag with this id exists")))]
pub async fn create_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let input: TagInput = read_typed(&headers, body, "invalid_request").await?;
    let (id, definition) = check(&state, caller.workspace(), input, None)?;
    let now = state.clock.now();
    let record = TagRecord {
        workspace_id: caller.workspace().clone(),
        id,
        definition,
        created_at: now,
        updated_at: now,
    };
    state.tag_store.insert_tag(&record).await.map_err(|e| match e {
        orbit_store::StoreError::AlreadyExists(_) => ApiError::new(
            StatusCode::CONFLICT,
            "already_exists",
            format!(
                "a tag {} exists; PUT /v1/tags/{} changes it",
                record.id, record.id
            ),
        )
        .with_field("id"),
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(publish(&state, record).await?)))
}

/// `GET /v1/tags`: every tag with its counts, and when values were last computed.
#[utoipa::path(get, path = "/v1/tags", tag = "tags", security(("api_key" = [])), responses((status = 200, description = "`{tags: [...], refreshed: {evaluated_at, everyone_evaluated_at}}`")))]
pub async fn list_tags(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let records: Vec<TagRecord> = read_catalog(&state)
        .list(caller.workspace())
        .map(|e| e.record.clone())
        .collect();
    let counts = value_counts(&state, caller.workspace()).await?;
    let views: Vec<Value> = records
        .iter()
        .map(|r| tag_view(r, &counts.get(r.id.as_str()).cloned().unwrap_or_default()))
        .collect();
    Ok(Json(
        json!({"tags": views, "refreshed": refreshed_view(&state, caller.workspace())}),
    ))
}

/// `GET /v1/tags/{id}`: one tag with its counts.
#[utoipa::path(get, path = "/v1/tags/{id}", tag = "tags", params(("id" = String, Path, description = "The tag's id")), security(("api_key" = [])), responses((status = 200, description = "The tag with its counts"), (status = 404, description = "Not found")))]
pub async fn get_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let id = parse_tag_id(&id, "id")?;
    let entry = stored_tag(&state, caller.workspace(), &id)?;
    let counts = value_counts(&state, caller.workspace()).await?;
    let mut view = tag_view(
        &entry.record,
        &counts.get(id.as_str()).cloned().unwrap_or_default(),
    );
    view["refreshed"] = refreshed_view(&state, caller.workspace());
    Ok(Json(view))
}

/// `PUT /v1/tags/{id}`: replaces a tag's definition; values are recomputed before the
/// answer. Assigned values are kept while the tag stays imported or manual.
#[utoipa::path(put, path = "/v1/tags/{id}", tag = "tags", params(("id" = String, Path, description = "The tag's id")), request_body(content = Object, description = "As for POST"), security(("api_key" = [])), responses((status = 200, description = "The tag with its counts"), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "Not found")))]
pub async fn put_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let id = parse_tag_id(&id, "id")?;
    let existing = stored_tag(&state, caller.workspace(), &id)?;
    let input: TagInput = read_typed(&headers, body, "invalid_request").await?;
    let (id, definition) = check(&state, caller.workspace(), input, Some(&id))?;
    let record = TagRecord {
        workspace_id: caller.workspace().clone(),
        id,
        definition,
        created_at: existing.record.created_at,
        updated_at: state.clock.now(),
    };
    state.tag_store.save_tag(&record).await?;
    if record.definition.source.kind().is_computed() && !existing.assigned.is_empty() {
        state
            .tag_store
            .replace_tag_values(&record.workspace_id, &record.id, &[])
            .await?;
    }
    Ok(Json(publish(&state, record).await?))
}

/// `DELETE /v1/tags/{id}`: deletes a tag no segment or other tag names, with its values.
#[utoipa::path(delete, path = "/v1/tags/{id}", tag = "tags", params(("id" = String, Path, description = "The tag's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 404, description = "Not found"), (status = 409, description = "Segments or tags name it")))]
pub async fn delete_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let workspace = caller.workspace().clone();
    let id = parse_tag_id(&id, "id")?;
    stored_tag(&state, &workspace, &id)?;
    let segments = segments_naming(
        &state.segments.read().unwrap_or_else(PoisonError::into_inner),
        &workspace,
        &id,
    );
    let tags = read_catalog(&state).dependents(&workspace, &id);
    if !segments.is_empty() || !tags.is_empty() {
        let mut users: Vec<String> = segments.iter().map(|s| format!("segment {s}")).collect();
        users.extend(tags.iter().map(|t| format!("tag {t}")));
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "in_use",
            format!("{} name this tag; change them first", users.join(", ")),
        ));
    }
    state.tag_store.delete_tag(&workspace, &id).await?;
    write_catalog(&state).remove(&workspace, &id);
    let pipeline = state.pipeline.clone();
    tokio::task::spawn_blocking(move || {
        pipeline.with_audience_mut(&workspace, |index| TagCatalog::clear_values(index, &id));
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    Ok(StatusCode::NO_CONTENT)
}
