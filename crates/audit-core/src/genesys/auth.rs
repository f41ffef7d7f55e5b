//! OAuth client credentials: the token request, the cache, single-flight refresh, and the one
//! refresh after a 401.
//!
//! A token comes from `POST {login}/oauth/token` (`grant_type=client_credentials`, the client
//! id and secret as HTTP Basic). It is cached until shortly before its `expires_in` (60 s
//! before, or half its lifetime when that is shorter) and shared by every call of the client
//! and its clones. Refreshes are serialised: concurrent calls that find the token expired wait
//! for one request, and a 401 from the API replaces the token only once however many calls
//! saw it. A token request the login host refuses (`invalid_client`: wrong id or secret, or
//! a client of another region) fails after that one attempt, and every later call fails at
//! once with the same error instead of asking again.
//!
//! The API's `reqwest::Client` carries the token as a sensitive default header; a new token
//! builds a new one (once a day, with Genesys' default `expires_in` of 86,400 s).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use progenitor_client::{Error as RawError, OperationInfo, ResponseValue};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::Error as _;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::rules::{GenesysRules, OAuthError, TOKEN_OPERATION};
use crate::error::{Error, VendorDetail};
use crate::http::{BaseUrl, HttpConfig, build_client};
use crate::retry::{Operation, Retrier, VendorRules};

/// Used when the token response has no `expires_in` (what Genesys issues by default).
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(86_400);
/// How long before its expiry a token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The longest token lifetime believed: a year (an absurd `expires_in` must neither panic the
/// conversion nor overflow the clock).
const MAX_LIFETIME: Duration = Duration::from_secs(365 * 86_400);

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
    pub fn new(client_id: impl Into<String>, secret: impl Into<SecretString>) -> Self {
        ClientCredentials {
            client_id: client_id.into().trim().to_string(),
            secret: secret.into(),
        }
    }

    /// The OAuth client id (not a secret).
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

/// A token, and the API client that sends it.
pub(crate) struct Session {
    pub(crate) raw: Arc<genesys_raw::Client>,
    refresh_at: Instant,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("refresh_at", &self.refresh_at)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct TokenState {
    session: Option<Arc<Session>>,
    /// The login host refused the credentials: every later call fails with this.
    refused: Option<(u16, VendorDetail)>,
}

/// Issues, caches and renews tokens for one client (and its clones).
pub(crate) struct TokenProvider {
    credentials: ClientCredentials,
    token_url: Url,
    /// A client without credentials, for the token request (which carries its own Basic
    /// header).
    login_http: reqwest::Client,
    api: BaseUrl,
    http: HttpConfig,
    rules: GenesysRules,
    state: Mutex<TokenState>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("credentials", &self.credentials)
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    pub(crate) fn new(
        credentials: ClientCredentials,
        login: &BaseUrl,
        api: BaseUrl,
        http: HttpConfig,
        rules: GenesysRules,
    ) -> Result<Self, Error> {
        credentials.validate()?;
        let token_url = Url::parse(&format!("{}/oauth/token", login.as_str())).map_err(|e| {
            Error::InvalidConfig(format!(
                "the login base URL cannot take `/oauth/token`: {e}"
            ))
        })?;
        let login_http = build_client(&http, login, None)?;
        Ok(TokenProvider {
            credentials,
            token_url,
            login_http,
            api,
            http,
            rules,
            state: Mutex::new(TokenState::default()),
        })
    }

    /// The current session, issuing a token when there is none or it is about to expire.
    pub(crate) async fn session(&self, retrier: &Retrier) -> Result<Arc<Session>, Error> {
        let mut state = self.state.lock().await;
        if let Some(session) = &state.session
            && Instant::now() < session.refresh_at
        {
            return Ok(Arc::clone(session));
        }
        self.refresh(&mut state, retrier).await
    }

    /// A session to replace `stale`, whose token the API refused (401). Calls that saw the
    /// same refusal share one new token.
    pub(crate) async fn renew(
        &self,
        stale: &Arc<Session>,
        retrier: &Retrier,
    ) -> Result<Arc<Session>, Error> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.session
            && !Arc::ptr_eq(current, stale)
            && Instant::now() < current.refresh_at
        {
            return Ok(Arc::clone(current));
        }
        tracing::info!("the API refused the access token; requesting a new one");
        state.session = None;
        self.refresh(&mut state, retrier).await
    }

    async fn refresh(
        &self,
        state: &mut TokenState,
        retrier: &Retrier,
    ) -> Result<Arc<Session>, Error> {
        if let Some((status, detail)) = &state.refused {
            return Err(self
                .rules
                .api_error(TOKEN_OPERATION, *status, detail.clone()));
        }
        let requested = Instant::now();
        let basic = self.credentials.basic()?;
        let result = retrier
            .send(Operation::read(TOKEN_OPERATION), || {
                self.request_token(basic.clone())
            })
            .await;
        let token = match result {
            Ok(response) => response.into_inner(),
            Err(error) => {
                if let Error::Api {
                    status: status @ (400 | 401),
                    detail,
                    ..
                } = &error
                {
                    state.refused = Some((*status, (**detail).clone()));
                }
                return Err(error);
            }
        };
        let lifetime = token
            .expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| crate::retry::secs_at_most(s, MAX_LIFETIME))
            .unwrap_or(DEFAULT_EXPIRES_IN);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        let mut bearer = HeaderValue::from_str(&format!(
            "Bearer {}",
            token.access_token.expose_secret().trim()
        ))
        .map_err(|_| Error::Decode {
            operation: TOKEN_OPERATION,
            status: Some(200),
            message: "the access token holds characters an HTTP header cannot carry".into(),
            waited: Duration::ZERO,
        })?;
        bearer.set_sensitive(true);
        let http = build_client(&self.http, &self.api, Some(bearer))?;
        let session = Arc::new(Session {
            raw: Arc::new(genesys_raw::Client::new_with_client(
                self.api.as_str(),
                http,
            )),
            refresh_at: requested + lifetime - margin,
        });
        tracing::debug!(
            expires_in_s = lifetime.as_secs(),
            "issued a Genesys Cloud access token"
        );
        state.session = Some(Arc::clone(&session));
        Ok(session)
    }

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
