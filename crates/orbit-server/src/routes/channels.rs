//! Provider accounts (`/v1/channels`): an SMTP relay, an SMS account, a push app, a
//! WeChat account, a webhook. Configurations are validated, checked against the
//! egress policy, sealed at rest and shown masked.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orbit_channels::registry::ProviderConfig;
use orbit_core::ErrorCode;
use orbit_core::{ChannelId, WorkspaceId};
use orbit_engine::delivery::{Account, Tracked};
use orbit_engine::service::keys::Scope;
use orbit_store::ChannelAccountRecord;
use serde::Deserialize;
use serde_json::{Value, json};

/// What a client writes to create or replace an account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    id: Option<String>,
    name: String,
    /// The provider configuration, tagged by `provider`.
    config: Value,
    #[serde(default)]
    default: bool,
    #[serde(default)]
    rate_per_second: Option<u32>,
}

/// Checks the fields around the configuration.
fn check_input(input: &AccountInput) -> Result<(), ApiError> {
    if input.name.trim().is_empty() {
        return Err(ApiError::at(
            ErrorCode::InvalidRequest,
            "name",
            "must not be empty",
        ));
    }
    if input.rate_per_second == Some(0) {
        return Err(ApiError::at(
            ErrorCode::InvalidRequest,
            "rate_per_second",
            "must be at least 1",
        ));
    }
    Ok(())
}

fn parse_id(raw: &str) -> Result<ChannelId, ApiError> {
    ChannelId::parse(raw).map_err(|e| ApiError::at(ErrorCode::InvalidId, "id", format!("channel id {e}")))
}

/// An account as the API shows it; providers that push delivery receipts get the
/// URL to give them (in their console, or as Twilio's `status_callback`).
fn view(state: &AppState, record: &ChannelAccountRecord) -> Value {
    let receipt_url = ProviderConfig::provider_sends_receipts(&record.provider).then(|| {
        state.engine.delivery().parts().links.url(&Tracked::Receipts {
            workspace: record.workspace_id.clone(),
            account: record.id.clone(),
        })
    });
    json!({
        "id": record.id,
        "name": record.name,
        "channel": record.channel,
        "provider": record.provider,
        "config": record.masked_config,
        "default": record.is_default,
        "rate_per_second": record.rate_per_second,
        "receipt_url": receipt_url,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    })
}

async fn stored(
    state: &AppState,
    workspace: &WorkspaceId,
    id: &ChannelId,
) -> Result<ChannelAccountRecord, ApiError> {
    state
        .engine
        .stores()
        .accounts
        .all_accounts()
        .await?
        .into_iter()
        .find(|a| &a.workspace_id == workspace && &a.id == id)
        .ok_or_else(|| ApiError::not_found("channel"))
}

/// Parses, validates and checks a configuration's destinations.
async fn checked_config(
    state: &AppState,
    raw: Value,
    previous: Option<&ProviderConfig>,
) -> Result<ProviderConfig, ApiError> {
    let config = ProviderConfig::parse_keeping_secrets(raw, previous)
        .map_err(|e| ApiError::at(ErrorCode::InvalidConfig, "config", e.to_string()))?;
    config
        .validate()
        .map_err(|e| ApiError::at(ErrorCode::InvalidConfig, format!("config.{}", e.field), e.message))?;
    let egress = &state.engine.delivery().parts().egress;
    let refused = match &config {
        // A name that does not resolve yet (internal DNS, a record not yet
        // published) is accepted; the guard checks it again at every send.
        ProviderConfig::Webhook(c) => match url::Url::parse(&c.url) {
            Ok(url) => match egress.check_destination(&url).await {
                Err(orbit_channels::egress::DestinationError::Unresolvable(_)) | Ok(()) => None,
                Err(e) => Some(orbit_channels::ConfigError::new("url", e.to_string())),
            },
            Err(e) => Some(orbit_channels::ConfigError::new("url", e.to_string())),
        },
        ProviderConfig::Smtp(c) => c.check_destination(egress).await.err(),
        _ => None,
    };
    if let Some(e) = refused {
        return Err(ApiError::at(
            ErrorCode::EgressRefused,
            format!("config.{}", e.field),
            e.message,
        ));
    }
    Ok(config)
}

