//! What the public links messages carry do (`/t/…`): the open pixel, click
//! redirects, unsubscribes and the receipts providers push. They take no key —
//! people's phones and providers' servers call them — so each is a signed token that
//! says exactly what it may do; the routes hand over the token and what the request
//! carried, and present the answer.

use super::Delivery;
use crate::EngineError;
use crate::delivery::{Tracked, UnsubscribeScope};
use orbit_channels::receipts::{ReceiptPush, ReceiptRefused};
use orbit_channels::registry::ProviderConfig;
use orbit_core::messaging::MessageOutcome;
use orbit_core::{ChannelId, ErrorCode, Problem, WorkspaceId};
use std::sync::Arc;

/// The header a provider signs its receipt pushes in (Twilio's `X-Twilio-Signature`).
pub use orbit_channels::receipts::TWILIO_SIGNATURE_HEADER as RECEIPT_SIGNATURE_HEADER;

/// A push of delivery receipts, as the receiving route got it.
#[derive(Debug, Clone, Default)]
pub struct PushedReceipts {
    /// The query string, without the `?`.
    pub query: String,
    /// The value of [`RECEIPT_SIGNATURE_HEADER`], when the provider sent one.
    pub signature: Option<String>,
    /// The body, as pushed.
    pub body: Vec<u8>,
}

/// What to answer a provider once its receipts are recorded: anything else makes it
/// push them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptReply {
    /// The reply's content type.
    pub content_type: &'static str,
    /// The reply.
    pub body: &'static str,
}

impl Delivery {
    /// Records the first open of the message an open-pixel token names. The pixel is
    /// shown whatever happens to the record, so a reader never sees an error: a
    /// failure to record is logged here.
    ///
    /// # Errors
    /// `invalid_link` for a token that is forged or not an open pixel's.
    pub async fn record_open(&self, token: &str) -> Result<(), EngineError> {
        let Tracked::Open { workspace, send_id } = self.read_link(token, "o")? else {
            return Err(Problem::not_found("link").into());
        };
        if let Err(e) = self
            .engagements
            .record_interaction(&workspace, &send_id, MessageOutcome::Opened)
            .await
        {
            tracing::warn!(error = %e, workspace.id = %workspace, "an open could not be recorded");
        }
        Ok(())
    }

    /// Records a click of the link a click token names, and answers where it leads,
    /// percent-encoded as a `Location` header must be (a destination written with
    /// Chinese in it, say). A failure to record is logged here: the person still
    /// gets where they were going.
    ///
    /// # Errors
    /// `invalid_link` for a token that is forged or not a click's; `not_found` when
    /// the destination is not a URL.
    pub async fn record_click(&self, token: &str) -> Result<String, EngineError> {
        let Tracked::Click {
            workspace,
            send_id,
            url,
        } = self.read_link(token, "c")?
        else {
            return Err(Problem::not_found("link").into());
        };
        if let Err(e) = self
            .engagements
            .record_interaction(&workspace, &send_id, MessageOutcome::Clicked { url: url.clone() })
            .await
        {
            tracing::warn!(error = %e, workspace.id = %workspace, "a click could not be recorded");
        }
        let destination = url::Url::parse(&url).map_err(|_| Problem::not_found("link"))?;
        Ok(destination.into())
    }

    /// Checks an unsubscribe token, changing nothing: mail scanners follow links, and
    /// must not unsubscribe anyone.
    ///
    /// # Errors
    /// `invalid_link` for a token that is forged or not an unsubscribe link's.
    pub fn check_unsubscribe_link(&self, token: &str) -> Result<(), EngineError> {
        self.read_link(token, "u")?;
        Ok(())
    }

