//! Checkpoints: where a stream stands, serialisable, so it can resume with no gap and no
//! duplicate.
//!
//! Every [`crate::EventPage`] carries the checkpoint to resume from *after* that page. A
//! consumer that stores (events, checkpoint) atomically after each page gets exactly-once
//! output: resuming yields exactly the records an uninterrupted run would have yielded after
//! that page, in the same order.
//!
//! Positions are chosen so that resuming does not depend on vendor cursors where it can
//! avoid it (cursors expire):
//!
//! - oldest-first streams keep a **high-water mark**: the newest timestamp emitted and the ids
//!   emitted at it. Resuming re-queries from that instant with an inclusive bound and skips
//!   those ids, which also absorbs duplicates across page boundaries;
//! - newest-first walks (Zendesk `/ticket_audits`) keep the vendor cursor of the next page,
//!   the bounds of the current pass, and the ids emitted at the oldest timestamp reached;
//! - one listing walked by cursor (the audits of one ticket) keeps the cursor and a
//!   high-water mark.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::event::{AuditEvent, Source};
use crate::recent::RecentHashes;
use crate::selection::Selection;
use crate::window::Window;

/// Where to fetch the next page: a vendor cursor, a vendor URL, or both.
///
/// ```
/// use audit_core::PageToken;
///
/// let token = PageToken::cursor("eyJvIjoiY3JlYXRlZF9hdCJ9");
/// assert_eq!(token.key(), "eyJvIjoiY3JlYXRlZF9hdCJ9");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageToken {
    /// The vendor's cursor.
    pub cursor: Option<String>,
    /// The vendor's ready-made URL of the page (followed only on the configured origin).
    pub url: Option<String>,
}

impl PageToken {
    /// A token with a cursor only.
    ///
    /// ```
    /// use audit_core::PageToken;
    ///
    /// let token = PageToken::cursor("MTcxMDc1NjE3MQ");
    /// assert_eq!(token.cursor.as_deref(), Some("MTcxMDc1NjE3MQ"));
    /// assert_eq!(token.url, None);
    /// ```
    pub fn cursor(cursor: impl Into<String>) -> Self {
        PageToken {
            cursor: Some(cursor.into()),
            url: None,
        }
    }

    /// What identifies the page, for repeated-cursor detection: the cursor, else the URL.
    ///
    /// ```
    /// use audit_core::PageToken;
    ///
    /// let token = PageToken { cursor: None, url: Some("https://acme.zendesk.com/api/v2/x".into()) };
    /// assert_eq!(token.key(), "https://acme.zendesk.com/api/v2/x");
    /// ```
    pub fn key(&self) -> &str {
        self.cursor
            .as_deref()
            .or(self.url.as_deref())
            .unwrap_or_default()
    }
}

impl std::fmt::Display for PageToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// The records emitted at one instant: the edge of what a stream has read.
///
/// ```
/// use audit_core::{Boundary, Checkpoint};
///
/// let checkpoint = Checkpoint::from_json(
///     r#"{"version":1,"source":{"vendor":"zendesk","stream":"zendesk-ticket-audits","tenant":"acme"},
///         "window":{"since":"2024-03-01T00:00:00Z","until":null},
///         "position":{"kind":"newest_first","since":"2024-03-01T00:00:00Z",
///           "until":"2024-03-18T10:00:00Z","next":null,"complete":false,
///           "boundary":{"at":"2024-03-12T08:00:00Z","ids":["41","42"]}}}"#,
/// )?;
/// let audit_core::Position::NewestFirst { boundary: Some(Boundary { ids, .. }), .. } = checkpoint.position
/// else { unreachable!() };
/// assert_eq!(ids.len(), 2);
/// # Ok::<(), audit_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundary {
    /// The instant.
    pub at: DateTime<Utc>,
    /// The native ids emitted at it, in the order they were emitted (shared, so a checkpoint
    /// per page copies pointers, not strings, however many records share the instant).
    pub ids: Vec<Arc<str>>,
    /// The walk is reading again what lies behind the boundary (a pass walked again after the
    /// vendor refused its cursor): every record behind it was emitted before. Omitted from
    /// JSON when `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rereading: bool,
    /// The ids emitted *behind* the instant since the walk reached it: records the vendor
    /// sent out of order. Kept so that a resumed walk knows them again if the vendor repeats
    /// one across the page boundary. Omitted from JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub behind: Vec<Arc<str>>,
}

