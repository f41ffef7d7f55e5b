//! `audit-sim`: serves the Zendesk and Genesys Cloud audit APIs from generated data.

use std::net::IpAddr;
use std::path::PathBuf;

use audit_sim::{Plan, SimConfig, TimeSpec};
use clap::Parser;

/// A simulator of the Zendesk (Ticket Audits, Audit Logs) and Genesys Cloud (Audit) APIs,
/// with deterministic generated data, rate limits and fault injection.
///
/// Settings come from the built-in defaults, then the TOML file given with --config, then
/// the flags below (a flag given overrides the file). Per-tenant data flags apply to every
/// tenant. Every listener binds 127.0.0.1 unless --bind says otherwise; on start the base URLs
/// and each tenant's credentials (simulator credentials, not secrets) are printed.
#[derive(Debug, Parser)]
#[command(name = "audit-sim", version, about, long_about)]
struct Args {
    /// TOML config file (same shape as --print-config prints).
    #[arg(long, env = "AUDIT_SIM_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective config as TOML and exit.
    #[arg(long)]
    print_config: bool,

    // ---------------------------------------------------------------- listeners
    /// Address every listener binds. [default: 127.0.0.1]
    #[arg(long, help_heading = "Listeners")]
    bind: Option<IpAddr>,
    /// Port of the Zendesk API (0 = any free port). [default: 0]
    #[arg(long, help_heading = "Listeners")]
    zendesk_port: Option<u16>,
    /// Port of the Genesys Cloud API. [default: 0]
    #[arg(long, help_heading = "Listeners")]
    genesys_api_port: Option<u16>,
    /// Port of the Genesys Cloud login host (POST /oauth/token). [default: 0]
    #[arg(long, help_heading = "Listeners")]
    genesys_login_port: Option<u16>,
    /// Port of the download host of Genesys result files. [default: 0]
    #[arg(long, help_heading = "Listeners")]
    download_port: Option<u16>,
    /// Serve HTTPS (HTTP/2 or HTTP/1.1 by ALPN, as the vendors do) with a certificate signed
    /// by an authority made at start, whose certificate is written to FILE (PEM) for clients
    /// to trust: `SSL_CERT_FILE=FILE trail …`. [default: plain HTTP/1.1]
    #[arg(long, help_heading = "Listeners", value_name = "FILE")]
    tls_ca_file: Option<PathBuf>,

    // ---------------------------------------------------------------- tenants and data
    /// Replace the tenants by N generated ones (tenant1..tenantN, credentials derived from
    /// the name, seed = N). [default: one tenant, acme]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    tenants: Option<usize>,
    /// Data seed (tenant i gets SEED + i). [default: 1 for acme]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    seed: Option<u64>,
    /// Start of the data span: RFC 3339 or now-30d, now-12h, … [default: now-30d]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    start: Option<TimeSpec>,
    /// End of the data span; a future end makes records appear over time. [default: now]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    end: Option<TimeSpec>,
    /// Zendesk ticket audits per tenant. [default: 2000]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    ticket_audits: Option<u64>,
    /// Audits per complete ticket (above 100000 shows the count cap). [default: 6]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    audits_per_ticket: Option<u64>,
    /// Tickets receiving audits at the same time. [default: 25]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    open_tickets: Option<u64>,
    /// Fraction of the complete, older tickets that are archived. [default: 0.2]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    archived_fraction: Option<f64>,
    /// Zendesk audit-log records per tenant. [default: 1500]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    audit_logs: Option<u64>,
    /// Genesys audit records per tenant. [default: 3000]
    #[arg(long, help_heading = "Tenants and data (every tenant)")]
    genesys_audits: Option<u64>,
    /// Zendesk plan: enterprise (audit logs) or professional (403 on audit logs). [default: enterprise]
    #[arg(long, value_enum, help_heading = "Tenants and data (every tenant)")]
    plan: Option<Plan>,

    // ---------------------------------------------------------------- Zendesk
    /// Zendesk requests per window and tenant (0 = unlimited, no headers). [default: 0]
    #[arg(long, help_heading = "Zendesk")]
    zendesk_rate_limit: Option<u32>,
    /// Zendesk rate-limit window in seconds. [default: 60]
    #[arg(long, help_heading = "Zendesk")]
    zendesk_rate_window_secs: Option<u64>,
    /// Seconds between two accepted audit-log exports of a tenant. [default: 60]
    #[arg(long, help_heading = "Zendesk")]
    export_interval_secs: Option<u64>,
    /// Lifetime of /ticket_audits cursors in seconds; older ones answer 400 (0 = never). [default: 0]
    #[arg(long, help_heading = "Zendesk")]
    cursor_ttl_secs: Option<u64>,

