//! Time-sliced walks: a backfill at the vendor's rate limit, not at its latency.
//!
//! A stream whose vendor query filters by time and may run several times at once (Zendesk
//! audit logs, Genesys realtime audits: [`can_slice`]) can be read as several walks at once,
//! each over a slice of the window. A walk waits for the vendor's answer most of its time;
//! several keep the rate limit busy instead. The slices are not planned ahead: one walk starts
//! over the whole window, and each walk added takes the far half of what the walk with the
//! most left to read has not read yet (work stealing), so a dense stretch of the window is
//! split again and again, a sparse one never. Walks are added one at a time while the limit
//! does not bind: the client's pacer has not waited, and the walks do not yet make as many
//! requests a second as the pacer allows (walks ÷ the time a page takes). Then the number
//! holds. No worker count to tune.
//!
//! What the stream yields is what the sequential walk yields, in the same order, exactly once:
//!
//! - the slices are emitted in time order; the first slice not yet emitted (the head) hands
//!   its pages over in memory, at most [`HEAD_PAGES`] ahead of the consumer (it waits beyond
//!   that, as a sequential stream does); a slice further on writes its pages to a spool file
//!   (an unnamed temporary file), so memory stays flat however far ahead the walks run; a
//!   walk asks for its next page once it has handed the last one over (no read-ahead: the
//!   walks side by side keep the limit busy, and a page read ahead by each is only memory);
//! - slices meet at whole seconds, each ending before the next one's first second, so no record
//!   falls into two; a slice cut while it runs drops what it reads past its new end;
//! - a record without a timestamp is placed by the record before it, which at a slice's
//!   start lies in the slice before: where two slices meet, such records are emitted once, at
//!   the time the sequential walk gives them;
//! - every page's checkpoint is the sequential walk's: a high-water mark over the whole
//!   window, taken from the records emitted so far. A checkpoint written by a sliced export
//!   resumes a sequential one and the other way round; a resumed export is sliced again from
//!   the checkpoint. (What slices ahead of the head had read when the process died is read
//!   again: at most what the spool held.)
//! - an error of one slice is returned once every slice before it has been emitted, so what
//!   the export commits is everything the sequential walk would have committed before it.
//!
//! In follow mode the window up to now is read sliced; the stream then follows sequentially
//! from the last checkpoint.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
//! # let acme = sim.tenant_credentials("acme").unwrap();
//! # let client = audit_core::zendesk::ZendeskClient::builder()
//! #     .base_url(sim.zendesk_url())
//! #     .tenant("acme")
//! #     .api_token(acme.zendesk_email, acme.zendesk_api_token)
//! #     .build()?;
//! use audit_core::{Slicing, StreamKind, StreamOptions, Window};
//! use chrono::{Duration, Utc};
//! use futures::TryStreamExt;
//!
//! let window = Window::since(Utc::now() - Duration::days(400));
//! let sequential: Vec<_> = client
//!     .event_pages(StreamKind::ZendeskAuditLogs, StreamOptions::new(window))?
//!     .events()
//!     .try_collect()
//!     .await?;
//! let sliced: Vec<_> = client
//!     .event_pages(StreamKind::ZendeskAuditLogs, StreamOptions::new(window).with_slicing(Slicing::default()))?
//!     .events()
//!     .try_collect()
//!     .await?;
//! assert_eq!(sliced, sequential);
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use crate::checkpoint::{Checkpoint, Position};
use crate::error::Error;
use crate::event::{AuditEvent, Source, StreamKind};
use crate::paginate::{EventPage, EventPages, PageSource};
use crate::stats::StatsSnapshot;
use crate::window::{StreamOptions, Window, floor_to_second};

/// How many pages the head slice hands over ahead of the consumer.
pub const HEAD_PAGES: usize = 1;

/// A slice is cut in two only when the far half is expected to hold this many pages (from
/// the pages its walk has read so far): a walk that starts has a round trip and a partial last
/// page to pay for.
const MIN_SPLIT_PAGES: f64 = 4.0;

/// The default most walks of one sliced stream at once.
pub const DEFAULT_MAX_WALKS: usize = 16;

/// How a stream is read in time slices (see the [module docs](self)): set on
/// [`StreamOptions::with_slicing`].
///
/// ```
/// use audit_core::Slicing;
///
/// let slicing = Slicing::default().with_max_walks(8).with_spool_dir(std::env::temp_dir());
/// assert_eq!(slicing.max_walks(), 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Slicing {
    max_walks: usize,
    spool_dir: Option<PathBuf>,
    /// Slices planned ahead, at these instants (tests: any cut yields the same stream).
    #[cfg(test)]
    cuts: Vec<DateTime<Utc>>,
}

