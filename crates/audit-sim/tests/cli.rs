//! The binary: `--help` documents every knob, `--print-config` merges file and flags, and a
//! started simulator prints its URLs and credentials.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_audit-sim");

#[test]
fn help_documents_every_knob_with_its_default() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--config",
        "--print-config",
        "--bind",
        "--zendesk-port",
        "--genesys-api-port",
        "--genesys-login-port",
        "--download-port",
        "--tenants",
        "--seed",
        "--start",
        "--end",
        "--ticket-audits",
        "--audits-per-ticket",
        "--open-tickets",
        "--archived-fraction",
        "--audit-logs",
        "--genesys-audits",
        "--plan",
        "--zendesk-rate-limit",
        "--zendesk-rate-window-secs",
        "--export-interval-secs",
        "--genesys-rate-limit",
        "--genesys-rate-window-secs",
        "--omit-retry-after",
        "--token-expires-in",
        "--query-queued-ms",
        "--query-running-ms",
        "--query-fail-rate",
        "--query-fail-nth",
        "--max-interval-days",
        "--realtime-days",
        "--results-ttl-secs",
        "--redirect-threshold",
        "--too-large-threshold",
        "--download-expires-secs",
        "--fault-seed",
        "--fault-429",
        "--fault-500",
        "--fault-502",
        "--fault-503",
        "--fault-504",
        "--fault-connection-reset",
        "--fault-truncated-body",
        "--fault-slow-response",
        "--fault-duplicate-across-pages",
        "--fault-repeated-cursor",
        "--fault-expired-token",
        "--retry-after-secs",
        "--slow-response-ms",
        "--page-latency-ms",
        "--faults-on-login",
        "--faults-on-download",
        "--cursor-ttl-secs",
        "--fault-empty-envelope",
        "--fault-empty-page",
        "--fault-fresh-cursor",
        "--fault-null-timestamp",
        "--fault-out-of-order",
        "--fault-non-object-record",
        "--fault-ascending-page",
        "--sticky-page-attempts",
        "--fault-huge-rate-limit-reset",
        "--fault-retry-after-past-date",
        "--fault-large-records",
        "--fault-lone-surrogate",
        "--fault-invalid-utf8",
        "--fault-huge-number",
        "--fault-big-id",
        "--fault-realtime-ignores-page-size",
        "--large-record-bytes",
        "--realtime-own-page-size",
        "--retry-after-past-date-window-ms",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    assert!(
        help.matches("[default:").count() >= 50,
        "every knob states its default"
    );
}

#[test]
fn print_config_merges_the_file_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.toml");
    std::fs::write(
        &path,
        "[faults]\nseed = 9\nstatus_500 = 0.5\n\n[genesys]\ntoken_expires_in = 60\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--print-config", "--config"])
        .arg(&path)
        .args([
            "--fault-500",
            "0.25",
            "--tenants",
            "2",
            "--audit-logs",
            "77",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = audit_sim::SimConfig::from_toml(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(config.faults.seed, 9);
    assert_eq!(config.faults.status_500, 0.25, "a flag overrides the file");
    assert_eq!(config.genesys.token_expires_in, 60);
    assert_eq!(config.tenants.len(), 2);
    assert!(config.tenants.iter().all(|t| t.zendesk.audit_logs == 77));
    assert_eq!(config.bind.to_string(), "127.0.0.1");
    let bad = Command::new(BIN)
        .args(["--print-config", "--fault-500", "2"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn the_binary_prints_its_urls_and_credentials() {
    let mut child = Command::new(BIN).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = vec![];
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("Ctrl-C");
        seen.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let text = seen.join("\n");
    for what in [
        "zendesk api    http://127.0.0.1:",
        "genesys api    http://127.0.0.1:",
        "genesys login  http://127.0.0.1:",
        "downloads      http://127.0.0.1:",
        "acme-zendesk-api-token",
        "acme-genesys-secret",
    ] {
        assert!(text.contains(what), "missing {what:?} in:\n{text}");
    }
}
