//! [`Secret`]: a string the generated types carry for credentials (OAuth secrets and tokens).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A credential inside a generated request or response type (named in the specs through
/// `x-rust-type`). It serialises as the plain string (the wire needs it), but `Debug` shows
/// `[REDACTED]`, so a generated type that holds one can be logged or put in an error whole.
///
/// ```
/// use raw_support::Secret;
///
/// let secret = Secret::from("s3cr3t-value");
/// assert_eq!(format!("{secret:?}"), "[REDACTED]");
/// assert_eq!(secret.expose(), "s3cr3t-value");
/// assert_eq!(serde_json::to_string(&secret).unwrap(), "\"s3cr3t-value\"");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret text, for the one place that sends or stores it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}
