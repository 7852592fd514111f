//! The public links messages carry (`/t/…`): the open pixel, click redirects, the
//! unsubscribe page and the URLs providers push delivery receipts to. They take no
//! key — people's phones and providers' servers call them — so each is a signed
//! token that says exactly what it may do.

use crate::AppState;
use crate::body::read_bytes;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use orbit_channels::receipts::{ReceiptPush, ReceiptRefused, TWILIO_SIGNATURE_HEADER};
use orbit_core::ErrorCode;
use orbit_core::WorkspaceId;
use orbit_core::messaging::MessageOutcome;
use orbit_engine::delivery::{Tracked, UnsubscribeScope};

/// A transparent 1×1 GIF, the smallest image every mail client shows.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
    0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Reads a token, refusing one that is forged or stands for something else.
fn read_token(state: &AppState, token: &str, segment: &str) -> Result<Tracked, ApiError> {
    let tracked = state
        .engine
        .delivery()
        .parts()
        .links
        .read(token)
        .map_err(|e| ApiError::new(ErrorCode::InvalidLink, e.to_string()))?;
    if tracked.path_segment() != segment {
        return Err(ApiError::new(
            ErrorCode::InvalidLink,
            "the link is not valid here",
        ));
    }
    Ok(tracked)
}

/// `GET /t/o/{token}`: the open pixel; records the first open.
#[utoipa::path(get, path = "/t/o/{token}", tag = "tracking", params(("token" = String, Path, description = "The message's signed open token")), responses((status = 200, description = "A 1×1 transparent GIF"), (status = 404, description = "`invalid_link`")))]
pub async fn open_pixel(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let Tracked::Open { workspace, send_id } = read_token(&state, &token, "o")? else {
        return Err(ApiError::not_found("link"));
    };
    // The image is shown whatever happens to the record: a reader never sees an error.
    if let Err(e) = state
        .engine
        .delivery()
        .parts()
        .engagements
        .record_interaction(&workspace, &send_id, MessageOutcome::Opened)
        .await
    {
        tracing::warn!(error = %e, workspace.id = %workspace, "an open could not be recorded");
    }
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/gif")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, max-age=0"),
            ),
        ],
        PIXEL,
    )
        .into_response())
}

/// `GET /t/c/{token}`: records a click and redirects to the link's destination.
#[utoipa::path(get, path = "/t/c/{token}", tag = "tracking", params(("token" = String, Path, description = "The link's signed token")), responses((status = 302, description = "To the destination the message linked to"), (status = 404, description = "`invalid_link`")))]
pub async fn click(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let Tracked::Click {
        workspace,
        send_id,
        url,
    } = read_token(&state, &token, "c")?
    else {
        return Err(ApiError::not_found("link"));
    };
    if let Err(e) = state
        .engine
        .delivery()
        .parts()
        .engagements
        .record_interaction(&workspace, &send_id, MessageOutcome::Clicked { url: url.clone() })
        .await
    {
        tracing::warn!(error = %e, workspace.id = %workspace, "a click could not be recorded");
    }
    // A destination written with Chinese in it is sent percent-encoded, as a
    // Location header must be.
    let location = url::Url::parse(&url)
        .ok()
        .and_then(|parsed| HeaderValue::from_str(parsed.as_str()).ok())
        .ok_or_else(|| ApiError::not_found("link"))?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

/// `GET /t/u/{token}`: the unsubscribe page. Nothing changes until the person
/// confirms: mail scanners follow links, and must not unsubscribe anyone.
#[utoipa::path(get, path = "/t/u/{token}", tag = "tracking", params(("token" = String, Path, description = "The message's signed unsubscribe token")), responses((status = 200, description = "A page asking to confirm, in Chinese and English"), (status = 404, description = "`invalid_link`")))]
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Html<String>, ApiError> {
    read_token(&state, &token, "u")?;
    Ok(Html(page(
        "退订 · Unsubscribe",
        r#"<p>确定不再接收此类营销消息？<br>Stop receiving these marketing messages?</p>
<form method="post" action=""><input type="hidden" name="scope" value="topic">
<button type="submit">只退订此类消息 · Only this kind</button></form>
<form method="post" action=""><input type="hidden" name="scope" value="channel">
<button type="submit">退订全部营销消息 · All marketing here</button></form>"#,
    )))
}

/// `POST /t/u/{token}`: unsubscribes the person the message went to — from every
/// marketing message of its channel (RFC 8058 one-click, or `scope=channel`), or
/// from its topic only (`scope=topic`).
#[utoipa::path(post, path = "/t/u/{token}", tag = "tracking", params(("token" = String, Path, description = "The message's signed unsubscribe token")), request_body(content = String, description = "`List-Unsubscribe=One-Click` or `scope=topic|channel`, form-encoded"), responses((status = 200, description = "A page confirming it"), (status = 400, description = "`invalid_request`: an unknown scope"), (status = 404, description = "`invalid_link`, or the message is no longer known")))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Html<String>, ApiError> {
    let Tracked::Unsubscribe { workspace, send_id } = read_token(&state, &token, "u")? else {
        return Err(ApiError::not_found("link"));
    };
    let form = read_bytes(&headers, body).await?;
    let scope = match form_value(&form, "scope").as_deref() {
        Some("topic") => UnsubscribeScope::Topic,
        Some("channel") | None => UnsubscribeScope::Channel,
        Some(other) => {
            return Err(ApiError::at(
                ErrorCode::InvalidRequest,
                "scope",
                format!("{other:?} is not a scope: give topic or channel"),
            ));
        }
    };
    state
        .engine
        .delivery()
        .parts()
        .engagements
        .unsubscribe(&workspace, &send_id, scope)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    Ok(Html(page(
        "已退订 · Unsubscribed",
        "<p>已退订，您将不再收到此类营销消息。<br>You are unsubscribed and will not receive these marketing messages.</p>",
    )))
}

