//! The Zendesk Support audit endpoints: Ticket Audits (5 operations) and Audit Logs (3).

pub mod audit_logs;
pub mod auth;
pub mod ticket_audits;
pub mod ticket_events;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::faults::FaultKind;
use crate::http::{Ctx, PageReport, Query, encode_query, gateway_page, json, set_header};
use crate::paging::{Selection, decode_cursor_nonced, encode_cursor};
use crate::server::Sim;

/// The Zendesk listener's routes (paths without `.json`; the pipeline strips it).
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route(
            "/api/v2/ticket_audits",
            get(ticket_audits::list_ticket_audits),
        )
        .route(
            "/api/v2/tickets/{ticket_id}/audits",
            get(ticket_audits::list_for_ticket),
        )
        .route(
            "/api/v2/tickets/{ticket_id}/audits/count",
            get(ticket_audits::count),
        )
        .route(
            "/api/v2/tickets/{ticket_id}/audits/{audit_id}",
            get(ticket_audits::show),
        )
        .route(
            "/api/v2/tickets/{ticket_id}/audits/{audit_id}/make_private",
            put(ticket_audits::make_private),
        )
        .route(
            "/api/v2/incremental/ticket_events",
            get(ticket_events::export),
        )
        .route("/api/v2/audit_logs", get(audit_logs::list))
        .route("/api/v2/audit_logs/export", post(audit_logs::export))
        .route("/api/v2/audit_logs/{id}", get(audit_logs::show))
        .route("/oauth/tokens", post(auth::token))
        .route("/oauth/authorizations/new", get(auth::authorize))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "InvalidEndpoint", "Not found") })
        .with_state(sim)
}

/// Zendesk's classic error body `{"error", "description"}`.
pub fn error(status: StatusCode, error: &str, description: &str) -> Response {
    json(status, &json!({"error": error, "description": description}))
}

/// `404 RecordNotFound`.
pub fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found")
}

/// A JSON:API-style error body (`{"errors": [...]}`), used by the cursor-pagination
/// validation and the export limit.
pub fn jsonapi_error(status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
    json(
        status,
        &json!({"errors": [{"code": code, "title": title, "detail": detail, "status": status.as_u16().to_string()}]}),
    )
}

fn pagination_error(detail: &str) -> Response {
    jsonapi_error(
        StatusCode::BAD_REQUEST,
        "InvalidPaginationParameter",
        "Invalid pagination parameter",
        detail,
    )
}

/// The 429 of the account-wide rate limit.
pub fn rate_limited(retry_after: u64) -> Response {
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        "APIRateLimitExceeded",
        "Number of allowed API requests per minute exceeded",
    );
    set_header(&mut r, "retry-after", retry_after);
    r
}

/// The answer of an injected fault.
pub fn fault_response(sim: &Sim, fault: FaultKind) -> Response {
    let retry = sim.config.faults.retry_after_secs;
    match fault {
        FaultKind::Status429 => rate_limited(retry),
        FaultKind::RetryAfterPastDate => {
            let mut r = rate_limited(0);
            set_header(&mut r, "retry-after", crate::http::past_http_date());
            r
        }
        FaultKind::Status500 => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "Internal error, please try again later",
        ),
        FaultKind::Status503 => {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Zendesk is temporarily unavailable. Please try again later.",
            );
            set_header(&mut r, "retry-after", retry);
            r
        }
        FaultKind::Status502 => gateway_page(StatusCode::BAD_GATEWAY),
        _ => gateway_page(StatusCode::GATEWAY_TIMEOUT),
    }
}

/// Whether audit `i` of tenant data `z` belongs to an archived ticket at `now` (Unix
/// seconds): the data set's archived tickets, from `zendesk.archive_delay_secs` after the
/// start on.
pub fn archived_at(sim: &Sim, z: &crate::data::zendesk::ZendeskData, i: u64, now: i64) -> bool {
    z.audit_archived(i) && now >= sim.started + sim.config.zendesk.archive_delay_secs as i64
}

