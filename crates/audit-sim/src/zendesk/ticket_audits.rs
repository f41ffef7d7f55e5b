//! `/api/v2/ticket_audits` (legacy and standard cursor) and the per-ticket operations.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::{cursor_mode, error, not_found, now_secs, offset_page, standard_page};
use crate::anomalies::{RecordType, list_body, zendesk_record};
use crate::data::zendesk::ZendeskData;
use crate::data::{from_secs, zendesk_time};
use crate::faults::FaultKind;
use crate::http::{Ctx, PageReport, Query, encode_query, json, json_text, with_report};
use crate::paging::Selection;
use crate::server::{Sim, tenant_key};

const TAG_ACCOUNT: u64 = 0x7A01;
const TAG_TICKET: u64 = 0x7A02;

/// The audits as JSON text, with the record-level anomalies that hit them.
fn audits_json(
    sim: &Sim,
    tenant: usize,
    z: &ZendeskData,
    indices: &[u64],
    filter_events: &[&str],
) -> Vec<Vec<u8>> {
    let private = sim.private_audits.lock().expect("private lock");
    indices
        .iter()
        .map(|&i| {
            let mut a = z.render_audit(i, private.contains(&(tenant, z.audit_id(i))));
            if !filter_events.is_empty()
                && let Some(events) = a.get_mut("events").and_then(Value::as_array_mut)
            {
                events.retain(|e| {
                    e["type"]
                        .as_str()
                        .is_some_and(|t| filter_events.contains(&t))
                });
            }
            zendesk_record(sim, RecordType::ZendeskAudit, a)
        })
        .collect()
}

/// The audits of a `/ticket_audits` page (its positions newest first, cursors already
/// made) as JSON text, with the page-level anomalies of the request: `ascending_page` (the
/// page oldest first) and `non_object_record` (one audit the number `5`).
fn page_audits(
    sim: &Sim,
    ctx: &Ctx,
    z: &ZendeskData,
    positions: &mut [u64],
    report: &mut PageReport,
) -> Vec<Vec<u8>> {
    if ctx.plan.ascending_page && crate::anomalies::ascending_page(positions, |i| z.audit_time(i)) {
        report.anomalies.push(FaultKind::AscendingPage);
    }
    let mut audits = audits_json(sim, ctx.tenant, z, positions, &[]);
    crate::anomalies::non_object_record(&ctx.plan, &mut audits, report);
    audits
}

/// Legacy cursor text: `"{ts}.0||{id}|"` (newer than that audit) or `"|{ts}.0||{id}"` (older),
/// base64 — the shape of Zendesk's own legacy cursors. With `zendesk.cursor_ttl_secs` set, the
/// text ends in `"@{issued}"` (the Unix millisecond it was handed out: whole seconds would
/// let a cursor live up to a second past its TTL), and a `fresh_cursor` adds
/// `"~{nonce}"`, so that the text is new while the position is the same.
fn legacy_cursor(sim: &Sim, z: &ZendeskData, i: u64, older: bool, nonce: Option<u64>) -> String {
    let (ts, id) = (z.audit_time(i), z.audit_id(i));
    let mut text = if older {
        format!("|{ts}.0||{id}")
    } else {
        format!("{ts}.0||{id}|")
    };
    if sim.config.zendesk.cursor_ttl_secs > 0 {
        text.push_str(&format!("@{}", chrono::Utc::now().timestamp_millis()));
    }
    if let Some(n) = nonce {
        text.push_str(&format!("~{n}"));
    }
    STANDARD.encode(text)
}

