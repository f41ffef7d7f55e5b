//! The Zendesk facade: [`ZendeskClient`], typed access to the eight audit operations, and
//! streams of [`crate::AuditEvent`]s over ticket audits and audit logs.
//!
//! ```
//! use audit_core::zendesk::ZendeskClient;
//! use audit_core::Window;
//! use chrono::{Duration, Utc};
//! use futures::TryStreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // Runs against the built-in simulator of Zendesk.
//! # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
//! # let token = sim.tenant_credentials("acme").unwrap().zendesk_api_token;
//! let client = ZendeskClient::builder()
//!     .base_url(sim.zendesk_url()) // for the real service: .subdomain("acme")
//!     .tenant("acme")
//!     .api_token("admin@acme.example", token)
//!     .build()?;
//! let mut pages = client.audit_log_events(Window::since(Utc::now() - Duration::days(7))).pages();
//! while let Some(page) = pages.try_next().await? {
//!     for event in &page.events {
//!         assert_eq!(event.source.tenant, "acme");
//!         println!("{}", serde_json::to_string(event)?);
//!     }
//!     // Store page.checkpoint together with the events to resume exactly once.
//! }
//! # Ok(())
//! # }
//! ```

mod audit_gist;
pub mod audit_logs;
mod audit_pages;
pub mod auth;
pub mod authorize;
pub mod description;
pub mod events;
pub mod export;
pub mod mapping;
mod skim;
pub mod ticket_audits;
pub mod ticket_events;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use progenitor_client::{Error as RawError, ResponseValue};
use raw_support::Recorded;
use regex::Regex;
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::SecretString;
use serde_json::Value;
/// The generated low-level Zendesk client ([`ZendeskClient::raw`]): every operation of
/// `specs/zendesk.yaml`, unpaced and without retries.
pub use zendesk_raw::Client as RawClient;
/// The Zendesk wire types the typed operations return (`types::TicketAudit`,
/// `types::AuditLog`, …), generated from `specs/zendesk.yaml`: re-exported so a caller needs
/// no other crate to name them.
pub use zendesk_raw::types;

pub use crate::sort::SortOrder;
pub use audit_logs::{AuditLogEvents, AuditLogFilter, AuditLogQuery};
pub use auth::ZendeskAuth;
pub use authorize::{Pkce, pkce_challenge};
pub use events::TicketEvent;
pub use export::ExportReceipt;
pub use ticket_audits::{
    AuditsForTicketEvents, AuditsForTicketQuery, TicketAuditEvents, TicketAuditsQuery,
};
pub use ticket_events::TicketEventStream;

use crate::checkpoint::PageToken;
use crate::error::{Error, ErrorBody, VendorDetail};
use crate::event::StreamKind;
use crate::http::{BaseUrl, HttpConfig, build_client};
use crate::oauth::{Authorized, Grant, TokenManager};
use crate::pacing::{NamedRateLimitHeaders, Pacer, PacingConfig};
use crate::paginate::{EventPages, PageSizePolicy};
use crate::retry::{Operation, Retrier, RetryPolicy, VendorRules};
use crate::stats::{Stats, StatsSnapshot};
use crate::window::StreamOptions;

/// Zendesk's account-wide rate-limit headers (`ratelimit-*` first, then `X-Rate-Limit*`).
///
/// ```
/// use audit_core::pacing::RateLimitHeaders;
/// use audit_core::zendesk::RATE_LIMIT_HEADERS;
/// use reqwest::header::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-rate-limit", HeaderValue::from_static("700"));
/// headers.insert("x-rate-limit-remaining", HeaderValue::from_static("12"));
/// let reading = RATE_LIMIT_HEADERS.read(&headers).unwrap();
/// assert_eq!((reading.limit, reading.remaining), (Some(700), Some(12)));
/// ```
pub const RATE_LIMIT_HEADERS: NamedRateLimitHeaders = NamedRateLimitHeaders {
    limit: &["ratelimit-limit", "x-rate-limit"],
    remaining: &["ratelimit-remaining", "x-rate-limit-remaining"],
    reset: &["ratelimit-reset"],
};

/// Operations of the audit-log API: they need the Enterprise plan and an admin.
const AUDIT_LOG_OPERATIONS: &[&str] = &["list_audit_logs", "show_audit_log", "export_audit_logs"];

/// Makes a ticket comment private (`make_ticket_comment_private_from_audits`): a write.
const MAKE_PRIVATE: Operation = Operation::write("make_ticket_comment_private");

static MISSING_SCOPES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)missing the following required scopes?:\s*(?P<scopes>.+?)\s*\.?\s*$")
        .expect("valid regex")
});

impl ErrorBody for types::ErrorResponse {
    fn detail(&self) -> VendorDetail {
        let text = |value: Option<&Value>| match value {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let mut error = match &self.error {
            Some(Value::Object(object)) => {
                text(object.get("title")).or_else(|| text(object.get("message")))
            }
            other => text(other.as_ref()),
        };
        let mut description = self.description.clone();
        if let Some(first) = self.errors.as_ref().and_then(|errors| errors.first()) {
            error = error
                .or_else(|| first.code.clone())
                .or_else(|| first.title.clone());
            description = description
                .or_else(|| first.detail.clone())
                .or_else(|| first.title.clone());
        }
        if description.is_none() {
            description = text(self.extra.get("message"));
        }
        VendorDetail::new(error, description)
    }
}

/// Zendesk's retry and error rules. The hints of 401s and 403s depend on how the client
/// authenticates.
#[derive(Debug, Clone)]
pub(crate) struct ZendeskRules {
    /// The authentication scheme ([`ZendeskAuth::scheme`]).
    scheme: &'static str,
    /// The host tokens are requested from.
    host: String,
    /// The scopes asked for, when configured.
    requested_scopes: Option<String>,
    /// The scopes of the current token, from the token's answer.
    granted: auth::GrantedScopes,
}

impl ZendeskRules {
    /// The scope an operation needs, for a 403 that does not say.
    fn needed_scope(operation: &str) -> &'static str {
        if AUDIT_LOG_OPERATIONS.contains(&operation) {
            "auditlogs:read"
        } else if operation == MAKE_PRIVATE.name {
            "write"
        } else {
            "read"
        }
    }

