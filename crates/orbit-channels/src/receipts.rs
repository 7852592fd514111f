//! Delivery receipts pushed by providers, read the way each provider sends them and
//! answered the way each expects, behind one call per configuration.
//!
//! Aliyun and Tencent Cloud push unsigned JSON batches (their receiving URL must be
//! unguessable); Twilio signs form posts with the account's auth token; WeChat signs
//! every push to an account's server URL with its server Token and checks the URL
//! once with a signed `echostr` GET.

use crate::registry::ProviderConfig;
use crate::wechat::server_push::{ServerQuery, verify_server_signature};
use crate::{Receipt, Secret, sms, wechat};

/// A push as the receiving route got it.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptPush<'a> {
    /// The full URL the provider requested, query string included (Twilio signs it).
    pub url: &'a str,
    /// The query string, without the `?`.
    pub query: &'a str,
    /// The provider's signature header, when it sends one (`X-Twilio-Signature`).
    pub signature: Option<&'a str>,
    /// The raw body.
    pub body: &'a [u8],
}

/// The name of the header Twilio signs callbacks in.
pub const TWILIO_SIGNATURE_HEADER: &str = "x-twilio-signature";

/// What a push held and what to answer it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptBatch {
    /// The receipts, in the order pushed.
    pub receipts: Vec<Receipt>,
    /// The body the provider expects once they are stored (anything else makes it
    /// push again).
    pub reply: &'static str,
    /// The reply's content type.
    pub content_type: &'static str,
}

/// Why a push was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptRefused {
    /// The provider pushes no receipts to Orbit.
    #[error("{0} sends no delivery receipts")]
    NotSupported(&'static str),
    /// The signature does not match: not from the provider, or a secret is wrong.
    #[error("the receipt's signature does not match the account's credentials")]
    BadSignature,
    /// The body is not in the shape the provider documents.
    #[error("{0}")]
    Malformed(String),
}

impl From<sms::ReceiptError> for ReceiptRefused {
    fn from(error: sms::ReceiptError) -> Self {
        match error {
            sms::ReceiptError::BadSignature => Self::BadSignature,
            sms::ReceiptError::Malformed(m) => Self::Malformed(format!("malformed delivery report: {m}")),
        }
    }
}

impl From<wechat::server_push::ReceiptError> for ReceiptRefused {
    fn from(error: wechat::server_push::ReceiptError) -> Self {
        match error {
            wechat::server_push::ReceiptError::BadSignature
            | wechat::server_push::ReceiptError::NoServerToken => Self::BadSignature,
            other => Self::Malformed(other.to_string()),
        }
    }
}

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";
/// What WeChat expects back from a server URL that took a push.
const WECHAT_ACK: &str = "success";

impl ProviderConfig {
    /// Whether the provider pushes delivery receipts to a URL Orbit gives it.
    pub fn sends_receipts(&self) -> bool {
        Self::provider_sends_receipts(self.provider())
    }

    /// Whether the provider named so (`aliyun_sms`, …) pushes delivery receipts.
    pub fn provider_sends_receipts(provider: &str) -> bool {
        matches!(
            provider,
            "aliyun_sms" | "tencent_sms" | "twilio" | "wechat_official_account" | "wechat_mini_program"
        )
    }

    /// Reads a receipt push for this account.
    ///
    /// # Errors
    /// [`ReceiptRefused`] when the provider sends none, the signature does not match,
    /// or the body is not what the provider sends.
    pub fn read_receipts(&self, push: &ReceiptPush<'_>) -> Result<ReceiptBatch, ReceiptRefused> {
        let batch = |receipts, reply, content_type| ReceiptBatch {
            receipts,
            reply,
            content_type,
        };
        match self {
            ProviderConfig::AliyunSms(_) => Ok(batch(
                sms::aliyun::parse_receipts(push.body)?,
                sms::aliyun::RECEIPT_ACK,
                JSON,
            )),
            ProviderConfig::TencentSms(_) => Ok(batch(
                sms::tencent::parse_receipts(push.body)?,
                sms::tencent::RECEIPT_ACK,
                JSON,
            )),
            ProviderConfig::Twilio(c) => Ok(batch(
                sms::twilio::parse_receipts(push.url, push.body, push.signature, c.auth_token.expose())?,
                "",
                TEXT,
            )),
            ProviderConfig::WechatOfficialAccount(c) => {
                let query = server_query(push.query)?;
                let body = body_text(push.body)?;
                Ok(batch(
                    wechat::official_account::parse_receipts(
                        c.server_token.as_ref().map(Secret::expose),
                        &query,
                        body,
                    )?,
                    WECHAT_ACK,
                    TEXT,
                ))
            }
            ProviderConfig::WechatMiniProgram(c) => {
                let query = server_query(push.query)?;
                let body = body_text(push.body)?;
                Ok(batch(
                    wechat::mini_program::parse_receipts(
                        c.server_token.as_ref().map(Secret::expose),
                        &query,
                        body,
                    )?,
                    WECHAT_ACK,
                    TEXT,
                ))
            }
            other => Err(ReceiptRefused::NotSupported(other.provider())),
        }
    }

