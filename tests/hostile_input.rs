//! Hostile and broken input (issue 7, item 3): arbitrary JSON for every vendor record and
//! page never panics when decoded into the generated types or mapped to events; a record that
//! decodes maps to exactly one event; malformed `Retry-After` values, rate-limit headers,
//! cursors and next-page URLs are handled without panics, loops or requests to other hosts.
//!
//! Two kinds of JSON are generated: any JSON (a recursive `serde_json::Value` strategy whose
//! object keys are often the vendors' real field names), and JSON shaped like each record and
//! page: the real field names, each holding either a plausible value or anything at all
//! (wrong types, nulls, huge numbers, deep nesting). Case counts are moderate so each property
//! takes a few seconds in a debug build; `PROPTEST_CASES` raises them for a longer local run.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use audit_core::event::StreamKind;
use audit_core::genesys::InInRateLimitHeaders;
use audit_core::genesys::mapping as genesys_mapping;
use audit_core::genesys::{QueryState, retry_after_in_message};
use audit_core::pacing::{NamedRateLimitHeaders, RateLimitHeaders};
use audit_core::paginate::{CursorPage, Paginator};
use audit_core::zendesk::description::{parse_role_changes, parse_sign_in};
use audit_core::zendesk::mapping as zendesk_mapping;
use audit_core::zendesk::{RATE_LIMIT_HEADERS, TicketEvent};
use audit_core::{AuditEvent, BaseUrl, Error, ErrorBody};
use genesys_raw::types as gt;
use proptest::prelude::*;
use proptest::test_runner::Config;
use raw_support::Recorded;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use zendesk_raw::types as zt;

// ---------------------------------------------------------------------------------------------
// Strategies.

/// Field names of every vendor record and page, so that arbitrary objects often hit them.
const FIELD_NAMES: &[&str] = &[
    // Zendesk audit logs and ticket audits.
    "id",
    "action",
    "action_label",
    "actor_id",
    "actor_name",
    "change_description",
    "created_at",
    "ip_address",
    "source_id",
    "source_label",
    "source_type",
    "url",
    "author_id",
    "events",
    "metadata",
    "ticket_id",
    "via",
    "type",
    "field_name",
    "value",
    "previous_value",
    "public",
    "body",
    "html_body",
    "plain_body",
    "attachments",
    "recipients",
    "subject",
    "channel",
    "source",
    "from",
    "to",
    "rel",
    "system",
    "custom",
    "location",
    "latitude",
    "longitude",
    "client",
    "previous_followers",
    "current_followers",
    "previous_email_ccs",
    "current_email_ccs",
    "macro_id",
    "macro_title",
    "macro_deleted",
    "score",
    "assignee_id",
    "agreement_id",
    "message",
    "comment_id",
    "attachment_id",
    // Zendesk envelopes.
    "audits",
    "audit",
    "audit_logs",
    "audit_log",
    "meta",
    "links",
    "has_more",
    "after_cursor",
    "before_cursor",
    "after_url",
    "before_url",
    "next",
    "prev",
    "next_page",
    "previous_page",
    "count",
    "tickets",
    "users",
    "refreshed_at",
    "error",
    "description",
    "errors",
    "code",
    "title",
    "detail",
    "details",
    // Genesys records and envelopes.
    "userHomeOrgId",
    "user",
    "name",
    "selfUri",
    "remoteIp",
    "serviceName",
    "level",
    "eventDate",
    "eventTime",
    "localizableMessageCode",
    "messageWithParams",
    "messageParams",
    "entity",
    "entityType",
    "status",
    "application",
    "initiatingAction",
    "transactionId",
    "actionContext",
    "transactionInitiator",
    "propertyChanges",
    "property",
    "oldValues",
    "newValues",
    "context",
    "entityChanges",
    "entityId",
    "entityName",
    "entities",
    "pageSize",
    "pageNumber",
    "pageCount",
    "total",
    "cursor",
    "downloadUrl",
    "state",
    "startDate",
    "interval",
    "filters",
    "sort",
    "sortOrder",
    "services",
    "actions",
    "contextId",
    "limit",
    "key",
    "namespace",
];

