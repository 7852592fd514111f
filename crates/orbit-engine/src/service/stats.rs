//! The dashboard's numbers: today's events, new profiles and messages, messages per
//! day over a week, what is running, and every segment's size.
//!
//! Every number is read from what the engine keeps anyway — counts by quarter hour in
//! the audience index, the send ledger's tallies, the few campaign and journey rows,
//! segment memberships as announced — so an answer costs the same at a thousand
//! profiles as at millions. Days are the workspace's (its `time_zone` setting), on
//! the engine's clock, so a simulated clock moves "today" with it.

use crate::service::audiences::SegmentSize;
use crate::{Audiences, EngineError, PipelineHandle};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use orbit_core::journey::JourneyStatus;
use orbit_core::messaging::CampaignState;
use orbit_core::{Clock, ErrorCode, Problem, WorkspaceId};
use orbit_store::{SendTally, Stores};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// How many days the message series covers, today included.
const SERIES_DAYS: i64 = 7;

/// The dashboard's numbers for one workspace (`GET /v1/stats/overview`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatsOverview {
    /// Today's date in `time_zone`.
    #[schema(example = "2026-12-03")]
    pub today: Date,
    /// The IANA time zone days are counted in: the workspace's.
    #[schema(example = "Asia/Shanghai")]
    pub time_zone: String,
    /// The moment the numbers were taken, on the server's clock.
    pub at: Timestamp,
    /// Events whose time falls today, Orbit's own included (segment transitions,
    /// message receipts).
    pub events_today: u64,
    /// Profiles created today and not merged into an older one since.
    pub new_profiles_today: u64,
    /// Profiles now.
    pub profiles_total: u64,
    /// Messages a provider took today.
    pub messages_sent_today: u64,
    /// Messages a provider's receipt said arrived today.
    pub messages_delivered_today: u64,
    /// Messages sent and delivered on each of the last 7 days, oldest first, today
    /// last.
    pub messages_by_day: Vec<DayMessages>,
    /// Campaigns launched and not finished: scheduled, running or paused.
    pub active_campaigns: u64,
    /// Journeys published and not archived: live or paused.
    pub active_journeys: u64,
    /// Every segment with its size, largest first.
    pub segments: Vec<SegmentSize>,
}

/// Messages sent and delivered on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayMessages {
    /// The day, in the workspace's time zone.
    #[schema(example = "2026-12-03")]
    pub date: Date,
    /// Messages a provider took that day.
    pub sent: u64,
    /// Messages a receipt said arrived that day.
    pub delivered: u64,
}

/// The dashboard's numbers.
pub struct Stats {
    stores: Stores,
    pipeline: PipelineHandle,
    clock: Arc<dyn Clock>,
    audiences: Arc<Audiences>,
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats").finish_non_exhaustive()
    }
}

/// A local day as the instants it runs between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Day {
    date: Date,
    start: Timestamp,
    end: Timestamp,
}

impl Day {
    /// The day `date` in `zone`: from its first instant to the next day's (23 or 25
    /// hours across a change of daylight saving time).
    fn of(date: Date, zone: &TimeZone) -> Option<Self> {
        let start = date.to_zoned(zone.clone()).ok()?.timestamp();
        let end = date.tomorrow().ok()?.to_zoned(zone.clone()).ok()?.timestamp();
        Some(Self { date, start, end })
    }

    fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// The `count` days ending with the one `now` falls in, in `zone`, oldest first.
fn days_ending_at(now: Timestamp, zone: &TimeZone, count: i64) -> Vec<Day> {
    let today = now.to_zoned(zone.clone()).date();
    (0..count)
        .rev()
        .filter_map(|back| today.checked_sub(back.days()).ok())
        .filter_map(|date| Day::of(date, zone))
        .collect()
}

/// Sums tallies into the days they fall in.
fn messages_by_day(days: &[Day], tallies: &[SendTally]) -> Vec<DayMessages> {
    days.iter()
        .map(|day| {
            let within = tallies.iter().filter(|t| day.contains(t.start));
            let (sent, delivered) = within.fold((0, 0), |(s, d), t| (s + t.sent, d + t.delivered));
            DayMessages {
                date: day.date,
                sent,
                delivered,
            }
        })
        .collect()
}

impl Stats {
    /// The numbers over the stores, the pipeline's indexes and the audience service.
    pub(crate) fn new(
        stores: Stores,
        pipeline: PipelineHandle,
        clock: Arc<dyn Clock>,
        audiences: Arc<Audiences>,
    ) -> Self {
        Self {
            stores,
            pipeline,
            clock,
            audiences,
        }
    }

