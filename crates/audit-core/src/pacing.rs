//! Client-side pacing, so a long export spends its rate limit instead of living on 429s.
//!
//! Two mechanisms, both per client and both optional:
//!
//! - **Adaptive pacing** from the vendor's rate-limit headers. Every response tells how many
//!   requests are left in the current window and (usually) when it resets; when the budget is
//!   used up, the next request waits for the reset instead of meeting a 429. How headers are
//!   read is vendor-pluggable ([`RateLimitHeaders`]; [`NamedRateLimitHeaders`] covers the
//!   common "limit / remaining / reset-in-seconds" shape).
//! - A **rate budget**, for sharing an account's limit with the customer's other integrations
//!   (which spend from the same counter, so the vendor's `remaining` cannot say what is
//!   ours): a fixed cap of `N` requests a minute ([`PacingConfig::with_requests_per_minute`])
//!   and a share of the limit the vendor's headers report ([`PacingConfig::with_rate_share`]:
//!   `0.5` of 700 a minute is 350 a minute, whatever `remaining` says). Both pace evenly, one
//!   request every `60 s / N` (a token bucket that holds one request), never in bursts at a
//!   window's start; with both set the smaller budget wins. The timing runs on
//!   `tokio::time`, so tests on a paused clock see every wait.
//!
//! One pacer serves every stream of a client, and clients of one account can share one
//! (`ZendeskClientBuilder::pacing_shared_with`, `GenesysClientBuilder::pacing_shared_with`):
//! the budget is the account's.
//!
//! A `429` pauses the whole client (every request of every stream that shares it) for the
//! `Retry-After` the vendor asked for; see [`crate::retry`].

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What one response says about the rate limit.
///
/// ```
/// use std::time::Duration;
/// use audit_core::pacing::RateLimitReading;
///
/// let reading = RateLimitReading { limit: Some(700), remaining: Some(0), reset: Some(Duration::from_secs(41)) };
/// assert!(reading.is_exhausted(0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitReading {
    /// Requests allowed per window.
    pub limit: Option<u32>,
    /// Requests left in the current window.
    pub remaining: Option<u32>,
    /// Time until the window resets.
    pub reset: Option<Duration>,
}

impl RateLimitReading {
    /// Whether no more than `reserve` requests are left.
    ///
    /// ```
    /// use audit_core::pacing::RateLimitReading;
    ///
    /// let reading = RateLimitReading { limit: Some(700), remaining: Some(12), reset: None };
    /// assert!(!reading.is_exhausted(0));
    /// assert!(reading.is_exhausted(20)); // 20 kept in reserve for other integrations
    /// ```
    pub fn is_exhausted(&self, reserve: u32) -> bool {
        self.remaining.is_some_and(|remaining| remaining <= reserve)
    }
}

/// Reads a vendor's rate-limit headers.
///
/// ```
/// use audit_core::pacing::{RateLimitHeaders, RateLimitReading, header_number};
/// use reqwest::header::{HeaderMap, HeaderValue};
///
/// /// A vendor that only says how many requests are left.
/// #[derive(Debug)]
/// struct RemainingOnly;
///
/// impl RateLimitHeaders for RemainingOnly {
///     fn read(&self, headers: &HeaderMap) -> Option<RateLimitReading> {
///         let remaining = header_number(headers, &["x-left"])? as u32;
///         Some(RateLimitReading { remaining: Some(remaining), ..Default::default() })
///     }
/// }
/// let mut headers = HeaderMap::new();
/// headers.insert("x-left", HeaderValue::from_static("3"));
/// assert_eq!(RemainingOnly.read(&headers).unwrap().remaining, Some(3));
/// ```
pub trait RateLimitHeaders: Send + Sync + fmt::Debug + 'static {
    /// What the headers say, or `None` when they say nothing about the rate limit.
    fn read(&self, headers: &HeaderMap) -> Option<RateLimitReading>;
}

/// Reads rate-limit headers of the common shape: a limit, a remaining count and a reset in
/// seconds, each under one of several names (the first present wins).
///
/// ```
/// use audit_core::pacing::{NamedRateLimitHeaders, RateLimitHeaders};
/// use reqwest::header::{HeaderMap, HeaderValue};
///
/// let names = NamedRateLimitHeaders {
///     limit: &["ratelimit-limit", "x-rate-limit"],
///     remaining: &["ratelimit-remaining", "x-rate-limit-remaining"],
///     reset: &["ratelimit-reset"],
/// };
/// let mut headers = HeaderMap::new();
/// headers.insert("x-rate-limit", HeaderValue::from_static("700"));
/// headers.insert("x-rate-limit-remaining", HeaderValue::from_static("699"));
/// let reading = names.read(&headers).unwrap();
/// assert_eq!(reading.limit, Some(700));
/// assert_eq!(reading.remaining, Some(699));
/// assert_eq!(reading.reset, None);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NamedRateLimitHeaders {
    /// Names of the "requests per window" header.
    pub limit: &'static [&'static str],
    /// Names of the "requests left" header.
    pub remaining: &'static [&'static str],
    /// Names of the "seconds until reset" header.
    pub reset: &'static [&'static str],
}

