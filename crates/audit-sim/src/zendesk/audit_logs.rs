//! `/api/v2/audit_logs` (list with filters, cursor or offset), show, and the CSV export.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{cursor_mode, error, jsonapi_error, not_found, now_secs, offset_page, standard_page};
use crate::anomalies::{RecordType, list_body, zendesk_record};
use crate::data::zendesk::ZendeskData;
use crate::http::{Ctx, PageReport, Query, json_text, set_header, with_report};
use crate::paging::Selection;
use crate::server::{Sim, tenant_key};

const TAG_LOGS: u64 = 0x7A10;

/// The description Zendesk gives for a malformed `filter[created_at]`.
pub const CREATED_AT_INVALID: &str = "Invalid filter[created_at] specified; format is ?filter[created_at][]=YYYY-MM-DDTHH:MM:SSZ&filter[created_at][]=YYYY-MM-DDTHH:MM:SSZ";

/// The audit-log filters of a request. Every filter but `created_at` takes several values,
/// in the two forms Zendesk accepts: `filter[action]=create` and the repeated, bracketed
/// `filter[action][]=create&filter[action][]=update`. A record passes a filter when its field
/// equals any of its values, and it must pass every filter.
#[derive(Debug, Default)]
pub struct Filters {
    /// `filter[created_at][]` pair, both bounds inclusive.
    pub created_at: Option<(i64, i64)>,
    source_types: Vec<String>,
    source_ids: Vec<i64>,
    actor_ids: Vec<i64>,
    ip_addresses: Vec<String>,
    actions: Vec<String>,
}

/// Every value of the filter `name`, plain or bracketed.
fn values<'q>(q: &'q Query, name: &str) -> Vec<&'q str> {
    let mut values = q.all(&format!("filter[{name}][]"));
    values.extend(q.all(&format!("filter[{name}]")));
    values
}

impl Filters {
    /// Parses and validates the filters as Zendesk does.
    pub fn parse(q: &Query) -> Result<Filters, Response> {
        let invalid = |d: &str| error(StatusCode::BAD_REQUEST, "InvalidValue", d);
        if q.has("filter[created_at]") {
            return Err(invalid(CREATED_AT_INVALID));
        }
        let bounds = q.all("filter[created_at][]");
        let created_at = match bounds.len() {
            0 => None,
            2 => {
                let parse = |s: &str| {
                    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc).timestamp())
                };
                match (parse(bounds[0]), parse(bounds[1])) {
                    (Ok(a), Ok(b)) => Some((a, b)),
                    _ => return Err(invalid(CREATED_AT_INVALID)),
                }
            }
            _ => return Err(invalid(CREATED_AT_INVALID)),
        };
        let ints = |name: &str| -> Result<Vec<i64>, Response> {
            values(q, name)
                .into_iter()
                .map(|s| {
                    s.parse().map_err(|_| {
                        invalid(&format!(
                            "Invalid filter[{name}] specified; it must be an integer"
                        ))
                    })
                })
                .collect()
        };
        let texts = |name: &str| -> Vec<String> {
            values(q, name).into_iter().map(str::to_string).collect()
        };
        let source_ids = ints("source_id")?;
        let source_types = texts("source_type");
        if !source_ids.is_empty() && source_types.is_empty() {
            return Err(invalid("filter[source_id] requires filter[source_type]"));
        }
        Ok(Filters {
            created_at,
            source_types,
            source_ids,
            actor_ids: ints("actor_id")?,
            ip_addresses: texts("ip_address"),
            actions: texts("action"),
        })
    }

    fn restricts(&self) -> bool {
        !(self.source_types.is_empty()
            && self.source_ids.is_empty()
            && self.actor_ids.is_empty()
            && self.ip_addresses.is_empty()
            && self.actions.is_empty())
    }

    /// Whether record `i` passes the non-time filters.
    pub fn accepts(&self, z: &ZendeskData, i: u64) -> bool {
        fn any<T: PartialEq<U>, U: ?Sized>(values: &[T], field: &U) -> bool {
            values.is_empty() || values.iter().any(|v| v == field)
        }
        let a = z.log_attrs(i);
        any(&self.source_types, a.source_type)
            && any(&self.source_ids, &a.source_id)
            && any(&self.actor_ids, &a.actor_id)
            && (self.ip_addresses.is_empty()
                || a.ip_address
                    .as_deref()
                    .is_some_and(|ip| self.ip_addresses.iter().any(|v| v == ip)))
            && any(&self.actions, a.action)
    }

    /// The index range of the time window among the records visible at `now`.
    pub fn range(&self, z: &ZendeskData, now: i64) -> (u64, u64) {
        let visible = z.logs().first_after(now);
        match self.created_at {
            None => (0, visible),
            Some((a, b)) => {
                let lo = z.logs().first_at_or_after(a);
                let hi = z.logs().first_after(b).min(visible);
                (lo, hi.max(lo))
            }
        }
    }
}

