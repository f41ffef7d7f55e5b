//! Test helpers: a stateful fake Genesys Cloud (a login host issuing tokens, an API host with
//! the asynchronous query lifecycle, cursor results, realtime pages, and an optional 302 to a
//! download host), and a client for it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_core::genesys::{GenesysClient, GenesysClientBuilder};
use audit_core::{AuditEvent, HttpConfig, PacingConfig, RetryPolicy};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const CLIENT_ID: &str = "6a1b2c3d-0000-1111-2222-333344445555";
/// A secret that must never show up in any output.
pub const SECRET: &str = "Gx7SECRETsecretNeverPrintMe99";
/// Every token the fake issues starts with this, so tests can look for it in output.
pub const TOKEN_PREFIX: &str = "TOKENneverPrintMe";

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

pub fn ids(events: &[AuditEvent]) -> Vec<String> {
    events.iter().map(|e| e.native_id.clone()).collect()
}

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/genesys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A realistic `AuditLogMessage`.
pub fn record(id: &str, event_date: &str) -> Value {
    json!({
        "id": id,
        "userHomeOrgId": "a3c5e7f9-1b2d-4f60-8a9c-0e1f2a3b4c5d",
        "user": {"id": "5b7d9f1a-3c5e-4a70-9b2d-4f6a8c0e2b4d", "selfUri": "/api/v2/users/5b7d9f1a-3c5e-4a70-9b2d-4f6a8c0e2b4d"},
        "client": {"id": "c8e0a2b4-6d8f-4012-b345-6789abcdef01", "selfUri": "/api/v2/oauth/clients/c8e0a2b4-6d8f-4012-b345-6789abcdef01"},
        "remoteIp": ["203.0.113.10"],
        "serviceName": "Routing",
        "level": "USER",
        "eventDate": event_date,
        "message": {"localizableMessageCode": "AUDIT_QUEUE_UPDATED", "message": format!("Queue updated ({id})"), "messageWithParams": "Queue updated", "messageParams": {}},
        "action": "Update",
        "entity": {"id": "1e2d3c4b-5a69-4788-97a6-b5c4d3e2f1a0", "name": "Tier 2 Support"},
        "entityType": "Queue",
        "status": "SUCCESS",
        "application": "Genesys Cloud Admin UI",
        "initiatingAction": {"transactionId": format!("tx-{id}"), "actionContext": "Update"},
        "transactionInitiator": true,
        "propertyChanges": [{"property": "acwTimeoutMs", "oldValues": ["30000"], "newValues": ["45000"]}],
        "context": {},
        "entityChanges": []
    })
}

/// `n` records from `start`, `step` apart, ids `r000`, `r001`, …
pub fn records(n: usize, start: DateTime<Utc>, step: chrono::TimeDelta) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let t = start + step * i as i32;
            record(
                &format!("r{i:03}"),
                &t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            )
        })
        .collect()
}

/// A query the fake knows.
#[derive(Debug, Clone)]
pub struct FakeQuery {
    pub id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub body: Value,
    pub polls: usize,
}

