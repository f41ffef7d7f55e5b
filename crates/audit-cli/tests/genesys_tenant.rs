//! How trail names a Genesys Cloud organisation in event ids and state entries: by its
//! organisation id (stable when the OAuth client is replaced), unless `GENESYS_TENANT` says
//! otherwise, and by the OAuth client id where a state file already records it (the old
//! default), so that the ids of one export never change.

mod common;

use audit_sim::Stream;
use common::*;

/// The Genesys environment without `GENESYS_TENANT`.
fn env_without_tenant(sim: &audit_sim::SimHandle) -> Vec<(&'static str, String)> {
    let mut env = genesys_env(sim);
    env.retain(|(name, _)| *name != "GENESYS_TENANT");
    env
}

fn ids(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            event["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_organisation_id_names_the_tenant_by_default() {
    let sim = start(config(30, 2)).await;
    let credentials = sim.tenant_credentials("acme").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec![
        "export",
        "genesys-audits",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &env_without_tenant(&sim), dir.path()).await;
    assert_success(&output);
    let out = dir.path().join("out.ndjson");
    assert_eq!(
        exported_ids(&out),
        ground_truth(&sim, Stream::GenesysAudits { service: None })
    );
    let prefix = format!("genesys:{}:", credentials.genesys_org_id);
    assert!(
        ids(&out).iter().all(|id| id.starts_with(&prefix)),
        "ids name the organisation id {}: {:?}",
        credentials.genesys_org_id,
        ids(&out).first()
    );
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(
        state.contains(&format!(
            "genesys-audits@{} -> ",
            credentials.genesys_org_id
        )),
        "{state}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_recorded_under_the_client_id_keeps_it() {
    let sim = start(config(30, 2)).await;
    let credentials = sim.tenant_credentials("acme").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (start_at, end) = fixed_span();
    let middle = start_at + (end - start_at) / 2;
    // The first half, as trail named it before: by the OAuth client id.
    let mut old_default = env_without_tenant(&sim);
    old_default.push(("GENESYS_TENANT", credentials.genesys_client_id.clone()));
    let (since, until, middle) = (start_at.to_rfc3339(), end.to_rfc3339(), middle.to_rfc3339());
    let first = [
        "export",
        "genesys-audits",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
        "--since",
        &since,
        "--until",
        &middle,
    ];
    assert_success(&run_trail(&first, &old_default, dir.path()).await);
    // The same export extended to the whole span, by a trail that defaults to the
    // organisation id: it continues the export under the name it had.
    let second = [
        "export",
        "genesys-audits",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
        "--since",
        &since,
        "--until",
        &until,
    ];
    let output = run_trail(&second, &env_without_tenant(&sim), dir.path()).await;
    assert_success(&output);
    let out = dir.path().join("out.ndjson");
    assert_eq!(
        exported_ids(&out),
        ground_truth(&sim, Stream::GenesysAudits { service: None })
    );
    let prefix = format!("genesys:{}:", credentials.genesys_client_id);
    assert!(ids(&out).iter().all(|id| id.starts_with(&prefix)));
}
