//! Historical audit queries: the typed request, the asynchronous lifecycle (submit, poll,
//! results, the 302 download), and the oldest-first event stream over any window.
//!
//! **Lifecycle.** `POST /api/v2/audits/query` (200 or 202) gives the query's
//! `transactionId`; its status is polled (200 ms, doubling up to 30 s by default; see
//! [`PollPolicy`]) through `Queued` and `Running` until `Succeeded`. `Failed` and `Cancelled`
//! end in [`Error::QueryFailed`], which names the transaction, and so does a query still
//! running when the overall timeout (10 minutes by default) runs out; a state this crate does
//! not know counts as still running. Submitting is not idempotent (a repeated POST starts a
//! second query), so it is retried only when the request was certainly not processed (429, 503
//! with `Retry-After`, no connection opened; `SUBMIT` says why). A client runs **one historical query at a time** (Genesys allows one per
//! organisation): [`GenesysClient::run_audit_query`] and the event stream wait for each other
//! from submission until the query has finished running.
//!
//! **Results** are paged by `cursor` with `pageSize` up to 500, optionally with
//! `expand=user`, until a page that carries its `entities` comes with the cursor absent or
//! empty (an answer without `entities`, such as `{}`, is not a page: it is retried, then an
//! error). A `400 response.entity.too.large` halves the page size and asks for the same
//! cursor again; so does a page over the client's body cap, for the rest of the walk; at the
//! smallest size, `expand=user` is given up before the error stands
//! (`genesys/page_shape.rs`). With `allowRedirect=true` a large page comes back as a 302 whose
//! body holds a presigned `downloadUrl` and the `cursor` after it (the API client never
//! follows a redirect, so that body is read, and the bearer token goes nowhere else): the file is fetched with a separate HTTP client that carries **no** `Authorization`
//! header (the URL may point to another host, and is the one place credentials must not go),
//! read as a JSON array of records (either record shape, see [`super::mapping`]), and paging
//! continues with the 302's cursor. `allowRedirect` is off by default, as the reference
//! recommends until it is verified against a live organisation.
//!
//! **The event stream** ([`AuditEvents`]) splits its window into chunks of 30 days aligned on
//! the window's start, and runs them one after the other, oldest first, each sorted by
//! `Timestamp` ascending. Intervals go out as `YYYY-MM-DDTHH:MM:SS.mmmZ/…` in UTC; the interval
//! end is exclusive, so a window ending at `until` (inclusive) asks up to `until + 1 ms`. Its
//! checkpoint is a high-water mark: the newest `eventDate` emitted and the ids emitted at it
//! (after a chunk other than the last, the chunk's end with no ids). A resumed stream
//! re-queries from the high-water mark, inclusively, and skips those ids, so it does not
//! depend on how long Genesys keeps a query's results, and yields exactly what an
//! uninterrupted run would have yielded after the checkpoint, in the same order.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use futures::stream;
use genesys_raw::types::{self, AuditLogMessage};
use progenitor_client::{Error as RawError, ResponseValue};
use raw_support::Recorded;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use super::page_shape::PageShape;
use super::{GenesysClient, mapping};
use crate::checkpoint::{Checkpoint, Edge};
use crate::error::Error;
use crate::event::{Source, StreamKind};
use crate::http::{get_json, is_loopback};
use crate::paginate::{
    CursorPage, EventPage, EventPages, EventStream, PageRequest, PageSizePolicy, PageSource,
    Paginator, RecordPages,
};
use crate::retry::Operation;
use crate::selection::{Selection, StreamFilter};
use crate::sort::SortOrder;
use crate::walk::{self, Passes};
use crate::window::{StreamOptions, Window};

/// Submitting a query is **not** retried like a read: only when the request was certainly not
/// processed (429, 503 with `Retry-After`, a connection that never opened; see
/// [`crate::retry`]). After a timeout, a 5xx or a dropped connection, Genesys may well have
/// started the query, and a second POST would start another:
///
/// - Genesys runs one historical query per organisation at a time, so the orphan (whose
///   `transactionId` we never learnt, so its results are lost to us) holds the organisation's
///   only slot — against our retry, and against every other tool of the organisation — until it
///   has run its course, which for a 30-day chunk of a large organisation takes minutes;
/// - there is no operation to cancel it;
/// - retrying inside the call would then spend the retry budget waiting on that slot, only to
///   fail anyway, while the failure itself costs nothing: the stream's checkpoint is before the
///   chunk, and the next run submits the chunk again.
///
/// So the call fails at once with the vendor's error and the caller (a rerun) decides; the
/// vendor reference says the same ("do not blindly retry the POST on a timeout").
const SUBMIT: Operation = Operation::write("submit_audit_query");
const STATUS: Operation = Operation::read("audit_query_status");
const RESULTS: Operation = Operation::read("audit_query_results");
// Not read lossily: the lossy reader records the page's path and query with the records it
// quarantines, and a download's query is its presigned signature. A record whose text is
// legal JSON `Value` cannot hold is still kept and marked (see `DownloadedFile`).
const DOWNLOAD: Operation = Operation::read("download_audit_query_results").without_lossy_bodies();
const STREAM: &str = "genesys-audits";

/// The largest `pageSize` of the results operation.
///
/// ```
/// use audit_core::genesys::ResultsRequest;
/// use audit_core::genesys::query::MAX_PAGE_SIZE;
///
/// let request = ResultsRequest::default().page_size(MAX_PAGE_SIZE);
/// assert_eq!(request.page_size, Some(500));
/// ```
pub const MAX_PAGE_SIZE: u32 = 500;
/// The longest interval Genesys accepts in one historical query.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
/// # let acme = sim.tenant_credentials("acme").unwrap();
/// # let client = audit_core::genesys::GenesysClient::builder()
/// #     .api_base_url(sim.genesys_api_url())
/// #     .login_base_url(sim.genesys_login_url())
/// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
/// #     .tenant("acme")
/// #     .build()?;
/// use audit_core::genesys::AuditQuery;
/// use audit_core::genesys::query::MAX_QUERY_DAYS;
/// use chrono::{Duration, Utc};
///
/// let now = Utc::now();
/// let too_long = AuditQuery::new(now - Duration::days(MAX_QUERY_DAYS + 1), now);
/// let error = client.submit_audit_query(&too_long).await.unwrap_err();
/// assert_eq!(error.kind(), audit_core::ErrorKind::InvalidRequest);
/// # Ok(())
/// # }
/// ```
pub const MAX_QUERY_DAYS: i64 = 31;
/// The length of the chunks the event stream queries, one after the other.
///
/// ```
/// use audit_core::genesys::query::{CHUNK_DAYS, MAX_QUERY_DAYS};
///
/// // The stream's chunks stay inside what one query may span.
/// assert!(CHUNK_DAYS < MAX_QUERY_DAYS);
/// ```
pub const CHUNK_DAYS: i64 = 30;

/// A filter of an audit query (`AuditQueryFilter`): a property and the value it must have.
///
/// ```
/// use audit_core::genesys::AuditFilter;
///
/// let filter = AuditFilter::EntityType("Role".into());
/// assert_eq!(filter.property(), "EntityType");
/// assert_eq!(filter.value(), "Role");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "property", content = "value")]
#[non_exhaustive]
pub enum AuditFilter {
    /// `UserId`: the user who acted.
    UserId(String),
    /// `TrusteeOrganizationId`: actions of a trustee organisation's users.
    TrusteeOrganizationId(String),
    /// `ClientId`: the OAuth client used.
    ClientId(String),
    /// `Action`: the vendor action (`Create`, `Update`, …; see the service mapping).
    Action(String),
    /// `EntityType`: the kind of object acted on (`User`, `Queue`, …).
    EntityType(String),
    /// `EntityId`: the object acted on.
    EntityId(String),
}

