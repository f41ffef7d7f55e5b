//! Zendesk authentication: API token (Basic `{email}/token:{token}`) or OAuth bearer token;
//! the tenant is the one whose credentials match. Also the scope and plan checks.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::config::Plan;
use crate::http::{json, set_header};
use crate::server::Sim;

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
        (t, None)
    } else if let Some(token) = auth.strip_prefix("Bearer ") {
        let t = sim
            .tenants
            .iter()
            .position(|t| t.config.zendesk.oauth_token == token.trim())
            .ok_or_else(invalid_token)?;
        (t, Some(&sim.tenants[t].config.zendesk.oauth_scopes))
    } else {
        return Err(unauthorized());
    };
    let audit_logs = path.starts_with("/api/v2/audit_logs");
    if let Some(scopes) = scopes {
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
