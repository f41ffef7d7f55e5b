//! The listeners, the request pipeline (authentication → rate limit → faults → handler) and
//! the embedding handle.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use chrono::{DateTime, Utc};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::{SimConfig, TenantConfig};
use crate::data::genesys::{GenesysData, GenesysParams};
use crate::data::prng::{Draw, hash_str};
use crate::data::zendesk::{ZendeskData, ZendeskParams};
use crate::faults::{FaultKind, FaultPlan, Faults, canonical};
use crate::ground_truth::{GroundTruthError, Stream};
use crate::http::{Ctx, PageReport, set_header};
use crate::rate_limit::RateLimiter;
use crate::stats::{Stats, StatsSnapshot};
use crate::{genesys, zendesk};

/// A tenant, resolved: its config with absolute times, and its data generators.
pub struct Tenant {
    /// The tenant's config (times as given).
    pub config: TenantConfig,
    /// Start of the data span.
    pub start: DateTime<Utc>,
    /// End of the data span.
    pub end: DateTime<Utc>,
    /// Zendesk data.
    pub zendesk: ZendeskData,
    /// Genesys data.
    pub genesys: GenesysData,
}

impl Tenant {
    fn new(config: &TenantConfig, now: DateTime<Utc>) -> Self {
        let start = config.start.resolve(now);
        let end = config.end.resolve(now).max(start);
        let z = &config.zendesk;
        Tenant {
            zendesk: ZendeskData::new(&ZendeskParams {
                seed: config.seed,
                subdomain: z.subdomain.clone(),
                start: start.timestamp(),
                end: end.timestamp(),
                ticket_audits: z.ticket_audits,
                audits_per_ticket: z.audits_per_ticket,
                open_tickets: z.open_tickets,
                archived_fraction: z.archived_fraction,
                audit_logs: z.audit_logs,
            }),
            genesys: GenesysData::new(&GenesysParams {
                seed: config.seed,
                org_id: config.genesys.org_id.clone(),
                start_ms: start.timestamp_millis(),
                end_ms: end.timestamp_millis(),
                audits: config.genesys.audits,
            }),
            config: config.clone(),
            start,
            end,
        }
    }
}

/// The base URLs the simulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// Zendesk API, e.g. `http://127.0.0.1:41234` (paths under `/api/v2/`).
    pub zendesk: String,
    /// Genesys Cloud API (paths under `/api/v2/audits`).
    pub genesys_api: String,
    /// Genesys Cloud login host (`POST /oauth/token`).
    pub genesys_login: String,
    /// Host of the presigned download URLs.
    pub download: String,
}

/// The simulator's shared state.
pub struct Sim {
    /// The config the simulator was started with.
    pub config: SimConfig,
    /// The tenants.
    pub tenants: Vec<Tenant>,
    /// The base URLs.
    pub urls: Urls,
    /// Counters.
    pub stats: Stats,
    pub(crate) limiter: RateLimiter,
    pub(crate) faults: Faults,
    pub(crate) tokens: Mutex<HashMap<String, (usize, DateTime<Utc>)>>,
    pub(crate) zendesk_oauth: Mutex<crate::zendesk::auth::OAuthState>,
    pub(crate) queries: Mutex<HashMap<String, genesys::query::QueryState>>,
    pub(crate) query_seq: Mutex<HashMap<usize, u64>>,
    pub(crate) private_audits: Mutex<HashSet<(usize, i64)>>,
    pub(crate) last_export: Mutex<HashMap<usize, DateTime<Utc>>>,
    pub(crate) outages: crate::outage::Outages,
    /// When the simulator started (Unix seconds), for `zendesk.archive_delay_secs`.
    pub(crate) started: i64,
    counter: AtomicU64,
}

impl Sim {
    /// A number never handed out before (the nonce of a `fresh_cursor`), deterministic in the
    /// order of calls.
    pub(crate) fn next_nonce(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        crate::data::prng::mix(&[self.config.faults.seed, 0x0A0C, n])
    }

