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
///
/// A record whose typed view does not decode as sent still decodes, marked with a
/// [`DecodeIssue`] (see [`from_json`](Recorded::from_json)):
///
/// ```
/// # use raw_support::Recorded;
/// # #[derive(serde::Deserialize)]
/// # struct Log { id: Option<i64>, actor: Option<String> }
/// let text = r#"{"id": 18446744073709551616, "actor": "Ann\ud800"}"#;
/// let record: Recorded<Log> = serde_json::from_str(text).unwrap();
/// assert_eq!(record.raw_json().json(), text, "kept verbatim");
/// assert_eq!(record.id, None, "beyond i64: read as null");
/// assert_eq!(record.actor.as_deref(), Some("Ann\u{FFFD}"));
/// assert!(record.decode_issue().unwrap().message.contains("`id`"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<T> {
    raw: RawJson,
    typed: T,
    issue: Option<Box<DecodeIssue>>,
    /// Whether `typed` was decoded from `raw` as it is (see [`Recorded::typed_is_exact`]).
    exact: bool,
}

/// Why a record's typed view is not exactly what the vendor sent: it was decoded from a
/// repaired copy of the record. The record itself ([`Recorded::raw_json`]) is kept as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeIssue {
    /// What was repaired, in words (for people: its wording may change).
    pub message: String,
    /// The record's bytes as they arrived, when they were not UTF-8 text (the record's
    /// [`RawJson`] then holds a lossy copy, invalid sequences replaced by U+FFFD).
    pub quarantined: Option<Quarantined>,
}

/// The original bytes of a record that was not UTF-8 text, and where it was read.
#[derive(Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The page's request: its path and query (never a credential: those travel in headers).
    pub page: String,
    /// The record's position in the page's list of records, from 0.
    pub position: usize,
    /// The record's bytes, exactly as received.
    pub bytes: Vec<u8>,
}

