//! `GET /api/v2/incremental/ticket_events`: the time-based incremental ticket-event export.
//!
//! Every ticket audit is one exported update (archived tickets included), oldest first, as
//! Zendesk describes the export: `start_time` (Unix seconds, required), `include=comment_events`,
//! `per_page` (at most 1,000, the default). A page holds the updates at or after `start_time`
//! up to what the export shows: the last `zendesk.incremental_holdback_secs` (a minute) are
//! withheld. A full page ends with `end_of_stream: false` and `end_time` = the time of its last
//! update, so the next page (`start_time` = `end_time`) repeats the updates of that second:
//! the repeated items at time boundaries of the real export. The export has its own budget
//! (`zendesk.incremental_rate_limit`, 10 a minute), answered with 429 and `Retry-After`.
//!
//! Page anomalies: `empty_envelope` (`{}`), `empty_page` (a page that is not the last answered
//! empty with `end_of_stream: true`), `out_of_order` (two neighbours swapped),
//! `repeated_cursor` (a page whose `end_time` is its `start_time`, going nowhere),
//! `non_object_record` (one update the number `5`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{error, now_secs, rate_limited};
use crate::anomalies::{RecordType, list_body, zendesk_record};
use crate::data::zendesk::ZendeskData;
use crate::faults::FaultKind;
use crate::http::{Ctx, PageReport, Query, encode_query, json_text, with_report};
use crate::server::Sim;

/// The channel of a `via`, as the export names it (a display name, not the audit's key).
fn via_name(channel: &Value) -> String {
    let name = match channel {
        Value::Number(n) if n.as_i64() == Some(8) => "rule",
        Value::String(s) => s.as_str(),
        _ => "",
    };
    match name {
        "web" => "Web form",
        "email" => "Mail",
        "api" => "Web service",
        "rule" => "Rule",
        "mobile" => "Mobile",
        "voice" => "Voice",
        "chat" => "Chat",
        "system" => "System",
        "" => "",
        other => other,
    }
    .to_string()
}

/// An audit event as an exported child event: `event_type` for its kind; a `Create` or
/// `Change` names its field by a member holding the new value; a comment (sideloaded with
/// `comment_events`) keeps its own fields and `type`.
fn child_event(event: &Value, via: &str) -> Value {
    let Some(object) = event.as_object() else {
        return event.clone();
    };
    let kind = object.get("type").cloned().unwrap_or(Value::Null);
    let mut child = Map::new();
    match kind.as_str() {
        Some("Create" | "Change") => {
            child.insert(
                "id".into(),
                object.get("id").cloned().unwrap_or(Value::Null),
            );
            child.insert(
                "via".into(),
                object.get("via").cloned().unwrap_or_else(|| json!(via)),
            );
            child.insert("via_reference_id".into(), Value::Null);
            let field = object
                .get("field_name")
                .and_then(Value::as_str)
                .unwrap_or("unknown_field");
            child.insert(
                field.to_string(),
                object.get("value").cloned().unwrap_or(Value::Null),
            );
            if kind == "Change" {
                child.insert(
                    "previous_value".into(),
                    object.get("previous_value").cloned().unwrap_or(Value::Null),
                );
            }
        }
        Some("Comment") => child = object.clone(),
        _ => {
            child = object.clone();
            child.remove("type");
        }
    }
    child.insert("event_type".into(), kind);
    Value::Object(child)
}

/// Audit `i` as an exported ticket event.
pub fn render_ticket_event(z: &ZendeskData, i: u64, private: bool) -> Value {
    let audit = z.render_audit(i, private);
    let via = via_name(&audit["via"]["channel"]);
    let children: Vec<Value> = audit["events"]
        .as_array()
        .map(|events| events.iter().map(|e| child_event(e, &via)).collect())
        .unwrap_or_default();
    json!({
        "id": audit["id"],
        "ticket_id": audit["ticket_id"],
        "timestamp": z.audit_time(i),
        "created_at": audit["created_at"],
        "updater_id": audit["author_id"],
        "via": via,
        "system": audit["metadata"]["system"],
        "metadata": audit["metadata"],
        "event_type": "Audit",
        "child_events": children,
    })
}

