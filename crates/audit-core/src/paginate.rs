//! Pagination: one generic cursor paginator, and the page and item streams of events.
//!
//! [`Paginator`] walks any cursor-paginated listing: give it a function that fetches the page
//! at a cursor, and it yields pages (each with the cursor to resume from) or items, fetching
//! the next page only when the consumer asks, or, with [`Paginator::read_ahead`], while the
//! consumer works on the page before it. It refuses to follow a cursor it has already
//! used, so a vendor that hands the same cursor back ends the walk with
//! [`Error::RepeatedCursor`] instead of looping (the last [`RECENT_CURSORS`] cursors are
//! remembered by hash; older ones through cycle detection, so memory does not grow with the
//! length of the walk). The fetch function can retry such a page
//! itself first ([`PageRequest::check_next`] inside the retry layer), since a repeated cursor
//! is often a transient fault.
//!
//! A walk ends only on the vendor's end signal (the fetch function's `next: None`), and only
//! when the data agrees: an empty last page (which contradicts the page before it, if any) is
//! asked for again once before it is believed; [`MAX_EMPTY_PAGES`] empty pages in a
//! row under new cursors fail with [`Error::NoProgress`] instead of looping.
//!
//! The facade's event streams ([`EventPages`], [`EventStream`]) are built on it: every
//! [`EventPage`] carries the [`Checkpoint`] to resume from after it.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use raw_support::Recorded;
use sync_wrapper::SyncWrapper;
use tracing::Instrument;

use crate::checkpoint::Checkpoint;
use crate::checkpoint::PageToken;
use crate::error::Error;
use crate::event::AuditEvent;
use crate::recent::RecentHashes;

/// What a fetch function returns: the page's items and the cursor of the next page
/// (`None` on the last page).
///
/// ```
/// use audit_core::paginate::{CursorPage, Paginator};
/// use futures::TryStreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), audit_core::Error> {
/// let numbers = Paginator::new("list_numbers", None, |request| async move {
///     Ok(match request.cursor {
///         None => CursorPage { items: vec![1, 2], next: Some(2) },
///         Some(_) => CursorPage { items: vec![3], next: None }, // the last page
///     })
/// });
/// assert_eq!(numbers.items().try_collect::<Vec<i32>>().await?, [1, 2, 3]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPage<T, K> {
    /// The items, in the vendor's order.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` when this page is the last.
    pub next: Option<K>,
}

/// A page as the paginator yields it.
///
/// ```
/// use audit_core::paginate::{CursorPage, Paginator};
/// use futures::TryStreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), audit_core::Error> {
/// let pages = Paginator::new("list_numbers", None, |request| async move {
///     Ok(match request.cursor {
///         None => CursorPage { items: vec![1, 2], next: Some(7) },
///         Some(_) => CursorPage { items: vec![3], next: None },
///     })
/// });
/// let pages: Vec<_> = pages.pages().try_collect().await?;
/// assert_eq!((pages[0].cursor, pages[0].next), (None, Some(7)));
/// assert_eq!((pages[1].cursor, pages[1].next), (Some(7), None));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T, K> {
    /// The items, in the vendor's order.
    pub items: Vec<T>,
    /// The cursor this page was fetched with (`None` for the first page).
    pub cursor: Option<K>,
    /// The cursor to resume from after this page; `None` when the listing is done.
    pub next: Option<K>,
}

/// How many of the latest cursors of a walk are remembered exactly.
///
/// ```
/// use audit_core::paginate::{MAX_EMPTY_PAGES, RECENT_CURSORS};
///
/// // Every cursor of a normal walk is remembered exactly; longer loops are caught by sampling.
/// assert!(RECENT_CURSORS > MAX_EMPTY_PAGES as usize);
/// ```
pub const RECENT_CURSORS: usize = 1000;

/// How many pages in a row may hold no items while handing out new cursors before a walk
/// fails with [`Error::NoProgress`] (a vendor doing so forever would keep a walk looping).
///
/// ```
/// use audit_core::Error;
/// use audit_core::paginate::{CursorPage, MAX_EMPTY_PAGES, Paginator};
/// use futures::TryStreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // A listing that hands out a new cursor with every empty page, forever.
/// let looping = Paginator::new("list_nothing", None, |request| async move {
///     Ok(CursorPage::<i32, u32> { items: vec![], next: Some(request.cursor.unwrap_or(0) + 1) })
/// });
/// let error = looping.items().try_collect::<Vec<_>>().await.unwrap_err();
/// assert!(matches!(error, Error::NoProgress { pages, .. } if pages == MAX_EMPTY_PAGES));
/// # }
/// ```
pub const MAX_EMPTY_PAGES: u32 = 25;

