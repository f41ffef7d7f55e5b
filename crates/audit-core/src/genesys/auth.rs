//! OAuth client credentials for Genesys Cloud: the token request of the shared
//! [`crate::oauth`] token manager.
//!
//! A token comes from `POST {login}/oauth/token` (`grant_type=client_credentials`, the client
//! id and secret as HTTP Basic). The manager caches it until shortly before its `expires_in`,
//! shares it between every call of the client and its clones, renews it single-flight and once
//! after a 401, and remembers a refusal (`invalid_client`: wrong id or secret, or a client of
//! another region) so that later calls fail at once instead of asking again.
//!
//! The API's `reqwest::Client` carries the token as a sensitive default header; a new token
//! builds a new one (once a day, with Genesys' default `expires_in` of 86,400 s).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use base64::Engine;
use bytes::Bytes;
use progenitor_client::{Error as RawError, OperationInfo, ResponseValue};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::Error as _;
use url::Url;

use super::rules::{GenesysRules, OAuthError, TOKEN_OPERATION};
use crate::error::{Error, VendorDetail};
use crate::http::{BaseUrl, HttpConfig, build_client};
use crate::oauth::{Grant, GrantRequest, IssuedToken, TokenEndpoint, TokenManager};
use crate::retry::{Operation, Retrier, VendorRules};

/// Used when the token response has no `expires_in` (what Genesys issues by default).
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(86_400);

/// The credentials of a Genesys Cloud OAuth client (Client Credentials grant). The secret is
/// a `secrecy` string: `Debug` shows `[REDACTED]`.
///
/// ```
/// use audit_core::genesys::ClientCredentials;
///
/// let credentials = ClientCredentials::new("6a1b2c3d-0000-1111-2222-333344445555", "s3cr3t-value");
/// assert_eq!(credentials.client_id(), "6a1b2c3d-0000-1111-2222-333344445555");
/// assert!(!format!("{credentials:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    client_id: String,
    secret: SecretString,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

