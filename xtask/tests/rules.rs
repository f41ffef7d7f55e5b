//! The normalisation pass: each rule progenitor depends on is reported with the spec, the
//! operation (or schema) and the rule's name; the meaning-preserving rewrites are applied.

use serde_json::{Value, json};
use xtask::rules::{Rule, normalise};

fn spec(paths: Value, schemas: Value) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "test", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

fn ok_response() -> Value {
    json!({"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}})
}

fn page_schema() -> Value {
    json!({"Page": {"type": "object", "properties": {"items": {"type": "array", "items": {}}}}})
}

/// Runs the pass and returns the (location, rule) of every violation.
fn violations(mut doc: Value) -> Vec<(String, Rule)> {
    match normalise("specs/test.yaml", &mut doc) {
        Ok(_) => Vec::new(),
        Err(errors) => {
            assert_eq!(errors.spec, "specs/test.yaml");
            errors
                .violations
                .into_iter()
                .map(|v| (v.location, v.rule))
                .collect()
        }
    }
}

fn one_operation(operation: Value) -> Value {
    spec(json!({"/things": {"get": operation}}), page_schema())
}

#[test]
fn a_valid_spec_passes_unchanged() {
    let doc =
        one_operation(json!({"operationId": "ListThings", "responses": {"200": ok_response()}}));
    let mut normalised = doc.clone();
    let notes = normalise("specs/test.yaml", &mut normalised).expect("valid spec");
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(normalised, doc);
}

#[test]
fn openapi_3_1_and_swagger_are_rejected() {
    let mut doc =
        one_operation(json!({"operationId": "ListThings", "responses": {"200": ok_response()}}));
    doc["openapi"] = json!("3.1.0");
    assert_eq!(
        violations(doc),
        vec![("document".to_string(), Rule::OpenApiVersion)]
    );
}

#[test]
fn missing_and_duplicate_operation_ids_name_the_method_and_path() {
    let doc = spec(
        json!({
            "/a": {"get": {"responses": {"200": ok_response()}}},
            "/b": {"get": {"operationId": "Same", "responses": {"200": ok_response()}},
                   "put": {"operationId": "Same", "responses": {"200": ok_response()}}},
        }),
        page_schema(),
    );
    assert_eq!(
        violations(doc),
        vec![
            ("GET /a".to_string(), Rule::OperationId),
            ("PUT /b".to_string(), Rule::OperationId),
        ]
    );
}

#[test]
fn inline_response_schemas_are_rejected() {
    let doc = one_operation(json!({
        "operationId": "ListThings",
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }));
    assert_eq!(
        violations(doc),
        vec![("ListThings".to_string(), Rule::ResponseSchemaRef)]
    );
}

#[test]
fn json_response_without_schema_is_rejected() {
    let doc = one_operation(json!({
        "operationId": "ListThings",
        "responses": {"200": {"description": "ok", "content": {"application/json": {}}}},
    }));
    assert_eq!(
        violations(doc),
        vec![("ListThings".to_string(), Rule::ResponseSchemaMissing)]
    );
}

#[test]
fn success_responses_of_different_types_are_rejected() {
    let doc = one_operation(json!({
        "operationId": "ListThings",
        "responses": {"200": ok_response(), "204": {"description": "nothing"}},
    }));
    assert_eq!(
        violations(doc),
        vec![("ListThings".to_string(), Rule::OneSuccessType)]
    );
}

#[test]
fn two_success_statuses_with_one_schema_are_accepted() {
    let doc = one_operation(json!({
        "operationId": "ListThings",
        "responses": {"200": ok_response(), "202": ok_response()},
    }));
    assert!(violations(doc).is_empty());
}

#[test]
fn error_statuses_sharing_a_schema_collapse_into_ranges() {
    let error = json!({"description": "bad", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}});
    let mut doc = one_operation(json!({
        "operationId": "ListThings",
        "responses": {"200": ok_response(), "400": error, "404": error, "503": error},
    }));
    let notes = normalise("specs/test.yaml", &mut doc).expect("valid after collapsing");
    let responses = doc["paths"]["/things"]["get"]["responses"]
        .as_object()
        .unwrap();
    let codes: Vec<&String> = responses.keys().collect();
    assert_eq!(codes, ["200", "4XX", "5XX"]);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("400, 404 into 4XX"), "{notes:?}");
}

#[test]
fn error_statuses_with_different_schemas_are_rejected() {
    let doc = one_operation(json!({
        "operationId": "ListThings",
        "responses": {
            "200": ok_response(),
            "400": {"description": "bad", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}},
            "404": {"description": "missing"},
        },
    }));
    assert_eq!(
        violations(doc),
        vec![("ListThings".to_string(), Rule::OneErrorSchema)]
    );
}

