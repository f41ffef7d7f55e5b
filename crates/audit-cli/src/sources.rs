//! Vendor clients, configured from environment variables (single exports) or from the accounts
//! of `trail.toml` (`--all`), behind one small trait the export engine uses.

use audit_core::genesys::{GenesysClient, Region};
use std::path::PathBuf;

use audit_core::oauth::TokenStore;
use audit_core::zendesk::{AuditLogFilter, ZendeskAuth, ZendeskClient};
use audit_core::{
    EventPages, HttpConfig, RetryPolicy, StatsSnapshot, StreamFilter, StreamKind, StreamOptions,
};
use secrecy::SecretString;
use std::time::Duration;

use crate::config::{GenesysAccount, ZendeskAccount};
use crate::errors::CliError;
use crate::rate::RateBudget;
use crate::state::StateStore;

/// Looks up an environment variable; empty values count as unset.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as an [`Env`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A client that can open streams of event pages.
pub trait StreamSource: Send + Sync + 'static {
    /// Opens `stream` with `options`.
    fn event_pages(
        &self,
        stream: StreamKind,
        options: StreamOptions,
    ) -> Result<EventPages, audit_core::Error>;
    /// The account the records belong to.
    fn tenant(&self) -> String;
    /// The client's counters so far.
    fn stats(&self) -> StatsSnapshot;
}

impl StreamSource for ZendeskClient {
    fn event_pages(
        &self,
        stream: StreamKind,
        options: StreamOptions,
    ) -> Result<EventPages, audit_core::Error> {
        ZendeskClient::event_pages(self, stream, options)
    }

    fn tenant(&self) -> String {
        ZendeskClient::tenant(self).to_string()
    }

    fn stats(&self) -> StatsSnapshot {
        ZendeskClient::stats(self)
    }
}

impl StreamSource for GenesysClient {
    fn event_pages(
        &self,
        stream: StreamKind,
        options: StreamOptions,
    ) -> Result<EventPages, audit_core::Error> {
        GenesysClient::event_pages(self, stream, options)
    }

    fn tenant(&self) -> String {
        GenesysClient::tenant(self).to_string()
    }

    fn stats(&self) -> StatsSnapshot {
        GenesysClient::stats(self)
    }
}

/// How a client retries and times out (`--max-retries`, `--retry-budget`,
/// `--request-timeout`, `--connect-timeout`, or their `trail.toml` keys).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Connection {
    /// The retry policy of every call (and of a follower through an outage).
    pub retry: RetryPolicy,
    /// Time allowed to connect (default: the client's, 10 s).
    pub connect_timeout: Option<Duration>,
    /// Time allowed for a whole request (default: the client's, 60 s).
    pub request_timeout: Option<Duration>,
}

impl Connection {
    /// The clients' HTTP settings: the defaults, with the timeouts given.
    fn http(&self) -> HttpConfig {
        let mut http = HttpConfig::default();
        if let Some(timeout) = self.connect_timeout {
            http = http.with_connect_timeout(Some(timeout));
        }
        if let Some(timeout) = self.request_timeout {
            http = http.with_request_timeout(Some(timeout));
        }
        http
    }
}

/// `trail export zendesk-audit-logs` filters: each option may be repeated, and a record is
/// exported when its field equals any of the values given for it (and it passes every option
/// given). They go to Zendesk as `filter[<field>][]`.
#[derive(Debug, Clone, Default, clap::Args)]
#[group(conflicts_with = "all")]
pub struct AuditLogFilterArgs {
    /// zendesk-audit-logs only: records of this action (create, update, destroy, login,
    /// exported, …); repeat for several.
    #[arg(long = "action", value_name = "ACTION")]
    pub action: Vec<String>,
    /// zendesk-audit-logs only: records of changes made by this user id; repeat for several.
    #[arg(long = "actor-id", value_name = "ID")]
    pub actor_id: Vec<i64>,
    /// zendesk-audit-logs only: records about this kind of item (user, rule, apitoken, …);
    /// repeat for several.
    #[arg(long = "source-type", value_name = "TYPE")]
    pub source_type: Vec<String>,
    /// zendesk-audit-logs only: records about the item with this id (needs --source-type);
    /// repeat for several.
    #[arg(long = "source-id", value_name = "ID", requires = "source_type")]
    pub source_id: Vec<i64>,
    /// zendesk-audit-logs only: records of changes made from this IP address; repeat for
    /// several.
    #[arg(long = "ip-address", value_name = "IP")]
    pub ip_address: Vec<String>,
}

