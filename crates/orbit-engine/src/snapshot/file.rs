//! The snapshot file: a fixed header, then the body in postcard.
//!
//! # Layout (little-endian)
//! | bytes | field |
//! |---|---|
//! | 8 | magic `ORBITSNP` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 16 | schema digest: BLAKE3 of [`SCHEMA`] and the engine's version |
//! | 8 | log position the snapshot reflects |
//! | 32 | BLAKE3 of the stored body of the event at that position |
//! | 8 | when it was written, epoch milliseconds |
//! | 8 | body length |
//! | 32 | BLAKE3 of the body |
//!
//! Format and schema are checked before the body is read, its length and digest
//! before it is decoded: a snapshot of other code, or cut short, or changed on disk, is
//! refused, never half-used.
//!
//! # Contract
//! A write goes to a temporary file beside the snapshot, is synced, renamed over it,
//! and the directory synced: at any moment, however the process ends, the path holds
//! either the previous snapshot whole or the new one whole.

use crate::audience::index::IndexImage;
use orbit_core::WorkspaceId;
use orbit_store::LogPosition;
use serde::{Deserialize, Serialize};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The version of this layout and of the body's encoding; bumped with either.
pub const FORMAT_VERSION: u32 = 2;

/// What the body holds, field by field, as the code encodes it. Part of the schema
/// digest: change it whenever an encoded type changes, and the snapshots of older code
/// are refused rather than misread (a test pins the encoding of a known state).
pub const SCHEMA: &str = "body { workspaces: [(workspace_id: str, index {\
 strings: [str],\
 profiles: [{ id: [u8; 16], timeline { events: [{ at_ms: i64, name: u32, props_start: u32,\
 props_len: u16, position_high: u16, position_low: u32 }],\
 values: [{ key_kind: u32 (kind in the top 2 bits: integer, number, text, bool), payload: [u32; 2] }] } }],\
 announced: [{ segment: str, since: i64, members: roaring, last: [(u32, i64)], baseline: [u8; 16] }],\
 bitmaps { ever: [(u32, roaring)], days: [((u32, i64), roaring)] } })] };\
 timelines index top-level scalar properties; positions order equal times";

const MAGIC: [u8; 8] = *b"ORBITSNP";
const HEADER_LEN: usize = 8 + 4 + 16 + 8 + 32 + 8 + 8 + 32;

/// The body of a snapshot: every workspace's audience index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// Workspaces in id order, each with its index.
    pub workspaces: Vec<(WorkspaceId, IndexImage)>,
}

/// A snapshot as read back.
#[derive(Debug)]
pub struct Snapshot {
    /// The log position it reflects: every event up to it, none after.
    pub position: LogPosition,
    /// BLAKE3 of the stored body of the event at `position`, to tell its log.
    pub anchor: [u8; 32],
    /// When it was written, epoch milliseconds.
    pub written_at_ms: i64,
    /// Its size on disk.
    pub bytes: u64,
    /// The indexes.
    pub body: Body,
}

/// What writing a snapshot did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Written {
    /// The position it reflects.
    pub position: LogPosition,
    /// Its size on disk.
    pub bytes: u64,
    /// Time spent encoding, writing and syncing it.
    pub took: Duration,
}

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file system failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file does not start as a snapshot does.
    #[error("{0} is not an engine snapshot")]
    NotASnapshot(PathBuf),
    /// Written in another format.
    #[error("the snapshot is in format {found}; this code reads format {FORMAT_VERSION}")]
    OtherFormat {
        /// Its format version.
        found: u32,
    },
    /// Written by code whose encoded types differ.
    #[error("the snapshot was written by code of another schema")]
    OtherSchema,
    /// Shorter than its header says.
    #[error("the snapshot is truncated: {0}")]
    Truncated(String),
    /// Its bytes are not what was written.
    #[error("the snapshot is corrupt: {0}")]
    Corrupt(String),
    /// The state could not be encoded.
    #[error("encoding the snapshot: {0}")]
    Encode(String),
}

/// The snapshot file of a data directory.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    path: PathBuf,
}

impl SnapshotFile {
    /// The name of the snapshot in a data directory.
    pub const NAME: &'static str = "engine.snapshot";