    // ---------------------------------------------------------------- Genesys
    /// Genesys requests per window and tenant (0 = unlimited, no headers). [default: 0]
    #[arg(long, help_heading = "Genesys")]
    genesys_rate_limit: Option<u32>,
    /// Genesys rate-limit window in seconds. [default: 60]
    #[arg(long, help_heading = "Genesys")]
    genesys_rate_window_secs: Option<u64>,
    /// Leave Retry-After out of Genesys 429s (clients must read "[N]"). [default: false]
    #[arg(long, help_heading = "Genesys")]
    omit_retry_after: bool,
    /// Access-token lifetime in seconds (expires_in). [default: 86400]
    #[arg(long, help_heading = "Genesys")]
    token_expires_in: Option<u64>,
    /// Milliseconds a query stays Queued. [default: 150]
    #[arg(long, help_heading = "Genesys")]
    query_queued_ms: Option<u64>,
    /// Milliseconds a query then stays Running. [default: 250]
    #[arg(long, help_heading = "Genesys")]
    query_running_ms: Option<u64>,
    /// Fraction of queries that end Failed. [default: 0]
    #[arg(long, help_heading = "Genesys")]
    query_fail_rate: Option<f64>,
    /// The n-th query of a tenant ends Failed (repeatable). [default: none]
    #[arg(long, help_heading = "Genesys")]
    query_fail_nth: Vec<u64>,
    /// Longest query interval in days. [default: 31]
    #[arg(long, help_heading = "Genesys")]
    max_interval_days: Option<u64>,
    /// Days realtime queries reach back. [default: 14]
    #[arg(long, help_heading = "Genesys")]
    realtime_days: Option<u64>,
    /// Seconds query results stay readable. [default: 86400]
    #[arg(long, help_heading = "Genesys")]
    results_ttl_secs: Option<u64>,
    /// With allowRedirect=true, pages with more records than this answer 302. [default: 100]
    #[arg(long, help_heading = "Genesys")]
    redirect_threshold: Option<u32>,
    /// Without allowRedirect, pages with more records than this answer 400
    /// response.entity.too.large (0 = never). [default: 0]
    #[arg(long, help_heading = "Genesys")]
    too_large_threshold: Option<u32>,
    /// Lifetime of download URLs in seconds. [default: 900]
    #[arg(long, help_heading = "Genesys")]
    download_expires_secs: Option<u64>,

