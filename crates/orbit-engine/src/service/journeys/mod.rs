//! Journeys (`/v1/journeys`): drafts checked against the workspace, publication as
//! immutable versions, and the journey's life (pause, resume, archive).

mod people;
mod views;

pub use people::{JourneyStanding, ProfileJourney, ProfileJourneys};
pub use views::{
    JourneyAction, JourneyDraft, JourneyEntryAnswer, JourneyEntryRequest, JourneyList, JourneyReport,
    JourneyValidation, JourneyVersionView, JourneyView, NodeReport, VersionSummary,
};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use orbit_core::journey::{
    JourneyDefinition, JourneyProblem, JourneyReferences, JourneyStatus, SegmentKind, validate,
};
use orbit_core::{ErrorCode, JourneyId, Problem, SegmentId, TemplateId, WorkspaceId};
use orbit_store::{JourneyRecord, JourneyVersion, StoreError, Stores, Write};

use super::Audiences;
use crate::EngineError;
use crate::clock::EngineClock;
use crate::journeys::{ApiEntry, JourneyRunner};

/// Journeys: their definitions, versions and life.
#[derive(Debug)]
pub struct Journeys {
    stores: Stores,
    clock: EngineClock,
    audiences: Arc<Audiences>,
    runner: Arc<JourneyRunner>,
    pipeline: crate::PipelineHandle,
    default_region: phonenumber::country::Id,
}

/// What a definition may name in one workspace, read once per check.
struct WorkspaceNames {
    templates: BTreeSet<TemplateId>,
    segments: BTreeMap<SegmentId, orbit_store::SegmentKind>,
    tags: BTreeSet<String>,
}

impl JourneyReferences for WorkspaceNames {
    fn template_exists(&self, template: &TemplateId) -> bool {
        self.templates.contains(template)
    }

    fn tag_exists(&self, tag: &str) -> bool {
        self.tags.contains(tag)
    }

    fn segment(&self, segment: &SegmentId) -> Option<SegmentKind> {
        self.segments.get(segment).map(|kind| match kind {
            orbit_store::SegmentKind::Static => SegmentKind::Static,
            orbit_store::SegmentKind::Dynamic => SegmentKind::Dynamic,
        })
    }
}

impl Journeys {
    /// The service over the stores and the runner that moves people.
    pub fn new(
        stores: Stores,
        clock: EngineClock,
        audiences: Arc<Audiences>,
        runner: Arc<JourneyRunner>,
        pipeline: crate::PipelineHandle,
        default_region: phonenumber::country::Id,
    ) -> Self {
        Self {
            stores,
            clock,
            audiences,
            runner,
            pipeline,
            default_region,
        }
    }

