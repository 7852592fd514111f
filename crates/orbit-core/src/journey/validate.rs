//! What makes a journey definition unusable, each problem pinned on its node and field.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{
    DateRepeat, Delay, Entry, JourneyCondition, JourneyDefinition, Reentry, StaffAddress, Step, WeightedPath,
};
use super::time;
use crate::audience::{self, PropertyFilter};
use crate::messaging::ClassName;
use crate::tags::references::{Reference, references};
use crate::{NodeId, SegmentId, TemplateId};

/// At most this many nodes in one journey.
pub const MAX_NODES: usize = 500;

/// One thing wrong with a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct JourneyProblem {
    /// The node at fault, when the problem is on one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeId>,
    /// The field at fault, as a JSON path inside the node (or the definition).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// What validation looks up outside the definition.
pub trait JourneyReferences {
    /// Whether the template exists.
    fn template_exists(&self, template: &TemplateId) -> bool;
    /// Whether the tag exists.
    fn tag_exists(&self, tag: &str) -> bool;
    /// Whether the segment exists, and whether it is static.
    fn segment(&self, segment: &SegmentId) -> Option<SegmentKind>;
}

/// The two kinds of segment, as far as journeys care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// Members follow a condition.
    Dynamic,
    /// Members are added and removed explicitly.
    Static,
}

/// Every problem of a definition; empty when it can be published.
pub fn validate(definition: &JourneyDefinition, refs: &dyn JourneyReferences) -> Vec<JourneyProblem> {
    let mut check = Checker {
        problems: Vec::new(),
        refs,
    };
    check.definition(definition);
    check.problems
}

struct Checker<'r> {
    problems: Vec<JourneyProblem>,
    refs: &'r dyn JourneyReferences,
}

/// A fixed instant to test that spans move time forward (their length may depend on
/// the calendar, not their sign).
fn reference_instant() -> Timestamp {
    Timestamp::UNIX_EPOCH
}

