//! A broadcast campaign's life cycle as a state machine.
//!
//! `apply(lifecycle, command)` returns the next lifecycle and the effects the engine
//! executes once the new state is stored: open a run (materialise its ledger rows),
//! hold or release its sends, cancel what is pending, wake up at a time.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Being written; nothing happens.
    Draft,
    /// Waiting for its next run's time.
    Scheduled,
    /// A run is sending.
    Running,
    /// A run is held: nothing more goes until it is resumed.
    Paused,
    /// Every run is done.
    Completed,
    /// Stopped for good; what had not gone never will.
    Cancelled,
}

impl CampaignState {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Scheduled => "scheduled",
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::Completed => "completed",
            CampaignState::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        use CampaignState::*;
        [Draft, Scheduled, Running, Paused, Completed, Cancelled]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    /// Whether its definition may still be edited.
    pub fn editable(self) -> bool {
        matches!(self, CampaignState::Draft | CampaignState::Scheduled)
    }
}

/// The state plus what the machine needs to remember across runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Where it is.
    pub state: CampaignState,
    /// How many runs were opened (the current run's number while running).
    pub runs: u32,
    /// When the next run opens, while scheduled.
    pub next_run_at: Option<Timestamp>,
}

impl Lifecycle {
    /// A new draft.
    pub fn draft() -> Self {
        Self {
            state: CampaignState::Draft,
            runs: 0,
            next_run_at: None,
        }
    }
}

/// What can happen to a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignCommand {
    /// The marketer launches it; the first run opens at `first_run` (now or later).
    Launch {
        /// The clock's now.
        now: Timestamp,
        /// When the first run should open.
        first_run: Timestamp,
    },
    /// The clock reached the scheduled time.
    Due {
        /// The clock's now.
        now: Timestamp,
    },
    /// Hold the current run.
    Pause,
    /// Release a held run.
    Resume,
    /// Every message of the current run reached a final state; `next` is the next
    /// occurrence of a recurring schedule.
    RunDrained {
        /// When the next run opens, if the schedule recurs.
        next: Option<Timestamp>,
    },
    /// Stop for good.
    Cancel,
}

/// What the engine does after a transition is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignEffect {
    /// Materialise run `n`: snapshot the audience, assign arms, write ledger rows.
    OpenRun(u32),
    /// Wake the campaign at this instant.
    WakeAt(Timestamp),
    /// Stop dispatching the campaign's pending messages.
    HoldSends,
    /// Dispatch the campaign's pending messages again.
    ReleaseSends,
    /// Mark every pending message of the campaign cancelled.
    CancelPending,
}

/// A command that does not apply in the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {state} campaign cannot be {action}")]
pub struct LifecycleError {
    /// The state it is in.
    pub state: &'static str,
    /// What was asked.
    pub action: &'static str,
}

