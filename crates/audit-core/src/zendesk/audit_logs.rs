//! Zendesk audit logs: `ListAuditLogs`, `ShowAuditLog`, the filters they share with
//! `ExportAuditLogs` (see [`super::export`]), and the oldest-first event stream.
//!
//! The stream reads `sort=created_at` with the two `filter[created_at][]` bounds
//! `[since, until]`, `until` being at most now minus the settle lag, so records Zendesk is
//! still writing for the same second are not skipped. Each next request is built from the
//! original filters and the cursor (`meta.after_cursor`, or the `page[after]` of
//! `links.next`), so a next link that drops a filter cannot widen the export; a link without
//! a cursor is followed as given (only on the configured origin). Filters take several
//! values each (`filter[action][]=create&filter[action][]=update`). Its checkpoint is a high-water mark (the newest `created_at`
//! emitted and the ids emitted at that second): resuming re-queries from that second
//! inclusively and skips those ids, whatever happened to the vendor's cursors.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream;
use raw_support::Recorded;
use serde::{Deserialize, Serialize};
use zendesk_raw::types;

use super::{ZendeskClient, mapping, next_page_token};
use crate::checkpoint::{Checkpoint, Edge, PageToken};
use crate::error::Error;
use crate::event::{Source, StreamKind};
use crate::http::get_json;
use crate::paginate::{
    CursorPage, EventPage, EventPages, EventStream, PageRequest, PageSource, Paginator, RecordPages,
};
use crate::retry::Operation;
use crate::selection::{Selection, StreamFilter};
use crate::sort::SortOrder;
use crate::walk::{self, Passes};
use crate::window::{StreamOptions, Window, floor_to_second};

const LIST: Operation = Operation::read("list_audit_logs");
const STREAM: &str = "zendesk-audit-logs";

/// The largest `page[size]` Zendesk accepts on `/audit_logs`.
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
/// use audit_core::zendesk::AuditLogQuery;
/// use audit_core::zendesk::audit_logs::MAX_PAGE_SIZE;
///
/// let page = client.list_audit_logs(&AuditLogQuery::default().page_size(MAX_PAGE_SIZE)).await?;
/// assert!(page.audit_logs.len() <= 100);
/// assert!(client.list_audit_logs(&AuditLogQuery::default().page_size(101)).await.is_err());
/// # Ok(())
/// # }
/// ```
pub const MAX_PAGE_SIZE: u32 = 100;

