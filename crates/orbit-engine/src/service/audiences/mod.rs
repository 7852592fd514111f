//! The audience service: segments and tags as callers use them — define, evaluate,
//! sample, export, compare, assign — over the audience index the pipeline keeps.
//!
//! It owns the segment and tag catalogs and the background work that keeps them true:
//! tag values refreshed after commits and as time passes (ADR 0008), segment
//! transitions announced (ADR 0007), segment sizes recorded for their history.
//! Evaluation runs on blocking threads, never on the async workers.

mod compare;
mod refresh;
mod segments;
mod sizes;
mod tags;

pub use compare::{ComparedSegment, Comparison, SideShare, TagComparison, ValueComparison};
pub use refresh::RefreshScope;
pub use segments::{
    MemberPage, MemberRow, Preview, PreviewRequest, ProfileSegments, SavedSegment, SegmentDraft, SegmentList,
    SegmentMembership, SegmentView, SizeHistory, SizePointView,
};
pub use sizes::SegmentSize;
pub use tags::{
    AssignValues, AssignedValues, ImportFormat, ImportReport, InstallReport, LibraryDetail, LibraryList,
    LibrarySummary, ProfileTag, ProfileTags, RfmScores, TagDefinitionView, TagFreshness, TagListing,
    TagValueView, TagView, UnmatchedLine,
};

use crate::audience::membership::{MembershipWatcher, Sweep, SweepReport};
use crate::audience::{SegmentCatalog, TagCatalog};
use crate::clock::{EngineClock, Periodic};
use crate::delivery::CampaignAudience;
use crate::sync::Shared;
use crate::{EngineError, PipelineHandle};
use orbit_core::audience::{Condition, ConditionError, Evaluation};
use orbit_core::{ErrorCode, Problem, ProfileId, SegmentId, WorkspaceId};
use orbit_store::Stores;
use roaring::RoaringBitmap;
use std::sync::Arc;
use std::time::Duration;

/// How often segments whose conditions depend on time are re-evaluated for everyone
/// (touched profiles are re-evaluated after every commit).
const MEMBERSHIP_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How often every profile's tag values are recomputed, for rules that depend on time.
const TAG_REFRESH_EVERY: Duration = Duration::from_secs(60);

/// How often every segment's size is taken for its history.
const SIZE_RECORD_EVERY: Duration = Duration::from_secs(3_600);

/// Segments and tags, evaluated over the pipeline's audience index.
pub struct Audiences {
    pipeline: PipelineHandle,
    stores: Stores,
    clock: EngineClock,
    default_region: phonenumber::country::Id,
    segments: Arc<Shared<SegmentCatalog>>,
    tags: Arc<Shared<TagCatalog>>,
    membership: Arc<MembershipWatcher>,
    /// Held while a segment's stored members and the catalog's change, so that a
    /// save, a delete and an addition never interleave and leave the two apart.
    member_writes: tokio::sync::Mutex<()>,
    /// Refreshes of every profile's tag values, for rules that depend on time.
    everyone_refreshes: Periodic,
    /// Recordings of every segment's size, for its history.
    size_records: Periodic,
}

impl std::fmt::Debug for Audiences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audiences").finish_non_exhaustive()
    }
}

/// What one evaluation should hand back.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// How many, and up to this many members spread over the whole set.
    Sample(usize),
    /// Every member.
    All,
}

/// What is evaluated: a condition as written, or a stored segment.
#[derive(Debug, Clone)]
enum Target {
    Condition(Condition),
    Segment(SegmentId),
}

/// The answer of one evaluation.
#[derive(Debug, Default)]
struct Evaluated {
    size: u64,
    members: Vec<ProfileId>,
    took_ms: f64,
}

