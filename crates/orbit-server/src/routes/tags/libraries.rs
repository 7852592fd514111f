//! Industry tag libraries: list them, read one, install its tags into the workspace.
//! Installed tags are ordinary tags from then on, edited with `PUT /v1/tags/{id}`.

use super::{definition_view, read_catalog, write_catalog};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::tag_refresher::{RefreshScope, refresh_tags};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orbit_core::TagId;
use orbit_core::tags::{TagDefinition, TagLibrary};
use orbit_engine::audience::libraries::{libraries, library};
use orbit_store::{Scope, TagRecord};
use serde::Deserialize;
use serde_json::{Value, json};

fn find(id: &str) -> Result<&'static TagLibrary, ApiError> {
    library(id).ok_or_else(|| ApiError::not_found("tag library"))
}

/// `GET /v1/tag-libraries`: the bundled industry libraries.
#[utoipa::path(get, path = "/v1/tag-libraries", tag = "tags", security(("api_key" = [])), responses((status = 200, description = "`{libraries: [{id, name: {zh, en}, description, tag_count, tags}]}`")))]
pub async fn list_libraries(caller: ApiCaller) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let views: Vec<Value> = libraries()
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "name": l.name,
                "description": l.description,
                "tag_count": l.tags.len(),
                "tags": l.tags.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({"libraries": views})))
}

/// `GET /v1/tag-libraries/{id}`: one library with its tags, and which of them the
/// workspace already has.
#[utoipa::path(get, path = "/v1/tag-libraries/{id}", tag = "tags", params(("id" = String, Path, description = "retail, tea, cosmetics, auto or education")), security(("api_key" = [])), responses((status = 200, description = "`{id, name, description, tags: [...], installed: [ids]}`"), (status = 404, description = "Not found")))]
pub async fn get_library(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let library = find(&id)?;
    let catalog = read_catalog(&state);
    let installed: Vec<&TagId> = library
        .tags
        .iter()
        .map(|(id, _)| id)
        .filter(|id| catalog.get(caller.workspace(), id).is_some())
        .collect();
    Ok(Json(json!({
        "id": library.id,
        "name": library.name,
        "description": library.description,
        "tags": library.tags.iter().map(|(id, d)| definition_view(id, d)).collect::<Vec<_>>(),
        "installed": installed,
    })))
}

/// The query of an install.
#[derive(Debug, Deserialize)]
pub struct InstallQuery {
    /// `true`: tags whose id exists are overwritten with the library's; default: they
    /// are kept and listed under `skipped`.
    #[serde(default)]
    replace: bool,
}

/// `POST /v1/tag-libraries/{id}/install`: creates the library's tags in the workspace.
#[utoipa::path(post, path = "/v1/tag-libraries/{id}/install", tag = "tags", params(("id" = String, Path, description = "The library's id"), ("replace" = Option<bool>, Query, description = "true: overwrite tags whose id exists")), security(("api_key" = [])), responses((status = 200, description = "`{library, installed: [ids], replaced: [ids], skipped: [ids]}`"), (status = 404, description = "Not found"), (status = 409, description = "A tag would name a workspace tag that does not fit (a loop)")))]
pub async fn install_library(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<InstallQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let library = find(&id)?;
    let workspace = caller.workspace().clone();
    let (mut installed, mut replaced, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    let mut writes: Vec<(TagId, TagDefinition, Option<TagRecord>)> = Vec::new();
    {
        let catalog = read_catalog(&state);
        for (tag, definition) in &library.tags {
            match catalog.get(&workspace, tag) {
                Some(_) if !query.replace => skipped.push(tag.clone()),
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
                .check_references(&workspace, tag, definition, &incoming)
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::CONFLICT,
                        "library_conflict",
                        format!("tag {tag} does not fit this workspace: {}", e.message),
                    )
                })?;
        }
    }
    let now = state.clock.now();
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
                state.tag_store.save_tag(&record).await?;
                if record.definition.source.kind().is_computed()
                    && !old.definition.source.kind().is_computed()
                {
                    state.tag_store.replace_tag_values(&workspace, &tag, &[]).await?;
                }
                replaced.push(tag);
            }
            None => {
                state.tag_store.insert_tag(&record).await?;
                installed.push(tag);
            }
        }
        write_catalog(&state).put(record);
    }
    refresh_tags(&state, &workspace, RefreshScope::Everyone).await?;
    Ok(Json(json!({
        "library": library.id,
        "installed": installed,
        "replaced": replaced,
        "skipped": skipped,
    })))
}
