//! Zendesk change capture: the incremental ticket-event export
//! (`GET /api/v2/incremental/ticket_events`) as the stream `zendesk-ticket-events`.
//!
//! Every update of every ticket, **archived tickets included** (Zendesk's "About ticket
//! archiving" says every ticket endpoint but the ticket list returns them; only
//! `/ticket_audits` documents leaving them out), oldest first. It is the path Zendesk
//! recommends for change data capture, and the complete one for a backfill: an update is
//! exported as the ticket audit it is, under the same event id as `zendesk-ticket-audits`
//! gives it ([`super::mapping::ticket_event_event`]).
//!
//! How the walk reads the export:
//!
//! - **Time-based pages.** A page is asked for with `start_time` (Unix seconds) and
//!   `include=comment_events`; the next page starts at the answer's `end_time` (built from it,
//!   not from `next_page`, so a link cannot change the request). Pages break on timestamps,
//!   so the first items of a page repeat the last second of the page before: the edge's
//!   high-water mark (the newest time emitted and the ids emitted at it) absorbs them, and it
//!   is the checkpoint, so a resumed walk re-asks from that second and skips those ids.
//! - **The end is the vendor's word.** Only `end_of_stream: true` ends a pass; a page without
//!   it must have an `end_time` to go on from (else it is an undecodable answer: retried, then
//!   an error), an `end_time` before the page's `start_time` is refused the same way, and an
//!   `end_time` that does not move is a repeated cursor (re-asked, then an error). An empty
//!   last page is asked for once more before it is believed (the paginator's rule).
//! - **The excluded minute.** Zendesk leaves out what changed in the minute before a request,
//!   so a pass reads up to now minus that minute ([`INCREMENTAL_HOLDBACK`]) minus the settle
//!   lag: what the export has not shown yet is never behind the high-water mark.
//! - **Its own rate limit.** The incremental exports allow 10 requests a minute (more with
//!   the High Volume add-on), apart from the account's budget: the client spaces them
//!   ([`INCREMENTAL_REQUESTS_PER_MINUTE`], configurable with
//!   [`super::ZendeskClientBuilder::incremental_requests_per_minute`]) rather than meet 429s.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use raw_support::Recorded;
use zendesk_raw::types;

use super::{ZendeskClient, mapping};
use crate::checkpoint::{Checkpoint, Edge, PageToken};
use crate::error::Error;
use crate::event::{Source, StreamKind};
use crate::pacing::{NamedRateLimitHeaders, Pacer, PacingConfig};
use crate::paginate::{
    CursorPage, EventPage, EventPages, EventStream, PageRequest, PageSource, Paginator,
};
use crate::retry::Operation;
use crate::walk::{self, Passes};
use crate::window::{StreamOptions, Window, floor_to_second};

const EXPORT: Operation = Operation::read("incremental_ticket_event_export");
const STREAM: &str = "zendesk-ticket-events";

/// Zendesk's limit on the incremental exports: requests a minute.
pub const INCREMENTAL_REQUESTS_PER_MINUTE: u32 = 10;

/// How much of the present the incremental exports leave out: what changed in the minute
/// before a request.
pub const INCREMENTAL_HOLDBACK: Duration = Duration::from_secs(60);

/// The sideload that puts each comment of an update in its child events.
const COMMENT_EVENTS: &str = "comment_events";

/// The pacer of a client's incremental requests: `rpm` a minute, evenly spaced (the
/// documented 10 when not configured; `0`: not paced).
pub(crate) fn incremental_pacer(rpm: Option<u32>) -> Pacer {
    const NO_HEADERS: NamedRateLimitHeaders = NamedRateLimitHeaders {
        limit: &[],
        remaining: &[],
        reset: &[],
    };
    let rpm = rpm.unwrap_or(INCREMENTAL_REQUESTS_PER_MINUTE);
    Pacer::new(
        PacingConfig::off().with_requests_per_minute(rpm),
        Box::new(NO_HEADERS),
    )
}

/// The `start_time` a token asks for (the walk's tokens are Unix seconds).
fn start_time(operation: &'static str, token: Option<&PageToken>) -> Result<i64, Error> {
    token
        .and_then(|token| token.cursor.as_deref())
        .and_then(|cursor| cursor.parse().ok())
        .ok_or_else(|| Error::InvalidRequest {
            operation,
            message: "an incremental page is asked for with a start time".into(),
        })
}

