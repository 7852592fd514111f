//! Provider accounts (`/v1/channels`): an SMTP relay, an SMS account, a push app, a
//! WeChat account, a webhook. Configurations are validated, checked against the
//! egress policy, sealed at rest and shown masked. Admins manage them and send test
//! messages through them; `audiences:read` reads them (campaigns pick an account),
//! without the receipt URL.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiJson};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orbit_core::ErrorCode;
use orbit_engine::service::delivery::{
    AccountDraft, AccountTest, AccountTestResult, ChannelList, ChannelView,
};
use orbit_engine::service::keys::Scope;

impl ApiBody for AccountDraft {
    const REQUIRES: &'static [Scope] = &[Scope::Admin];
    /// A configuration that does not read is `invalid_config`, as one that does not
    /// validate is.
    fn invalid_at(field: &str) -> ErrorCode {
        let in_config = field == "config" || field.starts_with("config.");
        if in_config {
            ErrorCode::InvalidConfig
        } else {
            Self::INVALID
        }
    }
}

impl ApiBody for AccountTest {
    const REQUIRES: &'static [Scope] = &[Scope::Admin];
}

/// `POST /v1/channels`: configures a provider account.
#[utoipa::path(post, path = "/v1/channels", tag = "channels", request_body = AccountDraft, security(("api_key" = [])), responses((status = 201, description = "The account, secrets masked", body = ChannelView), (status = 400, description = "Bad input, naming the field (`invalid_config` inside `config`); `egress_refused` for an internal destination"), (status = 409, description = "The id is taken (`already_exists`)")))]
pub async fn create_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(draft): ApiJson<AccountDraft>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    caller.require(Scope::Admin)?;
    let account = state
        .engine
        .delivery()
        .create_account(caller.workspace(), draft)
        .await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// `GET /v1/channels`: the workspace's accounts, secrets masked (`audiences:read`;
/// the receipt URL for admins only).
#[utoipa::path(get, path = "/v1/channels", tag = "channels", security(("api_key" = [])), responses((status = 200, description = "Every account of the workspace, secrets masked", body = ChannelList)))]
pub async fn list_channels(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<ChannelList>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let accounts = state.engine.delivery().accounts(caller.workspace()).await?;
    Ok(Json(if caller.holds(Scope::Admin) {
        accounts
    } else {
        accounts.for_reader()
    }))
}

/// `GET /v1/channels/{id}`: one account, secrets masked (`audiences:read`; the
/// receipt URL for admins only).
#[utoipa::path(get, path = "/v1/channels/{id}", tag = "channels", params(("id" = String, Path, description = "The account's id")), security(("api_key" = [])), responses((status = 200, description = "The account, secrets masked", body = ChannelView), (status = 400, description = "Not a channel id (`invalid_id`)"), (status = 404, description = "No such account")))]
pub async fn get_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ChannelView>, ApiError> {
    caller.require(Scope::AudiencesRead)?;
    let account = state.engine.delivery().account(caller.workspace(), &id).await?;
    Ok(Json(if caller.holds(Scope::Admin) {
        account
    } else {
        account.for_reader()
    }))
}

/// `PUT /v1/channels/{id}`: replaces an account; secrets sent back masked are kept.
#[utoipa::path(put, path = "/v1/channels/{id}", tag = "channels", params(("id" = String, Path, description = "The account's id")), request_body(content = AccountDraft, description = "As for POST; secrets sent as `••••••` keep their stored value"), security(("api_key" = [])), responses((status = 200, description = "The account, secrets masked", body = ChannelView), (status = 400, description = "Bad input, naming the field"), (status = 404, description = "No such account")))]
pub async fn put_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<AccountDraft>,
) -> Result<Json<ChannelView>, ApiError> {
    caller.require(Scope::Admin)?;
    let account = state
        .engine
        .delivery()
        .replace_account(caller.workspace(), &id, draft)
        .await?;
    Ok(Json(account))
}

/// `DELETE /v1/channels/{id}`: removes an account.
#[utoipa::path(delete, path = "/v1/channels/{id}", tag = "channels", params(("id" = String, Path, description = "The account's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 400, description = "Not a channel id (`invalid_id`)"), (status = 404, description = "No such account")))]
pub async fn delete_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    state
        .engine
        .delivery()
        .delete_account(caller.workspace(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/channels/{id}/test`: sends one test message through the account to the
/// address given; the provider's answer, whether it took the message or not.
#[utoipa::path(post, path = "/v1/channels/{id}/test", tag = "channels", params(("id" = String, Path, description = "The account's id")), request_body = AccountTest, security(("api_key" = [])), responses((status = 200, description = "What the provider answered (`outcome` says whether it took the message)", body = AccountTestResult), (status = 400, description = "No or a bad address (`missing_field`, `invalid_identity` naming `to`); a channel that sends only approved templates (`invalid_request`)"), (status = 404, description = "No such account"), (status = 409, description = "The account's configuration no longer opens (`invalid_state`)")))]
pub async fn test_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AccountTest>,
) -> Result<Json<AccountTestResult>, ApiError> {
    caller.require(Scope::Admin)?;
    let result = state
        .engine
        .delivery()
        .test_account(caller.workspace(), &id, request)
        .await?;
    Ok(Json(result))
}