impl AuditLogFilterArgs {
    /// The filter, or `None` when no option was given.
    fn filter(&self) -> Option<AuditLogFilter> {
        let mut filter = AuditLogFilter::default();
        filter.source_type = self.source_type.clone();
        filter.source_id = self.source_id.clone();
        filter.actor_id = self.actor_id.clone();
        filter.ip_address = self.ip_address.clone();
        filter.action = self.action.clone();
        (!filter.is_unfiltered()).then_some(filter)
    }

    /// The filters as the state file records them (`action=create,login; actor_id=7`), or
    /// `None` when no option was given.
    pub fn describe(&self) -> Option<String> {
        let field = |name: &str, values: Vec<String>| {
            (!values.is_empty()).then(|| format!("{name}={}", values.join(",")))
        };
        let numbers = |values: &[i64]| values.iter().map(i64::to_string).collect::<Vec<_>>();
        let fields: Vec<String> = [
            field("action", self.action.clone()),
            field("actor_id", numbers(&self.actor_id)),
            field("source_type", self.source_type.clone()),
            field("source_id", numbers(&self.source_id)),
            field("ip_address", self.ip_address.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!fields.is_empty()).then(|| fields.join("; "))
    }

    /// The options filter the audit-log stream only: with another stream they are a usage
    /// error (checked before any client is set up).
    pub fn check(&self, stream: StreamKind) -> Result<(), CliError> {
        if self.filter().is_none() || stream == StreamKind::ZendeskAuditLogs {
            return Ok(());
        }
        Err(CliError::usage(
            format!(
                "--action, --actor-id, --source-type, --source-id and --ip-address filter the \
                 zendesk-audit-logs stream, not {stream}"
            ),
            Some("leave them out, or export zendesk-audit-logs".to_string()),
        ))
    }

    /// The filter for the stream options (every record when no option was given).
    pub fn stream_filter(&self) -> StreamFilter {
        self.filter()
            .map_or(StreamFilter::All, StreamFilter::AuditLogs)
    }
}

const ZENDESK_CREDENTIALS_HINT: &str = "set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET of a \
     confidential OAuth client (Admin Center > Apps and integrations > APIs > OAuth clients); or \
     ZENDESK_OAUTH_TOKEN; or ZENDESK_EMAIL and ZENDESK_API_TOKEN (API tokens stop working on \
     2027-04-30)";

/// Printed once when a Zendesk API token is used.
pub const API_TOKEN_WARNING: &str = "warning: Zendesk switches every API token off on \
     2027-04-30 (and deactivates tokens unused for 30 days): move to OAuth client credentials \
     (ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET; see the README's migration section)";

/// How to reach and authenticate to one Zendesk account.
#[derive(Debug)]
pub struct ZendeskSettings {
    subdomain: Option<String>,
    base_url: Option<String>,
    credentials: ZendeskCredentials,
    /// The scope asked for when none is configured: the least the command needs.
    default_scope: &'static str,
    connection: Connection,
    incremental: Incremental,
    pacing: Pacing<ZendeskClient>,
}

/// How a client paces its requests: a budget of its own, or another client's (one pacer per
/// account, so every stream of an account spends one budget).
#[derive(Debug)]
enum Pacing<C> {
    Own(RateBudget),
    SharedWith(C),
}

impl<C> Default for Pacing<C> {
    fn default() -> Self {
        Pacing::Own(RateBudget::default())
    }
}

/// The incremental exports' settings (`zendesk-ticket-events`), Zendesk's when unset.
#[derive(Debug, Default)]
struct Incremental {
    /// `ZENDESK_INCREMENTAL_RPM`: requests a minute (10; more with High Volume).
    rpm: Option<u32>,
    /// `ZENDESK_INCREMENTAL_HOLDBACK_SECS`: the span before now the export leaves out (60).
    holdback_secs: Option<u32>,
}

#[derive(Debug)]
enum ZendeskCredentials {
    ApiToken {
        email: String,
        token: SecretString,
    },
    OAuth(SecretString),
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
        scopes: Option<Vec<String>>,
    },
    RefreshToken {
        client_id: String,
        client_secret: SecretString,
        refresh_token: Option<SecretString>,
        store: PathBuf,
    },
}