/// Seals, stores and connects an account.
async fn save(
    state: &AppState,
    workspace: &WorkspaceId,
    id: ChannelId,
    input: AccountInput,
    config: ProviderConfig,
    created_at: Option<jiff::Timestamp>,
) -> Result<ChannelAccountRecord, ApiError> {
    let sealed_config = state
        .engine
        .delivery()
        .parts()
        .sealer
        .seal_config(&config)
        .map_err(|e| ApiError::internal(&e))?;
    let now = state.engine.now();
    let record = ChannelAccountRecord {
        workspace_id: workspace.clone(),
        id: id.clone(),
        name: input.name,
        channel: config.channel(),
        provider: config.provider().to_owned(),
        sealed_config,
        masked_config: config.masked(),
        is_default: input.default,
        rate_per_second: input.rate_per_second,
        created_at: created_at.unwrap_or(now),
        updated_at: now,
    };
    let connector = config
        .clone()
        .connect(
            state.engine.delivery().parts().http.clone(),
            state.engine.delivery().parts().clock.clone(),
        )
        .map_err(|e| ApiError::at(ErrorCode::InvalidConfig, format!("config.{}", e.field), e.message))?;
    state
        .engine
        .stores()
        .accounts
        .save_account(&record, created_at.is_none())
        .await?;
    state.engine.delivery().parts().accounts.insert(
        workspace.clone(),
        Account::new(id, record.channel, record.rate_per_second, connector).with_config(config),
        record.is_default,
    );
    Ok(record)
}

/// `POST /v1/channels`: configures a provider account.
#[utoipa::path(post, path = "/v1/channels", tag = "channels", request_body(content = Object, description = "`{id?, name, config: {provider, …}, default?, rate_per_second?}` (docs/api.md#channels)"), security(("api_key" = [])), responses((status = 201, description = "The account, secrets masked"), (status = 400, description = "Bad input, naming the field; `egress_refused` for an internal destination"), (status = 409, description = "The id is taken")))]
pub async fn create_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Scope::Admin)?;
    let mut input: AccountInput = read_typed(&headers, body, ErrorCode::InvalidRequest).await?;
    let id = match input.id.take() {
        Some(raw) => parse_id(&raw)?,
        None => parse_id(&format!(
            "channel-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))?,
    };
    check_input(&input)?;
    let config = checked_config(&state, input.config.clone(), None).await?;
    let record = save(&state, caller.workspace(), id, input, config, None).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &record))))
}

/// `GET /v1/channels`: the workspace's accounts, secrets masked.
#[utoipa::path(get, path = "/v1/channels", tag = "channels", security(("api_key" = [])), responses((status = 200, description = "`{channels: [...]}`")))]
pub async fn list_channels(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Admin)?;
    let accounts: Vec<Value> = state
        .engine
        .stores()
        .accounts
        .all_accounts()
        .await?
        .iter()
        .filter(|a| &a.workspace_id == caller.workspace())
        .map(|record| view(&state, record))
        .collect();
    Ok(Json(json!({"channels": accounts})))
}

/// `GET /v1/channels/{id}`: one account, secrets masked.
#[utoipa::path(get, path = "/v1/channels/{id}", tag = "channels", params(("id" = String, Path, description = "The account's id")), security(("api_key" = [])), responses((status = 200, description = "The account"), (status = 404, description = "Not found")))]
pub async fn get_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Admin)?;
    let record = stored(&state, caller.workspace(), &parse_id(&id)?).await?;
    Ok(Json(view(&state, &record)))
}

/// `PUT /v1/channels/{id}`: replaces an account; secrets sent back masked are kept.
#[utoipa::path(put, path = "/v1/channels/{id}", tag = "channels", params(("id" = String, Path, description = "The account's id")), request_body(content = Object, description = "As for POST; masked secrets keep their stored value"), security(("api_key" = [])), responses((status = 200, description = "The account"), (status = 400, description = "Bad input"), (status = 404, description = "Not found")))]
pub async fn put_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Admin)?;
    let id = parse_id(&id)?;
    let previous = stored(&state, caller.workspace(), &id).await?;
    let mut input: AccountInput = read_typed(&headers, body, ErrorCode::InvalidRequest).await?;
    if input.id.take().is_some_and(|given| given != id.as_str()) {
        return Err(ApiError::at(
            ErrorCode::InvalidRequest,
            "id",
            "the id in the body differs from the path",
        ));
    }
    check_input(&input)?;
    let old_config = state
        .engine
        .delivery()
        .parts()
        .sealer
        .open_config(&previous.sealed_config)
        .ok();
    let config = checked_config(&state, input.config.clone(), old_config.as_ref()).await?;
    let record = save(
        &state,
        caller.workspace(),
        id,
        input,
        config,
        Some(previous.created_at),
    )
    .await?;
    Ok(Json(view(&state, &record)))
}

/// `DELETE /v1/channels/{id}`: removes an account.
#[utoipa::path(delete, path = "/v1/channels/{id}", tag = "channels", params(("id" = String, Path, description = "The account's id")), security(("api_key" = [])), responses((status = 204, description = "Deleted"), (status = 404, description = "Not found")))]
pub async fn delete_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    let id = parse_id(&id)?;
    if !state
        .engine
        .stores()
        .accounts
        .delete_account(caller.workspace(), &id)
        .await?
    {
        return Err(ApiError::not_found("channel"));
    }
    state
        .engine
        .delivery()
        .parts()
        .accounts
        .remove(caller.workspace(), &id);
    Ok(StatusCode::NO_CONTENT)
}