/// Filters of `ListAuditLogs` and `ExportAuditLogs`. Each field holds any number of values:
/// a record matches a field when it equals **any** of its values (none: the field does not
/// filter), and it must match every field. They go out in the repeated, bracketed form Zendesk
/// documents for several values (`filter[action][]=create&filter[action][]=update`).
///
/// ```
/// use audit_core::zendesk::AuditLogFilter;
///
/// // Sign-ins and API-token changes by two admins.
/// let filter = AuditLogFilter::default()
///     .action("login")
///     .action("update")
///     .source_type("apitoken")
///     .actor_id(7700412231)
///     .actor_id(7700412232);
/// assert_eq!(filter.action, ["login", "update"]);
/// assert_eq!(filter.actor_id, [7700412231, 7700412232]);
/// assert!(filter.ip_address.is_empty(), "no value: not filtered on");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AuditLogFilter {
    /// `filter[source_type][]`: the kinds of item changed (`user`, `rule`, `apitoken`, …).
    pub source_type: Vec<String>,
    /// `filter[source_id][]`: the items changed; needs `source_type`.
    pub source_id: Vec<i64>,
    /// `filter[actor_id][]`: who made the change.
    pub actor_id: Vec<i64>,
    /// `filter[ip_address][]`.
    pub ip_address: Vec<String>,
    /// `filter[action][]`: `create`, `update`, `destroy`, `login`, `exported`.
    pub action: Vec<String>,
    /// `filter[created_at][]`: the start and end, both sent (Zendesk needs the pair).
    pub created_at: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl AuditLogFilter {
    /// Adds a `filter[source_type][]` value.
    ///
    /// ```
    /// use audit_core::zendesk::AuditLogFilter;
    ///
    /// let filter = AuditLogFilter::default().source_type("user").source_type("rule");
    /// assert_eq!(filter.source_type, ["user", "rule"]);
    /// ```
    pub fn source_type(mut self, source_type: impl Into<String>) -> Self {
        self.source_type.push(source_type.into());
        self
    }

    /// `filter[created_at][]`: only records created from `start` to `end` (Zendesk needs both;
    /// the streams set it from their window).
    ///
    /// ```
    /// use audit_core::zendesk::AuditLogFilter;
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let filter = AuditLogFilter::default().created_between(now - Duration::days(1), now);
    /// assert_eq!(filter.created_at, Some((now - Duration::days(1), now)));
    /// assert!(filter.is_unfiltered(), "the time range alone does not count as a filter");
    /// ```
    pub fn created_between(mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        self.created_at = Some((start, end));
        self
    }

    /// Adds a `filter[source_id][]` value (Zendesk needs a `source_type` with it).
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
    /// use audit_core::zendesk::{AuditLogFilter, AuditLogQuery};
    ///
    /// // A source id alone is refused before it is sent: Zendesk needs the source type with it.
    /// let alone = AuditLogQuery::filtered(AuditLogFilter::default().source_id(7700412231));
    /// assert_eq!(client.list_audit_logs(&alone).await.unwrap_err().kind(), audit_core::ErrorKind::InvalidRequest);
    /// let with_type = AuditLogFilter::default().source_type("user").source_id(7700412231);
    /// client.list_audit_logs(&AuditLogQuery::filtered(with_type)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn source_id(mut self, source_id: i64) -> Self {
        self.source_id.push(source_id);
        self
    }

    /// Adds a `filter[actor_id][]` value.
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
    /// use audit_core::zendesk::{AuditLogFilter, AuditLogQuery};
    ///
    /// let all = client.list_audit_logs(&AuditLogQuery::default()).await?;
    /// let actor = all.audit_logs[0].actor_id.unwrap();
    /// let theirs = client.list_audit_logs(&AuditLogQuery::filtered(AuditLogFilter::default().actor_id(actor))).await?;
    /// assert!(theirs.audit_logs.iter().all(|record| record.actor_id == Some(actor)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn actor_id(mut self, actor_id: i64) -> Self {
        self.actor_id.push(actor_id);
        self
    }

    /// Adds a `filter[ip_address][]` value.
    ///
    /// ```
    /// use audit_core::zendesk::AuditLogFilter;
    ///
    /// let filter = AuditLogFilter::default().ip_address("203.0.113.7").ip_address("203.0.113.8");
    /// assert_eq!(filter.ip_address.len(), 2);
    /// ```
    pub fn ip_address(mut self, ip_address: impl Into<String>) -> Self {
        self.ip_address.push(ip_address.into());
        self
    }

    /// Adds a `filter[action][]` value.
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
    /// use audit_core::zendesk::{AuditLogFilter, AuditLogQuery};
    ///
    /// let logins = AuditLogQuery::filtered(AuditLogFilter::default().action("login"));
    /// let page = client.list_audit_logs(&logins).await?;
    /// assert!(page.audit_logs.iter().all(|record| record.action.as_deref() == Some("login")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action.push(action.into());
        self
    }

    /// Whether no field but `created_at` filters.
    ///
    /// ```
    /// use audit_core::zendesk::AuditLogFilter;
    ///
    /// assert!(AuditLogFilter::default().is_unfiltered());
    /// assert!(!AuditLogFilter::default().action("destroy").is_unfiltered());
    /// ```
    pub fn is_unfiltered(&self) -> bool {
        self.source_type.is_empty()
            && self.source_id.is_empty()
            && self.actor_id.is_empty()
            && self.ip_address.is_empty()
            && self.action.is_empty()
    }

    pub(super) fn validate(&self, operation: &'static str) -> Result<(), Error> {
        if !self.source_id.is_empty() && self.source_type.is_empty() {
            return Err(Error::InvalidRequest {
                operation,
                message: "`filter[source_id]` needs `filter[source_type]` too".into(),
            });
        }
        if let Some((start, end)) = self.created_at
            && start > end
        {
            return Err(Error::InvalidRequest {
                operation,
                message: format!("`filter[created_at]` starts ({start}) after it ends ({end})"),
            });
        }
        Ok(())
    }

    pub(super) fn created_at_pair(&self) -> Option<Vec<DateTime<Utc>>> {
        self.created_at
            .map(|(start, end)| vec![floor_to_second(start), floor_to_second(end)])
    }
}

