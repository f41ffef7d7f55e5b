//! Reading Zendesk's audit-log `change_description`: sign-in outcomes and role changes.
//!
//! Zendesk puts the outcome of a sign-in and the before/after of a role change only in this
//! free text (patterns after Panther's Zendesk helpers). The text is localised and
//! unversioned, so every parse is optional: a description that does not match leaves the
//! event as it is, never fails it.

use std::sync::LazyLock;

use regex::Regex;

/// A parsed sign-in description: `Successful sign-in using Zendesk password from https://…`.
///
/// ```
/// use audit_core::zendesk::description::parse_sign_in;
///
/// let failed = parse_sign_in("Failed sign-in using Google from Copenhagen, 84, Denmark").unwrap();
/// assert!(!failed.succeeded);
/// assert_eq!((failed.method.as_str(), failed.location.as_str()), ("Google", "Copenhagen, 84, Denmark"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignIn {
    /// The first word: `Successful`, `Failed`, …
    pub result: String,
    /// Whether the result says the sign-in succeeded.
    pub succeeded: bool,
    /// How the user authenticated (`Zendesk password`, `Google`, `SAML`).
    pub method: String,
    /// Where from (a URL or a place).
    pub location: String,
}

/// One role change: `Role changed from Light Agent to Agent`, or per product on multi-line
/// descriptions (`Support role changed from Agent to Admin`).
///
/// ```
/// use audit_core::zendesk::description::parse_role_changes;
///
/// let changes = parse_role_changes("Support role changed from Agent to Admin\nRole changed from Light Agent to Agent");
/// assert_eq!(changes[0].product.as_deref(), Some("Support"));
/// assert_eq!((changes[1].old.as_str(), changes[1].new.as_str()), ("Light Agent", "Agent"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleChange {
    /// The product, on per-product lines.
    pub product: Option<String>,
    /// The role before.
    pub old: String,
    /// The role after.
    pub new: String,
}

static SIGN_IN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?P<result>\S+) sign-in using (?P<method>.+?) from (?P<location>.+?)\s*$")
        .expect("valid regex")
});

static ROLE_CHANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:(?P<product>.*?)\s+)?role changed from (?P<old>.+) to (?P<new>.+?)\s*$")
        .expect("valid regex")
});

/// Parses a sign-in description.
///
/// ```
/// use audit_core::zendesk::description::parse_sign_in;
///
/// let sign_in = parse_sign_in(
///     "Successful sign-in using Zendesk password from https://acme.zendesk.com/access/login",
/// ).unwrap();
/// assert!(sign_in.succeeded);
/// assert_eq!(sign_in.method, "Zendesk password");
/// assert!(!parse_sign_in("Failed sign-in using Google from Porto").unwrap().succeeded);
/// assert!(parse_sign_in("Anmeldung erfolgreich").is_none());
/// ```
pub fn parse_sign_in(description: &str) -> Option<SignIn> {
    let (result, method, location) = match sign_in_ascii(description) {
        Some(parts) => parts?,
        None => {
            let captures = SIGN_IN.captures(description)?;
            let part = |name| captures.name(name).map_or("", |m| m.as_str());
            (part("result"), part("method"), part("location"))
        }
    };
    Some(SignIn {
        succeeded: result.to_ascii_lowercase().starts_with("success"),
        result: result.to_string(),
        method: method.to_string(),
        location: location.to_string(),
    })
}

