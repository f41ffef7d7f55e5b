//! Retries: the policy, how failures are classified, and `Retry-After`.
//!
//! One retry layer serves every call of every vendor:
//!
//! | failure | what happens |
//! |---|---|
//! | 429, and 503 with `Retry-After` | wait exactly `Retry-After` (seconds or HTTP date; longer than [`RetryPolicy::with_max_retry_after`] fails the call); a 429 pauses the whole client; a `Retry-After` of zero or a past date backs off as without one |
//! | 429 without `Retry-After` | exponential backoff; the whole client pauses too |
//! | 408, 500, 502, 503 without `Retry-After`, 504 | exponential backoff with jitter |
//! | connection errors, timeouts, body read errors, undecodable bodies, repeated cursors | exponential backoff with jitter |
//! | any other status (400, 401, 403, 404, 422, …) | not retried |
//! | 401 on a call whose caller has just replaced a refused token | exponential backoff (the fresh token is kept) |
//!
//! Non-idempotent calls (the Zendesk audit-log export, the Genesys query submission) are
//! retried only when the request was certainly not processed: on 429, on 503 with
//! `Retry-After`, and when no connection could be opened (nothing was sent). Every retry counts
//! against an attempt limit and a total-wait budget; when either runs out the call fails with
//! [`Error::RetriesExhausted`], which carries the last failure.
//!
//! Backoff delays come from `backon`'s exponential backoff. The loop around it is ours: a
//! `Retry-After` replaces the backoff's delay but still consumes one of its attempts, so the
//! loop always ends (the trap of `backon`'s `adjust` hook, which can turn "give up" into "wait
//! again" forever, does not arise). Every wait goes through `tokio::time`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use progenitor_client::{Error as RawError, ResponseValue};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::{Error, ErrorBody, GiveUpReason, TransportKind, VendorDetail};
use crate::pacing::Pacer;
use crate::stats::Stats;

/// How a client retries failed calls.
///
/// ```
/// use std::time::Duration;
/// use audit_core::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_attempts(8)
///     .with_wait_budget(Some(Duration::from_secs(600)))
///     .with_max_retry_after(Duration::from_secs(120));
/// assert_eq!(policy.max_attempts(), 8);
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    min_backoff: Duration,
    max_backoff: Duration,
    jitter: bool,
    wait_budget: Option<Duration>,
    max_retry_after: Duration,
    max_outage_wait: Duration,
}