impl ClientCredentials {
    /// The OAuth client's id and secret.
    ///
    /// ```
    /// use audit_core::genesys::{ClientCredentials, GenesysClient};
    ///
    /// let credentials = ClientCredentials::new(" 6a1b2c3d-0000-1111-2222-333344445555\n", "secret");
    /// assert_eq!(credentials.client_id(), "6a1b2c3d-0000-1111-2222-333344445555"); // pasted, trimmed
    /// let client = GenesysClient::builder().region("mypurecloud.ie").credentials(credentials).build()?;
    /// assert_eq!(client.tenant(), "6a1b2c3d-0000-1111-2222-333344445555");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn new(client_id: impl Into<String>, secret: impl Into<SecretString>) -> Self {
        ClientCredentials {
            client_id: client_id.into().trim().to_string(),
            secret: secret.into(),
        }
    }

    /// The OAuth client id (not a secret).
    ///
    /// ```
    /// use audit_core::genesys::ClientCredentials;
    ///
    /// let credentials = ClientCredentials::new("6a1b2c3d-0000-1111-2222-333344445555", "secret");
    /// assert_eq!(credentials.client_id(), "6a1b2c3d-0000-1111-2222-333344445555");
    /// ```
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.client_id.is_empty() {
            return Err(Error::InvalidConfig("the OAuth client id is empty".into()));
        }
        if self.client_id.contains(':') {
            return Err(Error::InvalidConfig(
                "the OAuth client id contains `:`, which HTTP Basic cannot carry".into(),
            ));
        }
        if self.secret.expose_secret().trim().is_empty() {
            return Err(Error::InvalidConfig(
                "the OAuth client secret is empty".into(),
            ));
        }
        Ok(())
    }

    /// `Basic base64(id:secret)`, marked sensitive.
    fn basic(&self) -> Result<HeaderValue, Error> {
        let pair = format!("{}:{}", self.client_id, self.secret.expose_secret());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|_| Error::InvalidConfig("the OAuth credentials cannot be sent".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// A token response. The token is a secret from the moment it is decoded.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<f64>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The API client that sends one token.
pub(crate) struct Session {
    pub(crate) raw: Arc<genesys_raw::Client>,
}

/// Issues, caches and renews tokens for one client (and its clones).
pub(crate) type TokenProvider = TokenManager<Session>;

/// The manager of a Genesys client: client credentials at `{login}/oauth/token`, sessions on
/// `api`.
pub(crate) fn token_provider(
    credentials: ClientCredentials,
    login: &BaseUrl,
    api: BaseUrl,
    http: HttpConfig,
    rules: GenesysRules,
) -> Result<TokenProvider, Error> {
    credentials.validate()?;
    let token_url = Url::parse(&format!("{}/oauth/token", login.as_str())).map_err(|e| {
        Error::InvalidConfig(format!(
            "the login base URL cannot take `/oauth/token`: {e}"
        ))
    })?;
    let endpoint = LoginEndpoint {
        login_http: build_client(&http, None)?,
        credentials,
        token_url,
        rules,
    };
    Ok(TokenManager::new(
        endpoint,
        Grant::ClientCredentials,
        move |bearer| {
            let client = build_client(&http, Some(bearer))?;
            Ok(Session {
                raw: Arc::new(genesys_raw::Client::new_with_client(api.as_str(), client)),
            })
        },
    ))
}

/// The Genesys login host's token endpoint.
struct LoginEndpoint {
    credentials: ClientCredentials,
    token_url: Url,
    /// A client without credentials, for the token request (which carries its own Basic
    /// header).
    login_http: reqwest::Client,
    rules: GenesysRules,
}

impl TokenEndpoint for LoginEndpoint {
    fn request<'a>(
        &'a self,
        grant: GrantRequest<'a>,
        retrier: &'a Retrier,
    ) -> BoxFuture<'a, Result<IssuedToken, Error>> {
        async move {
            if !matches!(grant, GrantRequest::ClientCredentials) {
                return Err(Error::InvalidConfig(
                    "Genesys Cloud clients use the client-credentials grant only".into(),
                ));
            }
            let basic = self.credentials.basic()?;
            let token = retrier
                .send(Operation::read(TOKEN_OPERATION), || {
                    self.request_token(basic.clone())
                })
                .await?
                .into_inner();
            Ok(IssuedToken {
                access_token: token.access_token,
                expires_in: token.expires_in,
                refresh_token: None,
            })
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

impl LoginEndpoint {
    /// One token request, shaped like a generated operation's result.
    async fn request_token(
        &self,
        basic: HeaderValue,
    ) -> Result<ResponseValue<TokenResponse>, RawError<OAuthError>> {
        let request = self
            .login_http
            .post(self.token_url.clone())
            .header(AUTHORIZATION, basic)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body("grant_type=client_credentials")
            .build()?;
        let info = OperationInfo {
            operation_id: TOKEN_OPERATION,
        };
        let response =
            raw_support::execute_traced(&self.login_http, "genesys", request, &info).await?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => {
                let headers = response.headers().clone();
                let body = response
                    .bytes()
                    .await
                    .map_err(RawError::ResponseBodyError)?;
                // Never echo the body: it holds the token.
                serde_json::from_slice::<TokenResponse>(&body)
                    .map(|token| ResponseValue::new(token, status, headers))
                    .map_err(|error| {
                        RawError::InvalidResponsePayload(
                            Bytes::from_static(b"(not shown: it may hold a token)"),
                            serde_json::Error::custom(format!(
                                "the token response is not `{{\"access_token\": …, \
                                 \"expires_in\": …}}` ({:?} error at line {} column {})",
                                error.classify(),
                                error.line(),
                                error.column()
                            )),
                        )
                    })
            }
            400..=599 => Err(RawError::ErrorResponse(
                ResponseValue::from_response(response).await?,
            )),
            _ => Err(RawError::UnexpectedResponse(response)),
        }
    }
}