impl AuditFilter {
    /// The property's wire name.
    ///
    /// ```
    /// use audit_core::genesys::AuditFilter;
    ///
    /// assert_eq!(AuditFilter::TrusteeOrganizationId("9f8e".into()).property(), "TrusteeOrganizationId");
    /// ```
    pub fn property(&self) -> &'static str {
        match self {
            AuditFilter::UserId(_) => "UserId",
            AuditFilter::TrusteeOrganizationId(_) => "TrusteeOrganizationId",
            AuditFilter::ClientId(_) => "ClientId",
            AuditFilter::Action(_) => "Action",
            AuditFilter::EntityType(_) => "EntityType",
            AuditFilter::EntityId(_) => "EntityId",
        }
    }

    /// The value.
    ///
    /// ```
    /// use audit_core::genesys::AuditFilter;
    ///
    /// assert_eq!(AuditFilter::UserId("3b2a".into()).value(), "3b2a");
    /// ```
    pub fn value(&self) -> &str {
        match self {
            AuditFilter::UserId(v)
            | AuditFilter::TrusteeOrganizationId(v)
            | AuditFilter::ClientId(v)
            | AuditFilter::Action(v)
            | AuditFilter::EntityType(v)
            | AuditFilter::EntityId(v) => v,
        }
    }

    pub(crate) fn to_raw(&self) -> types::AuditQueryFilter {
        types::AuditQueryFilter {
            property: self.property().to_string(),
            value: self.value().to_string(),
        }
    }
}

/// The `AuditQuerySort` of `order`: by `Timestamp`.
pub(crate) fn sort_by_timestamp(order: SortOrder) -> types::AuditQuerySort {
    types::AuditQuerySort {
        name: "Timestamp".to_string(),
        sort_order: match order {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
        .to_string(),
    }
}

/// A historical query Genesys Cloud accepted ([`GenesysClient::submit_audit_query`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
/// # let acme = sim.tenant_credentials("acme").unwrap();
/// # let client = audit_core::genesys::GenesysClient::builder()
/// #     .api_base_url(sim.genesys_api_url())
/// #     .login_base_url(sim.genesys_login_url())
/// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
/// #     .tenant("acme")
/// #     .build()?;
/// use audit_core::genesys::{AuditQuery, QueryState, SubmittedQuery};
/// use chrono::{Duration, Utc};
///
/// let now = Utc::now();
/// let SubmittedQuery { id, state, .. } =
///     client.submit_audit_query(&AuditQuery::new(now - Duration::days(1), now)).await?;
/// assert!(!state.is_failed());
/// let done = client.wait_for_audit_query(&id).await?;
/// assert_eq!(QueryState::of(&done), QueryState::Succeeded);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SubmittedQuery {
    /// The query's id (its `transactionId` in the other operations); always present.
    pub id: String,
    /// Its state when it was accepted (usually [`QueryState::Queued`]).
    pub state: QueryState,
    /// The vendor's whole answer.
    pub status: types::AuditQueryExecutionStatusResponse,
}

/// `t` without sub-millisecond digits (Genesys timestamps have millisecond precision).
pub(crate) fn floor_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

/// `start/end` as Genesys wants intervals: `YYYY-MM-DDTHH:MM:SS.mmmZ/…`, UTC, start inclusive,
/// end exclusive.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use audit_core::genesys::interval;
///
/// let start = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
/// let end = Utc.with_ymd_and_hms(2024, 5, 31, 0, 0, 0).unwrap();
/// assert_eq!(interval(start, end), "2024-05-01T00:00:00.000Z/2024-05-31T00:00:00.000Z");
/// ```
pub fn interval(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let text = |t: DateTime<Utc>| floor_ms(t).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    format!("{}/{}", text(start), text(end))
}

pub(crate) fn check_interval(
    operation: &'static str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    max_days: Option<i64>,
) -> Result<(), Error> {
    if floor_ms(end) <= floor_ms(start) {
        return Err(Error::InvalidRequest {
            operation,
            message: format!("the interval ends ({end}) before or when it starts ({start})"),
        });
    }
    if let Some(days) = max_days
        && end - start > TimeDelta::days(days)
    {
        return Err(Error::InvalidRequest {
            operation,
            message: format!(
                "the interval spans more than {days} days, which Genesys refuses; split it \
                 (the event stream `audit_events` does this for you)"
            ),
        });
    }
    Ok(())
}

/// A historical audit query (`AuditQueryRequest`): an interval of at most 31 days (start
/// inclusive, end exclusive), an optional service, filters and sort.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use audit_core::genesys::{AuditFilter, AuditQuery, SortOrder};
///
/// let query = AuditQuery::new(
///     Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap(),
///     Utc.with_ymd_and_hms(2024, 5, 31, 0, 0, 0).unwrap(),
/// )
/// .service("PeoplePermissions")
/// .filter(AuditFilter::EntityType("Role".into()))
/// .sort(SortOrder::Ascending);
/// assert_eq!(query.interval(), "2024-05-01T00:00:00.000Z/2024-05-31T00:00:00.000Z");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditQuery {
    /// The start, inclusive.
    pub start: DateTime<Utc>,
    /// The end, exclusive.
    pub end: DateTime<Utc>,
    /// `serviceName` (the values `get_audits_query_servicemapping` lists); `None` for all.
    pub service_name: Option<String>,
    /// Filters, all of which must match.
    pub filters: Vec<AuditFilter>,
    /// The order by `Timestamp`; `None` leaves it to Genesys (undocumented).
    pub sort: Option<SortOrder>,
}

impl AuditQuery {
    /// A query of `[start, end)` over every service, without filters or sort.
    ///
    /// ```
    /// use audit_core::genesys::AuditQuery;
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let query = AuditQuery::new(now - Duration::days(7), now);
    /// assert!(query.service_name.is_none() && query.filters.is_empty() && query.sort.is_none());
    /// ```
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        AuditQuery {
            start,
            end,
            service_name: None,
            filters: Vec::new(),
            sort: None,
        }
    }

    /// Only the service `name`.
    ///
    /// ```
    /// use audit_core::genesys::AuditQuery;
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let query = AuditQuery::new(now - Duration::days(7), now).service("Architect");
    /// assert_eq!(query.service_name.as_deref(), Some("Architect"));
    /// ```
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Adds a filter.
    ///
    /// ```
    /// use audit_core::genesys::{AuditFilter, AuditQuery};
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let query = AuditQuery::new(now - Duration::days(7), now)
    ///     .filter(AuditFilter::EntityType("User".into()))
    ///     .filter(AuditFilter::Action("Delete".into())); // both must match
    /// assert_eq!(query.filters.len(), 2);
    /// ```
    pub fn filter(mut self, filter: AuditFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Sorts by `Timestamp`.
    ///
    /// ```
    /// use audit_core::genesys::{AuditQuery, SortOrder};
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let query = AuditQuery::new(now - Duration::days(7), now).sort(SortOrder::Descending);
    /// assert_eq!(query.sort, Some(SortOrder::Descending));
    /// ```
    pub fn sort(mut self, order: SortOrder) -> Self {
        self.sort = Some(order);
        self
    }

    /// The interval as sent.
    ///
    /// ```
    /// use audit_core::genesys::AuditQuery;
    /// use chrono::{TimeZone, Utc};
    ///
    /// let start = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
    /// let query = AuditQuery::new(start, start + chrono::Duration::milliseconds(1500));
    /// assert_eq!(query.interval(), "2024-05-01T00:00:00.000Z/2024-05-01T00:00:01.500Z");
    /// ```
    pub fn interval(&self) -> String {
        interval(self.start, self.end)
    }

    fn validate(&self) -> Result<(), Error> {
        check_interval(SUBMIT.name, self.start, self.end, Some(MAX_QUERY_DAYS))
    }

    fn to_raw(&self) -> types::AuditQueryRequest {
        types::AuditQueryRequest {
            interval: self.interval(),
            service_name: self.service_name.clone(),
            filters: self.filters.iter().map(AuditFilter::to_raw).collect(),
            sort: self.sort.map(sort_by_timestamp).into_iter().collect(),
        }
    }
}

