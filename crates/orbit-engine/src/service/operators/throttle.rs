//! Throttling failed logins: per account and per address, with delays that grow with
//! each failure and stop growing at a ceiling — an attacker who keeps guessing an
//! admin's password slows the guessing to a crawl but never locks the admin out for
//! good.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

/// Failures allowed on one account before delays begin.
const FREE_PER_ACCOUNT: u32 = 3;
/// Failures allowed from one address before delays begin: an office behind one
/// address has many people mistyping.
const FREE_PER_ADDRESS: u32 = 10;
/// The first delay; each failure after that doubles it.
const FIRST_DELAY: SignedDuration = SignedDuration::from_secs(2);
/// The longest delay.
const LONGEST_DELAY: SignedDuration = SignedDuration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const MEMORY: SignedDuration = SignedDuration::from_secs(60 * 60);
/// Entries held before forgotten ones are swept out.
const SWEEP_ABOVE: usize = 10_000;

/// Who is trying: an account (a login) or an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Account(String),
    Address(String),
}

impl Subject {
    fn free(&self) -> u32 {
        match self {
            Self::Account(_) => FREE_PER_ACCOUNT,
            Self::Address(_) => FREE_PER_ADDRESS,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
    blocked_until: Option<Timestamp>,
}

/// Failed logins, remembered per account and per address.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: HashMap<Subject, Failures>,
}

impl LoginThrottle {
    /// How long the attempt must wait, if the account or the address is held back now.
    pub fn wait(&self, login: &str, address: Option<&str>, now: Timestamp) -> Option<SignedDuration> {
        subjects(login, address)
            .filter_map(|subject| self.failures.get(&subject)?.blocked_until)
            .filter(|until| *until > now)
            .map(|until| until.duration_since(now))
            .max()
    }

    /// Records a failed attempt; the delay it sets, if any.
    pub fn failed(&mut self, login: &str, address: Option<&str>, now: Timestamp) -> Option<SignedDuration> {
        if self.failures.len() > SWEEP_ABOVE {
            self.failures.retain(|_, f| {
                now.duration_since(f.last) < MEMORY || f.blocked_until.is_some_and(|u| u > now)
            });
        }
        let mut longest = None;
        for subject in subjects(login, address) {
            let free = subject.free();
            let entry = self.failures.entry(subject).or_insert(Failures {
                count: 0,
                last: now,
                blocked_until: None,
            });
            if now.duration_since(entry.last) >= MEMORY {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
            if entry.count > free {
                let delay = delay_after(entry.count - free);
                entry.blocked_until = Some(now + delay);
                longest = longest.max(Some(delay));
            }
        }
        longest
    }

    /// Forgets an account's failures after it logged in (the address keeps its own:
    /// one right password does not excuse guessing at other accounts).
    pub fn succeeded(&mut self, login: &str) {
        self.failures.remove(&Subject::Account(normalise(login)));
    }
}

fn subjects(login: &str, address: Option<&str>) -> impl Iterator<Item = Subject> {
    std::iter::once(Subject::Account(normalise(login))).chain(address.map(|a| Subject::Address(a.to_owned())))
}

fn normalise(login: &str) -> String {
    login.trim().to_lowercase()
}

/// The delay after the `n`th failure past the free ones: 2 s, 4 s, 8 s … up to 15 min.
fn delay_after(n: u32) -> SignedDuration {
    let doublings = n.saturating_sub(1).min(16);
    let delay = FIRST_DELAY.as_secs().saturating_mul(1_i64 << doublings);
    SignedDuration::from_secs(delay).min(LONGEST_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("a time")
    }

    #[test]
    fn delays_begin_after_the_free_failures_and_double_up_to_a_ceiling() {
        let mut throttle = LoginThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT {
            assert_eq!(throttle.failed("admin@brand.cn", None, at(0)), None);
        }
        assert_eq!(throttle.wait("admin@brand.cn", None, at(0)), None);
        assert_eq!(
            throttle.failed("admin@brand.cn", None, at(0)),
            Some(SignedDuration::from_secs(2))
        );
        assert_eq!(
            throttle.wait("ADMIN@brand.cn ", None, at(1)),
            Some(SignedDuration::from_secs(1)),
            "the login is compared as typed in any case"
        );
        assert_eq!(throttle.wait("admin@brand.cn", None, at(2)), None);
        assert_eq!(
            throttle.failed("admin@brand.cn", None, at(2)),
            Some(SignedDuration::from_secs(4))
        );
        let mut last = None;
        for i in 0..40 {
            last = throttle.failed("admin@brand.cn", None, at(10 + i));
        }
        assert_eq!(last, Some(LONGEST_DELAY), "never longer than the ceiling");
    }

    #[test]
    fn a_success_clears_the_account_but_not_the_address() {
        let mut throttle = LoginThrottle::default();
        for i in 0..=FREE_PER_ADDRESS {
            throttle.failed(&format!("user{i}"), Some("203.0.113.9"), at(0));
        }
        assert!(
            throttle
                .wait("someone-else", Some("203.0.113.9"), at(0))
                .is_some(),
            "an address guessing at many accounts is held back"
        );
        assert_eq!(
            throttle.wait("someone-else", Some("198.51.100.1"), at(0)),
            None,
            "another address is not"
        );
        for _ in 0..=FREE_PER_ACCOUNT {
            throttle.failed("mei", None, at(0));
        }
        assert!(throttle.wait("mei", None, at(0)).is_some());
        throttle.succeeded("mei");
        assert_eq!(throttle.wait("mei", None, at(0)), None);
    }

    #[test]
    fn failures_are_forgotten_after_an_hour() {
        let mut throttle = LoginThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT {
            throttle.failed("lei", None, at(0));
        }
        assert_eq!(
            throttle.failed("lei", None, at(3_600)),
            None,
            "the count starts again"
        );
    }
}
