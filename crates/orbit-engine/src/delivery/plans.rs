//! What a ledger row is sent with: its campaign's variants, or the messages of the
//! journey node that decided it, with their templates compiled once per round.

use std::collections::HashMap;
use std::sync::Arc;

use orbit_core::journey::{Step, parse_journey_origin};
use orbit_core::messaging::{
    CampaignMessage, CampaignState, ClassName, CompiledTemplate, DEFAULT_TOPIC, MessageClass,
};
use orbit_core::{CampaignId, JourneyId, NodeId, TemplateId, WorkspaceId};
use orbit_store::{SendRecord, Stores};

use crate::EngineError;

/// Where a row's content comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum PlanSource {
    /// A campaign's variants.
    Campaign(CampaignId),
    /// A send node of a journey version.
    Journey(JourneyId, u32, NodeId),
    /// Neither: the row's origin names nothing Orbit knows.
    Unknown,
}

impl PlanSource {
    /// The source of a row.
    pub(super) fn of(row: &SendRecord) -> Self {
        match (&row.send.campaign_id, parse_journey_origin(&row.send.origin)) {
            (Some(campaign), _) => Self::Campaign(campaign.clone()),
            (None, Some((journey, version, node))) => Self::Journey(journey, version, node),
            (None, None) => Self::Unknown,
        }
    }
}

/// What a round needs to send a row, loaded once per round and source.
pub(super) struct MessagePlan {
    /// Messages per variant name, in channel priority order; a journey node's under "".
    pub(super) variants: HashMap<String, Vec<CampaignMessage>>,
    /// Marketing (with its topic) or transactional.
    pub(super) class: MessageClass,
    /// Cancelled since the row was written: it never goes.
    pub(super) cancelled: bool,
    /// The templates the messages name, compiled.
    pub(super) templates: HashMap<TemplateId, Arc<CompiledTemplate>>,
}

impl MessagePlan {
    /// The messages of a row's variant.
    pub(super) fn messages(&self, variant: Option<&str>) -> Option<&[CampaignMessage]> {
        self.variants.get(variant.unwrap_or("")).map(Vec::as_slice)
    }
}

/// Reads the plan of a source; none when what it names is gone.
pub(super) async fn read_plan(
    stores: &Stores,
    workspace: &WorkspaceId,
    source: &PlanSource,
) -> Result<Option<MessagePlan>, EngineError> {
    let (variants, class, cancelled) = match source {
        PlanSource::Unknown => return Ok(None),
        PlanSource::Campaign(id) => {
            let Some(record) = stores.campaigns.campaign(workspace, id).await? else {
                return Ok(None);
            };
            let variants = record
                .definition
                .variants
                .iter()
                .map(|v| (v.name.clone(), v.messages.clone()))
                .collect();
            (
                variants,
                record.definition.message_class(),
                record.lifecycle.state == CampaignState::Cancelled,
            )
        }
        PlanSource::Journey(id, version, node) => {
            let Some(published) = stores.journeys.journey_version(workspace, id, *version).await? else {
                return Ok(None);
            };
            let Some(Step::Send {
                messages,
                class,
                topic,
                ..
            }) = published.definition.nodes.get(node)
            else {
                return Ok(None);
            };
            let class = match class {
                ClassName::Transactional => MessageClass::Transactional,
                ClassName::Marketing => MessageClass::Marketing {
                    topic: topic.clone().unwrap_or_else(|| DEFAULT_TOPIC.to_owned()),
                },
            };
            let messages = messages
                .iter()
                .map(|m| CampaignMessage {
                    template: m.template.clone(),
                    account: m.account.clone(),
                })
                .collect();
            (HashMap::from([(String::new(), messages)]), class, false)
        }
    };
    let mut templates = HashMap::new();
    for message in variants.values().flatten() {
        if templates.contains_key(&message.template) {
            continue;
        }
        let Some(stored) = stores.templates.template(workspace, &message.template).await? else {
            continue;
        };
        match CompiledTemplate::compile(stored.content, &stored.defaults) {
            Ok(compiled) => {
                templates.insert(message.template.clone(), Arc::new(compiled));
            }
            Err(e) => tracing::warn!(template = %message.template, error = %e, "template does not compile"),
        }
    }
    Ok(Some(MessagePlan {
        variants,
        class,
        cancelled,
        templates,
    }))
}
