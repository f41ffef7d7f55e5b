//! Zendesk ticket audits: the five ticket-audit operations and two event streams.
//!
//! - [`TicketAuditEvents`]: the whole account through `/api/v2/ticket_audits` with cursor
//!   pagination (`page[size]` ≤ 100, `page[after]` from `meta.after_cursor`, or the
//!   `page[after]` of `links.next`, while `meta.has_more`), the style Zendesk recommends over
//!   the legacy `cursor`/`limit`, which it documents as having known problems. The legacy
//!   mode is kept only in [`ZendeskClient::list_ticket_audits`] (the raw operation takes both);
//!   the stream never sends it: a checkpoint of the legacy walk that holds a legacy cursor is
//!   resumed by reading its pass again from the newest page (see [`TicketAuditEvents::resume`]).
//!   **Archived tickets are left out** by Zendesk, and the endpoint is no change feed:
//!   `zendesk-ticket-events` ([`super::ticket_events`]) is the complete path. Zendesk answers
//!   newest first, so the stream reads in
//!   **passes**: a pass walks from the newest page towards older ones,
//!   skips records newer than the pass's end (now minus the settle lag, or the window's end)
//!   and ends with the page that reaches its start (the page after it too when only that
//!   page's last record is older: two neighbours out of order may straddle the pages). The
//!   next pass (follow mode, or a
//!   later run resumed from the checkpoint) reads what arrived after the previous pass's end.
//!   The page size adapts: it halves on a 504 or a timeout (big pages of notification-heavy
//!   audits time out) and grows back after a run of successes.
//! - [`AuditsForTicketEvents`]: the audits of one ticket through
//!   `/api/v2/tickets/{id}/audits` (`page[size]=100` and `page[after]`, oldest first). This is
//!   the only way to the audits of **archived** tickets, which `/ticket_audits` leaves out;
//!   Zendesk answers those with one unpaginated response, which the stream handles.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::stream;
use raw_support::Recorded;
use url::Url;
use zendesk_raw::types;

use super::audit_logs::{NextRequest, next_request};
use super::audit_pages::{self, AuditsPage, PageAudit};
use super::{SortOrder, ZendeskClient, mapping, next_page_token};
use crate::checkpoint::{Checkpoint, Direction, Edge, PageToken, Position};
use crate::error::Error;
use crate::event::{Source, StreamKind};
use crate::http::{get_json, get_read};
use crate::paginate::{
    AdaptivePageSize, CursorPage, EventPage, EventPages, EventStream, PageRequest, PageSource,
    Paginator, RecordPages,
};
use crate::retry::Operation;
use crate::window::{StreamOptions, Window};

const LIST_ALL: Operation = Operation::read("list_ticket_audits");
const LIST_FOR_TICKET: Operation = Operation::read("list_audits_for_ticket");
const STREAM: &str = "zendesk-ticket-audits";

/// The largest legacy `limit` on `/ticket_audits`.
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
/// use audit_core::zendesk::TicketAuditsQuery;
/// use audit_core::zendesk::ticket_audits::MAX_LEGACY_LIMIT;
///
/// let newest = TicketAuditsQuery::default().limit(MAX_LEGACY_LIMIT);
/// assert!(client.list_ticket_audits(&newest).await?.audits.len() <= 1000);
/// # Ok(())
/// # }
/// ```
pub const MAX_LEGACY_LIMIT: u32 = 1000;
/// The largest `page[size]` on the ticket-audit endpoints.
///
/// ```
/// use audit_core::zendesk::AuditsForTicketQuery;
/// use audit_core::zendesk::ticket_audits::MAX_PAGE_SIZE;
///
/// let query = AuditsForTicketQuery::default().page_size(MAX_PAGE_SIZE);
/// assert_eq!(query.page_size, Some(100));
/// ```
pub const MAX_PAGE_SIZE: u32 = 100;

/// One `ListTicketAudits` request: legacy cursor (`cursor`, `limit`) or standard cursor
/// (`page[size]`, `page[after]`, `page[before]`); an empty query gets Zendesk's default, the
/// newest legacy page of 1,000.
///
/// ```
/// use audit_core::zendesk::TicketAuditsQuery;
///
/// let legacy = TicketAuditsQuery::default().limit(200);
/// let standard = TicketAuditsQuery::default().page_size(100);
/// assert_ne!(legacy, standard);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TicketAuditsQuery {
    /// Legacy: a `before_cursor` (older) or `after_cursor` (newer) of a previous page.
    pub cursor: Option<String>,
    /// Legacy: audits per page, 1 to 1,000.
    pub limit: Option<u32>,
    /// Standard: `page[size]`, 1 to 100.
    pub page_size: Option<u32>,
    /// Standard: `page[after]`.
    pub page_after: Option<String>,
    /// Standard: `page[before]`.
    pub page_before: Option<String>,
}

impl TicketAuditsQuery {
    /// Legacy: the page at `cursor` (a `before_cursor` or `after_cursor` of a previous page).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Legacy: audits per page, 1 to 1,000.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Standard: `page[size]`, 1 to 100.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Standard: the page after `cursor` (`page[after]`).
    pub fn page_after(mut self, cursor: impl Into<String>) -> Self {
        self.page_after = Some(cursor.into());
        self
    }

    fn validate(&self) -> Result<(), Error> {
        let invalid = |message: &str| {
            Err(Error::InvalidRequest {
                operation: LIST_ALL.name,
                message: message.to_string(),
            })
        };
        let legacy = self.cursor.is_some() || self.limit.is_some();
        let standard =
            self.page_size.is_some() || self.page_after.is_some() || self.page_before.is_some();
        if legacy && standard {
            return invalid(
                "legacy (`cursor`, `limit`) and standard (`page[…]`) parameters cannot be mixed",
            );
        }
        if self.page_after.is_some() && self.page_before.is_some() {
            return invalid("`page[after]` and `page[before]` cannot be sent together");
        }
        if self.limit.is_some_and(|l| l == 0 || l > MAX_LEGACY_LIMIT) {
            return invalid("`limit` goes from 1 to 1,000");
        }
        if self.page_size.is_some_and(|s| s == 0 || s > MAX_PAGE_SIZE) {
            return invalid("`page[size]` goes from 1 to 100");
        }
        Ok(())
    }
}

