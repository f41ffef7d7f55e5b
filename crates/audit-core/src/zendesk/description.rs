//! Reading Zendesk's audit-log `change_description`: sign-in outcomes and role changes.
//!
//! Zendesk puts the outcome of a sign-in and the before/after of a role change only in this
//! free text (patterns after Panther's Zendesk helpers). The text is localised and
//! unversioned, so every parse is optional: a description that does not match leaves the
//! event as it is, never fails it.

use std::sync::LazyLock;

use regex::Regex;

/// A parsed sign-in description: `Successful sign-in using Zendesk password from https://…`.
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
    let captures = SIGN_IN.captures(description)?;
    let result = captures["result"].to_string();
    Some(SignIn {
        succeeded: result.to_ascii_lowercase().starts_with("success"),
        result,
        method: captures["method"].to_string(),
        location: captures["location"].to_string(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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
