//! Zendesk OAuth that renews itself (issue 14), end to end: the `trail` binary against the
//! simulator, whose `/oauth/tokens` issues access tokens living one second and rotates refresh
//! tokens (a used one is refused with `invalid_grant`).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use audit_sim::config::SimConfig;
use audit_sim::{SimHandle, Stream};
use common::*;

/// Access tokens live 1 s; every page takes 600 ms, so an export outlives several tokens.
fn short_lived(audit_logs: u64, ticket_audits: u64) -> SimConfig {
    let mut config = config(audit_logs, ticket_audits);
    config.zendesk.token_expires_in = 1;
    config.faults.page_latency_ms = 600;
    config
}

/// The base of the environment: account and base URL, no credentials.
fn account_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    vec![
        ("ZENDESK_SUBDOMAIN", "acme".to_string()),
        ("ZENDESK_BASE_URL", sim.zendesk_url().to_string()),
    ]
}

fn client_credentials_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    let credentials = sim.tenant_credentials("acme").unwrap();
    let mut env = account_env(sim);
    env.push(("ZENDESK_CLIENT_ID", credentials.zendesk_client_id));
    env.push(("ZENDESK_CLIENT_SECRET", credentials.zendesk_client_secret));
    env
}

fn refresh_env(sim: &SimHandle, store: &Path) -> Vec<(&'static str, String)> {
    let credentials = sim.tenant_credentials("acme").unwrap();
    let mut env = client_credentials_env(sim);
    env.push(("ZENDESK_REFRESH_TOKEN", credentials.zendesk_refresh_token));
    env.push(("ZENDESK_TOKEN_STORE", store.display().to_string()));
    env
}