    /// Saves a new draft. A draft may be incomplete; publishing checks it.
    ///
    /// # Errors
    /// `invalid_id`; `invalid_request` for a blank name; `already_exists`.
    pub async fn create_journey(
        &self,
        workspace: &WorkspaceId,
        draft: JourneyDraft,
    ) -> Result<JourneyView, EngineError> {
        let (id, definition) = draft.into_parts();
        let id = match id {
            Some(raw) => parse_journey_id(&raw)?,
            None => JourneyId::mint(),
        };
        check_name(&definition)?;
        let now = self.clock.now();
        let record = JourneyRecord {
            workspace_id: workspace.clone(),
            id,
            draft: definition,
            status: JourneyStatus::Draft,
            live_version: None,
            created_at: now,
            updated_at: now,
        };
        match self.stores.journeys.save_journey(&record, Write::Create).await {
            Ok(()) => Ok(JourneyView::new(record, &[])),
            Err(StoreError::AlreadyExists(_)) => Err(Problem::at(
                ErrorCode::AlreadyExists,
                "id",
                format!("a journey {:?} already exists", record.id.as_str()),
            )
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a journey's draft; its published versions stay as they are.
    ///
    /// # Errors
    /// As for [`Journeys::create_journey`]; `not_found`; `invalid_state` once archived.
    pub async fn replace_journey(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        draft: JourneyDraft,
    ) -> Result<JourneyView, EngineError> {
        let id = parse_journey_id(id)?;
        let mut record = self.stored(workspace, &id).await?;
        if record.status == JourneyStatus::Archived {
            return Err(Problem::new(ErrorCode::InvalidState, "an archived journey cannot be edited").into());
        }
        let (given, definition) = draft.into_parts();
        if given.is_some_and(|given| given != id.as_str()) {
            return Err(Problem::invalid("id", "the id in the body differs from the path").into());
        }
        check_name(&definition)?;
        record.draft = definition;
        record.updated_at = self.clock.now();
        self.stores.journeys.save_journey(&record, Write::Replace).await?;
        self.view(record).await
    }

    /// Every journey of the workspace, by id.
    ///
    /// # Errors
    /// Fails when the journeys cannot be read.
    pub async fn journeys(&self, workspace: &WorkspaceId) -> Result<JourneyList, EngineError> {
        let mut journeys = Vec::new();
        for record in self.stores.journeys.journeys(workspace).await? {
            journeys.push(self.view(record).await?);
        }
        Ok(JourneyList { journeys })
    }

    /// One journey.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn journey(&self, workspace: &WorkspaceId, id: &str) -> Result<JourneyView, EngineError> {
        let id = parse_journey_id(id)?;
        let record = self.stored(workspace, &id).await?;
        self.view(record).await
    }

    /// One published version, as it was published.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn journey_version(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        version: u32,
    ) -> Result<JourneyVersionView, EngineError> {
        let id = parse_journey_id(id)?;
        self.stores
            .journeys
            .journey_version(workspace, &id, version)
            .await?
            .map(JourneyVersionView::from)
            .ok_or_else(|| Problem::not_found("journey version").into())
    }

    /// Deletes a journey that was never published; a published one keeps its
    /// record and is archived instead.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`; `invalid_state` once published.
    pub async fn delete_journey(&self, workspace: &WorkspaceId, id: &str) -> Result<(), EngineError> {
        let id = parse_journey_id(id)?;
        let record = self.stored(workspace, &id).await?;
        if record.live_version.is_some() {
            return Err(Problem::new(
                ErrorCode::InvalidState,
                "a published journey keeps its record and report; archive it instead",
            )
            .into());
        }
        self.stores.journeys.delete_journey(workspace, &id).await?;
        Ok(())
    }

    /// Every problem of a journey's draft, each on its node and field.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn validate_journey(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<JourneyValidation, EngineError> {
        let id = parse_journey_id(id)?;
        let record = self.stored(workspace, &id).await?;
        let problems = self.problems(workspace, &record.draft).await?;
        Ok(JourneyValidation {
            valid: problems.is_empty(),
            problems,
        })
    }

    /// Publishes, pauses, resumes or archives a journey.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`; `invalid_journey` naming the first problem's node and
    /// field when the draft cannot be published; `invalid_state` when the journey's
    /// status does not allow the action.
    pub async fn act_on_journey(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        action: JourneyAction,
    ) -> Result<JourneyView, EngineError> {
        let id = parse_journey_id(id)?;
        let mut record = self.stored(workspace, &id).await?;
        let now = self.clock.now();
        let refuse = |status: JourneyStatus, verb: &str| -> EngineError {
            Problem::new(
                ErrorCode::InvalidState,
                format!("a {} journey cannot be {verb}", status.as_str()),
            )
            .into()
        };
        match action {
            JourneyAction::Publish => {
                if record.status == JourneyStatus::Archived {
                    return Err(refuse(record.status, "published"));
                }
                let problems = self.problems(workspace, &record.draft).await?;
                if let Some(first) = problems.first() {
                    return Err(refusal(first, problems.len()).into());
                }
                let number = record.live_version.map_or(1, |v| v.saturating_add(1));
                let version = JourneyVersion {
                    workspace_id: workspace.clone(),
                    journey_id: id.clone(),
                    version: number,
                    definition: record.draft.clone(),
                    published_at: now,
                };
                record.live_version = Some(number);
                // Publishing a paused journey's new version leaves it paused.
                if record.status == JourneyStatus::Draft {
                    record.status = JourneyStatus::Live;
                }
                record.updated_at = now;
                self.stores.journeys.publish_version(&record, &version).await?;
            }
            JourneyAction::Pause | JourneyAction::Resume | JourneyAction::Archive => {
                let next = match (action, record.status) {
                    (JourneyAction::Pause, JourneyStatus::Live) => JourneyStatus::Paused,
                    (JourneyAction::Resume, JourneyStatus::Paused) => JourneyStatus::Live,
                    (
                        JourneyAction::Archive,
                        JourneyStatus::Live | JourneyStatus::Paused | JourneyStatus::Draft,
                    ) => JourneyStatus::Archived,
                    (JourneyAction::Pause, status) => return Err(refuse(status, "paused")),
                    (JourneyAction::Resume, status) => return Err(refuse(status, "resumed")),
                    (_, status) => return Err(refuse(status, "archived")),
                };
                record.status = next;
                record.updated_at = now;
                self.stores.journeys.save_journey(&record, Write::Replace).await?;
            }
        }
        self.runner.journey_changed(workspace, &id).await?;
        self.view(record).await
    }