/// Whether ticket `k` is archived at `now`.
pub fn ticket_archived_at(
    sim: &Sim,
    z: &crate::data::zendesk::ZendeskData,
    k: u64,
    now: i64,
) -> bool {
    z.ticket_archived(k) && now >= sim.started + sim.config.zendesk.archive_delay_secs as i64
}

/// The current time in seconds.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A standard ("CBP") cursor page over a selection: the positions, `meta`, `links`, and the
/// page report. `tag` names the list (and its order) in the cursor, `scope` the tenant or
/// ticket, so a cursor of another list is refused.
pub struct StdPage {
    /// Positions of the page's records, in page order.
    pub positions: Vec<u64>,
    /// `meta`.
    pub meta: Value,
    /// `links`.
    pub links: Value,
    /// For the stats.
    pub report: PageReport,
}

/// `empty_envelope`: a list page answered `200 {}`.
pub fn empty_envelope() -> Response {
    let report = PageReport {
        anomalies: vec![FaultKind::EmptyEnvelope],
        ..PageReport::default()
    };
    crate::http::with_report(json(StatusCode::OK, &json!({})), report)
}

/// Whether the request selects cursor pagination.
pub fn cursor_mode(q: &Query) -> bool {
    q.keys().any(|k| k.starts_with("page["))
}

