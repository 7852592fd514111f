//! Effects that leave Orbit: a journey's webhook, and staff notices by email through
//! the workspace's SMTP account or as a signed POST. Each carries its effect id as the
//! key receivers deduplicate on (a webhook's `Idempotency-Key`, an email's
//! `Message-ID`), so the repeat a crash between doing and marking done causes is one
//! they can recognise.
//!
//! Posts are signed with the workspace's webhook account (its default, else its only
//! one): its secret, headers and timeout, the node's URL, the same egress guard.
//!
//! They are done by their own worker (the outbound lane of the outbox), never by the
//! runner's loop, so a receiver that is slow or down delays no journey's step, no
//! message and not the server's start. Transient failures (5xx, 408/425/429,
//! timeouts, refused connections) are retried within the round, a few times with
//! backoff, and then given up and logged: leaving the effect pending instead would
//! not wait for anything, as the outbox has no due time per effect, so the very next
//! round would take it again at once, ahead of every newer post. A round's effects go
//! out concurrently, so one slow receiver holds up none of the others' deliveries.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use orbit_channels::{
    Connector, Content, EmailContent, OutboundMessage, Recipient, SendError, WebhookContent,
};
use orbit_core::ChannelId;
use orbit_core::journey::{
    Action, JourneyDefinition, JourneyEvent, JourneyProblem, StaffAddress, StaffTarget, Step,
};
use orbit_core::messaging::{Channel, CompiledTemplate, TemplateContent};
use orbit_core::profile::Profile;
use orbit_store::JourneyEffectRecord;
use serde_json::{Value, json};

use super::JourneyRunner;
use crate::EngineError;
use crate::delivery::Account;
use crate::delivery::content::render_context;

/// Outbound effects in flight at once within a round.
const AT_ONCE: usize = 16;
/// Tries per effect, the first included.
const ATTEMPTS: u32 = 4;
/// The wait before the first retry; each next one waits twice as long.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest a receiver's `Retry-After` makes a retry wait: the round waits with it.
const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// The entry an effect was decided in, as posts and notices show it.
struct EntryFacts {
    id: String,
    event: Option<JourneyEvent>,
}

impl JourneyRunner {
    /// Does a round's webhooks and staff notices, concurrently.
    pub(super) async fn do_outbound(&self, records: &[&JourneyEffectRecord]) -> Result<(), EngineError> {
        // Made before they are streamed: a closure inside the stream trips the
        // compiler's higher-ranked `Send` check of the runner's spawned future.
        let mut started = Vec::with_capacity(records.len());
        for record in records {
            started.push(self.outbound(record));
        }
        let outcomes: Vec<Result<(), EngineError>> = futures::stream::iter(started)
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        outcomes.into_iter().collect()
    }

    /// One webhook or notice. What cannot be sent (no account, no address, a refused
    /// URL, a receiver's 4xx) is logged and not retried: retrying would not help.
    async fn outbound(&self, record: &JourneyEffectRecord) -> Result<(), EngineError> {
        let origin = &record.effect.origin;
        // An erased person's data goes nowhere.
        let Some(profile) = self.pipeline.profile(&record.workspace_id, record.profile_id) else {
            tracing::warn!(%origin, "a journey's webhook or notice is about a person who is no longer here; not sent");
            return Ok(());
        };
        let entry = self.entry_facts(record).await?;
        match &record.effect.action {
            Action::Webhook { url } => {
                let body = document(record, &profile, &entry, "journey_webhook");
                self.post(record, url, body).await;
            }
            Action::NotifyStaff { to, subject, account } => match to {
                StaffTarget::Missing { from } => {
                    tracing::warn!(%origin, %from, "a staff notice has no address to go to: the {from} holds none; not sent");
                }
                StaffTarget::Email { address } => {
                    let subject = self.subject(record, &profile, &entry, subject);
                    self.email_staff(record, &profile, &entry, address, subject, account.as_ref())
                        .await;
                }
                StaffTarget::Webhook { url } => {
                    let mut body = document(record, &profile, &entry, "staff_notice");
                    body["subject"] = Value::String(self.subject(record, &profile, &entry, subject));
                    self.post(record, url, body).await;
                }
            },
            other => {
                tracing::error!(action = ?other, %origin, "not an outbound journey effect");
            }
        }
        Ok(())
    }

