//! Realtime audit queries (synchronous, paged by number, the last 14 days, only the services
//! the realtime service mapping lists), related audits, both service mappings, and the
//! realtime event stream.
//!
//! **The realtime stream** ([`RealtimeEvents`]) reads `pageNumber` 1, 2, … up to the answer's
//! `pageCount` with `pageSize` 500 by default, sorted by `Timestamp` ascending. Genesys
//! documents no default and no maximum `pageSize` for realtime (its API reference gives
//! `pageSize` as a plain int32; only the results operation says "The maximum page size is
//! 500"), so none is enforced here: 500 is the results operation's maximum and what peers
//! (Cortex XSOAR's Genesys integration) send. A page too large (`400
//! response.entity.too.large`, or over the client's body cap) halves the page size for the
//! rest of the walk, and at the smallest size gives up `expand=user`
//! (`genesys/page_shape.rs`); since page numbers belong to a page size, the pass then asks
//! again from its high-water mark, from page 1, skipping what it emitted. Its
//! checkpoint is the same high-water mark as the historical stream's, and a resumed pass
//! re-queries from it inclusively. Genesys only answers for the last 14 days: a window (or a
//! checkpoint) that starts earlier is **clamped**, with a `tracing` warning naming what is
//! left out, to 14 days before now plus 5 minutes (so the vendor's own moving boundary cannot
//! shift the pages under a pass). For anything older, and for services the realtime mapping
//! does not list, use the historical stream ([`super::AuditEvents`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use genesys_raw::types::{self, AuditLogMessage};
use raw_support::Recorded;

use super::page_shape::PageShape;
use super::query::{
    AuditFilter, check_interval, floor_ms, interval, pass_until, sort_by_timestamp,
};
use super::{GenesysClient, mapping};
use crate::SortOrder;
use crate::checkpoint::{Checkpoint, Edge};
use crate::error::Error;
use crate::event::{AuditEvent, Source, StreamKind};
use crate::paginate::{EventPage, EventPages, EventStream, PageSizePolicy, PageSource};
use crate::retry::Operation;
use crate::selection::{Selection, StreamFilter};
use crate::walk::{self, Passes};
use crate::window::{StreamOptions, Window};

const REALTIME: Operation = Operation::read("realtime_query");
const RELATED: Operation = Operation::read("related_audits");
const MAPPING: Operation = Operation::read("service_mapping");
const REALTIME_MAPPING: Operation = Operation::read("realtime_service_mapping");
const STREAM: &str = "genesys-realtime";

/// How far back realtime queries reach.
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
/// use audit_core::genesys::RealtimeQuery;
/// use audit_core::genesys::realtime::REALTIME_DAYS;
/// use chrono::{Duration, Utc};
///
/// let now = Utc::now();
/// let answer = client.realtime_query(&RealtimeQuery::new(now - Duration::days(REALTIME_DAYS), now)).await?;
/// assert!(!answer.entities.is_empty());
/// # Ok(())
/// # }
/// ```
pub const REALTIME_DAYS: i64 = 14;
/// The realtime stream's default page size.
///
/// ```
/// use audit_core::genesys::realtime::DEFAULT_REALTIME_PAGE_SIZE;
///
/// assert_eq!(DEFAULT_REALTIME_PAGE_SIZE, 500);
/// ```
pub const DEFAULT_REALTIME_PAGE_SIZE: u32 = 500;
/// How far inside the 14 days a clamped realtime stream starts.
const CLAMP_MARGIN: TimeDelta = TimeDelta::minutes(5);