/// Builds a standard cursor page. `time` gives a position's timestamp (for `out_of_order`).
/// With `issued` (Unix milliseconds) the cursors handed out carry it, for lists whose cursors
/// expire (see [`cursor_issued`]).
#[allow(clippy::too_many_arguments)]
pub fn standard_page(
    sim: &Sim,
    ctx: &Ctx,
    q: &Query,
    sel: &Selection<'_>,
    tag: u64,
    scope: u64,
    time: &dyn Fn(u64) -> i64,
    issued: Option<u64>,
) -> Result<StdPage, Response> {
    if q.has("page") {
        return Err(pagination_error(
            "page and page[size], page[after] or page[before] cannot be used together",
        ));
    }
    let size = match q.get("page[size]") {
        None => 100,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(pagination_error(
                    "page[size] must be an integer between 1 and 100",
                ));
            }
        },
    } as usize;
    let after = q.get("page[after]");
    let before = q.get("page[before]");
    if after.is_some() && before.is_some() {
        return Err(pagination_error(
            "page[after] and page[before] cannot be used together",
        ));
    }
    let order = u64::from(sel.desc);
    let decode = |c: &str| -> Result<u64, Response> {
        match decode_cursor_nonced(c, 4) {
            Some(w) if w[0] == tag && w[1] == order && w[3] == scope => Ok(w[2]),
            _ => Err(pagination_error("The cursor is invalid")),
        }
    };
    let enc = |p: u64| match issued {
        Some(ms) => encode_cursor(&[tag, order, p, scope, ms]),
        None => encode_cursor(&[tag, order, p, scope]),
    };
    let (mut positions, more, forward, cursor_pos) = if let Some(c) = before {
        let p = decode(c)?;
        let (items, more) = sel.backward(p, size);
        (items, more, false, Some(p))
    } else {
        let p = after.map(decode).transpose()?;
        let (items, more) = sel.forward(p, size);
        (items, more, true, p)
    };
    let mut report = PageReport {
        had_cursor: cursor_pos.is_some(),
        cursor_reached: cursor_pos.is_some_and(|p| sel.accepts(p) && p >= sel.lo && p < sel.hi),
        ..PageReport::default()
    };
    let mut after_cursor = positions.last().map(|p| enc(*p));
    let before_cursor = positions.first().map(|p| enc(*p));
    let mut has_more = more;
    let url = |key: &str, c: &str| -> String {
        let mut pairs = q.without(&["page[after]", "page[before]"]);
        pairs.push((key.to_string(), c.to_string()));
        format!("{}{}?{}", sim.urls.zendesk, ctx.path, encode_query(pairs))
    };
    let mut next = if forward {
        if has_more {
            after_cursor.as_deref().map(|c| url("page[after]", c))
        } else {
            None
        }
    } else {
        after_cursor.as_deref().map(|c| url("page[after]", c))
    };
    let mut prev = before_cursor.as_deref().map(|c| url("page[before]", c));
    if ctx.plan.repeat_cursor && report.had_cursor {
        report.repeated = true;
        has_more = true;
        if let Some(c) = after {
            after_cursor = Some(c.to_string());
            next = Some(url("page[after]", c));
        } else if let Some(c) = before {
            prev = Some(url("page[before]", c));
        }
    }
    if let Some(p) = cursor_pos.filter(|_| ctx.plan.fresh_cursor) {
        // No records, and a cursor never seen before that leads back to the same place.
        report.anomalies.push(FaultKind::FreshCursor);
        positions.clear();
        let fresh = encode_cursor(&[tag, order, p, scope, sim.next_nonce()]);
        if forward {
            has_more = true;
            next = Some(url("page[after]", &fresh));
            after_cursor = Some(fresh);
        } else {
            prev = Some(url("page[before]", &fresh));
        }
    } else if ctx.plan.empty_page && has_more {
        // A premature end: the envelope says this was the last page.
        report.anomalies.push(FaultKind::EmptyPage);
        positions.clear();
        has_more = false;
        after_cursor = None;
        next = None;
        prev = None;
    } else if ctx.plan.out_of_order
        && crate::anomalies::swap_neighbours(&mut positions, ctx.plan.draw, time)
    {
        report.anomalies.push(FaultKind::OutOfOrder);
    }
    let emptied = report
        .anomalies
        .iter()
        .any(|a| matches!(a, FaultKind::FreshCursor | FaultKind::EmptyPage));
    if ctx.plan.duplicate && report.cursor_reached && !emptied {
        let p = cursor_pos.expect("reached by a cursor");
        report.duplicated = true;
        if forward {
            positions.insert(0, p);
        } else {
            positions.push(p);
        }
    }
    let before_cursor = if positions.is_empty() {
        None
    } else {
        before_cursor
    };
    report.records = positions.len() as u64;
    let meta =
        json!({"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor});
    let links = json!({"prev": prev, "next": next});
    Ok(StdPage {
        positions,
        meta,
        links,
        report,
    })
}

/// When a standard cursor was handed out (Unix milliseconds), if it carries the time: its
/// fifth word, when that is a time (a `fresh_cursor`'s nonce there is a small counter).
pub fn cursor_issued(cursor: &str) -> Option<i64> {
    const A_TIME: u64 = 1_000_000_000_000; // 2001 in milliseconds; nonces stay far below
    crate::paging::decode_cursor(cursor, 5)
        .map(|words| words[4])
        .filter(|&word| word >= A_TIME)
        .map(|ms| ms as i64)
}

/// An offset page: the positions, `count`, `next_page`, `previous_page`.
pub struct OffsetPage {
    /// Positions of the page's records.
    pub positions: Vec<u64>,
    /// Total number of records.
    pub count: u64,
    /// URL of the next page.
    pub next_page: Option<String>,
    /// URL of the previous page.
    pub previous_page: Option<String>,
}

/// Builds an offset page (`page`, `per_page` ≤ 100, 400 beyond the first 10,000 records).
pub fn offset_page(
    sim: &Sim,
    ctx: &Ctx,
    q: &Query,
    sel: &Selection<'_>,
) -> Result<OffsetPage, Response> {
    let page = match q.get("page") {
        None => 1,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "InvalidValue",
                    "page must be a positive integer",
                ));
            }
        },
    };
    let per_page = match q.get("per_page") {
        None => 100,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "InvalidValue",
                    "per_page must be an integer between 1 and 100",
                ));
            }
        },
    };
    let skip = (page - 1) * per_page;
    if skip >= 10_000 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "InvalidPaginationParameter",
            "Offset pagination is limited to the first 10000 records. Use cursor-based pagination instead.",
        ));
    }
    let positions = sel.skip_take(skip, per_page as usize);
    let count = sel.count();
    let url = |n: u64| {
        let mut pairs = q.without(&["page"]);
        pairs.push(("page".to_string(), n.to_string()));
        format!("{}{}?{}", sim.urls.zendesk, ctx.path, encode_query(pairs))
    };
    Ok(OffsetPage {
        positions,
        count,
        next_page: (page * per_page < count).then(|| url(page + 1)),
        previous_page: (page > 1).then(|| url(page - 1)),
    })
}
