//! No single record stops an export (issue 13, item 3), through the `trail` binary: a vendor
//! page holding a record whose bytes are not UTF-8 text is exported with that record written
//! from a lossy copy and marked, its original bytes in `<out>.quarantine.ndjson`, and the run
//! exits with 3.

mod common;

use base64::Engine;
use common::*;
use serde_json::Value;
use trail_tests::net::Proxy;

/// Puts two bytes that are not UTF-8 into the first actor name of every audit-log page.
fn spoil(body: &mut Vec<u8>) {
    let needle = br#""actor_name":""#;
    if let Some(at) = body.windows(needle.len()).position(|w| w == needle) {
        let at = at + needle.len();
        body.splice(at..at, *b"\xff\xfe");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_is_not_utf8_is_quarantined_and_the_export_completes_with_exit_3() {
    let sim = start(config(300, 10)).await;
    let upstream = sim.zendesk_url().trim_end_matches('/').to_string();
    let proxy = Proxy::start(sim.zendesk_url(), move |info, hit, reply| {
        if hit.target.starts_with("/api/v2/audit_logs") {
            // The next-page links point at the proxy, as a vendor's point at itself.
            let text = String::from_utf8(std::mem::take(&mut reply.body)).unwrap();
            let proxied = format!("http://127.0.0.1:{}", info.port);
            reply.body = text.replace(&upstream, &proxied).into_bytes();
            spoil(&mut reply.body);
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = zendesk_env(&sim);
    env.retain(|(name, _)| *name != "ZENDESK_BASE_URL");
    env.push(("ZENDESK_BASE_URL", proxy.url()));
    let window = window_args();
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &env, dir.path()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");

    // Every record, once, in order.
    let out = dir.path().join("out.ndjson");
    let truth = ground_truth(&sim, audit_sim::Stream::ZendeskAuditLogs);
    assert_eq!(exported_ids(&out), truth);

    // One spoiled record per page, each marked and quarantined with its bytes as sent.
    let lines: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let marked: Vec<usize> = (0..lines.len())
        .filter(|&n| lines[n].get("decode_issue").is_some())
        .collect();
    let quarantine_path = dir.path().join("out.ndjson.quarantine.ndjson");
    let quarantine: Vec<Value> = std::fs::read_to_string(&quarantine_path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let pages = truth.len().div_ceil(100);
    assert_eq!(marked.len(), pages, "{stderr}");
    assert_eq!(quarantine.len(), pages);
    for (entry, &n) in quarantine.iter().zip(&marked) {
        assert_eq!(entry["stream"], "zendesk-audit-logs");
        assert_eq!(entry["record"], n);
        assert_eq!(entry["id"], lines[n]["id"]);
        assert_eq!(entry["position"], 0, "the first record of its page");
        let page = entry["page"].as_str().unwrap();
        assert!(page.starts_with("/api/v2/audit_logs"), "{page}");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(entry["bytes_base64"].as_str().unwrap())
            .unwrap();
        assert!(bytes.windows(2).any(|w| w == b"\xff\xfe"));
        let lossy = String::from_utf8_lossy(&bytes);
        assert_eq!(
            lines[n]["raw"],
            serde_json::from_str::<Value>(&lossy).unwrap(),
            "the output holds the lossy copy of the quarantined bytes"
        );
        assert!(
            lines[n]["decode_issue"]
                .as_str()
                .unwrap()
                .contains("not UTF-8")
        );
    }
    // Only the marked records carry the field.
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(n, line)| marked.contains(&n) == line.get("decode_issue").is_some())
    );
    // The summary says where they are.
    assert!(stderr.contains("out.ndjson.quarantine.ndjson"), "{stderr}");

    // A rerun resumes the complete export: nothing new, the quarantine kept, exit 0.
    let again = run_trail(&args, &env, dir.path()).await;
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(exported_ids(&out), truth);
    let kept = std::fs::read_to_string(&quarantine_path).unwrap();
    assert_eq!(kept.lines().count(), pages);
}