/// Which way a walk moves through time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    OldestFirst,
    NewestFirst,
}

/// How many of the latest admitted ids a walk remembers, to tell a record the vendor sent
/// out of order (new, though behind the edge) from one it sent again (a repeat).
pub(crate) const RECENT_IDS: usize = 4096;

/// A walk's edge while it runs: the [`Boundary`] of what it has read, with the ids emitted at
/// its instant also kept in a set. Admitting a record then costs the same however many records
/// share the instant: accounts write thousands of audit-log records in one second, and a scan
/// of the list made following them quadratic.
///
/// The edge also remembers the last [`RECENT_IDS`] ids it admitted (in memory only): a record
/// behind the edge is new unless it is one of them. Vendors sometimes send neighbours out of
/// timestamp order; refusing everything behind the edge lost the one behind.
///
/// It remembers them as keyed 64-bit hashes ([`RecentHashes`]: 8 bytes an id, 32 KB a walk
/// at most, where the ids themselves in a set and a queue took about 400 KB, and with a walk
/// per time slice that was most of a sliced export's memory). A record behind the edge is
/// then taken for a repeat if its hash is one of the 4,096 remembered: for a new id, a chance
/// of 4,096 in 2^64 (about 2 in 10^16).
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    boundary: Option<Boundary>,
    seen: HashSet<Arc<str>>,
    recent: RecentHashes,
    /// The time of the last record placed (see [`Edge::place`]), in the vendor's order.
    last_placed: Option<DateTime<Utc>>,
}

impl Default for Edge {
    fn default() -> Self {
        Edge {
            boundary: None,
            seen: HashSet::new(),
            recent: RecentHashes::new(RECENT_IDS),
            last_placed: None,
        }
    }
}

impl From<Option<Boundary>> for Edge {
    fn from(boundary: Option<Boundary>) -> Self {
        let (seen, behind) = match &boundary {
            Some(boundary) => (
                boundary.ids.iter().cloned().collect(),
                boundary.behind.clone(),
            ),
            None => Default::default(),
        };
        let mut edge = Edge {
            boundary,
            seen,
            ..Edge::default()
        };
        behind.iter().for_each(|id| edge.remember(id));
        edge
    }
}

impl Edge {
    /// The edge of a stream resuming from `position`, which must be a high-water mark (or the
    /// start); `stream` names the stream in the error.
    pub(crate) fn from_high_water(position: Position, stream: &str) -> Result<Self, Error> {
        match position {
            Position::Start => Ok(Edge::default()),
            Position::HighWater { at, ids } => Ok(Some(Boundary {
                at,
                ids,
                rereading: false,
                behind: Vec::new(),
            })
            .into()),
            other => Err(Error::InvalidCheckpoint(format!(
                "a `{stream}` checkpoint holds a high-water mark, not {other:?}"
            ))),
        }
    }

    /// The edge as a high-water position (the start while nothing has been read).
    pub(crate) fn high_water(&self) -> Position {
        match &self.boundary {
            Some(boundary) => Position::HighWater {
                at: boundary.at,
                ids: boundary.ids.clone(),
            },
            None => Position::Start,
        }
    }

    /// The boundary, as a checkpoint stores it.
    pub(crate) fn boundary(&self) -> Option<&Boundary> {
        self.boundary.as_ref()
    }

    /// The instant of the edge; `None` while nothing has been read.
    pub(crate) fn at(&self) -> Option<DateTime<Utc>> {
        self.boundary.as_ref().map(|boundary| boundary.at)
    }

    /// Moves the edge to `at`, with no record emitted at it.
    pub(crate) fn move_to(&mut self, at: DateTime<Utc>) {
        self.boundary = Some(Boundary {
            at,
            ids: Vec::new(),
            rereading: false,
            behind: Vec::new(),
        });
        self.seen.clear();
    }

