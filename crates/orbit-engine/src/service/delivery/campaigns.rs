//! Broadcast campaigns (`/v1/campaigns`): definitions checked against the workspace,
//! their life cycle (launch, pause, resume, cancel) and their report.

use super::Delivery;
use crate::EngineError;
use crate::delivery::CampaignError;
use jiff::Timestamp;
use orbit_core::messaging::campaign::Lifecycle;
use orbit_core::messaging::{
    CampaignDefinition, CampaignState, CampaignVariant, ChannelPolicy, ClassName, DEFAULT_TOPIC, LineState,
    ReportLine, Schedule, VariantTally, tally_report,
};
use orbit_core::{CampaignId, ErrorCode, Problem, SegmentId, WorkspaceId};
use orbit_store::{CampaignRecord, ReportRow, SendState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A campaign as it is written (`POST /v1/campaigns`, `PUT /v1/campaigns/{id}`): an
/// optional id beside its definition.
// The definition's fields are spelt out rather than flattened in: a flattened
// definition would neither refuse unknown fields nor name the field that is wrong.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignDraft {
    /// `[a-z0-9_-]`, 1–64; one is made up (`campaign-…`) on create when left out. On
    /// `PUT` it must match the path.
    #[serde(default)]
    #[schema(example = "double-12")]
    pub id: Option<String>,
    /// A name people recognise, not blank.
    #[schema(example = "双十二金卡专享")]
    pub name: String,
    /// The audience: the segment's members when each run opens.
    pub segment: SegmentId,
    /// `marketing` (the default) or `transactional`.
    #[serde(default)]
    pub class: ClassName,
    /// The subscription topic of marketing messages (default `promotions`).
    #[serde(default = "default_topic")]
    pub topic: String,
    /// Percentage of the audience held out and never contacted, 0–100.
    #[serde(default)]
    pub control_percent: f64,
    /// The variants: each its own messages and weight.
    pub variants: Vec<CampaignVariant>,
    /// One message on the best channel (`priority`, the default), or one on each (`all`).
    #[serde(default)]
    pub channel_policy: ChannelPolicy,
    /// When runs open (default: as soon as it is launched).
    #[serde(default)]
    pub schedule: Schedule,
    /// At most this many messages per minute, all channels together.
    #[serde(default)]
    pub throttle_per_minute: Option<u32>,
}

fn default_topic() -> String {
    DEFAULT_TOPIC.to_owned()
}

impl CampaignDraft {
    /// The id given, and the definition.
    fn into_parts(self) -> (Option<String>, CampaignDefinition) {
        // No `..`: a field added to the definition must be added here too.
        let Self {
            id,
            name,
            segment,
            class,
            topic,
            control_percent,
            variants,
            channel_policy,
            schedule,
            throttle_per_minute,
        } = self;
        let definition = CampaignDefinition {
            name,
            segment,
            class,
            topic,
            control_percent,
            variants,
            channel_policy,
            schedule,
            throttle_per_minute,
        };
        (id, definition)
    }
}

/// A campaign as the API shows it: its definition with its id and where it is in its
/// life.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignView {
    /// Its id.
    pub id: CampaignId,
    /// The definition, as written.
    #[serde(flatten)]
    pub definition: CampaignDefinition,
    /// Where it is in its life.
    pub state: CampaignState,
    /// How many runs were opened.
    pub runs: u32,
    /// When the next run opens, while scheduled.
    pub next_run_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl From<CampaignRecord> for CampaignView {
    fn from(record: CampaignRecord) -> Self {
        Self {
            id: record.id,
            definition: record.definition,
            state: record.lifecycle.state,
            runs: record.lifecycle.runs,
            next_run_at: record.lifecycle.next_run_at,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// The workspace's campaigns.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignList {
    /// Every campaign, by id.
    pub campaigns: Vec<CampaignView>,
}

/// A step in a campaign's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    /// Starts a draft: its first run opens now or at its scheduled time.
    Launch,
    /// Holds a running campaign's unsent messages.
    Pause,
    /// Releases a paused campaign's messages.
    Resume,
    /// Stops a campaign for good; its unsent messages are suppressed as cancelled.
    Cancel,
}

impl CampaignAction {
    /// Reads the action a path names.
    ///
    /// # Errors
    /// `not_found` for anything else: there is no such route.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        match raw {
            "launch" => Ok(Self::Launch),
            "pause" => Ok(Self::Pause),
            "resume" => Ok(Self::Resume),
            "cancel" => Ok(Self::Cancel),
            other => Err(Problem::new(
                ErrorCode::NotFound,
                format!("no action {other:?}; use launch, pause, resume or cancel"),
            )),
        }
    }
}

/// A campaign's report: per variant (the control group as its own) and, inside each,
/// per channel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignReport {
    /// The campaign.
    pub campaign: CampaignId,
    /// Where it is in its life.
    pub state: CampaignState,
    /// How many runs were opened; the counts cover them all.
    pub runs: u32,
    /// The tallies per variant, by name.
    pub variants: Vec<VariantTally>,
}

