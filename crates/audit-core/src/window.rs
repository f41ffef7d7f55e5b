//! Time windows of streams, the settle lag behind "now", and stream options.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::error::Error;
use crate::selection::StreamFilter;
use crate::slicing::Slicing;

/// The settle lag used when none is set: records are read only up to 30 s before now, so
/// records the vendor is still writing for the same second are not skipped.
///
/// ```
/// use audit_core::{StreamOptions, Window};
/// use chrono::Utc;
///
/// let options = StreamOptions::new(Window::since(Utc::now()));
/// assert_eq!(options.settle_lag, audit_core::window::DEFAULT_SETTLE_LAG);
/// ```
pub const DEFAULT_SETTLE_LAG: Duration = Duration::from_secs(30);

/// The time window of a stream: records with `since ≤ occurred_at ≤ until`.
///
/// `until: None` is open-ended: "now minus the settle lag", evaluated when each pass of the
/// stream starts, so a stream in follow mode keeps moving forward.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use std::time::Duration;
/// use audit_core::Window;
///
/// let since = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
/// let until = Utc.with_ymd_and_hms(2024, 3, 31, 23, 59, 59).unwrap();
/// let window = Window::between(since, until).unwrap();
/// assert!(window.contains(since) && window.contains(until));
///
/// let open = Window::since(since);
/// let now = Utc.with_ymd_and_hms(2024, 4, 2, 12, 0, 0).unwrap();
/// assert_eq!(
///     open.effective_until(now, Duration::from_secs(30)),
///     Utc.with_ymd_and_hms(2024, 4, 2, 11, 59, 30).unwrap()
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The start, inclusive.
    pub since: DateTime<Utc>,
    /// The end, inclusive; `None` for "now minus the settle lag".
    pub until: Option<DateTime<Utc>>,
}

/// `t` without its fraction of a second (the vendors' timestamps have second precision).
///
/// ```
/// let t = "2024-03-18T10:02:51.750Z".parse().unwrap();
/// assert_eq!(audit_core::window::floor_to_second(t).to_rfc3339(), "2024-03-18T10:02:51+00:00");
/// ```
pub fn floor_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(0)
}

impl Window {
    /// An open-ended window from `since`.
    ///
    /// ```
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    ///
    /// let since = Utc::now() - Duration::days(7);
    /// let window = Window::since(since);
    /// assert_eq!((window.since, window.until), (since, None));
    /// assert!(window.contains(Utc::now() + Duration::days(365)));
    /// ```
    pub fn since(since: DateTime<Utc>) -> Self {
        Window { since, until: None }
    }

    /// A closed window; `since` must not be after `until`.
    ///
    /// ```
    /// use audit_core::{ErrorKind, Window};
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let window = Window::between(now - Duration::days(30), now)?;
    /// assert_eq!(window.until, Some(now));
    /// // Bounds the wrong way round are a configuration error.
    /// let error = Window::between(now, now - Duration::days(30)).unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::Config);
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn between(since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Self, Error> {
        if since > until {
            return Err(Error::InvalidConfig(format!(
                "the window starts ({since}) after it ends ({until}); swap the bounds"
            )));
        }
        Ok(Window {
            since,
            until: Some(until),
        })
    }

    /// Whether `t` lies in the window (an open end counts as unbounded).
    ///
    /// ```
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let window = Window::between(now - Duration::hours(1), now)?;
    /// assert!(window.contains(now - Duration::minutes(5)));
    /// assert!(!window.contains(now + Duration::seconds(1)));
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.since && self.until.is_none_or(|until| t <= until)
    }