/// The state of a historical query, as an open enum.
///
/// ```
/// use audit_core::genesys::QueryState;
///
/// assert_eq!(QueryState::from("Succeeded"), QueryState::Succeeded);
/// assert!(QueryState::from("Expired").is_pending(), "unknown states count as running");
/// assert!(QueryState::from("Cancelled").is_failed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueryState {
    /// Waiting to run.
    Queued,
    /// Running.
    Running,
    /// Done: the results can be read.
    Succeeded,
    /// Failed.
    Failed,
    /// Cancelled.
    Cancelled,
    /// A state this crate does not know (treated as still running).
    Other(String),
}

impl From<&str> for QueryState {
    fn from(state: &str) -> Self {
        match state.trim() {
            "Queued" => QueryState::Queued,
            "Running" => QueryState::Running,
            "Succeeded" => QueryState::Succeeded,
            "Failed" => QueryState::Failed,
            "Cancelled" => QueryState::Cancelled,
            other => QueryState::Other(other.to_string()),
        }
    }
}

impl QueryState {
    /// The state of a status answer (a missing state counts as unknown).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::genesys::{AuditQuery, QueryState};
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let submitted = client.submit_audit_query(&AuditQuery::new(now - Duration::days(1), now)).await?;
    /// let status = client.audit_query_status(&submitted.id).await?;
    /// assert_ne!(QueryState::of(&status), QueryState::Failed);
    /// # Ok(())
    /// # }
    /// ```
    pub fn of(status: &types::AuditQueryExecutionStatusResponse) -> Self {
        QueryState::from(status.state.as_deref().unwrap_or_default())
    }

    /// Whether the query has ended without results.
    ///
    /// ```
    /// use audit_core::genesys::QueryState;
    ///
    /// assert!(QueryState::Failed.is_failed() && QueryState::Cancelled.is_failed());
    /// assert!(!QueryState::Succeeded.is_failed());
    /// ```
    pub fn is_failed(&self) -> bool {
        matches!(self, QueryState::Failed | QueryState::Cancelled)
    }

    /// Whether the query may still finish.
    ///
    /// ```
    /// use audit_core::genesys::QueryState;
    ///
    /// assert!(QueryState::Queued.is_pending() && QueryState::Running.is_pending());
    /// assert!(!QueryState::Succeeded.is_pending());
    /// ```
    pub fn is_pending(&self) -> bool {
        !self.is_failed() && *self != QueryState::Succeeded
    }

    /// The vendor's name of the state.
    ///
    /// ```
    /// use audit_core::genesys::QueryState;
    ///
    /// assert_eq!(QueryState::Running.as_str(), "Running");
    /// assert_eq!(QueryState::from("Paused").as_str(), "Paused");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            QueryState::Queued => "Queued",
            QueryState::Running => "Running",
            QueryState::Succeeded => "Succeeded",
            QueryState::Failed => "Failed",
            QueryState::Cancelled => "Cancelled",
            QueryState::Other(state) => state,
        }
    }
}

impl fmt::Display for QueryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a historical query's status is polled: the first delay, growing by a factor up to a
/// maximum, and the overall timeout.
///
/// ```
/// use std::time::Duration;
/// use audit_core::genesys::PollPolicy;
///
/// let poll = PollPolicy::default()
///     .with_delays(Duration::from_secs(2), Duration::from_secs(60))
///     .with_timeout(Duration::from_secs(1800));
/// assert_eq!(poll.timeout(), Duration::from_secs(1800));
/// assert_eq!(poll.delays().take(4).collect::<Vec<_>>(),
///     [2, 4, 8, 16].map(Duration::from_secs));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    initial: Duration,
    max: Duration,
    factor: f64,
    timeout: Duration,
}

impl Default for PollPolicy {
    /// 200 ms, doubling up to 30 s; give up after 10 minutes.
    ///
    /// A query over a short window is often done within a second: starting at 200 ms sees it
    /// done within about 0.6 s of its submission instead of 1 s, for three more status requests
    /// than starting at 1 s over a long query.
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(30),
            factor: 2.0,
            timeout: Duration::from_secs(600),
        }
    }
}

impl PollPolicy {
    /// The first delay and the largest one.
    ///
    /// ```
    /// use audit_core::genesys::PollPolicy;
    /// use std::time::Duration;
    ///
    /// let poll = PollPolicy::default().with_delays(Duration::from_secs(1), Duration::from_secs(3));
    /// let delays: Vec<u64> = poll.delays().take(4).map(|d| d.as_secs()).collect();
    /// assert_eq!(delays, [1, 2, 3, 3]);
    /// ```
    pub fn with_delays(mut self, initial: Duration, max: Duration) -> Self {
        self.initial = initial.max(Duration::from_millis(1));
        self.max = max.max(self.initial);
        self
    }

    /// The factor each delay grows by (at least 1).
    ///
    /// ```
    /// use audit_core::genesys::PollPolicy;
    /// use std::time::Duration;
    ///
    /// let steady = PollPolicy::default().with_delays(Duration::from_secs(5), Duration::from_secs(60))
    ///     .with_factor(1.0);
    /// assert!(steady.delays().take(10).all(|delay| delay == Duration::from_secs(5)));
    /// ```
    pub fn with_factor(mut self, factor: f64) -> Self {
        self.factor = if factor.is_finite() {
            factor.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// How long a query may take, from its submission, before it is given up.
    ///
    /// ```
    /// use audit_core::genesys::PollPolicy;
    /// use std::time::Duration;
    ///
    /// // Queries over months of a busy organisation can take a while.
    /// let poll = PollPolicy::default().with_timeout(Duration::from_secs(3600));
    /// assert_eq!(poll.timeout(), Duration::from_secs(3600));
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The overall timeout.
    ///
    /// ```
    /// use audit_core::genesys::PollPolicy;
    /// use std::time::Duration;
    ///
    /// assert_eq!(PollPolicy::default().timeout(), Duration::from_secs(600));
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The delays between polls, in order.
    ///
    /// ```
    /// use audit_core::genesys::PollPolicy;
    /// use std::time::Duration;
    ///
    /// let delays: Vec<Duration> = PollPolicy::default().delays().take(3).collect();
    /// assert_eq!(delays, [200, 400, 800].map(Duration::from_millis));
    /// ```
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let (max, factor) = (self.max, self.factor);
        std::iter::successors(Some(self.initial), move |delay| {
            Some(delay.mul_f64(factor).min(max))
        })
    }
}

/// One request for a page of a query's results.
///
/// ```
/// use audit_core::genesys::ResultsRequest;
///
/// let request = ResultsRequest::default().page_size(500).expand_user(true);
/// assert_eq!(request.page_size, Some(500));
/// assert!(!request.allow_redirect);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResultsRequest {
    /// `cursor`: where to continue (`None` for the first page).
    pub cursor: Option<String>,
    /// `pageSize`, 1 to 500 (Genesys' default is 25).
    pub page_size: Option<u32>,
    /// `expand=user`: the acting user's name in each record.
    pub expand_user: bool,
    /// `allowRedirect=true`: let Genesys answer a large page with a download (followed for
    /// you, without credentials).
    pub allow_redirect: bool,
}

