//! `trail` as a long-running service, against the simulator: a follower through a vendor
//! outage (taken down and brought back with the simulator's outage control), permanent
//! failures that end it, `--all --follow` with a failing stream, the status file, SIGTERM,
//! and the messages of a server that answers HTML or never answers.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use audit_sim::Stream;
use audit_sim::outage::OutageMode;
use common::*;
use serde_json::Value;

fn status_file(path: &Path) -> Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

/// The state of `stream` in the status file, or "" while there is none.
fn stream_state(status: &Value, stream: &str) -> String {
    status["streams"][stream]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const ZENDESK_LOGS: &str = "zendesk-audit-logs@acme";

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_waits_out_an_outage_says_so_and_ends_exact() {
    let sim = start_slow(1_500, 150).await;
    let dir = tempfile::tempdir().unwrap();
    let mut args = outage_follower_args("out.ndjson");
    args.extend(["--state", "state.json", "--status-file", "status.json"].map(String::from));
    let env = zendesk_env(&sim);
    let state = dir.path().join("state.json");
    let status = dir.path().join("status.json");
    let mut trail = Running::spawn(&args, &env, dir.path());
    trail
        .wait_until("a first page is committed", Duration::from_secs(30), |_| {
            committed_records(&state) > 0
        })
        .await;

    // The vendor goes away: connections dropped without an answer.
    sim.set_outage(Some("zendesk"), Some(OutageMode::Reset))
        .unwrap();
    trail
        .wait_until("the follower says it waits", Duration::from_secs(30), |t| {
            t.stderr().contains("waiting for the vendor since")
        })
        .await;
    // Well past the request's own retries: still running, still waiting.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        trail.is_running(),
        "a follower outlives an outage:\n{}",
        trail.stderr()
    );
    let during = status_file(&status);
    assert_eq!(stream_state(&during, ZENDESK_LOGS), "waiting", "{during:#}");
    let entry = &during["streams"][ZENDESK_LOGS];
    assert!(entry["waiting_since"].is_string(), "{entry:#}");
    assert!(entry["next_attempt_at"].is_string(), "{entry:#}");
    let last_error = entry["last_error"].as_str().unwrap();
    assert!(
        last_error.contains("exporting zendesk-audit-logs@acme"),
        "{last_error}"
    );
    let secret = &env
        .iter()
        .find(|(k, _)| *k == "ZENDESK_API_TOKEN")
        .unwrap()
        .1;
    assert!(
        !std::fs::read_to_string(&status)
            .unwrap()
            .contains(secret.as_str())
    );
    let committed_during = committed_records(&state);
    assert!(committed_during < 1_500, "the outage came mid-export");
    assert_eq!(entry["records_committed"], committed_during, "{entry:#}");

    // The vendor is back: the follower says so and catches up.
    sim.set_outage(Some("zendesk"), None).unwrap();
    trail
        .wait_until(
            "every record is committed",
            Duration::from_secs(120),
            |_| committed_records(&state) == 1_500,
        )
        .await;
    let stderr = trail.stderr();
    assert!(
        stderr.contains("the vendor answers again after"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("waiting for the vendor since").count(),
        1,
        "said once, not once per attempt:\n{stderr}"
    );

    assert_eq!(
        trail.stop(Duration::from_secs(20)).await,
        Some(0),
        "{}",
        trail.stderr()
    );
    assert!(
        trail
            .stderr()
            .contains("stopped: everything written so far is committed")
    );
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    let after = status_file(&status);
    assert_eq!(stream_state(&after, ZENDESK_LOGS), "stopped", "{after:#}");
    assert_eq!(after["streams"][ZENDESK_LOGS]["records_committed"], 1_500);
    assert!(after["streams"][ZENDESK_LOGS]["last_page_at"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_whose_credentials_are_refused_exits_at_once() {
    let sim = start(config(100, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = zendesk_env(&sim);
    for (name, value) in env.iter_mut() {
        if *name == "ZENDESK_API_TOKEN" {
            *value = "not-the-token".into();
        }
    }
    let args = [
        "export",
        "zendesk-audit-logs",
        "--since",
        "30d",
        "--follow",
        "--out",
        "out.ndjson",
        "--status-file",
        "status.json",
    ];
    let started = Instant::now();
    let mut trail = Running::spawn(&args, &env, dir.path());
    let code = trail.exit_code(Duration::from_secs(20)).await;
    let stderr = trail.stderr();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "at once: {:?}",
        started.elapsed()
    );
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(!stderr.contains("waiting for the vendor"), "{stderr}");
    let status = status_file(&dir.path().join("status.json"));
    assert_eq!(stream_state(&status, ZENDESK_LOGS), "failed", "{status:#}");
    assert!(
        status["streams"][ZENDESK_LOGS]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 401")
    );
}

/// A `trail.toml` with Zendesk audit logs and Genesys audits of the simulator's `acme`;
/// the Zendesk token comes from `ACME_ZENDESK_TOKEN`.
fn two_stream_config(sim: &audit_sim::SimHandle, dir: &Path) {
    let credentials = sim.tenant_credentials("acme").unwrap();
    let (since, _) = fixed_span();
    let text = format!(
        r#"
status_file = "status.json"
max_retries = 1

[zendesk.acme]
base_url = "{zendesk}"
subdomain = "acme"
email = "{email}"
api_token_env = "ACME_ZENDESK_TOKEN"

[genesys.acme]
api_base_url = "{genesys}"
login_base_url = "{login}"
client_id = "{client_id}"
client_secret_env = "ACME_GENESYS_SECRET"
tenant = "acme"

[[export]]
stream = "zendesk-audit-logs"
account = "acme"
out = "zendesk.ndjson"
since = "{since}"

[[export]]
stream = "genesys-audits"
account = "acme"
out = "genesys.ndjson"
since = "{since}"
"#,
        zendesk = sim.zendesk_url(),
        email = credentials.zendesk_email,
        genesys = sim.genesys_api_url(),
        login = sim.genesys_login_url(),
        client_id = credentials.genesys_client_id,
        since = since.to_rfc3339(),
    );
    std::fs::write(dir.join("trail.toml"), text).unwrap();
}

fn all_follow_args() -> [&'static str; 9] {
    [
        "export",
        "--all",
        "--follow",
        "--state",
        "state.json",
        "--poll-interval",
        "300ms",
        "--commit-interval",
        "100ms",
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn all_follow_waits_out_one_vendor_while_the_other_lands() {
    let sim = start(config(800, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    two_stream_config(&sim, dir.path());
    let credentials = sim.tenant_credentials("acme").unwrap();
    let env = vec![
        ("ACME_ZENDESK_TOKEN", credentials.zendesk_api_token),
        ("ACME_GENESYS_SECRET", credentials.genesys_client_secret),
    ];
    // Zendesk is down (a 5xx storm) from the start.
    sim.set_outage(Some("zendesk"), Some(OutageMode::Error))
        .unwrap();
    let mut trail = Running::spawn(&all_follow_args(), &env, dir.path());
    let genesys_truth = ground_truth(&sim, Stream::GenesysAudits { service: None });
    let genesys_out = dir.path().join("genesys.ndjson");
    trail
        .wait_until(
            "the Genesys records land while Zendesk is down",
            Duration::from_secs(120),
            |_| {
                std::fs::read_to_string(&genesys_out)
                    .is_ok_and(|text| text.lines().count() == genesys_truth.len())
            },
        )
        .await;
    trail
        .wait_until(
            "the Zendesk stream is reported",
            Duration::from_secs(30),
            |t| {
                t.stderr()
                    .contains("zendesk-audit-logs@acme: waiting for the vendor since")
            },
        )
        .await;
    let status = status_file(&dir.path().join("status.json"));
    assert_eq!(stream_state(&status, ZENDESK_LOGS), "waiting", "{status:#}");
    assert!(trail.is_running());

    sim.set_outage(Some("zendesk"), None).unwrap();
    let zendesk_truth = ground_truth(&sim, Stream::ZendeskAuditLogs);
    let zendesk_out = dir.path().join("zendesk.ndjson");
    trail
        .wait_until("the Zendesk records land", Duration::from_secs(120), |_| {
            std::fs::read_to_string(&zendesk_out)
                .is_ok_and(|text| text.lines().count() == zendesk_truth.len())
        })
        .await;
    assert_eq!(
        trail.stop(Duration::from_secs(20)).await,
        Some(0),
        "{}",
        trail.stderr()
    );
    assert_eq!(exported_ids(&zendesk_out), zendesk_truth);
    assert_eq!(exported_ids(&genesys_out), genesys_truth);
}

#[tokio::test(flavor = "multi_thread")]
async fn all_follow_reports_a_failed_stream_at_once_and_exits_with_its_failure() {
    let sim = start(config(300, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    two_stream_config(&sim, dir.path());
    let credentials = sim.tenant_credentials("acme").unwrap();
    let env = vec![
        ("ACME_ZENDESK_TOKEN", "not-the-token".to_string()),
        ("ACME_GENESYS_SECRET", credentials.genesys_client_secret),
    ];
    let mut trail = Running::spawn(&all_follow_args(), &env, dir.path());
    trail
        .wait_until(
            "the refused stream is reported",
            Duration::from_secs(30),
            |t| t.stderr().contains("zendesk-audit-logs@acme stopped:"),
        )
        .await;
    assert!(
        trail.is_running(),
        "the other stream goes on:\n{}",
        trail.stderr()
    );
    assert!(trail.stderr().contains("HTTP 401"), "{}", trail.stderr());
    let genesys_truth = ground_truth(&sim, Stream::GenesysAudits { service: None });
    let genesys_out = dir.path().join("genesys.ndjson");
    trail
        .wait_until("the Genesys records land", Duration::from_secs(120), |_| {
            std::fs::read_to_string(&genesys_out)
                .is_ok_and(|text| text.lines().count() == genesys_truth.len())
        })
        .await;
    // Stopping the healthy stream does not hide the failed one.
    let code = trail.stop(Duration::from_secs(20)).await;
    assert_eq!(code, Some(1), "{}", trail.stderr());
    assert!(
        trail.stderr().contains("1 of 2 streams failed"),
        "{}",
        trail.stderr()
    );
    assert_eq!(exported_ids(&genesys_out), genesys_truth);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_commits_exits_0_and_a_rerun_resumes_exactly() {
    let sim = start_slow(3_000, 100).await;
    let env = zendesk_env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let args: Vec<&str> = [
        "export",
        "zendesk-audit-logs",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ]
    .into_iter()
    .chain(window.iter().map(String::as_str))
    .collect();
    let state = dir.path().join("state.json");
    let mut trail = Running::spawn(&args, &env, dir.path());
    trail
        .wait_until("a page is committed", Duration::from_secs(30), |_| {
            committed_records(&state) > 0
        })
        .await;
    let code = trail.stop(Duration::from_secs(20)).await;
    let stderr = trail.stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "stopped: everything written so far is committed; run the same command to continue"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("error:"), "{stderr}");
    let committed = committed_records(&state);
    assert!(committed < 3_000, "stopped part-way: {committed}");
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")).len() as u64,
        committed
    );
    assert_success(&run_trail(&args, &env, dir.path()).await);
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_html_answer_is_named_as_a_wrong_base_url_not_blamed_on_the_vendor() {
    let sim = start(config(100, 10)).await;
    sim.set_outage(Some("zendesk"), Some(OutageMode::Html))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let args: Vec<&str> = ["export", "zendesk-audit-logs", "--out", "out.ndjson"]
        .into_iter()
        .chain(window.iter().map(String::as_str))
        .collect();
    let started = Instant::now();
    let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "the server at 127.0.0.1 answered HTML, not the vendor's JSON API: check the base URL"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: set the vendor's API base URL"),
        "{stderr}"
    );
    // At most one retry (its backoff is under 3 s), not 45 s of them.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_is_said_at_each_timeout_and_the_total_is_real_time() {
    let sim = start(config(100, 10)).await;
    sim.set_outage(Some("zendesk"), Some(OutageMode::Hang))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let args: Vec<&str> = [
        "export",
        "zendesk-audit-logs",
        "--out",
        "out.ndjson",
        "--request-timeout",
        "1s",
        "--max-retries",
        "2",
    ]
    .into_iter()
    .chain(window.iter().map(String::as_str))
    .collect();
    let mut trail = Running::spawn(&args, &zendesk_env(&sim), dir.path());
    // Said after the first timeout, not after the last attempt.
    trail
        .wait_until("the first timeout is said", Duration::from_secs(20), |t| {
            t.stderr()
                .contains("no answer from the server within the request timeout")
        })
        .await;
    assert!(
        trail.is_running(),
        "said while attempts remain, not only at the end:\n{}",
        trail.stderr()
    );
    let code = trail.exit_code(Duration::from_secs(30)).await;
    let stderr = trail.stderr();
    assert_eq!(code, Some(1), "{stderr}");
    // Three attempts of 1 s each and two waits: the total counts the attempts too.
    let total = stderr
        .split("gave up after 3 attempt(s) over ")
        .nth(1)
        .and_then(|rest| rest.split(" s").next())
        .and_then(|seconds| seconds.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no total in:\n{stderr}"));
    assert!(
        total >= 3.0,
        "{total} s is less than three 1 s timeouts:\n{stderr}"
    );
    assert!(
        stderr.contains("raise --max-retries or --retry-budget"),
        "{stderr}"
    );
    assert!(!stderr.contains("RetryPolicy"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn systemd_hears_ready_status_and_watchdog() {
    use std::os::unix::net::UnixDatagram;
    let sim = start(config(200, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut env = zendesk_env(&sim);
    env.push(("NOTIFY_SOCKET", socket_path.display().to_string()));
    env.push(("WATCHDOG_USEC", "200000".to_string()));
    let window = window_args();
    let args: Vec<&str> = ["export", "zendesk-audit-logs", "--out", "out.ndjson"]
        .into_iter()
        .chain(window.iter().map(String::as_str))
        .collect();
    assert_success(&run_trail(&args, &env, dir.path()).await);
    let mut messages = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(length) = socket.recv(&mut buffer) {
        messages.push(String::from_utf8_lossy(&buffer[..length]).into_owned());
    }
    assert!(messages.iter().any(|m| m == "READY=1"), "{messages:?}");
    assert!(messages.iter().any(|m| m == "WATCHDOG=1"), "{messages:?}");
    assert!(
        messages.iter().any(|m| m == "STATUS=streams: 1 done"),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_without_an_answer_is_said_before_its_timeout_and_sigterm_still_stops() {
    let sim = start(config(100, 10)).await;
    sim.set_outage(Some("zendesk"), Some(OutageMode::Hang))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "export",
        "zendesk-audit-logs",
        "--since",
        "30d",
        "--follow",
        "--out",
        "out.ndjson",
        "--request-timeout",
        "60s",
    ];
    let started = Instant::now();
    let mut trail = Running::spawn(&args, &zendesk_env(&sim), dir.path());
    trail
        .wait_until("the silence is said", Duration::from_secs(20), |t| {
            t.stderr()
                .contains("no answer from the server after 10 s; still waiting")
        })
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "said long before the 60 s timeout"
    );
    assert_eq!(
        trail.stop(Duration::from_secs(10)).await,
        Some(0),
        "{}",
        trail.stderr()
    );
}