/// The `sort_order` value of `order` (`asc`, `desc`): `ListAuditLogs` in offset mode and
/// `ListAuditsForTicket`.
pub(crate) fn sort_order_param(order: SortOrder) -> types::SortOrder {
    match order {
        SortOrder::Ascending => types::SortOrder::Asc,
        SortOrder::Descending => types::SortOrder::Desc,
    }
}

/// One `ListAuditLogs` request: filters, and either cursor or offset pagination.
///
/// ```
/// use audit_core::zendesk::{AuditLogQuery, SortOrder};
///
/// let query = AuditLogQuery::default()
///     .sort(SortOrder::Ascending)
///     .page_size(100);
/// assert_eq!(query.page_size, Some(100));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditLogQuery {
    /// The filters.
    pub filter: AuditLogFilter,
    /// Cursor mode: `sort=created_at` (ascending) or `-created_at` (Zendesk's default).
    pub sort: Option<SortOrder>,
    /// Cursor mode: `page[size]`, 1 to 100. Sending it selects cursor pagination.
    pub page_size: Option<u32>,
    /// Cursor mode: `page[after]`.
    pub page_after: Option<String>,
    /// Cursor mode: `page[before]`.
    pub page_before: Option<String>,
    /// Offset mode: `page` (from 1; at most 10,000 records deep).
    pub page: Option<u32>,
    /// Offset mode: `per_page`, at most 100.
    pub per_page: Option<u32>,
    /// Offset mode: `sort_by` (Zendesk's default `created_at`).
    pub sort_by: Option<String>,
    /// Offset mode: `sort_order`.
    pub sort_order: Option<SortOrder>,
}

impl AuditLogQuery {
    /// A query with these filters and nothing else.
    ///
    /// ```
    /// use audit_core::zendesk::{AuditLogFilter, AuditLogQuery};
    ///
    /// let query = AuditLogQuery::filtered(AuditLogFilter::default().action("exported"));
    /// assert_eq!(query.filter.action, ["exported"]);
    /// assert_eq!(query.page_size, None);
    /// ```
    pub fn filtered(filter: AuditLogFilter) -> Self {
        AuditLogQuery {
            filter,
            ..AuditLogQuery::default()
        }
    }

