//! Firebase Cloud Messaging, HTTP v1 API.
//!
//! Sends `POST {endpoint}/v1/projects/{project_id}/messages:send` with an OAuth2 access
//! token obtained for a service account (see [`oauth`]). Failures are sorted by the
//! `ErrorCode` FCM puts in the error's `details`
//! (<https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode>). FCM takes no
//! idempotency key, so an answer lost after the request left is ambiguous.
//!
//! Docs: <https://firebase.google.com/docs/cloud-messaging/send/v1-api>,
//! <https://firebase.google.com/docs/cloud-messaging/error-codes>.

mod oauth;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orbit_core::{Clock, SystemClock};
use serde::{Deserialize, Serialize};

use crate::connector::{
    Accepted, ConfigError, Connector, Content, OutboundMessage, PushContent, SendError, retry_after,
    transport_error,
};
use crate::egress::HttpClient;
use crate::secret::{self, Secret};
use oauth::{ServiceAccountKey, TokenSource};

/// FCM's production base URL.
pub const DEFAULT_ENDPOINT: &str = "https://fcm.googleapis.com";

/// Google's OAuth2 token endpoint, as written in service account files.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

fn default_token_uri() -> String {
    DEFAULT_TOKEN_URI.to_owned()
}

/// An FCM connector's configuration: the fields of a Firebase service account file
/// that sending needs. The whole file may be pasted in: its other fields are checked
/// for what they are and not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "ServiceAccountFile")]
pub struct FcmConfig {
    /// The Firebase project id (`project_id` in the service account file).
    pub project_id: String,
    /// The service account's address (`client_email`), the assertion's issuer.
    pub client_email: String,
    /// The service account's PEM private key (`private_key`).
    pub private_key: Secret,
    /// The key's id (`private_key_id`), sent as the assertion's `kid` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_id: Option<String>,
    /// The OAuth2 token endpoint (`token_uri`).
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
    /// FCM's base URL.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
}

/// A service account file as Firebase downloads it, plus Orbit's `endpoint`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceAccountFile {
    project_id: String,
    client_email: String,
    private_key: Secret,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default = "default_token_uri")]
    token_uri: String,
    #[serde(default = "default_endpoint")]
    endpoint: String,
    /// `service_account` in a real file; another kind of credential cannot send.
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    auth_uri: Option<String>,
    #[serde(default)]
    auth_provider_x509_cert_url: Option<String>,
    #[serde(default)]
    client_x509_cert_url: Option<String>,
    #[serde(default)]
    universe_domain: Option<String>,
}

impl TryFrom<ServiceAccountFile> for FcmConfig {
    type Error = String;

    fn try_from(file: ServiceAccountFile) -> Result<Self, String> {
        if let Some(kind) = file.kind.as_deref()
            && kind != "service_account"
        {
            return Err(format!(
                "type: {kind:?} credentials cannot send; download a service account key (type service_account)"
            ));
        }
        // The file's other fields describe the account to other tools; sending needs none.
        let _ = (
            file.client_id,
            file.auth_uri,
            file.auth_provider_x509_cert_url,
            file.client_x509_cert_url,
            file.universe_domain,
        );
        Ok(Self {
            project_id: file.project_id,
            client_email: file.client_email,
            private_key: file.private_key,
            private_key_id: file.private_key_id,
            token_uri: file.token_uri,
            endpoint: file.endpoint,
        })
    }
}

impl FcmConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        secret::refuse_kept(self)?;
        // The id goes into the URL path: Firebase ids are lowercase letters, digits
        // and hyphens, and nothing else may slip into the path.
        let project_id_ok = !self.project_id.is_empty()
            && self
                .project_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !project_id_ok {
            return Err(ConfigError::new(
                "project_id",
                "must be a Firebase project id: lowercase letters, digits and hyphens",
            ));
        }
        if !self.client_email.contains('@') {
            return Err(ConfigError::new(
                "client_email",
                "must be the service account's address",
            ));
        }
        ServiceAccountKey::from_pem(self.private_key.expose(), None)
            .map_err(|e| ConfigError::new("private_key", e))?;
        check_http_url("token_uri", &self.token_uri)?;
        check_http_url("endpoint", &self.endpoint)?;
        Ok(())
    }
}