impl Default for RetryPolicy {
    /// 6 attempts, backoff from 1 s doubling up to 30 s with jitter, at most 10 minutes of
    /// retry waits per call, `Retry-After` honoured up to 180 s, and outages waited out in
    /// steps of at most 5 minutes.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            jitter: true,
            wait_budget: Some(Duration::from_secs(600)),
            max_retry_after: Duration::from_secs(180),
            max_outage_wait: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// No retries: every failure is returned at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::RetryPolicy;
    ///
    /// // A health check fails fast instead of waiting out an outage.
    /// let probe = audit_core::zendesk::ZendeskClient::builder()
    ///     .base_url(sim.zendesk_url())
    ///     .tenant("acme")
    ///     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    ///     .retry_policy(RetryPolicy::none())
    ///     .build()?;
    /// let error = probe.show_audit_log(1).await.unwrap_err();
    /// assert_eq!((error.status(), probe.stats().retries), (Some(404), 0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Attempts per call, the first included (at least 1).
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().with_max_attempts(10).max_attempts(), 10);
    /// assert_eq!(RetryPolicy::default().with_max_attempts(0).max_attempts(), 1);
    /// ```
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff delay and the largest one; delays double in between.
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::default()
    ///     .with_backoff(Duration::from_millis(250), Duration::from_secs(5));
    /// let first = policy.outage_backoff().next().unwrap();
    /// assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
    /// ```
    pub fn with_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min);
        self
    }

    /// Turns jitter off: backoff delays are exactly min, 2·min, 4·min, … (for tests).
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    ///
    /// let exact = RetryPolicy::default().without_jitter();
    /// assert_ne!(exact, RetryPolicy::default());
    /// assert_eq!(exact.max_attempts(), RetryPolicy::default().max_attempts());
    /// ```
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The most a call may wait in total across its retries (`Retry-After` and backoff);
    /// `None` for no limit.
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let patient = RetryPolicy::default().with_wait_budget(None);
    /// assert_eq!(patient.wait_budget(), None);
    /// let hasty = RetryPolicy::default().with_wait_budget(Some(Duration::from_secs(20)));
    /// assert_eq!(hasty.wait_budget(), Some(Duration::from_secs(20)));
    /// ```
    pub fn with_wait_budget(mut self, budget: Option<Duration>) -> Self {
        self.wait_budget = budget;
        self
    }

    /// The longest wait a vendor can impose: a longer `Retry-After` fails the call with
    /// [`Error::RetryAfterTooLong`] (some APIs announce daily-limit breaches with hours), and
    /// a rate-limit window that resets later fails it with [`Error::RateLimitResetTooLong`]
    /// instead of sleeping until then.
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// // Wait out a `Retry-After` of up to an hour rather than fail.
    /// let policy = RetryPolicy::default().with_max_retry_after(Duration::from_secs(3600));
    /// assert_eq!(policy.max_retry_after(), Duration::from_secs(3600));
    /// ```
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The longest wait between two tries of a reader that outlives outages (see
    /// [`RetryPolicy::outage_backoff`]).
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::default().with_max_outage_wait(Duration::from_secs(120));
    /// assert_eq!(policy.max_outage_wait(), Duration::from_secs(120));
    /// // Never shorter than the first backoff (1 s by default).
    /// let floor = RetryPolicy::default().with_max_outage_wait(Duration::ZERO);
    /// assert_eq!(floor.max_outage_wait(), Duration::from_secs(1));
    /// ```
    pub fn with_max_outage_wait(mut self, max: Duration) -> Self {
        self.max_outage_wait = max.max(self.min_backoff);
        self
    }

    /// The waits of a reader that never gives up on a transient failure
    /// ([`Error::is_retryable`]), such as `trail export --follow` through a vendor outage:
    /// after each call that failed (its own retries spent), the reader waits the next delay
    /// and tries again. Delays start at the policy's first backoff and double, with jitter,
    /// up to [`RetryPolicy::with_max_outage_wait`]; the iterator never ends. A caller starts
    /// a new one when the outage is over.
    ///
    /// ```
    /// use std::time::Duration;
    /// use audit_core::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default().with_max_outage_wait(Duration::from_secs(60));
    /// let delays: Vec<Duration> = policy.outage_backoff().take(20).collect();
    /// assert!(delays[0] >= Duration::from_secs(1) && delays[0] <= Duration::from_secs(2));
    /// assert!(delays.iter().all(|delay| *delay <= Duration::from_secs(60)));
    /// assert!(delays[19] >= Duration::from_secs(30), "capped, not stopped");
    /// ```
    pub fn outage_backoff(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        // Jitter adds up to the delay itself: delays grow to half the cap, and land between
        // half the cap and the cap, so followers that lost a vendor together spread out.
        let cap = self.max_outage_wait;
        let half = (cap / 2).max(self.min_backoff);
        ExponentialBuilder::default()
            .with_factor(2.0)
            .with_min_delay(self.min_backoff.min(half))
            .with_max_delay(half)
            .without_max_times()
            .with_jitter()
            .build()
            .map(move |delay| delay.min(cap))
    }

    /// The longest wait between two tries through an outage.
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// assert_eq!(RetryPolicy::default().max_outage_wait(), Duration::from_secs(300));
    /// ```
    pub fn max_outage_wait(&self) -> Duration {
        self.max_outage_wait
    }

    /// Attempts per call, the first included.
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().max_attempts(), 6);
    /// ```
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The total-wait budget per call.
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// assert_eq!(RetryPolicy::default().wait_budget(), Some(Duration::from_secs(600)));
    /// ```
    pub fn wait_budget(&self) -> Option<Duration> {
        self.wait_budget
    }

    /// The longest `Retry-After` honoured.
    ///
    /// ```
    /// use audit_core::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// assert_eq!(RetryPolicy::default().max_retry_after(), Duration::from_secs(180));
    /// ```
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    fn backoff(&self) -> Option<ExponentialBackoff> {
        if self.max_attempts <= 1 {
            return None;
        }
        let mut builder = ExponentialBuilder::default()
            .with_factor(2.0)
            .with_min_delay(self.min_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times((self.max_attempts - 1) as usize);
        if self.jitter {
            builder = builder.with_jitter();
        }
        Some(builder.build())
    }
}

