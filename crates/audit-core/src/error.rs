//! The one error type of the crate.
//!
//! Every error names the operation it happened in (the vendor's operation id, such as
//! `list_audit_logs`, or a facade name such as `zendesk-audit-logs`), carries the HTTP status
//! and the vendor's own error code and description where there is one, and says how long the
//! call spent waiting on rate limits and retries. Messages say what went wrong and how to fix
//! it. No error ever holds a credential: requests carry credentials only in a header that
//! errors never copy.

use std::fmt;
use std::time::Duration;

/// What the vendor said about an error, as far as its body and headers tell.
///
/// ```
/// use audit_core::VendorDetail;
///
/// let detail = VendorDetail::new(Some("RecordNotFound".into()), Some("Not found".into()));
/// assert_eq!(detail.to_string(), "RecordNotFound: Not found");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VendorDetail {
    /// The vendor's error code or title (`RecordNotFound`, `Forbidden`,
    /// `too.many.requests.retry.after`).
    pub error: Option<String>,
    /// The vendor's human-readable description.
    pub description: Option<String>,
    /// The vendor's correlation or request id, for support cases.
    pub correlation_id: Option<String>,
}

impl VendorDetail {
    /// A detail with an error code and a description.
    ///
    /// ```
    /// use audit_core::VendorDetail;
    ///
    /// // Blank strings count as nothing said.
    /// let detail = VendorDetail::new(Some("Forbidden".into()), Some("  ".into()));
    /// assert_eq!(detail.description, None);
    /// assert_eq!(detail.to_string(), "Forbidden");
    /// ```
    pub fn new(error: Option<String>, description: Option<String>) -> Self {
        VendorDetail {
            error: error.filter(|s| !s.trim().is_empty()),
            description: description.filter(|s| !s.trim().is_empty()),
            correlation_id: None,
        }
    }

    /// The same detail with a correlation id.
    ///
    /// ```
    /// use audit_core::VendorDetail;
    ///
    /// let detail = VendorDetail::new(Some("not.found".into()), None)
    ///     .with_correlation_id(Some("4c1b7e0a".into()));
    /// assert_eq!(detail.to_string(), "not.found (correlation id 4c1b7e0a)");
    /// ```
    pub fn with_correlation_id(mut self, correlation_id: Option<String>) -> Self {
        self.correlation_id = correlation_id.filter(|s| !s.trim().is_empty());
        self
    }

    /// Whether the vendor said nothing at all.
    ///
    /// ```
    /// use audit_core::VendorDetail;
    ///
    /// assert!(VendorDetail::new(None, Some("".into())).is_empty());
    /// assert!(!VendorDetail::default().with_correlation_id(Some("4c1b7e0a".into())).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.error.is_none() && self.description.is_none() && self.correlation_id.is_none()
    }
}

impl fmt::Display for VendorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.error, &self.description) {
            (Some(error), Some(description)) => write!(f, "{error}: {description}")?,
            (Some(text), None) | (None, Some(text)) => f.write_str(text)?,
            (None, None) => {}
        }
        if let Some(id) = &self.correlation_id {
            if self.error.is_some() || self.description.is_some() {
                f.write_str(" ")?;
            }
            write!(f, "(correlation id {id})")?;
        }
        Ok(())
    }
}

/// Turns a vendor's error body into a [`VendorDetail`]. Implemented for each vendor's
/// generated error type, so the retry layer reports every vendor's errors the same way.
///
/// ```
/// use audit_core::ErrorBody;
/// use audit_core::zendesk::types::ErrorResponse;
///
/// // Zendesk's error body, as the generated client decodes it.
/// let body: ErrorResponse =
///     serde_json::from_str(r#"{"error": "RecordNotFound", "description": "Not found"}"#).unwrap();
/// assert_eq!(body.detail().to_string(), "RecordNotFound: Not found");
/// ```
pub trait ErrorBody {
    /// What the body says.
    fn detail(&self) -> VendorDetail;
}