/// `GET /api/v2/incremental/ticket_events`.
pub async fn export(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>) -> Response {
    let verdict = sim.limiter.check(
        &sim.config.zendesk.incremental_rate_limit,
        ctx.tenant,
        "zendesk-incremental",
        chrono::Utc::now().timestamp_millis(),
    );
    if !verdict.allowed {
        sim.stats.fault("incremental_rate_limited");
        return rate_limited(verdict.reset_secs);
    }
    if ctx.plan.empty_envelope {
        return super::empty_envelope();
    }
    let z = &sim.tenants[ctx.tenant].zendesk;
    let q = Query::parse(ctx.query.as_deref());
    let Some(start) = q.get("start_time").and_then(|s| s.parse::<i64>().ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidValue",
            "start_time is required: a Unix time in seconds",
        );
    };
    let now = now_secs();
    let shown_until = now - sim.config.zendesk.incremental_holdback_secs as i64;
    if start > shown_until {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidValue",
            "start_time must be more than a minute in the past",
        );
    }
    let per_page = match q.get("per_page") {
        None => sim.config.zendesk.incremental_page_size.clamp(1, 1000),
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidValue",
                    "per_page must be an integer between 1 and 1000",
                );
            }
        },
    };
    let comments = q
        .get("include")
        .is_some_and(|i| i.split(',').any(|s| s.trim() == "comment_events"));
    let lo = z.audits().first_at_or_after(start);
    let hi = z.audits().first_after(shown_until).max(lo);
    let end = hi.min(lo + per_page);
    let mut positions: Vec<u64> = (lo..end).collect();
    let mut end_of_stream = end >= hi;
    let mut end_time = positions.last().map_or(start, |&i| z.audit_time(i));
    let mut report = PageReport {
        had_cursor: true,
        ..PageReport::default()
    };
    if ctx.plan.repeat_cursor && !end_of_stream {
        // Going nowhere: the next page would start where this one did.
        report.repeated = true;
        end_time = start;
    } else if ctx.plan.empty_page && !end_of_stream {
        report.anomalies.push(FaultKind::EmptyPage);
        positions.clear();
        end_of_stream = true;
        end_time = start;
    } else if ctx.plan.out_of_order
        && crate::anomalies::swap_neighbours(&mut positions, ctx.plan.draw, |i| z.audit_time(i))
    {
        report.anomalies.push(FaultKind::OutOfOrder);
    }
    report.records = positions.len() as u64;
    let private = sim.private_audits.lock().expect("private lock");
    let mut records: Vec<Vec<u8>> = positions
        .iter()
        .map(|&i| {
            let mut event =
                render_ticket_event(z, i, private.contains(&(ctx.tenant, z.audit_id(i))));
            if !comments {
                strip_comments(&mut event);
            }
            zendesk_record(&sim, RecordType::ZendeskAudit, event)
        })
        .collect();
    drop(private);
    crate::anomalies::non_object_record(&ctx.plan, &mut records, &mut report);
    let mut pairs = q.without(&["start_time"]);
    pairs.push(("start_time".to_string(), end_time.to_string()));
    let next_page = format!("{}{}?{}", sim.urls.zendesk, ctx.path, encode_query(pairs));
    let body = list_body(
        "ticket_events",
        &records,
        &json!({
            "next_page": next_page,
            "count": records.len(),
            "end_time": end_time,
            "end_of_stream": end_of_stream,
        }),
    );
    with_report(json_text(StatusCode::OK, body), report)
}

/// Without the `comment_events` sideload a comment is only flagged on the update.
fn strip_comments(event: &mut Value) {
    let Some(children) = event.get_mut("child_events").and_then(Value::as_array_mut) else {
        return;
    };
    let mut public = None;
    children.retain(|c| {
        let comment = c["type"] == "Comment";
        if comment {
            public = Some(c["public"].as_bool().unwrap_or(false));
        }
        !comment
    });
    if let (Some(public), Some(first)) = (public, children.first_mut())
        && let Some(first) = first.as_object_mut()
    {
        first.insert("comment_present".into(), json!(true));
        first.insert("comment_public".into(), json!(public));
    }
}
