//! WeChat mini-program subscription messages (订阅消息).
//!
//! `POST {endpoint}/cgi-bin/message/subscribe/send?access_token=…` with the recipient's
//! openid, the template, the page opened on tap, the data, the mini-program version
//! the page belongs to and the language. A one-time subscription allows one message per
//! user consent; without a consent left WeChat answers 43101, reported as the permanent
//! code `not_subscribed`. The API takes no idempotency key, so an answer lost in flight
//! is ambiguous. Results pushed later as `subscribe_msg_sent_event` are read by
//! [`parse_receipts`].
//!
//! Docs: <https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html>.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use orbit_core::Clock;
use serde::{Deserialize, Serialize};

use super::api::{self, ApiClient, DataValue, classify_common};
use super::server_push::{self, ReceiptError, ServerQuery};
use super::token::{AccessTokens, DEFAULT_ENDPOINT};
use crate::connector::{
    Accepted, ConfigError, Connector, Content, MiniProgramContent, OutboundMessage, Receipt, ReceiptStatus,
    SendError,
};
use crate::egress::HttpClient;
use crate::secret::{self, Secret};

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

/// Which version of the mini program the message's page opens in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MiniProgramState {
    /// The released version.
    #[default]
    Formal,
    /// The trial (体验) version.
    Trial,
    /// The development version.
    Developer,
}

/// The language the message is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Lang {
    /// Simplified Chinese.
    #[default]
    #[serde(rename = "zh_CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en_US")]
    EnUs,
    /// Traditional Chinese, Hong Kong.
    #[serde(rename = "zh_HK")]
    ZhHk,
    /// Traditional Chinese, Taiwan.
    #[serde(rename = "zh_TW")]
    ZhTw,
}

/// A mini-program connector's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MiniProgramConfig {
    /// The mini program's AppID.
    pub app_id: String,
    /// The mini program's AppSecret.
    pub app_secret: Secret,
    /// The Token of the mini program's message push configuration, which signs the
    /// events WeChat pushes; needed to read delivery receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_token: Option<Secret>,
    /// The version of the mini program pages open in.
    #[serde(default)]
    pub miniprogram_state: MiniProgramState,
    /// The language messages are shown in.
    #[serde(default)]
    pub lang: Lang,
    /// WeChat's API base URL.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
}

impl MiniProgramConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        secret::refuse_kept(self)?;
        api::check_app_id(&self.app_id)?;
        api::check_app_secret(self.app_secret.expose())?;
        api::check_server_token(self.server_token.as_ref().map(Secret::expose))?;
        api::check_endpoint(&self.endpoint)
    }
}

/// The subscription message API, under the endpoint.
const SUBSCRIBE_SEND: &str = "/cgi-bin/message/subscribe/send";

/// Sends subscription messages from a WeChat mini program.
pub struct MiniProgramConnector {
    config: MiniProgramConfig,
    api: ApiClient,
}

impl MiniProgramConnector {
    /// A connector for a validated configuration, sharing access tokens process-wide
    /// with every connector of the same account.
    pub fn new(config: MiniProgramConfig, http: HttpClient) -> Result<Self, ConfigError> {
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

    /// Reads a message push into receipts, after checking its signature.
    pub fn parse_receipts(&self, query: &ServerQuery, body: &str) -> Result<Vec<Receipt>, ReceiptError> {
        parse_receipts(self.config.server_token.as_ref().map(Secret::expose), query, body)
    }
}

#[async_trait]
impl Connector for MiniProgramConnector {
    fn provider(&self) -> &'static str {
        "wechat_mini_program"
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Accepted, SendError> {
        let Content::MiniProgram(content) = &message.content else {
            return Err(SendError::permanent(
                "content",
                "the mini program connector sends subscription messages only",
            ));
        };
        if message.recipient.address.is_empty() {
            return Err(SendError::permanent("address", "no openid"));
        }
        let body = SubscribeBody::new(&message.recipient.address, content, &self.config);
        // The API takes no idempotency key: an answer lost in flight is ambiguous.
        self.api
            .send_message(SUBSCRIBE_SEND, &body, false, classify_errcode)
            .await
    }
}

/// The subscription message request body.
#[derive(Debug, Serialize)]
struct SubscribeBody<'a> {
    touser: &'a str,
    template_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<&'a str>,
    data: BTreeMap<&'a str, DataValue<'a>>,
    miniprogram_state: MiniProgramState,
    lang: Lang,
}

