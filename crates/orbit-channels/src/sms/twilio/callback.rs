//! Twilio status callbacks: form posts to the message's `StatusCallback` URL,
//! signed in `X-Twilio-Signature`
//! (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>).
//!
//! The signature is `Base64(HMAC-SHA1(AuthToken, url + name₁value₁ + name₂value₂ …))`
//! over the full URL Twilio requested (query string included) followed by every
//! POST parameter sorted by name (byte order; a repeated name keeps its values in
//! the order they came), with no separators.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha1::Sha1;

use crate::sms::ReceiptError;
use crate::{Receipt, ReceiptStatus};

fn signed_mac(url: &str, params: &[(String, String)], auth_token: &str) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Stable: repeated names keep their arrival order, as Twilio's libraries do.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else {
        unreachable!("HMAC takes a key of any length")
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The `X-Twilio-Signature` Twilio sends for a form post of `params` to `url`.
pub fn compute_signature(url: &str, params: &[(String, String)], auth_token: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(signed_mac(url, params, auth_token).finalize().into_bytes())
}

/// Whether `header` is Twilio's signature of a form post of `params` to `url`,
/// compared in constant time.
pub fn verify_signature(url: &str, params: &[(String, String)], header: &str, auth_token: &str) -> bool {
    let Ok(claimed) = base64::engine::general_purpose::STANDARD.decode(header.trim()) else {
        return false;
    };
    signed_mac(url, params, auth_token).verify_slice(&claimed).is_ok()
}

/// The fields of a status callback this module reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StatusCallback {
    message_sid: String,
    message_status: String,
    #[serde(default)]
    error_code: Option<String>,
}

/// Verifies and reads one status callback: `url` as Twilio requested it, the raw
/// form body, and the `X-Twilio-Signature` header.
///
/// Only final states make a receipt: `delivered` → delivered; `undelivered`,
/// `failed` and `canceled` → failed with the `ErrorCode`. The intermediate states
/// (`queued`, `sending`, `sent`, …) yield no receipt.
///
/// # Errors
/// [`ReceiptError::BadSignature`] when the header is missing or does not match;
/// [`ReceiptError::Malformed`] when a signed body lacks `MessageSid` or
/// `MessageStatus`.
pub fn parse_receipts(
    url: &str,
    body: &[u8],
    signature: Option<&str>,
    auth_token: &str,
) -> Result<Vec<Receipt>, ReceiptError> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let signed = signature.is_some_and(|header| verify_signature(url, &params, header, auth_token));
    if !signed {
        return Err(ReceiptError::BadSignature);
    }
    let callback: StatusCallback = read_callback(&params)?;
    let status = match callback.message_status.as_str() {
        "delivered" => ReceiptStatus::Delivered,
        "undelivered" | "failed" | "canceled" => ReceiptStatus::Failed,
        _ => return Ok(Vec::new()),
    };
    let detail = match status {
        ReceiptStatus::Delivered => None,
        ReceiptStatus::Failed => Some(match callback.error_code.filter(|c| !c.is_empty()) {
            Some(code) => format!("{}: {code}", callback.message_status),
            None => callback.message_status.clone(),
        }),
    };
    Ok(vec![Receipt {
        provider_message_id: callback.message_sid,
        status,
        detail,
    }])
}

/// Reads the callback's fields from already-decoded pairs (a later duplicate wins).
fn read_callback(params: &[(String, String)]) -> Result<StatusCallback, ReceiptError> {
    let object: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
        .collect();
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| ReceiptError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The worked example of Twilio's webhook security documentation
    /// (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>): auth token
    /// `12345`, parameters posted in this (unsorted) order.
    fn example() -> Vec<(String, String)> {
        pairs(&[
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("From", "+14158675310"),
            ("Caller", "+14158675310"),
            ("CallSid", "CA1234567890ABCDE"),
        ])
    }
    const EXAMPLE_URL: &str = "https://example.com/myapp.php?foo=1&bar=2";

    #[test]
    fn the_documented_example_is_reproduced_byte_for_byte() {
        assert_eq!(
            compute_signature(EXAMPLE_URL, &example(), "12345"),
            "L/OH5YylLD5NRKLltdqwSvS0BnU="
        );
        assert!(verify_signature(
            EXAMPLE_URL,
            &example(),
            "L/OH5YylLD5NRKLltdqwSvS0BnU=",
            "12345"
        ));
    }

    #[test]
    fn a_changed_parameter_url_or_token_fails_verification() {
        let good = "L/OH5YylLD5NRKLltdqwSvS0BnU=";
        let mut tampered = example();
        tampered[0].1 = "9999".into();
        assert!(!verify_signature(EXAMPLE_URL, &tampered, good, "12345"));
        assert!(!verify_signature(
            "https://example.com/myapp.php?foo=1&bar=3",
            &example(),
            good,
            "12345"
        ));
        assert!(!verify_signature(EXAMPLE_URL, &example(), good, "54321"));
        assert!(!verify_signature(EXAMPLE_URL, &example(), "not base64!", "12345"));
    }

    fn callback(fields: &[(&str, &str)]) -> (Vec<u8>, String) {
        let url = "https://orbit.example/hooks/twilio/abc";
        let params = pairs(fields);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        (body.into_bytes(), compute_signature(url, &params, "token"))
    }

    #[test]
    fn final_statuses_become_receipts_and_the_rest_nothing() {
        let url = "https://orbit.example/hooks/twilio/abc";
        let (body, signature) = callback(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "delivered"),
            ("AccountSid", "AC1"),
        ]);
        assert_eq!(
            parse_receipts(url, &body, Some(&signature), "token"),
            Ok(vec![Receipt {
                provider_message_id: "SM1".into(),
                status: ReceiptStatus::Delivered,
                detail: None,
            }])
        );
        let (body, signature) = callback(&[
            ("MessageSid", "SM2"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]);
        assert_eq!(
            parse_receipts(url, &body, Some(&signature), "token"),
            Ok(vec![Receipt {
                provider_message_id: "SM2".into(),
                status: ReceiptStatus::Failed,
                detail: Some("undelivered: 30003".into()),
            }])
        );
        let (body, signature) = callback(&[("MessageSid", "SM3"), ("MessageStatus", "sent")]);
        assert_eq!(parse_receipts(url, &body, Some(&signature), "token"), Ok(vec![]));
    }

    #[test]
    fn an_unsigned_or_forged_callback_is_refused() {
        let url = "https://orbit.example/hooks/twilio/abc";
        let (body, signature) = callback(&[("MessageSid", "SM1"), ("MessageStatus", "delivered")]);
        assert_eq!(
            parse_receipts(url, &body, None, "token"),
            Err(ReceiptError::BadSignature)
        );
        assert_eq!(
            parse_receipts(url, &body, Some(&signature), "other-token"),
            Err(ReceiptError::BadSignature)
        );
        let (body, signature) = callback(&[("MessageStatus", "delivered")]);
        assert!(matches!(
            parse_receipts(url, &body, Some(&signature), "token"),
            Err(ReceiptError::Malformed(_))
        ));
    }
}
