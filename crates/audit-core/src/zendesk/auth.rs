//! Zendesk authentication: OAuth client credentials, a rotating OAuth refresh token, a static
//! OAuth bearer token, or an API token (switched off by Zendesk on 2027-04-30). The two grants
//! go through the shared [`crate::oauth`] token manager; this module holds Zendesk's token
//! request (`POST /oauth/tokens`, JSON, on the account's own host).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use zendesk_raw::types;

use crate::error::{Error, VendorDetail};
use crate::oauth::{GrantRequest, IssuedToken, TokenEndpoint, TokenStore};
use crate::retry::{Operation, Retrier, VendorRules};

/// The operation name of the token request (the generated `create_oauth_token`).
pub(crate) const TOKEN_OPERATION: &str = "create_oauth_token";

/// Zendesk's documented default lifetime of an access token of a new global client (used
/// when an answer has no `expires_in`).
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(30 * 60);

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
///
/// let auth = ZendeskAuth::client_credentials("trail_export", "c0ffee-s3cr3t", ["auditlogs:read"]);
/// assert!(!format!("{auth:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum ZendeskAuth {
    /// OAuth client credentials (a confidential OAuth client): access tokens are requested
    /// from `/oauth/tokens` when needed and renewed before they expire.
    ClientCredentials {
        /// The OAuth client's unique identifier.
        client_id: String,
        /// The OAuth client's secret.
        client_secret: SecretString,
        /// The scopes to ask for (`None`: send none, Zendesk grants the client's default).
        scopes: Option<Vec<String>>,
    },
    /// A rotating OAuth refresh token: each refresh returns a new access token and a new
    /// refresh token, which is written to `store` before the access token is used. A token
    /// in the store wins over `refresh_token`.
    RefreshToken {
        /// The OAuth client's unique identifier.
        client_id: String,
        /// The OAuth client's secret.
        client_secret: SecretString,
        /// The first refresh token, used only while the store holds none.
        refresh_token: Option<SecretString>,
        /// Where the newest refresh token lives.
        store: TokenStore,
    },
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
            ZendeskAuth::ClientCredentials {
                client_id, scopes, ..
            } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .field("scopes", scopes)
                .finish(),
            ZendeskAuth::RefreshToken {
                client_id, store, ..
            } => f
                .debug_struct("RefreshToken")
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .field("refresh_token", &"[REDACTED]")
                .field("store", store)
                .finish(),
        }
    }
}

impl ZendeskAuth {
    /// API-token authentication for the user `email`.
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskAuth;
    ///
    /// let auth = ZendeskAuth::api_token("it@acme.test", "wJalrXUtnFEMI-s3cr3t");
    /// assert_eq!(auth.scheme(), "API token");
    /// assert!(!format!("{auth:?}").contains("s3cr3t"));
    /// ```
    pub fn api_token(email: impl Into<String>, token: impl Into<SecretString>) -> Self {
        ZendeskAuth::ApiToken {
            email: email.into(),
            token: token.into(),
        }
    }

    /// OAuth bearer authentication.
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskAuth;
    ///
    /// let auth = ZendeskAuth::oauth("gErypPlm4dOVgGRvA1ZzMH5MQ3nLo8bo");
    /// assert_eq!(auth.scheme(), "static OAuth access token");
    /// ```
    pub fn oauth(access_token: impl Into<SecretString>) -> Self {
        ZendeskAuth::OAuth {
            access_token: access_token.into(),
        }
    }

    /// OAuth client credentials; `scopes` are asked for exactly (empty: none sent).
    ///
    /// ```
    /// use audit_core::zendesk::ZendeskAuth;
    ///
    /// let auth = ZendeskAuth::client_credentials("trail_export", "s3cr3t", ["read"]);
    /// assert_eq!(auth.scheme(), "OAuth client credentials");
    /// ```
    pub fn client_credentials<I, S>(
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
        scopes: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        ZendeskAuth::ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: (!scopes.is_empty()).then_some(scopes),
        }
    }

    /// A rotating refresh token kept in `store` (`refresh_token`: the first one, used while
    /// the store is empty).
    ///
    /// ```
    /// use audit_core::oauth::TokenStore;
    /// use audit_core::zendesk::ZendeskAuth;
    ///
    /// let store = TokenStore::new("/var/lib/trail/zendesk-token.json");
    /// let auth = ZendeskAuth::refresh_token("trail_export", "s3cr3t", Some("rt-s3cr3t".into()), store);
    /// assert!(!format!("{auth:?}").contains("s3cr3t"));
    /// ```
    pub fn refresh_token(
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
        refresh_token: Option<SecretString>,
        store: TokenStore,
    ) -> Self {
        ZendeskAuth::RefreshToken {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_token,
            store,
        }
    }

    /// The scheme's name, for messages.
    ///
    /// ```
    /// use audit_core::oauth::TokenStore;
    /// use audit_core::zendesk::ZendeskAuth;
    ///
    /// let store = TokenStore::new("zendesk-token.json");
    /// assert_eq!(ZendeskAuth::refresh_token("trail", "s", None, store).scheme(), "OAuth refresh token");
    /// ```
    pub fn scheme(&self) -> &'static str {
        match self {
            ZendeskAuth::ApiToken { .. } => "API token",
            ZendeskAuth::OAuth { .. } => "static OAuth access token",
            ZendeskAuth::ClientCredentials { .. } => "OAuth client credentials",
            ZendeskAuth::RefreshToken { .. } => "OAuth refresh token",
        }
    }

    /// The `Authorization` header value of a static credential (API token, bearer token),
    /// marked sensitive; `None` for the grants, whose tokens the manager issues.
    pub(crate) fn static_header(&self) -> Result<Option<HeaderValue>, Error> {
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
            ZendeskAuth::ClientCredentials {
                client_id,
                client_secret,
                ..
            }
            | ZendeskAuth::RefreshToken {
                client_id,
                client_secret,
                ..
            } => {
                if client_id.trim().is_empty() {
                    return Err(Error::InvalidConfig("the OAuth client id is empty".into()));
                }
                if client_secret.expose_secret().trim().is_empty() {
                    return Err(Error::InvalidConfig(
                        "the OAuth client secret is empty".into(),
                    ));
                }
                return Ok(None);
            }
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            Error::InvalidConfig(format!(
                "{what} contains characters that cannot be sent in an HTTP header"
            ))
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// A description without secrets, for `Debug` of the client.
    pub(crate) fn describe(&self) -> String {
        match self {
            ZendeskAuth::ApiToken { email, .. } => format!("API token of {email}"),
            ZendeskAuth::OAuth { .. } => "OAuth access token".to_string(),
            ZendeskAuth::ClientCredentials { client_id, .. } => {
                format!("OAuth client credentials of {client_id}")
            }
            ZendeskAuth::RefreshToken {
                client_id, store, ..
            } => format!(
                "OAuth refresh token of {client_id} (store {})",
                store.path().display()
            ),
        }
    }
}