/// The cursors a walk has used, in bounded memory: the last [`RECENT_CURSORS`] by their
/// keyed 64-bit hashes ([`RecentHashes`]: 8 bytes a cursor, where a cursor can be a next-page
/// URL of hundreds of bytes), and for longer loops Brent's cycle detection (one cursor
/// saved at steps 1, 2, 4, 8, …: once the saved cursor lies on a loop and the step is longer
/// than the loop, the walk comes back to it). A vendor that hands back any cursor of the last
/// thousand pages is caught at once; a loop longer than that is caught within two rounds of
/// it, instead of the memory of every cursor of a long export growing with it. A new cursor
/// whose hash matches one of the last thousand (a chance of about 1 in 10^16) fails the walk
/// loudly as a repeat; it never skips a page.
#[derive(Debug)]
struct UsedCursors<K> {
    recent: RecentHashes,
    saved: Option<K>,
    steps: u64,
    power: u64,
}

impl<K> Default for UsedCursors<K> {
    fn default() -> Self {
        UsedCursors {
            recent: RecentHashes::new(RECENT_CURSORS),
            saved: None,
            steps: 0,
            power: 1,
        }
    }
}

impl<K: Clone + Eq + Hash> UsedCursors<K> {
    fn insert(&mut self, cursor: &K) {
        if self.steps == self.power {
            self.saved = Some(cursor.clone());
            self.power = self.power.saturating_mul(2);
            self.steps = 0;
        }
        self.steps += 1;
        self.recent.insert(cursor);
    }
}

impl<K: Eq + Hash> UsedCursors<K> {
    fn contains(&self, cursor: &K) -> bool {
        self.recent.contains(cursor) || self.saved.as_ref() == Some(cursor)
    }
}

/// A request for one page, handed to the fetch function.
///
/// ```
/// use audit_core::paginate::{CursorPage, Paginator};
/// use futures::TryStreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), audit_core::Error> {
/// let walk = Paginator::new("list_numbers", Some(10), |request| async move {
///     let at = request.cursor.unwrap(); // where this page starts
///     Ok(CursorPage { items: vec![at], next: (at < 12).then_some(at + 1) })
/// });
/// assert_eq!(walk.items().try_collect::<Vec<u32>>().await?, [10, 11, 12]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct PageRequest<K> {
    /// The cursor of the page (`None` for the first page).
    pub cursor: Option<K>,
    operation: &'static str,
    used: Arc<Mutex<UsedCursors<K>>>,
}

impl<K: Eq + Hash + fmt::Display> PageRequest<K> {
    /// Fails with [`Error::RepeatedCursor`] when `next` is a cursor this walk has already
    /// used. Call it on each response inside the retry layer, so a transient repeat is
    /// re-requested before it becomes an error.
    ///
    /// ```
    /// use audit_core::paginate::{CursorPage, Paginator};
    /// use futures::TryStreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // A vendor that sends the walk back to a cursor it has used: refused, not looped.
    /// let walk = Paginator::new("list_loop", None, |request| async move {
    ///     let next = Some(1);
    ///     request.check_next(next.as_ref())?;
    ///     Ok::<_, audit_core::Error>(CursorPage { items: vec!["x"], next })
    /// });
    /// let error = walk.items().try_collect::<Vec<_>>().await.unwrap_err();
    /// assert!(matches!(error, audit_core::Error::RepeatedCursor { .. }), "{error}");
    /// # }
    /// ```
    pub fn check_next(&self, next: Option<&K>) -> Result<(), Error> {
        match next {
            Some(next)
                if self
                    .used
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(next) =>
            {
                Err(Error::RepeatedCursor {
                    operation: self.operation,
                    cursor: next.to_string(),
                    attempts: 1,
                })
            }
            _ => Ok(()),
        }
    }
}

type FetchFn<T, K> =
    Box<dyn FnMut(PageRequest<K>) -> BoxFuture<'static, Result<CursorPage<T, K>, Error>> + Send>;
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Walks a cursor-paginated listing, one page per request, on demand (or one page ahead, see
/// [`Paginator::read_ahead`]).
///
/// ```
/// use audit_core::paginate::{CursorPage, Paginator};
/// use futures::TryStreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), audit_core::Error> {
/// // A listing of three pages: cursors "a", "b", then the end.
/// let paginator = Paginator::new("list_numbers", None, |request| async move {
///     Ok(match request.cursor.as_deref() {
///         None => CursorPage { items: vec![1, 2], next: Some("a".to_string()) },
///         Some("a") => CursorPage { items: vec![3, 4], next: Some("b".to_string()) },
///         _ => CursorPage { items: vec![5], next: None },
///     })
/// });
/// let items: Vec<i32> = paginator.items().try_collect().await?;
/// assert_eq!(items, [1, 2, 3, 4, 5]);
/// # Ok(())
/// # }
/// ```
pub struct Paginator<T, K> {
    operation: &'static str,
    /// `None`: done; `Some(None)`: the first page is next.
    next: Option<Option<K>>,
    used: Arc<Mutex<UsedCursors<K>>>,
    fetch: FetchFn<T, K>,
    read_ahead: bool,
    /// The request of the page at `next`, under way since the page before it came back.
    ahead: Option<Ahead<T, K>>,
    /// Pages in a row that held no items but a next cursor.
    empty_pages: u32,
}

impl<T, K: fmt::Debug> fmt::Debug for Paginator<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("operation", &self.operation)
            .field("next", &self.next)
            .field("read_ahead", &self.read_ahead)
            .finish_non_exhaustive()
    }
}

