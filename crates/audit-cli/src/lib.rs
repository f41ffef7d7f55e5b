//! `trail`: export Zendesk and Genesys Cloud audit trails as NDJSON or OCSF, with exactly-once
//! resume. The binary is a thin wrapper; the modules are here so they can be tested directly.

pub mod authorize;
pub mod claim;
// The doc comments of `cli` are the `--help` text clap prints, where `<port>` and
// `<subdomain>` are placeholders for the reader, not HTML tags.
#[allow(rustdoc::invalid_html_tags)]
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod errors;
pub mod evidence;
pub mod export;
mod feed;
pub mod health;
pub mod kafka;
pub mod lock;
pub mod ocsf;
pub mod outage;
pub mod output;
pub mod progress;
pub mod quarantine;
pub mod rate;
pub mod resume;
pub mod rotate;
pub mod sources;
pub mod state;
pub mod summary;
pub mod time_arg;