/// The Zendesk credential settings as found (in the environment or a config table), each
/// with the name to show for it in messages.
struct Found {
    oauth_token: Option<(String, SecretString)>,
    api_token: Option<(String, SecretString)>,
    email: Option<(String, String)>,
    client_id: Option<(String, String)>,
    client_secret: Option<(String, SecretString)>,
    scopes: Option<String>,
    refresh_token: Option<(String, SecretString)>,
    token_store: Option<(String, String)>,
}

impl Found {
    /// One scheme, or a usage error naming the two that are configured at once.
    fn credentials(self, missing_hint: &str) -> Result<ZendeskCredentials, CliError> {
        let client = self
            .client_id
            .as_ref()
            .map(|(n, _)| n.clone())
            .or_else(|| self.client_secret.as_ref().map(|(n, _)| n.clone()));
        let schemes: Vec<String> = [
            self.oauth_token
                .as_ref()
                .map(|(n, _)| format!("{n} (a static OAuth token)")),
            self.api_token
                .as_ref()
                .map(|(n, _)| format!("{n} (an API token)")),
            client.map(|n| format!("{n} (an OAuth client)")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if schemes.len() > 1 {
            return Err(CliError::usage(
                format!(
                    "two Zendesk authentication schemes are configured at once: {}",
                    schemes.join(" and ")
                ),
                Some("keep one: OAuth client credentials are the recommended one".to_string()),
            ));
        }
        if let Some((_, token)) = self.oauth_token {
            return Ok(ZendeskCredentials::OAuth(token));
        }
        if let Some((name, token)) = self.api_token {
            let (_, email) = self.email.ok_or_else(|| {
                CliError::usage(
                    format!("{name} is set but no e-mail address is"),
                    Some(
                        "API tokens authenticate as `{email}/token`: set ZENDESK_EMAIL (`email` \
                         in the config file) to the agent or admin who owns the token"
                            .to_string(),
                    ),
                )
            })?;
            return Ok(ZendeskCredentials::ApiToken { email, token });
        }
        match (self.client_id, self.client_secret) {
            (Some((_, client_id)), Some((_, client_secret))) => {
                match (self.refresh_token, self.token_store) {
                    (refresh_token, Some((_, store))) => Ok(ZendeskCredentials::RefreshToken {
                        client_id,
                        client_secret,
                        refresh_token: refresh_token.map(|(_, t)| t),
                        store: PathBuf::from(store),
                    }),
                    (Some((name, _)), None) => Err(CliError::usage(
                        format!("{name} is set without a token store"),
                        Some(
                            "each refresh replaces the refresh token, so trail must keep the \
                             new one: set ZENDESK_TOKEN_STORE (`token_store` in the config file) \
                             to a file path"
                                .to_string(),
                        ),
                    )),
                    (None, None) => Ok(ZendeskCredentials::ClientCredentials {
                        client_id,
                        client_secret,
                        scopes: self
                            .scopes
                            .map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>()),
                    }),
                }
            }
            (Some((name, _)), None) => Err(CliError::usage(
                format!("{name} is set but the OAuth client secret is not"),
                Some(
                    "set ZENDESK_CLIENT_SECRET (`client_secret_env` in the config file) to the \
                     secret of that OAuth client"
                        .to_string(),
                ),
            )),
            (None, Some((name, _))) => Err(CliError::usage(
                format!("{name} is set but the OAuth client id is not"),
                Some(
                    "set ZENDESK_CLIENT_ID (`client_id` in the config file) to the OAuth \
                     client's unique identifier"
                        .to_string(),
                ),
            )),
            (None, None) => Err(CliError::missing_variable(
                "ZENDESK_CLIENT_ID",
                "to authenticate to Zendesk",
                missing_hint,
            )),
        }
    }
}

impl ZendeskSettings {
    /// From `ZENDESK_SUBDOMAIN`, a base URL (the flag, or `ZENDESK_BASE_URL`) and one scheme:
    /// `ZENDESK_CLIENT_ID` + `ZENDESK_CLIENT_SECRET` (+ `ZENDESK_OAUTH_SCOPES`; with
    /// `ZENDESK_TOKEN_STORE` and maybe `ZENDESK_REFRESH_TOKEN`: the refresh-token flow),
    /// `ZENDESK_OAUTH_TOKEN`, or `ZENDESK_EMAIL` + `ZENDESK_API_TOKEN`.
    pub fn from_env(env: Env<'_>, base_url: Option<String>) -> Result<Self, CliError> {
        let subdomain = env("ZENDESK_SUBDOMAIN");
        if subdomain.is_none() && base_url.is_none() {
            return Err(CliError::missing_variable(
                "ZENDESK_SUBDOMAIN",
                "to know which Zendesk account to read",
                "set it to `acme` for acme.zendesk.com, or set ZENDESK_BASE_URL (or \
                 --zendesk-base-url) to reach the API through a proxy",
            ));
        }
        let named = |name: &str| env(name).map(|v| (name.to_string(), v));
        let secret = |name: &str| named(name).map(|(n, v)| (n, SecretString::from(v)));
        let credentials = Found {
            oauth_token: secret("ZENDESK_OAUTH_TOKEN"),
            api_token: secret("ZENDESK_API_TOKEN"),
            email: named("ZENDESK_EMAIL"),
            client_id: named("ZENDESK_CLIENT_ID"),
            client_secret: secret("ZENDESK_CLIENT_SECRET"),
            scopes: env("ZENDESK_OAUTH_SCOPES"),
            refresh_token: secret("ZENDESK_REFRESH_TOKEN"),
            token_store: named("ZENDESK_TOKEN_STORE"),
        }
        .credentials(ZENDESK_CREDENTIALS_HINT)?;
        let number = |name: &str, what: &str| -> Result<Option<u32>, CliError> {
            env(name)
                .map(|value| {
                    value.trim().parse::<u32>().map_err(|_| {
                        CliError::usage(
                            format!("{name} is `{value}`, not a whole number"),
                            Some(format!("set it to {what}, or unset it")),
                        )
                    })
                })
                .transpose()
        };
        let incremental = Incremental {
            rpm: number(
                "ZENDESK_INCREMENTAL_RPM",
                "the requests a minute the incremental exports allow (10; more with the High \
                 Volume add-on)",
            )?,
            holdback_secs: number(
                "ZENDESK_INCREMENTAL_HOLDBACK_SECS",
                "the seconds the incremental exports leave out (60)",
            )?,
        };
        Ok(ZendeskSettings {
            subdomain,
            base_url,
            credentials,
            default_scope: "read",
            connection: Connection::default(),
            incremental,
            pacing: Pacing::default(),
        })
    }