    /// Cursor mode, oldest or newest first (`sort`), as Genesys' `AuditQuery::sort`.
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
    /// use audit_core::zendesk::{AuditLogQuery, SortOrder};
    ///
    /// let page = client.list_audit_logs(&AuditLogQuery::default().sort(SortOrder::Ascending).page_size(100)).await?;
    /// let times: Vec<_> = page.audit_logs.iter().map(|record| record.created_at).collect();
    /// assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn sort(mut self, order: SortOrder) -> Self {
        self.sort = Some(order);
        self
    }

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
    /// use audit_core::zendesk::AuditLogQuery;
    ///
    /// let page = client.list_audit_logs(&AuditLogQuery::default().page_size(10)).await?;
    /// assert_eq!(page.audit_logs.len(), 10);
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
    /// use audit_core::zendesk::AuditLogQuery;
    ///
    /// let query = AuditLogQuery::default().page_size(10);
    /// let first = client.list_audit_logs(&query).await?;
    /// let cursor = first.meta.as_ref().and_then(|meta| meta.after_cursor.clone()).unwrap();
    /// let second = client.list_audit_logs(&query.page_after(cursor)).await?;
    /// assert_ne!(first.audit_logs[0].id, second.audit_logs[0].id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_after(mut self, cursor: impl Into<String>) -> Self {
        self.page_after = Some(cursor.into());
        self
    }

    fn validate(&self) -> Result<(), Error> {
        let operation = LIST.name;
        self.filter.validate(operation)?;
        let invalid = |message: &str| {
            Err(Error::InvalidRequest {
                operation,
                message: message.to_string(),
            })
        };
        if self.page_after.is_some() && self.page_before.is_some() {
            return invalid("`page[after]` and `page[before]` cannot be sent together");
        }
        let cursor_mode = self.sort.is_some()
            || self.page_size.is_some()
            || self.page_after.is_some()
            || self.page_before.is_some();
        let offset_mode = self.page.is_some()
            || self.per_page.is_some()
            || self.sort_by.is_some()
            || self.sort_order.is_some();
        if cursor_mode && offset_mode {
            return invalid(
                "cursor parameters (`sort`, `page[…]`) and offset parameters (`page`, \
                 `per_page`, `sort_by`, `sort_order`) cannot be mixed",
            );
        }
        if self.page_size.is_some_and(|s| s == 0 || s > MAX_PAGE_SIZE)
            || self.per_page.is_some_and(|s| s == 0 || s > MAX_PAGE_SIZE)
        {
            return invalid("page sizes go from 1 to 100 on `/audit_logs`");
        }
        Ok(())
    }
}

/// The cursor-mode `sort` of `order` by `created_at`.
fn created_at_sort(order: SortOrder) -> &'static str {
    match order {
        SortOrder::Ascending => "created_at",
        SortOrder::Descending => "-created_at",
    }
}

macro_rules! with_filter {
    ($builder:expr, $filter:expr) => {{
        let filter: &AuditLogFilter = $filter;
        let mut builder = $builder;
        if !filter.source_type.is_empty() {
            builder = builder.filter_source_type(filter.source_type.clone());
        }
        if !filter.source_id.is_empty() {
            builder = builder.filter_source_id(filter.source_id.clone());
        }
        if !filter.actor_id.is_empty() {
            builder = builder.filter_actor_id(filter.actor_id.clone());
        }
        if !filter.ip_address.is_empty() {
            builder = builder.filter_ip_address(filter.ip_address.clone());
        }
        if !filter.action.is_empty() {
            builder = builder.filter_action(filter.action.clone());
        }
        if let Some(pair) = filter.created_at_pair() {
            builder = builder.filter_created_at(pair);
        }
        builder
    }};
}
pub(super) use with_filter;

/// The request of `query`, with `after` replacing its `page[after]` when given.
fn list_request<'a>(
    raw: &'a zendesk_raw::Client,
    query: &AuditLogQuery,
    after: Option<&str>,
) -> zendesk_raw::builder::ListAuditLogs<'a> {
    let mut builder = with_filter!(raw.list_audit_logs(), &query.filter);
    if let Some(order) = query.sort {
        builder = builder.sort(created_at_sort(order));
    }
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
    if let Some(sort_by) = &query.sort_by {
        builder = builder.sort_by(sort_by.clone());
    }
    if let Some(order) = query.sort_order {
        builder = builder.sort_order(sort_order_param(order));
    }
    builder
}

fn next_token(body: &types::AuditLogsResponse) -> Result<Option<PageToken>, Error> {
    next_page_token(
        LIST.name,
        body.meta.as_ref(),
        body.links.as_ref(),
        body.next_page.as_deref(),
        body.audit_logs.len(),
    )
}

