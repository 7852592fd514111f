//! The data directory: the SQLite database and the server secret that keys are hashed with.

use anyhow::Context;
use orbit_engine::KeyHasher;
use orbit_store_sqlite::{Durability, SqliteStore};
use std::io::Write;
use std::path::Path;

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "orbit.db";
const SECRET_FILE: &str = "secret.key";
const LOCK_FILE: &str = "orbit.lock";

/// Takes the data directory's exclusive lock, held as long as the returned file is open.
///
/// One process at a time may run the ingest pipeline on a data directory: it keeps the
/// identity graphs and the message-id key in memory, and a second writer would make
/// both wrong. The operating system releases the lock when the process ends, however
/// it ends.
pub fn lock(dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "the data directory {} is in use by another orbit process (a running server?); \
             stop it first, or send the data to that server over HTTP",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Opens (creating when needed) the data directory's store and key hasher.
pub async fn open(dir: &Path, durability: Durability) -> anyhow::Result<(SqliteStore, KeyHasher)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
    let hasher = KeyHasher::new(load_or_create_secret(&dir.join(SECRET_FILE))?);
    let store = SqliteStore::open(&dir.join(DATABASE_FILE), durability)
        .await
        .with_context(|| format!("opening the database in {}", dir.display()))?;
    Ok((store, hasher))
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return hex::decode(text.trim()).with_context(|| format!("{} is not a hex secret", path.display()));
    }
    let secret: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|u| u.as_bytes().to_vec())
        .collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(hex::encode(&secret).as_bytes())?;
            file.sync_all()?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)?;
            Ok(hex::decode(text.trim())?)
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}