    /// From a `[zendesk.<name>]` table of `trail.toml`; secrets from the variables it names.
    pub fn from_account(
        name: &str,
        account: &ZendeskAccount,
        env: Env<'_>,
    ) -> Result<Self, CliError> {
        let at = format!("[zendesk.{name}]");
        if account.subdomain.is_none() && account.base_url.is_none() {
            return Err(CliError::usage(
                format!("{at} sets neither `subdomain` nor `base_url`"),
                Some("add `subdomain = \"acme\"` for acme.zendesk.com".to_string()),
            ));
        }
        let secret = |key: &str,
                      variable: &Option<String>|
         -> Result<Option<(String, SecretString)>, CliError> {
            match variable {
                None => Ok(None),
                Some(variable) => env(variable)
                    .map(|v| Some((format!("{at} `{key}`"), SecretString::from(v))))
                    .ok_or_else(|| {
                        CliError::missing_variable(
                            variable,
                            &format!("by {at} of the config file"),
                            "export it before running trail, or point the config at another \
                             variable",
                        )
                    }),
            }
        };
        let plain =
            |key: &str, value: &Option<String>| value.clone().map(|v| (format!("{at} `{key}`"), v));
        let credentials = Found {
            oauth_token: secret("oauth_token_env", &account.oauth_token_env)?,
            api_token: secret("api_token_env", &account.api_token_env)?,
            email: plain("email", &account.email),
            client_id: plain("client_id", &account.client_id),
            client_secret: secret("client_secret_env", &account.client_secret_env)?,
            scopes: account.oauth_scopes.clone(),
            refresh_token: secret("refresh_token_env", &account.refresh_token_env)?,
            token_store: plain("token_store", &account.token_store),
        }
        .credentials(
            "add `client_id` and `client_secret_env` (OAuth client credentials), or \
             `oauth_token_env`, or `email` and `api_token_env`",
        )
        .map_err(|mut error| {
            if error.message.starts_with("ZENDESK_CLIENT_ID is not set") {
                error.message = format!("{at} has no credentials");
            }
            error
        })?;
        Ok(ZendeskSettings {
            subdomain: account.subdomain.clone(),
            base_url: account.base_url.clone(),
            credentials,
            default_scope: "read",
            connection: Connection::default(),
            incremental: Incremental::default(),
            pacing: Pacing::default(),
        })
    }