    // ---------------------------------------------------------------- faults
    /// Seed of every fault decision. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_seed: Option<u64>,
    /// Rate of 429 with Retry-After. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_429: Option<f64>,
    /// Rate of 500 (JSON body). [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_500: Option<f64>,
    /// Rate of 502 (HTML body). [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_502: Option<f64>,
    /// Rate of 503 with Retry-After. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_503: Option<f64>,
    /// Rate of 504 (HTML body). [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_504: Option<f64>,
    /// Rate of connections closed without a response. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_connection_reset: Option<f64>,
    /// Rate of bodies cut half-way. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_truncated_body: Option<f64>,
    /// Rate of answers delayed by --slow-response-ms. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_slow_response: Option<f64>,
    /// Rate of cursor pages that repeat the previous page's last record. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_duplicate_across_pages: Option<f64>,
    /// Rate of cursor pages whose next cursor is the one requested. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_repeated_cursor: Option<f64>,
    /// Rate of Genesys 401s as for an expired token. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_expired_token: Option<f64>,
    /// Rate of list or results pages answered 200 {}. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_empty_envelope: Option<f64>,
    /// Rate of pages, not the last, answered empty as if they were the last. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_empty_page: Option<f64>,
    /// Rate of cursor pages answered empty with a new cursor to the same place. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_fresh_cursor: Option<f64>,
    /// Rate of records with created_at null (Zendesk) or no eventDate (Genesys). [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_null_timestamp: Option<f64>,
    /// Rate of pages with two neighbouring records swapped. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_out_of_order: Option<f64>,
    /// Rate of pages with one record the number 5 instead of an object. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_non_object_record: Option<f64>,
    /// Rate of /ticket_audits pages served oldest first. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_ascending_page: Option<f64>,
    /// Asks of a page that non_object_record or ascending_page hit, drawn once per page (0: each ask draws). [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    sticky_page_attempts: Option<u64>,
    /// Rate of answers whose rate-limit headers say: nothing left, reset in a day. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_huge_rate_limit_reset: Option<f64>,
    /// Rate of 429 whose Retry-After is an HTTP date in the past. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_retry_after_past_date: Option<f64>,
    /// Rate of ticket audits with a comment of --large-record-bytes. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_large_records: Option<f64>,
    /// Rate of records with a lone surrogate escape (\ud800) in a string. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_lone_surrogate: Option<f64>,
    /// Rate of records with bytes that are not UTF-8 in a string. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_invalid_utf8: Option<f64>,
    /// Rate of records with an extra field x_score = 1e400. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_huge_number: Option<f64>,
    /// Rate of Zendesk records with an id beyond i64 (the id plus 2^65). [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_big_id: Option<f64>,
    /// Rate of realtime queries paged by --realtime-own-page-size, no pageCount. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    fault_realtime_ignores_page_size: Option<f64>,
    /// Size of a large_records comment, in bytes. [default: 200000]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    large_record_bytes: Option<u64>,
    /// Page size of a realtime query that ignores pageSize. [default: 25]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    realtime_own_page_size: Option<u64>,
    /// After a retry_after_past_date, every request of the tenant gets one for this many ms. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    retry_after_past_date_window_ms: Option<u64>,
    /// Retry-After of injected 429s and 503s, in seconds. [default: 1]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    retry_after_secs: Option<u64>,
    /// Delay of slow responses, in ms. [default: 1500]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    slow_response_ms: Option<u64>,
    /// Fixed delay added to every list/results page, in ms. [default: 0]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    page_latency_ms: Option<u64>,
    /// Also inject faults on the Genesys token endpoint. [default: false]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    faults_on_login: bool,
    /// Also inject faults on the download host. [default: false]
    #[arg(long, help_heading = "Faults (rates 0..1, per request)")]
    faults_on_download: bool,
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

impl Args {
    fn config(self) -> Result<SimConfig, String> {
        let mut c = match &self.config {
            Some(path) => SimConfig::from_file(path)?,
            None => SimConfig::default(),
        };
        set(&mut c.bind, self.bind);
        set(&mut c.zendesk_port, self.zendesk_port);
        set(&mut c.genesys_api_port, self.genesys_api_port);
        set(&mut c.genesys_login_port, self.genesys_login_port);
        set(&mut c.download_port, self.download_port);
        if let Some(file) = self.tls_ca_file {
            c.tls_ca_file = Some(file);
        }
        if let Some(n) = self.tenants {
            c = c.with_tenants(n);
        }
        for (i, t) in c.tenants.iter_mut().enumerate() {
            set(&mut t.seed, self.seed.map(|s| s + i as u64));
            set(&mut t.start, self.start.clone());
            set(&mut t.end, self.end.clone());
            let z = &mut t.zendesk;
            set(&mut z.ticket_audits, self.ticket_audits);
            set(&mut z.audits_per_ticket, self.audits_per_ticket);
            set(&mut z.open_tickets, self.open_tickets);
            set(&mut z.archived_fraction, self.archived_fraction);
            set(&mut z.audit_logs, self.audit_logs);
            set(&mut z.plan, self.plan);
            set(&mut t.genesys.audits, self.genesys_audits);
        }
        let z = &mut c.zendesk;
        set(&mut z.rate_limit.requests, self.zendesk_rate_limit);
        set(&mut z.rate_limit.window_secs, self.zendesk_rate_window_secs);
        set(&mut z.export_interval_secs, self.export_interval_secs);
        set(&mut z.cursor_ttl_secs, self.cursor_ttl_secs);
        let g = &mut c.genesys;
        set(&mut g.rate_limit.requests, self.genesys_rate_limit);
        set(&mut g.rate_limit.window_secs, self.genesys_rate_window_secs);
        g.omit_retry_after |= self.omit_retry_after;
        set(&mut g.token_expires_in, self.token_expires_in);
        set(&mut g.query_queued_ms, self.query_queued_ms);
        set(&mut g.query_running_ms, self.query_running_ms);
        set(&mut g.query_fail_rate, self.query_fail_rate);
        if !self.query_fail_nth.is_empty() {
            g.query_fail_nth = self.query_fail_nth;
        }
        set(&mut g.max_interval_days, self.max_interval_days);
        set(&mut g.realtime_days, self.realtime_days);
        set(&mut g.results_ttl_secs, self.results_ttl_secs);
        set(&mut g.redirect_threshold, self.redirect_threshold);
        set(&mut g.too_large_threshold, self.too_large_threshold);
        set(&mut g.download_expires_secs, self.download_expires_secs);
        let f = &mut c.faults;
        set(&mut f.seed, self.fault_seed);
        set(&mut f.status_429, self.fault_429);
        set(&mut f.status_500, self.fault_500);
        set(&mut f.status_502, self.fault_502);
        set(&mut f.status_503, self.fault_503);
        set(&mut f.status_504, self.fault_504);
        set(&mut f.connection_reset, self.fault_connection_reset);
        set(&mut f.truncated_body, self.fault_truncated_body);
        set(&mut f.slow_response, self.fault_slow_response);
        set(
            &mut f.duplicate_across_pages,
            self.fault_duplicate_across_pages,
        );
        set(&mut f.repeated_cursor, self.fault_repeated_cursor);
        set(&mut f.expired_token, self.fault_expired_token);
        set(&mut f.empty_envelope, self.fault_empty_envelope);
        set(&mut f.empty_page, self.fault_empty_page);
        set(&mut f.fresh_cursor, self.fault_fresh_cursor);
        set(&mut f.null_timestamp, self.fault_null_timestamp);
        set(&mut f.out_of_order, self.fault_out_of_order);
        set(&mut f.non_object_record, self.fault_non_object_record);
        set(&mut f.ascending_page, self.fault_ascending_page);
        set(&mut f.sticky_page_attempts, self.sticky_page_attempts);
        set(
            &mut f.huge_rate_limit_reset,
            self.fault_huge_rate_limit_reset,
        );
        set(
            &mut f.retry_after_past_date,
            self.fault_retry_after_past_date,
        );
        set(&mut f.large_records, self.fault_large_records);
        set(&mut f.lone_surrogate, self.fault_lone_surrogate);
        set(&mut f.invalid_utf8, self.fault_invalid_utf8);
        set(&mut f.huge_number, self.fault_huge_number);
        set(&mut f.big_id, self.fault_big_id);
        set(
            &mut f.realtime_ignores_page_size,
            self.fault_realtime_ignores_page_size,
        );
        set(&mut f.large_record_bytes, self.large_record_bytes);
        set(&mut f.realtime_own_page_size, self.realtime_own_page_size);
        set(
            &mut f.retry_after_past_date_window_ms,
            self.retry_after_past_date_window_ms,
        );
        set(&mut f.retry_after_secs, self.retry_after_secs);
        set(&mut f.slow_response_ms, self.slow_response_ms);
        set(&mut f.page_latency_ms, self.page_latency_ms);
        f.apply_to_login |= self.faults_on_login;
        f.apply_to_download |= self.faults_on_download;
        c.validate()?;
        Ok(c)
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let print = args.print_config;
    let config = match args.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("audit-sim: {e}");
            std::process::exit(2);
        }
    };
    if print {
        print!("{}", config.to_toml());
        return;
    }
    let handle = match audit_sim::start(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("audit-sim: {e}");
            std::process::exit(1);
        }
    };
    println!("audit-sim is serving:");
    println!("  zendesk api    {}", handle.zendesk_url());
    println!("  genesys api    {}", handle.genesys_api_url());
    println!(
        "  genesys login  {}  (POST /oauth/token)",
        handle.genesys_login_url()
    );
    println!("  downloads      {}", handle.download_url());
    println!(
        "  control        GET <any>/_sim/stats, GET <any>/_sim/ground-truth?tenant=&stream=&since=&until="
    );
    println!("tenants (simulator credentials, not secrets):");
    for c in handle.credentials() {
        let (start, end) = handle.span(&c.name).expect("known tenant");
        println!(
            "  {}  data {} .. {}",
            c.name,
            start.to_rfc3339(),
            end.to_rfc3339()
        );
        println!(
            "    zendesk  basic {}/token : {}",
            c.zendesk_email, c.zendesk_api_token
        );
        println!("    zendesk  bearer {}", c.zendesk_oauth_token);
        println!(
            "    genesys  client {} : {}  (org {})",
            c.genesys_client_id, c.genesys_client_secret, c.genesys_org_id
        );
    }
    println!("press Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
}