impl ResultsRequest {
    /// Sets `cursor`.
    ///
    /// ```
    /// use audit_core::genesys::ResultsRequest;
    ///
    /// let next = ResultsRequest::default().cursor("eyJwYWdlIjoyfQ");
    /// assert_eq!(next.cursor.as_deref(), Some("eyJwYWdlIjoyfQ"));
    /// ```
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Sets `pageSize`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::genesys::{AuditQuery, ResultsRequest};
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let done = client.run_audit_query(&AuditQuery::new(now - Duration::days(7), now)).await?;
    /// let id = done.id.unwrap();
    /// let page = client.audit_query_results(&id, &ResultsRequest::default().page_size(5)).await?;
    /// assert!(page.records.len() <= 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Sets `expand=user`.
    ///
    /// ```
    /// use audit_core::genesys::ResultsRequest;
    ///
    /// assert!(ResultsRequest::default().expand_user(true).expand_user);
    /// ```
    pub fn expand_user(mut self, expand: bool) -> Self {
        self.expand_user = expand;
        self
    }

    /// Sets `allowRedirect`.
    ///
    /// ```
    /// use audit_core::genesys::ResultsRequest;
    ///
    /// assert!(ResultsRequest::default().allow_redirect(true).allow_redirect);
    /// ```
    pub fn allow_redirect(mut self, allow: bool) -> Self {
        self.allow_redirect = allow;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if self.page_size.is_some_and(|s| s == 0 || s > MAX_PAGE_SIZE) {
            return Err(Error::InvalidRequest {
                operation: RESULTS.name,
                message: format!("`pageSize` goes from 1 to {MAX_PAGE_SIZE}"),
            });
        }
        Ok(())
    }
}

/// One page of a query's results, downloaded or not.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
/// # let acme = sim.tenant_credentials("acme").unwrap();
/// # let client = audit_core::genesys::GenesysClient::builder()
/// #     .api_base_url(sim.genesys_api_url())
/// #     .login_base_url(sim.genesys_login_url())
/// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
/// #     .tenant("acme")
/// #     .build()?;
/// use audit_core::genesys::{AuditQuery, ResultsRequest};
/// use chrono::{Duration, Utc};
///
/// let now = Utc::now();
/// let done = client.run_audit_query(&AuditQuery::new(now - Duration::days(7), now)).await?;
/// let page = client.audit_query_results(&done.id.unwrap(), &ResultsRequest::default()).await?;
/// assert!(!page.downloaded);
/// for record in &page.records {
///     assert!(record.id.is_some()); // typed, and `record.raw()` is the record as sent
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResultsPage {
    /// The records, in the query's order. A downloaded page's records are never expanded.
    pub records: Vec<Recorded<AuditLogMessage>>,
    /// The cursor of the next page; `None` on the last page (absent or empty in the answer).
    pub cursor: Option<String>,
    /// Whether Genesys answered with a download (302) and the records came from it.
    pub downloaded: bool,
}

/// The two answers of the results operation.
#[derive(Debug)]
enum ResultsBody {
    Page(types::AuditQueryExecutionResultsResponse),
    Redirect {
        body: types::AuditQueryExecutionLargeResultsResponse,
        location: Option<String>,
    },
}

fn non_empty(cursor: Option<&String>) -> Option<String> {
    cursor.filter(|c| !c.trim().is_empty()).cloned()
}

impl ResultsBody {
    fn next_cursor(&self) -> Option<String> {
        match self {
            ResultsBody::Page(page) => non_empty(page.cursor.as_ref()),
            ResultsBody::Redirect { body, .. } => non_empty(body.cursor.as_ref()),
        }
    }
}

fn remap<T, U>(value: ResponseValue<T>, f: impl FnOnce(T) -> U) -> ResponseValue<U> {
    let status = value.status();
    let headers = value.headers().clone();
    ResponseValue::new(f(value.into_inner()), status, headers)
}

/// A downloaded result file: a JSON array of records, or an object with `entities`. Read
/// straight from the body (never through a `Value`), so each record keeps its exact text and
/// one with legal JSON that `Value` cannot hold (a lone surrogate escape, a number beyond
/// `f64`) is decoded from a repaired copy and marked, as on an inline page, instead of failing
/// the whole file at every attempt.
struct DownloadedFile(Vec<Recorded<AuditLogMessage>>);

impl<'de> Deserialize<'de> for DownloadedFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Shape;
        impl<'de> serde::de::Visitor<'de> for Shape {
            type Value = DownloadedFile;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array of audit records, or an object with `entities`")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<DownloadedFile, A::Error> {
                let mut records = Vec::new();
                while let Some(record) = seq.next_element()? {
                    records.push(record);
                }
                Ok(DownloadedFile(records))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<DownloadedFile, A::Error> {
                let mut records = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "entities" {
                        records = Some(map.next_value()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                records
                    .map(DownloadedFile)
                    .ok_or_else(|| serde::de::Error::missing_field("entities"))
            }
        }
        deserializer.deserialize_any(Shape)
    }
}

