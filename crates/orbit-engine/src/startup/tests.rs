//! Start-up from a snapshot and the log after it gives the memory a rebuild from the
//! whole log gives, whatever happened after the snapshot (merges, erasures, trait
//! changes, baselines saved or deleted, transitions), and so does the running pipeline.

use crate::audience::index::observe::ObservedIndex;
use crate::snapshot::{SnapshotFile, Snapshotter};
use crate::startup::StartupSource;
use crate::timeline::TimelineCursor;
use crate::{IngestPipeline, PipelineHandle};
use jiff::Timestamp;
use orbit_core::audience::membership::{Transition, transition_event};
use orbit_core::profile::Profile;
use orbit_core::{
    Clock, EventKind, EventName, Identity, IdentityKind, ManualClock, NewEvent, ProfileId, SegmentId,
    SourceId, WorkspaceId,
};
use orbit_store::{LogPosition, MembershipBaseline, Stores};
use orbit_store_sqlite::{Durability, SqliteStore};
use proptest::prelude::*;
use serde_json::{Map, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const PEOPLE: usize = 6;
const USERS: usize = 3;
const SEGMENTS: [&str; 2] = ["vip", "lapsed"];
const NAMES: [&str; 2] = ["product_viewed", "order_paid"];
const CITIES: [&str; 3] = ["重庆", "成都", "上海"];
/// Event times: several the same millisecond, across a day boundary.
const OFFSETS_MS: [i64; 5] = [0, 0, 1, 86_400_000, 86_400_001];
const BASE_MS: i64 = 1_795_400_250_250;

/// One thing that happens to the engine.
#[derive(Debug, Clone)]
enum Op {
    Track {
        person: usize,
        name: usize,
        at: usize,
        amount: i64,
    },
    /// Several people identifying as one user merge.
    Identify {
        person: usize,
        user: usize,
        city: usize,
    },
    Patch {
        person: usize,
        tier: i64,
    },
    Erase {
        person: usize,
    },
    Baseline {
        segment: usize,
        members: Vec<usize>,
    },
    Announce {
        segment: usize,
        person: usize,
        entered: bool,
    },
    Delete {
        segment: usize,
    },
    Snapshot,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..PEOPLE, 0..NAMES.len(), 0..OFFSETS_MS.len(), 0i64..100)
            .prop_map(|(person, name, at, amount)| Op::Track { person, name, at, amount }),
        3 => (0..PEOPLE, 0..USERS, 0..CITIES.len()).prop_map(|(person, user, city)| Op::Identify { person, user, city }),
        1 => (0..PEOPLE, 0i64..3).prop_map(|(person, tier)| Op::Patch { person, tier }),
        1 => (0..PEOPLE).prop_map(|person| Op::Erase { person }),
        1 => (0..SEGMENTS.len(), prop::collection::vec(0..PEOPLE, 0..4))
            .prop_map(|(segment, members)| Op::Baseline { segment, members }),
        3 => (0..SEGMENTS.len(), 0..PEOPLE, any::<bool>())
            .prop_map(|(segment, person, entered)| Op::Announce { segment, person, entered }),
        1 => (0..SEGMENTS.len()).prop_map(|segment| Op::Delete { segment }),
        2 => Just(Op::Snapshot),
    ]
}

fn ws() -> WorkspaceId {
    WorkspaceId::default_workspace()
}

fn anonymous(person: usize) -> Identity {
    Identity::new(IdentityKind::AnonymousId, format!("anon-{person}")).expect("an identity")
}

fn event(n: usize, kind: EventKind, identities: Vec<Identity>, at_ms: i64) -> NewEvent {
    let at = Timestamp::from_millisecond(at_ms).expect("a time");
    NewEvent {
        workspace_id: ws(),
        source_id: SourceId::parse("app").expect("a source"),
        message_id: format!("m-{n}"),
        kind,
        name: None,
        timestamp: at,
        received_at: at,
        identities,
        user_id: None,
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        traits: Map::new(),
        properties: Map::new(),
        context: Map::new(),
        issues: Vec::new(),
    }
}

