//! [`Skim`]: a cursor over one JSON value's text that reads the few values a caller asks for
//! and steps over the rest, checking as it goes that what it steps over is what
//! `serde_json::Value` would accept, and building nothing of it.
//!
//! It is the reader of [`super::audit_pages`]'s fast path, which reads a few members of a
//! ticket audit (its gist) and steps over the rest, most of its bytes. Driving serde's visitors over every member
//! cost more than reading the text: a member's name went through a `MapAccess`, each skipped
//! value through `deserialize_any`. The cursor reads the text itself.
//!
//! It never reads anything otherwise than serde_json would: whatever it is not sure to read
//! the same way, it refuses (`None`), and the caller leaves the record to serde_json. It
//! refuses nesting deeper than [`MAX_DEPTH`] (serde_json refuses past 128), a string with a
//! lone surrogate escape or a control character, a number serde_json would find out of range,
//! a member name with escapes where the caller reads names, and anything that is not JSON.
//! Values it does not build itself (a string with escapes, a negative or fractional number, an
//! array or an object) it hands to serde_json as their own text ([`Skim::value`]).

use serde_json::Value;

/// Nesting deeper than this is refused: within serde_json's limit, so that a value handed to
/// serde_json as its own text is never one it would refuse inside the whole.
const MAX_DEPTH: u32 = 100;

/// A cursor over the text of one JSON value. Every read returns `None` when it refuses, after
/// which the cursor is not to be read any more.
///
/// ```text
/// let mut skim = Skim::new(r#"{"id": 7, "body": "…", "tags": ["a"]}"#);
/// let mut id = None;
/// skim.members(|skim, name| match name {
///     "id" => skim.i64_or_null().map(|read| id = read),
///     _ => skim.skip(),
/// })?;
/// ```
pub(super) struct Skim<'a> {
    text: &'a str,
    at: usize,
    depth: u32,
}