/// One `ListAuditsForTicket` request.
///
/// ```
/// use audit_core::zendesk::{AuditsForTicketQuery, SortOrder};
///
/// let query = AuditsForTicketQuery::default()
///     .page_size(100)
///     .sort_order(SortOrder::Descending)
///     .filter_event("Change")
///     .filter_event("Comment");
/// assert_eq!(query.filter_events.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditsForTicketQuery {
    /// Cursor mode: `page[size]`, 1 to 100.
    pub page_size: Option<u32>,
    /// Cursor mode: `page[after]`.
    pub page_after: Option<String>,
    /// Cursor mode: `page[before]`.
    pub page_before: Option<String>,
    /// Offset mode: `page`.
    pub page: Option<u32>,
    /// Offset mode: `per_page`, at most 100.
    pub per_page: Option<u32>,
    /// `sort`, e.g. `created_at` or `-created_at`.
    pub sort: Option<String>,
    /// `sort_order`: ascending (Zendesk's default) or descending.
    pub sort_order: Option<SortOrder>,
    /// `include`: sideloads, e.g. `users`.
    pub include: Option<String>,
    /// `include_boundary_indicators`: ask for `meta.has_more`.
    pub include_boundary_indicators: Option<bool>,
    /// `include_item_cursors`: a cursor per audit.
    pub include_item_cursors: Option<bool>,
    /// `filter_events[]`: only events of these types inside each audit.
    pub filter_events: Vec<String>,
}

impl AuditsForTicketQuery {
    /// Cursor mode: `page[size]`, 1 to 100.
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
    /// # let ticket = client.list_ticket_audits(&audit_core::zendesk::TicketAuditsQuery::default())
    /// #     .await?.audits[0].ticket_id.unwrap();
    /// use audit_core::zendesk::AuditsForTicketQuery;
    ///
    /// let query = AuditsForTicketQuery::default().page_size(1);
    /// assert_eq!(client.list_audits_for_ticket(ticket, &query).await?.audits.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Cursor mode: the page after `cursor` (`page[after]`).
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
    /// # let ticket = client.list_ticket_audits(&audit_core::zendesk::TicketAuditsQuery::default())
    /// #     .await?.audits[0].ticket_id.unwrap();
    /// use audit_core::zendesk::AuditsForTicketQuery;
    ///
    /// let query = AuditsForTicketQuery::default().page_size(1);
    /// let first = client.list_audits_for_ticket(ticket, &query).await?;
    /// if let Some(cursor) = first.meta.and_then(|meta| meta.after_cursor) {
    ///     let next = client.list_audits_for_ticket(ticket, &query.page_after(cursor)).await?;
    ///     assert_ne!(next.audits.first().map(|a| a.id), first.audits.first().map(|a| a.id));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_after(mut self, cursor: impl Into<String>) -> Self {
        self.page_after = Some(cursor.into());
        self
    }

    /// Oldest or newest first (`sort_order`).
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
    /// # let ticket = client.list_ticket_audits(&audit_core::zendesk::TicketAuditsQuery::default())
    /// #     .await?.audits[0].ticket_id.unwrap();
    /// use audit_core::zendesk::{AuditsForTicketQuery, SortOrder};
    ///
    /// let query = AuditsForTicketQuery::default().sort_order(SortOrder::Descending);
    /// let audits = client.list_audits_for_ticket(ticket, &query).await?.audits;
    /// assert!(audits.windows(2).all(|pair| pair[0].created_at >= pair[1].created_at));
    /// # Ok(())
    /// # }
    /// ```
    pub fn sort_order(mut self, order: SortOrder) -> Self {
        self.sort_order = Some(order);
        self
    }

    /// Adds an event type to `filter_events[]`: only events of these types in each audit.
    pub fn filter_event(mut self, kind: impl Into<String>) -> Self {
        self.filter_events.push(kind.into());
        self
    }

    /// `include`: sideloads, e.g. `users`.
    pub fn include(mut self, sideloads: impl Into<String>) -> Self {
        self.include = Some(sideloads.into());
        self
    }

    fn validate(&self) -> Result<(), Error> {
        let invalid = |message: &str| {
            Err(Error::InvalidRequest {
                operation: LIST_FOR_TICKET.name,
                message: message.to_string(),
            })
        };
        if self.page_after.is_some() && self.page_before.is_some() {
            return invalid("`page[after]` and `page[before]` cannot be sent together");
        }
        let cursor_mode =
            self.page_size.is_some() || self.page_after.is_some() || self.page_before.is_some();
        if cursor_mode && (self.page.is_some() || self.per_page.is_some()) {
            return invalid(
                "cursor (`page[…]`) and offset (`page`, `per_page`) parameters cannot be mixed",
            );
        }
        if self.page_size.is_some_and(|s| s == 0 || s > MAX_PAGE_SIZE)
            || self.per_page.is_some_and(|s| s == 0 || s > MAX_PAGE_SIZE)
        {
            return invalid("page sizes go from 1 to 100 on this endpoint");
        }
        Ok(())
    }
}