impl<'a> SubscribeBody<'a> {
    fn new(openid: &'a str, content: &'a MiniProgramContent, config: &MiniProgramConfig) -> Self {
        Self {
            touser: openid,
            template_id: &content.template_id,
            page: content.page.as_deref(),
            data: content
                .data
                .iter()
                .map(|(key, value)| (key.as_str(), DataValue { value }))
                .collect(),
            miniprogram_state: config.miniprogram_state,
            lang: config.lang,
        }
    }
}

/// Sorts the subscription message API's own `errcode`s, then the shared ones.
fn classify_errcode(errcode: i64, errmsg: &str, now: jiff::Timestamp) -> SendError {
    let code = errcode.to_string();
    match errcode {
        // The user refused the template or has no one-time consent left.
        43101 => SendError::permanent(
            "not_subscribed",
            format!("the user has no subscription to this template left (43101): {errmsg}"),
        ),
        47003 => SendError::permanent(
            code,
            format!("the template data does not fit the template's fields: {errmsg}"),
        ),
        40003 => SendError::permanent(
            code,
            format!("the openid is not a user of this mini program: {errmsg}"),
        ),
        40037 => SendError::permanent(
            code,
            format!("the template_id is not one of the mini program's templates: {errmsg}"),
        ),
        41030 => SendError::permanent(
            code,
            format!("the page does not exist in the chosen version: {errmsg}"),
        ),
        _ => classify_common(errcode, errmsg, now),
    }
}

/// Reads a message push to the mini program's server URL (XML format): checks WeChat's
/// signature with the server Token, then turns each entry of a
/// `subscribe_msg_sent_event` into a receipt (`ErrorCode` 0 is delivered). Other events
/// yield no receipt.
pub fn parse_receipts(
    server_token: Option<&str>,
    query: &ServerQuery,
    body: &str,
) -> Result<Vec<Receipt>, ReceiptError> {
    server_push::check_push(server_token, query, body)?;
    let fields = server_push::read_fields(body)?;
    server_push::refuse_encrypted(&fields)?;
    let is_sent_event = server_push::field(&fields, "MsgType") == Some("event")
        && server_push::field(&fields, "Event") == Some("subscribe_msg_sent_event");
    if !is_sent_event {
        return Ok(Vec::new());
    }
    let mut receipts = Vec::new();
    let mut entry: BTreeMap<&str, &str> = BTreeMap::new();
    for (path, text) in &fields {
        match path.strip_prefix("SubscribeMsgSentEvent/List") {
            Some("") => {
                receipts.push(sent_receipt(&entry)?);
                entry.clear();
            }
            Some(child) => {
                entry.insert(child.trim_start_matches('/'), text);
            }
            None => {}
        }
    }
    Ok(receipts)
}

