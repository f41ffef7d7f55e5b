//! The Genesys Cloud audit API: the login host's token endpoint, the seven `Audit` operations,
//! and the download host of the presigned result files.

pub mod download;
pub mod query;
pub mod realtime;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::data::genesys::GenesysData;
use crate::faults::FaultKind;
use crate::http::{gateway_page, json, set_header};
use crate::server::Sim;

/// The API listener's routes.
pub fn api_router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/api/v2/audits/query", post(query::create))
        .route(
            "/api/v2/audits/query/servicemapping",
            get(realtime::query_mapping),
        )
        .route("/api/v2/audits/query/realtime", post(realtime::realtime))
        .route(
            "/api/v2/audits/query/realtime/servicemapping",
            get(realtime::realtime_mapping),
        )
        .route(
            "/api/v2/audits/query/realtime/related",
            post(realtime::related),
        )
        .route("/api/v2/organizations/me", get(organization))
        .route("/api/v2/audits/query/{id}", get(query::status))
        .route("/api/v2/audits/query/{id}/results", get(query::results))
        .fallback(
            |axum::Extension(ctx): axum::Extension<crate::http::Ctx>| async move {
                error(
                    StatusCode::NOT_FOUND,
                    "not.found",
                    "The requested resource was not found.",
                    &ctx.correlation,
                )
            },
        )
        .with_state(sim)
}

/// `GET /api/v2/organizations/me`: the organisation of the authenticated client.
async fn organization(
    axum::extract::State(sim): axum::extract::State<Arc<Sim>>,
    axum::Extension(ctx): axum::Extension<crate::http::Ctx>,
) -> Response {
    let tenant = &sim.tenants[ctx.tenant];
    let org_id = tenant.genesys.org_id();
    json(
        StatusCode::OK,
        &json!({
            "id": org_id,
            "name": format!("{} (simulated)", tenant.config.name),
            "thirdPartyOrgName": tenant.config.name,
            "domain": format!("{}.simulated", tenant.config.name),
            "state": "active",
            "version": 1,
            "selfUri": format!("/api/v2/organizations/{org_id}"),
        }),
    )
}

/// The login listener's routes.
pub fn login_router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/oauth/token", post(token::token))
        .fallback(|| async {
            json(StatusCode::NOT_FOUND, &json!({"error": "not_found", "description": "Not found", "error_description": "Not found"}))
        })
        .with_state(sim)
}

/// An `ErrorBody`.
pub fn error(status: StatusCode, code: &str, message: &str, correlation: &str) -> Response {
    json(
        status,
        &json!({"message": message, "code": code, "status": status.as_u16(), "contextId": correlation, "details": [], "errors": []}),
    )
}

/// A 429 `too.many.requests.retry.after`: `Retry-After` (unless configured off) and `[N]` in
/// the message.
pub fn too_many(sim: &Sim, retry_after: u64, limit: Option<u32>, correlation: &str) -> Response {
    let mut body = json!({
        "message": format!("Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"),
        "code": "too.many.requests.retry.after",
        "status": 429,
        "messageWithParams": "Rate limit exceeded the maximum. Retry the request in [{retryAfter}] seconds",
        "messageParams": {"retryAfter": retry_after.to_string()},
        "contextId": correlation,
        "details": [],
        "errors": [],
    });
    if let Some(limit) = limit {
        body["limit"] = json!({"key": "client.credentials.token.rate.per.minute", "namespace": "platform.api", "value": limit});
    }
    let mut r = json(StatusCode::TOO_MANY_REQUESTS, &body);
    if !sim.config.genesys.omit_retry_after {
        set_header(&mut r, "retry-after", retry_after);
    }
    r
}

/// The 429 of the rate limiter.
pub fn rate_limited(sim: &Sim, retry_after: u64, limit: u32, correlation: &str) -> Response {
    too_many(sim, retry_after, Some(limit), correlation)
}