impl ErrorBody for () {
    fn detail(&self) -> VendorDetail {
        VendorDetail::default()
    }
}

/// What kind of transport failure happened.
///
/// ```
/// use audit_core::TransportKind;
///
/// assert_eq!(TransportKind::Timeout.to_string(), "timed out");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be opened (DNS, refused, TLS).
    Connect,
    /// The request or response took longer than the configured timeout.
    Timeout,
    /// The response body could not be read to its end (reset, truncated).
    Body,
    /// Sending the request failed for another reason.
    Request,
    /// The server's TLS certificate was refused (not signed by a trusted authority, expired,
    /// or for another name): asking again gets the same certificate, so it is not retried.
    Certificate,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::Body => "the response body could not be read",
            TransportKind::Request => "the request failed",
            TransportKind::Certificate => "the server's TLS certificate was refused",
        })
    }
}

/// Why retrying stopped.
///
/// ```
/// use audit_core::GiveUpReason;
///
/// assert_eq!(GiveUpReason::WaitBudget.to_string(), "retry wait budget used up");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The configured number of attempts was used up.
    Attempts,
    /// The next wait would have gone past the configured total-wait budget.
    WaitBudget,
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GiveUpReason::Attempts => "attempt limit reached",
            GiveUpReason::WaitBudget => "retry wait budget used up",
        })
    }
}

/// What kind of failure an [`Error`] is: the one thing most callers branch on. Every variant
/// of [`Error`] falls in exactly one kind ([`Error::kind`]); the `is_*` methods ask about one.
///
/// ```
/// use audit_core::{Error, ErrorKind};
///
/// fn what_to_do(error: &Error) -> &'static str {
///     match error.kind() {
///         ErrorKind::RateLimited => "back off; the vendor's limit is spent",
///         ErrorKind::Unauthenticated => "renew or fix the credentials",
///         ErrorKind::PermissionDenied => "grant the role, plan or scope named in the error",
///         ErrorKind::NotFound => "nothing there: skip it",
///         ErrorKind::Unavailable => "try again later from the last checkpoint",
///         _ => "fix the request or configuration",
///     }
/// }
/// let error = Error::InvalidConfig("no credentials".into());
/// assert_eq!(what_to_do(&error), "fix the request or configuration");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The vendor's rate limit: a 429, a `Retry-After` or a reset longer than allowed, or
    /// retries used up on rate limiting.
    RateLimited,
    /// The credentials were refused: a 401, or the token endpoint refusing the client or
    /// grant. Fix or renew them.
    Unauthenticated,
    /// The credentials were accepted but the plan, role, scope or IP allow-list does not
    /// allow the operation (HTTP 403, or Genesys' `ip.not.authorized`).
    PermissionDenied,
    /// The item asked for does not exist (HTTP 404).
    NotFound,
    /// The vendor or the network failed in a way that passes by itself: 5xx, timeouts,
    /// connection failures, answers that contradict themselves, a query that failed.
    Unavailable,
    /// The vendor rejected the request as invalid (a 400 or 422 that is not about
    /// credentials), or it could not be built.
    InvalidRequest,
    /// The client, stream, checkpoint or token store is set up wrongly, or the base URL is
    /// not the vendor's API; or an answer is one the client refuses to follow (a foreign
    /// URL, a body over the cap, a server certificate that is not trusted).
    Config,
}

/// The operations that ask a vendor for a token: a refusal there is about the credentials.
fn is_token_operation(operation: &str) -> bool {
    operation == crate::genesys::rules::TOKEN_OPERATION
        || operation == crate::zendesk::auth::TOKEN_OPERATION
}

/// Formats a duration for people: `2 s`, `1.5 s`, `250 ms`.
pub(crate) struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d < Duration::from_secs(1) {
            write!(f, "{} ms", d.as_millis())
        } else if d.subsec_millis() == 0 {
            write!(f, "{} s", d.as_secs())
        } else {
            write!(f, "{:.1} s", d.as_secs_f64())
        }
    }
}