/// [`SIGN_IN`] without the regex engine, for the common case of a one-line ASCII
/// description (capturing with the regex costs more than the rest of an event's mapping).
/// `None`: not such a description, ask the regex; `Some(None)`: the regex would not match;
/// `Some(Some(parts))`: what the regex would capture. It follows the regex's leftmost-first
/// semantics step by step: `^\s*` then `\S+` (all of the first word: a shorter one could not
/// be followed by the literal space), the literal ` sign-in using ` (ASCII text, so case
/// folding is ASCII's), then the lazy `method` up to the first ` from ` that leaves a
/// non-empty rest, and the lazy `location`: that rest less its trailing whitespace, or its
/// first character when the rest is all whitespace.
#[allow(clippy::type_complexity)]
fn sign_in_ascii(text: &str) -> Option<Option<(&str, &str, &str)>> {
    if !text.is_ascii() || text.contains('\n') {
        return None;
    }
    // `\s` on ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
    let space = |b: u8| matches!(b, b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r' | b' ');
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|&b| !space(b)).unwrap_or(bytes.len());
    let end_of_word = start
        + bytes[start..]
            .iter()
            .position(|&b| space(b))
            .unwrap_or(bytes.len() - start);
    if end_of_word == start {
        return Some(None);
    }
    const USING: &[u8] = b" sign-in using ";
    const FROM: &[u8] = b" from ";
    let method_start = end_of_word + USING.len();
    if bytes.len() < method_start || !bytes[end_of_word..method_start].eq_ignore_ascii_case(USING) {
        return Some(None);
    }
    // The method has at least one character.
    let mut at = method_start + 1;
    while at + FROM.len() <= bytes.len() {
        if bytes[at..at + FROM.len()].eq_ignore_ascii_case(FROM) {
            let rest = at + FROM.len();
            if rest < bytes.len() {
                let trimmed = bytes.len()
                    - bytes[rest..]
                        .iter()
                        .rev()
                        .position(|&b| !space(b))
                        .unwrap_or(bytes.len() - rest);
                let location_end = trimmed.max(rest + 1);
                return Some(Some((
                    &text[start..end_of_word],
                    &text[method_start..at],
                    &text[rest..location_end],
                )));
            }
        }
        at += 1;
    }
    Some(None)
}

/// Parses the role changes of a description, one per matching line.
///
/// ```
/// use audit_core::zendesk::description::parse_role_changes;
///
/// let changes = parse_role_changes("Role changed from Light Agent to Agent");
/// assert_eq!(changes.len(), 1);
/// assert_eq!((changes[0].old.as_str(), changes[0].new.as_str()), ("Light Agent", "Agent"));
///
/// let changes = parse_role_changes("Support role changed from Agent to Admin\nGuide role changed from Viewer to Manager");
/// assert_eq!(changes[1].product.as_deref(), Some("Guide"));
/// ```
pub fn parse_role_changes(description: &str) -> Vec<RoleChange> {
    description
        .lines()
        .filter_map(|line| {
            // Most descriptions are not role changes: skip the regex (a backtracking search
            // per line) unless the line holds its literal part. Exact: none of the letters of
            // `role changed from` has a non-ASCII case-insensitive equivalent.
            if !contains_ignore_ascii_case(line, ROLE_CHANGE_LITERAL) {
                return None;
            }
            let captures = ROLE_CHANGE.captures(line)?;
            Some(RoleChange {
                product: captures
                    .name("product")
                    .map(|m| m.as_str().trim().to_string())
                    .filter(|p| !p.is_empty()),
                old: captures["old"].to_string(),
                new: captures["new"].to_string(),
            })
        })
        .collect()
}

