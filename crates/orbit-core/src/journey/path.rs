//! The way one run went: each node it passed, how and when it left it, and how it left
//! the journey — what a person's journeys show (`GET /v1/profiles/{id}/journeys`).
//!
//! A run that loops through a wait passes nodes for as long as it stays, so the path is
//! bounded: it keeps the first [`PATH_FIRST`] steps (how the person came in) and the
//! latest [`PATH_LATEST`] (where they are now), counts those dropped between in
//! `omitted`, and always keeps the exit.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::run::{ExitReason, Passed};
use crate::NodeId;

/// Steps kept from the start of a path.
pub const PATH_FIRST: usize = 20;
/// Steps kept from the end of a path.
pub const PATH_LATEST: usize = 30;

/// A node a run passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PathStep {
    /// The node.
    pub node: NodeId,
    /// How it was left (`next`, `on_event`, `on_timeout`, a branch's or split's path
    /// name, `default`, `late`, `goal`…); none when the run arrived at a wait or an exit.
    pub outcome: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// How a run left its journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PathExit {
    /// The node it left at, if it was at one.
    pub node: Option<NodeId>,
    /// Why.
    pub reason: ExitReason,
    /// When.
    pub at: Timestamp,
}

/// The nodes a run passed, oldest first, and how it left: the first 20 steps and the
/// latest 30 are kept, `omitted` counting those passed between them.
// Contract: `steps` holds at most `PATH_FIRST + PATH_LATEST`; when `omitted > 0`, the
// first `PATH_FIRST` are the run's first steps and the rest its latest (the schema's
// description above spells the constants out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunPath {
    /// The steps kept, oldest first.
    #[serde(default)]
    pub steps: Vec<PathStep>,
    /// Steps passed between the first and the latest kept, not kept.
    #[serde(default)]
    pub omitted: u32,
    /// How the run left, once it has.
    #[serde(default)]
    pub exit: Option<PathExit>,
}

impl RunPath {
    /// Adds the nodes one transition passed at `now`.
    pub fn record(&mut self, passed: &[Passed], now: Timestamp) {
        for p in passed {
            if self.steps.len() == PATH_FIRST + PATH_LATEST {
                // The oldest of the latest goes; the first ones stay.
                self.steps.remove(PATH_FIRST);
                self.omitted = self.omitted.saturating_add(1);
            }
            self.steps.push(PathStep {
                node: p.node.clone(),
                outcome: p.outcome.clone(),
                at: now,
            });
        }
        debug_assert!(self.steps.len() <= PATH_FIRST + PATH_LATEST);
    }

