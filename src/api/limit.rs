//! Rate-limit middleware for link creation and redirects; the admin token
//! is never limited. Failed authentications are limited in
//! [`super::auth`]. Allowed responses carry the `RateLimit-*` headers too,
//! so clients can pace themselves before they hit a 429.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::client_ip;
use super::extract::Caller;
use super::AppState;
use crate::error::AppError;
use crate::ratelimit::LimitKey;
use crate::telemetry::metrics::LimitRule;

/// Link creation: per client IP, for anonymous and keyed callers.
pub async fn limit_create(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if req.extensions().get::<Caller>() == Some(&Caller::Admin) {
        return next.run(req).await;
    }
    let key = LimitKey::client(client_ip(&req));
    enforce(&state, LimitRule::Create, key, req, next).await
}

/// Redirects: per client IP, only when `redirect_rate` is set.
pub async fn limit_redirect(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let key = LimitKey::client(client_ip(&req));
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
