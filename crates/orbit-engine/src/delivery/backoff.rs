//! Retries: exponential backoff with jitter, and dead letters once attempts are spent.

use std::time::Duration;

use jiff::Timestamp;
use orbit_core::messaging::Channel;
use orbit_store::{SendRecord, SendUpdate};

/// Attempts before a retryable failure becomes a dead letter.
const MAX_ATTEMPTS: u32 = 6;

/// A retry with exponential backoff and jitter, or a dead letter once attempts are
/// spent.
pub(super) fn retry(
    row: &SendRecord,
    now: Timestamp,
    error: String,
    retry_after_ms: Option<u64>,
    attempt: bool,
) -> SendUpdate {
    let attempts = row.attempts + u32::from(attempt);
    if attempts >= MAX_ATTEMPTS {
        return SendUpdate::Failed {
            id: row.send.id.clone(),
            channel: row.channel,
            error: format!("gave up after {attempts} attempts: {error}"),
            at: now,
        };
    }
    // 30 s, 1 min, 2 min, 4 min … capped at an hour; jitter of ±20% spreads a
    // provider outage's retries instead of stampeding it when it recovers.
    let base_ms = (30_000u64 << attempts.min(7)).min(3_600_000);
    let jitter = jitter_fraction(&row.send.id, attempts);
    let backoff_ms = (base_ms as f64 * (0.8 + 0.4 * jitter)) as u64;
    let wait_ms = backoff_ms.max(retry_after_ms.unwrap_or(0));
    SendUpdate::Retry {
        id: row.send.id.clone(),
        next_attempt_at: now + Duration::from_millis(wait_ms),
        error,
        counts_as_attempt: attempt,
    }
}

/// A fraction in [0, 1) that differs per message and attempt.
fn jitter_fraction(id: &str, attempt: u32) -> f64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(id.as_bytes());
    hasher.update(&attempt.to_le_bytes());
    let bytes = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes.as_bytes()[..8]);
    (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

pub(super) trait WithChannel {
    fn with_channel(self, channel: Channel) -> Self;
}

impl WithChannel for SendUpdate {
    // A dead letter records the channel it died on.
    fn with_channel(self, channel: Channel) -> Self {
        match self {
            SendUpdate::Failed { id, error, at, .. } => SendUpdate::Failed {
                id,
                channel: Some(channel),
                error,
                at,
            },
            other => other,
        }
    }
}
