//! Consent: the choices a person made per channel and topic, and what they allow now
//! for marketing and for service messages, decided exactly as the delivery worker
//! decides (the latest covering record, the workspace's opt-in channels).

use super::profiles::load;
use super::templates::parse_topic;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::body::read_typed;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orbit_core::ErrorCode;
use orbit_core::ProfileId;
use orbit_core::messaging::{Channel, ConsentRecord, ConsentStatus, Consents, ContactPolicy, MessageClass};
use orbit_engine::service::keys::Scope;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The topic resolved when the query names none.
const DEFAULT_TOPIC: &str = "promotions";

/// One consent change as the API takes it; a missing channel or topic means all.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentInput {
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    status: Option<ConsentStatus>,
}

/// The query of a consent read.
#[derive(Debug, Deserialize)]
pub struct ConsentQuery {
    /// The marketing topic to resolve; `promotions` by default.
    topic: Option<String>,
}

fn record_view(record: &ConsentRecord) -> Value {
    json!({
        "channel": record.channel,
        "topic": record.topic,
        "status": record.status,
        "at": record.at,
    })
}

/// Whether a class of message may go on a channel, and the status that decided.
fn verdict(consents: &Consents, channel: Channel, class: &MessageClass, policy: &ContactPolicy) -> Value {
    let topic = match class {
        MessageClass::Marketing { topic } => Some(topic.as_str()),
        MessageClass::Transactional => None,
    };
    let allowed = consents.allows(channel, class, policy.opt_in_required.contains(&channel));
    json!({
        "status": consents.status(channel, topic),
        "allowed": allowed.is_ok(),
        "reason": allowed.err(),
    })
}

/// A person's records, oldest first, and per channel what marketing on `topic` and
/// service messages may do.
async fn consent_view(
    state: &AppState,
    caller: &ApiCaller,
    profile: ProfileId,
    topic: &str,
) -> Result<Value, ApiError> {
    // Choices made under ids since merged into this person still stand.
    let mut people = vec![profile];
    if let Some(found) = state.engine.pipeline().profile(caller.workspace(), profile) {
        people.extend(found.merged_ids);
    }
    let records: Vec<ConsentRecord> = state
        .engine
        .stores()
        .consents
        .consents_of(caller.workspace(), &people)
        .await?
        .into_iter()
        .map(|(_, record)| record)
        .collect();
    let views: Vec<Value> = records.iter().map(record_view).collect();
    let consents = Consents::new(records);
    let policy = state.engine.pipeline().contact_policy(caller.workspace());
    let marketing = MessageClass::Marketing {
        topic: topic.to_owned(),
    };
    let resolved: Map<String, Value> = Channel::ALL
        .into_iter()
        .map(|channel| {
            let view = json!({
                "marketing": verdict(&consents, channel, &marketing, &policy),
                "transactional": verdict(&consents, channel, &MessageClass::Transactional, &policy),
            });
            (channel.as_str().to_owned(), view)
        })
        .collect();
    Ok(json!({
        "profile_id": profile,
        "topic": topic,
        "records": views,
        "resolved": resolved,
    }))
}

/// `GET /v1/profiles/{id}/consent`: the records and what they allow per channel.
#[utoipa::path(get, path = "/v1/profiles/{id}/consent", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it"), ("topic" = Option<String>, Query, description = "The marketing topic to resolve; default promotions")), security(("api_key" = [])), responses((status = 200, description = "`{profile_id, topic, records: [{channel, topic, status, at}], resolved: {CHANNEL: {marketing: {status, allowed, reason}, transactional: {…}}}}`"), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "Not found")))]
pub async fn get_consent(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ConsentQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::ProfilesRead)?;
    let topic = parse_topic(query.topic.as_deref().unwrap_or(DEFAULT_TOPIC))?;
    let profile = load(&state, &caller, &id)?;
    Ok(Json(consent_view(&state, &caller, profile.id, &topic).await?))
}

/// `POST /v1/profiles/{id}/consent`: records one consent change, as of now.
#[utoipa::path(post, path = "/v1/profiles/{id}/consent", tag = "profiles", params(("id" = String, Path, description = "A profile id, or the id of a profile merged into it")), request_body(content = Object, description = "`{channel?, topic?, status: subscribed|unsubscribed|blocked}`; a missing channel or topic means all"), security(("api_key" = [])), responses((status = 201, description = "`{recorded: {channel, topic, status, at}, …}` and the consent as GET answers it"), (status = 400, description = "Bad input; the error names the field"), (status = 404, description = "Not found")))]
pub async fn record_consent(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Scope::ProfilesWrite)?;
    let profile = load(&state, &caller, &id)?;
    let input: ConsentInput = read_typed(&headers, body, ErrorCode::InvalidRequest).await?;
    let status = input.status.ok_or_else(|| {
        ApiError::at(
            ErrorCode::MissingField,
            "status",
            "give the status: subscribed, unsubscribed or blocked",
        )
    })?;
    let topic = input.topic.as_deref().map(parse_topic).transpose()?;
    // Service messages have no topic, so a block limited to one would never stop them.
    if status == ConsentStatus::Blocked && topic.is_some() {
        return Err(ApiError::at(
            ErrorCode::InvalidRequest,
            "topic",
            "a block stops every message on its channels; leave the topic out",
        ));
    }
    let record = ConsentRecord {
        channel: input.channel,
        topic: topic.clone(),
        status,
        at: state.engine.now(),
    };
    state
        .engine
        .stores()
        .consents
        .record_consent(caller.workspace(), &profile.id, &record)
        .await?;
    let resolved_topic = topic.as_deref().unwrap_or(DEFAULT_TOPIC);
    let mut view = consent_view(&state, &caller, profile.id, resolved_topic).await?;
    view["recorded"] = record_view(&record);
    Ok((StatusCode::CREATED, Json(view)))
}
