//! The suite every storage adapter passes, so that SQLite and PostgreSQL keep one
//! contract: the behaviour the engine relies on, written once as tests over
//! [`Stores`].
//!
//! An adapter takes this crate as a dev-dependency and instantiates the suite in its
//! tests with [`store_conformance_tests!`], handing over a factory of fresh, empty
//! stores; each test then runs as a `#[tokio::test]` of that adapter. The suite lives
//! outside `orbit-store` so that it never reaches the `orbit` binary.

#![expect(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "test support: a failure is a failed test"
)]

use jiff::Timestamp;
use orbit_core::profile::Profile;
use orbit_core::{EventKind, EventName, Identity, NewEvent, ProfileId, SourceId, WorkspaceId};
use orbit_store::{
    AppendOutcome, LogEntry, LogPosition, ProfileRecord, StoreError, Stores, WorkspaceChanges,
};
use serde_json::json;

mod audit;
mod events;
mod journey_entries;
mod journey_people;
mod journey_runs;
mod journeys;
mod messaging;
mod operators;
mod person_sends;
mod profiles;
mod segments;
mod tags;
mod tallies;
mod workspaces;
pub use audit::{
    audit_documents_round_trip_exactly, audit_entries_read_back_newest_first_per_workspace,
    audit_filters_narrow_the_entries, redacting_people_clears_only_their_entries,
};
pub use events::{
    a_large_transaction_keeps_its_events_in_order,
    a_transaction_appends_events_with_their_profiles_atomically, appended_events_read_back_in_order,
    duplicate_message_ids_are_stored_once, events_are_read_back_by_position,
    same_message_id_in_another_source_is_not_a_duplicate,
};
pub use journey_entries::{date_entries_and_entry_marks_round_trip, pending_effects_are_taken_per_lane};
pub use journey_people::{
    a_run_carried_over_by_a_merge_is_stored_under_the_survivor_only,
    erasing_people_takes_their_runs_and_pending_effects,
};
pub use journey_runs::{
    a_batch_of_five_thousand_runs_round_trips, a_committed_effect_is_kept_once_as_first_decided,
    a_journey_batch_is_visible_whole_after_commit, a_person_s_runs_are_per_workspace_and_newest_first,
    a_refused_journey_batch_writes_nothing, an_exited_run_leaves_the_active_runs_but_not_the_person_s,
    entry_summaries_count_entries_per_key, node_counts_add_up_across_batches,
    pending_effects_come_oldest_first_up_to_the_limit, the_journey_cursor_never_moves_back,
};
pub use journeys::{
    active_journeys_are_the_live_and_paused_ones, deleting_a_journey_takes_its_versions,
    journeys_round_trip_and_refuse_a_taken_id, published_journey_versions_are_never_overwritten,
};
pub use messaging::{
    a_held_origin_keeps_rows_that_come_back_from_dispatching, call_tasks_are_listed_by_status_and_closed,
    consent_records_are_appended, dead_letters_page_through_rows_that_failed_together,
    erasure_clears_consent_and_ledger_addresses, inbox_messages_are_kept_once_and_read_once,
    messaging_definitions_round_trip, the_send_ledger_never_holds_a_message_twice,
};
pub use operators::{
    operators_are_updated_and_listed_per_workspace, operators_round_trip_and_refuse_a_taken_login,
    sessions_are_touched_ended_and_pruned,
};
pub use person_sends::a_person_s_messages_page_newest_first_under_every_id;
pub use profiles::{
    committed_profiles_read_back_with_their_linking_states, erasure_removes_everything_about_a_person,
    merges_leave_the_merged_id_as_an_alias, profiles_load_in_pages,
};
pub use segments::segments_round_trip_with_members_and_history;
pub use tags::{
    assigned_tag_values_are_replaced_per_profile_and_go_with_their_tag, tags_round_trip_and_refuse_a_taken_id,
};
pub use tallies::send_tallies_count_each_message_once_per_quarter_hour;
pub use workspaces::{
    keys_are_found_by_digest_until_revoked, the_default_workspace_exists, workspaces_round_trip_with_settings,
};

