//! Shared by the end-to-end suites: an in-process simulator and the real `trail` binary.

#![allow(dead_code)]

#[cfg(feature = "kafka")]
pub mod kafka;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use audit_sim::config::{SimConfig, TenantConfig, TimeSpec};
use audit_sim::{SimHandle, Stream};
use chrono::{DateTime, TimeZone, Utc};

/// A fixed, fully past data span: exports and snapshots are the same on every run.
pub fn fixed_span() -> (DateTime<Utc>, DateTime<Utc>) {
    (
        Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 5, 8, 0, 0, 0).unwrap(),
    )
}

/// One tenant `acme` over [`fixed_span`] with the given Zendesk record counts (and as many
/// Genesys audits as audit logs), no limits, no faults.
pub fn config(audit_logs: u64, ticket_audits: u64) -> SimConfig {
    let (start, end) = fixed_span();
    let mut tenant = TenantConfig::named("acme", 11);
    tenant.start = TimeSpec::At(start);
    tenant.end = TimeSpec::At(end);
    tenant.zendesk.audit_logs = audit_logs;
    tenant.zendesk.ticket_audits = ticket_audits;
    tenant.genesys.audits = audit_logs;
    let mut config = SimConfig {
        tenants: vec![tenant],
        ..SimConfig::default()
    };
    config.genesys.query_queued_ms = 20;
    config.genesys.query_running_ms = 50;
    config
}

/// One tenant `acme` whose data ends a few minutes ago, for the Genesys realtime stream, which
/// only reaches the last 14 days.
pub fn recent_config(audits: u64) -> SimConfig {
    let mut config = config(audits, 10);
    config.tenants[0].start = TimeSpec::Now(chrono::Duration::days(-10));
    config.tenants[0].end = TimeSpec::Now(chrono::Duration::minutes(-10));
    config
}

/// Starts the simulator.
pub async fn start(config: SimConfig) -> SimHandle {
    audit_sim::start(config)
        .await
        .expect("the simulator starts")
}

/// A simulator of [`config`]`(audit_logs, 10)` whose every page takes `page_latency_ms`: an
/// export slow enough to stop, kill or take down mid-way.
pub async fn start_slow(audit_logs: u64, page_latency_ms: u64) -> SimHandle {
    let mut config = config(audit_logs, 10);
    config.faults.page_latency_ms = page_latency_ms;
    start(config).await
}

/// Makes `config` serve HTTPS, its certificate authority written into `dir`; returns the
/// environment entry with which `trail` trusts it, as a user trusts their organisation's.
pub fn serve_https(config: &mut SimConfig, dir: &Path) -> (&'static str, String) {
    let ca = dir.join("sim-ca.pem");
    config.tls_ca_file = Some(ca.clone());
    ("SSL_CERT_FILE", ca.display().to_string())
}

/// The environment `trail` needs for the simulator's Zendesk tenant `acme`.
pub fn zendesk_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    let credentials = sim.tenant_credentials("acme").expect("tenant acme");
    vec![
        ("ZENDESK_SUBDOMAIN", "acme".to_string()),
        ("ZENDESK_BASE_URL", sim.zendesk_url().to_string()),
        ("ZENDESK_EMAIL", credentials.zendesk_email),
        ("ZENDESK_API_TOKEN", credentials.zendesk_api_token),
    ]
}

/// The environment `trail` needs for the simulator's Genesys organisation `acme`.
pub fn genesys_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    let credentials = sim.tenant_credentials("acme").expect("tenant acme");
    vec![
        ("GENESYS_API_BASE_URL", sim.genesys_api_url().to_string()),
        (
            "GENESYS_LOGIN_BASE_URL",
            sim.genesys_login_url().to_string(),
        ),
        ("GENESYS_CLIENT_ID", credentials.genesys_client_id),
        ("GENESYS_CLIENT_SECRET", credentials.genesys_client_secret),
        ("GENESYS_TENANT", "acme".to_string()),
    ]
}

/// Both vendors' environments.
pub fn all_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    let mut env = zendesk_env(sim);
    env.extend(genesys_env(sim));
    env
}