impl Default for Slicing {
    /// At most [`DEFAULT_MAX_WALKS`] walks; spool files in the system's temporary directory.
    fn default() -> Self {
        Slicing {
            max_walks: DEFAULT_MAX_WALKS,
            spool_dir: None,
            #[cfg(test)]
            cuts: Vec::new(),
        }
    }
}

impl Slicing {
    /// The most walks at once (at least 1; 1 reads the window sequentially). Walks are added
    /// only while the rate limit does not bind, so this is a ceiling, not a setting to tune.
    ///
    /// ```
    /// use audit_core::Slicing;
    ///
    /// assert_eq!(Slicing::default().with_max_walks(0).max_walks(), 1);
    /// ```
    pub fn with_max_walks(mut self, max_walks: usize) -> Self {
        self.max_walks = max_walks.max(1);
        self
    }

    /// Where the slices read ahead of the consumer are spooled (unnamed temporary files,
    /// gone when the stream is dropped or the process ends).
    ///
    /// ```
    /// use audit_core::Slicing;
    ///
    /// let slicing = Slicing::default().with_spool_dir("/var/tmp");
    /// assert_eq!(slicing.spool_dir(), Some(std::path::Path::new("/var/tmp")));
    /// ```
    pub fn with_spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// The most walks at once.
    ///
    /// ```
    /// assert_eq!(audit_core::Slicing::default().max_walks(), audit_core::slicing::DEFAULT_MAX_WALKS);
    /// ```
    pub fn max_walks(&self) -> usize {
        self.max_walks
    }

    /// The spool directory, when one was set.
    ///
    /// ```
    /// assert!(audit_core::Slicing::default().spool_dir().is_none());
    /// ```
    pub fn spool_dir(&self) -> Option<&std::path::Path> {
        self.spool_dir.as_deref()
    }
}

/// Whether `stream` can be sliced: its vendor listing filters by time, walks oldest first, and
/// may be read by several requests at once. Zendesk audit logs and Genesys realtime audits can.
///
/// ```
/// use audit_core::StreamKind;
/// use audit_core::slicing::can_slice;
///
/// assert!(can_slice(StreamKind::ZendeskAuditLogs));
/// assert!(!can_slice(StreamKind::ZendeskTicketAudits));
/// ```
pub fn can_slice(stream: StreamKind) -> bool {
    why_not_sliced(stream).is_none()
}

/// Why `stream` cannot be sliced (`None` when it can), in words for an error message.
///
/// ```
/// use audit_core::StreamKind;
/// use audit_core::slicing::why_not_sliced;
///
/// assert!(why_not_sliced(StreamKind::GenesysAudits).unwrap().contains("one historical audit query"));
/// assert_eq!(why_not_sliced(StreamKind::GenesysRealtime), None);
/// ```
pub fn why_not_sliced(stream: StreamKind) -> Option<&'static str> {
    match stream {
        StreamKind::ZendeskAuditLogs | StreamKind::GenesysRealtime => None,
        StreamKind::GenesysAudits => Some(
            "Genesys Cloud runs one historical audit query per organization at a time, so its \
             slices could not run at once",
        ),
        StreamKind::ZendeskTicketAudits => {
            Some("its listing walks newest first by cursor and does not filter by time")
        }
        StreamKind::ZendeskTicketEvents => Some(
            "the incremental export is read from a start time onwards, and limited to 10 \
             requests a minute",
        ),
    }
}

/// Opens the sequential stream of one slice (the client's `event_pages`).
pub(crate) type OpenWalk = Arc<dyn Fn(StreamOptions) -> Result<EventPages, Error> + Send + Sync>;
/// Reads the client's counters and its pacer's budget.
pub(crate) type ReadBudget = Arc<dyn Fn() -> Budget + Send + Sync>;

/// What the client says about its rate limit, for the controller of the walks.
pub(crate) struct Budget {
    /// Its counters (how the pacer has waited, the 429s).
    pub(crate) stats: StatsSnapshot,
    /// The requests a second its pacer allows, when known.
    pub(crate) per_second: Option<f64>,
}

/// How much of a walk's latest page time its average takes in (an exponential average).
const PAGE_TIME_WEIGHT: f64 = 0.3;

/// The sliced stream of `options` (whose `slicing` is set) of `tenant`'s `stream`.
pub(crate) fn sliced_pages(
    stream: StreamKind,
    mut options: StreamOptions,
    tenant: &str,
    open: OpenWalk,
    stats: ReadBudget,
) -> Result<EventPages, Error> {
    if let Some(why) = why_not_sliced(stream) {
        return Err(Error::InvalidConfig(format!(
            "`{stream}` cannot be read in time slices: {why}"
        )));
    }
    let slicing = options.slicing.take().unwrap_or_default();
    // The checkpoint of the starting point: its source and selection label every page's.
    let start = Checkpoint::new(Source::new(stream, tenant), options.window, Position::Start)
        .with_selection(options.filter.selection());
    Ok(EventPages::from_source(SlicedSource {
        slicing,
        options,
        start,
        open,
        stats,
        shared: None,
        edge: None,
        last_at: None,
        opening: false,
        trailing_untimed: Vec::new(),
        tail: None,
        done: false,
    }))
}

