//! `/_sim/…` on every listener, without authentication, for out-of-process users (the
//! binary): `GET /_sim/stats` (the counters as JSON) and
//! `GET /_sim/ground-truth?tenant=acme&stream=zendesk-audit-logs&since=…&until=…`, and
//! `GET /_sim/outage?vendor=zendesk&mode=reset|error|hang|html|off` (see [`crate::outage`]).

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::ground_truth::{Stream, ground_truth};
use crate::http::{Query, json};
use crate::server::Sim;

/// Answers a control request.
pub fn handle(sim: &Sim, path: &str, query: Option<&str>) -> Response {
    match path {
        "/_sim/stats" => json(
            StatusCode::OK,
            &serde_json::to_value(sim.stats.snapshot()).expect("stats serialise"),
        ),
        "/_sim/ground-truth" => {
            let q = Query::parse(query);
            let bad = |m: String| json(StatusCode::BAD_REQUEST, &json!({"error": m}));
            let time = |k: &str| -> Result<DateTime<Utc>, String> {
                q.get(k)
                    .ok_or(format!("{k} is required"))
                    .and_then(|v| DateTime::parse_from_rfc3339(v).map_err(|e| format!("{k}: {e}")))
                    .map(|t| t.with_timezone(&Utc))
            };
            let stream: Stream = match q.get("stream").unwrap_or("").parse() {
                Ok(s) => s,
                Err(e) => return bad(e),
            };
            let (since, until) = match (time("since"), time("until")) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return bad(e),
            };
            match ground_truth(
                sim,
                q.get("tenant").unwrap_or(""),
                &stream,
                since,
                until,
                Utc::now(),
            ) {
                Ok(ids) => json(StatusCode::OK, &json!({ "ids": ids })),
                Err(e) => bad(e.to_string()),
            }
        }
        "/_sim/outage" => {
            let q = Query::parse(query);
            let mode = match q.get("mode").unwrap_or("") {
                "off" => Ok(None),
                mode => mode.parse::<crate::outage::OutageMode>().map(Some),
            };
            match mode.and_then(|mode| sim.outages.set(q.get("vendor"), mode)) {
                Ok(()) => json(StatusCode::OK, &json!({"ok": true})),
                Err(e) => json(StatusCode::BAD_REQUEST, &json!({"error": e})),
            }
        }
        _ => json(
            StatusCode::NOT_FOUND,
            &json!({"error": "unknown control path"}),
        ),
    }
}
