//! Who is calling (the admin, a user's API key, or nobody), established
//! once per API request, with failed authentications limited per client.
//!
//! A client that has just failed too often is refused (429) before the
//! credential it sends is even looked at, so a guesser cannot tell a hit
//! from a miss by the answer, and the limit holds whatever token each
//! guess presents.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::extract::{is_admin_token, parse_bearer, Caller};
use super::AppState;
use crate::client_ip::ClientIp;
use crate::error::AppError;
use crate::ratelimit::{Decision, LimitKey};
use crate::telemetry::metrics::LimitRule;

/// Puts the [`Caller`] in the request, or answers 401 for credentials
/// that are not valid and 429 for a client that failed too often.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(given) = req.headers().get(AUTHORIZATION) else {
        req.extensions_mut().insert(Caller::Anonymous);
        return next.run(req).await;
    };
    let client = LimitKey::client(client_ip(&req));
    if let Some(refusal) = state.limits.auth_blocked(&client).await {
        return refused(&state, refusal);
    }
    let token = given.to_str().ok().and_then(parse_bearer);
    if let Some(token) = token {
        if is_admin_token(&state, token) {
            req.extensions_mut().insert(Caller::Admin);
            return next.run(req).await;
        }
        match state.users.authenticate(token).await {
            Ok(Some(grant)) => {
                req.extensions_mut().insert(Caller::Key(grant));
                return next.run(req).await;
            }
            Ok(None) => {}
            // The store did not answer: not the caller's failure.
            Err(e) => return e.into_response(),
        }
    }
    let decision = state.limits.auth_failed(&client).await;
    if !decision.allowed {
        return refused(&state, decision);
    }
    AppError::Unauthorized("invalid credentials".to_owned()).into_response()
}

fn refused(state: &AppState, decision: Decision) -> Response {
    if let Some(metrics) = &state.metrics {
        metrics.record_rate_limited(LimitRule::Auth);
    }
    AppError::RateLimited(decision).into_response()
}

/// The client address the observer recorded.
pub fn client_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ClientIp>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0)
}
