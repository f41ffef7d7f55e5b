//! The pages an export writes: opened at a checkpoint, read one page ahead of the writer,
//! and for a follower reopened after a transient vendor failure. What the file export
//! ([`crate::export::run_export`]) and the Kafka export do between the vendor and their output,
//! in one place.
//!
//! Pages are read one ahead of the writer ([`read_ahead`]): while a page is written, the next
//! one is requested, fetched and mapped by a task of its own (on the runtime's worker thread),
//! so the vendor's answer time and our own work overlap (the stream, for its part, has the
//! vendor's next page on its way). A page read ahead is not written, nor its checkpoint
//! recorded, until the export takes it; a stop drops it, and a resumed run reads it again.
//!
//! A follower does not end on a transient failure (see [`crate::outage`]): it commits what it
//! wrote, waits, and reopens the stream from the last page it wrote.

use audit_core::{AuditEvent, Checkpoint, EventPage, EventPages};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::errors::CliError;
use crate::export::ExportPlan;
use crate::health::Health;
use crate::outage::Outage;

/// The pages of one export's stream (see the [module docs](self)).
pub(crate) struct PageFeed<'a> {
    plan: &'a ExportPlan,
    key: &'a str,
    health: &'a Health,
    /// What the export is doing, for its errors.
    doing: String,
    pages: ReadAhead,
    outage: Option<Outage>,
}

/// What [`PageFeed::next`] got.
#[allow(
    clippy::large_enum_variant,
    reason = "one per page, moved once into the loop: boxing the page only adds an allocation"
)]
pub(crate) enum Fed {
    /// The next page.
    Page(EventPage),
    /// The stream ended (on the vendor's end signal).
    End,
    /// The export was told to stop.
    Stopped,
    /// The stream failed for good, or the commit before an outage's wait did.
    Failed(CliError),
}

impl<'a> PageFeed<'a> {
    /// Opens `plan`'s stream (the export `key`), at the checkpoint `from` if any.
    pub(crate) fn open(
        plan: &'a ExportPlan,
        key: &'a str,
        health: &'a Health,
        from: Option<Checkpoint>,
    ) -> Result<Self, CliError> {
        let doing = format!("exporting {key}");
        let pages = open_pages(plan, &doing, from)?;
        Ok(PageFeed {
            plan,
            key,
            health,
            doing,
            pages,
            outage: None,
        })
    }

    /// The next page, unless `stop` turns true first. When a follower's stream fails with a
    /// transient error, `commit` makes what was written durable and returns the checkpoint to
    /// reopen at; the feed then waits out the outage (telling `health`) and reopens there.
    pub(crate) async fn next(
        &mut self,
        stop: &mut watch::Receiver<bool>,
        mut commit: impl FnMut() -> Result<Option<Checkpoint>, CliError>,
    ) -> Fed {
        let vendor = self.plan.stream.vendor();
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.wait_for(|stopped| *stopped) => return Fed::Stopped,
                next = self.pages.next() => next,
            };
            let error = match next {
                None => return Fed::End,
                Some(Ok(page)) => {
                    if let Some(outage) = self.outage.take() {
                        outage.over();
                    }
                    return Fed::Page(page);
                }
                Some(Err(error)) => error,
            };
            if self.plan.options.follow.is_none() || !error.is_retryable() {
                return Fed::Failed(CliError::from_core(&self.doing, vendor, &error));
            }
            // Whatever was written stays: the stream is reopened after it. (The failed stream
            // is gone already: the reader ends after its first error, dropping the stream, so
            // no walk of a sliced one still writes to a spool the reopened one takes up.)
            let from = match commit() {
                Ok(from) => from,
                Err(error) => return Fed::Failed(error),
            };
            let error = CliError::from_core(&self.doing, vendor, &error);
            let outage = self
                .outage
                .get_or_insert_with(|| Outage::start(self.key, &self.plan.retry));
            let delay = outage.failed(&error.message);
            self.health
                .waiting(self.key, &error.message, outage.since(), delay);
            tokio::select! {
                biased;
                _ = stop.wait_for(|stopped| *stopped) => return Fed::Stopped,
                () = tokio::time::sleep(delay) => {}
            }
            match open_pages(self.plan, &self.doing, from) {
                Ok(pages) => self.pages = pages,
                Err(error) => return Fed::Failed(error),
            }
        }
    }

    /// Hands a written page's events back to be freed (see [`ReadAhead::recycle`]).
    pub(crate) fn recycle(&self, events: Vec<AuditEvent>) {
        self.pages.recycle(events);
    }
}