    /// Enters a person into a live journey whose entry is an API call.
    ///
    /// # Errors
    /// `invalid_id`; `missing_field`/`invalid_identity` (`identity`); `not_found` for
    /// an unknown person or a journey that is not live; `invalid_request` when the
    /// journey's entry is not an API call.
    pub async fn enter(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        request: JourneyEntryRequest,
    ) -> Result<JourneyEntryAnswer, EngineError> {
        let id = parse_journey_id(id)?;
        let identity =
            crate::service::profiles::parse_identity(&request.identity, "identity", self.default_region)?;
        let profile = self
            .pipeline
            .profile_by_identity(workspace, &identity)
            .ok_or_else(|| {
                Problem::new(
                    ErrorCode::NotFound,
                    format!("no profile holds {}", request.identity),
                )
            })?;
        let key = request
            .idempotency_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let answer = self
            .runner
            .enter_by_api(workspace, &id, profile.id, request.properties, key)
            .await?;
        Ok(match answer {
            ApiEntry::Entered { entry } => JourneyEntryAnswer {
                entered: true,
                entry: Some(entry),
                refused: None,
            },
            ApiEntry::Refused { reason } => JourneyEntryAnswer {
                entered: false,
                entry: None,
                refused: Some(reason),
            },
        })
    }

