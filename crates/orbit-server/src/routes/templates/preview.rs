//! Previews: a saved template, or unsaved content, rendered for one real person with
//! the delivery worker's own render context, so what the preview shows is what would
//! be sent; for a text message, what it costs under both counting rules.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::{Path, State};
use orbit_engine::service::delivery::{Contacts, TemplatePreview, TemplatePreviewRequest};
use orbit_engine::service::keys::Scope;

impl ApiBody for TemplatePreviewRequest {
    const REQUIRES: &'static [Scope] = &[Scope::AudiencesRead, Scope::ProfilesRead];
}

/// `POST /v1/templates/{id}/preview`: a saved template rendered for one person.
#[utoipa::path(post, path = "/v1/templates/{id}/preview", tag = "templates", params(("id" = String, Path, description = "The template's id")), request_body = TemplatePreviewRequest, security(("api_key" = [])), responses((status = 200, description = "The content as it would be sent, and for SMS its part counts", body = TemplatePreview), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such template or profile"), (status = 422, description = "`render_failed`: the error names `field`, `line` and `variable`")))]
pub async fn preview_saved(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<TemplatePreviewRequest>,
) -> Result<Json<TemplatePreview>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    // A preview shows a person's traits as they would be sent.
    caller.require(Scope::ProfilesRead)?;
    let preview = state
        .engine
        .delivery()
        .preview_template(caller.workspace(), &id, request, contacts(&caller))
        .await?;
    Ok(Json(preview))
}

/// `POST /v1/templates/preview`: unsaved content rendered for one person.
#[utoipa::path(post, path = "/v1/templates/preview", tag = "templates", request_body = TemplatePreviewRequest, security(("api_key" = [])), responses((status = 200, description = "The content as it would be sent (`template` null), and for SMS its part counts", body = TemplatePreview), (status = 400, description = "Bad input, or content that does not compile (`invalid_template`); the error names the field and line"), (status = 404, description = "No such profile"), (status = 422, description = "`render_failed`: the error names `field`, `line` and `variable`")))]
pub async fn preview_unsaved(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(request): ApiJson<TemplatePreviewRequest>,
) -> Result<Json<TemplatePreview>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    caller.require(Scope::ProfilesRead)?;
    let preview = state
        .engine
        .delivery()
        .preview_content(caller.workspace(), request, contacts(&caller))?;
    Ok(Json(preview))
}

/// What the caller may see of the person previewed for.
fn contacts(caller: &ApiCaller) -> Contacts {
    if caller.sees_contacts() {
        Contacts::Shown
    } else {
        Contacts::Masked
    }
}