    /// The walk is about to read again what lies behind the edge (a query that starts from
    /// the high-water mark, or a pass walked again from its first page): until the edge
    /// moves, or the walk comes back to the last record emitted at it, every record behind
    /// it was emitted before, out of order or not. The state is
    /// part of the boundary, so a checkpoint taken while reading again resumes reading again.
    /// (A walk that continues with the vendor's cursor after a checkpoint does not: what comes
    /// is new, and a record of the next page sent out of order must not be lost.)
    pub(crate) fn reread(&mut self) {
        if let Some(boundary) = self.boundary.as_mut() {
            boundary.rereading = true;
        }
        self.last_placed = None;
    }

    fn rereading(&self) -> bool {
        self.boundary.as_ref().is_some_and(|b| b.rereading)
    }

    /// Gives `event` its place in the walk: an event whose record has no timestamp
    /// (`occurred_at_inferred`) takes the time of the record before it in the vendor's order;
    /// first in a walk, the edge's (a walk that goes on from a checkpoint), or `start`, where
    /// the walk's query starts (a new walk, or one reading again). So it is exported where
    /// the vendor put it and never read as "outside the window". Call it for every record of
    /// a page, in order, before looking at its time.
    pub(crate) fn place(&mut self, event: &mut AuditEvent, start: DateTime<Utc>) {
        if event.occurred_at_inferred {
            event.occurred_at = match self.last_placed {
                Some(before) => before,
                None if self.rereading() => start,
                None => self.at().unwrap_or(start),
            };
        }
        self.last_placed = Some(event.occurred_at);
    }

    /// Decides whether a record at `at` with `id` is new for a walk in `direction`, and moves
    /// the edge when it is ahead of it. A record at the edge with an id already emitted has
    /// been emitted before (a duplicate across pages, or a record a resumed query reads again);
    /// so has a record behind the edge that is one of the ids admitted lately. Any other record
    /// behind the edge is one the vendor sent out of order: it is new, and the edge stays.
    pub(crate) fn admit(&mut self, direction: Direction, at: DateTime<Utc>, id: &str) -> bool {
        let behind = |edge| match direction {
            Direction::OldestFirst => at < edge,
            Direction::NewestFirst => at > edge,
        };
        match self.at() {
            Some(edge) if behind(edge) => {
                if self.rereading() || self.recent.contains(id) {
                    return false;
                }
                self.remember(id);
                let id: Arc<str> = id.into();
                if let Some(boundary) = self.boundary.as_mut() {
                    boundary.behind.push(id);
                }
                return true;
            }
            Some(edge) if at == edge => {
                if self.seen.contains(id) {
                    // Reading again, the walk has come back to the last record it emitted:
                    // what follows in the vendor's order is new, even behind the edge.
                    if let Some(boundary) = self.boundary.as_mut()
                        && boundary.rereading
                        && boundary.ids.last().is_some_and(|last| **last == *id)
                    {
                        boundary.rereading = false;
                    }
                    return false;
                }
            }
            _ => self.move_to(at),
        }
        self.remember(id);
        let id: Arc<str> = id.into();
        self.seen.insert(id.clone());
        let boundary = self.boundary.as_mut().expect("the edge is at `at`");
        boundary.ids.push(id);
        true
    }

    fn remember(&mut self, id: &str) {
        self.recent.insert(id);
    }
}

