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
//!   that, as a sequential stream does); a slice further on writes its pages to a spool file,
//!   so memory stays flat however far ahead the walks run; a
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
//!   the checkpoint. With a spool directory ([`Slicing::with_spool_dir`]) the spools are
//!   named files, synced to disk about every second, and the checkpoint names what of each
//!   was synced ([`Checkpoint::slices`]): a sliced resume takes every slice up where its
//!   spool ends, and reads again only what was not synced, the head slice's rest, and a
//!   slice whose spool is gone (a spool is checked whole before it is used).
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
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

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

/// How often a named spool is synced to disk while its walk writes to it: a checkpoint names
/// what was synced, so a kill loses at most this much of each slice's reading.
const SPOOL_SYNC: Duration = Duration::from_secs(1);

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
    /// How often a named spool is synced to disk (what a checkpoint names of it is on disk).
    spool_sync: Duration,
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
            spool_sync: SPOOL_SYNC,
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

    /// Where the slices read ahead of the consumer are spooled, as named files kept for a
    /// resume: every page's checkpoint names the spools synced to disk by then
    /// ([`Checkpoint::slices`]), and a sliced walk resumed from it in the same directory takes
    /// each slice up where it was instead of reading it again. A spool is deleted once its
    /// slice is emitted; a resume deletes those of the same stream and tenant it does not
    /// use. Give each export of a stream a directory of its own. Without one, spools are
    /// unnamed temporary files, gone when the stream is dropped or the process ends.
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

