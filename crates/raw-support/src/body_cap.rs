//! A cap on response bodies: a body larger than the cap — or one that never ends — is refused
//! with [`BodyTooLarge`] after at most the cap has been read, so memory stays bounded.
//!
//! The cap is [`DEFAULT_MAX_BODY_BYTES`] unless the caller runs the request inside
//! [`with_max_body_bytes`]. The facade does that around every call, with the value of its
//! client configuration; the generated clients need no extra argument.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;

use futures::{StreamExt, TryStreamExt};

/// The cap when none is set: far above any audit page (Genesys' largest results pages are a
/// few MiB), far below what would hurt a machine.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

tokio::task_local! {
    static MAX_BODY_BYTES: u64;
}

/// Runs `future` with response bodies capped at `limit` bytes.
pub fn with_max_body_bytes<F: Future>(limit: u64, future: F) -> impl Future<Output = F::Output> {
    // Not an `async fn`: that would hold `future` twice (its argument and the scope).
    MAX_BODY_BYTES.scope(limit, future)
}

/// The cap in force for the current task.
pub fn max_body_bytes() -> u64 {
    MAX_BODY_BYTES
        .try_with(|limit| *limit)
        .unwrap_or(DEFAULT_MAX_BODY_BYTES)
}

/// A response body went past the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTooLarge {
    /// The cap, in bytes.
    pub limit: u64,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the response body exceeds the cap of {} bytes",
            self.limit
        )
    }
}

impl StdError for BodyTooLarge {}

/// The [`BodyTooLarge`] somewhere in `error`'s chain of sources, if any.
pub fn body_too_large(error: &(dyn StdError + 'static)) -> Option<BodyTooLarge> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<BodyTooLarge>() {
            return Some(*found);
        }
        current = error.source();
    }
    None
}

/// `response` with its body capped at `limit` bytes: reading past the cap fails with
/// [`BodyTooLarge`]; a declared `Content-Length` above the cap fails before anything is read.
pub fn cap_body(response: reqwest::Response, limit: u64) -> reqwest::Response {
    let too_large = BodyTooLarge { limit };
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        reqwest::Body::wrap_stream(futures::stream::once(async move {
            Err::<bytes::Bytes, _>(too_large)
        }))
    } else {
        let mut seen = 0u64;
        let capped = response
            .bytes_stream()
            .map_err(|error| Box::new(error) as Box<dyn StdError + Send + Sync>)
            .map(move |chunk| {
                let chunk = chunk?;
                seen += chunk.len() as u64;
                if seen > limit {
                    return Err(Box::new(too_large) as Box<dyn StdError + Send + Sync>);
                }
                Ok(chunk)
            });
        reqwest::Body::wrap_stream(capped)
    };
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    reqwest::Response::from(rebuilt)
}