/// `GET /api/v2/audit_logs`.
pub async fn list(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>) -> Response {
    let z = &sim.tenants[ctx.tenant].zendesk;
    let q = Query::parse(ctx.query.as_deref());
    let filters = match Filters::parse(&q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if ctx.plan.empty_envelope {
        return super::empty_envelope();
    }
    let (lo, hi) = filters.range(z, now_secs());
    let pred = |i: u64| filters.accepts(z, i);
    let pred_ref: Option<&dyn Fn(u64) -> bool> = if filters.restricts() {
        Some(&pred)
    } else {
        None
    };
    let base = sim.urls.zendesk.clone();
    let render = |positions: &[u64]| -> Vec<Vec<u8>> {
        positions
            .iter()
            .map(|&i| zendesk_record(&sim, RecordType::ZendeskLog, z.render_log(i, &base)))
            .collect()
    };
    let time = |i: u64| z.log_time(i);
    if cursor_mode(&q) {
        let desc = match q.get("sort") {
            None | Some("-created_at") => true,
            Some("created_at") => false,
            Some(other) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidValue",
                    &format!("Invalid sort {other:?}; use created_at or -created_at"),
                );
            }
        };
        let sel = Selection {
            lo,
            hi,
            desc,
            pred: pred_ref,
        };
        let mut page = match standard_page(
            &sim,
            &ctx,
            &q,
            &sel,
            TAG_LOGS,
            tenant_key(&sim, ctx.tenant),
            &time,
            None,
        ) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let mut records = render(&page.positions);
        crate::anomalies::non_object_record(&ctx.plan, &mut records, &mut page.report);
        let body = list_body(
            "audit_logs",
            &records,
            &json!({"meta": page.meta, "links": page.links}),
        );
        return with_report(json_text(StatusCode::OK, body), page.report);
    }
    if q.get("sort_by").is_some_and(|s| s != "created_at") {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidValue",
            "sort_by must be created_at",
        );
    }
    let desc = match q.get("sort_order") {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidValue",
                "sort_order must be asc or desc",
            );
        }
    };
    let sel = Selection {
        lo,
        hi,
        desc,
        pred: pred_ref,
    };
    let page = match offset_page(&sim, &ctx, &q, &sel) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut report = PageReport {
        records: page.positions.len() as u64,
        ..PageReport::default()
    };
    let mut records = render(&page.positions);
    crate::anomalies::non_object_record(&ctx.plan, &mut records, &mut report);
    let body = list_body(
        "audit_logs",
        &records,
        &json!({
            "next_page": page.next_page,
            "previous_page": page.previous_page,
            "count": page.count,
        }),
    );
    with_report(json_text(StatusCode::OK, body), report)
}

/// `GET /api/v2/audit_logs/{audit_log_id}`.
pub async fn show(
    State(sim): State<Arc<Sim>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let z = &sim.tenants[ctx.tenant].zendesk;
    let visible = z.logs().first_after(now_secs());
    match id.parse().ok().and_then(|id| z.log_index_of_id(id)) {
        Some(i) if i < visible => {
            let record = z.render_log(i, &sim.urls.zendesk);
            let mut body = b"{\"audit_log\":".to_vec();
            body.extend(zendesk_record(&sim, RecordType::ZendeskLog, record));
            body.push(b'}');
            json_text(StatusCode::OK, body)
        }
        _ => not_found(),
    }
}

/// `POST /api/v2/audit_logs/export`: 202, at most one per interval (default a minute) per
/// tenant.
pub async fn export(State(sim): State<Arc<Sim>>, Extension(ctx): Extension<Ctx>) -> Response {
    let q = Query::parse(ctx.query.as_deref());
    if let Err(r) = Filters::parse(&q) {
        return r;
    }
    let interval = sim.config.zendesk.export_interval_secs as i64;
    let now = Utc::now();
    let mut last = sim.last_export.lock().expect("export lock");
    if let Some(prev) = last.get(&ctx.tenant) {
        let elapsed_ms = (now - *prev).num_milliseconds();
        if elapsed_ms < interval * 1000 {
            drop(last);
            let resets = ((interval * 1000 - elapsed_ms + 999) / 1000).max(1);
            sim.stats.export_limited();
            let mut r = jsonapi_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too Many Requests",
                "Rate limit for Audit log CSV Export exceeded. Please wait 1 minute and try again.",
            );
            set_header(&mut r, "retry-after", resets);
            set_header(
                &mut r,
                "zendesk-ratelimit-audit-logs-export",
                format!("total=1; remaining=0; resets={resets}"),
            );
            return r;
        }
    }
    last.insert(ctx.tenant, now);
    let mut r = crate::http::empty(StatusCode::ACCEPTED);
    set_header(
        &mut r,
        "zendesk-ratelimit-audit-logs-export",
        format!("total=1; remaining=0; resets={interval}"),
    );
    r
}