/// Parses a `Retry-After` value: delay-seconds (`"2"`) or an HTTP date, relative to `now`.
/// A date in the past means "now".
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use audit_core::retry::parse_retry_after;
///
/// assert_eq!(parse_retry_after("2", SystemTime::now()), Some(Duration::from_secs(2)));
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
/// assert_eq!(
///     parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
///     Some(Duration::from_secs(30))
/// );
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        // A delay too long for a `Duration` (`1e300`) is the longest one: it is refused as too
        // long rather than ignored (and `Duration::from_secs_f64` would panic on it).
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| secs_at_most(seconds, Duration::MAX));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `seconds` (finite, not negative: what vendors' headers and bodies say) as a `Duration`, at
/// most `max`. Values too large for a `Duration`, which `Duration::from_secs_f64` panics on,
/// become `max`.
pub(crate) fn secs_at_most(seconds: f64, max: Duration) -> Duration {
    Duration::try_from_secs_f64(seconds).map_or(max, |duration| duration.min(max))
}

/// The `Retry-After` of a response's headers, if any and parseable.
///
/// ```
/// use std::time::Duration;
/// use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
/// assert_eq!(audit_core::retry::retry_after(&headers), Some(Duration::from_secs(2)));
/// ```
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// Waits longer than this are logged as warnings (visible at the CLI's default verbosity),
/// saying what is waited for and until when.
///
/// ```
/// use audit_core::retry::{LONG_WAIT, SLOW_ANSWER};
///
/// // A wait this long is worth a warning; an answer this slow, too.
/// assert!(LONG_WAIT < SLOW_ANSWER);
/// ```
pub const LONG_WAIT: Duration = Duration::from_secs(5);

/// An attempt without an answer for this long is logged as a warning, when the request
/// timeout (60 s by default) is longer.
///
/// ```
/// use audit_core::HttpConfig;
/// use audit_core::retry::SLOW_ANSWER;
///
/// // Warned about only when the request timeout leaves room for it (60 s by default).
/// assert!(HttpConfig::default().request_timeout().unwrap() > SLOW_ANSWER);
/// ```
pub const SLOW_ANSWER: Duration = Duration::from_secs(10);

/// The wall-clock time `wait` from now, to the second, for messages.
pub(crate) fn wall_clock_after(wait: Duration) -> String {
    let at =
        chrono::Utc::now() + chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::MAX);
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An operation, as the retry layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The vendor's operation id or a facade name; it names the operation in errors.
    pub(crate) name: &'static str,
    /// Whether repeating the call is harmless.
    pub(crate) idempotent: bool,
    /// Whether a 401 is transient: set after the caller has replaced a refused token, so a
    /// refusal of the fresh one is retried with backoff (with that token) instead of failing.
    pub(crate) unauthorized_is_transient: bool,
    /// Whether a body that is not UTF-8 text is asked for again and read from a lossy copy
    /// (`raw_support::with_lossy_bodies`), its records that held invalid bytes marked and
    /// their bytes kept. Off for an answer whose records are not decoded inside the call.
    pub(crate) lossy_bodies: bool,
}

impl Operation {
    /// A read (retried on every transient failure).
    pub(crate) const fn read(name: &'static str) -> Self {
        Operation {
            name,
            idempotent: true,
            unauthorized_is_transient: false,
            lossy_bodies: true,
        }
    }