/// A page's request running on a task of its own; dropping it cancels the request.
struct Ahead<T, K> {
    task: tokio::task::JoinHandle<Result<CursorPage<T, K>, Error>>,
}

impl<T, K> Ahead<T, K> {
    /// The page; `None` if the task was cancelled (its runtime is shutting down). A panic in
    /// the fetch function is passed on, as it would be without the task.
    async fn join(mut self) -> Option<Result<CursorPage<T, K>, Error>> {
        match (&mut self.task).await {
            Ok(page) => Some(page),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => None,
        }
    }
}

impl<T, K> Drop for Ahead<T, K> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<T, K> Paginator<T, K>
where
    T: Send + 'static,
    K: Clone + Eq + Hash + fmt::Display + Send + 'static,
{
    /// A walk of the listing `operation` starting at `start` (`None`: the first page).
    ///
    /// ```
    /// use audit_core::paginate::{CursorPage, Paginator};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), audit_core::Error> {
    /// let mut walk = Paginator::new("list_letters", None, |_request| async move {
    ///     Ok(CursorPage::<char, String> { items: vec!['a', 'b'], next: None })
    /// });
    /// assert!(!walk.is_done());
    /// assert_eq!(walk.next_page().await?.unwrap().items, ['a', 'b']);
    /// assert!(walk.is_done());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new<F, Fut>(operation: &'static str, start: Option<K>, mut fetch: F) -> Self
    where
        F: FnMut(PageRequest<K>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<CursorPage<T, K>, Error>> + Send + 'static,
    {
        Paginator {
            operation,
            next: Some(start),
            used: Arc::new(Mutex::new(UsedCursors::default())),
            fetch: Box::new(move |request| Box::pin(fetch(request))),
            read_ahead: false,
            ahead: None,
            empty_pages: 0,
        }
    }

    /// Requests each page as soon as the page before it has come back, on a task of its own,
    /// so the vendor works on it while the consumer works on the page before (its request
    /// and its decoding, done by the fetch function, overlap the consumer's work). A walk
    /// that is dropped cancels the request under way; one consumed to its end makes the same
    /// requests as without read-ahead. Outside a tokio runtime, pages are fetched on demand.
    ///
    /// ```
    /// use audit_core::paginate::{CursorPage, Paginator};
    /// use futures::TryStreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), audit_core::Error> {
    /// let paginator = Paginator::new("list_numbers", None, |request| async move {
    ///     Ok(match request.cursor.as_deref() {
    ///         None => CursorPage { items: vec![1, 2], next: Some("a".to_string()) },
    ///         _ => CursorPage { items: vec![3], next: None },
    ///     })
    /// })
    /// .read_ahead();
    /// let items: Vec<i32> = paginator.items().try_collect().await?;
    /// assert_eq!(items, [1, 2, 3]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn read_ahead(mut self) -> Self {
        self.read_ahead = true;
        self
    }

    /// Whether the walk has reached the last page.
    ///
    /// ```
    /// use audit_core::paginate::{CursorPage, Paginator};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), audit_core::Error> {
    /// let mut walk = Paginator::new("list_one", None, |_request| async move {
    ///     Ok(CursorPage::<u8, String> { items: vec![1], next: None })
    /// });
    /// walk.next_page().await?;
    /// assert!(walk.is_done());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_done(&self) -> bool {
        self.next.is_none()
    }

    /// Fetches the next page; `Ok(None)` once the listing is done. After an error the same
    /// page is requested again by the next call.
    ///
    /// ```
    /// use audit_core::paginate::{CursorPage, Paginator};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), audit_core::Error> {
    /// let mut walk = Paginator::new("list_two", None, |request| async move {
    ///     Ok(match request.cursor {
    ///         None => CursorPage { items: vec![1], next: Some(1) },
    ///         Some(_) => CursorPage { items: vec![2], next: None },
    ///     })
    /// });
    /// while let Some(page) = walk.next_page().await? {
    ///     println!("{:?}, then {:?}", page.items, page.next);
    /// }
    /// assert!(walk.next_page().await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn next_page(&mut self) -> Result<Option<Page<T, K>>, Error> {
        let Some(cursor) = self.next.take() else {
            return Ok(None);
        };
        // The page's request is under way already (read ahead), or it is made now (also when
        // that task was cancelled).
        let fetched = match self.ahead.take() {
            Some(ahead) => ahead.join().await,
            None => None,
        };
        let fetched = match fetched {
            Some(fetched) => fetched,
            None => self.request(cursor.clone()).await,
        };
        let fetched = match fetched {
            // An empty last page is asked for again before the end is believed: reached by a
            // cursor it contradicts the page before it, which said there was more, and vendors
            // have answered a page in the middle of a walk (or a first page) that way. It
            // costs one request at the end of a walk that finds nothing more.
            Ok(page) if page.items.is_empty() && page.next.is_none() => {
                tracing::info!(
                    operation = self.operation,
                    "an empty last page; asking again to confirm the end"
                );
                self.request(cursor.clone()).await
            }
            fetched => fetched,
        };
        let page = match fetched {
            Ok(page) => page,
            Err(error) => {
                self.next = Some(cursor);
                return Err(error);
            }
        };
        if page.items.is_empty() && page.next.is_some() {
            self.empty_pages += 1;
            if self.empty_pages >= MAX_EMPTY_PAGES {
                self.empty_pages = 0;
                self.next = Some(cursor);
                return Err(Error::NoProgress {
                    operation: self.operation,
                    pages: MAX_EMPTY_PAGES,
                });
            }
        } else {
            self.empty_pages = 0;
        }
        if let Some(next) = &page.next {
            let repeated = self
                .used
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(next);
            if repeated {
                // As after any error, the next call asks for the same page again (the
                // listing is not over).
                self.next = Some(cursor);
                return Err(Error::RepeatedCursor {
                    operation: self.operation,
                    cursor: next.to_string(),
                    attempts: 1,
                });
            }
        }
        self.next = page.next.clone().map(Some);
        if self.read_ahead
            && let Some(next) = &page.next
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let request = self.request(Some(next.clone())).in_current_span();
            self.ahead = Some(Ahead {
                task: runtime.spawn(request),
            });
            // Let the new task send its request before the consumer takes this thread.
            tokio::task::yield_now().await;
        }
        Ok(Some(Page {
            items: page.items,
            cursor,
            next: page.next,
        }))
    }

    /// The fetch of the page at `cursor`, which is marked used.
    fn request(
        &mut self,
        cursor: Option<K>,
    ) -> BoxFuture<'static, Result<CursorPage<T, K>, Error>> {
        if let Some(cursor) = &cursor {
            self.used
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(cursor);
        }
        (self.fetch)(PageRequest {
            cursor,
            operation: self.operation,
            used: Arc::clone(&self.used),
        })
    }

    /// The pages, as a stream.
    ///
    /// ```
    /// use audit_core::paginate::{CursorPage, Paginator};
    /// use futures::TryStreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), audit_core::Error> {
    /// let walk = Paginator::new("list_two", None, |request| async move {
    ///     Ok(match request.cursor {
    ///         None => CursorPage { items: vec![1, 2], next: Some(1) },
    ///         Some(_) => CursorPage { items: vec![3], next: None },
    ///     })
    /// });
    /// let sizes: Vec<usize> = walk.pages().map_ok(|page| page.items.len()).try_collect().await?;
    /// assert_eq!(sizes, [2, 1]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages(self) -> BoxStream<'static, Result<Page<T, K>, Error>> {
        stream::try_unfold(self, |mut paginator| async move {
            Ok(paginator.next_page().await?.map(|page| (page, paginator)))
        })
        .boxed()
    }

    /// The items of every page, as a stream.
    ///
    /// ```
    /// use audit_core::paginate::{CursorPage, Paginator};
    /// use futures::TryStreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), audit_core::Error> {
    /// let walk = Paginator::new("list_two", None, |request| async move {
    ///     Ok(match request.cursor {
    ///         None => CursorPage { items: vec!["a", "b"], next: Some(1) },
    ///         Some(_) => CursorPage { items: vec!["c"], next: None },
    ///     })
    /// });
    /// assert_eq!(walk.items().try_collect::<Vec<_>>().await?, ["a", "b", "c"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn items(self) -> BoxStream<'static, Result<T, Error>> {
        self.pages()
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