impl GenesysClient {
    /// Starts a historical query (`postAuditsQuery`) and returns its first status, whose `id`
    /// is the `transactionId`. Not idempotent: retried only on 429, 503 with `Retry-After`
    /// and when no connection could be opened; a timeout or a 5xx fails the call (Genesys may
    /// have started the query, and allows one per organisation). It does not wait for other queries of this client: prefer
    /// [`GenesysClient::run_audit_query`], which does and also waits for the results.
    ///
    /// ```no_run
    /// use audit_core::genesys::{AuditQuery, SortOrder};
    /// use chrono::{Duration, Utc};
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let query = AuditQuery::new(Utc::now() - Duration::days(7), Utc::now()).sort(SortOrder::Ascending);
    /// let submitted = client.submit_audit_query(&query).await?;
    /// println!("query {} is {:?}", submitted.id, submitted.state);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn submit_audit_query(&self, query: &AuditQuery) -> Result<SubmittedQuery, Error> {
        query.validate()?;
        let body = query.to_raw();
        let response = self
            .call(SUBMIT, |raw| {
                let body = body.clone();
                async move { raw.post_audits_query().body(body).send().await }
            })
            .await?;
        let status = response.into_inner();
        let Some(id) = status.id.clone().filter(|id| !id.trim().is_empty()) else {
            return Err(Error::Decode {
                operation: SUBMIT.name,
                status: Some(200),
                message: "the answer has no query `id`".into(),
                waited: Duration::ZERO,
            });
        };
        Ok(SubmittedQuery {
            id,
            state: QueryState::of(&status),
            status,
        })
    }

    /// The status of a historical query (`getAuditsQueryTransactionId`).
    ///
    /// ```no_run
    /// use audit_core::genesys::QueryState;
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let status = client.audit_query_status("4f1e2d3c-6b5a-4978-8c1d-2e3f4a5b6c7d").await?;
    /// if QueryState::of(&status) == QueryState::Succeeded {
    ///     println!("ready");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn audit_query_status(
        &self,
        transaction_id: &str,
    ) -> Result<types::AuditQueryExecutionStatusResponse, Error> {
        let response = self
            .call(STATUS, |raw| async move {
                raw.get_audits_query_transaction_id()
                    .transaction_id(transaction_id)
                    .send()
                    .await
            })
            .await?;
        Ok(response.into_inner())
    }

    /// Polls a query's status with the client's [`PollPolicy`] until it has `Succeeded`;
    /// `Failed`, `Cancelled` and the timeout are [`Error::QueryFailed`].
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let done = client.wait_for_audit_query("4f1e2d3c-6b5a-4978-8c1d-2e3f4a5b6c7d").await?;
    /// println!("{:?} covered {:?}", done.id, done.interval);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for_audit_query(
        &self,
        transaction_id: &str,
    ) -> Result<types::AuditQueryExecutionStatusResponse, Error> {
        let first = self.audit_query_status(transaction_id).await?;
        self.poll(transaction_id, first, Instant::now()).await
    }

    async fn poll(
        &self,
        transaction_id: &str,
        mut status: types::AuditQueryExecutionStatusResponse,
        started: Instant,
    ) -> Result<types::AuditQueryExecutionStatusResponse, Error> {
        let policy = self.poll_policy();
        let mut delays = policy.delays();
        loop {
            let state = QueryState::of(&status);
            let elapsed = started.elapsed();
            match &state {
                QueryState::Succeeded => {
                    tracing::debug!(
                        transaction_id,
                        elapsed_ms = elapsed.as_millis() as u64,
                        "audit query succeeded"
                    );
                    return Ok(status);
                }
                state if state.is_failed() => {
                    return Err(Error::QueryFailed {
                        operation: STATUS.name,
                        transaction_id: transaction_id.to_string(),
                        state: state.to_string(),
                        timed_out: false,
                        elapsed,
                    });
                }
                _ => {}
            }
            if elapsed >= policy.timeout {
                return Err(Error::QueryFailed {
                    operation: STATUS.name,
                    transaction_id: transaction_id.to_string(),
                    state: state.to_string(),
                    timed_out: true,
                    elapsed,
                });
            }
            let delay = delays
                .next()
                .unwrap_or(policy.max)
                .min(policy.timeout - elapsed);
            tracing::debug!(transaction_id, %state, delay_ms = delay.as_millis() as u64, "audit query still running");
            tokio::time::sleep(delay).await;
            status = self.audit_query_status(transaction_id).await?;
        }
    }

    /// Runs a historical query: waits until no other query of this client is running,
    /// submits it, and polls it until it has `Succeeded` (see [`PollPolicy`]). Returns the
    /// final status; read the results with [`GenesysClient::audit_query_results`] or
    /// [`GenesysClient::audit_result_pages`].
    ///
    /// ```no_run
    /// use audit_core::genesys::{AuditQuery, ResultsRequest, SortOrder};
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let query = AuditQuery::new(Utc::now() - Duration::days(7), Utc::now()).sort(SortOrder::Ascending);
    /// let done = client.run_audit_query(&query).await?;
    /// let id = done.id.unwrap_or_default();
    /// let mut pages = client.audit_result_pages(&id, ResultsRequest::default().page_size(500));
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} records", page.items.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_audit_query(
        &self,
        query: &AuditQuery,
    ) -> Result<types::AuditQueryExecutionStatusResponse, Error> {
        query.validate()?;
        let _one_at_a_time = self.query_lock().lock().await;
        let started = Instant::now();
        let SubmittedQuery { id, status, .. } = self.submit_audit_query(query).await?;
        tracing::debug!(transaction_id = %id, interval = %query.interval(), "audit query submitted");
        self.poll(&id, status, started).await
    }

    /// One page of a query's results (`getAuditsQueryTransactionIdResults`). With
    /// `allow_redirect`, a 302 answer is followed for you: the presigned file is fetched
    /// without credentials and its records returned, with the cursor after them.
    ///
    /// ```no_run
    /// use audit_core::genesys::ResultsRequest;
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let page = client
    ///     .audit_query_results("4f1e2d3c-6b5a-4978-8c1d-2e3f4a5b6c7d", &ResultsRequest::default().page_size(500))
    ///     .await?;
    /// println!("{} records, next: {:?}", page.records.len(), page.cursor);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn audit_query_results(
        &self,
        transaction_id: &str,
        request: &ResultsRequest,
    ) -> Result<ResultsPage, Error> {
        request.validate()?;
        self.results_page(transaction_id, request, |_| Ok(())).await
    }

    /// Every page of a query's results from `request.cursor` on, fetched on demand, each with
    /// the cursor of the next. The page size starts at `request.page_size` (default 500) and
    /// halves when Genesys says a page is too large.
    ///
    /// ```no_run
    /// use audit_core::genesys::ResultsRequest;
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let records: Vec<_> = client
    ///     .audit_result_pages("4f1e2d3c-6b5a-4978-8c1d-2e3f4a5b6c7d", ResultsRequest::default())
    ///     .map_ok(|page| page.items)
    ///     .try_concat()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn audit_result_pages(
        &self,
        transaction_id: &str,
        request: ResultsRequest,
    ) -> RecordPages<AuditLogMessage, String> {
        if let Err(error) = request.validate() {
            return RecordPages::new(stream::once(async move { Err(error) }));
        }
        let size = request.page_size.unwrap_or(MAX_PAGE_SIZE);
        let policy = PageSizePolicy::new(size, size.min(10), size);
        self.result_paginator(
            transaction_id.to_string(),
            request,
            Arc::new(PageShape::new(policy)),
        )
        .record_pages()
    }

    fn result_paginator(
        &self,
        transaction_id: String,
        request: ResultsRequest,
        shape: Arc<PageShape>,
    ) -> Paginator<Recorded<AuditLogMessage>, String> {
        let client = self.clone();
        let transaction_id: Arc<str> = transaction_id.into();
        let start = request.cursor.clone();
        let request = Arc::new(request);
        Paginator::new(RESULTS.name, start, move |page: PageRequest<String>| {
            let client = client.clone();
            let transaction_id = Arc::clone(&transaction_id);
            let request = Arc::clone(&request);
            let shape = Arc::clone(&shape);
            async move {
                let page = client
                    .adaptive_results_page(&transaction_id, &request, &shape, page)
                    .await?;
                Ok(CursorPage {
                    items: page.records,
                    next: page.cursor,
                })
            }
        })
    }

    /// A page at the walk's current shape: a page too large (for Genesys or for the body
    /// cap) asks again for the same cursor, smaller (see [`super::page_shape`]).
    async fn adaptive_results_page(
        &self,
        transaction_id: &str,
        request: &ResultsRequest,
        shape: &PageShape,
        page: PageRequest<String>,
    ) -> Result<ResultsPage, Error> {
        loop {
            let attempt = ResultsRequest {
                cursor: page.cursor.clone(),
                page_size: Some(shape.size()),
                expand_user: shape.expand(request.expand_user),
                ..request.clone()
            };
            match self
                .results_page(transaction_id, &attempt, |next| {
                    page.check_next(next.as_ref())
                })
                .await
            {
                Ok(results) => {
                    shape.success();
                    return Ok(results);
                }
                Err(error) => {
                    if shape.smaller_after(&error, attempt.expand_user).is_none() {
                        return Err(error);
                    }
                    tracing::debug!(transaction_id, "asking again for the same cursor");
                }
            }
        }
    }

    async fn results_page(
        &self,
        transaction_id: &str,
        request: &ResultsRequest,
        mut check_next: impl FnMut(Option<String>) -> Result<(), Error>,
    ) -> Result<ResultsPage, Error> {
        let response = self
            .call_checked(
                RESULTS,
                |raw| async move {
                    let mut builder = raw
                        .get_audits_query_transaction_id_results()
                        .transaction_id(transaction_id);
                    if let Some(cursor) = &request.cursor {
                        builder = builder.cursor(cursor.clone());
                    }
                    if let Some(size) = request.page_size {
                        builder = builder.page_size(size as i32);
                    }
                    if request.expand_user {
                        builder = builder.expand(vec![types::AuditExpand::User]);
                    }
                    if request.allow_redirect {
                        builder = builder.allow_redirect(true);
                    }
                    match builder.send().await {
                        Ok(page) => Ok(remap(page, ResultsBody::Page)),
                        Err(RawError::UnexpectedResponse(response))
                            if response.status().is_redirection() =>
                        {
                            let location = response
                                .headers()
                                .get(reqwest::header::LOCATION)
                                .and_then(|l| l.to_str().ok())
                                .map(str::to_string);
                            let body = ResponseValue::<
                                types::AuditQueryExecutionLargeResultsResponse,
                            >::from_response(response)
                            .await?;
                            Ok(remap(body, |body| ResultsBody::Redirect { body, location }))
                        }
                        Err(error) => Err(error),
                    }
                },
                |body: &ResultsBody| check_next(body.next_cursor()),
            )
            .await?;
        let body = response.into_inner();
        let cursor = body.next_cursor();
        match body {
            ResultsBody::Page(page) => Ok(ResultsPage {
                records: page.entities,
                cursor,
                downloaded: false,
            }),
            ResultsBody::Redirect { body, location } => {
                let url = non_empty(body.download_url.as_ref())
                    .or(location)
                    .ok_or_else(|| Error::Decode {
                        operation: RESULTS.name,
                        status: Some(302),
                        message: "the redirect answer has no `downloadUrl`".into(),
                        waited: Duration::ZERO,
                    })?;
                let records = self.download(&url).await?;
                tracing::debug!(
                    transaction_id,
                    records = records.len(),
                    "read a page of results from a download"
                );
                Ok(ResultsPage {
                    records,
                    cursor,
                    downloaded: true,
                })
            }
        }
    }

    /// Fetches a presigned result file with the credential-free client.
    async fn download(&self, url: &str) -> Result<Vec<Recorded<AuditLogMessage>>, Error> {
        let refused = |why: &str| Error::Decode {
            operation: DOWNLOAD.name,
            status: Some(302),
            message: format!("the download URL {why}; it was not requested"),
            waited: Duration::ZERO,
        };
        let url = Url::parse(url).map_err(|_| refused("is not an absolute URL"))?;
        match (url.scheme(), url.host()) {
            ("https", Some(_)) => {}
            ("http", Some(host)) if is_loopback(&host) => {}
            _ => return Err(refused("is neither https nor http on a loopback host")),
        }
        let http = self.download_http();
        let response = self
            .retrier()
            .send(DOWNLOAD, || {
                let url = url.clone();
                async move {
                    // The URL is presigned: keep it out of every error message.
                    get_json::<DownloadedFile, types::ErrorBody>(
                        http,
                        "genesys",
                        DOWNLOAD.name,
                        url,
                    )
                    .await
                    .map_err(|error| match error {
                        RawError::CommunicationError(e) => {
                            RawError::CommunicationError(e.without_url())
                        }
                        RawError::ResponseBodyError(e) => {
                            RawError::ResponseBodyError(e.without_url())
                        }
                        other => other,
                    })
                }
            })
            .await?;
        Ok(response.into_inner().0)
    }

    /// The historical audit trail over `window`, oldest first, as a stream of pages of events
    /// with checkpoints; chunks of 30 days are queried one after the other. Configure it
    /// (service, filters, `expand=user`, page size, downloads, settle lag, follow mode,
    /// resume) before calling [`AuditEvents::pages`] or [`AuditEvents::events`].
    ///
    /// ```no_run
    /// use audit_core::Window;
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let since = chrono::Utc::now() - chrono::Duration::days(90);
    /// let mut events = client.audit_events(Window::since(since)).expand_user(true).events();
    /// while let Some(event) = events.try_next().await? {
    ///     println!("{} {} {:?}", event.occurred_at, event.action, event.description);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn audit_events(&self, window: Window) -> AuditEvents {
        AuditEvents {
            client: self.clone(),
            options: StreamOptions::new(window),
            service: None,
            filters: Vec::new(),
            expand_user: true,
            page_size: None,
            allow_redirect: false,
            high_water: Edge::default(),
            resumed: None,
        }
    }
}