fn for_ticket_request<'a>(
    raw: &'a zendesk_raw::Client,
    ticket_id: i64,
    query: &AuditsForTicketQuery,
    after: Option<&str>,
) -> zendesk_raw::builder::ListAuditsForTicket<'a> {
    let mut builder = raw.list_audits_for_ticket().ticket_id(ticket_id);
    if let Some(size) = query.page_size {
        builder = builder.page_size(i64::from(size));
    }
    match after {
        Some(after) => builder = builder.page_after(after.to_string()),
        None => {
            if let Some(after) = &query.page_after {
                builder = builder.page_after(after.clone());
            }
            if let Some(before) = &query.page_before {
                builder = builder.page_before(before.clone());
            }
        }
    }
    if let Some(page) = query.page {
        builder = builder.page(i64::from(page));
    }
    if let Some(per_page) = query.per_page {
        builder = builder.per_page(i64::from(per_page));
    }
    if let Some(sort) = &query.sort {
        builder = builder.sort(sort.clone());
    }
    if let Some(order) = query.sort_order {
        builder = builder.sort_order(super::audit_logs::sort_order_param(order));
    }
    if let Some(include) = &query.include {
        builder = builder.include(include.clone());
    }
    if let Some(flag) = query.include_boundary_indicators {
        builder = builder.include_boundary_indicators(flag);
    }
    if let Some(flag) = query.include_item_cursors {
        builder = builder.include_item_cursors(flag);
    }
    if !query.filter_events.is_empty() {
        builder = builder.filter_events(query.filter_events.clone());
    }
    builder
}

/// Whether a failed attempt says the page was too big to build in time.
fn too_big<T, E>(result: &Result<T, progenitor_client::Error<E>>) -> bool {
    use progenitor_client::Error as Raw;
    match result {
        Err(Raw::ErrorResponse(response)) => response.status().as_u16() == 504,
        Err(Raw::UnexpectedResponse(response)) => response.status().as_u16() == 504,
        Err(Raw::CommunicationError(error) | Raw::ResponseBodyError(error)) => error.is_timeout(),
        _ => false,
    }
}

/// Whether a token is one the legacy walk (`cursor`/`limit`) stored: its URL is a legacy
/// `before_url` (a `cursor` parameter, no `page[after]`). Checkpoints written before the walk
/// moved to cursor pagination hold such tokens; they are not sent as `page[after]` (a
/// legacy cursor means nothing there), the pass is read again from its newest page instead.
fn legacy_token(token: &PageToken) -> bool {
    let Some(query) = token.url.as_deref().and_then(|url| url.split_once('?')) else {
        return false;
    };
    let keys: Vec<String> = url::form_urlencoded::parse(query.1.as_bytes())
        .map(|(key, _)| key.into_owned())
        .collect();
    keys.iter().any(|key| key == "cursor") && !keys.iter().any(|key| key == "page[after]")
}

/// The page after one of the cursor walk: `meta.has_more` with `meta.after_cursor` (or the
/// `page[after]` of `links.next`); `has_more: false` is Zendesk's "nothing older".
fn cursor_next(body: &AuditsPage) -> Result<Option<PageToken>, Error> {
    next_page_token(
        LIST_ALL.name,
        body.meta.as_ref(),
        body.links.as_ref(),
        None,
        body.audits.len(),
    )
}

/// Whether a walk is past its window's edge after a page of `received` audits whose first
/// audit beyond the edge is at `first_beyond`. Not when that audit is the page's last (of
/// more than one): two neighbours out of order may straddle the page, the window's audit
/// first on the next, so the next page is read too (and the walk ends with it, its first
/// audit beyond the edge unless it is that neighbour).
fn window_edge_reached(first_beyond: Option<usize>, received: usize) -> bool {
    first_beyond.is_some_and(|at| at + 1 < received || received == 1)
}

/// Refuses a page that reads oldest first. The walk relies on `/ticket_audits` answering
/// newest first in cursor mode as in the legacy mode (what the simulator and the peers that
/// use it observe; Zendesk's reference does not say): a page of three or more audits whose
/// first is older than its last would make the walk stop at its first record and skip the
/// rest, so it is an error rather than a silent end. (One pair of neighbours out of order
/// cannot make a longer page look ascending.)
fn check_newest_first(body: &AuditsPage) -> Result<(), Error> {
    match body.first_and_last_times() {
        Some((first, last)) if first < last => Err(Error::Decode {
            operation: LIST_ALL.name,
            status: Some(200),
            message: format!(
                "the page reads oldest first ({first} before {last}); the ticket-audit walk \
                 needs newest first"
            ),
            waited: Duration::ZERO,
        }),
        _ => Ok(()),
    }
}

/// The URL of `ListTicketAudits` with `page[after]` (when given) and `page[size]`, as the
/// generated operation builds it.
fn list_all_url(base: &str, size: u32, after: Option<&str>) -> Result<Url, url::ParseError> {
    let mut url = Url::parse(&format!("{base}/api/v2/ticket_audits"))?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(after) = after {
            query.append_pair("page[after]", after);
        }
        query.append_pair("page[size]", &size.to_string());
    }
    Ok(url)
}

/// Fetches a page of `/ticket_audits` with cursor pagination (`page[size]` at the adaptive
/// size, `page[after]` from the token), newest first. The request is built from the cursor;
/// the vendor's `links.next` is followed as given only when it carries no cursor (on the
/// configured origin only).
async fn fetch_cursor_page(
    client: &ZendeskClient,
    size: &AdaptivePageSize,
    request: PageRequest<PageToken>,
) -> Result<CursorPage<PageAudit, PageToken>, Error> {
    let (url, after) = match request.cursor.as_ref().and_then(next_request) {
        Some(NextRequest::Link(link)) => (
            Some(client.base_url().check_vendor_url(LIST_ALL.name, link)?),
            None,
        ),
        Some(NextRequest::After(after)) => (None, Some(after.into_owned())),
        None => (None, None),
    };
    loop {
        match fetch_cursor_attempt(client, size, &request, url.as_ref(), after.as_deref()).await {
            // A page over the body cap is asked for again, smaller (audits carrying large
            // comments make pages of hundreds of megabytes).
            Err(Error::BodyTooLarge { .. }) if size.too_large() => continue,
            result => return result,
        }
    }
}