    fn token_hint(&self, status: u16, detail: &VendorDetail) -> String {
        match detail.error.as_deref() {
            Some("invalid_grant") => format!(
                "{} refused the refresh token (invalid_grant): it expired, was revoked, or was \
                 already used. Obtain a new one (`trail auth zendesk`), or set a new refresh \
                 token and remove the token store",
                self.host
            ),
            Some("invalid_scope") => format!(
                "{} refused the scopes `{}` (invalid_scope): ask only for scopes the OAuth \
                 client may have (`read`, `auditlogs:read`)",
                self.host,
                self.requested_scopes.as_deref().unwrap_or("(default)")
            ),
            _ if status == 401 => format!(
                "the OAuth client id or secret was not accepted by {} (invalid_client): check \
                 both, and that the client is a confidential OAuth client of this account",
                self.host
            ),
            _ => format!("{} refused the token request", self.host),
        }
    }
}

/// Zendesk's id of a request (`X-Zendesk-Request-Id`, else `X-Request-Id`), to quote to
/// Zendesk support.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-zendesk-request-id", "x-request-id"]
        .iter()
        .find_map(|name| Some(headers.get(*name)?.to_str().ok()?.to_string()))
}

impl VendorRules for ZendeskRules {
    fn correlation_id(&self, headers: &HeaderMap) -> Option<String> {
        request_id(headers)
    }

    fn api_error(&self, operation: &'static str, status: u16, detail: VendorDetail) -> Error {
        let audit_logs = AUDIT_LOG_OPERATIONS.contains(&operation);
        if operation == auth::TOKEN_OPERATION && matches!(status, 400 | 401) {
            let hint = Some(self.token_hint(status, &detail));
            return Error::Api {
                operation,
                status,
                detail: Box::new(detail),
                hint,
                waited: Duration::ZERO,
            };
        }
        if status == 403 {
            let oauth = self.scheme.contains("OAuth");
            let granted = self.granted.lock().expect("scopes lock").clone();
            let needed = Self::needed_scope(operation);
            // Zendesk's 403 rarely names the scope: name it from the token's granted scopes
            // (or the configured ones) when they lack what the operation needs.
            let lacks = |scopes: &str| {
                let has = |s: &str| scopes.split_whitespace().any(|x| x == s);
                match needed {
                    "auditlogs:read" => !has("auditlogs:read") && !has("read"),
                    other => !has(other),
                }
            };
            let known = granted.clone().or_else(|| self.requested_scopes.clone());
            let missing_scope = detail
                .description
                .as_deref()
                .and_then(|d| MISSING_SCOPES.captures(d))
                .map(|c| c["scopes"].to_string())
                .or_else(|| {
                    (oauth && known.as_deref().is_some_and(lacks)).then(|| needed.to_string())
                });
            let needs = if audit_logs {
                "Zendesk audit logs are only available on the Enterprise plan, to admins; OAuth \
                 tokens need the `auditlogs:read` (or global `read`) scope"
            } else if operation == "list_ticket_audits" {
                "listing the ticket audits of the whole account needs an admin; OAuth tokens need \
                 the global `read` scope (`tickets:read` is not accepted)"
            } else if operation == MAKE_PRIVATE.name {
                "making a comment private needs an agent with access to the ticket; OAuth tokens \
                 need the global `write` scope"
            } else {
                "ticket audits need an agent with access to the ticket; OAuth tokens need the \
                 global `read` scope (`tickets:read` is not accepted)"
            };
            let hint = match (&missing_scope, &known) {
                (Some(scope), Some(known)) => format!(
                    "the token's scopes `{known}` lack the OAuth scope `{scope}`: ask for it. \
                     ({needs})"
                ),
                (Some(scope), None) => format!(
                    "the token lacks the OAuth scope `{scope}`: issue a token with it. ({needs})"
                ),
                (None, _) => needs.to_string(),
            };
            return Error::AccessDenied {
                operation,
                status,
                detail: Box::new(detail),
                missing_scope,
                hint,
                waited: Duration::ZERO,
            };
        }
        let hint = match status {
            401 => Some(match self.scheme {
                "API token" => "the API token was not accepted: check the e-mail address and \
                     the token (sent as `{email}/token`). Zendesk deactivates API tokens unused \
                     for 30 days, and every API token on 2027-04-30: switch to OAuth client \
                     credentials"
                    .to_string(),
                "static OAuth access token" => "the OAuth access token was refused: it has \
                     probably expired (Zendesk access tokens now expire, after 30 minutes for new \
                     clients) or was revoked. Use OAuth client credentials (or a refresh token), \
                     which are renewed automatically"
                    .to_string(),
                _ => "a freshly issued OAuth access token was refused: check that the OAuth \
                     client belongs to this account"
                    .to_string(),
            }),
            404 if operation == "list_audit_logs" || operation == "export_audit_logs" => Some(
                "this account may not have audit logs: they need the Enterprise plan".to_string(),
            ),
            404 => Some("the ticket or record does not exist (or was deleted)".to_string()),
            429 => Some(
                "rate limited: the account's request budget is used up; allow retries or lower \
                 the request rate"
                    .to_string(),
            ),
            _ => None,
        };
        Error::Api {
            operation,
            status,
            detail: Box::new(detail),
            hint,
            waited: Duration::ZERO,
        }
    }
}