fn check_http_url(field: &str, value: &str) -> Result<(), ConfigError> {
    match url::Url::parse(value) {
        Ok(url) if url.scheme() == "https" || url.scheme() == "http" => Ok(()),
        Ok(_) => Err(ConfigError::new(field, "must be an http or https URL")),
        Err(e) => Err(ConfigError::new(field, format!("not a URL: {e}"))),
    }
}

/// Sends app push notifications through FCM.
pub struct FcmConnector {
    project_id: String,
    endpoint: String,
    http: HttpClient,
    tokens: TokenSource,
}

impl FcmConnector {
    /// A connector for a validated configuration.
    pub fn new(config: FcmConfig, http: HttpClient) -> Result<Self, ConfigError> {
        config.validate()?;
        let key = ServiceAccountKey::from_pem(config.private_key.expose(), config.private_key_id)
            .map_err(|e| ConfigError::new("private_key", e))?;
        let tokens = TokenSource::new(
            key,
            config.client_email,
            config.token_uri,
            http.clone(),
            Arc::new(SystemClock),
        );
        Ok(Self {
            project_id: config.project_id,
            endpoint: config.endpoint.trim_end_matches('/').to_owned(),
            http,
            tokens,
        })
    }

    /// Uses `clock` for assertion times and token lifetimes.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.tokens.clock = clock;
        self
    }

    async fn post(&self, token: &str, body: &SendBody<'_>) -> Result<Posted, SendError> {
        let url = format!("{}/v1/projects/{}/messages:send", self.endpoint, self.project_id);
        let response = self
            .http
            .request(reqwest::Method::POST, &url)?
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(&e, false))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let text = response.text().await.map_err(|e| transport_error(&e, false))?;
        if status.is_success() {
            let answer: SendAnswer = serde_json::from_str(&text).map_err(|e| SendError::Ambiguous {
                message: format!("FCM accepted the request but its answer is unreadable: {e}"),
            })?;
            return Ok(Posted::Accepted(Accepted {
                provider_message_id: Some(answer.name),
                parts: None,
            }));
        }
        let failure = classify_failure(status, wait, &text);
        if failure.token_rejected {
            Ok(Posted::TokenRejected(failure.error))
        } else {
            Err(failure.error)
        }
    }
}

#[async_trait]
impl Connector for FcmConnector {
    fn provider(&self) -> &'static str {
        "fcm"
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError> {
        let Content::Push(push) = &message.content else {
            return Err(SendError::permanent(
                "content",
                "the fcm connector sends push notifications only",
            ));
        };
        if message.recipient.address.is_empty() {
            return Err(SendError::permanent("address", "no registration token"));
        }
        let body = SendBody::new(&message.recipient.address, push);
        let token = self.tokens.token().await?;
        match self.post(&token, &body).await? {
            Posted::Accepted(accepted) => Ok(accepted),
            Posted::TokenRejected(_) => {
                let token = self.tokens.refresh_after_rejection(&token).await?;
                match self.post(&token, &body).await? {
                    Posted::Accepted(accepted) => Ok(accepted),
                    // A token minted a moment ago refused too: the account cannot
                    // send, and retrying will not change that.
                    Posted::TokenRejected(error) => Err(error),
                }
            }
        }
    }
}

enum Posted {
    Accepted(Accepted),
    TokenRejected(SendError),
}

/// The `messages:send` request body.
#[derive(Debug, Serialize)]
struct SendBody<'a> {
    message: MessageBody<'a>,
}

#[derive(Debug, Serialize)]
struct MessageBody<'a> {
    token: &'a str,
    notification: Notification<'a>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    data: &'a BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct Notification<'a> {
    title: &'a str,
    body: &'a str,
}

impl<'a> SendBody<'a> {
    fn new(registration_token: &'a str, push: &'a PushContent) -> Self {
        Self {
            message: MessageBody {
                token: registration_token,
                notification: Notification {
                    title: &push.title,
                    body: &push.body,
                },
                data: &push.data,
            },
        }
    }
}