/// Where the page after `token` is fetched from.
#[derive(Debug, PartialEq)]
pub(super) enum NextRequest<'a> {
    /// The query's own request (every filter as the caller gave it) with this `page[after]`.
    After(Cow<'a, str>),
    /// The vendor's link, as given: it carried no cursor the query could be sent with.
    Link(&'a str),
}

/// Builds the request after `token` from the cursor and the query's **original** filters
/// whenever there is a cursor (`meta.after_cursor`, else the `page[after]` of `links.next`):
/// a next link that dropped or changed a filter would otherwise widen the export beyond what
/// the caller asked for (Zendesk's reference recommends the same). The link is followed as
/// given only when it holds no cursor (offset pages' `next_page`).
pub(super) fn next_request(token: &PageToken) -> Option<NextRequest<'_>> {
    if let Some(cursor) = token.cursor.as_deref() {
        return Some(NextRequest::After(Cow::Borrowed(cursor)));
    }
    let link = token.url.as_deref()?;
    Some(match link_page_after(link) {
        Some(cursor) => NextRequest::After(Cow::Owned(cursor)),
        None => NextRequest::Link(link),
    })
}

/// The `page[after]` of a link (absolute or relative), decoded.
fn link_page_after(link: &str) -> Option<String> {
    let query = link.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, value)| key == "page[after]" && !value.trim().is_empty())
        .map(|(_, value)| value.into_owned())
}

/// Fetches the page at `request` of `query`: the first page, or the page after the token,
/// built as [`next_request`] says (the vendor's link only on the configured origin).
async fn fetch_page(
    client: &ZendeskClient,
    query: &AuditLogQuery,
    request: PageRequest<PageToken>,
) -> Result<CursorPage<Recorded<types::AuditLog>, PageToken>, Error> {
    let next = request.cursor.as_ref().and_then(next_request);
    let (url, after) = match next {
        Some(NextRequest::Link(link)) => (
            Some(client.base_url().check_vendor_url(LIST.name, link)?),
            None,
        ),
        Some(NextRequest::After(after)) => (None, Some(after)),
        None => (None, None),
    };
    let after = after.as_deref();
    let response = client
        .call_checked(
            LIST,
            |session| {
                let url = url.clone();
                async move {
                    match url {
                        Some(url) => get_json(&session.http, "zendesk", LIST.name, url).await,
                        None => list_request(&session.raw, query, after).send().await,
                    }
                }
            },
            |body| request.check_next(next_token(body)?.as_ref()),
        )
        .await?;
    let body = response.into_inner();
    let next = next_token(&body)?;
    Ok(CursorPage {
        items: body.audit_logs,
        next,
    })
}

impl ZendeskClient {
    /// One page of audit-log records (`ListAuditLogs`), with every filter, sort and page
    /// parameter. Needs the Enterprise plan and an admin.
    ///
    /// ```no_run
    /// use audit_core::zendesk::{AuditLogFilter, AuditLogQuery};
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let query = AuditLogQuery::filtered(AuditLogFilter::default().action("login"));
    /// let page = client.list_audit_logs(&query).await?;
    /// for record in &page.audit_logs {
    ///     println!("{:?} {:?}", record.actor_name, record.change_description);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn list_audit_logs(
        &self,
        query: &AuditLogQuery,
    ) -> Result<types::AuditLogsResponse, Error> {
        query.validate()?;
        let response = self
            .call(LIST, |session| async move {
                list_request(&session.raw, query, None).send().await
            })
            .await?;
        Ok(response.into_inner())
    }

    /// Every page of `query`, fetched on demand (cursor or offset mode, whichever the query
    /// selects), each with the token of the next page.
    ///
    /// ```no_run
    /// use audit_core::zendesk::{AuditLogQuery, SortOrder};
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let query = AuditLogQuery::default().sort(SortOrder::Ascending).page_size(100);
    /// let mut pages = client.audit_log_pages(query);
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} records, next: {:?}", page.items.len(), page.next);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn audit_log_pages(&self, query: AuditLogQuery) -> RecordPages<types::AuditLog> {
        if let Err(error) = query.validate() {
            return RecordPages::new(stream::once(async move { Err(error) }));
        }
        let client = self.clone();
        let query = Arc::new(query);
        Paginator::new(LIST.name, None, move |request| {
            let client = client.clone();
            let query = Arc::clone(&query);
            async move { fetch_page(&client, &query, request).await }
        })
        .record_pages()
    }

    /// The audit log over `window`, oldest first, as a stream of pages of events with
    /// checkpoints. Configure it (settle lag, follow mode, filters, resume) before calling
    /// [`AuditLogEvents::pages`] or [`AuditLogEvents::events`].
    ///
    /// ```no_run
    /// use audit_core::Window;
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let since = chrono::Utc::now() - chrono::Duration::days(1);
    /// let mut events = client.audit_log_events(Window::since(since)).events();
    /// while let Some(event) = events.try_next().await? {
    ///     println!("{} {} {:?}", event.occurred_at, event.action, event.description);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn audit_log_events(&self, window: Window) -> AuditLogEvents {
        AuditLogEvents {
            client: self.clone(),
            options: StreamOptions::new(window),
            filter: AuditLogFilter::default(),
            high_water: Edge::default(),
            resumed: None,
        }
    }
}

