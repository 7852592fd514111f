//! Building the RFC 5322 message: what every receiving mail system reads.
//!
//! Bodies are always 7-bit on the wire (quoted-printable or base64 when needed), so
//! the message passes through relays without `8BITMIME`; headers with Chinese text are
//! RFC 2047 encoded, and a CR or LF in any value is encoded rather than written, so a
//! subject cannot inject a header.

use std::time::SystemTime;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};

use crate::connector::{EmailContent, SendError};

/// RFC 2369: where the recipient unsubscribes.
const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
/// RFC 8058: the unsubscribe URL takes a one-click POST.
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");
/// The send ledger's id, so a bounce or a complaint can be traced to its send.
const ORBIT_SEND_ID: HeaderName = HeaderName::new_from_ascii_str("X-Orbit-Send-Id");

/// Header lines are limited to 998 characters (RFC 5322 §2.1.1); a URL cannot be
/// folded, so a longer one would be cut by relays.
const MAX_UNSUBSCRIBE_URL: usize = 900;

/// Who a message is from.
#[derive(Debug, Clone)]
pub(super) struct Sender {
    pub(super) from: Mailbox,
    pub(super) reply_to: Option<Mailbox>,
}

/// A message ready for the relay.
pub(super) struct Built {
    pub(super) envelope: lettre::address::Envelope,
    pub(super) formatted: Vec<u8>,
    /// The `Message-ID`, without its angle brackets.
    pub(super) message_id: String,
}

/// The `Message-ID` of the message with this send id from this sender, without angle
/// brackets.
///
/// The same send id always gives the same id, so a message sent twice (after an
/// ambiguous failure) is recognisable as one by receiving systems and by us. Send ids
/// made of letters, digits, `-`, `_` and `.` are used as they are; others are hashed
/// so the id stays a valid `dot-atom` (RFC 5322 §3.6.4).
pub fn message_id(send_id: &str, from: &Address) -> String {
    let readable = !send_id.is_empty()
        && send_id.len() <= 128
        && send_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !send_id.starts_with('.')
        && !send_id.ends_with('.')
        && !send_id.contains("..");
    let left = if readable {
        format!("orbit.{send_id}")
    } else {
        let digest = Sha256::digest(send_id.as_bytes());
        format!("orbit.h{}", hex::encode(&digest[..16]))
    };
    format!("{left}@{}", from.domain())
}

/// Builds the message for `recipient`.
///
/// # Errors
/// Permanent: an invalid recipient address or unsubscribe URL will not become valid
/// on a retry.
pub(super) fn build(
    sender: &Sender,
    recipient: &str,
    send_id: &str,
    content: &EmailContent,
    date: SystemTime,
) -> Result<Built, SendError> {
    let to: Address = recipient
        .trim()
        .parse()
        .map_err(|e| SendError::permanent("invalid_address", format!("{recipient}: not an address: {e}")))?;
    let message_id = message_id(send_id, &sender.from.email);
    let mut builder = Message::builder()
        .from(sender.from.clone())
        .to(Mailbox::new(None, to))
        .subject(content.subject.as_str())
        .date(date)
        .message_id(Some(format!("<{message_id}>")))
        .raw_header(HeaderValue::new(ORBIT_SEND_ID, send_id.to_owned()));
    if let Some(reply_to) = &sender.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    if let Some(url) = &content.unsubscribe_url {
        let unsubscribe = Unsubscribe::parse(url)?;
        builder = builder.raw_header(HeaderValue::new(
            LIST_UNSUBSCRIBE,
            format!("<{}>", unsubscribe.url),
        ));
        if unsubscribe.one_click {
            builder = builder.raw_header(HeaderValue::new(
                LIST_UNSUBSCRIBE_POST,
                "List-Unsubscribe=One-Click".to_owned(),
            ));
        }
    }
    let message = match &content.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            content.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(content.text.clone())),
    }
    .map_err(|e| SendError::permanent("message", e.to_string()))?;
    Ok(Built {
        envelope: message.envelope().clone(),
        formatted: message.formatted(),
        message_id,
    })
}

/// A checked `List-Unsubscribe` target.
struct Unsubscribe {
    url: url::Url,
    /// RFC 8058 one-click applies to HTTPS URIs only.
    one_click: bool,
}

impl Unsubscribe {
    fn parse(raw: &str) -> Result<Self, SendError> {
        let bad = |m: &str| SendError::permanent("unsubscribe_url", format!("{raw}: {m}"));
        let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
        let one_click = match url.scheme() {
            "https" => true,
            "http" | "mailto" => false,
            _ => return Err(bad("use an https, http or mailto URL")),
        };
        // `Url` percent-encodes and punycodes, so the header value is plain ASCII and
        // is written as is, never RFC 2047 encoded (which would break the URL).
        if url.as_str().len() > MAX_UNSUBSCRIBE_URL {
            return Err(bad("longer than 900 characters"));
        }
        Ok(Self { url, one_click })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender {
            from: Mailbox::new(
                Some("橙子商城".to_owned()),
                "news@mail.example.cn".parse().expect("address"),
            ),
            reply_to: Some("客服 <help@example.cn>".parse().expect("mailbox")),
        }
    }

