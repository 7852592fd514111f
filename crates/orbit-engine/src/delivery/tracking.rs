//! Tracked links: the open pixel, click redirects, unsubscribe links and provider
//! receipt URLs, each a signed token under the server's public URL.
//!
//! A token carries what it stands for (the workspace, the message or account, the
//! destination of a click) and a keyed BLAKE3 tag, so the server keeps no table of
//! links, a link works after a restart, and nobody can forge a redirect to a place
//! a message never linked to or unsubscribe someone else.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orbit_core::messaging::LinkTracker;
use orbit_core::{ChannelId, WorkspaceId};

/// The format version every token starts with.
const VERSION: u8 = 1;
/// Bytes of the tag kept: forging one takes 2¹²⁸ guesses.
const TAG_LEN: usize = 16;
/// A send id is 32 hex characters, kept in the token as 16 bytes.
const SEND_ID_BYTES: usize = 16;

/// What a tracking token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracked {
    /// The open pixel of a message.
    Open {
        /// The workspace.
        workspace: WorkspaceId,
        /// The ledger row.
        send_id: String,
    },
    /// A link in a message, leading to `url`.
    Click {
        /// The workspace.
        workspace: WorkspaceId,
        /// The ledger row.
        send_id: String,
        /// Where the link leads.
        url: String,
    },
    /// The unsubscribe link of a message.
    Unsubscribe {
        /// The workspace.
        workspace: WorkspaceId,
        /// The ledger row.
        send_id: String,
    },
    /// Where a provider account pushes its delivery receipts.
    Receipts {
        /// The workspace.
        workspace: WorkspaceId,
        /// The account.
        account: ChannelId,
    },
}

impl Tracked {
    fn action(&self) -> u8 {
        match self {
            Tracked::Open { .. } => b'o',
            Tracked::Click { .. } => b'c',
            Tracked::Unsubscribe { .. } => b'u',
            Tracked::Receipts { .. } => b'r',
        }
    }

