//! The Genesys Cloud facade: [`GenesysClient`], OAuth client credentials, typed access to the
//! seven audit operations, and streams of [`crate::AuditEvent`]s over historical and realtime
//! audit queries.
//!
//! ```
//! use audit_core::genesys::GenesysClient;
//! use audit_core::Window;
//! use chrono::{Duration, Utc};
//! use futures::TryStreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // Runs against the built-in simulator of Genesys Cloud.
//! # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
//! # let acme = sim.tenant_credentials("acme").unwrap();
//! let client = GenesysClient::builder()
//!     .api_base_url(sim.genesys_api_url()) // for the real service: .region("mypurecloud.ie")
//!     .login_base_url(sim.genesys_login_url())
//!     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
//!     .tenant("acme")
//!     .build()?;
//! // 40 days: two historical queries of at most 30 days, one after the other.
//! let mut pages = client.audit_events(Window::since(Utc::now() - Duration::days(40))).pages();
//! let mut exported = 0;
//! while let Some(page) = pages.try_next().await? {
//!     for event in &page.events {
//!         println!("{}", serde_json::to_string(event)?);
//!     }
//!     exported += page.events.len();
//!     // Store page.checkpoint together with the events to resume exactly once.
//! }
//! assert!(exported > 0);
//! # Ok(())
//! # }
//! ```
//!
//! - **Regions and hosts**: [`GenesysClientBuilder::region`] takes any region of
//!   [`Region::ALL`] by name (`eu-west-1`, `eu_west_1`), domain (`mypurecloud.ie`) or host;
//!   or give the API and login base URLs (`https`, or `http` on loopback). With only an API
//!   URL, the login host is derived by the `api.` → `login.` rule.
//! - **Authentication** ([`auth`]): OAuth client credentials, one cached token shared by all
//!   calls, refreshed shortly before it expires and once after a 401; refused credentials
//!   fail once, clearly, and are not asked again.
//! - **Historical queries** ([`query`]): [`GenesysClient::audit_events`] (and the typed
//!   operations around `POST /api/v2/audits/query`).
//! - **Realtime queries, related audits, service mappings** ([`realtime`]).
//! - **Rate limits and errors** ([`rules`]): 429s wait `Retry-After`, or the `[N]` seconds
//!   of the message; pacing follows `inin-ratelimit-*`; errors carry the
//!   `inin-correlation-id`; 401/403 access errors name the permission `audits:audit:view`
//!   and the scope `audits:readonly`.
//! - **Mapping** ([`mapping`]): `AuditLogMessage` → `AuditEvent`.

pub mod auth;
pub mod mapping;
pub(crate) mod page_shape;
pub mod query;
pub mod realtime;
pub mod regions;
pub mod rules;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The generated low-level Genesys Cloud client ([`GenesysClient::raw`]): every operation of
/// `specs/genesys.yaml`, unpaced and without retries.
pub use genesys_raw::Client as RawClient;
/// The Genesys Cloud wire types the typed operations return (`types::AuditLogMessage`,
/// `types::AuditQueryExecutionStatusResponse`, …), generated from `specs/genesys.yaml`:
/// re-exported so a caller needs no other crate to name them.
pub use genesys_raw::types;
use progenitor_client::{Error as RawError, ResponseValue};
use secrecy::SecretString;

pub use crate::sort::SortOrder;
pub use auth::ClientCredentials;
pub use query::{
    AuditEvents, AuditFilter, AuditQuery, PollPolicy, QueryState, ResultsPage, ResultsRequest,
    SubmittedQuery, interval,
};
pub use realtime::{RealtimeEvents, RealtimeQuery, RelatedQuery};
pub use regions::Region;
pub use rules::{InInRateLimitHeaders, retry_after_in_message};

use crate::error::Error;
use crate::event::StreamKind;
use crate::http::{BaseUrl, HttpConfig, build_plain_client};
use crate::oauth::Authorized;
use crate::pacing::{Pacer, PacingConfig};
use crate::paginate::{EventPages, PageSizePolicy};
use crate::retry::{Operation, Retrier, RetryPolicy};
use crate::stats::{Stats, StatsSnapshot};
use crate::window::StreamOptions;
use auth::{Session, TokenProvider};
use rules::GenesysRules;

