//! Writing JSON text directly into a byte buffer, exactly as `serde_json`'s compact serialiser
//! writes it, for the pages that are too hot to build a `serde_json::Value` per record.

/// Writes `s` as a JSON string: quoted and escaped.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_fragment(out, s);
    out.push(b'"');
}

/// Writes `s` escaped as inside a JSON string, without quotes. The escapes are serde_json's:
/// `\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`, `\u00xx` (lower-case hex) for the other control
/// characters, everything else (DEL and non-ASCII included) verbatim.
pub fn write_fragment(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Most strings need no escape: check every byte without branching, then copy.
    if !bytes.iter().fold(false, |esc, &b| {
        esc | (b < 0x20) | (b == b'"') | (b == b'\\')
    }) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0A => b"\\n",
            0x0C => b"\\f",
            0x0D => b"\\r",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xF)],
            ]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Writes `s` in upper case (as `str::to_uppercase`), escaped as inside a JSON string.
pub fn write_upper_fragment(out: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| b.is_ascii() && b >= 0x20 && b != b'"' && b != b'\\')
    {
        // Nothing to escape: upper-case in place.
        let from = out.len();
        out.extend_from_slice(s.as_bytes());
        out[from..].make_ascii_uppercase();
    } else {
        write_fragment(out, &s.to_uppercase());
    }
}

/// Writes a number in decimal (as serde_json writes integers).
pub fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// Writes `true` or `false`.
pub fn write_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).expect("UTF-8")
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut cases: Vec<String> = (0u32..0x80)
            .map(|c| char::from_u32(c).expect("ASCII").to_string())
            .collect();
        cases.extend(
            [
                "",
                "plain",
                "Tomás Oliveira",
                "say \"hi\"",
                "back\\slash\\",
                "tab\there\nnew\rline\u{8}\u{c}\u{0}\u{1f}\u{7f}",
                "日本語 ✓ 🙂 \"q\" \\ é",
                "\"\"\\\\",
            ]
            .map(str::to_string),
        );
        cases.push(cases[..0x80].concat());
        for s in &cases {
            let want = serde_json::to_string(s).expect("serialises");
            assert_eq!(text(|o| write_str(o, s)), want, "{s:?}");
            let upper = serde_json::to_string(&s.to_uppercase()).expect("serialises");
            assert_eq!(
                text(|o| write_upper_fragment(o, s)),
                upper[1..upper.len() - 1],
                "{s:?}"
            );
        }
    }

    #[test]
    fn numbers_and_booleans_write_as_serde_json_does() {
        for n in [0, 1, 9, 10, 99, 100, 254, 12_345, u64::MAX / 3, u64::MAX] {
            assert_eq!(
                text(|o| write_u64(o, n)),
                serde_json::to_string(&n).unwrap()
            );
        }
        assert_eq!(text(|o| write_bool(o, true)), "true");
        assert_eq!(text(|o| write_bool(o, false)), "false");
    }
}
