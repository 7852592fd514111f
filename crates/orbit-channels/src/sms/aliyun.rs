//! Aliyun SMS: dysmsapi `SendSms`, API version 2017-05-25
//! (<https://help.aliyun.com/en/sms/developer-reference/api-dysmsapi-2017-05-25-sendsms>).
//!
//! One POST to the endpoint's root with a form body holding the common parameters,
//! the `SendSms` parameters and an RPC version 1.0 signature ([`signature`]). Aliyun
//! sends only approved templates: the message names a `TemplateCode` (or the
//! configuration's default) and its parameters become the `TemplateParam` JSON
//! object. `OutId` carries our send id, and Aliyun echoes it in delivery reports.
//!
//! Aliyun documents that `SendSms` is not idempotent, so a request that times out
//! after leaving is [`SendError::Ambiguous`].
//!
//! Error mapping ([`classify_error`]): throttling (`isv.BUSINESS_LIMIT_CONTROL`, the
//! operator's own day and month caps, `Throttling.*`) and Aliyun's own failures
//! (`isp.SYSTEM_ERROR`, `ServiceUnavailable`, any 5xx) are retryable. So are an empty
//! balance (`isv.AMOUNT_NOT_ENOUGH`) and the stop it causes (`isv.OUT_OF_SERVICE`):
//! the account, not the message, is at fault, and a top-up makes the very same
//! request succeed, so the message waits in the worker's backoff instead of being
//! dropped. Everything else — a bad number, template, signature or credential — is
//! permanent.

mod report;
pub mod signature;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use orbit_core::clock::{Clock, SystemClock};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};

pub use report::{RECEIPT_ACK, parse_receipts};

use crate::connector::{classify_status, transport_error};
use crate::secret::{self, Secret};
use crate::sms::{check_endpoint, e164_digits, require};
use crate::{Accepted, ConfigError, Connector, Content, HttpClient, OutboundMessage, SendError};

/// Aliyun's public SMS endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";
/// The dysmsapi version `SendSms` is spoken in.
pub const API_VERSION: &str = "2017-05-25";

/// An Aliyun SMS account as configured in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AliyunSmsConfig {
    /// The AccessKey ID of a RAM user allowed to call `dysms:SendSms`.
    pub access_key_id: String,
    /// That AccessKey's secret.
    pub access_key_secret: Secret,
    /// The approved signature (签名), without the 【】 Aliyun adds.
    pub sign_name: String,
    /// The template sent when a message names none.
    #[serde(default)]
    pub template_code: Option<String>,
    /// The `RegionId` common parameter.
    #[serde(default = "default_region_id")]
    pub region_id: String,
    /// The API base URL; the public endpoint unless a test or proxy says otherwise.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
}

fn default_region_id() -> String {
    "cn-hangzhou".to_owned()
}

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

impl AliyunSmsConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        secret::refuse_kept(self)?;
        require("access_key_id", &self.access_key_id)?;
        require("access_key_secret", self.access_key_secret.expose())?;
        require("sign_name", &self.sign_name)?;
        if let Some(template) = &self.template_code {
            require("template_code", template)?;
        }
        require("region_id", &self.region_id)?;
        check_endpoint("endpoint", &self.endpoint)?;
        Ok(())
    }
}

/// Sends text messages through Aliyun SMS.
#[derive(Debug)]
pub struct AliyunSmsConnector {
    config: AliyunSmsConfig,
    http: HttpClient,
    clock: Arc<dyn Clock>,
}

impl AliyunSmsConnector {
    /// A connector for a valid configuration, reading the wall clock.
    pub fn new(config: AliyunSmsConfig, http: HttpClient) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            http,
            clock: Arc::new(SystemClock),
        })
    }

    /// The same connector reading `clock` for the signed `Timestamp`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The signed form body of a `SendSms` request: `SignatureNonce` must be unique
    /// per request within 15 minutes, `now` within 15 minutes of Aliyun's clock.
    ///
    /// # Errors
    /// A permanent error when the message is not a text message, names no template
    /// or goes to an address that is not an E.164 number.
    pub fn signed_body(
        &self,
        message: &OutboundMessage,
        nonce: &str,
        now: Timestamp,
    ) -> Result<String, SendError> {
        let Content::Sms(sms) = &message.content else {
            return Err(SendError::permanent(
                "content",
                "aliyun_sms sends text messages only",
            ));
        };
        let template_code = sms
            .template_code
            .as_deref()
            .or(self.config.template_code.as_deref())
            .ok_or_else(|| {
                SendError::permanent(
                    "template_code",
                    "aliyun_sms sends approved templates only and neither the message nor the configuration names one",
                )
            })?;
        let phone_numbers = phone_number(&message.recipient.address)?;
        let timestamp = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let template_param = (!sms.params.is_empty()).then(|| {
            let object: serde_json::Map<String, serde_json::Value> = sms
                .params
                .iter()
                .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
                .collect();
            serde_json::Value::Object(object).to_string()
        });

        let mut params: Vec<(&str, &str)> = vec![
            ("AccessKeyId", self.config.access_key_id.as_str()),
            ("Action", "SendSms"),
            ("Format", "JSON"),
            ("OutId", message.send_id.as_str()),
            ("PhoneNumbers", phone_numbers.as_str()),
            ("RegionId", self.config.region_id.as_str()),
            ("SignName", self.config.sign_name.as_str()),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", nonce),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", template_code),
            ("Timestamp", timestamp.as_str()),
            ("Version", API_VERSION),
        ];
        if let Some(template_param) = &template_param {
            params.push(("TemplateParam", template_param.as_str()));
        }
        let canonical = signature::canonicalized_query(&params);
        let to_sign = signature::string_to_sign("POST", &canonical);
        let signed = signature::sign(self.config.access_key_secret.expose(), &to_sign);
        Ok(format!(
            "{canonical}&Signature={}",
            signature::percent_encode(&signed)
        ))
    }
}