/// Shows the page, position and length, not the bytes.
impl std::fmt::Debug for Quarantined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quarantined")
            .field("page", &self.page)
            .field("position", &self.position)
            .field("bytes", &format_args!("[{} bytes]", self.bytes.len()))
            .finish()
    }
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

    /// Why the typed view is not exactly the record as sent, if it is not.
    pub fn decode_issue(&self) -> Option<&DecodeIssue> {
        self.issue.as_deref()
    }

    /// Whether the typed view was decoded from the record's text as it is: true for every
    /// record that decodes as sent, false when it was read from a copy without its `null`s
    /// or a repaired one (even when that left no [`DecodeIssue`]). A reader that takes from
    /// the typed view what it could also read from [`raw`](Recorded::raw) may trust it to say
    /// the same only then.
    ///
    /// ```
    /// use raw_support::Recorded;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Log {
    ///     #[serde(default)]
    ///     tags: Vec<String>,
    /// }
    ///
    /// let sent: Recorded<Log> = serde_json::from_str(r#"{"tags": ["a"]}"#).unwrap();
    /// assert!(sent.typed_is_exact());
    /// // `null` in a list: decoded from a copy without it, with no issue to report.
    /// let copy: Recorded<Log> = serde_json::from_str(r#"{"tags": ["a", null]}"#).unwrap();
    /// assert!(!copy.typed_is_exact() && copy.decode_issue().is_none());
    /// ```
    pub fn typed_is_exact(&self) -> bool {
        self.exact
    }

    /// Both halves, by value.
    pub fn into_parts(self) -> (RawJson, T) {
        (self.raw, self.typed)
    }

    /// The typed view by value, beside the record without it (its text, its decode issue and
    /// whether the view was exact, kept): for a reader that consumes the view and still asks
    /// the record about itself.
    ///
    /// ```
    /// use raw_support::Recorded;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Log {
    ///     tags: Vec<String>,
    /// }
    ///
    /// let record: Recorded<Log> = serde_json::from_str(r#"{"tags": ["a"]}"#).unwrap();
    /// let (record, log) = record.take_typed();
    /// assert_eq!(log.tags, ["a"]);
    /// assert!(record.typed_is_exact());
    /// assert_eq!(record.raw_json().json(), r#"{"tags": ["a"]}"#);
    /// ```
    pub fn take_typed(self) -> (Recorded<()>, T) {
        let Recorded {
            raw,
            typed,
            issue,
            exact,
        } = self;
        let record = Recorded {
            raw,
            typed: (),
            issue,
            exact,
        };
        (record, typed)
    }

    fn add_issue(&mut self, message: String, quarantined: Option<Quarantined>) {
        match &mut self.issue {
            Some(issue) => {
                issue.message = format!("{message}; {}", issue.message);
                issue.quarantined = quarantined.or(issue.quarantined.take());
            }
            None => {
                self.issue = Some(Box::new(DecodeIssue {
                    message,
                    quarantined,
                }))
            }
        }
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
    /// text, and no [`Value`] is built unless the record does not decode as it is.
    ///
    /// No single record can stop an export, so a record that still does not decode is read
    /// from a repaired copy, and marked with a [`DecodeIssue`] saying what was repaired: lone
    /// surrogate escapes read as U+FFFD, numbers beyond `f64` as `null` (legal JSON that
    /// `serde_json` cannot hold), then every member (at any depth of objects) whose value does
    /// not fit the typed view (a type mismatch, an integer beyond 64 bits) as `null`. The
    /// record's text is kept as sent. Only a record that is not a JSON object, or whose
    /// typed view does not decode even from `{}`, fails.
    pub fn from_json(raw: RawJson) -> Result<Self, serde_json::Error> {
        match serde_json::from_str::<T>(raw.json()) {
            Ok(typed) => Ok(Recorded {
                raw,
                typed,
                issue: None,
                exact: true,
            }),
            Err(error) => Self::from_repaired(raw, error),
        }
    }

    /// The slow path of [`from_json`](Recorded::from_json), for records that do not decode
    /// as sent.
    #[cold]
    fn from_repaired(raw: RawJson, error: serde_json::Error) -> Result<Self, serde_json::Error> {
        // `value()` reads the repaired copy when the text has anything to repair.
        let value = without_nulls(raw.value());
        let mut repairs = match crate::repair::repair(raw.json()) {
            Some((_, repairs)) => repairs.describe(),
            None => Vec::new(),
        };
        let typed = match T::deserialize(&value) {
            Ok(typed) => typed,
            Err(_) if !value.is_object() => return Err(not_an_object(&value)),
            Err(_) => {
                let (typed, unfit) = fit::<T>(&value).ok_or(error)?;
                repairs.extend(unfit);
                typed
            }
        };
        let issue = (!repairs.is_empty()).then(|| {
            Box::new(DecodeIssue {
                message: format!(
                    "the record does not decode as sent; its typed view was read from a repaired \
                     copy: {}",
                    repairs.join("; ")
                ),
                quarantined: None,
            })
        });
        Ok(Recorded {
            raw,
            typed,
            issue,
            exact: false,
        })
    }
}

/// The typed view of `record` (an object) with every member that does not fit it left out
/// (which the optional fields read as `null`), and the members left out in words; `None` when
/// `record` is not an object or `T` does not decode even from `{}`.
///
/// Members are added one at a time to a copy that decodes, and one that makes the copy fail
/// is left out, or for an object, added as `{}` and filled the same way. This decodes the
/// record once per member: slow, and only for records that failed every other way.
fn fit<T: DeserializeOwned>(record: &Value) -> Option<(T, Vec<String>)> {
    let Value::Object(members) = record else {
        return None;
    };
    let mut copy = Value::Object(serde_json::Map::new());
    T::deserialize(&copy).ok()?;
    let mut unfit = Vec::new();
    fill::<T>(&mut copy, &mut Vec::new(), members, &mut unfit);
    let typed = T::deserialize(&copy).ok()?;
    Some((typed, unfit))
}