/// Instantiates the conformance suite for an adapter: `$make` is an async expression
/// giving a fresh [`Stores`] (and whatever guard keeps it alive) as `(Stores, guard)`.
///
/// The expansion is one `#[tokio::test]` per test of the suite, so the calling crate
/// needs `tokio` (with `macros` and a runtime) among its dev-dependencies.
///
/// ```text
/// async fn fresh() -> (orbit_store::Stores, tempfile::TempDir) { /* … */ }
///
/// orbit_store_conformance::store_conformance_tests!(fresh());
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@tests $make;
            appended_events_read_back_in_order,
            a_transaction_appends_events_with_their_profiles_atomically,
            a_large_transaction_keeps_its_events_in_order,
            duplicate_message_ids_are_stored_once,
            same_message_id_in_another_source_is_not_a_duplicate,
            committed_profiles_read_back_with_their_linking_states,
            merges_leave_the_merged_id_as_an_alias,
            profiles_load_in_pages,
            erasure_removes_everything_about_a_person,
            events_are_read_back_by_position,
            keys_are_found_by_digest_until_revoked,
            workspaces_round_trip_with_settings,
            the_default_workspace_exists,
            segments_round_trip_with_members_and_history,
            tags_round_trip_and_refuse_a_taken_id,
            assigned_tag_values_are_replaced_per_profile_and_go_with_their_tag,
            messaging_definitions_round_trip,
            consent_records_are_appended,
            the_send_ledger_never_holds_a_message_twice,
            a_held_origin_keeps_rows_that_come_back_from_dispatching,
            erasure_clears_consent_and_ledger_addresses,
            inbox_messages_are_kept_once_and_read_once,
            call_tasks_are_listed_by_status_and_closed,
            dead_letters_page_through_rows_that_failed_together,
            a_person_s_messages_page_newest_first_under_every_id,
            send_tallies_count_each_message_once_per_quarter_hour,
            journeys_round_trip_and_refuse_a_taken_id,
            published_journey_versions_are_never_overwritten,
            active_journeys_are_the_live_and_paused_ones,
            deleting_a_journey_takes_its_versions,
            a_journey_batch_is_visible_whole_after_commit,
            a_committed_effect_is_kept_once_as_first_decided,
            node_counts_add_up_across_batches,
            an_exited_run_leaves_the_active_runs_but_not_the_person_s,
            the_journey_cursor_never_moves_back,
            entry_summaries_count_entries_per_key,
            pending_effects_come_oldest_first_up_to_the_limit,
            a_person_s_runs_are_per_workspace_and_newest_first,
            a_batch_of_five_thousand_runs_round_trips,
            a_refused_journey_batch_writes_nothing,
            date_entries_and_entry_marks_round_trip,
            pending_effects_are_taken_per_lane,
            a_run_carried_over_by_a_merge_is_stored_under_the_survivor_only,
            erasing_people_takes_their_runs_and_pending_effects,
            operators_round_trip_and_refuse_a_taken_login,
            operators_are_updated_and_listed_per_workspace,
            sessions_are_touched_ended_and_pruned,
            audit_entries_read_back_newest_first_per_workspace,
            audit_filters_narrow_the_entries,
            redacting_people_clears_only_their_entries,
            audit_documents_round_trip_exactly,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (stores, _guard) = $make.await;
                $crate::$name(&stores).await;
            }
        )*
    };
}

fn ws() -> WorkspaceId {
    WorkspaceId::default_workspace()
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + secs).unwrap()
}

/// An event for the suite, encoded for the log: a track call from `source` with
/// `message_id`.
pub fn sample_entry(source: &str, message_id: &str, secs: i64) -> LogEntry {
    LogEntry::encode(sample_event(source, message_id, secs)).unwrap()
}

fn sample_event(source: &str, message_id: &str, secs: i64) -> NewEvent {
    NewEvent {
        workspace_id: ws(),
        source_id: SourceId::parse(source).unwrap(),
        message_id: message_id.to_owned(),
        kind: EventKind::Track,
        name: Some(EventName::parse("order_paid").unwrap()),
        timestamp: at(secs),
        received_at: at(secs),
        identities: vec![Identity::parse_typed("user_id:u1").unwrap()],
        user_id: Some("u1".into()),
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        traits: Default::default(),
        properties: json!({"amount": 59.9, "currency": "CNY"})
            .as_object()
            .unwrap()
            .clone(),
        context: Default::default(),
        issues: Vec::new(),
    }
}

fn positions(outcomes: &[AppendOutcome]) -> Vec<LogPosition> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            AppendOutcome::Appended(p) => Some(*p),
            AppendOutcome::Duplicate => None,
        })
        .collect()
}

fn profile(seed: u128, identities: &[&str], secs: i64) -> ProfileRecord {
    let id = ProfileId::mint(at(secs), seed);
    let mut p = Profile::new(id, at(secs));
    p.identities = identities
        .iter()
        .map(|i| Identity::parse_typed(i).unwrap())
        .collect();
    ProfileRecord::plain(p)
}

async fn commit_profile(stores: &Stores, record: &ProfileRecord) {
    let mut changes = WorkspaceChanges::new(ws());
    changes.profiles.push(record.clone());
    stores.profiles.commit(&[changes]).await.unwrap();
}

/// Appends events with no profile attached, in one transaction, as a pipeline would
/// for events it cannot resolve.
async fn append_unassigned(stores: &Stores, entries: &[LogEntry]) -> Result<Vec<AppendOutcome>, StoreError> {
    let mut tx = stores.events.begin().await?;
    let refs: Vec<&NewEvent> = entries.iter().map(|e| &e.event).collect();
    let fresh = tx.claim_message_ids(&refs).await?;
    let to_store: Vec<(&LogEntry, Option<ProfileId>)> = entries
        .iter()
        .zip(&fresh)
        .filter(|(_, new)| **new)
        .map(|(e, _)| (e, None))
        .collect();
    let positions = tx.append(&to_store).await?;
    tx.commit().await?;
    Ok(AppendOutcome::from_claims(&fresh, positions))
}

/// Appends events as the pipeline does: claimed, and attached to `profile`.
async fn append_for(stores: &Stores, profile: ProfileId, entries: &[LogEntry]) -> Vec<LogPosition> {
    let mut tx = stores.events.begin().await.unwrap();
    let refs: Vec<&NewEvent> = entries.iter().map(|e| &e.event).collect();
    assert!(tx.claim_message_ids(&refs).await.unwrap().iter().all(|f| *f));
    let with_profile: Vec<(&LogEntry, Option<ProfileId>)> =
        entries.iter().map(|e| (e, Some(profile))).collect();
    let positions = tx.append(&with_profile).await.unwrap();
    tx.commit().await.unwrap();
    positions
}