/// Genesys' answer to a page over its response size limit, when a page of `records` records
/// (`expand`ed or not) is over `too_large_threshold`: an expanded record counts twice, so a
/// client that gives up `expand=user` gets pages twice as long through.
pub fn page_too_large(
    sim: &Sim,
    records: usize,
    expand: bool,
    correlation: &str,
) -> Option<Response> {
    let threshold = sim.config.genesys.too_large_threshold as usize;
    let weight = if expand { 2 } else { 1 };
    (threshold > 0 && records * weight > threshold).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            "response.entity.too.large",
            "The response is over the size limit. Reduce pageSize or expand list to reduce \
             response size if applicable",
            correlation,
        )
    })
}

/// The 401 of a missing, unknown or expired token.
pub fn bad_credentials(correlation: &str) -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "bad.credentials",
        "Invalid login credentials.",
        correlation,
    )
}

/// The answer of an injected fault.
pub fn fault_response(sim: &Sim, fault: FaultKind, correlation: &str) -> Response {
    let retry = sim.config.faults.retry_after_secs;
    match fault {
        FaultKind::Status429 => too_many(sim, retry, None, correlation),
        FaultKind::RetryAfterPastDate => {
            let mut r = too_many(sim, 0, None, correlation);
            set_header(&mut r, "retry-after", crate::http::past_http_date());
            r
        }
        FaultKind::Status500 => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal.server.error",
            "The server encountered an unexpected condition which prevented it from fulfilling the request.",
            correlation,
        ),
        FaultKind::Status503 => {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "service.unavailable",
                "Service Unavailable: the server is temporarily unable to handle the request.",
                correlation,
            );
            set_header(&mut r, "retry-after", retry);
            r
        }
        FaultKind::ExpiredToken => bad_credentials(correlation),
        FaultKind::Status502 => gateway_page(StatusCode::BAD_GATEWAY),
        _ => gateway_page(StatusCode::GATEWAY_TIMEOUT),
    }
}

/// The filter properties Genesys accepts.
pub const FILTER_PROPERTIES: [&str; 6] = [
    "UserId",
    "TrusteeOrganizationId",
    "ClientId",
    "Action",
    "EntityType",
    "EntityId",
];

/// What a query (historical or realtime) asks for.
#[derive(Debug, Clone)]
pub struct QuerySpec {
    /// Interval start, inclusive (ms).
    pub start_ms: i64,
    /// Interval end, exclusive (ms).
    pub end_ms: i64,
    /// `serviceName`.
    pub service: Option<String>,
    /// Filters (property, value).
    pub filters: Vec<(String, String)>,
    /// Descending order.
    pub desc: bool,
    /// The interval as echoed back.
    pub interval_echo: String,
    /// The filters as sent.
    pub filters_echo: Value,
    /// The sort as sent.
    pub sort_echo: Value,
}

fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn ms_text(ms: i64) -> String {
    crate::data::from_millis(ms)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Parses and validates a query body. `max_days` bounds the interval.
pub fn parse_spec(
    body: &Value,
    correlation: &str,
    max_days: Option<u64>,
) -> Result<QuerySpec, Response> {
    let bad = |code: &str, msg: &str| error(StatusCode::BAD_REQUEST, code, msg, correlation);
    let interval = body["interval"]
        .as_str()
        .ok_or_else(|| bad("bad.request", "You must specify a search interval as part of your query that does not exceed 31 days."))?;
    let invalid_date = || {
        bad(
            "invalid.date",
            "Dates must be specified as ISO-8601 strings. For example: yyyy-MM-ddTHH:mm:ss.SSSZ",
        )
    };
    let (a, b) = interval.split_once('/').ok_or_else(invalid_date)?;
    let (start, end) = (
        parse_instant(a).ok_or_else(invalid_date)?,
        parse_instant(b).ok_or_else(invalid_date)?,
    );
    if end <= start {
        return Err(bad(
            "bad.request",
            "The interval end must be after its start.",
        ));
    }
    if let Some(days) = max_days
        && end - start > chrono::Duration::days(days as i64)
    {
        return Err(bad(
            "bad.request",
            &format!(
                "You must specify a search interval as part of your query that does not exceed {days} days."
            ),
        ));
    }
    let mut filters = Vec::new();
    if let Some(list) = body.get("filters").filter(|v| !v.is_null()) {
        let list = list
            .as_array()
            .ok_or_else(|| bad("bad.request", "filters must be an array"))?;
        for (n, f) in list.iter().enumerate() {
            let property = f["property"].as_str().unwrap_or("");
            let value = f["value"].as_str();
            if !FILTER_PROPERTIES.contains(&property) {
                let allowable = FILTER_PROPERTIES.join(", ");
                let mut r = json!({
                    "message": format!("Value [{property}] is not valid for field type [AuditQueryFilterProperty]. Allowable values are: {allowable}"),
                    "code": "invalid.value",
                    "status": 400,
                    "messageWithParams": "Value [{value}] is not valid for field type [{type}]. Allowable values are: {allowable}",
                    "messageParams": {"value": property, "type": "AuditQueryFilterProperty", "allowable": allowable},
                    "contextId": correlation,
                    "details": [{"errorCode": "invalid.value", "fieldName": format!("filters[{n}].property")}],
                    "errors": [],
                });
                r["errors"] = json!([{"message": format!("Value [{property}] is not valid for field type [AuditQueryFilterProperty]"),
                    "code": "invalid.value", "status": 400, "details": r["details"].clone(), "errors": []}]);
                return Err(json(StatusCode::BAD_REQUEST, &r));
            }
            let value = value
                .ok_or_else(|| bad("invalid.value", &format!("filters[{n}].value is required")))?;
            filters.push((property.to_string(), value.to_string()));
        }
    }
    let mut desc = false;
    if let Some(list) = body.get("sort").filter(|v| !v.is_null()) {
        for s in list
            .as_array()
            .ok_or_else(|| bad("bad.request", "sort must be an array"))?
        {
            if s["name"].as_str() != Some("Timestamp") {
                return Err(bad(
                    "invalid.value",
                    "Value is not valid for field type [AuditQuerySortName]. Allowable values are: Timestamp",
                ));
            }
            desc = match s["sortOrder"].as_str() {
                Some("ascending") => false,
                Some("descending") => true,
                _ => {
                    return Err(bad(
                        "invalid.value",
                        "Value is not valid for field type [SortOrder]. Allowable values are: ascending, descending",
                    ));
                }
            };
        }
    }
    let service = body["serviceName"].as_str().map(str::to_string);
    let (start_ms, end_ms) = (start.timestamp_millis(), end.timestamp_millis());
    Ok(QuerySpec {
        start_ms,
        end_ms,
        service,
        filters,
        desc,
        interval_echo: format!("{}/{}", ms_text(start_ms), ms_text(end_ms)),
        filters_echo: body.get("filters").cloned().unwrap_or(json!([])),
        sort_echo: body.get("sort").cloned().unwrap_or(json!([])),
    })
}

/// Whether record `i` matches a query (its service and filters; `realtime` keeps only the
/// services the realtime query covers).
pub fn matches(g: &GenesysData, spec: &QuerySpec, realtime: bool, i: u64) -> bool {
    if !realtime && spec.service.is_none() && spec.filters.is_empty() {
        return true;
    }
    let a = g.attrs(i);
    (!realtime || a.service.realtime)
        && spec.service.as_deref().is_none_or(|s| a.service.name == s)
        && spec.filters.iter().all(|(p, v)| g.matches(&a, p, v))
}

/// Whether a query needs a per-record predicate.
pub fn restricts(spec: &QuerySpec, realtime: bool) -> bool {
    realtime || spec.service.is_some() || !spec.filters.is_empty()
}

/// Reads `expand` values; `Err` for values other than `user`.
pub fn expand_user(q: &crate::http::Query, correlation: &str) -> Result<bool, Response> {
    let mut user = false;
    for v in q.all("expand") {
        for part in v.split(',') {
            match part.trim() {
                "user" => user = true,
                "" => {}
                other => {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "invalid.query.param.value",
                        &format!(
                            "Value [{other}] is not valid for parameter [expand]. Allowable values are: user"
                        ),
                        correlation,
                    ));
                }
            }
        }
    }
    Ok(user)
}

/// Parses a JSON request body.
pub fn body_json(body: &[u8], correlation: &str) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "The request could not be understood by the server due to malformed syntax.",
            correlation,
        )
    })
}
