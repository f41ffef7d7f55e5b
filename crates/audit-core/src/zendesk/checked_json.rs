//! Reading chosen members of JSON text straight into a view, the way `serde_json::Value`
//! would read them, and checking the rest as `Value` would read it (numbers in range, strings
//! of valid escapes, nesting within the parser's depth) while building nothing of it: the
//! pieces of [`super::audit_pages`]'s decoder.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A member's name, borrowed from the text unless it holds escapes.
pub(super) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(super) fn as_ref(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl<'de> Visitor<'de> for Name {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(key))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key.to_string()))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

/// Sets `slot` to the next value, refusing a member given twice (the derive refuses it).
pub(super) fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error> {
    once_with(map, slot, std::marker::PhantomData, name)
}

/// [`once`], the value read with `seed`.
pub(super) fn once_with<'de, A: MapAccess<'de>, S: DeserializeSeed<'de>>(
    map: &mut A,
    slot: &mut Option<S::Value>,
    seed: S,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value_seed(seed)?);
    Ok(())
}

/// Refuses a member read into `slot` given twice (`Value` keeps the last; a fast path that
/// refuses it leaves such a record to the decoding it mirrors).
pub(super) fn given_once<T, E: de::Error>(slot: &Option<T>) -> Result<(), E> {
    match slot {
        Some(_) => Err(E::custom("a member given twice")),
        None => Ok(()),
    }
}

/// A value checked as `serde_json::Value` would read it (the same numbers, strings and depth
/// refused) and dropped, building nothing.
pub(super) struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

pub(super) struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

/// How many items a list holds (an array's length, none for null, one for any other value),
/// its items checked as [`Checked`] checks them.
pub(super) struct Count(pub(super) usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items;
        impl<'de> Visitor<'de> for Items {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut items = 0;
                while seq.next_element::<Checked>()?.is_some() {
                    items += 1;
                }
                Ok(Count(items))
            }
            fn visit_unit<E>(self) -> Result<Count, E> {
                Ok(Count(0))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
                Ok(Count(1))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Count, E> {
                Ok(Count(1))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Count, E> {
                Ok(Count(1))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Count, E> {
                Ok(Count(1))
            }
            fn visit_str<E>(self, _: &str) -> Result<Count, E> {
                Ok(Count(1))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Count, A::Error> {
                CheckedVisitor.visit_map(map).map(|Checked| Count(1))
            }
        }
        deserializer.deserialize_any(Items)
    }
}

/// Reads the members it names of an object as `Map<String, Value>` reads them (the last of a
/// member given twice), checks the others, and refuses anything but an object.
pub(super) struct Named<const N: usize>(pub(super) [&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for Named<N> {
    type Value = [Option<Value>; N];

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Named<N> {
    type Value = [Option<Value>; N];
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = std::array::from_fn(|_| None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.0.iter().position(|name| *name == key.as_ref()) {
                Some(slot) => values[slot] = Some(map.next_value()?),
                None => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(values)
    }
}

/// An object checked as `Map<String, Value>` would read it (anything else refused).
pub(super) struct CheckedMap;

impl<'de> Deserialize<'de> for CheckedMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(CheckedVisitor)
            .map(|Checked| CheckedMap)
    }
}

/// What to read of a value: all of it, or some of an object's members.
pub(super) enum Keep {
    All,
    Members(&'static [(&'static str, Keep)]),
}

/// A value as `serde_json::Value` reads it, pruned to what [`Keep`] says: the members of an
/// object it does not keep are checked and left out, and a value that is not the object it
/// expects is read as null (no member can be read of either). A member given twice is read
/// as `Value` reads it: the last one.
pub(super) struct Pruned(pub(super) &'static Keep);

impl<'de> DeserializeSeed<'de> for Pruned {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.0 {
            Keep::All => Value::deserialize(deserializer),
            Keep::Members(members) => deserializer.deserialize_any(PrunedVisitor(members)),
        }
    }
}

struct PrunedVisitor(&'static [(&'static str, Keep)]);

impl<'de> Visitor<'de> for PrunedVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = serde_json::Map::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.0.iter().find(|(name, _)| *name == key.as_ref()) {
                Some((name, keep)) => {
                    let value = map.next_value_seed(Pruned(keep))?;
                    kept.insert((*name).to_string(), value);
                }
                None => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        CheckedVisitor.visit_seq(seq).map(|Checked| Value::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTS: [&str; 14] = [
        r#"{"a": [1, -2, 3.5e3, true, null, "x\u00e9"], "b": {"c": {}}}"#,
        r#"{"a": 1, "a": 2}"#,
        r#"[1e400]"#,
        r#"{"x": -1e400}"#,
        r#"18446744073709551616"#,
        r#""\ud800""#,
        r#"{"\udc00": 1}"#,
        r#""\ud83d\ude00""#,
        r#""\x""#,
        r#"{"a": [1, 2,]}"#,
        r#"{"a" 1}"#,
        r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#,
        r#"{"a": "line\nbreak"}"#,
        r#"nul"#,
    ];

    /// `Checked` accepts exactly what `Value` accepts.
    #[test]
    fn checked_accepts_what_a_value_accepts() {
        for text in TEXTS {
            let value = serde_json::from_str::<Value>(text).is_ok();
            let checked = serde_json::from_str::<Checked>(text).is_ok();
            assert_eq!(checked, value, "{text}");
        }
        assert!(
            TEXTS
                .iter()
                .any(|t| serde_json::from_str::<Value>(t).is_err())
        );
    }

    /// A value pruned to some members reads those members as the whole value holds them.
    #[test]
    fn a_pruned_value_holds_its_kept_members_as_the_whole_value_does() {
        const KEEP: Keep = Keep::Members(&[("s", Keep::Members(&[("r", Keep::All)]))]);
        let texts = [
            r#"{"s": {"r": "t", "o": [1]}, "x": {"y": 2}}"#,
            r#"{"s": {"r": "t"}, "s": {"o": 1}}"#,
            r#"{"s": {"r": 1, "r": {"deep": [true]}}}"#,
            r#"{"s": "r"}"#,
            r#"[{"s": {"r": 1}}]"#,
            r#"7"#,
        ];
        for text in texts {
            let whole: Value = serde_json::from_str(text).unwrap();
            let mut de = serde_json::Deserializer::from_str(text);
            let pruned = Pruned(&KEEP).deserialize(&mut de).unwrap();
            let read = |v: &Value| v.get("s").and_then(|s| s.get("r")).cloned();
            assert_eq!(read(&pruned), read(&whole), "{text}");
        }
    }

    #[test]
    fn count_reads_a_list_as_its_items() {
        for (text, items) in [("[1, {}, []]", 3), ("null", 0), ("\"one\"", 1), ("{}", 1)] {
            let Count(n) = serde_json::from_str(text).unwrap();
            assert_eq!(n, items, "{text}");
        }
        assert!(serde_json::from_str::<Count>("[1e400]").is_err());
    }
}
