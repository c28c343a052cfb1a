//! A fake App Service managed-identity endpoint (`--identity-header SECRET`):
//! `GET /msi/token?api-version=2019-08-01&resource=R` with `x-identity-header: SECRET`
//! issues a fresh bearer token per request, which the API routes then accept until it
//! expires (`--identity-token-ttl SECS`). This is what azure_identity's
//! ManagedIdentityCredential talks to when IDENTITY_ENDPOINT / IDENTITY_HEADER are set.

use serde_json::{Value, json};

use crate::http::Request;
use crate::send::{Body, Reply};
use crate::state::{Issued, State, lock};
use crate::util::unix_now;

/// The path of the endpoint; IDENTITY_ENDPOINT is `http://127.0.0.1:PORT/msi/token`.
pub const PATH: &str = "/msi/token";
pub const API_VERSION: &str = "2019-08-01";
pub const DEFAULT_TTL_SECS: u64 = 3600;
/// The client id reported for the system-assigned identity.
const SYSTEM_CLIENT_ID: &str = "00000000-0000-0000-0000-0000000e0001";

/// Whether this request is for the identity endpoint (only when it is enabled).
pub fn handles(req: &Request, state: &State) -> bool {
    state.config.identity_header.is_some() && req.path == PATH
}

fn reply(status: u16, state: &State, body: Value) -> Reply {
    let headers = vec![
        (
            "content-type".to_string(),
            "application/json; charset=utf-8".to_string(),
        ),
        ("x-ms-request-id".to_string(), state.uuid()),
    ];
    Reply::new(status, headers, Body::Bytes(body.to_string().into_bytes()))
}

/// App Service's error shape.
fn error(status: u16, state: &State, message: &str) -> Reply {
    reply(
        status,
        state,
        json!({"statusCode": status, "message": message, "correlationId": state.uuid()}),
    )
}

pub fn respond(req: &Request, state: &State) -> Reply {
    let Some(secret) = state.config.identity_header.as_deref() else {
        return error(404, state, "Not found");
    };
    if req.method != "GET" {
        let mut r = error(
            405,
            state,
            "The requested resource does not support this method.",
        );
        r.headers.push(("allow".into(), "GET".into()));
        return r;
    }
    if req.header("x-identity-header") != Some(secret) {
        return error(
            401,
            state,
            "Unauthorized: the X-IDENTITY-HEADER request header is missing or does not match IDENTITY_HEADER.",
        );
    }
    match req.query_param("api-version") {
        Some(v) if v == API_VERSION => {}
        Some(v) => {
            return error(
                400,
                state,
                &format!("The api-version '{v}' is not supported. Supported: {API_VERSION}."),
            );
        }
        None => return error(400, state, "The api-version query parameter is required."),
    }
    let resource = match req.query_param("resource") {
        Some(r) if !r.is_empty() => r,
        _ => return error(400, state, "The resource query parameter is required."),
    };
    let client_id = req
        .query_param("client_id")
        .unwrap_or_else(|| SYSTEM_CLIENT_ID.to_string());
    let expires_on = unix_now() + state.config.identity_token_ttl;
    let token = format!("emu-msi-{}-{}", state.next_id(), state.hex32());
    lock(&state.issued).push(Issued {
        token: token.clone(),
        expires_on,
        resource: resource.clone(),
    });
    reply(
        200,
        state,
        json!({
            "access_token": token,
            "expires_on": expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }),
    )
}

/// Whether `token` was issued here and has not expired.
pub fn accepts(state: &State, token: &str) -> bool {
    lock(&state.issued)
        .iter()
        .any(|i| i.token == token && unix_now() <= i.expires_on)
}

/// `GET /_emulator/identity`: whether the endpoint is on, and the tokens it issued.
pub fn control_json(state: &State) -> Value {
    let tokens: Vec<Value> = lock(&state.issued)
        .iter()
        .map(|i| json!({"access_token": i.token, "expires_on": i.expires_on, "resource": i.resource}))
        .collect();
    json!({"enabled": state.config.identity_header.is_some(), "tokens": tokens})
}