impl<'a> Skim<'a> {
    pub(super) fn new(text: &'a str) -> Skim<'a> {
        Skim {
            text,
            at: 0,
            depth: 0,
        }
    }

    /// Whether nothing but whitespace is left.
    pub(super) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// The next byte that is not whitespace, not consumed.
    pub(super) fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.at) {
            match byte {
                b' ' | b'\n' | b'\r' | b'\t' => self.at += 1,
                _ => return Some(byte),
            }
        }
        None
    }

    fn eat(&mut self, expected: u8) -> Option<()> {
        (self.peek()? == expected).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.peek()?;
        let rest = self.text.as_bytes().get(self.at..)?;
        rest.starts_with(word.as_bytes())
            .then(|| self.at += word.len())
    }

    /// `null`, if the next value is `null` (consumed); `false` for any other value (not).
    pub(super) fn null(&mut self) -> Option<bool> {
        match self.peek()? {
            b'n' => self.literal("null").map(|()| true),
            _ => Some(false),
        }
    }

    /// The text between a string's quotes, and whether it holds escapes.
    fn string(&mut self) -> Option<(&'a str, bool)> {
        self.eat(b'"')?;
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut at = start;
        let mut escaped = false;
        loop {
            at += plain_run(bytes.get(at..)?);
            match *bytes.get(at)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    at = escape_end(bytes, at)?;
                }
                // A control character, which JSON does not allow in a string.
                _ => return None,
            }
        }
        self.at = at + 1;
        // Both ends are at quotes, so on character boundaries.
        Some((&self.text[start..at], escaped))
    }

    /// A string without escapes, as borrowed text; `None` for null; refused for anything
    /// else.
    pub(super) fn plain_str_or_null(&mut self) -> Option<Option<&'a str>> {
        if self.null()? {
            return Some(None);
        }
        match self.string()? {
            (text, false) => Some(Some(text)),
            (_, true) => None,
        }
    }

    /// A number's text, checked against JSON's grammar and, unless it is a plain integer of
    /// at most 19 digits, refused where serde_json would find it out of range (infinite as an
    /// `f64`).
    fn number(&mut self) -> Option<&'a str> {
        self.peek()?;
        let bytes = self.text.as_bytes();
        let start = self.at;
        let digits = |mut at: usize| {
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            at
        };
        let mut at = start + usize::from(bytes.get(start) == Some(&b'-'));
        let integer = at;
        at = match bytes.get(at)? {
            b'0' => at + 1,
            b'1'..=b'9' => digits(at),
            _ => return None,
        };
        let mut plain = at - integer <= 19;
        if bytes.get(at) == Some(&b'.') {
            let fraction = at + 1;
            at = digits(fraction);
            if at == fraction {
                return None;
            }
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            let exponent = at;
            at = digits(exponent);
            if at == exponent {
                return None;
            }
            plain = false;
        }
        let text = &self.text[start..at];
        if !plain && !text.parse::<f64>().is_ok_and(f64::is_finite) {
            return None;
        }
        self.at = at;
        Some(text)
    }

    /// An integer as an `Option<i64>` reads it: `None` for null; refused for anything but an
    /// integer within range (as serde_json refuses a fraction, or `-0`, which it reads as a
    /// float).
    pub(super) fn i64_or_null(&mut self) -> Option<Option<i64>> {
        if self.null()? {
            return Some(None);
        }
        let text = self.number()?;
        if text == "-0" {
            return None;
        }
        text.parse().ok().map(Some)
    }

    /// Reads an object, giving `member` each member's name to read (or step over) its value;
    /// refused for anything but an object, or a member name with escapes (which might spell
    /// a name the caller reads).
    pub(super) fn members(
        &mut self,
        mut member: impl FnMut(&mut Skim<'a>, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.object(|skim, name, escaped| match escaped {
            false => member(skim, name),
            true => None,
        })
    }

    fn object(
        &mut self,
        mut member: impl FnMut(&mut Skim<'a>, &'a str, bool) -> Option<()>,
    ) -> Option<()> {
        self.delimited(b'{', b'}', |skim| {
            let (name, escaped) = skim.string()?;
            skim.eat(b':')?;
            member(skim, name, escaped)
        })
        .map(drop)
    }

    /// Reads an array, `item` reading (or stepping over) each item; how many it holds.
    pub(super) fn items(&mut self, item: impl FnMut(&mut Skim<'a>) -> Option<()>) -> Option<usize> {
        self.delimited(b'[', b']', item)
    }

    /// Reads `open`, then entries read by `each` and separated by commas, then `close`, one
    /// level deeper; how many entries there were.
    fn delimited(
        &mut self,
        open: u8,
        close: u8,
        mut each: impl FnMut(&mut Skim<'a>) -> Option<()>,
    ) -> Option<usize> {
        self.eat(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut count = 0;
        if self.peek()? != close {
            loop {
                each(self)?;
                count += 1;
                match self.peek()? {
                    b',' => self.at += 1,
                    _ => break,
                }
            }
        }
        self.eat(close)?;
        self.depth -= 1;
        Some(count)
    }

    /// Steps over the next value, checked as `Value` would read it.
    pub(super) fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.skip_object(),
            b'[' => self.items(Skim::skip).map(drop),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number().map(drop),
        }
    }

    /// Steps over an object; refused for anything else.
    pub(super) fn skip_object(&mut self) -> Option<()> {
        self.object(|skim, _, _| skim.skip())
    }

    /// How many items a list holds: an array's length, none for null, one for any other
    /// value (each checked as [`Skim::skip`] checks it).
    pub(super) fn count(&mut self) -> Option<usize> {
        match self.peek()? {
            b'[' => self.items(Skim::skip),
            b'n' => self.literal("null").map(|()| 0),
            _ => self.skip().map(|()| 1),
        }
    }

    /// The text of the next value, stepped over.
    pub(super) fn value_text(&mut self) -> Option<&'a str> {
        self.spanned(Skim::skip).map(|(text, ())| text)
    }

    /// What `read` reads of the next value, and the value's text (from its first byte to its
    /// last, no whitespace around it).
    pub(super) fn spanned<T>(
        &mut self,
        read: impl FnOnce(&mut Skim<'a>) -> Option<T>,
    ) -> Option<(&'a str, T)> {
        self.peek()?;
        let start = self.at;
        let read = read(self)?;
        Some((&self.text[start..self.at], read))
    }

    /// The next value as `serde_json::Value` reads it: a string without escapes, a
    /// non-negative integer, `true`, `false` and `null` built here, anything else read by
    /// serde_json from its text.
    pub(super) fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'"' => {
                let start = self.at;
                match self.string()? {
                    (text, false) => Some(Value::String(text.to_owned())),
                    (_, true) => serde_json::from_str(&self.text[start..self.at]).ok(),
                }
            }
            b'0'..=b'9' => {
                let text = self.number()?;
                match text.bytes().all(|byte| byte.is_ascii_digit()) && text.len() <= 19 {
                    true => text.parse::<u64>().ok().map(Value::from),
                    false => serde_json::from_str(text).ok(),
                }
            }
            b't' => self.literal("true").map(|()| Value::Bool(true)),
            b'f' => self.literal("false").map(|()| Value::Bool(false)),
            b'n' => self.literal("null").map(|()| Value::Null),
            _ => serde_json::from_str(self.value_text()?).ok(),
        }
    }
}

