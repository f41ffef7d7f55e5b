//! HTTP plumbing shared by the vendor clients: the base URL and its origin rules, the
//! `reqwest::Client` that carries the credentials, and following vendor-supplied URLs.
//!
//! Credentials live in one place: a default `Authorization` header of the client's
//! `reqwest::Client`, marked sensitive (so `Debug` of requests and headers never shows it).
//! That client only ever talks to the configured origin: vendor-supplied URLs (`links.next`,
//! `before_url`, …) are followed only when their scheme, host and port equal the base URL's,
//! and redirects are never followed: no documented operation redirects, and the one that may
//! answer 302 (Genesys results with `allowRedirect=true`) carries its page's cursor and
//! download link in the 302's body, which a followed redirect would throw away (and the
//! bearer token would be sent again to wherever `Location` points). A 3xx therefore reaches
//! the caller as an answer. The one URL fetched elsewhere is one a vendor presigned on another
//! host (a Genesys result download): it goes through a separate client that holds no
//! credentials at all.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use progenitor_client::{Error as RawError, OperationInfo, ResponseValue};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use url::{Host, Url};

use crate::error::Error;

/// A validated base URL: `https`, or `http` on a loopback host (`127.0.0.0/8`, `::1`,
/// `localhost`); no credentials, query or fragment in it.
///
/// ```
/// use audit_core::BaseUrl;
///
/// let base = BaseUrl::parse("https://acme.zendesk.com/").unwrap();
/// assert_eq!(base.as_str(), "https://acme.zendesk.com");
/// assert!(BaseUrl::parse("http://127.0.0.1:8080").is_ok());
/// assert!(BaseUrl::parse("http://acme.zendesk.com").is_err());
/// assert!(BaseUrl::parse("https://user:secret@acme.zendesk.com").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    url: Url,
    text: String,
}

/// Whether `host` is a loopback host, where plain `http` is allowed.
///
/// ```
/// use audit_core::http::is_loopback;
/// use url::Host;
///
/// assert!(is_loopback(&Host::Domain("localhost")));
/// assert!(is_loopback(&Host::Ipv4("127.0.0.2".parse().unwrap())));
/// assert!(!is_loopback(&Host::Domain("acme.zendesk.com")));
/// ```
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(domain) => {
            let domain = domain.trim_end_matches('.');
            domain.eq_ignore_ascii_case("localhost")
                || domain.to_ascii_lowercase().ends_with(".localhost")
        }
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