/// How a stream sizes its pages when the vendor times out on big ones: start at `initial`,
/// halve on a gateway timeout (504) or a request timeout down to `min`, double again after
/// `grow_after` successes in a row, up to `max`.
///
/// ```
/// use audit_core::PageSizePolicy;
///
/// let policy = PageSizePolicy::new(200, 25, 1000).with_grow_after(10);
/// assert_eq!(policy.initial(), 200);
/// assert_eq!(PageSizePolicy::fixed(100).max(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSizePolicy {
    initial: u32,
    min: u32,
    max: u32,
    grow_after: u32,
}

impl<T, K> Paginator<Recorded<T>, K>
where
    T: Send + 'static,
    K: Clone + Eq + Hash + fmt::Display + Send + 'static,
{
    /// The pages of records, as the named [`RecordPages`] stream.
    pub(crate) fn record_pages(self) -> RecordPages<T, K> {
        RecordPages::new(self.pages())
    }
}

impl Default for PageSizePolicy {
    /// Start at 100, never below 10 nor above 1,000, grow after 5 successes.
    fn default() -> Self {
        PageSizePolicy {
            initial: 100,
            min: 10,
            max: 1000,
            grow_after: 5,
        }
    }
}

impl PageSizePolicy {
    /// A policy from `initial`, between `min` and `max` (the bounds are put in order and
    /// `initial` clamped into them; all at least 1).
    ///
    /// ```
    /// use audit_core::PageSizePolicy;
    ///
    /// let policy = PageSizePolicy::new(5000, 1000, 10); // bounds put in order, initial clamped
    /// assert_eq!((policy.initial(), policy.min(), policy.max()), (1000, 10, 1000));
    /// ```
    pub fn new(initial: u32, min: u32, max: u32) -> Self {
        let (min, max) = (min.min(max).max(1), max.max(min).max(1));
        PageSizePolicy {
            initial: initial.clamp(min, max),
            min,
            max,
            grow_after: 5,
        }
    }

