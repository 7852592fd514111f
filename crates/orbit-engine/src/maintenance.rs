//! Periodic upkeep: forgetting message ids past the de-duplication window.

use jiff::SignedDuration;
use orbit_core::Clock;
use orbit_store::EventLog;
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
