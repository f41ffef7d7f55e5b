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

/// A value of any kind read by the visitor `V` when it is an object, and otherwise only
/// checked as [`Checked`] checks it (none is read of it): a member that the mapping reads only
/// inside objects, as `Value::get` does.
pub(super) struct IfObject<V>(pub(super) V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for IfObject<V> {
    type Value = Option<V::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for IfObject<V> {
    type Value = Option<V::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(map).map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        CheckedVisitor.visit_seq(seq).map(|Checked| None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
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

    /// An object is read by the visitor; any other value is checked as `Value` checks it and
    /// reads as none.
    #[test]
    fn if_object_reads_objects_and_checks_the_rest() {
        let read = |text: &str| {
            let mut de = serde_json::Deserializer::from_str(text);
            let read = IfObject(Named(["r"])).deserialize(&mut de)?;
            de.end().map(|()| read)
        };
        let [r] = read(r#"{"r": [1], "o": {"p": 2}, "r": "t"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            r,
            Some(Value::from("t")),
            "the last of a member given twice"
        );
        for text in [r#"[{"r": 1}]"#, r#""r""#, "7", "true", "null"] {
            assert!(read(text).unwrap().is_none(), "{text}");
        }
        for text in TEXTS {
            let value = serde_json::from_str::<Value>(text).is_ok();
            assert_eq!(read(text).is_ok(), value, "{text}");
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
