//! The `request_timeout_ms` bound on every routed request, body included,
//! so a client that trickles its body (or a handler that stalls) cannot
//! hold a connection and a task for longer.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::AppError;

/// Runs the request within the timeout, else answers 408 and closes the
/// connection (what is left of the body is never read).
pub async fn within_request_timeout(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(state.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            let limit = state.request_timeout.as_millis();
            let mut response =
                AppError::RequestTimeout(format!("the request took longer than {limit} ms"))
                    .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}