impl Delivery {
    /// Saves a draft after checking its definition against the workspace.
    ///
    /// # Errors
    /// `invalid_id`; `invalid_campaign` naming the field; `already_exists` when the
    /// id is taken.
    pub async fn create_campaign(
        &self,
        workspace: &WorkspaceId,
        draft: CampaignDraft,
    ) -> Result<CampaignView, EngineError> {
        let (id, definition) = draft.into_parts();
        let id = match id {
            Some(raw) => parse_campaign_id(&raw)?,
            None => CampaignId::mint(),
        };
        let definition = self.checked_definition(workspace, definition).await?;
        let now = self.clock.now();
        let record = CampaignRecord {
            workspace_id: workspace.clone(),
            id,
            definition,
            lifecycle: Lifecycle::draft(),
            materialized_runs: 0,
            created_at: now,
            updated_at: now,
        };
        self.stores
            .campaigns
            .save_campaign(&record, orbit_store::Write::Create)
            .await?;
        Ok(record.into())
    }

    /// Replaces the definition of a draft or scheduled campaign.
    ///
    /// # Errors
    /// As for [`Delivery::create_campaign`]; `not_found`; `invalid_state` once it
    /// runs.
    pub async fn replace_campaign(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        draft: CampaignDraft,
    ) -> Result<CampaignView, EngineError> {
        let id = parse_campaign_id(id)?;
        let mut record = self.stored_campaign(workspace, &id).await?;
        if !record.lifecycle.state.editable() {
            return Err(Problem::new(
                ErrorCode::InvalidState,
                format!("a {} campaign cannot be edited", record.lifecycle.state.as_str()),
            )
            .into());
        }
        let (given, definition) = draft.into_parts();
        if given.is_some_and(|given| given != id.as_str()) {
            return Err(Problem::invalid("id", "the id in the body differs from the path").into());
        }
        record.definition = self.checked_definition(workspace, definition).await?;
        record.updated_at = self.clock.now();
        self.stores
            .campaigns
            .save_campaign(&record, orbit_store::Write::Replace)
            .await?;
        Ok(record.into())
    }

    /// Every campaign of the workspace, by id.
    ///
    /// # Errors
    /// Fails when the campaigns cannot be read.
    pub async fn campaigns(&self, workspace: &WorkspaceId) -> Result<CampaignList, EngineError> {
        let records = self.stores.campaigns.campaigns(workspace).await?;
        Ok(CampaignList {
            campaigns: records.into_iter().map(CampaignView::from).collect(),
        })
    }

    /// One campaign with its state.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn campaign(&self, workspace: &WorkspaceId, id: &str) -> Result<CampaignView, EngineError> {
        let id = parse_campaign_id(id)?;
        Ok(self.stored_campaign(workspace, &id).await?.into())
    }

    /// Deletes a campaign that never ran; one that did keeps its record and report.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`; `invalid_state` once it has run.
    pub async fn delete_campaign(&self, workspace: &WorkspaceId, id: &str) -> Result<(), EngineError> {
        let id = parse_campaign_id(id)?;
        let record = self.stored_campaign(workspace, &id).await?;
        if record.lifecycle.runs > 0 {
            return Err(Problem::new(
                ErrorCode::InvalidState,
                "a campaign that has run keeps its record and report; cancel it instead",
            )
            .into());
        }
        self.stores.campaigns.delete_campaign(workspace, &id).await?;
        Ok(())
    }

    /// Launches, pauses, resumes or cancels a campaign.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`; `invalid_state` when its state does not allow the
    /// action; `invalid_campaign` when it cannot run as written.
    pub async fn act_on_campaign(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        action: CampaignAction,
    ) -> Result<CampaignView, EngineError> {
        let id = parse_campaign_id(id)?;
        let runner = &self.runner;
        let record = match action {
            CampaignAction::Launch => runner.launch(workspace, &id).await,
            CampaignAction::Pause => runner.pause(workspace, &id).await,
            CampaignAction::Resume => runner.resume(workspace, &id).await,
            CampaignAction::Cancel => runner.cancel(workspace, &id).await,
        }
        .map_err(refused)?;
        Ok(record.into())
    }

    /// Per variant and channel: targeted, suppressed by reason, sent, failed,
    /// ambiguous, pending, delivered, bounced, opened, clicked.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn campaign_report(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<CampaignReport, EngineError> {
        let id = parse_campaign_id(id)?;
        let record = self.stored_campaign(workspace, &id).await?;
        let rows = self.stores.ledger.campaign_report(workspace, &id).await?;
        let lines: Vec<ReportLine> = rows.iter().map(report_line).collect();
        Ok(CampaignReport {
            campaign: id,
            state: record.lifecycle.state,
            runs: record.lifecycle.runs,
            variants: tally_report(&lines),
        })
    }

    async fn stored_campaign(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
    ) -> Result<CampaignRecord, EngineError> {
        self.stores
            .campaigns
            .campaign(workspace, id)
            .await?
            .ok_or_else(|| Problem::not_found("campaign").into())
    }

    /// Checks a definition against the workspace: its segment and templates exist,
    /// and each variant has one message per channel.
    async fn checked_definition(
        &self,
        workspace: &WorkspaceId,
        definition: CampaignDefinition,
    ) -> Result<CampaignDefinition, EngineError> {
        let invalid =
            |field: String, message: String| Problem::at(ErrorCode::InvalidCampaign, field, message);
        definition.validate().map_err(|e| invalid(e.field, e.message))?;
        if !self.audiences.has_segment(workspace, &definition.segment) {
            let message = format!("no segment {}", definition.segment);
            return Err(invalid("segment".to_owned(), message).into());
        }
        for (v, variant) in definition.variants.iter().enumerate() {
            let mut channels = Vec::new();
            for (m, message) in variant.messages.iter().enumerate() {
                let field = format!("variants[{v}].messages[{m}].template");
                let Some(template) = self
                    .stores
                    .templates
                    .template(workspace, &message.template)
                    .await?
                else {
                    return Err(invalid(field, format!("no template {}", message.template)).into());
                };
                let channel = template.content.channel();
                if channels.contains(&channel) {
                    let message = format!("the variant has two {channel} messages; give each channel one");
                    return Err(invalid(field, message).into());
                }
                channels.push(channel);
            }
        }
        Ok(definition)
    }
}