impl BaseUrl {
    /// Validates `input` as a base URL.
    ///
    /// ```
    /// use audit_core::{BaseUrl, ErrorKind};
    ///
    /// let base = BaseUrl::parse("https://api.mypurecloud.ie")?;
    /// assert_eq!(base.host(), "api.mypurecloud.ie");
    /// // Plain http is for loopback only: a credential must not cross the network in clear.
    /// assert_eq!(BaseUrl::parse("http://api.mypurecloud.ie").unwrap_err().kind(), ErrorKind::Config);
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, Error> {
        // Never echo input that may hold credentials.
        let shown = if input.contains('@') {
            "(not shown: it contains `@`)".to_string()
        } else {
            format!("`{input}`")
        };
        let url = Url::parse(input.trim()).map_err(|error| {
            Error::InvalidConfig(format!("the base URL {shown} is not a valid URL: {error}"))
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::InvalidConfig(
                "the base URL must not contain credentials; set them with the builder's \
                 authentication methods"
                    .into(),
            ));
        }
        let Some(host) = url.host() else {
            return Err(Error::InvalidConfig(format!(
                "the base URL {shown} has no host"
            )));
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(Error::InvalidConfig(format!(
                    "the base URL {shown} uses plain `http`, which is only allowed for \
                     loopback hosts (127.0.0.1, ::1, localhost); use `https`"
                )));
            }
            other => {
                return Err(Error::InvalidConfig(format!(
                    "the base URL {shown} has the scheme `{other}`; use `https`"
                )));
            }
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::InvalidConfig(format!(
                "the base URL {shown} must not have a query or fragment"
            )));
        }
        let text = url.as_str().trim_end_matches('/').to_string();
        Ok(BaseUrl { url, text })
    }

    /// The base URL without a trailing slash, as the generated clients want it.
    ///
    /// ```
    /// use audit_core::BaseUrl;
    ///
    /// assert_eq!(BaseUrl::parse("https://acme.zendesk.com/")?.as_str(), "https://acme.zendesk.com");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host name or address.
    ///
    /// ```
    /// use audit_core::BaseUrl;
    ///
    /// assert_eq!(BaseUrl::parse("http://127.0.0.1:8080")?.host(), "127.0.0.1");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// `scheme://host:port`, for messages.
    ///
    /// ```
    /// use audit_core::BaseUrl;
    ///
    /// let base = BaseUrl::parse("http://localhost:8080/zendesk")?;
    /// assert_eq!(base.origin(), "http://localhost:8080");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// Whether `url` has the same scheme, host and port as this base URL.
    ///
    /// ```
    /// use audit_core::BaseUrl;
    /// use url::Url;
    ///
    /// let base = BaseUrl::parse("https://acme.zendesk.com")?;
    /// assert!(base.is_same_origin(&Url::parse("https://acme.zendesk.com/api/v2/audit_logs").unwrap()));
    /// assert!(!base.is_same_origin(&Url::parse("https://evil.example/api/v2/audit_logs").unwrap()));
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn is_same_origin(&self, url: &Url) -> bool {
        self.url.scheme() == url.scheme()
            && self.url.host() == url.host()
            && self.url.port_or_known_default() == url.port_or_known_default()
    }

    /// Parses a vendor-supplied URL (absolute, or relative to the base) and accepts it only
    /// on this base URL's origin.
    ///
    /// ```
    /// use audit_core::BaseUrl;
    ///
    /// let base = BaseUrl::parse("https://acme.zendesk.com")?;
    /// let next = base.check_vendor_url("list_audit_logs", "/api/v2/audit_logs?page[after]=xyz")?;
    /// assert_eq!(next.as_str(), "https://acme.zendesk.com/api/v2/audit_logs?page[after]=xyz");
    /// // A next-page link to another host would carry the credential there: refused.
    /// assert!(base.check_vendor_url("list_audit_logs", "https://evil.example/x").is_err());
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn check_vendor_url(&self, operation: &'static str, url: &str) -> Result<Url, Error> {
        let parsed = self.url.join(url).map_err(|error| Error::Decode {
            operation,
            status: None,
            message: format!("the vendor's next-page URL is not a URL ({error})"),
            waited: Duration::ZERO,
        })?;
        if self.is_same_origin(&parsed) {
            Ok(parsed)
        } else {
            let mut shown = parsed.clone();
            shown.set_query(None);
            shown.set_fragment(None);
            let _ = shown.set_password(None);
            let _ = shown.set_username("");
            Err(Error::ForeignUrl {
                operation,
                url: shown.to_string(),
                expected: self.origin(),
            })
        }
    }
}

/// Timeouts, user agent, body cap and network settings (proxy, certificates, …) of a
/// client's HTTP connections.
///
/// ```
/// use std::time::Duration;
/// use audit_core::HttpConfig;
///
/// let http = HttpConfig::default()
///     .with_request_timeout(Some(Duration::from_secs(120)))
///     .with_user_agent("acme-siem-sync/2.1");
/// assert_eq!(http.user_agent(), "acme-siem-sync/2.1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    user_agent: String,
    max_body_bytes: u64,
    network: Option<NetworkSettings>,
}

/// A caller's own settings for every `reqwest::ClientBuilder` a client builds.
#[derive(Clone)]
struct NetworkSettings(Arc<dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync>);

