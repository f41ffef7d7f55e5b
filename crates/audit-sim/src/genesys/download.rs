//! The download host: presigned URLs of large result pages, in the style of S3. A request
//! carrying an `Authorization` header is refused (403), as S3 refuses a second
//! authentication mechanism next to a presigned query.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;
use chrono::{NaiveDateTime, Utc};

use super::query::QueryState;
use crate::data::prng::{hash_str, mix};
use crate::http::{PageReport, Query, json_text, with_report};
use crate::server::Sim;

/// The download listener's routes.
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/audit-query-results/{org}/{query}/{file}", get(download))
        .fallback(|| async {
            s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            )
        })
        .with_state(sim)
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = crate::http::html(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
        ),
    );
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/xml"),
    );
    r
}

fn signature(sim: &Sim, path: &str, date: &str, expires: &str) -> String {
    let key = mix(&[
        sim.config.faults.seed,
        0x5163,
        hash_str(path),
        hash_str(date),
        hash_str(expires),
    ]);
    (0..4u64)
        .map(|k| format!("{:016x}", mix(&[key, k])))
        .collect()
}

/// The presigned URL of the `count` records after `after` of a query's results; `swap` (an
/// `out_of_order` draw of the results request) swaps two neighbours in the file, and
/// `non_object` (`non_object_record` of the results request) writes the record at that
/// position as the number `5`.
pub fn url(
    sim: &Sim,
    q: &QueryState,
    after: Option<u64>,
    count: u32,
    swap: Option<u64>,
    non_object: Option<usize>,
) -> String {
    let org = &sim.tenants[q.tenant].genesys.org_id().to_string();
    let start = after.map_or_else(|| "start".to_string(), |p| p.to_string());
    let path = format!(
        "/audit-query-results/{org}/{}/page-{start}-{count}.json",
        q.id
    );
    let date = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let expires = sim.config.genesys.download_expires_secs.to_string();
    let sig = signature(sim, &path, &date, &expires);
    let swap = swap.map_or_else(String::new, |d| format!("&x-sim-swap={d}"));
    let non_object = non_object.map_or_else(String::new, |k| format!("&x-sim-non-object={k}"));
    format!(
        "{}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={sig}{swap}{non_object}",
        sim.urls.download
    )
}

async fn download(State(sim): State<Arc<Sim>>, headers: HeaderMap, uri: Uri) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        sim.stats.download_rejected();
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let q = Query::parse(uri.query());
    let path = uri.path().to_string();
    let (Some(date), Some(expires), Some(sig)) = (
        q.get("X-Amz-Date"),
        q.get("X-Amz-Expires"),
        q.get("X-Amz-Signature"),
    ) else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        );
    };
    if signature(&sim, &path, date, expires) != sig {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    let signed = NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ").map(|t| t.and_utc());
    let expires: i64 = expires.parse().unwrap_or(0);
    match signed {
        Ok(t) if (Utc::now() - t).num_seconds() <= expires => {}
        _ => return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired"),
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (query_id, file) = (segs[2], segs[3]);
    let parsed = file
        .strip_prefix("page-")
        .and_then(|f| f.strip_suffix(".json"))
        .and_then(|f| f.rsplit_once('-'))
        .and_then(|(start, count)| {
            let after = if start == "start" {
                None
            } else {
                Some(start.parse::<u64>().ok()?)
            };
            Some((after, count.parse::<usize>().ok()?))
        });
    let query = sim
        .queries
        .lock()
        .expect("queries lock")
        .get(query_id)
        .cloned();
    let (Some((after, count)), Some(query)) = (parsed, query) else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let mut positions = query.with_selection(&sim, |sel| sel.forward(after, count).0);
    let g = &sim.tenants[query.tenant].genesys;
    if let Some(draw) = q.get("x-sim-swap").and_then(|d| d.parse().ok()) {
        crate::anomalies::swap_neighbours(&mut positions, draw, |i| g.time_of(i));
    }
    let report = PageReport {
        records: positions.len() as u64,
        ..PageReport::default()
    };
    let non_object = q.get("x-sim-non-object").and_then(|k| k.parse().ok());
    let mut body = Vec::new();
    crate::anomalies::write_genesys_records(&sim, g, &mut body, &positions, false, non_object);
    with_report(json_text(StatusCode::OK, body), report)
}
