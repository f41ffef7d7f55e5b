//! The asynchronous query: create, status (`Queued` → `Running` → `Succeeded` | `Failed`),
//! results with a cursor, and the 302 to a download for large pages.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{
    QuerySpec, body_json, error, expand_user, matches, page_too_large, parse_spec, restricts,
    too_many,
};
use crate::data::json_text::{write_str, write_u64};
use crate::data::prng::{hash_str, mix, unit};
use crate::faults::FaultKind;
use crate::http::{Ctx, PageReport, Query, json, json_text, with_report};
use crate::paging::{Selection, decode_cursor_nonced, encode_cursor};
use crate::server::Sim;

const TAG_RESULTS: u64 = 0x6A01;

/// A query the simulator knows.
#[derive(Debug, Clone)]
pub struct QueryState {
    /// Query id (`transactionId`).
    pub id: String,
    /// Tenant index.
    pub tenant: usize,
    /// 1-based number of the query within its tenant.
    pub seq: u64,
    /// When it was created.
    pub created: Instant,
    /// When it was created (wall clock).
    pub created_at: DateTime<Utc>,
    /// What it asks for.
    pub spec: QuerySpec,
    /// Whether it ends `Failed`.
    pub fail: bool,
    /// Records after this instant (ms) are not in its results (the snapshot it ran on).
    pub as_of_ms: i64,
}

impl QueryState {
    /// The state now.
    pub fn state(&self, sim: &Sim) -> &'static str {
        let ms = self.created.elapsed().as_millis() as u64;
        let cfg = &sim.config.genesys;
        if ms < cfg.query_queued_ms {
            "Queued"
        } else if ms < cfg.query_queued_ms + cfg.query_running_ms {
            "Running"
        } else if self.fail {
            "Failed"
        } else {
            "Succeeded"
        }
    }

    /// Milliseconds until it finishes.
    pub fn remaining_ms(&self, sim: &Sim) -> u64 {
        let cfg = &sim.config.genesys;
        (cfg.query_queued_ms + cfg.query_running_ms)
            .saturating_sub(self.created.elapsed().as_millis() as u64)
    }

    fn expired(&self, sim: &Sim) -> bool {
        self.created.elapsed().as_secs() >= sim.config.genesys.results_ttl_secs
    }

    fn status_json(&self, state: &str) -> Value {
        json!({
            "id": self.id,
            "state": state,
            "startDate": self.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "interval": self.spec.interval_echo,
            "serviceName": self.spec.service,
            "filters": self.spec.filters_echo,
            "sort": self.spec.sort_echo,
        })
    }

    /// The records of its results, as a selection over record indices.
    pub fn with_selection<R>(&self, sim: &Sim, f: impl FnOnce(&Selection<'_>) -> R) -> R {
        let g = &sim.tenants[self.tenant].genesys;
        let tl = g.timeline();
        let lo = tl.first_at_or_after(self.spec.start_ms);
        let hi = tl
            .first_at_or_after(self.spec.end_ms)
            .min(tl.first_after(self.as_of_ms))
            .max(lo);
        let pred = |i: u64| matches(g, &self.spec, false, i);
        let sel = Selection {
            lo,
            hi,
            desc: self.spec.desc,
            pred: if restricts(&self.spec, false) {
                Some(&pred)
            } else {
                None
            },
        };
        f(&sel)
    }

    fn key(&self) -> u64 {
        hash_str(&self.id)
    }
}

