//! When a wait ends or a date entry fires, in the person's time zone. Days, months and
//! years are calendar ones there, so "one day later" at a daylight-saving change is
//! the same wall-clock time the next day.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Zoned};
use serde_json::Value;

use crate::audience::values::read_datetime;

/// `from` plus `span`, counted in `tz`; `None` when it leaves the representable range.
pub fn after(from: Timestamp, span: Span, tz: &TimeZone) -> Option<Timestamp> {
    from.to_zoned(tz.clone())
        .checked_add(span)
        .ok()
        .map(|z| z.timestamp())
}

/// The first instant showing `time` in `tz` on the day `days_later` days after the
/// day of `from` there, or, with `days_later` 0 and that time already past, the next
/// day's.
pub fn next_time_of_day(from: Timestamp, time: Time, days_later: u32, tz: &TimeZone) -> Option<Timestamp> {
    let local = from.to_zoned(tz.clone());
    let day = local
        .date()
        .checked_add(Span::new().days(i64::from(days_later)))
        .ok()?;
    let at = at_local(day, time, tz)?;
    if at > from || days_later > 0 {
        return Some(at);
    }
    at_local(day.tomorrow().ok()?, time, tz)
}

/// A local date and time in `tz` as an instant (a gap at a clock change moves forward).
pub fn at_local(date: Date, time: Time, tz: &TimeZone) -> Option<Timestamp> {
    date.to_datetime(time)
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// A time read from a value (an RFC 3339 time, or a local date or date-time in
/// `tz`), moved by `offset` and then set to `time` of that day when given.
pub fn from_value(
    value: &Value,
    offset: Option<Span>,
    time: Option<Time>,
    tz: &TimeZone,
) -> Option<Timestamp> {
    let local: DateTime = read_datetime(value, tz)?;
    let mut zoned: Zoned = local.to_zoned(tz.clone()).ok()?;
    if let Some(offset) = offset {
        zoned = zoned.checked_add(offset).ok()?;
    }
    match time {
        Some(time) => at_local(zoned.date(), time, tz),
        None => Some(zoned.timestamp()),
    }
}

/// The first anniversary of `date` at `time` in `tz` strictly after `after`; 29
/// February falls on 28 February in other years.
pub fn next_anniversary(date: Date, time: Time, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let year = after.to_zoned(tz.clone()).year();
    for y in [year, year.checked_add(1)?] {
        let day = Date::new(y, date.month(), date.day())
            .or_else(|_| Date::new(y, date.month(), date.day() - 1))
            .ok()?;
        let at = at_local(day, time, tz)?;
        if at > after {
            return Some(at);
        }
    }
    None
}

/// Whether a span is longer than nothing, counted from `from` in `tz`.
pub fn is_positive(span: Span, from: Timestamp, tz: &TimeZone) -> bool {
    after(from, span, tz).is_some_and(|end| end > from)
}
