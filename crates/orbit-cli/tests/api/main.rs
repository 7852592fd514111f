//! Black-box tests: the real `orbit` binary on an ephemeral port, spoken to over HTTP.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a test binary: its helpers fail the test with expect and panic"
)]

mod bad_input;
mod browser;
mod campaign_interruptions;
mod campaigns;
mod channels;
mod compat;
mod consent;
mod console_builder;
mod console_campaign_edit;
mod console_campaigns;
mod console_compare;
mod console_dashboard;
mod console_journeys;
mod console_pages;
mod console_roles;
mod console_support;
mod console_tour;
mod contact_policy;
mod contract;
mod crash;
mod demo;
mod engagement;
mod helpers;
mod import;
mod journey_actions;
mod journey_crash;
mod journey_dates;
mod journey_people;
mod journey_runs;
mod journey_support;
mod journeys;
mod keys;
mod metrics;
mod oneid;
mod openapi;
mod operator_masking;
mod operators;
mod profile_messages;
mod profiles;
mod role_matrix;
mod segment_sdk;
mod segment_transitions;
mod segments;
mod settings;
mod snapshots;
mod stats;
mod tags;
mod templates;