/// What the fake was asked, in order (`POST q1`, `GET q1`, `RESULTS q1 cursor size`, …).
#[derive(Default)]
pub struct State {
    pub records: Mutex<Vec<Value>>,
    pub token_expires_in: AtomicU64,
    pub tokens: Mutex<Vec<String>>,
    pub revoked: Mutex<HashSet<String>>,
    /// Reject every token (an API that never accepts the client).
    pub reject_all_tokens: AtomicBool,
    /// Refuse the next N requests whatever their token (an injected "expired token").
    pub refuse_next: AtomicUsize,
    /// The error code of the 401s (`bad.credentials` unless set).
    pub unauthorized_code: Mutex<Option<String>>,
    pub queries: Mutex<Vec<FakeQuery>>,
    /// How many status polls answer `Running` before the final state.
    pub running_polls: AtomicUsize,
    /// The final state (`Succeeded` unless set).
    pub final_state: Mutex<Option<String>>,
    /// Pages larger than this are refused with `response.entity.too.large` (0: never).
    pub too_large_above: AtomicUsize,
    /// Repeat the last record of the previous page at the top of every later page.
    pub duplicate_boundary: AtomicBool,
    /// With `allowRedirect=true`, the first page of each query is a 302 to this host.
    pub download_base: Mutex<Option<String>>,
    pub log: Mutex<Vec<String>>,
    pub realtime_bodies: Mutex<Vec<Value>>,
    /// The results page at this cursor answers `200 {}` once.
    pub empty_envelope_at: Mutex<Option<String>>,
    /// Realtime pages hold this many records whatever was asked (0: as asked).
    pub realtime_page_size: AtomicUsize,
    /// Realtime pages carry neither `pageCount` nor `total`.
    pub realtime_omit_counts: AtomicBool,
}

/// When a record happened, for the fake's filters: its `eventDate`, or for a record made
/// without one, the `x_time` the test placed it at.
fn placed_at(record: &Value) -> DateTime<Utc> {
    at(record["eventDate"]
        .as_str()
        .or(record["x_time"].as_str())
        .unwrap())
}

impl State {
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn token_requests(&self) -> usize {
        self.tokens.lock().unwrap().len()
    }

    pub fn queries(&self) -> Vec<FakeQuery> {
        self.queries.lock().unwrap().clone()
    }

