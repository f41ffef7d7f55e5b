//! Client-side pacing, so a long export spends its rate limit instead of living on 429s.
//!
//! Two mechanisms, both per client and both optional:
//!
//! - **Adaptive pacing** from the vendor's rate-limit headers. Every response tells how many
//!   requests are left in the current window and (usually) when it resets; when the budget is
//!   used up, the next request waits for the reset instead of meeting a 429. How headers are
//!   read is vendor-pluggable ([`RateLimitHeaders`]; [`NamedRateLimitHeaders`] covers the
//!   common "limit / remaining / reset-in-seconds" shape).
//! - A **fixed requests-per-minute cap** (`governor`), for sharing an account's budget with
//!   other integrations. It runs on a clock built on `tokio::time::Instant` and sleeps with
//!   `tokio::time::sleep`, so tests on a paused clock see every wait.
//!
//! A `429` pauses the whole client (every request of every stream that shares it) for the
//! `Retry-After` the vendor asked for; see [`crate::retry`].

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use reqwest::header::HeaderMap;
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
}

impl Default for PacingConfig {
    /// Adaptive pacing on, no reserve, a 1 s margin after each reset, a 60 s window assumed
    /// when the vendor does not say when it resets, no fixed cap.
    fn default() -> Self {
        PacingConfig {
            adaptive: true,
            reserve: 0,
            reset_margin: Duration::from_secs(1),
            assumed_window: Duration::from_secs(60),
            requests_per_minute: None,
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
            requests_per_minute: None,
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

    /// The window length assumed when the vendor reports a remaining count but no reset.
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

    /// Caps the client at `rpm` requests per minute, evenly spaced; `0` removes the cap.
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
}

/// A `governor` clock on `tokio::time`, so the paused test clock drives it.
#[derive(Debug, Clone)]
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(Instant::now().saturating_duration_since(self.origin))
    }
}

type Cap = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

#[derive(Debug, Default)]
struct PacerState {
    paused_until: Option<Instant>,
    limit: Option<u32>,
    remaining: Option<u32>,
    last_reported_remaining: Option<u32>,
    reset_at: Option<Instant>,
    window_started: Option<Instant>,
    in_flight: u32,
}

/// The per-client pacer: adaptive budget, client-wide pauses, and the optional fixed cap.
pub(crate) struct Pacer {
    config: PacingConfig,
    headers: Box<dyn RateLimitHeaders>,
    state: Mutex<PacerState>,
    cap: Option<(Cap, TokioClock)>,
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
    released: bool,
}

impl Permit<'_> {
    /// Feeds the response's rate-limit headers to the pacer.
    pub(crate) fn observe(mut self, headers: &HeaderMap) {
        self.released = true;
        let reading = self.pacer.headers.read(headers);
        let mut state = self.pacer.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if let Some(reading) = reading {
            self.pacer.apply(&mut state, reading, Instant::now());
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.released {
            let mut state = self.pacer.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
        }
    }
}

impl Pacer {
    pub(crate) fn new(config: PacingConfig, headers: Box<dyn RateLimitHeaders>) -> Self {
        let cap = config.requests_per_minute.map(|rpm| {
            let clock = TokioClock {
                origin: Instant::now(),
            };
            let quota = Quota::per_minute(rpm).allow_burst(NonZeroU32::MIN);
            (RateLimiter::direct_with_clock(quota, clock.clone()), clock)
        });
        Pacer {
            config,
            headers,
            state: Mutex::new(PacerState::default()),
            cap,
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
        loop {
            let wait = {
                let mut state = self.lock();
                match self.wait_needed(&mut state, Instant::now()) {
                    Some(wait) => wait,
                    None => {
                        state.in_flight += 1;
                        if let Some(remaining) = state.remaining.as_mut() {
                            *remaining = remaining.saturating_sub(1);
                        }
                        break;
                    }
                }
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
        }
        if let Some((cap, clock)) = &self.cap {
            while let Err(not_until) = cap.check() {
                tokio::time::sleep(not_until.wait_time_from(clock.now())).await;
            }
        }
        let permit = Permit {
            pacer: self,
            released: false,
        };
        Ok((permit, started.elapsed()))
    }

    /// Pauses every request of the client for `wait` (a 429's `Retry-After`).
    pub(crate) fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.lock();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
    }

    fn wait_needed(&self, state: &mut PacerState, now: Instant) -> Option<Duration> {
        if let Some(until) = state.paused_until {
            if until > now {
                return Some(until - now);
            }
            state.paused_until = None;
        }
        if !self.config.adaptive {
            return None;
        }
        let exhausted = state
            .remaining
            .is_some_and(|remaining| remaining <= self.config.reserve);
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

    fn apply(&self, state: &mut PacerState, reading: RateLimitReading, now: Instant) {
        match reading.reset {
            Some(reset) => state.reset_at = Some(now + reset),
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
        if let Some(remaining) = reading.remaining {
            state.last_reported_remaining = Some(remaining);
            // Requests still in flight were sent after the vendor counted this one.
            state.remaining = Some(remaining.saturating_sub(state.in_flight));
        }
    }
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
        permit.observe(&headers(&[
            ("ratelimit-remaining", "2"),
            ("ratelimit-reset", "30"),
        ]));
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

    #[tokio::test(start_paused = true)]
    async fn adaptive_pacing_off_ignores_headers() {
        let pacer = Pacer::new(PacingConfig::off(), Box::new(NAMES));
        let (permit, _) = pacer.acquire(MAX_RESET).await.unwrap();
        permit.observe(&headers(&[
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "30"),
        ]));
        let (_permit, waited) = pacer.acquire(MAX_RESET).await.unwrap();
        assert_eq!(waited, Duration::ZERO);
    }
}