/// The scopes a token was granted (from the token's answer), shared with the error rules so
/// that a 403 can name what is missing.
pub(crate) type GrantedScopes = Arc<Mutex<Option<String>>>;

/// Zendesk's `POST /oauth/tokens` on the account's host, sent by the generated client
/// without credentials (the client's id and secret travel in the JSON body).
pub(crate) struct AccountTokenEndpoint {
    pub(crate) raw: zendesk_raw::Client,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) granted: GrantedScopes,
    pub(crate) rules: super::ZendeskRules,
}

impl TokenEndpoint for AccountTokenEndpoint {
    fn request<'a>(
        &'a self,
        grant: GrantRequest<'a>,
        retrier: &'a Retrier,
    ) -> BoxFuture<'a, Result<IssuedToken, Error>> {
        async move {
            let secret = Some(raw_support::Secret::from(
                self.client_secret.expose_secret().to_string(),
            ));
            let (grant_type, refresh_token, scope) = match grant {
                GrantRequest::ClientCredentials => (
                    "client_credentials",
                    None,
                    self.scopes.as_ref().map(|s| s.join(" ")),
                ),
                GrantRequest::RefreshToken(token) => (
                    "refresh_token",
                    Some(raw_support::Secret::from(token.expose_secret().to_string())),
                    None,
                ),
            };
            let body = types::TokenRequest {
                grant_type: grant_type.to_string(),
                client_id: self.client_id.clone(),
                client_secret: secret,
                scope,
                refresh_token,
                code: None,
                code_verifier: None,
                redirect_uri: None,
                expires_in: None,
                refresh_token_expires_in: None,
            };
            let answer = retrier
                .send(Operation::read(TOKEN_OPERATION), || {
                    self.raw.create_oauth_token().body(body.clone()).send()
                })
                .await?
                .into_inner();
            issued(answer, &self.granted)
        }
        .boxed()
    }

    fn refused_again(&self, status: u16, detail: VendorDetail) -> Error {
        self.rules.api_error(TOKEN_OPERATION, status, detail)
    }

    fn default_lifetime(&self) -> Duration {
        DEFAULT_EXPIRES_IN
    }

    fn operation(&self) -> &'static str {
        TOKEN_OPERATION
    }
}

/// The token of an answer (an answer without one is a decode error), noting its scopes.
pub(crate) fn issued(
    answer: types::TokenResponse,
    granted: &GrantedScopes,
) -> Result<IssuedToken, Error> {
    let access_token = answer
        .access_token
        .filter(|t| !t.expose().trim().is_empty())
        .ok_or_else(|| Error::Decode {
            operation: TOKEN_OPERATION,
            status: Some(200),
            message: "the token answer has no `access_token`".into(),
            waited: Duration::ZERO,
        })?;
    if let Some(scope) = answer.scope.filter(|s| !s.trim().is_empty()) {
        *granted.lock().expect("scopes lock") = Some(scope);
    }
    Ok(IssuedToken {
        access_token: SecretString::from(access_token.expose().to_string()),
        expires_in: answer.expires_in.map(|s| s as f64),
        refresh_token: answer
            .refresh_token
            .filter(|t| !t.expose().trim().is_empty())
            .map(|t| SecretString::from(t.expose().to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_token_header_is_basic_email_slash_token() {
        let header = ZendeskAuth::api_token("jdoe@example.com", "abc123")
            .static_header()
            .unwrap()
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
            .static_header()
            .unwrap()
            .unwrap();
        assert_eq!(
            header.to_str().unwrap(),
            "Bearer gErypPlm4dOVgGRvA1ZzMH5MQ3nLo8bo"
        );
    }

    #[test]
    fn bad_credentials_are_reported_without_echoing_them() {
        let error = ZendeskAuth::api_token("no-at-sign", "s3cr3t")
            .static_header()
            .unwrap_err();
        assert!(!error.to_string().contains("s3cr3t"));
        let error = ZendeskAuth::oauth("bad\ntoken-s3cr3t")
            .static_header()
            .unwrap_err();
        assert!(!error.to_string().contains("s3cr3t"), "{error}");
        assert!(ZendeskAuth::oauth("  ").static_header().is_err());
    }
}
