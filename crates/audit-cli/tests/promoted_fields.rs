//! The fields a SIEM user looks for are in the event, not only in `raw`: Genesys `actor.name`
//! (the streams ask for `expand=user`), `serviceName`, `level`, `userHomeOrgId`,
//! `application`, every `remoteIp`, `context`; Zendesk's rule behind a change (`via.source`),
//! `metadata.system.location`, and a numeric `via.channel` read as its name.

mod common;

use common::*;
use serde_json::Value;

async fn export(stream: &str, genesys: bool, records: u64) -> Vec<Value> {
    let sim = start(config(records, records)).await;
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec!["export", stream, "--out", "out.ndjson"];
    args.extend(window.iter().map(String::as_str));
    let env = if genesys {
        genesys_env(&sim)
    } else {
        zendesk_env(&sim)
    };
    assert_success(&run_trail(&args, &env, dir.path()).await);
    std::fs::read_to_string(dir.path().join("out.ndjson"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_events_carry_the_actors_name_service_level_org_application_and_addresses() {
    let events = export("genesys-audits", true, 300).await;
    let mut checked = 0;
    for event in &events {
        let raw = &event["raw"];
        let actor = &event["actor"];
        if let Some(name) = raw["user"]["name"].as_str() {
            assert_eq!(actor["name"], name, "{event:#}");
        }
        if raw["level"] == "USER" && raw["user"]["id"].is_string() {
            assert!(
                raw["user"]["name"].is_string(),
                "expand=user was asked for: {raw:#}"
            );
            assert!(actor["name"].is_string());
            checked += 1;
        }
        assert_eq!(event["service"], raw["serviceName"]);
        assert_eq!(event["level"], raw["level"]);
        assert_eq!(actor["home_org"], raw["userHomeOrgId"]);
        if raw["application"].as_str().is_some_and(|a| !a.is_empty()) {
            assert_eq!(actor["application"], raw["application"]);
        }
        let ips: Vec<&str> = raw["remoteIp"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if ips.len() > 1 {
            assert_eq!(actor["ip"], ips[0]);
            assert!(actor["other_ips"].as_array().is_some_and(|o| !o.is_empty()));
        }
        match raw["context"].as_object() {
            Some(context) if !context.is_empty() => {
                assert_eq!(&event["context"], &raw["context"])
            }
            _ => assert!(event.get("context").is_none()),
        }
    }
    assert!(checked > 0, "some records name their user");
}

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_ticket_audits_carry_the_rule_behind_a_change_and_the_location() {
    let events = export("zendesk-ticket-audits", false, 400).await;
    let mut rules = 0;
    let mut located = 0;
    for event in &events {
        let raw = &event["raw"];
        let via = &raw["via"];
        if via["source"]["rel"].as_str().is_some_and(|r| !r.is_empty()) {
            let rule = &event["rule"];
            assert_eq!(rule["kind"], via["source"]["rel"], "{event:#}");
            assert_eq!(rule["title"], via["source"]["from"]["title"]);
            rules += 1;
        }
        if via["channel"] == 8 || via["channel"] == "rule" {
            assert_eq!(event["actor"]["app"], "rule", "{via}");
        }
        if let Some(location) = raw["metadata"]["system"]["location"].as_str() {
            assert_eq!(event["actor"]["location"], location);
            located += 1;
        }
    }
    assert!(
        rules > 0,
        "some audits were made by a trigger or automation"
    );
    assert!(located > 0, "some audits are located");
}