    /// A page size that never changes.
    ///
    /// ```
    /// use audit_core::PageSizePolicy;
    ///
    /// let fixed = PageSizePolicy::fixed(250);
    /// assert_eq!((fixed.initial(), fixed.min(), fixed.max()), (250, 250, 250));
    /// ```
    pub fn fixed(size: u32) -> Self {
        PageSizePolicy::new(size, size, size)
    }

    /// How many successes in a row before the size doubles (at least 1).
    ///
    /// ```
    /// use audit_core::PageSizePolicy;
    ///
    /// let cautious = PageSizePolicy::default().with_grow_after(20);
    /// assert_ne!(cautious, PageSizePolicy::default());
    /// assert_eq!(cautious.initial(), PageSizePolicy::default().initial());
    /// ```
    pub fn with_grow_after(mut self, successes: u32) -> Self {
        self.grow_after = successes.max(1);
        self
    }

    /// The first page size.
    ///
    /// ```
    /// use audit_core::PageSizePolicy;
    ///
    /// assert_eq!(PageSizePolicy::default().initial(), 100);
    /// ```
    pub fn initial(&self) -> u32 {
        self.initial
    }

    /// The smallest page size.
    ///
    /// ```
    /// use audit_core::PageSizePolicy;
    ///
    /// assert_eq!(PageSizePolicy::default().min(), 10);
    /// ```
    pub fn min(&self) -> u32 {
        self.min
    }

    /// The largest page size.
    ///
    /// ```
    /// use audit_core::PageSizePolicy;
    ///
    /// assert_eq!(PageSizePolicy::default().max(), 1000);
    /// ```
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The policy with every size at most `limit` (a vendor's maximum page size).
    pub(crate) fn clamped(self, limit: u32) -> Self {
        PageSizePolicy {
            grow_after: self.grow_after,
            ..PageSizePolicy::new(
                self.initial.min(limit),
                self.min.min(limit),
                self.max.min(limit),
            )
        }
    }
}

/// The current page size of one stream, shared by its fetches.
#[derive(Debug)]
pub(crate) struct AdaptivePageSize {
    policy: PageSizePolicy,
    state: Mutex<SizeState>,
}

#[derive(Debug)]
struct SizeState {
    current: u32,
    successes: u32,
    /// The size never grows back to: half of one whose page passed the body cap.
    ceiling: u32,
}

impl AdaptivePageSize {
    pub(crate) fn new(policy: PageSizePolicy) -> Self {
        AdaptivePageSize {
            policy,
            state: Mutex::new(SizeState {
                current: policy.initial,
                successes: 0,
                ceiling: policy.max,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SizeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn current(&self) -> u32 {
        self.lock().current
    }

    /// A page took too long to build: halve the size (it may grow back).
    pub(crate) fn shrink(&self) {
        let mut state = self.lock();
        let smaller = (state.current / 2).max(self.policy.min);
        if smaller != state.current {
            tracing::info!(
                from = state.current,
                to = smaller,
                "page size reduced after a timeout"
            );
        }
        state.current = smaller;
        state.successes = 0;
    }

    /// A page was larger than the body cap: halve the size for good (growing back would meet
    /// the cap again). `false` when the size is already the smallest, so asking again is
    /// pointless.
    pub(crate) fn too_large(&self) -> bool {
        let mut state = self.lock();
        let smaller = (state.current / 2).max(self.policy.min);
        if smaller == state.current {
            return false;
        }
        tracing::warn!(
            from = state.current,
            to = smaller,
            "a page was larger than the body cap; asking for smaller pages"
        );
        state.current = smaller;
        state.ceiling = smaller;
        state.successes = 0;
        true
    }

    /// A page came back: after enough of them, double the size (up to the ceiling).
    pub(crate) fn success(&self) {
        let mut state = self.lock();
        state.successes += 1;
        let ceiling = state.ceiling.min(self.policy.max);
        if state.successes >= self.policy.grow_after && state.current < ceiling {
            state.current = state.current.saturating_mul(2).min(ceiling);
            state.successes = 0;
        }
    }
}

/// One page of an event stream: the events it holds, and the checkpoint to resume from after
/// it.
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
/// use audit_core::{EventPage, Window};
/// use chrono::{Duration, Utc};
/// use futures::TryStreamExt;
///
/// let mut pages = client.audit_log_events(Window::since(Utc::now() - Duration::days(400))).pages();
/// let mut last: Option<EventPage> = None;
/// while let Some(page) = pages.try_next().await? {
///     assert!(page.events.len() <= page.received);
///     last = Some(page);
/// }
/// assert!(last.unwrap().caught_up, "the last page of a pass has read up to the window's end");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EventPage {
    /// The events, in stream order, duplicates removed.
    pub events: Vec<AuditEvent>,
    /// Where to resume after this page.
    pub checkpoint: Checkpoint,
    /// How many records the vendor's page held (duplicates and records outside the window
    /// included).
    pub received: usize,
    /// Whether this page ends a pass: the stream has read everything up to the end of its
    /// window (or up to now, minus the settle lag). In follow mode the stream then sleeps
    /// before polling again.
    pub caught_up: bool,
}

/// A stream of [`EventPage`]s. It owns its client (`'static`, `Send`: spawn it anywhere),
/// and requests nothing until polled. It reads one page ahead: when a page comes back, the
/// request of the vendor's next page is sent at once, so the vendor works on it while you work
/// on this one (dropping the stream cancels that request). It ends
/// after its first error (retries happen inside it); continue with a new stream resumed from
/// the last page's checkpoint.
///
/// ```no_run
/// use audit_core::Window;
/// use futures::TryStreamExt;
///
/// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
/// let pages = client.audit_log_events(Window::since(chrono::Utc::now() - chrono::Duration::days(1))).pages();
/// // Spawn it, consume it elsewhere, or flatten it to events:
/// let task = tokio::spawn(async move { pages.events().try_collect::<Vec<_>>().await });
/// let events = task.await.expect("the task ran")?;
/// # Ok(())
/// # }
/// ```
pub struct EventPages {
    inner: Boxed<Result<EventPage, Error>>,
}

impl fmt::Debug for EventPages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventPages").finish_non_exhaustive()
    }
}

/// A source of event pages: the state machine behind an [`EventPages`] stream.
pub(crate) trait PageSource: Send + 'static {
    /// The next page; `Ok(None)` when the stream ends.
    fn next_page(&mut self) -> impl Future<Output = Result<Option<EventPage>, Error>> + Send;
}

impl EventPages {
    /// Drives `source` as a stream.
    pub(crate) fn from_source<S: PageSource>(source: S) -> Self {
        EventPages {
            inner: Boxed::new(stream::try_unfold(source, |mut source| async move {
                Ok(source.next_page().await?.map(|page| (page, source)))
            })),
        }
    }

