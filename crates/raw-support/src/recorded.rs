//! A vendor record kept exactly as received, next to its typed view.

use std::ops::Deref;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A record as the vendor sent it, with its typed view decoded from it.
///
/// The specs wrap every audit record in list and show responses in this type (through the
/// `x-rust-type` extension), so the generated clients keep the record's JSON untouched —
/// unknown fields, explicit `null`s, key order — while callers still read typed fields:
/// `Recorded<T>` dereferences to `T`.
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
    raw: Value,
    typed: T,
}

impl<T> Recorded<T> {
    /// The record's JSON, untouched.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The typed view.
    pub fn typed(&self) -> &T {
        &self.typed
    }

    /// Both halves, by value.
    pub fn into_parts(self) -> (Value, T) {
        (self.raw, self.typed)
    }
}

impl<T: DeserializeOwned> Recorded<T> {
    /// Decodes the typed view of `raw`, keeping `raw`.
    pub fn from_raw(raw: Value) -> Result<Self, serde_json::Error> {
        let typed = T::deserialize(&raw)?;
        Ok(Recorded { raw, typed })
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
        let raw = Value::deserialize(deserializer)?;
        Recorded::from_raw(raw).map_err(D::Error::custom)
    }
}

/// Serialises the record as received.
impl<T> Serialize for Recorded<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}