struct SlicedSource {
    slicing: Slicing,
    /// The stream's options, without slicing.
    options: StreamOptions,
    start: Checkpoint,
    open: OpenWalk,
    stats: ReadBudget,
    /// The walks, once the first page is asked for.
    shared: Option<Arc<Shared>>,
    /// The newest instant emitted and the ids emitted at it: the checkpoint's position.
    edge: Option<(DateTime<Utc>, Vec<Arc<str>>)>,
    /// The time of the last record emitted.
    last_at: Option<DateTime<Utc>>,
    /// The head slice follows one emitted before it, and none of its timed records has been
    /// emitted yet (see [`SlicedSource::join_slices`]).
    opening: bool,
    /// The ids of the records without a timestamp emitted since the last timed one.
    trailing_untimed: Vec<String>,
    /// The sequential stream that follows once the slices are read (follow mode).
    tail: Option<EventPages>,
    done: bool,
}

impl Drop for SlicedSource {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.plan().walks.iter().for_each(AbortHandle::abort);
        }
    }
}

impl SlicedSource {
    /// Plans the first slice, over the whole window from the resume point, and starts its walk.
    fn begin(&mut self) -> Arc<Shared> {
        let window = match &self.options.resume {
            Some(checkpoint) => checkpoint.window,
            None => self.options.window,
        };
        let until = window.effective_until(Utc::now(), self.options.settle_lag);
        let resume = self.options.resume.take();
        if let Some(Position::HighWater { at, ids }) = resume.as_ref().map(|c| &c.position) {
            self.edge = Some((*at, ids.clone()));
        }
        let from = match &self.edge {
            Some((at, _)) => floor_to_second((*at).max(window.since)),
            None => window.since,
        };
        self.start.window = window;
        let mut base = self.options.clone();
        base.follow = None;
        base.read_ahead = false;
        let first = Arc::new(Slice::new(from, None, resume));
        first.queue().head = true;
        let shared = Arc::new(Shared {
            open: Arc::clone(&self.open),
            stats: Arc::clone(&self.stats),
            base,
            until: until.max(from),
            spool_dir: self.slicing.spool_dir.clone(),
            max_walks: self.slicing.max_walks,
            progress: Notify::new(),
            plan: Mutex::new(Plan {
                slices: VecDeque::from([Arc::clone(&first)]),
                walks: Vec::new(),
                running: 0,
                pages_since_growth: 0,
                last_stats: (self.stats)().stats,
                page_time: None,
                binding: false,
                failed: false,
            }),
        });
        Shared::spawn(&shared, &mut shared.plan(), first);
        #[cfg(test)]
        for cut in &self.slicing.cuts {
            let mut plan = shared.plan();
            let last = Arc::clone(plan.slices.back().expect("the first slice"));
            let mut queue = last.queue();
            if *cut > last.start.max(queue.reached) && *cut <= shared.until {
                let far = Arc::new(Slice::new(*cut, None, None));
                queue.end = Some(*cut);
                drop(queue);
                plan.slices.push_back(Arc::clone(&far));
                Shared::spawn(&shared, &mut plan, far);
            }
        }
        shared
    }

    /// Joins the records without a timestamp where two slices meet to the stream as the
    /// sequential walk reads them. The vendor sorts such a record by its real time, but a
    /// walk sees only the time of the record before it, so the slice before (whose query may
    /// reach past its end) and the slice after can both have read it, and the slice after
    /// placed it at its own start. Those that open a slice are dropped when the slice before
    /// emitted them already, and the others take the time of the record before them.
    fn join_slices(&mut self, events: &mut Vec<AuditEvent>) {
        let mut opening = self.opening;
        let (trailing, last_at) = (&self.trailing_untimed, self.last_at);
        events.retain_mut(|event| {
            if !opening {
                return true;
            }
            if !event.occurred_at_inferred {
                opening = false;
                return true;
            }
            if trailing.contains(&event.id) {
                return false;
            }
            if let Some(at) = last_at {
                event.occurred_at = at;
            }
            true
        });
        self.opening = opening;
        for event in events.iter() {
            if event.occurred_at_inferred {
                self.trailing_untimed.push(event.id.clone());
            } else {
                self.trailing_untimed.clear();
            }
        }
        if let Some(last) = events.last() {
            self.last_at = Some(last.occurred_at);
        }
    }