#[derive(Deserialize)]
struct SendAnswer {
    name: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorStatus,
}

#[derive(Deserialize)]
struct ErrorStatus {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";

struct Failure {
    error: SendError,
    /// FCM refused our access token (not the APNs or web push credentials behind it).
    token_rejected: bool,
}

/// Sorts an FCM error answer by the `ErrorCode` in its details, then by its status.
fn classify_failure(status: reqwest::StatusCode, wait: Option<Duration>, body: &str) -> Failure {
    let parsed: Option<ErrorStatus> = serde_json::from_str::<ErrorAnswer>(body)
        .ok()
        .map(|answer| answer.error);
    let fcm_code = parsed.as_ref().and_then(|error| {
        error.details.iter().find_map(|detail| {
            let is_fcm_error = detail.get("@type").and_then(|t| t.as_str()) == Some(FCM_ERROR_TYPE);
            is_fcm_error
                .then(|| detail.get("errorCode").and_then(|c| c.as_str()))
                .flatten()
                .map(str::to_owned)
        })
    });
    let message = parsed
        .as_ref()
        .map(|error| error.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| body.chars().take(500).collect());
    let code = fcm_code
        .clone()
        .or_else(|| parsed.as_ref().and_then(|error| error.status.clone()))
        .unwrap_or_else(|| status.as_u16().to_string());
    // THIRD_PARTY_AUTH_ERROR is a 401 too, but about the APNs certificate or web push
    // key stored in Firebase: a new access token would not help.
    let token_rejected =
        status == reqwest::StatusCode::UNAUTHORIZED && fcm_code.as_deref() != Some("THIRD_PARTY_AUTH_ERROR");
    let error = match code.as_str() {
        "UNREGISTERED" | "INVALID_ARGUMENT" | "SENDER_ID_MISMATCH" | "THIRD_PARTY_AUTH_ERROR" => {
            SendError::permanent(code, message)
        }
        "QUOTA_EXCEEDED" | "UNAVAILABLE" | "INTERNAL" => SendError::throttled(code, message, wait),
        _ if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
            SendError::throttled(code, message, wait)
        }
        _ => SendError::permanent(code, message),
    };
    Failure {
        error,
        token_rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fcm_error(status: u16, status_name: &str, error_code: &str) -> String {
        serde_json::json!({
            "error": {
                "code": status,
                "message": "Requested entity was not found.",
                "status": status_name,
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": []},
                    {"@type": FCM_ERROR_TYPE, "errorCode": error_code}
                ]
            }
        })
        .to_string()
    }

    fn status(code: u16) -> reqwest::StatusCode {
        reqwest::StatusCode::from_u16(code).expect("status")
    }