    /// Entries, conversions, exits, and per node who arrived, waits and left by which
    /// path; waiting counts are live.
    ///
    /// # Errors
    /// `invalid_id`, `not_found`.
    pub async fn journey_report(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<JourneyReport, EngineError> {
        let id = parse_journey_id(id)?;
        let record = self.stored(workspace, &id).await?;
        let versions = self.stores.journeys.journey_versions(workspace, &id).await?;
        let counts = self.stores.journey_runs.node_counts(workspace, &id).await?;
        let waiting = self.runner.waiting_at(workspace, &id).await;
        Ok(report(record, &versions, &counts, &waiting))
    }

    async fn stored(&self, workspace: &WorkspaceId, id: &JourneyId) -> Result<JourneyRecord, EngineError> {
        self.stores
            .journeys
            .journey(workspace, id)
            .await?
            .ok_or_else(|| Problem::not_found("journey").into())
    }

    async fn view(&self, record: JourneyRecord) -> Result<JourneyView, EngineError> {
        let versions = self
            .stores
            .journeys
            .journey_versions(&record.workspace_id, &record.id)
            .await?;
        Ok(JourneyView::new(record, &versions))
    }

    /// Checks a definition against what the workspace holds now.
    async fn problems(
        &self,
        workspace: &WorkspaceId,
        definition: &JourneyDefinition,
    ) -> Result<Vec<JourneyProblem>, EngineError> {
        let templates = self
            .stores
            .templates
            .templates(workspace)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        let (segments, tags) = self.audiences.audience_names(workspace);
        let names = WorkspaceNames {
            templates,
            segments,
            tags,
        };
        let mut problems = validate(definition, &names);
        problems.extend(reserved_node_ids(definition));
        problems.extend(self.runner.url_problems(definition).await);
        Ok(problems)
    }
}

fn parse_journey_id(raw: &str) -> Result<JourneyId, Problem> {
    JourneyId::parse(raw).map_err(|e| Problem::at(ErrorCode::InvalidId, "id", format!("journey id {e}")))
}

fn check_name(definition: &JourneyDefinition) -> Result<(), Problem> {
    if definition.name.trim().is_empty() {
        return Err(Problem::invalid("name", "must not be empty"));
    }
    Ok(())
}

/// A draft that cannot be published, as its author is told: the first problem's place
/// as a path (`nodes.gift.messages[0].template`), and how many more there are.
fn refusal(first: &JourneyProblem, count: usize) -> Problem {
    let field = match &first.node {
        Some(node) => format!("nodes.{node}.{}", first.field),
        None => first.field.clone(),
    };
    let more = match count {
        0 | 1 => String::new(),
        n => format!(" ({} more problems; the validate call lists them all)", n - 1),
    };
    Problem::at(
        ErrorCode::InvalidJourney,
        field,
        format!("{}{more}", first.message),
    )
}

/// Node ids the runner keeps for itself (the journey-wide tallies are kept under
/// `_journey`): refused at publication.
fn reserved_node_ids(definition: &JourneyDefinition) -> Vec<JourneyProblem> {
    let mut problems = Vec::new();
    for id in definition.nodes.keys() {
        if id.as_str().starts_with('_') {
            problems.push(JourneyProblem {
                node: Some(id.clone()),
                field: "id".to_owned(),
                message: "node ids starting with _ are reserved".to_owned(),
            });
        }
    }
    problems
}

/// Folds stored tallies and live waiting counts into a report.
fn report(
    record: JourneyRecord,
    versions: &[JourneyVersion],
    counts: &[orbit_store::NodeCount],
    waiting: &BTreeMap<(u32, orbit_core::NodeId), u64>,
) -> JourneyReport {
    let tally_node = crate::journeys::JOURNEY_TALLY;
    let mut entered = 0;
    let mut exited: BTreeMap<String, u64> = BTreeMap::new();
    let mut nodes: BTreeMap<(u32, orbit_core::NodeId), NodeReport> = BTreeMap::new();
    for version in versions {
        for (node, step) in &version.definition.nodes {
            nodes.insert(
                (version.version, node.clone()),
                NodeReport {
                    version: version.version,
                    node: node.clone(),
                    kind: step.kind().to_owned(),
                    entered: 0,
                    waiting: waiting
                        .get(&(version.version, node.clone()))
                        .copied()
                        .unwrap_or(0),
                    outcomes: BTreeMap::new(),
                },
            );
        }
    }
    for count in counts {
        if count.node.as_str() == tally_node {
            match count.outcome.strip_prefix("exit:") {
                Some(reason) => *exited.entry(reason.to_owned()).or_default() += count.count,
                None if count.outcome == "entered" => entered += count.count,
                None => {}
            }
            continue;
        }
        let Some(node) = nodes.get_mut(&(count.version, count.node.clone())) else {
            continue;
        };
        if count.outcome.is_empty() {
            node.entered += count.count;
        } else {
            *node.outcomes.entry(count.outcome.clone()).or_default() += count.count;
        }
    }
    // A node people pass at once records how they left; one they stop at (a wait, an
    // exit) records their arrival.
    for node in nodes.values_mut() {
        let stops = matches!(
            node.kind.as_str(),
            "wait" | "wait_until" | "wait_for_event" | "exit"
        );
        if !stops {
            node.entered += node.outcomes.values().sum::<u64>();
        }
    }
    let converted = exited.get("goal").copied().unwrap_or(0);
    let left: u64 = exited.values().sum();
    JourneyReport {
        journey: record.id,
        status: record.status,
        entered,
        converted,
        in_journey: entered.saturating_sub(left),
        exited,
        nodes: nodes.into_values().collect(),
    }
}
