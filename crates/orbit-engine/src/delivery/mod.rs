//! Delivery: provider accounts, campaign runs and the worker that drains the send
//! ledger through the contact policy and the connectors (ADR 0009).

pub mod accounts;
mod backoff;
pub mod campaigns;
pub mod content;
pub mod engagement;
pub mod inbox;
mod own_channels;
mod plans;
pub mod sealing;
mod sending;
pub mod tracking;
pub mod worker;

pub use accounts::{Account, Accounts};
pub use campaigns::{CampaignAudience, CampaignError, CampaignRunner};
pub use engagement::{Engagements, ReceiptTally, UnsubscribeScope};
pub use inbox::Inbox;
pub use sealing::Sealer;
pub use tracking::{BadToken, Tracked, TrackingLinks};
pub use worker::{DeliveryWorker, DispatchReport};