/// One retried request of a cursor page at the current page size.
async fn fetch_cursor_attempt(
    client: &ZendeskClient,
    size: &AdaptivePageSize,
    request: &PageRequest<PageToken>,
    url: Option<&Url>,
    after: Option<&str>,
) -> Result<CursorPage<PageAudit, PageToken>, Error> {
    let response = client
        .call_checked(
            LIST_ALL,
            |session| {
                let limit = size.current();
                let url = url.cloned();
                async move {
                    let url = match url {
                        Some(url) => url,
                        None => list_all_url(
                            progenitor_client::ClientInfo::baseurl(session.raw.as_ref()),
                            limit,
                            after,
                        )
                        .map_err(|error| {
                            progenitor_client::Error::InvalidRequest(error.to_string())
                        })?,
                    };
                    // Each audit read as the gist the mapping reads, with the page where it
                    // can (`audit_pages`: the generated decoding of an audit costs more than
                    // the rest of the export); the same request as the generated operation's.
                    let result = get_read::<_, types::ErrorResponse>(
                        &session.http,
                        "zendesk",
                        LIST_ALL.name,
                        url,
                        AuditsPage::read,
                    )
                    .await;
                    if too_big(&result) {
                        size.shrink();
                    }
                    result
                }
            },
            |body| {
                check_newest_first(body)?;
                request.check_next(cursor_next(body)?.as_ref())
            },
        )
        .await?;
    size.success();
    let body = response.into_inner();
    let next = cursor_next(&body)?;
    Ok(CursorPage {
        items: body.audits,
        next,
    })
}

/// Fetches a page of one ticket's audits, oldest first, 100 at a time.
async fn fetch_ticket_page(
    client: &ZendeskClient,
    ticket_id: i64,
    query: &AuditsForTicketQuery,
    request: PageRequest<PageToken>,
) -> Result<CursorPage<Recorded<types::TicketAudit>, PageToken>, Error> {
    let token = request.cursor.as_ref();
    let url = match token.and_then(|t| t.url.as_deref()) {
        Some(url) => Some(
            client
                .base_url()
                .check_vendor_url(LIST_FOR_TICKET.name, url)?,
        ),
        None => None,
    };
    let after = token.and_then(|t| t.cursor.as_deref());
    let next = |body: &types::TicketAuditsForTicketResponse| {
        next_page_token(
            LIST_FOR_TICKET.name,
            body.meta.as_ref(),
            body.links.as_ref(),
            body.next_page.as_deref(),
            body.audits.len(),
        )
    };
    let response = client
        .call_checked(
            LIST_FOR_TICKET,
            |session| {
                let url = url.clone();
                async move {
                    match url {
                        Some(url) => {
                            get_json(&session.http, "zendesk", LIST_FOR_TICKET.name, url).await
                        }
                        None => {
                            for_ticket_request(&session.raw, ticket_id, query, after)
                                .send()
                                .await
                        }
                    }
                }
            },
            |body| request.check_next(next(body)?.as_ref()),
        )
        .await?;
    let body = response.into_inner();
    let next = next(&body)?;
    Ok(CursorPage {
        items: body.audits,
        next,
    })
}

impl ZendeskClient {
    /// One page of the account's ticket audits (`ListTicketAudits`; admins only; archived
    /// tickets left out).
    ///
    /// ```no_run
    /// use audit_core::zendesk::TicketAuditsQuery;
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let newest = client.list_ticket_audits(&TicketAuditsQuery::default().limit(100)).await?;
    /// let mut older = TicketAuditsQuery::default().limit(100);
    /// older.cursor = newest.before_cursor.clone();
    /// let next = client.list_ticket_audits(&older).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn list_ticket_audits(
        &self,
        query: &TicketAuditsQuery,
    ) -> Result<types::TicketAuditsResponse, Error> {
        query.validate()?;
        let response = self
            .call(LIST_ALL, |session| async move {
                let mut builder = session.raw.list_ticket_audits();
                if let Some(cursor) = &query.cursor {
                    builder = builder.cursor(cursor.clone());
                }
                if let Some(limit) = query.limit {
                    builder = builder.limit(i64::from(limit));
                }
                if let Some(size) = query.page_size {
                    builder = builder.page_size(i64::from(size));
                }
                if let Some(after) = &query.page_after {
                    builder = builder.page_after(after.clone());
                }
                if let Some(before) = &query.page_before {
                    builder = builder.page_before(before.clone());
                }
                builder.send().await
            })
            .await?;
        Ok(response.into_inner())
    }

    /// One page of a ticket's audits (`ListAuditsForTicket`). For an archived ticket Zendesk
    /// answers with all its audits at once.
    ///
    /// ```no_run
    /// use audit_core::zendesk::AuditsForTicketQuery;
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let query = AuditsForTicketQuery::default().page_size(100);
    /// let page = client.list_audits_for_ticket(48213, &query).await?;
    /// println!("{} audits, more: {:?}", page.audits.len(), page.meta.and_then(|m| m.has_more));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn list_audits_for_ticket(
        &self,
        ticket_id: i64,
        query: &AuditsForTicketQuery,
    ) -> Result<types::TicketAuditsForTicketResponse, Error> {
        query.validate()?;
        let response = self
            .call(LIST_FOR_TICKET, |session| async move {
                for_ticket_request(&session.raw, ticket_id, query, None)
                    .send()
                    .await
            })
            .await?;
        Ok(response.into_inner())
    }

    /// Every page of a ticket's audits, fetched on demand (cursor pages of `query`, or the
    /// single answer for an archived ticket).
    ///
    /// ```no_run
    /// use audit_core::zendesk::AuditsForTicketQuery;
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let query = AuditsForTicketQuery::default().page_size(100);
    /// let audits: Vec<_> = client.audits_for_ticket_pages(48213, query)
    ///     .map_ok(|page| page.items)
    ///     .try_concat()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn audits_for_ticket_pages(
        &self,
        ticket_id: i64,
        query: AuditsForTicketQuery,
    ) -> RecordPages<types::TicketAudit> {
        if let Err(error) = query.validate() {
            return RecordPages::new(stream::once(async move { Err(error) }));
        }
        let client = self.clone();
        let query = Arc::new(query);
        Paginator::new(LIST_FOR_TICKET.name, None, move |request| {
            let client = client.clone();
            let query = Arc::clone(&query);
            async move { fetch_ticket_page(&client, ticket_id, &query, request).await }
        })
        .record_pages()
    }

    /// The account's ticket audits over `window`, as pages of events with checkpoints
    /// (newest first within each pass; see the module docs).
    ///
    /// ```no_run
    /// use audit_core::Window;
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let since = chrono::Utc::now() - chrono::Duration::days(1);
    /// let mut pages = client.ticket_audit_events(Window::since(since)).pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} audits; resume from {}", page.events.len(), page.checkpoint.to_json());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn ticket_audit_events(&self, window: Window) -> TicketAuditEvents {
        TicketAuditEvents {
            client: self.clone(),
            options: StreamOptions::new(window),
            position: None,
        }
    }

    /// The audits of one ticket (archived tickets included), oldest first, as pages of
    /// events with checkpoints.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let events: Vec<_> = client.audits_for_ticket_events(31877).events().try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn audits_for_ticket_events(&self, ticket_id: i64) -> AuditsForTicketEvents {
        AuditsForTicketEvents {
            client: self.clone(),
            ticket_id,
            window: Window::since(DateTime::<Utc>::UNIX_EPOCH),
            settle_lag: Duration::ZERO,
            next: None,
            high_water: Edge::default(),
            complete: false,
        }
    }
}

