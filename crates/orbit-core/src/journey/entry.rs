//! Whether a person may enter a journey now, from what is recorded of their entries.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{EntryLimits, Reentry};
use super::time;

/// What is recorded of a person's entries into one journey (per entry key, for keyed
/// entries, except `per_person`, which counts every key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryHistory {
    /// Entries with this key (or any, unkeyed) so far.
    pub entries: u32,
    /// Whether one of them is still in the journey.
    pub active: bool,
    /// When the last of them began.
    pub last_entered_at: Option<Timestamp>,
    /// The person's entries with any key.
    pub per_person: u32,
    /// Entries of everyone, all versions.
    pub total: u64,
}

/// Why an entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryRefusal {
    /// Still in the journey by this entry key.
    AlreadyIn,
    /// Entered before, and re-entry is once ever.
    EnteredBefore,
    /// Entered less than the re-entry period ago.
    TooSoon,
    /// The per-person limit is reached.
    PersonLimit,
    /// The journey's total cap is reached.
    TotalLimit,
}

/// Whether a person with `history` may enter at `now`.
///
/// # Errors
/// The reason the entry is refused.
pub fn may_enter(
    reentry: &Reentry,
    limits: &EntryLimits,
    history: &EntryHistory,
    now: Timestamp,
    tz: &TimeZone,
) -> Result<(), EntryRefusal> {
    if limits.total.is_some_and(|cap| history.total >= cap) {
        return Err(EntryRefusal::TotalLimit);
    }
    if limits.per_person.is_some_and(|cap| history.per_person >= cap) {
        return Err(EntryRefusal::PersonLimit);
    }
    if history.active {
        return Err(EntryRefusal::AlreadyIn);
    }
    match reentry {
        Reentry::Once if history.entries > 0 => Err(EntryRefusal::EnteredBefore),
        Reentry::OncePer { period } => match history.last_entered_at {
            Some(last) if time::after(last, period.0, tz).is_none_or(|open| now < open) => {
                Err(EntryRefusal::TooSoon)
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Whether a count went from below `threshold` to at or above it.
pub fn crossed(before: u64, after: u64, threshold: u32) -> bool {
    before < u64::from(threshold) && after >= u64::from(threshold)
}
