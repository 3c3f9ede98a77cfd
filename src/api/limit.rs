//! Rate-limit middleware for the three rules; the admin token is never
//! limited. Allowed responses carry the `RateLimit-*` headers too, so
//! clients can pace themselves before they hit a 429.

use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::extract::{bearer_token, is_admin_token};
use super::AppState;
use crate::client_ip::ClientIp;
use crate::error::AppError;
use crate::ratelimit::LimitKey;
use crate::telemetry::metrics::LimitRule;

/// Link creation: per client IP, for anonymous and keyed callers.
pub async fn limit_create(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if is_admin(&state, req.headers()) {
        return next.run(req).await;
    }
    let key = LimitKey::Ip(client_ip(&req));
    enforce(&state, LimitRule::Create, key, req, next).await
}

/// The whole API: per API key (requests without a key are not keyed).
pub async fn limit_api(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let token = match bearer_token(req.headers()) {
        Some(token) if !is_admin_token(&state, token) => token_hash(token),
        _ => return next.run(req).await,
    };
    enforce(&state, LimitRule::Api, LimitKey::Token(token), req, next).await
}

/// Redirects: per client IP, only when `redirect_rate` is set.
pub async fn limit_redirect(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let key = LimitKey::Ip(client_ip(&req));
    enforce(&state, LimitRule::Redirect, key, req, next).await
}

async fn enforce(
    state: &AppState,
    rule: LimitRule,
    key: LimitKey,
    req: Request,
    next: Next,
) -> Response {
    let decision = state.limits.check(rule, &key).await;
    if !decision.allowed {
        if let Some(metrics) = &state.metrics {
            metrics.record_rate_limited(rule);
        }
        return AppError::RateLimited(decision).into_response();
    }
    let mut response = next.run(req).await;
    decision.write_headers(response.headers_mut());
    response
}

fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    bearer_token(headers).is_some_and(|token| is_admin_token(state, token))
}

fn client_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ClientIp>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0)
}

/// A keyed hash of an API key: buckets are told apart without keeping the
/// key itself in a map or in Redis. The fixed seeds make every instance
/// agree on the bucket.
fn token_hash(token: &str) -> u64 {
    let state = ahash::RandomState::with_seeds(
        0x5348_4f52_5459_0001,
        0x7261_7465_6c69_6d69,
        0x0a1b_2c3d_4e5f_6071,
        0x8293_a4b5_c6d7_e8f9,
    );
    let mut hasher = state.build_hasher();
    hasher.write(token.as_bytes());
    hasher.finish()
}
