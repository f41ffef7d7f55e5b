//! The JSON Schema of the unified model (feature `schema`): what `trail schema` prints.

use schemars::Schema;
use serde_json::Value;

use crate::event::AuditEvent;

/// The JSON Schema of [`AuditEvent`] (draft 2020-12), as `trail schema` prints it.
///
/// Descriptions come from the doc comments, without their Rust examples (a schema's reader
/// wants the prose).
///
/// ```
/// let schema = serde_json::to_string(&audit_core::audit_event_schema()).unwrap();
/// assert!(schema.contains("One audit record from any vendor"));
/// assert!(!schema.contains("```"));
/// ```
pub fn audit_event_schema() -> Schema {
    let mut schema = Value::from(schemars::schema_for!(AuditEvent));
    without_code_examples(&mut schema);
    Schema::try_from(schema).expect("still a schema object")
}

/// Cuts every `description` at its first fenced code block.
fn without_code_examples(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get_mut("description")
                && let Some(at) = text.find("```")
            {
                text.truncate(at);
                text.truncate(text.trim_end().len());
            }
            map.values_mut().for_each(without_code_examples);
        }
        Value::Array(items) => items.iter_mut().for_each(without_code_examples),
        _ => {}
    }
}