/// A legacy cursor: its direction (toward older), the audit it points at, and when it was
/// handed out, in Unix milliseconds (if it says).
fn parse_legacy(z: &ZendeskData, c: &str) -> Option<(bool, u64, Option<i64>)> {
    let bytes = STANDARD.decode(c.replace(' ', "+").trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let text = text.split_once('~').map_or(text.as_str(), |(t, _)| t);
    let (text, issued) = match text.split_once('@') {
        Some((t, at)) => (t, Some(at.parse().ok()?)),
        None => (text, None),
    };
    let (older, body) = match text.strip_prefix('|') {
        Some(rest) => (true, rest.to_string()),
        None => (false, text.strip_suffix('|')?.to_string()),
    };
    let (ts, id) = body.split_once("||")?;
    let ts: i64 = ts.strip_suffix(".0")?.parse().ok()?;
    let i = z.audit_index_of_id(id.parse().ok()?)?;
    (z.audit_time(i) == ts).then_some((older, i, issued))
}

/// `GET /api/v2/ticket_audits`.
pub async fn list_ticket_audits(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    if ctx.plan.empty_envelope {
        return super::empty_envelope();
    }
    let z = &sim.tenants[ctx.tenant].zendesk;
    let q = Query::parse(ctx.query.as_deref());
    let visible = z.audits().first_after(now_secs());
    let now = now_secs();
    let not_archived = |i: u64| !super::archived_at(&sim, z, i, now);
    let sel = Selection {
        lo: 0,
        hi: visible,
        desc: true,
        pred: Some(&not_archived),
    };
    if cursor_mode(&q) {
        // With `zendesk.cursor_ttl_secs`, cursors carry their issue time and expire as the
        // legacy ones do.
        let ttl_ms = sim.config.zendesk.cursor_ttl_secs as i64 * 1_000;
        let now_ms = chrono::Utc::now().timestamp_millis();
        if ttl_ms > 0
            && let Some(issued) = q.get("page[after]").and_then(super::cursor_issued)
            && now_ms - issued > ttl_ms
        {
            sim.stats.fault(FaultKind::ExpiredCursor.name());
            return super::jsonapi_error(
                StatusCode::BAD_REQUEST,
                "InvalidPaginationParameter",
                "Invalid pagination parameter",
                "The cursor has expired. Start again from the first page, without a cursor.",
            );
        }
        let mut page = match standard_page(
            &sim,
            &ctx,
            &q,
            &sel,
            TAG_ACCOUNT,
            tenant_key(&sim, ctx.tenant),
            &|i| z.audit_time(i),
            (ttl_ms > 0).then_some(now_ms as u64),
        ) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let audits = page_audits(&sim, &ctx, z, &mut page.positions, &mut page.report);
        let body = list_body(
            "audits",
            &audits,
            &json!({"meta": page.meta, "links": page.links}),
        );
        return with_report(json_text(StatusCode::OK, body), page.report);
    }

    // Legacy cursor.
    let limit = match q.get("limit") {
        None => 1000,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidValue",
                    "limit must be an integer between 1 and 1000",
                );
            }
        },
    };
    let cursor = q.get("cursor");
    let parsed = match cursor {
        None => None,
        Some(c) => match parse_legacy(z, c) {
            Some(p) => Some(p),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidPaginationParameter",
                    "Invalid cursor",
                );
            }
        },
    };
    let ttl_ms = sim.config.zendesk.cursor_ttl_secs as i64 * 1_000;
    if let Some((_, _, Some(issued_ms))) = parsed
        && ttl_ms > 0
        && chrono::Utc::now().timestamp_millis() - issued_ms > ttl_ms
    {
        sim.stats.fault(FaultKind::ExpiredCursor.name());
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidPaginationParameter",
            "The cursor has expired. Start again from the first page, without a cursor.",
        );
    }
    let parsed = parsed.map(|(older, i, _)| (older, i));
    let (mut positions, toward_older) = match parsed {
        None => (sel.forward(None, limit).0, true),
        Some((true, i)) => (sel.forward(Some(i), limit).0, true),
        Some((false, i)) => (sel.backward(i, limit).0, false),
    };
    let mut report = PageReport {
        had_cursor: parsed.is_some(),
        cursor_reached: parsed.is_some_and(|(_, i)| i < visible && sel.accepts(i)),
        ..PageReport::default()
    };
    let mut before = positions
        .last()
        .filter(|&&p| sel.any_after(p))
        .map(|&p| legacy_cursor(&sim, z, p, true, None));
    let mut after = positions
        .first()
        .filter(|&&p| sel.previous(p).is_some())
        .map(|&p| legacy_cursor(&sim, z, p, false, None));
    if ctx.plan.repeat_cursor
        && let (Some(c), Some((older, _))) = (cursor, parsed)
    {
        report.repeated = true;
        if older {
            before = Some(c.to_string());
        } else {
            after = Some(c.to_string());
        }
    }
    if let Some((older, i)) = parsed.filter(|_| ctx.plan.fresh_cursor) {
        // No records, and a cursor never seen before that leads back to the same place.
        report.anomalies.push(FaultKind::FreshCursor);
        positions.clear();
        let fresh = Some(legacy_cursor(&sim, z, i, older, Some(sim.next_nonce())));
        if older {
            before = fresh;
        } else {
            after = fresh;
        }
    } else if ctx.plan.empty_page && toward_older && before.is_some() {
        // A premature end: no records and no cursor toward older ones.
        report.anomalies.push(FaultKind::EmptyPage);
        positions.clear();
        before = None;
        after = None;
    } else if ctx.plan.out_of_order
        && crate::anomalies::swap_neighbours(&mut positions, ctx.plan.draw, |i| z.audit_time(i))
    {
        report.anomalies.push(FaultKind::OutOfOrder);
    }
    if ctx.plan.duplicate
        && report.cursor_reached
        && !ctx.plan.fresh_cursor
        && !positions.is_empty()
    {
        let (_, i) = parsed.expect("reached by a cursor");
        report.duplicated = true;
        if toward_older {
            positions.insert(0, i);
        } else {
            positions.push(i);
        }
    }
    report.records = positions.len() as u64;
    let audits = page_audits(&sim, &ctx, z, &mut positions, &mut report);
    let url = |c: &Option<String>| {
        c.as_ref().map(|c| {
            let pairs = vec![
                ("cursor".to_string(), c.clone()),
                ("limit".to_string(), limit.to_string()),
            ];
            format!("{}{}?{}", sim.urls.zendesk, ctx.path, encode_query(pairs))
        })
    };
    let body = list_body(
        "audits",
        &audits,
        &json!({
            "before_cursor": before,
            "after_cursor": after,
            "before_url": url(&before),
            "after_url": url(&after),
        }),
    );
    with_report(json_text(StatusCode::OK, body), report)
}

