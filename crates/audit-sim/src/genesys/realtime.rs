//! Realtime queries (paged by number, last 14 days, realtime services only), related audits,
//! and the two service mappings.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use chrono::Utc;
use serde_json::json;

use super::{body_json, error, expand_user, matches, parse_spec};
use crate::data::genesys::GenesysData;
use crate::data::json_text::write_u64;
use crate::http::{Ctx, PageReport, Query, json, json_text, with_report};
use crate::paging::Selection;
use crate::server::Sim;

/// `GET /api/v2/audits/query/servicemapping`.
pub async fn query_mapping() -> Response {
    json(StatusCode::OK, &GenesysData::service_mapping(false))
}

/// `GET /api/v2/audits/query/realtime/servicemapping`.
pub async fn realtime_mapping() -> Response {
    json(StatusCode::OK, &GenesysData::service_mapping(true))
}

/// The index range a realtime query covers: the interval, clipped to the last
/// `realtime_days` days and to the records visible now.
pub fn realtime_range(
    sim: &Sim,
    g: &GenesysData,
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
) -> (u64, u64) {
    let floor = now_ms - sim.config.genesys.realtime_days as i64 * 86_400_000;
    let tl = g.timeline();
    let lo = tl.first_at_or_after(start_ms.max(floor));
    let hi = tl
        .first_at_or_after(end_ms)
        .min(tl.first_after(now_ms))
        .max(lo);
    (lo, hi)
}

/// `POST /api/v2/audits/query/realtime`.
pub async fn realtime(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let bad = |code: &str, msg: &str| error(StatusCode::BAD_REQUEST, code, msg, &ctx.correlation);
    let body = match body_json(&body, &ctx.correlation) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let spec = match parse_spec(&body, &ctx.correlation, None) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let expand = match expand_user(&Query::parse(ctx.query.as_deref()), &ctx.correlation) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let page_number = match body.get("pageNumber").filter(|v| !v.is_null()) {
        None => 1,
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 => n as u64,
            _ => return bad("invalid.value", "pageNumber must be a positive integer"),
        },
    };
    let page_size = match body.get("pageSize").filter(|v| !v.is_null()) {
        None => 25,
        Some(v) => match v.as_i64() {
            Some(n) if (1..=500).contains(&n) => n as u64,
            _ => return bad("invalid.value", "pageSize must be between 1 and 500"),
        },
    };
    let g = &sim.tenants[ctx.tenant].genesys;
    let (lo, hi) = realtime_range(
        &sim,
        g,
        spec.start_ms,
        spec.end_ms,
        Utc::now().timestamp_millis(),
    );
    let pred = |i: u64| matches(g, &spec, true, i);
    let sel = Selection {
        lo,
        hi,
        desc: spec.desc,
        pred: Some(&pred),
    };
    let total = sel.count();
    let positions = sel.skip_take((page_number - 1) * page_size, page_size as usize);
    let report = PageReport {
        records: positions.len() as u64,
        ..PageReport::default()
    };
    // {"entities", "pageSize", "pageNumber", "total", "pageCount"}, the records written
    // straight into the body.
    let mut body = Vec::new();
    body.extend_from_slice(b"{\"entities\":");
    g.write_records(&mut body, &positions, expand);
    for (key, n) in [
        (&b",\"pageSize\":"[..], page_size),
        (b",\"pageNumber\":", page_number),
        (b",\"total\":", total),
        (b",\"pageCount\":", total.div_ceil(page_size)),
    ] {
        body.extend_from_slice(key);
        write_u64(&mut body, n);
    }
    body.push(b'}');
    with_report(json_text(StatusCode::OK, body), report)
}

/// `POST /api/v2/audits/query/realtime/related`: every visible record of the audit's
/// transaction (the audit itself included).
pub async fn related(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let body = match body_json(&body, &ctx.correlation) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let expand = match expand_user(&Query::parse(ctx.query.as_deref()), &ctx.correlation) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let Some(audit_id) = body["auditId"].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "auditId is required",
            &ctx.correlation,
        );
    };
    let desc = body["sort"]
        .as_array()
        .and_then(|s| s.first())
        .is_some_and(|s| s["sortOrder"] == json!("descending"));
    let g = &sim.tenants[ctx.tenant].genesys;
    let visible = g.timeline().first_after(Utc::now().timestamp_millis());
    let Some(i) = g.index_of_id(audit_id).filter(|i| *i < visible) else {
        return json(
            StatusCode::NOT_FOUND,
            &json!({"message": "The requested resource was not found.", "code": "not.found", "status": 404,
                "entityId": audit_id, "contextId": ctx.correlation, "details": [], "errors": []}),
        );
    };
    let range = g.related(i);
    let mut indices: Vec<u64> = (range.start..range.end.min(visible)).collect();
    if desc {
        indices.reverse();
    }
    let report = PageReport {
        records: indices.len() as u64,
        ..PageReport::default()
    };
    let mut body = Vec::new();
    body.extend_from_slice(b"{\"entities\":");
    g.write_records(&mut body, &indices, expand);
    body.push(b'}');
    with_report(json_text(StatusCode::OK, body), report)
}