    /// The records of `[start, end)`, oldest first.
    fn select(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Value> {
        let mut selected: Vec<Value> = self
            .records
            .lock()
            .unwrap()
            .iter()
            .filter(|r| {
                let t = placed_at(r);
                t >= start && t < end
            })
            .cloned()
            .collect();
        selected.sort_by_key(placed_at);
        selected
    }
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("inin-correlation-id", "corr-0001")
        .set_body_json(json!({"message": message, "code": code, "status": status,
            "contextId": "ctx-0001", "details": [], "errors": []}))
}

fn query_pairs(request: &Request) -> Vec<(String, String)> {
    request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param(request: &Request, key: &str) -> Option<String> {
    query_pairs(request)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn parse_interval(text: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    let (a, b) = text.split_once('/').unwrap();
    (at(a), at(b))
}

/// The API host.
pub struct FakeApi(pub Arc<State>);

impl Respond for FakeApi {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let injected = state
            .refuse_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let valid = !injected
            && bearer.as_ref().is_some_and(|token| {
                state.tokens.lock().unwrap().contains(token)
                    && !state.revoked.lock().unwrap().contains(token)
                    && !state.reject_all_tokens.load(Ordering::SeqCst)
            });
        if !valid {
            state.log.lock().unwrap().push("401".into());
            let code = state
                .unauthorized_code
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_else(|| "bad.credentials".into());
            return error(401, &code, "Invalid login credentials.");
        }
        let path = request.url.path().to_string();
        let method = request.method.as_str().to_string();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("POST", ["api", "v2", "audits", "query"]) => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let (start, end) = parse_interval(body["interval"].as_str().unwrap());
                let mut queries = state.queries.lock().unwrap();
                let id = format!("q{}", queries.len() + 1);
                queries.push(FakeQuery {
                    id: id.clone(),
                    start,
                    end,
                    body: body.clone(),
                    polls: 0,
                });
                state.log.lock().unwrap().push(format!("POST {id}"));
                ResponseTemplate::new(202).set_body_json(json!({
                    "id": id, "state": "Queued", "startDate": "2024-06-01T08:00:01.123Z",
                    "interval": body["interval"],
                    // Echoed like the simulator does: `[]` when absent (the generated type
                    // refuses `null` there).
                    "sort": body.get("sort").cloned().unwrap_or(json!([])),
                    "filters": body.get("filters").cloned().unwrap_or(json!([]))
                }))
            }
            ("GET", ["api", "v2", "audits", "query", "servicemapping"]) => {
                ResponseTemplate::new(200).set_body_json(fixture("servicemapping.json"))
            }
            ("GET", ["api", "v2", "audits", "query", "realtime", "servicemapping"]) => {
                ResponseTemplate::new(200).set_body_json(fixture("realtime-servicemapping.json"))
            }
            ("POST", ["api", "v2", "audits", "query", "realtime", "related"]) => {
                ResponseTemplate::new(200).set_body_json(fixture("realtime-related.json"))
            }
            ("POST", ["api", "v2", "audits", "query", "realtime"]) => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                state.realtime_bodies.lock().unwrap().push(body.clone());
                let (start, end) = parse_interval(body["interval"].as_str().unwrap());
                let number = body["pageNumber"].as_u64().unwrap_or(1) as usize;
                let size = match state.realtime_page_size.load(Ordering::SeqCst) {
                    0 => body["pageSize"].as_u64().unwrap_or(25) as usize,
                    own => own,
                };
                let all = state.select(start, end);
                let from = ((number - 1) * size).min(all.len());
                let to = (from + size).min(all.len());
                state
                    .log
                    .lock()
                    .unwrap()
                    .push(format!("REALTIME {number} {size}"));
                if state.realtime_omit_counts.load(Ordering::SeqCst) {
                    return ResponseTemplate::new(200).set_body_json(json!({
                        "entities": all[from..to], "pageSize": size, "pageNumber": number
                    }));
                }
                ResponseTemplate::new(200).set_body_json(json!({
                    "entities": all[from..to], "pageSize": size, "pageNumber": number,
                    "total": all.len(), "pageCount": all.len().div_ceil(size)
                }))
            }
            ("GET", ["api", "v2", "audits", "query", id]) => {
                let mut queries = state.queries.lock().unwrap();
                let Some(query) = queries.iter_mut().find(|q| q.id == *id) else {
                    return error(404, "not.found", "The requested resource was not found.");
                };
                query.polls += 1;
                state.log.lock().unwrap().push(format!("GET {id}"));
                let running = query.polls <= state.running_polls.load(Ordering::SeqCst);
                let final_state = state
                    .final_state
                    .lock()
                    .unwrap()
                    .clone()
                    .unwrap_or_else(|| "Succeeded".into());
                let (status, value) = if running {
                    (202, "Running".to_string())
                } else {
                    (200, final_state)
                };
                ResponseTemplate::new(status).set_body_json(json!({"id": id, "state": value}))
            }
            ("GET", ["api", "v2", "audits", "query", id, "results"]) => {
                let query = state
                    .queries
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|q| q.id == *id)
                    .cloned();
                let Some(query) = query else {
                    return error(404, "not.found", "The requested resource was not found.");
                };
                let size: usize = param(request, "pageSize").map_or(25, |s| s.parse().unwrap());
                let cursor = param(request, "cursor");
                state.log.lock().unwrap().push(format!(
                    "RESULTS {id} {} {size}",
                    cursor.as_deref().unwrap_or("-")
                ));
                let mut envelope_gone = state.empty_envelope_at.lock().unwrap();
                if envelope_gone.is_some() && *envelope_gone == cursor {
                    *envelope_gone = None;
                    return ResponseTemplate::new(200).set_body_json(json!({}));
                }
                drop(envelope_gone);
                let limit = state.too_large_above.load(Ordering::SeqCst);
                if limit > 0 && size > limit {
                    return error(
                        400,
                        "response.entity.too.large",
                        "The response is over the size limit. Reduce pageSize or expand list to reduce response size if applicable",
                    );
                }
                let all = state.select(query.start, query.end);
                let start: usize = cursor.as_deref().map_or(0, |c| c.parse().unwrap());
                let end = (start + size).min(all.len());
                let next = (end < all.len()).then(|| end.to_string());
                let redirect = param(request, "allowRedirect").as_deref() == Some("true");
                if redirect
                    && start == 0
                    && let Some(base) = state.download_base.lock().unwrap().clone()
                {
                    let url = format!(
                        "{base}/audit-query-results/{id}/page-{start}-{end}.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=SIGnotForLogs0123"
                    );
                    let mut body = json!({"id": id, "pageSize": size, "downloadUrl": url});
                    if let Some(next) = &next {
                        body["cursor"] = json!(next);
                    }
                    return ResponseTemplate::new(302).set_body_json(body);
                }
                let mut page: Vec<Value> = all[start.min(end)..end].to_vec();
                if state.duplicate_boundary.load(Ordering::SeqCst) && start > 0 {
                    page.insert(0, all[start - 1].clone());
                }
                let mut body = json!({"id": id, "pageSize": size, "entities": page});
                if let Some(next) = next {
                    body["cursor"] = json!(next);
                }
                ResponseTemplate::new(200).set_body_json(body)
            }
            _ => error(404, "not.found", "The requested resource was not found."),
        }
    }
}