    /// The account's rate budget: the flags', else the `max_rate` and `rate_share` of its
    /// table.
    pub fn account_budget(
        name: &str,
        account: &ZendeskAccount,
        flags: RateBudget,
    ) -> Result<RateBudget, CliError> {
        RateBudget::for_account(
            flags,
            &format!("[zendesk.{name}]"),
            account.max_rate.as_deref(),
            account.rate_share.as_deref(),
        )
    }

    /// The scope to ask for when `ZENDESK_OAUTH_SCOPES` is not set: the least the command
    /// needs (`auditlogs:read` for the audit log, `read` for ticket audits).
    pub fn needing(mut self, scope: &'static str) -> Self {
        self.default_scope = scope;
        self
    }

    /// Retries and timeouts of the client.
    pub fn with_connection(mut self, connection: Connection) -> Self {
        self.connection = connection;
        self
    }

    /// The rate budget of the client (`--max-rate`, `--rate-share`).
    pub fn with_budget(mut self, budget: RateBudget) -> Self {
        self.pacing = Pacing::Own(budget);
        self
    }

    /// Spends the budget of `client` (another stream's client of the same account) instead
    /// of one of its own.
    pub fn pacing_shared_with(mut self, client: ZendeskClient) -> Self {
        self.pacing = Pacing::SharedWith(client);
        self
    }

    /// Whether the settings use a Zendesk API token (which trail warns about).
    pub fn uses_api_token(&self) -> bool {
        matches!(self.credentials, ZendeskCredentials::ApiToken { .. })
    }