/// Everything the pipeline holds, by id and text.
#[derive(Debug, PartialEq)]
struct Observed {
    profiles: BTreeMap<ProfileId, Profile>,
    timelines: BTreeMap<(WorkspaceId, ProfileId), Vec<TimelineCursor>>,
    indexes: BTreeMap<WorkspaceId, ObservedIndex>,
    applied: LogPosition,
}

fn observe(pipeline: &PipelineHandle) -> Observed {
    let (resolver, timelines, audiences) = pipeline.memory();
    let profiles = resolver
        .states()
        .flat_map(|(_, state)| state.graph.profiles().map(|p| (p.id, p.clone())))
        .collect();
    let indexes = audiences
        .indexes()
        .filter(|(_, index)| !index.is_empty())
        .map(|(id, index)| (id.clone(), index.observe()))
        .collect();
    Observed {
        profiles,
        timelines: timelines.all(),
        indexes,
        applied: audiences.applied(),
    }
}

struct World {
    stores: Stores,
    clock: Arc<ManualClock>,
    pipeline: PipelineHandle,
    file: SnapshotFile,
    snapshots: Snapshotter,
    /// Whether a snapshot holding at least one event was written.
    snapshotted: bool,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("a directory");
        let store = SqliteStore::open(&dir.path().join("orbit.db"), Durability::Normal)
            .await
            .expect("a store");
        let stores = store.into_stores();
        let clock = Arc::new(ManualClock::new(
            Timestamp::from_millisecond(BASE_MS).expect("a time"),
        ));
        let pipeline = IngestPipeline::start(stores.clone(), clock.clone())
            .await
            .expect("a pipeline");
        let file = SnapshotFile::in_dir(dir.path());
        let snapshots = Snapshotter::new(
            pipeline.clone(),
            stores.events.clone(),
            file.clone(),
            clock.clone(),
            LogPosition(0),
        );
        Self {
            stores,
            clock,
            pipeline,
            file,
            snapshots,
            snapshotted: false,
            _dir: dir,
        }
    }

    fn profile_of(&self, person: usize) -> Option<ProfileId> {
        Some(self.pipeline.profile_by_identity(&ws(), &anonymous(person))?.id)
    }

    async fn apply(&mut self, n: usize, op: &Op) {
        match op {
            Op::Track {
                person,
                name,
                at,
                amount,
            } => {
                let mut track = event(
                    n,
                    EventKind::Track,
                    vec![anonymous(*person)],
                    BASE_MS + OFFSETS_MS[*at],
                );
                track.name = EventName::parse(NAMES[*name]).ok();
                track.properties =
                    json!({"amount": amount, "city": CITIES[*amount as usize % 3], "nested": {"x": 1}})
                        .as_object()
                        .cloned()
                        .unwrap_or_default();
                self.append(track).await;
            }
            Op::Identify { person, user, city } => {
                let user = Identity::new(IdentityKind::UserId, format!("user-{user}")).expect("an identity");
                let mut identify = event(n, EventKind::Identify, vec![anonymous(*person), user], BASE_MS);
                identify.traits = json!({"city": CITIES[*city], "age": 20 + city})
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                self.append(identify).await;
            }
            Op::Patch { person, tier } => {
                if let Some(profile) = self.profile_of(*person) {
                    let traits = json!({"tier": tier}).as_object().cloned().unwrap_or_default();
                    self.pipeline
                        .patch_traits(ws(), profile, traits)
                        .await
                        .expect("patched");
                }
            }
            Op::Erase { person } => {
                if let Some(profile) = self.profile_of(*person) {
                    self.pipeline.erase(ws(), profile).await.expect("erased");
                }
            }
            Op::Baseline { segment, members } => {
                // As saving a segment does: its members now, at the position applied.
                let members: Vec<ProfileId> = members.iter().filter_map(|p| self.profile_of(*p)).collect();
                let position = self.pipeline.with_audiences(|a| a.applied());
                let segment_id = SegmentId::parse(SEGMENTS[*segment]).expect("a segment id");
                let baseline = MembershipBaseline { position, members };
                self.stores
                    .segments
                    .save_baseline(&ws(), &segment_id, &baseline)
                    .await
                    .expect("saved");
                self.pipeline.with_audience_mut(&ws(), |index| {
                    index.set_baseline(segment_id.as_str(), position.0, &baseline.members);
                });
            }
            Op::Announce {
                segment,
                person,
                entered,
            } => {
                if let Some(profile) = self.profile_of(*person) {
                    let transition = if *entered {
                        Transition::Entered
                    } else {
                        Transition::Exited
                    };
                    let segment_id = SegmentId::parse(SEGMENTS[*segment]).expect("a segment id");
                    let announced = transition_event(
                        &ws(),
                        &segment_id,
                        SEGMENTS[*segment],
                        profile,
                        anonymous(*person),
                        transition,
                        self.clock.now(),
                        n as u64,
                    );
                    self.append(announced).await;
                }
            }
            Op::Delete { segment } => {
                let segment_id = SegmentId::parse(SEGMENTS[*segment]).expect("a segment id");
                self.stores
                    .segments
                    .delete_segment(&ws(), &segment_id)
                    .await
                    .expect("deleted");
                self.pipeline.with_audience_mut(&ws(), |index| {
                    index.forget_announced(segment_id.as_str());
                });
            }
            Op::Snapshot => {
                let written = self.snapshots.write_now().await.expect("a snapshot");
                self.snapshotted |= written.is_some();
            }
        }
    }

    async fn append(&self, event: NewEvent) {
        self.pipeline.append(vec![event]).await.expect("appended");
    }
}

