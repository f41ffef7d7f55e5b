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
//! Every stream is a stream of pages; each [`EventPage`] carries the [`Checkpoint`] to resume
//! from after it. Persist both atomically and a killed export resumes with no gap and no
//! duplicate:
//!
//! ```no_run
//! use audit_core::{Checkpoint, StreamKind, StreamOptions, Window};
//! use audit_core::zendesk::ZendeskClient;
//! use futures::TryStreamExt;
//!
//! # async fn export(saved: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
//! let client = ZendeskClient::builder()
//!     .subdomain("acme")
//!     .api_token("admin@acme.example", std::env::var("ZENDESK_API_TOKEN")?)
//!     .build()?;
//! let mut options = StreamOptions::new(Window::since("2024-03-01T00:00:00Z".parse()?));
//! if let Some(saved) = saved {
//!     options = options.with_resume(Checkpoint::from_json(&saved)?);
//! }
//! let mut pages = client.event_pages(StreamKind::ZendeskAuditLogs, options)?;
//! while let Some(page) = pages.try_next().await? {
//!     for event in &page.events {
//!         println!("{}", serde_json::to_string(event)?);
//!     }
//!     let _state = page.checkpoint.to_json(); // write it next to the output, atomically
//! }
//! eprintln!("{:?}", client.stats());
//! # Ok(())
//! # }
//! ```
//!
//! The Genesys Cloud client exports its streams the same way:
//!
//! ```no_run
//! use audit_core::{StreamKind, StreamOptions, Window};
//! use audit_core::genesys::GenesysClient;
//! use futures::TryStreamExt;
//!
//! # async fn export() -> Result<(), Box<dyn std::error::Error>> {
//! let client = GenesysClient::builder()
//!     .region("mypurecloud.com")
//!     .client_credentials(std::env::var("GENESYS_CLIENT_ID")?, std::env::var("GENESYS_CLIENT_SECRET")?)
//!     .tenant("acme")
//!     .build()?;
//! let options = StreamOptions::new(Window::since("2024-01-01T00:00:00Z".parse()?));
//! let mut pages = client.event_pages(StreamKind::GenesysAudits, options)?;
//! while let Some(page) = pages.try_next().await? {
//!     println!("{} events, then {}", page.events.len(), page.checkpoint.to_json());
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod checkpoint;
pub mod error;
pub mod event;
pub mod genesys;
pub mod http;
pub mod pacing;
pub mod paginate;
pub mod retry;
pub mod stats;
pub mod window;
pub mod zendesk;

pub use checkpoint::{Boundary, Checkpoint, PageToken, Position};
pub use error::{Error, ErrorBody, GiveUpReason, TransportKind, VendorDetail};
pub use event::{
    Action, Actor, ActorKind, AuditEvent, Change, Outcome, RecordKind, Source, StreamKind, Target,
    Vendor, audit_event_schema,
};
pub use http::{BaseUrl, HttpConfig};
pub use pacing::PacingConfig;
pub use paginate::{EventPage, EventPages, EventStream, PageSizePolicy};
pub use retry::RetryPolicy;
pub use stats::{Stats, StatsSnapshot};
pub use window::{StreamOptions, Window};