/// A realtime audit query (`AuditRealtimeQueryRequest` and its `expand` parameter).
///
/// ```
/// use chrono::{Duration, Utc};
/// use audit_core::genesys::{AuditFilter, RealtimeQuery, SortOrder};
///
/// let query = RealtimeQuery::new(Utc::now() - Duration::days(1), Utc::now())
///     .service("Architect")
///     .filter(AuditFilter::Action("Publish".into()))
///     .sort(SortOrder::Ascending)
///     .page(1, 500)
///     .expand_user(true);
/// assert_eq!(query.page_size, Some(500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealtimeQuery {
    /// The start, inclusive (at most 14 days ago: older records are not returned).
    pub start: DateTime<Utc>,
    /// The end, exclusive.
    pub end: DateTime<Utc>,
    /// `serviceName` (the values the realtime service mapping lists); `None` for all.
    pub service_name: Option<String>,
    /// Filters, all of which must match.
    pub filters: Vec<AuditFilter>,
    /// The order by `Timestamp`.
    pub sort: Option<SortOrder>,
    /// `pageNumber`, from 1.
    pub page_number: Option<u32>,
    /// `pageSize`, from 1 (Genesys documents no maximum).
    pub page_size: Option<u32>,
    /// `expand=user`.
    pub expand_user: bool,
}

impl RealtimeQuery {
    /// A query of `[start, end)` over every realtime service.
    ///
    /// ```
    /// use audit_core::genesys::RealtimeQuery;
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let query = RealtimeQuery::new(now - Duration::hours(1), now);
    /// assert_eq!((query.page_number, query.page_size), (None, None));
    /// ```
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        RealtimeQuery {
            start,
            end,
            service_name: None,
            filters: Vec::new(),
            sort: None,
            page_number: None,
            page_size: None,
            expand_user: false,
        }
    }

    /// Only the service `name`.
    ///
    /// ```
    /// use audit_core::genesys::RealtimeQuery;
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let query = RealtimeQuery::new(now - Duration::hours(1), now).service("Directory");
    /// assert_eq!(query.service_name.as_deref(), Some("Directory"));
    /// ```
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Adds a filter.
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
    /// use audit_core::genesys::{AuditFilter, RealtimeQuery};
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let query = RealtimeQuery::new(now - Duration::days(13), now).filter(AuditFilter::Action("Update".into()));
    /// let answer = client.realtime_query(&query).await?;
    /// assert!(answer.entities.iter().all(|record| record.action.as_deref() == Some("Update")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn filter(mut self, filter: AuditFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Sorts by `Timestamp`.
    ///
    /// ```
    /// use audit_core::genesys::{RealtimeQuery, SortOrder};
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let query = RealtimeQuery::new(now - Duration::hours(1), now).sort(SortOrder::Ascending);
    /// assert_eq!(query.sort, Some(SortOrder::Ascending));
    /// ```
    pub fn sort(mut self, order: SortOrder) -> Self {
        self.sort = Some(order);
        self
    }

    /// `pageNumber` (from 1) and `pageSize` (from 1).
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
    /// use audit_core::genesys::RealtimeQuery;
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// let second = RealtimeQuery::new(now - Duration::days(13), now).page(2, 10);
    /// let answer = client.realtime_query(&second).await?;
    /// assert_eq!(answer.page_number, Some(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn page(mut self, number: u32, size: u32) -> Self {
        self.page_number = Some(number);
        self.page_size = Some(size);
        self
    }

    /// `expand=user`.
    ///
    /// ```
    /// use audit_core::genesys::RealtimeQuery;
    /// use chrono::{Duration, Utc};
    ///
    /// let now = Utc::now();
    /// assert!(RealtimeQuery::new(now - Duration::hours(1), now).expand_user(true).expand_user);
    /// ```
    pub fn expand_user(mut self, expand: bool) -> Self {
        self.expand_user = expand;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        check_interval(REALTIME.name, self.start, self.end, None)?;
        let invalid = |message: String| Error::InvalidRequest {
            operation: REALTIME.name,
            message,
        };
        if self.page_number == Some(0) {
            return Err(invalid("`pageNumber` starts at 1".into()));
        }
        if self.page_size == Some(0) {
            return Err(invalid("`pageSize` starts at 1".into()));
        }
        Ok(())
    }

    fn to_raw(&self) -> types::AuditRealtimeQueryRequest {
        types::AuditRealtimeQueryRequest {
            interval: interval(self.start, self.end),
            service_name: self.service_name.clone(),
            filters: self.filters.iter().map(AuditFilter::to_raw).collect(),
            sort: self.sort.map(sort_by_timestamp).into_iter().collect(),
            page_number: self.page_number.map(|n| n as i32),
            page_size: self.page_size.map(|n| n as i32),
        }
    }
}