/// The historical event stream, before it starts: set its options, then call
/// [`AuditEvents::pages`] or [`AuditEvents::events`]. Nothing is requested until the stream
/// is polled.
///
/// ```no_run
/// use std::time::Duration;
/// use audit_core::Checkpoint;
/// use audit_core::genesys::AuditFilter;
///
/// # async fn example(client: audit_core::genesys::GenesysClient, saved: String) -> Result<(), audit_core::Error> {
/// let checkpoint = Checkpoint::from_json(&saved)?;
/// let pages = client
///     .audit_events(checkpoint.window)
///     .service("PeoplePermissions")
///     .filter(AuditFilter::EntityType("Role".into()))
///     .expand_user(true)
///     .page_size(250)
///     .settle_lag(Duration::from_secs(300))
///     .follow(Duration::from_secs(600))
///     .resume(checkpoint)?
///     .pages();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuditEvents {
    client: GenesysClient,
    options: StreamOptions,
    service: Option<String>,
    filters: Vec<AuditFilter>,
    expand_user: bool,
    page_size: Option<u32>,
    allow_redirect: bool,
    high_water: Edge,
    /// The filters of the checkpoint resumed from, checked when the stream starts (the
    /// filters may be set after `resume`).
    resumed: Option<Selection>,
}

impl AuditEvents {
    pub(crate) fn with_options(
        client: GenesysClient,
        options: StreamOptions,
    ) -> Result<Self, Error> {
        let resume = options.resume.clone();
        let mut events = client.audit_events(options.window);
        if let StreamFilter::Genesys { service, filters } = &options.filter {
            events.service = service.clone();
            events.filters = filters.clone();
        }
        events.options = StreamOptions {
            resume: None,
            filter: StreamFilter::All,
            ..options
        };
        match resume {
            Some(checkpoint) => events.resume(checkpoint),
            None => Ok(events),
        }
    }

    fn source(&self) -> Source {
        Source::new(StreamKind::GenesysAudits, self.client.tenant())
    }