/// The `[zendesk.acme]` table of a trail.toml for the simulator's tenant acme, its API token
/// in `ACME_TOKEN` ([`acme_account_env`]), with `extra` lines of the table (`max_rate = …`).
pub fn acme_zendesk_account(sim: &SimHandle, extra: &str) -> String {
    let credentials = sim
        .tenant_credentials("acme")
        .expect("the simulator has acme");
    format!(
        "[zendesk.acme]\nbase_url = \"{}\"\nsubdomain = \"acme\"\nemail = \"{}\"\n\
         api_token_env = \"ACME_TOKEN\"\n{extra}\n\n",
        sim.zendesk_url(),
        credentials.zendesk_email
    )
}

/// The `[zendesk.acme]` and `[genesys.acme]` tables of a trail.toml for the simulator's tenant
/// acme, the secrets in `ACME_TOKEN` and `ACME_SECRET` ([`acme_account_env`]).
pub fn acme_accounts(sim: &SimHandle) -> String {
    let credentials = sim
        .tenant_credentials("acme")
        .expect("the simulator has acme");
    format!(
        "{}[genesys.acme]\napi_base_url = \"{}\"\nlogin_base_url = \"{}\"\n\
         client_id = \"{}\"\nclient_secret_env = \"ACME_SECRET\"\ntenant = \"acme\"\n\n",
        acme_zendesk_account(sim, ""),
        sim.genesys_api_url(),
        sim.genesys_login_url(),
        credentials.genesys_client_id
    )
}

/// The secrets that [`acme_accounts`] names.
pub fn acme_account_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    let credentials = sim
        .tenant_credentials("acme")
        .expect("the simulator has acme");
    vec![
        ("ACME_TOKEN", credentials.zendesk_api_token),
        ("ACME_SECRET", credentials.genesys_client_secret),
    ]
}

/// A `trail` command with a clean environment plus `env`.
pub fn trail<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, String)], dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trail"));
    command.args(args).current_dir(dir).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs `trail` to completion on a blocking thread (the simulator keeps serving meanwhile).
pub async fn run_trail(args: &[&str], env: &[(&str, String)], dir: &Path) -> Output {
    let mut command = trail(args, env, dir);
    tokio::task::spawn_blocking(move || command.output().expect("trail runs"))
        .await
        .expect("the blocking task finishes")
}

/// The native ids of an NDJSON export, in file order.
pub fn exported_ids(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    native_ids(&text)
}

/// The native ids of NDJSON text, in order.
pub fn native_ids(ndjson: &str) -> Vec<String> {
    ndjson
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            event["native_id"].as_str().expect("native_id").to_string()
        })
        .collect()
}

/// The ids the simulator holds for `stream` over the fixed span, in stream order.
pub fn ground_truth(sim: &SimHandle, stream: Stream) -> Vec<String> {
    let (start, end) = fixed_span();
    sim.ground_truth("acme", stream, start, end)
        .expect("ground truth")
}

/// `--since`/`--until` covering the fixed span.
pub fn window_args() -> [String; 4] {
    let (start, end) = fixed_span();
    [
        "--since".into(),
        start.to_rfc3339(),
        "--until".into(),
        end.to_rfc3339(),
    ]
}

/// Panics with trail's stderr unless it succeeded.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "trail failed ({:?}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A ticket that has audits, and its audit ids in order.
pub fn a_ticket(sim: &SimHandle) -> (i64, Vec<String>) {
    let tickets = audit_sim::ground_truth::tickets(sim.sim(), "acme", Utc::now()).unwrap();
    let (ticket, _) = tickets[0];
    let (start, end) = fixed_span();
    let audits = sim
        .ground_truth(
            "acme",
            Stream::ZendeskTicketAuditsOfTicket(ticket),
            start,
            end,
        )
        .unwrap();
    (ticket, audits)
}

/// Sends `signal` to a child process.
pub fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: sending a signal to a child process we own.
    let sent = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(sent, 0, "could not signal trail");
}

/// The records the state file says were committed (0 while there is none).
pub fn committed_records(state: &Path) -> u64 {
    std::fs::read_to_string(state)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|state| {
            state["streams"]
                .as_object()?
                .values()
                .next()?
                .get("output")?
                .get("records")?
                .as_u64()
        })
        .unwrap_or(0)
}