fn ticket_of(sim: &Sim, ctx: &Ctx, id: &str) -> Option<(u64, u64)> {
    let z = &sim.tenants[ctx.tenant].zendesk;
    let k = z.ticket_k(id.parse().ok()?)?;
    let visible = z.ticket_audits_before(k, z.audits().first_after(now_secs()));
    (visible > 0).then_some((k, visible))
}

/// `GET /api/v2/tickets/{ticket_id}/audits`.
pub async fn list_for_ticket(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(ticket_id): Path<String>,
) -> Response {
    let Some((k, visible)) = ticket_of(&sim, &ctx, &ticket_id) else {
        return not_found();
    };
    let z = &sim.tenants[ctx.tenant].zendesk;
    let q = Query::parse(ctx.query.as_deref());
    let filter_events = q.all("filter_events[]");
    let desc = match (q.get("sort"), q.get("sort_order")) {
        (Some("created_at"), _) => false,
        (Some("-created_at"), _) => true,
        (Some(other), _) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidValue",
                &format!("sort {other:?} is not supported; use created_at or -created_at"),
            );
        }
        (None, None | Some("asc")) => false,
        (None, Some("desc")) => true,
        (None, Some(other)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidValue",
                &format!("sort_order {other:?} must be asc or desc"),
            );
        }
    };
    let sel = Selection {
        lo: 0,
        hi: visible,
        desc,
        pred: None,
    };
    let index = |m: &u64| z.audit_index(k, *m);
    let users = |indices: &[u64], body: &mut Map<String, Value>| {
        if q.get("include")
            .is_some_and(|s| s.split(',').any(|x| x.trim() == "users"))
        {
            let mut ids: Vec<i64> = indices
                .iter()
                .map(|&i| z.audit_author(i))
                .filter(|a| *a > 0)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let users: Vec<Value> = ids
                .iter()
                .filter_map(|id| z.user_by_id(*id))
                .map(|u| z.user_json(&u))
                .collect();
            body.insert("users".into(), Value::Array(users));
        }
    };
    if super::ticket_archived_at(&sim, z, k, now_secs()) {
        // Archived tickets: the whole history in one response, no pagination.
        let indices: Vec<u64> = sel
            .skip_take(0, visible as usize)
            .iter()
            .map(index)
            .collect();
        let mut body = Map::new();
        users(&indices, &mut body);
        body.insert("count".into(), json!(indices.len()));
        body.insert("next_page".into(), Value::Null);
        body.insert("previous_page".into(), Value::Null);
        let report = PageReport {
            records: indices.len() as u64,
            ..PageReport::default()
        };
        return with_report(
            json_text(
                StatusCode::OK,
                list_body(
                    "audits",
                    &audits_json(&sim, ctx.tenant, z, &indices, &filter_events),
                    &Value::Object(body),
                ),
            ),
            report,
        );
    }
    if cursor_mode(&q) {
        let scope = crate::data::prng::mix(&[tenant_key(&sim, ctx.tenant), k]);
        let time = |m: u64| z.audit_time(z.audit_index(k, m));
        let page = match standard_page(&sim, &ctx, &q, &sel, TAG_TICKET, scope, &time, None) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let indices: Vec<u64> = page.positions.iter().map(index).collect();
        let mut body = Map::new();
        users(&indices, &mut body);
        body.insert("meta".into(), page.meta);
        body.insert("links".into(), page.links);
        return with_report(
            json_text(
                StatusCode::OK,
                list_body(
                    "audits",
                    &audits_json(&sim, ctx.tenant, z, &indices, &filter_events),
                    &Value::Object(body),
                ),
            ),
            page.report,
        );
    }
    let page = match offset_page(&sim, &ctx, &q, &sel) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let indices: Vec<u64> = page.positions.iter().map(index).collect();
    let mut body = Map::new();
    users(&indices, &mut body);
    body.insert("count".into(), json!(page.count));
    body.insert("next_page".into(), json!(page.next_page));
    body.insert("previous_page".into(), json!(page.previous_page));
    let report = PageReport {
        records: indices.len() as u64,
        ..PageReport::default()
    };
    with_report(
        json_text(
            StatusCode::OK,
            list_body(
                "audits",
                &audits_json(&sim, ctx.tenant, z, &indices, &filter_events),
                &Value::Object(body),
            ),
        ),
        report,
    )
}