impl fmt::Debug for NetworkSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NetworkSettings(..)")
    }
}

impl PartialEq for NetworkSettings {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for NetworkSettings {}

impl Default for HttpConfig {
    /// 10 s to connect, 60 s per request, idle connections kept 90 s, user agent
    /// `trail-audit-core/<version>`, response bodies capped at 64 MiB.
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Some(Duration::from_secs(10)),
            request_timeout: Some(Duration::from_secs(60)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            user_agent: concat!("trail-audit-core/", env!("CARGO_PKG_VERSION")).to_string(),
            max_body_bytes: raw_support::DEFAULT_MAX_BODY_BYTES,
            network: None,
        }
    }
}

impl HttpConfig {
    /// Time allowed to open a connection; `None` for no limit.
    ///
    /// ```
    /// use audit_core::HttpConfig;
    /// use std::time::Duration;
    ///
    /// let http = HttpConfig::default().with_connect_timeout(Some(Duration::from_secs(3)));
    /// assert_eq!(http.connect_timeout(), Some(Duration::from_secs(3)));
    /// ```
    pub fn with_connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole request, body included; `None` for no limit.
    ///
    /// ```
    /// use audit_core::HttpConfig;
    ///
    /// // Slow links: never give up on a request by time alone.
    /// let http = HttpConfig::default().with_request_timeout(None);
    /// assert_eq!(http.request_timeout(), None);
    /// ```
    pub fn with_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long an idle connection is kept for reuse; `None` keeps it until the server
    /// closes it. (Tests on tokio's paused clock set `None`: the idle timer would make the
    /// clock jump while a request waits for its answer.)
    ///
    /// ```
    /// use audit_core::HttpConfig;
    ///
    /// let http = HttpConfig::default().with_pool_idle_timeout(None);
    /// assert_ne!(http, HttpConfig::default());
    /// ```
    pub fn with_pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// The `User-Agent` sent with every request.
    ///
    /// ```
    /// use audit_core::HttpConfig;
    ///
    /// let http = HttpConfig::default().with_user_agent("acme-siem-sync/2.1 (ops@acme.test)");
    /// assert_eq!(http.user_agent(), "acme-siem-sync/2.1 (ops@acme.test)");
    /// ```
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The largest response body accepted; a larger one (or one that never ends) fails the
    /// call with [`Error::BodyTooLarge`] after at most this many
    /// bytes were read, so memory stays bounded whatever the server sends.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
    /// # let acme = sim.tenant_credentials("acme").unwrap();
    /// use audit_core::{HttpConfig, zendesk::{AuditLogQuery, ZendeskClient}};
    ///
    /// let client = ZendeskClient::builder()
    ///     .base_url(sim.zendesk_url())
    ///     .tenant("acme")
    ///     .api_token(acme.zendesk_email, acme.zendesk_api_token)
    ///     .http(HttpConfig::default().with_max_body_bytes(100))
    ///     .build()?;
    /// let error = client.list_audit_logs(&AuditLogQuery::default()).await.unwrap_err();
    /// assert!(matches!(error, audit_core::Error::BodyTooLarge { .. }), "{error}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_max_body_bytes(mut self, bytes: u64) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Network settings of your own for every HTTP client the vendor client builds: a proxy,
    /// your organisation's CA certificate, a local address, DNS overrides — anything
    /// [`reqwest::ClientBuilder`] offers. `settings` runs first; the crate then sets what
    /// keeps credentials safe and the settings above (user agent, timeouts, redirects never
    /// followed, the credential header), so those cannot be undone by accident.
    ///
    /// ```
    /// use audit_core::HttpConfig;
    /// use audit_core::reqwest::{Certificate, Proxy};
    ///
    /// # fn example(ca_pem: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    /// let proxy = Proxy::https("http://proxy.internal:3128")?;
    /// let ca = Certificate::from_pem(ca_pem)?;
    /// let http = HttpConfig::default().with_network_settings(move |builder| {
    ///     builder.proxy(proxy.clone()).add_root_certificate(ca.clone())
    /// });
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_network_settings(
        mut self,
        settings: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        self.network = Some(NetworkSettings(Arc::new(settings)));
        self
    }

