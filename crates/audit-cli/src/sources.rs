//! Vendor clients, configured from environment variables (single exports) or from the accounts
//! of `trail.toml` (`--all`), behind one small trait the export engine uses.

use audit_core::genesys::GenesysClient;
use audit_core::zendesk::ZendeskClient;
use audit_core::{EventPages, StatsSnapshot, StreamKind, StreamOptions};
use secrecy::SecretString;

use crate::config::{GenesysAccount, ZendeskAccount};
use crate::errors::CliError;

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

const ZENDESK_CREDENTIALS_HINT: &str = "set ZENDESK_EMAIL and ZENDESK_API_TOKEN (an API token \
     from Admin Center > Apps and integrations > Zendesk API), or ZENDESK_OAUTH_TOKEN";

/// How to reach and authenticate to one Zendesk account.
#[derive(Debug)]
pub struct ZendeskSettings {
    subdomain: Option<String>,
    base_url: Option<String>,
    credentials: ZendeskCredentials,
}

#[derive(Debug)]
enum ZendeskCredentials {
    ApiToken { email: String, token: SecretString },
    OAuth(SecretString),
}

impl ZendeskSettings {
    /// From `ZENDESK_SUBDOMAIN`, `ZENDESK_EMAIL`, `ZENDESK_API_TOKEN` / `ZENDESK_OAUTH_TOKEN`,
    /// and a base URL (the flag, or `ZENDESK_BASE_URL`).
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
        let credentials = match (env("ZENDESK_OAUTH_TOKEN"), env("ZENDESK_API_TOKEN")) {
            (Some(token), _) => ZendeskCredentials::OAuth(SecretString::from(token)),
            (None, Some(token)) => ZendeskCredentials::ApiToken {
                email: env("ZENDESK_EMAIL").ok_or_else(|| {
                    CliError::missing_variable(
                        "ZENDESK_EMAIL",
                        "with ZENDESK_API_TOKEN (API tokens authenticate as `{email}/token`)",
                        "set it to the email of the agent or admin who owns the token",
                    )
                })?,
                token: SecretString::from(token),
            },
            (None, None) => {
                return Err(CliError::missing_variable(
                    "ZENDESK_API_TOKEN",
                    "to authenticate to Zendesk",
                    ZENDESK_CREDENTIALS_HINT,
                ));
            }
        };
        Ok(ZendeskSettings {
            subdomain,
            base_url,
            credentials,
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
        let secret = |variable: &Option<String>| -> Result<Option<SecretString>, CliError> {
            match variable {
                None => Ok(None),
                Some(variable) => env(variable).map(|v| Some(SecretString::from(v))).ok_or_else(|| {
                    CliError::missing_variable(
                        variable,
                        &format!("by {at} of the config file"),
                        "export it before running trail, or point the config at another variable",
                    )
                }),
            }
        };
        let credentials = match (
            secret(&account.oauth_token_env)?,
            secret(&account.api_token_env)?,
        ) {
            (Some(token), _) => ZendeskCredentials::OAuth(token),
            (None, Some(token)) => ZendeskCredentials::ApiToken {
                email: account.email.clone().ok_or_else(|| {
                    CliError::usage(
                        format!("{at} has `api_token_env` but no `email`"),
                        Some("API tokens authenticate as `{email}/token`: add `email`".to_string()),
                    )
                })?,
                token,
            },
            (None, None) => {
                return Err(CliError::usage(
                    format!("{at} has no credentials"),
                    Some("add `email` and `api_token_env`, or `oauth_token_env`".to_string()),
                ));
            }
        };
        Ok(ZendeskSettings {
            subdomain: account.subdomain.clone(),
            base_url: account.base_url.clone(),
            credentials,
        })
    }

    /// Builds the client.
    pub fn client(&self) -> Result<ZendeskClient, CliError> {
        let mut builder = ZendeskClient::builder();
        // With a base URL (a proxy, the simulator) the subdomain only names the tenant.
        builder = match (&self.base_url, &self.subdomain) {
            (Some(base_url), Some(subdomain)) => {
                builder.base_url(base_url.clone()).tenant(subdomain.clone())
            }
            (Some(base_url), None) => builder.base_url(base_url.clone()),
            (None, Some(subdomain)) => builder.subdomain(subdomain.clone()),
            (None, None) => builder,
        };
        builder = match &self.credentials {
            ZendeskCredentials::ApiToken { email, token } => {
                builder.api_token(email.clone(), token.clone())
            }
            ZendeskCredentials::OAuth(token) => builder.oauth_token(token.clone()),
        };
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
}

impl GenesysSettings {
    /// From `GENESYS_REGION` (or the API and login base URLs: the flags, or
    /// `GENESYS_API_BASE_URL` / `GENESYS_LOGIN_BASE_URL`), `GENESYS_CLIENT_ID`,
    /// `GENESYS_CLIENT_SECRET`, and the optional `GENESYS_TENANT` that names the organisation
    /// in event ids (default: the client id).
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
        })
    }

    /// Builds the client.
    pub fn client(&self) -> Result<GenesysClient, CliError> {
        let mut builder = GenesysClient::builder()
            .client_credentials(self.client_id.clone(), self.client_secret.clone());
        builder = match (&self.api_base_url, &self.region) {
            (Some(api), _) => builder.api_base_url(api.clone()),
            (None, Some(region)) => builder.region(region.clone()),
            (None, None) => builder,
        };
        if let Some(login) = &self.login_base_url {
            builder = builder.login_base_url(login.clone());
        }
        if let Some(tenant) = &self.tenant {
            builder = builder.tenant(tenant.clone());
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