    /// A stream that fails at once with `error` (configuration errors surface on first poll).
    pub(crate) fn failed(error: Error) -> Self {
        EventPages {
            inner: Boxed::new(stream::once(async move { Err(error) })),
        }
    }

    /// The events of every page, one by one (checkpoints are only on pages: use the page
    /// stream to resume exactly once).
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
    /// use audit_core::{StreamKind, StreamOptions, Window};
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let options = StreamOptions::new(Window::since(Utc::now() - Duration::days(13)));
    /// let pages = client.event_pages(StreamKind::GenesysRealtime, options)?;
    /// let events: Vec<_> = pages.events().try_collect().await?;
    /// assert_eq!(client.stats().records, events.len() as u64);
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(self) -> EventStream {
        EventStream {
            inner: Boxed::new(
                self.inner
                    .map_ok(|page| stream::iter(page.events.into_iter().map(Ok)))
                    .try_flatten(),
            ),
        }
    }
}

impl Stream for EventPages {
    type Item = Result<EventPage, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// A stream of a listing's raw pages, as the vendor sent them: each record [`Recorded`]
/// (typed, with its verbatim JSON), and the cursor of the next page. What the list
/// operations return (`audit_log_pages`, `ticket_audit_pages`, `audit_query_pages`); named so a
/// helper's signature can spell it, `'static + Send + Sync` so a service can keep one in
/// shared state.
///
/// ```
/// use audit_core::RecordPages;
/// use audit_core::zendesk::types::AuditLog;
///
/// fn assert_shareable<T: Send + Sync + 'static>() {}
/// assert_shareable::<RecordPages<AuditLog>>();
/// ```
pub struct RecordPages<T, K = PageToken> {
    inner: Boxed<Result<Page<Recorded<T>, K>, Error>>,
}

impl<T: Send + 'static, K: Send + 'static> RecordPages<T, K> {
    pub(crate) fn new(
        pages: impl Stream<Item = Result<Page<Recorded<T>, K>, Error>> + Send + 'static,
    ) -> Self {
        RecordPages {
            inner: Boxed::new(pages),
        }
    }
}

impl<T, K> fmt::Debug for RecordPages<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordPages").finish_non_exhaustive()
    }
}

impl<T, K> Stream for RecordPages<T, K> {
    type Item = Result<Page<Recorded<T>, K>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// A boxed stream that is `Sync` as well as `Send`: it is only ever polled through `&mut`,
/// so shared references to it can do nothing (what `SyncWrapper` tells the compiler).
struct Boxed<T>(SyncWrapper<BoxStream<'static, T>>);

impl<T> Boxed<T> {
    fn new(stream: impl Stream<Item = T> + Send + 'static) -> Self {
        Boxed(SyncWrapper::new(stream.boxed()))
    }
}

impl<T> Stream for Boxed<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.0.get_mut().poll_next_unpin(cx)
    }
}