    /// The checkpoint after `events`, over the whole window: the sequential walk's.
    fn checkpoint_after(&mut self, events: &[AuditEvent]) -> Checkpoint {
        for event in events {
            match &mut self.edge {
                Some((at, ids)) if *at == event.occurred_at => {
                    ids.push(event.native_id.as_str().into())
                }
                Some((at, _)) if *at > event.occurred_at => {}
                edge => *edge = Some((event.occurred_at, vec![event.native_id.as_str().into()])),
            }
        }
        let mut checkpoint = self.start.clone();
        if let Some((at, ids)) = &self.edge {
            checkpoint.position = Position::HighWater {
                at: *at,
                ids: ids.clone(),
            };
        }
        checkpoint
    }
}

impl PageSource for SlicedSource {
    async fn next_page(&mut self) -> Result<Option<EventPage>, Error> {
        loop {
            if self.done {
                return Ok(None);
            }
            if let Some(tail) = &mut self.tail {
                return tail.next().await.transpose();
            }
            let shared = match &self.shared {
                Some(shared) => Arc::clone(shared),
                None => {
                    let shared = self.begin();
                    self.shared = Some(Arc::clone(&shared));
                    shared
                }
            };
            let Some(head) = shared.plan().slices.front().cloned() else {
                // Every slice is emitted: the window is read up to where it was planned.
                let checkpoint = self.checkpoint_after(&[]);
                if self.options.follow.is_some() {
                    let options = self.options.clone().with_resume(checkpoint);
                    self.tail = Some((self.open)(options)?);
                    continue;
                }
                self.done = true;
                return Ok(Some(EventPage {
                    events: Vec::new(),
                    checkpoint,
                    received: 0,
                    caught_up: true,
                }));
            };
            let taken = {
                let mut queue = head.queue();
                match queue.take() {
                    Ok(None) if !queue.done => None,
                    Ok(None) => Some(queue.error.take().map_or(Ok(None), Err)),
                    taken => Some(taken),
                }
            };
            let Some(taken) = taken else {
                // Nothing of the head slice yet: wait for its walk.
                shared.progress.notified().await;
                continue;
            };
            match taken {
                Err(error) => {
                    self.done = true;
                    return Err(error);
                }
                Ok(Some(mut page)) => {
                    head.space.notify_one();
                    self.join_slices(&mut page.events);
                    return Ok(Some(EventPage {
                        checkpoint: self.checkpoint_after(&page.events),
                        events: page.events,
                        received: page.received,
                        caught_up: false,
                    }));
                }
                Ok(None) => {
                    // The head slice is read and emitted: the next one becomes the head.
                    let mut plan = shared.plan();
                    plan.slices.pop_front();
                    self.opening = true;
                    if let Some(next) = plan.slices.front() {
                        next.queue().head = true;
                        next.space.notify_one();
                    }
                }
            }
        }
    }
}

/// What the walks share.
struct Shared {
    open: OpenWalk,
    stats: ReadBudget,
    /// The options of every slice's walk (their window and resume point set per slice).
    base: StreamOptions,
    /// The end of the sliced range, inclusive (the window's end, or now minus the settle lag).
    until: DateTime<Utc>,
    spool_dir: Option<PathBuf>,
    max_walks: usize,
    /// Wakes the consumer: a page was handed over, or a slice ended.
    progress: Notify,
    plan: Mutex<Plan>,
}

struct Plan {
    /// The slices not yet emitted, in time order; the first is the head.
    slices: VecDeque<Arc<Slice>>,
    walks: Vec<AbortHandle>,
    running: usize,
    pages_since_growth: usize,
    last_stats: StatsSnapshot,
    /// How long a walk takes for a page, on average (seconds; `None` before the first).
    page_time: Option<f64>,
    /// The pacer has waited for the rate limit: no more walks are added.
    binding: bool,
    /// A slice failed: no slice is split or started any more.
    failed: bool,
}

impl Shared {
    fn plan(&self) -> MutexGuard<'_, Plan> {
        self.plan
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn spawn(shared: &Arc<Shared>, plan: &mut Plan, slice: Arc<Slice>) {
        plan.running += 1;
        plan.pages_since_growth = 0;
        let task = tokio::spawn(Shared::walk(Arc::clone(shared), slice));
        plan.walks.push(task.abort_handle());
    }

    /// One walker: reads its slice, then takes part of another, until nothing is left to split.
    async fn walk(shared: Arc<Shared>, mut slice: Arc<Slice>) {
        loop {
            let result = shared.read_slice(&slice).await;
            let failed = result.is_err();
            {
                let mut queue = slice.queue();
                queue.done = true;
                queue.error = result.err();
            }
            shared.progress.notify_one();
            let mut plan = shared.plan();
            plan.failed |= failed;
            match shared.split(&mut plan) {
                Some(next) => slice = next,
                None => {
                    plan.running -= 1;
                    return;
                }
            }
        }
    }