/// Adds `members` to the object at `path` in `copy`, leaving out those that do not fit.
fn fill<T: DeserializeOwned>(
    copy: &mut Value,
    path: &mut Vec<String>,
    members: &serde_json::Map<String, Value>,
    unfit: &mut Vec<String>,
) {
    fn object_at<'v>(
        copy: &'v mut Value,
        path: &[String],
    ) -> &'v mut serde_json::Map<String, Value> {
        let mut at = copy;
        for key in path {
            at = at.get_mut(key).expect("the path was built in the copy");
        }
        at.as_object_mut().expect("the path leads to an object")
    }
    for (key, value) in members {
        object_at(copy, path).insert(key.clone(), value.clone());
        let Err(error) = T::deserialize(&*copy) else {
            continue;
        };
        if let Value::Object(inner) = value {
            object_at(copy, path).insert(key.clone(), Value::Object(serde_json::Map::new()));
            if T::deserialize(&*copy).is_ok() {
                path.push(key.clone());
                fill::<T>(copy, path, inner, unfit);
                path.pop();
                continue;
            }
        }
        object_at(copy, path).shift_remove(key);
        let mut name = path.join(".");
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(key);
        unfit.push(format!("`{name}` read as null ({error})"));
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
        RecordText::deserialize(deserializer)?
            .decode_or(None)
            .map_err(D::Error::custom)
    }
}

/// The error of a record that is not a JSON object (which no record type reads), naming what
/// it is (its first 40 characters).
#[cold]
fn not_an_object(value: &Value) -> serde_json::Error {
    let text = value.to_string();
    let shown: String = text.chars().take(40).collect();
    let more = if shown.len() < text.len() { "…" } else { "" };
    serde::de::Error::custom(format!(
        "a record of the page is not a JSON object: {shown}{more}"
    ))
}

/// A record's text as received, its typed view not decoded yet: what a page is read into when
/// its records are decoded later, after the page itself (its cursor, say) has been read. It
/// carries what the page's decoding knew of it (the bytes quarantined when the page was read
/// from a lossy copy), so [`RecordText::decode_with`] later makes the [`Recorded`] that
/// decoding the page into [`Recorded`]s would have made.
///
/// ```
/// use raw_support::{RecordText, Recorded};
///
/// #[derive(Debug, PartialEq, serde::Deserialize)]
/// struct Log {
///     id: Option<i64>,
/// }
///
/// let texts: Vec<RecordText> = serde_json::from_str(r#"[{"id": 7}, {"id": "x"}]"#).unwrap();
/// assert_eq!(texts[1].raw_json().json(), r#"{"id": "x"}"#);
/// let logs: Vec<Recorded<Log>> = texts
///     .into_iter()
///     .map(|text| text.decode_with(|text| serde_json::from_str(text)))
///     .collect::<Result<_, _>>()
///     .unwrap();
/// assert_eq!(logs[0].id, Some(7));
/// assert!(logs[1].decode_issue().is_some(), "read as `Recorded` reads it: repaired");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RecordText {
    raw: RawJson,
    quarantined: Option<Quarantined>,
}

impl RecordText {
    /// A record read from the text of a page as `text`, by a reader of its own (as
    /// `Deserialize` reads it from a page with serde_json). It must be read while its page is
    /// read: a record of a page that was not UTF-8 claims its [`Quarantined`] here.
    pub fn from_raw_value(text: Box<RawValue>) -> Self {
        // Only a page read from a lossy copy (see `crate::lossy`) has records to claim.
        let quarantined = crate::lossy::claim(text.get());
        RecordText {
            raw: RawJson::from_raw_value(text),
            quarantined,
        }
    }

    /// The record's text.
    pub fn raw_json(&self) -> &RawJson {
        &self.raw
    }

