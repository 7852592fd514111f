//! Segments: named audiences, dynamic (kept live from a condition) or static (a
//! snapshot or an upload); counts, samples, member export, size history, and a preview
//! of unsaved conditions.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use orbit_core::audience::{Condition, ConditionError, Evaluation, validate};
use orbit_core::event::clean_identity;
use orbit_core::{IdentityKind, ProfileId, SegmentId, WorkspaceId};
use orbit_engine::audience::SegmentDefinition;
use orbit_store::{Scope, SegmentKind, SegmentRecord};
use serde::Deserialize;
use serde_json::{Value, json};

mod compare;
pub(crate) mod members;
mod of_profile;
pub use compare::{__path_compare, compare};
pub use members::{__path_members, members};
pub use of_profile::{__path_profile_segments, profile_segments};

/// Most members a sample holds.
const MAX_SAMPLE: usize = 100;

/// A segment as the API takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentInput {
    /// Optional id (`[a-z0-9_-]`, 1–64); one is made up when left out.
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "type", default = "dynamic")]
    kind: SegmentKind,
    #[serde(default)]
    condition: Option<Condition>,
    /// Static segments: profile ids or `TYPE:VALUE` identities.
    #[serde(default)]
    members: Option<Vec<String>>,
}

fn dynamic() -> SegmentKind {
    SegmentKind::Dynamic
}

/// What a preview takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewInput {
    condition: Condition,
    #[serde(default)]
    sample: Option<usize>,
}

/// What evaluation should hand back.
#[derive(Debug, Clone, Copy)]
pub(super) enum Want {
    /// How many, and up to this many members spread over the whole set.
    Sample(usize),
    /// Every member.
    All,
}

/// The answer of one evaluation.
#[derive(Debug, Default)]
pub(super) struct Answer {
    pub(super) size: u64,
    pub(super) members: Vec<ProfileId>,
    pub(super) took_ms: f64,
}

fn condition_error(e: ConditionError) -> ApiError {
    let field = if e.path.is_empty() || e.path == "condition" {
        "condition".to_owned()
    } else if e.path.starts_with("condition") {
        e.path
    } else {
        format!("condition.{}", e.path)
    };
    ApiError::bad_request("invalid_condition", field, e.message)
}

/// Checks a condition and the segments it names (for segment `own`, if any).
fn check_condition(
    state: &AppState,
    workspace: &WorkspaceId,
    own: Option<&SegmentId>,
    condition: &Condition,
) -> Result<(), ApiError> {
    validate(condition).map_err(condition_error)?;
    state
        .segments
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .check_references(workspace, own, condition)
        .map_err(condition_error)
}

pub(super) fn parse_segment_id(raw: &str) -> Result<SegmentId, ApiError> {
    SegmentId::parse(raw).map_err(|e| ApiError::bad_request("invalid_id", "id", format!("segment id {e}")))
}

/// The evaluation moment: now, in the workspace's time zone.
pub(crate) fn evaluation(state: &AppState, workspace: &WorkspaceId) -> Evaluation {
    Evaluation::new(state.clock.now(), state.pipeline.time_zone(workspace))
}

/// Evaluates a condition, or a stored segment, off the async threads.
pub(super) async fn evaluate(
    state: &AppState,
    workspace: &WorkspaceId,
    target: Result<Condition, SegmentId>,
    want: Want,
) -> Result<Answer, ApiError> {
    let at = evaluation(state, workspace);
    let (pipeline, catalog, workspace) = (state.pipeline.clone(), state.segments.clone(), workspace.clone());
    let job = move || -> Result<Answer, ConditionError> {
        let started = std::time::Instant::now();
        let catalog = catalog.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        pipeline.with_audience(&workspace, |index| {
            let Some(index) = index else {
                return Ok(Answer::default());
            };
            let members = match &target {
                Ok(condition) => catalog.members(&workspace, index, condition, &at)?,
                Err(id) => catalog.segment_members(&workspace, index, id, &at)?,
            };
            let size = members.len();
            let numbers: Vec<u32> = match want {
                Want::All => members.iter().collect(),
                Want::Sample(0) => Vec::new(),
                Want::Sample(n) => {
                    let step = (size / n as u64).max(1);
                    (0..size)
                        .step_by(usize::try_from(step).unwrap_or(usize::MAX))
                        .take(n)
                        .filter_map(|rank| members.select(u32::try_from(rank).ok()?))
                        .collect()
                }
            };
            let mut profiles: Vec<ProfileId> = numbers.into_iter().filter_map(|n| index.profile(n)).collect();
            profiles.sort_unstable();
            Ok(Answer {
                size,
                members: profiles,
                took_ms: started.elapsed().as_secs_f64() * 1_000.0,
            })
        })
    };
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(condition_error)
}

