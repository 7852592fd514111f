//! Injected time: everything that needs "now" takes a [`Clock`].

use jiff::{SignedDuration, Timestamp};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The wall clock of the machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place where domain time meets the wall clock"
    )]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to; tests and the demo drive it. Whoever waits
/// for a moment on it ([`ManualClock::moved`]) is woken by each move.
#[derive(Debug, Clone)]
pub struct ManualClock {
    state: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    now: Timestamp,
    /// How many times the clock has moved.
    moves: u64,
    /// Tasks waiting for the next move.
    waiting: Vec<Waker>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            state: Arc::new(Mutex::new(ManualState {
                now: start,
                moves: 0,
                waiting: Vec::new(),
            })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // Replaced whole under the lock, never left half-updated by a panic.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves the clock forward (or backward, for a negative duration).
    pub fn advance(&self, by: SignedDuration) {
        let mut state = self.state();
        state.now = state.now.saturating_add(by).unwrap_or(state.now);
        Self::moved_now(&mut state);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        let mut state = self.state();
        state.now = at;
        Self::moved_now(&mut state);
    }

    fn moved_now(state: &mut ManualState) {
        state.moves += 1;
        for waker in state.waiting.drain(..) {
            waker.wake();
        }
    }

    /// Resolves at the clock's next move after this call.
    pub fn moved(&self) -> Moved {
        let seen = self.state().moves;
        Moved {
            clock: self.clone(),
            seen,
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.state().now
    }
}

/// The next move of a [`ManualClock`] (see [`ManualClock::moved`]).
#[derive(Debug)]
pub struct Moved {
    clock: ManualClock,
    seen: u64,
}

impl Future for Moved {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.clock.state();
        if state.moves != self.seen {
            return Poll::Ready(());
        }
        if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_move_wakes_who_waits_for_it_and_only_later_moves_count() {
        let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut moved = std::pin::pin!(clock.moved());
        assert_eq!(moved.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(moved.as_mut().poll(&mut cx), Poll::Pending);
        clock.advance(SignedDuration::from_hours(1));
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once, registered once");
        assert_eq!(moved.as_mut().poll(&mut cx), Poll::Ready(()));
        assert_eq!(clock.now(), Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1));
        // A wait begun after the move waits for the next one.
        let mut later = std::pin::pin!(clock.moved());
        assert_eq!(later.as_mut().poll(&mut cx), Poll::Pending);
        clock.set(Timestamp::UNIX_EPOCH);
        assert_eq!(later.as_mut().poll(&mut cx), Poll::Ready(()));
    }
}