/// How many bytes `bytes` starts with that a string holds as they are: neither a quote, a
/// backslash nor a control character. Eight at a time (as serde_json looks for them): a
/// byte's high bit is set in `found` where it is one of them, and may be set wrongly only
/// above a byte that is, never below.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const HIGH_BITS: u64 = ONES << 7;
    let is = |word: u64, byte: u8| {
        let diff = word ^ (ONES * u64::from(byte));
        diff.wrapping_sub(ONES) & !diff
    };
    let mut chunks = bytes.chunks_exact(8);
    for (at, chunk) in chunks.by_ref().enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        let found = (control | is(word, b'"') | is(word, b'\\')) & HIGH_BITS;
        if found != 0 {
            return at * 8 + found.trailing_zeros() as usize / 8;
        }
    }
    let rest = chunks.remainder();
    let done = bytes.len() - rest.len();
    done + rest
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        .unwrap_or(rest.len())
}

/// Where the escape at `at` (a backslash) ends; refused when it is not one JSON allows, or is
/// half of a surrogate pair alone (which serde_json refuses in a string).
fn escape_end(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 2),
        b'u' => match hex4(bytes, at + 2)? {
            0xD800..=0xDBFF => {
                let low = match bytes.get(at + 6..at + 8)? {
                    b"\\u" => hex4(bytes, at + 8)?,
                    _ => return None,
                };
                (0xDC00..=0xDFFF).contains(&low).then_some(at + 12)
            }
            0xDC00..=0xDFFF => None,
            _ => Some(at + 6),
        },
        _ => None,
    }
}