fn segment_view(definition: &SegmentDefinition, size: u64) -> Value {
    let r = &definition.record;
    json!({
        "id": r.id,
        "name": r.name,
        "description": r.description,
        "type": r.kind,
        "condition": r.condition,
        "size": size,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

pub(super) fn stored(
    state: &AppState,
    workspace: &WorkspaceId,
    id: &SegmentId,
) -> Result<SegmentDefinition, ApiError> {
    state
        .segments
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(workspace, id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("segment"))
}

/// Resolves uploaded members: profile ids (merged-away ids follow their survivor) or
/// `TYPE:VALUE` identities. Returns the profiles and the entries that matched nobody.
fn resolve_members(
    state: &AppState,
    workspace: &WorkspaceId,
    raw: &[String],
) -> (Vec<ProfileId>, Vec<String>) {
    let (mut found, mut unmatched) = (Vec::new(), Vec::new());
    for entry in raw {
        let profile = match ProfileId::parse(entry.trim()) {
            Ok(id) => state.pipeline.profile(workspace, id),
            Err(_) => entry.split_once(':').and_then(|(kind, value)| {
                let kind = IdentityKind::parse(kind.trim()).ok()?;
                let identity = clean_identity(kind, value.trim(), state.settings.default_region).ok()?;
                state.pipeline.profile_by_identity(workspace, &identity)
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

/// Checks an input and turns it into a definition (static members resolved now).
async fn definition_from(
    state: &AppState,
    caller: &ApiCaller,
    input: SegmentInput,
    id: SegmentId,
    created_at: Option<Timestamp>,
) -> Result<(SegmentDefinition, Vec<String>), ApiError> {
    let workspace = caller.workspace().clone();
    if input.name.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_request",
            "name",
            "give the segment a name",
        ));
    }
    if let Some(condition) = &input.condition {
        check_condition(state, &workspace, Some(&id), condition)?;
    }
    let (members, unmatched) = match (input.kind, &input.condition, &input.members) {
        (SegmentKind::Dynamic, None, _) => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "condition",
                "a dynamic segment needs a condition",
            ));
        }
        (SegmentKind::Dynamic, Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "members",
                "only a static segment takes a member list",
            ));
        }
        (SegmentKind::Dynamic, Some(_), None) => (Vec::new(), Vec::new()),
        (SegmentKind::Static, _, Some(list)) => resolve_members(state, &workspace, list),
        (SegmentKind::Static, Some(condition), None) => {
            let answer = evaluate(state, &workspace, Ok(condition.clone()), Want::All).await?;
            (answer.members, Vec::new())
        }
        (SegmentKind::Static, None, None) => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "members",
                "a static segment needs members or a condition to take a snapshot of",
            ));
        }
    };
    let now = state.clock.now();
    let record = SegmentRecord {
        workspace_id: workspace,
        id,
        name: input.name.trim().to_owned(),
        description: input.description,
        kind: input.kind,
        condition: input.condition,
        created_at: created_at.unwrap_or(now),
        updated_at: now,
    };
    Ok((SegmentDefinition { record, members }, unmatched))
}

/// Stores a definition (`create`: only if its id is free), makes it current for
/// evaluation, records its size, and answers it as the API shows it.
async fn save(
    state: &AppState,
    definition: &SegmentDefinition,
    unmatched: Vec<String>,
    create: bool,
) -> Result<Value, ApiError> {
    let r = &definition.record;
    match (r.kind, create) {
        // A static segment's row and members are written together: never one without
        // the other.
        (SegmentKind::Static, _) => {
            state
                .segment_store
                .save_static_segment(r, create, &definition.members)
                .await?;
        }
        (SegmentKind::Dynamic, true) => state.segment_store.insert_segment(r).await?,
        (SegmentKind::Dynamic, false) => state.segment_store.save_segment(r).await?,
    }
    let catalog = state.segments.clone();
    state
        .membership
        .saved(&r.workspace_id, &r.id, r.kind, || {
            catalog
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .put(definition.clone());
        })
        .await?;
    let answer = evaluate(state, &r.workspace_id, Err(r.id.clone()), Want::Sample(0)).await?;
    state
        .segment_store
        .record_sizes(&r.workspace_id, state.clock.now(), &[(r.id.clone(), answer.size)])
        .await?;
    let mut view = segment_view(definition, answer.size);
    if r.kind == SegmentKind::Static {
        view["unmatched"] = json!(unmatched);
    }
    Ok(view)
}

