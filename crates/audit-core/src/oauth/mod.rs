//! One OAuth token manager for every vendor: a grant (client credentials, or a rotating
//! refresh token kept in a [`TokenStore`]) yields an access token, an expiry and maybe a new
//! refresh token; the `TokenManager` turns that into a session that API calls share.
//!
//! - **Lazy and cached**: the first call fetches a token; it is reused until a renew margin
//!   before `expires_in` that scales with the lifetime (the lesser of 60 s and a fifth of it),
//!   so tokens living a few seconds work too.
//! - **Single-flight**: concurrent calls that find the token due wait for one request; a 401
//!   from the API replaces the token once however many calls saw it.
//! - **Refusals are final**: a token request refused with 400 or 401 (`invalid_client`,
//!   `invalid_grant`, `invalid_scope`) fails at once and every later call fails the same way
//!   without asking again, so a wrong secret never becomes a retry storm. 429 and 5xx are
//!   retried by the client's retry layer like any call.
//! - **Rotation is durable**: with a refresh token, the store is read before each refresh (a
//!   token in it wins over the configured one), and the new refresh token is written to it
//!   before the new access token is used. An exclusive lock beside the store keeps two
//!   clients from presenting the same refresh token; a client that waited for the lock finds
//!   the access token the other one stored and uses it.
//!
//! The vendor-specific part is a `TokenEndpoint`: how one grant is sent (Genesys: a form
//! with HTTP Basic to the login host; Zendesk: JSON to `/oauth/tokens` of the account).

mod store;

pub use store::{StoredTokens, TokenStore};

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::{Error, VendorDetail};
use crate::retry::Retrier;

/// The longest renew margin.
const MAX_MARGIN: Duration = Duration::from_secs(60);
/// The longest token lifetime believed: a year (an absurd `expires_in` must neither panic the
/// conversion nor overflow the clock).
const MAX_LIFETIME: Duration = Duration::from_secs(365 * 86_400);

/// How long before its expiry a token of `lifetime` is replaced: the lesser of 60 s and a
/// fifth of the lifetime.
pub(crate) fn renew_margin(lifetime: Duration) -> Duration {
    MAX_MARGIN.min(lifetime / 5)
}

/// The grant a [`TokenEndpoint`] presents.
pub(crate) enum GrantRequest<'a> {
    /// The client's own credentials.
    ClientCredentials,
    /// A refresh token (the newest one: presenting a rotated one may revoke the family).
    RefreshToken(&'a SecretString),
}

/// What a token endpoint issued.
pub(crate) struct IssuedToken {
    pub(crate) access_token: SecretString,
    /// Seconds, as sent (`None`: the vendor did not say).
    pub(crate) expires_in: Option<f64>,
    /// A new refresh token (the refresh grant rotates it).
    pub(crate) refresh_token: Option<SecretString>,
}

/// How one vendor asks for a token.
pub(crate) trait TokenEndpoint: Send + Sync + 'static {
    /// Sends `grant` through `retrier` (so 429 and 5xx are retried like any call).
    fn request<'a>(
        &'a self,
        grant: GrantRequest<'a>,
        retrier: &'a Retrier,
    ) -> BoxFuture<'a, Result<IssuedToken, Error>>;

    /// The error of a later call after the endpoint refused the grant with `status`.
    fn refused_again(&self, status: u16, detail: VendorDetail) -> Error;

    /// The lifetime assumed when the answer has no `expires_in`.
    fn default_lifetime(&self) -> Duration;

    /// The operation name of the token request, in errors.
    fn operation(&self) -> &'static str;
}

/// Which grant the manager uses.
pub(crate) enum Grant {
    /// Client credentials: nothing to remember between tokens.
    ClientCredentials,
    /// A rotating refresh token: `initial` is presented only while the store is empty.
    RefreshToken {
        initial: Option<SecretString>,
        store: TokenStore,
    },
}

/// A session (`S`: the API client that sends the token) and when to replace it.
pub(crate) struct Authorized<S> {
    pub(crate) session: S,
    refresh_at: Instant,
    access_token: Option<SecretString>,
}

impl<S> Authorized<S> {
    /// A session that never needs renewing (a static credential).
    pub(crate) fn fixed(session: S) -> Self {
        Authorized {
            session,
            refresh_at: Instant::now() + MAX_LIFETIME,
            access_token: None,
        }
    }
}

