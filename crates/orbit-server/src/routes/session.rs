//! Console sessions: logging in (a session cookie, HttpOnly and SameSite=Strict, and
//! Secure when the server is reached over HTTPS), reading the session, logging out.

use crate::AppState;
use crate::auth::{SESSION_COOKIE, session_token};
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::State;
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use orbit_core::ErrorCode;
use orbit_engine::service::audit::{ActorKind, NewAuditEntry};
use orbit_engine::service::keys::Scope;
use orbit_engine::service::operators::{Login, LoginRefused, SessionView};

impl ApiBody for Login {
    const REQUIRES: &'static [Scope] = &[];
}

/// `POST /v1/session`: logs an operator in. Failed logins are throttled per account and
/// per address, with delays growing from 2 s to 15 min.
#[utoipa::path(post, path = "/v1/session", tag = "operators", request_body = Login, responses((status = 200, description = "Logged in: the session cookie is set; send `csrf_token` back as `X-CSRF-Token` on every change", body = SessionView), (status = 401, description = "Wrong login or password (`unauthorized`)"), (status = 429, description = "Too many failed logins (`too_many_attempts`); `Retry-After` says when to try again")))]
pub async fn login(
    State(state): State<AppState>,
    address: crate::auth::ClientAddress,
    ApiJson(request): ApiJson<Login>,
) -> Result<Response, ApiError> {
    let typed = request.login.trim().to_lowercase();
    let address = address.0;
    match state.engine.operators().login(request, address.as_deref()).await {
        Ok(opened) => {
            let view = opened.view;
            record(
                &state,
                &view.workspace_id,
                ActorKind::Operator,
                &view.operator.id,
                &view.operator.name,
                200,
                address,
            )
            .await;
            let mut cookie = Cookie::new(SESSION_COOKIE, opened.token);
            cookie.set_http_only(true);
            cookie.set_same_site(SameSite::Strict);
            cookie.set_path("/");
            cookie.set_secure(state.settings.secure_cookies);
            let mut response = Json(view).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string()) {
                response.headers_mut().insert(SET_COOKIE, value);
            }
            Ok(response)
        }
        Err(LoginRefused::BadCredentials(workspace)) => {
            if let Some(workspace) = workspace {
                record(
                    &state,
                    &workspace,
                    ActorKind::Anonymous,
                    &typed,
                    &typed,
                    401,
                    address,
                )
                .await;
            }
            Err(ApiError::unauthorized("wrong login or password"))
        }
        Err(LoginRefused::Throttled(wait)) => {
            let seconds = wait.as_secs().max(1);
            let mut response = ApiError::at(
                ErrorCode::TooManyAttempts,
                "login",
                format!("too many failed logins; try again in {seconds} s"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
            Ok(response)
        }
        Err(LoginRefused::Failed(error)) => Err(error.into()),
    }
}

/// `GET /v1/session`: the session the cookie belongs to.
#[utoipa::path(get, path = "/v1/session", tag = "operators", responses((status = 200, description = "Who is logged in, with the CSRF token", body = SessionView), (status = 401, description = "No live session")))]
pub async fn current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SessionView>, ApiError> {
    let operators = state.engine.operators();
    let token = session_token(&headers).ok_or_else(|| ApiError::unauthorized("not logged in"))?;
    let active = operators
        .session(&token)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the session has ended; log in again"))?;
    Ok(Json(operators.describe(&token, &active)))
}

/// `DELETE /v1/session`: logs out; the cookie is cleared.
#[utoipa::path(delete, path = "/v1/session", tag = "operators", responses((status = 204, description = "Logged out")))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        state.engine.operators().logout(&token).await?;
    }
    let mut cookie = Cookie::new(SESSION_COOKIE, "");
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_path("/");
    cookie.set_secure(state.settings.secure_cookies);
    cookie.make_removal();
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string()) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// Records a login in the audit log; a failure to record is logged, not answered.
async fn record(
    state: &AppState,
    workspace: &orbit_core::WorkspaceId,
    kind: ActorKind,
    id: &str,
    name: &str,
    status: u16,
    address: Option<String>,
) {
    let entry = NewAuditEntry {
        workspace_id: workspace.clone(),
        at: orbit_core::Clock::now(&orbit_core::SystemClock),
        actor_kind: kind,
        actor_id: id.to_owned(),
        actor_name: name.to_owned(),
        action: "POST /v1/session".to_owned(),
        path: "/v1/session".to_owned(),
        status,
        before: None,
        after: None,
        address,
        profiles: Vec::new(),
    };
    if let Err(error) = state.engine.audit().record(&entry).await {
        tracing::error!(%error, "a login could not be recorded in the audit log");
    }
}