/// The audit-log event stream, before it starts: set its options, then call
/// [`AuditLogEvents::pages`] or [`AuditLogEvents::events`]. Nothing is requested until the
/// stream is polled.
///
/// ```no_run
/// use std::time::Duration;
/// use audit_core::{Checkpoint, Window};
/// use audit_core::zendesk::AuditLogFilter;
///
/// # async fn example(client: audit_core::zendesk::ZendeskClient, saved: String) -> Result<(), audit_core::Error> {
/// let checkpoint = Checkpoint::from_json(&saved)?;
/// let pages = client
///     .audit_log_events(checkpoint.window)
///     .filter(AuditLogFilter::default().source_type("user").source_type("rule"))
///     .settle_lag(Duration::from_secs(60))
///     .follow(Duration::from_secs(30))
///     .resume(checkpoint)?
///     .pages();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuditLogEvents {
    client: ZendeskClient,
    options: StreamOptions,
    filter: AuditLogFilter,
    high_water: Edge,
    /// The filters of the checkpoint resumed from, checked when the stream starts (the
    /// filters may be set after `resume`).
    resumed: Option<Selection>,
}

impl AuditLogEvents {
    pub(crate) fn with_options(
        client: ZendeskClient,
        options: StreamOptions,
    ) -> Result<Self, Error> {
        let resume = options.resume.clone();
        let filter = match &options.filter {
            StreamFilter::AuditLogs(filter) => filter.clone(),
            _ => AuditLogFilter::default(),
        };
        let events = AuditLogEvents {
            client,
            options: StreamOptions {
                resume: None,
                filter: StreamFilter::All,
                ..options
            },
            filter: AuditLogFilter::default(),
            high_water: Edge::default(),
            resumed: None,
        }
        .filter(filter);
        match resume {
            Some(checkpoint) => events.resume(checkpoint),
            None => Ok(events),
        }
    }

    fn source(&self) -> Source {
        Source::new(StreamKind::ZendeskAuditLogs, self.client.tenant())
    }

    /// How far behind now an open window ends (default 30 s).
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
    /// let events: Vec<_> = client.audit_log_events(Window::since(Utc::now() - Duration::days(400)))
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