    /// A fresh id-like value, deterministic in the order of calls.
    pub(crate) fn next_uuid(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Draw::new(&[self.config.faults.seed, 0xC0DE, n]).uuid()
    }

    /// The tenant at this index.
    pub fn tenant(&self, i: usize) -> &Tenant {
        &self.tenants[i]
    }

    /// The index of the tenant with this name.
    pub fn tenant_index(&self, name: &str) -> Option<usize> {
        self.tenants.iter().position(|t| t.config.name == name)
    }
}

/// The four listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    Zendesk,
    GenesysApi,
    GenesysLogin,
    Download,
}

/// A connection dropped on purpose (the `connection_reset` fault).
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

/// Credentials of one tenant, as a client needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCredentials {
    /// Tenant name.
    pub name: String,
    /// Zendesk user e-mail (Basic user name is `{email}/token`).
    pub zendesk_email: String,
    /// Zendesk API token.
    pub zendesk_api_token: String,
    /// Zendesk OAuth bearer token (static, never expires).
    pub zendesk_oauth_token: String,
    /// Zendesk OAuth client id (client-credentials and refresh-token grants).
    pub zendesk_client_id: String,
    /// Zendesk OAuth client secret.
    pub zendesk_client_secret: String,
    /// The first refresh token of the Zendesk OAuth client.
    pub zendesk_refresh_token: String,
    /// Genesys OAuth client id.
    pub genesys_client_id: String,
    /// Genesys OAuth client secret.
    pub genesys_client_secret: String,
    /// Genesys organisation id.
    pub genesys_org_id: String,
}

