//! The unique key on message ids: exact, in memory, made durable by `message_ids`.
//!
//! A B-tree keyed by random message ids (SDKs send UUIDs) dirties one page per insert,
//! and every dirty page is written to the WAL at commit: under sustained ingestion
//! that costs more than the events themselves. The table is therefore append-only, in
//! arrival order, and the key lives in memory as a set of 128-bit digests, loaded when
//! the store opens. Only the single writer claims ids, so the set is exact; it is not a
//! cache or a filter (ADR 0004).

use crate::padded::PaddedInsert;
use crate::{not_written, unknown};
use foldhash::HashSet;
use foldhash::HashSetExt;
use orbit_core::NewEvent;
use orbit_store::StoreError;
use sqlx::SqlitePool;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A message id's digest: BLAKE3 of workspace, source and message id, cut to 128 bits.
/// A collision is as likely as guessing a random 128-bit key.
pub(crate) type Digest = [u8; 16];

/// The digest of an event's (workspace, source, message id).
pub(crate) fn digest(event: &NewEvent) -> Digest {
    let mut hasher = blake3::Hasher::new();
    // Workspace and source ids are slugs and cannot contain NUL, so the encoding is
    // unambiguous.
    hasher.update(event.workspace_id.as_str().as_bytes());
    hasher.update(&[0]);
    hasher.update(event.source_id.as_str().as_bytes());
    hasher.update(&[0]);
    hasher.update(event.message_id.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    out
}

/// The rows of `message_ids`: digest, time received.
pub(crate) const CLAIMS: PaddedInsert = PaddedInsert::new("INSERT INTO message_ids (digest, received_at)", 2);

/// Every claimed message id.
#[derive(Debug, Default)]
pub(crate) struct MessageIdKey {
    claimed: Mutex<HashSet<Digest>>,
}

impl MessageIdKey {
    fn lock(&self) -> MutexGuard<'_, HashSet<Digest>> {
        // The set holds plain data: a panic elsewhere cannot leave it half-updated.
        self.claimed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads every stored digest.
    pub(crate) async fn load(&self, pool: &SqlitePool) -> Result<(), StoreError> {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT digest FROM message_ids")
            .fetch_all(pool)
            .await
            .map_err(not_written)?;
        let mut set = HashSet::with_capacity(rows.len());
        for (raw,) in rows {
            let digest: Digest = raw
                .as_slice()
                .try_into()
                .map_err(|_| crate::corrupt("message id digest", format!("{} bytes", raw.len())))?;
            set.insert(digest);
        }
        *self.lock() = set;
        Ok(())
    }

    /// Whether a digest was claimed by a committed transaction.
    pub(crate) fn contains(&self, digest: &Digest) -> bool {
        self.lock().contains(digest)
    }

    /// Records digests whose transaction committed.
    pub(crate) fn extend(&self, digests: impl IntoIterator<Item = Digest>) {
        self.lock().extend(digests);
    }

    /// Forgets ids received before `cutoff_ms`, in the table and in memory.
    pub(crate) async fn prune(&self, pool: &SqlitePool, cutoff_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM message_ids WHERE received_at < ?")
            .bind(cutoff_ms)
            .execute(pool)
            .await
            .map_err(unknown)?;
        // The writer connection is the only one that claims ids, and this ran on it,
        // so no claim can land between the delete and the reload.
        self.load(pool).await?;
        Ok(done.rows_affected())
    }
}
