//! The segments one profile is in, for a profile page.

use super::evaluation;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use orbit_store::Scope;
use roaring::RoaringBitmap;
use serde_json::{Value, json};

/// `GET /v1/profiles/{id}/segments`: every segment of the workspace the profile is a
/// member of now, dynamic and static.
#[utoipa::path(get, path = "/v1/profiles/{id}/segments", tag = "segments", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), security(("api_key" = [])), responses((status = 200, description = "`{profile_id, segments: [{id, name, type}], evaluated_at}`"), (status = 404, description = "Not found")))]
pub async fn profile_segments(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let workspace = caller.workspace().clone();
    let profile = crate::routes::profiles::load(&state, &caller, &id)?;
    let at = evaluation(&state, &workspace);
    let now = at.now;
    let (pipeline, catalog, ws) = (state.pipeline.clone(), state.segments.clone(), workspace.clone());
    let job = move || {
        let catalog = catalog.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        pipeline.with_audience(&ws, |index| {
            // Conditions look at one profile at a time: evaluating among just this one
            // costs a look-up per condition, whatever the workspace's size.
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
                .map(|d| json!({"id": d.record.id, "name": d.record.name, "type": d.record.kind.as_str()}))
                .collect::<Vec<Value>>()
        })
    };
    let segments = tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(json!({
        "profile_id": profile.id,
        "segments": segments,
        "evaluated_at": now,
    })))
}