/// A long duration in the largest unit that fits: "about 24 h", "about 7 min".
pub(crate) struct Approx(pub Duration);

impl fmt::Display for Approx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.as_secs_f64();
        if seconds >= 3600.0 {
            write!(f, "about {:.0} h", seconds / 3600.0)
        } else if seconds >= 60.0 {
            write!(f, "about {:.0} min", seconds / 60.0)
        } else {
            write!(f, "{}", Human(self.0))
        }
    }
}

/// ` (detail)` or nothing.
struct Paren<'a>(&'a VendorDetail);

impl fmt::Display for Paren<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " ({})", self.0)
        }
    }
}

/// `: detail` or nothing.
struct Colon<'a>(&'a VendorDetail);

impl fmt::Display for Colon<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, ": {}", self.0)
        }
    }
}

/// `; hint` or nothing.
struct Hint<'a>(&'a Option<String>);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(hint) => write!(f, "; {hint}"),
            None => Ok(()),
        }
    }
}

/// ` (HTTP 502)` or nothing.
struct Status(Option<u16>);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(status) => write!(f, " (HTTP {status})"),
            None => Ok(()),
        }
    }
}

/// How an asynchronous query ended, for [`Error::QueryFailed`].
struct QueryEnd<'a> {
    state: &'a str,
    timed_out: bool,
    elapsed: Duration,
}

impl fmt::Display for QueryEnd<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.timed_out {
            write!(
                f,
                "was still `{}` after {}, longer than the query timeout allows; query a shorter \
                 window",
                self.state,
                Human(self.elapsed)
            )
        } else {
            write!(
                f,
                "ended in state `{}` after {}; run it again (an export resumes from its last \
                 checkpoint), or query a shorter window",
                self.state,
                Human(self.elapsed)
            )
        }
    }
}