/// Where a stream stands.
///
/// ```
/// use audit_core::{Checkpoint, Position, Source, StreamKind, Window};
/// use chrono::Utc;
///
/// let source = Source::new(StreamKind::GenesysAudits, "acme");
/// let fresh = Checkpoint::new(source, Window::since(Utc::now()), Position::Start);
/// let position = Checkpoint::from_json(&fresh.to_json())?.position;
/// assert!(matches!(position, Position::Start));
/// # Ok::<(), audit_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Position {
    /// Nothing has been read yet.
    Start,
    /// An oldest-first stream: every record up to `at` has been emitted, and of the records
    /// at `at` exactly `ids`.
    HighWater {
        /// The newest timestamp emitted.
        at: DateTime<Utc>,
        /// The native ids emitted at `at`.
        ids: Vec<Arc<str>>,
    },
    /// A newest-first walk, one pass at a time: a pass reads `since ≤ t ≤ until` from the
    /// newest record down; the next pass reads what arrived after `until`.
    NewestFirst {
        /// The lower bound of the current pass, inclusive.
        since: DateTime<Utc>,
        /// The upper bound of the current pass, inclusive; `None` until its first page.
        until: Option<DateTime<Utc>>,
        /// The next page of the pass; `None` for its first page.
        next: Option<PageToken>,
        /// The oldest timestamp emitted in this pass and the ids emitted at it.
        boundary: Option<Boundary>,
        /// Whether the pass has reached `since`; resuming starts the next pass.
        complete: bool,
    },
    /// One listing walked oldest first by cursor (for example the audits of one ticket).
    Cursor {
        /// Which listing (`ticket/48213`).
        scope: String,
        /// The next page; `None` for the first page.
        next: Option<PageToken>,
        /// The newest timestamp emitted and the ids emitted at it.
        high_water: Option<Boundary>,
        /// Whether the listing was read to its end; resuming re-reads it for new records.
        complete: bool,
    },
}

/// A stream's position, serialisable (JSON-stable) so it can be stored and resumed.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use audit_core::{Checkpoint, Position, Source, StreamKind, Window};
///
/// let source = Source::new(StreamKind::ZendeskAuditLogs, "acme");
/// let window = Window::since(Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap());
/// let checkpoint = Checkpoint::new(
///     source,
///     window,
///     Position::HighWater {
///         at: Utc.with_ymd_and_hms(2024, 3, 18, 10, 2, 51).unwrap(),
///         ids: vec!["19283746501".into()],
///     },
/// );
/// let json = checkpoint.to_json();
/// assert!(json.contains(r#""kind":"high_water""#));
/// assert_eq!(Checkpoint::from_json(&json).unwrap(), checkpoint);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The format version ([`Checkpoint::VERSION`]).
    pub version: u32,
    /// The stream it belongs to; resuming another stream with it is refused.
    pub source: Source,
    /// The stream's window.
    pub window: Window,
    /// Where the stream stands.
    pub position: Position,
    /// The filters the stream was read with; resuming with other filters is refused.
    /// (Absent from checkpoints of unfiltered streams, and from those written before
    /// selections were recorded: they read as "every record".)
    #[serde(default, skip_serializing_if = "Selection::is_all")]
    pub selection: Selection,
    /// A sliced walk's slices whose pages were spooled to named files when the checkpoint
    /// was taken (see [`crate::slicing`]): a sliced resume takes each up where it was. Absent
    /// from sequential walks; a sequential walk resumed from such a checkpoint reads them
    /// again, as does a sliced one that finds a spool gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<crate::slicing::SliceMark>,
}

impl Checkpoint {
    /// The current format version.
    ///
    /// ```
    /// use audit_core::{Checkpoint, ErrorKind};
    ///
    /// let from_the_future = r#"{"version":99,"source":{"vendor":"genesys","stream":"genesys-audits","tenant":"acme"},
    ///     "window":{"since":"2024-03-01T00:00:00Z","until":null},"position":{"kind":"start"}}"#;
    /// let error = Checkpoint::from_json(from_the_future).unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::Config);
    /// assert_eq!(Checkpoint::VERSION, 1);
    /// ```
    pub const VERSION: u32 = 1;

    /// A checkpoint of the current version.
    ///
    /// ```
    /// use audit_core::{Checkpoint, Position, Source, StreamKind, Window};
    /// use chrono::Utc;
    ///
    /// let source = Source::new(StreamKind::ZendeskAuditLogs, "acme");
    /// let checkpoint = Checkpoint::new(source, Window::since(Utc::now()), Position::Start);
    /// assert_eq!(checkpoint.version, Checkpoint::VERSION);
    /// assert!(checkpoint.selection.is_all());
    /// ```
    pub fn new(source: Source, window: Window, position: Position) -> Self {
        Checkpoint {
            version: Self::VERSION,
            source,
            window,
            position,
            selection: Selection::default(),
            slices: Vec::new(),
        }
    }