/// A related-audits query (`AuditRealtimeRelatedRequest`): every record produced by the same
/// action as the audit `audit_id`.
///
/// ```
/// use audit_core::genesys::{RelatedQuery, SortOrder};
///
/// let query = RelatedQuery::new("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b")
///     .sort(SortOrder::Ascending)
///     .expand_user(true);
/// assert!(query.trustor_org_id.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelatedQuery {
    /// The audit whose related audits to read.
    pub audit_id: String,
    /// The trustor organisation, for audits of a trustee's user within it.
    pub trustor_org_id: Option<String>,
    /// The order by `Timestamp`.
    pub sort: Option<SortOrder>,
    /// `expand=user`.
    pub expand_user: bool,
}

impl RelatedQuery {
    /// The related audits of `audit_id`.
    ///
    /// ```
    /// use audit_core::genesys::RelatedQuery;
    ///
    /// let query = RelatedQuery::new("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b");
    /// assert_eq!(query.audit_id, "0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b");
    /// ```
    pub fn new(audit_id: impl Into<String>) -> Self {
        RelatedQuery {
            audit_id: audit_id.into(),
            trustor_org_id: None,
            sort: None,
            expand_user: false,
        }
    }

    /// Within the trustor organisation `org_id`.
    ///
    /// ```
    /// use audit_core::genesys::RelatedQuery;
    ///
    /// let query = RelatedQuery::new("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b").trustor_org("7c9d");
    /// assert_eq!(query.trustor_org_id.as_deref(), Some("7c9d"));
    /// ```
    pub fn trustor_org(mut self, org_id: impl Into<String>) -> Self {
        self.trustor_org_id = Some(org_id.into());
        self
    }

    /// Sorts by `Timestamp`.
    ///
    /// ```
    /// use audit_core::genesys::{RelatedQuery, SortOrder};
    ///
    /// let query = RelatedQuery::new("0f8e1c2a").sort(SortOrder::Descending);
    /// assert_eq!(query.sort, Some(SortOrder::Descending));
    /// ```
    pub fn sort(mut self, order: SortOrder) -> Self {
        self.sort = Some(order);
        self
    }

    /// `expand=user`.
    ///
    /// ```
    /// use audit_core::genesys::RelatedQuery;
    ///
    /// assert!(RelatedQuery::new("0f8e1c2a").expand_user(true).expand_user);
    /// ```
    pub fn expand_user(mut self, expand: bool) -> Self {
        self.expand_user = expand;
        self
    }
}

fn expand(user: bool) -> Option<Vec<types::AuditExpand>> {
    user.then(|| vec![types::AuditExpand::User])
}

