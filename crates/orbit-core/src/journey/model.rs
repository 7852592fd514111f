//! A journey's definition as a marketer writes it: how people enter, the graph of
//! nodes they move through, and the goal that takes them out as converted.

use std::collections::BTreeMap;

use jiff::Span;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::audience::{Compare, Condition, EventMatch, PropertyFilter};
use crate::messaging::{ChannelPolicy, ClassName};
use crate::{ChannelId, NodeId, SegmentId, TemplateId};

/// What a marketer writes to create or edit a journey's draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyDefinition {
    /// A name people recognise.
    pub name: String,
    /// What the journey is for.
    #[serde(default)]
    pub description: Option<String>,
    /// How people enter.
    pub entry: Entry,
    /// Whether and when a person who entered before may enter again.
    #[serde(default)]
    pub reentry: Reentry,
    /// Caps on entries.
    #[serde(default)]
    pub limits: EntryLimits,
    /// The event that takes a person out of the journey as converted.
    #[serde(default)]
    pub goal: Option<EventMatch>,
    /// The node every entry starts at.
    pub start: NodeId,
    /// The graph, by node id: each node names the nodes it leads to.
    pub nodes: BTreeMap<NodeId, Step>,
    /// Where the console draws the entry and each node; the runtime never reads it.
    #[serde(default)]
    pub layout: Option<JourneyLayout>,
}

/// Positions on the console's canvas, kept with the draft so a drawing survives a
/// reload; positions of ids not in `nodes` are kept and ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyLayout {
    /// The entry's box.
    #[serde(default)]
    pub entry: Option<CanvasPosition>,
    /// Each node's box, by node id.
    #[serde(default)]
    pub nodes: BTreeMap<NodeId, CanvasPosition>,
}

/// The top-left corner of a box on the canvas, in canvas units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CanvasPosition {
    /// Rightwards.
    pub x: f64,
    /// Downwards.
    pub y: f64,
}

/// How people enter a journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Entry {
    /// The moment an event matching this arrives.
    Event {
        /// The event's name.
        event: String,
        /// Filters on its properties, all of which must pass.
        #[serde(default)]
        filters: Vec<PropertyFilter>,
        /// A property that keys the entry (`order_id`): a person may be in the
        /// journey once per value at the same time, and re-entry rules count per value.
        #[serde(default)]
        key: Option<String>,
    },
    /// The moment a person's count of an event crosses a threshold, in total or per
    /// value of a property (`product_id`).
    EventCount {
        /// The event's name.
        event: String,
        /// Filters on its properties.
        #[serde(default)]
        filters: Vec<PropertyFilter>,
        /// Entered when the count first becomes greater than or equal to this.
        threshold: u32,
        /// Count per value of this property instead of in total.
        #[serde(default)]
        per_property: Option<String>,
    },
    /// Entering or leaving a segment.
    Segment {
        /// The segment.
        segment: SegmentId,
        /// `entered` or `exited`.
        on: SegmentChange,
    },
    /// A date: a datetime trait's anniversary, or a time after a trait's date or an
    /// event, at a local time of day in the person's time zone.
    Date {
        /// Where the date comes from.
        from: DateSource,
        /// `anniversary` every year, or `after` once, by `offset`.
        repeat: DateRepeat,
        /// With `after`, how long after the date (`P1Y`, `P30D`).
        #[serde(default)]
        offset: Option<Delay>,
        /// The local time of day, `HH:MM`.
        time_of_day: TimeOfDay,
        /// Skipped when it would fire more than this late (after downtime).
        #[serde(default)]
        lateness_limit: Option<Delay>,
    },
    /// Everyone in a segment, on a schedule.
    Schedule {
        /// The segment.
        segment: SegmentId,
        /// Five or six cron fields (`0 10 * * MON`), croner syntax.
        cron: String,
        /// IANA time zone the expression is read in; the workspace's when absent.
        #[serde(default)]
        time_zone: Option<String>,
    },
    /// A call to `POST /v1/journeys/{id}/entries` with its own properties.
    Api,
}

/// A length of time: ISO 8601 (`PT5M`, `P1D`, `-P1D`) or friendly (`5m`, `1 day`).
/// Days, months and years are calendar ones in the person's time zone.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "PT5M")]
pub struct Delay(pub Span);

