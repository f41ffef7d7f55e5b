//! The authorization-code grant with PKCE, for users who cannot use client credentials: build
//! the URL of Zendesk's authorization page, then exchange the code the redirect brings for the
//! first access and refresh tokens, written to a [`TokenStore`]. `trail auth zendesk` drives it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use url::Url;
use zendesk_raw::types;

use super::auth::{GrantedScopes, TOKEN_OPERATION, issued};
use crate::error::Error;
use crate::http::{BaseUrl, HttpConfig, build_client};
use crate::oauth::{StoredTokens, TokenStore};

/// A PKCE pair (RFC 7636, method `S256`): a random verifier, kept secret until the exchange,
/// and its challenge, sent in the authorization URL. Also a random `state`.
///
/// ```
/// use audit_core::zendesk::Pkce;
///
/// let pkce = Pkce::new().unwrap();
/// assert_eq!(pkce.challenge().len(), 43, "base64url of a SHA-256");
/// assert!(!format!("{pkce:?}").contains(pkce.challenge()));
/// ```
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
    state: String,
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkce { .. }")
    }
}

fn random_text(bytes: usize) -> Result<String, Error> {
    use crate::crypto::rand::SecureRandom;
    let mut buffer = vec![0u8; bytes];
    crate::crypto::rand::SystemRandom::new()
        .fill(&mut buffer)
        .map_err(|_| Error::InvalidConfig("the system has no secure random source".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// `base64url(SHA-256(verifier))`, the `S256` challenge of a verifier.
///
/// ```
/// use audit_core::zendesk::pkce_challenge;
///
/// // The example of RFC 7636, appendix B.
/// assert_eq!(
///     pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// );
/// ```
pub fn pkce_challenge(verifier: &str) -> String {
    use crate::crypto::digest::{SHA256, digest};
    let digest = digest(&SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

impl Pkce {
    /// A fresh verifier (32 random bytes, 43 characters), its challenge and a state.
    ///
    /// ```
    /// use audit_core::zendesk::Pkce;
    ///
    /// let (a, b) = (Pkce::new()?, Pkce::new()?);
    /// assert_ne!(a.challenge(), b.challenge());
    /// assert_eq!(a.challenge().len(), 43); // base64url of a SHA-256
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn new() -> Result<Self, Error> {
        let verifier = random_text(32)?;
        Ok(Pkce {
            challenge: pkce_challenge(&verifier),
            verifier: verifier.into(),
            state: random_text(16)?,
        })
    }

    /// The `code_challenge` of the authorization URL.
    ///
    /// ```
    /// use audit_core::zendesk::Pkce;
    ///
    /// let pkce = Pkce::new()?;
    /// let url = pkce.authorize_url("https://acme.zendesk.com", "trail", "http://127.0.0.1:8400/cb", "read")?;
    /// assert!(url.query_pairs().any(|(k, v)| k == "code_challenge" && v == pkce.challenge()));
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The `state` the redirect must bring back.
    ///
    /// ```
    /// use audit_core::zendesk::Pkce;
    ///
    /// let pkce = Pkce::new()?;
    /// let url = pkce.authorize_url("https://acme.zendesk.com", "trail", "http://127.0.0.1:8400/cb", "read")?;
    /// // The redirect must bring the same state back; anything else is not our request.
    /// assert!(url.query_pairs().any(|(k, v)| k == "state" && v == pkce.state()));
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn state(&self) -> &str {
        &self.state
    }

    /// Zendesk's authorization page for this pair:
    /// `{base}/oauth/authorizations/new?response_type=code&client_id=…&redirect_uri=…&scope=…&code_challenge=…&code_challenge_method=S256&state=…`.
    ///
    /// ```
    /// use audit_core::zendesk::Pkce;
    ///
    /// let pkce = Pkce::new().unwrap();
    /// let url = pkce.authorize_url("https://acme.zendesk.com", "trail", "http://127.0.0.1:8400/callback", "read").unwrap();
    /// assert!(url.as_str().starts_with("https://acme.zendesk.com/oauth/authorizations/new?response_type=code"));
    /// ```
    pub fn authorize_url(
        &self,
        base_url: &str,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
    ) -> Result<Url, Error> {
        let base = BaseUrl::parse(base_url)?;
        let mut url = Url::parse(&format!("{}/oauth/authorizations/new", base.as_str()))
            .map_err(|e| Error::InvalidConfig(format!("bad base URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", scope)
            .append_pair("code_challenge", &self.challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &self.state);
        Ok(url)
    }

    /// Exchanges `code` (from the redirect to `redirect_uri`) at `{base}/oauth/tokens` and
    /// writes the tokens to `store` (atomically, mode 0600; no client secret).
    ///
    /// ```no_run
    /// use audit_core::oauth::TokenStore;
    /// use audit_core::zendesk::{Pkce, ZendeskAuth};
    ///
    /// # async fn example(code_from_redirect: &str) -> Result<(), audit_core::Error> {
    /// let (base, redirect) = ("https://acme.zendesk.com", "http://127.0.0.1:8400/callback");
    /// let pkce = Pkce::new()?;
    /// println!("open {}", pkce.authorize_url(base, "trail", redirect, "read")?);
    /// // … the browser comes back to `redirect` with `?code=…&state=…` (check the state) …
    /// let store = TokenStore::new("zendesk-token.json");
    /// let secret = "client-secret".to_string().into();
    /// pkce.exchange(base, "trail", &secret, code_from_redirect, redirect, &store).await?;
    /// let auth = ZendeskAuth::refresh_token("trail", secret, None, store); // renews from the store
    /// # Ok(())
    /// # }
    /// ```
    pub async fn exchange(
        &self,
        base_url: &str,
        client_id: &str,
        client_secret: &SecretString,
        code: &str,
        redirect_uri: &str,
        store: &TokenStore,
    ) -> Result<(), Error> {
        let base = BaseUrl::parse(base_url)?;
        let http = build_client(&HttpConfig::default(), None)?;
        let raw = zendesk_raw::Client::new_with_client(base.as_str(), http);
        let body = types::TokenRequest {
            grant_type: "authorization_code".into(),
            client_id: client_id.to_string(),
            client_secret: Some(client_secret.expose_secret().into()),
            code: Some(code.into()),
            code_verifier: Some(self.verifier.expose_secret().into()),
            redirect_uri: Some(redirect_uri.to_string()),
            scope: None,
            refresh_token: None,
            expires_in: None,
            refresh_token_expires_in: None,
        };
        let answer = match raw.create_oauth_token().body(body).send().await {
            Ok(answer) => answer.into_inner(),
            Err(progenitor_client::Error::ErrorResponse(response)) => {
                let status = response.status().as_u16();
                let detail = crate::error::ErrorBody::detail(&response.into_inner());
                return Err(Error::Api {
                    operation: TOKEN_OPERATION,
                    status,
                    detail: Box::new(detail),
                    hint: Some(
                        "the code was refused: it is valid for 120 s and once; run the command \
                         again"
                            .into(),
                    ),
                    waited: std::time::Duration::ZERO,
                });
            }
            Err(other) => {
                return Err(Error::InvalidRequest {
                    operation: TOKEN_OPERATION,
                    message: format!("the token request failed: {other}"),
                });
            }
        };
        let expires_in = answer.expires_in;
        let token = issued(answer, &GrantedScopes::default())?;
        let refresh_token = token.refresh_token.ok_or_else(|| Error::Decode {
            operation: TOKEN_OPERATION,
            status: Some(200),
            message: "the answer has no refresh token".into(),
            waited: std::time::Duration::ZERO,
        })?;
        store.save(&StoredTokens {
            refresh_token,
            access_token: Some(token.access_token),
            access_expires_at: expires_in.map(|s| chrono::Utc::now().timestamp() + s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_base64url_of_sha256() {
        // Computed independently: base64.urlsafe_b64encode(hashlib.sha256(v).digest()) in
        // Python, padding removed.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXFkyBEJk"),
            "OeEqZru2VXkSFgvWfHxjkYq2nlM-yY0RVB6CQjFTOdA"
        );
    }
}