impl GenesysClient {
    /// One page of a realtime query (`postAuditsQueryRealtime`): records of the last 14 days,
    /// of the services the realtime mapping lists.
    ///
    /// ```no_run
    /// use audit_core::genesys::{RealtimeQuery, SortOrder};
    /// use chrono::{Duration, Utc};
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let query = RealtimeQuery::new(Utc::now() - Duration::hours(6), Utc::now())
    ///     .sort(SortOrder::Ascending)
    ///     .page(1, 500);
    /// let page = client.realtime_query(&query).await?;
    /// println!("{} of {:?} records, {:?} pages", page.entities.len(), page.total, page.page_count);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn realtime_query(
        &self,
        query: &RealtimeQuery,
    ) -> Result<types::AuditRealtimeQueryResultsResponse, Error> {
        query.validate()?;
        let body = query.to_raw();
        let expand = expand(query.expand_user);
        let response = self
            .call(REALTIME, |raw| {
                let body = body.clone();
                let expand = expand.clone();
                async move {
                    let mut builder = raw.post_audits_query_realtime().body(body);
                    if let Some(expand) = expand {
                        builder = builder.expand(expand);
                    }
                    builder.send().await
                }
            })
            .await?;
        Ok(response.into_inner())
    }

    /// Every record produced by the same action as one audit
    /// (`postAuditsQueryRealtimeRelated`), the audit itself included.
    ///
    /// ```no_run
    /// use audit_core::genesys::RelatedQuery;
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let related = client
    ///     .related_audits(&RelatedQuery::new("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b").expand_user(true))
    ///     .await?;
    /// for record in &related {
    ///     println!("{:?} {:?} {:?}", record.event_date, record.action, record.entity_type);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn related_audits(
        &self,
        query: &RelatedQuery,
    ) -> Result<Vec<Recorded<AuditLogMessage>>, Error> {
        if query.audit_id.trim().is_empty() {
            return Err(Error::InvalidRequest {
                operation: RELATED.name,
                message: "the audit id is empty".into(),
            });
        }
        let body = types::AuditRealtimeRelatedRequest {
            audit_id: query.audit_id.trim().to_string(),
            trustor_org_id: query.trustor_org_id.clone(),
            sort: query.sort.map(sort_by_timestamp).into_iter().collect(),
        };
        let expand = expand(query.expand_user);
        let response = self
            .call(RELATED, |raw| {
                let body = body.clone();
                let expand = expand.clone();
                async move {
                    let mut builder = raw.post_audits_query_realtime_related().body(body);
                    if let Some(expand) = expand {
                        builder = builder.expand(expand);
                    }
                    builder.send().await
                }
            })
            .await?;
        Ok(response.into_inner().entities)
    }

    /// The related audits of one audit, as events of the realtime stream.
    ///
    /// ```no_run
    /// use audit_core::genesys::RelatedQuery;
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let events = client.related_events(&RelatedQuery::new("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b")).await?;
    /// for event in &events {
    ///     println!("{} {:?}", event.action, event.target);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn related_events(&self, query: &RelatedQuery) -> Result<Vec<AuditEvent>, Error> {
        let records = self.related_audits(query).await?;
        Ok(records
            .iter()
            .map(|r| mapping::audit_event(self.tenant(), StreamKind::GenesysRealtime, r))
            .collect())
    }

    /// The services, entity types and actions historical queries accept
    /// (`getAuditsQueryServicemapping`).
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let mapping = client.service_mapping().await?;
    /// for service in &mapping.services {
    ///     println!("{:?}: {} entity types", service.name, service.entities.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn service_mapping(&self) -> Result<types::AuditQueryServiceMapping, Error> {
        let response = self
            .call(MAPPING, |raw| async move {
                raw.get_audits_query_servicemapping().send().await
            })
            .await?;
        Ok(response.into_inner())
    }

    /// The services, entity types and actions realtime queries cover
    /// (`getAuditsQueryRealtimeServicemapping`).
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let realtime = client.realtime_service_mapping().await?;
    /// let names: Vec<_> = realtime.services.iter().filter_map(|s| s.name.as_deref()).collect();
    /// println!("realtime covers {}", names.join(", "));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn realtime_service_mapping(&self) -> Result<types::AuditQueryServiceMapping, Error> {
        let response = self
            .call(REALTIME_MAPPING, |raw| async move {
                raw.get_audits_query_realtime_servicemapping().send().await
            })
            .await?;
        Ok(response.into_inner())
    }

    /// The realtime audit trail over `window` (at most the last 14 days; see the module docs),
    /// oldest first, as a stream of pages of events with checkpoints.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use audit_core::Window;
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let since = chrono::Utc::now() - chrono::Duration::hours(1);
    /// let mut pages = client
    ///     .realtime_events(Window::since(since))
    ///     .service("Architect")
    ///     .follow(Duration::from_secs(60))
    ///     .pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} events; resume from {}", page.events.len(), page.checkpoint.to_json());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn realtime_events(&self, window: Window) -> RealtimeEvents {
        RealtimeEvents {
            client: self.clone(),
            options: StreamOptions::new(window),
            service: None,
            filters: Vec::new(),
            expand_user: true,
            page_size: DEFAULT_REALTIME_PAGE_SIZE,
            high_water: Edge::default(),
            resumed: None,
        }
    }
}

