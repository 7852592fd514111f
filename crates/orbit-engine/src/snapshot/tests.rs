//! Snapshot files: read back as written, refused whole when not ours or damaged, and
//! replaced only whole.

use super::*;
use crate::audience::index::AudienceIndex;
use jiff::Timestamp;
use orbit_core::{ProfileId, WorkspaceId};
use orbit_store::LogPosition;
use serde_json::json;

fn person(n: u128) -> ProfileId {
    ProfileId::mint(Timestamp::UNIX_EPOCH, n)
}

/// A small index: three people, one merged into another, one erased, a baseline and
/// a transition, so that every encoded part holds something.
fn body() -> Body {
    let mut index = AudienceIndex::default();
    let props = |amount: i64, city: &str| {
        json!({"amount": amount, "city": city, "price": 59.9, "paid": true})
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    index.record_event(person(1), 1_000, 1, Some("order_paid"), &props(30, "重庆"));
    index.record_event(person(2), 1_000, 2, Some("order_paid"), &props(80, "成都"));
    index.record_event(person(3), 86_400_500, 3, None, &props(1, "上海"));
    index.set_baseline("vip", 3, &[person(1), person(3)]);
    index.record_event(person(2), 90_000_000, 4, Some("viewed"), &props(5, "重庆"));
    index.merge(person(1), person(2));
    index.erase(person(3));
    Body {
        workspaces: vec![(WorkspaceId::default_workspace(), index.capture().compact())],
    }
}

fn written(dir: &tempfile::TempDir, position: i64) -> SnapshotFile {
    let file = SnapshotFile::in_dir(dir.path());
    file.write(LogPosition(position), [7; 32], 1_234, &body())
        .expect("written");
    file
}

#[test]
fn a_snapshot_reads_back_as_it_was_written() {
    let dir = tempfile::tempdir().expect("dir");
    let file = written(&dir, 4);
    let read = file.read().expect("readable").expect("present");
    assert_eq!(read.position, LogPosition(4));
    assert_eq!(read.anchor, [7; 32]);
    assert_eq!(read.written_at_ms, 1_234);
    assert_eq!(read.body, body());
    assert_eq!(read.bytes, std::fs::metadata(file.path()).expect("meta").len());
    assert!(!file.temporary_path().exists(), "renamed into place");
}

#[test]
fn no_snapshot_reads_as_none() {
    let dir = tempfile::tempdir().expect("dir");
    assert!(
        SnapshotFile::in_dir(dir.path())
            .read()
            .expect("no error")
            .is_none()
    );
}

#[test]
fn a_truncated_or_damaged_snapshot_is_refused_whole() {
    let dir = tempfile::tempdir().expect("dir");
    let file = written(&dir, 4);
    let good = std::fs::read(file.path()).expect("bytes");
    let refused = |bytes: &[u8]| {
        std::fs::write(file.path(), bytes).expect("write");
        file.read().expect_err("refused")
    };
    for cut in [0, 5, 20, 115, 116, good.len() / 2, good.len() - 1] {
        let error = refused(&good[..cut]);
        assert!(
            matches!(
                error,
                SnapshotError::Truncated(_) | SnapshotError::NotASnapshot(_)
            ),
            "cut at {cut}: {error}"
        );
    }
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x40;
    assert!(matches!(refused(&flipped), SnapshotError::Corrupt(_)));
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(refused(&longer), SnapshotError::Corrupt(_)));
    let mut other_format = good.clone();
    other_format[8] = other_format[8].wrapping_add(1);
    assert!(matches!(
        refused(&other_format),
        SnapshotError::OtherFormat { .. }
    ));
    let mut other_schema = good.clone();
    other_schema[12] ^= 1;
    assert!(matches!(refused(&other_schema), SnapshotError::OtherSchema));
    let mut not_ours = good;
    not_ours[0] = b'X';
    assert!(matches!(refused(&not_ours), SnapshotError::NotASnapshot(_)));
}

#[test]
fn a_write_cut_short_before_its_rename_leaves_the_previous_snapshot() {
    let dir = tempfile::tempdir().expect("dir");
    let file = written(&dir, 4);
    // What a process killed mid-write leaves: a partial temporary file.
    let partial = std::fs::read(file.path()).expect("bytes");
    std::fs::write(file.temporary_path(), &partial[..partial.len() / 3]).expect("partial");
    assert_eq!(
        file.read().expect("readable").expect("present").position,
        LogPosition(4)
    );
    file.remove_leftovers();
    assert!(!file.temporary_path().exists());
    let newer = written(&dir, 9);
    assert_eq!(
        newer.read().expect("readable").expect("present").position,
        LogPosition(9)
    );
}

#[test]
fn a_write_that_fails_leaves_the_previous_snapshot() {
    let dir = tempfile::tempdir().expect("dir");
    let file = written(&dir, 4);
    // The temporary path cannot be created: a directory stands in its way.
    std::fs::create_dir(file.temporary_path()).expect("dir in the way");
    let failed = file.write(LogPosition(9), [0; 32], 0, &body());
    assert!(matches!(failed, Err(SnapshotError::Io { .. })));
    assert_eq!(
        file.read().expect("readable").expect("present").position,
        LogPosition(4)
    );
}

/// Pins the encoding of a known state. When this fails, the bytes a snapshot holds
/// changed: bump `FORMAT_VERSION` (and `SCHEMA` if a type changed), so that older
/// snapshots are refused instead of misread, then update the digest here.
#[test]
fn the_encoding_of_a_known_state_is_pinned() {
    let encoded = postcard::to_allocvec(&body()).expect("encoded");
    let decoded: Body = postcard::from_bytes(&encoded).expect("decoded");
    assert_eq!(decoded, body());
    assert_eq!(FORMAT_VERSION, 2);
    assert_eq!(
        blake3::hash(&encoded).to_hex().as_str(),
        "cbf2e1409ae4231521bb5c72a93afe615f7ca270d1fb8f66b6701d6765e52367",
        "the snapshot encoding changed"
    );
}
