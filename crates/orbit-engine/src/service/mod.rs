//! The engine's services: what the HTTP API, the console and journeys call. Each one
//! owns its locking and its background tasks; callers see plain methods that take
//! a workspace and a request and answer a result or a [`Problem`](orbit_core::Problem).
//!
//! [`Engine`] is built once, by the binary's composition root, over the stores and the
//! running ingest pipeline.

pub mod audiences;
pub mod audit;
pub mod delivery;
pub mod journeys;
pub mod keys;
pub mod operators;
pub mod profiles;
pub mod stats;

pub use audiences::Audiences;
pub use audit::Audit;
pub use delivery::{Delivery, DeliverySettings};
pub use journeys::Journeys;
pub use keys::{KeyHasher, Keys};
pub use operators::{Operators, SessionPolicy};
pub use orbit_store::WorkspaceSettings;
pub use profiles::Profiles;
pub use stats::Stats;

use crate::clock::EngineClock;
use crate::journeys::JourneyRunner;
use crate::{EngineError, PipelineHandle};
use jiff::{SignedDuration, Timestamp};
use orbit_core::{Clock, ErrorCode, NewEvent, Problem, WorkspaceId};
use orbit_store::{AppendOutcome, Stores};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// What the engine is built with.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Region for phone numbers without a country code.
    pub default_region: phonenumber::country::Id,
    /// Which internal networks connectors may reach.
    pub egress: orbit_channels::EgressPolicy,
    /// The address people's devices reach this server at.
    pub public_url: String,
    /// How long console sessions last.
    pub sessions: SessionPolicy,
}

/// The server's time, and whether it is simulated.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClockView {
    /// Now, on the server's clock.
    pub now: Timestamp,
    /// Whether the clock is simulated (moved only through `POST /v1/clock`).
    pub simulated: bool,
    /// The segment transitions a move announced (in the answer to a move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_transitions: Option<Transitions>,
}

/// Segment transitions announced.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Transitions {
    /// `segment_entered` events appended.
    pub entered: usize,
    /// `segment_exited` events appended.
    pub exited: usize,
}

/// A move of the simulated clock: one of the two.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockMove {
    /// How far to move forward (`PT1H`, `1h 30m`, `-2d`).
    #[serde(default)]
    #[schema(example = "PT1H")]
    pub advance: Option<String>,
    /// Where to set it (RFC 3339).
    #[serde(default)]
    #[schema(example = "2026-11-23T09:00:00+08:00")]
    pub set: Option<String>,
}

/// Health: the storage answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    #[schema(example = "ok")]
    pub status: String,
    /// The position of the newest stored event.
    pub log_head: i64,
}