    /// Unsubscribes the person the message an unsubscribe token names went to, as the
    /// form-encoded `form` asks: from every marketing message of its channel (RFC 8058
    /// one-click, or `scope=channel`), or from its topic only (`scope=topic`).
    ///
    /// # Errors
    /// `invalid_link`; `invalid_request` (`scope`) for an unknown scope; `not_found`
    /// when the message is no longer known.
    pub async fn unsubscribe_by_link(&self, token: &str, form: &[u8]) -> Result<(), EngineError> {
        let Tracked::Unsubscribe { workspace, send_id } = self.read_link(token, "u")? else {
            return Err(Problem::not_found("link").into());
        };
        let scope = url::form_urlencoded::parse(form)
            .find(|(key, _)| key == "scope")
            .map(|(_, value)| value);
        let scope = match scope.as_deref() {
            Some("topic") => UnsubscribeScope::Topic,
            Some("channel") | None => UnsubscribeScope::Channel,
            Some(other) => {
                let message = format!("{other:?} is not a scope: give topic or channel");
                return Err(Problem::invalid("scope", message).into());
            }
        };
        self.engagements
            .unsubscribe(&workspace, &send_id, scope)
            .await?
            .ok_or_else(|| Problem::not_found("message"))?;
        Ok(())
    }

    /// Records the delivery receipts an account's provider pushed to its receipt URL,
    /// and answers what the provider expects.
    ///
    /// # Errors
    /// `invalid_link`; `not_found` once the account is gone; `bad_signature`,
    /// `malformed_receipt` or `no_receipts` for a push the account's provider would
    /// not have made.
    pub async fn record_pushed_receipts(
        &self,
        token: &str,
        push: PushedReceipts,
    ) -> Result<ReceiptReply, EngineError> {
        let tracked = self.read_link(token, "r")?;
        let Tracked::Receipts { workspace, account } = &tracked else {
            return Err(Problem::not_found("link").into());
        };
        let config = self.receipt_config(workspace, account)?;
        // Twilio signs the URL it requested: the public one, query included.
        let mut url = self.links.url(&tracked);
        if !push.query.is_empty() {
            url = format!("{url}?{}", push.query);
        }
        let batch = config
            .read_receipts(&ReceiptPush {
                url: &url,
                query: &push.query,
                signature: push.signature.as_deref(),
                body: &push.body,
            })
            .map_err(refused)?;
        let tally = self
            .engagements
            .record_receipts(workspace, &batch.receipts)
            .await?;
        if tally.unmatched > 0 {
            tracing::info!(workspace.id = %workspace, account = %account, unmatched = tally.unmatched, "receipts for messages this workspace does not know");
        }
        Ok(ReceiptReply {
            content_type: batch.content_type,
            body: batch.reply,
        })
    }

    /// Answers WeChat's check of an account's server URL: the `echostr` of `query`,
    /// when it is signed with the account's server token.
    ///
    /// # Errors
    /// `invalid_link`; `not_found` once the account is gone; `bad_signature`.
    pub fn verify_receipt_url(&self, token: &str, query: &str) -> Result<String, EngineError> {
        let Tracked::Receipts { workspace, account } = self.read_link(token, "r")? else {
            return Err(Problem::not_found("link").into());
        };
        let config = self.receipt_config(&workspace, &account)?;
        Ok(config.verify_receipt_url(query).map_err(refused)?)
    }

    /// Reads a token, refusing one that is forged or stands for something other than
    /// the route's `segment` serves.
    fn read_link(&self, token: &str, segment: &str) -> Result<Tracked, Problem> {
        let tracked = self
            .links
            .read(token)
            .map_err(|e| Problem::new(ErrorCode::InvalidLink, e.to_string()))?;
        if tracked.path_segment() != segment {
            return Err(Problem::new(ErrorCode::InvalidLink, "the link is not valid here"));
        }
        Ok(tracked)
    }

    /// The configuration of the connected account receipts are pushed for.
    fn receipt_config(
        &self,
        workspace: &WorkspaceId,
        account: &ChannelId,
    ) -> Result<Arc<ProviderConfig>, Problem> {
        self.accounts
            .get(workspace, account)
            .and_then(|a| a.config.clone())
            .ok_or_else(|| Problem::not_found("channel"))
    }
}

/// A refused push as the provider is told.
fn refused(error: ReceiptRefused) -> Problem {
    match error {
        ReceiptRefused::BadSignature => Problem::new(ErrorCode::BadSignature, error.to_string()),
        ReceiptRefused::NotSupported(_) => Problem::new(ErrorCode::NoReceipts, error.to_string()),
        ReceiptRefused::Malformed(_) => Problem::at(ErrorCode::MalformedReceipt, "body", error.to_string()),
    }
}
