//! The README's examples, run as written against the simulator. Only what a test cannot use
//! differs: the hosts (the simulator's, through the documented base-URL settings) and the
//! credentials (the simulator's, in the variables the README names).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use audit_sim::config::TimeSpec;
use audit_sim::{SimHandle, Stream};
use chrono::{Duration, Utc};
use common::{config, start};

const README: &str = include_str!("../../../README.md");

/// The fenced blocks of `language`, in README order.
fn blocks(language: &str) -> Vec<&'static str> {
    let fence = format!("```{language}\n");
    README
        .split(fence.as_str())
        .skip(1)
        .map(|rest| &rest[..rest.find("```").expect("a closed block")])
        .collect()
}

/// A simulator whose data lies within every example's window (the shortest is `--since 2d`).
async fn recent_sim() -> SimHandle {
    let mut config = config(120, 60);
    config.tenants[0].start = TimeSpec::Now(Duration::hours(-40));
    config.tenants[0].end = TimeSpec::Now(Duration::minutes(-10));
    config.tenants[0].zendesk.archived_fraction = 0.0;
    start(config).await
}

/// Runs a README shell block with `sh -e`, `trail` on the `PATH`, in `dir`.
fn run_block(block: &str, env: &[(String, String)], dir: &Path) -> Output {
    let trail = PathBuf::from(env!("CARGO_BIN_EXE_trail"));
    let path = format!(
        "{}:{}",
        trail.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("sh");
    command
        .args(["-e", "-c", block])
        .current_dir(dir)
        .env_clear()
        .env("PATH", path);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("sh runs")
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| {
            let listing: Vec<_> = std::fs::read_dir(path.parent().unwrap())
                .map(|dir| dir.flatten().map(|entry| entry.file_name()).collect())
                .unwrap_or_default();
            panic!("{}: {e} (beside it: {listing:?})", path.display())
        })
        .lines()
        .count()
}

/// The records of an export: the output file, or with rotation (`rotate_size`), its sealed
/// segments (`out.000001.ext`, …) and the live one (`out.ext.live`).
fn exported_lines(out: &Path) -> usize {
    let stem = out.file_stem().unwrap().to_string_lossy().into_owned();
    let extension = out.extension().unwrap().to_string_lossy().into_owned();
    let live = format!("{}.live", out.file_name().unwrap().to_string_lossy());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(out.parent().unwrap()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let segment = name
            .strip_prefix(&format!("{stem}."))
            .and_then(|rest| rest.strip_suffix(&format!(".{extension}")))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if segment || name == live || entry.path() == out {
            files.push(entry.path());
        }
    }
    assert!(!files.is_empty(), "no output for {}", out.display());
    files.iter().map(|file| lines(file)).sum()
}

fn truth(sim: &SimHandle, stream: Stream) -> usize {
    let now = Utc::now();
    sim.ground_truth("acme", stream, now - Duration::days(3), now)
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trail_toml_example_exports_every_listed_stream() {
    let sim = recent_sim().await;
    let credentials = sim.tenant_credentials("acme").unwrap();
    let mut file: toml::Table = toml::from_str(blocks("toml")[0]).expect("the README's trail.toml");
    let mut env = Vec::new();
    for (_, account) in file["zendesk"].as_table_mut().unwrap().iter_mut() {
        let account = account.as_table_mut().unwrap();
        account.insert("base_url".into(), sim.zendesk_url().into());
        account.insert(
            "client_id".into(),
            credentials.zendesk_client_id.clone().into(),
        );
        let secret = account["client_secret_env"].as_str().unwrap().to_string();
        env.push((secret, credentials.zendesk_client_secret.clone()));
    }
    for (_, account) in file["genesys"].as_table_mut().unwrap().iter_mut() {
        let account = account.as_table_mut().unwrap();
        account.remove("region");
        account.insert("api_base_url".into(), sim.genesys_api_url().into());
        account.insert("login_base_url".into(), sim.genesys_login_url().into());
        account.insert(
            "client_id".into(),
            credentials.genesys_client_id.clone().into(),
        );
        let secret = account["client_secret_env"].as_str().unwrap().to_string();
        env.push((secret, credentials.genesys_client_secret.clone()));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("trail.toml"),
        toml::to_string(&file).unwrap(),
    )
    .unwrap();
    let block = blocks("sh")
        .into_iter()
        .find(|block| block.contains("--all --config trail.toml"))
        .expect("the README's --all example");
    let output = run_block(block, &env, dir.path());
    assert!(
        output.status.success(),
        "the README's --all example fails:\n{block}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for export in file["export"].as_array().unwrap() {
        let out = dir.path().join(export["out"].as_str().unwrap());
        let stream = match export["stream"].as_str().unwrap() {
            "zendesk-audit-logs" => Stream::ZendeskAuditLogs,
            "genesys-audits" => Stream::GenesysAudits { service: None },
            other => panic!("the README lists a stream this test does not know: {other}"),
        };
        assert_eq!(
            exported_lines(&out),
            truth(&sim, stream),
            "{}",
            out.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_single_stream_examples_export_their_streams() {
    let sim = recent_sim().await;
    let credentials = sim.tenant_credentials("acme").unwrap();
    // The README's own `export` lines set real-account values; the simulator's replace them.
    let env: Vec<(String, String)> = [
        ("ZENDESK_SUBDOMAIN", "acme".to_string()),
        ("ZENDESK_BASE_URL", sim.zendesk_url().to_string()),
        ("ZENDESK_CLIENT_ID", credentials.zendesk_client_id.clone()),
        (
            "ZENDESK_CLIENT_SECRET",
            credentials.zendesk_client_secret.clone(),
        ),
        ("GENESYS_API_BASE_URL", sim.genesys_api_url().to_string()),
        (
            "GENESYS_LOGIN_BASE_URL",
            sim.genesys_login_url().to_string(),
        ),
        ("GENESYS_CLIENT_ID", credentials.genesys_client_id.clone()),
        (
            "GENESYS_CLIENT_SECRET",
            credentials.genesys_client_secret.clone(),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for block in blocks("sh") {
        // Single-stream exports; `count` and `make-private` need a real ticket and audit id.
        let commands: Vec<&str> = block
            .lines()
            .filter(|line| line.starts_with("trail export ") && !line.contains("--all"))
            .collect();
        if commands.is_empty() {
            continue;
        }
        let output = run_block(&commands.join("\n"), &env, dir.path());
        assert!(
            output.status.success(),
            "a README example fails:\n{}\n{}",
            commands.join("\n"),
            String::from_utf8_lossy(&output.stderr)
        );
        ran += commands.len();
    }
    assert!(ran >= 4, "the README's export examples were found ({ran})");
    for (out, stream) in [
        ("audit-logs.ndjson", Stream::ZendeskAuditLogs),
        ("ticket-audits.ndjson", Stream::ZendeskTicketAudits),
        ("genesys.ndjson", Stream::GenesysAudits { service: None }),
        ("realtime.ndjson", Stream::GenesysRealtime { service: None }),
    ] {
        assert_eq!(lines(&dir.path().join(out)), truth(&sim, stream), "{out}");
    }
}
