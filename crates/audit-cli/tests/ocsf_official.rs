//! Every OCSF event `trail` writes, for every stream, is valid against the official OCSF 1.8.0
//! schema (see `official_ocsf/mod.rs` for where the schema comes from and what is checked):
//! the simulator's data over a week, every event type it makes, with awkward records (no
//! timestamp, lone surrogates, bytes that are not UTF-8, huge numbers, ids beyond 64 bits).

mod common;
mod official_ocsf;

use std::collections::BTreeMap;

use audit_sim::config::SimConfig;
use common::*;
use official_ocsf::SCHEMA;
use serde_json::{Value, json};

fn awkward(mut config: SimConfig) -> SimConfig {
    config.faults.null_timestamp = 0.02;
    config.faults.lone_surrogate = 0.02;
    config.faults.invalid_utf8 = 0.02;
    config.faults.huge_number = 0.02;
    config.faults.big_id = 0.02;
    config
}

/// Exports `stream` as OCSF and validates every line; returns the count of each
/// `(class_uid, activity_id)`.
async fn export_and_validate(
    config: SimConfig,
    stream: &str,
    window: &[String],
    genesys: bool,
) -> BTreeMap<(u64, u64), usize> {
    let sim = start(config).await;
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["export", stream, "--format", "ocsf", "--out", "out.ocsf"];
    args.extend(window.iter().map(String::as_str));
    let env = if genesys {
        genesys_env(&sim)
    } else {
        zendesk_env(&sim)
    };
    let output = run_trail(&args, &env, dir.path()).await;
    // 3: complete, with records that did not decode as sent (the awkward ones).
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("out.ocsf")).unwrap();
    let mut classes = BTreeMap::new();
    let mut invalid = Vec::new();
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).expect("a JSON line");
        let errors = SCHEMA.validate(&event);
        if !errors.is_empty() && invalid.len() < 5 {
            invalid.push(format!(
                "{}\n  {}",
                event["metadata"]["uid"],
                errors.join("\n  ")
            ));
        }
        let key = (
            event["class_uid"].as_u64().unwrap_or(0),
            event["activity_id"].as_u64().unwrap_or(0),
        );
        *classes.entry(key).or_insert(0) += 1;
    }
    assert!(!classes.is_empty(), "{stream} exported nothing");
    assert!(
        invalid.is_empty(),
        "{stream}: events the official OCSF 1.8.0 schema rejects (first 5):\n{}",
        invalid.join("\n")
    );
    classes
}

fn classes_of(seen: &BTreeMap<(u64, u64), usize>) -> Vec<u64> {
    let mut classes: Vec<u64> = seen.keys().map(|(c, _)| *c).collect();
    classes.dedup();
    classes
}

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_audit_logs_are_valid_ocsf() {
    let seen = export_and_validate(
        awkward(config(600, 5)),
        "zendesk-audit-logs",
        &window_args(),
        false,
    )
    .await;
    let classes = classes_of(&seen);
    for class in [3002, 3004, 3005] {
        assert!(classes.contains(&class), "{class} among {seen:?}");
    }
    // Role changes: promotions assign privileges, demotions revoke them.
    assert!(
        seen.contains_key(&(3005, 1)) && seen.contains_key(&(3005, 2)),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_ticket_audits_are_valid_ocsf() {
    let seen = export_and_validate(
        awkward(config(5, 300)),
        "zendesk-ticket-audits",
        &window_args(),
        false,
    )
    .await;
    assert_eq!(classes_of(&seen), [3004], "{seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_audits_are_valid_ocsf() {
    let seen = export_and_validate(
        awkward(config(1_500, 5)),
        "genesys-audits",
        &window_args(),
        true,
    )
    .await;
    let classes = classes_of(&seen);
    for class in [3001, 3002, 3004, 3005, 3006] {
        assert!(classes.contains(&class), "{class} among {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_realtime_is_valid_ocsf() {
    let window = ["--since".to_string(), "12d".to_string()];
    let seen = export_and_validate(
        awkward(recent_config(600)),
        "genesys-realtime",
        &window,
        true,
    )
    .await;
    assert!(classes_of(&seen).contains(&3004), "{seen:?}");
}

/// The validator itself: each rule it checks rejects an event that breaks it.
#[test]
fn the_validator_rejects_what_the_official_schema_rejects() {
    let good = json!({
        "activity_id": 1, "activity_name": "Create", "category_uid": 3,
        "category_name": "Identity & Access Management", "class_uid": 3004,
        "class_name": "Entity Management", "type_uid": 300401,
        "type_name": "Entity Management: Create", "severity_id": 1, "severity": "Informational",
        "time": 1_714_557_600_000_i64, "status_id": 1, "status": "Success",
        "metadata": {"version": "1.8.0", "product": {"name": "Zendesk Support", "vendor_name": "Zendesk"}},
        "actor": {"user": {"uid": "7", "type_id": 1, "type": "User"}},
        "src_endpoint": {"ip": "203.0.113.9"},
        "entity": {"uid": "5", "type": "rule"},
    });
    assert_eq!(SCHEMA.validate(&good), Vec::<String>::new());
    let broken = |change: &dyn Fn(&mut Value), expected: &str| {
        let mut event = good.clone();
        change(&mut event);
        let errors = SCHEMA.validate(&event);
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected:?} not among {errors:#?}"
        );
    };
    broken(
        &|e| drop(e.as_object_mut().unwrap().remove("entity")),
        "$.entity: required",
    );
    broken(
        &|e| e["metadata"].as_object_mut().unwrap().clear(),
        "$.metadata.product: required",
    );
    broken(&|e| e["actor"] = json!({}), "$.actor: at least one of");
    broken(
        &|e| e["entity"] = json!({"type": "rule"}),
        "$.entity: at least one of",
    );
    broken(
        &|e| e["type_name"] = json!("Entity Management: Made"),
        "$.type_name",
    );
    broken(&|e| e["activity_name"] = json!("Made"), "$.activity_name");
    broken(&|e| e["severity"] = json!("Low"), "$.severity");
    broken(
        &|e| e["activity_id"] = json!(14),
        "$.activity_id: 14 is not one of",
    );
    broken(
        &|e| e["time"] = json!("2024-05-01"),
        "$.time: \"2024-05-01\" is not a",
    );
    broken(
        &|e| e["src_endpoint"]["ip"] = json!("nope"),
        "is not a valid ip_t",
    );
    broken(
        &|e| e["privileges"] = json!(["x"]),
        "$.privileges: not an attribute",
    );
    broken(
        &|e| e["class_uid"] = json!(3099),
        "3099 is no OCSF 1.8.0 class",
    );
    broken(
        &|e| {
            e["class_uid"] = json!(3002);
            e["class_name"] = json!("Authentication");
            e["type_uid"] = json!(300201);
            e["type_name"] = json!("Authentication: Logon");
            e["activity_name"] = json!("Logon");
            e["user"] = json!({"uid": "7"});
            e.as_object_mut().unwrap().remove("entity");
        },
        "at least one of [\"service\", \"dst_endpoint\"]",
    );
    broken(
        &|e| {
            e["activity_id"] = json!(99);
            e["type_uid"] = json!(300499);
            e["type_name"] = json!("Entity Management: Checkin");
            e["activity_name"] = json!("Checkin");
        },
        "\"Entity Management: Checkin\" is not the caption of 300499",
    );
    broken(
        &|e| {
            e["activity_id"] = json!(99);
            e["type_uid"] = json!(300499);
            e["type_name"] = json!("Entity Management: Other");
            e.as_object_mut().unwrap().remove("activity_name");
        },
        "$.activity_name: required for 99",
    );
}