/// `POST /t/r/{token}`: delivery receipts pushed by the account's provider,
/// answered as the provider expects once they are recorded.
#[utoipa::path(post, path = "/t/r/{token}", tag = "tracking", params(("token" = String, Path, description = "The account's signed receipt token (GET /v1/channels/{id} shows the URL)")), request_body(content = String, description = "As the provider pushes it (Aliyun and Tencent JSON, Twilio form, WeChat XML)"), responses((status = 200, description = "The provider's expected acknowledgement"), (status = 400, description = "`malformed_receipt`"), (status = 401, description = "`bad_signature`"), (status = 404, description = "`invalid_link`, or the account is gone")))]
pub async fn receipts(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let tracked = read_token(&state, &token, "r")?;
    let Tracked::Receipts { workspace, account } = &tracked else {
        return Err(ApiError::not_found("link"));
    };
    let config = account_config(&state, workspace, account)?;
    let body = read_bytes(&headers, body).await?;
    let query = query.unwrap_or_default();
    // Twilio signs the URL it requested: the public one, query included.
    let mut url = state.engine.delivery().parts().links.url(&tracked);
    if !query.is_empty() {
        url = format!("{url}?{query}");
    }
    let signature = headers.get(TWILIO_SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let push = ReceiptPush {
        url: &url,
        query: &query,
        signature,
        body: &body,
    };
    let batch = config.read_receipts(&push).map_err(refused)?;
    let tally = state
        .engine
        .delivery()
        .parts()
        .engagements
        .record_receipts(workspace, &batch.receipts)
        .await?;
    if tally.unmatched > 0 {
        tracing::info!(workspace.id = %workspace, account = %account, unmatched = tally.unmatched, "receipts for messages this workspace does not know");
    }
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(batch.content_type))],
        batch.reply,
    )
        .into_response())
}

/// `GET /t/r/{token}`: WeChat's check of an account's server URL (`echostr`).
#[utoipa::path(get, path = "/t/r/{token}", tag = "tracking", params(("token" = String, Path, description = "The account's signed receipt token")), responses((status = 200, description = "The `echostr`, when signed with the account's server token"), (status = 401, description = "`bad_signature`"), (status = 404, description = "`invalid_link`")))]
pub async fn verify_receipt_url(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<String, ApiError> {
    let Tracked::Receipts { workspace, account } = read_token(&state, &token, "r")? else {
        return Err(ApiError::not_found("link"));
    };
    let config = account_config(&state, &workspace, &account)?;
    config
        .verify_receipt_url(&query.unwrap_or_default())
        .map_err(refused)
}

fn account_config(
    state: &AppState,
    workspace: &WorkspaceId,
    account: &orbit_core::ChannelId,
) -> Result<std::sync::Arc<orbit_channels::registry::ProviderConfig>, ApiError> {
    state
        .engine
        .delivery()
        .parts()
        .accounts
        .get(workspace, account)
        .and_then(|a| a.config.clone())
        .ok_or_else(|| ApiError::not_found("channel"))
}

fn refused(error: ReceiptRefused) -> ApiError {
    match error {
        ReceiptRefused::BadSignature => ApiError::new(ErrorCode::BadSignature, error.to_string()),
        ReceiptRefused::NotSupported(_) => ApiError::new(ErrorCode::NoReceipts, error.to_string()),
        ReceiptRefused::Malformed(_) => ApiError::at(ErrorCode::MalformedReceipt, "body", error.to_string()),
    }
}

fn form_value(form: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(form)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A small page in both languages, for people who followed a link.
fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.6}}button{{margin:.4rem 0;padding:.5rem 1rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"#
    )
}