fn export_args<'a>(stream: &'a str, window: &'a [String; 4]) -> Vec<&'a str> {
    let mut args = vec![
        "export",
        stream,
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ];
    args.extend(window.iter().map(String::as_str));
    args
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn exports_outlive_tokens(stream: &str, truth: Stream, refresh: bool) {
    let sim = start(short_lived(2_000, 6_000)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("zendesk-token.json");
    let env = if refresh {
        refresh_env(&sim, &store)
    } else {
        client_credentials_env(&sim)
    };
    let window = window_args();
    let output = run_trail(&export_args(stream, &window), &env, dir.path()).await;
    assert_success(&output);
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        ground_truth(&sim, truth.clone())
    );
    let tokens = sim.stats().tokens_issued;
    assert!(
        tokens >= 3,
        "the export outlived several tokens, got {tokens}"
    );
    assert!(
        !stderr(&output).contains("2027-04-30"),
        "no API-token warning with OAuth: {}",
        stderr(&output)
    );
    if refresh {
        let stored = std::fs::read_to_string(&store).unwrap();
        let initial = sim
            .tenant_credentials("acme")
            .unwrap()
            .zendesk_refresh_token;
        assert!(
            !stored.contains(&initial),
            "the store holds the rotated token"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&store).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A second run must present the stored token, not ZENDESK_REFRESH_TOKEN (already
        // rotated: the simulator would refuse it with invalid_grant).
        std::fs::remove_file(dir.path().join("state.json")).unwrap();
        std::fs::remove_file(dir.path().join("out.ndjson")).unwrap();
        let again = run_trail(&export_args(stream, &window), &env, dir.path()).await;
        assert_success(&again);
        assert_eq!(
            exported_ids(&dir.path().join("out.ndjson")),
            ground_truth(&sim, truth)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_audit_logs_outlive_several_tokens() {
    exports_outlive_tokens("zendesk-audit-logs", Stream::ZendeskAuditLogs, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_ticket_audits_outlive_several_tokens() {
    exports_outlive_tokens("zendesk-ticket-audits", Stream::ZendeskTicketAudits, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_token_audit_logs_outlive_several_tokens_and_rotate() {
    exports_outlive_tokens("zendesk-audit-logs", Stream::ZendeskAuditLogs, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_token_ticket_audits_outlive_several_tokens_and_rotate() {
    exports_outlive_tokens("zendesk-ticket-audits", Stream::ZendeskTicketAudits, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_refreshes_then_the_same_command_ends_exactly_once() {
    let sim = start(short_lived(2_000, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("zendesk-token.json");
    let env = refresh_env(&sim, &store);
    let window = window_args();
    let args = export_args("zendesk-audit-logs", &window);
    // Kills at different offsets land before, during and after token refreshes (a token is
    // renewed every 0.8 s).
    for delay_ms in [700u64, 1_100, 1_650, 2_300] {
        let mut child = trail(&args, &env, dir.path()).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let _ = child.kill();
        let _ = child.wait();
    }
    let output = run_trail(&args, &env, dir.path()).await;
    assert_success(&output);
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_fails_clearly_within_seconds_and_few_token_requests() {
    let sim = start(config(50, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = account_env(&sim);
    env.push(("ZENDESK_CLIENT_ID", "acme-zendesk-client".to_string()));
    env.push(("ZENDESK_CLIENT_SECRET", "Wr0ngS3cr3t-value".to_string()));
    let window = window_args();
    let started = Instant::now();
    let output = run_trail(
        &export_args("zendesk-audit-logs", &window),
        &env,
        dir.path(),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("invalid_client"), "{text}");
    assert!(text.contains("client id or secret"), "{text}");
    assert!(!text.contains("Wr0ngS3cr3t"), "{text}");
    let requests = sim.stats().requests_of("zendesk.token");
    assert!((1..=3).contains(&requests), "{requests} token requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_schemes_at_once_is_a_usage_error_naming_both() {
    let sim = start(config(50, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = client_credentials_env(&sim);
    env.push(("ZENDESK_OAUTH_TOKEN", "some-static-token".to_string()));
    let window = window_args();
    let output = run_trail(
        &export_args("zendesk-audit-logs", &window),
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("ZENDESK_OAUTH_TOKEN"), "{text}");
    assert!(text.contains("ZENDESK_CLIENT_ID"), "{text}");
    assert_eq!(sim.stats().requests_of("zendesk.token"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_token_prints_one_deprecation_warning() {
    let sim = start(config(50, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let output = run_trail(
        &export_args("zendesk-audit-logs", &window),
        &zendesk_env(&sim),
        dir.path(),
    )
    .await;
    assert_success(&output);
    let text = stderr(&output);
    assert_eq!(text.matches("2027-04-30").count(), 1, "{text}");
    assert!(text.contains("ZENDESK_CLIENT_ID"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_or_token_in_any_output_state_or_log_at_vv() {
    let sim = start(short_lived(600, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("zendesk-token.json");
    let env = refresh_env(&sim, &store);
    let credentials = sim.tenant_credentials("acme").unwrap();
    let window = window_args();
    let mut args = export_args("zendesk-audit-logs", &window);
    args.push("-vv");
    let output = run_trail(&args, &env, dir.path()).await;
    assert_success(&output);
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&store).unwrap()).unwrap();
    let secrets = [
        credentials.zendesk_client_secret.clone(),
        credentials.zendesk_refresh_token.clone(),
        stored["refresh_token"].as_str().unwrap().to_string(),
        stored["access_token"].as_str().unwrap().to_string(),
    ];
    assert!(
        !std::fs::read_to_string(&store)
            .unwrap()
            .contains(&credentials.zendesk_client_secret),
        "the store holds no client secret"
    );
    let texts = [
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr(&output),
        std::fs::read_to_string(dir.path().join("state.json")).unwrap(),
        std::fs::read_to_string(dir.path().join("out.ndjson")).unwrap(),
    ];
    assert!(stderr(&output).len() > 200, "-vv logs something");
    for secret in &secrets {
        for text in &texts {
            assert!(!text.contains(secret.as_str()), "a secret leaked");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_runs_across_many_expiries() {
    // Records keep arriving for the next 8 seconds; access tokens live 1 second.
    let mut sim_config = config(2_000, 10);
    sim_config.zendesk.token_expires_in = 1;
    sim_config.tenants[0].start = audit_sim::config::TimeSpec::Now(chrono::Duration::seconds(-60));
    sim_config.tenants[0].end = audit_sim::config::TimeSpec::Now(chrono::Duration::seconds(8));
    let sim = start(sim_config).await;
    let (start_at, end_at) = sim.span("acme").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = follow_args("zendesk-audit-logs", start_at, &[]);
    let mut child = trail(&args, &client_credentials_env(&sim), dir.path())
        .spawn()
        .unwrap();
    let until_end = (end_at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(until_end).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while committed_records(&dir.path().join("state.json")) < 2_000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the follower is still running"
    );
    signal(child.id(), libc::SIGTERM);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM stops a follower cleanly");
    let tokens = sim.stats().tokens_issued;
    assert!(
        tokens >= 6,
        "the follower renewed its token, {tokens} issued"
    );
    let expected = sim
        .ground_truth("acme", Stream::ZendeskAuditLogs, start_at, end_at)
        .unwrap();
    assert_eq!(expected.len(), 2_000);
    assert_eq!(exported_ids(&dir.path().join("out.ndjson")), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_requests_go_only_to_the_configured_host() {
    let sim = start(short_lived(600, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let output = run_trail(
        &export_args("zendesk-audit-logs", &window),
        &client_credentials_env(&sim),
        dir.path(),
    )
    .await;
    assert_success(&output);
    // Every token the export used came from the account's own `/oauth/tokens` (the Zendesk
    // listener), none from the Genesys login host of the same simulator.
    let stats = sim.stats();
    assert!(stats.requests_of("zendesk.token") >= 2);
    assert_eq!(stats.requests_of("genesys.token"), 0);
    assert_eq!(stats.tokens_issued, stats.requests_of("zendesk.token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_the_needed_scope_names_it() {
    let sim = start(config(50, 100)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = client_credentials_env(&sim);
    env.push(("ZENDESK_OAUTH_SCOPES", "auditlogs:read".to_string()));
    let window = window_args();
    let output = run_trail(
        &export_args("zendesk-ticket-audits", &window),
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("lack the OAuth scope `read`"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_static_token_says_so_and_names_client_credentials() {
    let sim = start(config(50, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = account_env(&sim);
    env.push(("ZENDESK_OAUTH_TOKEN", "an-expired-access-token".to_string()));
    let window = window_args();
    let output = run_trail(
        &export_args("zendesk-audit-logs", &window),
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("probably expired"), "{text}");
    assert!(text.contains("client credentials"), "{text}");
}

/// A scripted browser step: `GET url` over plain HTTP; the status and the `Location` header.
fn browser_get(url: &str) -> (u16, Option<String>) {
    use std::io::{Read, Write};
    let url = url::Url::parse(url).unwrap();
    let mut stream =
        std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        url.host_str().unwrap()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    let location = answer
        .lines()
        .find_map(|line| {
            line.strip_prefix("location: ")
                .or(line.strip_prefix("Location: "))
        })
        .map(|l| l.trim().to_string());
    (status, location)
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_zendesk_obtains_a_refresh_token_that_exports_then_use() {
    use std::io::BufRead;
    let sim = start(short_lived(600, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("zendesk-token.json");
    let mut env = client_credentials_env(&sim);
    env.push(("ZENDESK_TOKEN_STORE", store.display().to_string()));
    env.push(("ZENDESK_OAUTH_SCOPES", "read auditlogs:read".to_string()));
    let mut child = trail(&["auth", "zendesk"], &env, dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (url, status, rest) = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let url = lines
            .by_ref()
            .map(Result::unwrap)
            .find(|line| line.starts_with("http"))
            .expect("trail prints the authorization URL");
        // The browser: Zendesk's page approves and redirects to trail's loopback listener.
        let (status, location) = browser_get(&url);
        assert_eq!(status, 302, "the simulator approves");
        let location = location.expect("a redirect");
        assert!(location.starts_with("http://127.0.0.1:"), "{location}");
        let (status, _) = browser_get(&location);
        // Keep reading (trail's last line) so its stdout stays open.
        let rest: Vec<String> = lines.map(Result::unwrap).collect();
        (url, status, rest)
    })
    .await
    .unwrap();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert_eq!(status, 200);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(rest.concat().contains("Authorized"), "{rest:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&store).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let secret = sim
        .tenant_credentials("acme")
        .unwrap()
        .zendesk_client_secret;
    assert!(!std::fs::read_to_string(&store).unwrap().contains(&secret));
    // An export with the store (no ZENDESK_REFRESH_TOKEN) uses it and rotates it.
    let window = window_args();
    let export = run_trail(
        &export_args("zendesk-audit-logs", &window),
        &env,
        dir.path(),
    )
    .await;
    assert_success(&export);
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
}
