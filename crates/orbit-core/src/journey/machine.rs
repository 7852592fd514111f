//! One person's way through one journey version: a state machine with no I/O.
//!
//! `apply(graph, run, input, facts, now)` moves the run from where it waits through
//! every node that does not wait (actions, branches, splits) to the next wait or the
//! end, and returns the effects to carry out. The engine persists the new run state
//! together with the effects' keys before doing them, so replaying a transition after
//! a crash yields the same keys and nothing twice.

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde_json::Value;

use super::model::{JourneyCondition, StaffAddress, Step, ValueSource, WaitTarget, WeightedPath};
use super::run::{
    Action, Effect, ExitReason, Graph, Input, JourneyEvent, MAX_STEPS_PER_TRANSITION, MachineError, Passed,
    PersonFacts, Run, RunState, StaffTarget, Transition, journey_origin,
};
use super::time;
use crate::audience::values::{Today, lookup, passes};
use crate::audience::{Condition, EventCondition, EventMatch, Measure, PropertyFilter, Window};
use crate::messaging::assignment::{Arm, Split, VariantWeight};
use crate::{JourneyId, NodeId, ProfileId};

/// Applies one input to a run at `now`, and adds what it passed (and its exit) to the
/// run's path.
///
/// # Errors
/// When the run and the graph disagree; the run is left unchanged then.
pub fn apply(
    graph: &Graph<'_>,
    run: &mut Run,
    input: Input<'_>,
    facts: &dyn PersonFacts,
    now: Timestamp,
) -> Result<Transition, MachineError> {
    let transition = transition(graph, run, input, facts, now)?;
    if transition.moved {
        run.path.record(&transition.passed, now);
        if let RunState::Exited { node, reason, at } = &run.state {
            run.path.leave(node.clone(), *reason, *at);
        }
    }
    Ok(transition)
}

/// Moves the run; the path is [`apply`]'s.
fn transition(
    graph: &Graph<'_>,
    run: &mut Run,
    input: Input<'_>,
    facts: &dyn PersonFacts,
    now: Timestamp,
) -> Result<Transition, MachineError> {
    let mut work = run.clone();
    let mut transition = Transition::default();
    let tz = facts.time_zone();
    let from = match (&work.state, input) {
        (RunState::Exited { .. }, _) => return Ok(transition),
        (_, Input::Leave(reason)) => {
            let node = waiting_node(&work.state);
            exit(&mut work, node, reason, now);
            transition.moved = true;
            *run = work;
            return Ok(transition);
        }
        (RunState::Entering, Input::Enter) => graph.start.clone(),
        (RunState::Entering, _) => return Ok(transition),
        (RunState::Waiting { .. }, Input::Enter) => return Ok(transition),
        (RunState::Waiting { node, until, .. }, Input::Timer) => {
            if now < *until {
                return Ok(transition);
            }
            let (node, until) = (node.clone(), *until);
            let step = step_of(graph, &node)?;
            let late = now.duration_since(until);
            if lateness_limit(step).is_some_and(|limit| exceeds(late, limit, until, &tz)) {
                transition.passed.push(Passed {
                    node: node.clone(),
                    outcome: Some("late".to_owned()),
                });
                exit(&mut work, Some(node), ExitReason::Late, now);
                transition.moved = true;
                *run = work;
                return Ok(transition);
            }
            let (outcome, next) = match step {
                Step::WaitForEvent { on_timeout, .. } => ("on_timeout", on_timeout.clone()),
                other => ("next", first_exit(other, &node)?),
            };
            transition.passed.push(Passed {
                node,
                outcome: Some(outcome.to_owned()),
            });
            next
        }
        (RunState::Waiting { node, for_event, .. }, Input::Event(event)) => {
            if graph
                .goal
                .is_some_and(|goal| event_matches(event, goal.event.as_deref(), &goal.filters, &tz, now))
            {
                let node = node.clone();
                transition.passed.push(Passed {
                    node: node.clone(),
                    outcome: Some("goal".to_owned()),
                });
                exit(&mut work, Some(node), ExitReason::Goal, now);
                transition.moved = true;
                *run = work;
                return Ok(transition);
            }
            if !*for_event {
                return Ok(transition);
            }
            let node = node.clone();
            let Step::WaitForEvent {
                event: name,
                filters,
                same_key,
                on_event,
                ..
            } = step_of(graph, &node)?
            else {
                return Ok(transition);
            };
            if !event_matches(event, Some(name), filters, &tz, now) {
                return Ok(transition);
            }
            if *same_key && !same_entry_key(graph, &work, event) {
                return Ok(transition);
            }
            work.wait_event = Some(event.clone());
            transition.passed.push(Passed {
                node,
                outcome: Some("on_event".to_owned()),
            });
            on_event.clone()
        }
    };
    walk(graph, &mut work, from, facts, &tz, now, &mut transition)?;
    transition.moved = true;
    *run = work;
    Ok(transition)
}