    /// The record, its typed view decoded by `fast` where it can: a decoder written for one
    /// hot type (serde's derive buffers every member of a struct with a flattened map, which
    /// can cost more than the rest of an export). When `fast` fails, the record decodes
    /// exactly as [`Recorded`]'s `Deserialize` decodes it (its [`DecodeIssue`], its repairs),
    /// so `fast` may refuse anything out of the ordinary; it must never accept a record that
    /// `T`'s own `Deserialize` refuses, nor read one differently. An error only for a record
    /// that is not a JSON object, or whose typed view does not decode even from `{}`.
    ///
    /// ```
    /// use raw_support::RecordText;
    ///
    /// #[derive(Debug, PartialEq, serde::Deserialize)]
    /// struct Log {
    ///     id: Option<i64>,
    /// }
    ///
    /// // A decoder that knows only records of the form `{"id":N}`.
    /// fn fast(text: &str) -> serde_json::Result<Log> {
    ///     let digits = text.strip_prefix(r#"{"id":"#).and_then(|t| t.strip_suffix('}'));
    ///     match digits.map(str::parse) {
    ///         Some(Ok(id)) => Ok(Log { id: Some(id) }),
    ///         _ => Err(serde::de::Error::custom("not for the fast path")),
    ///     }
    /// }
    ///
    /// let text: RecordText = serde_json::from_str(r#"{"id":7}"#).unwrap();
    /// assert_eq!(text.decode_with(fast).unwrap().id, Some(7));
    /// // Anything else decodes as `Deserialize` decodes it.
    /// let text: RecordText = serde_json::from_str(r#"{"id": 8, "more": true}"#).unwrap();
    /// let record = text.decode_with(fast).unwrap();
    /// assert_eq!((record.id, record.typed_is_exact()), (Some(8), true));
    /// ```
    pub fn decode_with<T: DeserializeOwned>(
        self,
        fast: fn(&str) -> serde_json::Result<T>,
    ) -> Result<Recorded<T>, serde_json::Error> {
        let typed = fast(self.raw.json()).ok();
        self.decode_or(typed)
    }

    /// The record with `typed` as its typed view, when a fast path has read it already
    /// (with the same contract as [`RecordText::decode_with`]'s `fast`: what `T`'s own
    /// `Deserialize` reads from the record's text, exactly); when `typed` is `None`, the record
    /// decodes as [`Recorded`]'s `Deserialize` decodes it.
    ///
    /// ```
    /// use raw_support::RecordText;
    ///
    /// #[derive(Debug, PartialEq, serde::Deserialize)]
    /// struct Log {
    ///     id: Option<i64>,
    /// }
    ///
    /// let text: RecordText = serde_json::from_str(r#"{"id": 7}"#).unwrap();
    /// let record = text.decode_or(Some(Log { id: Some(7) })).unwrap();
    /// assert_eq!(record.id, Some(7));
    /// let text: RecordText = serde_json::from_str(r#"{"id": "x"}"#).unwrap();
    /// assert!(text.decode_or::<Log>(None).unwrap().decode_issue().is_some());
    /// ```
    pub fn decode_or<T: DeserializeOwned>(
        self,
        typed: Option<T>,
    ) -> Result<Recorded<T>, serde_json::Error> {
        let RecordText { raw, quarantined } = self;
        let mut record = match typed {
            Some(typed) => Recorded {
                raw,
                typed,
                issue: None,
                exact: true,
            },
            None => Recorded::<T>::from_json(raw)?,
        };
        if let Some(quarantined) = quarantined {
            record.add_issue(
                "the record was not UTF-8 text: it was read from a copy with each invalid \
                 byte sequence replaced by U+FFFD, and its bytes as received are quarantined"
                    .into(),
                Some(quarantined),
            );
        }
        Ok(record)
    }
}