    /// The entry's id, read back from the origin, and the event that made it.
    async fn entry_facts(&self, record: &JourneyEffectRecord) -> Result<EntryFacts, EngineError> {
        let id = entry_of(&record.effect.origin).unwrap_or_default().to_owned();
        let event = self
            .stores
            .journey_runs
            .profile_runs(&record.workspace_id, record.profile_id)
            .await?
            .into_iter()
            .find(|stored| stored.run.journey == record.journey_id && stored.run.entry == id)
            .and_then(|stored| stored.run.entry_event);
        Ok(EntryFacts { id, event })
    }

    /// A signed POST of `body` to `url`, keyed by the effect's id.
    async fn post(&self, record: &JourneyEffectRecord, url: &str, body: Value) {
        let origin = &record.effect.origin;
        let (account, connector) = match self.delivery.webhook_to(&record.workspace_id, url) {
            Ok(Some(found)) => found,
            Ok(None) => {
                tracing::warn!(%origin, %url, "no webhook account in the workspace to sign a journey's post with; not sent");
                return;
            }
            Err(error) => {
                tracing::warn!(%origin, %url, %error, "a journey's webhook URL cannot be posted to; not sent");
                return;
            }
        };
        let message = OutboundMessage {
            send_id: record.id.clone(),
            recipient: Recipient {
                profile_id: record.profile_id.to_string(),
                address: url.to_owned(),
            },
            content: Content::Webhook(WebhookContent { body }),
        };
        send_retrying(record, "webhook", &account, &connector, &message).await;
    }

    /// An email to a member of staff through the named email account, else the
    /// workspace's default or only one.
    async fn email_staff(
        &self,
        record: &JourneyEffectRecord,
        profile: &Profile,
        entry: &EntryFacts,
        address: &str,
        subject: String,
        named: Option<&ChannelId>,
    ) {
        let Some(account) = self
            .delivery
            .resolve_account(&record.workspace_id, Channel::Email, named)
        else {
            tracing::warn!(origin = %record.effect.origin, account = ?named, "no email account to send a staff notice through; not sent");
            return;
        };
        let text = notice_text(record, profile, entry, &subject);
        let message = OutboundMessage {
            send_id: record.id.clone(),
            recipient: Recipient {
                profile_id: profile.id.to_string(),
                address: address.to_owned(),
            },
            content: Content::Email(EmailContent {
                subject,
                html: None,
                text,
                unsubscribe_url: None,
            }),
        };
        send_retrying(
            record,
            "staff email",
            &account,
            account.connector.as_ref(),
            &message,
        )
        .await;
    }

    /// The notice's subject rendered as templates render: `profile`, `tags`, `event`
    /// (the entry event's properties) and `journey`. One that does not render (a
    /// variable the person lacks) goes out as written rather than not at all.
    fn subject(
        &self,
        record: &JourneyEffectRecord,
        profile: &Profile,
        entry: &EntryFacts,
        source: &str,
    ) -> String {
        let tags = self
            .pipeline
            .with_audience(&record.workspace_id, |index| {
                index.map(|index| index.tags_document(profile.id))
            })
            .unwrap_or_default();
        let mut context = render_context(profile, tags, None, &record.id, "");
        if let Some(fields) = context.as_object_mut() {
            // A notice to staff has no unsubscribe link.
            fields.remove("unsubscribe_url");
            fields.insert(
                "event".to_owned(),
                Value::Object(
                    entry
                        .event
                        .as_ref()
                        .map(|e| e.properties.clone())
                        .unwrap_or_default(),
                ),
            );
            fields.insert(
                "journey".to_owned(),
                json!({"id": record.journey_id, "version": record.version,
                       "node": record.effect.node, "entry": entry.id}),
            );
        }
        let content = TemplateContent::Email {
            subject: source.to_owned(),
            html: None,
            text: String::new(),
        };
        match CompiledTemplate::compile(content, &BTreeMap::new()).and_then(|t| t.render(&context)) {
            Ok(TemplateContent::Email { subject, .. }) => subject,
            Ok(_) => source.to_owned(),
            Err(error) => {
                tracing::warn!(origin = %record.effect.origin, %error, "a staff notice's subject did not render; sent as written");
                source.to_owned()
            }
        }
    }

