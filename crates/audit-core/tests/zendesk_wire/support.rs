//! Test helpers: a client for a local server, fake Zendesk endpoints that paginate like the
//! real ones, and a scripted raw-TCP server for resets and truncated bodies.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_core::zendesk::{ZendeskClient, ZendeskClientBuilder};
use audit_core::{HttpConfig, PacingConfig, RetryPolicy};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

pub const EMAIL: &str = "admin@acme.example";
/// A token that must never show up in any output.
pub const TOKEN: &str = "Zx9SECRETtokenNeverPrintMe42";

/// A client for `uri`: no timeouts and no idle-connection timer (so tokio's paused clock only
/// moves for the waits under test), no pacing, retries without jitter.
pub fn builder(uri: &str) -> ZendeskClientBuilder {
    ZendeskClient::builder()
        .base_url(uri)
        .tenant("acme")
        .api_token(EMAIL, TOKEN)
        .http(
            HttpConfig::default()
                .with_connect_timeout(None)
                .with_request_timeout(None)
                .with_pool_idle_timeout(None),
        )
        .pacing(PacingConfig::off())
        .retry_policy(fast_retries())
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(6)
        .with_backoff(Duration::from_secs(1), Duration::from_secs(8))
        .without_jitter()
}

pub fn client(uri: &str) -> ZendeskClient {
    builder(uri).build().expect("a valid test client")
}

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/zendesk/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// An audit-log record.
pub fn audit_log(id: i64, created_at: &str) -> Value {
    json!({
        "id": id,
        "url": format!("https://acme.zendesk.com/api/v2/audit_logs/{id}.json"),
        "created_at": created_at,
        "action": "update",
        "action_label": "Updated",
        "actor_id": 7700412231i64,
        "actor_name": "Priya Raman",
        "source_id": 360011422057i64,
        "source_type": "rule",
        "source_label": "Trigger: Notify CRM",
        "change_description": format!("Change {id}"),
        "ip_address": "203.0.113.54"
    })
}

/// A ticket audit with one `Change` event.
pub fn ticket_audit(id: i64, created_at: &str) -> Value {
    json!({
        "id": id,
        "ticket_id": 48000 + id % 7,
        "created_at": created_at,
        "author_id": 7700412298i64,
        "metadata": {"system": {"ip_address": "203.0.113.54"}, "custom": {}},
        "via": {"channel": "web"},
        "events": [{"id": id * 10, "type": "Change", "field_name": "status", "value": "open", "previous_value": "new"}]
    })
}

pub fn ids(events: &[audit_core::AuditEvent]) -> Vec<String> {
    events.iter().map(|e| e.native_id.clone()).collect()
}

fn query(request: &Request) -> Vec<(String, String)> {
    request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// How the fake audit-log endpoint points to the next page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NextStyle {
    /// `links.next` (absolute URL on the server) and `meta.after_cursor`.
    LinksNext,
    /// Only `meta.after_cursor`; `links` null.
    CursorOnly,
    /// Only `meta.after_cursor`, and no `has_more` at all.
    CursorWithoutHasMore,
}

/// `/api/v2/audit_logs` over `records` (oldest first): honours `filter[created_at][]`
/// (inclusive), `page[size]` and `page[after]` (an index).
pub struct FakeAuditLogs {
    pub records: Vec<Value>,
    pub base: String,
    pub style: NextStyle,
    /// Repeat the last record of the previous page at the top of every later page.
    pub duplicate_boundary: bool,
}