/// The first of `names` present in `headers`, parsed as a non-negative number.
///
/// ```
/// use audit_core::pacing::header_number;
/// use reqwest::header::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-rate-limit-remaining", HeaderValue::from_static("699"));
/// assert_eq!(header_number(&headers, &["ratelimit-remaining", "x-rate-limit-remaining"]), Some(699.0));
/// assert_eq!(header_number(&headers, &["ratelimit-limit"]), None);
/// ```
pub fn header_number(headers: &HeaderMap, names: &[&str]) -> Option<f64> {
    names.iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim();
        value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    })
}

/// The longest rate-limit reset taken from a header: a year (a vendor's absurd value must
/// neither panic the conversion nor overflow the clock when added to now).
pub(crate) const MAX_RESET: Duration = Duration::from_secs(365 * 86_400);

/// A reset in seconds from a header (finite, not negative) as a `Duration`, at most
/// [`MAX_RESET`].
pub(crate) fn reset_duration(seconds: f64) -> Duration {
    crate::retry::secs_at_most(seconds, MAX_RESET)
}

impl RateLimitHeaders for NamedRateLimitHeaders {
    fn read(&self, headers: &HeaderMap) -> Option<RateLimitReading> {
        let to_u32 = |v: f64| v.min(u32::MAX as f64) as u32;
        let reading = RateLimitReading {
            limit: header_number(headers, self.limit).map(to_u32),
            remaining: header_number(headers, self.remaining).map(to_u32),
            reset: header_number(headers, self.reset).map(reset_duration),
        };
        (reading != RateLimitReading::default()).then_some(reading)
    }
}

/// Pacing settings of a client.
///
/// ```
/// use audit_core::PacingConfig;
///
/// let pacing = PacingConfig::default().with_requests_per_minute(300).with_reserve(10);
/// assert_eq!(pacing.requests_per_minute(), Some(300));
/// assert!(PacingConfig::off().requests_per_minute().is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PacingConfig {
    adaptive: bool,
    reserve: u32,
    reset_margin: Duration,
    assumed_window: Duration,
    requests_per_minute: Option<NonZeroU32>,
    rate_share: Option<f64>,
}

impl Default for PacingConfig {
    /// Adaptive pacing on, no reserve, a 1 s margin after each reset, a 60 s window assumed
    /// when the vendor does not say when it resets, no rate budget.
    fn default() -> Self {
        PacingConfig {
            adaptive: true,
            reserve: 0,
            reset_margin: Duration::from_secs(1),
            assumed_window: Duration::from_secs(60),
            requests_per_minute: None,
            rate_share: None,
        }
    }
}

impl PacingConfig {
    /// No pacing at all: requests go out as fast as they are made (429s are still honoured
    /// by the retry policy).
    ///
    /// ```
    /// use audit_core::PacingConfig;
    ///
    /// let off = PacingConfig::off();
    /// assert!(!off.adaptive() && off.requests_per_minute().is_none());
    /// ```
    pub fn off() -> Self {
        PacingConfig {
            adaptive: false,
            ..PacingConfig::default()
        }
    }

    /// Turns pacing from the vendor's rate-limit headers on or off.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    ///
    /// // Keep the fixed cap, ignore the vendor's rate-limit headers.
    /// let pacing = PacingConfig::default().with_adaptive(false).with_requests_per_minute(100);
    /// assert!(!pacing.adaptive());
    /// ```
    pub fn with_adaptive(mut self, adaptive: bool) -> Self {
        self.adaptive = adaptive;
        self
    }

    /// Leaves `reserve` requests of every window unused, for other integrations of the same
    /// account.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    ///
    /// let pacing = PacingConfig::default().with_reserve(50);
    /// assert_eq!(pacing.reserve(), 50);
    /// ```
    pub fn with_reserve(mut self, reserve: u32) -> Self {
        self.reserve = reserve;
        self
    }

    /// How long to wait past the announced reset (reset headers are rounded to seconds).
    ///
    /// ```
    /// use audit_core::PacingConfig;
    /// use std::time::Duration;
    ///
    /// let pacing = PacingConfig::default().with_reset_margin(Duration::from_secs(3));
    /// assert_ne!(pacing, PacingConfig::default());
    /// ```
    pub fn with_reset_margin(mut self, margin: Duration) -> Self {
        self.reset_margin = margin;
        self
    }

    /// The window length assumed when the vendor reports a remaining count but no reset, and
    /// the longest window a share is spread over (both vendors count per minute; the
    /// simulator's shorter windows show in its reset headers).
    ///
    /// ```
    /// use audit_core::PacingConfig;
    /// use std::time::Duration;
    ///
    /// let pacing = PacingConfig::default().with_assumed_window(Duration::from_secs(10));
    /// assert_ne!(pacing, PacingConfig::default());
    /// ```
    pub fn with_assumed_window(mut self, window: Duration) -> Self {
        self.assumed_window = window;
        self
    }

