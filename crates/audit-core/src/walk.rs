//! What every oldest-first stream does the same way: its passes over the window (one, or one
//! per poll in follow mode), and how the records of a page are admitted at its edge. A stream
//! adds what is its own: the request of a pass, its paging and its mapping.
//!
//! (Zendesk ticket audits walk newest first, pass by pass from a position of their own, and
//! keep their own loop.)

use std::cmp::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::checkpoint::{Direction, Edge};
use crate::event::AuditEvent;
use crate::stats::Stats;

/// The passes of a stream: the first at once; in follow mode another after each poll
/// interval, forever; otherwise none after the first.
#[derive(Debug)]
pub(crate) struct Passes {
    follow: Option<Duration>,
    started: u64,
    ended: bool,
}

impl Passes {
    pub(crate) fn new(follow: Option<Duration>) -> Self {
        Passes {
            follow,
            started: 0,
            ended: false,
        }
    }

    /// Whether another pass starts: `true` for the first; in follow mode `true` again after
    /// sleeping the poll interval; otherwise `false` from then on (the stream has ended).
    pub(crate) async fn another(&mut self) -> bool {
        if self.ended {
            return false;
        }
        if self.started > 0 {
            match self.follow {
                Some(poll) => tokio::time::sleep(poll).await,
                None => {
                    self.ended = true;
                    return false;
                }
            }
        }
        self.started += 1;
        true
    }
}

/// A page's events, admitted.
#[derive(Debug, Default)]
pub(crate) struct Admitted {
    /// The new events, in the vendor's order.
    pub(crate) events: Vec<AuditEvent>,
    /// Events already emitted (a repeat across pages, or read again behind the edge).
    pub(crate) duplicates: usize,
    /// Some event lay after the bounds: an oldest-first walk has read past them.
    pub(crate) beyond: bool,
}

/// Admits a page's `events`, in the vendor's order: each is placed in the walk (a record
/// without a timestamp takes its neighbour's, or `start`'s, see [`Edge::place`]), kept when
/// `bounds` says it lies within them (`Less`: before them, `Greater`: after), and emitted
/// once (see [`Edge::admit`]). The page is counted in `stats`.
pub(crate) fn admit(
    edge: &mut Edge,
    start: DateTime<Utc>,
    events: impl IntoIterator<Item = AuditEvent>,
    bounds: impl Fn(DateTime<Utc>) -> Ordering,
    stats: &Stats,
) -> Admitted {
    let events = events.into_iter();
    // A page's events are mapped from its records, so their count is known; a vector grown
    // by doubling reallocates on the way and keeps spare slots (128 for a page of 100) until
    // the page is written.
    let mut admitted = Admitted {
        events: Vec::with_capacity(events.size_hint().0),
        ..Admitted::default()
    };
    for mut event in events {
        edge.place(&mut event, start);
        let at = event.occurred_at;
        match bounds(at) {
            Ordering::Less => continue,
            Ordering::Greater => {
                // Oldest first: what follows is newer still (a neighbour sent out of order
                // on this page is still looked at).
                admitted.beyond = true;
                continue;
            }
            Ordering::Equal => {}
        }
        if edge.admit(Direction::OldestFirst, at, &event.native_id) {
            admitted.events.push(event);
        } else {
            admitted.duplicates += 1;
        }
    }
    stats.page(admitted.events.len(), admitted.duplicates);
    admitted
}

/// `Equal` when `at` lies in `[from, until]`, else which side it lies on.
pub(crate) fn between(at: DateTime<Utc>, from: DateTime<Utc>, until: DateTime<Utc>) -> Ordering {
    if at < from {
        Ordering::Less
    } else if at > until {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}