    /// The end to read up to now: `until`, but never later than `now − settle_lag`,
    /// truncated to whole seconds.
    ///
    /// ```
    /// use audit_core::Window;
    /// use chrono::{TimeZone, Utc};
    /// use std::time::Duration;
    ///
    /// let window = Window::between(
    ///     Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
    ///     Utc.with_ymd_and_hms(2024, 3, 31, 0, 0, 0).unwrap(),
    /// )?;
    /// // A window that ended long ago ends where it says.
    /// let now = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    /// assert_eq!(window.effective_until(now, Duration::from_secs(30)), window.until.unwrap());
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn effective_until(&self, now: DateTime<Utc>, settle_lag: Duration) -> DateTime<Utc> {
        let lag = TimeDelta::from_std(settle_lag).unwrap_or(TimeDelta::MAX);
        let settled = now
            .checked_sub_signed(lag)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let end = match self.until {
            Some(until) => until.min(settled),
            None => settled,
        };
        floor_to_second(end)
    }
}

/// How a stream reads: its window, settle lag, follow mode, and where to resume.
///
/// ```
/// use std::time::Duration;
/// use chrono::Utc;
/// use audit_core::{StreamOptions, Window};
///
/// let options = StreamOptions::new(Window::since(Utc::now() - chrono::Duration::days(1)))
///     .with_settle_lag(Duration::from_secs(60))
///     .with_follow(Duration::from_secs(30));
/// assert_eq!(options.follow, Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamOptions {
    /// The time window.
    pub window: Window,
    /// How far behind now an open window ends.
    pub settle_lag: Duration,
    /// Follow mode: when the stream has caught up it sleeps this long and continues from its
    /// checkpoint, forever.
    pub follow: Option<Duration>,
    /// The checkpoint to resume from. A resumed stream reads the checkpoint's window.
    pub resume: Option<Checkpoint>,
    /// The filters (default: every record of the window).
    pub filter: StreamFilter,
    /// Read the window in time slices, several at once (see [`crate::slicing`]); `None`
    /// (the default) walks it sequentially.
    pub slicing: Option<Slicing>,
    /// Whether the walk asks for its next page while the consumer handles the one before
    /// (on by default). The walks of a sliced stream do not: they keep the rate limit busy
    /// by walking side by side, and a page read ahead by each would only hold memory.
    pub(crate) read_ahead: bool,
}

impl StreamOptions {
    /// Options for `window`, with the default settle lag, no follow, no resume.
    ///
    /// ```
    /// use audit_core::{StreamFilter, StreamOptions, Window};
    /// use chrono::Utc;
    ///
    /// let options = StreamOptions::new(Window::since(Utc::now()));
    /// assert_eq!((options.follow, options.resume), (None, None));
    /// assert_eq!(options.filter, StreamFilter::All);
    /// ```
    pub fn new(window: Window) -> Self {
        StreamOptions {
            window,
            settle_lag: DEFAULT_SETTLE_LAG,
            follow: None,
            resume: None,
            filter: StreamFilter::All,
            slicing: None,
            read_ahead: true,
        }
    }

    /// Sets the settle lag.
    ///
    /// ```
    /// use audit_core::{StreamOptions, Window};
    /// use chrono::Utc;
    /// use std::time::Duration;
    ///
    /// // Read only up to two minutes before now: the vendor is slow to write its records.
    /// let options = StreamOptions::new(Window::since(Utc::now()))
    ///     .with_settle_lag(Duration::from_secs(120));
    /// assert_eq!(options.settle_lag, Duration::from_secs(120));
    /// ```
    pub fn with_settle_lag(mut self, settle_lag: Duration) -> Self {
        self.settle_lag = settle_lag;
        self
    }

    /// Turns follow mode on, polling every `poll_interval` once caught up.
    ///
    /// ```
    /// use audit_core::{StreamOptions, Window};
    /// use chrono::Utc;
    /// use std::time::Duration;
    ///
    /// // Never ends: once caught up, look for new records every minute.
    /// let options = StreamOptions::new(Window::since(Utc::now()))
    ///     .with_follow(Duration::from_secs(60));
    /// assert_eq!(options.follow, Some(Duration::from_secs(60)));
    /// ```
    pub fn with_follow(mut self, poll_interval: Duration) -> Self {
        self.follow = Some(poll_interval);
        self
    }