#[async_trait]
impl Connector for AliyunSmsConnector {
    fn provider(&self) -> &'static str {
        "aliyun_sms"
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError> {
        // A fresh nonce per attempt: Aliyun refuses a nonce seen in the last 15
        // minutes, which would turn every retry into `SignatureNonceUsed`.
        let nonce = uuid::Uuid::new_v4().to_string();
        let body = self.signed_body(message, &nonce, self.clock.now())?;
        let url = format!("{}/", self.config.endpoint.trim_end_matches('/'));
        let response = self
            .http
            .request(reqwest::Method::POST, &url)?
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(&e, false))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| transport_error(&e, false))?;
        interpret_response(status, &text)
    }
}

/// `PhoneNumbers` as Aliyun wants it: a mainland number as its 11 national digits
/// (no `+86`), any other as country code and number without `+` (`85212345678`).
fn phone_number(address: &str) -> Result<String, SendError> {
    let digits = e164_digits(address)?;
    // No other country code starts with 86, so the prefix is always mainland China.
    Ok(digits.strip_prefix("86").unwrap_or(digits).to_owned())
}

/// The body of every dysmsapi answer, success or error.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiResponse {
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    biz_id: Option<String>,
}

/// Turns Aliyun's answer into the outcome of the send.
fn interpret_response(status: StatusCode, body: &str) -> Result<Accepted, SendError> {
    match serde_json::from_str::<ApiResponse>(body) {
        Ok(ApiResponse {
            code: Some(code),
            message,
            biz_id,
        }) => {
            if code == "OK" {
                Ok(Accepted {
                    provider_message_id: biz_id,
                    parts: None,
                })
            } else {
                Err(classify_error(status, &code, message.as_deref().unwrap_or("")))
            }
        }
        // A success we cannot read may well have sent the message.
        _ if status.is_success() => Err(SendError::Ambiguous {
            message: format!(
                "aliyun answered {status} without a Code: {}",
                body.chars().take(200).collect::<String>()
            ),
        }),
        _ => Err(classify_status(status, body)),
    }
}

/// Sorts an Aliyun error `Code` into the worker's three outcomes (see the module
/// documentation for the reasons).
pub fn classify_error(status: StatusCode, code: &str, message: &str) -> SendError {
    match code {
        "isv.BUSINESS_LIMIT_CONTROL" => SendError::throttled(code, message, business_limit_wait(message)),
        "isv.DAY_LIMIT_CONTROL" | "isv.MONTH_LIMIT_CONTROL" => SendError::throttled(code, message, None),
        _ if code == "Throttling" || code.starts_with("Throttling.") => {
            SendError::throttled(code, message, None)
        }
        "isv.AMOUNT_NOT_ENOUGH" | "isv.OUT_OF_SERVICE" => SendError::retryable(code, message),
        "isp.SYSTEM_ERROR" | "isp.GATEWAY_ERROR" | "ServiceUnavailable" | "InternalError"
        | "SignatureNonceUsed" => SendError::retryable(code, message),
        _ if status.is_server_error() => SendError::retryable(code, message),
        _ => SendError::permanent(code, message),
    }
}

/// How long `isv.BUSINESS_LIMIT_CONTROL` asks to wait: its message names the
/// per-number window that was hit (`触发分钟级流控`, `触发小时级流控`, `触发天级流控`).
fn business_limit_wait(message: &str) -> Option<Duration> {
    if message.contains("分钟级") {
        Some(Duration::from_secs(60))
    } else if message.contains("小时级") {
        Some(Duration::from_secs(3600))
    } else if message.contains("天级") {
        Some(Duration::from_secs(86_400))
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
