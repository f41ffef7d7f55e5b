//! A vendor record kept exactly as received, next to its typed view.

use std::ops::Deref;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::RawJson;

/// A record as the vendor sent it, with its typed view decoded from it.
///
/// The specs wrap every audit record in list and show responses in this type (through the
/// `x-rust-type` extension), so the generated clients keep the record's JSON untouched —
/// unknown fields, explicit `null`s, key order — while callers still read typed fields:
/// `Recorded<T>` dereferences to `T`.
///
/// The JSON is kept as text ([`RawJson`]): the typed view is decoded straight from it, and
/// the [`Value`] of [`raw`](Recorded::raw) is only built when something reads it.
///
/// ```
/// use raw_support::Recorded;
///
/// #[derive(serde::Deserialize)]
/// struct Log {
///     id: Option<i64>,
/// }
///
/// let record: Recorded<Log> =
///     serde_json::from_str(r#"{"id": 7, "brand_new_field": null}"#).unwrap();
/// assert_eq!(record.id, Some(7));
/// assert_eq!(record.raw()["brand_new_field"], serde_json::Value::Null);
/// assert_eq!(serde_json::to_string(&record).unwrap(), r#"{"id":7,"brand_new_field":null}"#);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<T> {
    raw: RawJson,
    typed: T,
}

impl<T> Recorded<T> {
    /// The record's JSON, untouched (parsed on first use).
    pub fn raw(&self) -> &Value {
        self.raw.value()
    }

    /// The record's JSON as the text it arrived as.
    pub fn raw_json(&self) -> &RawJson {
        &self.raw
    }

    /// The typed view.
    pub fn typed(&self) -> &T {
        &self.typed
    }

    /// Both halves, by value.
    pub fn into_parts(self) -> (RawJson, T) {
        (self.raw, self.typed)
    }
}

impl<T: DeserializeOwned> Recorded<T> {
    /// Decodes the typed view of `raw`, keeping `raw`.
    ///
    /// Vendors sometimes send `null` where the schema has a list or a map (`"context": null`);
    /// the generated types default those fields but refuse `null`. When the record does not
    /// decode as it is, the typed view is decoded from a copy without its `null`s, which
    /// means the same for every optional field. `raw` keeps the nulls.
    pub fn from_raw(raw: Value) -> Result<Self, serde_json::Error> {
        Self::from_json(RawJson::from(raw))
    }

    /// [`from_raw`](Recorded::from_raw) for JSON text: the typed view is decoded from the
    /// text, and no [`Value`] is built unless the record has `null`s where they are refused.
    pub fn from_json(raw: RawJson) -> Result<Self, serde_json::Error> {
        match serde_json::from_str::<T>(raw.json()) {
            Ok(typed) => Ok(Recorded { raw, typed }),
            Err(error) => match T::deserialize(&without_nulls(raw.value())) {
                Ok(typed) => Ok(Recorded { raw, typed }),
                Err(_) => Err(error),
            },
        }
    }
}

/// `value` with every `null` object member and array element removed, at any depth.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|v| !v.is_null())
                .map(without_nulls)
                .collect(),
        ),
        other => other.clone(),
    }
}

impl<T> Deref for Recorded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.typed
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Recorded<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Box::<RawValue>::deserialize(deserializer)?;
        Recorded::from_json(RawJson::from_raw_value(text)).map_err(D::Error::custom)
    }
}

/// Serialises the record as received (see [`RawJson`] for when that is its text).
impl<T> Serialize for Recorded<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Message {
        id: Option<String>,
        #[serde(default)]
        remote_ip: Vec<String>,
        #[serde(default)]
        context: std::collections::HashMap<String, String>,
    }

    #[test]
    fn nulls_where_lists_and_maps_belong_decode_and_stay_in_raw() {
        let raw =
            json!({"id": "a", "remote_ip": null, "context": {"k": null, "j": "v"}, "new": null});
        let record = Recorded::<Message>::from_raw(raw.clone()).unwrap();
        assert_eq!(record.id.as_deref(), Some("a"));
        assert!(record.remote_ip.is_empty());
        assert_eq!(record.context.len(), 1);
        assert_eq!(record.raw(), &raw);
    }

    #[test]
    fn from_text_the_typed_view_is_decoded_and_the_text_kept() {
        let text = r#"{"id": "a", "remote_ip": null, "context": {"k": null, "j": "v"}, "n": 1.50}"#;
        let record: Recorded<Message> = serde_json::from_str(text).unwrap();
        assert_eq!(record.id.as_deref(), Some("a"));
        assert_eq!(record.context.len(), 1);
        assert_eq!(record.raw_json().json(), text);
        assert_eq!(record.raw()["n"], json!(1.5));
        let from_value: Recorded<Message> =
            serde_json::from_value(serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(from_value.raw(), record.raw());
    }

    #[test]
    fn a_record_that_is_wrong_for_another_reason_still_fails() {
        let error = Recorded::<Message>::from_raw(json!({"id": 7})).unwrap_err();
        assert!(error.to_string().contains("expected a string"), "{error}");
    }
}