impl Audiences {
    /// Loads every segment and tag and wires the membership watcher; nothing runs
    /// until [`Audiences::start`].
    ///
    /// # Errors
    /// Fails when the stores cannot be read.
    pub async fn load(
        stores: Stores,
        pipeline: PipelineHandle,
        clock: EngineClock,
        default_region: phonenumber::country::Id,
    ) -> Result<Self, EngineError> {
        let segments = Arc::new(Shared::new(SegmentCatalog::load(&stores).await?));
        let tags = Arc::new(Shared::new(TagCatalog::load(&stores).await?));
        let membership = Arc::new(MembershipWatcher::new(
            pipeline.clone(),
            segments.clone(),
            stores.segments.clone(),
            clock.clone(),
            MEMBERSHIP_SWEEP_EVERY,
        ));
        Ok(Self {
            pipeline,
            stores,
            clock,
            default_region,
            segments,
            tags,
            membership,
            member_writes: tokio::sync::Mutex::new(()),
            everyone_refreshes: Periodic::new(TAG_REFRESH_EVERY),
            size_records: Periodic::new(SIZE_RECORD_EVERY),
        })
    }

    /// Brings every tag value up to date, then keeps tags, segment transitions and
    /// size history going in the background until the pipeline stops.
    pub async fn start(self: &Arc<Self>) {
        // Tag values are computed before segments are sized or requests answered.
        self.refresh_all(RefreshScope::Everyone).await;
        tokio::spawn(self.clone().refresh_forever());
        tokio::spawn(self.membership.clone().run());
        tokio::spawn(self.clone().record_sizes_forever());
    }

    /// Everything a move of the clock makes due, done before it returns: tag values
    /// first (segments may name them), then the segment transitions caused by time
    /// alone, then sizes when the move reached the top of an hour.
    ///
    /// # Errors
    /// Fails when the transitions or sizes cannot be stored.
    pub async fn time_moved(&self) -> Result<SweepReport, EngineError> {
        self.refresh_all(RefreshScope::Everyone).await;
        let announced = self.membership.sweep(Sweep::Time).await?;
        if self.size_records.claim(self.clock.now()) {
            self.record_sizes().await?;
        }
        Ok(announced)
    }

    /// Whether `condition` holds for one profile now (a journey's branch); a profile
    /// the index does not hold meets nothing.
    pub fn profile_holds(&self, workspace: &WorkspaceId, profile: ProfileId, condition: &Condition) -> bool {
        let at = self.evaluation(workspace);
        let catalog = self.segments.read();
        self.pipeline.with_audience(workspace, |index| {
            let Some(index) = index else { return false };
            let Some(n) = index.resolve(profile) else {
                return false;
            };
            let among: RoaringBitmap = std::iter::once(n).collect();
            catalog
                .members_among(workspace, index, condition, &at, &among)
                .is_ok_and(|members| members.contains(n))
        })
    }

    /// The evaluation moment: now, in the workspace's time zone.
    fn evaluation(&self, workspace: &WorkspaceId) -> Evaluation {
        Evaluation::new(self.clock.now(), self.pipeline.time_zone(workspace))
    }

    /// Evaluates a condition or a stored segment off the async threads.
    async fn evaluate(
        &self,
        workspace: &WorkspaceId,
        target: Target,
        want: Want,
    ) -> Result<Evaluated, EngineError> {
        let at = self.evaluation(workspace);
        let (pipeline, catalog, workspace) =
            (self.pipeline.clone(), self.segments.clone(), workspace.clone());
        let job = move || -> Result<Evaluated, ConditionError> {
            let started = std::time::Instant::now();
            let catalog = catalog.read();
            pipeline.with_audience(&workspace, |index| {
                let Some(index) = index else {
                    return Ok(Evaluated::default());
                };
                let members = match &target {
                    Target::Condition(condition) => catalog.members(&workspace, index, condition, &at)?,
                    Target::Segment(id) => catalog.segment_members(&workspace, index, id, &at)?,
                };
                let mut profiles: Vec<ProfileId> = sample(&members, want)
                    .into_iter()
                    .filter_map(|n| index.profile(n))
                    .collect();
                profiles.sort_unstable();
                Ok(Evaluated {
                    size: members.len(),
                    members: profiles,
                    took_ms: started.elapsed().as_secs_f64() * 1_000.0,
                })
            })
        };
        blocking(job).await?.map_err(|e| condition_problem(e).into())
    }

    /// A stored segment's size now.
    async fn size_of(&self, workspace: &WorkspaceId, id: &SegmentId) -> Result<u64, EngineError> {
        let answer = self
            .evaluate(workspace, Target::Segment(id.clone()), Want::Sample(0))
            .await?;
        Ok(answer.size)
    }

