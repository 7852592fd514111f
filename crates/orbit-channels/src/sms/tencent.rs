//! Tencent Cloud SMS: `SendSms`, API version 2021-01-11, at
//! `sms.tencentcloudapi.com` (<https://cloud.tencent.com/document/api/382/55981>).
//!
//! A JSON POST to `/` with the common parameters in `X-TC-*` headers and a
//! `TC3-HMAC-SHA256` signature ([`tc3`]). Tencent sends only approved templates: the
//! message names a `TemplateId` (or the configuration's default) and its parameters,
//! in order, become `TemplateParamSet`. `SessionContext` carries our send id.
//! Tencent takes no idempotency key, so a request that times out after leaving is
//! [`SendError::Ambiguous`].
//!
//! Tencent answers HTTP 200 to nearly everything; the outcome is in the body:
//! `Response.Error.Code` when the request itself failed, otherwise one
//! `SendStatusSet[]` entry per number whose `Code` is `Ok` or the reason that number
//! was refused. Both are sorted by [`classify_error`].

mod report;
pub mod tc3;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::clock::{Clock, SystemClock};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

pub use report::{RECEIPT_ACK, parse_receipts};

use crate::connector::{classify_status, transport_error};
use crate::secret::{self, Secret};
use crate::sms::{check_endpoint, e164_digits, require};
use crate::{Accepted, ConfigError, Connector, Content, HttpClient, OutboundMessage, SendError};

/// Tencent's public SMS endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
/// The API version `SendSms` is spoken in.
pub const API_VERSION: &str = "2021-01-11";
/// The content type sent, and signed, with every request.
const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A Tencent Cloud SMS application as configured in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TencentSmsConfig {
    /// The API key's SecretId.
    pub secret_id: String,
    /// The API key's SecretKey.
    pub secret_key: Secret,
    /// The SMS application's `SmsSdkAppId` (`1400006666`).
    pub sms_sdk_app_id: String,
    /// The approved signature; required for mainland numbers, unused abroad.
    #[serde(default)]
    pub sign_name: Option<String>,
    /// The template sent when a message names none.
    #[serde(default)]
    pub template_id: Option<String>,
    /// The `X-TC-Region` the request is served in.
    #[serde(default = "default_region")]
    pub region: String,
    /// The API base URL; the public endpoint unless a test or proxy says otherwise.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
}

fn default_region() -> String {
    "ap-guangzhou".to_owned()
}

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

impl TencentSmsConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        secret::refuse_kept(self)?;
        require("secret_id", &self.secret_id)?;
        require("secret_key", self.secret_key.expose())?;
        require("sms_sdk_app_id", &self.sms_sdk_app_id)?;
        if let Some(sign_name) = &self.sign_name {
            require("sign_name", sign_name)?;
        }
        if let Some(template_id) = &self.template_id {
            require("template_id", template_id)?;
        }
        require("region", &self.region)?;
        check_endpoint("endpoint", &self.endpoint)?;
        Ok(())
    }
}

/// A `SendSms` request ready to go: its headers and its body, signed together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// Every header to send besides `Host`, which the signature covers as the
    /// endpoint's authority.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: String,
}

/// The `SendSms` body, field names as Tencent spells them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendSmsBody<'a> {
    phone_number_set: [&'a str; 1],
    sms_sdk_app_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign_name: Option<&'a str>,
    template_id: &'a str,
    template_param_set: Vec<&'a str>,
    session_context: &'a str,
}

/// Sends text messages through Tencent Cloud SMS.
#[derive(Debug)]
pub struct TencentSmsConnector {
    config: TencentSmsConfig,
    http: HttpClient,
    clock: Arc<dyn Clock>,
    /// The endpoint's authority (`host[:port]`), as reqwest sends it in `Host`.
    host: String,
}

impl TencentSmsConnector {
    /// A connector for a valid configuration, reading the wall clock.
    pub fn new(config: TencentSmsConfig, http: HttpClient) -> Result<Self, ConfigError> {
        config.validate()?;
        let url = check_endpoint("endpoint", &config.endpoint)?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(ConfigError::new("endpoint", "the URL has no host")),
        };
        Ok(Self {
            config,
            http,
            clock: Arc::new(SystemClock),
            host,
        })
    }

    /// The same connector reading `clock` for `X-TC-Timestamp`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The signed `SendSms` request for `message` at `now`, which must be within
    /// five minutes of Tencent's clock.
    ///
    /// # Errors
    /// A permanent error when the message is not a text message, names no template
    /// or goes to an address that is not an E.164 number.
    pub fn signed_request(
        &self,
        message: &OutboundMessage,
        now: Timestamp,
    ) -> Result<SignedRequest, SendError> {
        let Content::Sms(sms) = &message.content else {
            return Err(SendError::permanent(
                "content",
                "tencent_sms sends text messages only",
            ));
        };
        let template_id = sms
            .template_code
            .as_deref()
            .or(self.config.template_id.as_deref())
            .ok_or_else(|| {
                SendError::permanent(
                    "template_id",
                    "tencent_sms sends approved templates only and neither the message nor the configuration names one",
                )
            })?;
        let phone = format!("+{}", e164_digits(&message.recipient.address)?);
        let body = SendSmsBody {
            phone_number_set: [&phone],
            sms_sdk_app_id: &self.config.sms_sdk_app_id,
            sign_name: self.config.sign_name.as_deref(),
            template_id,
            template_param_set: sms.params.iter().map(|(_, value)| value.as_str()).collect(),
            session_context: &message.send_id,
        };
        let body =
            serde_json::to_string(&body).map_err(|e| SendError::permanent("request", e.to_string()))?;
        let authorization = tc3::Tc3Request {
            secret_id: &self.config.secret_id,
            secret_key: self.config.secret_key.expose(),
            service: "sms",
            host: &self.host,
            content_type: CONTENT_TYPE,
            payload: &body,
            timestamp: now,
        }
        .authorization();
        Ok(SignedRequest {
            headers: vec![
                ("Authorization", authorization),
                ("Content-Type", CONTENT_TYPE.to_owned()),
                ("X-TC-Action", "SendSms".to_owned()),
                ("X-TC-Version", API_VERSION.to_owned()),
                ("X-TC-Timestamp", now.as_second().to_string()),
                ("X-TC-Region", self.config.region.clone()),
            ],
            body,
        })
    }
}