/// Moves from `node` through every node that does not wait.
fn walk(
    graph: &Graph<'_>,
    run: &mut Run,
    mut node: NodeId,
    facts: &dyn PersonFacts,
    tz: &TimeZone,
    now: Timestamp,
    transition: &mut Transition,
) -> Result<(), MachineError> {
    for _ in 0..MAX_STEPS_PER_TRANSITION {
        let step = step_of(graph, &node)?;
        run.steps = run.steps.saturating_add(1);
        let origin = journey_origin(graph.journey, run.version, &node, &run.entry, run.steps);
        let effect = |action: Action| Effect {
            node: node.clone(),
            origin: origin.clone(),
            action,
        };
        let (outcome, next): (Option<String>, NodeId) = match step {
            Step::Wait {
                duration,
                lateness_limit,
                ..
            } => {
                let until = time::after(now, duration.0, tz).unwrap_or(Timestamp::MAX);
                return wait(
                    run,
                    &node,
                    until,
                    false,
                    lateness_limit.map(|d| d.0),
                    tz,
                    now,
                    transition,
                );
            }
            Step::WaitUntil {
                until: target,
                lateness_limit,
                ..
            } => match wait_target(target, run, facts, tz, now) {
                Some(until) => {
                    return wait(
                        run,
                        &node,
                        until,
                        false,
                        lateness_limit.map(|d| d.0),
                        tz,
                        now,
                        transition,
                    );
                }
                None => {
                    transition.passed.push(Passed {
                        node: node.clone(),
                        outcome: Some("missing_time".to_owned()),
                    });
                    exit(run, Some(node), ExitReason::MissingTime, now);
                    return Ok(());
                }
            },
            Step::WaitForEvent { timeout, .. } => {
                let until = time::after(now, timeout.0, tz).unwrap_or(Timestamp::MAX);
                return wait(run, &node, until, true, None, tz, now, transition);
            }
            Step::Branch { paths, default } => {
                let today = today(now, tz);
                let taken = paths
                    .iter()
                    .enumerate()
                    .find(|(_, p)| condition_holds(&p.condition, run, facts, &today));
                match taken {
                    Some((i, path)) => (
                        Some(path.name.clone().unwrap_or_else(|| format!("paths[{i}]"))),
                        path.next.clone(),
                    ),
                    None => (Some("default".to_owned()), default.clone()),
                }
            }
            Step::Split { paths } => {
                let path = pick(paths, 0.0, graph.journey, &node, &run.profile);
                match path {
                    Some(p) => (Some(p.name.clone()), p.next.clone()),
                    None => return Err(MachineError::UnknownNode(node)),
                }
            }
            Step::Experiment {
                holdout_percent,
                variants,
            } => match pick(variants, *holdout_percent, graph.journey, &node, &run.profile) {
                Some(p) => (Some(p.name.clone()), p.next.clone()),
                None => {
                    transition.passed.push(Passed {
                        node: node.clone(),
                        outcome: Some("holdout".to_owned()),
                    });
                    exit(run, Some(node), ExitReason::Holdout, now);
                    return Ok(());
                }
            },
            Step::Send {
                messages,
                channel_policy,
                class,
                topic,
                next,
            } => {
                transition.effects.push(effect(Action::Send {
                    messages: messages.clone(),
                    channel_policy: *channel_policy,
                    class: *class,
                    topic: topic.clone(),
                }));
                (Some("next".to_owned()), next.clone())
            }
            Step::SetTrait { name, value, next } => {
                let value = match value {
                    ValueSource::Constant { value } => Some(value.clone()),
                    ValueSource::EntryProperty { property } => entry_property(run, property).cloned(),
                    ValueSource::Now => Some(Value::String(now.to_string())),
                };
                if let Some(value) = value {
                    transition.effects.push(effect(Action::SetTrait {
                        name: name.clone(),
                        value,
                    }));
                }
                (Some("next".to_owned()), next.clone())
            }
            Step::AddTag { tag, value, next } => {
                transition.effects.push(effect(Action::AddTag {
                    tag: tag.clone(),
                    value: value.clone(),
                }));
                (Some("next".to_owned()), next.clone())
            }
            Step::RemoveTag { tag, value, next } => {
                transition.effects.push(effect(Action::RemoveTag {
                    tag: tag.clone(),
                    value: value.clone(),
                }));
                (Some("next".to_owned()), next.clone())
            }
            Step::AddToSegment { segment, next } => {
                transition.effects.push(effect(Action::AddToSegment {
                    segment: segment.clone(),
                }));
                (Some("next".to_owned()), next.clone())
            }
            Step::Webhook { url, next } => {
                transition
                    .effects
                    .push(effect(Action::Webhook { url: url.clone() }));
                (Some("next".to_owned()), next.clone())
            }
            Step::CallTask { purpose, next } => {
                transition.effects.push(effect(Action::CallTask {
                    purpose: purpose.clone(),
                }));
                (Some("next".to_owned()), next.clone())
            }
            Step::NotifyStaff {
                to,
                subject,
                account,
                next,
            } => {
                transition.effects.push(effect(Action::NotifyStaff {
                    to: staff_target(to, run, facts),
                    subject: subject.clone(),
                    account: account.clone(),
                }));
                (Some("next".to_owned()), next.clone())
            }
            Step::Exit => {
                transition.passed.push(Passed {
                    node: node.clone(),
                    outcome: None,
                });
                exit(run, Some(node), ExitReason::Completed, now);
                return Ok(());
            }
        };
        transition.passed.push(Passed {
            node: node.clone(),
            outcome,
        });
        node = next;
    }
    Err(MachineError::Runaway)
}