    /// The same operation, with a body that is not UTF-8 text a decoding failure like any
    /// other (for an answer whose records are decoded after the call, where they could not
    /// be marked).
    pub(crate) const fn without_lossy_bodies(mut self) -> Self {
        self.lossy_bodies = false;
        self
    }

    /// The same operation, with 401s retried with backoff (a refused request was not
    /// processed, so this holds for writes too).
    pub(crate) const fn with_unauthorized_retried(mut self) -> Self {
        self.unauthorized_is_transient = true;
        self
    }

    /// A call with effects (retried only when the vendor said it did not process it).
    pub(crate) const fn write(name: &'static str) -> Self {
        Operation {
            name,
            idempotent: false,
            unauthorized_is_transient: false,
            lossy_bodies: true,
        }
    }
}

/// What differs between vendors in the retry layer.
pub(crate) trait VendorRules: Send + Sync + fmt::Debug + 'static {
    /// The vendor's correlation id of a response, for error reports.
    fn correlation_id(&self, _headers: &HeaderMap) -> Option<String> {
        None
    }

    /// A retry delay the vendor states outside the `Retry-After` header (Genesys says
    /// `[N]` seconds in its 429 message).
    fn retry_after_in_body(&self, _status: u16, _detail: &VendorDetail) -> Option<Duration> {
        None
    }

    /// The facade's error for an error status: adds hints, recognises access problems.
    fn api_error(&self, operation: &'static str, status: u16, detail: VendorDetail) -> Error {
        Error::Api {
            operation,
            status,
            detail: Box::new(detail),
            hint: None,
            waited: Duration::ZERO,
        }
    }
}

/// What to do about a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    /// Not retried.
    Fatal,
    /// Retried after an exponential backoff (idempotent calls only).
    Backoff,
    /// Retried after exactly this long (the vendor said so).
    RetryAfter(Duration),
    /// A 429 without a stated delay: backoff, and the whole client pauses.
    RateLimited,
    /// Retried after an exponential backoff whatever the call: the request was not processed
    /// (a 401 the caller declared transient, or a connection that never opened).
    NotProcessed,
}

#[derive(Debug)]
struct Failure {
    error: Error,
    verdict: Verdict,
    status: Option<u16>,
}

impl Failure {
    fn fatal(error: Error) -> Self {
        Failure {
            error,
            verdict: Verdict::Fatal,
            status: None,
        }
    }

    fn transient(error: Error) -> Self {
        let status = error.status();
        Failure {
            error,
            verdict: Verdict::Backoff,
            status,
        }
    }
}

/// Runs calls with pacing, retries and counting: the one path every request takes.
#[derive(Debug)]
pub(crate) struct Retrier {
    policy: RetryPolicy,
    pacer: Arc<Pacer>,
    stats: Arc<Stats>,
    rules: Box<dyn VendorRules>,
    max_body_bytes: u64,
    /// The API's host, for messages about what answered.
    host: String,
    /// The time after which an attempt still unanswered is said (`None`: never).
    slow_answer: Option<Duration>,
}

/// Why TLS refused the server's certificate, when that is why `error`'s connection failed.
fn certificate_refusal(error: &reqwest::Error) -> Option<&rustls::CertificateError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if let Some(rustls::Error::InvalidCertificate(refusal)) = error.downcast_ref() {
            return Some(refusal);
        }
        // An `io::Error`'s `source` skips the error it wraps (and the TLS connector wraps one
        // `io::Error` in another): step into the wrapped one instead.
        cause = match error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(wrapped) => Some(wrapped),
            None => error.source(),
        };
    }
    None
}

fn raw_headers<E>(error: &RawError<E>) -> Option<&HeaderMap> {
    match error {
        RawError::ErrorResponse(response) => Some(response.headers()),
        RawError::UnexpectedResponse(response) => Some(response.headers()),
        _ => None,
    }
}