const ORGANIZATION: Operation = Operation::read("organization");

/// The shortest request timeout of downloads of result files.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// A Genesys Cloud client for the audit APIs: cheap to clone (an `Arc` inside); every stream
/// holds its own clone, and all clones share one token, one pacer, one retry policy and one
/// historical query at a time.
///
/// ```
/// use audit_core::genesys::GenesysClient;
///
/// let client = GenesysClient::builder()
///     .region("usw2.pure.cloud")
///     .client_credentials("6a1b2c3d-0000-1111-2222-333344445555", "Yq7-SECRET-secret")
///     .build()
///     .unwrap();
/// assert_eq!(client.api_base_url().as_str(), "https://api.usw2.pure.cloud");
/// assert_eq!(client.login_base_url().as_str(), "https://login.usw2.pure.cloud");
/// assert_eq!(client.tenant(), "6a1b2c3d-0000-1111-2222-333344445555", "the client id by default");
/// assert!(!format!("{client:?}").contains("SECRET"));
/// ```
#[derive(Clone)]
pub struct GenesysClient {
    inner: Arc<Inner>,
}

struct Inner {
    api: BaseUrl,
    login: BaseUrl,
    region: Option<Region>,
    tenant: String,
    client_id: String,
    auth: TokenProvider,
    retrier: Retrier,
    download: reqwest::Client,
    poll: PollPolicy,
    page_size: PageSizePolicy,
    query_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for GenesysClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysClient")
            .field("api_base_url", &self.inner.api.as_str())
            .field("login_base_url", &self.inner.login.as_str())
            .field("region", &self.inner.region.map(|r| r.name))
            .field("tenant", &self.inner.tenant)
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

/// Builds a [`GenesysClient`].
///
/// ```
/// use std::time::Duration;
/// use audit_core::genesys::{GenesysClient, PollPolicy};
/// use audit_core::{PacingConfig, RetryPolicy};
///
/// let client = GenesysClient::builder()
///     .api_base_url("http://127.0.0.1:8080")
///     .login_base_url("http://127.0.0.1:8081")
///     .client_credentials("6a1b2c3d-0000-1111-2222-333344445555", "Yq7-secret")
///     .tenant("acme")
///     .request_timeout(Some(Duration::from_secs(30)))
///     .retry_policy(RetryPolicy::default().with_max_attempts(4))
///     .pacing(PacingConfig::default().with_requests_per_minute(250))
///     .query_polling(PollPolicy::default().with_timeout(Duration::from_secs(1800)))
///     .build()
///     .unwrap();
/// assert_eq!(client.tenant(), "acme");
/// ```
#[derive(Debug, Default)]
pub struct GenesysClientBuilder {
    region: Option<String>,
    api_base_url: Option<String>,
    login_base_url: Option<String>,
    credentials: Option<ClientCredentials>,
    tenant: Option<String>,
    http: HttpConfig,
    retry: RetryPolicy,
    pacing: PacingConfig,
    poll: PollPolicy,
    page_size: Option<PageSizePolicy>,
    /// Another client's pacer, to spend its budget.
    shared_pacer: Option<Arc<Pacer>>,
}

impl GenesysClientBuilder {
    /// The organisation's region: a name (`eu-west-1` or `eu_west_1`), a domain
    /// (`mypurecloud.ie`) or one of its hosts (`app.mypurecloud.ie`, the web app's address).
    /// See [`Region::ALL`].
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder()
    ///     .region("app.mypurecloud.ie") // as the web app's address bar shows it
    ///     .client_credentials("6a1b2c3d-0000-1111-2222-333344445555", "secret")
    ///     .build()?;
    /// assert_eq!(client.api_base_url().as_str(), "https://api.mypurecloud.ie");
    /// assert_eq!(client.region().unwrap().name, "eu-west-1");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The API base URL instead of a region (a proxy, a simulator on loopback). `https` is
    /// required except on loopback hosts. The login URL defaults to this one with `api.`
    /// replaced by `login.`.
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder()
    ///     .api_base_url("https://api.mypurecloud.de")
    ///     .client_credentials("6a1b2c3d-0000-1111-2222-333344445555", "secret")
    ///     .build()?;
    /// assert_eq!(client.login_base_url().as_str(), "https://login.mypurecloud.de");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn api_base_url(mut self, url: impl Into<String>) -> Self {
        self.api_base_url = Some(url.into());
        self
    }