    /// The path segment its URL lives under (`/t/{segment}/{token}`).
    pub fn path_segment(&self) -> &'static str {
        match self {
            Tracked::Open { .. } => "o",
            Tracked::Click { .. } => "c",
            Tracked::Unsubscribe { .. } => "u",
            Tracked::Receipts { .. } => "r",
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadToken {
    /// Not a token this server made, or altered since.
    #[error("the link is not valid: it was not made by this server or was altered")]
    NotSigned,
    /// Signed, but not in a shape this version reads.
    #[error("the link is in a format this server does not read")]
    Malformed,
}

/// Makes and reads tracking tokens and the URLs they live at.
#[derive(Clone)]
pub struct TrackingLinks {
    key: [u8; 32],
    base: String,
}

impl std::fmt::Debug for TrackingLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackingLinks")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl TrackingLinks {
    /// Links under `public_url` (the address people's devices reach the server at),
    /// signed with `key`.
    pub fn new(key: [u8; 32], public_url: &str) -> Self {
        Self {
            key,
            base: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The public URL links are made under.
    pub fn public_url(&self) -> &str {
        &self.base
    }

    /// The URL a token stands at.
    pub fn url(&self, tracked: &Tracked) -> String {
        format!(
            "{}/t/{}/{}",
            self.base,
            tracked.path_segment(),
            self.token(tracked)
        )
    }

    /// Whether `url` is one of this server's tracking URLs.
    pub fn is_tracking_url(&self, url: &str) -> bool {
        url.strip_prefix(&self.base)
            .is_some_and(|rest| rest.starts_with("/t/"))
    }

    /// The signed token of `tracked`.
    pub fn token(&self, tracked: &Tracked) -> String {
        let mut payload = vec![VERSION, tracked.action()];
        match tracked {
            Tracked::Open { workspace, send_id } | Tracked::Unsubscribe { workspace, send_id } => {
                push_workspace(&mut payload, workspace);
                push_send_id(&mut payload, send_id);
            }
            Tracked::Click {
                workspace,
                send_id,
                url,
            } => {
                push_workspace(&mut payload, workspace);
                push_send_id(&mut payload, send_id);
                payload.extend_from_slice(url.as_bytes());
            }
            Tracked::Receipts { workspace, account } => {
                push_workspace(&mut payload, workspace);
                payload.extend_from_slice(account.as_str().as_bytes());
            }
        }
        let tag = self.tag(&payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Reads a token back, checking its tag first.
    pub fn read(&self, token: &str) -> Result<Tracked, BadToken> {
        let (payload, tag) = token.split_once('.').ok_or(BadToken::NotSigned)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| BadToken::NotSigned)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| BadToken::NotSigned)?;
        let expected = self.tag(&payload);
        // Compared without an early exit, so timing tells nothing about the tag.
        let matches =
            tag.len() == TAG_LEN && tag.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !matches {
            return Err(BadToken::NotSigned);
        }
        parse_payload(&payload).ok_or(BadToken::Malformed)
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG_LEN] {
        let hash = blake3::keyed_hash(&self.key, payload);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&hash.as_bytes()[..TAG_LEN]);
        tag
    }

    /// The `track_link` of one message.
    pub fn for_message(self: &Arc<Self>, workspace: &WorkspaceId, send_id: &str) -> Arc<dyn LinkTracker> {
        Arc::new(MessageLinks {
            links: self.clone(),
            workspace: workspace.clone(),
            send_id: send_id.to_owned(),
        })
    }
}

fn push_workspace(payload: &mut Vec<u8>, workspace: &WorkspaceId) {
    let name = workspace.as_str().as_bytes();
    // Workspace ids are short slugs; the length byte cannot overflow.
    payload.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
    payload.extend_from_slice(&name[..name.len().min(usize::from(u8::MAX))]);
}

fn push_send_id(payload: &mut Vec<u8>, send_id: &str) {
    match hex::decode(send_id) {
        Ok(bytes) if bytes.len() == SEND_ID_BYTES => payload.extend_from_slice(&bytes),
        // Not a ledger id: kept as text behind a zero marker, so it still reads back.
        _ => {
            payload.push(0);
            payload.push(u8::try_from(send_id.len()).unwrap_or(u8::MAX));
            payload.extend_from_slice(&send_id.as_bytes()[..send_id.len().min(usize::from(u8::MAX))]);
        }
    }
}

fn parse_payload(payload: &[u8]) -> Option<Tracked> {
    let (&version, rest) = payload.split_first()?;
    if version != VERSION {
        return None;
    }
    let (&action, rest) = rest.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let (name, rest) = rest.split_at_checked(usize::from(len))?;
    let workspace = WorkspaceId::parse(std::str::from_utf8(name).ok()?).ok()?;
    let send_id = |rest: &[u8]| -> Option<(String, usize)> {
        if rest.first() == Some(&0) {
            let len = usize::from(*rest.get(1)?);
            let text = std::str::from_utf8(rest.get(2..2 + len)?).ok()?;
            Some((text.to_owned(), 2 + len))
        } else {
            Some((hex::encode(rest.get(..SEND_ID_BYTES)?), SEND_ID_BYTES))
        }
    };
    Some(match action {
        b'o' | b'u' => {
            let (send_id, used) = send_id(rest)?;
            if used != rest.len() {
                return None;
            }
            if action == b'o' {
                Tracked::Open { workspace, send_id }
            } else {
                Tracked::Unsubscribe { workspace, send_id }
            }
        }
        b'c' => {
            let (send_id, used) = send_id(rest)?;
            let url = std::str::from_utf8(&rest[used..]).ok()?.to_owned();
            Tracked::Click {
                workspace,
                send_id,
                url,
            }
        }
        b'r' => Tracked::Receipts {
            workspace,
            account: ChannelId::parse(std::str::from_utf8(rest).ok()?).ok()?,
        },
        _ => return None,
    })
}

/// One message's links, for its templates' `track_link`.
struct MessageLinks {
    links: Arc<TrackingLinks>,
    workspace: WorkspaceId,
    send_id: String,
}

impl LinkTracker for MessageLinks {
    fn tracked(&self, url: &str) -> String {
        self.links.url(&Tracked::Click {
            workspace: self.workspace.clone(),
            send_id: self.send_id.clone(),
            url: url.to_owned(),
        })
    }
}

/// An email's HTML with every web link made a tracked link and the open pixel added:
/// at the end of `<body>`, or of the document when it has none.
///
/// Links that are not http(s), and this server's own links (the unsubscribe link,
/// links already made with `track_link`), are left as they are.
pub fn track_email_html(
    html: &str,
    links: &TrackingLinks,
    workspace: &WorkspaceId,
    send_id: &str,
) -> Result<String, String> {
    use lol_html::html_content::{ContentType, Element};
    use lol_html::{RewriteStrSettings, element, end, rewrite_str};
    use std::cell::Cell;

    let pixel = format!(
        r#"<img src="{}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">"#,
        links.url(&Tracked::Open {
            workspace: workspace.clone(),
            send_id: send_id.to_owned(),
        })
    );
    let pixel_placed = Cell::new(false);
    let settings = RewriteStrSettings::new()
        .append_element_content_handler(element!("a[href]", |el: &mut Element| {
            let Some(raw) = el.get_attribute("href") else {
                return Ok(());
            };
            let url = decode_entities(raw.trim());
            let is_web = url.starts_with("https://") || url.starts_with("http://");
            if is_web && !links.is_tracking_url(&url) {
                let tracked = links.url(&Tracked::Click {
                    workspace: workspace.clone(),
                    send_id: send_id.to_owned(),
                    url,
                });
                el.set_attribute("href", &tracked)?;
            }
            Ok(())
        }))
        .append_element_content_handler(element!("body", |el: &mut Element| {
            el.append(&pixel, ContentType::Html);
            pixel_placed.set(true);
            Ok(())
        }))
        .append_document_content_handler(end!(|end| {
            if !pixel_placed.get() {
                end.append(&pixel, ContentType::Html);
            }
            Ok(())
        }));
    rewrite_str(html, settings).map_err(|e| e.to_string())
}

/// Decodes the character references an attribute value may hold (`&amp;`, `&#38;`,
/// `&#x26;`, and the other four of XML's).
fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let name = &rest[1..end];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((ch, end + 1))
        });
        match decoded {
            Some((ch, used)) => {
                out.push(ch);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> TrackingLinks {
        TrackingLinks::new([7; 32], "https://orbit.example.cn/")
    }

    fn ws() -> WorkspaceId {
        WorkspaceId::default_workspace()
    }

    const SEND: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn every_kind_of_token_reads_back_as_what_it_was_made_for() {
        let links = links();
        for tracked in [
            Tracked::Open {
                workspace: ws(),
                send_id: SEND.into(),
            },
            Tracked::Click {
                workspace: ws(),
                send_id: SEND.into(),
                url: "https://shop.example/双十二?a=1&b=2".into(),
            },
            Tracked::Unsubscribe {
                workspace: ws(),
                send_id: "not-a-ledger-id".into(),
            },
            Tracked::Receipts {
                workspace: ws(),
                account: ChannelId::parse("aliyun").expect("id"),
            },
        ] {
            let url = links.url(&tracked);
            let prefix = format!("https://orbit.example.cn/t/{}/", tracked.path_segment());
            let token = url.strip_prefix(&prefix).expect("under the public URL");
            assert_eq!(links.read(token), Ok(tracked));
        }
    }

    #[test]
    fn altered_or_foreign_tokens_are_refused() {
        let links = links();
        let token = links.token(&Tracked::Click {
            workspace: ws(),
            send_id: SEND.into(),
            url: "https://shop.example/".into(),
        });
        let (payload, tag) = token.split_once('.').expect("two parts");
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(links.read(&altered), Err(BadToken::NotSigned));
        let other_server = TrackingLinks::new([8; 32], "https://orbit.example.cn");
        assert_eq!(other_server.read(&token), Err(BadToken::NotSigned));
        assert_eq!(links.read("nonsense"), Err(BadToken::NotSigned));
        assert_eq!(links.read(""), Err(BadToken::NotSigned));
    }

    #[test]
    fn email_links_are_tracked_and_the_pixel_is_added_once() {
        let links = links();
        let unsubscribe = links.url(&Tracked::Unsubscribe {
            workspace: ws(),
            send_id: SEND.into(),
        });
        let html = format!(
            r#"<html><body><p>亲爱的会员</p><a href="https://shop.example/sale?a=1&amp;b=2">去看看</a>
<a href="mailto:help@example.cn">联系我们</a> <a href="{unsubscribe}">退订</a></body></html>"#
        );
        let out = track_email_html(&html, &links, &ws(), SEND).expect("rewrites");
        let hrefs: Vec<&str> = out
            .split("href=\"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').expect("closing quote")])
            .collect();
        assert_eq!(hrefs.len(), 3);
        let token = hrefs[0]
            .strip_prefix("https://orbit.example.cn/t/c/")
            .expect("a click link");
        assert_eq!(
            links.read(token),
            Ok(Tracked::Click {
                workspace: ws(),
                send_id: SEND.into(),
                url: "https://shop.example/sale?a=1&b=2".into()
            })
        );
        assert_eq!(hrefs[1], "mailto:help@example.cn");
        assert_eq!(hrefs[2], unsubscribe);
        assert_eq!(out.matches("/t/o/").count(), 1);
        assert!(
            out.find("/t/o/") < out.find("</body>"),
            "the pixel is inside the body"
        );

        let fragment = track_email_html("<p>no body</p>", &links, &ws(), SEND).expect("rewrites");
        assert!(fragment.starts_with("<p>no body</p><img src=\"https://orbit.example.cn/t/o/"));
    }

    #[test]
    fn character_references_in_links_are_decoded() {
        assert_eq!(
            decode_entities("a&amp;b&#38;c&#x26;d&bogus;e&"),
            "a&b&c&d&bogus;e&"
        );
        assert_eq!(decode_entities("plain"), "plain");
    }
}