/// A Zendesk Support client for the audit APIs: cheap to clone (an `Arc` inside); every
/// stream holds its own clone.
///
/// Every call goes through one retry layer and one pacer per client (see [`RetryPolicy`]
/// and [`PacingConfig`]); [`ZendeskClient::stats`] counts requests, retries and waits.
///
/// ```
/// use audit_core::zendesk::ZendeskClient;
///
/// let client = ZendeskClient::builder()
///     .subdomain("acme")
///     .api_token("admin@acme.example", "6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv")
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url().as_str(), "https://acme.zendesk.com");
/// assert_eq!(client.tenant(), "acme");
/// assert!(!format!("{client:?}").contains("6wiIBWbG"));
/// ```
#[derive(Clone)]
pub struct ZendeskClient {
    inner: Arc<Inner>,
}

struct Inner {
    credentials: Credentials,
    base: BaseUrl,
    tenant: String,
    auth: String,
    retrier: Retrier,
    page_size: PageSizePolicy,
    export_gate: export::ExportGate,
    /// The incremental exports' own limit (10 requests a minute), paced apart from the
    /// account's budget.
    incremental: Arc<Pacer>,
    incremental_holdback: Duration,
}

impl fmt::Debug for ZendeskClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZendeskClient")
            .field("base_url", &self.inner.base.as_str())
            .field("tenant", &self.inner.tenant)
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ZendeskClient`].
///
/// ```
/// use std::time::Duration;
/// use audit_core::zendesk::ZendeskClient;
/// use audit_core::{PacingConfig, RetryPolicy};
///
/// let client = ZendeskClient::builder()
///     .base_url("http://127.0.0.1:8080")
///     .tenant("acme")
///     .oauth_token("gErypPlm4dOVgGRvA1ZzMH5MQ3nLo8bo")
///     .request_timeout(Some(Duration::from_secs(30)))
///     .user_agent("acme-siem-sync/2.1")
///     .retry_policy(RetryPolicy::default().with_max_attempts(4))
///     .pacing(PacingConfig::default().with_requests_per_minute(600))
///     .build()
///     .unwrap();
/// assert_eq!(client.tenant(), "acme");
/// ```
#[derive(Debug, Default)]
pub struct ZendeskClientBuilder {
    subdomain: Option<String>,
    base_url: Option<String>,
    tenant: Option<String>,
    auth: Option<ZendeskAuth>,
    http: HttpConfig,
    retry: RetryPolicy,
    pacing: PacingConfig,
    page_size: PageSizePolicy,
    incremental_rpm: Option<u32>,
    incremental_holdback: Option<Duration>,
    /// Another client's pacers (the account's, the incremental exports'), to spend its budget.
    shared_pacers: Option<(Arc<Pacer>, Arc<Pacer>)>,
}

