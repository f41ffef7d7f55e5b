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

use super::{body_json, error, expand_user, matches, page_too_large, parse_spec};
use crate::data::genesys::GenesysData;
use crate::data::json_text::write_u64;
use crate::data::prng::hash_str;
use crate::faults::FaultKind;
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
            // Genesys documents no maximum for realtime; a page too long is refused by size.
            Some(n) if n >= 1 => n as u64,
            _ => return bad("invalid.value", "pageSize must be a positive integer"),
        },
    };
    if ctx.plan.empty_envelope {
        let report = PageReport {
            anomalies: vec![FaultKind::EmptyEnvelope],
            ..PageReport::default()
        };
        return with_report(json(StatusCode::OK, &json!({})), report);
    }
    // `realtime_ignores_page_size` is decided per query (the body without its paging), so
    // every page of a query answers alike.
    let own_size = {
        let mut unpaged = body.clone();
        if let Some(o) = unpaged.as_object_mut() {
            o.remove("pageNumber");
            o.remove("pageSize");
        }
        let tenant = &sim.tenants[ctx.tenant].config.name;
        sim.faults.query_fires(
            FaultKind::RealtimeIgnoresPageSize,
            tenant,
            hash_str(&unpaged.to_string()),
        )
    };
    let page_size = if own_size {
        sim.config.faults.realtime_own_page_size.max(1)
    } else {
        page_size
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
    let mut positions = sel.skip_take((page_number - 1) * page_size, page_size as usize);
    let mut page_count = total.div_ceil(page_size);
    let mut report = PageReport::default();
    if own_size {
        report.anomalies.push(FaultKind::RealtimeIgnoresPageSize);
    }
    if ctx.plan.empty_page && page_number < page_count {
        // A premature end: no records, and this page said to be the last.
        report.anomalies.push(FaultKind::EmptyPage);
        positions.clear();
        page_count = page_number;
    } else if ctx.plan.out_of_order
        && crate::anomalies::swap_neighbours(&mut positions, ctx.plan.draw, |i| g.time_of(i))
    {
        report.anomalies.push(FaultKind::OutOfOrder);
    }
    if let Some(refused) = page_too_large(&sim, positions.len(), expand, &ctx.correlation) {
        return refused;
    }
    report.records = positions.len() as u64;
    let non_object = crate::anomalies::non_object_at(&ctx.plan, positions.len(), &mut report);
    // {"entities", "pageSize", "pageNumber", "total", "pageCount"}, the records written
    // straight into the body.
    let mut body = Vec::new();
    body.extend_from_slice(b"{\"entities\":");
    crate::anomalies::write_genesys_records(&sim, g, &mut body, &positions, expand, non_object);
    for (key, n) in [
        (&b",\"pageSize\":"[..], page_size),
        (b",\"pageNumber\":", page_number),
        (b",\"total\":", total),
    ] {
        body.extend_from_slice(key);
        write_u64(&mut body, n);
    }
    if !own_size {
        body.extend_from_slice(b",\"pageCount\":");
        write_u64(&mut body, page_count);
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
    crate::anomalies::write_genesys_records(&sim, g, &mut body, &indices, expand, None);
    body.push(b'}');
    with_report(json_text(StatusCode::OK, body), report)
}
