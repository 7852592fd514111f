//! What WeChat pushes to an account's server URL: the signature every push carries in
//! its query string, and the XML body's fields.
//!
//! Signature: `signature = hex(sha1(concat(sort([token, timestamp, nonce]))))`, where
//! `token` is the Token of the account's server configuration
//! (<https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html>).
//! Only plaintext and compatible modes are read; safe mode's encrypted bodies are
//! refused with a message saying so.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Deserialize;
use sha1::{Digest, Sha1};

/// The largest push body read; WeChat's event pushes are a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Deeper nesting than any WeChat event has is refused rather than walked.
const MAX_DEPTH: usize = 8;

/// The query parameters WeChat signs each push with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerQuery {
    /// The hex SHA-1 signature.
    pub signature: String,
    /// The push's Unix time, as sent.
    pub timestamp: String,
    /// A random value, as sent.
    pub nonce: String,
}

/// Why a push could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The signature does not match the server Token: not from WeChat, or the Token is
    /// wrong.
    #[error("the push's signature does not match the server token")]
    BadSignature,
    /// The connector has no server Token to check signatures with.
    #[error("no server_token is configured to check the push's signature")]
    NoServerToken,
    /// The body is larger than any WeChat event.
    #[error("the push body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// Safe mode: the body is encrypted.
    #[error(
        "the push is encrypted (safe mode); set the server configuration to plaintext or compatible mode"
    )]
    Encrypted,
    /// The body is not the XML WeChat sends.
    #[error("malformed push: {0}")]
    Malformed(String),
}

/// Whether `signature` is WeChat's signature of `timestamp` and `nonce` under `token`.
pub fn verify_server_signature(token: &str, timestamp: &str, nonce: &str, signature: &str) -> bool {
    let expected = server_signature(token, timestamp, nonce);
    constant_time_eq(expected.as_bytes(), signature.to_ascii_lowercase().as_bytes())
}

/// WeChat's signature of a push: the hex SHA-1 of the three values sorted and joined.
pub fn server_signature(token: &str, timestamp: &str, nonce: &str) -> String {
    let mut parts = [token, timestamp, nonce];
    parts.sort_unstable();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a push's signature and size before its body is read.
pub(crate) fn check_push(
    server_token: Option<&str>,
    query: &ServerQuery,
    body: &str,
) -> Result<(), ReceiptError> {
    let token = server_token.ok_or(ReceiptError::NoServerToken)?;
    if !verify_server_signature(token, &query.timestamp, &query.nonce, &query.signature) {
        return Err(ReceiptError::BadSignature);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(ReceiptError::TooLarge);
    }
    Ok(())
}

/// The elements of a push body in document order, each as its path below the root
/// `<xml>` element (`MsgID`, `SubscribeMsgSentEvent/List/MsgID`) and its text. Every
/// element is listed when it closes, so a container follows its children.
pub(crate) fn read_fields(body: &str) -> Result<Vec<(String, String)>, ReceiptError> {
    // Text is trimmed once per element, not per piece: a piece ends at every entity
    // reference, and trimming pieces would eat the spaces around `&amp;`.
    let mut reader = Reader::from_str(body);
    let mut path: Vec<String> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut fields = Vec::new();
    let malformed = |e: &dyn std::fmt::Display| ReceiptError::Malformed(e.to_string());
    loop {
        match reader.read_event().map_err(|e| malformed(&e))? {
            Event::Start(start) => {
                if path.len() >= MAX_DEPTH {
                    return Err(ReceiptError::Malformed("nested too deep".to_owned()));
                }
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                if path.is_empty() && name != "xml" {
                    return Err(ReceiptError::Malformed(format!(
                        "the root element is <{name}>, not <xml>"
                    )));
                }
                path.push(name);
                texts.push(String::new());
            }
            Event::Empty(empty) => {
                let name = String::from_utf8_lossy(empty.name().as_ref()).into_owned();
                if !path.is_empty() {
                    fields.push((joined(&path[1..], &name), String::new()));
                }
            }
            Event::Text(text) => {
                if let Some(current) = texts.last_mut() {
                    current.push_str(&text.decode().map_err(|e| malformed(&e))?);
                }
            }
            Event::CData(data) => {
                if let Some(current) = texts.last_mut() {
                    current.push_str(&data.decode().map_err(|e| malformed(&e))?);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| malformed(&e))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference.decode().map_err(|e| malformed(&e))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| malformed(&format!("unknown entity &{name};")))?
                            .to_owned()
                    }
                };
                if let Some(current) = texts.last_mut() {
                    current.push_str(&resolved);
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let text = texts.pop().unwrap_or_default();
                if !path.is_empty() {
                    fields.push((joined(&path[1..], &name), text.trim().to_owned()));
                }
            }
            Event::DocType(_) => {
                return Err(ReceiptError::Malformed("a DOCTYPE is not expected".to_owned()));
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !path.is_empty() {
        return Err(ReceiptError::Malformed(
            "the body ends inside an element".to_owned(),
        ));
    }
    Ok(fields)
}

fn joined(parents: &[String], name: &str) -> String {
    let mut path = parents.join("/");
    if !path.is_empty() {
        path.push('/');
    }
    path.push_str(name);
    path
}

/// The text of the first field at `path`.
pub(crate) fn field<'a>(fields: &'a [(String, String)], path: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, text)| text.as_str())
}

