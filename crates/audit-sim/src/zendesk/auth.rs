//! Zendesk authentication: API token (Basic `{email}/token:{token}`), a static OAuth bearer
//! token, or an access token issued by `POST /oauth/tokens` (client credentials, or a
//! rotating refresh token); the tenant is the one whose credentials match. Also the scope and
//! plan checks.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::config::{Plan, TenantConfig};
use crate::data::prng::Draw;
use crate::http::{json, set_header};
use crate::server::Sim;

/// An issued token: its tenant, scopes and (access tokens) expiry.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    tenant: usize,
    scopes: Vec<String>,
    expires: DateTime<Utc>,
}

/// The access and refresh tokens `/oauth/tokens` has issued. A refresh token is removed when
/// it is used (rotation): presenting it again is `invalid_grant`.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    access: HashMap<String, Issued>,
    refresh: HashMap<String, Issued>,
    /// Authorization codes: the grant, its PKCE challenge and redirect URI (one use, 120 s).
    codes: HashMap<String, (Issued, String, String)>,
}

impl OAuthState {
    /// Each tenant's first refresh token, valid for 30 days.
    pub(crate) fn new(tenants: &[TenantConfig]) -> Self {
        let mut state = OAuthState::default();
        for (tenant, config) in tenants.iter().enumerate() {
            state.refresh.insert(
                config.zendesk.oauth_refresh_token.clone(),
                Issued {
                    tenant,
                    scopes: config.zendesk.oauth_client_scopes.clone(),
                    expires: Utc::now() + Duration::days(30),
                },
            );
        }
        state
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// `GET /oauth/authorizations/new`: the user's approval, scripted: a known client with a PKCE
/// `S256` challenge is approved at once and redirected to `redirect_uri` with a code (valid
/// 120 s, once) and the `state`.
pub async fn authorize(
    State(sim): State<Arc<Sim>>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| query.get(k).cloned().unwrap_or_default();
    let Some(tenant) = sim
        .tenants
        .iter()
        .position(|t| t.config.zendesk.oauth_client_id == get("client_id"))
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Unknown client");
    };
    let redirect = get("redirect_uri");
    let loopback =
        redirect.starts_with("http://127.0.0.1:") || redirect.starts_with("http://localhost:");
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
        || !loopback
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "response_type=code, a loopback redirect_uri and an S256 code_challenge are required",
        );
    }
    let allowed = &sim.tenants[tenant].config.zendesk.oauth_client_scopes;
    let scopes: Vec<String> = get("scope")
        .split_whitespace()
        .filter(|s| allowed.iter().any(|a| a == s))
        .map(str::to_string)
        .collect();
    let code = URL_SAFE_NO_PAD.encode(sim.next_uuid());
    sim.zendesk_oauth.lock().expect("oauth lock").codes.insert(
        code.clone(),
        (
            Issued {
                tenant,
                scopes,
                expires: Utc::now() + Duration::seconds(120),
            },
            get("code_challenge"),
            redirect.clone(),
        ),
    );
    let mut location = url::Url::parse(&redirect).expect("checked above");
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    let mut r = json(StatusCode::FOUND, &json!({}));
    set_header(&mut r, "location", location.as_str());
    r
}

/// `POST /oauth/tokens`: a JSON body with `grant_type` `client_credentials` or
/// `refresh_token`, the client's id and secret in the body.
pub async fn token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Some(body) = json_body
        .then(|| serde_json::from_slice::<Value>(&body).ok())
        .flatten()
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body must be JSON",
        );
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    };
    let Some(tenant) = sim.tenants.iter().position(|t| {
        t.config.zendesk.oauth_client_id == id && t.config.zendesk.oauth_client_secret == secret
    }) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication \
             included, or unsupported authentication method.",
        );
    };
    let allowed = &sim.tenants[tenant].config.zendesk.oauth_client_scopes;
    let mut state = sim.zendesk_oauth.lock().expect("oauth lock");
    let scopes = match field("grant_type").as_deref() {
        Some("client_credentials") => match field("scope") {
            None => allowed.clone(),
            Some(scope) => {
                let asked: Vec<String> = scope.split_whitespace().map(str::to_string).collect();
                if asked.is_empty() || asked.iter().any(|s| !allowed.contains(s)) {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "The requested scope is invalid, unknown, or malformed.",
                    );
                }
                asked
            }
        },
        Some("authorization_code") => {
            let code = field("code").unwrap_or_default();
            let verifier = field("code_verifier").unwrap_or_default();
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
            let challenge = URL_SAFE_NO_PAD.encode(digest.as_ref());
            match state.codes.remove(&code) {
                Some((issued, expected, redirect))
                    if issued.tenant == tenant
                        && issued.expires > Utc::now()
                        && expected == challenge
                        && field("redirect_uri").as_deref() == Some(redirect.as_str()) =>
                {
                    issued.scopes
                }
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The authorization code is invalid, expired, or does not match the \
                         code verifier or redirect URI.",
                    );
                }
            }
        }
        Some("refresh_token") => {
            let presented = field("refresh_token").unwrap_or_default();
            match state.refresh.remove(&presented) {
                Some(issued) if issued.tenant == tenant && issued.expires > Utc::now() => {
                    issued.scopes
                }
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The provided authorization grant is invalid, expired, revoked, or \
                         was issued to another client.",
                    );
                }
            }
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported.",
            );
        }
    };
    let refresh = matches!(
        field("grant_type").as_deref(),
        Some("refresh_token" | "authorization_code")
    );
    let expires_in = sim.config.zendesk.token_expires_in;
    let token = || {
        let mut d = Draw::new(&[
            sim.config.faults.seed,
            0x2E0A,
            crate::data::prng::hash_str(&sim.next_uuid()),
            tenant as u64,
        ]);
        let bytes: Vec<u8> = (0..4).flat_map(|_| d.next_u64().to_be_bytes()).collect();
        URL_SAFE_NO_PAD.encode(bytes)
    };
    let access_token = token();
    state.access.insert(
        access_token.clone(),
        Issued {
            tenant,
            scopes: scopes.clone(),
            expires: Utc::now() + Duration::seconds(expires_in as i64),
        },
    );
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "bearer",
        "scope": scopes.join(" "),
        "expires_in": expires_in,
    });
    if refresh {
        let refresh_token = token();
        state.refresh.insert(
            refresh_token.clone(),
            Issued {
                tenant,
                scopes,
                expires: Utc::now() + Duration::days(30),
            },
        );
        answer["refresh_token"] = json!(refresh_token);
        answer["refresh_token_expires_in"] = json!(30 * 86_400);
    }
    drop(state);
    sim.stats.token();
    json(StatusCode::OK, &answer)
}