/// A small deterministic generator for the kill points (splitmix64).
pub struct Seeded(pub u64);

impl Seeded {
    /// The next kill point in `low..high`.
    pub fn next_in(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        low + (z ^ (z >> 31)) % (high - low)
    }
}

/// `trail export STREAM --follow` from a second before `start_at` into `out.ndjson` and
/// `state.json`, polling every 500 ms with a settle lag of 1 s and a commit every 200 ms, then
/// `extra`.
pub fn follow_args(stream: &str, start_at: DateTime<Utc>, extra: &[&str]) -> Vec<String> {
    let since = (start_at - chrono::Duration::seconds(1)).to_rfc3339();
    let args = [
        "export",
        stream,
        "--since",
        &since,
        "--follow",
        "--poll-interval",
        "500ms",
        "--settle-lag",
        "1s",
        "--commit-interval",
        "200ms",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ];
    args.iter()
        .chain(extra)
        .map(|arg| arg.to_string())
        .collect()
}

/// Lets a `--follow` export run until the data's last record (`end_at`) has arrived and
/// `records` are committed in `state` (at most 30 s more), then stops it as a service manager
/// does (SIGTERM), and returns how it exited. The child is killed if the test fails first.
pub async fn follow_then_stop(
    child: std::process::Child,
    state: &Path,
    records: u64,
    end_at: DateTime<Utc>,
) -> std::process::ExitStatus {
    let mut child = KillOnDrop(Some(child));
    let until_end = (end_at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(until_end).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while committed_records(state) < records && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mut child = child.0.take().expect("not stopped yet");
    signal(child.id(), libc::SIGTERM);
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap()
}

/// Kills the child if the test fails before it is signalled.
pub struct KillOnDrop(pub Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running `trail` whose standard error is collected as it comes; killed if the test fails
/// before it ends.
pub struct Running {
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(
        args: &[S],
        env: &[(&str, String)],
        dir: &Path,
    ) -> Self {
        let mut child = trail(args, env, dir)
            .stderr(Stdio::piped())
            .spawn()
            .expect("trail starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Running {
            child: Some(child),
            stderr,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().unwrap().try_wait().unwrap().is_none()
    }

    /// Waits (up to `timeout`) until `condition` holds; panics with the stderr otherwise.
    pub async fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        condition: impl Fn(&Self) -> bool,
    ) {
        let this = &*self;
        wait_for(
            what,
            timeout,
            || condition(this),
            || format!("stderr:\n{}", this.stderr()),
        )
        .await;
    }

    /// Waits for the exit (up to `timeout`, then kills it and panics): the exit code.
    pub async fn exit_code(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                // Let the reader thread take the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "trail did not exit within {timeout:?}; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn signal(&self, signal: libc::c_int) {
        self::signal(self.child.as_ref().unwrap().id(), signal);
    }

    /// Stops it as a service manager does (SIGTERM) and waits for the exit (up to
    /// `timeout`): the exit code.
    pub async fn stop(&mut self, timeout: Duration) -> Option<i32> {
        self.signal(libc::SIGTERM);
        self.exit_code(timeout).await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `trail export zendesk-audit-logs --follow` over [`fixed_span`] into `out`, polling every
/// 300 ms and committing every 100 ms, each request giving up after one retry: a vendor outage
/// is the follower's to wait out.
pub fn outage_follower_args(out: &str) -> Vec<String> {
    let since = fixed_span().0.to_rfc3339();
    [
        "export",
        "zendesk-audit-logs",
        "--since",
        &since,
        "--follow",
        "--poll-interval",
        "300ms",
        "--commit-interval",
        "100ms",
        "--max-retries",
        "1",
        "--out",
        out,
    ]
    .map(String::from)
    .to_vec()
}

/// Waits (up to `timeout`, looking every 50 ms) until `condition` holds; otherwise panics,
/// naming `what` and saying `detail()`. What a test waits for rather than sleeping a fixed time,
/// which a loaded machine may not fill.
pub async fn wait_for(
    what: &str,
    timeout: Duration,
    mut condition: impl FnMut() -> bool,
    detail: impl Fn() -> String,
) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}; {}",
            detail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