    /// Builds the client (and prints the API-token warning once).
    pub fn client(&self) -> Result<ZendeskClient, CliError> {
        static WARNED: std::sync::Once = std::sync::Once::new();
        if self.uses_api_token() {
            WARNED.call_once(|| eprintln!("{API_TOKEN_WARNING}"));
        }
        if let (Some(base_url), None) = (&self.base_url, &self.subdomain)
            && zendesk_subdomain_of(base_url).is_none()
        {
            return Err(CliError::usage(
                format!("the base URL {base_url} does not say which Zendesk account it reaches"),
                Some(
                    "set ZENDESK_SUBDOMAIN (`subdomain` in the account's table of trail.toml) \
                     as well: it names the account in every event id and in the state file"
                        .to_string(),
                ),
            ));
        }
        let mut builder = ZendeskClient::builder()
            .retry_policy(self.connection.retry.clone())
            .http(self.connection.http());
        builder = match &self.pacing {
            Pacing::Own(budget) => builder.pacing(budget.pacing()),
            Pacing::SharedWith(client) => builder.pacing_shared_with(client),
        };
        if let Some(rpm) = self.incremental.rpm {
            builder = builder.incremental_requests_per_minute(rpm);
        }
        if let Some(secs) = self.incremental.holdback_secs {
            builder = builder.incremental_holdback(std::time::Duration::from_secs(secs.into()));
        }
        // With a base URL (a proxy, the simulator) the subdomain only names the tenant.
        builder = match (&self.base_url, &self.subdomain) {
            (Some(base_url), Some(subdomain)) => {
                builder.base_url(base_url.clone()).tenant(subdomain.clone())
            }
            (Some(base_url), None) => builder.base_url(base_url.clone()),
            (None, Some(subdomain)) => builder.subdomain(subdomain.clone()),
            (None, None) => builder,
        };
        builder = builder.auth(match &self.credentials {
            ZendeskCredentials::ApiToken { email, token } => {
                ZendeskAuth::api_token(email.clone(), token.clone())
            }
            ZendeskCredentials::OAuth(token) => ZendeskAuth::oauth(token.clone()),
            ZendeskCredentials::ClientCredentials {
                client_id,
                client_secret,
                scopes,
            } => ZendeskAuth::client_credentials(
                client_id.clone(),
                client_secret.clone(),
                scopes
                    .clone()
                    .unwrap_or_else(|| vec![self.default_scope.to_string()]),
            ),
            ZendeskCredentials::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
                store,
            } => ZendeskAuth::refresh_token(
                client_id.clone(),
                client_secret.clone(),
                refresh_token.clone(),
                TokenStore::new(store.clone()),
            ),
        });
        builder.build().map_err(|error| {
            CliError::usage(
                format!("cannot set up the Zendesk client: {error}"),
                Some(
                    "base URLs must be https (plain http only for localhost); set \
                     ZENDESK_SUBDOMAIN to name the account when using a base URL"
                        .to_string(),
                ),
            )
        })
    }
}

/// How to reach and authenticate to one Genesys Cloud organisation.
#[derive(Debug)]
pub struct GenesysSettings {
    region: Option<String>,
    api_base_url: Option<String>,
    login_base_url: Option<String>,
    client_id: String,
    client_secret: SecretString,
    tenant: Option<String>,
    connection: Connection,
    pacing: Pacing<GenesysClient>,
}

impl GenesysSettings {
    /// From `GENESYS_REGION` (or the API and login base URLs: the flags, or
    /// `GENESYS_API_BASE_URL` / `GENESYS_LOGIN_BASE_URL`), `GENESYS_CLIENT_ID`,
    /// `GENESYS_CLIENT_SECRET`, and the optional `GENESYS_TENANT` that names the organisation
    /// in event ids (default: the organisation's id, see [`GenesysSettings::client_for`]).
    pub fn from_env(
        env: Env<'_>,
        api_base_url: Option<String>,
        login_base_url: Option<String>,
    ) -> Result<Self, CliError> {
        let region = env("GENESYS_REGION");
        if region.is_none() && api_base_url.is_none() {
            return Err(CliError::missing_variable(
                "GENESYS_REGION",
                "to know which Genesys Cloud region to call",
                "set it to the domain of your web app, e.g. mypurecloud.ie for \
                 app.mypurecloud.ie (`trail regions` lists them all), or set GENESYS_API_BASE_URL",
            ));
        }
        let client_id = env("GENESYS_CLIENT_ID").ok_or_else(|| {
            CliError::missing_variable(
                "GENESYS_CLIENT_ID",
                "to authenticate to Genesys Cloud",
                "create an OAuth client with the Client Credentials grant and a role with \
                 audits:audit:view (Admin > Integrations > OAuth), then set GENESYS_CLIENT_ID \
                 and GENESYS_CLIENT_SECRET",
            )
        })?;
        let client_secret = env("GENESYS_CLIENT_SECRET").ok_or_else(|| {
            CliError::missing_variable(
                "GENESYS_CLIENT_SECRET",
                "with GENESYS_CLIENT_ID",
                "set it to the secret of that OAuth client",
            )
        })?;
        Ok(GenesysSettings {
            region,
            api_base_url,
            login_base_url,
            client_id,
            client_secret: SecretString::from(client_secret),
            tenant: env("GENESYS_TENANT"),
            connection: Connection::default(),
            pacing: Pacing::default(),
        })
    }