/// A stream of [`AuditEvent`]s, built on an [`EventPages`] stream.
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
/// use audit_core::{EventStream, Window};
/// use chrono::{Duration, Utc};
/// use futures::StreamExt;
///
/// // Named, so it can live in a struct; `'static + Send`, so it can move to a task.
/// struct Tail { events: EventStream }
/// let tail = Tail { events: client.audit_log_events(Window::since(Utc::now() - Duration::days(400))).events() };
/// let first = tokio::spawn(async move { tail.events.take(3).collect::<Vec<_>>().await }).await?;
/// assert_eq!(first.len(), 3);
/// # Ok(())
/// # }
/// ```
pub struct EventStream {
    inner: Boxed<Result<AuditEvent, Error>>,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl Stream for EventStream {
    type Item = Result<AuditEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A listing whose first page (item 1) leads to "a", and "a" (item 2) back to "a".
    async fn loops_back_to_a(
        request: PageRequest<String>,
    ) -> Result<CursorPage<i32, String>, Error> {
        let item = if request.cursor.is_none() { 1 } else { 2 };
        Ok(CursorPage {
            items: vec![item],
            next: Some("a".to_string()),
        })
    }

    #[tokio::test]
    async fn after_a_repeated_cursor_the_same_page_is_asked_again_not_the_end() {
        // Regression (issue 7, hostile input): the walk used to report the listing done.
        let fetched = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&fetched);
        let mut paginator = Paginator::new("list", None, move |request| {
            count.fetch_add(1, Ordering::SeqCst);
            loops_back_to_a(request)
        });
        assert_eq!(paginator.next_page().await.unwrap().unwrap().items, [1]);
        for _ in 0..2 {
            assert!(matches!(
                paginator.next_page().await,
                Err(Error::RepeatedCursor { .. })
            ));
            assert!(!paginator.is_done());
        }
        assert_eq!(fetched.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_page_over_the_body_cap_halves_the_size_for_good() {
        let size = AdaptivePageSize::new(PageSizePolicy::new(400, 100, 400).with_grow_after(1));
        assert!(size.too_large());
        assert_eq!(size.current(), 200);
        for _ in 0..5 {
            size.success();
        }
        assert_eq!(size.current(), 200, "it does not grow back into the cap");
        assert!(size.too_large());
        assert_eq!(size.current(), 100);
        assert!(
            !size.too_large(),
            "at the floor: nothing smaller to ask for"
        );
    }

    #[test]
    fn adaptive_page_size_halves_to_the_floor_and_grows_back() {
        let size = AdaptivePageSize::new(PageSizePolicy::new(100, 20, 400).with_grow_after(2));
        size.shrink();
        assert_eq!(size.current(), 50);
        size.shrink();
        size.shrink();
        assert_eq!(size.current(), 20, "never below the floor");
        size.success();
        assert_eq!(size.current(), 20);
        size.success();
        assert_eq!(size.current(), 40);
        for _ in 0..10 {
            size.success();
        }
        assert_eq!(size.current(), 400, "never above the maximum");
        assert_eq!(PageSizePolicy::default().clamped(100).max(), 100);
    }

    #[tokio::test]
    async fn a_repeated_cursor_ends_the_walk_with_an_error() {
        let paginator = Paginator::new("list_things", None, loops_back_to_a);
        let results: Vec<Result<Page<i32, String>, Error>> = paginator.pages().collect().await;
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        match &results[1] {
            Err(Error::RepeatedCursor { cursor, .. }) => assert_eq!(cursor, "a"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn pages_are_fetched_only_when_asked_for() {
        let fetched = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&fetched);
        let mut pages = Paginator::new("list_things", None, move |request| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let n: u32 = request.cursor.map_or(0, |c: String| c.parse().unwrap());
                Ok(CursorPage {
                    items: vec![n],
                    next: Some((n + 1).to_string()),
                })
            }
        })
        .pages();
        assert_eq!(
            fetched.load(Ordering::SeqCst),
            0,
            "nothing before the first poll"
        );
        let first = pages.next().await.unwrap().unwrap();
        assert_eq!(first.items, [0]);
        assert_eq!(first.next.as_deref(), Some("1"));
        assert_eq!(fetched.load(Ordering::SeqCst), 1);
        pages.next().await.unwrap().unwrap();
        assert_eq!(fetched.load(Ordering::SeqCst), 2);
    }

    /// A listing of `pages` pages (cursors "1", "2", …) whose fetches count themselves once
    /// they run, and fail once for each cursor in `fail_once`.
    fn counted_listing(
        pages: u32,
        fail_once: &[&str],
    ) -> (Paginator<u32, String>, Arc<AtomicUsize>) {
        let started = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&started);
        let failing = Arc::new(Mutex::new(
            fail_once
                .iter()
                .map(|c| c.to_string())
                .collect::<HashSet<_>>(),
        ));
        let paginator = Paginator::new("list_things", None, move |request| {
            let counter = Arc::clone(&counter);
            let failing = Arc::clone(&failing);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let cursor: Option<String> = request.cursor;
                if let Some(cursor) = &cursor
                    && failing.lock().unwrap().remove(cursor)
                {
                    return Err(Error::InvalidRequest {
                        operation: "list_things",
                        message: format!("page {cursor} failed"),
                    });
                }
                let n: u32 = cursor.map_or(0, |c| c.parse().unwrap());
                Ok(CursorPage {
                    items: vec![n],
                    next: (n + 1 < pages).then(|| (n + 1).to_string()),
                })
            }
        });
        (paginator, started)
    }