impl ZendeskClientBuilder {
    /// The account's subdomain: `acme` for `https://acme.zendesk.com`. It is also the tenant.
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// let client = ZendeskClient::builder().subdomain("acme").oauth_token("token").build()?;
    /// assert_eq!(client.base_url().as_str(), "https://acme.zendesk.com");
    /// assert_eq!(client.tenant(), "acme");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn subdomain(mut self, subdomain: impl Into<String>) -> Self {
        self.subdomain = Some(subdomain.into());
        self
    }

    /// A base URL instead of a subdomain (a custom host, a proxy, a simulator on loopback).
    /// `https` is required except on loopback hosts.
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// let client = ZendeskClient::builder()
    ///     .base_url("https://support.acme.com")
    ///     .tenant("acme")
    ///     .oauth_token("token")
    ///     .build()?;
    /// assert_eq!(client.base_url().host(), "support.acme.com");
    /// // Plain http only on loopback:
    /// assert!(ZendeskClient::builder().base_url("http://support.acme.com").tenant("acme")
    ///     .oauth_token("token").build().is_err());
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The tenant named in event ids and checkpoints. Defaults to the subdomain, or to the
    /// first label of a `*.zendesk.com` base URL; required for other base URLs.
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// // Taken from the host when it is `*.zendesk.com` ...
    /// let client = ZendeskClient::builder().base_url("https://acme.zendesk.com").oauth_token("t").build()?;
    /// assert_eq!(client.tenant(), "acme");
    /// // ... and required for any other host.
    /// assert!(ZendeskClient::builder().base_url("http://127.0.0.1:8080").oauth_token("t").build().is_err());
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// API-token authentication (`{email}/token` and the token).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::zendesk::{AuditLogQuery, ZendeskClient};
    ///
    /// let client = ZendeskClient::builder()
    ///     .base_url(sim.zendesk_url())
    ///     .tenant("acme")
    ///     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    ///     .build()?;
    /// assert!(!client.list_audit_logs(&AuditLogQuery::default()).await?.audit_logs.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn api_token(mut self, email: impl Into<String>, token: impl Into<SecretString>) -> Self {
        self.auth = Some(ZendeskAuth::api_token(email, token));
        self
    }

    /// OAuth bearer authentication.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::zendesk::{TicketAuditsQuery, ZendeskClient};
    ///
    /// let client = ZendeskClient::builder()
    ///     .base_url(sim.zendesk_url())
    ///     .tenant("acme")
    ///     .oauth_token(acme.zendesk_oauth_token)
    ///     .build()?;
    /// assert!(!client.list_ticket_audits(&TicketAuditsQuery::default()).await?.audits.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn oauth_token(mut self, access_token: impl Into<SecretString>) -> Self {
        self.auth = Some(ZendeskAuth::oauth(access_token));
        self
    }

    /// Authentication as a value.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::zendesk::{AuditLogQuery, ZendeskAuth, ZendeskClient};
    ///
    /// // Tokens are fetched from `/oauth/tokens` when needed and renewed before they expire.
    /// let auth = ZendeskAuth::client_credentials(
    ///     acme.zendesk_client_id,
    ///     acme.zendesk_client_secret,
    ///     ["auditlogs:read"],
    /// );
    /// let client = ZendeskClient::builder().base_url(sim.zendesk_url()).tenant("acme").auth(auth).build()?;
    /// assert!(!client.list_audit_logs(&AuditLogQuery::default()).await?.audit_logs.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn auth(mut self, auth: ZendeskAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Every HTTP setting at once ([`HttpConfig`]: timeouts, user agent, body cap, proxy and
    /// other network settings).
    ///
    /// ```
    /// use audit_core::HttpConfig;
    /// use audit_core::zendesk::ZendeskClient;
    /// use std::time::Duration;
    ///
    /// let http = HttpConfig::default()
    ///     .with_user_agent("acme-siem-sync/2.1")
    ///     .with_request_timeout(Some(Duration::from_secs(120)));
    /// let client = ZendeskClient::builder().subdomain("acme").oauth_token("t").http(http).build()?;
    /// assert_eq!(client.tenant(), "acme");
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
    /// use audit_core::zendesk::{AuditLogQuery, ZendeskClient};
    /// use std::time::Duration;
    ///
    /// let client = ZendeskClient::builder()
    ///     .base_url(sim.zendesk_url())
    ///     .tenant("acme")
    ///     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    ///     .connect_timeout(Some(Duration::from_secs(2)))
    ///     .build()?;
    /// client.list_audit_logs(&AuditLogQuery::default()).await?;
    /// assert_eq!(client.stats().requests, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.http = self.http.with_connect_timeout(timeout);
        self
    }

    /// Time allowed per request, body included (`None`: no limit).
    ///
    /// ```
    /// use audit_core::{Error, RetryPolicy, TransportKind, zendesk::ZendeskClient};
    /// use std::time::Duration;
    /// use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = MockServer::start().await; // a server that takes 5 s to answer
    /// Mock::given(any())
    ///     .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
    ///     .mount(&server)
    ///     .await;
    /// let client = ZendeskClient::builder()
    ///     .base_url(server.uri())
    ///     .tenant("acme")
    ///     .oauth_token("token")
    ///     .request_timeout(Some(Duration::from_millis(200)))
    ///     .retry_policy(RetryPolicy::none())
    ///     .build()?;
    /// let error = client.show_audit_log(1).await.unwrap_err();
    /// assert!(matches!(error, Error::Transport { kind: TransportKind::Timeout, .. }), "{error}");
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
    /// use audit_core::zendesk::ZendeskClient;
    /// use wiremock::{Mock, MockServer, ResponseTemplate, matchers::header};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A server that answers 418 only to requests naming the integration.
    /// let server = MockServer::start().await;
    /// Mock::given(header("user-agent", "acme-siem-sync/2.1"))
    ///     .respond_with(ResponseTemplate::new(418))
    ///     .mount(&server)
    ///     .await;
    /// let client = ZendeskClient::builder()
    ///     .base_url(server.uri())
    ///     .tenant("acme")
    ///     .oauth_token("token")
    ///     .user_agent("acme-siem-sync/2.1")
    ///     .build()?;
    /// assert_eq!(client.show_audit_log(1).await.unwrap_err().status(), Some(418));
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
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// let client = ZendeskClient::builder()
    ///     .base_url(sim.zendesk_url())
    ///     .tenant("acme")
    ///     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    ///     .retry_policy(RetryPolicy::default().with_max_attempts(3))
    ///     .build()?;
    /// assert!(client.show_audit_log(1).await.unwrap_err().is_not_found()); // not retried
    /// assert_eq!(client.stats().retries, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Client-side pacing ([`PacingConfig::off`] turns it off).
    ///
    /// ```
    /// use audit_core::PacingConfig;
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// // Leave 100 requests a minute to the account's other integrations.
    /// let client = ZendeskClient::builder()
    ///     .subdomain("acme")
    ///     .oauth_token("token")
    ///     .pacing(PacingConfig::default().with_reserve(100))
    ///     .build()?;
    /// assert_eq!(client.stats().requests, 0);
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn pacing(mut self, pacing: PacingConfig) -> Self {
        self.pacing = pacing;
        self
    }

    /// Spends the rate budget of `other` instead of one of its own: both clients go through
    /// one pacer (the vendor's headers, 429 pauses, the cap and the share of
    /// [`PacingConfig`]) and one incremental-export pacer, as every stream of one client
    /// does. For two clients of one account (another scope, counters of their own); the
    /// [`ZendeskClientBuilder::pacing`] and
    /// [`ZendeskClientBuilder::incremental_requests_per_minute`] of this builder are then
    /// not used.
    ///
    /// ```
    /// use audit_core::PacingConfig;
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// // Two clients of acme, 300 requests a minute between them.
    /// let audit_logs = ZendeskClient::builder()
    ///     .subdomain("acme")
    ///     .oauth_token("token")
    ///     .pacing(PacingConfig::default().with_requests_per_minute(300))
    ///     .build()?;
    /// let tickets = ZendeskClient::builder()
    ///     .subdomain("acme")
    ///     .oauth_token("token")
    ///     .pacing_shared_with(&audit_logs)
    ///     .build()?;
    /// assert_eq!(tickets.stats().requests, 0);
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn pacing_shared_with(mut self, other: &ZendeskClient) -> Self {
        self.shared_pacers = Some((
            Arc::clone(other.inner.retrier.pacer()),
            Arc::clone(&other.inner.incremental),
        ));
        self
    }

    /// The adaptive page size of the ticket-audit stream (`/ticket_audits`, at most 1,000).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::{PageSizePolicy, StreamKind, StreamOptions, Window};
    /// use audit_core::zendesk::ZendeskClient;
    /// use chrono::{Duration, Utc};
    /// use futures::TryStreamExt;
    ///
    /// let client = ZendeskClient::builder()
    ///     .base_url(sim.zendesk_url())
    ///     .tenant("acme")
    ///     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    ///     .ticket_audit_page_size(PageSizePolicy::fixed(10))
    ///     .build()?;
    /// let options = StreamOptions::new(Window::since(Utc::now() - Duration::days(400)));
    /// let mut pages = client.event_pages(StreamKind::ZendeskTicketAudits, options)?;
    /// let first = pages.try_next().await?.unwrap();
    /// assert!(first.events.len() <= 10);
    /// # Ok(())
    /// # }
    /// ```
    pub fn ticket_audit_page_size(mut self, policy: PageSizePolicy) -> Self {
        self.page_size = policy;
        self
    }

    /// Requests a minute allowed on the incremental exports (`/api/v2/incremental/…`), which
    /// Zendesk limits apart from the account's budget: 10 by default
    /// ([`ticket_events::INCREMENTAL_REQUESTS_PER_MINUTE`]), more with the High Volume add-on.
    /// Requests are spaced to it instead of meeting 429s. `0` lifts the pacing.
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// let client = ZendeskClient::builder()
    ///     .subdomain("acme")
    ///     .oauth_token("token")
    ///     .incremental_requests_per_minute(30)
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn incremental_requests_per_minute(mut self, rpm: u32) -> Self {
        self.incremental_rpm = Some(rpm);
        self
    }

    /// How much of the present the incremental exports leave out (default
    /// [`ticket_events::INCREMENTAL_HOLDBACK`], the documented minute): a pass of
    /// `zendesk-ticket-events` reads up to now minus this and the settle lag. Only a proxy or
    /// a simulator that withholds another span needs it.
    pub fn incremental_holdback(mut self, holdback: Duration) -> Self {
        self.incremental_holdback = Some(holdback);
        self
    }

    /// Validates the configuration and builds the client.
    ///
    /// ```
    /// use audit_core::ErrorKind;
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// let client = ZendeskClient::builder().subdomain("acme").api_token("it@acme.test", "t").build()?;
    /// assert_eq!(client.tenant(), "acme");
    /// // What is missing or wrong is said at once.
    /// let error = ZendeskClient::builder().subdomain("acme").build().unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::Config);
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn build(self) -> Result<ZendeskClient, Error> {
        let base = match (&self.subdomain, &self.base_url) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidConfig(
                    "set either a subdomain or a base URL, not both".into(),
                ));
            }
            (Some(subdomain), None) => {
                let subdomain = subdomain.trim();
                let valid = !subdomain.is_empty()
                    && subdomain
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !valid {
                    return Err(Error::InvalidConfig(format!(
                        "`{subdomain}` is not a Zendesk subdomain: use the `acme` of \
                         `acme.zendesk.com` (letters, digits and `-`)"
                    )));
                }
                BaseUrl::parse(&format!(
                    "https://{}.zendesk.com",
                    subdomain.to_ascii_lowercase()
                ))?
            }
            (None, Some(base_url)) => BaseUrl::parse(base_url)?,
            (None, None) => {
                return Err(Error::InvalidConfig(
                    "no Zendesk account: call `.subdomain(\"acme\")` or `.base_url(..)`".into(),
                ));
            }
        };
        let tenant = match (&self.tenant, &self.subdomain) {
            (Some(tenant), _) => tenant.trim().to_string(),
            (None, Some(subdomain)) => subdomain.trim().to_ascii_lowercase(),
            (None, None) => {
                let host = base.host().to_ascii_lowercase();
                match host.strip_suffix(".zendesk.com") {
                    Some(subdomain) if !subdomain.is_empty() && !subdomain.contains('.') => {
                        subdomain.to_string()
                    }
                    _ => {
                        return Err(Error::InvalidConfig(format!(
                            "set `.tenant(..)`: the tenant names every event id and checkpoint, \
                             and cannot be derived from the host `{host}`"
                        )));
                    }
                }
            }
        };
        if tenant.is_empty() || tenant.contains(':') {
            return Err(Error::InvalidConfig(format!(
                "the tenant `{tenant}` must be non-empty and must not contain `:` (it is part of \
                 event ids)"
            )));
        }
        let auth = self.auth.ok_or_else(|| {
            Error::InvalidConfig(
                "no credentials: call `.api_token(email, token)` or `.oauth_token(token)`".into(),
            )
        })?;
        let static_header = auth.static_header()?;
        let granted = auth::GrantedScopes::default();
        let rules = ZendeskRules {
            scheme: auth.scheme(),
            host: base.host().to_string(),
            requested_scopes: match &auth {
                ZendeskAuth::ClientCredentials {
                    scopes: Some(scopes),
                    ..
                } => Some(scopes.join(" ")),
                _ => None,
            },
            granted: Arc::clone(&granted),
        };
        let session = {
            let (http, base) = (self.http.clone(), base.clone());
            move |bearer: Option<HeaderValue>| -> Result<Arc<Session>, Error> {
                let http = build_client(&http, bearer)?;
                Ok(Arc::new(Session {
                    raw: Arc::new(zendesk_raw::Client::new_with_client(
                        base.as_str(),
                        http.clone(),
                    )),
                    http,
                }))
            }
        };
        let endpoint = |client_id: &String, client_secret: &SecretString, scopes| {
            Ok::<_, Error>(auth::AccountTokenEndpoint {
                // No credentials on this client: the token request carries its own.
                raw: zendesk_raw::Client::new_with_client(
                    base.as_str(),
                    build_client(&self.http, None)?,
                ),
                client_id: client_id.trim().to_string(),
                client_secret: client_secret.clone(),
                scopes,
                granted: Arc::clone(&granted),
                rules: rules.clone(),
            })
        };
        let credentials = match (&auth, static_header) {
            (_, Some(header)) => {
                Credentials::Fixed(Arc::new(Authorized::fixed(session(Some(header))?)))
            }
            (
                ZendeskAuth::ClientCredentials {
                    client_id,
                    client_secret,
                    scopes,
                },
                None,
            ) => Credentials::Managed(TokenManager::new(
                endpoint(client_id, client_secret, scopes.clone())?,
                Grant::ClientCredentials,
                move |bearer| session(Some(bearer)),
            )),
            (
                ZendeskAuth::RefreshToken {
                    client_id,
                    client_secret,
                    refresh_token,
                    store,
                },
                None,
            ) => Credentials::Managed(TokenManager::new(
                endpoint(client_id, client_secret, None)?,
                Grant::RefreshToken {
                    initial: refresh_token.clone(),
                    store: store.clone(),
                },
                move |bearer| session(Some(bearer)),
            )),
            (_, None) => {
                return Err(Error::InvalidConfig(
                    "this authentication scheme has no header".into(),
                ));
            }
        };
        let stats = Arc::new(Stats::default());
        let (pacer, incremental) = self.shared_pacers.unwrap_or_else(|| {
            (
                Arc::new(Pacer::new(self.pacing, Box::new(RATE_LIMIT_HEADERS))),
                Arc::new(ticket_events::incremental_pacer(self.incremental_rpm)),
            )
        });
        let retrier = Retrier::new(
            self.retry,
            pacer,
            stats,
            Box::new(rules),
            self.http.max_body_bytes(),
            base.host().to_string(),
            self.http.request_timeout(),
        );
        Ok(ZendeskClient {
            inner: Arc::new(Inner {
                credentials,
                base,
                tenant,
                auth: auth.describe(),
                retrier,
                page_size: self.page_size.clamped(1000),
                export_gate: export::ExportGate::default(),
                incremental,
                incremental_holdback: self
                    .incremental_holdback
                    .unwrap_or(ticket_events::INCREMENTAL_HOLDBACK),
            }),
        })
    }
}

