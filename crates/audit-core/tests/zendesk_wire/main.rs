//! Wire behaviour of the Zendesk facade against local servers: pagination in every style,
//! retries and pacing on tokio's paused clock, checkpoints and resume, and credential safety.

mod anomalies;
mod audit_logs;
mod classify;
mod decode;
mod fidelity;
mod network;
mod oauth;
mod retries;
mod security;
mod support;
mod ticket_audits;
mod ticket_events;