/// The page after `body`, asked for at `start`: none on `end_of_stream: true`, else the
/// answer's `end_time` (with its `next_page` for reference).
fn next_token(start: i64, body: &types::TicketEventsResponse) -> Result<Option<PageToken>, Error> {
    if body.end_of_stream == Some(true) {
        return Ok(None);
    }
    let undecodable = |message: String| Error::Decode {
        operation: EXPORT.name,
        status: Some(200),
        message,
        waited: Duration::ZERO,
    };
    match body.end_time {
        Some(end) if end < start => Err(undecodable(format!(
            "`end_time` {end} is before the page's `start_time` {start}"
        ))),
        Some(end) => Ok(Some(PageToken {
            cursor: Some(end.to_string()),
            url: body.next_page.clone().filter(|url| !url.trim().is_empty()),
        })),
        None => Err(undecodable(
            "`end_of_stream` is not true but the page has no `end_time` to go on from".into(),
        )),
    }
}

/// Fetches the page at `request` (its token holds the `start_time`), paced to the incremental
/// limit.
async fn fetch_page(
    client: &ZendeskClient,
    per_page: Option<u32>,
    request: PageRequest<PageToken>,
) -> Result<CursorPage<Recorded<types::IncrementalTicketEvent>, PageToken>, Error> {
    let start = start_time(EXPORT.name, request.cursor.as_ref())?;
    let max = client.retry_policy().max_retry_after();
    let pacer = Arc::clone(client.incremental_pacer());
    // The permit only spaces requests (the limit is a fixed rate, no headers to report).
    let (_permit, paced) =
        pacer
            .acquire(max)
            .await
            .map_err(|requested| Error::RateLimitResetTooLong {
                operation: EXPORT.name,
                requested,
                max,
            })?;
    // Counted with the client's pacing waits (`trail`'s "rate-limit wait" column).
    client.stats_counter().waited_pacing(paced);
    let response = client
        .call_checked(
            EXPORT,
            |session| async move {
                let mut builder = session
                    .raw
                    .incremental_ticket_event_export()
                    .start_time(start)
                    .include(COMMENT_EVENTS);
                if let Some(per_page) = per_page {
                    builder = builder.per_page(i64::from(per_page));
                }
                builder.send().await
            },
            |body| request.check_next(next_token(start, body)?.as_ref()),
        )
        .await?;
    let body = response.into_inner();
    let next = next_token(start, &body)?;
    Ok(CursorPage {
        items: body.ticket_events,
        next,
    })
}

impl ZendeskClient {
    /// Every ticket update over `window` (archived tickets included), oldest first, from the
    /// incremental ticket-event export: pages of events with checkpoints. The events are the
    /// ticket audits of those updates, with the ids `zendesk-ticket-audits` gives them.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use audit_core::Window;
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let since = chrono::Utc::now() - chrono::Duration::days(400);
    /// let mut pages = client
    ///     .ticket_event_events(Window::since(since))
    ///     .follow(Duration::from_secs(60))
    ///     .pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} updates; resume from {}", page.events.len(), page.checkpoint.to_json());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn ticket_event_events(&self, window: Window) -> TicketEventStream {
        TicketEventStream {
            client: self.clone(),
            options: StreamOptions::new(window),
            high_water: Edge::default(),
            per_page: None,
        }
    }
}

/// The `zendesk-ticket-events` stream, before it starts: set its options, then call
/// [`TicketEventStream::pages`] or [`TicketEventStream::events`].
///
/// ```no_run
/// use std::time::Duration;
/// use audit_core::Checkpoint;
///
/// # async fn example(client: audit_core::zendesk::ZendeskClient, saved: String) -> Result<(), audit_core::Error> {
/// let checkpoint = Checkpoint::from_json(&saved)?;
/// let pages = client
///     .ticket_event_events(checkpoint.window)
///     .settle_lag(Duration::from_secs(30))
///     .resume(checkpoint)?
///     .pages();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TicketEventStream {
    client: ZendeskClient,
    options: StreamOptions,
    high_water: Edge,
    per_page: Option<u32>,
}

impl TicketEventStream {
    pub(crate) fn with_options(
        client: ZendeskClient,
        options: StreamOptions,
    ) -> Result<Self, Error> {
        let resume = options.resume.clone();
        let stream = TicketEventStream {
            client,
            options: StreamOptions {
                resume: None,
                ..options
            },
            high_water: Edge::default(),
            per_page: None,
        };
        match resume {
            Some(checkpoint) => stream.resume(checkpoint),
            None => Ok(stream),
        }
    }

    fn source(&self) -> Source {
        Source::new(StreamKind::ZendeskTicketEvents, self.client.tenant())
    }

    /// How far behind the export's own end (now minus [`INCREMENTAL_HOLDBACK`]) an open window
    /// ends (default 30 s).
    pub fn settle_lag(mut self, settle_lag: Duration) -> Self {
        self.options.settle_lag = settle_lag;
        self
    }

    /// Follow mode: once caught up, sleep `poll_interval` and continue, forever.
    pub fn follow(mut self, poll_interval: Duration) -> Self {
        self.options.follow = Some(poll_interval);
        self
    }