/// `POST /v1/segments`: creates a segment.
#[utoipa::path(post, path = "/v1/segments", tag = "segments", request_body(content = Object, description = "`{id?, name, description?, type: dynamic|static, condition?, members?}` (docs/audiences.md)"), security(("api_key" = [])), responses((status = 201, description = "The segment with its size"), (status = 400, description = "Bad input; the error names the field"), (status = 409, description = "A segment with this id exists")))]
pub async fn create_segment(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let input: SegmentInput = read_typed(&headers, body, "invalid_request").await?;
    let id = match &input.id {
        Some(raw) => parse_segment_id(raw)?,
        None => parse_segment_id(&format!(
            "seg-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))?,
    };
    // Answered before any snapshot is taken; the insert itself refuses a race's loser.
    if state
        .segment_store
        .segment(caller.workspace(), &id)
        .await?
        .is_some()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_exists",
            format!("a segment {id} exists; PUT /v1/segments/{id} changes it"),
        )
        .with_field("id"));
    }
    let (definition, unmatched) = definition_from(&state, &caller, input, id, None).await?;
    let view = save(&state, &definition, unmatched, true).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /v1/segments`: every segment with its size.
#[utoipa::path(get, path = "/v1/segments", tag = "segments", security(("api_key" = [])), responses((status = 200, description = "`{segments: [...]}`")))]
pub async fn list_segments(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let definitions: Vec<SegmentDefinition> = state
        .segments
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .list(caller.workspace())
        .cloned()
        .collect();
    let mut views = Vec::with_capacity(definitions.len());
    for definition in &definitions {
        let id = definition.record.id.clone();
        let answer = evaluate(&state, caller.workspace(), Err(id), Want::Sample(0)).await?;
        views.push(segment_view(definition, answer.size));
    }
    Ok(Json(json!({"segments": views})))
}

/// `GET /v1/segments/{id}`: one segment with its size.
#[utoipa::path(get, path = "/v1/segments/{id}", tag = "segments", params(("id" = String, Path, description = "The segment's id")), security(("api_key" = [])), responses((status = 200, description = "The segment with its size"), (status = 404, description = "Not found")))]
pub async fn get_segment(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let id = parse_segment_id(&id)?;
    let definition = stored(&state, caller.workspace(), &id)?;
    let answer = evaluate(&state, caller.workspace(), Err(id), Want::Sample(0)).await?;
    Ok(Json(segment_view(&definition, answer.size)))
}

/// `PUT /v1/segments/{id}`: replaces a segment's definition (a static segment's
/// members are taken again from `members` or its condition).
#[utoipa::path(put, path = "/v1/segments/{id}", tag = "segments", params(("id" = String, Path, description = "The segment's id")), request_body(content = Object, description = "As for POST"), security(("api_key" = [])), responses((status = 200, description = "The segment with its size"), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "Not found")))]
pub async fn put_segment(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let id = parse_segment_id(&id)?;
    let existing = stored(&state, caller.workspace(), &id)?;
    let input: SegmentInput = read_typed(&headers, body, "invalid_request").await?;
    if input.id.as_deref().is_some_and(|given| given != id.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_request",
            "id",
            "the id in the body differs from the path",
        ));
    }
    let created = Some(existing.record.created_at);
    let (definition, unmatched) = definition_from(&state, &caller, input, id, created).await?;
    Ok(Json(save(&state, &definition, unmatched, false).await?))
}

/// `DELETE /v1/segments/{id}`: deletes a segment no other segment names.
#[utoipa::path(delete, path = "/v1/segments/{id}", tag = "segments", params(("id" = String, Path, description = "The segment's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 404, description = "Not found"), (status = 409, description = "Other segments name it")))]
pub async fn delete_segment(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let id = parse_segment_id(&id)?;
    stored(&state, caller.workspace(), &id)?;
    let dependents = state
        .segments
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .dependents(caller.workspace(), &id);
    if !dependents.is_empty() {
        let names: Vec<&str> = dependents.iter().map(SegmentId::as_str).collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "in_use",
            format!("segments {} name this one; change them first", names.join(", ")),
        ));
    }
    state
        .segment_store
        .delete_segment(caller.workspace(), &id)
        .await?;
    let catalog = state.segments.clone();
    state
        .membership
        .deleted(caller.workspace(), &id, || {
            catalog
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(caller.workspace(), &id);
        })
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/segments/preview`: size and a sample of an unsaved condition.
#[utoipa::path(post, path = "/v1/segments/preview", tag = "segments", request_body(content = Object, description = "`{condition, sample?}`"), security(("api_key" = [])), responses((status = 200, description = "`{size, sample, took_ms, evaluated_at}`"), (status = 400, description = "Bad input; the error names the field")))]
pub async fn preview(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let input: PreviewInput = read_typed(&headers, body, "invalid_request").await?;
    check_condition(&state, caller.workspace(), None, &input.condition)?;
    let sample = input.sample.unwrap_or(10).min(MAX_SAMPLE);
    let answer = evaluate(
        &state,
        caller.workspace(),
        Ok(input.condition),
        Want::Sample(sample),
    )
    .await?;
    Ok(Json(json!({
        "size": answer.size,
        "sample": answer.members,
        "took_ms": answer.took_ms,
        "evaluated_at": state.clock.now(),
    })))
}