impl Respond for FakeAuditLogs {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let pairs = query(request);
        let bounds: Vec<DateTime<Utc>> = pairs
            .iter()
            .filter(|(k, _)| k == "filter[created_at][]")
            .map(|(_, v)| v.parse().unwrap())
            .collect();
        let matching: Vec<&Value> = self
            .records
            .iter()
            .filter(|r| {
                // A record without `created_at` stays where it is (it matches any filter).
                let Some(t) = r["created_at"].as_str() else {
                    return true;
                };
                let t: DateTime<Utc> = t.parse().unwrap();
                bounds.len() != 2 || (t >= bounds[0] && t <= bounds[1])
            })
            .collect();
        let size: usize = first(&pairs, "page[size]").map_or(100, |s| s.parse().unwrap());
        let start: usize = first(&pairs, "page[after]").map_or(0, |s| s.parse().unwrap());
        let end = (start + size).min(matching.len());
        let mut page: Vec<Value> = matching[start.min(end)..end]
            .iter()
            .map(|v| (*v).clone())
            .collect();
        if self.duplicate_boundary && start > 0 && start <= matching.len() {
            page.insert(0, matching[start - 1].clone());
        }
        let has_more = end < matching.len();
        let cursor = has_more.then(|| end.to_string());
        let next = match (self.style, &cursor) {
            (NextStyle::LinksNext, Some(cursor)) => {
                let kept: Vec<(String, String)> = pairs
                    .iter()
                    .filter(|(k, _)| k != "page[after]")
                    .cloned()
                    .collect();
                let mut url =
                    url::Url::parse(&format!("{}/api/v2/audit_logs.json", self.base)).unwrap();
                url.query_pairs_mut()
                    .extend_pairs(kept)
                    .append_pair("page[after]", cursor);
                Value::String(url.to_string())
            }
            _ => Value::Null,
        };
        let mut meta = json!({"has_more": has_more, "after_cursor": cursor, "before_cursor": null});
        if self.style == NextStyle::CursorWithoutHasMore {
            meta.as_object_mut().unwrap().remove("has_more");
        }
        let body = match self.style {
            NextStyle::LinksNext => {
                json!({"audit_logs": page, "meta": meta, "links": {"next": next, "prev": null}})
            }
            _ => json!({"audit_logs": page, "meta": meta, "links": null}),
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// `/api/v2/ticket_audits` in legacy cursor mode over `records` (newest first): honours
/// `cursor` (an index) and `limit`, and records every `limit` it was asked for.
pub struct FakeTicketAudits {
    pub records: Vec<Value>,
    pub base: String,
    pub duplicate_boundary: bool,
    pub limits: Arc<Mutex<Vec<usize>>>,
}

impl Respond for FakeTicketAudits {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let pairs = query(request);
        // Cursor pagination when `page[size]` is sent, else the legacy mode.
        let standard = first(&pairs, "page[size]").is_some();
        let (size_key, cursor_key) = if standard {
            ("page[size]", "page[after]")
        } else {
            ("limit", "cursor")
        };
        let limit: usize = first(&pairs, size_key).map_or(1000, |s| s.parse().unwrap());
        self.limits.lock().unwrap().push(limit);
        // A cursor `e<n>` leads where `<n>` does (tests hand it out as a fresh cursor).
        let start: usize =
            first(&pairs, cursor_key).map_or(0, |s| s.trim_start_matches('e').parse().unwrap());
        let end = (start + limit).min(self.records.len());
        let mut page: Vec<Value> = self.records[start.min(end)..end].to_vec();
        if self.duplicate_boundary && start > 0 {
            page.insert(0, self.records[start - 1].clone());
        }
        let more = end < self.records.len();
        if standard {
            let after = more.then(|| end.to_string());
            return ResponseTemplate::new(200).set_body_json(json!({
                "audits": page,
                "meta": {"has_more": more, "after_cursor": after, "before_cursor": start.to_string()},
                "links": {
                    "next": after.as_ref().map(|c| format!(
                        "{}/api/v2/ticket_audits.json?page%5Bafter%5D={c}&page%5Bsize%5D={limit}",
                        self.base
                    )),
                    "prev": null
                }
            }));
        }
        let before_cursor = more.then(|| end.to_string());
        let before_url = before_cursor.as_ref().map(|c| {
            format!(
                "{}/api/v2/ticket_audits.json?cursor={c}&limit={limit}",
                self.base
            )
        });
        ResponseTemplate::new(200).set_body_json(json!({
            "audits": page,
            "before_cursor": before_cursor,
            "before_url": before_url,
            "after_cursor": if start > 0 { Some(start.to_string()) } else { None },
            "after_url": null
        }))
    }
}

/// What the scripted server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete JSON response.
    Json(u16, Value),
    /// Headers announcing the whole body, then only its first `keep` bytes, then close.
    Truncated(Value, usize),
    /// Close the connection without answering.
    Close,
}

/// A raw HTTP/1.1 server on its own thread that answers requests in arrival order from
/// `script`, and records each request line.
pub struct ScriptedServer {
    pub uri: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

pub fn scripted_server(script: Vec<Reply>) -> ScriptedServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        let mut script = script.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = Vec::new();
            let mut byte = [0u8; 1];
            while !buffer.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => buffer.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&buffer).to_string();
            seen.lock()
                .unwrap()
                .push(head.lines().next().unwrap_or_default().to_string());
            let Some(reply) = script.next() else { break };
            match reply {
                Reply::Json(status, body) => {
                    let body = body.to_string();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                Reply::Truncated(body, keep) => {
                    let body = body.to_string();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                        body.len(),
                        &body[..keep.min(body.len())]
                    );
                }
                Reply::Close => {}
            }
            let _ = stream.flush();
            drop(stream);
        }
    });
    ScriptedServer { uri, requests }
}
