//! Small HTTP helpers shared by the vendors' handlers.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use crate::faults::FaultPlan;

/// What the pipeline passes to a handler, in the request's extensions.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Index of the authenticated tenant.
    pub tenant: usize,
    /// The request's fault plan.
    pub plan: FaultPlan,
    /// The path as the client sent it (e.g. with `.json`).
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// Genesys correlation id of the request.
    pub correlation: String,
}

/// What a list handler reports about the page it built, in the response's extensions.
#[derive(Debug, Clone, Default)]
pub struct PageReport {
    /// Records in the page.
    pub records: u64,
    /// The page was reached by a cursor (eligible for `duplicate_across_pages`).
    pub cursor_reached: bool,
    /// `duplicate_across_pages` was applied.
    pub duplicated: bool,
    /// The request carried a cursor (eligible for `repeated_cursor`).
    pub had_cursor: bool,
    /// `repeated_cursor` was applied.
    pub repeated: bool,
    /// Page-level anomalies applied (`empty_envelope`, `empty_page`, `fresh_cursor`,
    /// `out_of_order`, `non_object_record`, `ascending_page`, `realtime_ignores_page_size`,
    /// `expired_cursor`).
    pub anomalies: Vec<crate::faults::FaultKind>,
}

/// The query string's pairs, decoded, in order.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        Query {
            pairs: url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }

    /// The pairs without the given keys.
    pub fn without(&self, keys: &[&str]) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(k, _)| !keys.contains(&k.as_str()))
            .cloned()
            .collect()
    }

    /// The keys present.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }
}

/// Encodes pairs as a query string, sorted by key (stable, so repeated keys keep their
/// order), every reserved character percent-encoded (`[` → `%5B`, `+` → `%2B`, …).
pub fn encode_query(mut pairs: Vec<(String, String)>) -> String {
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A JSON response.
pub fn json(status: StatusCode, body: &Value) -> Response {
    json_text(status, serde_json::to_vec(body).expect("JSON serialises"))
}

/// A JSON response from already written JSON text.
pub fn json_text(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// An empty response.
pub fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// An HTML response (what gateways send).
pub fn html(status: StatusCode, text: String) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

/// A gateway's HTML error page.
pub fn gateway_page(status: StatusCode) -> Response {
    let line = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    html(
        status,
        format!(
            "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}

/// Sets a header (ignoring values that are not valid header text).
pub fn set_header(r: &mut Response, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        r.headers_mut().insert(name, v);
    }
}

/// An HTTP date an hour ago (the `Retry-After` of `retry_after_past_date`).
pub fn past_http_date() -> String {
    (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Adds a page report to a response.
pub fn with_report(mut r: Response, report: PageReport) -> Response {
    r.extensions_mut().insert(report);
    r
}
