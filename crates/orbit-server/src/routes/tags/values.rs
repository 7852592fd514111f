//! A profile's tags: every value it holds (computed or assigned), and values set or
//! removed on one profile by hand.

use super::{label_of, parse_tag_id, read_catalog, stored_tag, write_catalog};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use crate::routes::profiles::load;
use crate::tag_refresher::{RefreshScope, refresh_tags};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orbit_core::profile::Profile;
use orbit_core::tags::{TagSource, clean_value};
use orbit_core::{ProfileId, TagId, WorkspaceId};
use orbit_engine::audience::TagEntry;
use orbit_store::{Scope, TagAssignment};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What `PUT /v1/profiles/{id}/tags/{tag}` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValuesInput {
    values: Vec<String>,
}

/// 409 unless values of the tag may be assigned (imported and manual tags).
pub(super) fn require_assignable(entry: &TagEntry) -> Result<(), ApiError> {
    if entry.record.definition.source.kind().is_computed() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "computed_tag",
            format!(
                "tag {} is computed from its {}; its values cannot be set",
                entry.record.id,
                if matches!(entry.record.definition.source, TagSource::Rfm { .. }) {
                    "orders"
                } else {
                    "rules"
                }
            ),
        )
        .with_field("tag"));
    }
    Ok(())
}

