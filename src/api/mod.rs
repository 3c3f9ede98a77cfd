//! HTTP routes: the redirect, the links API, the probes, metrics and docs,
//! wrapped in the request observer and the rate limits.

pub mod auth;
pub mod deadline;
pub mod docs;
pub mod extract;
pub mod fast_redirect;
pub mod health;
pub mod limit;
pub mod link_list;
pub mod links;
pub mod observe;
pub mod password;
pub mod prometheus;
pub mod qr;
pub mod redirect;
pub mod stats;
pub mod users;
pub mod visit;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::analytics::Analytics;
use crate::client_ip::TrustedProxies;
use crate::domain::SecretDigest;
use crate::error::AppError;
use crate::links::LinkService;
use crate::ratelimit::RateLimits;
use crate::telemetry::metrics::Metrics;
use crate::users::UserService;

/// Largest accepted request body, except for batch creates.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Largest accepted batch-create body.
pub const BATCH_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// State shared by every handler.
pub struct AppState {
    pub links: LinkService,
    /// Click stats, and the bot check capped links need.
    pub analytics: Arc<Analytics>,
    /// Users and their API keys.
    pub users: UserService,
    /// The digest of the bearer token with full rights; `None` disables
    /// admin access.
    pub admin_token: Option<SecretDigest>,
    /// Longest time one routed request may take, body included.
    pub request_timeout: Duration,
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
    /// Whether cookies the web pages set are `Secure` (`base_url` is https).
    pub secure_cookies: bool,
}

/// What the listeners serve: cached redirects answered up front
/// ([`fast_redirect`]), everything else by the [`router`].
/// `pages` are the web interface's routes, served under the same layers.
pub fn service(state: Arc<AppState>, pages: Router<Arc<AppState>>) -> fast_redirect::FastRedirect {
    fast_redirect::FastRedirect::new(Arc::clone(&state), router(state, pages))
}

/// The series dashboards and alerts read, by method and route, with the
/// statuses each is registered at zero for when the server starts.
const SERIES_AT_START: &[(Method, &str, &[u16])] = &[
    (Method::GET, "/{code}", &[302, 404, 410, 500, 503]),
    (Method::HEAD, "/{code}", &[302, 404, 410]),
    (
        Method::POST,
        "/api/v1/links",
        &[201, 401, 409, 422, 429, 500, 503],
    ),
    (
        Method::POST,
        "/api/v1/links/batch",
        &[200, 401, 429, 500, 503],
    ),
    (Method::GET, "/api/v1/links", &[200, 401, 429, 500, 503]),
    (
        Method::GET,
        "/api/v1/links/{code}",
        &[200, 401, 404, 429, 500, 503],
    ),
    (
        Method::PATCH,
        "/api/v1/links/{code}",
        &[200, 401, 404, 422, 429, 500, 503],
    ),
    (
        Method::DELETE,
        "/api/v1/links/{code}",
        &[204, 401, 404, 429, 500, 503],
    ),
    (Method::GET, "/readyz", &[200, 503]),
    (Method::GET, "/healthz", &[200]),
    (Method::GET, "unmatched", &[404]),
];

/// Registers [`SERIES_AT_START`].
fn register_series(metrics: &Metrics) {
    for (method, route, statuses) in SERIES_AT_START {
        metrics.register_route(method, route, statuses);
    }
}

/// The full router: the API, the redirect and `pages`, under the request
/// observer, the timeout and the body limit.
pub fn router(state: Arc<AppState>, pages: Router<Arc<AppState>>) -> Router {
    if let Some(metrics) = &state.metrics {
        register_series(metrics);
    }
    let create =
        post(links::create).layer(from_fn_with_state(Arc::clone(&state), limit::limit_create));
    let api = Router::new()
        .route("/links", create.get(link_list::list))
        .route(
            "/links/batch",
            post(links::create_batch).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
        )
        .route(
            "/links/{code}",
            get(links::show).patch(links::update).delete(links::remove),
        )
        .route("/links/{code}/stats", get(stats::link_stats))
        .route("/stats", get(stats::caller_stats))
        .route("/users", get(users::list_users))
        .route(
            "/users/{id}",
            get(users::show_user)
                .put(users::put_user)
                .delete(users::delete_user),
        )
        .route(
            "/users/{id}/keys",
            get(users::list_keys).post(users::issue_key),
        )
        .route("/users/{id}/keys/{key_id}", delete(users::revoke_key))
        .layer(from_fn_with_state(Arc::clone(&state), auth::authenticate));
    let mut follow = get(redirect::follow);
    if state.limits.limits_redirects() {
        follow = follow.layer(from_fn_with_state(
            Arc::clone(&state),
            limit::limit_redirect,
        ));
    }
    let mut app = Router::new()
        .route("/{code}", follow.post(password::unlock))
        .route("/{code}/qr", get(qr::qr))
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
        .merge(pages)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panicked))
        .layer(from_fn_with_state(
            Arc::clone(&state),
            deadline::within_request_timeout,
        ))
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