/// Whether a body that failed to decode is a web page (`<!DOCTYPE html>`, `<html>`, …) rather
/// than a damaged JSON answer.
fn is_html(body: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let start = start.trim_start_matches('\u{feff}').trim_start();
    start.starts_with("<!doctype html") || start.starts_with("<html") || start.starts_with("<head")
}

/// The first characters of a body, on one line, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 160;
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MAX {
        excerpt.push('…');
    }
    excerpt
}

impl Retrier {
    pub(crate) fn new(
        policy: RetryPolicy,
        pacer: Arc<Pacer>,
        stats: Arc<Stats>,
        rules: Box<dyn VendorRules>,
        max_body_bytes: u64,
        host: String,
        request_timeout: Option<Duration>,
    ) -> Self {
        Retrier {
            policy,
            pacer,
            stats,
            rules,
            max_body_bytes,
            host,
            // Only worth saying before a timeout that is further away; without a timeout
            // (tests on tokio's paused clock) no timer runs beside the request.
            slow_answer: request_timeout
                .filter(|timeout| *timeout > SLOW_ANSWER)
                .map(|_| SLOW_ANSWER),
        }
    }

    pub(crate) fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// The pacer every call of the client goes through (maybe shared with other clients of
    /// the account).
    pub(crate) fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }

    /// What the controller of a sliced walk reads, as it changes, of this client's rate
    /// limit: the counters and the pacer's budget.
    pub(crate) fn budget(&self) -> crate::slicing::ReadBudget {
        let (pacer, stats) = (Arc::clone(&self.pacer), Arc::clone(&self.stats));
        Arc::new(move || crate::slicing::Budget {
            stats: stats.snapshot(),
            per_second: pacer.budget_per_second(),
        })
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Sends a call made by `attempt`, retrying as the policy says.
    pub(crate) async fn send<X, E, F, Fut>(
        &self,
        operation: Operation,
        attempt: F,
    ) -> Result<ResponseValue<X>, Error>
    where
        E: ErrorBody,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ResponseValue<X>, RawError<E>>>,
    {
        self.send_checked(operation, attempt, |_| Ok(())).await
    }

    /// Like [`Retrier::send`], and also retries (with backoff) a response that `check`
    /// rejects, such as a page whose next cursor was already used.
    pub(crate) async fn send_checked<X, E, F, Fut, C>(
        &self,
        operation: Operation,
        mut attempt: F,
        mut check: C,
    ) -> Result<ResponseValue<X>, Error>
    where
        E: ErrorBody,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ResponseValue<X>, RawError<E>>>,
        C: FnMut(&X) -> Result<(), Error>,
    {
        let started = std::time::Instant::now();
        let mut backoff = self.policy.backoff();
        let mut html_seen = false;
        let mut attempts = 0u32;
        let mut waited = Duration::ZERO;
        let mut retry_waited = Duration::ZERO;
        let mut lossy = false;
        loop {
            attempts += 1;
            let (permit, paced) = match self.pacer.acquire(self.policy.max_retry_after).await {
                Ok(acquired) => acquired,
                Err(requested) => {
                    return Err(Error::RateLimitResetTooLong {
                        operation: operation.name,
                        // Whole seconds: the headers say seconds.
                        requested: Duration::from_secs(requested.as_secs_f64().round() as u64),
                        max: self.policy.max_retry_after,
                    });
                }
            };
            waited += paced;
            self.stats.waited_pacing(paced);
            self.stats.request();
            // On the heap, once: each wrapper below (and the `async fn`s around this loop)
            // would otherwise hold its own copy of the request's state, a page fetch of
            // about 3.7 KB growing to 47 KB, in every walk of a sliced export.
            let call = Box::pin(raw_support::with_max_body_bytes(
                self.max_body_bytes,
                attempt(),
            ));
            let result = if lossy {
                self.said_if_slow(operation, Box::pin(raw_support::with_lossy_bodies(call)))
                    .await
            } else {
                self.said_if_slow(operation, call).await
            };
            let failure = match result {
                // A body that is not UTF-8 text: no single record may stop an export, so
                // the page is asked for again at once and read from a lossy copy.
                Err(RawError::InvalidResponsePayload(body, error))
                    if operation.lossy_bodies && !lossy && std::str::from_utf8(&body).is_err() =>
                {
                    drop(permit);
                    tracing::warn!(
                        operation = operation.name,
                        %error,
                        "the answer is not UTF-8 text; asking again to read it from a lossy \
                         copy and quarantine the records it cannot hold"
                    );
                    lossy = true;
                    continue;
                }
                Ok(response) => {
                    permit.observe(response.headers());
                    match check(&response) {
                        Ok(()) => return Ok(response),
                        Err(error) => Failure::transient(error),
                    }
                }
                // A web page where JSON was expected: a captive portal or a wrong base URL,
                // not the vendor failing. Asked once more (a portal may let go), then said.
                Err(RawError::InvalidResponsePayload(body, _)) if is_html(&body) && html_seen => {
                    return Err(Error::NotTheApi {
                        operation: operation.name,
                        host: self.host.clone(),
                        excerpt: excerpt(&body),
                    });
                }
                Err(raw) => {
                    if let RawError::InvalidResponsePayload(body, _) = &raw {
                        html_seen = is_html(body);
                    }
                    match raw_headers(&raw) {
                        Some(headers) => permit.observe(headers),
                        None => drop(permit),
                    }
                    self.classify(operation, raw)
                }
            };
            let rate_limited = failure.status == Some(429);
            if rate_limited {
                self.stats.rate_limited();
                // Every request of the client waits, retried or not.
                if let Verdict::RetryAfter(requested) = failure.verdict {
                    self.pacer
                        .pause_for(requested.min(self.policy.max_retry_after));
                }
            }
            let allowed = match failure.verdict {
                Verdict::Fatal => false,
                Verdict::RetryAfter(_) | Verdict::RateLimited | Verdict::NotProcessed => true,
                Verdict::Backoff => operation.idempotent,
            };
            if !allowed {
                return Err(failure.error.with_waited(waited));
            }
            if let Verdict::RetryAfter(requested) = failure.verdict
                && requested > self.policy.max_retry_after
            {
                return Err(Error::RetryAfterTooLong {
                    operation: operation.name,
                    status: failure.status.unwrap_or(429),
                    detail: Box::new(failure.error.vendor_detail().cloned().unwrap_or_default()),
                    requested,
                    max: self.policy.max_retry_after,
                    waited,
                });
            }
            let Some(backoff_delay) = backoff.as_mut().and_then(Iterator::next) else {
                return Err(self.give_up(
                    operation,
                    (attempts, waited, started.elapsed()),
                    GiveUpReason::Attempts,
                    failure,
                ));
            };
            // A `Retry-After` of zero (or a date already past) says nothing about how long to
            // wait: retrying at once would spend every attempt in a moment.
            let delay = match failure.verdict {
                Verdict::RetryAfter(requested) if !requested.is_zero() => requested,
                _ => backoff_delay,
            };
            if self
                .policy
                .wait_budget
                .is_some_and(|budget| retry_waited + delay > budget)
            {
                return Err(self.give_up(
                    operation,
                    (attempts, waited, started.elapsed()),
                    GiveUpReason::WaitBudget,
                    failure,
                ));
            }
            if rate_limited {
                self.pacer.pause_for(delay);
            }
            // Info, not warn: absorbing transient failures is the layer's job, and the stats
            // count them; only a failure that is given up on is worth a warning (an error),
            // a wait long enough to look like a hang, and a server that does not answer at
            // all (each attempt already spent the request timeout in silence).
            let unanswered = matches!(
                failure.error,
                Error::Transport {
                    kind: TransportKind::Timeout,
                    ..
                }
            );
            if unanswered {
                tracing::warn!(
                    operation = operation.name,
                    attempt = attempts,
                    host = %self.host,
                    waited_s = started.elapsed().as_secs(),
                    "no answer from the server within the request timeout; retrying in {}",
                    crate::error::Human(delay)
                );
            } else if delay > LONG_WAIT {
                tracing::warn!(
                    operation = operation.name,
                    attempt = attempts,
                    wait_s = delay.as_secs(),
                    until = %wall_clock_after(delay),
                    error = %failure.error,
                    "waiting before retrying"
                );
            } else {
                tracing::info!(
                    operation = operation.name,
                    attempt = attempts,
                    delay_ms = delay.as_millis() as u64,
                    error = %failure.error,
                    "retrying"
                );
            }
            self.stats.retry();
            tokio::time::sleep(delay).await;
            waited += delay;
            retry_waited += delay;
            match failure.verdict {
                Verdict::RetryAfter(_) => self.stats.waited_retry_after(delay),
                _ => self.stats.waited_backoff(delay),
            }
        }
    }

    /// Awaits one attempt; if it has no answer after [`SLOW_ANSWER`], says so (once), so a
    /// server that accepts and never answers is not silent until the request timeout.
    async fn said_if_slow<T>(&self, operation: Operation, call: impl Future<Output = T>) -> T {
        let Some(after) = self.slow_answer else {
            return call.await;
        };
        let call = std::pin::pin!(call);
        let slow = tokio::time::sleep(after);
        tokio::pin!(slow);
        let mut call = call;
        tokio::select! {
            result = &mut call => return result,
            () = &mut slow => {}
        }
        tracing::warn!(
            operation = operation.name,
            host = %self.host,
            "no answer from the server after {}; still waiting, up to the request timeout",
            crate::error::Human(after)
        );
        call.await
    }

    /// The error of a call given up on; `(attempts, waited, elapsed)` so far.
    fn give_up(
        &self,
        operation: Operation,
        (attempts, waited, elapsed): (u32, Duration, Duration),
        reason: GiveUpReason,
        failure: Failure,
    ) -> Error {
        match failure.error {
            _ if attempts <= 1 => failure.error.with_waited(waited),
            Error::RepeatedCursor { cursor, .. } => Error::RepeatedCursor {
                operation: operation.name,
                cursor,
                attempts,
            },
            last => Error::RetriesExhausted {
                operation: operation.name,
                attempts,
                waited,
                elapsed,
                reason,
                last: Box::new(last.with_waited(waited)),
            },
        }
    }

    fn classify<E: ErrorBody>(&self, operation: Operation, raw: RawError<E>) -> Failure {
        let name = operation.name;
        match raw {
            RawError::ErrorResponse(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let detail = response.into_inner().detail();
                // The header's id wins; the body's (Genesys `contextId`) stays when there is none.
                let detail = match self.rules.correlation_id(&headers) {
                    Some(id) => detail.with_correlation_id(Some(id)),
                    None => detail,
                };
                self.status_failure(operation, status, detail, &headers)
            }
            RawError::UnexpectedResponse(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let detail = VendorDetail::default()
                    .with_correlation_id(self.rules.correlation_id(&headers));
                self.status_failure(operation, status, detail, &headers)
            }
            RawError::CommunicationError(source) => {
                if source.is_builder() {
                    return Failure::fatal(Error::InvalidRequest {
                        operation: name,
                        message: source.to_string(),
                    });
                }
                if let Some(refusal) = certificate_refusal(&source) {
                    tracing::debug!("{name}: the server's certificate was refused: {refusal}");
                    return Failure::fatal(Error::Transport {
                        operation: name,
                        kind: TransportKind::Certificate,
                        waited: Duration::ZERO,
                        source,
                    });
                }
                let kind = if source.is_timeout() {
                    TransportKind::Timeout
                } else if source.is_connect() {
                    TransportKind::Connect
                } else if source.is_body() || source.is_decode() {
                    TransportKind::Body
                } else {
                    TransportKind::Request
                };
                let mut failure = Failure::transient(Error::Transport {
                    operation: name,
                    kind,
                    waited: Duration::ZERO,
                    source,
                });
                // A connection that never opened carried no request: safe to send again even
                // when repeating the call is not (a connect *timeout* is `Timeout` above, and
                // stays a backoff for idempotent calls only).
                if kind == TransportKind::Connect {
                    failure.verdict = Verdict::NotProcessed;
                }
                failure
            }
            RawError::ResponseBodyError(source)
                if raw_support::body_too_large(&source).is_some() =>
            {
                // Deterministic: asking again would read the same oversized body.
                let limit = raw_support::body_too_large(&source).map_or(0, |cap| cap.limit);
                Failure::fatal(Error::BodyTooLarge {
                    operation: name,
                    limit,
                })
            }
            RawError::ResponseBodyError(source) => Failure::transient(Error::Transport {
                operation: name,
                kind: if source.is_timeout() {
                    TransportKind::Timeout
                } else {
                    TransportKind::Body
                },
                waited: Duration::ZERO,
                source,
            }),
            RawError::InvalidResponsePayload(body, error) => Failure::transient(Error::Decode {
                operation: name,
                status: None,
                message: format!("{error}; the body starts with `{}`", excerpt(&body)),
                waited: Duration::ZERO,
            }),
            RawError::InvalidUpgrade(source) => Failure::fatal(Error::Transport {
                operation: name,
                kind: TransportKind::Request,
                waited: Duration::ZERO,
                source,
            }),
            RawError::InvalidRequest(message) | RawError::Custom(message) => {
                Failure::fatal(Error::InvalidRequest {
                    operation: name,
                    message,
                })
            }
        }
    }

    fn status_failure(
        &self,
        operation: Operation,
        status: u16,
        detail: VendorDetail,
        headers: &HeaderMap,
    ) -> Failure {
        let stated =
            retry_after(headers).or_else(|| self.rules.retry_after_in_body(status, &detail));
        let error = self.rules.api_error(operation.name, status, detail);
        let verdict = match (status, stated) {
            (429, Some(wait)) | (503, Some(wait)) => Verdict::RetryAfter(wait),
            (429, None) => Verdict::RateLimited,
            (408 | 500 | 502 | 503 | 504, _) => Verdict::Backoff,
            // Only a plain refusal: an access problem (`AccessDenied`) does not pass.
            (401, _)
                if operation.unauthorized_is_transient && matches!(error, Error::Api { .. }) =>
            {
                Verdict::NotProcessed
            }
            _ => Verdict::Fatal,
        };
        Failure {
            error,
            verdict,
            status: Some(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_after_too_long_for_a_duration_is_the_longest_not_a_panic() {
        // Regression (issue 7, hostile input): `Duration::from_secs_f64` panicked on these.
        let now = SystemTime::now();
        for huge in ["1e300", "1e20", "99999999999999999999999999", "2e19"] {
            assert_eq!(parse_retry_after(huge, now), Some(Duration::MAX), "{huge}");
        }
        assert_eq!(parse_retry_after("NaN", now), None);
        assert_eq!(parse_retry_after("inf", now), None);
    }

    #[test]
    fn retry_after_parses_seconds_dates_and_rejects_garbage() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date in the past: retry now.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("later", now), None);
    }

    #[test]
    fn backoff_has_one_delay_per_retry_and_doubles_without_jitter() {
        let policy = RetryPolicy::default()
            .with_max_attempts(4)
            .with_backoff(Duration::from_secs(1), Duration::from_secs(3))
            .without_jitter();
        let delays: Vec<Duration> = policy.backoff().unwrap().collect();
        assert_eq!(
            delays,
            [1, 2, 3].map(Duration::from_secs).to_vec(),
            "three retries after the first attempt, capped at the maximum"
        );
        assert!(RetryPolicy::none().backoff().is_none());
    }

    #[test]
    fn excerpt_is_short_and_on_one_line() {
        let body = format!("{{\"audit_logs\": [\n{}", "x".repeat(500));
        let text = excerpt(body.as_bytes());
        assert!(!text.contains('\n'));
        assert!(text.ends_with('…'));
        assert!(text.chars().count() <= 161);
    }
}
