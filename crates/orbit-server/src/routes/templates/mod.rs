//! Message templates: content per channel with defaults for missing variables, checked
//! by compiling it before it is saved, and previews rendered for a real person exactly
//! as the delivery worker would render them. A template that does not compile or
//! render is refused naming the field, the line and the variable.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orbit_engine::service::delivery::{TemplateDraft, TemplateList, TemplateView};
use orbit_engine::service::keys::Scope;

mod preview;
pub use preview::{__path_preview_saved, __path_preview_unsaved, preview_saved, preview_unsaved};

impl ApiBody for TemplateDraft {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesWrite];
}

/// `POST /v1/templates`: creates a template whose content compiles.
#[utoipa::path(post, path = "/v1/templates", tag = "templates", request_body = TemplateDraft, security(("api_key" = [])), responses((status = 201, description = "The template, with its channel and, for SMS, the part counts", body = TemplateView), (status = 400, description = "Bad input; the error names the field (`content.text`), and for a template that does not compile (`invalid_template`) its `line`"), (status = 409, description = "A template with this id exists (`already_exists`)")))]
pub async fn create_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(draft): ApiJson<TemplateDraft>,
) -> Result<(StatusCode, Json<TemplateView>), ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let template = state
        .engine
        .delivery()
        .create_template(caller.workspace(), draft)
        .await?;
    Ok((StatusCode::CREATED, Json(template)))
}

/// `GET /v1/templates`: every template of the workspace, by id.
#[utoipa::path(get, path = "/v1/templates", tag = "templates", security(("api_key" = [])), responses((status = 200, description = "Every template, by id", body = TemplateList)))]
pub async fn list_templates(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<TemplateList>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(state.engine.delivery().templates(caller.workspace()).await?))
}

/// `GET /v1/templates/{id}`: one template.
#[utoipa::path(get, path = "/v1/templates/{id}", tag = "templates", params(("id" = String, Path, description = "The template's id")), security(("api_key" = [])), responses((status = 200, description = "The template", body = TemplateView), (status = 400, description = "Not a template id (`invalid_id`)"), (status = 404, description = "No such template")))]
pub async fn get_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<TemplateView>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    Ok(Json(
        state.engine.delivery().template(caller.workspace(), &id).await?,
    ))
}

/// `PUT /v1/templates/{id}`: replaces a template; `created_at` is kept.
#[utoipa::path(put, path = "/v1/templates/{id}", tag = "templates", params(("id" = String, Path, description = "The template's id")), request_body = TemplateDraft, security(("api_key" = [])), responses((status = 200, description = "The template", body = TemplateView), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such template")))]
pub async fn put_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<TemplateDraft>,
) -> Result<Json<TemplateView>, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    let template = state
        .engine
        .delivery()
        .replace_template(caller.workspace(), &id, draft)
        .await?;
    Ok(Json(template))
}

/// `DELETE /v1/templates/{id}`: deletes a template no live campaign uses.
#[utoipa::path(delete, path = "/v1/templates/{id}", tag = "templates", params(("id" = String, Path, description = "The template's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 400, description = "Not a template id (`invalid_id`)"), (status = 404, description = "No such template"), (status = 409, description = "Campaigns that may still send use it (`in_use`)")))]
pub async fn delete_template(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::AudiencesWrite)?;
    state
        .engine
        .delivery()
        .delete_template(caller.workspace(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