    /// The publication problems of the URLs a definition posts to that the egress
    /// policy refuses, named as provider webhooks' are. A malformed URL is
    /// validation's to name.
    pub(crate) async fn url_problems(&self, definition: &JourneyDefinition) -> Vec<JourneyProblem> {
        let mut problems = Vec::new();
        for (node, step) in &definition.nodes {
            let (field, url) = match step {
                Step::Webhook { url, .. } => ("url", url),
                Step::NotifyStaff {
                    to: StaffAddress::Webhook { url },
                    ..
                } => ("to.url", url),
                _ => continue,
            };
            if url::Url::parse(url).is_err() {
                continue;
            }
            if let Some(message) = self.delivery.egress_refusal(url).await {
                problems.push(JourneyProblem {
                    node: Some(node.clone()),
                    field: field.to_owned(),
                    message,
                });
            }
        }
        problems
    }
}

/// Sends `message`, retrying what the connector calls retryable; logs the outcome.
/// An ambiguous answer (an email that may have gone) is not repeated.
async fn send_retrying(
    record: &JourneyEffectRecord,
    what: &str,
    account: &Account,
    connector: &dyn Connector,
    message: &OutboundMessage,
) {
    let origin = &record.effect.origin;
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        account.ready().await;
        match connector.send(message).await {
            Ok(_) => {
                tracing::debug!(%origin, account = %account.id, attempt, "a journey's {what} went out");
                return;
            }
            Err(SendError::Retryable {
                code,
                message: reason,
                retry_after_ms,
            }) if attempt < ATTEMPTS => {
                tracing::debug!(%origin, %code, %reason, attempt, "a journey's {what} is retried");
                let asked = Duration::from_millis(retry_after_ms.unwrap_or(0));
                // Wall-clock pauses between tries, not product time.
                tokio::time::sleep(backoff.max(asked).min(LONGEST_WAIT)).await;
                backoff = backoff.saturating_mul(2);
            }
            Err(error) => {
                tracing::warn!(%origin, account = %account.id, %error, attempts = attempt, "a journey's {what} was not delivered");
                return;
            }
        }
    }
}

/// The JSON document a journey posts: the journey, version, node and entry, the
/// person, and the event that brought them in.
fn document(record: &JourneyEffectRecord, profile: &Profile, entry: &EntryFacts, kind: &str) -> Value {
    json!({
        "type": kind,
        "id": record.id,
        "journey": record.journey_id,
        "version": record.version,
        "node": record.effect.node,
        "entry": entry.id,
        "profile_id": profile.id.to_string(),
        "identities": profile.identities,
        "traits": profile.traits.to_object(),
        "entry_event": entry.event,
        "decided_at": record.created_at,
    })
}

/// A staff email's text: the subject, then who it is about and how they got here.
fn notice_text(record: &JourneyEffectRecord, profile: &Profile, entry: &EntryFacts, subject: &str) -> String {
    let mut text = format!(
        "{subject}\n\nJourney {} (version {}), node {}, entry {}\nPerson {}\n",
        record.journey_id, record.version, record.effect.node, entry.id, profile.id
    );
    for identity in &profile.identities {
        text.push_str(&format!("  {}: {}\n", identity.kind, identity.value));
    }
    let traits = Value::Object(profile.traits.to_object());
    text.push_str(&format!("Traits: {traits}\n"));
    if let Some(event) = &entry.event {
        let properties = Value::Object(event.properties.clone());
        text.push_str(&format!(
            "Entry event: {} at {}: {properties}\n",
            event.name, event.at
        ));
    }
    text
}

/// The entry part of an origin `journey:{id}:v{version}:{node}:{entry}:{step}`.
fn entry_of(origin: &str) -> Option<&str> {
    let rest = origin.splitn(5, ':').nth(4)?;
    rest.rsplit_once(':').map(|(entry, _)| entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_reads_back_from_an_origin() {
        assert_eq!(entry_of("journey:test-drive:v3:no-show:4711:6"), Some("4711"));
        assert_eq!(entry_of("journey:test-drive:v3:no-show"), None);
    }
}