    /// Caps the client at `rpm` requests per minute, evenly spaced (one every `60 s / rpm`,
    /// never a burst); `0` removes the cap.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    ///
    /// let capped = PacingConfig::default().with_requests_per_minute(120);
    /// assert_eq!(capped.requests_per_minute(), Some(120));
    /// assert_eq!(capped.with_requests_per_minute(0).requests_per_minute(), None);
    /// ```
    pub fn with_requests_per_minute(mut self, rpm: u32) -> Self {
        self.requests_per_minute = NonZeroU32::new(rpm);
        self
    }

    /// Spends at most `share` (0 < share ≤ 1) of the rate limit the vendor's headers report
    /// (`X-Rate-Limit` / `ratelimit-limit` for Zendesk, `inin-ratelimit-allowed` for
    /// Genesys), evenly over the vendor's window: with `0.5` and a limit of 700 a minute, one
    /// request every 60 s / 350, whatever the `remaining` header says (the rest belongs to the
    /// account's other integrations, which spend from the same counter). Until the first
    /// answer reports the limit, requests go one at a time. With a fixed cap as well, the
    /// smaller budget wins.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    ///
    /// let half = PacingConfig::default().with_rate_share(0.5)?;
    /// assert_eq!(half.rate_share(), Some(0.5));
    /// assert!(PacingConfig::default().with_rate_share(0.0).is_err());
    /// assert!(PacingConfig::default().with_rate_share(1.5).is_err());
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] when `share` is not in `(0, 1]`.
    pub fn with_rate_share(mut self, share: f64) -> Result<Self, crate::Error> {
        if !(share > 0.0 && share <= 1.0) {
            return Err(crate::Error::InvalidConfig(format!(
                "a rate share must be more than 0 and at most 1 (all of the limit), not {share}"
            )));
        }
        self.rate_share = Some(share);
        Ok(self)
    }

    /// Whether adaptive pacing is on.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    ///
    /// assert!(PacingConfig::default().adaptive());
    /// ```
    pub fn adaptive(&self) -> bool {
        self.adaptive
    }

    /// Requests left unused in every window.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    ///
    /// assert_eq!(PacingConfig::default().reserve(), 0);
    /// ```
    pub fn reserve(&self) -> u32 {
        self.reserve
    }

    /// The fixed cap, if any.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    ///
    /// assert_eq!(PacingConfig::default().requests_per_minute(), None);
    /// ```
    pub fn requests_per_minute(&self) -> Option<u32> {
        self.requests_per_minute.map(NonZeroU32::get)
    }

    /// The share of the vendor's limit, if any.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    ///
    /// assert_eq!(PacingConfig::default().rate_share(), None);
    /// ```
    pub fn rate_share(&self) -> Option<f64> {
        self.rate_share
    }
}

#[derive(Debug, Default)]
struct PacerState {
    paused_until: Option<Instant>,
    limit: Option<u32>,
    /// Requests left in the vendor's window as far as the pacer can tell: the last answer's
    /// count less the requests it may not hold. Below zero while that is more than the count
    /// (a debt that overtaken answers may pay back, see [`Pacer::apply`]).
    remaining: Option<i64>,
    last_reported_remaining: Option<u32>,
    reset_at: Option<Instant>,
    window_started: Option<Instant>,
    /// The sequence numbers of the requests out and not yet answered.
    in_flight: BTreeSet<u64>,
    /// Requests that ended without an answer (a timeout, a reset, a dropped read-ahead), each
    /// with `sent` when it ended: the vendor may have counted one, or may count it still,
    /// until an answer to a request numbered after that end says otherwise.
    abandoned: VecDeque<(u64, u64)>,
    /// Requests sent so far: the sequence number of the next one.
    sent: u64,
    /// The sequence number of the request whose answer last set `remaining`.
    applied: Option<u64>,
    /// The longest reset the vendor announced: its window is at least that long.
    longest_reset: Option<Duration>,
    /// When the last request went out: the next waits the rate budget's spacing after it
    /// (worked out when it is asked, so a limit learnt meanwhile counts).
    last_taken: Option<Instant>,
    /// Answers that reported no limit while a share waits for one.
    answers_without_limit: u32,
}

/// Why a request may not go out yet.
enum Hold {
    /// The client is paused (a 429's `Retry-After`) for this long.
    Paused(Duration),
    /// The rate budget (the vendor's remaining count, the cap or the share) frees up in this
    /// long.
    Budget(Duration),
    /// A share is set and the vendor's limit is not known yet: one request at a time until a
    /// response says it.
    Answer,
}

/// The per-client pacer: adaptive budget, client-wide pauses, and the rate budget (the fixed
/// cap and the share of the vendor's limit, one even spacing). Clients of one account may
/// share one (`Arc<Pacer>`), so every stream of the account spends one budget.
pub(crate) struct Pacer {
    config: PacingConfig,
    headers: Box<dyn RateLimitHeaders>,
    state: Mutex<PacerState>,
    /// Woken on every answer (or released permit), for requests waiting to learn the limit.
    answered: Notify,
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("config", &self.config)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// One request's claim on the budget; report the response's headers with
/// [`Permit::observe`]. Dropping it without observing (a transport failure) releases it.
pub(crate) struct Permit<'a> {
    pacer: &'a Pacer,
    /// The request's place among those the pacer let out.
    sequence: u64,
    released: bool,
}