    /// The largest response body accepted.
    ///
    /// ```
    /// use audit_core::HttpConfig;
    ///
    /// assert_eq!(HttpConfig::default().max_body_bytes(), 64 * 1024 * 1024);
    /// ```
    pub fn max_body_bytes(&self) -> u64 {
        self.max_body_bytes
    }

    /// The connect timeout.
    ///
    /// ```
    /// use audit_core::HttpConfig;
    /// use std::time::Duration;
    ///
    /// assert_eq!(HttpConfig::default().connect_timeout(), Some(Duration::from_secs(10)));
    /// ```
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The request timeout.
    ///
    /// ```
    /// use audit_core::HttpConfig;
    /// use std::time::Duration;
    ///
    /// assert_eq!(HttpConfig::default().request_timeout(), Some(Duration::from_secs(60)));
    /// ```
    pub fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The user agent.
    ///
    /// ```
    /// use audit_core::HttpConfig;
    ///
    /// assert!(HttpConfig::default().user_agent().starts_with("trail-audit-core/"));
    /// ```
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }
}

/// Builds the `reqwest::Client` of a vendor client: `authorization` (if any) as a sensitive
/// default header, redirects never followed (see the module docs: a 3xx is an answer for
/// the caller to read). A client whose token expires (OAuth client credentials) builds a new
/// one with the new token.
pub(crate) fn build_client(
    config: &HttpConfig,
    authorization: Option<HeaderValue>,
) -> Result<reqwest::Client, Error> {
    let mut headers = HeaderMap::new();
    if let Some(mut authorization) = authorization {
        authorization.set_sensitive(true);
        headers.insert(AUTHORIZATION, authorization);
    }
    finish(
        client_builder(config, config.request_timeout)?
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none()),
    )
}

/// Builds a `reqwest::Client` that carries **no credentials**, for URLs a vendor presigned
/// on another host (a Genesys result download): the same timeouts and user agent, a request
/// timeout of at least `min_request_timeout` (downloads are big), redirects followed up to 5
/// times (nothing secret can leak: there is nothing to send).
pub(crate) fn build_plain_client(
    config: &HttpConfig,
    min_request_timeout: Duration,
) -> Result<reqwest::Client, Error> {
    let timeout = config
        .request_timeout
        .map(|timeout| timeout.max(min_request_timeout));
    finish(client_builder(config, timeout)?.redirect(reqwest::redirect::Policy::limited(5)))
}