impl<'de> Deserialize<'de> for RecordText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RecordText::from_raw_value)
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
        /// Unknown members, as the generated types keep them.
        #[serde(flatten)]
        _extra: serde_json::Map<String, Value>,
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
    fn a_record_that_does_not_fit_is_read_with_the_unfit_members_as_null_and_marked() {
        let record = Recorded::<Message>::from_raw(json!({"id": 7, "remote_ip": ["a"]})).unwrap();
        assert_eq!(record.id, None);
        assert_eq!(record.remote_ip, ["a"]);
        let issue = record.decode_issue().unwrap();
        assert!(issue.message.contains("`id` read as null"), "{issue:?}");
        assert!(issue.message.contains("expected a string"), "{issue:?}");
        assert_eq!(record.raw(), &json!({"id": 7, "remote_ip": ["a"]}));
    }

    #[test]
    fn unfit_members_of_nested_objects_are_left_out_one_by_one() {
        let record =
            Recorded::<Message>::from_raw(json!({"context": {"k": 1, "j": "v"}, "id": "x"}))
                .unwrap();
        assert_eq!(record.id.as_deref(), Some("x"));
        assert_eq!(record.context.get("j").map(String::as_str), Some("v"));
        let issue = record.decode_issue().unwrap();
        assert!(
            issue.message.contains("`context.k` read as null"),
            "{issue:?}"
        );
    }

    #[test]
    fn legal_json_serde_json_cannot_hold_is_read_repaired_and_kept_verbatim() {
        for (text, said) in [
            (r#"{"id": "a\ud800b"}"#, "lone surrogate"),
            (
                r#"{"id": "a", "unknown": 1e400}"#,
                "beyond the range of f64",
            ),
        ] {
            let record: Recorded<Message> = serde_json::from_str(text).unwrap();
            assert_eq!(record.raw_json().json(), text);
            assert!(record.id.as_deref().unwrap().starts_with('a'));
            let issue = record.decode_issue().unwrap();
            assert!(issue.message.contains(said), "{issue:?}");
            assert_eq!(issue.quarantined, None);
        }
        let record: Recorded<Message> = serde_json::from_str(r#"{"id": "a\ud800b"}"#).unwrap();
        assert_eq!(record.id.as_deref(), Some("a\u{FFFD}b"));
    }

    #[test]
    fn a_good_record_has_no_issue_and_nulls_alone_are_no_issue() {
        let record: Recorded<Message> =
            serde_json::from_str(r#"{"id": "a", "remote_ip": null}"#).unwrap();
        assert_eq!(record.decode_issue(), None);
    }

    #[test]
    fn only_a_record_that_is_not_an_object_still_fails() {
        let error = serde_json::from_str::<Recorded<Message>>(r#""a record""#).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(r#"a record of the page is not a JSON object: "a record""#),
            "{error}"
        );
        let long = format!("[{}]", "1,".repeat(100) + "1");
        let error = serde_json::from_str::<Recorded<Message>>(&long).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1…"),
            "{error}"
        );
    }

    /// A record's text read with its page and decoded later, outside the page's lossy scope,
    /// is the record that decoding it with the page makes: its quarantined bytes too.
    #[tokio::test]
    async fn a_record_decoded_after_its_page_is_the_record_decoded_with_it() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Log {
            id: Option<i64>,
            a: Option<String>,
        }
        let mut body = br#"[{"id": 1, "a": "x"}, {"id": 2, "a": "y"#.to_vec();
        body.extend_from_slice(b"\xff");
        body.extend_from_slice(br#""}, {"id": "3"}]"#);
        let fast = |text: &str| serde_json::from_str::<Log>(text);
        let (now, later) = crate::lossy::with_lossy_bodies(async {
            let copy = crate::lossy::lossy_body(bytes::Bytes::from(body.clone()), "/logs");
            let now: Vec<Recorded<Log>> = serde_json::from_slice(&copy).unwrap();
            // The claims were taken by the first reading: the page is read again for the
            // second, as a walk reads it once.
            let copy = crate::lossy::lossy_body(bytes::Bytes::from(body.clone()), "/logs");
            let later: Vec<RecordText> = serde_json::from_slice(&copy).unwrap();
            (now, later)
        })
        .await;
        let later: Vec<Recorded<Log>> = later
            .into_iter()
            .map(|text| text.decode_with(fast))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(later, now);
        let quarantined = later[1]
            .decode_issue()
            .unwrap()
            .quarantined
            .as_ref()
            .unwrap();
        assert!(quarantined.bytes.ends_with(b"y\xff\"}"));
        assert!(
            later[2].decode_issue().is_some(),
            "repaired: `id` as a string"
        );
    }
}
