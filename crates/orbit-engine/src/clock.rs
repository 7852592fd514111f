//! The engine's clock: the wall clock, or a simulated one moved on request. Waits
//! that are product time — periodic re-evaluation, size history — sleep on it, so a
//! simulated clock drives them; a worker's idle poll is not product time and sleeps on
//! the wall clock.

use crate::sync::Exclusive;
use jiff::{SignedDuration, Timestamp};
use orbit_core::{Clock, ManualClock};
use std::sync::Arc;

/// The clock the engine runs on.
#[derive(Debug, Clone)]
pub enum EngineClock {
    /// The wall clock (or any clock that moves by itself).
    Wall(Arc<dyn Clock>),
    /// A simulated clock, moved only on request (demos and scenario tests).
    Simulated(ManualClock),
}

impl Clock for EngineClock {
    fn now(&self) -> Timestamp {
        match self {
            Self::Wall(clock) => clock.now(),
            Self::Simulated(manual) => manual.now(),
        }
    }
}

impl EngineClock {
    /// The current instant.
    pub fn now(&self) -> Timestamp {
        Clock::now(self)
    }

    /// The clock as every part of the engine reads it.
    pub fn now_source(&self) -> Arc<dyn Clock> {
        match self {
            Self::Wall(clock) => clock.clone(),
            Self::Simulated(manual) => Arc::new(manual.clone()),
        }
    }

    /// Returns once this clock reads `at` or later: on the wall clock after the time
    /// left, on a simulated clock at the move that reaches it.
    pub async fn sleep_until(&self, at: Timestamp) {
        loop {
            match self {
                Self::Wall(clock) => {
                    let left = at.duration_since(clock.now());
                    if left <= SignedDuration::ZERO {
                        return;
                    }
                    // Re-read afterwards: the wall clock may have been stepped meanwhile.
                    tokio::time::sleep(left.unsigned_abs()).await;
                }
                Self::Simulated(manual) => {
                    // Taken before reading the time, so a move in between is not missed.
                    let moved = manual.moved();
                    if manual.now() >= at {
                        return;
                    }
                    moved.await;
                }
            }
        }
    }

    /// Returns when a background job due at `at` should run: on the wall clock once it
    /// reads `at`; on a simulated clock only if the job is already due, because each
    /// move of a simulated clock does the jobs it makes due itself before it answers,
    /// and a background loop racing it would leave the answer short.
    pub async fn job_due(&self, at: Timestamp) {
        match self {
            Self::Wall(_) => self.sleep_until(at).await,
            Self::Simulated(manual) => {
                if manual.now() < at {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// A period of product time, its ticks aligned to whole periods since the Unix epoch
/// (the top of each hour, each minute), so that ticks do not drift with start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period(SignedDuration);

impl Period {
    /// A period of `every`; at least one second.
    pub fn new(every: std::time::Duration) -> Self {
        let every = SignedDuration::try_from(every).unwrap_or(SignedDuration::MAX);
        Self(every.max(SignedDuration::from_secs(1)))
    }

    /// The first tick strictly after `t`.
    pub fn next_after(self, t: Timestamp) -> Timestamp {
        let every = self.0.as_nanos();
        let since_epoch = t.as_nanosecond();
        let next = (since_epoch.div_euclid(every) + 1).saturating_mul(every);
        Timestamp::from_nanosecond(next).unwrap_or(Timestamp::MAX)
    }

    /// Whether a tick falls in `(from, to]`.
    pub fn ticked_between(self, from: Timestamp, to: Timestamp) -> bool {
        self.next_after(from) <= to
    }
}

/// A job done every period of product time, and when it was last done, so that the
/// loop that waits for it and a move of the clock that does it at once do not both.
#[derive(Debug)]
pub(crate) struct Periodic {
    period: Period,
    last: Exclusive<Option<Timestamp>>,
}

impl Periodic {
    /// A job due every `every`, and at once if never done.
    pub(crate) fn new(every: std::time::Duration) -> Self {
        Self {
            period: Period::new(every),
            last: Exclusive::new(None),
        }
    }

    /// When the job is next due: `now` if never done, else the first tick after it was.
    pub(crate) fn next_due(&self, now: Timestamp) -> Timestamp {
        match *self.last.lock() {
            None => now,
            Some(last) => self.period.next_after(last),
        }
    }

    /// Claims the job if it is due at `now`, recording it as done.
    pub(crate) fn claim(&self, now: Timestamp) -> bool {
        let mut last = self.last.lock();
        let due = last.is_none_or(|l| self.period.ticked_between(l, now));
        if due {
            *last = Some(now);
        }
        due
    }

    /// Records the job as done at `now`, whether it was due or not.
    pub(crate) fn done(&self, now: Timestamp) {
        *self.last.lock() = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn periods_tick_at_whole_periods() {
        let hourly = Period::new(Duration::from_secs(3_600));
        assert_eq!(
            hourly.next_after(at("2026-12-07T09:24:13Z")),
            at("2026-12-07T10:00:00Z")
        );
        assert_eq!(
            hourly.next_after(at("2026-12-07T10:00:00Z")),
            at("2026-12-07T11:00:00Z")
        );
        assert!(hourly.ticked_between(at("2026-12-07T09:59:59Z"), at("2026-12-07T10:00:00Z")));
        assert!(!hourly.ticked_between(at("2026-12-07T10:00:00Z"), at("2026-12-07T10:59:59Z")));
        assert_eq!(Period::new(Duration::ZERO), Period::new(Duration::from_secs(1)));
    }

    #[test]
    fn a_periodic_job_is_due_once_per_tick_and_at_once_if_never_done() {
        let job = Periodic::new(Duration::from_secs(60));
        let t = at("2026-12-07T09:00:30Z");
        assert_eq!(job.next_due(t), t);
        assert!(job.claim(t));
        assert!(!job.claim(at("2026-12-07T09:00:59Z")));
        assert_eq!(job.next_due(t), at("2026-12-07T09:01:00Z"));
        job.done(at("2026-12-07T09:01:10Z"));
        assert!(
            !job.claim(at("2026-12-07T09:01:30Z")),
            "done by someone else this minute"
        );
        assert!(job.claim(at("2026-12-07T09:02:00Z")));
    }

    #[tokio::test]
    async fn a_sleep_on_a_simulated_clock_ends_at_the_move_that_reaches_its_time() {
        let manual = ManualClock::new(at("2026-12-07T09:00:00Z"));
        let clock = EngineClock::Simulated(manual.clone());
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(at("2026-12-07T10:00:00Z")).await }
        });
        manual.advance(SignedDuration::from_mins(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "half an hour is not enough");
        manual.advance(SignedDuration::from_mins(30));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woken by the move")
            .expect("the task ran");
    }
}