    #[tokio::test]
    async fn reading_ahead_starts_the_next_request_before_it_is_asked_for() {
        let (paginator, started) = counted_listing(3, &[]);
        let mut paginator = paginator.read_ahead();
        assert_eq!(paginator.next_page().await.unwrap().unwrap().items, [0]);
        assert_eq!(
            started.load(Ordering::SeqCst),
            2,
            "the second page's request runs while the first is handed over"
        );
        assert_eq!(paginator.next_page().await.unwrap().unwrap().items, [1]);
        assert_eq!(paginator.next_page().await.unwrap().unwrap().items, [2]);
        assert!(paginator.next_page().await.unwrap().is_none());
        assert_eq!(
            started.load(Ordering::SeqCst),
            3,
            "a walk read to its end makes no extra request"
        );
    }

    #[tokio::test]
    async fn a_page_read_ahead_that_fails_is_asked_again_by_the_next_call() {
        let (paginator, started) = counted_listing(3, &["1"]);
        let mut paginator = paginator.read_ahead();
        paginator.next_page().await.unwrap().unwrap();
        match paginator.next_page().await {
            Err(Error::InvalidRequest { message, .. }) => assert_eq!(message, "page 1 failed"),
            other => panic!("{other:?}"),
        }
        assert_eq!(paginator.next_page().await.unwrap().unwrap().items, [1]);
        assert_eq!(paginator.next_page().await.unwrap().unwrap().items, [2]);
        assert!(paginator.next_page().await.unwrap().is_none());
        assert_eq!(started.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn dropping_a_walk_cancels_the_request_read_ahead() {
        /// Sets its flag when dropped, like a request's future when its task is cancelled.
        struct Dropped(Arc<AtomicUsize>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let flag = Arc::clone(&dropped);
        let mut paginator = Paginator::new("list_things", None, move |request| {
            let guard = Dropped(Arc::clone(&flag));
            async move {
                if request.cursor.is_some() {
                    // The second page never comes back.
                    let _guard = guard;
                    std::future::pending::<()>().await;
                }
                Ok(CursorPage {
                    items: vec![0],
                    next: Some("1".to_string()),
                })
            }
        })
        .read_ahead();
        paginator.next_page().await.unwrap().unwrap();
        let before = dropped.load(Ordering::SeqCst);
        drop(paginator);
        tokio::task::yield_now().await;
        assert_eq!(dropped.load(Ordering::SeqCst), before + 1);
    }

    #[tokio::test]
    #[should_panic(expected = "the fetch function panicked")]
    async fn a_panic_in_a_request_read_ahead_reaches_the_consumer() {
        let mut paginator = Paginator::new("list_things", None, |request| async move {
            if request.cursor.is_some() {
                panic!("the fetch function panicked");
            }
            Ok(CursorPage {
                items: vec![0],
                next: Some("1".to_string()),
            })
        })
        .read_ahead();
        paginator.next_page().await.unwrap().unwrap();
        let _ = paginator.next_page().await;
    }

    #[test]
    fn used_cursors_stay_bounded_and_still_catch_every_loop() {
        // A long walk without repeats: memory stays at the recent window.
        let mut used = UsedCursors::default();
        for n in 0..10 * RECENT_CURSORS as u64 {
            assert!(!used.contains(&n), "{n} was never used");
            used.insert(&n);
        }
        assert_eq!(used.recent.len(), RECENT_CURSORS);
        // Loops, short and longer than the window, after a lead-in: each is caught, the short
        // ones at their first repeat.
        for (lead, period) in [(0, 1), (5, 2), (3, 700), (10, 2500), (4000, 5000)] {
            let mut used = UsedCursors::default();
            let cursor = |step: u64| {
                if step < lead {
                    step
                } else {
                    lead + (step - lead) % period
                }
            };
            let caught = (0..10 * (lead + period))
                .find(|&step| {
                    let next = cursor(step + 1);
                    used.insert(&cursor(step));
                    used.contains(&next)
                })
                .map(|step| step + 1);
            let first_repeat = lead + period;
            let caught = caught.unwrap_or_else(|| panic!("loop {lead}+{period} not caught"));
            if (period as usize) < RECENT_CURSORS {
                assert_eq!(caught, first_repeat, "loop {lead}+{period}");
            } else {
                assert!(
                    caught <= 2 * first_repeat + 2 * period,
                    "loop {lead}+{period}: {caught}"
                );
            }
        }
    }

    #[tokio::test]
    async fn check_next_sees_every_cursor_used_so_far() {
        let mut paginator = Paginator::new("list_things", None, |request| async move {
            let next = match request.cursor.as_deref() {
                None => "a",
                Some("a") => "b",
                _ => "a",
            }
            .to_string();
            request.check_next(Some(&next))?;
            Ok(CursorPage {
                items: vec![()],
                next: Some(next),
            })
        });
        assert!(paginator.next_page().await.is_ok());
        assert!(paginator.next_page().await.is_ok());
        assert!(matches!(
            paginator.next_page().await,
            Err(Error::RepeatedCursor { .. })
        ));
    }
}