/// Parks the run at a waiting node; a time already past is due at once.
#[expect(clippy::too_many_arguments, reason = "the walk's whole context, passed on")]
fn wait(
    run: &mut Run,
    node: &NodeId,
    until: Timestamp,
    for_event: bool,
    lateness_limit: Option<Span>,
    tz: &TimeZone,
    now: Timestamp,
    transition: &mut Transition,
) -> Result<(), MachineError> {
    run.state = RunState::Waiting {
        node: node.clone(),
        until,
        for_event,
    };
    if until > now {
        transition.passed.push(Passed {
            node: node.clone(),
            outcome: None,
        });
        return Ok(());
    }
    // A time already past when the wait starts counts as late by that much.
    if lateness_limit.is_some_and(|limit| exceeds(now.duration_since(until), limit, until, tz)) {
        transition.passed.push(Passed {
            node: node.clone(),
            outcome: Some("late".to_owned()),
        });
        exit(run, Some(node.clone()), ExitReason::Late, now);
    } else {
        transition.passed.push(Passed {
            node: node.clone(),
            outcome: None,
        });
    }
    Ok(())
}

fn exit(run: &mut Run, node: Option<NodeId>, reason: ExitReason, now: Timestamp) {
    run.state = RunState::Exited {
        node,
        reason,
        at: now,
    };
}

fn waiting_node(state: &RunState) -> Option<NodeId> {
    match state {
        RunState::Waiting { node, .. } => Some(node.clone()),
        _ => None,
    }
}

fn step_of<'g>(graph: &'g Graph<'_>, node: &NodeId) -> Result<&'g Step, MachineError> {
    graph
        .nodes
        .get(node)
        .ok_or_else(|| MachineError::UnknownNode(node.clone()))
}

fn first_exit(step: &Step, node: &NodeId) -> Result<NodeId, MachineError> {
    step.exits()
        .into_iter()
        .next()
        .map(|(_, next)| next.clone())
        .ok_or_else(|| MachineError::UnknownNode(node.clone()))
}

fn lateness_limit(step: &Step) -> Option<Span> {
    match step {
        Step::Wait { lateness_limit, .. } | Step::WaitUntil { lateness_limit, .. } => {
            lateness_limit.map(|d| d.0)
        }
        _ => None,
    }
}

/// Whether `late` is more than `limit` (a span counted from `due` in `tz`).
fn exceeds(late: jiff::SignedDuration, limit: Span, due: Timestamp, tz: &TimeZone) -> bool {
    match time::after(due, limit, tz) {
        Some(deadline) => due.checked_add(late).is_ok_and(|at| at > deadline),
        None => false,
    }
}

fn today(now: Timestamp, tz: &TimeZone) -> Today {
    Today {
        tz: tz.clone(),
        date: now.to_zoned(tz.clone()).date(),
    }
}

/// Whether an event has the name (any, when `None`) and passes every filter, read
/// in `tz` on the day of `now`.
pub fn event_matches(
    event: &JourneyEvent,
    name: Option<&str>,
    filters: &[PropertyFilter],
    tz: &TimeZone,
    now: Timestamp,
) -> bool {
    if name.is_some_and(|n| n != event.name) {
        return false;
    }
    let today = today(now, tz);
    filters.iter().all(|f| {
        passes(
            lookup(&event.properties, &f.property),
            f.value_type,
            &f.test,
            &today,
        )
    })
}