    /// Records the exit; a run leaves once, so a second is ignored.
    pub fn leave(&mut self, node: Option<NodeId>, reason: ExitReason, at: Timestamp) {
        if self.exit.is_none() {
            self.exit = Some(PathExit { node, reason, at });
        }
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.exit.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::Condition;
    use crate::journey::{Graph, Input, JourneyDefinition, PersonFacts, Run, RunState, apply};
    use crate::{JourneyId, ProfileId};
    use jiff::tz::TimeZone;
    use serde_json::{Value, json};

    fn at(s: &str) -> Timestamp {
        s.parse().expect("a timestamp")
    }

    fn node(id: &str) -> NodeId {
        NodeId::parse(id).expect("a node id")
    }

    struct Nobody;

    impl PersonFacts for Nobody {
        fn time_zone(&self) -> TimeZone {
            TimeZone::UTC
        }
        fn trait_value(&self, _: &str) -> Option<Value> {
            None
        }
        fn holds(&self, _: &Condition) -> bool {
            false
        }
    }

    fn run(entered: &str) -> Run {
        Run {
            journey: JourneyId::parse("j").expect("id"),
            version: 1,
            profile: ProfileId::mint(Timestamp::UNIX_EPOCH, 7),
            entry: "e1".to_owned(),
            key: None,
            entered_at: at(entered),
            entry_event: None,
            wait_event: None,
            steps: 0,
            state: RunState::Entering,
            path: RunPath::default(),
        }
    }

    fn moves(definition: &JourneyDefinition, run: &mut Run, input: Input<'_>, now: &str) {
        let id = JourneyId::parse("j").expect("id");
        let graph = Graph {
            journey: &id,
            start: &definition.start,
            nodes: &definition.nodes,
            goal: definition.goal.as_ref(),
            key_property: None,
        };
        let moved = apply(&graph, run, input, &Nobody, at(now)).expect("applies");
        assert!(moved.moved, "{now}");
    }

    fn step(id: &str, outcome: Option<&str>, when: &str) -> PathStep {
        PathStep {
            node: node(id),
            outcome: outcome.map(str::to_owned),
            at: at(when),
        }
    }

    #[test]
    fn a_run_keeps_each_node_passed_with_its_outcome_and_time_and_its_exit() {
        let definition: JourneyDefinition = serde_json::from_value(json!({
            "name": "重庆", "entry": {"type": "api"}, "start": "wait",
            "nodes": {
                "wait": {"type": "wait_for_event", "event": "order_paid", "timeout": "PT5M",
                         "on_event": "done", "on_timeout": "nudge"},
                "nudge": {"type": "send", "messages": [{"template": "cq-coupon"}], "next": "done"},
                "done": {"type": "exit"}
            }
        }))
        .expect("a definition");
        let mut run = run("2026-12-07T02:00:00Z");
        moves(&definition, &mut run, Input::Enter, "2026-12-07T02:00:00Z");
        moves(&definition, &mut run, Input::Timer, "2026-12-07T02:05:00Z");
        assert_eq!(
            run.path,
            RunPath {
                steps: vec![
                    step("wait", None, "2026-12-07T02:00:00Z"),
                    step("wait", Some("on_timeout"), "2026-12-07T02:05:00Z"),
                    step("nudge", Some("next"), "2026-12-07T02:05:00Z"),
                    step("done", None, "2026-12-07T02:05:00Z"),
                ],
                omitted: 0,
                exit: Some(PathExit {
                    node: Some(node("done")),
                    reason: ExitReason::Completed,
                    at: at("2026-12-07T02:05:00Z"),
                }),
            }
        );
    }

    #[test]
    fn being_taken_out_records_the_exit_at_the_waiting_node() {
        let definition: JourneyDefinition = serde_json::from_value(json!({
            "name": "等", "entry": {"type": "api"}, "start": "wait",
            "nodes": {"wait": {"type": "wait", "duration": "P1D", "next": "done"}, "done": {"type": "exit"}}
        }))
        .expect("a definition");
        let mut run = run("2026-12-07T02:00:00Z");
        moves(&definition, &mut run, Input::Enter, "2026-12-07T02:00:00Z");
        moves(
            &definition,
            &mut run,
            Input::Leave(ExitReason::Merged),
            "2026-12-07T03:00:00Z",
        );
        assert_eq!(run.path.steps, vec![step("wait", None, "2026-12-07T02:00:00Z")]);
        assert_eq!(
            run.path.exit,
            Some(PathExit {
                node: Some(node("wait")),
                reason: ExitReason::Merged,
                at: at("2026-12-07T03:00:00Z"),
            })
        );
    }

    #[test]
    fn a_loop_through_a_wait_keeps_the_first_and_the_latest_steps_and_counts_the_rest() {
        let definition: JourneyDefinition = serde_json::from_value(json!({
            "name": "每周", "entry": {"type": "api"}, "start": "send",
            "nodes": {
                "send": {"type": "send", "messages": [{"template": "digest"}], "next": "week"},
                "week": {"type": "wait", "duration": "P7D", "next": "send"}
            }
        }))
        .expect("a definition");
        let mut run = run("2026-01-01T00:00:00Z");
        moves(&definition, &mut run, Input::Enter, "2026-01-01T00:00:00Z");
        let mut now = at("2026-01-01T00:00:00Z");
        // Each week passes three steps: the wait left, the send, the wait arrived at.
        for _ in 0..100 {
            now += jiff::SignedDuration::from_hours(24 * 7);
            moves(&definition, &mut run, Input::Timer, &now.to_string());
        }
        assert_eq!(
            (PATH_FIRST, PATH_LATEST),
            (20, 30),
            "the API's schema and docs/journeys.md state these numbers"
        );
        let total = 2 + 100 * 3;
        assert_eq!(run.path.steps.len(), PATH_FIRST + PATH_LATEST);
        assert_eq!(run.path.omitted as usize, total - PATH_FIRST - PATH_LATEST);
        assert_eq!(
            run.path.steps[0],
            step("send", Some("next"), "2026-01-01T00:00:00Z")
        );
        assert_eq!(
            run.path.steps.last(),
            Some(&PathStep {
                node: node("week"),
                outcome: None,
                at: now,
            })
        );
        // The kept ends are the very first steps and the very latest, in order.
        let times: Vec<Timestamp> = run.path.steps.iter().map(|s| s.at).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        // Step 20 (index 19) is the last of week six's three.
        assert_eq!(run.path.steps[PATH_FIRST - 1].at, at("2026-02-12T00:00:00Z"));
        assert_eq!(
            run.path.steps[PATH_FIRST].at,
            now - jiff::SignedDuration::from_hours(24 * 7 * 9)
        );
    }

    #[test]
    fn a_run_stored_before_paths_were_kept_loads_with_an_empty_path() {
        let mut stored = serde_json::to_value(run("2026-12-07T02:00:00Z")).expect("encodes");
        stored.as_object_mut().expect("an object").remove("path");
        let loaded: Run = serde_json::from_value(stored).expect("decodes");
        assert!(loaded.path.is_empty());
    }
}