/// Where a ticket-audit walk stands (the fields of [`Position::NewestFirst`]).
#[derive(Debug, Clone)]
struct NewestFirst {
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    next: Option<PageToken>,
    edge: Edge,
    complete: bool,
}

impl NewestFirst {
    fn position(&self) -> Position {
        Position::NewestFirst {
            since: self.since,
            until: self.until,
            next: self.next.clone(),
            boundary: self.edge.boundary().cloned(),
            complete: self.complete,
        }
    }
}

/// The account-wide ticket-audit event stream, before it starts.
///
/// ```no_run
/// use std::time::Duration;
/// use audit_core::Window;
///
/// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
/// let since = chrono::Utc::now() - chrono::Duration::hours(6);
/// let pages = client
///     .ticket_audit_events(Window::since(since))
///     .settle_lag(Duration::from_secs(60))
///     .follow(Duration::from_secs(120))
///     .pages();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TicketAuditEvents {
    client: ZendeskClient,
    options: StreamOptions,
    position: Option<NewestFirst>,
}

impl TicketAuditEvents {
    pub(crate) fn with_options(
        client: ZendeskClient,
        options: StreamOptions,
    ) -> Result<Self, Error> {
        let resume = options.resume.clone();
        let events = TicketAuditEvents {
            client,
            options: StreamOptions {
                resume: None,
                ..options
            },
            position: None,
        };
        match resume {
            Some(checkpoint) => events.resume(checkpoint),
            None => Ok(events),
        }
    }

    fn source(&self) -> Source {
        Source::new(StreamKind::ZendeskTicketAudits, self.client.tenant())
    }

    /// How far behind now an open window (or pass) ends (default 30 s).
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
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let events: Vec<_> = client.ticket_audit_events(Window::since(Utc::now() - Duration::days(400)))
    ///     .settle_lag(std::time::Duration::from_secs(3600))
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// assert!(events.iter().all(|event| event.occurred_at <= Utc::now() - Duration::hours(1)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn settle_lag(mut self, settle_lag: Duration) -> Self {
        self.options.settle_lag = settle_lag;
        self
    }

    /// Follow mode: once a pass is done, sleep `poll_interval` and read what arrived since.
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
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// // A follower never ends: it reads what arrives, every minute, for as long as it is polled.
    /// let mut pages = client.ticket_audit_events(Window::since(Utc::now() - Duration::days(400)))
    ///     .follow(std::time::Duration::from_secs(60))
    ///     .pages();
    /// assert!(pages.try_next().await?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn follow(mut self, poll_interval: Duration) -> Self {
        self.options.follow = Some(poll_interval);
        self
    }

    /// Continues from `checkpoint` (taken from this stream, this tenant), with its window. A
    /// checkpoint written by the legacy walk (`cursor`/`limit`, before cursor pagination)
    /// resumes too: its pass is read again from the newest page, skipping what it exported.
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
    /// use audit_core::{Checkpoint, Window};
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let window = Window::since(Utc::now() - Duration::days(400));
    /// let mut pages = client.ticket_audit_events(window).pages();
    /// let first = pages.try_next().await?.unwrap();
    /// let checkpoint = Checkpoint::from_json(&first.checkpoint.to_json())?;
    /// let rest: Vec<_> = client.ticket_audit_events(window).resume(checkpoint)?.events().try_collect().await?;
    /// assert!(rest.iter().all(|event| first.events.iter().all(|seen| seen.id != event.id)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume(mut self, checkpoint: Checkpoint) -> Result<Self, Error> {
        checkpoint.expect_source(&self.source())?;
        self.position = match checkpoint.position {
            Position::Start => None,
            Position::NewestFirst {
                since,
                until,
                next,
                boundary,
                complete,
            } => {
                let mut position = NewestFirst {
                    since,
                    until,
                    next,
                    edge: boundary.into(),
                    complete,
                };
                if position.next.as_ref().is_some_and(legacy_token) {
                    // A checkpoint of the legacy walk: its cursor is no `page[after]`. The
                    // pass is read again from its newest page, skipping what was exported
                    // (as after a cursor the vendor refused).
                    tracing::info!(
                        stream = STREAM,
                        "the checkpoint holds a legacy cursor; reading its pass again from \
                         the newest page, skipping what was exported"
                    );
                    position.next = None;
                    position.edge.reread();
                }
                Some(position)
            }
            other => {
                return Err(Error::InvalidCheckpoint(format!(
                    "a `{STREAM}` checkpoint holds a newest-first position, not {other:?} (is \
                     it the checkpoint of one ticket's audits?)"
                )));
            }
        };
        self.options.window = checkpoint.window;
        Ok(self)
    }

    /// The stream of pages, each with its checkpoint.
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
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.ticket_audit_events(Window::since(Utc::now() - Duration::days(400))).pages();
    /// let mut count = 0;
    /// while let Some(page) = pages.try_next().await? {
    ///     count += page.events.len();
    /// }
    /// assert_eq!(client.stats().records, count as u64);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages(self) -> EventPages {
        let position = self.position.clone().unwrap_or(NewestFirst {
            since: self.options.window.since,
            until: None,
            next: None,
            edge: Edge::default(),
            complete: false,
        });
        // Cursor pages hold at most 100 audits.
        let page_size = Arc::new(AdaptivePageSize::new(
            self.client.page_size_policy().clamped(MAX_PAGE_SIZE),
        ));
        EventPages::from_source(TicketAuditSource {
            source: self.source(),
            client: self.client,
            options: self.options,
            position,
            page_size,
            pass: None,
            passes: 0,
            cursor_fallbacks: 0,
            done: false,
        })
    }

    /// The stream of events.
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
    /// use audit_core::{RecordKind, Window};
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let events: Vec<_> = client.ticket_audit_events(Window::since(Utc::now() - Duration::days(400)))
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// assert!(events.iter().all(|event| event.id.contains(RecordKind::ZendeskTicketAudit.as_str())));
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(self) -> EventStream {
        self.pages().events()
    }
}

