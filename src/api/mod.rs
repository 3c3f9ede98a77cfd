//! HTTP routes: the redirect, the links API, the probes, metrics and docs,
//! wrapped in the request observer and the rate limits.

pub mod docs;
pub mod extract;
pub mod fast_redirect;
pub mod health;
pub mod limit;
pub mod links;
pub mod observe;
pub mod prometheus;
pub mod redirect;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::client_ip::TrustedProxies;
use crate::error::AppError;
use crate::links::LinkService;
use crate::ratelimit::RateLimits;
use crate::telemetry::metrics::Metrics;

/// Largest accepted request body, except for batch creates.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Largest accepted batch-create body.
pub const BATCH_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// State shared by every handler.
pub struct AppState {
    pub links: LinkService,
    /// Bearer token with full rights; `None` disables admin access.
    pub admin_token: Option<String>,
    /// Whether `POST /api/v1/links` needs no credentials.
    pub allow_anonymous: bool,
    /// The metrics registry; `None` with `metrics = false`.
    pub metrics: Option<Arc<Metrics>>,
    /// Whether `/metrics` is served on the main listener (not on
    /// `metrics_listen`).
    pub metrics_on_main: bool,
    /// The rate-limit rules and buckets.
    pub limits: RateLimits,
    /// Whose `X-Forwarded-For` is believed.
    pub proxies: TrustedProxies,
}

/// What the listeners serve: cached redirects answered up front
/// ([`fast_redirect`]), everything else by the [`router`].
pub fn service(state: Arc<AppState>) -> fast_redirect::FastRedirect {
    fast_redirect::FastRedirect::new(Arc::clone(&state), router(state))
}

/// The full router.
pub fn router(state: Arc<AppState>) -> Router {
    let create =
        post(links::create).layer(from_fn_with_state(Arc::clone(&state), limit::limit_create));
    let api = Router::new()
        .route("/links", create.get(links::list))
        .route(
            "/links/batch",
            post(links::create_batch).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
        )
        .route(
            "/links/{code}",
            get(links::show).patch(links::update).delete(links::remove),
        )
        .layer(from_fn_with_state(Arc::clone(&state), limit::limit_api));
    let mut follow = get(redirect::follow);
    if state.limits.limits_redirects() {
        follow = follow.layer(from_fn_with_state(
            Arc::clone(&state),
            limit::limit_redirect,
        ));
    }
    let mut app = Router::new()
        .route("/{code}", follow)
        .route("/_health", get(health::health))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::ready))
        .route("/docs", get(docs::docs_page))
        .route("/docs/{file}", get(docs::docs_asset))
        .route("/api-docs/openapi.json", get(docs::openapi_json));
    if state.metrics_on_main {
        app = app.route("/metrics", get(prometheus::scrape));
    }
    app.nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panicked))
        .layer(from_fn_with_state(Arc::clone(&state), observe::observe))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// A panicking handler answers 500 like any internal error (for
/// `CatchPanicLayer`). The panic itself was already reported by the panic
/// hook (stderr, and Sentry when configured), so it is logged here under
/// the observer's target, which error reporting skips: one event a panic.
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(message), _) => message,
        (_, Some(message)) => message.as_str(),
        _ => "(not a string)",
    };
    tracing::error!(target: observe::LOG_TARGET, panic = message, "a request handler panicked");
    AppError::Internal("a request handler panicked".to_owned()).response()
}

async fn not_found() -> AppError {
    AppError::NotFound("no such route".to_owned())
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed("that method is not allowed here".to_owned())
}
