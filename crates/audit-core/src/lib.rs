//! One typed, streaming model of SaaS audit trails: Zendesk Ticket Audits, Zendesk Audit Logs
//! and the Genesys Cloud Audit API.
//!
//! - [`event`]: the unified [`AuditEvent`], one shape for every vendor and stream.
//! - [`zendesk`]: [`zendesk::ZendeskClient`], typed access to every Zendesk audit operation
//!   and streams of events over time windows, with checkpoints.
//! - [`genesys`]: [`genesys::GenesysClient`], OAuth client credentials in every region, typed
//!   access to the seven Genesys Cloud audit operations, and streams of events over historical
//!   queries of any length (30-day chunks, one query at a time) and realtime queries, with
//!   checkpoints.
//! - The vendor-neutral machinery every client shares: [`paginate`] (one cursor paginator;
//!   page and item streams), [`retry`] (what is retried and how long to wait), [`pacing`]
//!   (spending the rate limit without meeting 429s), [`checkpoint`] (exactly-once resume),
//!   [`window`] (time windows and the settle lag), [`http`] (base URL and credential rules),
//!   [`stats`] and [`error`].
//!
//! ## Runtime and features
//!
//! The clients run on **Tokio**: call them inside a Tokio runtime (a `current_thread` one is
//! enough; `#[tokio::main(flavor = "current_thread")]` or `Runtime::block_on`). Another
//! executor (`futures::executor::block_on`) has no Tokio reactor, and the first request
//! panics with "there is no reactor running".
//!
//! Cargo features: `aws-lc` (default) or `ring` picks the TLS provider (and PKCE's hashing);
//! `ring` builds faster and needs no C toolchain beyond `cc`. `schema` adds
//! `audit_event_schema()`, the JSON Schema of [`AuditEvent`]. A lean service:
//! `audit-core = { version = "…", default-features = false, features = ["ring"] }`.
//!
//! ## Errors
//!
//! Every call returns the one [`Error`]; [`Error::kind`] says what kind of failure it is
//! ([`ErrorKind`]: rate limited, credentials refused, access denied, not found, vendor
//! unavailable, invalid request, configuration) and [`Error::is_retryable`] whether waiting
//! helps. Vendor detail (code, description, correlation id) is on [`Error::vendor_detail`].
//!
//! ## Streams and checkpoints
//!
//! Every stream is a stream of pages; each [`EventPage`] carries the [`Checkpoint`] to resume
//! from after it. A checkpoint records the stream, tenant, window, position and the filters
//! ([`Selection`]) it was read with; resuming it with other filters is refused. Persist both atomically and a killed export resumes with no gap and no
//! duplicate:
//!
//! ```
//! use audit_core::{Checkpoint, StreamKind, StreamOptions, Window};
//! use audit_core::zendesk::{ZendeskAuth, ZendeskClient};
//! use chrono::{Duration, Utc};
//! use futures::TryStreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // The examples run against the built-in simulator of both vendors.
//! # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
//! # let acme = sim.tenant_credentials("acme").unwrap();
//! # let saved: Option<String> = None;
//! let client = ZendeskClient::builder()
//!     .base_url(sim.zendesk_url()) // for the real service: .subdomain("acme")
//!     .tenant("acme")
//!     .auth(ZendeskAuth::client_credentials(
//!         acme.zendesk_client_id,
//!         acme.zendesk_client_secret,
//!         ["auditlogs:read"],
//!     ))
//!     .build()?;
//! let options = match saved {
//!     // Continue where the last run stopped, with its window (and the same filters).
//!     Some(saved) => StreamOptions::resume_from(Checkpoint::from_json(&saved)?),
//!     None => StreamOptions::new(Window::since(Utc::now() - Duration::days(7))),
//! };
//! let mut pages = client.event_pages(StreamKind::ZendeskAuditLogs, options)?;
//! let mut exported = 0;
//! while let Some(page) = pages.try_next().await? {
//!     for event in &page.events {
//!         let _line = serde_json::to_string(event)?; // one AuditEvent per line
//!     }
//!     exported += page.events.len();
//!     let _state = page.checkpoint.to_json(); // write it next to the output, atomically
//! }
//! assert!(exported > 0);
//! assert_eq!(client.stats().records, exported as u64);
//! # Ok(())
//! # }
//! ```
//!
//! The Genesys Cloud client exports its streams the same way:
//!
//! ```
//! use audit_core::{StreamKind, StreamOptions, Window};
//! use audit_core::genesys::GenesysClient;
//! use chrono::{Duration, Utc};
//! use futures::TryStreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
//! # let acme = sim.tenant_credentials("acme").unwrap();
//! let client = GenesysClient::builder()
//!     .api_base_url(sim.genesys_api_url()) // for the real service: .region("mypurecloud.ie")
//!     .login_base_url(sim.genesys_login_url())
//!     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
//!     .tenant("acme")
//!     .build()?;
//! let options = StreamOptions::new(Window::since(Utc::now() - Duration::days(10)));
//! let mut pages = client.event_pages(StreamKind::GenesysAudits, options)?;
//! while let Some(page) = pages.try_next().await? {
//!     println!("{} events, then {}", page.events.len(), page.checkpoint.to_json());
//! }
//! assert!(client.stats().records > 0);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

#[cfg(not(any(feature = "aws-lc", feature = "ring")))]
compile_error!(
    "audit-core needs a TLS provider: enable its `aws-lc` feature (the default) or `ring`"
);

/// The crypto of the TLS provider in use (the two share one API): SHA-256 and randomness for
/// OAuth PKCE.
#[cfg(feature = "aws-lc")]
use aws_lc_rs as crypto;
#[cfg(all(feature = "ring", not(feature = "aws-lc")))]
use ring as crypto;

pub mod checkpoint;
mod decode;
pub mod error;
pub mod event;
pub mod genesys;
pub mod http;
pub mod oauth;
pub mod pacing;
pub mod paginate;
mod recent;
pub mod retry;
#[cfg(feature = "schema")]
mod schema;
pub mod selection;
pub mod slicing;
mod sort;
pub mod stats;
mod walk;
pub mod window;
pub mod zendesk;

#[cfg(test)]
mod test_support;

pub use checkpoint::{Boundary, Checkpoint, PageToken, Position};
pub use error::{Error, ErrorBody, ErrorKind, GiveUpReason, TransportKind, VendorDetail};
pub use event::{
    Action, Actor, ActorKind, AuditEvent, Change, Outcome, Quarantined, RawJson, RecordKind, Rule,
    Source, StreamKind, Target, Vendor,
};
pub use http::{BaseUrl, HttpConfig};
pub use pacing::PacingConfig;
pub use paginate::{EventPage, EventPages, EventStream, Page, PageSizePolicy, RecordPages};
pub use retry::RetryPolicy;
#[cfg(feature = "schema")]
pub use schema::audit_event_schema;
pub use selection::{Selection, StreamFilter};
pub use slicing::Slicing;
pub use sort::SortOrder;
pub use stats::{Stats, StatsSnapshot};

/// Records as the vendor sent them: typed, with their verbatim JSON.
pub use raw_support::{DecodeIssue, Recorded};
/// The HTTP client under both vendors' clients: its errors are the source of
/// [`Error::Transport`], and [`HttpConfig`] takes its proxies, certificates or a whole client.
pub use reqwest;
pub use window::{StreamOptions, Window};