/// Values the mappings look for: event types, actions, levels, statuses, descriptions.
const KNOWN_WORDS: &[&str] = &[
    "Create",
    "Change",
    "Comment",
    "VoiceComment",
    "FacebookComment",
    "CommentPrivacyChange",
    "CommentRedactionEvent",
    "AttachmentRedactionEvent",
    "Notification",
    "NotificationWithCcs",
    "Cc",
    "FollowerNotificationEvent",
    "OrganizationActivity",
    "FollowersChange",
    "EmailCcChange",
    "AgentMacroReference",
    "SatisfactionRating",
    "TicketSharingEvent",
    "Error",
    "ChatStartedEvent",
    "Tweet",
    "SMS",
    "tags",
    "status",
    "create",
    "update",
    "destroy",
    "login",
    "exported",
    "Delete",
    "Read",
    "Authenticate",
    "USER",
    "SYSTEM",
    "SUCCESS",
    "FAILURE",
    "WARNING",
    "-1",
    "",
    "Successful sign-in using Zendesk password from https://acme.zendesk.com/access/login",
    "Failed sign-in using Google from Porto",
    "Role changed from Light Agent to Agent",
    "Support role changed from Agent to Admin\nGuide role changed from Viewer to Manager",
    "Rate limit exceeded the maximum. Retry the request in [3] seconds",
    "Retry the request in [99999999999999999999999] seconds",
];

/// Timestamps, valid and not.
const DATES: &[&str] = &[
    "2024-05-01T00:00:00Z",
    "2024-05-01T10:00:00.123456789Z",
    "2024-05-01T10:00:00+14:00",
    "9999-12-31T23:59:59Z",
    "+262142-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2024-02-30T25:61:61Z",
    "2024-05-01",
    "1714557600",
];

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "\\PC{0,24}",
        1 => ".{0,12}",
        1 => proptest::sample::select(KNOWN_WORDS).prop_map(str::to_string),
        1 => proptest::sample::select(DATES).prop_map(str::to_string),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        proptest::sample::select(vec![
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(-1),
            json!(0),
            json!(1e308),
            json!(-1e308),
            json!(5e-324),
            json!(0.5),
        ]),
    ]
    .boxed()
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => number(),
        3 => text().prop_map(Value::String),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(FIELD_NAMES).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ]
    .boxed()
}