/// The API clients that send one credential: the generated client, and a plain
/// `reqwest::Client` for the vendor's `links.next` URLs. Both carry the `Authorization`
/// header as a sensitive default header and never follow redirects.
pub(crate) struct Session {
    pub(crate) raw: Arc<zendesk_raw::Client>,
    pub(crate) http: reqwest::Client,
}

/// A static credential (one session for the client's life) or a grant the token manager
/// renews.
enum Credentials {
    Fixed(Arc<Authorized<Arc<Session>>>),
    Managed(TokenManager<Arc<Session>>),
}

impl ZendeskClient {
    /// Starts a builder.
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// let client = ZendeskClient::builder().subdomain("acme").oauth_token("token").build()?;
    /// assert_eq!(client.base_url().as_str(), "https://acme.zendesk.com");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn builder() -> ZendeskClientBuilder {
        ZendeskClientBuilder::default()
    }

    /// The generated client underneath, with a valid credential, for calls without retries,
    /// pacing or mapping. With an OAuth grant it fetches a token when there is none; hold it
    /// briefly (it stops working when the token expires).
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let raw = client.raw().await?;
    /// let count = raw.count_audits_for_ticket().ticket_id(48213).send().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn raw(&self) -> Result<Arc<RawClient>, Error> {
        Ok(Arc::clone(&self.session().await?.session.raw))
    }

    async fn session(&self) -> Result<Arc<Authorized<Arc<Session>>>, Error> {
        match &self.inner.credentials {
            Credentials::Fixed(session) => Ok(Arc::clone(session)),
            Credentials::Managed(manager) => manager.session(&self.inner.retrier).await,
        }
    }

    /// Sends a call through the retry layer with the current credential. With an OAuth grant,
    /// a 401 replaces the token once and sends the call again; a refusal of the fresh token
    /// is then retried with backoff within the retry policy (same token), so it still ends.
    pub(crate) async fn call<X, E, F, Fut>(
        &self,
        operation: Operation,
        attempt: F,
    ) -> Result<ResponseValue<X>, Error>
    where
        E: ErrorBody,
        F: Fn(Arc<Session>) -> Fut,
        Fut: Future<Output = Result<ResponseValue<X>, RawError<E>>>,
    {
        self.call_checked(operation, attempt, |_| Ok(())).await
    }

    /// Like [`ZendeskClient::call`], and also retries a response `check` rejects.
    pub(crate) async fn call_checked<X, E, F, Fut, C>(
        &self,
        operation: Operation,
        attempt: F,
        mut check: C,
    ) -> Result<ResponseValue<X>, Error>
    where
        E: ErrorBody,
        F: Fn(Arc<Session>) -> Fut,
        Fut: Future<Output = Result<ResponseValue<X>, RawError<E>>>,
        C: FnMut(&X) -> Result<(), Error>,
    {
        let inner = &self.inner;
        let authorized = self.session().await?;
        let session = Arc::clone(&authorized.session);
        let result = inner
            .retrier
            .send_checked(operation, || attempt(Arc::clone(&session)), &mut check)
            .await;
        let (Err(Error::Api { status: 401, .. }), Credentials::Managed(manager)) =
            (&result, &inner.credentials)
        else {
            return result;
        };
        let authorized = manager.renew(&authorized, &inner.retrier).await?;
        let session = Arc::clone(&authorized.session);
        inner
            .retrier
            .send_checked(
                operation.with_unauthorized_retried(),
                || attempt(Arc::clone(&session)),
                &mut check,
            )
            .await
    }

    /// The base URL.
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// let client = ZendeskClient::builder().subdomain("acme").oauth_token("token").build()?;
    /// assert_eq!(client.base_url().origin(), "https://acme.zendesk.com");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn base_url(&self) -> &BaseUrl {
        &self.inner.base
    }

    /// The tenant named in event ids and checkpoints.
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskClient;
    ///
    /// let client = ZendeskClient::builder().subdomain("acme").oauth_token("token").build()?;
    /// assert_eq!(client.tenant(), "acme");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn tenant(&self) -> &str {
        &self.inner.tenant
    }

    /// The client's counters: requests, pages, records, retries, waits.
    ///
    /// ```
    /// # let client = audit_core::zendesk::ZendeskClient::builder()
    /// #     .subdomain("acme").oauth_token("token").build().unwrap();
    /// let stats = client.stats();
    /// println!("{} requests, {:?} waited on rate limits", stats.requests, stats.waited_on_rate_limits());
    /// ```
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.retrier.stats().snapshot()
    }

    pub(crate) fn stats_counter(&self) -> &Stats {
        self.inner.retrier.stats()
    }

    pub(crate) fn export_gate(&self) -> &export::ExportGate {
        &self.inner.export_gate
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        self.inner.retrier.policy()
    }

    pub(crate) fn page_size_policy(&self) -> PageSizePolicy {
        self.inner.page_size
    }

    pub(crate) fn incremental_pacer(&self) -> &Arc<Pacer> {
        &self.inner.incremental
    }

    pub(crate) fn incremental_holdback(&self) -> Duration {
        self.inner.incremental_holdback
    }

    /// One audit of a ticket (`ShowTicketAudit`).
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let audit = client.show_ticket_audit(48213, 24872016650047).await?;
    /// println!("{:?} by {:?}", audit.created_at, audit.author_id);
    /// let event = audit_core::zendesk::mapping::ticket_audit_event(client.tenant(), &audit);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn show_ticket_audit(
        &self,
        ticket_id: i64,
        ticket_audit_id: i64,
    ) -> Result<Recorded<types::TicketAudit>, Error> {
        let operation = Operation::read("show_ticket_audit");
        let response = self
            .call(operation, |session| async move {
                session
                    .raw
                    .show_ticket_audit()
                    .ticket_id(ticket_id)
                    .ticket_audit_id(ticket_audit_id)
                    .send()
                    .await
            })
            .await?;
        response.into_inner().audit.ok_or_else(|| Error::Decode {
            operation: operation.name,
            status: Some(200),
            message: "the answer has no `audit`".into(),
            waited: Duration::ZERO,
        })
    }

    /// The approximate number of audits of a ticket (`CountAuditsForTicket`; capped at
    /// 100,000 with `refreshed_at: null`).
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let count = client.count_audits_for_ticket(48213).await?;
    /// println!("about {:?} audits", count.value);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn count_audits_for_ticket(
        &self,
        ticket_id: i64,
    ) -> Result<types::TicketAuditsCount, Error> {
        let operation = Operation::read("count_audits_for_ticket");
        let response = self
            .call(operation, |session| async move {
                session
                    .raw
                    .count_audits_for_ticket()
                    .ticket_id(ticket_id)
                    .send()
                    .await
            })
            .await?;
        response.into_inner().count.ok_or_else(|| Error::Decode {
            operation: operation.name,
            status: Some(200),
            message: "the answer has no `count`".into(),
            waited: Duration::ZERO,
        })
    }

    /// Makes the comment of an audit private (`MakeTicketCommentPrivateFromAudits`). A
    /// write: retried only when Zendesk says it did not process it (429, 503 with
    /// `Retry-After`).
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// client.make_ticket_comment_private(48213, 24871093300125).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn make_ticket_comment_private(
        &self,
        ticket_id: i64,
        ticket_audit_id: i64,
    ) -> Result<(), Error> {
        self.call(MAKE_PRIVATE, |session| async move {
            session
                .raw
                .make_ticket_comment_private_from_audits()
                .ticket_id(ticket_id)
                .ticket_audit_id(ticket_audit_id)
                // `{}` as JSON, as Zendesk's examples send it: a bodiless PUT has no
                // `Content-Length`, which proxies may refuse (411).
                .body(types::EmptyObject {})
                .send()
                .await
        })
        .await?;
        Ok(())
    }

    /// One audit-log record (`ShowAuditLog`).
    ///
    /// ```no_run
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let record = client.show_audit_log(19283775120).await?;
    /// println!("{:?}: {:?}", record.action, record.change_description);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn show_audit_log(
        &self,
        audit_log_id: i64,
    ) -> Result<Recorded<types::AuditLog>, Error> {
        let operation = Operation::read("show_audit_log");
        let response = self
            .call(operation, |session| async move {
                session
                    .raw
                    .show_audit_log()
                    .audit_log_id(audit_log_id)
                    .send()
                    .await
            })
            .await?;
        response
            .into_inner()
            .audit_log
            .ok_or_else(|| Error::Decode {
                operation: operation.name,
                status: Some(200),
                message: "the answer has no `audit_log`".into(),
                waited: Duration::ZERO,
            })
    }

    /// The page stream of `stream` with `options`: what the CLI uses to export any Zendesk
    /// stream by name. Fails on a Genesys stream, or on a checkpoint of another stream.
    ///
    /// ```no_run
    /// use audit_core::{StreamKind, StreamOptions, Window};
    /// use futures::TryStreamExt;
    ///
    /// # async fn example(client: audit_core::zendesk::ZendeskClient) -> Result<(), audit_core::Error> {
    /// let options = StreamOptions::new(Window::since(chrono::Utc::now() - chrono::Duration::hours(1)));
    /// let mut pages = client.event_pages(StreamKind::ZendeskTicketAudits, options)?;
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
            StreamKind::ZendeskAuditLogs => {
                Ok(AuditLogEvents::with_options(self.clone(), options)?.pages())
            }
            StreamKind::ZendeskTicketAudits => {
                Ok(TicketAuditEvents::with_options(self.clone(), options)?.pages())
            }
            StreamKind::ZendeskTicketEvents => {
                Ok(TicketEventStream::with_options(self.clone(), options)?.pages())
            }
            other => Err(Error::InvalidConfig(format!(
                "`{other}` is not a Zendesk stream; use the Genesys client for it"
            ))),
        }
    }
}