/// The assignments that give `profile` exactly `values` (empty: none), taking the
/// values off the ids merged into it too, since they resolve to it.
pub(super) fn assignments_for(profile: &Profile, values: &[String]) -> Vec<TagAssignment> {
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

/// Stores assignments, makes them current, and recomputes the profiles they name.
pub(super) async fn assign(
    state: &AppState,
    workspace: &WorkspaceId,
    tag: &TagId,
    assignments: &[TagAssignment],
) -> Result<(), ApiError> {
    state
        .tag_store
        .assign_tag_values(workspace, tag, assignments)
        .await?;
    write_catalog(state).assign(workspace, tag, assignments);
    let ids: Vec<ProfileId> = assignments.iter().map(|a| a.profile).collect();
    refresh_profiles(state, workspace, &ids).await
}

/// Recomputes the tag values of these profiles (ids merged away count for their
/// survivor) now, if the workspace has tags.
pub(crate) async fn refresh_profiles(
    state: &AppState,
    workspace: &WorkspaceId,
    ids: &[ProfileId],
) -> Result<(), ApiError> {
    if read_catalog(state).list(workspace).next().is_none() {
        return Ok(());
    }
    // Resolved before reading the index: the two locks are never held together.
    let live: Vec<ProfileId> = ids
        .iter()
        .filter_map(|id| Some(state.pipeline.profile(workspace, *id)?.id))
        .collect();
    let numbers = state.pipeline.with_audience(workspace, |index| {
        index.map_or_else(roaring::RoaringBitmap::new, |index| {
            live.iter().filter_map(|p| index.find(*p)).collect()
        })
    });
    refresh_tags(state, workspace, RefreshScope::Profiles(numbers)).await?;
    Ok(())
}

/// Forgets the values assigned to an erased person, under every id they had.
pub(crate) async fn forget_profile(
    state: &AppState,
    workspace: &WorkspaceId,
    erased: &Profile,
) -> Result<(), ApiError> {
    let mut ids = vec![erased.id];
    ids.extend(erased.merged_ids.iter().copied());
    state.tag_store.forget_tag_values(workspace, &ids).await?;
    write_catalog(state).forget_profiles(workspace, &ids);
    Ok(())
}

/// The imported and manual values assigned to a person under any of their ids, by tag
/// (for the personal data export).
pub(crate) fn assigned_to(
    state: &AppState,
    workspace: &WorkspaceId,
    profile: &Profile,
) -> BTreeMap<String, Vec<String>> {
    let mut ids = vec![profile.id];
    ids.extend(profile.merged_ids.iter().copied());
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in read_catalog(state).list(workspace) {
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

/// `GET /v1/profiles/{id}/tags`: every tag value the profile holds, RFM tags with their
/// scores, as of the last refresh.
#[utoipa::path(get, path = "/v1/profiles/{id}/tags", tag = "tags", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "`{profile_id, tags: [{tag, name, family, kind, values: [{value, label}], rfm?}], refreshed_at}`"), (status = 404, description = "Not found")))]
pub async fn list_profile_tags(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let workspace = caller.workspace();
    let profile = load(&state, &caller, &id)?;
    let held: BTreeMap<String, Vec<String>> = state.pipeline.with_audience(workspace, |index| {
        index
            .and_then(|index| index.tags_of(index.find(profile.id)?))
            .map(|tags| {
                let owned = |(tag, values): (&str, Vec<&str>)| {
                    (tag.to_owned(), values.into_iter().map(str::to_owned).collect())
                };
                tags.into_iter().map(owned).collect()
            })
            .unwrap_or_default()
    });
    let catalog = read_catalog(&state);
    let mut tags = Vec::with_capacity(held.len());
    for (tag, values) in held {
        let Some(entry) = TagId::parse(&tag).ok().and_then(|id| catalog.get(workspace, &id)) else {
            continue;
        };
        let definition = &entry.record.definition;
        let values: Vec<Value> = values
            .iter()
            .map(|v| json!({"value": v, "label": label_of(definition, v)}))
            .collect();
        let mut view = json!({
            "tag": tag,
            "name": definition.name,
            "family": definition.family,
            "kind": definition.source.kind(),
            "values": values,
        });
        if let Some(rfm) = catalog.rfm_of(workspace, &entry.record.id, profile.id) {
            view["rfm"] = json!({
                "recency_days": rfm.facts.recency_days,
                "frequency": rfm.facts.frequency,
                "monetary": rfm.facts.monetary,
                "r": rfm.score.r,
                "f": rfm.score.f,
                "m": rfm.score.m,
            });
        }
        tags.push(view);
    }
    let refreshed_at = catalog.last_refresh(workspace).0.map(|r| r.evaluated_at);
    Ok(Json(
        json!({"profile_id": profile.id, "tags": tags, "refreshed_at": refreshed_at}),
    ))
}

/// `PUT /v1/profiles/{id}/tags/{tag}`: sets a manual or imported tag's values on one
/// profile (`{"values": [...]}`), replacing the ones it had.
#[utoipa::path(put, path = "/v1/profiles/{id}/tags/{tag}", tag = "tags", params(("id" = String, Path, description = "A profile id"), ("tag" = String, Path, description = "An imported or manual tag's id")), request_body(content = Object, description = "`{\"values\": [\"vip\"]}`"), security(("api_key" = [])), responses((status = 200, description = "`{profile_id, tag, values}`"), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such profile or tag"), (status = 409, description = "The tag is computed (rule or RFM)")))]
pub async fn put_profile_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, tag)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let workspace = caller.workspace();
    let profile = load(&state, &caller, &id)?;
    let tag = parse_tag_id(&tag, "tag")?;
    let entry = stored_tag(&state, workspace, &tag)?;
    require_assignable(&entry)?;
    let input: ValuesInput = read_typed(&headers, body, "invalid_request").await?;
    if input.values.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_request",
            "values",
            "give at least one value; DELETE removes the tag",
        ));
    }
    let mut values = Vec::with_capacity(input.values.len());
    for (i, raw) in input.values.iter().enumerate() {
        let field = format!("values[{i}]");
        let value = clean_value(raw).map_err(|m| ApiError::bad_request("invalid_value", &field, m))?;
        if !entry.record.definition.source.accepts(&value) {
            return Err(ApiError::bad_request(
                "invalid_value",
                field,
                format!("{value:?} is not one of the tag's values"),
            ));
        }
        values.push(value);
    }
    values.sort_unstable();
    values.dedup();
    assign(&state, workspace, &tag, &assignments_for(&profile, &values)).await?;
    Ok(Json(
        json!({"profile_id": profile.id, "tag": tag, "values": values}),
    ))
}

/// `DELETE /v1/profiles/{id}/tags/{tag}`: removes a manual or imported tag from one
/// profile.
#[utoipa::path(delete, path = "/v1/profiles/{id}/tags/{tag}", tag = "tags", params(("id" = String, Path, description = "A profile id"), ("tag" = String, Path, description = "An imported or manual tag's id")), security(("api_key" = [])), responses((status = 204, description = "Removed (also when the profile did not hold it)"), (status = 404, description = "No such profile or tag"), (status = 409, description = "The tag is computed (rule or RFM)")))]
pub async fn delete_profile_tag(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let workspace = caller.workspace();
    let profile = load(&state, &caller, &id)?;
    let tag = parse_tag_id(&tag, "tag")?;
    let entry = stored_tag(&state, workspace, &tag)?;
    require_assignable(&entry)?;
    assign(&state, workspace, &tag, &assignments_for(&profile, &[])).await?;
    Ok(StatusCode::NO_CONTENT)
}