/// Any JSON value: nested arrays and objects up to 6 levels, keys often real field names.
fn any_json() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(6, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((key(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
        .boxed()
}

/// A plausible value most of the time, anything at all otherwise (rarely enough that many
/// records still decode and reach the mappings: a record has a dozen fields or more).
fn or_anything(plausible: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![40 => plausible, 1 => any_json()].boxed()
}

/// An object with each of `fields` present 80% of the time, plus a few arbitrary members.
fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let (names, values): (Vec<&'static str>, Vec<BoxedStrategy<Value>>) =
        fields.into_iter().unzip();
    let values: Vec<_> = values
        .into_iter()
        .map(|s| proptest::option::weighted(0.8, s))
        .collect();
    (values, proptest::collection::vec((key(), any_json()), 0..3))
        .prop_map(move |(values, extra)| {
            let mut map = Map::new();
            for (name, value) in names.iter().zip(values) {
                if let Some(value) = value {
                    map.insert(name.to_string(), value);
                }
            }
            for (k, v) in extra {
                map.entry(format!("x-{k}")).or_insert(v);
            }
            Value::Object(map)
        })
        .boxed()
}

fn int() -> BoxedStrategy<Value> {
    or_anything(prop_oneof![any::<i64>().prop_map(Value::from), Just(json!(-1))].boxed())
}

fn string() -> BoxedStrategy<Value> {
    or_anything(text().prop_map(Value::String).boxed())
}

fn date() -> BoxedStrategy<Value> {
    or_anything(
        prop_oneof![
                    1 => proptest::sample::select(DATES).prop_map(Value::from),
                    4 =>
        (0i64..253_402_300_799).prop_map(|s| Value::from(
                        chrono::DateTime::from_timestamp(s, 0)
                            .unwrap()
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )),
                ]
        .boxed(),
    )
}

fn list(item: BoxedStrategy<Value>, max: usize) -> BoxedStrategy<Value> {
    or_anything(
        proptest::collection::vec(item, 0..max)
            .prop_map(Value::Array)
            .boxed(),
    )
}

fn strings() -> BoxedStrategy<Value> {
    list(string(), 4)
}

fn flag() -> BoxedStrategy<Value> {
    or_anything(any::<bool>().prop_map(Value::Bool).boxed())
}

fn map_of(value: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    or_anything(
        proptest::collection::vec((key(), value), 0..4)
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
            .boxed(),
    )
}

fn zendesk_ticket_event() -> BoxedStrategy<Value> {
    object(vec![
        ("id", int()),
        (
            "type",
            or_anything(
                proptest::sample::select(&KNOWN_WORDS[..20])
                    .prop_map(Value::from)
                    .boxed(),
            ),
        ),
        ("field_name", string()),
        ("value", any_json()),
        ("previous_value", any_json()),
        ("public", flag()),
        ("body", string()),
        ("author_id", int()),
        ("attachments", list(any_json(), 3)),
        ("recipients", list(int(), 3)),
        ("subject", string()),
        ("via", any_json()),
        ("previous_followers", strings()),
        ("current_followers", strings()),
        ("macro_id", string()),
        ("score", string()),
        ("comment_id", int()),
        ("message", string()),
    ])
}

fn zendesk_via() -> BoxedStrategy<Value> {
    or_anything(object(vec![
        (
            "channel",
            or_anything(prop_oneof![text().prop_map(Value::from), number()].boxed()),
        ),
        (
            "source",
            or_anything(object(vec![
                ("from", map_of(any_json())),
                ("to", map_of(any_json())),
                ("rel", string()),
            ])),
        ),
    ]))
}

fn zendesk_ticket_audit() -> BoxedStrategy<Value> {
    object(vec![
        ("id", int()),
        ("ticket_id", int()),
        ("created_at", date()),
        ("author_id", int()),
        ("via", zendesk_via()),
        (
            "metadata",
            or_anything(object(vec![
                (
                    "system",
                    or_anything(object(vec![
                        ("ip_address", string()),
                        ("client", string()),
                        ("location", string()),
                        ("latitude", number()),
                    ])),
                ),
                ("custom", map_of(any_json())),
            ])),
        ),
        ("events", list(zendesk_ticket_event(), 5)),
    ])
}

fn zendesk_audit_log() -> BoxedStrategy<Value> {
    object(vec![
        ("id", int()),
        ("action", string()),
        ("action_label", string()),
        ("actor_id", int()),
        ("actor_name", string()),
        ("change_description", string()),
        ("created_at", date()),
        ("ip_address", string()),
        ("source_id", int()),
        ("source_label", string()),
        ("source_type", string()),
        ("url", string()),
    ])
}

fn url_like() -> BoxedStrategy<Value> {
    or_anything(
        prop_oneof![
            text().prop_map(Value::from),
            Just(json!(
                "https://acme.zendesk.com/api/v2/audit_logs.json?page%5Bafter%5D=x"
            )),
            Just(json!("http://evil.example/steal")),
            Just(json!("//evil.example/x")),
            Just(json!("/api/v2/ticket_audits.json?cursor=x")),
        ]
        .boxed(),
    )
}

fn zendesk_envelope(
    items: &'static str,
    item: BoxedStrategy<Value>,
    legacy: bool,
) -> BoxedStrategy<Value> {
    let mut fields = vec![
        (items, list(item, 5)),
        (
            "meta",
            or_anything(object(vec![
                ("has_more", flag()),
                ("after_cursor", string()),
                ("before_cursor", string()),
            ])),
        ),
        (
            "links",
            or_anything(object(vec![("next", url_like()), ("prev", url_like())])),
        ),
        ("next_page", url_like()),
        ("previous_page", url_like()),
        ("count", int()),
    ];
    if legacy {
        fields.extend([
            ("after_cursor", string()),
            ("before_cursor", string()),
            ("after_url", url_like()),
            ("before_url", url_like()),
        ]);
    }
    object(fields)
}

fn genesys_entity_ref() -> BoxedStrategy<Value> {
    or_anything(object(vec![
        ("id", string()),
        ("name", string()),
        ("selfUri", string()),
    ]))
}

fn genesys_record() -> BoxedStrategy<Value> {
    object(vec![
        ("id", string()),
        ("userHomeOrgId", string()),
        ("user", genesys_entity_ref()),
        ("client", genesys_entity_ref()),
        ("remoteIp", strings()),
        ("serviceName", string()),
        ("level", string()),
        ("eventDate", date()),
        ("eventTime", date()),
        (
            "message",
            or_anything(object(vec![
                ("localizableMessageCode", string()),
                ("message", string()),
                ("messageWithParams", string()),
                ("messageParams", map_of(string())),
            ])),
        ),
        ("action", string()),
        ("entity", genesys_entity_ref()),
        ("entityType", string()),
        ("status", string()),
        ("application", string()),
        (
            "initiatingAction",
            or_anything(object(vec![
                ("transactionId", string()),
                ("actionContext", string()),
            ])),
        ),
        ("transactionInitiator", flag()),
        (
            "propertyChanges",
            list(
                object(vec![
                    ("property", string()),
                    ("oldValues", strings()),
                    ("newValues", strings()),
                ]),
                3,
            ),
        ),
        ("context", map_of(string())),
        (
            "entityChanges",
            list(
                object(vec![
                    ("entityId", string()),
                    ("entityName", string()),
                    ("entityType", string()),
                    ("oldValues", strings()),
                    ("newValues", strings()),
                ]),
                3,
            ),
        ),
    ])
}

fn genesys_results_page() -> BoxedStrategy<Value> {
    object(vec![
        ("id", string()),
        ("pageSize", int()),
        ("cursor", string()),
        ("entities", list(genesys_record(), 5)),
        ("downloadUrl", url_like()),
        ("pageNumber", int()),
        ("pageCount", int()),
        ("total", int()),
    ])
}

fn genesys_status() -> BoxedStrategy<Value> {
    object(vec![
        ("id", string()),
        ("state", string()),
        ("startDate", date()),
        ("interval", string()),
        ("serviceName", string()),
        (
            "filters",
            list(object(vec![("property", string()), ("value", string())]), 3),
        ),
        (
            "sort",
            list(object(vec![("name", string()), ("sortOrder", string())]), 3),
        ),
    ])
}

fn genesys_service_mapping() -> BoxedStrategy<Value> {
    object(vec![(
        "services",
        list(
            object(vec![
                ("name", string()),
                (
                    "entities",
                    list(object(vec![("name", string()), ("actions", strings())]), 3),
                ),
            ]),
            4,
        ),
    )])
}

fn genesys_error() -> BoxedStrategy<Value> {
    object(vec![
        ("message", string()),
        ("code", string()),
        ("status", int()),
        ("contextId", string()),
        ("messageParams", map_of(string())),
        ("messageWithParams", string()),
        ("entityId", string()),
        ("details", list(any_json(), 2)),
        ("errors", list(any_json(), 2)),
        (
            "limit",
            or_anything(object(vec![
                ("key", string()),
                ("namespace", string()),
                ("value", int()),
            ])),
        ),
    ])
}

fn zendesk_error() -> BoxedStrategy<Value> {
    object(vec![
        (
            "error",
            or_anything(prop_oneof![text().prop_map(Value::from), any_json()].boxed()),
        ),
        ("description", string()),
        (
            "errors",
            list(
                object(vec![
                    ("code", string()),
                    ("title", string()),
                    ("detail", string()),
                ]),
                3,
            ),
        ),
        ("details", map_of(any_json())),
        ("message", string()),
    ])
}

fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding and mapping.

/// Decodes `value` as `T`, both from the value and from its bytes (as the clients do).
fn decode<T: DeserializeOwned>(value: &Value) -> Option<T> {
    let bytes = serde_json::to_vec(value).expect("a Value serialises");
    let from_bytes = serde_json::from_slice::<T>(&bytes).ok();
    let from_value = serde_json::from_value::<T>(value.clone()).ok();
    assert_eq!(
        from_bytes.is_some(),
        from_value.is_some(),
        "decoding from bytes and from the value disagree"
    );
    from_value
}

/// What every event must satisfy, whatever the record held.
fn check_event(event: &AuditEvent, raw: &Value, prefix: &str) {
    assert_eq!(&event.raw, raw, "raw is the record untouched");
    assert!(!event.native_id.is_empty(), "a native id, always");
    assert_eq!(
        event.id,
        format!("{prefix}{}", event.native_id),
        "the id names the tenant, the kind and the native id"
    );
    let text = serde_json::to_string(event).expect("an event serialises");
    let back: Value = serde_json::from_str(&text).expect("and is JSON");
    assert_eq!(back["id"], json!(event.id));
    let mut line = Vec::new();
    event.write_json(&mut line).expect("an event writes");
    let written: Value = serde_json::from_slice(&line).expect("as JSON");
    assert_eq!(written, back, "write_json writes what serialising gives");
    assert!(!line.contains(&b'\n'), "on one line");
    let ocsf = audit_cli::ocsf::to_ocsf(event);
    serde_json::to_value(&ocsf).expect("its OCSF rendering serialises");
}

fn check_ticket_audit(raw: &Value) {
    let Some(record) = decode::<Recorded<zt::TicketAudit>>(raw) else {
        return;
    };
    assert_eq!(record.raw(), raw);
    let event = zendesk_mapping::ticket_audit_event("acme", &record);
    check_event(&event, raw, "zendesk:acme:ticket-audit:");
    let events = TicketEvent::all_from_audit(record.raw());
    let expected = raw
        .get("events")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    assert_eq!(events.len(), expected, "one typed view per vendor event");
    for event in &events {
        let _ = event.type_name();
    }
}

fn check_audit_log(raw: &Value) {
    let Some(record) = decode::<Recorded<zt::AuditLog>>(raw) else {
        return;
    };
    let event = zendesk_mapping::audit_log_event("acme", &record);
    check_event(&event, raw, "zendesk:acme:audit-log:");
    let owned = zendesk_mapping::audit_log_event_owned("acme", record);
    assert_eq!(owned, event, "the owned mapping is the same");
}

fn check_genesys_record(raw: &Value) {
    let Some(record) = decode::<Recorded<gt::AuditLogMessage>>(raw) else {
        return;
    };
    let _ = genesys_mapping::occurred_at(&record);
    for stream in [StreamKind::GenesysAudits, StreamKind::GenesysRealtime] {
        let event = genesys_mapping::audit_event("acme", stream, &record);
        check_event(&event, raw, "genesys:acme:audit:");
        assert_eq!(event.native_id, genesys_mapping::native_id(&record));
        let owned = genesys_mapping::audit_event_owned("acme", stream, record.clone());
        assert_eq!(owned, event, "the owned mapping is the same");
    }
}

/// Every page type of both vendors, and the records it holds.
fn check_page(raw: &Value) {
    if let Some(page) = decode::<zt::AuditLogsResponse>(raw) {
        for record in &page.audit_logs {
            check_audit_log(record.raw());
        }
    }
    if let Some(page) = decode::<zt::TicketAuditsResponse>(raw) {
        for record in &page.audits {
            check_ticket_audit(record.raw());
        }
    }
    if let Some(page) = decode::<zt::TicketAuditsForTicketResponse>(raw) {
        for record in &page.audits {
            check_ticket_audit(record.raw());
        }
    }
    if let Some(page) = decode::<zt::TicketAuditResponse>(raw)
        && let Some(record) = &page.audit
    {
        check_ticket_audit(record.raw());
    }
    if let Some(page) = decode::<zt::AuditLogResponse>(raw)
        && let Some(record) = &page.audit_log
    {
        check_audit_log(record.raw());
    }
    let _ = decode::<zt::TicketAuditsCountResponse>(raw);
    if let Some(error) = decode::<zt::ErrorResponse>(raw) {
        let _ = error.detail().to_string();
    }
    for page in [
        decode::<gt::AuditQueryExecutionResultsResponse>(raw).map(|p| p.entities),
        decode::<gt::AuditRealtimeQueryResultsResponse>(raw).map(|p| p.entities),
        decode::<gt::AuditRealtimeRelatedResultsResponse>(raw).map(|p| p.entities),
    ]
    .into_iter()
    .flatten()
    {
        for record in &page {
            check_genesys_record(record.raw());
        }
    }
    let _ = decode::<gt::AuditQueryExecutionLargeResultsResponse>(raw);
    if let Some(status) = decode::<gt::AuditQueryExecutionStatusResponse>(raw) {
        let state = QueryState::of(&status);
        let _ = (state.is_failed(), state.is_pending(), state.as_str().len());
    }
    let _ = decode::<gt::AuditQueryServiceMapping>(raw);
    if let Some(error) = decode::<gt::ErrorBody>(raw) {
        let detail = error.detail();
        let _ = retry_after_in_message(&detail);
        let _ = detail.to_string();
    }
    // A downloaded result file: an array of records.
    if let Value::Array(records) = raw {
        for record in records {
            check_genesys_record(record);
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_json_never_panics_as_any_record_or_page(raw in any_json()) {
        check_ticket_audit(&raw);
        check_audit_log(&raw);
        check_genesys_record(&raw);
        check_page(&raw);
    }

    #[test]
    fn zendesk_ticket_audits_of_any_shape_map_to_one_event(raw in zendesk_ticket_audit()) {
        check_ticket_audit(&raw);
        for event in raw.get("events").and_then(Value::as_array).into_iter().flatten() {
            let _ = TicketEvent::from_json(event).type_name().len();
        }
    }

    #[test]
    fn zendesk_audit_logs_of_any_shape_map_to_one_event(raw in zendesk_audit_log()) {
        check_audit_log(&raw);
        if let Some(description) = raw.get("change_description").and_then(Value::as_str) {
            let _ = parse_sign_in(description);
            let _ = parse_role_changes(description);
        }
    }

    #[test]
    fn genesys_records_of_any_shape_map_to_one_event(raw in genesys_record()) {
        check_genesys_record(&raw);
    }

    #[test]
    fn zendesk_pages_of_any_shape_never_panic(
        raw in prop_oneof![
            zendesk_envelope("audit_logs", zendesk_audit_log(), false),
            zendesk_envelope("audits", zendesk_ticket_audit(), true),
            object(vec![("audit", zendesk_ticket_audit())]),
            object(vec![("audit_log", zendesk_audit_log())]),
            object(vec![("count", or_anything(object(vec![("value", int()), ("refreshed_at", date())])))]),
            zendesk_error(),
        ]
    ) {
        check_page(&raw);
    }

    #[test]
    fn genesys_pages_of_any_shape_never_panic(
        raw in prop_oneof![
            genesys_results_page(),
            genesys_status(),
            genesys_service_mapping(),
            genesys_error(),
            list(genesys_record(), 4),
        ]
    ) {
        check_page(&raw);
    }

    #[test]
    fn any_bytes_never_panic_as_a_page(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<zt::AuditLogsResponse>(&bytes);
        let _ = serde_json::from_slice::<zt::TicketAuditsResponse>(&bytes);
        let _ = serde_json::from_slice::<gt::AuditQueryExecutionResultsResponse>(&bytes);
        let _ = serde_json::from_slice::<gt::AuditRealtimeQueryResultsResponse>(&bytes);
        if let Ok(raw) = serde_json::from_slice::<Value>(&bytes) {
            check_page(&raw);
        }
    }

    #[test]
    fn free_text_never_panics_the_description_parsers(description in "\\PC{0,200}") {
        let _ = parse_sign_in(&description);
        prop_assert!(parse_role_changes(&description).len() <= description.lines().count());
    }
}

#[test]
fn deep_nesting_is_refused_by_the_parser_not_by_a_stack_overflow() {
    for depth in [100, 127, 128, 129, 5_000, 100_000] {
        for (open, close) in [("[", "]"), ("{\"events\":", "}")] {
            let text = format!("{}{}{}", open.repeat(depth), "null", close.repeat(depth));
            let wrapped = format!("{{\"audits\": [{{\"id\": 1, \"events\": {text}}}]}}");
            let _ = serde_json::from_str::<zt::TicketAuditsResponse>(&wrapped);
            let _ = serde_json::from_str::<gt::AuditQueryExecutionResultsResponse>(&format!(
                "{{\"entities\": [{{\"id\": \"a\", \"context\": {text}}}]}}"
            ));
            if let Ok(raw) = serde_json::from_str::<Value>(&text) {
                check_page(&raw);
            }
        }
    }
}

#[test]
fn huge_and_odd_numbers_decode_or_fail_cleanly() {
    for number in [
        "1e400",
        "-1e400",
        "18446744073709551616",
        "-9223372036854775809",
        "1e308",
        "0.0",
        "-0",
        "123456789012345678901234567890",
    ] {
        let text = format!(r#"{{"id": {number}, "created_at": "2024-05-01T00:00:00Z"}}"#);
        if let Ok(record) = serde_json::from_str::<Recorded<zt::AuditLog>>(&text) {
            let event = zendesk_mapping::audit_log_event("acme", &record);
            assert!(!event.native_id.is_empty());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Retry-After and rate-limit headers.

fn retry_after_text() -> BoxedStrategy<String> {
    prop_oneof![
        "\\PC{0,20}",
        any::<u64>().prop_map(|n| n.to_string()),
        (i64::MIN..0).prop_map(|n| n.to_string()),
        "[0-9]{20,60}",
        any::<f64>().prop_map(|f| f.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        proptest::sample::select(vec![
            "1e300", "1e20", "1.8e19", "-0", "-0.0", "NaN", "inf", "-inf", "+5", " 7 ", "0x10",
            "1_000", "2.", ".5", "",
        ])
        .prop_map(str::to_string),
        (0u64..253_402_300_799)
            .prop_map(|s| httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(s))),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_retry_after_value_is_parsed_or_ignored_without_panic(value in retry_after_text()) {
        let now = SystemTime::now();
        let parsed = audit_core::retry::parse_retry_after(&value, now);
        let trimmed = value.trim();
        if let Ok(seconds) = trimmed.parse::<u64>() {
            prop_assert_eq!(parsed, Some(Duration::from_secs(seconds)));
        } else if trimmed.starts_with('-') && trimmed.parse::<f64>().is_ok_and(|f| f < 0.0) {
            prop_assert_eq!(parsed, None, "a negative delay is not a delay");
        } else if let Ok(date) = httpdate::parse_http_date(trimmed) {
            let expected = date.duration_since(now).unwrap_or(Duration::ZERO);
            prop_assert_eq!(parsed, Some(expected), "an HTTP date: the time until it, or now");
        }
        if let Ok(header) = HeaderValue::from_str(&value) {
            let mut headers = HeaderMap::new();
            headers.insert(reqwest::header::RETRY_AFTER, header);
            let _ = audit_core::retry::retry_after(&headers);
        }
    }

    #[test]
    fn any_rate_limit_header_is_read_without_panic(
        limit in retry_after_text(),
        remaining in retry_after_text(),
        reset in retry_after_text(),
    ) {
        let mut headers = HeaderMap::new();
        for (names, value) in [
            (["ratelimit-limit", "x-rate-limit", "inin-ratelimit-allowed"], &limit),
            (["ratelimit-remaining", "x-rate-limit-remaining", "inin-ratelimit-count"], &remaining),
            (["ratelimit-reset", "inin-ratelimit-reset", "x-unused"], &reset),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                for name in names {
                    headers.insert(HeaderName::from_static(name), value.clone());
                }
            }
        }
        let zendesk: &NamedRateLimitHeaders = &RATE_LIMIT_HEADERS;
        let _ = zendesk.read(&headers);
        let _ = InInRateLimitHeaders.read(&headers);
    }

    #[test]
    fn any_genesys_retry_message_is_read_without_panic(
        message in prop_oneof![
            "\\PC{0,60}",
            "[0-9]{1,40}".prop_map(|n| format!("Rate limit exceeded the maximum. Retry the request in [{n}] seconds")),
            "[0-9]{1,40}".prop_map(|n| format!("Too many requests [{n}]")),
        ],
        code in prop_oneof![Just("too.many.requests.retry.after".to_string()), "\\PC{0,20}"],
    ) {
        let detail = audit_core::VendorDetail::new(Some(code), Some(message));
        let _ = retry_after_in_message(&detail);
    }
}

// ---------------------------------------------------------------------------------------------
// Cursors and next-page URLs.

proptest! {
    #![proptest_config(config(256))]

    /// A walk over cursors of any text, some repeated: it ends with every page once, or with
    /// `RepeatedCursor` at the first repeat; after that error the same page is asked for again
    /// (never a silent end), and nothing loops.
    #[test]
    fn any_cursor_sequence_ends_or_fails_at_the_first_repeat(
        cursors in proptest::collection::vec(
            prop_oneof![3 => "\\PC{0,12}", 1 => proptest::sample::select(vec!["a", "b", "", " "]).prop_map(str::to_string)],
            0..12,
        ),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            // Page i is fetched with cursor i-1 and names cursor i as the next one.
            let pages = cursors.clone();
            let requested = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let log = requested.clone();
            let mut paginator = Paginator::new("list_things", None, move |request| {
                let pages = pages.clone();
                let log = log.clone();
                async move {
                    let index = match &request.cursor {
                        None => 0,
                        Some(cursor) => pages.iter().position(|c| c == cursor).unwrap() + 1,
                    };
                    log.lock().unwrap().push(request.cursor.clone());
                    Ok::<_, Error>(CursorPage { items: vec![index], next: pages.get(index).cloned() })
                }
            });
            let first_repeat = {
                let mut seen = HashSet::new();
                cursors.iter().position(|c| !seen.insert(c))
            };
            let mut items = Vec::new();
            let mut calls = 0;
            loop {
                calls += 1;
                prop_assert!(calls <= cursors.len() + 3, "the walk loops");
                match paginator.next_page().await {
                    Ok(Some(page)) => items.extend(page.items),
                    Ok(None) => {
                        prop_assert_eq!(first_repeat, None, "a repeat ended the walk silently");
                        prop_assert_eq!(items, (0..=cursors.len()).collect::<Vec<_>>());
                        break;
                    }
                    Err(Error::RepeatedCursor { cursor, .. }) => {
                        let at = first_repeat.expect("a repeat only where there is one");
                        prop_assert_eq!(&cursor, &cursors[at]);
                        prop_assert_eq!(items.len(), at, "every page before the one naming the repeat, once");
                        // The same page again, not the end of the listing.
                        let before = requested.lock().unwrap().len();
                        let again = paginator.next_page().await;
                        prop_assert!(
                            matches!(again, Err(Error::RepeatedCursor { .. })),
                            "after the error: {again:?}"
                        );
                        prop_assert_eq!(requested.lock().unwrap().len(), before + 1);
                        break;
                    }
                    Err(other) => prop_assert!(false, "{other:?}"),
                }
            }
            Ok(())
        })?;
    }

    /// Any text as a vendor-supplied next-page URL: accepted only on the base URL's origin.
    #[test]
    fn any_next_page_url_is_accepted_only_on_the_same_origin(
        url in prop_oneof![
            "\\PC{0,40}",
            "(https?|ftp|file|javascript|data)://[a-z0-9.:@\\[\\]%-]{0,24}(/\\PC{0,12})?",
            "(https?:)?//(127\\.0\\.0\\.1|localhost|\\[::1\\]|acme\\.zendesk\\.com)(:[0-9]{1,6})?/[a-z/]{0,12}",
        ],
    ) {
        for base in ["https://acme.zendesk.com", "http://127.0.0.1:8080", "http://localhost:8080/stem"] {
            let base = BaseUrl::parse(base).unwrap();
            match base.check_vendor_url("list_audit_logs", &url) {
                Ok(parsed) => prop_assert!(base.is_same_origin(&parsed), "{parsed}"),
                Err(Error::ForeignUrl { url: shown, .. }) => {
                    prop_assert!(!shown.contains('?'), "the query of a foreign URL is not shown");
                }
                Err(Error::Decode { .. }) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
        // And as a base URL: https, or http on loopback; never a panic.
        if let Ok(base) = BaseUrl::parse(&url) {
            prop_assert!(base.as_str().starts_with("https://") || base.as_str().starts_with("http://"));
        }
    }
}

/// The shaped strategies are worth their name: most of what they make decodes (so the
/// mapping properties above run on real records, not only on decoding errors).
#[test]
fn shaped_strategies_mostly_produce_records_that_decode() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    fn share<T: DeserializeOwned>(strategy: BoxedStrategy<Value>) -> f64 {
        let mut runner = TestRunner::deterministic();
        let n = 300;
        let decoded = (0..n)
            .filter(|_| {
                let value = strategy.new_tree(&mut runner).unwrap().current();
                serde_json::from_value::<T>(value).is_ok()
            })
            .count();
        decoded as f64 / n as f64
    }
    let shares = [
        (
            "ticket audit",
            share::<Recorded<zt::TicketAudit>>(zendesk_ticket_audit()),
        ),
        (
            "audit log",
            share::<Recorded<zt::AuditLog>>(zendesk_audit_log()),
        ),
        (
            "genesys record",
            share::<Recorded<gt::AuditLogMessage>>(genesys_record()),
        ),
        (
            "audit-log page",
            share::<zt::AuditLogsResponse>(zendesk_envelope(
                "audit_logs",
                zendesk_audit_log(),
                false,
            )),
        ),
        (
            "results page",
            share::<gt::AuditQueryExecutionResultsResponse>(genesys_results_page()),
        ),
    ];
    for (what, share) in shares {
        assert!(
            share >= 0.2,
            "only {:.0}% of the {what}s decode",
            share * 100.0
        );
        eprintln!("{what}: {:.0}% decode", share * 100.0);
    }
}
