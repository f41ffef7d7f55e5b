//! Zendesk authentication: API token or OAuth bearer token.

use std::fmt;

use base64::Engine;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// How a [`super::ZendeskClient`] authenticates. Secrets are `secrecy` strings: `Debug`
/// prints `[REDACTED]`, and the header built from them is marked sensitive.
///
/// ```
/// use audit_core::zendesk::ZendeskAuth;
///
/// let auth = ZendeskAuth::api_token("admin@acme.example", "6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv");
/// let shown = format!("{auth:?}");
/// assert!(shown.contains("admin@acme.example"));
/// assert!(!shown.contains("6wiIBWbG"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum ZendeskAuth {
    /// An API token: Basic auth as `{email}/token` with the token as password.
    ApiToken {
        /// The agent's or admin's e-mail address.
        email: String,
        /// The API token.
        token: SecretString,
    },
    /// An OAuth access token, sent as `Bearer`. Ticket Audits need the global `read` scope;
    /// Audit Logs accept `auditlogs:read` or `read`.
    OAuth {
        /// The access token.
        access_token: SecretString,
    },
}

impl fmt::Debug for ZendeskAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZendeskAuth::ApiToken { email, .. } => f
                .debug_struct("ApiToken")
                .field("email", email)
                .field("token", &"[REDACTED]")
                .finish(),
            ZendeskAuth::OAuth { .. } => f
                .debug_struct("OAuth")
                .field("access_token", &"[REDACTED]")
                .finish(),
        }
    }
}

impl ZendeskAuth {
    /// API-token authentication for the user `email`.
    pub fn api_token(email: impl Into<String>, token: impl Into<SecretString>) -> Self {
        ZendeskAuth::ApiToken {
            email: email.into(),
            token: token.into(),
        }
    }

    /// OAuth bearer authentication.
    pub fn oauth(access_token: impl Into<SecretString>) -> Self {
        ZendeskAuth::OAuth {
            access_token: access_token.into(),
        }
    }

    /// The `Authorization` header value, marked sensitive.
    pub(crate) fn header(&self) -> Result<HeaderValue, Error> {
        let (text, what) = match self {
            ZendeskAuth::ApiToken { email, token } => {
                let email = email.trim();
                if email.is_empty() || !email.contains('@') {
                    return Err(Error::InvalidConfig(
                        "API-token authentication needs the user's e-mail address (the \
                         `{email}/token` user name); it is empty or has no `@`"
                            .into(),
                    ));
                }
                if token.expose_secret().trim().is_empty() {
                    return Err(Error::InvalidConfig("the API token is empty".into()));
                }
                let credentials = format!("{email}/token:{}", token.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
                (format!("Basic {encoded}"), "the API token")
            }
            ZendeskAuth::OAuth { access_token } => {
                if access_token.expose_secret().trim().is_empty() {
                    return Err(Error::InvalidConfig(
                        "the OAuth access token is empty".into(),
                    ));
                }
                (
                    format!("Bearer {}", access_token.expose_secret().trim()),
                    "the OAuth access token",
                )
            }
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            Error::InvalidConfig(format!(
                "{what} contains characters that cannot be sent in an HTTP header"
            ))
        })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// A description without secrets, for `Debug` of the client.
    pub(crate) fn describe(&self) -> String {
        match self {
            ZendeskAuth::ApiToken { email, .. } => format!("API token of {email}"),
            ZendeskAuth::OAuth { .. } => "OAuth access token".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_token_header_is_basic_email_slash_token() {
        let header = ZendeskAuth::api_token("jdoe@example.com", "abc123")
            .header()
            .unwrap();
        assert!(header.is_sensitive());
        // base64("jdoe@example.com/token:abc123")
        assert_eq!(
            header.to_str().unwrap(),
            "Basic amRvZUBleGFtcGxlLmNvbS90b2tlbjphYmMxMjM="
        );
        assert_eq!(format!("{header:?}"), "Sensitive");
    }

    #[test]
    fn oauth_header_is_bearer() {
        let header = ZendeskAuth::oauth("gErypPlm4dOVgGRvA1ZzMH5MQ3nLo8bo")
            .header()
            .unwrap();
        assert_eq!(
            header.to_str().unwrap(),
            "Bearer gErypPlm4dOVgGRvA1ZzMH5MQ3nLo8bo"
        );
    }

    #[test]
    fn bad_credentials_are_reported_without_echoing_them() {
        let error = ZendeskAuth::api_token("no-at-sign", "s3cr3t")
            .header()
            .unwrap_err();
        assert!(!error.to_string().contains("s3cr3t"));
        let error = ZendeskAuth::oauth("bad\ntoken-s3cr3t")
            .header()
            .unwrap_err();
        assert!(!error.to_string().contains("s3cr3t"), "{error}");
        assert!(ZendeskAuth::oauth("  ").header().is_err());
    }
}