#[async_trait]
impl Connector for TencentSmsConnector {
    fn provider(&self) -> &'static str {
        "tencent_sms"
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError> {
        let signed = self.signed_request(message, self.clock.now())?;
        let url = format!("{}/", self.config.endpoint.trim_end_matches('/'));
        let mut request = self.http.request(reqwest::Method::POST, &url)?;
        for (name, value) in signed.headers {
            request = request.header(name, value);
        }
        let response = request
            .body(signed.body)
            .send()
            .await
            .map_err(|e| transport_error(&e, false))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| transport_error(&e, false))?;
        interpret_response(status, &text)
    }
}

/// `{"Response": {...}}`, the envelope of every answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    response: ResponseBody,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseBody {
    #[serde(default)]
    error: Option<ApiError>,
    #[serde(default)]
    send_status_set: Vec<SendStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiError {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendStatus {
    serial_no: String,
    #[serde(default)]
    fee: Option<u32>,
    code: String,
    #[serde(default)]
    message: String,
}

/// Turns Tencent's answer into the outcome of the send.
fn interpret_response(status: StatusCode, body: &str) -> Result<Accepted, SendError> {
    let Ok(Envelope { response }) = serde_json::from_str::<Envelope>(body) else {
        return Err(if status.is_success() {
            // A success we cannot read may well have sent the message.
            SendError::Ambiguous {
                message: format!(
                    "tencent answered {status} with an unreadable body: {}",
                    body.chars().take(200).collect::<String>()
                ),
            }
        } else {
            classify_status(status, body)
        });
    };
    if let Some(error) = response.error {
        return Err(classify_error(&error.code, &error.message));
    }
    // One number was sent, so one status is expected.
    let Some(number) = response.send_status_set.into_iter().next() else {
        return Err(SendError::Ambiguous {
            message: "tencent answered without a SendStatusSet entry".to_owned(),
        });
    };
    if number.code == "Ok" {
        Ok(Accepted {
            provider_message_id: Some(number.serial_no),
            parts: number.fee,
        })
    } else {
        Err(classify_error(&number.code, &number.message))
    }
}

/// Sorts a Tencent error code — of the request or of one number — into the
/// worker's three outcomes.
///
/// Throttling (`RequestLimitExceeded*`, `LimitExceeded.*`) is retryable, with the
/// window's length when the code names one; a number's daily caps
/// (`PhoneNumberDailyLimit`, `PhoneNumberSameContentDailyLimit`) are permanent for
/// this message, which would be stale by the time they reset. `InternalError.*` is
/// retryable, and so is an exhausted SMS package (an account matter a top-up fixes,
/// as for Aliyun). Everything else — `FailedOperation.*`, `InvalidParameter*`,
/// `UnauthorizedOperation.*`, `AuthFailure.*` and unknown codes — is permanent.
pub fn classify_error(code: &str, message: &str) -> SendError {
    let family = code.split('.').next().unwrap_or(code);
    match code {
        "LimitExceeded.PhoneNumberDailyLimit"
        | "LimitExceeded.PhoneNumberSameContentDailyLimit"
        | "LimitExceeded.PhoneNumberCountLimit" => SendError::permanent(code, message),
        "LimitExceeded.PhoneNumberThirtySecondLimit" => {
            SendError::throttled(code, message, Some(Duration::from_secs(30)))
        }
        "LimitExceeded.PhoneNumberOneHourLimit" => {
            SendError::throttled(code, message, Some(Duration::from_secs(3600)))
        }
        "FailedOperation.InsufficientBalanceInSmsPackage" => SendError::retryable(code, message),
        _ if family == "LimitExceeded" || family == "RequestLimitExceeded" => {
            SendError::throttled(code, message, None)
        }
        _ if family == "InternalError" => SendError::retryable(code, message),
        _ => SendError::permanent(code, message),
    }
}

#[cfg(test)]
mod tests;
