//! Legal JSON that `serde_json` cannot hold, made so: what a record's typed view is decoded
//! from when the record as sent does not decode.
//!
//! Two things in legal JSON text stop `serde_json`: a lone UTF-16 surrogate escape
//! (`"\ud800"`, which a Java or JavaScript producer that cut an emoji in half writes), and a
//! number beyond `f64` (`1e400`). [`repair`] replaces the first by `\uFFFD` (U+FFFD, the
//! replacement character) and the second by `null`, and says what it replaced. It only ever
//! runs on a record that failed to decode, so good records pay nothing for it.

/// What [`repair`] replaced in a text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Repairs {
    /// Lone surrogate escapes replaced by `\uFFFD`.
    pub(crate) surrogates: usize,
    /// Numbers beyond `f64` replaced by `null`.
    pub(crate) numbers: usize,
}

impl Repairs {
    /// The repairs in words, one phrase each (empty when nothing was replaced).
    pub(crate) fn describe(self) -> Vec<String> {
        let mut phrases = Vec::new();
        if self.surrogates > 0 {
            phrases.push(format!(
                "{} lone surrogate escape(s) read as U+FFFD",
                self.surrogates
            ));
        }
        if self.numbers > 0 {
            phrases.push(format!(
                "{} number(s) beyond the range of f64 read as null",
                self.numbers
            ));
        }
        phrases
    }
}

/// `text` (JSON text) with lone surrogate escapes replaced by `\uFFFD` and numbers beyond
/// `f64` by `null`; `None` when there was nothing to replace.
pub(crate) fn repair(text: &str) -> Option<(String, Repairs)> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut repairs = Repairs::default();
    let replace = |out: &mut String, copied: &mut usize, start: usize, end: usize, with: &str| {
        out.push_str(&text[*copied..start]);
        out.push_str(with);
        *copied = end;
    };
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match (in_string, bytes[i]) {
            (true, b'"') => {
                in_string = false;
                i += 1;
            }
            (true, b'\\') if bytes.get(i + 1) == Some(&b'u') => {
                let low_follows = || {
                    bytes.get(i + 6) == Some(&b'\\')
                        && bytes.get(i + 7) == Some(&b'u')
                        && matches!(hex4(bytes, i + 8), Some(0xDC00..=0xDFFF))
                };
                match hex4(bytes, i + 2) {
                    Some(0xD800..=0xDBFF) if low_follows() => i += 12,
                    Some(0xD800..=0xDFFF) => {
                        replace(&mut out, &mut copied, i, i + 6, "\\uFFFD");
                        repairs.surrogates += 1;
                        i += 6;
                    }
                    _ => i += 2,
                }
            }
            (true, b'\\') => i += 2,
            (true, _) => i += 1,
            (false, b'"') => {
                in_string = true;
                i += 1;
            }
            (false, b'-' | b'0'..=b'9') => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let finite = text[start..i].parse::<f64>().is_ok_and(f64::is_finite);
                if !finite {
                    replace(&mut out, &mut copied, start, i, "null");
                    repairs.numbers += 1;
                }
            }
            (false, _) => i += 1,
        }
    }
    if repairs == Repairs::default() {
        return None;
    }
    out.push_str(&text[copied..]);
    Some((out, repairs))
}

/// The four hex digits at `at`, as a number.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let digits = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_become_the_replacement_character_and_pairs_stay() {
        let text = r#"{"a": "x\ud800y", "b": "\udc00", "pair": "\ud83d\ude00", "esc": "\\ud800"}"#;
        let (repaired, repairs) = repair(text).unwrap();
        assert_eq!(
            repaired,
            r#"{"a": "x\uFFFDy", "b": "\uFFFD", "pair": "\ud83d\ude00", "esc": "\\ud800"}"#
        );
        assert_eq!(repairs.surrogates, 2);
        let value: serde_json::Value = serde_json::from_str(&repaired).unwrap();
        assert_eq!(value["a"], "x\u{FFFD}y");
        assert_eq!(value["pair"], "😀");
    }

    #[test]
    fn numbers_beyond_f64_become_null_and_others_stay() {
        let text = r#"{"big": 1e400, "neg": -1E+999, "ok": 18446744073709551616, "s": "1e400"}"#;
        let (repaired, repairs) = repair(text).unwrap();
        assert_eq!(
            repaired,
            r#"{"big": null, "neg": null, "ok": 18446744073709551616, "s": "1e400"}"#
        );
        assert_eq!(repairs.numbers, 2);
        assert!(serde_json::from_str::<serde_json::Value>(&repaired).is_ok());
    }

    #[test]
    fn text_without_anything_to_repair_is_left_alone() {
        assert_eq!(
            repair(r#"{"a": "\u00e9", "n": -1.5e10, "t": [true, null]}"#),
            None
        );
    }
}
