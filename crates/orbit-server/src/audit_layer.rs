//! The layer around the management API that authenticates each request once, records
//! every change (and every refusal) in the audit log, and masks contacts in the
//! answers of callers who may not see them.
//!
//! A change's "before" and "after" are what the resource's own read endpoint answers,
//! read through the same router just before and just after the change — the closest
//! resource the path names (`PATCH /v1/profiles/{id}/traits` records the profile;
//! `POST /v1/campaigns/{id}/launch` the campaign). So every entry shows a resource as
//! the API shows it, secrets already masked, and no handler needs to know about the log.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use orbit_core::ProfileId;
use orbit_engine::service::audit::NewAuditEntry;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::AppState;
use crate::auth::{ApiCaller, ClientAddress, is_read};

/// The largest answer masked or recorded (a members export of a big segment is
/// streamed by the store but buffered here for masking).
const MAX_BUFFERED: usize = 1 << 30;

/// What the layer needs: the state, and the finished router for its reads.
#[derive(Clone)]
pub struct AuditContext {
    state: AppState,
    router: Arc<OnceLock<Router>>,
}

impl AuditContext {
    /// A context whose router is set once the router is built.
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            router: Arc::new(OnceLock::new()),
        }
    }

    /// Hands over the finished router.
    pub fn set_router(&self, router: Router) {
        let _ = self.router.set(router);
    }
}

/// A read the layer makes for itself: passed through untouched.
#[derive(Debug, Clone, Copy)]
struct OwnRead;

/// Routes that are not the management API: event ingestion and the apps' inbox. They
/// take write keys, so the layer leaves them alone — ingestion must not pay for a
/// second key look-up. (Tracked links, receipts and health are outside `/v1/`.)
const NOT_MANAGEMENT: [&str; 10] = [
    "/v1/events",
    "/v1/batch",
    "/v1/track",
    "/v1/identify",
    "/v1/page",
    "/v1/screen",
    "/v1/alias",
    "/v1/group",
    "/v1/inbox",
    "/v1/inbox/{id}/read",
];

/// Whether a route belongs to the management API.
fn is_management(template: &str) -> bool {
    template.starts_with("/v1/") && !NOT_MANAGEMENT.contains(&template)
}

/// Management routes whose calls change nothing: reads sent as POST, and logging in
/// (recorded by its handler).
fn not_audited(method: &Method, template: &str) -> bool {
    template == "/v1/session"
        || (*method == Method::POST && (template.ends_with("/preview") || template.ends_with("/compare")))
}

/// The layer.
pub async fn audit(State(context): State<AuditContext>, request: Request, next: Next) -> Response {
    if request.extensions().get::<OwnRead>().is_some() {
        return next.run(request).await;
    }
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    if !is_management(&template) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let caller = match ApiCaller::authenticate(&context.state, &method, request.headers()).await {
        Ok(Some(caller)) => caller,
        // No credentials: the handler refuses it (logging in needs none).
        Ok(None) => return next.run(request).await,
        Err(refusal) => {
            if refusal.code() == orbit_core::ErrorCode::CsrfRefused && !not_audited(&method, &template) {
                // A forged cross-site change is worth a line: whom it tried to act as.
                if let Ok(Some(as_whom)) =
                    ApiCaller::authenticate(&context.state, &Method::GET, request.headers()).await
                {
                    let address = ClientAddress::of(request.extensions()).0;
                    let path = request.uri().path().to_owned();
                    record(
                        &context,
                        &as_whom,
                        &method,
                        &template,
                        path,
                        StatusCode::FORBIDDEN,
                        None,
                        None,
                        address,
                    )
                    .await;
                }
            }
            // The handler's own extractor refuses it with the same answer.
            return next.run(request).await;
        }
    };
    let mut request = request;
    request.extensions_mut().insert(caller.clone());
    let changes = !is_read(&method) && !not_audited(&method, &template);
    let path = request.uri().path().to_owned();
    let address = ClientAddress::of(request.extensions()).0;
    let read_headers = request.headers().clone();
    let mut shown_before = None;
    if changes {
        for candidate in resources(&template, &path) {
            if let Some(before) = read_with(&context, &read_headers, &caller, &candidate).await {
                shown_before = Some((candidate, before));
                break;
            }
        }
    }
    let response = next.run(request).await;
    let status = response.status();
    let refused = status == StatusCode::FORBIDDEN;
    if !changes && !refused {
        return masked(response, &caller).await;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BUFFERED).await.unwrap_or_default();
    if status.is_success() {
        let (before, after) = match shown_before {
            Some((resource, before)) => {
                let after = if method == Method::DELETE {
                    None
                } else {
                    read_with(&context, &read_headers, &caller, &resource).await
                };
                (Some(before), after)
            }
            None => {
                // A new resource: read it where its id puts it, else take the answer.
                let answer: Option<Value> = serde_json::from_slice(&bytes).ok();
                let created = answer
                    .as_ref()
                    .and_then(|a| a.get("id"))
                    .and_then(Value::as_str)
                    .map(|id| format!("{}/{id}", path.trim_end_matches('/')));
                let reread = match created {
                    Some(resource) => read_with(&context, &read_headers, &caller, &resource).await,
                    None => None,
                };
                (None, reread.or_else(|| answer.map(without_secrets)))
            }
        };
        record(
            &context, &caller, &method, &template, path, status, before, after, address,
        )
        .await;
    } else if refused {
        record(
            &context, &caller, &method, &template, path, status, None, None, address,
        )
        .await;
    }
    masked(Response::from_parts(parts, Body::from(bytes)), &caller).await
}