impl PartialEq for Delay {
    fn eq(&self, other: &Self) -> bool {
        self.0.fieldwise() == other.0.fieldwise()
    }
}

/// A change of segment membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentChange {
    /// The person became a member.
    Entered,
    /// The person stopped being one.
    Exited,
}

/// Where a date entry reads its date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DateSource {
    /// A datetime trait (`birthday`, `purchased_at`).
    Trait {
        /// The trait's name.
        #[serde(rename = "trait")]
        name: String,
    },
    /// The time of an event.
    Event {
        /// The event's name.
        event: String,
        /// Filters on its properties.
        #[serde(default)]
        filters: Vec<PropertyFilter>,
    },
}

/// Whether a date entry repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateRepeat {
    /// Every year on the date's month and day.
    Anniversary,
    /// Once, `offset` after the date.
    After,
}

/// A local time of day, `HH:MM` (or `HH:MM:SS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "10:00")]
pub struct TimeOfDay(pub jiff::civil::Time);

impl TryFrom<String> for TimeOfDay {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        raw.trim()
            .parse::<jiff::civil::Time>()
            .map(Self)
            .map_err(|_| format!("{raw:?} is not a time of day such as 10:00"))
    }
}

impl From<TimeOfDay> for String {
    fn from(t: TimeOfDay) -> String {
        if t.0.second() == 0 {
            format!("{:02}:{:02}", t.0.hour(), t.0.minute())
        } else {
            format!("{:02}:{:02}:{:02}", t.0.hour(), t.0.minute(), t.0.second())
        }
    }
}

/// Whether and when a person may enter again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reentry {
    /// Once ever (per entry key, when the entry has one).
    #[default]
    Once,
    /// Again once `period` has passed since the last entry, and not while still in.
    OncePer {
        /// The period (`P30D`).
        period: Delay,
    },
    /// Whenever triggered again after leaving.
    Always,
}

/// Caps on entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryLimits {
    /// At most this many entries per person, ever.
    #[serde(default)]
    pub per_person: Option<u32>,
    /// At most this many entries in all.
    #[serde(default)]
    pub total: Option<u64>,
}

/// What a node does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Waits for a duration (`PT5M`, `P1D`; days and months are calendar ones in the
    /// person's time zone).
    Wait {
        /// How long.
        duration: Delay,
        /// Skipped (the person leaves) when the wait ends more than this late.
        #[serde(default)]
        lateness_limit: Option<Delay>,
        /// The next node.
        next: NodeId,
    },
    /// Waits until a time: a time of day, or a time read from a trait or the entry
    /// event, moved by an offset.
    WaitUntil {
        /// The time.
        until: WaitTarget,
        /// Skipped (the person leaves) when the wait ends more than this late.
        #[serde(default)]
        lateness_limit: Option<Delay>,
        /// The next node.
        next: NodeId,
    },
    /// Waits for an event; the timeout path is the absence case.
    WaitForEvent {
        /// The event's name.
        event: String,
        /// Filters on its properties, all of which must pass.
        #[serde(default)]
        filters: Vec<PropertyFilter>,
        /// With a keyed entry, only an event carrying the same key counts.
        #[serde(default)]
        same_key: bool,
        /// How long to wait.
        timeout: Delay,
        /// Where the person goes when the event arrives.
        on_event: NodeId,
        /// Where the person goes when it did not arrive in time.
        on_timeout: NodeId,
    },
    /// The first path whose condition holds, else the default.
    Branch {
        /// The paths, tried in order.
        paths: Vec<BranchPath>,
        /// Where everyone else goes.
        default: NodeId,
    },
    /// A random split by weight, stable per person and entry.
    Split {
        /// The paths and their weights.
        paths: Vec<WeightedPath>,
    },
    /// An experiment: variants by weight, with a holdout group that leaves the
    /// journey uncontacted and is measured against them.
    Experiment {
        /// Percentage held out (0–100).
        #[serde(default)]
        holdout_percent: f64,
        /// The variants and their weights.
        variants: Vec<WeightedPath>,
    },
    /// Sends a message through the send ledger and the contact policy.
    Send {
        /// The templates in channel priority order.
        messages: Vec<JourneyMessage>,
        /// One message on the best channel (`priority`), or one on each (`all`).
        #[serde(default)]
        channel_policy: ChannelPolicy,
        /// Marketing (held by quiet hours, caps and consent to the topic) or
        /// transactional (a service reminder: consent to the channel only).
        #[serde(default)]
        class: ClassName,
        /// The subscription topic of marketing messages.
        #[serde(default)]
        topic: Option<String>,
        /// The next node.
        next: NodeId,
    },
    /// Sets a trait on the person.
    SetTrait {
        /// The trait.
        #[serde(rename = "trait")]
        name: String,
        /// Its new value, or where to read it.
        value: ValueSource,
        /// The next node.
        next: NodeId,
    },
    /// Adds a value of a tag to the person.
    AddTag {
        /// The tag.
        tag: String,
        /// The value.
        value: String,
        /// The next node.
        next: NodeId,
    },
    /// Removes a tag (or one of its values) from the person.
    RemoveTag {
        /// The tag.
        tag: String,
        /// The value; every value when absent.
        #[serde(default)]
        value: Option<String>,
        /// The next node.
        next: NodeId,
    },
    /// Adds the person to a static segment.
    AddToSegment {
        /// The static segment.
        segment: SegmentId,
        /// The next node.
        next: NodeId,
    },
    /// Posts the person, the entry and the node to a URL (signed, retried).
    Webhook {
        /// The URL.
        url: String,
        /// The next node.
        next: NodeId,
    },
    /// Opens a call task for the call centre.
    CallTask {
        /// What the caller should achieve.
        purpose: String,
        /// The next node.
        next: NodeId,
    },
    /// Tells a member of staff (an email address or a webhook), taken from the node,
    /// a trait or the entry event.
    NotifyStaff {
        /// Where the notice goes.
        to: StaffAddress,
        /// The notice's subject; `{{…}}` placeholders read the person and the entry.
        subject: String,
        /// The email account to send through; the workspace's only one when absent.
        #[serde(default)]
        account: Option<ChannelId>,
        /// The next node.
        next: NodeId,
    },
    /// Leaves the journey.
    Exit,
}