/// The query of a size history.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    since: Option<String>,
}

/// `GET /v1/segments/{id}/history`: sizes recorded over time, oldest first.
#[utoipa::path(get, path = "/v1/segments/{id}/history", tag = "segments", params(("id" = String, Path, description = "The segment's id"), ("since" = Option<String>, Query, description = "RFC 3339; default 30 days ago")), security(("api_key" = [])), responses((status = 200, description = "`{points: [{at, size}]}`"), (status = 404, description = "Not found")))]
pub async fn history(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let id = parse_segment_id(&id)?;
    stored(&state, caller.workspace(), &id)?;
    let since = match query.since.as_deref() {
        Some(raw) => raw
            .parse::<Timestamp>()
            .map_err(|_| ApiError::bad_request("invalid_timestamp", "since", "must be an RFC 3339 time"))?,
        None => state
            .clock
            .now()
            .checked_sub(jiff::SignedDuration::from_hours(24 * 30))
            .unwrap_or(Timestamp::UNIX_EPOCH),
    };
    let points = state
        .segment_store
        .size_history(caller.workspace(), &id, since)
        .await?;
    let points: Vec<Value> = points
        .iter()
        .map(|p| json!({"at": p.at, "size": p.size}))
        .collect();
    Ok(Json(json!({"points": points})))
}

/// Takes every segment's size now and stores it in its size history.
pub async fn record_sizes(state: &AppState) -> Result<(), ApiError> {
    let by_workspace: Vec<(WorkspaceId, Vec<SegmentId>)> = {
        let catalog = state
            .segments
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all: std::collections::BTreeMap<WorkspaceId, Vec<SegmentId>> =
            std::collections::BTreeMap::new();
        for workspace in catalog.workspaces() {
            all.insert(
                workspace.clone(),
                catalog.list(workspace).map(|d| d.record.id.clone()).collect(),
            );
        }
        all.into_iter().collect()
    };
    let at = state.clock.now();
    for (workspace, ids) in by_workspace {
        let mut sizes = Vec::with_capacity(ids.len());
        for id in ids {
            let answer = evaluate(state, &workspace, Err(id.clone()), Want::Sample(0)).await?;
            sizes.push((id, answer.size));
        }
        state.segment_store.record_sizes(&workspace, at, &sizes).await?;
    }
    Ok(())
}

/// Records segment sizes every `every`, for the size-over-time chart.
pub async fn record_sizes_forever(state: AppState, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = record_sizes(&state).await {
            tracing::warn!(?error, "recording segment sizes failed");
        }
    }
}
