//! Consent: the choices a person made per channel and topic, and what they allow now
//! for marketing and for service messages.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson, ApiQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orbit_engine::service::delivery::{ConsentChange, ConsentView, RecordedConsent};
use orbit_engine::service::keys::Scope;
use serde::Deserialize;
use utoipa::IntoParams;

impl ApiBody for ConsentChange {
    const REQUIRES: &'static [Scope] = &[Scope::ProfilesWrite];
}

/// The query of a consent read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsentQuery {
    /// The marketing topic to resolve; `promotions` by default.
    topic: Option<String>,
}

/// `GET /v1/profiles/{id}/consent`: the records and what they allow per channel.
#[utoipa::path(get, path = "/v1/profiles/{id}/consent", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it"), ConsentQuery), security(("api_key" = [])), responses((status = 200, description = "The person's records and, per channel, what marketing on the topic and service messages may do", body = ConsentView), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such profile")))]
pub async fn get_consent(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ConsentQuery>,
) -> Result<Json<ConsentView>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    let consent = state
        .engine
        .delivery()
        .consent(caller.workspace(), &id, query.topic.as_deref())
        .await?;
    Ok(Json(consent))
}

/// `POST /v1/profiles/{id}/consent`: records one consent change, as of now.
#[utoipa::path(post, path = "/v1/profiles/{id}/consent", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), request_body = ConsentChange, security(("api_key" = [])), responses((status = 201, description = "The record stored, and the consent as GET answers it for the record's topic", body = RecordedConsent), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "No such profile")))]
pub async fn record_consent(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<ConsentChange>,
) -> Result<(StatusCode, Json<RecordedConsent>), ApiError> {
    caller.require(Scope::ProfilesWrite)?;
    let recorded = state
        .engine
        .delivery()
        .record_consent(caller.workspace(), &id, change)
        .await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}
