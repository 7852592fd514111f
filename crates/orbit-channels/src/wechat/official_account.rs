//! WeChat official account template messages (模板消息).
//!
//! `POST {endpoint}/cgi-bin/message/template/send?access_token=…` with the recipient's
//! openid, the template, its data and `client_msg_id`, WeChat's re-entry guard: for the
//! same openid and `client_msg_id` only one message is sent within ten minutes. The
//! connector passes `send_id` there, so an answer lost in flight is retryable.
//! Delivery results arrive later as the `TEMPLATESENDJOBFINISH` event pushed to the
//! account's server URL, read by [`parse_receipts`].
//!
//! Docs: <https://developers.weixin.qq.com/doc/service/api/notify/template/api_sendtemplatemessage>,
//! <https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html>.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use orbit_core::Clock;
use serde::{Deserialize, Serialize};

use super::api::{self, ApiClient, DataValue, classify_common};
use super::server_push::{self, ReceiptError, ServerQuery};
use super::token::{AccessTokens, DEFAULT_ENDPOINT};
use crate::connector::{
    Accepted, ConfigError, Connector, Content, OutboundMessage, Receipt, ReceiptStatus, SendError,
    WechatTemplateContent,
};
use crate::egress::HttpClient;
use crate::secret::{self, Secret};

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

/// An official account connector's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficialAccountConfig {
    /// The official account's AppID.
    pub app_id: String,
    /// The official account's AppSecret.
    pub app_secret: Secret,
    /// The Token of the account's server configuration, which signs the events WeChat
    /// pushes to the server URL; needed to read delivery receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_token: Option<Secret>,
    /// WeChat's API base URL.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
}

impl OfficialAccountConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        secret::refuse_kept(self)?;
        api::check_app_id(&self.app_id)?;
        api::check_app_secret(self.app_secret.expose())?;
        api::check_server_token(self.server_token.as_ref().map(Secret::expose))?;
        api::check_endpoint(&self.endpoint)
    }
}

/// The template message API, under the endpoint.
const TEMPLATE_SEND: &str = "/cgi-bin/message/template/send";

/// Sends template messages from a WeChat official account.
pub struct OfficialAccountConnector {
    config: OfficialAccountConfig,
    api: ApiClient,
}

impl OfficialAccountConnector {
    /// A connector for a validated configuration, sharing access tokens process-wide
    /// with every connector of the same account.
    pub fn new(config: OfficialAccountConfig, http: HttpClient) -> Result<Self, ConfigError> {
        config.validate()?;
        let api = ApiClient::new(&config.endpoint, &config.app_id, &config.app_secret, http);
        Ok(Self { config, api })
    }

    /// Takes access tokens from `registry` instead of the process-wide one.
    pub fn with_tokens(mut self, registry: Arc<AccessTokens>) -> Self {
        self.api = self.api.with_tokens(registry);
        self
    }

    /// Uses `clock` for token lifetimes and quota waits.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.api = self.api.with_clock(clock);
        self
    }

    /// Reads a push to the server URL into receipts, after checking its signature.
    pub fn parse_receipts(&self, query: &ServerQuery, body: &str) -> Result<Vec<Receipt>, ReceiptError> {
        parse_receipts(self.config.server_token.as_ref().map(Secret::expose), query, body)
    }
}

#[async_trait]
impl Connector for OfficialAccountConnector {
    fn provider(&self) -> &'static str {
        "wechat_official_account"
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError> {
        let Content::WechatTemplate(template) = &message.content else {
            return Err(SendError::permanent(
                "content",
                "the official account connector sends template messages only",
            ));
        };
        if message.recipient.address.is_empty() {
            return Err(SendError::permanent("address", "no openid"));
        }
        let body = TemplateBody::new(&message.recipient.address, template, &message.send_id);
        // client_msg_id makes WeChat drop a repeat within ten minutes.
        self.api
            .send_message(TEMPLATE_SEND, &body, true, classify_errcode)
            .await
    }
}

/// The template message request body.
#[derive(Debug, Serialize)]
struct TemplateBody<'a> {
    touser: &'a str,
    template_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    miniprogram: Option<MiniProgramLink<'a>>,
    data: BTreeMap<&'a str, DataValue<'a>>,
    client_msg_id: &'a str,
}

#[derive(Debug, Serialize)]
struct MiniProgramLink<'a> {
    appid: &'a str,
    pagepath: &'a str,
}

impl<'a> TemplateBody<'a> {
    fn new(openid: &'a str, template: &'a WechatTemplateContent, send_id: &'a str) -> Self {
        Self {
            touser: openid,
            template_id: &template.template_id,
            url: template.url.as_deref(),
            miniprogram: template
                .mini_program
                .as_ref()
                .map(|(appid, pagepath)| MiniProgramLink { appid, pagepath }),
            data: template
                .data
                .iter()
                .map(|(key, value)| (key.as_str(), DataValue { value }))
                .collect(),
            client_msg_id: send_id,
        }
    }
}