    /// Resumes from `checkpoint` (its window replaces this one when the stream starts).
    /// The checkpoint must come from the same stream and tenant, read with the same filters.
    ///
    /// ```
    /// use audit_core::{Checkpoint, Position, Source, StreamKind, StreamOptions, Window};
    /// use chrono::{Duration, Utc};
    ///
    /// let window = Window::since(Utc::now() - Duration::days(7));
    /// let saved = Checkpoint::new(Source::new(StreamKind::GenesysAudits, "acme"), window, Position::Start);
    /// let options = StreamOptions::new(Window::since(Utc::now())).with_resume(saved.clone());
    /// assert_eq!(options.resume, Some(saved));
    /// ```
    pub fn with_resume(mut self, checkpoint: Checkpoint) -> Self {
        self.resume = Some(checkpoint);
        self
    }

    /// Options that continue from `checkpoint`, with its window: what a service does with
    /// the checkpoint it saved. Set the same filters as the export it continues.
    ///
    /// ```
    /// use audit_core::{Checkpoint, Position, Source, StreamKind, StreamOptions, Window};
    /// use chrono::{Duration, Utc};
    ///
    /// let window = Window::since(Utc::now() - Duration::days(7));
    /// let source = Source::new(StreamKind::ZendeskAuditLogs, "acme");
    /// let saved = Checkpoint::new(source, window, Position::Start).to_json();
    ///
    /// let options = StreamOptions::resume_from(Checkpoint::from_json(&saved)?);
    /// assert_eq!(options.window, window); // the window of the export it continues
    /// assert!(options.resume.is_some());
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn resume_from(checkpoint: Checkpoint) -> Self {
        StreamOptions::new(checkpoint.window).with_resume(checkpoint)
    }

    /// Only the records `filter` selects (checked against the stream when it starts).
    ///
    /// ```
    /// use audit_core::{StreamFilter, StreamOptions, Window};
    /// use audit_core::zendesk::AuditLogFilter;
    /// use chrono::Utc;
    ///
    /// let logins = StreamFilter::AuditLogs(AuditLogFilter::default().action("login"));
    /// let options = StreamOptions::new(Window::since(Utc::now())).with_filter(logins.clone());
    /// assert_eq!(options.filter, logins);
    /// ```
    pub fn with_filter(mut self, filter: StreamFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Reads the window in time slices, several at once, up to the rate limit (streams that
    /// filter by time: [`crate::slicing::can_slice`]). The pages, their order and their
    /// checkpoints are the sequential walk's.
    ///
    /// ```
    /// use audit_core::{Slicing, StreamOptions, Window};
    /// use chrono::Utc;
    ///
    /// let options = StreamOptions::new(Window::since(Utc::now())).with_slicing(Slicing::default());
    /// assert!(options.slicing.is_some());
    /// ```
    pub fn with_slicing(mut self, slicing: Slicing) -> Self {
        self.slicing = Some(slicing);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 18, h, m, s).unwrap()
    }

    #[test]
    fn effective_until_is_the_earlier_of_until_and_settled_now() {
        let now = t(12, 0, 0) + TimeDelta::milliseconds(700);
        let lag = Duration::from_secs(30);
        assert_eq!(
            Window::since(t(0, 0, 0)).effective_until(now, lag),
            t(11, 59, 30)
        );
        let closed = Window::between(t(0, 0, 0), t(10, 0, 0)).unwrap();
        assert_eq!(closed.effective_until(now, lag), t(10, 0, 0));
        let future = Window::between(t(0, 0, 0), t(13, 0, 0)).unwrap();
        assert_eq!(future.effective_until(now, lag), t(11, 59, 30));
    }

    #[test]
    fn reversed_bounds_are_refused() {
        assert!(matches!(
            Window::between(t(2, 0, 0), t(1, 0, 0)),
            Err(Error::InvalidConfig(_))
        ));
    }
}
