//! What the generated raw clients share: [`Recorded`] (with [`RawJson`]), and what every client does around each
//! request.
//!
//! The orphan rule puts each `impl ClientHooks for Client` in its raw crate; those impls are
//! one-liners that call the functions here:
//!
//! - [`strip_api_version`]: progenitor adds `api-version: <info.version>` to every request.
//!   Neither Zendesk nor Genesys Cloud defines that header, so it is removed rather than
//!   sent to a vendor that might one day reject it.
//! - [`execute_traced`]: runs the request inside a `tracing` span naming the vendor and
//!   operation, and logs the status and duration. Only the method and path are recorded:
//!   never headers (credentials) nor the query string.
//! - [`cap_body`] (called by [`execute_traced`] on every success): a body larger than the cap
//!   in force ([`with_max_body_bytes`], default [`DEFAULT_MAX_BODY_BYTES`]), or one that never
//!   ends, is refused with [`BodyTooLarge`] after at most the cap was read.
//! - [`with_lossy_bodies`]: inside it, [`execute_traced`] reads a success body that is not
//!   UTF-8 text from a lossy copy and notes the records that held invalid bytes, which the
//!   page's [`Recorded`] records then carry as their [`Quarantined`] bytes.
//! - [`json_error_body`] (called by [`execute_traced`]): gateways and some vendor endpoints
//!   answer errors with HTML, plain text or nothing at all. progenitor parses every error body
//!   as the spec's error schema and, when that fails, reports `InvalidResponsePayload` *without
//!   the status code*, so a 502 from a proxy could not be told from a garbled 200. Error bodies
//!   that are not a JSON object are therefore replaced by a small JSON object (`error`,
//!   `description`, `message`, `status`, `non_json_body: true`) that both vendors' lenient error
//!   schemas decode; the status and headers are kept.

#![deny(missing_docs)]

mod body_cap;
mod lossy;
mod raw_json;
mod recorded;
mod repair;
mod secret;

pub use body_cap::{
    BodyTooLarge, DEFAULT_MAX_BODY_BYTES, body_too_large, cap_body, max_body_bytes,
    with_max_body_bytes,
};
pub use lossy::with_lossy_bodies;
pub use raw_json::{RawJson, write_verbatim};
pub use recorded::{DecodeIssue, Quarantined, RecordText, Recorded};
pub use secret::Secret;

use std::time::Instant;

use progenitor_client::OperationInfo;
use tracing::Instrument;

/// Error bodies longer than this are cut: an error page needs no more to be understood, and a
/// body that never ends must not hold the client.
pub const MAX_ERROR_BODY_BYTES: usize = 256 * 1024;

/// How much of a non-JSON error body is kept in the replacement's `description`.
const EXCERPT_CHARS: usize = 300;

/// A non-JSON body as one line of readable text for an error message: an HTML page (a
/// gateway's, a captive portal's) without its tags, whitespace runs (line breaks included)
/// as one space, at most [`EXCERPT_CHARS`] characters.
fn readable_excerpt(body: &str) -> String {
    let body = body.trim();
    let text = if body.starts_with('<') {
        let mut text = String::with_capacity(body.len());
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    text.push(' ');
                }
                _ if !in_tag => text.push(c),
                _ => {}
            }
        }
        text
    } else {
        body.to_string()
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    words.join(" ").chars().take(EXCERPT_CHARS).collect()
}

/// The header progenitor adds to every request.
pub const API_VERSION_HEADER: &str = "api-version";

/// Removes progenitor's `api-version` header from an outgoing request.
pub fn strip_api_version(request: &mut reqwest::Request) {
    request.headers_mut().remove(API_VERSION_HEADER);
}

/// Executes `request` with `client` inside a `http.request` span for `vendor` and the
/// operation, logging the outcome at debug level.
pub async fn execute_traced(
    client: &reqwest::Client,
    vendor: &'static str,
    request: reqwest::Request,
    info: &OperationInfo,
) -> reqwest::Result<reqwest::Response> {
    let span = tracing::debug_span!(
        "http.request",
        vendor,
        operation = info.operation_id,
        method = %request.method(),
        path = request.url().path(),
    );
    async move {
        let started = Instant::now();
        // Only the path and query (credentials travel in headers), and only when it may be
        // needed.
        let page = lossy::enabled().then(|| match request.url().query() {
            Some(query) => format!("{}?{query}", request.url().path()),
            None => request.url().path().to_string(),
        });
        let result = match client.execute(request).await {
            Ok(response) if response.status().as_u16() >= 400 => json_error_body(response).await,
            Ok(response) if let Some(page) = &page => {
                Ok(read_lossily(cap_body(response, max_body_bytes()), page).await)
            }
            Ok(response) => Ok(cap_body(response, max_body_bytes())),
            Err(error) => Err(error),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(response) => {
                tracing::debug!(status = response.status().as_u16(), elapsed_ms, "response")
            }
            Err(error) => tracing::debug!(%error, elapsed_ms, "request failed"),
        }
        result
    }
    .instrument(span)
    .await
}

/// `response` with its body read whole and made UTF-8 text (see [`with_lossy_bodies`]). A body
/// that cannot be read is handed on as the same failure, to be met when it is decoded.
async fn read_lossily(response: reqwest::Response, page: &str) -> reqwest::Response {
    let status = response.status();
    let version = response.version();
    let mut headers = response.headers().clone();
    let body = match response.bytes().await {
        Ok(body) => {
            let body = lossy::lossy_body(body, page);
            headers.insert(reqwest::header::CONTENT_LENGTH, body.len().into());
            reqwest::Body::from(body)
        }
        Err(error) => reqwest::Body::wrap_stream(futures::stream::once(async move {
            Err::<bytes::Bytes, _>(error)
        })),
    };
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    reqwest::Response::from(rebuilt)
}

/// Returns `response` unchanged unless it is an error whose body is not a JSON object; such a
/// body is replaced by a JSON object describing it (see the crate docs). Error bodies are read
/// up to [`MAX_ERROR_BODY_BYTES`].
pub async fn json_error_body(
    mut response: reqwest::Response,
) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    if status.as_u16() < 400 {
        return Ok(response);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ERROR_BODY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ERROR_BODY_BYTES {
            break;
        }
    }
    let is_json_object = matches!(
        serde_json::from_slice::<serde_json::Value>(&body),
        Ok(serde_json::Value::Object(_))
    );
    let mut headers = response.headers().clone();
    let body = if is_json_object {
        body
    } else {
        let excerpt = readable_excerpt(&String::from_utf8_lossy(&body));
        let reason = status.canonical_reason().unwrap_or("error");
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        serde_json::to_vec(&serde_json::json!({
            "error": format!("HTTP {} {reason}", status.as_u16()),
            "description": excerpt,
            "message": excerpt,
            "status": status.as_u16(),
            "non_json_body": true,
        }))
        .expect("a JSON object serialises")
    };
    headers.insert(reqwest::header::CONTENT_LENGTH, body.len().into());
    let mut rebuilt = http::Response::new(reqwest::Body::from(body));
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = response.version();
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}
