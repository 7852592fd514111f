//! Reaching people: channels, consent, the contact policy every message passes,
//! audience splits for experiments, the send ledger's keys, the campaign life cycle and
//! its report.
//!
//! All of it is pure: the delivery worker feeds in what it read (a person's consent,
//! what they were sent today, the clock) and executes the decision it gets back.

pub mod assignment;
pub mod broadcast;
pub mod campaign;
pub mod channel;
pub mod consent;
pub mod engagement;
pub mod policy;
pub mod report;
pub mod send_key;
pub mod template;

pub use assignment::{Arm, Split, SplitError, VariantWeight};
pub use broadcast::{
    CampaignDefinition, CampaignMessage, CampaignVariant, ChannelPolicy, ClassName, DEFAULT_TOPIC,
    DefinitionError, Schedule,
};
pub use campaign::{CampaignCommand, CampaignEffect, CampaignState, Lifecycle, LifecycleError};
pub use channel::{Channel, MessageClass};
pub use consent::{ConsentRecord, ConsentStatus, Consents};
pub use engagement::{MessageOutcome, MessageRef, outcome_event};
pub use policy::{ChannelCandidate, ContactPolicy, Decision, QuietHours, SentToday, SuppressionReason};
pub use report::{ChannelTally, LineState, ReportLine, Tally, VariantTally, tally_report};
pub use send_key::{Lane, SendKey};
pub use template::{CompiledTemplate, LinkTracker, TemplateContent, TemplateError, TemplateParam};