/// Why the simulator could not start.
#[derive(Debug)]
pub enum StartError {
    /// The config is invalid.
    Config(String),
    /// A listener could not bind.
    Bind(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "invalid simulator config: {e}"),
            StartError::Bind(e) => write!(f, "cannot bind a simulator listener: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A running simulator. Dropping it stops the listeners; [`SimHandle::shutdown`] does so
/// gracefully.
pub struct SimHandle {
    sim: Arc<Sim>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// Takes a vendor down (`Some(mode)`) or brings it back (`None`); `vendor` is `zendesk`,
    /// `genesys` or `None` for both (the in-process form of `/_sim/outage`, see
    /// [`crate::outage`]).
    pub fn set_outage(
        &self,
        vendor: Option<&str>,
        mode: Option<crate::outage::OutageMode>,
    ) -> Result<(), String> {
        self.sim.outages.set(vendor, mode)
    }

    /// The Zendesk base URL (`http://127.0.0.1:PORT`).
    pub fn zendesk_url(&self) -> &str {
        &self.sim.urls.zendesk
    }

    /// The Genesys API base URL.
    pub fn genesys_api_url(&self) -> &str {
        &self.sim.urls.genesys_api
    }

    /// The Genesys login base URL (token endpoint `POST {login}/oauth/token`).
    pub fn genesys_login_url(&self) -> &str {
        &self.sim.urls.genesys_login
    }

    /// The download base URL.
    pub fn download_url(&self) -> &str {
        &self.sim.urls.download
    }

    /// All four base URLs.
    pub fn urls(&self) -> &Urls {
        &self.sim.urls
    }

    /// The credentials of every tenant, in config order.
    pub fn credentials(&self) -> Vec<TenantCredentials> {
        self.sim
            .tenants
            .iter()
            .map(|t| TenantCredentials {
                name: t.config.name.clone(),
                zendesk_email: t.config.zendesk.email.clone(),
                zendesk_api_token: t.config.zendesk.api_token.clone(),
                zendesk_oauth_token: t.config.zendesk.oauth_token.clone(),
                zendesk_client_id: t.config.zendesk.oauth_client_id.clone(),
                zendesk_client_secret: t.config.zendesk.oauth_client_secret.clone(),
                zendesk_refresh_token: t.config.zendesk.oauth_refresh_token.clone(),
                genesys_client_id: t.config.genesys.client_id.clone(),
                genesys_client_secret: t.config.genesys.client_secret.clone(),
                genesys_org_id: t.config.genesys.org_id.clone(),
            })
            .collect()
    }

    /// The credentials of one tenant.
    pub fn tenant_credentials(&self, tenant: &str) -> Option<TenantCredentials> {
        self.credentials().into_iter().find(|c| c.name == tenant)
    }

    /// The resolved data span of a tenant.
    pub fn span(&self, tenant: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let t = &self.sim.tenants[self.sim.tenant_index(tenant)?];
        Some((t.start, t.end))
    }

    /// The native ids a window of a stream holds right now, in the order the stream yields
    /// them (see [`crate::ground_truth`]).
    pub fn ground_truth(
        &self,
        tenant: &str,
        stream: Stream,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<String>, GroundTruthError> {
        crate::ground_truth::ground_truth(&self.sim, tenant, &stream, since, until, Utc::now())
    }

    /// The simulator's state, for tests that need the data generators.
    pub fn sim(&self) -> &Arc<Sim> {
        &self.sim
    }

    /// A copy of the live counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.sim.stats.snapshot()
    }

    /// The config the simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.sim.config
    }

    /// Stops accepting connections, lets open requests finish, and waits for the listeners.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Starts the simulator in-process on the current tokio runtime.
pub async fn start(config: SimConfig) -> Result<SimHandle, StartError> {
    config.validate().map_err(StartError::Config)?;
    let bind = |port: u16| {
        let addr = SocketAddr::new(config.bind, port);
        async move { TcpListener::bind(addr).await }
    };
    let zl = bind(config.zendesk_port).await.map_err(StartError::Bind)?;
    let gl = bind(config.genesys_api_port)
        .await
        .map_err(StartError::Bind)?;
    let ll = bind(config.genesys_login_port)
        .await
        .map_err(StartError::Bind)?;
    let dl = bind(config.download_port).await.map_err(StartError::Bind)?;
    let tls = config
        .tls_ca_file
        .as_deref()
        .map(crate::tls::acceptor)
        .transpose()
        .map_err(StartError::Config)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = |l: &TcpListener| -> Result<String, StartError> {
        let a = l.local_addr().map_err(StartError::Bind)?;
        Ok(format!("{scheme}://{a}"))
    };
    let urls = Urls {
        zendesk: url(&zl)?,
        genesys_api: url(&gl)?,
        genesys_login: url(&ll)?,
        download: url(&dl)?,
    };
    // Times are resolved at the second, so that `now-30d` spans are whole seconds.
    let now = crate::data::from_secs(Utc::now().timestamp());
    let tenants = config.tenants.iter().map(|t| Tenant::new(t, now)).collect();
    let zendesk_oauth = crate::zendesk::auth::OAuthState::new(&config.tenants);
    let sim = Arc::new(Sim {
        faults: Faults::new(config.faults.clone()),
        config,
        tenants,
        urls,
        stats: Stats::default(),
        limiter: RateLimiter::default(),
        tokens: Mutex::new(HashMap::new()),
        zendesk_oauth: Mutex::new(zendesk_oauth),
        queries: Mutex::new(HashMap::new()),
        query_seq: Mutex::new(HashMap::new()),
        private_audits: Mutex::new(HashSet::new()),
        last_export: Mutex::new(HashMap::new()),
        outages: Default::default(),
        started: Utc::now().timestamp(),
        counter: AtomicU64::new(0),
    });
    let (tx, rx) = watch::channel(false);
    let routers = [
        (zl, Listener::Zendesk, zendesk::router(sim.clone())),
        (gl, Listener::GenesysApi, genesys::api_router(sim.clone())),
        (
            ll,
            Listener::GenesysLogin,
            genesys::login_router(sim.clone()),
        ),
        (
            dl,
            Listener::Download,
            genesys::download::router(sim.clone()),
        ),
    ];
    let tasks = routers
        .into_iter()
        .map(|(listener, kind, router)| {
            tokio::spawn(serve(
                listener,
                kind,
                router,
                tls.clone(),
                sim.clone(),
                rx.clone(),
            ))
        })
        .collect();
    Ok(SimHandle {
        sim,
        shutdown: tx,
        tasks,
    })
}

async fn serve(
    listener: TcpListener,
    kind: Listener,
    router: Router,
    tls: Option<TlsAcceptor>,
    sim: Arc<Sim>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        if kind == Listener::Zendesk {
            sim.stats.zendesk_connection();
        }
        let router = router.clone();
        let sim = sim.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let router = router.clone();
                let sim = sim.clone();
                async move { pipeline(sim, kind, router, req).await }
            });
            match tls {
                None => {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    until_shutdown(conn, shutdown).await;
                }
                Some(tls) => {
                    let Ok(stream) = tls.accept(stream).await else {
                        return;
                    };
                    // HTTP/2 or HTTP/1.1, as the client chose by ALPN.
                    let mut builder = auto::Builder::new(TokioExecutor::new());
                    builder.http1().timer(TokioTimer::new()).keep_alive(true);
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    until_shutdown(conn, shutdown).await;
                }
            }
        });
    }
}