/// The four hexadecimal digits at `at`.
fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    match digits.bytes().all(|digit| digit.is_ascii_hexdigit()) {
        true => u16::from_str_radix(digits, 16).ok(),
        false => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run of plain bytes ends at the first quote, backslash or control character,
    /// wherever it falls in a word of eight or after the last, for every byte value.
    #[test]
    fn a_plain_run_ends_at_the_first_byte_a_string_does_not_hold_as_it_is() {
        let plain = |byte: u8| byte != b'"' && byte != b'\\' && byte >= 0x20;
        for len in 0..24 {
            for at in 0..=len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    if at < len {
                        bytes[at] = byte;
                    }
                    // Bytes that hold as they are, after it.
                    bytes.extend_from_slice(&[0xe9, 0x7f, 0x20][..len % 3]);
                    let expected = bytes.iter().position(|&b| !plain(b)).unwrap_or(bytes.len());
                    assert_eq!(plain_run(&bytes), expected, "{bytes:?}");
                }
            }
        }
    }

    /// Texts around every rule of the grammar and every refusal.
    const TEXTS: [&str; 44] = [
        r#"{"a": [1, -2, 3.5e3, true, null, "x\u00e9"], "b": {"c": {}}}"#,
        r#"{"a": 1, "a": 2}"#,
        r#" [ 1 , 2 ] "#,
        "{\"a\":\t1,\r\n\"b\":[]}",
        r#"[1e400]"#,
        r#"{"x": -1e400}"#,
        r#"[1e-400, 1E+2, 1e308, 0.5e-3]"#,
        r#"18446744073709551616"#,
        r#"12345678901234567890123456789"#,
        "[1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000]",
        r#"[-0, -0.0, 0, 00]"#,
        r#"[01]"#,
        r#"[1.]"#,
        r#"[.5]"#,
        r#"[-]"#,
        r#"[1e]"#,
        r#"[1e+]"#,
        r#"[+1]"#,
        r#""\ud800""#,
        r#"{"\udc00": 1}"#,
        r#""\ud83d\ude00""#,
        r#""\ud83d\u0041""#,
        r#""\ud83dx""#,
        r#""\x""#,
        r#""\u12G4""#,
        r#""\u12""#,
        "\"tab\tin\"",
        "\"del\u{7f} and é\"",
        r#""\/\b\f\n\r\t\"\\""#,
        r#"{"a": [1, 2,]}"#,
        r#"{"a": 1,}"#,
        r#"{"a" 1}"#,
        r#"{a: 1}"#,
        r#"[1 2]"#,
        r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#,
        r#"{"a": "line\nbreak"}"#,
        r#"nul"#,
        r#"nullx"#,
        r#"true false"#,
        r#"tru"#,
        r#"[1,"#,
        r#"{"a":"#,
        r#""open"#,
        "",
    ];

    fn skipped(text: &str) -> bool {
        let mut skim = Skim::new(text);
        skim.skip().is_some() && skim.at_end()
    }

    /// Whatever is stepped over, `Value` accepts; and it is refused only for what the module
    /// says it refuses.
    #[test]
    fn a_value_stepped_over_is_one_a_value_accepts() {
        for text in TEXTS {
            let value = serde_json::from_str::<Value>(text).is_ok();
            if skipped(text) {
                assert!(value, "{text}");
            }
        }
        let refused_though_valid: Vec<&str> = TEXTS
            .iter()
            .copied()
            .filter(|text| serde_json::from_str::<Value>(text).is_ok() && !skipped(text))
            .collect();
        assert!(refused_though_valid.is_empty(), "{refused_though_valid:?}");
        assert!(!skipped(&format!(
            "{}1{}",
            "[".repeat(101),
            "]".repeat(101)
        )));
        assert!(skipped(&format!("{}1{}", "[".repeat(100), "]".repeat(100))));
    }

    /// Values built here are the values serde_json builds from the same text.
    #[test]
    fn a_value_reads_as_serde_json_reads_it() {
        let texts = [
            r#""plain""#,
            r#""esc\u00e9\n""#,
            "0",
            "7",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "-1",
            "-0",
            "1.5",
            "2e3",
            "true",
            "false",
            "null",
            r#"[1, "a", {"b": null}]"#,
            r#"{"x": 1, "x": 2}"#,
        ];
        for text in texts {
            let read = Skim::new(text).value();
            assert_eq!(read, serde_json::from_str::<Value>(text).ok(), "{text}");
        }
    }

    /// An integer reads as an `Option<i64>` reads it, or is refused.
    #[test]
    fn an_integer_reads_as_an_option_of_i64_reads_it() {
        for text in [
            "null",
            "0",
            "-1",
            "-0",
            "7.0",
            "1e2",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "\"7\"",
            "true",
        ] {
            let ours = Skim::new(text).i64_or_null();
            let serde = serde_json::from_str::<Option<i64>>(text).ok();
            match ours {
                Some(read) => assert_eq!(Some(read), serde, "{text}"),
                None => assert!(serde.is_none(), "{text} refused"),
            }
        }
    }

    /// Members are given by name; a name with escapes is refused where names are read, and
    /// stepped over where the object is.
    #[test]
    fn members_are_read_by_name_and_escaped_names_refused() {
        let mut names = Vec::new();
        let read = Skim::new(r#"{"a": 1, "b": [2, 3], "c": {"d": 4}}"#).members(|skim, name| {
            names.push(name);
            skim.skip()
        });
        assert_eq!((read, names), (Some(()), vec!["a", "b", "c"]));
        let escaped = r#"{"i\u0064": 1}"#;
        assert!(Skim::new(escaped).members(|skim, _| skim.skip()).is_none());
        assert!(skipped(escaped));
        let count = |text: &str| Skim::new(text).count();
        assert_eq!(
            [
                count("[1, {}, []]"),
                count("null"),
                count("\"one\""),
                count("{}")
            ],
            [Some(3), Some(0), Some(1), Some(1)]
        );
        assert_eq!(count("[1e400]"), None);
    }
}
