//! Periodic upkeep: forgetting message ids past the de-duplication window, and
//! journey effects long done.

use jiff::SignedDuration;
use orbit_core::Clock;
use orbit_store::{EventLog, JourneyRunStore};
use std::sync::Arc;
use std::time::Duration;

/// Message ids are kept a day longer than the promised window.
pub const MESSAGE_ID_RETENTION: SignedDuration =
    SignedDuration::from_hours(24 * (orbit_store::DEDUPE_WINDOW_DAYS + 1));

/// Prunes expired message ids every `every`, forever.
pub async fn prune_message_ids_forever(log: Arc<dyn EventLog>, clock: Arc<dyn Clock>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let cutoff = clock.now().as_millisecond() - MESSAGE_ID_RETENTION.as_millis() as i64;
        match log.prune_message_ids(cutoff).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "forgot expired message ids"),
            Err(error) => tracing::warn!(error = %error, "pruning message ids failed; will retry"),
        }
    }
}

/// Journey effects done are kept this long, as a record of what journeys did.
pub const DONE_EFFECT_RETENTION: SignedDuration = SignedDuration::from_hours(24 * 30);

/// Deletes journey effects done longer ago than [`DONE_EFFECT_RETENTION`] every
/// `every`, forever. A done effect is never decided again: the step that decided it
/// was stored with the run moving past its node.
pub async fn prune_done_effects_forever(
    runs: Arc<dyn JourneyRunStore>,
    clock: Arc<dyn Clock>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Ok(cutoff) = clock.now().checked_sub(DONE_EFFECT_RETENTION) else {
            continue;
        };
        match runs.prune_done_effects(cutoff).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "forgot journey effects done long ago"),
            Err(error) => tracing::warn!(error = %error, "pruning journey effects failed; will retry"),
        }
    }
}