    /// The snapshot file inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(Self::NAME),
        }
    }

    /// Where the snapshot is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where a snapshot is written before it replaces the current one.
    pub fn temporary_path(&self) -> PathBuf {
        self.path.with_extension("snapshot.tmp")
    }

    /// Reads and checks the snapshot; `None` when there is none. Blocks: call it off
    /// the async runtime's threads.
    ///
    /// # Errors
    /// See [`SnapshotError`]: a snapshot of other code, truncated or corrupt.
    pub fn read(&self) -> Result<Option<Snapshot>, SnapshotError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io("reading", source)),
        };
        let header = Header::parse(&bytes, &self.path)?;
        let body = &bytes[HEADER_LEN..];
        if (body.len() as u64) < header.body_len {
            return Err(SnapshotError::Truncated(format!(
                "{} of {} body bytes",
                body.len(),
                header.body_len
            )));
        }
        if body.len() as u64 != header.body_len {
            return Err(SnapshotError::Corrupt("bytes after the body".into()));
        }
        if *blake3::hash(body).as_bytes() != header.body_digest {
            return Err(SnapshotError::Corrupt("the body's digest does not match".into()));
        }
        let decoded: Body = postcard::from_bytes(body).map_err(|e| SnapshotError::Corrupt(e.to_string()))?;
        Ok(Some(Snapshot {
            position: header.position,
            anchor: header.anchor,
            written_at_ms: header.written_at_ms,
            bytes: bytes.len() as u64,
            body: decoded,
        }))
    }

    /// Writes a snapshot of `body` at `position` in place of the current one, as the
    /// module's contract says. Blocks: call it off the async runtime's threads.
    ///
    /// # Errors
    /// Encoding or the file system failed; the previous snapshot is left as it was.
    pub fn write(
        &self,
        position: LogPosition,
        anchor: [u8; 32],
        written_at_ms: i64,
        body: &Body,
    ) -> Result<Written, SnapshotError> {
        let started = Instant::now();
        let temporary = self.temporary_path();
        let io = |action, source| SnapshotError::Io {
            action,
            path: temporary.clone(),
            source,
        };
        let file = std::fs::File::create(&temporary).map_err(|e| io("creating", e))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        out.write_all(&[0u8; HEADER_LEN]).map_err(|e| io("writing", e))?;
        let counted = postcard::to_io(
            body,
            Digesting {
                inner: out,
                hasher: blake3::Hasher::new(),
                len: 0,
            },
        )
        .map_err(|e| SnapshotError::Encode(e.to_string()))?;
        let header = Header {
            position,
            anchor,
            written_at_ms,
            body_len: counted.len,
            body_digest: *counted.hasher.finalize().as_bytes(),
        };
        let mut file = counted
            .inner
            .into_inner()
            .map_err(|e| io("writing", e.into_error()))?;
        file.rewind().map_err(|e| io("writing", e))?;
        file.write_all(&header.encode()).map_err(|e| io("writing", e))?;
        file.sync_all().map_err(|e| io("syncing", e))?;
        drop(file);
        std::fs::rename(&temporary, &self.path).map_err(|e| io("renaming", e))?;
        sync_directory(&self.path).map_err(|source| self.io("syncing the directory of", source))?;
        Ok(Written {
            position,
            bytes: HEADER_LEN as u64 + header.body_len,
            took: started.elapsed(),
        })
    }

    /// Removes a temporary file a write left when its process ended mid-way.
    pub fn remove_leftovers(&self) {
        let _ = std::fs::remove_file(self.temporary_path());
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> SnapshotError {
        SnapshotError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

/// The schema digest of this code: [`SCHEMA`] and the engine's version.
fn schema_digest() -> [u8; 16] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(SCHEMA.as_bytes());
    hasher.update(&[0]);
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    let mut digest = [0u8; 16];
    digest.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    digest
}

#[cfg(unix)]
fn sync_directory(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) => std::fs::File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })?
        .sync_all(),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn sync_directory(_path: &Path) -> std::io::Result<()> {
    // Directories cannot be opened for syncing there; the rename is what it is.
    Ok(())
}

/// A writer that digests and counts what passes through it.
struct Digesting<W> {
    inner: W,
    hasher: blake3::Hasher,
    len: u64,
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct Header {
    position: LogPosition,
    anchor: [u8; 32],
    written_at_ms: i64,
    body_len: u64,
    body_digest: [u8; 32],
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let fields: [&[u8]; 8] = [
            &MAGIC,
            &FORMAT_VERSION.to_le_bytes(),
            &schema_digest(),
            &self.position.0.to_le_bytes(),
            &self.anchor,
            &self.written_at_ms.to_le_bytes(),
            &self.body_len.to_le_bytes(),
            &self.body_digest,
        ];
        let mut at = 0;
        for field in fields {
            out[at..at + field.len()].copy_from_slice(field);
            at += field.len();
        }
        out
    }

    fn parse(bytes: &[u8], path: &Path) -> Result<Self, SnapshotError> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(SnapshotError::NotASnapshot(path.to_path_buf()));
        }
        if bytes.len() < HEADER_LEN {
            return Err(SnapshotError::Truncated(format!("{} header bytes", bytes.len())));
        }
        let mut rest = &bytes[MAGIC.len()..HEADER_LEN];
        let mut take = |n: usize| {
            let (field, tail) = rest.split_at(n);
            rest = tail;
            field
        };
        let format = u32::from_le_bytes(array(take(4)));
        if format != FORMAT_VERSION {
            return Err(SnapshotError::OtherFormat { found: format });
        }
        if array::<16>(take(16)) != schema_digest() {
            return Err(SnapshotError::OtherSchema);
        }
        Ok(Self {
            position: LogPosition(i64::from_le_bytes(array(take(8)))),
            anchor: array(take(32)),
            written_at_ms: i64::from_le_bytes(array(take(8))),
            body_len: u64::from_le_bytes(array(take(8))),
            body_digest: array(take(32)),
        })
    }
}

/// The first `N` bytes of `bytes`, which the header's fixed layout guarantees.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}