/// Sorts the template message API's own `errcode`s, then the shared ones.
fn classify_errcode(errcode: i64, errmsg: &str, now: jiff::Timestamp) -> SendError {
    let code = errcode.to_string();
    match errcode {
        43004 => SendError::permanent(
            code,
            format!("the recipient does not follow the official account: {errmsg}"),
        ),
        40003 => SendError::permanent(
            code,
            format!("the openid is not a user of this official account: {errmsg}"),
        ),
        40037 => SendError::permanent(
            code,
            format!("the template_id is not one of the account's templates: {errmsg}"),
        ),
        47001 => SendError::permanent(
            code,
            format!("the template data does not fit the template: {errmsg}"),
        ),
        _ => classify_common(errcode, errmsg, now),
    }
}

/// Reads a push to the official account's server URL: checks WeChat's signature with
/// the server Token, then turns a `TEMPLATESENDJOBFINISH` event into a receipt. Other
/// events yield no receipt.
pub fn parse_receipts(
    server_token: Option<&str>,
    query: &ServerQuery,
    body: &str,
) -> Result<Vec<Receipt>, ReceiptError> {
    server_push::check_push(server_token, query, body)?;
    let fields = server_push::read_fields(body)?;
    server_push::refuse_encrypted(&fields)?;
    let is_job_finished = server_push::field(&fields, "MsgType") == Some("event")
        && server_push::field(&fields, "Event")
            .is_some_and(|event| event.eq_ignore_ascii_case("TEMPLATESENDJOBFINISH"));
    if !is_job_finished {
        return Ok(Vec::new());
    }
    let msg_id = server_push::field(&fields, "MsgID")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ReceiptError::Malformed("TEMPLATESENDJOBFINISH without MsgID".to_owned()))?;
    let status = server_push::field(&fields, "Status").unwrap_or_default();
    // "success", "failed:user block" (the user refuses the account's messages) or
    // "failed: system failed".
    let receipt = if status == "success" {
        Receipt {
            provider_message_id: msg_id.to_owned(),
            status: ReceiptStatus::Delivered,
            detail: None,
        }
    } else {
        Receipt {
            provider_message_id: msg_id.to_owned(),
            status: ReceiptStatus::Failed,
            detail: Some(status.to_owned()),
        }
    };
    Ok(vec![receipt])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::server_push::server_signature;

    fn job_finished(msg_id: &str, status: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>\
             <FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>\
             <CreateTime>1395658920</CreateTime><MsgType><![CDATA[event]]></MsgType>\
             <Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>\
             <Status><![CDATA[{status}]]></Status></xml>"
        )
    }

    fn signed(token: &str) -> ServerQuery {
        ServerQuery {
            signature: server_signature(token, "1395658920", "n0nce"),
            timestamp: "1395658920".to_owned(),
            nonce: "n0nce".to_owned(),
        }
    }

    #[test]
    fn job_finished_events_become_receipts() {
        let query = signed("orbitToken");
        let delivered = parse_receipts(Some("orbitToken"), &query, &job_finished("200163836", "success"))
            .expect("receipts");
        assert_eq!(
            delivered,
            vec![Receipt {
                provider_message_id: "200163836".to_owned(),
                status: ReceiptStatus::Delivered,
                detail: None,
            }]
        );
        for status in ["failed:user block", "failed: system failed"] {
            let failed = parse_receipts(Some("orbitToken"), &query, &job_finished("200163840", status))
                .expect("receipts");
            assert_eq!(failed[0].status, ReceiptStatus::Failed);
            assert_eq!(failed[0].detail.as_deref(), Some(status));
        }
    }

    #[test]
    fn a_push_signed_with_another_token_is_refused() {
        let body = job_finished("1", "success");
        assert_eq!(
            parse_receipts(Some("orbitToken"), &signed("forged"), &body),
            Err(ReceiptError::BadSignature)
        );
        assert_eq!(
            parse_receipts(None, &signed("orbitToken"), &body),
            Err(ReceiptError::NoServerToken)
        );
    }

    #[test]
    fn other_events_yield_no_receipt() {
        let subscribe = "<xml><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>";
        let receipts = parse_receipts(Some("orbitToken"), &signed("orbitToken"), subscribe).expect("read");
        assert!(receipts.is_empty());
    }

    #[test]
    fn the_body_carries_client_msg_id_and_links() {
        let template = WechatTemplateContent {
            template_id: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY".to_owned(),
            data: BTreeMap::from([("keyword1".to_owned(), "巧克力".to_owned())]),
            url: Some("https://example.com/o/1".to_owned()),
            mini_program: Some(("wx0123456789abcdef".to_owned(), "index?foo=bar".to_owned())),
        };
        let body = serde_json::to_value(TemplateBody::new("OPENID", &template, "send-1")).expect("json");
        assert_eq!(
            body,
            serde_json::json!({
                "touser": "OPENID",
                "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
                "url": "https://example.com/o/1",
                "miniprogram": {"appid": "wx0123456789abcdef", "pagepath": "index?foo=bar"},
                "data": {"keyword1": {"value": "巧克力"}},
                "client_msg_id": "send-1"
            })
        );
    }

    #[test]
    fn template_errcodes_are_sorted() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        for code in [43004, 40003, 40037, 47001] {
            assert!(
                matches!(classify_errcode(code, "x", now), SendError::Permanent { code: c, .. } if c == code.to_string()),
                "{code}"
            );
        }
        assert!(matches!(
            classify_errcode(-1, "system error", now),
            SendError::Retryable { .. }
        ));
    }
}