    /// Follow mode: once caught up, sleep `poll_interval` and continue, forever.
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
    /// // A follower never ends: it reads what arrives, every 30 s, for as long as it is polled.
    /// let mut pages = client.audit_log_events(Window::since(Utc::now() - Duration::days(400)))
    ///     .follow(std::time::Duration::from_secs(30))
    ///     .pages();
    /// assert!(!pages.try_next().await?.unwrap().events.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn follow(mut self, poll_interval: Duration) -> Self {
        self.options.follow = Some(poll_interval);
        self
    }

    /// Only records matching `filter`; its `created_at` is ignored (the window sets it).
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
    /// use audit_core::{Action, Window};
    /// use audit_core::zendesk::AuditLogFilter;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let logins: Vec<_> = client.audit_log_events(Window::since(Utc::now() - Duration::days(400)))
    ///     .filter(AuditLogFilter::default().action("login"))
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// assert!(!logins.is_empty() && logins.iter().all(|event| event.action == Action::Login));
    /// # Ok(())
    /// # }
    /// ```
    pub fn filter(mut self, filter: AuditLogFilter) -> Self {
        self.filter = AuditLogFilter {
            created_at: None,
            ..filter
        };
        self
    }

    /// Continues from `checkpoint` (taken from this stream, this tenant): with its window,
    /// from its high-water mark. The stream must have the filters the checkpoint was taken
    /// with (checked when it starts).
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
    /// let mut pages = client.audit_log_events(window).pages();
    /// let first = pages.try_next().await?.unwrap();
    /// let saved = first.checkpoint.to_json();
    /// // Later, in another process: the rest, none of the first page again.
    /// let checkpoint = Checkpoint::from_json(&saved)?;
    /// let mut rest = client.audit_log_events(checkpoint.window).resume(checkpoint)?.events();
    /// let next = rest.try_next().await?.unwrap();
    /// assert!(first.events.iter().all(|event| event.id != next.id));
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume(mut self, checkpoint: Checkpoint) -> Result<Self, Error> {
        checkpoint.expect_source(&self.source())?;
        self.high_water = Edge::from_high_water(checkpoint.position, STREAM)?;
        self.options.window = checkpoint.window;
        self.resumed = Some(checkpoint.selection);
        Ok(self)
    }

    /// The records the stream's filters select, as its checkpoints record them.
    fn selection(&self) -> Selection {
        StreamFilter::AuditLogs(self.filter.clone()).selection()
    }

    /// The checkpoint of the stream's starting point.
    ///
    /// ```
    /// use audit_core::{StreamKind, Window};
    /// use audit_core::zendesk::AuditLogFilter;
    /// use chrono::Utc;
    /// # let client = audit_core::zendesk::ZendeskClient::builder()
    /// #     .subdomain("acme").oauth_token("token").build()?;
    ///
    /// let stream = client.audit_log_events(Window::since(Utc::now()))
    ///     .filter(AuditLogFilter::default().action("login"));
    /// let checkpoint = stream.checkpoint();
    /// assert_eq!(checkpoint.source.stream, StreamKind::ZendeskAuditLogs);
    /// assert_eq!(checkpoint.selection.to_string(), "action=login");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint::new(
            self.source(),
            self.options.window,
            self.high_water.high_water(),
        )
        .with_selection(self.selection())
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
    /// let mut pages = client.audit_log_events(Window::since(Utc::now() - Duration::days(400))).pages();
    /// let mut count = 0;
    /// while let Some(page) = pages.try_next().await? {
    ///     count += page.events.len();
    ///     let _saved = page.checkpoint.to_json(); // stored with the page's events
    /// }
    /// assert_eq!(client.stats().records, count as u64);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages(self) -> EventPages {
        let selection = self.selection();
        let resumed = self.resumed.as_ref();
        let checked = Selection::check_resumed(resumed, StreamKind::ZendeskAuditLogs, &selection);
        if let Err(error) = self.filter.validate(STREAM).and(checked) {
            return EventPages::failed(error);
        }
        EventPages::from_source(AuditLogSource {
            source: self.source(),
            selection,
            pass: None,
            passes: Passes::new(self.options.follow),
            settings: self,
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
    /// use audit_core::{AuditEvent, Window};
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let events: Vec<AuditEvent> = client
    ///     .audit_log_events(Window::since(Utc::now() - Duration::days(400)))
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// assert!(events.windows(2).all(|w| w[0].occurred_at <= w[1].occurred_at)); // oldest first
    /// assert!(events.iter().all(|event| event.id.starts_with("zendesk:acme:audit-log:")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(self) -> EventStream {
        self.pages().events()
    }
}

