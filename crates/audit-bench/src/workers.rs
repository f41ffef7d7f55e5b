//! The contenders beside `trail`, each run as its own process (`audit-bench worker …`):
//!
//! - **floor**: the least a client can do — reqwest, every page decoded into a
//!   `serde_json::Value`, records counted, the next cursor followed; no typed decoding, no
//!   mapping, no output.
//! - **raw**: the generated progenitor clients (`zendesk-raw`, `genesys-raw`) over the same
//!   pages: typed decoding (with the raw JSON kept beside it, as the specs ask), no mapping, no
//!   output.
//!
//! Both read exactly the requests `trail` sends: Zendesk audit logs oldest first with the two
//! `filter[created_at][]` bounds and `page[size]`; Genesys: a token, one historical query over
//! the same interval sorted ascending, its results `pageSize` at a time.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::sim::{enc, rfc3339};

/// Which contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// reqwest + serde_json::Value.
    Floor,
    /// The progenitor clients.
    Raw,
}

/// Which stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Vendor {
    /// Zendesk audit logs.
    Zendesk,
    /// Genesys historical audit query results.
    Genesys,
}

/// `audit-bench worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// floor or raw.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// zendesk or genesys.
    #[arg(long, value_enum)]
    pub vendor: Vendor,
    /// API base URL.
    #[arg(long)]
    pub base: String,
    /// Genesys login base URL.
    #[arg(long, default_value = "")]
    pub login: String,
    /// Zendesk e-mail, or Genesys client id.
    #[arg(long)]
    pub user: String,
    /// Zendesk API token, or Genesys client secret.
    #[arg(long)]
    pub secret: String,
    /// Window start (inclusive).
    #[arg(long)]
    pub since: DateTime<Utc>,
    /// Window end (inclusive).
    #[arg(long)]
    pub until: DateTime<Utc>,
    /// Records per page.
    #[arg(long)]
    pub page_size: u32,
}

/// Runs a worker; prints `records N pages M`.
pub fn run(args: WorkerArgs) -> Result<()> {
    // The same runtime trail uses.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (records, pages) = rt.block_on(async {
        match (args.kind, args.vendor) {
            (Kind::Floor, Vendor::Zendesk) => floor_zendesk(&args).await,
            (Kind::Floor, Vendor::Genesys) => floor_genesys(&args).await,
            (Kind::Raw, Vendor::Zendesk) => raw_zendesk(&args).await,
            (Kind::Raw, Vendor::Genesys) => raw_genesys(&args).await,
        }
    })?;
    println!("records {records} pages {pages}");
    Ok(())
}

fn zendesk_http(args: &WorkerArgs) -> Result<reqwest::Client> {
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}/token:{}", args.user, args.secret));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Basic {auth}").parse()?);
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}