    /// The login base URL, where tokens come from (`https://login.<domain>`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder()
    ///     .api_base_url(sim.genesys_api_url())
    ///     .login_base_url(sim.genesys_login_url())
    ///     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    ///     .build()?;
    /// assert_eq!(client.organization().await?.id, acme.genesys_org_id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn login_base_url(mut self, url: impl Into<String>) -> Self {
        self.login_base_url = Some(url.into());
        self
    }

    /// The OAuth client (Client Credentials grant) to authenticate as. Its role needs the
    /// permission `audits:audit:view`; a client created with a scope list needs
    /// `audits:readonly`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder()
    ///     .api_base_url(sim.genesys_api_url())
    ///     .login_base_url(sim.genesys_login_url())
    ///     .client_credentials(acme.genesys_client_id, "not-the-secret")
    ///     .build()?;
    /// let refused = client.organization().await.unwrap_err();
    /// assert!(refused.is_auth(), "{refused}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<SecretString>,
    ) -> Self {
        self.credentials = Some(ClientCredentials::new(client_id, secret));
        self
    }

    /// The credentials as a value.
    ///
    /// ```
    /// use audit_core::genesys::{ClientCredentials, GenesysClient};
    ///
    /// let credentials = ClientCredentials::new("6a1b2c3d-0000-1111-2222-333344445555", "secret");
    /// let client = GenesysClient::builder().region("eu-central-1").credentials(credentials).build()?;
    /// assert_eq!(client.client_id(), "6a1b2c3d-0000-1111-2222-333344445555");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn credentials(mut self, credentials: ClientCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The tenant named in event ids and checkpoints: the organisation's name or id. Defaults
    /// to the OAuth client id; the organisation's id ([`GenesysClient::organization`]) is
    /// better, as it survives the rotation of the OAuth client.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let builder = || GenesysClient::builder()
    ///     .api_base_url(sim.genesys_api_url())
    ///     .login_base_url(sim.genesys_login_url())
    ///     .client_credentials(acme.genesys_client_id.clone(), acme.genesys_client_secret.clone());
    /// // Name the tenant after the organisation, not the OAuth client.
    /// let organization = builder().build()?.organization().await?;
    /// let client = builder().tenant(organization.id.to_string()).build()?;
    /// assert_eq!(client.tenant(), acme.genesys_org_id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Every HTTP setting at once ([`HttpConfig`]: timeouts, user agent, body cap, proxy and
    /// other network settings).
    ///
    /// ```
    /// use audit_core::HttpConfig;
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let http = HttpConfig::default().with_user_agent("acme-siem-sync/2.1");
    /// let client = GenesysClient::builder()
    ///     .region("mypurecloud.com")
    ///     .client_credentials("6a1b2c3d-0000-1111-2222-333344445555", "secret")
    ///     .http(http)
    ///     .build()?;
    /// assert_eq!(client.region().unwrap().name, "us-east-1");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// Time allowed to open a connection (`None`: no limit).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::genesys::GenesysClient;
    /// use std::time::Duration;
    ///
    /// let client = GenesysClient::builder()
    ///     .api_base_url(sim.genesys_api_url())
    ///     .login_base_url(sim.genesys_login_url())
    ///     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    ///     .connect_timeout(Some(Duration::from_secs(2)))
    ///     .build()?;
    /// assert!(!client.service_mapping().await?.services.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.http = self.http.with_connect_timeout(timeout);
        self
    }

    /// Time allowed per request, body included (`None`: no limit). Downloads of result files
    /// get at least 5 minutes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::genesys::GenesysClient;
    /// use std::time::Duration;
    ///
    /// let client = GenesysClient::builder()
    ///     .api_base_url(sim.genesys_api_url())
    ///     .login_base_url(sim.genesys_login_url())
    ///     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    ///     .request_timeout(Some(Duration::from_secs(30)))
    ///     .build()?;
    /// assert!(!client.realtime_service_mapping().await?.services.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.http = self.http.with_request_timeout(timeout);
        self
    }

    /// The `User-Agent` header.
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    /// use wiremock::{Mock, MockServer, ResponseTemplate, matchers::header};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A login server that answers 418 only to requests naming the integration.
    /// let server = MockServer::start().await;
    /// Mock::given(header("user-agent", "acme-siem-sync/2.1"))
    ///     .respond_with(ResponseTemplate::new(418))
    ///     .mount(&server)
    ///     .await;
    /// let client = GenesysClient::builder()
    ///     .api_base_url(server.uri())
    ///     .login_base_url(server.uri())
    ///     .client_credentials("6a1b2c3d-0000-1111-2222-333344445555", "secret")
    ///     .user_agent("acme-siem-sync/2.1")
    ///     .build()?;
    /// assert_eq!(client.organization().await.unwrap_err().status(), Some(418));
    /// # Ok(())
    /// # }
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.http = self.http.with_user_agent(user_agent);
        self
    }

    /// How failed calls are retried ([`RetryPolicy::none`] turns retries off).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::RetryPolicy;
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder()
    ///     .api_base_url(sim.genesys_api_url())
    ///     .login_base_url(sim.genesys_login_url())
    ///     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    ///     .retry_policy(RetryPolicy::none())
    ///     .build()?;
    /// client.organization().await?;
    /// assert_eq!(client.stats().retries, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Client-side pacing ([`PacingConfig::off`] turns it off). Genesys allows 300 requests
    /// a minute per OAuth client by default.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    /// use audit_core::genesys::GenesysClient;
    ///
    /// // Share the OAuth client's 300 requests a minute with another integration.
    /// let client = GenesysClient::builder()
    ///     .region("mypurecloud.com")
    ///     .client_credentials("6a1b2c3d-0000-1111-2222-333344445555", "secret")
    ///     .pacing(PacingConfig::default().with_requests_per_minute(150))
    ///     .build()?;
    /// assert_eq!(client.tenant(), "6a1b2c3d-0000-1111-2222-333344445555");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn pacing(mut self, pacing: PacingConfig) -> Self {
        self.pacing = pacing;
        self
    }

    /// Spends the rate budget of `other` instead of one of its own: both clients go through
    /// one pacer (the `inin-ratelimit-*` headers, 429 pauses, the cap and the share of
    /// [`PacingConfig`]), as every stream of one client does. For two clients of one
    /// organisation's OAuth client, whose limit Genesys counts once; the
    /// [`GenesysClientBuilder::pacing`] of this builder is then not used.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let first = GenesysClient::builder()
    ///     .region("mypurecloud.com")
    ///     .client_credentials("6a1b2c3d-0000-1111-2222-333344445555", "secret")
    ///     .pacing(PacingConfig::default().with_rate_share(0.5)?)
    ///     .build()?;
    /// let second = GenesysClient::builder()
    ///     .region("mypurecloud.com")
    ///     .client_credentials("6a1b2c3d-0000-1111-2222-333344445555", "secret")
    ///     .pacing_shared_with(&first)
    ///     .build()?;
    /// assert_eq!(second.stats().requests, 0);
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn pacing_shared_with(mut self, other: &GenesysClient) -> Self {
        self.shared_pacer = Some(Arc::clone(other.inner.retrier.pacer()));
        self
    }

    /// How historical queries are polled, and how long they may run.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::genesys::{AuditQuery, GenesysClient, PollPolicy, QueryState};
    /// use chrono::{Duration, Utc};
    /// use std::time::Duration as Wait;
    ///
    /// let client = GenesysClient::builder()
    ///     .api_base_url(sim.genesys_api_url())
    ///     .login_base_url(sim.genesys_login_url())
    ///     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    ///     .query_polling(PollPolicy::default().with_delays(Wait::from_millis(50), Wait::from_secs(1)))
    ///     .build()?;
    /// let now = Utc::now();
    /// let done = client.run_audit_query(&AuditQuery::new(now - Duration::days(1), now)).await?;
    /// assert_eq!(QueryState::of(&done), QueryState::Succeeded);
    /// # Ok(())
    /// # }
    /// ```
    pub fn query_polling(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// The adaptive page size of historical results (default: start at 500, halve down to
    /// 10 when Genesys says a page is too large, grow back after 5 pages; at most 500).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::{PageSizePolicy, StreamKind, StreamOptions, Window};
    /// use audit_core::genesys::GenesysClient;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let client = GenesysClient::builder()
    ///     .api_base_url(sim.genesys_api_url())
    ///     .login_base_url(sim.genesys_login_url())
    ///     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
    ///     .results_page_size(PageSizePolicy::fixed(25))
    ///     .build()?;
    /// let options = StreamOptions::new(Window::since(Utc::now() - Duration::days(10)));
    /// let mut pages = client.event_pages(StreamKind::GenesysAudits, options)?;
    /// assert!(pages.try_next().await?.unwrap().events.len() <= 25);
    /// # Ok(())
    /// # }
    /// ```
    pub fn results_page_size(mut self, policy: PageSizePolicy) -> Self {
        self.page_size = Some(policy);
        self
    }

    fn base_urls(&self) -> Result<(BaseUrl, BaseUrl, Option<Region>), Error> {
        match (&self.region, &self.api_base_url) {
            (Some(_), Some(_)) => Err(Error::InvalidConfig(
                "set either a region or an API base URL, not both".into(),
            )),
            (Some(name), None) => {
                let region = Region::find(name).ok_or_else(|| {
                    let names: Vec<&str> = Region::ALL.iter().map(|r| r.name).collect();
                    Error::InvalidConfig(format!(
                        "`{}` is not a Genesys Cloud region; use one of {} (or its domain, \
                         such as `mypurecloud.com`), or set `.api_base_url(..)`",
                        name.trim(),
                        names.join(", ")
                    ))
                })?;
                let api = BaseUrl::parse(&region.api_base_url())?;
                let login = match &self.login_base_url {
                    Some(url) => BaseUrl::parse(url)?,
                    None => BaseUrl::parse(&region.login_base_url())?,
                };
                Ok((api, login, Some(region)))
            }
            (None, Some(url)) => {
                let api = BaseUrl::parse(url)?;
                let login = match &self.login_base_url {
                    Some(url) => BaseUrl::parse(url)?,
                    None => derive_login(&api)?,
                };
                let region = Region::find(api.host());
                Ok((api, login, region))
            }
            (None, None) => Err(Error::InvalidConfig(
                "no Genesys Cloud organisation: call `.region(\"mypurecloud.com\")` or \
                 `.api_base_url(..)`"
                    .into(),
            )),
        }
    }

    /// Validates the configuration and builds the client. Nothing is requested yet: the
    /// first call fetches the first token.
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let unknown = GenesysClient::builder().region("mars-1").client_credentials("id", "s").build();
    /// let message = unknown.unwrap_err().to_string();
    /// assert!(message.contains("`mars-1` is not a Genesys Cloud region"), "{message}");
    /// ```
    pub fn build(self) -> Result<GenesysClient, Error> {
        let (api, login, region) = self.base_urls()?;
        let credentials = self.credentials.clone().ok_or_else(|| {
            Error::InvalidConfig(
                "no credentials: call `.client_credentials(client_id, client_secret)`".into(),
            )
        })?;
        credentials.validate()?;
        let tenant = self
            .tenant
            .as_deref()
            .map(str::trim)
            .unwrap_or(credentials.client_id())
            .to_string();
        if tenant.is_empty() || tenant.contains(':') {
            return Err(Error::InvalidConfig(format!(
                "the tenant `{tenant}` must be non-empty and must not contain `:` (it is part of \
                 event ids)"
            )));
        }
        let rules = GenesysRules {
            login_host: login.host().to_string(),
        };
        let client_id = credentials.client_id().to_string();
        let auth = auth::token_provider(
            credentials,
            &login,
            api.clone(),
            self.http.clone(),
            rules.clone(),
        )?;
        let download = build_plain_client(&self.http, DOWNLOAD_TIMEOUT)?;
        let stats = Arc::new(Stats::default());
        let pacer = self
            .shared_pacer
            .unwrap_or_else(|| Arc::new(Pacer::new(self.pacing, Box::new(InInRateLimitHeaders))));
        let retrier = Retrier::new(
            self.retry,
            pacer,
            stats,
            Box::new(rules),
            self.http.max_body_bytes(),
            api.host().to_string(),
            self.http.request_timeout(),
        );
        let page_size = self
            .page_size
            .unwrap_or(PageSizePolicy::new(
                query::MAX_PAGE_SIZE,
                10,
                query::MAX_PAGE_SIZE,
            ))
            .clamped(query::MAX_PAGE_SIZE);
        Ok(GenesysClient {
            inner: Arc::new(Inner {
                api,
                login,
                region,
                tenant,
                client_id,
                auth,
                retrier,
                download,
                poll: self.poll,
                page_size,
                query_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// The login base URL of an API base URL: `api.` → `login.` in the host.
fn derive_login(api: &BaseUrl) -> Result<BaseUrl, Error> {
    let host = api.host();
    let Some(domain) = host.strip_prefix("api.") else {
        return Err(Error::InvalidConfig(format!(
            "cannot derive the login URL from the API host `{host}` (it does not start with \
             `api.`): set `.login_base_url(..)`"
        )));
    };
    let mut url = url::Url::parse(api.as_str())
        .map_err(|e| Error::InvalidConfig(format!("the API base URL: {e}")))?;
    url.set_host(Some(&format!("login.{domain}")))
        .map_err(|e| Error::InvalidConfig(format!("the derived login host: {e}")))?;
    BaseUrl::parse(url.as_str())
}

impl GenesysClient {
    /// Starts a builder.
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder().region("mypurecloud.jp").client_credentials("id", "s").build()?;
    /// assert_eq!(client.api_base_url().as_str(), "https://api.mypurecloud.jp");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn builder() -> GenesysClientBuilder {
        GenesysClientBuilder::default()
    }

    /// The API base URL (`https://api.<domain>`).
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder().region("eu-west-2").client_credentials("id", "s").build()?;
    /// assert_eq!(client.api_base_url().host(), "api.euw2.pure.cloud");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn api_base_url(&self) -> &BaseUrl {
        &self.inner.api
    }

    /// The login base URL (`https://login.<domain>`).
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder().region("eu-west-2").client_credentials("id", "s").build()?;
    /// assert_eq!(client.login_base_url().host(), "login.euw2.pure.cloud");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn login_base_url(&self) -> &BaseUrl {
        &self.inner.login
    }

    /// The region, when the API host is one of [`Region::ALL`].
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder().api_base_url("https://api.mypurecloud.de")
    ///     .client_credentials("id", "s").build()?;
    /// assert_eq!(client.region().map(|r| r.name), Some("eu-central-1"));
    /// let proxied = GenesysClient::builder().api_base_url("https://genesys-proxy.acme.test")
    ///     .login_base_url("https://login.mypurecloud.de").client_credentials("id", "s").build()?;
    /// assert_eq!(proxied.region(), None);
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn region(&self) -> Option<Region> {
        self.inner.region
    }

    /// The tenant named in event ids and checkpoints.
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder().region("mypurecloud.ie").client_credentials("id", "s")
    ///     .tenant("acme").build()?;
    /// assert_eq!(client.tenant(), "acme");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn tenant(&self) -> &str {
        &self.inner.tenant
    }

    /// The OAuth client id.
    ///
    /// ```
    /// use audit_core::genesys::GenesysClient;
    ///
    /// let client = GenesysClient::builder().region("mypurecloud.ie")
    ///     .client_credentials(" 6a1b2c3d-0000-1111-2222-333344445555 ", "s").build()?;
    /// assert_eq!(client.client_id(), "6a1b2c3d-0000-1111-2222-333344445555"); // trimmed
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The organisation of the OAuth client (`getOrganizationsMe`). Its `id` is the stable
    /// name of the organisation: a good [`tenant`](GenesysClientBuilder::tenant), which then
    /// survives the rotation of the OAuth client.
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let organization = client.organization().await?;
    /// println!("{} ({})", organization.name.as_deref().unwrap_or("?"), organization.id);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn organization(&self) -> Result<types::Organization, Error> {
        let response = self
            .call(ORGANIZATION, |raw| async move {
                raw.get_organizations_me().send().await
            })
            .await?;
        Ok(response.into_inner())
    }

    /// The client's counters: requests (token requests included), pages, records, retries,
    /// waits.
    ///
    /// ```
    /// # let client = audit_core::genesys::GenesysClient::builder()
    /// #     .region("mypurecloud.com").client_credentials("id", "secret").build().unwrap();
    /// let stats = client.stats();
    /// println!("{} requests, {:?} waited on rate limits", stats.requests, stats.waited_on_rate_limits());
    /// ```
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.retrier.stats().snapshot()
    }

    /// The generated client underneath, with a valid token, for calls without retries,
    /// pacing or mapping. Fetches a token when there is none; hold it briefly (it stops
    /// working when the token expires).
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let raw = client.raw().await?;
    /// let mapping = raw.get_audits_query_servicemapping().send().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn raw(&self) -> Result<Arc<RawClient>, Error> {
        Ok(Arc::clone(&self.session().await?.session.raw))
    }

    async fn session(&self) -> Result<Arc<Authorized<Session>>, Error> {
        self.inner.auth.session(&self.inner.retrier).await
    }

    pub(crate) fn retrier(&self) -> &Retrier {
        &self.inner.retrier
    }

    pub(crate) fn stats_counter(&self) -> &Stats {
        self.inner.retrier.stats()
    }

    pub(crate) fn download_http(&self) -> &reqwest::Client {
        &self.inner.download
    }

    pub(crate) fn poll_policy(&self) -> PollPolicy {
        self.inner.poll
    }

    pub(crate) fn page_size_policy(&self) -> PageSizePolicy {
        self.inner.page_size
    }

    pub(crate) fn query_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.inner.query_lock
    }

    /// Sends a generated operation through the retry layer with the current token. A 401
    /// replaces the token once and sends the call again; if the fresh token is refused too,
    /// that is retried with backoff like a server error (same token), within the retry policy.
    pub(crate) async fn call<X, F, Fut>(
        &self,
        operation: Operation,
        attempt: F,
    ) -> Result<ResponseValue<X>, Error>
    where
        F: Fn(Arc<genesys_raw::Client>) -> Fut,
        Fut: Future<Output = Result<ResponseValue<X>, RawError<types::ErrorBody>>>,
    {
        self.call_checked(operation, attempt, |_| Ok(())).await
    }

    /// Like [`GenesysClient::call`], and also retries a response `check` rejects.
    pub(crate) async fn call_checked<X, F, Fut, C>(
        &self,
        operation: Operation,
        attempt: F,
        mut check: C,
    ) -> Result<ResponseValue<X>, Error>
    where
        F: Fn(Arc<genesys_raw::Client>) -> Fut,
        Fut: Future<Output = Result<ResponseValue<X>, RawError<types::ErrorBody>>>,
        C: FnMut(&X) -> Result<(), Error>,
    {
        let inner = &self.inner;
        let session = self.session().await?;
        let raw = Arc::clone(&session.session.raw);
        let result = inner
            .retrier
            .send_checked(operation, || attempt(Arc::clone(&raw)), &mut check)
            .await;
        let Err(Error::Api { status: 401, .. }) = result else {
            return result;
        };
        // The token was refused (expired early, revoked, or a glitch): replace it, once. A
        // refusal of the fresh token is then retried with backoff within the retry policy,
        // with that token: no second token request, and a lasting refusal still ends.
        let session = inner.auth.renew(&session, &inner.retrier).await?;
        let raw = Arc::clone(&session.session.raw);
        inner
            .retrier
            .send_checked(
                operation.with_unauthorized_retried(),
                || attempt(Arc::clone(&raw)),
                &mut check,
            )
            .await
    }

    /// The page stream of `stream` with `options`: what the CLI uses to export any Genesys
    /// stream by name. Fails on a Zendesk stream, or on a checkpoint of another stream.
    ///
    /// ```no_run
    /// use audit_core::{StreamKind, StreamOptions, Window};
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::genesys::GenesysClient) -> Result<(), audit_core::Error> {
    /// let options = StreamOptions::new(Window::since(chrono::Utc::now() - chrono::Duration::days(45)));
    /// let mut pages = client.event_pages(StreamKind::GenesysAudits, options)?;
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} events", page.events.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn event_pages(
        &self,
        stream: StreamKind,
        options: StreamOptions,
    ) -> Result<EventPages, Error> {
        options.filter.check(stream)?;
        if options.slicing.is_some() {
            let client = self.clone();
            return crate::slicing::sliced_pages(
                stream,
                options,
                self.tenant(),
                Arc::new(move |options| client.event_pages(stream, options)),
                self.inner.retrier.budget(),
            );
        }
        match stream {
            StreamKind::GenesysAudits => {
                Ok(AuditEvents::with_options(self.clone(), options)?.pages())
            }
            StreamKind::GenesysRealtime => {
                Ok(RealtimeEvents::with_options(self.clone(), options)?.pages())
            }
            other => Err(Error::InvalidConfig(format!(
                "`{other}` is not a Genesys stream; use the Zendesk client for it"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> GenesysClientBuilder {
        GenesysClient::builder().client_credentials("client-1", "hunter2-secret")
    }

    #[test]
    fn every_region_of_the_table_builds() {
        for region in Region::ALL {
            for query in [region.name, region.domain] {
                let client = builder().region(query).build().unwrap();
                assert_eq!(
                    client.api_base_url().host(),
                    format!("api.{}", region.domain)
                );
                assert_eq!(
                    client.login_base_url().host(),
                    format!("login.{}", region.domain)
                );
                assert_eq!(client.region(), Some(*region));
            }
        }
        let error = builder().region("eu-west-9").build().unwrap_err();
        assert!(error.to_string().contains("eu-west-1"), "{error}");
    }

    #[test]
    fn the_login_host_derives_from_the_api_host() {
        let client = builder()
            .api_base_url("https://api.mypurecloud.de")
            .build()
            .unwrap();
        assert_eq!(
            client.login_base_url().as_str(),
            "https://login.mypurecloud.de"
        );
        assert_eq!(client.region().map(|r| r.name), Some("eu-central-1"));
        let error = builder()
            .api_base_url("http://127.0.0.1:8080")
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("login_base_url"), "{error}");
        assert!(
            builder()
                .api_base_url("http://api.example.com")
                .build()
                .is_err(),
            "plain http only on loopback"
        );
        assert!(
            builder()
                .region("mypurecloud.com")
                .api_base_url("https://api.mypurecloud.com")
                .build()
                .is_err()
        );
    }

    #[test]
    fn credentials_and_tenant_are_checked_without_echoing_the_secret() {
        let error = GenesysClient::builder()
            .region("mypurecloud.com")
            .client_credentials("client-1", " ")
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("secret is empty"), "{error}");
        let error = GenesysClient::builder()
            .region("mypurecloud.com")
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("client_credentials"), "{error}");
        let error = builder()
            .region("mypurecloud.com")
            .tenant("a:b")
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("`:`"));
        let builder = builder().region("mypurecloud.com");
        assert!(!format!("{builder:?}").contains("hunter2"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("hunter2"));
        assert_eq!(client.tenant(), "client-1");
    }
}
