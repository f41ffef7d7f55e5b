//! `POST {login}/oauth/token` (client credentials) and bearer-token checks on the API.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use chrono::{Duration, Utc};
use serde_json::json;

use crate::data::prng::Draw;
use crate::http::json;
use crate::server::Sim;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        &json!({"error": error, "description": description, "error_description": description}),
    )
}

/// The token endpoint: `grant_type=client_credentials`, client id and secret in HTTP Basic
/// (or in the form).
pub async fn token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |k: &str| form.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let (id, secret) = match basic {
        Some(c) => c,
        None => match (field("client_id"), field("client_secret")) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client authentication failed",
                );
            }
        },
    };
    let Some(tenant) = sim
        .tenants
        .iter()
        .position(|t| t.config.genesys.client_id == id && t.config.genesys.client_secret == secret)
    else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "authentication failed",
        );
    };
    match field("grant_type").as_deref() {
        Some("client_credentials") => {}
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
                "unsupported grant type",
            );
        }
    }
    let expires_in = sim.config.genesys.token_expires_in;
    let mut d = Draw::new(&[
        sim.config.faults.seed,
        0x70CE,
        crate::data::prng::hash_str(&sim.next_uuid()),
        tenant as u64,
    ]);
    let bytes: Vec<u8> = (0..6).flat_map(|_| d.next_u64().to_be_bytes()).collect();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let expires = Utc::now() + Duration::seconds(expires_in as i64);
    sim.tokens
        .lock()
        .expect("tokens lock")
        .insert(token.clone(), (tenant, expires));
    sim.stats.token();
    json(
        StatusCode::OK,
        &json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in}),
    )
}

/// The tenant of a bearer token, or the 401 Genesys sends.
pub fn authenticate(sim: &Sim, headers: &HeaderMap, correlation: &str) -> Result<usize, Response> {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(super::error(
            StatusCode::UNAUTHORIZED,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
            correlation,
        ));
    };
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| super::bad_credentials(correlation))?;
    let tokens = sim.tokens.lock().expect("tokens lock");
    match tokens.get(token) {
        Some((tenant, expires)) if *expires > Utc::now() => Ok(*tenant),
        _ => Err(super::bad_credentials(correlation)),
    }
}