    /// The dashboard's numbers now.
    ///
    /// # Errors
    /// Fails when the stores cannot be read or a segment cannot be evaluated;
    /// `invalid_state` when a simulated clock sits on the calendar's last day.
    pub async fn overview(&self, workspace: &WorkspaceId) -> Result<StatsOverview, EngineError> {
        let at = self.clock.now();
        let zone = self.pipeline.time_zone(workspace);
        let days = days_ending_at(at, &zone, SERIES_DAYS);
        let (Some(first), Some(today)) = (days.first().copied(), days.last().copied()) else {
            // Only a simulated clock set to the calendar's last day gets here.
            return Err(Problem::new(
                ErrorCode::InvalidState,
                "the clock is at the end of the calendar: its days cannot be counted",
            )
            .into());
        };
        let (start_ms, end_ms) = (today.start.as_millisecond(), today.end.as_millisecond());
        let (events_today, new_profiles_today, profiles_total) =
            self.pipeline.with_audience(workspace, |index| {
                index.map_or((0, 0, 0), |index| {
                    (
                        index.events_between(start_ms, end_ms),
                        index.profiles_created_between(start_ms, end_ms),
                        index.len(),
                    )
                })
            });
        let tallies = self
            .stores
            .ledger
            .send_tallies(workspace, first.start, today.end)
            .await?;
        let messages = messages_by_day(&days, &tallies);
        let today_messages = messages.last().copied().unwrap_or(DayMessages {
            date: today.date,
            sent: 0,
            delivered: 0,
        });
        let active_campaigns = self
            .stores
            .campaigns
            .campaigns(workspace)
            .await?
            .iter()
            .filter(|c| {
                matches!(
                    c.lifecycle.state,
                    CampaignState::Scheduled | CampaignState::Running | CampaignState::Paused
                )
            })
            .count() as u64;
        let active_journeys = self
            .stores
            .journeys
            .journeys(workspace)
            .await?
            .iter()
            .filter(|j| matches!(j.status, JourneyStatus::Live | JourneyStatus::Paused))
            .count() as u64;
        Ok(StatsOverview {
            today: today.date,
            time_zone: zone.iana_name().unwrap_or("UTC").to_owned(),
            at,
            events_today,
            new_profiles_today,
            profiles_total,
            messages_sent_today: today_messages.sent,
            messages_delivered_today: today_messages.delivered,
            messages_by_day: messages,
            active_campaigns,
            active_journeys,
            segments: self.audiences.kept_sizes(workspace).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(raw: &str) -> Timestamp {
        raw.parse().expect("a time")
    }

    fn date(raw: &str) -> Date {
        raw.parse().expect("a date")
    }

    #[test]
    fn days_are_the_workspace_s_calendar_days_ending_today() {
        let shanghai = TimeZone::get("Asia/Shanghai").expect("a zone");
        // 01:30 on 3 December in Shanghai is still 2 December in UTC.
        let days = days_ending_at(time("2026-12-02T17:30:00Z"), &shanghai, 7);
        assert_eq!(days.len(), 7);
        let today = days[6];
        assert_eq!(today.date, date("2026-12-03"));
        assert_eq!(
            (today.start, today.end),
            (time("2026-12-02T16:00:00Z"), time("2026-12-03T16:00:00Z"))
        );
        assert_eq!(days[0].date, date("2026-11-27"));
        let utc = days_ending_at(time("2026-12-02T17:30:00Z"), &TimeZone::UTC, 1);
        assert_eq!(utc[0].date, date("2026-12-02"));
    }

    #[test]
    fn a_day_across_a_daylight_saving_change_is_23_hours_long() {
        let new_york = TimeZone::get("America/New_York").expect("a zone");
        let day = Day::of(date("2026-03-08"), &new_york).expect("a day");
        assert_eq!(day.end.duration_since(day.start).as_hours(), 23);
    }

    #[test]
    fn tallies_add_up_into_the_day_they_start_in() {
        let shanghai = TimeZone::get("Asia/Shanghai").expect("a zone");
        let days = days_ending_at(time("2026-12-03T02:00:00Z"), &shanghai, 2);
        let tally = |at: &str, sent, delivered| SendTally {
            start: time(at),
            sent,
            delivered,
        };
        let tallies = [
            tally("2026-12-01T16:00:00Z", 2, 1),
            tally("2026-12-02T15:45:00Z", 3, 0),
            tally("2026-12-02T16:00:00Z", 4, 4),
        ];
        assert_eq!(
            messages_by_day(&days, &tallies),
            vec![
                DayMessages {
                    date: date("2026-12-02"),
                    sent: 5,
                    delivered: 1
                },
                DayMessages {
                    date: date("2026-12-03"),
                    sent: 4,
                    delivered: 4
                },
            ]
        );
    }
}