/// Refuses a safe-mode body, which carries only the recipient and `Encrypt`.
pub(crate) fn refuse_encrypted(fields: &[(String, String)]) -> Result<(), ReceiptError> {
    let encrypted_only = field(fields, "Encrypt").is_some() && field(fields, "MsgType").is_none();
    if encrypted_only {
        Err(ReceiptError::Encrypted)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_sha1_of_the_sorted_values() {
        // printf %s 14096595891409659813orbitToken | sha1sum  (the three values sorted as strings)
        let expected = "ed45cd9f23d03eab57e169b839a59e70fbc811d0";
        assert_eq!(
            server_signature("orbitToken", "1409659813", "1409659589"),
            expected
        );
        assert!(verify_server_signature(
            "orbitToken",
            "1409659813",
            "1409659589",
            expected
        ));
        assert!(verify_server_signature(
            "orbitToken",
            "1409659813",
            "1409659589",
            &expected.to_uppercase()
        ));
        assert!(!verify_server_signature(
            "otherToken",
            "1409659813",
            "1409659589",
            expected
        ));
        assert!(!verify_server_signature(
            "orbitToken",
            "1409659814",
            "1409659589",
            expected
        ));
    }

    #[test]
    fn fields_are_read_with_cdata_entities_and_nesting() {
        let body = "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>\
            <CreateTime>1395658920</CreateTime><Note>a &amp; b &#x4E2D;</Note>\
            <Outer><List><Id>1</Id></List><List><Id>2</Id></List></Outer></xml>";
        let fields = read_fields(body).expect("fields");
        assert_eq!(
            fields,
            vec![
                ("ToUserName".to_owned(), "gh_7f083739789a".to_owned()),
                ("CreateTime".to_owned(), "1395658920".to_owned()),
                ("Note".to_owned(), "a & b 中".to_owned()),
                ("Outer/List/Id".to_owned(), "1".to_owned()),
                ("Outer/List".to_owned(), String::new()),
                ("Outer/List/Id".to_owned(), "2".to_owned()),
                ("Outer/List".to_owned(), String::new()),
                ("Outer".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn bodies_that_are_not_wechat_xml_are_refused() {
        assert!(matches!(
            read_fields("<rss></rss>"),
            Err(ReceiptError::Malformed(_))
        ));
        assert!(matches!(read_fields("<xml><a>"), Err(ReceiptError::Malformed(_))));
        assert!(matches!(
            read_fields("<!DOCTYPE x [<!ENTITY a \"b\">]><xml/>"),
            Err(ReceiptError::Malformed(_))
        ));
        let deep = format!("<xml>{}{}</xml>", "<a>".repeat(10), "</a>".repeat(10));
        assert!(matches!(read_fields(&deep), Err(ReceiptError::Malformed(_))));
        let encrypted =
            read_fields("<xml><ToUserName>gh</ToUserName><Encrypt>abc</Encrypt></xml>").expect("fields");
        assert_eq!(refuse_encrypted(&encrypted), Err(ReceiptError::Encrypted));
    }
}