/// The realtime event stream, before it starts: set its options, then call
/// [`RealtimeEvents::pages`] or [`RealtimeEvents::events`].
///
/// ```no_run
/// use std::time::Duration;
/// use audit_core::Checkpoint;
/// use audit_core::genesys::AuditFilter;
///
/// # async fn example(client: audit_core::genesys::GenesysClient, saved: String) -> Result<(), audit_core::Error> {
/// let checkpoint = Checkpoint::from_json(&saved)?;
/// let events = client
///     .realtime_events(checkpoint.window)
///     .filter(AuditFilter::EntityType("Flow".into()))
///     .expand_user(true)
///     .page_size(200)
///     .resume(checkpoint)?
///     .events();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RealtimeEvents {
    client: GenesysClient,
    options: StreamOptions,
    service: Option<String>,
    filters: Vec<AuditFilter>,
    expand_user: bool,
    page_size: u32,
    high_water: Edge,
    /// The filters of the checkpoint resumed from, checked when the stream starts (the
    /// filters may be set after `resume`).
    resumed: Option<Selection>,
}

impl RealtimeEvents {
    pub(crate) fn with_options(
        client: GenesysClient,
        options: StreamOptions,
    ) -> Result<Self, Error> {
        let resume = options.resume.clone();
        let mut events = client.realtime_events(options.window);
        if let StreamFilter::Genesys { service, filters } = &options.filter {
            events.service = service.clone();
            events.filters = filters.clone();
        }
        events.options = StreamOptions {
            resume: None,
            filter: StreamFilter::All,
            ..options
        };
        match resume {
            Some(checkpoint) => events.resume(checkpoint),
            None => Ok(events),
        }
    }

    fn source(&self) -> Source {
        Source::new(StreamKind::GenesysRealtime, self.client.tenant())
    }

