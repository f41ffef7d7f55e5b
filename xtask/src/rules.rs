//! The normalisation pass that runs before progenitor.
//!
//! progenitor 0.15 panics, or silently generates wrong types, on several legal OpenAPI
//! constructs (one success type per operation, inline response schemas, deepObject
//! parameters, closed enums in vendor data, …). This pass does two things:
//!
//! - a few mechanical, meaning-preserving rewrites, so the checked-in specs can say what the
//!   vendor really does: error statuses sharing one schema collapse into `4XX`/`5XX`, 3xx
//!   responses (which progenitor ignores anyway) are dropped, and a query parameter declared
//!   several times becomes one exploded array parameter;
//! - checks for everything else progenitor would panic on or mis-type, each reported with the
//!   spec, the operation (or schema) and the rule broken, so a spec author never sees a
//!   panic backtrace.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value, json};

/// A rule the specs must follow for progenitor to generate a correct client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// `openapi` must be 3.0.x.
    OpenApiVersion,
    /// Every operation needs a unique `operationId`.
    OperationId,
    /// Path items must be inline, not `$ref`s.
    PathItemRef,
    /// JSON response schemas must be `$ref`s into `components/schemas`.
    ResponseSchemaRef,
    /// A JSON response must have a schema.
    ResponseSchemaMissing,
    /// All success responses of an operation must share one type.
    OneSuccessType,
    /// All error responses of an operation must share one schema.
    OneErrorSchema,
    /// A request body may have one media type, without `encoding`.
    OneRequestMediaType,
    /// Query parameters must use `style: form`; path parameters `style: simple`; no cookies.
    ParameterStyle,
    /// Path parameters must be required.
    PathParameterRequired,
    /// Array query parameters must not set `maxItems`.
    ArrayParameterMaxItems,
    /// Query and header parameters must not be objects.
    ObjectParameter,
    /// Two parameters of one operation must not map to the same Rust name.
    ParameterNameCollision,
    /// Schemas reachable from a response must not set `additionalProperties: false`.
    ClosedResponseObject,
    /// Schemas reachable from a response must not use `enum`.
    ClosedResponseEnum,
}

impl Rule {
    /// A short, stable name for the rule.
    pub fn name(self) -> &'static str {
        match self {
            Rule::OpenApiVersion => "openapi-3.0",
            Rule::OperationId => "operation-id",
            Rule::PathItemRef => "inline-path-items",
            Rule::ResponseSchemaRef => "response-schema-ref",
            Rule::ResponseSchemaMissing => "response-schema-present",
            Rule::OneSuccessType => "one-success-type",
            Rule::OneErrorSchema => "one-error-schema",
            Rule::OneRequestMediaType => "one-request-media-type",
            Rule::ParameterStyle => "parameter-style",
            Rule::PathParameterRequired => "path-parameter-required",
            Rule::ArrayParameterMaxItems => "no-max-items-on-array-parameters",
            Rule::ObjectParameter => "no-object-parameters",
            Rule::ParameterNameCollision => "distinct-parameter-names",
            Rule::ClosedResponseObject => "open-response-objects",
            Rule::ClosedResponseEnum => "open-response-enums",
        }
    }

    /// Why the rule exists: what progenitor would do otherwise, and how to fix the spec.
    pub fn why(self) -> &'static str {
        match self {
            Rule::OpenApiVersion => "progenitor reads OpenAPI 3.0.x only; convert the document",
            Rule::OperationId => {
                "progenitor names methods after operationIds; give each operation a unique one"
            }
            Rule::PathItemRef => "progenitor does not resolve `$ref` path items; inline them",
            Rule::ResponseSchemaRef => {
                "progenitor names every inline response schema `<OperationId>Response`, so one \
                 silently replaces the other; move the schema to components/schemas and `$ref` it"
            }
            Rule::ResponseSchemaMissing => {
                "progenitor panics on a JSON response without a schema; add one, or drop the \
                 `content` if the body is empty"
            }
            Rule::OneSuccessType => {
                "progenitor panics when success responses have different types; use one schema \
                 (or no content) for every 2xx"
            }
            Rule::OneErrorSchema => {
                "progenitor panics when error responses have different schemas; use one lenient \
                 error schema for every 4xx/5xx"
            }
            Rule::OneRequestMediaType => {
                "progenitor panics on several request media types or an `encoding`; keep one \
                 media type without `encoding`"
            }
            Rule::ParameterStyle => {
                "progenitor supports query `style: form`, path `style: simple` and no cookies; \
                 write bracketed names (`page[size]`) as separate scalar parameters"
            }
            Rule::PathParameterRequired => "path parameters must be `required: true`",
            Rule::ArrayParameterMaxItems => {
                "with `maxItems` typify generates a fixed-size array that fails to serialise at \
                 request time; drop `maxItems` and check the length in the facade"
            }
            Rule::ObjectParameter => {
                "progenitor's builder interface panics on object-typed parameters; use scalars"
            }
            Rule::ParameterNameCollision => {
                "progenitor derives one Rust name per parameter; two names that sanitise alike \
                 collide — rename or merge them"
            }
            Rule::ClosedResponseObject => {
                "`additionalProperties: false` becomes `deny_unknown_fields`, so one new vendor \
                 field breaks every response; allow unknown fields"
            }
            Rule::ClosedResponseEnum => {
                "generated enums have no catch-all, so one new vendor value fails the whole \
                 response; use a string and list the known values in the description"
            }
        }
    }
}