fn parse_campaign_id(raw: &str) -> Result<CampaignId, Problem> {
    CampaignId::parse(raw).map_err(|e| Problem::at(ErrorCode::InvalidId, "id", format!("campaign id {e}")))
}

/// A refused campaign command as the caller is told.
fn refused(e: CampaignError) -> EngineError {
    match e {
        CampaignError::NotFound => Problem::not_found("campaign").into(),
        CampaignError::Lifecycle(e) => Problem::new(ErrorCode::InvalidState, e.to_string()).into(),
        CampaignError::Definition(e) => Problem::at(ErrorCode::InvalidCampaign, e.field, e.message).into(),
        CampaignError::Audience(message) => {
            Problem::at(ErrorCode::InvalidCampaign, "segment", message).into()
        }
        CampaignError::Store(e) => e.into(),
    }
}

/// A ledger report row as the pure tally reads it.
fn report_line(row: &ReportRow) -> ReportLine {
    let state = match row.state {
        SendState::Accepted => LineState::Sent,
        SendState::Failed => LineState::Failed,
        SendState::Ambiguous => LineState::Ambiguous,
        SendState::Scheduled | SendState::Dispatching => LineState::Pending,
        SendState::Suppressed => LineState::Suppressed(row.suppression),
    };
    ReportLine {
        variant: row.variant.clone(),
        channel: row.channel,
        state,
        count: row.count,
        delivered: row.delivered,
        bounced: row.bounced,
        opened: row.opened,
        clicked: row.clicked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_core::messaging::SuppressionReason;

    #[test]
    fn actions_read_their_four_names_and_nothing_else_is_a_route() {
        assert_eq!(CampaignAction::parse("launch"), Ok(CampaignAction::Launch));
        assert_eq!(CampaignAction::parse("cancel"), Ok(CampaignAction::Cancel));
        let refused = CampaignAction::parse("restart").expect_err("refused");
        assert_eq!(refused.code, ErrorCode::NotFound);
    }

    #[test]
    fn ledger_states_read_as_report_states_messages_in_hand_pending() {
        let row = |state, suppression| ReportRow {
            variant: Some("a".to_owned()),
            channel: None,
            state,
            suppression,
            count: 1,
            delivered: 0,
            bounced: 0,
            opened: 0,
            clicked: 0,
        };
        let state = |state, suppression| report_line(&row(state, suppression)).state;
        assert_eq!(state(SendState::Scheduled, None), LineState::Pending);
        assert_eq!(state(SendState::Dispatching, None), LineState::Pending);
        assert_eq!(state(SendState::Accepted, None), LineState::Sent);
        let blocked = Some(SuppressionReason::Blocked);
        assert_eq!(
            state(SendState::Suppressed, blocked),
            LineState::Suppressed(blocked)
        );
    }

    #[test]
    fn a_draft_splits_into_its_id_and_a_definition_with_the_defaults() {
        let draft: CampaignDraft = serde_json::from_value(serde_json::json!({
            "id": "double-12", "name": "双十二", "segment": "gold",
            "variants": [{"name": "a", "messages": [{"template": "hook"}]}]
        }))
        .expect("draft");
        let (id, definition) = draft.into_parts();
        assert_eq!(id.as_deref(), Some("double-12"));
        assert_eq!(definition.topic, DEFAULT_TOPIC);
        assert_eq!(definition.schedule, Schedule::Now);
        assert!(
            serde_json::from_value::<CampaignDraft>(serde_json::json!({"name": "x", "colour": 1})).is_err(),
            "unknown fields are refused"
        );
    }
}
