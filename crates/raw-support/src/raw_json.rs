//! A JSON value kept as the text it arrived as.

use std::cell::Cell;
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// A JSON value kept as the text it arrived as, and parsed into a [`Value`] only when read.
///
/// An exporter copies most records from input to output without looking inside them; keeping
/// the text spares building, serialising and freeing a tree of maps and strings per record.
/// Reading it as a [`Value`] (it dereferences to one) parses it once, on first use.
///
/// The text is the vendor's, byte for byte, except that text spanning lines (pretty-printed
/// JSON) is made compact, so a record always fits on one line of NDJSON.
///
/// **Serialising**: [`write_verbatim`] writes the text as it is with `serde_json`. Every other
/// serialisation (another format, or `serde_json` outside `write_verbatim`) goes through the
/// parsed [`Value`], so it is correct with any serializer. Deserialising takes JSON input only
/// (`serde_json` from text, bytes, a reader or a [`Value`]).
///
/// ```
/// use raw_support::RawJson;
///
/// let raw: RawJson = serde_json::from_str(r#"{"id": 7, "tags": ["a"]}"#).unwrap();
/// assert_eq!(raw.json(), r#"{"id": 7, "tags": ["a"]}"#);
/// assert_eq!(raw["tags"][0], "a");
///
/// let mut line = Vec::new();
/// raw_support::write_verbatim(&mut line, &raw).unwrap();
/// assert_eq!(line, br#"{"id": 7, "tags": ["a"]}"#);
/// assert_eq!(serde_json::to_string(&raw).unwrap(), r#"{"id":7,"tags":["a"]}"#);
/// ```
pub struct RawJson {
    text: Box<RawValue>,
    value: OnceLock<Value>,
}

/// A clone copies the text only; its value is parsed again if it is read. (Mapping a record
/// reads its value and then clones its `RawJson` into the event: copying the parsed value too
/// would keep a second, larger form of every record in memory until it is written.)
impl Clone for RawJson {
    fn clone(&self) -> Self {
        RawJson {
            text: self.text.clone(),
            value: OnceLock::new(),
        }
    }
}

impl RawJson {
    /// Keeps `text` (made compact when it spans lines).
    pub fn from_raw_value(text: Box<RawValue>) -> Self {
        if memchr::memchr2(b'\n', b'\r', text.get().as_bytes()).is_some() {
            return RawJson::from(parse(text.get()));
        }
        RawJson {
            text,
            value: OnceLock::new(),
        }
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        self.text.get()
    }

    /// The JSON text of the member `key` of this object, as it arrived; `None` when this is
    /// not an object or has no such member. It reads nothing but the text, so it gives what a
    /// [`Value`] cannot hold exactly, such as an integer beyond 64 bits.
    ///
    /// ```
    /// use raw_support::RawJson;
    ///
    /// let raw: RawJson = serde_json::from_str(r#"{"id": 18446744073709551616, "a": "\ud800"}"#).unwrap();
    /// assert_eq!(raw.member_json("id"), Some("18446744073709551616"));
    /// assert_eq!(raw.member_json("a"), Some(r#""\ud800""#));
    /// assert_eq!(raw.member_json("b"), None);
    /// ```
    pub fn member_json(&self, key: &str) -> Option<&str> {
        let members: Vec<(String, &RawValue)> =
            serde_json::from_str::<Members<'_>>(self.json()).ok()?.0;
        members
            .into_iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.get())
    }

    /// The value, parsed on first use.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| parse(self.text.get()))
    }

    /// The value, by value (parsed now unless it was read before).
    pub fn into_value(self) -> Value {
        self.value
            .into_inner()
            .unwrap_or_else(|| parse(self.text.get()))
    }
}

/// `text` as a `Value`. The text was checked as JSON when it was read; what can still fail to
/// parse is legal JSON that `Value` cannot hold — a lone surrogate escape (`"\ud800"`), a
/// number beyond `f64` (`1e400`) — which is read from a repaired copy (U+FFFD, `null`; see
/// [`crate::repair`]), and text nested too deeply, which is kept as a string.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| {
        crate::repair::repair(text)
            .and_then(|(repaired, _)| serde_json::from_str(&repaired).ok())
            .unwrap_or_else(|| Value::String(text.to_string()))
    })
}

/// An object's members as text, in order (duplicates kept: the last one wins, as in a
/// [`Value`]).
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        let text = serde_json::value::to_raw_value(&value).expect("a Value serialises");
        RawJson {
            text,
            value: OnceLock::from(value),
        }
    }
}

impl Default for RawJson {
    /// `null` (its value parsed only when read: a placeholder costs one small copy).
    fn default() -> Self {
        RawJson {
            text: RawValue::NULL.to_owned(),
            value: OnceLock::new(),
        }
    }
}

impl Deref for RawJson {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

/// Equal when the values are equal, whatever the spacing of the texts.
impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json() || self.value() == other.value()
    }
}