/// One message of a send node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyMessage {
    /// The template (its content says the channel).
    pub template: TemplateId,
    /// The provider account; the workspace's only or default one when absent.
    #[serde(default)]
    pub account: Option<ChannelId>,
}

/// A time a `wait_until` node waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WaitTarget {
    /// The next time the clock shows this time of day in the person's time zone,
    /// at least `days_later` calendar days after the day the wait starts.
    TimeOfDay {
        /// The local time.
        time: TimeOfDay,
        /// 0: today if still ahead, else tomorrow; 1: tomorrow; and so on.
        #[serde(default)]
        days_later: u32,
    },
    /// A time read from a trait, moved by `offset`, optionally set to a time of day.
    Trait {
        /// The datetime trait.
        #[serde(rename = "trait")]
        name: String,
        /// Added to the time read (`-P1D`: the day before).
        #[serde(default)]
        offset: Option<Delay>,
        /// The local time of day set after the offset.
        #[serde(default)]
        time: Option<TimeOfDay>,
    },
    /// A time read from a property of the entry event, moved by `offset`,
    /// optionally set to a time of day.
    EntryProperty {
        /// The property's path (`booked_at`).
        property: String,
        /// Added to the time read (`-P1D`: the day before).
        #[serde(default)]
        offset: Option<Delay>,
        /// The local time of day set after the offset.
        #[serde(default)]
        time: Option<TimeOfDay>,
    },
}

/// One path of a branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchPath {
    /// A label for reports (`high rating`).
    #[serde(default)]
    pub name: Option<String>,
    /// When the path is taken.
    pub condition: JourneyCondition,
    /// Where it leads.
    pub next: NodeId,
}

/// One path of a split, or one variant of an experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightedPath {
    /// The path's name (`a`, `b`), unique within the node.
    pub name: String,
    /// Its share relative to the others.
    pub weight: u32,
    /// Where it leads.
    pub next: NodeId,
}

