//! A validator of OCSF events against the **official** OCSF 1.8.0 schema, not ours.
//!
//! The schema is the compiled export of schema.ocsf.io for 1.8.0 (`/1.8.0/export/v2/schema`,
//! Apache-2.0, the OCSF project), as the PyPI package `ocsf-json-schema` 1.2.0 ships it
//! (`ocsf_json_schema/ocsf/1.8.0.json`, with its licence beside it). `.ci/ocsf-schema` downloads
//! that package, checks the file's SHA-256 and unpacks it into `target/ocsf-schema/`; the tests
//! read it from there, from `$OCSF_SCHEMA_1_8_0`, or from an installed `ocsf_json_schema`.
//!
//! What is checked, for the class an event names (`class_uid`) and recursively for every object
//! in it, with inheritance (`extends`) resolved: required attributes (those of profiles only
//! when `metadata.profiles` names the profile), no attribute the schema does not define, the
//! `at_least_one` and `just_one` constraints, the types (string, integer, long, timestamp,
//! float, boolean, JSON, object, array, and the string types' patterns), enum values, and that
//! each enum's sibling holds the value's caption (`activity_name` may hold the source's word
//! only for 99 "Other"; `type_name` is always the caption of `type_uid`).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

/// The SHA-256 of the schema file `.ci/ocsf-schema` accepts.
pub const SCHEMA_SHA256: &str = "221b43d05787aa68d03233589f0eabdab192531d3e4740b856b2e0a4d6d91f82";

/// The official OCSF 1.8.0 schema, loaded once.
pub static SCHEMA: LazyLock<Schema> = LazyLock::new(Schema::official);

/// The compiled OCSF schema: classes, objects and the dictionary's types.
pub struct Schema {
    root: Value,
}

fn schema_path() -> PathBuf {
    if let Some(path) = std::env::var_os("OCSF_SCHEMA_1_8_0") {
        return path.into();
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let unpacked = workspace.join("target/ocsf-schema/ocsf_json_schema/ocsf/1.8.0.json");
    if !unpacked.exists() {
        // A fresh clone: `cargo test --workspace` alone must work, so fetch it here (the
        // script locks, checks the SHA-256 and does nothing when the file is already there).
        let fetched = std::process::Command::new("bash")
            .arg(workspace.join(".ci/ocsf-schema"))
            .status();
        if !matches!(fetched, Ok(status) if status.success()) {
            eprintln!("`.ci/ocsf-schema` could not fetch the official OCSF schema: {fetched:?}");
        }
    }
    if unpacked.exists() {
        return unpacked;
    }
    let installed = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, ocsf_json_schema as s; print(os.path.join(os.path.dirname(s.__file__), 'ocsf', '1.8.0.json'))",
        ])
        .output();
    if let Ok(output) = installed
        && output.status.success()
    {
        let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if path.exists() {
            return path;
        }
    }
    panic!(
        "the official OCSF 1.8.0 schema is not here: run `.ci/ocsf-schema` (it downloads the PyPI \
         package ocsf-json-schema 1.2.0 and unpacks its 1.8.0 export into target/ocsf-schema/), \
         or set OCSF_SCHEMA_1_8_0 to that 1.8.0.json"
    )
}

impl Schema {
    fn official() -> Schema {
        let path = schema_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let root: Value = serde_json::from_str(&text).expect("the OCSF schema is JSON");
        assert_eq!(root["version"], "1.8.0", "{} is OCSF 1.8.0", path.display());
        Schema { root }
    }

    /// The class whose `uid` is `class_uid`.
    fn class(&self, class_uid: u64) -> Option<&Map<String, Value>> {
        self.root["classes"]
            .as_object()?
            .values()
            .filter_map(Value::as_object)
            .find(|c| c.get("uid").and_then(Value::as_u64) == Some(class_uid))
    }