    /// The checkpoint of a stream read with `selection`'s filters.
    ///
    /// ```
    /// use audit_core::{Checkpoint, Position, Source, StreamFilter, StreamKind, Window};
    /// use audit_core::zendesk::AuditLogFilter;
    /// use chrono::Utc;
    ///
    /// let logins = StreamFilter::AuditLogs(AuditLogFilter::default().action("login"));
    /// let source = Source::new(StreamKind::ZendeskAuditLogs, "acme");
    /// let checkpoint = Checkpoint::new(source, Window::since(Utc::now()), Position::Start)
    ///     .with_selection(logins.selection());
    /// assert!(checkpoint.to_json().contains(r#""selection":{"action":["login"]}"#));
    /// ```
    pub fn with_selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    /// The checkpoint as one line of JSON.
    ///
    /// ```
    /// use audit_core::{Checkpoint, Position, Source, StreamKind, Window};
    /// use chrono::{TimeZone, Utc};
    ///
    /// let since = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
    /// let source = Source::new(StreamKind::GenesysAudits, "acme");
    /// let json = Checkpoint::new(source, Window::since(since), Position::Start).to_json();
    /// assert_eq!(
    ///     json,
    ///     r#"{"version":1,"source":{"vendor":"genesys","stream":"genesys-audits","tenant":"acme"},"window":{"since":"2024-03-01T00:00:00Z","until":null},"position":{"kind":"start"}}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint always serialises")
    }

    /// Reads a checkpoint written by [`Checkpoint::to_json`].
    ///
    /// ```
    /// use audit_core::{Checkpoint, ErrorKind, StreamKind};
    ///
    /// let saved = r#"{"version":1,"source":{"vendor":"genesys","stream":"genesys-audits","tenant":"acme"},
    ///     "window":{"since":"2024-03-01T00:00:00Z","until":null},"position":{"kind":"start"}}"#;
    /// let checkpoint = Checkpoint::from_json(saved)?;
    /// assert_eq!(checkpoint.source.stream, StreamKind::GenesysAudits);
    /// // Anything else is refused with an error that says so.
    /// assert_eq!(Checkpoint::from_json("{}").unwrap_err().kind(), ErrorKind::Config);
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let checkpoint: Checkpoint = serde_json::from_str(text).map_err(|error| {
            Error::InvalidCheckpoint(format!("it is not a checkpoint: {error}"))
        })?;
        if checkpoint.version != Self::VERSION {
            return Err(Error::InvalidCheckpoint(format!(
                "it has format version {}, this library reads version {}; start a new export",
                checkpoint.version,
                Self::VERSION
            )));
        }
        Ok(checkpoint)
    }

    /// Refuses a checkpoint of another stream or tenant.
    pub(crate) fn expect_source(&self, source: &Source) -> Result<(), Error> {
        if self.version != Self::VERSION {
            return Err(Error::InvalidCheckpoint(format!(
                "it has format version {}, this library reads version {}",
                self.version,
                Self::VERSION
            )));
        }
        if &self.source != source {
            return Err(Error::InvalidCheckpoint(format!(
                "it belongs to the stream `{}` of tenant `{}`, not to `{}` of tenant `{}`; use \
                 the checkpoint of this stream, or start without one",
                self.source.stream, self.source.tenant, source.stream, source.tenant
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::StreamKind;
    use chrono::TimeZone;

    fn t(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 18, 10, 0, s).unwrap()
    }

    #[test]
    fn oldest_first_admits_new_records_and_refuses_seen_ones() {
        let mut edge = Edge::default();
        let d = Direction::OldestFirst;
        assert!(edge.admit(d, t(1), "a"));
        assert!(edge.admit(d, t(1), "b"));
        assert!(!edge.admit(d, t(1), "a"), "same id at the edge");
        assert!(
            edge.admit(d, t(0), "z"),
            "behind the edge, never seen: out of order"
        );
        assert!(!edge.admit(d, t(0), "z"), "behind the edge, seen lately");
        assert!(edge.admit(d, t(2), "c"));
        assert!(!edge.admit(d, t(2), "c"), "same id at the moved edge");
        assert!(edge.admit(d, t(2), "a"), "an id of the old instant, again");
        assert_eq!(
            edge.high_water(),
            Position::HighWater {
                at: t(2),
                ids: vec!["c".into(), "a".into()]
            }
        );
    }

    #[test]
    fn neighbours_out_of_order_are_both_admitted_and_repeats_are_not() {
        for (d, ahead, behind) in [
            (Direction::OldestFirst, t(5), t(4)),
            (Direction::NewestFirst, t(4), t(5)),
        ] {
            let mut edge = Edge::default();
            assert!(edge.admit(d, ahead, "a"));
            assert!(edge.admit(d, behind, "b"), "{d:?}: the one behind is new");
            assert_eq!(edge.at(), Some(ahead), "{d:?}: the edge stays");
            assert!(!edge.admit(d, behind, "b"), "{d:?}: a repeat of it is not");
            assert!(!edge.admit(d, ahead, "a"), "{d:?}: nor one of the edge's");
        }
        // A walk resumed from a checkpoint after the one behind knows it again.
        let mut edge = Edge::default();
        let d = Direction::OldestFirst;
        assert!(edge.admit(d, t(5), "a"));
        assert!(edge.admit(d, t(4), "b"));
        let mut resumed: Edge = edge.boundary().cloned().into();
        assert!(
            !resumed.admit(d, t(4), "b"),
            "a repeat after the checkpoint"
        );
        // Only the latest ids are remembered: memory stays bounded.
        let mut edge = Edge::default();
        for i in 0..RECENT_IDS + 10 {
            assert!(edge.admit(Direction::OldestFirst, t(1), &i.to_string()));
        }
        assert_eq!(edge.recent.len(), RECENT_IDS);
    }

    #[test]
    fn a_walk_reading_again_refuses_everything_behind_the_edge_until_it_moves() {
        let d = Direction::NewestFirst;
        let mut resumed: Edge = Some(Boundary {
            at: t(5),
            ids: vec!["e".into()],
            rereading: false,
            behind: vec![],
        })
        .into();
        let mut continued = resumed.clone();
        assert!(
            continued.admit(d, t(8), "x"),
            "a walk that goes on with the vendor's cursor takes it as out of order"
        );
        resumed.reread();
        assert!(
            !resumed.admit(d, t(8), "x"),
            "emitted before the checkpoint"
        );
        let mut carried: Edge = resumed.boundary().cloned().into();
        assert!(
            !carried.admit(d, t(7), "y"),
            "a checkpoint taken while reading again reads again"
        );
        assert!(!resumed.admit(d, t(5), "e"));
        assert!(resumed.admit(d, t(4), "f"), "past the edge: new");
        assert!(
            resumed.admit(d, t(6), "g"),
            "the edge moved: out of order again"
        );
        resumed.reread();
        assert!(!resumed.admit(d, t(7), "h"));
        // Back at the last record emitted at the edge: what follows is new.
        assert!(!resumed.admit(d, t(4), "f"));
        assert!(
            resumed.admit(d, t(6), "i"),
            "after the edge's last id, out of order"
        );
        let mut fresh = Edge::default();
        fresh.reread();
        assert!(fresh.admit(d, t(7), "h"), "nothing read: nothing to refuse");
    }

    #[test]
    fn a_record_without_time_takes_the_time_of_the_one_before_it() {
        let source = Source::new(StreamKind::ZendeskAuditLogs, "acme");
        let event = |at: Option<DateTime<Utc>>| {
            let mut event = AuditEvent::new(
                source.clone(),
                crate::event::RecordKind::ZendeskAuditLog,
                "1",
                at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
                "login",
                serde_json::Value::Null,
            );
            event.occurred_at_inferred = at.is_none();
            event
        };
        let mut edge = Edge::default();
        let mut first = event(None);
        edge.place(&mut first, t(0));
        assert_eq!(first.occurred_at, t(0), "nothing read yet: the start");
        let mut timed = event(Some(t(7)));
        edge.place(&mut timed, t(0));
        assert_eq!(timed.occurred_at, t(7), "a timed record keeps its time");
        let mut untimed = event(None);
        edge.place(&mut untimed, t(0));
        assert_eq!(untimed.occurred_at, t(7));
        assert!(untimed.occurred_at_inferred);
        // A resumed walk places it at the edge.
        let mut resumed: Edge = Some(Boundary {
            at: t(9),
            ids: vec![],
            rereading: false,
            behind: vec![],
        })
        .into();
        let mut untimed = event(None);
        resumed.place(&mut untimed, t(0));
        assert_eq!(untimed.occurred_at, t(9));
    }

    #[test]
    fn newest_first_moves_down() {
        let mut edge = Edge::default();
        let d = Direction::NewestFirst;
        assert!(edge.admit(d, t(5), "a"));
        assert!(edge.admit(d, t(3), "b"));
        assert!(!edge.admit(d, t(5), "a"));
        assert!(edge.admit(d, t(3), "c"));
        assert_eq!(edge.boundary().unwrap().ids, ["b".into(), "c".into()]);
    }

    #[test]
    fn a_resumed_edge_refuses_the_ids_its_checkpoint_holds() {
        let position = Position::HighWater {
            at: t(1),
            ids: vec!["a".into(), "b".into()],
        };
        let mut edge = Edge::from_high_water(position.clone(), "s").unwrap();
        let d = Direction::OldestFirst;
        assert!(!edge.admit(d, t(1), "b"));
        assert!(edge.admit(d, t(1), "c"));
        assert!(!edge.admit(d, t(1), "c"));
        assert_eq!(
            edge.high_water(),
            Position::HighWater {
                at: t(1),
                ids: vec!["a".into(), "b".into(), "c".into()]
            }
        );
        let error = Edge::from_high_water(
            Position::Cursor {
                scope: "ticket/1".into(),
                next: None,
                high_water: None,
                complete: false,
            },
            "zendesk-audit-logs",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("`zendesk-audit-logs`"),
            "{error}"
        );
    }

    #[test]
    fn json_is_stable() {
        let checkpoint = Checkpoint::new(
            Source::new(StreamKind::ZendeskTicketAudits, "acme"),
            Window::since(t(0)),
            Position::NewestFirst {
                since: t(0),
                until: Some(t(30)),
                next: Some(PageToken::cursor("fDE1MDE1")),
                boundary: Some(Boundary {
                    at: t(12),
                    ids: vec!["24871093215771".into()],
                    rereading: false,
                    behind: vec![],
                }),
                complete: false,
            },
        );
        assert_eq!(
            checkpoint.to_json(),
            r#"{"version":1,"source":{"vendor":"zendesk","stream":"zendesk-ticket-audits","tenant":"acme"},"window":{"since":"2024-03-18T10:00:00Z","until":null},"position":{"kind":"newest_first","since":"2024-03-18T10:00:00Z","until":"2024-03-18T10:00:30Z","next":{"cursor":"fDE1MDE1","url":null},"boundary":{"at":"2024-03-18T10:00:12Z","ids":["24871093215771"]},"complete":false}}"#
        );
    }

    #[test]
    fn another_stream_or_tenant_is_refused() {
        let checkpoint = Checkpoint::new(
            Source::new(StreamKind::ZendeskAuditLogs, "acme"),
            Window::since(t(0)),
            Position::Start,
        );
        assert!(
            checkpoint
                .expect_source(&Source::new(StreamKind::ZendeskAuditLogs, "acme"))
                .is_ok()
        );
        let error = checkpoint
            .expect_source(&Source::new(StreamKind::ZendeskTicketAudits, "acme"))
            .unwrap_err();
        assert!(error.to_string().contains("zendesk-audit-logs"), "{error}");
        assert!(
            checkpoint
                .expect_source(&Source::new(StreamKind::ZendeskAuditLogs, "globex"))
                .is_err()
        );
        assert!(matches!(
            Checkpoint::from_json(r#"{"version":9}"#),
            Err(Error::InvalidCheckpoint(_))
        ));
    }
}