    fn content(html: Option<&str>, unsubscribe: Option<&str>) -> EmailContent {
        EmailContent {
            subject: "双十一专享：全场五折".to_owned(),
            html: html.map(str::to_owned),
            text: "您好，活动今晚开始。".to_owned(),
            unsubscribe_url: unsubscribe.map(str::to_owned),
        }
    }

    fn raw(built: &Built) -> String {
        String::from_utf8(built.formatted.clone()).expect("7-bit message")
    }

    #[test]
    fn message_ids_are_deterministic_and_always_valid() {
        let from: Address = "news@mail.example.cn".parse().expect("address");
        assert_eq!(
            message_id("0192f1c2-7d3e-7a10-9c4b-1f2e3d4c5b6a", &from),
            "orbit.0192f1c2-7d3e-7a10-9c4b-1f2e3d4c5b6a@mail.example.cn"
        );
        let odd = message_id("camp 7/步骤<3>", &from);
        assert_eq!(odd, message_id("camp 7/步骤<3>", &from));
        assert_ne!(odd, message_id("camp 7/步骤<4>", &from));
        let left = odd.split('@').next().expect("left part");
        assert!(
            left.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'),
            "{odd}"
        );
        assert!(message_id("..", &from).starts_with("orbit.h"));
    }

    #[test]
    fn the_message_is_seven_bit_with_encoded_chinese_headers() {
        let date = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let built = build(
            &sender(),
            "li.lei@example.com",
            "s-1",
            &content(Some("<p>您好</p>"), None),
            date,
        )
        .expect("built");
        let raw = raw(&built);
        assert!(raw.is_ascii());
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
        assert!(raw.contains("From: =?utf-8?"), "{raw}");
        assert!(raw.contains("Message-ID: <orbit.s-1@mail.example.cn>"), "{raw}");
        assert!(raw.contains("X-Orbit-Send-Id: s-1"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("Date: Tue, 14 Nov 2023 22:13:20 +0000"), "{raw}");
        assert!(!raw.contains("List-Unsubscribe"), "{raw}");
        assert_eq!(built.message_id, "orbit.s-1@mail.example.cn");
        let to: Vec<String> = built.envelope.to().iter().map(ToString::to_string).collect();
        assert_eq!(to, ["li.lei@example.com"]);
        assert_eq!(
            built.envelope.from().map(ToString::to_string).as_deref(),
            Some("news@mail.example.cn")
        );
    }

    #[test]
    fn text_only_content_is_a_single_plain_part() {
        let built = build(
            &sender(),
            "a@example.com",
            "s-2",
            &content(None, None),
            SystemTime::UNIX_EPOCH,
        )
        .expect("built");
        let raw = raw(&built);
        assert!(!raw.contains("multipart"), "{raw}");
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
    }

    #[test]
    fn one_click_unsubscribe_is_offered_for_https_only() {
        let https = build(
            &sender(),
            "a@example.com",
            "s-3",
            &content(None, Some("https://e.example.cn/u/abc?t=1")),
            SystemTime::UNIX_EPOCH,
        )
        .expect("built");
        let raw_https = raw(&https);
        assert!(raw_https.contains("List-Unsubscribe: <https://e.example.cn/u/abc?t=1>"));
        assert!(raw_https.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));

        let mailto = build(
            &sender(),
            "a@example.com",
            "s-3",
            &content(None, Some("mailto:unsubscribe@example.cn")),
            SystemTime::UNIX_EPOCH,
        )
        .expect("built");
        let raw_mailto = raw(&mailto);
        assert!(raw_mailto.contains("List-Unsubscribe: <mailto:unsubscribe@example.cn>"));
        assert!(!raw_mailto.contains("List-Unsubscribe-Post"));
    }

    #[test]
    fn bad_addresses_and_urls_are_permanent_and_headers_cannot_be_injected() {
        let err = build(
            &sender(),
            "not-an-address",
            "s",
            &content(None, None),
            SystemTime::UNIX_EPOCH,
        )
        .err()
        .expect("refused");
        assert!(matches!(err, SendError::Permanent { ref code, .. } if code == "invalid_address"));
        let err = build(
            &sender(),
            "a@example.com",
            "s",
            &content(None, Some("javascript:alert(1)")),
            SystemTime::UNIX_EPOCH,
        )
        .err()
        .expect("refused");
        assert!(matches!(err, SendError::Permanent { ref code, .. } if code == "unsubscribe_url"));

        let mut injected = content(None, None);
        injected.subject = "hi\r\nBcc: victim@example.com".to_owned();
        let built = build(&sender(), "a@example.com", "s", &injected, SystemTime::UNIX_EPOCH).expect("built");
        assert!(!raw(&built).contains("\r\nBcc:"));
    }
}