    #[test]
    fn the_body_is_a_v1_message_to_one_registration_token() {
        let push = PushContent {
            title: "Sale".to_owned(),
            body: "50% off today".to_owned(),
            data: BTreeMap::from([("campaign".to_owned(), "c-1".to_owned())]),
        };
        let body = serde_json::to_value(SendBody::new("device-token", &push)).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"message": {
                "token": "device-token",
                "notification": {"title": "Sale", "body": "50% off today"},
                "data": {"campaign": "c-1"}
            }})
        );
        let bare = PushContent {
            data: BTreeMap::new(),
            ..push
        };
        let body = serde_json::to_value(SendBody::new("t", &bare)).expect("json");
        assert!(body["message"].get("data").is_none());
    }

    #[test]
    fn documented_error_codes_are_sorted() {
        for (http, name, code) in [
            (404, "NOT_FOUND", "UNREGISTERED"),
            (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
            (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"),
            (401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"),
        ] {
            let failure = classify_failure(status(http), None, &fcm_error(http, name, code));
            assert!(
                matches!(&failure.error, SendError::Permanent { code: c, .. } if c == code),
                "{code}: {:?}",
                failure.error
            );
            assert!(!failure.token_rejected, "{code}");
        }
        for (http, name, code) in [
            (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
            (503, "UNAVAILABLE", "UNAVAILABLE"),
            (500, "INTERNAL", "INTERNAL"),
        ] {
            let failure = classify_failure(
                status(http),
                Some(Duration::from_secs(7)),
                &fcm_error(http, name, code),
            );
            assert_eq!(
                failure.error,
                SendError::Retryable {
                    code: code.to_owned(),
                    message: "Requested entity was not found.".to_owned(),
                    retry_after_ms: Some(7000),
                }
            );
        }
    }

    #[test]
    fn an_unauthenticated_answer_without_an_fcm_code_means_our_token_was_refused() {
        let body = r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#;
        let failure = classify_failure(status(401), None, body);
        assert!(failure.token_rejected);
        assert!(matches!(&failure.error, SendError::Permanent { code, .. } if code == "UNAUTHENTICATED"));
    }

    #[test]
    fn answers_that_are_not_fcm_errors_fall_back_to_the_status() {
        let gateway = classify_failure(status(502), None, "<html>bad gateway</html>");
        assert!(matches!(&gateway.error, SendError::Retryable { code, .. } if code == "502"));
        let teapot = classify_failure(status(418), None, "no");
        assert!(matches!(&teapot.error, SendError::Permanent { code, .. } if code == "418"));
    }

    #[test]
    fn config_fields_are_checked_by_name() {
        let good = FcmConfig {
            project_id: "orbit-test".to_owned(),
            client_email: "orbit@orbit-test.iam.gserviceaccount.com".to_owned(),
            private_key: include_str!("../../tests/fixtures/fcm-test-key.pem").into(),
            private_key_id: None,
            token_uri: default_token_uri(),
            endpoint: default_endpoint(),
        };
        assert_eq!(good.validate(), Ok(()));
        let bad = |f: fn(&mut FcmConfig)| {
            let mut config = good.clone();
            f(&mut config);
            config.validate().expect_err("invalid").field
        };
        assert_eq!(bad(|c| c.project_id = "../x".to_owned()), "project_id");
        assert_eq!(bad(|c| c.client_email = "nobody".to_owned()), "client_email");
        assert_eq!(bad(|c| c.private_key = "-----BEGIN".into()), "private_key");
        assert_eq!(bad(|c| c.token_uri = "ftp://x".to_owned()), "token_uri");
        assert_eq!(bad(|c| c.endpoint = "nope".to_owned()), "endpoint");
        assert!(!format!("{good:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn a_full_config_parses_with_defaults_and_unknown_fields_are_refused() {
        let config: FcmConfig = serde_json::from_value(serde_json::json!({
            "project_id": "p", "client_email": "a@b", "private_key": "k"
        }))
        .expect("config");
        assert_eq!(config.token_uri, DEFAULT_TOKEN_URI);
        assert_eq!(config.endpoint, DEFAULT_ENDPOINT);
        let unknown = serde_json::from_value::<FcmConfig>(serde_json::json!({
            "project_id": "p", "client_email": "a@b", "private_key": "k", "extra": 1
        }));
        assert!(unknown.is_err());
    }

    #[test]
    fn a_whole_service_account_file_is_taken_as_downloaded() {
        // The shape of the JSON key file Google Cloud downloads for a service account.
        let file = serde_json::json!({
            "provider": "fcm",
            "type": "service_account",
            "project_id": "orbit-test",
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": include_str!("../../tests/fixtures/fcm-test-key.pem"),
            "client_email": "orbit@orbit-test.iam.gserviceaccount.com",
            "client_id": "123456789012345678901",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/orbit%40orbit-test.iam.gserviceaccount.com",
            "universe_domain": "googleapis.com"
        });
        let config: crate::registry::ProviderConfig =
            serde_json::from_value(file.clone()).expect("a service account file");
        assert_eq!(config.validate(), Ok(()));
        let kept = serde_json::to_value(&config).expect("json");
        assert_eq!(kept["project_id"], "orbit-test");
        assert!(kept.get("client_id").is_none(), "only what sending needs is kept");

        let mut user_credentials = file;
        user_credentials["type"] = serde_json::json!("authorized_user");
        let refused = serde_json::from_value::<crate::registry::ProviderConfig>(user_credentials)
            .expect_err("not a service account");
        assert!(refused.to_string().contains("service_account"), "{refused}");
    }
}