/// Whether an event carries the same entry key as the run.
fn same_entry_key(graph: &Graph<'_>, run: &Run, event: &JourneyEvent) -> bool {
    let (Some(property), Some(key)) = (graph.key_property, run.key.as_deref()) else {
        return true;
    };
    lookup(&event.properties, property)
        .and_then(crate::audience::values::read_text)
        .is_some_and(|k| k == key)
}

fn entry_property<'r>(run: &'r Run, property: &str) -> Option<&'r Value> {
    run.entry_event
        .as_ref()
        .and_then(|e| lookup(&e.properties, property))
}

fn wait_target(
    target: &WaitTarget,
    run: &Run,
    facts: &dyn PersonFacts,
    tz: &TimeZone,
    now: Timestamp,
) -> Option<Timestamp> {
    match target {
        WaitTarget::TimeOfDay { time: t, days_later } => time::next_time_of_day(now, t.0, *days_later, tz),
        WaitTarget::Trait {
            name,
            offset,
            time: t,
        } => time::from_value(&facts.trait_value(name)?, offset.map(|d| d.0), t.map(|t| t.0), tz),
        WaitTarget::EntryProperty {
            property,
            offset,
            time: t,
        } => time::from_value(
            entry_property(run, property)?,
            offset.map(|d| d.0),
            t.map(|t| t.0),
            tz,
        ),
    }
}

fn condition_holds(condition: &JourneyCondition, run: &Run, facts: &dyn PersonFacts, today: &Today) -> bool {
    let property_passes = |event: Option<&JourneyEvent>, filter: &PropertyFilter| {
        passes(
            event.and_then(|e| lookup(&e.properties, &filter.property)),
            filter.value_type,
            &filter.test,
            today,
        )
    };
    match condition {
        JourneyCondition::And { conditions } => {
            conditions.iter().all(|c| condition_holds(c, run, facts, today))
        }
        JourneyCondition::Or { conditions } => {
            conditions.iter().any(|c| condition_holds(c, run, facts, today))
        }
        JourneyCondition::Not { condition } => !condition_holds(condition, run, facts, today),
        JourneyCondition::Profile { condition } => facts.holds(condition),
        JourneyCondition::EntryEvent { filter } => property_passes(run.entry_event.as_ref(), filter),
        JourneyCondition::WaitEvent { filter } => property_passes(run.wait_event.as_ref(), filter),
        JourneyCondition::SinceEntry {
            event,
            filters,
            compare,
            count,
        } => facts.holds(&Condition::Event(EventCondition {
            matching: EventMatch {
                event: Some(event.clone()),
                filters: filters.clone(),
            },
            measure: Measure::Count {
                compare: *compare,
                value: f64::from(*count),
            },
            window: Window::Between {
                from: run.entered_at,
                to: Timestamp::MAX,
            },
        })),
    }
}

/// A weighted path for the person, stable per journey and node; `None` for the
/// holdout.
fn pick<'p>(
    paths: &'p [WeightedPath],
    holdout_percent: f64,
    journey: &JourneyId,
    node: &NodeId,
    profile: &ProfileId,
) -> Option<&'p WeightedPath> {
    let split = Split {
        control_percent: holdout_percent,
        variants: paths
            .iter()
            .map(|p| VariantWeight {
                name: p.name.clone(),
                weight: p.weight,
            })
            .collect(),
    };
    match split.assign(&format!("journey:{journey}:{node}"), profile) {
        Arm::Control => None,
        Arm::Variant(i) => paths.get(i),
    }
}

fn staff_target(to: &StaffAddress, run: &Run, facts: &dyn PersonFacts) -> StaffTarget {
    let text = |value: Option<Value>| value.and_then(|v| v.as_str().map(|s| s.trim().to_owned()));
    let email = |address: Option<String>, from: String| match address {
        Some(address) if address.contains('@') => StaffTarget::Email { address },
        _ => StaffTarget::Missing { from },
    };
    match to {
        StaffAddress::Email { address } => StaffTarget::Email {
            address: address.clone(),
        },
        StaffAddress::Webhook { url } => StaffTarget::Webhook { url: url.clone() },
        StaffAddress::Trait { name } => email(text(facts.trait_value(name)), format!("trait {name}")),
        StaffAddress::EntryProperty { property } => email(
            text(entry_property(run, property).cloned()),
            format!("entry property {property}"),
        ),
    }
}