fn sent_receipt(entry: &BTreeMap<&str, &str>) -> Result<Receipt, ReceiptError> {
    let msg_id = entry
        .get("MsgID")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ReceiptError::Malformed("a sent event entry without MsgID".to_owned()))?;
    let error_code = entry.get("ErrorCode").copied().unwrap_or_default();
    let status = entry.get("ErrorStatus").copied().unwrap_or_default();
    Ok(if error_code == "0" {
        Receipt {
            provider_message_id: (*msg_id).to_owned(),
            status: ReceiptStatus::Delivered,
            detail: None,
        }
    } else {
        Receipt {
            provider_message_id: (*msg_id).to_owned(),
            status: ReceiptStatus::Failed,
            detail: Some(format!("{error_code}: {status}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::server_push::server_signature;

    fn signed(token: &str) -> ServerQuery {
        ServerQuery {
            signature: server_signature(token, "1620963428", "nonce1"),
            timestamp: "1620963428".to_owned(),
            nonce: "nonce1".to_owned(),
        }
    }

    #[test]
    fn each_sent_event_entry_becomes_a_receipt() {
        let body = "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName>\
            <FromUserName><![CDATA[o7esq5OI1Uej6Xixw1lA2H7XDVbc]]></FromUserName>\
            <CreateTime>1620963428</CreateTime><MsgType><![CDATA[event]]></MsgType>\
            <Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent>\
            <List><TemplateId><![CDATA[BEwX0BO]]></TemplateId><MsgID>1864323726461255680</MsgID>\
            <ErrorCode>0</ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus></List>\
            <List><TemplateId><![CDATA[BEwX0BO]]></TemplateId><MsgID>1864323726461255681</MsgID>\
            <ErrorCode>20001</ErrorCode><ErrorStatus><![CDATA[failed]]></ErrorStatus></List>\
            </SubscribeMsgSentEvent></xml>";
        let receipts = parse_receipts(Some("orbitToken"), &signed("orbitToken"), body).expect("receipts");
        assert_eq!(
            receipts,
            vec![
                Receipt {
                    provider_message_id: "1864323726461255680".to_owned(),
                    status: ReceiptStatus::Delivered,
                    detail: None,
                },
                Receipt {
                    provider_message_id: "1864323726461255681".to_owned(),
                    status: ReceiptStatus::Failed,
                    detail: Some("20001: failed".to_owned()),
                },
            ]
        );
        assert_eq!(
            parse_receipts(Some("orbitToken"), &signed("forged"), body),
            Err(ReceiptError::BadSignature)
        );
    }

    #[test]
    fn the_body_names_the_version_and_the_language() {
        let content = MiniProgramContent {
            template_id: "tmpl".to_owned(),
            page: Some("pages/order?id=1".to_owned()),
            data: BTreeMap::from([("thing1".to_owned(), "Order shipped".to_owned())]),
        };
        let config = MiniProgramConfig {
            app_id: "wx0123456789abcdef".to_owned(),
            app_secret: "s".into(),
            server_token: None,
            miniprogram_state: MiniProgramState::Trial,
            lang: Lang::EnUs,
            endpoint: default_endpoint(),
        };
        let body = serde_json::to_value(SubscribeBody::new("OPENID", &content, &config)).expect("json");
        assert_eq!(
            body,
            serde_json::json!({
                "touser": "OPENID",
                "template_id": "tmpl",
                "page": "pages/order?id=1",
                "data": {"thing1": {"value": "Order shipped"}},
                "miniprogram_state": "trial",
                "lang": "en_US"
            })
        );
        let defaults: MiniProgramConfig = serde_json::from_value(serde_json::json!({
            "app_id": "wx0123456789abcdef", "app_secret": "s"
        }))
        .expect("defaults");
        assert_eq!(defaults.miniprogram_state, MiniProgramState::Formal);
        assert_eq!(defaults.lang, Lang::ZhCn);
        assert!(!format!("{defaults:?}").contains("\"s\""));
    }

    #[test]
    fn subscription_errcodes_are_sorted() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        assert!(matches!(
            classify_errcode(43101, "user refuse to accept the msg", now),
            SendError::Permanent { code, .. } if code == "not_subscribed"
        ));
        for code in [47003, 40003, 40037, 41030] {
            assert!(
                matches!(classify_errcode(code, "x", now), SendError::Permanent { code: c, .. } if c == code.to_string()),
                "{code}"
            );
        }
        assert!(matches!(
            classify_errcode(-1, "busy", now),
            SendError::Retryable { .. }
        ));
    }
}
