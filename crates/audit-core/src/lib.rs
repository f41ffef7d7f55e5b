//! One typed, streaming model of SaaS audit trails: Zendesk Ticket Audits, Zendesk Audit Logs
//! and the Genesys Cloud Audit API.

#![deny(missing_docs)]

pub mod event;

pub use event::{
    Action, Actor, ActorKind, AuditEvent, Change, Outcome, Source, StreamKind, Target, Vendor,
};