impl Permit<'_> {
    /// Feeds the response's rate-limit headers to the pacer.
    pub(crate) fn observe(mut self, headers: &HeaderMap) {
        self.released = true;
        let reading = self.pacer.headers.read(headers);
        {
            let mut state = self.pacer.lock();
            state.in_flight.remove(&self.sequence);
            if let Some(reading) = reading {
                self.pacer
                    .apply(&mut state, reading, self.sequence, Instant::now());
            }
            self.pacer.tell_if_no_limit(&mut state);
        }
        self.pacer.answered.notify_waiters();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.released {
            {
                let mut state = self.pacer.lock();
                state.in_flight.remove(&self.sequence);
                let ended = (self.sequence, state.sent);
                if state.abandoned.len() == MAX_ABANDONED {
                    state.abandoned.pop_front();
                }
                state.abandoned.push_back(ended);
                tracing::trace!(
                    sequence = self.sequence,
                    "pacing: a request ends unanswered"
                );
            }
            self.pacer.answered.notify_waiters();
        }
    }
}

impl Pacer {
    pub(crate) fn new(config: PacingConfig, headers: Box<dyn RateLimitHeaders>) -> Self {
        Pacer {
            config,
            headers,
            state: Mutex::new(PacerState::default()),
            answered: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until a request may go out; returns the claim and how long it waited. A wait
    /// longer than `max_wait` (a rate-limit window that resets in a day) is not made: its
    /// length is the error. A wait longer than [`crate::retry::LONG_WAIT`] is logged as a
    /// warning, so it is visible at the default verbosity.
    pub(crate) async fn acquire(
        &self,
        max_wait: Duration,
    ) -> Result<(Permit<'_>, Duration), Duration> {
        let started = Instant::now();
        let mut told = false;
        // Only a request that slept waited: the lock and the checks are not a wait.
        let mut slept = false;
        let sequence = loop {
            // Registered before the state is read, so an answer in between is not missed.
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let hold = {
                let mut state = self.lock();
                match self.hold(&mut state, Instant::now()) {
                    Some(hold) => hold,
                    None => break self.take(&mut state, Instant::now()),
                }
            };
            let wait = match hold {
                Hold::Answer => {
                    tracing::debug!("pacing: waiting for the vendor to report its rate limit");
                    answered.await;
                    slept = true;
                    continue;
                }
                Hold::Budget(wait) => wait,
                Hold::Paused(wait) => wait,
            };
            if wait > max_wait {
                return Err(wait);
            }
            if wait > crate::retry::LONG_WAIT && !told {
                told = true;
                tracing::warn!(
                    wait_s = wait.as_secs(),
                    until = %crate::retry::wall_clock_after(wait),
                    "waiting for the vendor's rate limit: its budget is spent until then"
                );
            } else {
                tracing::debug!(wait_ms = wait.as_millis() as u64, "pacing: waiting");
            }
            tokio::time::sleep(wait).await;
            slept = true;
        };
        let permit = Permit {
            pacer: self,
            sequence,
            released: false,
        };
        let waited = if slept {
            started.elapsed()
        } else {
            Duration::ZERO
        };
        Ok((permit, waited))
    }

    /// Pauses every request of the client for `wait` (a 429's `Retry-After`).
    pub(crate) fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.lock();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
    }

    /// The requests a second this pacer lets its clients make, as far as it knows: the
    /// tightest of the fixed cap, the share of the vendor's limit and (pacing adaptively) the
    /// vendor's whole limit, each over the vendor's window; `None` while nothing bounds it (no
    /// cap, and no limit reported yet). For the time-sliced export's controller: walks beyond
    /// what this rate needs would only queue.
    pub(crate) fn budget_per_second(&self) -> Option<f64> {
        let state = self.lock();
        let window = state
            .longest_reset
            .map_or(self.config.assumed_window, |reset| {
                reset.min(self.config.assumed_window)
            })
            .as_secs_f64()
            .max(1.0);
        let cap = self
            .config
            .requests_per_minute
            .map(|rpm| f64::from(rpm.get()) / 60.0);
        let vendor = state
            .limit
            .filter(|_| self.config.adaptive || self.config.rate_share.is_some())
            .map(|limit| {
                let ours = match self.config.rate_share {
                    Some(share) => share_of(share, limit),
                    None => limit,
                };
                f64::from(ours) / window
            });
        match (cap, vendor) {
            (Some(cap), Some(vendor)) => Some(cap.min(vendor)),
            (cap, vendor) => cap.or(vendor),
        }
    }

    /// Claims the budget for one request going out at `now`; returns its sequence number.
    fn take(&self, state: &mut PacerState, now: Instant) -> u64 {
        if let Some(remaining) = state.remaining.as_mut() {
            *remaining -= 1;
        }
        state.last_taken = Some(now);
        let sequence = state.sent;
        state.sent += 1;
        state.in_flight.insert(sequence);
        tracing::trace!(
            sequence,
            remaining = ?state.remaining,
            out = state.in_flight.len(),
            "pacing: a request goes out"
        );
        sequence
    }

    /// The time between two requests the rate budget asks for: `60 s / N` under a cap of `N`
    /// a minute, `window / ⌊share × limit⌋` under a share of the vendor's limit, the longer
    /// of the two when both are set (the smaller budget wins). The vendor's window is the
    /// longest reset it has announced (a minute for Zendesk and Genesys, shorter in the
    /// simulator), at most the assumed window; when it announces none, the assumed window.
    fn spacing(&self, state: &PacerState) -> Option<Duration> {
        let cap = self
            .config
            .requests_per_minute
            .map(|rpm| Duration::from_secs(60) / rpm.get());
        let share = self
            .config
            .rate_share
            .zip(state.limit)
            .map(|(share, limit)| {
                let ours = share_of(share, limit);
                let window = state
                    .longest_reset
                    .map_or(self.config.assumed_window, |reset| {
                        reset.min(self.config.assumed_window)
                    });
                window / ours
            });
        cap.max(share)
    }

    fn hold(&self, state: &mut PacerState, now: Instant) -> Option<Hold> {
        if let Some(until) = state.paused_until {
            if until > now {
                return Some(Hold::Paused(until - now));
            }
            state.paused_until = None;
        }
        if let Some(wait) = self.adaptive_wait(state, now) {
            return Some(Hold::Budget(wait));
        }
        if self.config.rate_share.is_some() && state.limit.is_none() && !state.in_flight.is_empty()
        {
            // Before the vendor has said its limit, the share is unknown: one request at a
            // time, so no burst goes out before the first answer.
            return Some(Hold::Answer);
        }
        let ready = state
            .last_taken
            .zip(self.spacing(state))
            .map(|(last, spacing)| last + spacing);
        match ready {
            Some(ready) if ready > now => Some(Hold::Budget(ready - now)),
            _ => None,
        }
    }

    fn adaptive_wait(&self, state: &mut PacerState, now: Instant) -> Option<Duration> {
        if !self.config.adaptive {
            return None;
        }
        let exhausted = state
            .remaining
            .is_some_and(|remaining| remaining <= i64::from(self.config.reserve));
        if !exhausted {
            return None;
        }
        let ready = match state.reset_at {
            Some(reset_at) => reset_at + self.config.reset_margin,
            None => {
                let started = *state.window_started.get_or_insert(now);
                started + self.config.assumed_window + self.config.reset_margin
            }
        };
        if ready > now {
            Some(ready - now)
        } else {
            // The window has reset: the budget is unknown until the next response says.
            state.remaining = None;
            state.reset_at = None;
            state.window_started = None;
            None
        }
    }

    /// Takes in the reading of the answer to request `sequence`, arriving at `now`.
    fn apply(
        &self,
        state: &mut PacerState,
        reading: RateLimitReading,
        sequence: u64,
        now: Instant,
    ) {
        match reading.reset {
            Some(reset) => {
                let announced = now + reset;
                // Every answer of one window announces its reset, in whole seconds rounded up
                // and late by the answer's trip: the earliest is the closest, and still not
                // early. One later by more than the rounding is the next window's.
                state.reset_at = match state.reset_at {
                    Some(current) if now < current && announced < current + RESET_ROUNDING => {
                        Some(current.min(announced))
                    }
                    _ => Some(announced),
                };
                state.longest_reset = state.longest_reset.max(Some(reset));
            }
            None => {
                state.reset_at = None;
                let went_up = matches!(
                    (state.last_reported_remaining, reading.remaining),
                    (Some(before), Some(after)) if after > before
                );
                if went_up || state.window_started.is_none() {
                    state.window_started = Some(now);
                }
            }
        }
        if reading.limit.is_some() {
            state.limit = reading.limit;
        }
        // Requests of several walks are out at once, and neither their answers nor the
        // vendor's counting keep the order they were numbered in (a task numbered first may
        // send second; the vendor serves concurrent requests, HTTP/2 streams of one connection
        // too, in any order). So an answer's remaining is taken less every request numbered
        // after it, and less those numbered before it that are still unanswered: the vendor
        // may not have counted them yet. Believing one request too many is left costs a 429
        // and a pause of every stream; believing one too few costs at most that request's
        // slot until the next answer.
        let Some(remaining) = reading.remaining else {
            return;
        };
        let overtaken = state.applied.is_some_and(|applied| sequence < applied);
        if overtaken {
            // An older count, higher than the vendor's now: its figure is left out. But this
            // request was still out when the later answer was taken in, so it was taken as
            // not counted; if it reports more left than that answer did, the vendor counted it
            // first, and that answer's figure holds it already.
            if state
                .last_reported_remaining
                .is_some_and(|later| remaining > later)
                && let Some(left) = state.remaining.as_mut()
            {
                *left += 1;
            }
            tracing::trace!(
                sequence,
                reported = remaining,
                remaining = ?state.remaining,
                "pacing: an overtaken answer"
            );
            return;
        }
        let sent_since = state.sent - sequence - 1;
        // An abandoned request the vendor counted at all, it counted before this one if this
        // one was numbered after it ended.
        state
            .abandoned
            .retain(|&(_, sent_at_end)| sent_at_end > sequence);
        let unanswered_before = (state.in_flight.range(..sequence).count()
            + state
                .abandoned
                .iter()
                .filter(|&&(abandoned, _)| abandoned < sequence)
                .count()) as u64;
        state.last_reported_remaining = Some(remaining);
        // Not clamped at zero: the requests an overtaken answer gives back pay a debt first.
        state.remaining = Some(i64::from(remaining) - (sent_since + unanswered_before) as i64);
        state.applied = Some(sequence);
        tracing::trace!(
            sequence,
            reported = remaining,
            sent_since,
            unanswered_before,
            reset = ?reading.reset,
            remaining = ?state.remaining,
            "pacing: an answer"
        );
    }
}

impl Pacer {
    /// Says once that a share cannot be worked out when answers keep coming without the
    /// limit. Not at the first: an OAuth token's answer (the login host's) goes through the
    /// pacer too and reports none.
    fn tell_if_no_limit(&self, state: &mut PacerState) {
        const SAID_AFTER: u32 = 3;
        if self.config.rate_share.is_none() || state.limit.is_some() {
            return;
        }
        state.answers_without_limit += 1;
        if state.answers_without_limit == SAID_AFTER {
            tracing::warn!(
                "the vendor's answers do not report its rate limit, so a share of it cannot \
                 be worked out: requests go one at a time until an answer does"
            );
        }
    }
}

/// How many requests ended without an answer the pacer keeps counting as maybe not counted
/// by the vendor yet (each only until the next answer to a later request).
const MAX_ABANDONED: usize = 64;

/// How far apart two answers of one window may announce its reset (headers say whole
/// seconds).
const RESET_ROUNDING: Duration = Duration::from_secs(1);

/// Requests a window that `share` of `limit` allows: at least one.
fn share_of(share: f64, limit: u32) -> u32 {
    // The epsilon keeps 0.29 × 100 at 29 (it is 28.999… in binary).
    ((share * f64::from(limit) + 1e-9).floor() as u32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const NAMES: NamedRateLimitHeaders = NamedRateLimitHeaders {
        limit: &["ratelimit-limit", "x-rate-limit"],
        remaining: &["ratelimit-remaining", "x-rate-limit-remaining"],
        reset: &["ratelimit-reset"],
    };

    #[test]
    fn an_absurd_reset_is_capped_not_a_panic() {
        // Regression (issue 7, hostile input): `Duration::from_secs_f64` panicked on it, and
        // a representable but huge reset overflowed the clock when added to now.
        for reset in ["1e300", "1e19", "18446744073709551615"] {
            let mut map = HeaderMap::new();
            map.insert("ratelimit-remaining", HeaderValue::from_static("5"));
            map.insert("ratelimit-reset", HeaderValue::from_str(reset).unwrap());
            assert_eq!(NAMES.read(&map).unwrap().reset, Some(MAX_RESET), "{reset}");
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn named_headers_prefer_the_first_name_and_ignore_garbage() {
        let reading = NAMES
            .read(&headers(&[
                ("ratelimit-limit", "700"),
                ("x-rate-limit", "1"),
                ("ratelimit-remaining", "oops"),
                ("x-rate-limit-remaining", "12"),
                ("ratelimit-reset", "41"),
            ]))
            .unwrap();
        assert_eq!(reading.limit, Some(700));
        assert_eq!(reading.remaining, Some(12));
        assert_eq!(reading.reset, Some(Duration::from_secs(41)));
        assert_eq!(NAMES.read(&HeaderMap::new()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reset_beyond_the_longest_wait_is_refused_not_slept() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&headers(&[
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "86400"),
        ]));
        let started = Instant::now();
        let refused = pacer.acquire(Duration::from_secs(180)).await.err();
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "no sleep before refusing"
        );
        assert_eq!(
            refused,
            Some(Duration::from_secs(86_401)),
            "the reset plus the margin"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_budget_waits_for_the_reset_plus_margin() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::ZERO);
        permit.observe(&headers(&[
            ("ratelimit-limit", "10"),
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "5"),
        ]));
        let (_permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn remaining_budget_does_not_wait_and_is_spent_locally() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&left("2"));
        // Two requests left: both go at once, even before their responses arrive.
        let (first, waited_first) = pacer.acquire(MAX_RESET).await.unwrap();
        let (second, waited_second) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited_first + waited_second, Duration::ZERO);
        drop(first);
        drop(second);
        // The third waits for the window to reset.
        let (_third, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::from_secs(31));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_overtaken_by_a_later_one_does_not_raise_the_budget() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&left("3"));
        let (first, _) = pacer.acquire(MAX_RESET).await.unwrap();
        let (second, _) = pacer.acquire(MAX_RESET).await.unwrap();
        // The vendor counted the first (2 left), then the second (1 left); the second's
        // answer arrives first.
        second.observe(&left("1"));
        first.observe(&left("2"));
        // One request is left, not two.
        let (_third, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::ZERO);
        let (_fourth, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::from_secs(31), "the reset and the margin");
    }