/// Everything the API reaches: cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    stores: Stores,
    pipeline: PipelineHandle,
    clock: EngineClock,
    audiences: Arc<Audiences>,
    delivery: Arc<Delivery>,
    journeys: Journeys,
    runner: Arc<JourneyRunner>,
    profiles: Profiles,
    keys: Keys,
    operators: Operators,
    audit: Audit,
    stats: Stats,
    settings: EngineSettings,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Loads the services over the stores and the running pipeline; nothing runs in
    /// the background until [`Engine::start`].
    ///
    /// # Errors
    /// Fails when the stores cannot be read or the connectors' HTTP client cannot be
    /// built.
    pub async fn load(
        stores: Stores,
        pipeline: PipelineHandle,
        hasher: KeyHasher,
        clock: EngineClock,
        settings: EngineSettings,
    ) -> Result<Self, EngineError> {
        let now = clock.now_source();
        let audiences = Arc::new(
            Audiences::load(
                stores.clone(),
                pipeline.clone(),
                clock.clone(),
                settings.default_region,
            )
            .await?,
        );
        let delivery = Arc::new(
            Delivery::load(
                stores.clone(),
                pipeline.clone(),
                now.clone(),
                &hasher,
                audiences.clone(),
                DeliverySettings {
                    default_region: settings.default_region,
                    egress: settings.egress.clone(),
                    public_url: settings.public_url.clone(),
                },
            )
            .await?,
        );
        let runner = Arc::new(
            JourneyRunner::load(
                stores.clone(),
                pipeline.clone(),
                clock.clone(),
                audiences.clone(),
                delivery.clone(),
            )
            .await?,
        );
        let profiles = Profiles::new(
            stores.clone(),
            pipeline.clone(),
            now.clone(),
            settings.default_region,
            audiences.clone(),
            delivery.clone(),
            runner.clone(),
        );
        let operators = Operators::new(stores.operators.clone(), hasher.clone(), settings.sessions);
        let audit = Audit::new(stores.audit.clone());
        let stats = Stats::new(stores.clone(), pipeline.clone(), now.clone(), audiences.clone());
        let keys = Keys::new(stores.keys.clone(), hasher, now);
        let journeys = Journeys::new(
            stores.clone(),
            clock.clone(),
            audiences.clone(),
            runner.clone(),
            pipeline.clone(),
            settings.default_region,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                stores,
                pipeline,
                clock,
                audiences,
                delivery,
                journeys,
                runner,
                profiles,
                keys,
                operators,
                audit,
                stats,
                settings,
            }),
        })
    }

    /// Computes every tag value, then starts the background work: tag refreshes,
    /// segment transitions, size history, the delivery worker and the campaign runner.
    ///
    /// # Errors
    /// Fails when the send ledger cannot be read.
    pub async fn start(&self) -> Result<(), EngineError> {
        self.inner.audiences.start().await;
        self.inner.delivery.start().await?;
        self.inner.runner.start().await
    }

    /// Segments and tags.
    pub fn audiences(&self) -> &Audiences {
        &self.inner.audiences
    }

    /// Accounts, campaigns, messages and engagements.
    pub fn delivery(&self) -> &Delivery {
        &self.inner.delivery
    }

    /// Journeys: drafts, versions and their life.
    pub fn journeys(&self) -> &Journeys {
        &self.inner.journeys
    }

    /// Profiles: look-ups, timelines, trait patches, erasure and export.
    pub fn profiles(&self) -> &Profiles {
        &self.inner.profiles
    }

    /// Write and API keys.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// Console operators and their sessions.
    pub fn operators(&self) -> &Operators {
        &self.inner.operators
    }

    /// The audit log.
    pub fn audit(&self) -> &Audit {
        &self.inner.audit
    }

    /// The dashboard's numbers.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// The engine's settings.
    pub fn settings(&self) -> &EngineSettings {
        &self.inner.settings
    }

    /// Now, on the engine's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now_source().now()
    }

    /// Appends events durably and in order; one outcome per event.
    ///
    /// # Errors
    /// Fails when the log cannot be written: nothing was acknowledged.
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<AppendOutcome>, EngineError> {
        self.inner.pipeline.append(events).await
    }

    /// The storage answers, with the newest log position.
    ///
    /// # Errors
    /// Fails when the log cannot be read.
    pub async fn health(&self) -> Result<Health, EngineError> {
        let head = self.inner.stores.events.head().await?;
        Ok(Health {
            status: "ok".to_owned(),
            log_head: head.0,
        })
    }

    /// The workspace's settings, defaults filled in.
    ///
    /// # Errors
    /// `not_found` for a workspace that does not exist.
    pub async fn workspace_settings(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<WorkspaceSettings, EngineError> {
        Ok(self.workspace(workspace).await?.settings)
    }

    /// Replaces the workspace's settings; they apply to events from now on.
    ///
    /// # Errors
    /// `invalid_settings` naming the field.
    pub async fn replace_workspace_settings(
        &self,
        workspace: &WorkspaceId,
        settings: WorkspaceSettings,
    ) -> Result<WorkspaceSettings, EngineError> {
        check_settings(&settings)?;
        let mut record = self.workspace(workspace).await?;
        record.settings = settings;
        self.inner.stores.workspaces.save_workspace(&record).await?;
        self.inner.pipeline.reload_settings().await?;
        Ok(record.settings)
    }

    async fn workspace(&self, workspace: &WorkspaceId) -> Result<orbit_store::WorkspaceRecord, EngineError> {
        self.inner
            .stores
            .workspaces
            .workspace(workspace)
            .await?
            .ok_or_else(|| Problem::not_found("workspace").into())
    }

    /// The server's time, and whether it is simulated.
    pub fn clock(&self) -> ClockView {
        ClockView {
            now: self.now(),
            simulated: matches!(self.inner.clock, EngineClock::Simulated(_)),
            segment_transitions: None,
        }
    }

    /// Moves a simulated clock; everything the new time makes due happens before the
    /// answer (tag values, segment transitions caused by time, sizes by the hour).
    ///
    /// # Errors
    /// `wall_clock` when the engine runs on the wall clock; `invalid_duration`,
    /// `invalid_timestamp` or `invalid_request` naming the field.
    pub async fn move_clock(&self, request: ClockMove) -> Result<ClockView, EngineError> {
        let EngineClock::Simulated(clock) = &self.inner.clock else {
            return Err(Problem::new(
                ErrorCode::WallClock,
                "the server runs on the wall clock; start it with --simulated-clock to move time",
            )
            .into());
        };
        enum Move {
            By(SignedDuration),
            To(Timestamp),
        }
        let change = match (request.advance, request.set) {
            (Some(raw), None) => Move::By(parse_duration(raw.trim()).ok_or_else(|| {
                Problem::at(
                    ErrorCode::InvalidDuration,
                    "advance",
                    format!("{raw:?} is not a duration such as PT1H, P3D or 1h 30m"),
                )
            })?),
            (None, Some(raw)) => Move::To(raw.trim().parse().map_err(|_| {
                Problem::at(
                    ErrorCode::InvalidTimestamp,
                    "set",
                    format!("{raw:?} is not an RFC 3339 time"),
                )
            })?),
            _ => return Err(Problem::invalid("advance", "give either advance or set").into()),
        };
        // Events acknowledged before the move happened before it: journeys match them
        // at the old time, however far behind the log the runner was.
        self.inner.runner.step().await?;
        match change {
            Move::By(by) => clock.advance(by),
            Move::To(at) => clock.set(at),
        }
        let announced = self.inner.audiences.time_moved().await?;
        // Journeys after segments: the transitions a move announced may enter people.
        self.inner.runner.step().await?;
        Ok(ClockView {
            now: clock.now(),
            simulated: true,
            segment_transitions: Some(Transitions {
                entered: announced.entered,
                exited: announced.exited,
            }),
        })
    }
}