/// The settings every client of the crate shares: user agent, idle pool, timeouts.
fn client_builder(
    config: &HttpConfig,
    request_timeout: Option<Duration>,
) -> Result<reqwest::ClientBuilder, Error> {
    let user_agent = HeaderValue::from_str(&config.user_agent)
        .map_err(|_| Error::InvalidConfig("the user agent must be visible ASCII text".into()))?;
    #[cfg(all(feature = "ring", not(feature = "aws-lc")))]
    {
        // reqwest built without a provider uses the process default: ring, unless the
        // program installed another first (then that one stays).
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let mut builder = reqwest::Client::builder();
    if let Some(NetworkSettings(settings)) = &config.network {
        builder = settings(builder);
    }
    let mut builder = builder
        .user_agent(user_agent)
        .pool_idle_timeout(config.pool_idle_timeout);
    if let Some(timeout) = config.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(timeout) = request_timeout {
        builder = builder.timeout(timeout);
    }
    Ok(builder)
}

fn finish(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, Error> {
    builder
        .build()
        .map_err(|error| Error::InvalidConfig(format!("could not build the HTTP client: {error}")))
}

/// GETs a vendor-supplied URL (already checked with [`BaseUrl::check_vendor_url`]) with the
/// client's own `reqwest::Client` and decodes it like a generated operation would: the same
/// hooks (tracing, JSON error bodies) and the same error shapes.
pub(crate) async fn get_json<T, E>(
    client: &reqwest::Client,
    vendor: &'static str,
    operation: &'static str,
    url: Url,
) -> Result<ResponseValue<T>, RawError<E>>
where
    T: DeserializeOwned,
    E: DeserializeOwned,
{
    get_read(client, vendor, operation, url, |body| {
        serde_json::from_slice(body)
    })
    .await
}

/// [`get_json`] with a successful response's body read by `read` instead of serde's
/// `Deserialize` (a page with a reader of its own); an error from `read` is the generated
/// operation's error for a body that does not decode.
pub(crate) async fn get_read<T, E>(
    client: &reqwest::Client,
    vendor: &'static str,
    operation: &'static str,
    url: Url,
    read: fn(&[u8]) -> serde_json::Result<T>,
) -> Result<ResponseValue<T>, RawError<E>>
where
    E: DeserializeOwned,
{
    let request = client
        .get(url)
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .build()?;
    let info = OperationInfo {
        operation_id: operation,
    };
    let response = raw_support::execute_traced(client, vendor, request, &info).await?;
    match response.status().as_u16() {
        200..=299 => {
            // As `ResponseValue::from_response` reads it, but with `read`.
            let (status, headers) = (response.status(), response.headers().clone());
            let body = response
                .bytes()
                .await
                .map_err(RawError::ResponseBodyError)?;
            let inner =
                read(&body).map_err(|error| RawError::InvalidResponsePayload(body, error))?;
            Ok(ResponseValue::new(inner, status, headers))
        }
        400..=599 => Err(RawError::ErrorResponse(
            ResponseValue::from_response(response).await?,
        )),
        _ => Err(RawError::UnexpectedResponse(response)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_may_use_http() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000/",
            "http://localhost:3000/zendesk",
            "https://acme.zendesk.com",
        ] {
            assert!(BaseUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://acme.zendesk.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "https://acme.zendesk.com/?x=1",
            "not a url",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(Error::InvalidConfig(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn base_url_errors_never_echo_credentials() {
        let error = BaseUrl::parse("https://me%40acme.com:hunter2@acme.zendesk.com").unwrap_err();
        assert!(!error.to_string().contains("hunter2"));
        let error = BaseUrl::parse("https://me:hunter2@").unwrap_err();
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn vendor_urls_must_share_scheme_host_and_port() {
        let base = BaseUrl::parse("http://127.0.0.1:8080/stem").unwrap();
        let op = "list_audit_logs";
        assert!(
            base.check_vendor_url(
                op,
                "http://127.0.0.1:8080/api/v2/audit_logs?page%5Bafter%5D=x"
            )
            .is_ok()
        );
        assert!(base.check_vendor_url(op, "/api/v2/audit_logs.json").is_ok());
        for foreign in [
            "http://127.0.0.1:8081/api/v2/audit_logs",
            "https://127.0.0.1:8080/api/v2/audit_logs",
            "http://localhost:8080/api/v2/audit_logs",
            "http://evil.example/api/v2/audit_logs?page=1",
        ] {
            match base.check_vendor_url(op, foreign) {
                Err(Error::ForeignUrl { url, expected, .. }) => {
                    assert_eq!(expected, "http://127.0.0.1:8080");
                    assert!(!url.contains('?'), "{url}");
                }
                other => panic!("{foreign}: {other:?}"),
            }
        }
        let https = BaseUrl::parse("https://acme.zendesk.com").unwrap();
        assert!(
            https
                .check_vendor_url(op, "https://acme.zendesk.com:443/api/v2/x")
                .is_ok()
        );
    }
}