/// One broken rule, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The operation (`ListAuditLogs`), `METHOD /path`, or schema (`schema AuditLog`) concerned.
    pub location: String,
    /// The rule broken.
    pub rule: Rule,
    /// What exactly is wrong.
    pub detail: String,
}

/// Every rule a spec breaks, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors {
    /// The spec file, as given.
    pub spec: String,
    /// The violations, in document order.
    pub violations: Vec<Violation>,
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} breaks {} rule(s) progenitor depends on:",
            self.spec,
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(
                f,
                "  - {}: rule `{}` broken: {}\n    why: {}",
                v.location,
                v.rule.name(),
                v.detail,
                v.rule.why()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Applies the rewrites, then checks every rule. Returns the notes describing each rewrite.
pub fn normalise(spec: &str, doc: &mut Value) -> Result<Vec<String>, SpecErrors> {
    let mut notes = Vec::new();
    let mut violations = Vec::new();

    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.trim().starts_with("3.0.") => {}
        other => violations.push(Violation {
            location: "document".into(),
            rule: Rule::OpenApiVersion,
            detail: format!("`openapi` is {other:?}, expected 3.0.x"),
        }),
    }

    let components = doc.get("components").cloned().unwrap_or(Value::Null);
    let resolver = Resolver {
        components: &components,
    };
    let mut operation_ids = BTreeSet::new();

    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            if item.get("$ref").is_some() {
                violations.push(Violation {
                    location: path.clone(),
                    rule: Rule::PathItemRef,
                    detail: "the path item is a `$ref`".into(),
                });
                continue;
            }
            let shared_parameters = item.get("parameters").cloned();
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for method in METHODS {
                let Some(operation) = item.get_mut(method) else {
                    continue;
                };
                let fallback = format!("{} {path}", method.to_uppercase());
                let location = match operation.get("operationId").and_then(Value::as_str) {
                    Some(id) if operation_ids.insert(id.to_string()) => id.to_string(),
                    Some(id) => {
                        violations.push(Violation {
                            location: fallback.clone(),
                            rule: Rule::OperationId,
                            detail: format!("operationId `{id}` is used twice"),
                        });
                        fallback
                    }
                    None => {
                        violations.push(Violation {
                            location: fallback.clone(),
                            rule: Rule::OperationId,
                            detail: "the operation has no operationId".into(),
                        });
                        fallback
                    }
                };
                let mut op = OperationPass {
                    location: &location,
                    resolver: &resolver,
                    notes: &mut notes,
                    violations: &mut violations,
                };
                op.merge_repeated_parameters(operation);
                op.rewrite_responses(operation);
                op.check_parameters(operation, shared_parameters.as_ref());
                op.check_request_body(operation);
                op.check_responses(operation);
            }
        }
    }

    check_response_schemas(doc, &components, &mut violations);

    if violations.is_empty() {
        Ok(notes)
    } else {
        Err(SpecErrors {
            spec: spec.to_string(),
            violations,
        })
    }
}

/// Resolves local `$ref`s (`#/components/<kind>/<name>`).
struct Resolver<'a> {
    components: &'a Value,
}

impl Resolver<'_> {
    /// Follows `$ref`s until a concrete object; `None` for dangling or external references.
    fn resolve<'v>(&'v self, value: &'v Value) -> Option<&'v Value> {
        let mut current = value;
        for _ in 0..16 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(reference) => current = self.lookup(reference)?,
                None => return Some(current),
            }
        }
        None
    }

    fn lookup(&self, reference: &str) -> Option<&Value> {
        let rest = reference.strip_prefix("#/components/")?;
        let (kind, name) = rest.split_once('/')?;
        self.components.get(kind)?.get(name)
    }
}