/// The account-wide walk's pages: each audit's text with the gist the mapping reads, read with
/// the page or, for a page its one pass refused, once the next page has been asked for.
type AuditPaginator = Paginator<PageAudit, PageToken>;

/// One ticket's pages, each audit typed (the generated decoding).
type TicketAuditPaginator = Paginator<Recorded<types::TicketAudit>, PageToken>;

struct TicketAuditSource {
    client: ZendeskClient,
    source: Source,
    options: StreamOptions,
    position: NewestFirst,
    page_size: Arc<AdaptivePageSize>,
    pass: Option<AuditPaginator>,
    passes: u64,
    /// How many times this stream has read a pass again after its cursor was refused.
    cursor_fallbacks: u32,
    done: bool,
}

/// How many times a stream reads a pass again after the vendor refused its cursor, before
/// the refusal is an error.
const MAX_CURSOR_FALLBACKS: u32 = 3;

/// Whether `error` is the vendor refusing a page's cursor: a 400 or 422 (an expired or
/// unknown legacy cursor), as opposed to access, rate-limit or server trouble.
fn cursor_refused(error: &Error) -> bool {
    matches!(
        error,
        Error::Api {
            status: 400 | 422,
            ..
        }
    )
}

impl TicketAuditSource {
    fn checkpoint(&self) -> Checkpoint {
        Checkpoint::new(
            self.source.clone(),
            self.options.window,
            self.position.position(),
        )
    }

    /// Moves the position to a new pass after the completed one; false when the window is
    /// exhausted or nothing new can be read yet.
    fn next_pass(&mut self, now: DateTime<Utc>) -> bool {
        let window = self.options.window;
        let after = match self.position.until {
            // Everything up to `until` has been read: continue just after it.
            Some(until) => (until + TimeDelta::nanoseconds(1)).max(window.since),
            None => window.since,
        };
        if window.until.is_some_and(|end| after > end) {
            self.done = true;
            return false;
        }
        if after > window.effective_until(now, self.options.settle_lag) {
            return false;
        }
        self.position = NewestFirst {
            since: after,
            until: None,
            next: None,
            edge: Edge::default(),
            complete: false,
        };
        true
    }
}