impl Checker<'_> {
    fn on(&mut self, node: Option<&NodeId>, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(JourneyProblem {
            node: node.cloned(),
            field: field.into(),
            message: message.into(),
        });
    }

    fn definition(&mut self, d: &JourneyDefinition) {
        if d.name.trim().is_empty() {
            self.on(None, "name", "must not be empty");
        }
        self.entry(&d.entry);
        match &d.reentry {
            Reentry::OncePer { period } => self.positive(None, "reentry.period", period.0),
            Reentry::Once | Reentry::Always => {}
        }
        if d.limits.per_person == Some(0) {
            self.on(None, "limits.per_person", "must be at least 1");
        }
        if d.limits.total == Some(0) {
            self.on(None, "limits.total", "must be at least 1");
        }
        if let Some(goal) = &d.goal {
            if goal.event.as_deref().is_none_or(|e| e.trim().is_empty()) {
                self.on(None, "goal.event", "must name an event");
            }
            self.filters(None, "goal.filters", &goal.filters);
        }
        if d.nodes.is_empty() {
            self.on(None, "nodes", "needs at least one node");
            return;
        }
        if d.nodes.len() > MAX_NODES {
            self.on(None, "nodes", format!("at most {MAX_NODES} nodes"));
        }
        if !d.nodes.contains_key(&d.start) {
            self.on(
                None,
                "start",
                format!("names no node: {:?} is not in nodes", d.start.as_str()),
            );
        }
        for (id, step) in &d.nodes {
            self.step(id, step);
            for (field, next) in step.exits() {
                if !d.nodes.contains_key(next) {
                    self.on(
                        Some(id),
                        field,
                        format!("leads to {:?}, which is not in nodes", next.as_str()),
                    );
                }
            }
        }
        if d.nodes.contains_key(&d.start) {
            self.reachability(&d.start, &d.nodes);
            self.loops_without_wait(&d.nodes);
        }
    }

    fn entry(&mut self, entry: &Entry) {
        match entry {
            Entry::Event { event, filters, key } => {
                self.event_name(None, "entry.event", event);
                self.filters(None, "entry.filters", filters);
                if key.as_deref().is_some_and(|k| k.trim().is_empty()) {
                    self.on(None, "entry.key", "must name a property");
                }
            }
            Entry::EventCount {
                event,
                filters,
                threshold,
                per_property,
            } => {
                self.event_name(None, "entry.event", event);
                self.filters(None, "entry.filters", filters);
                if *threshold == 0 {
                    self.on(None, "entry.threshold", "must be at least 1");
                }
                if per_property.as_deref().is_some_and(|k| k.trim().is_empty()) {
                    self.on(None, "entry.per_property", "must name a property");
                }
            }
            Entry::Segment { segment, .. } => {
                if self.refs.segment(segment).is_none() {
                    self.on(
                        None,
                        "entry.segment",
                        format!("no segment {:?}", segment.as_str()),
                    );
                }
            }
            Entry::Date {
                from,
                repeat,
                offset,
                lateness_limit,
                ..
            } => {
                match from {
                    super::model::DateSource::Trait { name } if name.trim().is_empty() => {
                        self.on(None, "entry.from.trait", "must name a trait");
                    }
                    super::model::DateSource::Event { event, filters } => {
                        self.event_name(None, "entry.from.event", event);
                        self.filters(None, "entry.from.filters", filters);
                        if *repeat == DateRepeat::Anniversary {
                            self.on(
                                None,
                                "entry.repeat",
                                "an event's date repeats only with a trait: use after",
                            );
                        }
                    }
                    super::model::DateSource::Trait { .. } => {}
                }
                match (repeat, offset) {
                    (DateRepeat::After, None) => {
                        self.on(None, "entry.offset", "after needs an offset such as P1Y")
                    }
                    (DateRepeat::After, Some(offset)) => self.positive(None, "entry.offset", offset.0),
                    (DateRepeat::Anniversary, Some(_)) => {
                        self.on(None, "entry.offset", "an anniversary takes no offset")
                    }
                    (DateRepeat::Anniversary, None) => {}
                }
                if let Some(limit) = lateness_limit {
                    self.positive(None, "entry.lateness_limit", limit.0);
                }
            }
            Entry::Schedule {
                segment,
                cron,
                time_zone,
            } => {
                if self.refs.segment(segment).is_none() {
                    self.on(
                        None,
                        "entry.segment",
                        format!("no segment {:?}", segment.as_str()),
                    );
                }
                if let Err(e) = croner::Cron::from_str(cron) {
                    self.on(None, "entry.cron", e.to_string());
                }
                if let Some(tz) = time_zone
                    && TimeZone::get(tz).is_err()
                {
                    self.on(None, "entry.time_zone", format!("unknown time zone {tz:?}"));
                }
            }
            Entry::Api => {}
        }
    }

    fn step(&mut self, id: &NodeId, step: &Step) {
        let node = Some(id);
        match step {
            Step::Wait {
                duration,
                lateness_limit,
                ..
            } => {
                self.positive(node, "duration", duration.0);
                self.lateness(node, *lateness_limit);
            }
            Step::WaitUntil {
                until,
                lateness_limit,
                ..
            } => {
                match until {
                    super::model::WaitTarget::Trait { name, .. } if name.trim().is_empty() => {
                        self.on(node, "until.trait", "must name a trait");
                    }
                    super::model::WaitTarget::EntryProperty { property, .. }
                        if property.trim().is_empty() =>
                    {
                        self.on(node, "until.property", "must name a property");
                    }
                    _ => {}
                }
                self.lateness(node, *lateness_limit);
            }
            Step::WaitForEvent {
                event,
                filters,
                timeout,
                ..
            } => {
                self.event_name(node, "event", event);
                self.filters(node, "filters", filters);
                self.positive(node, "timeout", timeout.0);
            }
            Step::Branch { paths, .. } => {
                if paths.is_empty() {
                    self.on(node, "paths", "needs at least one path besides default");
                }
                for (i, path) in paths.iter().enumerate() {
                    self.condition(id, &format!("paths[{i}].condition"), &path.condition);
                }
            }
            Step::Split { paths } => {
                if paths.len() < 2 {
                    self.on(node, "paths", "needs at least two paths");
                }
                self.weighted(id, "paths", paths);
            }
            Step::Experiment {
                holdout_percent,
                variants,
            } => {
                if !holdout_percent.is_finite() || !(0.0..100.0).contains(holdout_percent) {
                    self.on(node, "holdout_percent", "must be at least 0 and below 100");
                }
                if variants.is_empty() {
                    self.on(node, "variants", "needs at least one variant");
                }
                self.weighted(id, "variants", variants);
            }
            Step::Send {
                messages,
                class,
                topic,
                ..
            } => {
                if messages.is_empty() {
                    self.on(node, "messages", "needs at least one message");
                }
                if messages.len() > 8 {
                    self.on(node, "messages", "at most 8 channels");
                }
                for (i, m) in messages.iter().enumerate() {
                    if !self.refs.template_exists(&m.template) {
                        self.on(
                            node,
                            format!("messages[{i}].template"),
                            format!("no template {:?}", m.template.as_str()),
                        );
                    }
                }
                if let Some(topic) = topic {
                    if *class == ClassName::Transactional {
                        self.on(node, "topic", "transactional messages have no subscription topic");
                    } else if crate::TagId::parse(topic).is_err() {
                        self.on(node, "topic", "must be 1–64 characters of a-z, 0-9, '_' and '-'");
                    }
                }
            }
            Step::SetTrait { name, .. } => {
                if name.trim().is_empty() {
                    self.on(node, "trait", "must name a trait");
                }
            }
            Step::AddTag { tag, value, .. } => {
                self.tag(node, tag);
                if value.trim().is_empty() {
                    self.on(node, "value", "must not be empty");
                }
            }
            Step::RemoveTag { tag, .. } => self.tag(node, tag),
            Step::AddToSegment { segment, .. } => match self.refs.segment(segment) {
                None => self.on(node, "segment", format!("no segment {:?}", segment.as_str())),
                Some(SegmentKind::Dynamic) => self.on(
                    node,
                    "segment",
                    format!(
                        "{:?} is dynamic: its members follow its condition",
                        segment.as_str()
                    ),
                ),
                Some(SegmentKind::Static) => {}
            },
            Step::Webhook { url, .. } => self.url(node, "url", url),
            Step::CallTask { purpose, .. } => {
                if purpose.trim().is_empty() {
                    self.on(node, "purpose", "must not be empty");
                }
            }
            Step::NotifyStaff { to, subject, .. } => {
                match to {
                    StaffAddress::Email { address } if !address.contains('@') => {
                        self.on(node, "to.address", format!("{address:?} is not an email address"));
                    }
                    StaffAddress::Webhook { url } => self.url(node, "to.url", url),
                    StaffAddress::Trait { name } if name.trim().is_empty() => {
                        self.on(node, "to.trait", "must name a trait");
                    }
                    StaffAddress::EntryProperty { property } if property.trim().is_empty() => {
                        self.on(node, "to.property", "must name a property");
                    }
                    _ => {}
                }
                if subject.trim().is_empty() {
                    self.on(node, "subject", "must not be empty");
                } else {
                    // Rendered for each notice as templates are: it must parse.
                    let content = crate::messaging::TemplateContent::Email {
                        subject: subject.clone(),
                        html: None,
                        text: String::new(),
                    };
                    if let Err(e) = crate::messaging::CompiledTemplate::compile(content, &BTreeMap::new()) {
                        self.on(node, "subject", e.message);
                    }
                }
            }
            Step::Exit => {}
        }
    }

    fn positive(&mut self, node: Option<&NodeId>, field: &str, span: Span) {
        if !time::is_positive(span, reference_instant(), &TimeZone::UTC) {
            self.on(node, field, format!("{span} is not longer than zero"));
        }
    }

    fn lateness(&mut self, node: Option<&NodeId>, limit: Option<Delay>) {
        if let Some(limit) = limit {
            self.positive(node, "lateness_limit", limit.0);
        }
    }

    fn event_name(&mut self, node: Option<&NodeId>, field: &str, event: &str) {
        if event.trim().is_empty() {
            self.on(node, field, "must name an event");
        }
    }

    fn filters(&mut self, node: Option<&NodeId>, field: &str, filters: &[PropertyFilter]) {
        for (i, f) in filters.iter().enumerate() {
            if f.property.trim().is_empty() {
                self.on(node, format!("{field}[{i}].property"), "must name a property");
            }
        }
    }

    fn tag(&mut self, node: Option<&NodeId>, tag: &str) {
        if crate::TagId::parse(tag).is_err() {
            self.on(node, "tag", "must be 1–64 characters of a-z, 0-9, '_' and '-'");
        } else if !self.refs.tag_exists(tag) {
            self.on(node, "tag", format!("no tag {tag:?}"));
        }
    }

    fn url(&mut self, node: Option<&NodeId>, field: &str, url: &str) {
        let ok = (url.starts_with("https://") || url.starts_with("http://")) && url.len() > "https://".len();
        if !ok {
            self.on(node, field, format!("{url:?} is not an http or https URL"));
        }
    }

    fn weighted(&mut self, id: &NodeId, field: &str, paths: &[WeightedPath]) {
        let mut names = BTreeSet::new();
        for (i, p) in paths.iter().enumerate() {
            if p.weight == 0 {
                self.on(Some(id), format!("{field}[{i}].weight"), "must be at least 1");
            }
            if crate::TagId::parse(&p.name).is_err() {
                self.on(
                    Some(id),
                    format!("{field}[{i}].name"),
                    "must be 1–64 characters of a-z, 0-9, '_' and '-'",
                );
            } else if !names.insert(p.name.as_str()) {
                self.on(Some(id), format!("{field}[{i}].name"), "is used twice");
            }
        }
    }

    fn condition(&mut self, id: &NodeId, field: &str, condition: &JourneyCondition) {
        match condition {
            JourneyCondition::And { conditions } | JourneyCondition::Or { conditions } => {
                if conditions.is_empty() {
                    self.on(
                        Some(id),
                        format!("{field}.conditions"),
                        "needs at least one condition",
                    );
                }
                for (i, c) in conditions.iter().enumerate() {
                    self.condition(id, &format!("{field}.conditions[{i}]"), c);
                }
            }
            JourneyCondition::Not { condition } => {
                self.condition(id, &format!("{field}.condition"), condition)
            }
            JourneyCondition::Profile { condition } => {
                if let Err(e) = audience::validate(condition) {
                    self.on(Some(id), format!("{field}.condition"), e.to_string());
                }
                for (path, reference) in references(condition) {
                    let (known, what, name) = match reference {
                        Reference::Segment(name) => (
                            SegmentId::parse(name)
                                .ok()
                                .and_then(|s| self.refs.segment(&s))
                                .is_some(),
                            "segment",
                            name,
                        ),
                        Reference::Tag(name) => (self.refs.tag_exists(name), "tag", name),
                    };
                    if !known {
                        self.on(
                            Some(id),
                            format!("{field}.condition.{path}"),
                            format!("no {what} {name:?}"),
                        );
                    }
                }
            }
            JourneyCondition::EntryEvent { filter } | JourneyCondition::WaitEvent { filter } => {
                if filter.property.trim().is_empty() {
                    self.on(
                        Some(id),
                        format!("{field}.filter.property"),
                        "must name a property",
                    );
                }
            }
            JourneyCondition::SinceEntry { event, filters, .. } => {
                self.event_name(Some(id), &format!("{field}.event"), event);
                self.filters(Some(id), &format!("{field}.filters"), filters);
            }
        }
    }

    /// Every node can be reached from the start.
    fn reachability(&mut self, start: &NodeId, nodes: &BTreeMap<NodeId, Step>) {
        let mut seen = BTreeSet::from([start]);
        let mut todo = vec![start];
        while let Some(id) = todo.pop() {
            let Some(step) = nodes.get(id) else { continue };
            for (_, next) in step.exits() {
                if nodes.contains_key(next) && seen.insert(next) {
                    todo.push(next);
                }
            }
        }
        for id in nodes.keys().filter(|id| !seen.contains(id)) {
            self.on(Some(id), "id", "cannot be reached from the start node");
        }
    }

    /// No cycle made only of nodes that do not wait: a person would go round forever
    /// in one instant.
    fn loops_without_wait(&mut self, nodes: &BTreeMap<NodeId, Step>) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        let mut marks: BTreeMap<&NodeId, Mark> = BTreeMap::new();
        let mut reported = BTreeSet::new();
        for root in nodes.keys() {
            if marks.contains_key(root) {
                continue;
            }
            // Depth-first over instant edges, iteratively: (node, index of next exit).
            let mut stack: Vec<(&NodeId, usize)> = vec![(root, 0)];
            marks.insert(root, Mark::Open);
            while let Some((id, i)) = stack.pop() {
                let step = &nodes[id];
                let exits = if step.waits() { Vec::new() } else { step.exits() };
                if let Some((field, next)) = exits.get(i) {
                    stack.push((id, i + 1));
                    if !nodes.contains_key(*next) {
                        continue;
                    }
                    match marks.get(next) {
                        Some(Mark::Open) => {
                            if reported.insert(id) {
                                self.problems.push(JourneyProblem {
                                    node: Some(id.clone()),
                                    field: field.clone(),
                                    message: format!(
                                        "closes a loop through {:?} with no wait in it",
                                        next.as_str()
                                    ),
                                });
                            }
                        }
                        Some(Mark::Done) => {}
                        None => {
                            marks.insert(next, Mark::Open);
                            stack.push((next, 0));
                        }
                    }
                } else {
                    marks.insert(id, Mark::Done);
                }
            }
        }
    }
}