/// Serves `conn` until it ends or the simulator stops; then lets it finish what it is
/// answering, for up to 5 s.
async fn until_shutdown<C: GracefulConnection>(conn: C, mut shutdown: watch::Receiver<bool>) {
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}

/// The endpoint name of a request, for the stats.
fn classify(kind: Listener, method: &str, path: &str) -> String {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (kind, method, segs.as_slice()) {
        (Listener::Zendesk, "GET", ["api", "v2", "ticket_audits"]) => "ListTicketAudits",
        (Listener::Zendesk, "GET", ["api", "v2", "tickets", _, "audits"]) => "ListAuditsForTicket",
        (Listener::Zendesk, "GET", ["api", "v2", "tickets", _, "audits", "count"]) => {
            "CountAuditsForTicket"
        }
        (Listener::Zendesk, "GET", ["api", "v2", "tickets", _, "audits", _]) => "ShowTicketAudit",
        (Listener::Zendesk, "PUT", ["api", "v2", "tickets", _, "audits", _, "make_private"]) => {
            "MakeTicketCommentPrivateFromAudits"
        }
        (Listener::Zendesk, "GET", ["api", "v2", "audit_logs"]) => "ListAuditLogs",
        (Listener::Zendesk, "POST", ["api", "v2", "audit_logs", "export"]) => "ExportAuditLogs",
        (Listener::Zendesk, "GET", ["api", "v2", "audit_logs", _]) => "ShowAuditLog",
        (Listener::Zendesk, "POST", ["oauth", "tokens"]) => "token",
        (Listener::GenesysApi, "POST", ["api", "v2", "audits", "query"]) => "postAuditsQuery",
        (Listener::GenesysApi, "GET", ["api", "v2", "audits", "query", "servicemapping"]) => {
            "getAuditsQueryServicemapping"
        }
        (Listener::GenesysApi, "POST", ["api", "v2", "audits", "query", "realtime"]) => {
            "postAuditsQueryRealtime"
        }
        (
            Listener::GenesysApi,
            "GET",
            ["api", "v2", "audits", "query", "realtime", "servicemapping"],
        ) => "getAuditsQueryRealtimeServicemapping",
        (Listener::GenesysApi, "POST", ["api", "v2", "audits", "query", "realtime", "related"]) => {
            "postAuditsQueryRealtimeRelated"
        }
        (Listener::GenesysApi, "GET", ["api", "v2", "audits", "query", _, "results"]) => {
            "getAuditsQueryTransactionIdResults"
        }
        (Listener::GenesysApi, "GET", ["api", "v2", "audits", "query", _]) => {
            "getAuditsQueryTransactionId"
        }
        (Listener::GenesysLogin, _, _) => "token",
        (Listener::Download, _, _) => "download",
        _ => "other",
    };
    let vendor = if kind == Listener::Zendesk {
        "zendesk"
    } else {
        "genesys"
    };
    format!("{vendor}.{name}")
}