    /// Reads one slice with the sequential stream, handing its pages over.
    async fn read_slice(self: &Arc<Self>, slice: &Arc<Slice>) -> Result<(), Error> {
        let (end, resume) = {
            let mut queue = slice.queue();
            (queue.end, queue.resume.take())
        };
        // A slice reads up to its end as planned; a later split only moves its end back.
        let window = Window::between(slice.start, end.unwrap_or(self.until).max(slice.start))?;
        let mut options = StreamOptions {
            window,
            ..self.base.clone()
        };
        if let Some(mut checkpoint) = resume {
            checkpoint.window = window;
            options = options.with_resume(checkpoint);
        }
        let mut pages = (self.open)(options)?;
        let mut asked = tokio::time::Instant::now();
        while let Some(page) = pages.next().await {
            self.grow(asked.elapsed());
            if slice.hand_over(page?, self).await? {
                break;
            }
            asked = tokio::time::Instant::now();
        }
        Ok(())
    }

    /// Adds a walk when every walk has brought a page since the last one was added (so the
    /// walks grow about once per round trip), while the rate limit does not bind: the pacer
    /// has not waited, and the walks running do not already make as many requests a second
    /// as the pacer allows (walks ÷ the time a walk takes for a page). A vendor that hands
    /// out its window's budget at once lets walks run ahead of its rate until the budget is
    /// spent; the rate says how many walks it takes before that. `page_time` is how long
    /// this walk took for the page it just brought.
    fn grow(self: &Arc<Self>, page_time: std::time::Duration) {
        let Budget { stats, per_second } = (self.stats)();
        let mut plan = self.plan();
        let page_time = page_time.as_secs_f64();
        let average = match plan.page_time {
            Some(average) => average + PAGE_TIME_WEIGHT * (page_time - average),
            None => page_time,
        };
        plan.page_time = Some(average);
        if let Some(allowed) = per_second
            && plan.running as f64 / average.max(f64::EPSILON) >= allowed
        {
            return;
        }
        if stats.waited_pacing > plan.last_stats.waited_pacing
            || stats.waited_retry_after > plan.last_stats.waited_retry_after
            || stats.rate_limited > plan.last_stats.rate_limited
        {
            if !plan.binding {
                tracing::debug!(walks = plan.running, "slicing: the rate limit binds");
            }
            plan.binding = true;
        }
        plan.last_stats = stats;
        plan.pages_since_growth += 1;
        if plan.binding
            || plan.failed
            || plan.running >= self.max_walks
            || plan.pages_since_growth < plan.running
        {
            return;
        }
        if let Some(slice) = self.split(&mut plan) {
            tracing::debug!(walks = plan.running + 1, from = %slice.start, "slicing: a walk added");
            Shared::spawn(self, &mut plan, slice);
        }
    }

    /// Cuts the slice with the most left to read in two at the middle of what it has left
    /// (whole seconds), and returns the far half, unread; `None` when no slice has two seconds
    /// left.
    fn split(&self, plan: &mut Plan) -> Option<Arc<Slice>> {
        if plan.failed {
            return None;
        }
        let past_until = self.until + TimeDelta::seconds(1);
        let mut best: Option<(usize, DateTime<Utc>, TimeDelta)> = None;
        for (index, slice) in plan.slices.iter().enumerate() {
            let queue = slice.queue();
            if queue.done {
                continue;
            }
            let left = queue.end.unwrap_or(past_until) - queue.reached;
            let middle = floor_to_second(queue.reached + left / 2);
            if middle > queue.reached
                && queue.end.is_none_or(|end| middle < end)
                && middle <= self.until
                && best.is_none_or(|(_, _, most)| left > most)
                && queue.pages_expected(slice.start, left / 2) >= MIN_SPLIT_PAGES
            {
                best = Some((index, middle, left));
            }
        }
        let (index, middle, _) = best?;
        let mut victim = plan.slices[index].queue();
        let far = Arc::new(Slice::new(middle, victim.end, None));
        victim.end = Some(middle);
        drop(victim);
        plan.slices.insert(index + 1, Arc::clone(&far));
        Some(far)
    }

    fn spool(&self) -> Result<Spool, Error> {
        let file = match &self.spool_dir {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        };
        file.map(Spool::new)
            .map_err(|error| self.spool_error(&error))
    }

    fn spool_error(&self, error: &dyn std::fmt::Display) -> Error {
        let dir = match &self.spool_dir {
            Some(dir) => dir.display().to_string(),
            None => std::env::temp_dir().display().to_string(),
        };
        Error::Spool(format!(
            "the spool of a sliced walk in `{dir}` failed: {error}; free space there or choose another directory"
        ))
    }
}