    /// Only the service `name`.
    ///
    /// ```
    /// use audit_core::Window;
    /// use chrono::Utc;
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .region("mypurecloud.ie").client_credentials("id", "secret").tenant("acme").build()?;
    ///
    /// let events = client.realtime_events(Window::since(Utc::now())).service("PeoplePermissions");
    /// assert_eq!(events.checkpoint().selection.to_string(), "service=PeoplePermissions");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service = Some(name.into());
        self
    }

    /// Adds a filter; every filter must match.
    ///
    /// ```
    /// use audit_core::Window;
    /// use audit_core::genesys::AuditFilter;
    /// use chrono::Utc;
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .region("mypurecloud.ie").client_credentials("id", "secret").tenant("acme").build()?;
    ///
    /// let events = client.realtime_events(Window::since(Utc::now()))
    ///     .filter(AuditFilter::EntityType("Role".into()))
    ///     .filter(AuditFilter::Action("Delete".into()));
    /// assert_eq!(events.checkpoint().selection.to_string(), "Action=Delete; EntityType=Role");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn filter(mut self, filter: AuditFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// `expand=user`: the acting user's name in each record (default on: SIEMs look for
    /// `actor.name`).
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
    /// use audit_core::{ActorKind, Window};
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// // Without the users' names: smaller pages, when only their ids matter.
    /// let events: Vec<_> = client.realtime_events(Window::since(Utc::now() - Duration::days(13)))
    ///     .expand_user(false)
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// let users = events.iter().filter(|event| event.actor.kind == ActorKind::User);
    /// assert!(users.clone().count() > 0 && users.clone().all(|event| event.actor.name.is_none()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn expand_user(mut self, expand: bool) -> Self {
        self.expand_user = expand;
        self
    }

    /// The page size, from 1 (default 500); it halves when a page is too large.
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
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.realtime_events(Window::since(Utc::now() - Duration::days(13)))
    ///     .page_size(20)
    ///     .pages();
    /// assert!(pages.try_next().await?.unwrap().events.len() <= 20);
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size;
        self
    }

    /// How far behind now an open window ends (default 30 s).
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
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let events: Vec<_> = client.realtime_events(Window::since(Utc::now() - Duration::days(13)))
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
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// // A follower never ends: it reads what arrives, every minute, for as long as it is polled.
    /// let mut pages = client.realtime_events(Window::since(Utc::now() - Duration::days(13)))
    ///     .follow(std::time::Duration::from_secs(60))
    ///     .pages();
    /// let first = pages.try_next().await?.unwrap();
    /// assert!(!first.events.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn follow(mut self, poll_interval: Duration) -> Self {
        self.options.follow = Some(poll_interval);
        self
    }

    /// Continues from `checkpoint` (taken from this stream, this tenant): with its window,
    /// from its high-water mark. The stream must have the service and filters the
    /// checkpoint was taken with (checked when it starts).
    ///
    /// ```
    /// use audit_core::{Checkpoint, Position, Source, StreamKind, Window};
    /// use chrono::Utc;
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .region("mypurecloud.ie").client_credentials("id", "secret").tenant("acme").build()?;
    ///
    /// let window = Window::since(Utc::now());
    /// let saved = client.realtime_events(window).checkpoint().to_json();
    /// assert!(client.realtime_events(window).resume(Checkpoint::from_json(&saved)?).is_ok());
    /// // Another stream's checkpoint is refused.
    /// let other = Checkpoint::new(Source::new(StreamKind::GenesysAudits, "acme"), window, Position::Start);
    /// assert!(client.realtime_events(window).resume(other).is_err());
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn resume(mut self, checkpoint: Checkpoint) -> Result<Self, Error> {
        checkpoint.expect_source(&self.source())?;
        self.high_water = Edge::from_high_water(checkpoint.position, STREAM)?;
        self.options.window = checkpoint.window;
        self.resumed = Some(checkpoint.selection);
        Ok(self)
    }

    /// The records the stream's service and filters select, as its checkpoints record them.
    fn selection(&self) -> Selection {
        StreamFilter::Genesys {
            service: self.service.clone(),
            filters: self.filters.clone(),
        }
        .selection()
    }

    /// The checkpoint of the stream's starting point.
    ///
    /// ```
    /// use audit_core::{Position, StreamKind, Window};
    /// use chrono::Utc;
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .region("mypurecloud.ie").client_credentials("id", "secret").tenant("acme").build()?;
    ///
    /// let checkpoint = client.realtime_events(Window::since(Utc::now())).checkpoint();
    /// assert_eq!(checkpoint.source.stream, StreamKind::GenesysRealtime);
    /// assert_eq!(checkpoint.position, Position::Start);
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
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .api_base_url(sim.genesys_api_url())
    /// #     .login_base_url(sim.genesys_login_url())
    /// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    /// #     .tenant("acme")
    /// #     .build()?;
    /// use audit_core::Window;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.realtime_events(Window::since(Utc::now() - Duration::days(13))).pages();
    /// let mut last = None;
    /// while let Some(page) = pages.try_next().await? {
    ///     last = Some(page.checkpoint); // store it with the page's events
    /// }
    /// assert!(matches!(last.unwrap().position, audit_core::Position::HighWater { .. }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages(self) -> EventPages {
        let selection = self.selection();
        let resumed = self.resumed.as_ref();
        if let Err(error) =
            Selection::check_resumed(resumed, StreamKind::GenesysRealtime, &selection)
        {
            return EventPages::failed(error);
        }
        if self.page_size == 0 {
            return EventPages::failed(Error::InvalidConfig(
                "the realtime page size starts at 1".into(),
            ));
        }
        let size = self.page_size;
        let follow = self.options.follow;
        EventPages::from_source(RealtimeSource {
            source: self.source(),
            selection,
            shape: PageShape::new(PageSizePolicy::new(size, size.min(10), size)),
            settings: self,
            pass: None,
            passes: Passes::new(follow),
        })
    }

    /// The stream of events.
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
    /// use audit_core::{AuditEvent, Window};
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let events: Vec<AuditEvent> = client
    ///     .audit_events(Window::since(Utc::now() - Duration::days(13)))
    ///     .events()
    ///     .try_collect()
    ///     .await?;
    /// assert!(events.windows(2).all(|w| w[0].occurred_at <= w[1].occurred_at)); // oldest first
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(self) -> EventStream {
        self.pages().events()
    }
}