impl PageSource for TicketAuditSource {
    async fn next_page(&mut self) -> Result<Option<EventPage>, Error> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.pass.is_none() {
                if self.position.complete {
                    if self.passes > 0 {
                        match self.options.follow {
                            Some(poll) => tokio::time::sleep(poll).await,
                            None => {
                                self.done = true;
                                return Ok(None);
                            }
                        }
                    }
                    self.passes += 1;
                    if !self.next_pass(Utc::now()) {
                        if self.options.follow.is_none() {
                            self.done = true;
                        }
                        continue;
                    }
                }
                let until = match self.position.until {
                    Some(until) => until,
                    None => {
                        let until = self
                            .options
                            .window
                            .effective_until(Utc::now(), self.options.settle_lag);
                        self.position.until = Some(until);
                        until
                    }
                };
                if self.position.since > until {
                    // Nothing can be in this pass (its start is still in the settle lag).
                    self.position.until = None;
                    self.position.complete = true;
                    self.passes += 1;
                    if self.options.follow.is_none() {
                        self.done = true;
                    }
                    continue;
                }
                self.passes += 1;
                let client = self.client.clone();
                let size = Arc::clone(&self.page_size);
                tracing::debug!(stream = STREAM, since = %self.position.since, %until, "walking a pass");
                self.pass = Some(
                    Paginator::new(LIST_ALL.name, self.position.next.clone(), move |request| {
                        let client = client.clone();
                        let size = Arc::clone(&size);
                        async move { fetch_cursor_page(&client, &size, request).await }
                    })
                    .read_ahead(),
                );
            }
            let pass = self.pass.as_mut().expect("a pass is running");
            let page = match pass.next_page().await {
                Ok(page) => page,
                Err(error)
                    if self.position.next.is_some()
                        && cursor_refused(&error)
                        && self.cursor_fallbacks < MAX_CURSOR_FALLBACKS =>
                {
                    // Legacy cursors expire (a checkpoint kept for a while holds a dead one).
                    // The pass is read again from its newest page with the same bounds; the
                    // edge refuses what this pass has already emitted.
                    tracing::warn!(
                        stream = STREAM,
                        %error,
                        "the vendor refused the pass's cursor (it may have expired); reading \
                         the pass again from its newest page, skipping what was exported"
                    );
                    self.cursor_fallbacks += 1;
                    self.pass = None;
                    self.position.next = None;
                    self.position.edge.reread();
                    continue;
                }
                Err(error) => return Err(error),
            };
            let Some(page) = page else {
                self.pass = None;
                self.position.complete = true;
                self.position.next = None;
                continue;
            };
            // The audits the page's one pass did not read (`AuditsPage::read`) are decoded
            // here, not in the fetch: the next page's request left with this page's cursor,
            // before these were decoded. All of them before any is admitted, so a page that
            // fails is read again whole.
            let audits = match audit_pages::decode_all(page.items) {
                Ok(audits) => audits,
                Err(message) => {
                    self.pass = None;
                    self.position.next = page.cursor;
                    return Err(Error::Decode {
                        operation: LIST_ALL.name,
                        status: Some(200),
                        message,
                        waited: Duration::ZERO,
                    });
                }
            };
            let since = self.position.since;
            let until = self.position.until.expect("set when the pass started");
            let tenant = self.client.tenant().to_string();
            let received = audits.len();
            let mut events = Vec::with_capacity(received);
            let mut duplicates = 0;
            // Where the first audit older than the window's start is, if one is.
            let mut first_older = None;
            for (position, audit) in audits.into_iter().enumerate() {
                let mut event = mapping::audit_gist_event(&tenant, audit);
                self.position.edge.place(&mut event, until);
                let at = event.occurred_at;
                if at > until {
                    continue;
                }
                if at < since {
                    // The window's start: the rest of the page is still read (two neighbours
                    // out of order can put an audit of the window after one older than it).
                    first_older.get_or_insert(position);
                    continue;
                }
                if self
                    .position
                    .edge
                    .admit(Direction::NewestFirst, at, &event.native_id)
                {
                    events.push(event);
                } else {
                    duplicates += 1;
                }
            }
            self.client.stats_counter().page(events.len(), duplicates);
            let caught_up = window_edge_reached(first_older, received) || page.next.is_none();
            if caught_up {
                self.pass = None;
                self.position.complete = true;
                self.position.next = None;
            } else {
                self.position.next = page.next;
            }
            return Ok(Some(EventPage {
                events,
                checkpoint: self.checkpoint(),
                received,
                caught_up,
            }));
        }
    }
}

/// The event stream of one ticket's audits, before it starts.
///
/// ```no_run
/// use audit_core::Window;
///
/// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
/// let since = chrono::Utc::now() - chrono::Duration::days(30);
/// let pages = client.audits_for_ticket_events(48213).window(Window::since(since)).pages();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuditsForTicketEvents {
    client: ZendeskClient,
    ticket_id: i64,
    window: Window,
    settle_lag: Duration,
    next: Option<PageToken>,
    high_water: Edge,
    complete: bool,
}

impl AuditsForTicketEvents {
    fn source(&self) -> Source {
        Source::new(StreamKind::ZendeskTicketAudits, self.client.tenant())
    }

    fn scope(&self) -> String {
        format!("ticket/{}", self.ticket_id)
    }

    /// Only audits in `window` (default: all of them).
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
    /// # let ticket = client.list_ticket_audits(&audit_core::zendesk::TicketAuditsQuery::default())
    /// #     .await?.audits[0].ticket_id.unwrap();
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let since = Utc::now() - Duration::days(30);
    /// let recent: Vec<_> = client.audits_for_ticket_events(ticket).window(Window::since(since))
    ///     .events().try_collect().await?;
    /// assert!(recent.iter().all(|event| event.occurred_at >= since));
    /// # Ok(())
    /// # }
    /// ```
    pub fn window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// How far behind now an open window ends (default 0: one ticket's audits are read
    /// whole).
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
    /// # let ticket = client.list_ticket_audits(&audit_core::zendesk::TicketAuditsQuery::default())
    /// #     .await?.audits[0].ticket_id.unwrap();
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let settled: Vec<_> = client.audits_for_ticket_events(ticket)
    ///     .settle_lag(std::time::Duration::from_secs(3600))
    ///     .events().try_collect().await?;
    /// assert!(settled.iter().all(|event| event.occurred_at <= Utc::now() - Duration::hours(1)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn settle_lag(mut self, settle_lag: Duration) -> Self {
        self.settle_lag = settle_lag;
        self
    }

    /// Continues from `checkpoint`, taken from this ticket's stream. A checkpoint of a
    /// completed read re-reads the ticket and yields only audits added since.
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
    /// # let ticket = client.list_ticket_audits(&audit_core::zendesk::TicketAuditsQuery::default())
    /// #     .await?.audits[0].ticket_id.unwrap();
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.audits_for_ticket_events(ticket).pages();
    /// let mut last = None;
    /// while let Some(page) = pages.try_next().await? {
    ///     last = Some(page.checkpoint);
    /// }
    /// // Read to its end: resuming yields only audits added since (none here).
    /// let resumed = client.audits_for_ticket_events(ticket).resume(last.unwrap())?;
    /// assert!(resumed.events().try_next().await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume(mut self, checkpoint: Checkpoint) -> Result<Self, Error> {
        checkpoint.expect_source(&self.source())?;
        match checkpoint.position {
            Position::Cursor {
                scope,
                next,
                high_water,
                complete,
            } if scope == self.scope() => {
                self.next = next;
                self.high_water = high_water.into();
                self.complete = complete;
            }
            Position::Start => {}
            other => {
                return Err(Error::InvalidCheckpoint(format!(
                    "this checkpoint is not one of ticket {}'s audits: {other:?}",
                    self.ticket_id
                )));
            }
        }
        self.window = checkpoint.window;
        Ok(self)
    }

    /// The stream of pages, each with its checkpoint.
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
    /// # let ticket = client.list_ticket_audits(&audit_core::zendesk::TicketAuditsQuery::default())
    /// #     .await?.audits[0].ticket_id.unwrap();
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.audits_for_ticket_events(ticket).pages();
    /// let first = pages.try_next().await?.unwrap();
    /// assert!(first.checkpoint.to_json().contains(&format!("ticket/{ticket}")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages(self) -> EventPages {
        EventPages::from_source(TicketSource {
            source: self.source(),
            settings: self,
            pass: None,
            started: false,
            done: false,
        })
    }

    /// The stream of events.
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
    /// # let ticket = client.list_ticket_audits(&audit_core::zendesk::TicketAuditsQuery::default())
    /// #     .await?.audits[0].ticket_id.unwrap();
    /// use futures::TryStreamExt;
    ///
    /// let events: Vec<_> = client.audits_for_ticket_events(ticket).events().try_collect().await?;
    /// assert!(events.iter().all(|event| event.correlation_id == Some(ticket.to_string())));
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(self) -> EventStream {
        self.pages().events()
    }
}