/// A page of a slice's walk, handed over to the consumer (its checkpoint is made when it is
/// emitted).
struct Handed {
    events: Vec<AuditEvent>,
    received: usize,
}

/// A slice of the window: `start` to its `end`.
struct Slice {
    start: DateTime<Utc>,
    queue: Mutex<SliceQueue>,
    /// Wakes the slice's walk: the consumer took a page of it, or it became the head.
    space: Notify,
}

struct SliceQueue {
    /// Where the slice ends, exclusive (it meets the next slice there); `None` for the last
    /// slice, which reads up to the sliced range's end, inclusive.
    end: Option<DateTime<Utc>>,
    /// The newest instant the slice has handed over (its start before that): a split leaves
    /// what lies before it to this slice.
    reached: DateTime<Utc>,
    /// The pages the slice's walk has read (to estimate how dense the rest is).
    pages: u32,
    /// The resume point of the first slice of a resumed stream.
    resume: Option<Checkpoint>,
    /// The consumer is emitting this slice.
    head: bool,
    memory: VecDeque<Handed>,
    spool: Option<Spool>,
    done: bool,
    error: Option<Error>,
}

impl Slice {
    fn new(start: DateTime<Utc>, end: Option<DateTime<Utc>>, resume: Option<Checkpoint>) -> Self {
        Slice {
            start,
            queue: Mutex::new(SliceQueue {
                end,
                reached: start,
                pages: 0,
                resume,
                head: false,
                memory: VecDeque::new(),
                spool: None,
                done: false,
                error: None,
            }),
            space: Notify::new(),
        }
    }

    fn queue(&self) -> MutexGuard<'_, SliceQueue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands a page of the slice's walk over: to memory when the consumer is at this slice
    /// and has read its spool (waiting while [`HEAD_PAGES`] are there), else to the spool.
    /// The page is cut at the slice's end as it is now; returns whether the walk has passed
    /// the end.
    async fn hand_over(&self, page: EventPage, shared: &Shared) -> Result<bool, Error> {
        let mut page = Handed {
            events: page.events,
            received: page.received,
        };
        let passed = {
            let mut queue = self.queue();
            let passed = queue
                .end
                .is_some_and(|end| page.events.last().is_some_and(|e| e.occurred_at >= end));
            if let Some(end) = queue.end {
                page.events.retain(|event| event.occurred_at < end);
            }
            if let Some(last) = page.events.iter().map(|e| e.occurred_at).max() {
                queue.reached = queue.reached.max(last);
            }
            queue.pages += 1;
            passed
        };
        if page.events.is_empty() {
            return Ok(passed);
        }
        loop {
            let space = self.space.notified();
            {
                let mut queue = self.queue();
                let spooled = queue.spool.as_ref().is_some_and(|spool| !spool.is_empty());
                if !queue.head || spooled {
                    if queue.spool.is_none() {
                        queue.spool = Some(shared.spool()?);
                    }
                    let spool = queue.spool.as_mut().expect("the spool was made");
                    spool
                        .append(page)
                        .map_err(|error| shared.spool_error(&error))?;
                    break;
                }
                if queue.memory.len() < HEAD_PAGES {
                    queue.memory.push_back(page);
                    break;
                }
            }
            space.await;
        }
        shared.progress.notify_one();
        Ok(passed)
    }
}

impl SliceQueue {
    /// How many pages `span` of the slice's rest is expected to hold, at the density its walk
    /// has read so far (none before its first page).
    fn pages_expected(&self, start: DateTime<Utc>, span: TimeDelta) -> f64 {
        let read = (self.reached - start).num_milliseconds().max(1_000) as f64;
        f64::from(self.pages) * span.num_milliseconds() as f64 / read
    }

    /// The slice's next page: its spool first, then memory.
    fn take(&mut self) -> Result<Option<Handed>, Error> {
        if let Some(spool) = self.spool.as_mut().filter(|spool| !spool.is_empty()) {
            return spool.take().map_err(|error| {
                Error::Spool(format!(
                    "the spool of a sliced walk cannot be read back: {error}"
                ))
            });
        }
        Ok(self.memory.pop_front())
    }
}

/// A slice's pages, read ahead of the consumer, in an unnamed temporary file: each the JSON
/// of its events (with the bytes of records that were not UTF-8, which an event's JSON leaves
/// out), written and read back through a small buffer, not as a whole.
struct Spool {
    file: File,
    /// The length of each page not read back yet, oldest first.
    lengths: VecDeque<u64>,
    written: u64,
    read: u64,
}

#[derive(Serialize, Deserialize)]
struct SpooledPage {
    received: usize,
    events: Vec<SpooledEvent>,
}