    /// From a `[genesys.<name>]` table of `trail.toml`; the secret from the variable it names.
    pub fn from_account(
        name: &str,
        account: &GenesysAccount,
        env: Env<'_>,
    ) -> Result<Self, CliError> {
        let at = format!("[genesys.{name}]");
        if account.region.is_none() && account.api_base_url.is_none() {
            return Err(CliError::usage(
                format!("{at} sets neither `region` nor `api_base_url`"),
                Some("add `region = \"mypurecloud.ie\"` (`trail regions` lists them)".to_string()),
            ));
        }
        let secret = env(&account.client_secret_env).ok_or_else(|| {
            CliError::missing_variable(
                &account.client_secret_env,
                &format!("by {at} of the config file"),
                "export it before running trail, or point the config at another variable",
            )
        })?;
        Ok(GenesysSettings {
            region: account.region.clone(),
            api_base_url: account.api_base_url.clone(),
            login_base_url: account.login_base_url.clone(),
            client_id: account.client_id.clone(),
            client_secret: SecretString::from(secret),
            tenant: account.tenant.clone(),
            connection: Connection::default(),
            pacing: Pacing::default(),
        })
    }

    /// The organisation's rate budget: the flags', else the `max_rate` and `rate_share` of
    /// its table.
    pub fn account_budget(
        name: &str,
        account: &GenesysAccount,
        flags: RateBudget,
    ) -> Result<RateBudget, CliError> {
        RateBudget::for_account(
            flags,
            &format!("[genesys.{name}]"),
            account.max_rate.as_deref(),
            account.rate_share.as_deref(),
        )
    }

    /// The rate budget of the client (`--max-rate`, `--rate-share`).
    pub fn with_budget(mut self, budget: RateBudget) -> Self {
        self.pacing = Pacing::Own(budget);
        self
    }

    /// Spends the budget of `client` (another stream's client of the same organisation)
    /// instead of one of its own.
    pub fn pacing_shared_with(mut self, client: GenesysClient) -> Self {
        self.pacing = Pacing::SharedWith(client);
        self
    }

    /// Retries and timeouts of the client.
    pub fn with_connection(mut self, connection: Connection) -> Self {
        self.connection = connection;
        self
    }

    /// Builds the client.
    pub fn client(&self) -> Result<GenesysClient, CliError> {
        self.client_named(self.tenant.as_deref(), None)
    }

    /// Builds the client, naming the organisation as the settings say (`GENESYS_TENANT`,
    /// `tenant`) or else by its organisation id, which survives the rotation of the OAuth
    /// client. A state file that already records exports under the client id (the default
    /// before) keeps it, so that the event ids of one export never change.
    pub async fn client_for(&self, state: Option<&StateStore>) -> Result<GenesysClient, CliError> {
        let client = self.client()?;
        if self.tenant.is_some() {
            return Ok(client);
        }
        let by_client_id = format!("@{} -> ", self.client_id);
        let recorded = match state {
            Some(store) => store
                .read()
                .map_err(|e| CliError::usage(e.to_string(), None))?
                .streams
                .keys()
                .any(|key| key.starts_with("genesys-") && key.contains(&by_client_id)),
            None => false,
        };
        if recorded {
            tracing::info!(
                tenant = %self.client_id,
                "the state file names this organisation by its OAuth client id (trail's old \
                 default): kept, so that event ids do not change; set GENESYS_TENANT (`tenant`) \
                 to choose the name"
            );
            return Ok(client);
        }
        match client.organization().await {
            // The same budget as the client that asked: it has learnt the limit.
            Ok(organization) => self.client_named(Some(&organization.id), Some(&client)),
            Err(
                audit_core::Error::AccessDenied { .. }
                | audit_core::Error::Api {
                    status: 403 | 404, ..
                },
            ) => {
                eprintln!(
                    "warning: the organisation's id cannot be read (the OAuth client lacks the \
                     scope organization:readonly); its events are named by the OAuth client id \
                     {}, which changes if the client is replaced: set GENESYS_TENANT (`tenant` \
                     in trail.toml) to a stable name",
                    self.client_id
                );
                Ok(client)
            }
            Err(error) => Err(CliError::from_core(
                "reading the Genesys Cloud organisation",
                audit_core::Vendor::Genesys,
                &error,
            )),
        }
    }