    /// Answers WeChat's check of a server URL: the `echostr` back when the query's
    /// signature matches the account's server Token.
    ///
    /// # Errors
    /// [`ReceiptRefused`] for other providers, a missing Token or a bad signature.
    pub fn verify_receipt_url(&self, query: &str) -> Result<String, ReceiptRefused> {
        let token = match self {
            ProviderConfig::WechatOfficialAccount(c) => c.server_token.as_ref().map(Secret::expose),
            ProviderConfig::WechatMiniProgram(c) => c.server_token.as_ref().map(Secret::expose),
            other => return Err(ReceiptRefused::NotSupported(other.provider())),
        };
        let signed = server_query(query)?;
        let echo = form_value(query, "echostr")
            .ok_or_else(|| ReceiptRefused::Malformed("the URL check carries no echostr".to_owned()))?;
        let valid = token.is_some_and(|token| {
            verify_server_signature(token, &signed.timestamp, &signed.nonce, &signed.signature)
        });
        if valid {
            Ok(echo)
        } else {
            Err(ReceiptRefused::BadSignature)
        }
    }
}

fn form_value(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn server_query(query: &str) -> Result<ServerQuery, ReceiptRefused> {
    let field = |name: &str| {
        form_value(query, name)
            .ok_or_else(|| ReceiptRefused::Malformed(format!("the push's query has no {name}")))
    };
    Ok(ServerQuery {
        signature: field("signature")?,
        timestamp: field("timestamp")?,
        nonce: field("nonce")?,
    })
}

fn body_text(body: &[u8]) -> Result<&str, ReceiptRefused> {
    std::str::from_utf8(body).map_err(|_| ReceiptRefused::Malformed("the push body is not UTF-8".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReceiptStatus;
    use crate::wechat::server_push::server_signature;
    use serde_json::json;

    fn config(value: serde_json::Value) -> ProviderConfig {
        serde_json::from_value(value).expect("config")
    }

    fn push<'a>(url: &'a str, query: &'a str, signature: Option<&'a str>, body: &'a [u8]) -> ReceiptPush<'a> {
        ReceiptPush {
            url,
            query,
            signature,
            body,
        }
    }

    #[test]
    fn aliyun_batches_are_read_and_acknowledged_as_aliyun_expects() {
        let aliyun = config(
            json!({"provider": "aliyun_sms", "access_key_id": "LTAI5t", "access_key_secret": "s3cr3t", "sign_name": "奥比特"}),
        );
        let body = json!([
            {"phone_number": "13800138000", "send_time": "2026-12-04 10:00:00", "report_time": "2026-12-04 10:00:05",
             "success": true, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "900619746936498440^0", "out_id": "x"},
            {"phone_number": "13800138001", "send_time": "2026-12-04 10:00:00", "report_time": "2026-12-04 10:00:05",
             "success": false, "err_code": "MK:0001", "err_msg": "空号", "sms_size": "1", "biz_id": "900619746936498441^0", "out_id": "y"}
        ])
        .to_string();
        let batch = aliyun
            .read_receipts(&push("https://o.example/t/r/x", "", None, body.as_bytes()))
            .expect("read");
        assert_eq!(batch.reply, sms::aliyun::RECEIPT_ACK);
        assert_eq!(
            batch.receipts.iter().map(|r| r.status).collect::<Vec<_>>(),
            [ReceiptStatus::Delivered, ReceiptStatus::Failed]
        );
        let refused = aliyun.read_receipts(&push("https://o.example/t/r/x", "", None, b"{not json"));
        assert!(matches!(refused, Err(ReceiptRefused::Malformed(_))));
    }

    #[test]
    fn twilio_callbacks_must_carry_the_account_s_signature() {
        let twilio = config(
            json!({"provider": "twilio", "account_sid": format!("AC{}", "a".repeat(32)),
                                   "auth_token": "twilio-token", "from": "+15005550006"}),
        );
        let url = "https://o.example/t/r/abc";
        let body = b"MessageSid=SM123&MessageStatus=delivered&AccountSid=AC1";
        let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let signature = sms::twilio::compute_signature(url, &params, "twilio-token");
        let batch = twilio
            .read_receipts(&push(url, "", Some(&signature), body))
            .expect("read");
        assert_eq!(batch.receipts[0].provider_message_id, "SM123");
        assert_eq!(
            twilio.read_receipts(&push(url, "", Some("forged"), body)),
            Err(ReceiptRefused::BadSignature)
        );
    }

    #[test]
    fn wechat_server_urls_echo_a_signed_check_and_refuse_an_unsigned_one() {
        let account = config(
            json!({"provider": "wechat_official_account", "app_id": "wx1234567890abcdef",
                                    "app_secret": "secret-secret-secret-secret-1234", "server_token": "orbitToken1"}),
        );
        let signature = server_signature("orbitToken1", "1395658920", "n0nce");
        let query = format!("signature={signature}&timestamp=1395658920&nonce=n0nce&echostr=hello-7");
        assert_eq!(account.verify_receipt_url(&query), Ok("hello-7".to_owned()));
        let forged = "signature=00&timestamp=1395658920&nonce=n0nce&echostr=hello-7";
        assert_eq!(
            account.verify_receipt_url(forged),
            Err(ReceiptRefused::BadSignature)
        );

        let webhook = config(
            json!({"provider": "webhook", "url": "https://hooks.example.com/x", "secret": "0123456789abcdef0123"}),
        );
        assert!(!webhook.sends_receipts());
        assert_eq!(
            webhook.read_receipts(&push("u", "", None, b"")),
            Err(ReceiptRefused::NotSupported("webhook"))
        );
    }
}