impl PartialEq<Value> for RawJson {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl PartialEq<RawJson> for Value {
    fn eq(&self, other: &RawJson) -> bool {
        self == other.value()
    }
}

thread_local! {
    /// Set while [`write_verbatim`] runs: `RawJson`s then serialise as their text.
    static VERBATIM: Cell<bool> = const { Cell::new(false) };
}

/// Serialises `value` as compact JSON into `writer`, writing every [`RawJson`] in it as its
/// text instead of serialising its parsed value (which is what makes it fast).
///
/// `RawValue` text is only understood by `serde_json`'s own serializer, and a `Serialize`
/// impl cannot tell which serializer it is given; this function is where it is known, so it
/// raises a thread-local flag the `RawJson`s read.
pub fn write_verbatim<W: std::io::Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    struct Lower;
    impl Drop for Lower {
        fn drop(&mut self) {
            VERBATIM.with(|flag| flag.set(false));
        }
    }
    let outer = VERBATIM.with(|flag| flag.replace(true));
    let _lower = (!outer).then_some(Lower);
    serde_json::to_writer(writer, value)
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if VERBATIM.with(Cell::get) {
            self.text.serialize(serializer)
        } else {
            self.value().serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawJson::from_raw_value)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_is_kept_byte_for_byte_and_read_as_a_value() {
        let text = r#"{"b": 1.50, "a": [true, null], "big": 18446744073709551616}"#;
        let raw: RawJson = serde_json::from_str(text).unwrap();
        assert_eq!(raw.json(), text);
        assert_eq!(raw["a"], json!([true, null]));
        let mut out = Vec::new();
        write_verbatim(&mut out, &vec![&raw, &raw]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("[{text},{text}]"));
    }

    #[test]
    fn outside_write_verbatim_the_parsed_value_is_serialised() {
        let raw: RawJson = serde_json::from_str(r#"{ "b" : 1 , "a" : 2 }"#).unwrap();
        assert_eq!(serde_json::to_string(&raw).unwrap(), r#"{"b":1,"a":2}"#);
        assert_eq!(serde_json::to_value(&raw).unwrap(), json!({"b": 1, "a": 2}));
        // Another serializer sees a plain value too.
        let tokens = serde_json::to_value(vec![&raw]).unwrap();
        assert_eq!(tokens, json!([{"b": 1, "a": 2}]));
    }

    #[test]
    fn the_flag_is_lowered_after_write_verbatim_even_when_it_fails() {
        struct Fails;
        impl Serialize for Fails {
            fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        assert!(write_verbatim(Vec::new(), &Fails).is_err());
        let raw: RawJson = serde_json::from_str(r#"{ "a" : 1 }"#).unwrap();
        assert_eq!(serde_json::to_string(&raw).unwrap(), r#"{"a":1}"#);
    }

    #[test]
    fn text_spanning_lines_is_made_compact() {
        let raw: RawJson =
            serde_json::from_str("{\n  \"a\": \"x y\",\r\n  \"b\": [1,\n 2]\n}").unwrap();
        assert_eq!(raw.json(), r#"{"a":"x y","b":[1,2]}"#);
    }

    #[test]
    fn from_a_value_and_from_a_value_deserializer() {
        let value = json!({"z": 1, "a": {"k": "v"}});
        let raw = RawJson::from(value.clone());
        assert_eq!(raw.json(), r#"{"z":1,"a":{"k":"v"}}"#);
        assert_eq!(raw, value);
        let back: RawJson = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(back.json(), raw.json());
        assert_eq!(raw.into_value(), value);
    }

    #[test]
    fn a_clone_has_the_same_text_and_value_and_parses_it_again_when_read() {
        let raw: RawJson = serde_json::from_str(r#"{"a": [1, 2]}"#).unwrap();
        assert_eq!(raw["a"][1], 2);
        let clone = raw.clone();
        assert!(
            clone.value.get().is_none(),
            "the parsed value is not copied"
        );
        assert_eq!(clone.json(), raw.json());
        assert_eq!(clone["a"][1], 2);
    }

    #[test]
    fn equality_is_of_values_not_of_spacing() {
        let spaced: RawJson = serde_json::from_str(r#"{ "a" : 1 }"#).unwrap();
        let compact: RawJson = serde_json::from_str(r#"{"a":1}"#).unwrap();
        let other: RawJson = serde_json::from_str(r#"{"a":2}"#).unwrap();
        assert_eq!(spaced, compact);
        assert_ne!(spaced, other);
    }

    #[test]
    fn legal_json_a_value_cannot_hold_is_kept_as_text_and_read_repaired() {
        let text = r#"[1e400, "a\ud800"]"#;
        let raw: RawJson = serde_json::from_str(text).unwrap();
        assert_eq!(raw.json(), text);
        assert_eq!(*raw, json!([null, "a\u{FFFD}"]));
        let mut line = Vec::new();
        write_verbatim(&mut line, &raw).unwrap();
        assert_eq!(line, text.as_bytes());
    }
}