    /// The client, named `tenant`, pacing with `pacer_of`'s pacer when given (else as the
    /// settings say).
    fn client_named(
        &self,
        tenant: Option<&str>,
        pacer_of: Option<&GenesysClient>,
    ) -> Result<GenesysClient, CliError> {
        self.check_hosts()?;
        let mut builder = GenesysClient::builder()
            .client_credentials(self.client_id.clone(), self.client_secret.clone())
            .retry_policy(self.connection.retry.clone())
            .http(self.connection.http());
        builder = match (pacer_of, &self.pacing) {
            (Some(client), _) | (None, Pacing::SharedWith(client)) => {
                builder.pacing_shared_with(client)
            }
            (None, Pacing::Own(budget)) => builder.pacing(budget.pacing()),
        };
        builder = match (&self.api_base_url, &self.region) {
            (Some(api), _) => builder.api_base_url(api.clone()),
            (None, Some(region)) => builder.region(region.clone()),
            (None, None) => builder,
        };
        if let Some(login) = &self.login_base_url {
            builder = builder.login_base_url(login.clone());
        }
        if let Some(tenant) = tenant {
            builder = builder.tenant(tenant);
        }
        builder.build().map_err(|error| {
            CliError::usage(
                format!("cannot set up the Genesys Cloud client: {error}"),
                Some(
                    "use a region from `trail regions`, or https base URLs (plain http only for \
                     localhost)"
                        .to_string(),
                ),
            )
        })
    }
}

impl GenesysSettings {
    /// What the client builder would refuse, said with the CLI's names for the settings.
    fn check_hosts(&self) -> Result<(), CliError> {
        if self.api_base_url.is_none()
            && let Some(region) = &self.region
            && Region::find(region).is_none()
        {
            return Err(CliError::usage(
                format!("`{}` is not a Genesys Cloud region", region.trim()),
                Some(
                    "`trail regions` lists them (a name such as eu-west-1, or the domain of \
                     your web app such as mypurecloud.ie); or set GENESYS_API_BASE_URL \
                     (`api_base_url` in trail.toml)"
                        .to_string(),
                ),
            ));
        }
        if self.login_base_url.is_none()
            && let Some(api) = &self.api_base_url
            && !url::Url::parse(api)
                .ok()
                .and_then(|url| url.host_str().map(|h| h.starts_with("api.")))
                .unwrap_or(true)
        {
            return Err(CliError::usage(
                format!(
                    "the login (OAuth) URL cannot be derived from the API base URL {api}: its \
                     host does not start with `api.`"
                ),
                Some(
                    "set GENESYS_LOGIN_BASE_URL (--genesys-login-base-url, `login_base_url` in \
                     trail.toml) too"
                        .to_string(),
                ),
            ));
        }
        Ok(())
    }
}

/// The account name in a `https://<account>.zendesk.com` base URL.
fn zendesk_subdomain_of(base_url: &str) -> Option<String> {
    let url = url::Url::parse(base_url).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let subdomain = host.strip_suffix(".zendesk.com")?;
    (!subdomain.is_empty() && !subdomain.contains('.')).then(|| subdomain.to_string())
}