#[test]
fn redirect_responses_are_dropped() {
    let mut doc = one_operation(json!({
        "operationId": "ListThings",
        "responses": {"200": ok_response(), "302": {"description": "download elsewhere"}},
    }));
    normalise("specs/test.yaml", &mut doc).expect("valid");
    assert!(
        doc["paths"]["/things"]["get"]["responses"]
            .get("302")
            .is_none()
    );
}

#[test]
fn a_repeated_query_parameter_becomes_one_array_parameter() {
    let bound = json!({"name": "filter[created_at][]", "in": "query", "schema": {"type": "string", "format": "date-time"}});
    let mut doc = one_operation(json!({
        "operationId": "ListThings",
        "parameters": [bound, bound, {"name": "sort", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": ok_response()},
    }));
    normalise("specs/test.yaml", &mut doc).expect("valid after merging");
    let parameters = doc["paths"]["/things"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert_eq!(parameters.len(), 2);
    assert_eq!(parameters[0]["name"], "filter[created_at][]");
    assert_eq!(
        parameters[0]["schema"],
        json!({"type": "array", "items": {"type": "string", "format": "date-time"}})
    );
    assert_eq!(parameters[0]["explode"], true);
}

#[test]
fn parameter_rules_are_each_reported() {
    let doc = one_operation(json!({
        "operationId": "ListThings",
        "parameters": [
            {"name": "page", "in": "query", "style": "deepObject", "schema": {"type": "integer"}},
            {"name": "filter", "in": "query", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
            {"name": "ids[]", "in": "query", "schema": {"type": "array", "maxItems": 2, "items": {"type": "string"}}},
            {"name": "page[size]", "in": "query", "schema": {"type": "integer"}},
            {"name": "page_size", "in": "query", "schema": {"type": "integer"}},
            {"name": "session", "in": "cookie", "schema": {"type": "string"}},
        ],
        "responses": {"200": ok_response()},
    }));
    let rules: Vec<Rule> = violations(doc).into_iter().map(|(_, rule)| rule).collect();
    assert_eq!(
        rules,
        vec![
            Rule::ParameterStyle,
            Rule::ObjectParameter,
            Rule::ArrayParameterMaxItems,
            Rule::ParameterNameCollision,
            Rule::ParameterStyle,
        ]
    );
}

#[test]
fn path_parameters_must_be_required() {
    let doc = spec(
        json!({"/things/{id}": {"get": {
            "operationId": "ShowThing",
            "parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}],
            "responses": {"200": ok_response()},
        }}}),
        page_schema(),
    );
    assert_eq!(
        violations(doc),
        vec![("ShowThing".to_string(), Rule::PathParameterRequired)]
    );
}

#[test]
fn two_request_media_types_are_rejected() {
    let doc = spec(
        json!({"/things": {"post": {
            "operationId": "CreateThing",
            "requestBody": {"content": {
                "application/json": {"schema": {"type": "object"}},
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            }},
            "responses": {"200": ok_response()},
        }}}),
        page_schema(),
    );
    assert_eq!(
        violations(doc),
        vec![("CreateThing".to_string(), Rule::OneRequestMediaType)]
    );
}

#[test]
fn closed_schemas_reachable_from_responses_are_rejected_with_their_path() {
    let doc = spec(
        json!({"/things": {"get": {"operationId": "ListThings", "responses": {"200": ok_response()}}}}),
        json!({
            "Page": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}},
            "Thing": {"type": "object", "additionalProperties": false,
                      "properties": {"state": {"type": "string", "enum": ["Queued", "Running"]}}},
            "RequestOnly": {"type": "object", "properties": {"order": {"type": "string", "enum": ["asc"]}}},
        }),
    );
    let mut doc = doc;
    let errors = normalise("specs/test.yaml", &mut doc).unwrap_err();
    let rendered = errors.to_string();
    assert_eq!(errors.violations.len(), 2, "{rendered}");
    assert!(
        rendered
            .contains("schema Thing: rule `open-response-enums` broken: closed enum at `.state`"),
        "{rendered}"
    );
    assert!(
        rendered.contains("schema Thing: rule `open-response-objects` broken"),
        "{rendered}"
    );
    assert!(
        !rendered.contains("RequestOnly"),
        "request-only enums are allowed: {rendered}"
    );
}

#[test]
fn the_report_names_spec_operation_rule_and_remedy() {
    let mut doc = one_operation(json!({
        "operationId": "ListThings",
        "parameters": [{"name": "page", "in": "query", "style": "deepObject", "schema": {"type": "integer"}}],
        "responses": {"200": ok_response()},
    }));
    let report = normalise("specs/test.yaml", &mut doc)
        .unwrap_err()
        .to_string();
    assert!(
        report.starts_with("specs/test.yaml breaks 1 rule(s)"),
        "{report}"
    );
    assert!(report.contains("ListThings: rule `parameter-style` broken: query parameter `page` uses `style: deepObject`"), "{report}");
    assert!(
        report.contains("why: progenitor supports query `style: form`"),
        "{report}"
    );
}