/// The resources a change's path names, nearest first: the path itself when it ends
/// in an id, then each shorter path ending in an id.
fn resources(template: &str, path: &str) -> Vec<String> {
    let templated: Vec<&str> = template.trim_matches('/').split('/').collect();
    let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
    if templated.len() != actual.len() {
        return Vec::new();
    }
    (3..=actual.len())
        .rev()
        .filter(|&n| templated[n - 1].starts_with('{'))
        .map(|n| format!("/{}", actual[..n].join("/")))
        .collect()
}

/// The resource at `path` as the caller's own read shows it, if it answers JSON.
async fn read_with(
    context: &AuditContext,
    headers: &axum::http::HeaderMap,
    caller: &ApiCaller,
    path: &str,
) -> Option<Value> {
    let router = context.router.get()?.clone();
    let mut get = Request::builder().method(Method::GET).uri(path);
    for (name, value) in headers {
        if name != CONTENT_LENGTH && name != CONTENT_TYPE {
            get = get.header(name, value);
        }
    }
    let mut get = get.body(Body::empty()).ok()?;
    get.extensions_mut().insert(OwnRead);
    get.extensions_mut().insert(caller.clone());
    let answer = router.oneshot(get).await.ok()?;
    if answer.status() != StatusCode::OK {
        return None;
    }
    let bytes = axum::body::to_bytes(answer.into_body(), MAX_BUFFERED)
        .await
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Drops fields that hold secrets from an answer kept in the log (a minted key, an
/// account's receipt URL, which any role may read in the log).
fn without_secrets(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|k, _| {
                    !matches!(
                        k.as_str(),
                        "key"
                            | "secret"
                            | "password"
                            | "password_hash"
                            | "token"
                            | "csrf_token"
                            | "receipt_url"
                    )
                });
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

#[expect(
    clippy::too_many_arguments,
    reason = "one audit entry's parts, as the layer has them"
)]
async fn record(
    context: &AuditContext,
    caller: &ApiCaller,
    method: &Method,
    template: &str,
    path: String,
    status: StatusCode,
    before: Option<Value>,
    after: Option<Value>,
    address: Option<String>,
) {
    let (actor_kind, actor_id, actor_name) = caller.audit_actor();
    let mut profiles = people_in_path(&path);
    for value in [&before, &after].into_iter().flatten() {
        people_in(value, &mut profiles);
    }
    profiles.sort_unstable();
    profiles.dedup();
    let erasure = *method == Method::DELETE && template == "/v1/profiles/{id}" && status.is_success();
    let entry = NewAuditEntry {
        workspace_id: caller.workspace().clone(),
        at: orbit_core::Clock::now(&orbit_core::SystemClock),
        actor_kind,
        actor_id,
        actor_name,
        action: format!("{method} {template}"),
        path,
        status: status.as_u16(),
        before,
        after,
        address,
        profiles,
    };
    let audit = context.state.engine.audit();
    if let Err(error) = audit.record(&entry).await {
        tracing::error!(%error, action = %entry.action, "a change could not be recorded in the audit log");
        return;
    }
    if erasure {
        // The erasure's own entry keeps that it happened, not what the person was.
        if let Err(error) = audit.redact(&entry.workspace_id, &entry.profiles).await {
            tracing::error!(%error, "an erasure's audit entry could not be redacted");
        }
    }
}