async fn genesys_http(args: &WorkerArgs) -> Result<reqwest::Client> {
    let token: Value = reqwest::Client::new()
        .post(format!("{}/oauth/token", args.login))
        .basic_auth(&args.user, Some(&args.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = token["access_token"].as_str().context("no access_token")?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse()?);
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}

/// The interval trail sends for an inclusive window: the end is exclusive, so `until + 1 ms`.
fn interval(args: &WorkerArgs) -> String {
    let end = args.until + TimeDelta::milliseconds(1);
    format!("{}/{}", rfc3339(args.since), rfc3339(end))
}

fn query_body(args: &WorkerArgs) -> Value {
    json!({
        "interval": interval(args),
        "sort": [{"name": "Timestamp", "sortOrder": "ascending"}],
    })
}

async fn floor_zendesk(args: &WorkerArgs) -> Result<(u64, u64)> {
    let http = zendesk_http(args)?;
    let mut url = format!(
        "{}/api/v2/audit_logs?filter%5Bcreated_at%5D%5B%5D={}&filter%5Bcreated_at%5D%5B%5D={}&page%5Bsize%5D={}&sort=created_at",
        args.base,
        enc(&rfc3339(args.since)),
        enc(&rfc3339(args.until)),
        args.page_size
    );
    let (mut records, mut pages) = (0, 0);
    loop {
        let body = http
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let page: Value = serde_json::from_slice(&body)?;
        pages += 1;
        records += page["audit_logs"].as_array().map_or(0, Vec::len) as u64;
        match page["links"]["next"].as_str() {
            Some(next) if page["meta"]["has_more"] == true => url = next.to_string(),
            _ => break,
        }
    }
    Ok((records, pages))
}

/// Submits the query and waits until it has succeeded (the benchmark's simulator finishes
/// queries at once; the same 10 ms polls on every contender otherwise).
async fn floor_query(http: &reqwest::Client, args: &WorkerArgs) -> Result<String> {
    let status: Value = http
        .post(format!("{}/api/v2/audits/query", args.base))
        .json(&query_body(args))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = status["id"].as_str().context("no query id")?.to_string();
    let mut state = status["state"].as_str().unwrap_or_default().to_string();
    while state != "Succeeded" {
        if state == "Failed" || state == "Cancelled" {
            bail!("query {id} {state}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        let status: Value = http
            .get(format!("{}/api/v2/audits/query/{id}", args.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        state = status["state"].as_str().unwrap_or_default().to_string();
    }
    Ok(id)
}

async fn floor_genesys(args: &WorkerArgs) -> Result<(u64, u64)> {
    let http = genesys_http(args).await?;
    let id = floor_query(&http, args).await?;
    let url = format!("{}/api/v2/audits/query/{id}/results", args.base);
    let (mut records, mut pages) = (0, 0);
    let mut cursor: Option<String> = None;
    loop {
        let mut request = http
            .get(&url)
            .query(&[("pageSize", args.page_size.to_string())]);
        if let Some(c) = &cursor {
            request = request.query(&[("cursor", c)]);
        }
        let body = request.send().await?.error_for_status()?.bytes().await?;
        let page: Value = serde_json::from_slice(&body)?;
        pages += 1;
        records += page["entities"].as_array().map_or(0, Vec::len) as u64;
        match page["cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    Ok((records, pages))
}

async fn raw_zendesk(args: &WorkerArgs) -> Result<(u64, u64)> {
    let client = zendesk_raw::Client::new_with_client(&args.base, zendesk_http(args)?);
    let (mut records, mut pages) = (0, 0);
    let mut after: Option<String> = None;
    loop {
        let mut request = client
            .list_audit_logs()
            .filter_created_at(vec![args.since, args.until])
            .page_size(args.page_size as i64)
            .sort("created_at");
        if let Some(a) = &after {
            request = request.page_after(a.clone());
        }
        let page = request.send().await?.into_inner();
        pages += 1;
        records += page.audit_logs.len() as u64;
        let meta = page.meta.unwrap_or_default();
        match meta.after_cursor {
            Some(c) if meta.has_more == Some(true) => after = Some(c),
            _ => break,
        }
    }
    Ok((records, pages))
}

async fn raw_genesys(args: &WorkerArgs) -> Result<(u64, u64)> {
    let client = genesys_raw::Client::new_with_client(&args.base, genesys_http(args).await?);
    let body = genesys_raw::types::AuditQueryRequest {
        filters: Vec::new(),
        interval: interval(args),
        service_name: None,
        sort: vec![genesys_raw::types::AuditQuerySort {
            name: "Timestamp".into(),
            sort_order: "ascending".into(),
        }],
    };
    let status = client
        .post_audits_query()
        .body(body)
        .send()
        .await?
        .into_inner();
    let id = status.id.clone().context("no query id")?;
    let mut state = status.state.clone();
    while state.as_deref() != Some("Succeeded") {
        tokio::time::sleep(Duration::from_millis(10)).await;
        state = client
            .get_audits_query_transaction_id()
            .transaction_id(&id)
            .send()
            .await?
            .into_inner()
            .state;
    }
    let (mut records, mut pages) = (0, 0);
    let mut cursor: Option<String> = None;
    loop {
        let mut request = client
            .get_audits_query_transaction_id_results()
            .transaction_id(&id)
            .page_size(args.page_size as i32);
        if let Some(c) = &cursor {
            request = request.cursor(c.clone());
        }
        let page = request.send().await?.into_inner();
        pages += 1;
        records += page.entities.len() as u64;
        match page.cursor {
            Some(c) if !c.is_empty() => cursor = Some(c),
            _ => break,
        }
    }
    Ok((records, pages))
}