struct RealtimePass {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    page_number: u32,
    /// Records the pass's pages held so far.
    received: u64,
    /// The current page contradicted the pages before it and is being asked for again.
    confirming: bool,
}

/// What a realtime page says about the pages after it.
#[derive(Debug, PartialEq)]
enum PageEnd {
    More,
    Last,
    /// An empty page where the vendor's own counts promise more.
    Contradicts(String),
}

/// Where a realtime pass stands after `answer` (page `pass.page_number`, the pass having
/// received `received` records with it): the last page is the one whose number reaches
/// `pageCount`; without a page count, the one that completes `total`, else the first empty
/// page. The page size asked for is not a guide: vendors have served their own. No page
/// within the page count is empty (the last one holds the remainder), so an empty one
/// contradicts the count.
fn pass_end(
    answer: &types::AuditRealtimeQueryResultsResponse,
    pass: &RealtimePass,
    received: u64,
) -> PageEnd {
    let empty = answer.entities.is_empty();
    let number = i64::from(pass.page_number);
    match (answer.page_count, answer.total) {
        (Some(count), _) if empty && number <= i64::from(count) => PageEnd::Contradicts(format!(
            "page {number} of a realtime query was empty, though its `pageCount` is {count}"
        )),
        (Some(count), _) if number >= i64::from(count) => PageEnd::Last,
        (Some(_), _) => PageEnd::More,
        (None, Some(total)) if received >= total.max(0) as u64 => PageEnd::Last,
        (None, Some(total)) if empty => PageEnd::Contradicts(format!(
            "page {} of a realtime query was empty after {received} of its `total` of {total} \
             records",
            pass.page_number
        )),
        (None, _) if empty => PageEnd::Last,
        (None, _) => PageEnd::More,
    }
}

struct RealtimeSource {
    settings: RealtimeEvents,
    source: Source,
    /// What the stream's service and filters select, recorded in every page's checkpoint.
    selection: Selection,
    /// The page size and `expand` of the walk; never grows back, as page numbers belong to a
    /// page size.
    shape: PageShape,
    pass: Option<RealtimePass>,
    passes: Passes,
}

impl RealtimeSource {
    fn start_pass(&self) -> Option<RealtimePass> {
        let options = &self.settings.options;
        let now = Utc::now();
        let until = pass_until(options, now);
        let since = floor_ms(options.window.since);
        let mut from = match self.settings.high_water.at() {
            Some(at) => floor_ms(at).max(since),
            None => since,
        };
        let reach = floor_ms(now - TimeDelta::days(REALTIME_DAYS));
        if from < reach {
            let clamped = reach + CLAMP_MARGIN;
            tracing::warn!(
                stream = STREAM,
                requested = %from,
                reads_from = %clamped,
                "realtime queries reach back 14 days only: records before `reads_from` are \
                 not read; use the genesys-audits stream for them"
            );
            from = clamped;
        }
        if from > until {
            return None;
        }
        tracing::debug!(stream = STREAM, %from, %until, "starting a pass");
        Some(RealtimePass {
            from,
            until,
            page_number: 1,
            received: 0,
            confirming: false,
        })
    }
}