    /// The attributes of a class or object, with those of its ancestors (`extends`): the
    /// nearest definition of an attribute wins.
    fn attributes(&self, section: &str, definition: &Map<String, Value>) -> Map<String, Value> {
        let mut chain = vec![definition];
        let mut current = definition;
        while let Some(parent) = current.get("extends").and_then(Value::as_str) {
            match self.root[section].get(parent).and_then(Value::as_object) {
                Some(p) if chain.len() < 16 => {
                    chain.push(p);
                    current = p;
                }
                _ => break,
            }
        }
        let mut attributes = Map::new();
        for definition in chain.into_iter().rev() {
            if let Some(own) = definition.get("attributes").and_then(Value::as_object) {
                for (name, attribute) in own {
                    if name.starts_with('$') {
                        continue;
                    }
                    let merged = attributes
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let (Some(merged), Some(attribute)) =
                        (merged.as_object_mut(), attribute.as_object())
                    {
                        for (k, v) in attribute {
                            merged.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
        }
        attributes
    }

    /// The constraints of a class or object and its ancestors.
    fn constraints(
        &self,
        section: &str,
        definition: &Map<String, Value>,
    ) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        let mut current = Some(definition);
        let mut depth = 0;
        while let Some(definition) = current {
            if let Some(constraints) = definition.get("constraints").and_then(Value::as_object) {
                for (kind, names) in constraints {
                    let names = names
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect();
                    out.push((kind.clone(), names));
                }
            }
            depth += 1;
            current = definition
                .get("extends")
                .and_then(Value::as_str)
                .and_then(|p| self.root[section].get(p))
                .and_then(Value::as_object)
                .filter(|_| depth < 16);
        }
        out
    }

    /// Every way `event` breaks the official schema, as `path: problem` lines.
    pub fn validate(&self, event: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        let Some(object) = event.as_object() else {
            return vec!["$: an event is a JSON object".into()];
        };
        let Some(class_uid) = object.get("class_uid").and_then(Value::as_u64) else {
            return vec!["$.class_uid: missing or not an integer".into()];
        };
        let Some(class) = self.class(class_uid) else {
            return vec![format!("$.class_uid: {class_uid} is no OCSF 1.8.0 class")];
        };
        let profiles: Vec<&str> = object
            .get("metadata")
            .and_then(|m| m.get("profiles"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let ctx = Context {
            schema: self,
            profiles: &profiles,
        };
        ctx.check_definition("classes", class, object, "$", &mut errors);
        if let (Some(activity), Some(type_uid)) = (
            object.get("activity_id").and_then(Value::as_u64),
            object.get("type_uid").and_then(Value::as_u64),
        ) && type_uid != class_uid * 100 + activity
        {
            errors.push(format!(
                "$.type_uid: {type_uid} is not class_uid * 100 + activity_id"
            ));
        }
        errors
    }

    /// Panics with every problem unless `event` is valid.
    pub fn assert_valid(&self, event: &Value) {
        let errors = self.validate(event);
        assert!(
            errors.is_empty(),
            "not valid OCSF 1.8.0:\n{}\n{event:#}",
            errors.join("\n")
        );
    }
}

struct Context<'a> {
    schema: &'a Schema,
    profiles: &'a [&'a str],
}

impl Context<'_> {
    fn check_definition(
        &self,
        section: &str,
        definition: &Map<String, Value>,
        object: &Map<String, Value>,
        path: &str,
        errors: &mut Vec<String>,
    ) {
        let attributes = self.schema.attributes(section, definition);
        let present = |name: &str| object.get(name).is_some_and(|v| !v.is_null());
        for (name, attribute) in &attributes {
            let profiles: Vec<&str> = attribute
                .get("profiles")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let applies = profiles.is_empty() || profiles.iter().any(|p| self.profiles.contains(p));
            if applies && attribute["requirement"] == "required" && !present(name) {
                errors.push(format!("{path}.{name}: required"));
            }
        }
        for (kind, names) in self.schema.constraints(section, definition) {
            let count = names.iter().filter(|n| present(n)).count();
            match kind.as_str() {
                "at_least_one" if count == 0 => {
                    errors.push(format!("{path}: at least one of {names:?} is required"))
                }
                "just_one" if count != 1 => errors.push(format!(
                    "{path}: exactly one of {names:?} is required, {count} present"
                )),
                _ => {}
            }
        }
        for (name, value) in object {
            let Some(attribute) = attributes.get(name).and_then(Value::as_object) else {
                errors.push(format!(
                    "{path}.{name}: not an attribute of this OCSF {section:.7}"
                ));
                continue;
            };
            if attribute.contains_key("@deprecated") {
                errors.push(format!("{path}.{name}: deprecated in OCSF 1.8.0"));
            }
            if value.is_null() {
                continue;
            }
            let at = format!("{path}.{name}");
            if attribute.get("is_array").and_then(Value::as_bool) == Some(true) {
                match value.as_array() {
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            self.check_value(attribute, item, &format!("{at}[{i}]"), errors);
                        }
                    }
                    None => errors.push(format!("{at}: an array is required")),
                }
            } else {
                self.check_value(attribute, value, &at, errors);
            }
            self.check_sibling(attribute, value, object, path, errors);
        }
    }