#[derive(Serialize, Deserialize)]
struct SpooledEvent {
    event: AuditEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quarantined: Option<SpooledBytes>,
}

#[derive(Serialize, Deserialize)]
struct SpooledBytes {
    page: String,
    position: usize,
    bytes: Vec<u8>,
}

impl Spool {
    fn new(file: File) -> Self {
        Spool {
            file,
            lengths: VecDeque::new(),
            written: 0,
            read: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// Writes `page` at the end of the spool (it is moved, not copied: the spool is where it
    /// lives until the consumer reads it back).
    fn append(&mut self, page: Handed) -> std::io::Result<()> {
        let spooled = SpooledPage {
            received: page.received,
            events: page
                .events
                .into_iter()
                .map(|mut event| SpooledEvent {
                    quarantined: event.quarantined.take().map(|q| SpooledBytes {
                        page: q.page,
                        position: q.position,
                        bytes: q.bytes,
                    }),
                    event,
                })
                .collect(),
        };
        self.file.seek(SeekFrom::Start(self.written))?;
        let mut writer = BufWriter::new(&self.file);
        serde_json::to_writer(&mut writer, &spooled)?;
        writer.flush()?;
        drop(writer);
        let end = self.file.stream_position()?;
        self.lengths.push_back(end - self.written);
        self.written = end;
        Ok(())
    }

    fn take(&mut self) -> std::io::Result<Option<Handed>> {
        let Some(length) = self.lengths.pop_front() else {
            return Ok(None);
        };
        self.file.seek(SeekFrom::Start(self.read))?;
        self.read += length;
        let spooled: SpooledPage =
            serde_json::from_reader(BufReader::new((&self.file).take(length)))?;
        let events = spooled
            .events
            .into_iter()
            .map(|spooled| {
                let mut event = spooled.event;
                event.quarantined = spooled.quarantined.map(|q| {
                    Box::new(raw_support::Quarantined {
                        page: q.page,
                        position: q.position,
                        bytes: q.bytes,
                    })
                });
                event
            })
            .collect();
        Ok(Some(Handed {
            events,
            received: spooled.received,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use futures::TryStreamExt;
    use proptest::prelude::*;

    use super::*;
    use crate::zendesk::ZendeskClient;

    /// A simulator whose audit logs crowd several records into most seconds (a cut at a second
    /// with records on both sides of it is the case to get right), the client, the window
    /// and the sequential walk's events, shared by every case.
    struct Fixture {
        runtime: tokio::runtime::Runtime,
        _sim: audit_sim::SimHandle,
        client: ZendeskClient,
        window: Window,
        sequential: Vec<AuditEvent>,
    }

    static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (sim, client, window, sequential) = runtime.block_on(async {
            let mut config = audit_sim::SimConfig::default();
            config.tenants[0].start = "now-20m".parse().unwrap();
            config.tenants[0].zendesk.audit_logs = 3000;
            let sim = audit_sim::start(config).await.unwrap();
            let client = crate::test_support::acme_zendesk(&sim);
            // Closed and settled (it ends before now minus the settle lag), so every walk of
            // it reads the same records.
            let until = Utc::now() - TimeDelta::minutes(1);
            let window = Window::between(until - TimeDelta::hours(1), until).unwrap();
            let sequential = audit_logs(&client, StreamOptions::new(window)).await;
            (sim, client, window, sequential)
        });
        Fixture {
            runtime,
            _sim: sim,
            client,
            window,
            sequential,
        }
    });

    /// Every audit log `options` select, read through `client`.
    async fn audit_logs(client: &ZendeskClient, options: StreamOptions) -> Vec<AuditEvent> {
        client
            .event_pages(StreamKind::ZendeskAuditLogs, options)
            .unwrap()
            .events()
            .try_collect()
            .await
            .unwrap()
    }

    /// Where two event lists first differ (`None` when they are the same).
    fn first_difference(left: &[AuditEvent], right: &[AuditEvent]) -> Option<String> {
        let at = (0..left.len().max(right.len()))
            .find(|&i| left.get(i).map(|e| &e.id) != right.get(i).map(|e| &e.id))?;
        let show = |events: &[AuditEvent]| {
            events
                .get(at)
                .map(|e| format!("{} at {}", e.id, e.occurred_at))
                .unwrap_or_else(|| "the end".to_string())
        };
        Some(format!(
            "{} and {} events differ at {at}: {} against {}",
            left.len(),
            right.len(),
            show(left),
            show(right)
        ))
    }

    /// A record without a timestamp where two slices meet is exported once, at the time the
    /// sequential walk gives it (that of the record before it), not at the slice's start.
    #[test]
    fn untimed_records_where_slices_meet_are_exported_once_at_the_sequential_time() {
        // One thread: the planned cuts are in place before the first walk asks for a page.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            // Two simulators of the same records, fixed in time: one sends 1 in 20 of them
            // without `created_at`, the other tells their real times. A record every 4 s,
            // so most untimed ones lie in a later second than the record before them.
            let start = floor_to_second(Utc::now() - TimeDelta::minutes(30));
            let end = start + TimeDelta::minutes(20);
            let configure = |null_timestamp| {
                let mut config = audit_sim::SimConfig::default();
                config.tenants[0].start = audit_sim::TimeSpec::At(start);
                config.tenants[0].end = audit_sim::TimeSpec::At(end);
                config.tenants[0].zendesk.audit_logs = 300;
                config.faults.null_timestamp = null_timestamp;
                config
            };
            let window = Window::between(start, end).unwrap();
            let mut walks = Vec::new();
            for null_timestamp in [0.0, 0.05] {
                let sim = audit_sim::start(configure(null_timestamp)).await.unwrap();
                let client = crate::test_support::acme_zendesk(&sim);
                let sequential = audit_logs(&client, StreamOptions::new(window)).await;
                walks.push((sim, client, sequential));
            }
            let true_times: std::collections::HashMap<&str, DateTime<Utc>> = walks[0]
                .2
                .iter()
                .map(|e| (e.id.as_str(), e.occurred_at))
                .collect();
            let (_sim, client, sequential) = &walks[1];
            // Cuts by untimed records: at its second (the slice before reads it too, its query
            // ending at that second), or a second before it (only the slice after reads it).
            let cuts: Vec<DateTime<Utc>> = sequential
                .iter()
                .filter(|e| e.occurred_at_inferred)
                .enumerate()
                .filter_map(|(k, e)| {
                    let second = floor_to_second(true_times[e.id.as_str()]);
                    let cut = second - TimeDelta::seconds((k % 2) as i64);
                    (cut > e.occurred_at).then_some(cut)
                })
                .collect();
            assert!(
                cuts.len() >= 4,
                "untimed records where slices meet: {cuts:?}"
            );
            let slicing = Slicing {
                cuts,
                ..Slicing::default()
            };
            let sliced = audit_logs(client, StreamOptions::new(window).with_slicing(slicing)).await;
            assert_eq!(first_difference(&sliced, sequential), None);
            for (sliced, sequential) in sliced.iter().zip(sequential) {
                assert_eq!(
                    (sliced.occurred_at, sliced.occurred_at_inferred),
                    (sequential.occurred_at, sequential.occurred_at_inferred),
                    "{}",
                    sliced.id
                );
            }
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Whatever the cuts (at a record's second, or anywhere), the sliced stream is the
        /// sequential one; stopped after any page, its checkpoint resumes a sequential walk
        /// to exactly the rest.
        #[test]
        fn any_slicing_of_a_window_yields_the_sequential_stream(
            at_records in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
            anywhere in prop::collection::vec(0u32..3600, 0..4),
            stop_after in 1usize..40,
        ) {
            let fixture = &*FIXTURE;
            let sequential = &fixture.sequential;
            prop_assert!(sequential.len() > 2500, "the window holds the simulator's records");
            let mut cuts: Vec<DateTime<Utc>> = at_records
                .iter()
                .map(|index| floor_to_second(sequential[index.index(sequential.len())].occurred_at))
                .chain(anywhere.iter().map(|s| floor_to_second(fixture.window.since + TimeDelta::seconds(i64::from(*s)))))
                .collect();
            cuts.sort();
            cuts.dedup();
            let slicing = Slicing {
                cuts,
                ..Slicing::default()
            };
            let options = StreamOptions::new(fixture.window).with_slicing(slicing);
            let (sliced, prefix, rest) = fixture.runtime.block_on(async {
                let sliced = audit_logs(&fixture.client, options.clone()).await;
                // Stop after some page and resume sequentially from its checkpoint.
                let mut pages = fixture.client.event_pages(StreamKind::ZendeskAuditLogs, options.clone()).unwrap();
                let mut prefix = Vec::new();
                let mut checkpoint = None;
                for _ in 0..stop_after {
                    let Some(page) = pages.try_next().await.unwrap() else { break };
                    prefix.extend(page.events);
                    checkpoint = Some(page.checkpoint);
                }
                drop(pages);
                let checkpoint = checkpoint.expect("a first page");
                let rest = audit_logs(&fixture.client, StreamOptions::resume_from(checkpoint)).await;
                (sliced, prefix, rest)
            });
            prop_assert_eq!(first_difference(&sliced, sequential), None);
            prop_assert!(sliced == *sequential, "the events are the sequential walk's, field by field");
            let resumed: Vec<AuditEvent> = prefix.into_iter().chain(rest).collect();
            prop_assert_eq!(first_difference(&resumed, sequential), None);
        }
    }
}