struct TicketSource {
    settings: AuditsForTicketEvents,
    source: Source,
    /// The walk, and the end of the window it reads up to.
    pass: Option<(TicketAuditPaginator, DateTime<Utc>)>,
    started: bool,
    done: bool,
}

impl TicketSource {
    fn checkpoint(&self) -> Checkpoint {
        let settings = &self.settings;
        Checkpoint::new(
            self.source.clone(),
            settings.window,
            Position::Cursor {
                scope: settings.scope(),
                next: settings.next.clone(),
                high_water: settings.high_water.boundary().cloned(),
                complete: settings.complete,
            },
        )
    }
}

impl PageSource for TicketSource {
    async fn next_page(&mut self) -> Result<Option<EventPage>, Error> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.pass.is_none() {
                if self.started {
                    self.done = true;
                    return Ok(None);
                }
                self.started = true;
                if self.settings.complete {
                    // A finished read, resumed: read again, keeping only what is new.
                    self.settings.complete = false;
                    self.settings.next = None;
                    self.settings.high_water.reread();
                }
                let until = self
                    .settings
                    .window
                    .effective_until(Utc::now(), self.settings.settle_lag);
                let client = self.settings.client.clone();
                let ticket_id = self.settings.ticket_id;
                let query = Arc::new(AuditsForTicketQuery {
                    page_size: Some(MAX_PAGE_SIZE),
                    ..AuditsForTicketQuery::default()
                });
                let paginator = Paginator::new(
                    LIST_FOR_TICKET.name,
                    self.settings.next.clone(),
                    move |request| {
                        let client = client.clone();
                        let query = Arc::clone(&query);
                        async move { fetch_ticket_page(&client, ticket_id, &query, request).await }
                    },
                )
                .read_ahead();
                self.pass = Some((paginator, until));
            }
            let (paginator, until) = self.pass.as_mut().expect("a pass is running");
            let until = *until;
            let Some(page) = paginator.next_page().await? else {
                self.pass = None;
                self.settings.complete = true;
                self.settings.next = None;
                continue;
            };
            let tenant = self.settings.client.tenant().to_string();
            let since = self.settings.window.since;
            let received = page.items.len();
            let mut events = Vec::with_capacity(received);
            let mut duplicates = 0;
            // Where the first audit newer than the window's end is, if one is.
            let mut first_newer = None;
            for (position, audit) in page.items.iter().enumerate() {
                let mut event = mapping::ticket_audit_event(&tenant, audit);
                self.settings.high_water.place(&mut event, since);
                let at = event.occurred_at;
                if at < since {
                    continue;
                }
                if at > until {
                    // The window's end: the rest of the page is still read (two neighbours out
                    // of order can put an audit of the window after one newer than it).
                    first_newer.get_or_insert(position);
                    continue;
                }
                if self
                    .settings
                    .high_water
                    .admit(Direction::OldestFirst, at, &event.native_id)
                {
                    events.push(event);
                } else {
                    duplicates += 1;
                }
            }
            self.settings
                .client
                .stats_counter()
                .page(events.len(), duplicates);
            let caught_up = window_edge_reached(first_newer, received) || page.next.is_none();
            if caught_up {
                self.pass = None;
                self.settings.complete = true;
                self.settings.next = None;
            } else {
                self.settings.next = page.next;
            }
            return Ok(Some(EventPage {
                events,
                checkpoint: self.checkpoint(),
                received,
                caught_up,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of three or more audits whose first is older than its last is refused; one
    /// newest first, or too short to tell, is not.
    #[test]
    fn a_page_that_reads_oldest_first_is_refused() {
        let page = |times: [&str; 3]| -> AuditsPage {
            let audits: Vec<String> = times
                .iter()
                .map(|time| format!(r#"{{"created_at": "{time}"}}"#))
                .collect();
            AuditsPage::read(format!(r#"{{"audits": [{}]}}"#, audits.join(", ")).as_bytes())
                .unwrap()
        };
        let (a, b, c) = (
            "2024-01-01T00:00:00Z",
            "2024-01-02T00:00:00Z",
            "2024-01-03T00:00:00Z",
        );
        let refused = check_newest_first(&page([a, b, c]))
            .unwrap_err()
            .to_string();
        assert!(refused.contains("reads oldest first"), "{refused}");
        assert!(check_newest_first(&page([c, b, a])).is_ok());
        assert!(
            check_newest_first(&page([c, a, b])).is_ok(),
            "one pair out of order"
        );
    }
}