struct OperationPass<'a> {
    location: &'a str,
    resolver: &'a Resolver<'a>,
    notes: &'a mut Vec<String>,
    violations: &'a mut Vec<Violation>,
}

impl OperationPass<'_> {
    fn violation(&mut self, rule: Rule, detail: String) {
        self.violations.push(Violation {
            location: self.location.to_string(),
            rule,
            detail,
        });
    }

    /// A query parameter declared several times (the vendors' "repeat the key") becomes one
    /// exploded array parameter; progenitor would otherwise keep only the last declaration.
    fn merge_repeated_parameters(&mut self, operation: &mut Value) {
        let Some(list) = operation.get("parameters").and_then(Value::as_array) else {
            return;
        };
        let resolved: Vec<Value> = list
            .iter()
            .map(|p| self.resolver.resolve(p).cloned().unwrap_or(Value::Null))
            .collect();
        let key = |p: &Value| {
            (
                p.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                p.get("in")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        };
        let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
        for p in &resolved {
            *counts.entry(key(p)).or_default() += 1;
        }
        if counts
            .iter()
            .all(|((_, location), n)| *n == 1 || location != "query")
        {
            return;
        }
        let mut merged = Vec::new();
        let mut seen = BTreeSet::new();
        for (original, p) in list.iter().zip(&resolved) {
            let k = key(p);
            if counts[&k] == 1 || k.1 != "query" {
                merged.push(original.clone());
                continue;
            }
            if !seen.insert(k.clone()) {
                continue;
            }
            let mut array = p.clone();
            let item_schema = p
                .get("schema")
                .cloned()
                .unwrap_or(json!({"type": "string"}));
            array["schema"] = json!({"type": "array", "items": item_schema});
            array["style"] = json!("form");
            array["explode"] = json!(true);
            self.notes.push(format!(
                "{}: query parameter `{}` is declared {} times; merged into one array parameter",
                self.location, k.0, counts[&k]
            ));
            merged.push(array);
        }
        operation["parameters"] = Value::Array(merged);
    }

    /// Drops 3xx responses and collapses error statuses into `4XX`/`5XX` when they share a schema.
    fn rewrite_responses(&mut self, operation: &mut Value) {
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        let redirects: Vec<String> = responses
            .keys()
            .filter(|code| code.starts_with('3'))
            .cloned()
            .collect();
        for code in redirects {
            responses.remove(&code);
            self.notes.push(format!(
                "{}: dropped the {code} response (progenitor ignores 3xx; the facade handles it)",
                self.location
            ));
        }
        for class in ['4', '5'] {
            let codes: Vec<String> = responses
                .keys()
                .filter(|code| {
                    code.len() == 3
                        && code.starts_with(class)
                        && code.as_str() != format!("{class}XX")
                })
                .cloned()
                .collect();
            if codes.is_empty() {
                continue;
            }
            let range = format!("{class}XX");
            let mut kinds: BTreeSet<String> = codes
                .iter()
                .map(|c| response_kind(self.resolver, &responses[c]))
                .collect();
            if let Some(existing) = responses.get(&range) {
                kinds.insert(response_kind(self.resolver, existing));
            }
            if kinds.len() != 1 {
                // Left as they are; `check_responses` reports the conflict.
                continue;
            }
            let representative = responses[&codes[0]].clone();
            let descriptions: Vec<String> = codes
                .iter()
                .map(|c| {
                    let text = self
                        .resolver
                        .resolve(&responses[c])
                        .and_then(|r| r.get("description"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .trim();
                    format!("{c}: {text}")
                })
                .collect();
            for c in &codes {
                responses.remove(c);
            }
            if !responses.contains_key(&range) {
                let mut collapsed = self
                    .resolver
                    .resolve(&representative)
                    .cloned()
                    .unwrap_or(representative);
                collapsed["description"] = Value::String(descriptions.join("\n"));
                responses.insert(range.clone(), collapsed);
            }
            self.notes.push(format!(
                "{}: collapsed error responses {} into {range}",
                self.location,
                codes.join(", ")
            ));
        }
    }

    fn check_parameters(&mut self, operation: &Value, shared: Option<&Value>) {
        let mut all: Vec<Value> = Vec::new();
        for list in [shared, operation.get("parameters")].into_iter().flatten() {
            for p in list.as_array().into_iter().flatten() {
                match self.resolver.resolve(p) {
                    Some(p) => all.push(p.clone()),
                    None => self.violation(
                        Rule::ParameterStyle,
                        format!("parameter reference {p} does not resolve"),
                    ),
                }
            }
        }
        let mut rust_names: BTreeMap<String, String> = BTreeMap::new();
        for p in &all {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            let location = p.get("in").and_then(Value::as_str).unwrap_or("");
            let style = p.get("style").and_then(Value::as_str);
            let schema = p
                .get("schema")
                .and_then(|s| self.resolver.resolve(s))
                .cloned()
                .unwrap_or(Value::Null);
            match (location, style) {
                ("query", None | Some("form")) | ("path", None | Some("simple")) => {}
                ("header", None | Some("simple")) => {}
                ("cookie", _) => self.violation(
                    Rule::ParameterStyle,
                    format!("cookie parameter `{name}` is not supported"),
                ),
                (_, Some(style)) => self.violation(
                    Rule::ParameterStyle,
                    format!("{location} parameter `{name}` uses `style: {style}`"),
                ),
                (other, None) => self.violation(
                    Rule::ParameterStyle,
                    format!("parameter `{name}` has unknown location `{other}`"),
                ),
            }
            if location == "path" && p.get("required") != Some(&Value::Bool(true)) {
                self.violation(
                    Rule::PathParameterRequired,
                    format!("path parameter `{name}` is not `required: true`"),
                );
            }
            let is_object = schema.get("type").and_then(Value::as_str) == Some("object")
                || schema.get("properties").is_some();
            if matches!(location, "query" | "header") && is_object {
                self.violation(
                    Rule::ObjectParameter,
                    format!("{location} parameter `{name}` is an object"),
                );
            }
            if schema.get("type").and_then(Value::as_str) == Some("array")
                && schema.get("maxItems").is_some()
            {
                self.violation(
                    Rule::ArrayParameterMaxItems,
                    format!("array parameter `{name}` sets `maxItems`"),
                );
            }
            let rust = rust_identifier(name);
            if let Some(previous) = rust_names.insert(rust.clone(), name.to_string())
                && previous != name
            {
                self.violation(
                    Rule::ParameterNameCollision,
                    format!("parameters `{previous}` and `{name}` both become `{rust}`"),
                );
            }
        }
    }

    fn check_request_body(&mut self, operation: &Value) {
        let Some(body) = operation
            .get("requestBody")
            .and_then(|b| self.resolver.resolve(b))
        else {
            return;
        };
        let content = body.get("content").and_then(Value::as_object);
        let count = content.map_or(0, Map::len);
        if count > 1 {
            let types: Vec<&String> = content.into_iter().flat_map(Map::keys).collect();
            self.violation(
                Rule::OneRequestMediaType,
                format!("the request body has {count} media types: {types:?}"),
            );
        }
        for (media, value) in content.into_iter().flatten() {
            if value.get("encoding").is_some() {
                self.violation(
                    Rule::OneRequestMediaType,
                    format!("request media type `{media}` sets `encoding`"),
                );
            }
            if value.get("schema").is_none() {
                self.violation(
                    Rule::OneRequestMediaType,
                    format!("request media type `{media}` has no schema"),
                );
            }
        }
    }

    fn check_responses(&mut self, operation: &Value) {
        let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
            return;
        };
        let mut success_kinds = BTreeSet::new();
        let mut error_kinds = BTreeSet::new();
        for (code, response) in responses {
            let Some(response) = self.resolver.resolve(response) else {
                self.violation(
                    Rule::ResponseSchemaRef,
                    format!("response {code} does not resolve"),
                );
                continue;
            };
            if let Some(json) = json_media(response) {
                if json.get("encoding").is_some() {
                    self.violation(
                        Rule::ResponseSchemaMissing,
                        format!("response {code} sets `encoding` on its JSON media type"),
                    );
                }
                match json.get("schema") {
                    None => self.violation(
                        Rule::ResponseSchemaMissing,
                        format!("response {code} is JSON without a schema"),
                    ),
                    Some(schema) if schema.get("$ref").is_none() => self.violation(
                        Rule::ResponseSchemaRef,
                        format!("response {code} has an inline schema"),
                    ),
                    Some(_) => {}
                }
            }
            let kind = response_kind(self.resolver, response);
            let is_success = code == "default" || code == "2XX" || code.starts_with('2');
            let is_error = code == "default" || code.starts_with('4') || code.starts_with('5');
            if is_success {
                success_kinds.insert((kind.clone(), code.clone()));
            }
            if is_error {
                error_kinds.insert((kind, code.clone()));
            }
        }
        for (rule, kinds) in [
            (Rule::OneSuccessType, success_kinds),
            (Rule::OneErrorSchema, error_kinds),
        ] {
            let distinct: BTreeSet<&String> = kinds.iter().map(|(k, _)| k).collect();
            if distinct.len() > 1 {
                let listing: Vec<String> =
                    kinds.iter().map(|(k, c)| format!("{c} → {k}")).collect();
                self.violation(rule, format!("responses differ: {}", listing.join(", ")));
            }
        }
    }
}

/// The JSON media type of a response (`application/json`, with or without parameters).
fn json_media(response: &Value) -> Option<&Value> {
    response
        .get("content")?
        .as_object()?
        .iter()
        .find(|(media, _)| *media == "application/json" || media.starts_with("application/json;"))
        .map(|(_, v)| v)
}

/// What a response decodes to, as progenitor sees it: a schema `$ref`, raw bytes, or nothing.
fn response_kind(resolver: &Resolver<'_>, response: &Value) -> String {
    let Some(response) = resolver.resolve(response) else {
        return "unresolved".into();
    };
    if let Some(json) = json_media(response) {
        return match json
            .get("schema")
            .and_then(|s| s.get("$ref"))
            .and_then(Value::as_str)
        {
            Some(reference) => reference.to_string(),
            None => format!("inline {}", json.get("schema").unwrap_or(&Value::Null)),
        };
    }
    match response.get("content").and_then(Value::as_object) {
        Some(content) if !content.is_empty() => "raw body".into(),
        _ => "no content".into(),
    }
}

/// progenitor's parameter naming: non-identifier characters become `-`, then snake_case.
pub fn rust_identifier(wire_name: &str) -> String {
    use heck::ToSnakeCase;
    wire_name
        .replace('\'', "")
        .replace(|c: char| !(c.is_alphanumeric() || c == '_'), "-")
        .to_snake_case()
}

/// No schema reachable from a response may be closed (`enum`, `additionalProperties: false`).
fn check_response_schemas(doc: &Value, components: &Value, violations: &mut Vec<Violation>) {
    let resolver = Resolver { components };
    let mut roots = BTreeSet::new();
    for item in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(Map::values)
    {
        for method in METHODS {
            let Some(responses) = item
                .get(method)
                .and_then(|op| op.get("responses"))
                .and_then(Value::as_object)
            else {
                continue;
            };
            for response in responses.values() {
                if let Some(schema) = resolver
                    .resolve(response)
                    .and_then(json_media)
                    .and_then(|m| m.get("schema"))
                {
                    collect_refs(schema, &mut roots);
                }
            }
        }
    }
    let mut visited = BTreeSet::new();
    let mut pending: Vec<String> = roots.into_iter().collect();
    while let Some(reference) = pending.pop() {
        if !visited.insert(reference.clone()) {
            continue;
        }
        let Some(schema) = resolver.lookup(&reference) else {
            continue;
        };
        let name = reference
            .rsplit('/')
            .next()
            .unwrap_or(&reference)
            .to_string();
        find_closed(schema, &format!("schema {name}"), "", violations);
        let mut refs = BTreeSet::new();
        collect_refs(schema, &mut refs);
        pending.extend(refs);
    }
}

fn collect_refs(value: &Value, refs: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.insert(r.clone());
            }
            for (key, v) in map {
                // Examples are data, not schema.
                if key != "example" && key != "examples" {
                    collect_refs(v, refs);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

fn find_closed(schema: &Value, location: &str, pointer: &str, violations: &mut Vec<Violation>) {
    let Some(map) = schema.as_object() else {
        return;
    };
    let at = if pointer.is_empty() {
        String::new()
    } else {
        format!(" at `{pointer}`")
    };
    if map.contains_key("enum") {
        violations.push(Violation {
            location: location.to_string(),
            rule: Rule::ClosedResponseEnum,
            detail: format!("closed enum{at}"),
        });
    }
    if map.get("additionalProperties") == Some(&Value::Bool(false)) {
        violations.push(Violation {
            location: location.to_string(),
            rule: Rule::ClosedResponseObject,
            detail: format!("`additionalProperties: false`{at}"),
        });
    }
    for (key, value) in map {
        match key.as_str() {
            "properties" => {
                for (property, sub) in value.as_object().into_iter().flatten() {
                    find_closed(sub, location, &format!("{pointer}.{property}"), violations);
                }
            }
            "items" | "additionalProperties" | "not" => {
                find_closed(value, location, &format!("{pointer}[{key}]"), violations);
            }
            "allOf" | "oneOf" | "anyOf" => {
                for (i, sub) in value.as_array().into_iter().flatten().enumerate() {
                    find_closed(sub, location, &format!("{pointer}[{key}/{i}]"), violations);
                }
            }
            _ => {}
        }
    }
}