/// The answer of a vendor that is down (`/_sim/outage`), if it is; a held request goes on
/// normally once the outage is lifted.
async fn outage(sim: &Sim, genesys: bool) -> Result<Option<Response<Body>>, Dropped> {
    use crate::outage::OutageMode;
    loop {
        return match sim.outages.of(genesys) {
            None => Ok(None),
            Some(OutageMode::Reset) => Err(Dropped),
            Some(OutageMode::Error) => Ok(Some(crate::http::json(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({"error": "InternalServerError", "description": "simulated outage"}),
            ))),
            Some(OutageMode::Html) => Ok(Some(
                Response::builder()
                    .status(200)
                    .header("content-type", "text/html; charset=utf-8")
                    .body(Body::from(
                        "<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head>\n\
                         <body><p>Accept the terms to continue.</p></body></html>\n",
                    ))
                    .expect("a static response"),
            )),
            Some(OutageMode::Hang) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
    }
}

/// Zendesk accepts every path with a `.json` suffix.
fn normalise_path(kind: Listener, path: &str) -> String {
    if kind == Listener::Zendesk
        && let Some(p) = path.strip_suffix(".json")
    {
        return p.to_string();
    }
    path.to_string()
}

async fn pipeline(
    sim: Arc<Sim>,
    kind: Listener,
    router: Router,
    req: Request<Incoming>,
) -> Result<Response<Body>, Dropped> {
    let (mut parts, body) = req.into_parts();
    let body = axum::body::to_bytes(Body::new(body), 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let method = parts.method.as_str().to_string();
    let original_path = parts.uri.path().to_string();
    let path = normalise_path(kind, &original_path);
    let query = parts.uri.query().map(str::to_string);
    let genesys = kind != Listener::Zendesk;
    let correlation = sim.next_uuid();
    if path.starts_with("/_sim/") {
        let mut r = crate::control::handle(&sim, &path, query.as_deref());
        finish(&sim, kind, &correlation, None, &mut r, genesys);
        return Ok(r);
    }
    let _answering = sim.stats.in_flight();
    if let Some(mut r) = outage(&sim, genesys).await? {
        finish(&sim, kind, &correlation, None, &mut r, genesys);
        return Ok(r);
    }
    sim.stats.request(&classify(kind, &method, &path));

    // Authentication and tenant selection (the login and download hosts do their own).
    let (tenant, vendor): (Option<usize>, &'static str) = match kind {
        // The token endpoint authenticates the client from the body.
        Listener::Zendesk if path == "/oauth/tokens" || path == "/oauth/authorizations/new" => {
            (None, "zendesk")
        }
        Listener::Zendesk => {
            match zendesk::auth::authenticate(&sim, &parts.headers, &path, &method) {
                Ok(t) => (Some(t), "zendesk"),
                Err(mut r) => {
                    finish(&sim, kind, &correlation, None, &mut r, false);
                    return Ok(r);
                }
            }
        }
        Listener::GenesysApi => {
            match genesys::token::authenticate(&sim, &parts.headers, &correlation) {
                Ok(t) => (Some(t), "genesys"),
                Err(mut r) => {
                    finish(&sim, kind, &correlation, None, &mut r, true);
                    return Ok(r);
                }
            }
        }
        _ => (None, "genesys"),
    };

    // Rate limit.
    let mut verdict = None;
    if let Some(t) = tenant {
        let cfg = if kind == Listener::Zendesk {
            sim.config.zendesk.rate_limit
        } else {
            sim.config.genesys.rate_limit
        };
        let v = sim
            .limiter
            .check(&cfg, t, vendor, Utc::now().timestamp_millis());
        sim.stats.window(
            &sim.tenants[t].config.name,
            vendor,
            v.window_start,
            !v.allowed,
        );
        verdict = Some(v);
        if !v.allowed {
            let mut r = if kind == Listener::Zendesk {
                zendesk::rate_limited(v.reset_secs)
            } else {
                genesys::rate_limited(&sim, v.reset_secs, v.limit, &correlation)
            };
            finish(&sim, kind, &correlation, verdict, &mut r, genesys);
            return Ok(r);
        }
    }

    // Faults.
    let faults_apply = match kind {
        Listener::Zendesk | Listener::GenesysApi => true,
        Listener::GenesysLogin => sim.config.faults.apply_to_login,
        Listener::Download => sim.config.faults.apply_to_download,
    };
    let plan = if faults_apply {
        let tenant_name = tenant
            .map(|t| sim.tenants[t].config.name.as_str())
            .unwrap_or("-");
        let c = canonical(&method, &path, query.as_deref(), &body);
        let submission = method == "POST"
            && matches!(
                path.as_str(),
                "/api/v2/audits/query" | "/api/v2/audit_logs/export"
            );
        let plan = sim
            .faults
            .plan(tenant_name, c, kind == Listener::GenesysApi, submission);
        count_opportunities(&sim, &plan, kind == Listener::GenesysApi);
        plan
    } else {
        FaultPlan::default()
    };
    if let Some(fault) = plan.replace {
        sim.stats.fault(fault.name());
        if fault == FaultKind::ConnectionReset {
            return Err(Dropped);
        }
        let mut r = if kind == Listener::Zendesk {
            zendesk::fault_response(&sim, fault)
        } else {
            genesys::fault_response(&sim, fault, &correlation)
        };
        finish(&sim, kind, &correlation, verdict, &mut r, genesys);
        return Ok(r);
    }
    if plan.slow {
        sim.stats.fault(FaultKind::SlowResponse.name());
        tokio::time::sleep(Duration::from_millis(sim.config.faults.slow_response_ms)).await;
    }

    // The handler.
    if path != original_path {
        let pq = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        if let Ok(uri) = pq.parse() {
            parts.uri = uri;
        }
    }
    parts.extensions.insert(Ctx {
        tenant: tenant.unwrap_or(0),
        plan,
        path: original_path,
        query,
        correlation: correlation.clone(),
    });
    let req = Request::from_parts(parts, Body::from(body));
    let mut r = match router.oneshot(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    if let Some(report) = r.extensions().get::<PageReport>().cloned() {
        sim.stats.page(report.records);
        if report.cursor_reached && sim.config.faults.duplicate_across_pages > 0.0 {
            sim.stats
                .opportunity(FaultKind::DuplicateAcrossPages.name());
        }
        if report.duplicated {
            sim.stats.fault(FaultKind::DuplicateAcrossPages.name());
        }
        if report.had_cursor && sim.config.faults.repeated_cursor > 0.0 {
            sim.stats.opportunity(FaultKind::RepeatedCursor.name());
        }
        if report.repeated {
            sim.stats.fault(FaultKind::RepeatedCursor.name());
        }
        for anomaly in &report.anomalies {
            sim.stats.fault(anomaly.name());
        }
        let latency = sim.config.faults.page_latency_ms;
        if latency > 0 && faults_apply {
            sim.stats.fault(FaultKind::PageLatency.name());
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
    }
    finish(&sim, kind, &correlation, verdict, &mut r, genesys);
    if plan.huge_reset && tenant.is_some() {
        sim.stats.fault(FaultKind::HugeRateLimitReset.name());
        huge_reset(kind, &mut r);
    }
    if plan.truncate {
        r = truncate(&sim, r).await;
    }
    Ok(r)
}

fn count_opportunities(sim: &Sim, plan: &FaultPlan, genesys_api: bool) {
    let c = &sim.config.faults;
    let order = [
        (FaultKind::ConnectionReset, c.connection_reset),
        (FaultKind::Status429, c.status_429),
        (FaultKind::RetryAfterPastDate, c.retry_after_past_date),
        (FaultKind::Status500, c.status_500),
        (FaultKind::Status502, c.status_502),
        (FaultKind::Status503, c.status_503),
        (FaultKind::Status504, c.status_504),
        (
            FaultKind::ExpiredToken,
            if genesys_api { c.expired_token } else { 0.0 },
        ),
    ];
    for (kind, rate) in order {
        if rate > 0.0 {
            sim.stats.opportunity(kind.name());
        }
        if plan.replace == Some(kind) {
            return;
        }
    }
    if c.slow_response > 0.0 {
        sim.stats.opportunity(FaultKind::SlowResponse.name());
    }
    if c.truncated_body > 0.0 {
        sim.stats.opportunity(FaultKind::TruncatedBody.name());
    }
}

/// Adds the headers every answer of a listener carries.
fn finish(
    sim: &Sim,
    kind: Listener,
    correlation: &str,
    verdict: Option<crate::rate_limit::Verdict>,
    r: &mut Response<Body>,
    genesys: bool,
) {
    if genesys && kind != Listener::Download {
        set_header(r, "inin-correlation-id", correlation);
    }
    if let Some(v) = verdict.filter(|v| v.enabled()) {
        if kind == Listener::Zendesk {
            set_header(r, "x-rate-limit", v.limit);
            set_header(r, "x-rate-limit-remaining", v.remaining);
            set_header(r, "ratelimit-limit", v.limit);
            set_header(r, "ratelimit-remaining", v.remaining);
            set_header(r, "ratelimit-reset", v.reset_secs);
        } else {
            set_header(r, "inin-ratelimit-count", v.count.min(v.limit));
            set_header(r, "inin-ratelimit-allowed", v.limit);
            set_header(r, "inin-ratelimit-reset", v.reset_secs);
        }
    }
    let _ = sim;
}

/// `huge_rate_limit_reset`: the headers say the budget is spent and resets in a day.
fn huge_reset(kind: Listener, r: &mut Response<Body>) {
    const DAY: u64 = 86_400;
    if kind == Listener::Zendesk {
        set_header(r, "x-rate-limit", 700);
        set_header(r, "x-rate-limit-remaining", 0);
        set_header(r, "ratelimit-limit", 700);
        set_header(r, "ratelimit-remaining", 0);
        set_header(r, "ratelimit-reset", DAY);
    } else {
        set_header(r, "inin-ratelimit-count", 300);
        set_header(r, "inin-ratelimit-allowed", 300);
        set_header(r, "inin-ratelimit-reset", DAY);
    }
}

/// Sends the headers with the full `Content-Length`, then half the body, then drops the
/// connection.
async fn truncate(sim: &Sim, r: Response<Body>) -> Response<Body> {
    let (mut parts, body) = r.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if bytes.len() < 2 {
        return Response::from_parts(parts, Body::from(bytes));
    }
    sim.stats.fault(FaultKind::TruncatedBody.name());
    parts.headers.insert(
        axum::http::header::CONTENT_LENGTH,
        axum::http::HeaderValue::from(bytes.len()),
    );
    let half = bytes.slice(..bytes.len() / 2);
    // The half body is sent and flushed (the stream is pending for a moment), then the
    // stream fails, which makes hyper abort the connection mid-body.
    let stream = futures::stream::unfold(0u8, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok::<bytes::Bytes, std::io::Error>(half), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "truncated by fault injection",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Stable hash of a tenant's name (used in cursors).
pub(crate) fn tenant_key(sim: &Sim, tenant: usize) -> u64 {
    hash_str(&sim.tenants[tenant].config.name)
}