/// A slice of a sliced walk whose pages were spooled to a named file, as a checkpoint records
/// it ([`Checkpoint::slices`]): a resume in the same spool directory emits what the spool
/// holds after `read` and walks on from `walk`.
///
/// ```
/// use audit_core::Checkpoint;
///
/// let saved = r#"{"version":1,"source":{"vendor":"zendesk","stream":"zendesk-audit-logs","tenant":"acme"},
///     "window":{"since":"2024-03-01T00:00:00Z","until":"2024-04-01T00:00:00Z"},
///     "position":{"kind":"high_water","at":"2024-03-02T10:00:00Z","ids":["1"]},
///     "slices":[{"start":"2024-03-16T00:00:00Z","end":null,"spool":"trail-zendesk-audit-logs-acme-x1.spool",
///       "length":52000,"read":0,"walk":{"kind":"high_water","at":"2024-03-18T00:00:00Z","ids":["99"]}}]}"#;
/// let checkpoint = Checkpoint::from_json(saved)?;
/// assert_eq!(checkpoint.slices[0].length, 52000);
/// # Ok::<(), audit_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SliceMark {
    /// Where the slice starts.
    pub start: DateTime<Utc>,
    /// Where it ends, exclusive (it meets the next slice there); `None` for the last slice.
    pub end: Option<DateTime<Utc>>,
    /// The spool's file name in the spool directory.
    pub spool: String,
    /// The bytes of the spool on disk, whole pages.
    pub length: u64,
    /// The bytes of those already emitted (before the checkpoint's position).
    pub read: u64,
    /// Where the slice's walk stood after the pages in `length`; `None` once it had read the
    /// slice to its end.
    pub walk: Option<Position>,
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
        let mut resume = self.options.resume.take();
        let marks = resume
            .as_mut()
            .map(|checkpoint| std::mem::take(&mut checkpoint.slices))
            .unwrap_or_default();
        if let Some(Position::HighWater { at, ids }) = resume.as_ref().map(|c| &c.position) {
            self.edge = Some((*at, ids.clone()));
            self.last_at = Some(*at);
        }
        let from = match &self.edge {
            Some((at, _)) => floor_to_second((*at).max(window.since)),
            None => window.since,
        };
        self.start.window = window;
        let mut base = self.options.clone();
        base.follow = None;
        base.read_ahead = false;
        let source = &self.start.source;
        let tenant: String = source
            .tenant
            .chars()
            .map(
                |c| match c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    true => c,
                    false => '_',
                },
            )
            .collect();
        let shared = Arc::new(Shared {
            open: Arc::clone(&self.open),
            stats: Arc::clone(&self.stats),
            base,
            until: until.max(from),
            spool_dir: self.slicing.spool_dir.clone(),
            spool_prefix: format!("trail-{}-{tenant}-", source.stream),
            spool_sync: self.slicing.spool_sync,
            max_walks: self.slicing.max_walks,
            progress: Notify::new(),
            plan: Mutex::new(Plan {
                slices: VecDeque::new(),
                walks: Vec::new(),
                running: 0,
                pages_since_growth: 0,
                last_stats: (self.stats)().stats,
                page_time: None,
                binding: false,
                failed: false,
            }),
        });
        let slices = shared.resumed_slices(from, resume, marks);
        slices[0].queue().head = true;
        {
            let mut plan = shared.plan();
            for slice in slices {
                plan.slices.push_back(Arc::clone(&slice));
                if !slice.queue().done {
                    Shared::spawn(&shared, &mut plan, slice);
                }
            }
        }
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
        let last_at = self.last_at;
        // The records emitted at the newest instant: the untimed ones emitted last are there,
        // at the time of the record before them (also when the stream was resumed since).
        let emitted = |event: &AuditEvent| {
            self.edge
                .as_ref()
                .is_some_and(|(_, ids)| ids.iter().any(|id| **id == *event.native_id))
        };
        events.retain_mut(|event| {
            if !opening {
                return true;
            }
            if !event.occurred_at_inferred {
                opening = false;
                return true;
            }
            if emitted(event) {
                return false;
            }
            if let Some(at) = last_at {
                event.occurred_at = at;
            }
            true
        });
        self.opening = opening;
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
        if let Some(shared) = &self.shared {
            checkpoint.slices = shared
                .plan()
                .slices
                .iter()
                .filter_map(|slice| {
                    let queue = slice.queue();
                    queue.spool.as_ref()?.mark(slice.start, queue.end)
                })
                .collect();
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
                    if let Some(emitted) = plan.slices.pop_front()
                        && let Some(spool) = emitted.queue().spool.take()
                    {
                        spool.discard(shared.spool_dir.as_deref());
                    }
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
    /// How the names of this stream's spools begin (stream and tenant).
    spool_prefix: String,
    spool_sync: Duration,
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
        let mut queue = slice.queue();
        let to_end = queue.end.is_some();
        if let Some(spool) = queue.spool.as_mut() {
            spool
                .finish(to_end)
                .map_err(|error| self.spool_error(&error))?;
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
        let spool = match &self.spool_dir {
            Some(dir) => tempfile::Builder::new()
                .prefix(&self.spool_prefix)
                .suffix(".spool")
                .tempfile_in(dir)
                .and_then(|file| file.keep().map_err(|error| error.error))
                .map(|(file, path)| {
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    Spool::new(file, name)
                }),
            None => tempfile::tempfile().map(|file| Spool::new(file, None)),
        };
        spool.map_err(|error| self.spool_error(&error))
    }

    /// The slices of a resumed stream, from `from` (where `resumed`, the stream's checkpoint,
    /// stands) on: each slice `marks` names whose spool is still whole in the spool directory
    /// taken up where it was, the rest of the range in fresh slices (the first resumed from
    /// `resumed`). Spools of this stream the plan does not use are deleted.
    fn resumed_slices(
        &self,
        from: DateTime<Utc>,
        mut resumed: Option<Checkpoint>,
        mut marks: Vec<SliceMark>,
    ) -> Vec<Arc<Slice>> {
        marks.sort_by_key(|mark| mark.start);
        let dir = self.spool_dir.as_deref();
        // The checkpoint a reopened slice's walk resumes from, at its own position.
        let template = resumed.clone();
        let mut slices = Vec::new();
        let mut kept = Vec::new();
        // Where the range not yet planned starts (`None`: planned to the end).
        let mut next = Some(from);
        for mark in marks {
            let Some(start) = next else { break };
            // Only the first slice may start before the range left (`from` lies in it); a mark
            // that overlaps what is planned already, or ends before it, is not used.
            let overlaps = !slices.is_empty() && mark.start < start;
            if overlaps || mark.end.is_some_and(|end| end <= start.max(mark.start)) {
                continue;
            }
            if mark.start > start {
                slices.push(Arc::new(Slice::new(
                    start,
                    Some(mark.start),
                    resumed.take(),
                )));
            }
            match dir.map(|dir| Spool::reopen(dir, &mark)) {
                Some(Ok(spool)) => {
                    let walk = mark
                        .walk
                        .clone()
                        .zip(template.clone())
                        .map(|(position, mut at)| {
                            at.position = position;
                            at.slices.clear();
                            at
                        });
                    kept.push(mark.spool.clone());
                    slices.push(Arc::new(Slice::reopened(&mark, spool, walk)));
                    // The spool holds what follows `resumed` in this slice.
                    resumed = None;
                }
                failed => {
                    if let Some(Err(error)) = failed {
                        tracing::info!(
                            spool = mark.spool,
                            "a sliced walk reads a slice again: its spool cannot be used ({error})"
                        );
                    }
                    // Read again from its start (or from `resumed`, when it holds `from`).
                    let start = mark.start.max(start);
                    slices.push(Arc::new(Slice::new(start, mark.end, resumed.take())));
                }
            }
            next = mark.end;
        }
        if let Some(start) = next {
            slices.push(Arc::new(Slice::new(start, None, resumed.take())));
        }
        if let Some(dir) = dir {
            self.delete_spools_but(dir, &kept);
        }
        slices
    }

    /// Deletes this stream's spools in `dir` but those named in `kept` (left by a run that
    /// ended, or that the plan cannot use).
    fn delete_spools_but(&self, dir: &Path, kept: &[String]) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&self.spool_prefix)
                && name.ends_with(".spool")
                && !kept.contains(&name)
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
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

    /// The slice `mark` names, its spool taken up again, its walk resumed at `walk` (`None`:
    /// it was read to its end).
    fn reopened(mark: &SliceMark, spool: Spool, walk: Option<Checkpoint>) -> Self {
        let slice = Slice::new(mark.start, mark.end, None);
        {
            let mut queue = slice.queue();
            queue.reached = match &walk {
                Some(checkpoint) => match &checkpoint.position {
                    Position::HighWater { at, .. } => (*at).max(mark.start),
                    _ => mark.start,
                },
                None => mark.end.unwrap_or(mark.start),
            };
            queue.pages = spool.lengths.len() as u32;
            queue.done = walk.is_none();
            queue.resume = walk;
            queue.spool = Some(spool);
        }
        slice
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
        let walk = page.checkpoint.position;
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
        // A walk that passed the slice's end has read it: a resume does not walk it again.
        let walk = (!passed).then_some(walk);
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
                        .append(page, walk, shared.spool_sync)
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

/// A slice's pages, read ahead of the consumer, in a temporary file: each the JSON of its
/// events (with the bytes of records that were not UTF-8, which an event's JSON leaves out),
/// written and read back through a small buffer, not as a whole. A named spool (in the
/// slicing's spool directory) is synced now and then, and what is synced is what a
/// checkpoint names of it ([`SliceMark`]).
struct Spool {
    file: File,
    /// Its file name in the spool directory; `None` for an unnamed file.
    name: Option<String>,
    /// The length of each page not read back yet, oldest first.
    lengths: VecDeque<u64>,
    written: u64,
    read: u64,
    /// Where the slice's walk stood after the last page written (`None`: at the slice's end).
    walk: Option<Position>,
    /// What is on disk for sure: the length synced, and the walk's position there.
    synced: Option<(u64, Option<Position>)>,
    synced_at: Instant,
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
    fn new(file: File, name: Option<String>) -> Self {
        Spool {
            file,
            name,
            lengths: VecDeque::new(),
            written: 0,
            read: 0,
            walk: None,
            synced: None,
            synced_at: Instant::now(),
        }
    }

    /// Takes up the spool `mark` names in `dir`: what it holds after `mark.read`, up to the
    /// synced `mark.length` (whatever was written after that is cut off).
    fn reopen(dir: &Path, mark: &SliceMark) -> std::io::Result<Spool> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join(&mark.spool))?;
        if file.metadata()?.len() < mark.length || mark.read > mark.length {
            return Err(std::io::Error::other("shorter than its checkpoint says"));
        }
        file.set_len(mark.length)?;
        let mut spool = Spool::new(file, Some(mark.spool.clone()));
        spool.read = mark.read;
        spool.written = mark.read;
        // The pages' lengths, from where each JSON value ends.
        (&spool.file).seek(SeekFrom::Start(mark.read))?;
        let reader = BufReader::new((&spool.file).take(mark.length - mark.read));
        let mut pages =
            serde_json::Deserializer::from_reader(reader).into_iter::<serde::de::IgnoredAny>();
        while let Some(page) = pages.next() {
            page?;
            let end = mark.read + pages.byte_offset() as u64;
            spool.lengths.push_back(end - spool.written);
            spool.written = end;
        }
        if spool.written != mark.length {
            return Err(std::io::Error::other("its last page is not whole"));
        }
        spool.walk = mark.walk.clone();
        spool.synced = Some((mark.length, mark.walk.clone()));
        Ok(spool)
    }

    fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// Writes `page` at the end of the spool (it is moved, not copied: the spool is where it
    /// lives until the consumer reads it back); `walk` is where the slice's walk stands after
    /// it. A named spool is synced when the last sync is older than `sync_every`.
    fn append(
        &mut self,
        page: Handed,
        walk: Option<Position>,
        sync_every: Duration,
    ) -> std::io::Result<()> {
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
        self.walk = walk;
        if self.synced_at.elapsed() >= sync_every {
            self.sync()?;
        }
        Ok(())
    }

    /// Syncs a named spool to disk: what it holds now is what a checkpoint may name.
    fn sync(&mut self) -> std::io::Result<()> {
        if self.name.is_none() {
            return Ok(());
        }
        self.file.sync_data()?;
        self.synced = Some((self.written, self.walk.clone()));
        self.synced_at = Instant::now();
        Ok(())
    }

    /// The slice's walk has read it to its end: synced, the spool says so when the end is
    /// fixed (`to_end`). The last slice ends at the window's end, which for an open window
    /// is later when resumed later: its spool keeps where its walk stopped.
    fn finish(&mut self, to_end: bool) -> std::io::Result<()> {
        if to_end {
            self.walk = None;
        }
        self.sync()
    }

    /// What a checkpoint taken now records of the spool of the slice `start`..`end`: `None`
    /// when it is unnamed or nothing synced is left to emit.
    fn mark(&self, start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Option<SliceMark> {
        let name = self.name.as_ref()?;
        let (length, walk) = self.synced.as_ref()?;
        (*length > self.read).then(|| SliceMark {
            start,
            end,
            spool: name.clone(),
            length: *length,
            read: self.read,
            walk: walk.clone(),
        })
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

    /// Deletes a named spool whose slice is emitted (an unnamed one goes with its file).
    fn discard(self, dir: Option<&Path>) {
        if let (Some(name), Some(dir)) = (&self.name, dir) {
            let _ = std::fs::remove_file(dir.join(name));
        }
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
        sim: audit_sim::SimHandle,
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
            sim,
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
            let spools = tempfile::tempdir().unwrap();
            let slicing = Slicing {
                cuts,
                spool_sync: Duration::ZERO,
                ..Slicing::default()
            }
            .with_spool_dir(spools.path());
            let options = StreamOptions::new(window).with_slicing(slicing.clone());
            let same_as_sequential = |sliced: &[AuditEvent]| {
                assert_eq!(first_difference(sliced, sequential), None);
                for (sliced, sequential) in sliced.iter().zip(sequential) {
                    assert_eq!(
                        (sliced.occurred_at, sliced.occurred_at_inferred),
                        (sequential.occurred_at, sequential.occurred_at_inferred),
                        "{}",
                        sliced.id
                    );
                }
            };
            same_as_sequential(&audit_logs(client, options.clone()).await);
            // Stopped after any page and resumed sliced, with the spools of the slices ahead:
            // the slices still meet as the sequential walk's records do.
            for stop_after in 1..4 {
                let mut pages = client
                    .event_pages(StreamKind::ZendeskAuditLogs, options.clone())
                    .unwrap();
                let mut whole = Vec::new();
                let mut checkpoint = None;
                for _ in 0..stop_after {
                    let page = pages.try_next().await.unwrap().unwrap();
                    whole.extend(page.events);
                    checkpoint = Some(page.checkpoint);
                }
                drop(pages);
                let resumed =
                    StreamOptions::resume_from(checkpoint.unwrap()).with_slicing(slicing.clone());
                whole.extend(audit_logs(client, resumed).await);
                same_as_sequential(&whole);
            }
        });
    }

    /// A sliced walk stopped as a kill stops it (its walks dropped, its spools left on disk)
    /// and resumed from its last checkpoint takes each slice up where its spool ends: what
    /// the spools held is not asked for again, and the rest is the sequential walk's. Where
    /// the spools are gone, the same checkpoint reads those slices again.
    #[test]
    fn a_resumed_sliced_walk_takes_each_slice_up_where_it_was() {
        let fixture = &*FIXTURE;
        let sequential = &fixture.sequential;
        let spools = tempfile::tempdir().unwrap();
        // Four slices of about the same number of records.
        let slicing = Slicing {
            cuts: (1..4)
                .map(|k| floor_to_second(sequential[sequential.len() * k / 4].occurred_at))
                .collect(),
            spool_sync: Duration::ZERO,
            ..Slicing::default()
        }
        .with_spool_dir(spools.path());
        let options = StreamOptions::new(fixture.window).with_slicing(slicing.clone());
        // A client of its own: its counters are this test's requests only.
        let client = crate::test_support::acme_zendesk(&fixture.sim);
        let requests = || client.stats().requests;
        fixture.runtime.block_on(async {
            let mut pages = client
                .event_pages(StreamKind::ZendeskAuditLogs, options)
                .unwrap();
            let mut prefix = pages.try_next().await.unwrap().unwrap().events;
            // The walks of the slices ahead spool their pages meanwhile; wait until they have
            // ended (their spools stop growing), however loaded the machine: a fixed wait
            // left them half read when the test ran beside a hundred others.
            spooled_to_the_end(spools.path()).await;
            let page = pages.try_next().await.unwrap().unwrap();
            prefix.extend(page.events);
            drop(pages);
            let checkpoint = page.checkpoint;
            assert!(checkpoint.slices.len() >= 3, "{:?}", checkpoint.slices);
            // The last slice ends at the window's end, later for an open window resumed
            // later: read to it, it still says where its walk stopped.
            let last = checkpoint.slices.last().unwrap();
            assert!(last.end.is_none() && last.walk.is_some(), "{last:?}");

            // Resumed where the spools are not (another machine, say): the slices ahead are
            // read again.
            let again = checkpoint.clone();
            let before = requests();
            let elsewhere = tempfile::tempdir().unwrap();
            let fresh = Slicing {
                spool_sync: Duration::ZERO,
                ..Slicing::default()
            }
            .with_spool_dir(elsewhere.path());
            let reread = audit_logs(
                &client,
                StreamOptions::resume_from(again).with_slicing(fresh),
            )
            .await;
            let rereading = requests() - before;

            // Resumed with them: only the head slice's rest is asked for.
            let before = requests();
            let resumed = audit_logs(
                &client,
                StreamOptions::resume_from(checkpoint).with_slicing(slicing),
            )
            .await;
            let taking_up = requests() - before;

            let whole: Vec<AuditEvent> = prefix.iter().cloned().chain(resumed).collect();
            assert_eq!(first_difference(&whole, sequential), None);
            let whole: Vec<AuditEvent> = prefix.into_iter().chain(reread).collect();
            assert_eq!(first_difference(&whole, sequential), None);
            assert!(
                taking_up * 3 < rereading,
                "{taking_up} requests taking the slices up, {rereading} reading them again"
            );
            assert!(
                std::fs::read_dir(spools.path()).unwrap().next().is_none(),
                "no spool left"
            );
        });
    }

    /// Waits until the spools in `dir` have not grown for a second (their walks have ended).
    async fn spooled_to_the_end(dir: &Path) {
        let size = || -> u64 {
            std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|entry| entry.ok()?.metadata().ok())
                .map(|metadata| metadata.len())
                .sum()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = None;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = size();
            if now > 0 && last == Some(now) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the spools still grow after a minute"
            );
            last = Some(now);
        }
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
            let spools = tempfile::tempdir().unwrap();
            let slicing = Slicing {
                cuts,
                spool_sync: Duration::ZERO,
                ..Slicing::default()
            }
            .with_spool_dir(spools.path());
            let options = StreamOptions::new(fixture.window).with_slicing(slicing.clone());
            let (sliced, prefix, rest, sliced_rest) = fixture.runtime.block_on(async {
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
                let rest = audit_logs(&fixture.client, StreamOptions::resume_from(checkpoint.clone())).await;
                // Sliced again, with the spools the checkpoint names.
                let options = StreamOptions::resume_from(checkpoint).with_slicing(slicing);
                let sliced_rest = audit_logs(&fixture.client, options).await;
                (sliced, prefix, rest, sliced_rest)
            });
            prop_assert_eq!(first_difference(&sliced, sequential), None);
            prop_assert!(sliced == *sequential, "the events are the sequential walk's, field by field");
            let resumed: Vec<AuditEvent> = prefix.iter().cloned().chain(rest).collect();
            prop_assert_eq!(first_difference(&resumed, sequential), None);
            let resumed: Vec<AuditEvent> = prefix.into_iter().chain(sliced_rest).collect();
            prop_assert_eq!(first_difference(&resumed, sequential), None);
            let left: Vec<_> = std::fs::read_dir(spools.path()).unwrap().collect();
            prop_assert!(left.is_empty(), "spools left behind: {:?}", left);
        }
    }
}