/// The person a `/v1/profiles/{id}/…` path names.
fn people_in_path(path: &str) -> Vec<ProfileId> {
    path.strip_prefix("/v1/profiles/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| ProfileId::parse(id).ok())
        .into_iter()
        .collect()
}

/// People a resource names in `profile_id` or `id` fields of profiles.
fn people_in(value: &Value, into: &mut Vec<ProfileId>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if matches!(key.as_str(), "profile_id" | "merged_ids")
                    || (key == "id" && map.contains_key("identities"))
                {
                    for text in std::iter::once(inner).chain(inner.as_array().into_iter().flatten()) {
                        if let Some(id) = text.as_str().and_then(|t| ProfileId::parse(t).ok()) {
                            into.push(id);
                        }
                    }
                }
                people_in(inner, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| people_in(i, into)),
        _ => {}
    }
}

/// The answer with contacts masked, for callers who may not see them.
async fn masked(response: Response, caller: &ApiCaller) -> Response {
    if caller.sees_contacts() {
        return response;
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BUFFERED).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let bytes: Bytes = if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut value) => {
                orbit_core::privacy::mask_contacts(&mut value);
                serde_json::to_vec(&value)
                    .map(Bytes::from)
                    .unwrap_or_else(|_| mask_lines(&bytes))
            }
            Err(_) => mask_lines(&bytes),
        }
    } else if content_type.starts_with("application/x-ndjson")
        || content_type.starts_with("application/jsonl")
    {
        let mut out = Vec::with_capacity(bytes.len());
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<Value>(line) {
                Ok(mut value) => {
                    orbit_core::privacy::mask_contacts(&mut value);
                    let _ = serde_json::to_writer(&mut out, &value);
                }
                Err(_) => out.extend_from_slice(&mask_lines(line)),
            }
            out.push(b'\n');
        }
        Bytes::from(out)
    } else if content_type.starts_with("text/csv") {
        mask_csv(&bytes).map_or_else(|| mask_lines(&bytes), Bytes::from)
    } else if content_type.starts_with("text/") {
        mask_lines(&bytes)
    } else {
        bytes
    };
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

/// Any text with every word that is plainly a contact masked: what an answer falls
/// back to when it cannot be read as its type says — failing closed, not open.
fn mask_lines(bytes: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(bytes);
    let masked: Vec<String> = text
        .split('\n')
        .map(|line| orbit_core::privacy::mask_text(line).unwrap_or_else(|| line.to_owned()))
        .collect();
    Bytes::from(masked.join("\n"))
}

/// A CSV export with contacts masked by column name or by look.
fn mask_csv(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let headers = reader.headers().ok()?.clone();
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(bytes.len()));
    writer.write_record(&headers).ok()?;
    for record in reader.records() {
        let record = record.ok()?;
        let cells: Vec<String> = record
            .iter()
            .zip(headers.iter())
            .map(|(cell, column)| orbit_core::privacy::mask_cell(column, cell))
            .collect();
        writer.write_record(&cells).ok()?;
    }
    writer.into_inner().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_records_the_nearest_resource_its_path_names() {
        assert_eq!(
            resources("/v1/segments/{id}", "/v1/segments/vip"),
            vec!["/v1/segments/vip"]
        );
        assert_eq!(
            resources("/v1/campaigns/{id}/{action}", "/v1/campaigns/c1/launch"),
            vec!["/v1/campaigns/c1/launch", "/v1/campaigns/c1"]
        );
        assert_eq!(
            resources("/v1/profiles/{id}/traits", "/v1/profiles/p1/traits"),
            vec!["/v1/profiles/p1"]
        );
        assert!(
            resources("/v1/segments", "/v1/segments").is_empty(),
            "a collection is not one resource"
        );
    }

    #[test]
    fn ingestion_and_the_inbox_are_not_the_management_api() {
        for route in [
            "/v1/batch",
            "/v1/events",
            "/v1/inbox/{id}/read",
            "/t/c/{token}",
            "/health",
        ] {
            assert!(!is_management(route), "{route}");
        }
        assert!(is_management("/v1/segments/{id}"));
        assert!(not_audited(&Method::POST, "/v1/segments/preview"));
        assert!(!not_audited(&Method::POST, "/v1/segments"));
    }

    #[test]
    fn secrets_are_not_kept() {
        let kept = without_secrets(serde_json::json!({"id": "key_1", "key": "ok_secret", "name": "CRM"}));
        assert_eq!(kept, serde_json::json!({"id": "key_1", "name": "CRM"}));
    }
}
