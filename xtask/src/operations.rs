//! A plain-text listing of the operations a normalised spec generates, for review snapshots:
//! any change to the raw clients' API surface shows up as a diff of this listing.

use std::fmt::Write;

use serde_json::Value;

use crate::rules::rust_identifier;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One block per operation, in document order: method, path, operationId, generated method
/// name, each parameter's wire name, Rust setter and type, the body, and the responses.
pub fn list_operations(document: &Value) -> String {
    let components = document.get("components").unwrap_or(&Value::Null);
    let resolve = |value: &Value| -> Value {
        let mut current = value.clone();
        while let Some(reference) = current.get("$ref").and_then(Value::as_str) {
            let Some(found) = reference
                .strip_prefix("#/components/")
                .and_then(|rest| rest.split_once('/'))
                .and_then(|(kind, name)| components.get(kind)?.get(name))
            else {
                break;
            };
            current = found.clone();
        }
        current
    };

    let mut out = String::new();
    let paths = document.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let id = operation
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let _ = writeln!(
                out,
                "{id}: {} {path} -> {}()",
                method.to_uppercase(),
                rust_identifier(id)
            );
            let parameters = item
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(
                    operation
                        .get("parameters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            for parameter in parameters {
                let p = resolve(parameter);
                let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
                let location = p.get("in").and_then(Value::as_str).unwrap_or("?");
                let required = if p.get("required") == Some(&Value::Bool(true)) {
                    "required"
                } else {
                    "optional"
                };
                let schema = resolve(p.get("schema").unwrap_or(&Value::Null));
                let _ = writeln!(
                    out,
                    "  {location:<5} {name} -> .{}(): {}, {required}",
                    rust_identifier(name),
                    describe_type(&schema, &resolve)
                );
            }
            if let Some(body) = operation.get("requestBody") {
                let body = resolve(body);
                for (media, content) in body
                    .get("content")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let _ = writeln!(
                        out,
                        "  body  {media}: {}",
                        schema_name(content.get("schema").unwrap_or(&Value::Null))
                    );
                }
            }
            for (code, response) in operation
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let response = resolve(response);
                let content = response
                    .get("content")
                    .and_then(Value::as_object)
                    .and_then(|c| c.iter().next());
                let shape = match content {
                    Some((media, c)) => {
                        format!(
                            "{media} {}",
                            schema_name(c.get("schema").unwrap_or(&Value::Null))
                        )
                    }
                    None => "empty body".to_string(),
                };
                let _ = writeln!(out, "  {code:<5} {shape}");
            }
            out.push('\n');
        }
    }
    out
}

fn schema_name(schema: &Value) -> String {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string(),
        None => "inline schema".to_string(),
    }
}

fn describe_type(schema: &Value, resolve: &dyn Fn(&Value) -> Value) -> String {
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("any");
    let format = schema
        .get("format")
        .and_then(Value::as_str)
        .map(|f| format!("/{f}"))
        .unwrap_or_default();
    match kind {
        "array" => {
            let items = resolve(schema.get("items").unwrap_or(&Value::Null));
            format!("array of {}, repeated key", describe_type(&items, resolve))
        }
        _ => match schema.get("enum").and_then(Value::as_array) {
            Some(values) => {
                let values: Vec<String> = values.iter().map(Value::to_string).collect();
                format!("{kind}{format} one of [{}]", values.join(", "))
            }
            None => format!("{kind}{format}"),
        },
    }
}