impl PageSource for RealtimeSource {
    async fn next_page(&mut self) -> Result<Option<EventPage>, Error> {
        loop {
            if self.pass.is_none() {
                if !self.passes.another().await {
                    return Ok(None);
                }
                match self.start_pass() {
                    Some(pass) => {
                        // The pass's query starts at the high-water mark: what it reads
                        // before the mark again was exported already.
                        self.settings.high_water.reread();
                        self.pass = Some(pass);
                    }
                    None => continue,
                }
            }
            let pass = self.pass.as_mut().expect("a pass is running");
            let settings = &self.settings;
            let expanding = self.shape.expand(settings.expand_user);
            let mut query = RealtimeQuery::new(pass.from, pass.until + TimeDelta::milliseconds(1))
                .sort(SortOrder::Ascending)
                .page(pass.page_number, self.shape.size())
                .expand_user(expanding);
            query.service_name = settings.service.clone();
            query.filters = settings.filters.clone();
            let answer = match settings.client.realtime_query(&query).await {
                Ok(answer) => answer,
                Err(error) => {
                    if self.shape.smaller_after(&error, expanding).is_none() {
                        return Err(error);
                    }
                    // Page n of one size is not page n of another: ask again from the
                    // high-water mark, from page 1, skipping what was emitted.
                    self.pass = self.start_pass();
                    self.settings.high_water.reread();
                    continue;
                }
            };
            let received = answer.entities.len();
            let caught_up = match pass_end(&answer, pass, pass.received + received as u64) {
                PageEnd::More => false,
                PageEnd::Last => true,
                PageEnd::Contradicts(message) => {
                    if pass.confirming {
                        return Err(Error::Inconsistent {
                            operation: REALTIME.name,
                            message,
                        });
                    }
                    // Asked for again before it is believed.
                    tracing::info!(stream = STREAM, %message, "asking for the page again");
                    pass.confirming = true;
                    continue;
                }
            };
            pass.received += received as u64;
            let since = settings.options.window.since;
            let tenant = Arc::<str>::from(settings.client.tenant());
            let events = answer.entities.into_iter().map(|record| {
                mapping::audit_event_owned(&tenant, StreamKind::GenesysRealtime, record)
            });
            let admitted = walk::admit(
                &mut self.settings.high_water,
                pass.from,
                events,
                |at| walk::between(at, since.max(pass.from), pass.until),
                self.settings.client.stats_counter(),
            );
            pass.confirming = false;
            pass.page_number += 1;
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

    fn answer(
        records: usize,
        page_count: Option<i32>,
        total: Option<i64>,
    ) -> types::AuditRealtimeQueryResultsResponse {
        let entities = (0..records)
            .map(|i| serde_json::from_str(&format!(r#"{{"id":"r{i}"}}"#)).unwrap())
            .collect();
        types::AuditRealtimeQueryResultsResponse {
            entities,
            page_count,
            page_number: None,
            page_size: None,
            total,
        }
    }

    fn pass(page_number: u32) -> RealtimePass {
        RealtimePass {
            from: DateTime::<Utc>::UNIX_EPOCH,
            until: DateTime::<Utc>::UNIX_EPOCH,
            page_number,
            received: 0,
            confirming: false,
        }
    }

    #[test]
    fn the_page_count_says_which_page_is_last() {
        assert_eq!(
            pass_end(&answer(25, Some(3), None), &pass(2), 50),
            PageEnd::More
        );
        assert_eq!(
            pass_end(&answer(10, Some(3), None), &pass(3), 60),
            PageEnd::Last
        );
        assert_eq!(
            pass_end(&answer(0, Some(0), None), &pass(1), 0),
            PageEnd::Last
        );
        assert!(matches!(
            pass_end(&answer(0, Some(3), None), &pass(2), 25),
            PageEnd::Contradicts(_)
        ));
        // The last page by the count, but empty: the count says it holds the remainder.
        assert!(matches!(
            pass_end(&answer(0, Some(3), None), &pass(3), 50),
            PageEnd::Contradicts(_)
        ));
    }

    #[test]
    fn without_a_page_count_a_short_page_is_not_the_end() {
        // The vendor served 25 where 500 were asked for, and no `pageCount`.
        assert_eq!(
            pass_end(&answer(25, None, None), &pass(1), 25),
            PageEnd::More
        );
        assert_eq!(
            pass_end(&answer(0, None, None), &pass(4), 75),
            PageEnd::Last
        );
        // `total` ends the pass without asking for an empty page.
        assert_eq!(
            pass_end(&answer(25, None, Some(75)), &pass(3), 75),
            PageEnd::Last
        );
        assert_eq!(
            pass_end(&answer(25, None, Some(75)), &pass(2), 50),
            PageEnd::More
        );
        assert!(matches!(
            pass_end(&answer(0, None, Some(75)), &pass(2), 25),
            PageEnd::Contradicts(_)
        ));
    }
}