struct Pass {
    paginator: Paginator<Recorded<types::AuditLog>, PageToken>,
    /// Where the pass's query starts (the high-water mark's second, or `since`).
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

struct AuditLogSource {
    settings: AuditLogEvents,
    source: Source,
    /// What the stream's filters select, recorded in every page's checkpoint.
    selection: Selection,
    pass: Option<Pass>,
    passes: Passes,
}

impl AuditLogSource {
    /// Starts a pass from the high-water mark (or `since`) to now minus the settle lag;
    /// `None` when there is nothing to read yet.
    fn start_pass(&mut self) -> Option<Pass> {
        let options = &self.settings.options;
        let window = options.window;
        let until = window.effective_until(Utc::now(), options.settle_lag);
        let from = floor_to_second(match self.settings.high_water.at() {
            Some(at) => at.max(window.since),
            None => window.since,
        });
        if from > until {
            return None;
        }
        // The query starts at the high-water mark's second: what it reads before the mark
        // again was exported already.
        self.settings.high_water.reread();
        let query = Arc::new(AuditLogQuery {
            filter: AuditLogFilter {
                created_at: Some((from, until)),
                ..self.settings.filter.clone()
            },
            sort: Some(SortOrder::Ascending),
            page_size: Some(MAX_PAGE_SIZE),
            ..AuditLogQuery::default()
        });
        let client = self.settings.client.clone();
        let mut paginator = Paginator::new(LIST.name, None, move |request| {
            let client = client.clone();
            let query = Arc::clone(&query);
            async move { fetch_page(&client, &query, request).await }
        });
        if self.settings.options.read_ahead {
            paginator = paginator.read_ahead();
        }
        tracing::debug!(stream = STREAM, %from, %until, "starting a pass");
        Some(Pass {
            paginator,
            from,
            until,
        })
    }
}

impl PageSource for AuditLogSource {
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
                .into_iter()
                .map(|record| mapping::audit_log_event_owned(&tenant, record));
            let admitted = walk::admit(
                &mut self.settings.high_water,
                from,
                events,
                |at| walk::between(at, since, until),
                self.settings.client.stats_counter(),
            );
            let caught_up = page.next.is_none();
            if caught_up {
                self.pass = None;
            }
            return Ok(Some(EventPage {
                events: admitted.events,
                checkpoint: Checkpoint::new(
                    self.source.clone(),
                    self.settings.options.window,
                    self.settings.high_water.high_water(),
                )
                .with_selection(self.selection.clone()),
                received,
                caught_up,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Every walk of a sliced export keeps a page fetch in flight (two with read-ahead), so
    /// its size is memory per walk. The retry loop's wrappers (body cap, lossy bodies, the
    /// slow-answer timer) once each held a copy of the request's state: 47 KB a fetch.
    #[tokio::test]
    async fn a_page_fetch_in_flight_holds_a_few_kilobytes() {
        static FETCH_BYTES: AtomicUsize = AtomicUsize::new(0);
        let client = ZendeskClient::builder()
            .base_url("http://127.0.0.1:9")
            .tenant("acme")
            .api_token("someone@acme.test", "token")
            .build()
            .unwrap();
        let query = Arc::new(AuditLogQuery::default());
        let mut walk = Paginator::new(LIST.name, None, move |request| {
            let (client, query) = (client.clone(), Arc::clone(&query));
            let fetch = async move { fetch_page(&client, &query, request).await };
            FETCH_BYTES.store(std::mem::size_of_val(&fetch), Ordering::SeqCst);
            fetch
        });
        // Only to make the one fetch: nothing answers at that port.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(20), walk.next_page()).await;
        let bytes = FETCH_BYTES.load(Ordering::SeqCst);
        assert!(bytes > 0, "the fetch was never made");
        assert!(bytes <= 8 * 1024, "a page fetch holds {bytes} bytes");
    }
}