/// A condition a branch tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum JourneyCondition {
    /// Every sub-condition holds.
    And {
        /// At least one.
        #[schema(no_recursion)]
        conditions: Vec<JourneyCondition>,
    },
    /// At least one sub-condition holds.
    Or {
        /// At least one.
        #[schema(no_recursion)]
        conditions: Vec<JourneyCondition>,
    },
    /// The sub-condition does not hold.
    Not {
        /// The negated condition.
        #[schema(no_recursion)]
        condition: Box<JourneyCondition>,
    },
    /// The person, now: traits, tags, behaviour, segment membership, in the audience
    /// condition language.
    Profile {
        /// The condition.
        condition: Condition,
    },
    /// A property of the event that brought the person in.
    EntryEvent {
        /// The filter.
        filter: PropertyFilter,
    },
    /// A property of the event that ended the last wait for an event.
    WaitEvent {
        /// The filter.
        filter: PropertyFilter,
    },
    /// How often the person did something since entering.
    SinceEntry {
        /// The event's name.
        event: String,
        /// Filters on its properties, all of which must pass.
        #[serde(default)]
        filters: Vec<PropertyFilter>,
        /// The comparison.
        compare: Compare,
        /// The count compared with.
        count: u32,
    },
}

/// A value to set, or where to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueSource {
    /// This value.
    Constant {
        /// The value.
        #[schema(value_type = Object)]
        value: Value,
    },
    /// A property of the entry event.
    EntryProperty {
        /// The property's path.
        property: String,
    },
    /// The time the node runs.
    Now,
}

/// Where a staff notice goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StaffAddress {
    /// This email address.
    Email {
        /// The address.
        address: String,
    },
    /// This URL, posted to.
    Webhook {
        /// The URL.
        url: String,
    },
    /// The email address held in a trait of the person (`dealer_manager_email`).
    Trait {
        /// The trait.
        #[serde(rename = "trait")]
        name: String,
    },
    /// The email address carried by a property of the entry event.
    EntryProperty {
        /// The property's path.
        property: String,
    },
}

impl Step {
    /// The nodes this step leads to, with the field that names each.
    pub fn exits(&self) -> Vec<(String, &NodeId)> {
        match self {
            Step::Wait { next, .. }
            | Step::WaitUntil { next, .. }
            | Step::Send { next, .. }
            | Step::SetTrait { next, .. }
            | Step::AddTag { next, .. }
            | Step::RemoveTag { next, .. }
            | Step::AddToSegment { next, .. }
            | Step::Webhook { next, .. }
            | Step::CallTask { next, .. }
            | Step::NotifyStaff { next, .. } => vec![("next".to_owned(), next)],
            Step::WaitForEvent {
                on_event, on_timeout, ..
            } => vec![
                ("on_event".to_owned(), on_event),
                ("on_timeout".to_owned(), on_timeout),
            ],
            Step::Branch { paths, default } => paths
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("paths[{i}].next"), &p.next))
                .chain(std::iter::once(("default".to_owned(), default)))
                .collect(),
            Step::Split { paths } => paths
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("paths[{i}].next"), &p.next))
                .collect(),
            Step::Experiment { variants, .. } => variants
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("variants[{i}].next"), &p.next))
                .collect(),
            Step::Exit => Vec::new(),
        }
    }

    /// Whether a person stops at this node until time passes or an event arrives.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            Step::Wait { .. } | Step::WaitUntil { .. } | Step::WaitForEvent { .. }
        )
    }

    /// The node's kind as written in `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Wait { .. } => "wait",
            Step::WaitUntil { .. } => "wait_until",
            Step::WaitForEvent { .. } => "wait_for_event",
            Step::Branch { .. } => "branch",
            Step::Split { .. } => "split",
            Step::Experiment { .. } => "experiment",
            Step::Send { .. } => "send",
            Step::SetTrait { .. } => "set_trait",
            Step::AddTag { .. } => "add_tag",
            Step::RemoveTag { .. } => "remove_tag",
            Step::AddToSegment { .. } => "add_to_segment",
            Step::Webhook { .. } => "webhook",
            Step::CallTask { .. } => "call_task",
            Step::NotifyStaff { .. } => "notify_staff",
            Step::Exit => "exit",
        }
    }
}

/// Where a journey stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JourneyStatus {
    /// Never published: only the draft exists.
    Draft,
    /// Published: its live version takes new entries and people move through it.
    Live,
    /// Published, but taking no new entries and moving nobody until resumed.
    Paused,
    /// Finished: no entries, and everyone still in it has left.
    Archived,
}

impl JourneyStatus {
    /// The status as stored and written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Live => "live",
            Self::Paused => "paused",
            Self::Archived => "archived",
        }
    }

    /// Reads a stored status.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Draft, Self::Live, Self::Paused, Self::Archived]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}