    /// Items per page (`per_page`, at most 1,000; Zendesk's default 1,000 when not set).
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = Some(per_page.clamp(1, 1000));
        self
    }

    /// Continues from `checkpoint` (taken from this stream, this tenant): with its window,
    /// from its high-water mark.
    pub fn resume(mut self, checkpoint: Checkpoint) -> Result<Self, Error> {
        checkpoint.expect_source(&self.source())?;
        self.high_water = Edge::from_high_water(checkpoint.position, STREAM)?;
        self.options.window = checkpoint.window;
        Ok(self)
    }

    /// The checkpoint of the stream's starting point.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint::new(
            self.source(),
            self.options.window,
            self.high_water.high_water(),
        )
    }

    /// The stream of pages, each with its checkpoint.
    pub fn pages(self) -> EventPages {
        let follow = self.options.follow;
        EventPages::from_source(TicketEventSource {
            source: self.source(),
            settings: self,
            pass: None,
            passes: Passes::new(follow),
        })
    }

    /// The stream of events.
    pub fn events(self) -> EventStream {
        self.pages().events()
    }
}

struct Pass {
    paginator: Paginator<Recorded<types::IncrementalTicketEvent>, PageToken>,
    /// The second the pass's first request starts at (the high-water mark's, or `since`).
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

struct TicketEventSource {
    settings: TicketEventStream,
    source: Source,
    pass: Option<Pass>,
    passes: Passes,
}

impl TicketEventSource {
    /// Starts a pass from the high-water mark (or `since`) to what the export shows by now;
    /// `None` when there is nothing to read yet.
    fn start_pass(&mut self) -> Option<Pass> {
        let options = &self.settings.options;
        let window = options.window;
        let holdback = self.settings.client.incremental_holdback();
        let until = window.effective_until(Utc::now(), holdback + options.settle_lag);
        let from = floor_to_second(match self.settings.high_water.at() {
            Some(at) => at.max(window.since),
            None => window.since,
        });
        if from > until {
            return None;
        }
        // The first request starts at the high-water mark's second: what it reads before the
        // mark again was exported already.
        self.settings.high_water.reread();
        let client = self.settings.client.clone();
        let per_page = self.settings.per_page;
        let start = PageToken::cursor(from.timestamp().to_string());
        let paginator = Paginator::new(EXPORT.name, Some(start), move |request| {
            let client = client.clone();
            async move { fetch_page(&client, per_page, request).await }
        })
        .read_ahead();
        tracing::debug!(stream = STREAM, %from, %until, "starting a pass");
        Some(Pass {
            paginator,
            from,
            until,
        })
    }
}

impl PageSource for TicketEventSource {
    async fn next_page(&mut self) -> Result<Option<EventPage>, Error> {
        loop {
            if self.pass.is_none() {
                if !self.passes.another().await {
                    return Ok(None);
                }
                match self.start_pass() {
                    Some(pass) => self.pass = Some(pass),
                    None => continue,
                }
            }
            let pass = self.pass.as_mut().expect("a pass is running");
            let Some(page) = pass.paginator.next_page().await? else {
                self.pass = None;
                continue;
            };
            let (from, until) = (pass.from, pass.until);
            let since = self.settings.options.window.since;
            let tenant = self.settings.client.tenant().to_string();
            let received = page.items.len();
            let events = page
                .items
                .iter()
                .map(|record| mapping::ticket_event_event(&tenant, record));
            let admitted = walk::admit(
                &mut self.settings.high_water,
                from,
                events,
                |at| walk::between(at, since, until),
                self.settings.client.stats_counter(),
            );
            // Past the pass's end, the rest of the export is newer still.
            let caught_up = admitted.beyond || page.next.is_none();
            if caught_up {
                self.pass = None;
            }
            return Ok(Some(EventPage {
                events: admitted.events,
                checkpoint: Checkpoint::new(
                    self.source.clone(),
                    self.settings.options.window,
                    self.settings.high_water.high_water(),
                ),
                received,
                caught_up,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(end_of_stream: Option<bool>, end_time: Option<i64>) -> types::TicketEventsResponse {
        types::TicketEventsResponse {
            ticket_events: Vec::new(),
            end_of_stream,
            end_time,
            next_page: None,
            count: Some(0),
        }
    }

    #[test]
    fn only_end_of_stream_ends_a_pass() {
        assert_eq!(next_token(100, &body(Some(true), Some(150))).unwrap(), None);
        assert_eq!(
            next_token(100, &body(Some(false), Some(150)))
                .unwrap()
                .unwrap()
                .cursor
                .as_deref(),
            Some("150")
        );
        assert!(
            next_token(100, &body(None, Some(150))).unwrap().is_some(),
            "no end_of_stream is not an end"
        );
        assert!(next_token(100, &body(Some(false), None)).is_err());
        assert!(next_token(100, &body(Some(false), Some(99))).is_err());
    }
}