async fn restarts_agree(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut world = World::new().await;
    for (n, op) in ops.iter().enumerate() {
        world.apply(n, op).await;
    }
    let live = observe(&world.pipeline);
    let rebuilt = IngestPipeline::start(world.stores.clone(), world.clock.clone())
        .await
        .expect("rebuilt");
    let restored = IngestPipeline::start_from(world.stores.clone(), world.clock.clone(), Some(&world.file))
        .await
        .expect("restored");
    prop_assert_eq!(&rebuilt.startup().source, &StartupSource::Log);
    if world.snapshotted {
        prop_assert!(
            matches!(restored.startup().source, StartupSource::Snapshot(_)),
            "{:?}",
            restored.startup()
        );
    }
    let rebuilt = observe(&rebuilt);
    prop_assert_eq!(
        &observe(&restored),
        &rebuilt,
        "snapshot and tail against the whole log"
    );
    prop_assert_eq!(&live, &rebuilt, "the running pipeline against the whole log");
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_snapshot_and_its_tail_give_what_the_whole_log_gives(ops in prop::collection::vec(op(), 1..40)) {
        runtime().block_on(restarts_agree(ops))?;
    }
}

#[tokio::test]
async fn a_snapshot_of_another_log_or_ahead_of_it_is_refused_and_the_log_rebuilt() {
    let track = |person: usize, at: usize| Op::Track {
        person,
        name: 0,
        at,
        amount: 1,
    };
    let mut theirs = World::new().await;
    for (n, op) in [track(0, 0), track(1, 1), track(2, 2), Op::Snapshot]
        .iter()
        .enumerate()
    {
        theirs.apply(n, op).await;
    }
    for (events, reason) in [(3, "not the one"), (1, "the log ends at 1")] {
        let mut ours = World::new().await;
        for n in 0..events {
            ours.apply(n, &track(3, n)).await;
        }
        std::fs::copy(theirs.file.path(), ours.file.path()).expect("copied");
        let started = IngestPipeline::start_from(ours.stores.clone(), ours.clock.clone(), Some(&ours.file))
            .await
            .expect("started");
        let report = started.startup();
        assert_eq!(report.source, StartupSource::Log);
        let refused = report.refused.clone().unwrap_or_default();
        assert!(refused.contains(reason), "{refused}");
        assert_eq!(report.events, events, "rebuilt from its own log");
    }
}