fn unauthorized() -> Response {
    let mut r = json(
        StatusCode::UNAUTHORIZED,
        &json!({"error": "Couldn't authenticate you"}),
    );
    set_header(&mut r, "www-authenticate", "Basic realm=\"Web Password\"");
    r
}

fn invalid_token() -> Response {
    let mut r = json(
        StatusCode::UNAUTHORIZED,
        &json!({"error": "invalid_token", "error_description": "The access token provided is expired, revoked, malformed, or invalid for other reasons."}),
    );
    set_header(
        &mut r,
        "www-authenticate",
        "Bearer realm=\"Zendesk\", error=\"invalid_token\"",
    );
    r
}

/// The 403 of an account whose plan has no audit logs (assumption: the body Zendesk sends
/// for other permission refusals).
pub fn no_audit_logs() -> Response {
    json(
        StatusCode::FORBIDDEN,
        &json!({"error": "Forbidden", "description": "You do not have access to this page. Please contact the account owner of this help desk for further help."}),
    )
}

fn missing_scope(scope: &str) -> Response {
    json(
        StatusCode::FORBIDDEN,
        &json!({"error": "Forbidden", "description": format!("You are missing the following required scopes: {scope}")}),
    )
}

/// Finds the tenant of a request and checks its plan and scopes.
pub fn authenticate(
    sim: &Sim,
    headers: &HeaderMap,
    path: &str,
    method: &str,
) -> Result<usize, Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (tenant, scopes) = if let Some(b64) = auth.strip_prefix("Basic ") {
        let decoded = STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(unauthorized)?;
        let (user, password) = decoded.split_once(':').ok_or_else(unauthorized)?;
        // Only API tokens: e-mail + password is deprecated.
        let email = user.strip_suffix("/token").ok_or_else(unauthorized)?;
        let t = sim
            .tenants
            .iter()
            .position(|t| t.config.zendesk.email == email && t.config.zendesk.api_token == password)
            .ok_or_else(unauthorized)?;
        (t, Vec::new())
    } else if let Some(token) = auth.strip_prefix("Bearer ") {
        let token = token.trim();
        match sim
            .tenants
            .iter()
            .position(|t| t.config.zendesk.oauth_token == token)
        {
            Some(t) => (t, sim.tenants[t].config.zendesk.oauth_scopes.clone()),
            None => {
                let state = sim.zendesk_oauth.lock().expect("oauth lock");
                match state.access.get(token) {
                    Some(issued) if issued.expires > Utc::now() => {
                        (issued.tenant, issued.scopes.clone())
                    }
                    _ => return Err(invalid_token()),
                }
            }
        }
    } else {
        return Err(unauthorized());
    };
    let audit_logs = path.starts_with("/api/v2/audit_logs");
    let bearer = auth.starts_with("Bearer ");
    if bearer {
        let has = |s: &str| scopes.iter().any(|x| x == s);
        if audit_logs {
            if !has("read") && !has("auditlogs:read") {
                return Err(missing_scope("auditlogs:read"));
            }
            if method == "POST" && !has("read") && !has("write") && !has("auditlogs:read") {
                return Err(missing_scope("read"));
            }
        } else if path.starts_with("/api/v2/ticket_audits") || path.starts_with("/api/v2/tickets/")
        {
            if method == "PUT" && !has("write") {
                return Err(missing_scope("write"));
            }
            if method == "GET" && !has("read") {
                return Err(missing_scope("read"));
            }
        }
    }
    if audit_logs && sim.tenants[tenant].config.zendesk.plan != Plan::Enterprise {
        return Err(no_audit_logs());
    }
    Ok(tenant)
}
