//! `trail auth zendesk`: obtains the first refresh token with the authorization-code flow and
//! PKCE, for users who cannot use client credentials. It prints Zendesk's authorization URL,
//! receives the redirect on 127.0.0.1, exchanges the code and writes the token store.

use std::time::Duration;

use audit_core::Vendor;
use audit_core::oauth::TokenStore;
use audit_core::zendesk::Pkce;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::cli::AuthZendeskArgs;
use crate::errors::CliError;
use crate::sources::Env;

/// How long the command waits for the browser.
const WAIT: Duration = Duration::from_secs(300);

fn required(env: Env<'_>, name: &str, purpose: &str, hint: &str) -> Result<String, CliError> {
    env(name).ok_or_else(|| CliError::missing_variable(name, purpose, hint))
}

/// Runs the flow; returns the line to print when the store is written.
pub async fn zendesk(args: &AuthZendeskArgs, env: Env<'_>) -> Result<String, CliError> {
    let base_url = match (&args.zendesk_base_url, env("ZENDESK_SUBDOMAIN")) {
        (Some(url), _) => url.clone(),
        (None, Some(subdomain)) => format!("https://{subdomain}.zendesk.com"),
        (None, None) => {
            return Err(CliError::missing_variable(
                "ZENDESK_SUBDOMAIN",
                "to know which Zendesk account to authorize",
                "set it to `acme` for acme.zendesk.com, or set ZENDESK_BASE_URL",
            ));
        }
    };
    let client_id = required(
        env,
        "ZENDESK_CLIENT_ID",
        "to name the OAuth client to authorize",
        "set it to the client's unique identifier (Admin Center > Apps and integrations > APIs \
         > OAuth clients); its redirect URLs must allow http://127.0.0.1",
    )?;
    let client_secret = SecretString::from(required(
        env,
        "ZENDESK_CLIENT_SECRET",
        "with ZENDESK_CLIENT_ID",
        "set it to the secret of that OAuth client",
    )?);
    let store = TokenStore::new(required(
        env,
        "ZENDESK_TOKEN_STORE",
        "to keep the refresh token this command obtains",
        "set it to a file path; exports then use it with ZENDESK_CLIENT_ID and \
         ZENDESK_CLIENT_SECRET",
    )?);
    let scope = env("ZENDESK_OAUTH_SCOPES").unwrap_or_else(|| "read".to_string());
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| {
            CliError::usage(
                format!("cannot listen on 127.0.0.1:{}: {e}", args.port),
                Some("choose another --port".to_string()),
            )
        })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(args.port);
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let pkce = Pkce::new().map_err(|e| CliError::failure(e.to_string(), None))?;
    let url = pkce
        .authorize_url(&base_url, &client_id, &redirect_uri, &scope)
        .map_err(|e| CliError::usage(e.to_string(), None))?;
    println!("Open this URL in a browser and approve the access:\n{url}");
    eprintln!("waiting for the redirect on {redirect_uri} …");
    let code = tokio::time::timeout(WAIT, receive_code(&listener, pkce.state()))
        .await
        .map_err(|_| {
            CliError::failure(
                "no redirect arrived within 5 minutes",
                Some("run the command again and approve the access in the browser".to_string()),
            )
        })??;
    pkce.exchange(
        &base_url,
        &client_id,
        &client_secret,
        &code,
        &redirect_uri,
        &store,
    )
    .await
    .map_err(|e| CliError::from_core("exchanging the authorization code", Vendor::Zendesk, &e))?;
    Ok(format!(
        "Authorized: the refresh token is in {} (mode 0600). Export with ZENDESK_CLIENT_ID, \
         ZENDESK_CLIENT_SECRET and ZENDESK_TOKEN_STORE set.",
        store.path().display()
    ))
}

/// Answers redirects until one brings a code with the right state.
async fn receive_code(listener: &TcpListener, state: &str) -> Result<String, CliError> {
    loop {
        let (mut socket, _) = listener
            .accept()
            .await
            .map_err(|e| CliError::failure(format!("the redirect listener failed: {e}"), None))?;
        let mut head = Vec::new();
        let mut buffer = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let text = String::from_utf8_lossy(&head);
        let target = text.split_whitespace().nth(1).unwrap_or("/");
        let query = url::Url::parse(&format!("http://127.0.0.1{target}")).ok();
        let pair = |name: &str| {
            query.as_ref().and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            })
        };
        let (status, body, code) = match (pair("code"), pair("state"), pair("error")) {
            (Some(code), Some(s), _) if s == state => (
                "200 OK",
                "trail: authorized. You can close this tab.",
                Some(code),
            ),
            (_, _, Some(_)) => ("400 Bad Request", "trail: the access was denied.", None),
            _ => ("400 Bad Request", "trail: not the expected redirect.", None),
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = socket.write_all(answer.as_bytes()).await;
        let _ = socket.shutdown().await;
        match (code, pair("error")) {
            (Some(code), _) => return Ok(code),
            (None, Some(error)) => {
                return Err(CliError::failure(
                    format!("Zendesk refused the authorization: {error}"),
                    Some("approve the access in the browser, as an admin".to_string()),
                ));
            }
            (None, None) => continue,
        }
    }
}
