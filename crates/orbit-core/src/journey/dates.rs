//! When date and schedule entries fire: a person's next anniversary or date after a
//! trait or an event, at a local time of day, and a schedule's next occurrence.

use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::model::{DateRepeat, Delay, TimeOfDay};
use super::time;
use crate::audience::values::read_datetime;

/// One firing of a date entry for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateOccurrence {
    /// When it fires.
    pub at: Timestamp,
    /// The local date it fires on (`2027-03-14`): what keys the entry, so re-entry
    /// rules count per occurrence and a birthday enters once a year.
    pub key: String,
}

/// How a date entry reads its date: the parts of `Entry::Date` the time depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateRule {
    /// Every year, or once after the date.
    pub repeat: DateRepeat,
    /// With `after`, how long after.
    pub offset: Option<Delay>,
    /// The local time of day.
    pub time_of_day: TimeOfDay,
}

impl DateRule {
    /// The first occurrence strictly after `after` of the date in `value` (a datetime
    /// trait, or an event's time as RFC 3339), in `tz`; `None` when the value is not a
    /// date or, for `after`, its one occurrence has passed.
    pub fn next_after(&self, value: &Value, after: Timestamp, tz: &TimeZone) -> Option<DateOccurrence> {
        let at = match self.repeat {
            DateRepeat::Anniversary => {
                let date = read_datetime(value, tz)?.date();
                time::next_anniversary(date, self.time_of_day.0, after, tz)?
            }
            DateRepeat::After => {
                let at = time::from_value(value, self.offset.map(|d| d.0), Some(self.time_of_day.0), tz)?;
                if at <= after {
                    return None;
                }
                at
            }
        };
        Some(DateOccurrence {
            at,
            key: at.to_zoned(tz.clone()).date().to_string(),
        })
    }
}

/// Whether something due at `due` and done at `now` is later than `limit` allows
/// (counted from `due` in `tz`); never, without a limit.
pub fn too_late(limit: Option<Delay>, due: Timestamp, now: Timestamp, tz: &TimeZone) -> bool {
    let Some(limit) = limit else { return false };
    match time::after(due, limit.0, tz) {
        Some(deadline) => now > deadline,
        None => false,
    }
}

/// A schedule entry's times: a cron expression read in a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    tz: TimeZone,
}

impl Schedule {
    /// Reads a cron expression (five or six fields, croner syntax) in `tz`.
    ///
    /// # Errors
    /// The parser's message when the expression is not valid.
    pub fn parse(cron: &str, tz: TimeZone) -> Result<Self, String> {
        let cron = croner::Cron::from_str(cron).map_err(|e| e.to_string())?;
        Ok(Self { cron, tz })
    }

    /// The first occurrence strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let from = after.to_zoned(self.tz.clone());
        self.cron
            .find_next_occurrence(&from, false)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The latest occurrence at or before `now`, if it is after `after`: what a
    /// server that was down should still do, once, however many it missed.
    pub fn latest_missed(&self, after: Timestamp, now: Timestamp) -> Option<Timestamp> {
        let first = self.next_after(after)?;
        if first > now {
            return None;
        }
        let latest = self
            .cron
            .find_previous_occurrence(&now.to_zoned(self.tz.clone()), true)
            .ok()
            .map(|z| z.timestamp())?;
        Some(latest.max(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time as civil_time;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn shanghai() -> TimeZone {
        TimeZone::get("Asia/Shanghai").unwrap()
    }

    fn rule(repeat: DateRepeat, offset: Option<&str>, time: (i8, i8)) -> DateRule {
        DateRule {
            repeat,
            offset: offset.map(|o| Delay(o.parse().unwrap())),
            time_of_day: TimeOfDay(civil_time(time.0, time.1, 0, 0)),
        }
    }

    #[test]
    fn a_birthday_fires_at_the_local_time_of_day_every_year() {
        let birthday = rule(DateRepeat::Anniversary, None, (9, 0));
        let value = Value::String("1990-12-08".to_owned());
        // 2026-12-07 20:00 in Shanghai: tomorrow 09:00 local is 01:00 UTC.
        let first = birthday
            .next_after(&value, ts("2026-12-07T12:00:00Z"), &shanghai())
            .unwrap();
        assert_eq!(first.at, ts("2026-12-08T01:00:00Z"));
        assert_eq!(first.key, "2026-12-08");
        let second = birthday.next_after(&value, first.at, &shanghai()).unwrap();
        assert_eq!(second.at, ts("2027-12-08T01:00:00Z"));
        assert_eq!(second.key, "2027-12-08");
    }

    #[test]
    fn one_year_after_a_purchase_fires_once() {
        let after = rule(DateRepeat::After, Some("P1Y"), (10, 0));
        let bought = Value::String("2026-03-14T06:30:00Z".to_owned());
        let at = after
            .next_after(&bought, ts("2026-03-14T07:00:00Z"), &shanghai())
            .unwrap();
        assert_eq!(at.at, ts("2027-03-14T02:00:00Z"));
        assert_eq!(after.next_after(&bought, at.at, &shanghai()), None);
    }

    #[test]
    fn what_is_not_a_date_never_fires() {
        let birthday = rule(DateRepeat::Anniversary, None, (9, 0));
        assert_eq!(
            birthday.next_after(&Value::from(42), ts("2026-01-01T00:00:00Z"), &TimeZone::UTC),
            None
        );
        assert_eq!(
            birthday.next_after(&Value::from("soon"), ts("2026-01-01T00:00:00Z"), &TimeZone::UTC),
            None
        );
    }

    #[test]
    fn lateness_is_measured_from_the_due_time() {
        let six_hours = Some(Delay("PT6H".parse().unwrap()));
        let due = ts("2026-12-08T01:00:00Z");
        assert!(!too_late(
            six_hours,
            due,
            ts("2026-12-08T07:00:00Z"),
            &TimeZone::UTC
        ));
        assert!(too_late(
            six_hours,
            due,
            ts("2026-12-08T07:00:01Z"),
            &TimeZone::UTC
        ));
        assert!(!too_late(None, due, ts("2030-01-01T00:00:00Z"), &TimeZone::UTC));
    }

    #[test]
    fn a_schedule_fires_in_its_time_zone_and_catches_up_once() {
        let weekly = Schedule::parse("0 10 * * MON", shanghai()).unwrap();
        // Monday 2026-12-07 10:00 in Shanghai is 02:00 UTC.
        assert_eq!(
            weekly.next_after(ts("2026-12-07T00:00:00Z")),
            Some(ts("2026-12-07T02:00:00Z"))
        );
        assert_eq!(
            weekly.next_after(ts("2026-12-07T02:00:00Z")),
            Some(ts("2026-12-14T02:00:00Z"))
        );
        // Down for three weeks: only the latest missed occurrence is done.
        assert_eq!(
            weekly.latest_missed(ts("2026-12-06T00:00:00Z"), ts("2026-12-29T00:00:00Z")),
            Some(ts("2026-12-28T02:00:00Z"))
        );
        assert_eq!(
            weekly.latest_missed(ts("2026-12-07T02:00:00Z"), ts("2026-12-10T00:00:00Z")),
            None
        );
        assert!(Schedule::parse("every monday", TimeZone::UTC).is_err());
    }
}
