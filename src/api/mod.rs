//! HTTP routes: the redirect, the links API and the probes.

pub mod extract;
pub mod health;
pub mod links;
pub mod redirect;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::error::AppError;
use crate::links::LinkService;

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
}

/// The full router.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/links", post(links::create).get(links::list))
        .route(
            "/links/batch",
            post(links::create_batch).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
        )
        .route(
            "/links/{code}",
            get(links::show).patch(links::update).delete(links::remove),
        );
    Router::new()
        .route("/{code}", get(redirect::follow))
        .route("/_health", get(health::live))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound("no such route".to_owned())
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed("that method is not allowed here".to_owned())
}