/// Everything that can go wrong, in one `#[non_exhaustive]` enum.
///
/// ```
/// use audit_core::Error;
///
/// let error = Error::InvalidConfig("no credentials: call `.api_token(..)`".into());
/// assert_eq!(error.to_string(), "invalid configuration: no credentials: call `.api_token(..)`");
/// assert_eq!(error.operation(), None);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The vendor answered with an error status that retrying does not fix (400, 401, 404,
    /// 422, …), or a retryable one when retries are off.
    #[error("{operation}: the vendor answered HTTP {status}{}{}", Paren(.detail.as_ref()), Hint(.hint))]
    Api {
        /// The operation.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// What the vendor said.
        detail: Box<VendorDetail>,
        /// How to fix it, when that is known.
        hint: Option<String>,
        /// Time this call spent waiting on rate limits and retries.
        waited: Duration,
    },

    /// The credentials are valid but the plan, the role or the OAuth scopes do not allow this
    /// operation (HTTP 403).
    #[error("{operation}: access denied (HTTP {status}){}: {hint}", Paren(.detail.as_ref()))]
    AccessDenied {
        /// The operation.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// What the vendor said.
        detail: Box<VendorDetail>,
        /// The OAuth scope the vendor says is missing, when it says so.
        missing_scope: Option<String>,
        /// What the operation needs (plan, role, scope) and how to get it.
        hint: String,
        /// Time this call spent waiting on rate limits and retries.
        waited: Duration,
    },

    /// A retryable failure persisted: the attempts or the total-wait budget ran out
    /// ([`RetryPolicy::with_max_attempts`](crate::RetryPolicy::with_max_attempts),
    /// [`RetryPolicy::with_wait_budget`](crate::RetryPolicy::with_wait_budget)).
    #[error(
        "{operation}: gave up after {attempts} attempt(s) over {} ({reason}); last error: {last}",
        Approx(*.elapsed)
    )]
    RetriesExhausted {
        /// The operation.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// Total time waited (rate limits, `Retry-After`, backoff).
        waited: Duration,
        /// Wall-clock time from the first attempt to giving up: the waits and the attempts
        /// themselves (a server that never answers spends the request timeout on each).
        elapsed: Duration,
        /// Why retrying stopped.
        reason: GiveUpReason,
        /// The last failure.
        last: Box<Error>,
    },

    /// The vendor asked to wait longer than the configured maximum before retrying.
    #[error(
        "{operation}: the vendor asked to wait {} before retrying (HTTP {status}{}), more than \
         the allowed maximum of {}; try again later",
        Human(*.requested),
        Colon(.detail.as_ref()),
        Human(*.max)
    )]
    RetryAfterTooLong {
        /// The operation.
        operation: &'static str,
        /// The HTTP status (429 or 503).
        status: u16,
        /// What the vendor said with it.
        detail: Box<VendorDetail>,
        /// How long the vendor asked to wait.
        requested: Duration,
        /// The configured maximum.
        max: Duration,
        /// Time this call had already waited.
        waited: Duration,
    },

    /// The request did not get a complete answer: connection, timeout, or body read failure.
    #[error("{operation}: {kind}: {source}")]
    Transport {
        /// The operation.
        operation: &'static str,
        /// What kind of failure.
        kind: TransportKind,
        /// Time this call spent waiting on rate limits and retries.
        waited: Duration,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// The response arrived but could not be decoded (truncated or unexpected JSON).
    #[error("{operation}: the response could not be decoded{}: {message}", Status(*.status))]
    Decode {
        /// The operation.
        operation: &'static str,
        /// The HTTP status, when known.
        status: Option<u16>,
        /// What was wrong, with a short excerpt of the body.
        message: String,
        /// Time this call spent waiting on rate limits and retries.
        waited: Duration,
    },

    /// The vendor kept answering with a cursor that was already used: following it would
    /// loop forever.
    #[error(
        "{operation}: the vendor returned the already used cursor `{cursor}` again ({attempts} \
         attempt(s)); stopping rather than looping. Resume from the last checkpoint, which \
         does not depend on this cursor"
    )]
    RepeatedCursor {
        /// The operation.
        operation: &'static str,
        /// The repeated cursor.
        cursor: String,
        /// How many times the page was requested.
        attempts: u32,
    },

    /// The vendor kept answering pages with no records, each with a new cursor: following
    /// them made no progress, and might never end.
    #[error(
        "{operation}: the vendor answered {pages} pages in a row with no records, each with a \
         new cursor; stopping rather than looping. Resume from the last checkpoint once the \
         vendor behaves"
    )]
    NoProgress {
        /// The operation.
        operation: &'static str,
        /// How many empty pages came in a row.
        pages: u32,
    },

    /// The vendor's answer contradicts what it said before (an empty page where its own
    /// page count promised more), and asking again did not resolve it. Nothing after the last
    /// complete page was checkpointed.
    #[error(
        "{operation}: {message}; the answer was asked for again and did not change. Resume from \
         the last checkpoint once the vendor behaves"
    )]
    Inconsistent {
        /// The operation.
        operation: &'static str,
        /// What the vendor answered, and what it contradicts.
        message: String,
    },

    /// The vendor's rate-limit headers said the budget is spent and resets later than the
    /// longest wait allowed (`RetryPolicy::with_max_retry_after`): the request was not sent.
    #[error(
        "{operation}: the vendor's rate-limit headers say the budget is spent for {} ({}), more \
         than the allowed maximum wait of {}; try again later",
        Human(*.requested),
        Approx(*.requested),
        Human(*.max)
    )]
    RateLimitResetTooLong {
        /// The operation.
        operation: &'static str,
        /// How long the headers asked to wait.
        requested: Duration,
        /// The configured maximum.
        max: Duration,
    },

    /// A vendor-supplied URL pointed to another scheme, host or port than the configured base
    /// URL; it was not requested, so the credentials did not leave.
    #[error(
        "{operation}: refused to follow `{url}`: it is not on the configured base URL \
         {expected}, and the client's credentials are only ever sent there"
    )]
    ForeignUrl {
        /// The operation.
        operation: &'static str,
        /// The refused URL (without its query string).
        url: String,
        /// The configured origin.
        expected: String,
    },

    /// An asynchronous query (a Genesys Cloud historical audit query) ended without results:
    /// it `Failed`, was `Cancelled`, or was still running when the configured timeout ran out.
    #[error(
        "{operation}: the audit query `{transaction_id}` {}",
        QueryEnd { state, timed_out: *.timed_out, elapsed: *.elapsed }
    )]
    QueryFailed {
        /// The operation.
        operation: &'static str,
        /// The vendor's id of the query (the Genesys `transactionId`), for support cases.
        transaction_id: String,
        /// The last state the vendor reported (`Failed`, `Cancelled`, `Running`, …).
        state: String,
        /// Whether the query was given up because it ran longer than the configured timeout.
        timed_out: bool,
        /// How long the query had run (submission to the last status).
        elapsed: Duration,
    },

    /// A response body was larger than the configured cap (`HttpConfig::with_max_body_bytes`,
    /// which a library user may raise if the vendor really sends pages this large), or never
    /// ended. Not retried: the same request would read the same body. Streams that can ask for
    /// smaller pages do so first.
    #[error("{operation}: the response body exceeds the cap of {limit} bytes and was refused")]
    BodyTooLarge {
        /// The operation.
        operation: &'static str,
        /// The cap, in bytes.
        limit: u64,
    },

    /// A server answered a web page (HTML) where the vendor's JSON API was expected, twice:
    /// a captive portal, a proxy's error page, or a base URL that is not the API's.
    #[error(
        "{operation}: the server at {host} answered HTML, not the vendor's JSON API: check the \
         base URL (the body starts with `{excerpt}`)"
    )]
    NotTheApi {
        /// The operation.
        operation: &'static str,
        /// The host that answered.
        host: String,
        /// The first characters of the page.
        excerpt: String,
    },

    /// The client or stream was configured wrongly.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// The OAuth token store (the file holding a rotating refresh token) cannot be read or
    /// written, or holds nothing usable. Its content is never shown.
    #[error("the OAuth token store `{path}` {message}")]
    TokenStore {
        /// The store's path.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// A checkpoint cannot be used to resume this stream.
    #[error("invalid checkpoint: {0}")]
    InvalidCheckpoint(String),

    /// A sliced stream could not spool the pages it read ahead (see [`crate::slicing`]): the
    /// spool directory is full or not writable.
    #[error("{0}")]
    Spool(String),

    /// A request could not be built from the given parameters.
    #[error("{operation}: invalid request: {message}")]
    InvalidRequest {
        /// The operation.
        operation: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl Error {
    /// The operation the error happened in, when it happened in one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::zendesk::ZendeskClient::builder()
    /// #     .base_url(sim.zendesk_url())
    /// #     .tenant("acme")
    /// #     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    /// #     .build()?;
    /// let error = client.show_audit_log(1).await.unwrap_err();
    /// assert_eq!(error.operation(), Some("show_audit_log"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::Api { operation, .. }
            | Error::AccessDenied { operation, .. }
            | Error::RetriesExhausted { operation, .. }
            | Error::RetryAfterTooLong { operation, .. }
            | Error::Transport { operation, .. }
            | Error::Decode { operation, .. }
            | Error::RepeatedCursor { operation, .. }
            | Error::NoProgress { operation, .. }
            | Error::Inconsistent { operation, .. }
            | Error::RateLimitResetTooLong { operation, .. }
            | Error::ForeignUrl { operation, .. }
            | Error::QueryFailed { operation, .. }
            | Error::BodyTooLarge { operation, .. }
            | Error::NotTheApi { operation, .. }
            | Error::InvalidRequest { operation, .. } => Some(operation),
            Error::InvalidConfig(_)
            | Error::InvalidCheckpoint(_)
            | Error::TokenStore { .. }
            | Error::Spool(_) => None,
        }
    }

    /// The HTTP status of the (last) failed response, when there was one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::zendesk::ZendeskClient::builder()
    /// #     .base_url(sim.zendesk_url())
    /// #     .tenant("acme")
    /// #     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    /// #     .build()?;
    /// let error = client.show_audit_log(1).await.unwrap_err();
    /// assert_eq!(error.status(), Some(404));
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. }
            | Error::AccessDenied { status, .. }
            | Error::RetryAfterTooLong { status, .. } => Some(*status),
            Error::Decode { status, .. } => *status,
            Error::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            Error::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// What the vendor said, when it said something.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::zendesk::ZendeskClient::builder()
    /// #     .base_url(sim.zendesk_url())
    /// #     .tenant("acme")
    /// #     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    /// #     .build()?;
    /// let error = client.show_audit_log(1).await.unwrap_err();
    /// let detail = error.vendor_detail().unwrap();
    /// assert_eq!(detail.error.as_deref(), Some("RecordNotFound"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn vendor_detail(&self) -> Option<&VendorDetail> {
        match self {
            Error::Api { detail, .. }
            | Error::AccessDenied { detail, .. }
            | Error::RetryAfterTooLong { detail, .. } => Some(detail.as_ref()),
            Error::RetriesExhausted { last, .. } => last.vendor_detail(),
            _ => None,
        }
    }

    /// How long the call waited on rate limits, `Retry-After` and backoff before failing.
    ///
    /// ```
    /// use audit_core::{Error, VendorDetail};
    /// use std::time::Duration;
    ///
    /// let error = Error::Api {
    ///     operation: "list_audit_logs",
    ///     status: 503,
    ///     detail: Box::new(VendorDetail::default()),
    ///     hint: None,
    ///     waited: Duration::from_secs(42),
    /// };
    /// assert_eq!(error.waited(), Duration::from_secs(42));
    /// assert_eq!(Error::InvalidConfig("no tenant".into()).waited(), Duration::ZERO);
    /// ```
    pub fn waited(&self) -> Duration {
        match self {
            Error::Api { waited, .. }
            | Error::AccessDenied { waited, .. }
            | Error::RetriesExhausted { waited, .. }
            | Error::RetryAfterTooLong { waited, .. }
            | Error::Transport { waited, .. }
            | Error::Decode { waited, .. } => *waited,
            _ => Duration::ZERO,
        }
    }

    /// Whether the failure can pass by itself — the vendor or the network out, overloaded,
    /// rate-limiting for long, or answering inconsistently — so that a long-running reader
    /// (`trail export --follow`) waits and tries again from its last checkpoint, instead of
    /// ending. `false` for what only a person can fix: refused credentials, denied access,
    /// a request or configuration the vendor rejects, a base URL that is not the API. That is:
    /// [`ErrorKind::RateLimited`] or [`ErrorKind::Unavailable`].
    ///
    /// ```
    /// use audit_core::Error;
    ///
    /// assert!(!Error::InvalidConfig("no credentials".into()).is_retryable());
    /// assert!(Error::NoProgress { operation: "listAuditLogs", pages: 25 }.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::RateLimited | ErrorKind::Unavailable)
    }

    /// What kind of failure this is (see [`ErrorKind`] for an example that branches on it).
    /// Errors that wrap another ([`Error::RetriesExhausted`]) are of their last failure's
    /// kind.
    ///
    /// ```
    /// use audit_core::{Error, ErrorKind};
    ///
    /// assert_eq!(Error::InvalidCheckpoint("another stream's".into()).kind(), ErrorKind::Config);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::RetriesExhausted { last, .. } => last.kind(),
            Error::Api {
                operation, status, ..
            } => match status {
                401 => ErrorKind::Unauthenticated,
                400 if is_token_operation(operation) => ErrorKind::Unauthenticated,
                403 => ErrorKind::PermissionDenied,
                404 | 410 => ErrorKind::NotFound,
                429 => ErrorKind::RateLimited,
                408 | 500..=599 => ErrorKind::Unavailable,
                _ => ErrorKind::InvalidRequest,
            },
            Error::AccessDenied { .. } => ErrorKind::PermissionDenied,
            Error::RetryAfterTooLong { .. } | Error::RateLimitResetTooLong { .. } => {
                ErrorKind::RateLimited
            }
            // The same certificate comes back however often asked: a person must trust its
            // authority or fix the base URL.
            Error::Transport {
                kind: TransportKind::Certificate,
                ..
            } => ErrorKind::Config,
            Error::Transport { .. }
            | Error::Decode { .. }
            | Error::RepeatedCursor { .. }
            | Error::NoProgress { .. }
            | Error::Inconsistent { .. }
            | Error::QueryFailed { .. } => ErrorKind::Unavailable,
            Error::InvalidRequest { .. } => ErrorKind::InvalidRequest,
            Error::ForeignUrl { .. }
            | Error::BodyTooLarge { .. }
            | Error::NotTheApi { .. }
            | Error::InvalidConfig(_)
            | Error::TokenStore { .. }
            | Error::Spool(_)
            | Error::InvalidCheckpoint(_) => ErrorKind::Config,
        }
    }

    /// Whether the vendor is rate limiting ([`ErrorKind::RateLimited`]).
    ///
    /// ```
    /// use audit_core::{Error, VendorDetail};
    /// use std::time::Duration;
    ///
    /// let error = Error::RetryAfterTooLong {
    ///     operation: "list_audit_logs",
    ///     status: 429,
    ///     requested: Duration::from_secs(3600),
    ///     max: Duration::from_secs(300),
    ///     detail: Box::new(VendorDetail::default()),
    ///     waited: Duration::ZERO,
    /// };
    /// assert!(error.is_rate_limited() && error.is_retryable());
    /// ```
    pub fn is_rate_limited(&self) -> bool {
        self.kind() == ErrorKind::RateLimited
    }

    /// Whether the credentials were refused or do not allow the operation
    /// ([`ErrorKind::Unauthenticated`] or [`ErrorKind::PermissionDenied`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// let client = audit_core::zendesk::ZendeskClient::builder()
    ///     .base_url(sim.zendesk_url())
    ///     .tenant("acme")
    ///     .api_token("someone@acme.test", "not-the-token")
    ///     .build()?;
    /// let error = client.show_audit_log(1).await.unwrap_err();
    /// assert!(error.is_auth() && !error.is_retryable());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_auth(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied
        )
    }

    /// Whether the item asked for does not exist ([`ErrorKind::NotFound`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// # let client = audit_core::zendesk::ZendeskClient::builder()
    /// #     .base_url(sim.zendesk_url())
    /// #     .tenant("acme")
    /// #     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    /// #     .build()?;
    /// match client.show_audit_log(1).await {
    ///     Ok(record) => println!("{record:?}"),
    ///     Err(error) if error.is_not_found() => println!("gone: {error}"),
    ///     Err(error) => return Err(error.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// Sets the time waited on errors that carry it.
    pub(crate) fn with_waited(mut self, total: Duration) -> Self {
        match &mut self {
            Error::Api { waited, .. }
            | Error::AccessDenied { waited, .. }
            | Error::RetriesExhausted { waited, .. }
            | Error::RetryAfterTooLong { waited, .. }
            | Error::Transport { waited, .. }
            | Error::Decode { waited, .. } => *waited = total,
            _ => {}
        }
        self
    }
}