    /// Takes every segment's size now and stores it in its size history.
    async fn record_sizes(&self) -> Result<(), EngineError> {
        let by_workspace: Vec<(WorkspaceId, Vec<SegmentId>)> = {
            let catalog = self.segments.read();
            catalog
                .workspaces()
                .map(|ws| {
                    (
                        ws.clone(),
                        catalog.list(ws).map(|d| d.record.id.clone()).collect(),
                    )
                })
                .collect()
        };
        let at = self.clock.now();
        for (workspace, ids) in by_workspace {
            let mut sizes = Vec::with_capacity(ids.len());
            for id in ids {
                let size = self.size_of(&workspace, &id).await?;
                sizes.push((id, size));
            }
            self.stores.segments.record_sizes(&workspace, at, &sizes).await?;
        }
        Ok(())
    }

    /// Records segment sizes at start and at the top of every hour of the engine's
    /// clock, for the size-over-time chart.
    async fn record_sizes_forever(self: Arc<Self>) {
        loop {
            self.clock
                .job_due(self.size_records.next_due(self.clock.now()))
                .await;
            // A move of a simulated clock may have recorded them already.
            if !self.size_records.claim(self.clock.now()) {
                continue;
            }
            if let Err(error) = self.record_sizes().await {
                tracing::warn!(%error, "recording segment sizes failed");
            }
        }
    }
}

impl CampaignAudience for Audiences {
    fn members(&self, workspace: &WorkspaceId, segment: &SegmentId) -> Result<Vec<ProfileId>, String> {
        let at = self.evaluation(workspace);
        let catalog = self.segments.read();
        self.pipeline.with_audience(workspace, |index| {
            let Some(index) = index else { return Ok(Vec::new()) };
            let members = catalog
                .segment_members(workspace, index, segment, &at)
                .map_err(|e| e.to_string())?;
            Ok(members.iter().filter_map(|n| index.profile(n)).collect())
        })
    }
}

/// Up to `n` members spread evenly over the whole set, or all of them.
fn sample(members: &RoaringBitmap, want: Want) -> Vec<u32> {
    match want {
        Want::All => members.iter().collect(),
        Want::Sample(0) => Vec::new(),
        Want::Sample(n) => {
            let size = members.len();
            let step = (size / n as u64).max(1);
            (0..size)
                .step_by(usize::try_from(step).unwrap_or(usize::MAX))
                .take(n)
                .filter_map(|rank| members.select(u32::try_from(rank).ok()?))
                .collect()
        }
    }
}

/// Runs `job` on a blocking thread.
async fn blocking<R: Send + 'static>(job: impl FnOnce() -> R + Send + 'static) -> Result<R, EngineError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|_| EngineError::Stopped)
}

/// A condition's problem, its path written from the request's `condition` field.
fn condition_problem(e: ConditionError) -> Problem {
    let field = if e.path.is_empty() || e.path == "condition" {
        "condition".to_owned()
    } else if e.path.starts_with("condition") {
        e.path
    } else {
        format!("condition.{}", e.path)
    };
    Problem::at(ErrorCode::InvalidCondition, field, e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_spreads_over_the_whole_set() {
        let members: RoaringBitmap = (0..100).collect();
        assert_eq!(sample(&members, Want::Sample(4)), vec![0, 25, 50, 75]);
        assert_eq!(sample(&members, Want::Sample(0)), Vec::<u32>::new());
        assert_eq!(sample(&members, Want::All).len(), 100);
        let few: RoaringBitmap = [3, 9].into_iter().collect();
        assert_eq!(sample(&few, Want::Sample(10)), vec![3, 9]);
    }

    #[test]
    fn condition_problems_name_the_request_field() {
        let at = |path: &str| {
            condition_problem(ConditionError {
                path: path.to_owned(),
                message: "bad".to_owned(),
            })
            .field
        };
        assert_eq!(at("").as_deref(), Some("condition"));
        assert_eq!(at("window.amount").as_deref(), Some("condition.window.amount"));
        assert_eq!(at("condition.all[1]").as_deref(), Some("condition.all[1]"));
    }
}