    /// Only the service `name` (`serviceName`).
    ///
    /// ```
    /// use audit_core::Window;
    /// use chrono::Utc;
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .region("mypurecloud.ie").client_credentials("id", "secret").tenant("acme").build()?;
    ///
    /// let events = client.audit_events(Window::since(Utc::now())).service("PeoplePermissions");
    /// assert_eq!(events.checkpoint().selection.to_string(), "service=PeoplePermissions");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service = Some(name.into());
        self
    }

    /// Adds a filter; every filter must match.
    ///
    /// ```
    /// use audit_core::Window;
    /// use audit_core::genesys::AuditFilter;
    /// use chrono::Utc;
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .region("mypurecloud.ie").client_credentials("id", "secret").tenant("acme").build()?;
    ///
    /// let events = client.audit_events(Window::since(Utc::now()))
    ///     .filter(AuditFilter::EntityType("Role".into()))
    ///     .filter(AuditFilter::Action("Delete".into()));
    /// assert_eq!(events.checkpoint().selection.to_string(), "Action=Delete; EntityType=Role");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn filter(mut self, filter: AuditFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// `expand=user`: the acting user's name in each record (not in downloaded pages).
    /// Default on: SIEMs look for `actor.name`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::{ActorKind, Window};
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// // Without the users' names: smaller pages, when only their ids matter.
    /// let events: Vec<_> = client.audit_events(Window::since(Utc::now() - Duration::days(10)))
    ///     .expand_user(false)
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// let users = events.iter().filter(|event| event.actor.kind == ActorKind::User);
    /// assert!(users.clone().count() > 0 && users.clone().all(|event| event.actor.name.is_none()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn expand_user(mut self, expand: bool) -> Self {
        self.expand_user = expand;
        self
    }

    /// The results' page size, 1 to 500 (default: the client's policy, 500). It halves when
    /// Genesys says a page is too large.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.audit_events(Window::since(Utc::now() - Duration::days(10)))
    ///     .page_size(20)
    ///     .pages();
    /// assert!(pages.try_next().await?.unwrap().events.len() <= 20);
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// `allowRedirect`: let Genesys answer large pages with a download (default off).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// // Large pages may come as downloads, read for you.
    /// let events: Vec<_> = client.audit_events(Window::since(Utc::now() - Duration::days(10)))
    ///     .allow_redirect(true)
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// assert!(!events.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn allow_redirect(mut self, allow: bool) -> Self {
        self.allow_redirect = allow;
        self
    }

    /// How far behind now an open window ends (default 30 s).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let events: Vec<_> = client.audit_events(Window::since(Utc::now() - Duration::days(10)))
    ///     .settle_lag(std::time::Duration::from_secs(3600))
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// assert!(events.iter().all(|event| event.occurred_at <= Utc::now() - Duration::hours(1)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn settle_lag(mut self, settle_lag: Duration) -> Self {
        self.options.settle_lag = settle_lag;
        self
    }

    /// Follow mode: once caught up, sleep `poll_interval` and query what arrived since,
    /// forever.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// // A follower never ends: it reads what arrives, every minute, for as long as it is polled.
    /// let mut pages = client.audit_events(Window::since(Utc::now() - Duration::days(10)))
    ///     .follow(std::time::Duration::from_secs(60))
    ///     .pages();
    /// let first = pages.try_next().await?.unwrap();
    /// assert_eq!(first.checkpoint.window.until, None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn follow(mut self, poll_interval: Duration) -> Self {
        self.options.follow = Some(poll_interval);
        self
    }

    /// Continues from `checkpoint` (taken from this stream, this tenant): with its window,
    /// from its high-water mark. The stream must have the service and filters the
    /// checkpoint was taken with (checked when it starts).
    ///
    /// ```
    /// use audit_core::{Checkpoint, Position, Source, StreamKind, Window};
    /// use chrono::Utc;
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .region("mypurecloud.ie").client_credentials("id", "secret").tenant("acme").build()?;
    ///
    /// let window = Window::since(Utc::now());
    /// let saved = client.audit_events(window).checkpoint().to_json();
    /// assert!(client.audit_events(window).resume(Checkpoint::from_json(&saved)?).is_ok());
    /// // Another stream's checkpoint is refused.
    /// let other = Checkpoint::new(Source::new(StreamKind::GenesysRealtime, "acme"), window, Position::Start);
    /// assert!(client.audit_events(window).resume(other).is_err());
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn resume(mut self, checkpoint: Checkpoint) -> Result<Self, Error> {
        checkpoint.expect_source(&self.source())?;
        self.high_water = Edge::from_high_water(checkpoint.position, STREAM)?;
        self.options.window = checkpoint.window;
        self.resumed = Some(checkpoint.selection);
        Ok(self)
    }

    /// The records the stream's service and filters select, as its checkpoints record them.
    fn selection(&self) -> Selection {
        StreamFilter::Genesys {
            service: self.service.clone(),
            filters: self.filters.clone(),
        }
        .selection()
    }

    /// The checkpoint of the stream's starting point.
    ///
    /// ```
    /// use audit_core::{Position, StreamKind, Window};
    /// use chrono::Utc;
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .region("mypurecloud.ie").client_credentials("id", "secret").tenant("acme").build()?;
    ///
    /// let checkpoint = client.audit_events(Window::since(Utc::now())).checkpoint();
    /// assert_eq!(checkpoint.source.stream, StreamKind::GenesysAudits);
    /// assert_eq!(checkpoint.position, Position::Start);
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint::new(
            self.source(),
            self.options.window,
            self.high_water.high_water(),
        )
        .with_selection(self.selection())
    }

    /// The stream of pages, each with its checkpoint.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.audit_events(Window::since(Utc::now() - Duration::days(10))).pages();
    /// let mut last = None;
    /// while let Some(page) = pages.try_next().await? {
    ///     last = Some(page.checkpoint); // store it with the page's events
    /// }
    /// assert!(matches!(last.unwrap().position, audit_core::Position::HighWater { .. }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages(self) -> EventPages {
        let selection = self.selection();
        let resumed = self.resumed.as_ref();
        if let Err(error) = Selection::check_resumed(resumed, StreamKind::GenesysAudits, &selection)
        {
            return EventPages::failed(error);
        }
        let policy = match self.page_size {
            Some(size) if size == 0 || size > MAX_PAGE_SIZE => {
                return EventPages::failed(Error::InvalidConfig(format!(
                    "the results page size goes from 1 to {MAX_PAGE_SIZE}, not {size}"
                )));
            }
            Some(size) => PageSizePolicy::new(size, size.min(10), size),
            None => self.client.page_size_policy(),
        };
        let follow = self.options.follow;
        EventPages::from_source(AuditSource {
            source: self.source(),
            selection,
            shape: Arc::new(PageShape::new(policy)),
            settings: self,
            pass: None,
            passes: Passes::new(follow),
        })
    }

    /// The stream of events.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::{AuditEvent, Window};
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let events: Vec<AuditEvent> = client
    ///     .audit_events(Window::since(Utc::now() - Duration::days(10)))
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// assert!(events.windows(2).all(|w| w[0].occurred_at <= w[1].occurred_at)); // oldest first
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(self) -> EventStream {
        self.pages().events()
    }
}

/// The inclusive end of a pass: the window's end, but never later than now minus the settle
/// lag (whole seconds for an open end; a closed end keeps its milliseconds).
pub(crate) fn pass_until(options: &StreamOptions, now: DateTime<Utc>) -> DateTime<Utc> {
    let lag = TimeDelta::from_std(options.settle_lag).unwrap_or(TimeDelta::MAX);
    let settled = now
        .checked_sub_signed(lag)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    match options.window.until {
        Some(until) if until <= settled => floor_ms(until),
        _ => options.window.effective_until(now, options.settle_lag),
    }
}

/// The end of the 30-day chunk that holds `t`, on the grid that starts at `since`.
fn chunk_end(since: DateTime<Utc>, t: DateTime<Utc>) -> DateTime<Utc> {
    let chunk = TimeDelta::days(CHUNK_DAYS);
    let chunk_ms = chunk.num_milliseconds();
    let offset = (t - since).num_milliseconds().max(0);
    since + TimeDelta::milliseconds((offset / chunk_ms + 1) * chunk_ms)
}

struct Chunk {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    last: bool,
    paginator: Paginator<Recorded<AuditLogMessage>, String>,
}

struct Pass {
    /// The window's inclusive end for this pass.
    until: DateTime<Utc>,
    /// The exclusive end: `until + 1 ms`.
    end: DateTime<Utc>,
    next_start: DateTime<Utc>,
    chunk: Option<Chunk>,
}