/// `plan`'s stream from `from`, read ahead.
fn open_pages(
    plan: &ExportPlan,
    doing: &str,
    from: Option<Checkpoint>,
) -> Result<ReadAhead, CliError> {
    let mut options = plan.options.clone();
    if let Some(checkpoint) = from {
        options = options.with_resume(checkpoint);
    }
    plan.source
        .event_pages(plan.stream, options)
        .map(read_ahead)
        .map_err(|e| CliError::from_core(doing, plan.stream.vendor(), &e))
}

/// The pages of a stream, read one page ahead of the consumer by a task of their own.
pub(crate) struct ReadAhead {
    pages: mpsc::Receiver<Result<EventPage, audit_core::Error>>,
    written: mpsc::UnboundedSender<Vec<AuditEvent>>,
    reader: JoinHandle<()>,
}

/// Starts reading `pages` ahead: at most one page waits for the consumer, and the next is
/// asked for only once there is room for it (the stream itself already has the vendor's
/// next page on its way, so a page taken earlier would only wait, one more page in memory
/// while the writer is slow, in an fsync say). The stream ends after its first error, as the
/// paginator does.
pub(crate) fn read_ahead(mut pages: EventPages) -> ReadAhead {
    let (sender, receiver) = mpsc::channel(1);
    let (written, mut to_free) = mpsc::unbounded_channel::<Vec<AuditEvent>>();
    let reader = tokio::spawn(async move {
        while let Ok(room) = sender.reserve().await {
            // Free the events the writer is done with here, where they were allocated.
            while let Ok(events) = to_free.try_recv() {
                drop(events);
            }
            let Some(page) = pages.next().await else {
                break;
            };
            let failed = page.is_err();
            room.send(page);
            if failed {
                break;
            }
        }
    });
    ReadAhead {
        pages: receiver,
        written,
        reader,
    }
}

impl ReadAhead {
    /// Hands written events back to the reader to be freed on its thread. A page's events
    /// are thousands of small allocations made by the reader; freed by the writer's thread,
    /// each free takes the reader's malloc arena lock while the reader allocates the next
    /// page (glibc), and the two threads kept waking each other (a quarter of the reader's
    /// time was in the scheduler, profiling a Genesys export).
    pub(crate) fn recycle(&self, events: Vec<AuditEvent>) {
        // The reader is gone at the end of the stream: then the events are freed here.
        let _ = self.written.send(events);
    }

    pub(crate) async fn next(&mut self) -> Option<Result<EventPage, audit_core::Error>> {
        let page = self.pages.recv().await;
        if page.is_none() {
            // The reader is gone: at the end of the stream, or because it panicked, which
            // must not pass for the end of the export.
            if let Err(error) = (&mut self.reader).await
                && error.is_panic()
            {
                std::panic::resume_unwind(error.into_panic());
            }
        }
        page
    }
}

impl Drop for ReadAhead {
    /// A stopped or failed export stops reading: no request is left running behind it.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use audit_core::Window;
    use audit_core::zendesk::ZendeskClient;
    use serde_json::json;
    use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::any};

    /// An endless audit-log listing: each page one record, the next cursor one more.
    async fn endless_audit_logs() -> MockServer {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(|request: &Request| {
                let page: u64 = request
                    .url
                    .query_pairs()
                    .find(|(key, _)| key == "page[after]")
                    .map_or(0, |(_, cursor)| cursor.parse().unwrap());
                ResponseTemplate::new(200).set_body_json(json!({
                    "audit_logs": [{
                        "id": page + 1,
                        "created_at": "2024-03-18T10:00:00Z",
                        "action": "update",
                        "source_type": "rule",
                    }],
                    "meta": {"has_more": true, "after_cursor": (page + 1).to_string()},
                    "links": null,
                }))
            })
            .mount(&server)
            .await;
        server
    }

    /// Waits (up to 10 s) until `server` has `count` requests, then a while for more.
    async fn requests_settled_at(server: &MockServer, count: usize) -> usize {
        let received = || async { server.received_requests().await.unwrap().len() };
        let deadline = Instant::now() + Duration::from_secs(10);
        while received().await < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        received().await
    }

    #[tokio::test]
    async fn the_reader_takes_a_page_only_when_there_is_room_for_it() {
        let server = endless_audit_logs().await;
        let client = ZendeskClient::builder()
            .base_url(server.uri())
            .tenant("acme")
            .api_token("admin@acme.example", "test-token")
            .build()
            .unwrap();
        let since = "2024-03-18T00:00:00Z".parse().unwrap();
        let pages = client.audit_log_events(Window::since(since)).pages();
        let mut ahead = read_ahead(pages);
        // Nobody writes: one page waits for the writer, and the stream has the next one's
        // request under way. Taking that one too would hold a third page in memory.
        assert_eq!(requests_settled_at(&server, 2).await, 2);
        let first = ahead.next().await.unwrap().unwrap();
        assert_eq!(first.events.len(), 1);
        assert_eq!(requests_settled_at(&server, 3).await, 3);
    }
}