/// The token of the page after one with this envelope: cursor pages continue while
/// `meta.has_more` (or, when it is absent, while there is an `after_cursor` and the page is
/// not empty), by `links.next` or `meta.after_cursor`; offset pages (and an archived
/// ticket's single answer) continue by `next_page`.
pub(crate) fn next_page_token(
    operation: &'static str,
    meta: Option<&types::CursorPaginationMeta>,
    links: Option<&types::CursorPaginationLinks>,
    next_page: Option<&str>,
    items: usize,
) -> Result<Option<PageToken>, Error> {
    let non_empty = |s: Option<&String>| s.filter(|s| !s.trim().is_empty()).cloned();
    let url = links.and_then(|links| non_empty(links.next.as_ref()));
    let Some(meta) = meta else {
        let offset_url = next_page
            .filter(|u| !u.trim().is_empty())
            .map(str::to_string);
        return Ok(url.or(offset_url).map(|url| PageToken {
            cursor: None,
            url: Some(url),
        }));
    };
    let cursor = non_empty(meta.after_cursor.as_ref());
    let more = meta.has_more.unwrap_or(cursor.is_some() && items > 0);
    if !more {
        return Ok(None);
    }
    if cursor.is_none() && url.is_none() {
        return Err(Error::Decode {
            operation,
            status: Some(200),
            message: "`meta.has_more` is true but the page has neither `links.next` nor \
                      `meta.after_cursor`"
                .into(),
            waited: Duration::ZERO,
        });
    }
    Ok(Some(PageToken { cursor, url }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn test_rules() -> ZendeskRules {
        ZendeskRules {
            scheme: "API token",
            host: "acme.zendesk.com".into(),
            requested_scopes: None,
            granted: Default::default(),
        }
    }

    fn detail(body: Value) -> VendorDetail {
        serde_json::from_value::<types::ErrorResponse>(body)
            .unwrap()
            .detail()
    }

    #[test]
    fn every_error_shape_gives_its_code_and_description() {
        let classic = detail(json!({"error": "RecordNotFound", "description": "Not found"}));
        assert_eq!(classic.to_string(), "RecordNotFound: Not found");
        let nested = detail(json!({"error": {"title": "Forbidden", "message": "No access"}}));
        assert_eq!(nested.error.as_deref(), Some("Forbidden"));
        let json_api = detail(
            json!({"errors": [{"code": "TooManyRequests", "title": "Too Many Requests",
            "detail": "Rate limit for Audit log CSV Export exceeded. Please wait 1 minute and try again."}]}),
        );
        assert_eq!(json_api.error.as_deref(), Some("TooManyRequests"));
        assert!(
            json_api
                .description
                .unwrap()
                .starts_with("Rate limit for Audit log")
        );
        // What raw-support makes of an HTML 502.
        let gateway = detail(
            json!({"error": "HTTP 502 Bad Gateway", "description": "<html>bad</html>",
            "message": "<html>bad</html>", "status": 502, "non_json_body": true}),
        );
        assert_eq!(gateway.error.as_deref(), Some("HTTP 502 Bad Gateway"));
    }

    #[test]
    fn the_missing_scope_is_read_from_the_description() {
        let error = test_rules().api_error(
            "list_ticket_audits",
            403,
            VendorDetail::new(
                Some("Forbidden".into()),
                Some("You are missing the following required scopes: read".into()),
            ),
        );
        match &error {
            Error::AccessDenied {
                missing_scope,
                hint,
                ..
            } => {
                assert_eq!(missing_scope.as_deref(), Some("read"));
                assert!(hint.contains("tickets:read"), "{hint}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn next_page_tokens_follow_each_envelope() {
        let meta = |has_more: Option<bool>, cursor: Option<&str>| types::CursorPaginationMeta {
            has_more,
            after_cursor: cursor.map(str::to_string),
            before_cursor: None,
        };
        let links = types::CursorPaginationLinks {
            next: Some("https://acme.zendesk.com/next".into()),
            prev: None,
        };
        let op = "list_audit_logs";
        assert_eq!(
            next_page_token(
                op,
                Some(&meta(Some(true), Some("c"))),
                Some(&links),
                None,
                5
            )
            .unwrap()
            .unwrap(),
            PageToken {
                cursor: Some("c".into()),
                url: Some("https://acme.zendesk.com/next".into())
            }
        );
        assert_eq!(
            next_page_token(op, Some(&meta(Some(false), Some("c"))), None, None, 5).unwrap(),
            None
        );
        // No has_more: continue while there is a cursor and records.
        assert!(
            next_page_token(op, Some(&meta(None, Some("c"))), None, None, 5)
                .unwrap()
                .is_some()
        );
        assert!(
            next_page_token(op, Some(&meta(None, Some("c"))), None, None, 0)
                .unwrap()
                .is_none()
        );
        // has_more without any way forward is an error, not a silent end.
        assert!(next_page_token(op, Some(&meta(Some(true), None)), None, None, 5).is_err());
        // Offset envelope (and an archived ticket's single answer).
        assert_eq!(
            next_page_token(op, None, None, Some("https://acme.zendesk.com/p3"), 2)
                .unwrap()
                .unwrap()
                .url
                .as_deref(),
            Some("https://acme.zendesk.com/p3")
        );
        assert!(next_page_token(op, None, None, None, 3).unwrap().is_none());
    }
}