/// The login host.
pub struct FakeLogin(pub Arc<State>);

pub fn basic_header_value() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"))
}

impl Respond for FakeLogin {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        let authorized = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(format!("Basic {}", basic_header_value()).as_str());
        let form = String::from_utf8_lossy(&request.body).to_string();
        if request.url.path() != "/oauth/token" || request.method.as_str() != "POST" {
            return ResponseTemplate::new(404);
        }
        if !authorized {
            state.tokens.lock().unwrap().push("(refused)".into());
            return ResponseTemplate::new(401).set_body_json(json!({
                "error": "invalid_client", "description": "authentication failed",
                "error_description": "authentication failed"
            }));
        }
        if form != "grant_type=client_credentials" {
            return ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_request", "description": "grant_type is required"
            }));
        }
        let mut tokens = state.tokens.lock().unwrap();
        let token = format!("{TOKEN_PREFIX}-{}", tokens.len() + 1);
        tokens.push(token.clone());
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "token_type": "bearer",
            "expires_in": state.token_expires_in.load(Ordering::SeqCst)
        }))
    }
}

/// A running fake: API and login hosts sharing one state.
pub struct Fake {
    pub api: MockServer,
    pub login: MockServer,
    pub state: Arc<State>,
}

impl Fake {
    pub async fn start(records: Vec<Value>) -> Fake {
        let state = Arc::new(State::default());
        *state.records.lock().unwrap() = records;
        state.token_expires_in.store(86_400, Ordering::SeqCst);
        let api = MockServer::start().await;
        let login = MockServer::start().await;
        Mock::given(any())
            .respond_with(FakeApi(Arc::clone(&state)))
            .with_priority(100)
            .mount(&api)
            .await;
        Mock::given(any())
            .respond_with(FakeLogin(Arc::clone(&state)))
            .with_priority(100)
            .mount(&login)
            .await;
        Fake { api, login, state }
    }

    /// A client for the fake: no timeouts and no idle-connection timer (so tokio's paused
    /// clock only moves for the waits under test), no pacing, retries without jitter.
    pub fn builder(&self) -> GenesysClientBuilder {
        GenesysClient::builder()
            .api_base_url(self.api.uri())
            .login_base_url(self.login.uri())
            .client_credentials(CLIENT_ID, SECRET)
            .tenant("acme")
            .http(
                HttpConfig::default()
                    .with_connect_timeout(None)
                    .with_request_timeout(None)
                    .with_pool_idle_timeout(None),
            )
            .pacing(PacingConfig::off())
            .retry_policy(fast_retries())
    }

    pub fn client(&self) -> GenesysClient {
        self.builder().build().expect("a valid test client")
    }
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(6)
        .with_backoff(Duration::from_secs(1), Duration::from_secs(8))
        .without_jitter()
}