fn audit_of(sim: &Sim, ctx: &Ctx, ticket_id: &str, audit_id: &str) -> Option<u64> {
    let (k, visible) = ticket_of(sim, ctx, ticket_id)?;
    let z = &sim.tenants[ctx.tenant].zendesk;
    let i = z.audit_index_of_id(audit_id.parse().ok()?)?;
    let (tk, m) = z.ticket_of(i);
    (tk == k && m < visible).then_some(i)
}

/// `GET /api/v2/tickets/{ticket_id}/audits/{ticket_audit_id}`.
pub async fn show(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path((ticket_id, audit_id)): Path<(String, String)>,
) -> Response {
    let Some(i) = audit_of(&sim, &ctx, &ticket_id, &audit_id) else {
        return not_found();
    };
    let z = &sim.tenants[ctx.tenant].zendesk;
    let mut body = b"{\"audit\":".to_vec();
    body.extend(audits_json(&sim, ctx.tenant, z, &[i], &[]).remove(0));
    body.push(b'}');
    json_text(StatusCode::OK, body)
}

/// `GET /api/v2/tickets/{ticket_id}/audits/count`: capped at 100,000 with a null
/// `refreshed_at`.
pub async fn count(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(ticket_id): Path<String>,
) -> Response {
    let Some((_, visible)) = ticket_of(&sim, &ctx, &ticket_id) else {
        return not_found();
    };
    let now = now_secs();
    let body = if visible > 100_000 {
        json!({"count": {"value": 100_000, "refreshed_at": null}})
    } else {
        json!({"count": {"value": visible, "refreshed_at": zendesk_time(now - now.rem_euclid(60))}})
    };
    let _ = from_secs(0);
    json(StatusCode::OK, &body)
}

/// `PUT /api/v2/tickets/{ticket_id}/audits/{ticket_audit_id}/make_private`: 200, empty body;
/// the audit's comments are private from then on.
pub async fn make_private(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path((ticket_id, audit_id)): Path<(String, String)>,
) -> Response {
    let Some(i) = audit_of(&sim, &ctx, &ticket_id, &audit_id) else {
        return not_found();
    };
    let id = sim.tenants[ctx.tenant].zendesk.audit_id(i);
    sim.private_audits
        .lock()
        .expect("private lock")
        .insert((ctx.tenant, id));
    crate::http::empty(StatusCode::OK)
}
