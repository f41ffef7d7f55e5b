//! Per-tenant, per-vendor fixed-window rate limits.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::RateLimitConfig;

/// The limiter's verdict on one request.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests allowed per window (0 when the limit is off).
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Requests made in the window, this one included.
    pub count: u32,
    /// Seconds until the window resets (at least 1).
    pub reset_secs: u64,
    /// Start of the window, in seconds since the epoch.
    pub window_start: i64,
}

impl Verdict {
    /// Whether the limit is on (and headers should be sent).
    pub fn enabled(&self) -> bool {
        self.limit > 0
    }
}

/// A tenant index and a vendor.
type WindowKey = (usize, &'static str);

/// Fixed windows aligned on multiples of the window length since the epoch.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<WindowKey, (i64, u32)>>,
}

impl RateLimiter {
    /// Counts a request of `tenant` to `vendor` at `now_ms` and decides.
    pub fn check(
        &self,
        cfg: &RateLimitConfig,
        tenant: usize,
        vendor: &'static str,
        now_ms: i64,
    ) -> Verdict {
        let window_ms = (cfg.window_secs.max(1) * 1000) as i64;
        let start_ms = now_ms.div_euclid(window_ms) * window_ms;
        let mut w = self.windows.lock().expect("limiter lock");
        let entry = w.entry((tenant, vendor)).or_insert((start_ms, 0));
        if entry.0 != start_ms {
            *entry = (start_ms, 0);
        }
        entry.1 += 1;
        let count = entry.1;
        let allowed = cfg.requests == 0 || count <= cfg.requests;
        let reset_ms = start_ms + window_ms - now_ms;
        Verdict {
            allowed,
            limit: cfg.requests,
            remaining: cfg.requests.saturating_sub(count),
            count,
            reset_secs: ((reset_ms + 999) / 1000).max(1) as u64,
            window_start: start_ms / 1000,
        }
    }
}