/// Applies a command.
pub fn apply(
    lifecycle: Lifecycle,
    command: CampaignCommand,
) -> Result<(Lifecycle, Vec<CampaignEffect>), LifecycleError> {
    use CampaignCommand as C;
    use CampaignState as S;
    let refuse = |action| LifecycleError {
        state: lifecycle.state.as_str(),
        action,
    };
    let open = |runs: u32| {
        let run = runs + 1;
        (
            Lifecycle {
                state: S::Running,
                runs: run,
                next_run_at: None,
            },
            vec![CampaignEffect::OpenRun(run)],
        )
    };
    let scheduled = |at: Timestamp| {
        (
            Lifecycle {
                state: S::Scheduled,
                runs: lifecycle.runs,
                next_run_at: Some(at),
            },
            vec![CampaignEffect::WakeAt(at)],
        )
    };
    let with_state = |state| Lifecycle { state, ..lifecycle };
    Ok(match (lifecycle.state, command) {
        (S::Draft, C::Launch { now, first_run }) => {
            if first_run <= now {
                open(lifecycle.runs)
            } else {
                scheduled(first_run)
            }
        }
        (_, C::Launch { .. }) => return Err(refuse("launched")),
        (S::Scheduled, C::Due { now }) => match lifecycle.next_run_at {
            Some(at) if at <= now => open(lifecycle.runs),
            // Woken early (a restart, a clock move short of the time): keep waiting.
            Some(at) => scheduled(at),
            None => return Err(refuse("due without a time")),
        },
        (_, C::Due { .. }) => (lifecycle, vec![]),
        (S::Running, C::Pause) => (with_state(S::Paused), vec![CampaignEffect::HoldSends]),
        (_, C::Pause) => return Err(refuse("paused")),
        (S::Paused, C::Resume) => (with_state(S::Running), vec![CampaignEffect::ReleaseSends]),
        (_, C::Resume) => return Err(refuse("resumed")),
        (S::Running, C::RunDrained { next: Some(at) }) => scheduled(at),
        (S::Running, C::RunDrained { next: None }) => (
            Lifecycle {
                state: S::Completed,
                runs: lifecycle.runs,
                next_run_at: None,
            },
            vec![],
        ),
        (_, C::RunDrained { .. }) => (lifecycle, vec![]),
        (S::Completed | S::Cancelled, C::Cancel) => return Err(refuse("cancelled")),
        (_, C::Cancel) => (
            Lifecycle {
                state: S::Cancelled,
                runs: lifecycle.runs,
                next_run_at: None,
            },
            vec![CampaignEffect::CancelPending],
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn launch_now_opens_the_first_run_and_draining_completes() {
        let now = at("2026-11-23T02:00:00Z");
        let (running, effects) = apply(
            Lifecycle::draft(),
            CampaignCommand::Launch { now, first_run: now },
        )
        .expect("launch");
        assert_eq!(running.state, CampaignState::Running);
        assert_eq!(effects, vec![CampaignEffect::OpenRun(1)]);
        let (paused, effects) = apply(running, CampaignCommand::Pause).expect("pause");
        assert_eq!(
            (paused.state, effects),
            (CampaignState::Paused, vec![CampaignEffect::HoldSends])
        );
        // A held run does not complete, even if asked.
        assert_eq!(
            apply(paused, CampaignCommand::RunDrained { next: None })
                .expect("noop")
                .0,
            paused
        );
        let (resumed, effects) = apply(paused, CampaignCommand::Resume).expect("resume");
        assert_eq!(
            (resumed.state, effects),
            (CampaignState::Running, vec![CampaignEffect::ReleaseSends])
        );
        let (done, _) = apply(resumed, CampaignCommand::RunDrained { next: None }).expect("drain");
        assert_eq!(done.state, CampaignState::Completed);
        assert!(apply(done, CampaignCommand::Cancel).is_err());
        assert!(apply(done, CampaignCommand::Launch { now, first_run: now }).is_err());
    }

    #[test]
    fn a_recurring_campaign_schedules_each_next_run() {
        let now = at("2026-11-23T02:00:00Z");
        let later = at("2026-11-24T01:00:00Z");
        let (scheduled, effects) = apply(
            Lifecycle::draft(),
            CampaignCommand::Launch {
                now,
                first_run: later,
            },
        )
        .expect("launch");
        assert_eq!(scheduled.state, CampaignState::Scheduled);
        assert_eq!(effects, vec![CampaignEffect::WakeAt(later)]);
        // Early wake-ups keep waiting.
        let (still, _) = apply(scheduled, CampaignCommand::Due { now }).expect("early");
        assert_eq!(still.state, CampaignState::Scheduled);
        let (running, effects) = apply(still, CampaignCommand::Due { now: later }).expect("due");
        assert_eq!((running.runs, effects), (1, vec![CampaignEffect::OpenRun(1)]));
        let next = at("2026-11-25T01:00:00Z");
        let (again, _) = apply(running, CampaignCommand::RunDrained { next: Some(next) }).expect("drain");
        assert_eq!(
            (again.state, again.next_run_at),
            (CampaignState::Scheduled, Some(next))
        );
        let (second, effects) = apply(again, CampaignCommand::Due { now: next }).expect("due");
        assert_eq!(effects, vec![CampaignEffect::OpenRun(2)]);
        let (cancelled, effects) = apply(second, CampaignCommand::Cancel).expect("cancel");
        assert_eq!(
            (cancelled.state, effects),
            (CampaignState::Cancelled, vec![CampaignEffect::CancelPending])
        );
    }

    #[test]
    fn pausing_a_draft_is_refused_with_a_clear_message() {
        let err = apply(Lifecycle::draft(), CampaignCommand::Pause).expect_err("refused");
        assert_eq!(err.to_string(), "a draft campaign cannot be paused");
    }
}
