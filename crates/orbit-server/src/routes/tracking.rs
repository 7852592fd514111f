//! The public links messages carry (`/t/…`): the open pixel, click redirects, the
//! unsubscribe page and the URLs providers push delivery receipts to. They take no
//! key — people's phones and providers' servers call them — so each is a signed
//! token that says exactly what it may do. The engine reads the token and does what
//! it says; these handlers present the answer (an image, a redirect, a page).

use crate::AppState;
use crate::body::read_bytes;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use orbit_engine::service::delivery::{PushedReceipts, RECEIPT_SIGNATURE_HEADER};

/// A GIF image, as the open pixel answers it.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(dead_code, reason = "a schema: the answer is written from PIXEL")]
struct Gif(Vec<u8>);

/// The JSON acknowledgement a provider expects for a receipt push: Aliyun's
/// `{"code": 0, "msg": "接收成功"}` or Tencent Cloud's `{"result": 0, "errmsg": "OK"}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[expect(
    dead_code,
    reason = "a schema: the answer is the provider's acknowledgement, written as the provider spells it"
)]
enum ProviderAck {
    /// Aliyun SMS.
    Aliyun {
        /// 0: received.
        code: i64,
        /// `接收成功`.
        msg: String,
    },
    /// Tencent Cloud SMS.
    Tencent {
        /// 0: received.
        result: i64,
        /// `OK`.
        errmsg: String,
    },
}

/// A transparent 1×1 GIF, the smallest image every mail client shows.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
    0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// `GET /t/o/{token}`: the open pixel; records the first open.
#[utoipa::path(get, path = "/t/o/{token}", tag = "tracking", params(("token" = String, Path, description = "The message's signed open token")), responses((status = 200, description = "A 1×1 transparent GIF, never cached", content((Gif = "image/gif"))), (status = 404, description = "A forged token, or one of another link (`invalid_link`)")))]
pub async fn open_pixel(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    state.engine.delivery().record_open(&token).await?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/gif")),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, max-age=0"),
        ),
    ];
    Ok((headers, PIXEL).into_response())
}

/// `GET /t/c/{token}`: records a click and redirects to the link's destination.
#[utoipa::path(get, path = "/t/c/{token}", tag = "tracking", params(("token" = String, Path, description = "The link's signed token")), responses((status = 302, description = "To the destination the message linked to, in `Location`", headers(("location" = String, description = "The destination, percent-encoded"))), (status = 404, description = "A forged token, or one of another link (`invalid_link`)")))]
pub async fn click(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let destination = state.engine.delivery().record_click(&token).await?;
    let location = HeaderValue::from_str(&destination).map_err(|_| ApiError::not_found("link"))?;
    let headers = [
        (header::LOCATION, location),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((StatusCode::FOUND, headers).into_response())
}

/// `GET /t/u/{token}`: the unsubscribe page. Nothing changes until the person
/// confirms: mail scanners follow links, and must not unsubscribe anyone.
#[utoipa::path(get, path = "/t/u/{token}", tag = "tracking", params(("token" = String, Path, description = "The message's signed unsubscribe token")), responses((status = 200, description = "A page asking to confirm, in Chinese and English", content((String = "text/html"))), (status = 404, description = "A forged token, or one of another link (`invalid_link`)")))]
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Html<String>, ApiError> {
    state.engine.delivery().check_unsubscribe_link(&token)?;
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
#[utoipa::path(post, path = "/t/u/{token}", tag = "tracking", params(("token" = String, Path, description = "The message's signed unsubscribe token")), request_body(content = String, description = "`List-Unsubscribe=One-Click` or `scope=topic|channel`", content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "A page confirming it, in Chinese and English", content((String = "text/html"))), (status = 400, description = "An unknown scope (`invalid_request`)"), (status = 404, description = "A forged token (`invalid_link`), or the message is no longer known")))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Html<String>, ApiError> {
    let form = read_bytes(&headers, body).await?;
    state.engine.delivery().unsubscribe_by_link(&token, &form).await?;
    Ok(Html(page(
        "已退订 · Unsubscribed",
        "<p>已退订，您将不再收到此类营销消息。<br>You are unsubscribed and will not receive these marketing messages.</p>",
    )))
}

/// `POST /t/r/{token}`: delivery receipts pushed by the account's provider,
/// answered as the provider expects once they are recorded.
#[utoipa::path(post, path = "/t/r/{token}", tag = "tracking", params(("token" = String, Path, description = "The account's signed receipt token (GET /v1/channels/{id} shows the URL)")), request_body(content = String, description = "As the provider pushes it: Aliyun and Tencent JSON, a Twilio form, WeChat XML"), responses((status = 200, description = "The acknowledgement the provider expects: `{\"code\":0,\"msg\":\"接收成功\"}` for Aliyun, `{\"result\":0,\"errmsg\":\"OK\"}` for Tencent, `success` for WeChat, empty for Twilio", content((ProviderAck = "application/json"), (String = "text/plain"))), (status = 400, description = "Not the provider's shape (`malformed_receipt`)"), (status = 401, description = "Not signed with the account's credentials (`bad_signature`)"), (status = 404, description = "A forged token (`invalid_link`), the account is gone, or its provider pushes no receipts (`no_receipts`)")))]
pub async fn receipts(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let signature = headers
        .get(RECEIPT_SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let push = PushedReceipts {
        query: query.unwrap_or_default(),
        signature,
        body: read_bytes(&headers, body).await?,
    };
    let reply = state
        .engine
        .delivery()
        .record_pushed_receipts(&token, push)
        .await?;
    let content_type = HeaderValue::from_static(reply.content_type);
    Ok(([(header::CONTENT_TYPE, content_type)], reply.body).into_response())
}

/// `GET /t/r/{token}`: WeChat's check of an account's server URL (`echostr`).
#[utoipa::path(get, path = "/t/r/{token}", tag = "tracking", params(("token" = String, Path, description = "The account's signed receipt token")), responses((status = 200, description = "The `echostr`, when signed with the account's server token", content((String = "text/plain"))), (status = 401, description = "Not signed with the account's server token (`bad_signature`)"), (status = 404, description = "A forged token (`invalid_link`), or the account is gone")))]
pub async fn verify_receipt_url(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<String, ApiError> {
    let query = query.unwrap_or_default();
    Ok(state.engine.delivery().verify_receipt_url(&token, &query)?)
}

/// A small page in both languages, for people who followed a link.
fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.6}}button{{margin:.4rem 0;padding:.5rem 1rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"#
    )
}