#[derive(Default)]
struct State<S> {
    current: Option<Arc<Authorized<S>>>,
    /// The endpoint refused the grant: every later call fails with this.
    refused: Option<(u16, VendorDetail)>,
}

type MakeSession<S> = Box<dyn Fn(HeaderValue) -> Result<S, Error> + Send + Sync>;

/// Issues, caches and renews the access token of one client (and its clones).
pub(crate) struct TokenManager<S> {
    endpoint: Box<dyn TokenEndpoint>,
    grant: Grant,
    make_session: MakeSession<S>,
    state: Mutex<State<S>>,
}

impl<S> fmt::Debug for TokenManager<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grant = match &self.grant {
            Grant::ClientCredentials => "client credentials".to_string(),
            Grant::RefreshToken { store, .. } => {
                format!("refresh token (store {})", store.path().display())
            }
        };
        f.debug_struct("TokenManager")
            .field("operation", &self.endpoint.operation())
            .field("grant", &grant)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync + 'static> TokenManager<S> {
    /// A manager that asks `endpoint` for tokens of `grant` and wraps each in a session made
    /// by `make_session` from the `Authorization` header value (marked sensitive).
    pub(crate) fn new(
        endpoint: impl TokenEndpoint,
        grant: Grant,
        make_session: impl Fn(HeaderValue) -> Result<S, Error> + Send + Sync + 'static,
    ) -> Self {
        TokenManager {
            endpoint: Box::new(endpoint),
            grant,
            make_session: Box::new(make_session),
            state: Mutex::new(State {
                current: None,
                refused: None,
            }),
        }
    }

    /// The current session, issuing a token when there is none or it is due.
    pub(crate) async fn session(&self, retrier: &Retrier) -> Result<Arc<Authorized<S>>, Error> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current
            && Instant::now() < current.refresh_at
        {
            return Ok(Arc::clone(current));
        }
        self.issue(&mut state, None, retrier).await
    }

    /// A session to replace `stale`, whose token the API refused (401). Calls that saw the
    /// same refusal share one new token.
    pub(crate) async fn renew(
        &self,
        stale: &Arc<Authorized<S>>,
        retrier: &Retrier,
    ) -> Result<Arc<Authorized<S>>, Error> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current
            && !Arc::ptr_eq(current, stale)
            && Instant::now() < current.refresh_at
        {
            return Ok(Arc::clone(current));
        }
        tracing::info!("the API refused the access token; requesting a new one");
        state.current = None;
        self.issue(&mut state, stale.access_token.as_ref(), retrier)
            .await
    }

    async fn issue(
        &self,
        state: &mut State<S>,
        refused_token: Option<&SecretString>,
        retrier: &Retrier,
    ) -> Result<Arc<Authorized<S>>, Error> {
        if let Some((status, detail)) = &state.refused {
            return Err(self.endpoint.refused_again(*status, detail.clone()));
        }
        let result = match &self.grant {
            Grant::ClientCredentials => {
                let requested = Instant::now();
                self.endpoint
                    .request(GrantRequest::ClientCredentials, retrier)
                    .await
                    .map(|token| (token, requested))
            }
            Grant::RefreshToken { initial, store } => {
                return self
                    .rotate(state, initial.as_ref(), store, refused_token, retrier)
                    .await;
            }
        };
        let (token, requested) = self.remember_refusal(state, result)?;
        let lifetime = self.lifetime(token.expires_in);
        self.install(
            state,
            token.access_token,
            requested + lifetime - renew_margin(lifetime),
        )
    }

    /// The refresh grant: under the store's lock, reuse an access token another client
    /// stored, or present the newest refresh token and store its successor before use.
    async fn rotate(
        &self,
        state: &mut State<S>,
        initial: Option<&SecretString>,
        store: &TokenStore,
        refused_token: Option<&SecretString>,
        retrier: &Retrier,
    ) -> Result<Arc<Authorized<S>>, Error> {
        // A blocking file lock: taken on a blocking thread, held (the guard) until the new
        // token is stored, released when the guard is dropped.
        let lock_store = store.clone();
        let _guard = tokio::task::spawn_blocking(move || lock_store.lock())
            .await
            .map_err(|e| store_error(store, format!("cannot be locked: {e}")))??;
        self.rotate_locked(state, initial, store, refused_token, retrier)
            .await
    }

    async fn rotate_locked(
        &self,
        state: &mut State<S>,
        initial: Option<&SecretString>,
        store: &TokenStore,
        refused_token: Option<&SecretString>,
        retrier: &Retrier,
    ) -> Result<Arc<Authorized<S>>, Error> {
        let stored = store.load()?;
        let now_unix = chrono::Utc::now().timestamp();
        if let Some(stored) = &stored
            && let (Some(access), Some(expires_at)) =
                (&stored.access_token, stored.access_expires_at)
            && refused_token.is_none_or(|refused| refused.expose_secret() != access.expose_secret())
        {
            let left = Duration::from_secs(u64::try_from(expires_at - now_unix).unwrap_or(0));
            // Still good for longer than its margin: use it (it was issued for a lifetime
            // of at least what is left).
            if left > renew_margin(left) && !left.is_zero() {
                tracing::debug!("using the access token of the token store");
                let refresh_at = Instant::now() + left - renew_margin(left);
                return self.install(state, access.clone(), refresh_at);
            }
        }
        let refresh = match (&stored, initial) {
            (Some(stored), _) => stored.refresh_token.clone(),
            (None, Some(initial)) => initial.clone(),
            (None, None) => {
                return Err(store_error(
                    store,
                    "holds no refresh token and none is configured: authenticate first \
                     (`trail auth zendesk`) or set the refresh token"
                        .into(),
                ));
            }
        };
        let requested = Instant::now();
        let result = self
            .endpoint
            .request(GrantRequest::RefreshToken(&refresh), retrier)
            .await;
        let token = self
            .remember_refusal(state, result.map(|t| (t, requested)))?
            .0;
        let lifetime = self.lifetime(token.expires_in);
        // The presented refresh token is now invalid: its successor must be durable before
        // anything else happens. A vendor that does not rotate keeps the old one valid.
        let next_refresh = token.refresh_token.clone().unwrap_or(refresh);
        store.save(&StoredTokens {
            refresh_token: next_refresh,
            access_token: Some(token.access_token.clone()),
            access_expires_at: Some(now_unix + lifetime.as_secs() as i64),
        })?;
        tracing::debug!(
            expires_in_s = lifetime.as_secs(),
            "stored the rotated refresh token"
        );
        self.install(
            state,
            token.access_token,
            requested + lifetime - renew_margin(lifetime),
        )
    }

    fn remember_refusal<T>(
        &self,
        state: &mut State<S>,
        result: Result<T, Error>,
    ) -> Result<T, Error> {
        result.inspect_err(|error| {
            if let Error::Api {
                status: status @ (400 | 401),
                detail,
                ..
            } = error
            {
                state.refused = Some((*status, (**detail).clone()));
            }
        })
    }

    fn lifetime(&self, expires_in: Option<f64>) -> Duration {
        expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| crate::retry::secs_at_most(s, MAX_LIFETIME))
            .unwrap_or_else(|| self.endpoint.default_lifetime())
    }

    fn install(
        &self,
        state: &mut State<S>,
        access_token: SecretString,
        refresh_at: Instant,
    ) -> Result<Arc<Authorized<S>>, Error> {
        let mut bearer =
            HeaderValue::from_str(&format!("Bearer {}", access_token.expose_secret().trim()))
                .map_err(|_| Error::Decode {
                    operation: self.endpoint.operation(),
                    status: Some(200),
                    message: "the access token holds characters an HTTP header cannot carry".into(),
                    waited: Duration::ZERO,
                })?;
        bearer.set_sensitive(true);
        let authorized = Arc::new(Authorized {
            session: (self.make_session)(bearer)?,
            refresh_at,
            access_token: Some(access_token),
        });
        tracing::debug!(
            operation = self.endpoint.operation(),
            "issued an access token"
        );
        state.current = Some(Arc::clone(&authorized));
        Ok(authorized)
    }
}

fn store_error(store: &TokenStore, message: String) -> Error {
    Error::TokenStore {
        path: store.path().display().to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_renew_margin_scales_with_the_lifetime() {
        assert_eq!(
            renew_margin(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
        assert_eq!(
            renew_margin(Duration::from_secs(1_800)),
            Duration::from_secs(60)
        );
        assert_eq!(
            renew_margin(Duration::from_secs(100)),
            Duration::from_secs(20)
        );
        assert_eq!(
            renew_margin(Duration::from_secs(3)),
            Duration::from_millis(600)
        );
    }
}
