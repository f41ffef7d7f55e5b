//! `trail export --parallel`: the window read in time slices walked at once, written as the
//! sequential export writes it. Against the simulator, with latency on every page so that the
//! walks overlap (the simulator counts the most requests it answered at once).

mod common;

use audit_sim::{StatsSnapshot, Stream, TimeSpec};
use common::*;

/// The sequential and the sliced export of `stream` with `env`, as bytes, and the
/// simulator's counters before and after the sliced one.
async fn both_exports(
    stream: &str,
    window: &[String],
    sim: &audit_sim::SimHandle,
    env: &[(&str, String)],
) -> (Vec<u8>, Vec<u8>, StatsSnapshot, StatsSnapshot) {
    let dir = tempfile::tempdir().unwrap();
    let export = |out: &'static str, parallel: bool| {
        let mut args = vec!["export", stream, "--out", out];
        args.extend(window.iter().map(String::as_str));
        if parallel {
            args.push("--parallel");
        }
        args
    };
    assert_success(&run_trail(&export("sequential.ndjson", false), env, dir.path()).await);
    let before = sim.stats();
    assert_success(&run_trail(&export("sliced.ndjson", true), env, dir.path()).await);
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    (
        read("sequential.ndjson"),
        read("sliced.ndjson"),
        before,
        sim.stats(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sliced_export_writes_the_sequential_export_byte_for_byte() {
    let sim = start_slow(8_000, 30).await;
    let (sequential, sliced, before, after) =
        both_exports("zendesk-audit-logs", &window_args(), &sim, &all_env(&sim)).await;
    let (one, walks) = (before.max_in_flight, after.max_in_flight);
    assert_eq!(
        one, 1,
        "the sequential export has one request out at a time"
    );
    assert_eq!(
        native_ids(&String::from_utf8_lossy(&sequential)),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    assert!(
        walks > 2,
        "the sliced export walked at most {walks} slices at once"
    );
    assert!(
        sliced == sequential,
        "the sliced output differs from the sequential one"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sliced_realtime_export_writes_the_sequential_export() {
    let mut config = recent_config(12_000);
    config.faults.page_latency_ms = 30;
    let sim = start(config).await;
    // The records span ten days up to ten minutes ago.
    let window = ["--since".to_string(), "11d".to_string()];
    let (sequential, sliced, ..) =
        both_exports("genesys-realtime", &window, &sim, &all_env(&sim)).await;
    // (Realtime covers only some services, as the vendor's does.)
    assert!(native_ids(&String::from_utf8_lossy(&sequential)).len() > 6_000);
    assert!(sliced == sequential, "the sliced output differs");
}

#[tokio::test]
async fn streams_that_cannot_be_sliced_are_refused_in_the_cli_words() {
    let sim = start(config(10, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    for (stream, why) in [
        ("zendesk-ticket-audits", "does not filter by time"),
        (
            "genesys-audits",
            "one historical audit query per organization at a time",
        ),
        ("zendesk-ticket-events", "from a start time onwards"),
    ] {
        let mut args = vec!["export", stream, "--parallel", "--out", "a.ndjson"];
        args.extend(window.iter().map(String::as_str));
        let output = run_trail(&args, &all_env(&sim), dir.path()).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("{stream} cannot be read in parallel"))
                && stderr.contains(why)
                && stderr.contains("drop --parallel"),
            "{stderr}"
        );
        assert!(!dir.path().join("a.ndjson").exists(), "nothing is written");
    }
    assert_eq!(
        sim.stats().requests.values().sum::<u64>(),
        0,
        "nothing is asked"
    );
}

/// A trail.toml of the simulator's Zendesk account `acme` with these `[[export]]` tables.
fn trail_toml(sim: &audit_sim::SimHandle, exports: &str) -> String {
    format!("{}{exports}", acme_zendesk_account(sim, ""))
}

#[tokio::test(flavor = "multi_thread")]
async fn trail_toml_slices_the_exports_it_marks_parallel() {
    let mut config = config(4_000, 300);
    config.faults.page_latency_ms = 30;
    let sim = start(config).await;
    let dir = tempfile::tempdir().unwrap();
    let exports = r#"
        [[export]]
        stream = "zendesk-audit-logs"
        account = "acme"
        out = "logs.ndjson"
        parallel = true

        [[export]]
        stream = "zendesk-ticket-audits"
        account = "acme"
        out = "audits.ndjson"
    "#;
    std::fs::write(dir.path().join("trail.toml"), trail_toml(&sim, exports)).unwrap();
    let env = [(
        "ACME_TOKEN",
        sim.tenant_credentials("acme").unwrap().zendesk_api_token,
    )];
    let mut args = vec!["export", "--all", "--state", "state.json"];
    let window = window_args();
    args.extend(window.iter().map(String::as_str));
    assert_success(&run_trail(&args, &env, dir.path()).await);
    assert_eq!(
        exported_ids(&dir.path().join("logs.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    assert_eq!(
        exported_ids(&dir.path().join("audits.ndjson")),
        ground_truth(&sim, Stream::ZendeskTicketAudits)
    );
    // Sequential, the two streams would have two requests out at most.
    let walks = sim.stats().max_in_flight;
    assert!(walks > 2, "at most {walks} requests were out at once");
}

#[tokio::test]
async fn trail_toml_refuses_parallel_on_a_stream_that_cannot_be_sliced() {
    let sim = start(config(10, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let exports = r#"
        [[export]]
        stream = "zendesk-ticket-audits"
        account = "acme"
        out = "audits.ndjson"
        parallel = true
    "#;
    std::fs::write(dir.path().join("trail.toml"), trail_toml(&sim, exports)).unwrap();
    let output = run_trail(&["export", "--all"], &[], dir.path()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("zendesk-ticket-audits cannot be read in parallel")
            && stderr.contains("remove `parallel = true`"),
        "{stderr}"
    );
    assert!(!dir.path().join("audits.ndjson").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sliced_follow_reads_the_backfill_in_slices_then_follows_what_arrives() {
    // 6,000 records over the last ten minutes and the next 8 seconds: most are the backfill,
    // read in slices; the rest arrive while the export follows.
    let mut sim_config = config(6_000, 10);
    sim_config.faults.page_latency_ms = 30;
    sim_config.tenants[0].start = TimeSpec::Now(chrono::Duration::minutes(-10));
    sim_config.tenants[0].end = TimeSpec::Now(chrono::Duration::seconds(8));
    let sim = start(sim_config).await;
    let (start_at, end_at) = sim.span("acme").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = follow_args("zendesk-audit-logs", start_at, &["--parallel"]);
    let child = trail(&args, &zendesk_env(&sim), dir.path())
        .spawn()
        .unwrap();
    let state = dir.path().join("state.json");
    let status = follow_then_stop(child, &state, 6_000, end_at).await;
    assert_eq!(status.code(), Some(0));
    let walks = sim.stats().max_in_flight;
    assert!(
        walks > 2,
        "the backfill walked at most {walks} slices at once"
    );
    let expected = sim
        .ground_truth("acme", Stream::ZendeskAuditLogs, start_at, end_at)
        .unwrap();
    assert_eq!(expected.len(), 6_000);
    assert_eq!(exported_ids(&dir.path().join("out.ndjson")), expected);
}

/// A sliced export killed while the walks of the slices ahead spool their pages is resumed by
/// the same command with each slice taken up where its spool ends: fewer requests than the
/// pages left to read (as a re-read of them would need), and the output is the ground truth.
/// The spools live beside the state file, and a finished export leaves none.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_sliced_export_takes_each_slice_up_where_its_spool_ends() {
    // 200 pages of 100 records, 100 ms a page, at most 20 requests a second: about 10 s of
    // walks, the slices ahead spooling while the head is written.
    let mut config = config(20_000, 10);
    config.faults.page_latency_ms = 100;
    config.zendesk.rate_limit = audit_sim::config::RateLimitConfig {
        requests: 20,
        window_secs: 1,
    };
    let sim = start(config).await;
    let dir = tempfile::tempdir().unwrap();
    let env = all_env(&sim);
    let window = window_args();
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--parallel",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
        "--commit-interval",
        "200ms",
    ];
    args.extend(window.iter().map(String::as_str));
    let state = dir.path().join("state.json");
    let spooled_slices = || -> usize {
        let Ok(text) = std::fs::read_to_string(&state) else {
            return 0;
        };
        let state: serde_json::Value = serde_json::from_str(&text).unwrap();
        state["streams"]
            .as_object()
            .and_then(|streams| streams.values().next())
            .and_then(|stream| stream["checkpoint"]["slices"].as_array())
            .map_or(0, Vec::len)
    };
    let mut child = trail(&args, &env, dir.path()).spawn().unwrap();
    // Slices ahead named by a committed checkpoint, and a while for them to fill.
    wait_for(
        "two slices are spooled",
        std::time::Duration::from_secs(30),
        || spooled_slices() >= 2,
        || format!("{} spooled", spooled_slices()),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let committed = committed_records(&state);
    let pages_left = (20_000 - committed).div_ceil(100);
    let requests = |sim: &audit_sim::SimHandle| sim.stats().requests.values().sum::<u64>();
    let before = requests(&sim);
    assert_success(&run_trail(&args, &env, dir.path()).await);
    let resumed = requests(&sim) - before;
    eprintln!("resumed with {resumed} requests; {pages_left} pages were left to read");
    assert!(
        resumed < pages_left,
        "{resumed} requests to finish, {pages_left} pages were left to read"
    );
    let out = std::fs::read_to_string(dir.path().join("out.ndjson")).unwrap();
    assert_eq!(
        native_ids(&out),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    assert!(
        !dir.path().join("state.json.spools").exists(),
        "a finished export leaves no spool"
    );
}

/// Over HTTPS, `trail` and the simulator agree on HTTP/2 by ALPN, as `trail` does with the
/// vendors: the walks of a sliced export share one connection (over HTTP/1.1 each walk holds
/// its own, and its read buffer), and the output is still the sequential export's.
#[tokio::test(flavor = "multi_thread")]
async fn over_https_the_walks_of_a_sliced_export_share_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(8_000, 10);
    config.faults.page_latency_ms = 30;
    let trust = serve_https(&mut config, dir.path());
    let sim = start(config).await;
    assert!(sim.zendesk_url().starts_with("https://"));
    let mut env = zendesk_env(&sim);
    env.push(trust);
    let (sequential, sliced, before, after) =
        both_exports("zendesk-audit-logs", &window_args(), &sim, &env).await;
    assert_eq!(
        native_ids(&String::from_utf8_lossy(&sequential)),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    assert!(
        sliced == sequential,
        "the sliced output differs from the sequential one"
    );
    let walks = after.max_in_flight;
    let connections = after.zendesk_connections - before.zendesk_connections;
    assert!(
        walks > 2,
        "the sliced export walked at most {walks} slices at once"
    );
    assert!(
        connections <= 2,
        "{walks} walks at once over {connections} connections: not one HTTP/2 connection"
    );
}