struct AuditSource {
    settings: AuditEvents,
    source: Source,
    /// What the stream's service and filters select, recorded in every page's checkpoint.
    selection: Selection,
    shape: Arc<PageShape>,
    pass: Option<Pass>,
    passes: Passes,
}

impl AuditSource {
    fn start_pass(&self) -> Option<Pass> {
        let options = &self.settings.options;
        let until = pass_until(options, Utc::now());
        let since = floor_ms(options.window.since);
        let from = match self.settings.high_water.at() {
            Some(at) => floor_ms(at).max(since),
            None => since,
        };
        if from > until {
            return None;
        }
        tracing::debug!(stream = STREAM, %from, %until, "starting a pass");
        Some(Pass {
            until,
            end: until + TimeDelta::milliseconds(1),
            next_start: from,
            chunk: None,
        })
    }
}

/// Runs the query of the next chunk of `pass` and sets up the walk of its results.
async fn start_chunk(
    settings: &AuditEvents,
    shape: &Arc<PageShape>,
    pass: &mut Pass,
) -> Result<(), Error> {
    let since = floor_ms(settings.options.window.since);
    let start = pass.next_start;
    let end = chunk_end(since, start).min(pass.end);
    let mut query = AuditQuery::new(start, end).sort(SortOrder::Ascending);
    query.service_name = settings.service.clone();
    query.filters = settings.filters.clone();
    let client = &settings.client;
    let status = client.run_audit_query(&query).await?;
    let transaction_id = status.id.unwrap_or_default();
    let request = ResultsRequest {
        cursor: None,
        page_size: None,
        expand_user: settings.expand_user,
        allow_redirect: settings.allow_redirect,
    };
    pass.chunk = Some(Chunk {
        start,
        end,
        last: end >= pass.end,
        paginator: client
            .result_paginator(transaction_id, request, Arc::clone(shape))
            .read_ahead(),
    });
    pass.next_start = end;
    Ok(())
}

impl PageSource for AuditSource {
    async fn next_page(&mut self) -> Result<Option<EventPage>, Error> {
        loop {
            if self.pass.is_none() {
                if !self.passes.another().await {
                    return Ok(None);
                }
                match self.start_pass() {
                    Some(pass) => {
                        // The pass's query starts at the high-water mark: what it reads
                        // before the mark again was exported already.
                        self.settings.high_water.reread();
                        self.pass = Some(pass);
                    }
                    None => continue,
                }
            }
            let mut pass = self.pass.take().expect("a pass is running");
            if pass.chunk.is_none() {
                if pass.next_start >= pass.end {
                    continue;
                }
                start_chunk(&self.settings, &self.shape, &mut pass).await?;
            }
            let chunk = pass.chunk.as_mut().expect("a chunk is running");
            let page = match chunk.paginator.next_page().await {
                Ok(Some(page)) => page,
                Ok(None) => {
                    pass.chunk = None;
                    self.pass = Some(pass);
                    continue;
                }
                Err(error) => {
                    self.pass = Some(pass);
                    return Err(error);
                }
            };
            let since = self.settings.options.window.since;
            let tenant = self.settings.client.tenant().to_string();
            let received = page.items.len();
            let events = page.items.into_iter().map(|record| {
                mapping::audit_event_owned(&tenant, StreamKind::GenesysAudits, record)
            });
            // Outside the chunk (which ends before `chunk.end`): another chunk, or no chunk,
            // reads it.
            let from = since.max(chunk.start);
            let (until, end) = (pass.until, chunk.end);
            let admitted = walk::admit(
                &mut self.settings.high_water,
                chunk.start,
                events,
                |at| match walk::between(at, from, until) {
                    Ordering::Equal if at >= end => Ordering::Greater,
                    side => side,
                },
                self.settings.client.stats_counter(),
            );
            let chunk_done = page.next.is_none();
            let (last, end) = (chunk.last, chunk.end);
            if chunk_done {
                pass.chunk = None;
                // Everything before the chunk's end has been read: a resumed stream starts
                // with the next chunk. (After the last chunk the mark stays on the newest
                // record, so a follow-up pass re-reads from there.)
                if !last && self.settings.high_water.at().is_none_or(|at| at < end) {
                    self.settings.high_water.move_to(end);
                }
            }
            let caught_up = chunk_done && last;
            if !caught_up {
                self.pass = Some(pass);
            }
            return Ok(Some(EventPage {
                events: admitted.events,
                checkpoint: Checkpoint::new(
                    self.source.clone(),
                    self.settings.options.window,
                    self.settings.high_water.high_water(),
                )
                .with_selection(self.selection.clone()),
                received,
                caught_up,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(i64::from(d) - 1)
    }

    #[test]
    fn chunks_sit_on_a_30_day_grid_from_the_start() {
        let since = t(1);
        assert_eq!(chunk_end(since, since), t(31));
        assert_eq!(chunk_end(since, t(20)), t(31));
        assert_eq!(chunk_end(since, t(31)), t(61));
        assert_eq!(chunk_end(since, t(31) - TimeDelta::milliseconds(1)), t(31));
    }

    #[test]
    fn intervals_are_utc_with_milliseconds() {
        let start = t(1) + TimeDelta::microseconds(1_234_567);
        assert_eq!(
            interval(start, t(2)),
            "2024-01-01T00:00:01.234Z/2024-01-02T00:00:00.000Z"
        );
        assert!(check_interval("x", t(1), t(33), Some(31)).is_err());
        assert!(check_interval("x", t(1), t(32), Some(31)).is_ok());
        assert!(check_interval("x", t(2), t(1), None).is_err());
    }

    #[test]
    fn a_closed_window_keeps_its_milliseconds() {
        let now = t(40);
        let until = t(10) + TimeDelta::milliseconds(750);
        let options = StreamOptions::new(Window::between(t(1), until).unwrap());
        assert_eq!(pass_until(&options, now), until);
        let open = StreamOptions::new(Window::since(t(1)));
        assert_eq!(pass_until(&open, now), now - TimeDelta::seconds(30));
    }

    #[test]
    fn poll_delays_grow_to_the_cap() {
        let delays: Vec<u64> = PollPolicy::default()
            .delays()
            .take(10)
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]
        );
    }

    #[test]
    fn downloads_accept_arrays_and_entities() {
        let read = |text: &str| serde_json::from_str::<DownloadedFile>(text).map(|f| f.0.len());
        let array = r#"[{"id": "a", "eventDate": "2024-05-01T00:00:00Z"}]"#;
        assert_eq!(read(array).unwrap(), 1);
        let wrapped = r#"{"pageSize": 2, "entities": [{"id": "a"}, {"id": "b"}]}"#;
        assert_eq!(read(wrapped).unwrap(), 2);
        assert!(read(r#""nope""#).is_err());
        assert!(read(r#"{"cursor": "x"}"#).is_err());
    }

    #[test]
    fn a_downloaded_record_with_a_lone_surrogate_is_kept_and_marked() {
        let text = r#"[{"id": "a", "user": {"name": "Ann\ud800"}}, {"id": "b"}]"#;
        let file = serde_json::from_str::<DownloadedFile>(text).unwrap();
        assert_eq!(file.0.len(), 2);
        assert!(file.0[0].decode_issue().is_some(), "marked");
        assert!(
            file.0[0].raw_json().json().contains(r"Ann\ud800"),
            "kept verbatim"
        );
        assert!(file.0[1].decode_issue().is_none());
    }
}