/// `POST /api/v2/audits/query`.
pub async fn create(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let body = match body_json(&body, &ctx.correlation) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let spec = match parse_spec(
        &body,
        &ctx.correlation,
        Some(sim.config.genesys.max_interval_days),
    ) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut queries = sim.queries.lock().expect("queries lock");
    // One historical query per organisation at a time.
    if let Some(running) = queries
        .values()
        .filter(|q| q.tenant == ctx.tenant && matches!(q.state(&sim), "Queued" | "Running"))
        .map(|q| q.remaining_ms(&sim))
        .max()
    {
        drop(queries);
        return too_many(&sim, running.div_ceil(1000).max(1), None, &ctx.correlation);
    }
    let seq = {
        let mut seqs = sim.query_seq.lock().expect("seq lock");
        let s = seqs.entry(ctx.tenant).or_insert(0);
        *s += 1;
        *s
    };
    let cfg = &sim.config.genesys;
    let fail = cfg.query_fail_nth.contains(&seq)
        || (cfg.query_fail_rate > 0.0
            && unit(mix(&[
                sim.config.faults.seed,
                0xFA11,
                ctx.tenant as u64,
                seq,
            ])) < cfg.query_fail_rate);
    let now = Utc::now();
    let q = QueryState {
        id: sim.next_uuid(),
        tenant: ctx.tenant,
        seq,
        created: Instant::now(),
        created_at: now,
        spec,
        fail,
        as_of_ms: now.timestamp_millis(),
    };
    let state = q.state(&sim);
    let body = q.status_json(state);
    // Drop queries whose results have expired.
    queries.retain(|_, q| !q.expired(&sim));
    queries.insert(q.id.clone(), q);
    let status = if matches!(state, "Queued" | "Running") {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    json(status, &body)
}

fn find(sim: &Sim, ctx: &Ctx, id: &str) -> Result<QueryState, Response> {
    let queries = sim.queries.lock().expect("queries lock");
    match queries.get(id) {
        Some(q) if q.tenant == ctx.tenant && !q.expired(sim) => Ok(q.clone()),
        _ => Err(json(
            StatusCode::NOT_FOUND,
            &json!({"message": "The requested resource was not found.", "code": "not.found", "status": 404,
                "entityId": id, "contextId": ctx.correlation, "details": [], "errors": []}),
        )),
    }
}

/// `GET /api/v2/audits/query/{transactionId}`.
pub async fn status(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let q = match find(&sim, &ctx, &id) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let state = q.state(&sim);
    let status = if matches!(state, "Queued" | "Running") {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    json(status, &q.status_json(state))
}

/// `GET /api/v2/audits/query/{transactionId}/results`.
pub async fn results(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let q = match find(&sim, &ctx, &id) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let bad = |code: &str, msg: &str| error(StatusCode::BAD_REQUEST, code, msg, &ctx.correlation);
    match q.state(&sim) {
        "Succeeded" => {}
        "Failed" => {
            return bad(
                "bad.request",
                "The audit query execution failed; no results are available.",
            );
        }
        state => {
            return bad(
                "bad.request",
                &format!(
                    "The audit query execution is not complete (state {state}); poll its status until it has succeeded."
                ),
            );
        }
    }
    let params = Query::parse(ctx.query.as_deref());
    let page_size = match params.get("pageSize") {
        None => 25,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=500).contains(&n) => n,
            _ => {
                return bad(
                    "invalid.query.param.value",
                    "Value for parameter [pageSize] must be between 1 and 500.",
                );
            }
        },
    };
    let expand = match expand_user(&params, &ctx.correlation) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let allow_redirect = params
        .get("allowRedirect")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if ctx.plan.empty_envelope {
        let report = PageReport {
            anomalies: vec![crate::faults::FaultKind::EmptyEnvelope],
            ..PageReport::default()
        };
        return with_report(json(StatusCode::OK, &json!({})), report);
    }
    let request_cursor = params.get("cursor").filter(|c| !c.is_empty());
    let order = u64::from(q.spec.desc);
    let after = match request_cursor {
        None => None,
        Some(c) => match decode_cursor_nonced(c, 4) {
            Some(w) if w[0] == TAG_RESULTS && w[1] == order && w[3] == q.key() => Some(w[2]),
            _ => return bad("bad.request", "The cursor is invalid for this query."),
        },
    };
    let (mut positions, more, reached) = q.with_selection(&sim, |sel| {
        let (items, more) = sel.forward(after, page_size as usize);
        let reached = after.is_some_and(|p| p >= sel.lo && p < sel.hi && sel.accepts(p));
        (items, more, reached)
    });
    let mut report = PageReport {
        had_cursor: after.is_some(),
        cursor_reached: reached,
        ..PageReport::default()
    };
    let mut next = if more {
        positions
            .last()
            .map(|p| encode_cursor(&[TAG_RESULTS, order, *p, q.key()]))
    } else {
        None
    };
    if ctx.plan.repeat_cursor
        && let Some(c) = request_cursor
    {
        report.repeated = true;
        next = Some(c.to_string());
    }
    let g = &sim.tenants[q.tenant].genesys;
    let mut swap = None;
    if let Some(p) = after.filter(|_| ctx.plan.fresh_cursor) {
        // No records, and a cursor never seen before that leads back to the same place.
        report.anomalies.push(FaultKind::FreshCursor);
        positions.clear();
        next = Some(encode_cursor(&[
            TAG_RESULTS,
            order,
            p,
            q.key(),
            sim.next_nonce(),
        ]));
    } else if ctx.plan.empty_page && next.is_some() {
        // A premature end: the entities, none, and no cursor.
        report.anomalies.push(FaultKind::EmptyPage);
        positions.clear();
        next = None;
    } else if ctx.plan.out_of_order && positions.len() >= 2 {
        report.anomalies.push(FaultKind::OutOfOrder);
        swap = Some(ctx.plan.draw);
        crate::anomalies::swap_neighbours(&mut positions, ctx.plan.draw, |i| g.time_of(i));
    }
    let cfg = &sim.config.genesys;
    let n = positions.len() as u32;
    // `non_object_record`: a position of the page as served (a redirect's file holds it too).
    let non_object = crate::anomalies::non_object_at(&ctx.plan, positions.len(), &mut report);
    if allow_redirect && n > cfg.redirect_threshold {
        report.records = u64::from(n);
        let url = super::download::url(&sim, &q, after, n, swap, non_object);
        let mut body = json!({"id": q.id, "pageSize": page_size, "downloadUrl": url});
        if let Some(c) = next {
            body["cursor"] = json!(c);
        }
        return with_report(json(StatusCode::FOUND, &body), report);
    }
    if !allow_redirect
        && let Some(refused) = page_too_large(&sim, n as usize, expand, &ctx.correlation)
    {
        return refused;
    }
    // The record `non_object_record` replaces stays the same one with a duplicate before it.
    let mut non_object = non_object;
    if ctx.plan.duplicate && reached && !positions.is_empty() && !ctx.plan.fresh_cursor {
        report.duplicated = true;
        positions.insert(0, after.expect("reached by a cursor"));
        non_object = non_object.map(|k| k + 1);
    }
    report.records = positions.len() as u64;
    // {"id", "pageSize", "cursor"?, "entities"}, the records written straight into the body.
    let mut body = Vec::new();
    body.extend_from_slice(b"{\"id\":");
    write_str(&mut body, &q.id);
    body.extend_from_slice(b",\"pageSize\":");
    write_u64(&mut body, page_size);
    if let Some(c) = next {
        body.extend_from_slice(b",\"cursor\":");
        write_str(&mut body, &c);
    }
    body.extend_from_slice(b",\"entities\":");
    crate::anomalies::write_genesys_records(&sim, g, &mut body, &positions, expand, non_object);
    body.push(b'}');
    with_report(json_text(StatusCode::OK, body), report)
}