    /// The enum sibling (`activity_id` → `activity_name`) holds the value's caption; for 99
    /// ("Other") it holds the source's own word, so it must be there.
    fn check_sibling(
        &self,
        attribute: &Map<String, Value>,
        value: &Value,
        object: &Map<String, Value>,
        path: &str,
        errors: &mut Vec<String>,
    ) {
        let (Some(sibling), Some(enumeration)) = (
            attribute.get("sibling").and_then(Value::as_str),
            attribute.get("enum").and_then(Value::as_object),
        ) else {
            return;
        };
        let key = enum_key(value);
        let Some(caption) = enumeration
            .get(&key)
            .and_then(|e| e.get("caption"))
            .and_then(Value::as_str)
        else {
            return; // reported as a bad enum value
        };
        let got = object.get(sibling).and_then(Value::as_str);
        if key == "99" {
            if got.is_none_or(|s| s.trim().is_empty()) {
                errors.push(format!(
                    "{path}.{sibling}: required for 99 (Other): the source's own label"
                ));
            }
        } else if let Some(got) = got
            && got != caption
        {
            errors.push(format!(
                "{path}.{sibling}: {got:?} is not the caption of {key}, {caption:?}"
            ));
        }
    }

    fn check_value(
        &self,
        attribute: &Map<String, Value>,
        value: &Value,
        path: &str,
        errors: &mut Vec<String>,
    ) {
        let kind = attribute.get("type").and_then(Value::as_str).unwrap_or("");
        if kind == "object_t" {
            let Some(object) = value.as_object() else {
                errors.push(format!("{path}: an object is required"));
                return;
            };
            let name = attribute
                .get("object_type")
                .and_then(Value::as_str)
                .unwrap_or("");
            if name == "object" {
                return; // free-form (`unmapped`)
            }
            match self.schema.root["objects"]
                .get(name)
                .and_then(Value::as_object)
            {
                Some(definition) => {
                    self.check_definition("objects", definition, object, path, errors)
                }
                None => errors.push(format!("{path}: unknown object type {name}")),
            }
            return;
        }
        if let Some(problem) = self.type_problem(kind, value) {
            errors.push(format!("{path}: {problem}"));
        }
        if let Some(enumeration) = attribute.get("enum").and_then(Value::as_object)
            && !enumeration.contains_key(&enum_key(value))
        {
            errors.push(format!("{path}: {value} is not one of the enum's values"));
        }
    }

    /// Why `value` is not of the dictionary type `kind`, if it is not.
    fn type_problem(&self, kind: &str, value: &Value) -> Option<String> {
        let ok = match kind {
            "string_t" => value.is_string(),
            "integer_t" => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            "long_t" => value.is_i64() || value.is_u64(),
            "float_t" => value.is_number(),
            "boolean_t" => value.is_boolean(),
            "json_t" => true,
            _ => {
                let Some(def) = self.schema.root["dictionary"]["types"]["attributes"].get(kind)
                else {
                    return Some(format!("unknown type {kind}"));
                };
                let base = def.get("type").and_then(Value::as_str).unwrap_or("json_t");
                if let Some(problem) = self.type_problem(base, value) {
                    return Some(format!("{problem} ({kind})"));
                }
                if let (Some(pattern), Some(text)) =
                    (def.get("regex").and_then(Value::as_str), value.as_str())
                    && !Regex::new(pattern).is_ok_and(|r| r.is_match(text))
                {
                    return Some(format!("{text:?} is not a valid {kind}"));
                }
                if let (Some(max), Some(text)) =
                    (def.get("max_len").and_then(Value::as_u64), value.as_str())
                    && text.len() as u64 > max
                {
                    return Some(format!("longer than {max} ({kind})"));
                }
                if let (Some(range), Some(n)) =
                    (def.get("range").and_then(Value::as_array), value.as_i64())
                    && (range[0].as_i64().is_some_and(|lo| n < lo)
                        || range[1].as_i64().is_some_and(|hi| n > hi))
                {
                    return Some(format!("{n} is out of range ({kind})"));
                }
                true
            }
        };
        (!ok).then(|| format!("{value} is not a {kind}"))
    }
}

fn enum_key(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