/// A duration; days count as 24 hours (the clock moves by elapsed time).
fn parse_duration(raw: &str) -> Option<SignedDuration> {
    if let Ok(exact) = raw.parse::<SignedDuration>() {
        return Some(exact);
    }
    let span: jiff::Span = raw.parse().ok()?;
    span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()).ok()
}

/// Checks what deserialising cannot: a real time zone, limits of at least 1.
fn check_settings(settings: &WorkspaceSettings) -> Result<(), Problem> {
    let invalid = |field: String, message: String| Problem::at(ErrorCode::InvalidSettings, field, message);
    if jiff::tz::TimeZone::get(&settings.time_zone.0).is_err() {
        return Err(invalid(
            "time_zone".to_owned(),
            format!(
                "{:?} is not an IANA time zone name such as Asia/Shanghai",
                settings.time_zone.0
            ),
        ));
    }
    let policy = &settings.identity_policy;
    let named = policy
        .rules
        .iter()
        .map(|(kind, rule)| (format!("identity_policy.rules.{}", kind.as_str()), rule));
    for (path, rule) in named.chain([("identity_policy.default_rule".to_owned(), &policy.default_rule)]) {
        let at_least_one = "must be at least 1 (leave it out for no limit)".to_owned();
        if rule.max_per_profile == Some(0) {
            return Err(invalid(format!("{path}.max_per_profile"), at_least_one));
        }
        if rule.max_linked == Some(0) {
            return Err(invalid(format!("{path}.max_linked"), at_least_one));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_iso_and_friendly_forms_with_days_of_24_hours() {
        assert_eq!(parse_duration("PT1H"), Some(SignedDuration::from_hours(1)));
        assert_eq!(parse_duration("1h 30m"), Some(SignedDuration::from_mins(90)));
        assert_eq!(parse_duration("P3D"), Some(SignedDuration::from_hours(72)));
        assert_eq!(parse_duration("-2d"), Some(SignedDuration::from_hours(-48)));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn settings_refuse_a_zone_that_does_not_exist_and_limits_of_zero() {
        let mut settings = WorkspaceSettings::default();
        assert_eq!(check_settings(&settings), Ok(()));
        settings.time_zone.0 = "Mars/Olympus".to_owned();
        assert_eq!(
            check_settings(&settings).map_err(|p| p.field),
            Err(Some("time_zone".to_owned()))
        );
        let mut settings = WorkspaceSettings::default();
        settings.identity_policy.default_rule.max_linked = Some(0);
        assert_eq!(
            check_settings(&settings).map_err(|p| p.field),
            Err(Some("identity_policy.default_rule.max_linked".to_owned()))
        );
    }
}