    /// An answer saying `remaining` requests are left, the window resetting in 30 s.
    fn left(remaining: &'static str) -> HeaderMap {
        headers(&[
            ("ratelimit-remaining", remaining),
            ("ratelimit-reset", "30"),
        ])
    }

    /// Acquires until a request has to wait; the number that went at once.
    async fn sent_at_once(pacer: &Pacer) -> usize {
        let mut held = Vec::new();
        loop {
            let (permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
            if waited > Duration::ZERO {
                assert_eq!(waited, Duration::from_secs(31), "the reset and the margin");
                return held.len();
            }
            held.push(permit);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_request_still_out_is_not_counted_until_its_answer_says() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (first, _) = pacer.acquire(MAX_RESET).await.unwrap();
        let (second, _) = pacer.acquire(MAX_RESET).await.unwrap();
        // The second's answer comes while the first is still out: 3 left, whether or not the
        // vendor has counted the first.
        second.observe(&left("3"));
        {
            let (_third, waited) = pacer.acquire(MAX_RESET).await.unwrap();
            assert_eq!(waited, Duration::ZERO);
        }
        // The first's answer says 4: it was counted before the second, so 3 was after both.
        first.observe(&left("4"));
        assert_eq!(sent_at_once(&pacer).await, 2, "3 left, less the third");
    }

    #[tokio::test(start_paused = true)]
    async fn answers_counted_out_of_their_order_do_not_overspend() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&left("3"));
        let (first, _) = pacer.acquire(MAX_RESET).await.unwrap();
        let (second, _) = pacer.acquire(MAX_RESET).await.unwrap();
        // The second reached the vendor first (2 left), then the first (1 left); answered
        // in that order too.
        second.observe(&left("2"));
        first.observe(&left("1"));
        assert_eq!(
            sent_at_once(&pacer).await,
            1,
            "one request is left, not two"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn requests_taken_as_uncounted_beyond_the_count_are_a_debt_not_forgotten() {
        // As a sliced export met it (a 429): three requests out, a fourth sent after them;
        // the third's answer comes first and says 2 left.
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (first, _) = pacer.acquire(MAX_RESET).await.unwrap();
        let (second, _) = pacer.acquire(MAX_RESET).await.unwrap();
        let (third, _) = pacer.acquire(MAX_RESET).await.unwrap();
        let (_fourth, _) = pacer.acquire(MAX_RESET).await.unwrap();
        third.observe(&left("2"));
        // The first two were counted before it: 2 left after the third, 1 after the fourth.
        second.observe(&left("4"));
        first.observe(&left("3"));
        assert_eq!(sent_at_once(&pacer).await, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_ended_without_an_answer_may_still_be_counted() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (first, _) = pacer.acquire(MAX_RESET).await.unwrap();
        let (second, _) = pacer.acquire(MAX_RESET).await.unwrap();
        // The first was sent, then given up (a timeout); the vendor counts it after the
        // second, whose answer says 3 left.
        drop(first);
        second.observe(&left("3"));
        assert_eq!(sent_at_once(&pacer).await, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_ended_before_another_was_numbered_is_in_that_ones_count() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (first, _) = pacer.acquire(MAX_RESET).await.unwrap();
        drop(first);
        let (second, _) = pacer.acquire(MAX_RESET).await.unwrap();
        second.observe(&left("3"));
        assert_eq!(sent_at_once(&pacer).await, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_reset_assumes_a_window_from_when_it_started() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&headers(&[
            ("x-rate-limit", "700"),
            ("x-rate-limit-remaining", "0"),
        ]));
        let (_permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::from_secs(61));
    }

    #[tokio::test(start_paused = true)]
    async fn reserve_is_left_unused() {
        let config = PacingConfig::default().with_reserve(5);
        let pacer = Pacer::new(config, Box::new(NAMES));
        let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&headers(&[
            ("ratelimit-remaining", "5"),
            ("ratelimit-reset", "10"),
        ]));
        let (_permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_every_request() {
        let pacer = Pacer::new(PacingConfig::off(), Box::new(NAMES));
        pacer.pause_for(Duration::from_secs(2));
        let (_permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn fixed_cap_spaces_requests_on_the_tokio_clock() {
        let config = PacingConfig::off().with_requests_per_minute(60);
        let pacer = Pacer::new(config, Box::new(NAMES));
        let started = Instant::now();
        for _ in 0..4 {
            let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
            drop(permit);
        }
        // One request at once, then one per second.
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    /// Acquires, answers with `answer`, and says how long it waited.
    async fn answered(pacer: &Pacer, answer: &[(&'static str, &'static str)]) -> Duration {
        let (permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&headers(answer));
        waited
    }

    #[tokio::test(start_paused = true)]
    async fn a_share_spaces_requests_evenly_whatever_remains() {
        let pacer = Pacer::new(
            PacingConfig::default().with_rate_share(0.5).unwrap(),
            Box::new(NAMES),
        );
        // 10 a window of 10 s, 9 left: half is 5 a window, one every 2 s.
        let answer = [
            ("ratelimit-limit", "10"),
            ("ratelimit-remaining", "9"),
            ("ratelimit-reset", "10"),
        ];
        assert_eq!(answered(&pacer, &answer).await, Duration::ZERO);
        for _ in 0..4 {
            assert_eq!(answered(&pacer, &answer).await, Duration::from_secs(2));
        }
        // What the sliced export's controller is told: 5 requests per 10 s.
        assert_eq!(pacer.budget_per_second(), Some(0.5));
    }

    #[tokio::test(start_paused = true)]
    async fn before_the_limit_is_known_a_share_sends_one_request_at_a_time() {
        let pacer = Pacer::new(
            PacingConfig::default().with_rate_share(0.5).unwrap(),
            Box::new(NAMES),
        );
        let (first, _) = pacer.acquire(MAX_RESET).await.unwrap();
        let second = pacer.acquire(MAX_RESET);
        tokio::pin!(second);
        let early = tokio::time::timeout(Duration::from_secs(30), second.as_mut()).await;
        assert!(
            early.is_err(),
            "a second request went out before any answer"
        );
        // 120 a minute: half is one a second.
        first.observe(&headers(&[
            ("x-rate-limit", "120"),
            ("x-rate-limit-remaining", "119"),
        ]));
        let (_second, waited) = second.await.unwrap();
        assert_eq!(
            waited,
            Duration::from_secs(30),
            "went at once after the answer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_smaller_budget_wins() {
        let answer = [
            ("ratelimit-limit", "100"),
            ("ratelimit-remaining", "99"),
            ("ratelimit-reset", "60"),
        ];
        // The share (50 a minute: 1.2 s) is smaller than the cap (120 a minute: 0.5 s).
        let shared = PacingConfig::default().with_rate_share(0.5).unwrap();
        let pacer = Pacer::new(
            shared.clone().with_requests_per_minute(120),
            Box::new(NAMES),
        );
        answered(&pacer, &answer).await;
        assert_eq!(answered(&pacer, &answer).await, Duration::from_millis(1200));
        // The cap (30 a minute: 2 s) is smaller than the share.
        let pacer = Pacer::new(shared.with_requests_per_minute(30), Box::new(NAMES));
        answered(&pacer, &answer).await;
        assert_eq!(answered(&pacer, &answer).await, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_share_spreads_over_the_longest_reset_announced() {
        let pacer = Pacer::new(
            PacingConfig::default().with_rate_share(0.5).unwrap(),
            Box::new(NAMES),
        );
        // The first answer came 3 s before a reset: the window is at least 3 s.
        let late = [
            ("ratelimit-limit", "20"),
            ("ratelimit-remaining", "15"),
            ("ratelimit-reset", "3"),
        ];
        answered(&pacer, &late).await;
        assert_eq!(
            answered(&pacer, &late).await,
            Duration::from_millis(300),
            "10 in 3 s"
        );
        // An answer at a window's start shows the whole window: 10 in 20 s.
        let fresh = [
            ("ratelimit-limit", "20"),
            ("ratelimit-remaining", "19"),
            ("ratelimit-reset", "20"),
        ];
        answered(&pacer, &fresh).await;
        assert_eq!(answered(&pacer, &fresh).await, Duration::from_secs(2));
        // Never longer than the assumed window (a reset announced a day away).
        let absurd = [
            ("ratelimit-limit", "20"),
            ("ratelimit-remaining", "19"),
            ("ratelimit-reset", "86400"),
        ];
        answered(&pacer, &absurd).await;
        assert_eq!(answered(&pacer, &absurd).await, Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn the_earliest_reset_announced_in_a_window_is_the_one_waited_for() {
        let pacer = Pacer::new(PacingConfig::default(), Box::new(NAMES));
        // The window resets at 4.2 s. At 0 s the header says 5 (rounded up from 4.2), at
        // 0.5 s 4 (from 3.7), at 1 s 4 (from 3.2): the reset is at 4.5 s at the latest.
        answered(
            &pacer,
            &[("ratelimit-remaining", "5"), ("ratelimit-reset", "5")],
        )
        .await;
        tokio::time::advance(Duration::from_millis(500)).await;
        answered(
            &pacer,
            &[("ratelimit-remaining", "4"), ("ratelimit-reset", "4")],
        )
        .await;
        tokio::time::advance(Duration::from_millis(500)).await;
        answered(
            &pacer,
            &[("ratelimit-remaining", "0"), ("ratelimit-reset", "4")],
        )
        .await;
        let waited = answered(
            &pacer,
            &[("ratelimit-remaining", "9"), ("ratelimit-reset", "5")],
        )
        .await;
        assert_eq!(
            waited,
            Duration::from_millis(4500),
            "3.5 s to the reset and the 1 s margin"
        );
        // The next window's reset is later by more than the rounding: taken as it is.
        let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&headers(&[
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "5"),
        ]));
        let (_permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::from_secs(6));
    }

    #[test]
    fn a_share_is_more_than_nothing_and_at_most_everything() {
        for share in [0.0, -0.5, 1.000_001, f64::NAN, f64::INFINITY] {
            assert!(
                PacingConfig::default().with_rate_share(share).is_err(),
                "{share}"
            );
        }
        assert_eq!(share_of(0.29, 100), 29);
        assert_eq!(share_of(0.5, 700), 350);
        assert_eq!(share_of(0.01, 10), 1, "at least one request a window");
    }

    #[tokio::test(start_paused = true)]
    async fn adaptive_pacing_off_ignores_headers() {
        let pacer = Pacer::new(PacingConfig::off(), Box::new(NAMES));
        let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&left("0"));
        let (_permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::ZERO);
    }
}