/// The part every line [`ROLE_CHANGE`] matches holds, case aside.
const ROLE_CHANGE_LITERAL: &str = "role changed from ";

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_sign_in_parser_captures_what_the_regex_captures() {
        let regex = |text: &str| {
            SIGN_IN.captures(text).map(|c| {
                (
                    c["result"].to_string(),
                    c["method"].to_string(),
                    c["location"].to_string(),
                )
            })
        };
        let fast = |text: &str| {
            sign_in_ascii(text)
                .map(|parts| parts.map(|(r, m, l)| (r.to_string(), m.to_string(), l.to_string())))
        };
        let mut cases: Vec<String> = [
            "Successful sign-in using Zendesk password from https://acme.zendesk.com/access/login",
            "successful SIGN-IN using SAML from Lisbon, Portugal",
            "Failed sign-in using Google from Porto",
            "  Successful sign-in using X from Y  ",
            "Successful sign-in using  from Y",
            "Successful sign-in using a from  ",
            "Successful sign-in using a from ",
            "Successful sign-in using a from b from c",
            "Successful sign-in using from from from x",
            "Successful  sign-in using a from b",
            "Successful\tsign-in using a from b",
            "Note: Successful sign-in using X from Y",
            "\r\x0B Successful sign-in using X FROM Y\x0C",
            "sign-in using a from b",
            " sign-in using a from b",
            "Successful sign-in using",
            "",
            "   ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // And many made of the pieces that matter, from a fixed seed.
        let pieces = [
            "Successful",
            "Failed",
            " ",
            "  ",
            "\t",
            "sign-in",
            " sign-in using ",
            " SIGN-IN USING ",
            "using",
            " from ",
            " FROM ",
            "from",
            "x",
            "Lisbon",
            "\r",
            "-",
            "a b",
        ];
        struct Rng(u64);
        impl Rng {
            fn next(&mut self) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            }
            fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
                of[(self.next() >> 33) as usize % of.len()]
            }
            fn pieces(&mut self, of: &[&str], most: u64, text: &mut String) {
                for _ in 0..self.next() % (most + 1) {
                    let piece = self.pick(of);
                    text.push_str(piece);
                }
            }
        }
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for n in 0..20_000 {
            let mut text = String::new();
            if n % 2 == 0 {
                rng.pieces(&pieces, 8, &mut text);
            } else {
                // Shaped like a sign-in, with random parts.
                rng.pieces(&pieces, 1, &mut text);
                text.push_str(rng.pick(&["Successful", "Failed", "ok"]));
                text.push_str(rng.pick(&[" sign-in using ", " Sign-In Using "]));
                rng.pieces(&pieces, 3, &mut text);
                text.push_str(rng.pick(&[" from ", " From "]));
                rng.pieces(&pieces, 3, &mut text);
            }
            cases.push(text);
        }
        let mut matched = 0;
        for text in &cases {
            let expected = regex(text);
            matched += usize::from(expected.is_some());
            assert_eq!(fast(text), Some(expected), "{text:?}");
        }
        assert!(matched > 1000, "the cases exercise matches too ({matched})");
        assert_eq!(
            fast("Connexion réussie"),
            None,
            "non-ASCII goes to the regex"
        );
        assert_eq!(fast("a\nb"), None, "several lines go to the regex");
    }

    #[test]
    fn the_literal_prefilter_never_hides_a_match() {
        for line in [
            "Role changed from Light Agent to Agent",
            "ROLE CHANGED FROM End user TO Admin",
            "  Support rOlE cHaNgEd FrOm Agent to Admin  ",
            "Name changed from A to B",
            "role changed to Agent",
            "Rôle changed from A to B",
            "",
        ] {
            assert!(
                contains_ignore_ascii_case(line, ROLE_CHANGE_LITERAL)
                    || !ROLE_CHANGE.is_match(line),
                "{line:?}"
            );
            assert_eq!(
                parse_role_changes(line).is_empty(),
                !ROLE_CHANGE.is_match(line),
                "{line:?}"
            );
        }
    }

    #[test]
    fn sign_in_is_case_insensitive_and_anchored() {
        let sign_in = parse_sign_in("successful SIGN-IN using SAML from Lisbon, Portugal").unwrap();
        assert!(sign_in.succeeded);
        assert_eq!(sign_in.location, "Lisbon, Portugal");
        assert!(parse_sign_in("Note: Successful sign-in using X from Y").is_none());
        let failed = parse_sign_in("Unsuccessful sign-in using Zendesk password from x").unwrap();
        assert!(!failed.succeeded);
    }

    #[test]
    fn role_lines_that_do_not_match_are_ignored() {
        let changes =
            parse_role_changes("Name changed from A to B\nrole changed from End User to Agent");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].product, None);
        assert_eq!(changes[0].new, "Agent");
    }
}
