//! Journeys: how people enter an automation, the graph of nodes they move through, and
//! the pure state machine that moves one person's entry (SPEC.md §7).
//!
//! A journey is JSON, e.g. "installed the app and did not order within a day: a gift
//! at 10:00":
//! `{"name": "首单礼", "entry": {"type": "event", "event": "app_installed"}, "start":
//! "wait", "nodes": {"wait": {"type": "wait_for_event", "event": "order_paid",
//! "timeout": "P1D", "on_event": "done", "on_timeout": "ten"}, "ten": {"type":
//! "wait_until", "until": {"kind": "time_of_day", "time": "10:00"}, "next": "gift"},
//! "gift": {"type": "send", "messages": [{"template": "first-order-gift"}], "next":
//! "done"}, "done": {"type": "exit"}}}`.

pub mod dates;
pub mod entry;
pub mod machine;
pub mod model;
pub mod path;
pub mod run;
pub mod time;
pub mod validate;

#[cfg(test)]
mod tests;

pub use dates::{DateOccurrence, DateRule, Schedule, too_late};
pub use entry::{EntryHistory, EntryRefusal, crossed, may_enter};
pub use machine::{apply, event_matches};
pub use model::{
    BranchPath, CanvasPosition, DateRepeat, DateSource, Delay, Entry, EntryLimits, JourneyCondition,
    JourneyDefinition, JourneyLayout, JourneyMessage, JourneyStatus, Reentry, SegmentChange, StaffAddress,
    Step, TimeOfDay, ValueSource, WaitTarget, WeightedPath,
};
pub use path::{PATH_FIRST, PATH_LATEST, PathExit, PathStep, RunPath};
pub use run::{
    Action, Effect, ExitReason, Graph, Input, JourneyEvent, MachineError, Passed, PersonFacts, Run, RunState,
    StaffTarget, Transition, journey_origin, parse_journey_origin,
};
pub use validate::{JourneyProblem, JourneyReferences, SegmentKind, validate};
