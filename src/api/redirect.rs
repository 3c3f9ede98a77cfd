//! `GET`/`HEAD /{code}`: the hot path.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::Response;

use super::extract::CodePath;
use super::AppState;
use crate::domain::Code;
use crate::error::{AppError, Problem};
use crate::links::cache::{Cached, Target};
use crate::telemetry::metrics::RedirectOutcome;

const PERMANENT: HeaderValue = HeaderValue::from_static("public, max-age=86400");
const TEMPORARY: HeaderValue = HeaderValue::from_static("private, no-store");

/// Redirects to the link's URL with the link's status; GET counts a click.
#[utoipa::path(method(get, head), path = "/{code}", tag = "redirect",
    params(("code" = String, Path, description = "A generated code or an alias")),
    responses(
        (status = 301, description = "Moved permanently (the link's redirect_status)", headers(("Location" = String, description = "The target URL, byte for byte"), ("Cache-Control" = String))),
        (status = 302, description = "Found (the default redirect_status)", headers(("Location" = String, description = "The target URL, byte for byte"), ("Cache-Control" = String))),
        (status = 307, description = "Temporary redirect", headers(("Location" = String, description = "The target URL, byte for byte"), ("Cache-Control" = String))),
        (status = 308, description = "Permanent redirect", headers(("Location" = String, description = "The target URL, byte for byte"), ("Cache-Control" = String))),
        (status = 410, description = "Expired, deleted or out of clicks",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn follow(
    State(state): State<Arc<AppState>>,
    method: Method,
    CodePath(code): CodePath,
) -> Result<Response, AppError> {
    let result = redirect(&state, method, code).await;
    if let Some(metrics) = &state.metrics {
        match &result {
            Ok(_) => metrics.record_redirect(RedirectOutcome::Found),
            Err(AppError::NotFound(_)) => metrics.record_redirect(RedirectOutcome::NotFound),
            Err(AppError::Gone(_)) => metrics.record_redirect(RedirectOutcome::Gone),
            Err(_) => {}
        }
    }
    result
}

async fn redirect(state: &AppState, method: Method, code: Code) -> Result<Response, AppError> {
    let target = match state.links.resolve(code.as_str()).await? {
        Cached::Live(target) => target,
        Cached::Gone => return Err(gone()),
        Cached::Missing => return Err(AppError::NotFound("no link has that code".to_owned())),
    };
    if target.is_expired() {
        return Err(gone());
    }
    let counts = method == Method::GET;
    let allowed = match (target.capped, counts) {
        (true, true) => state.links.take_capped_click(&target).await?,
        (true, false) => state.links.has_clicks_left(&target.code).await?,
        (false, true) => {
            state.links.record_click(&target);
            true
        }
        (false, false) => true,
    };
    if !allowed {
        return Err(gone());
    }
    Ok(redirect_to(&target))
}

/// The redirect response for a live link (this handler and the fast path).
pub(super) fn redirect_to(target: &Target) -> Response {
    let cache_control = if matches!(target.status.as_u16(), 301 | 308) {
        PERMANENT
    } else {
        TEMPORARY
    };
    // Built by hand, not through `IntoResponse`: with room for the request
    // id the caller adds, the header map never grows.
    let mut headers = HeaderMap::with_capacity(3);
    headers.insert(header::LOCATION, own_copy(&target.location));
    headers.insert(header::CACHE_CONTROL, cache_control);
    let mut response = Response::new(Body::empty());
    *response.status_mut() = target.status;
    *response.headers_mut() = headers;
    response
}

/// A copy of a cached header value for one response. A clone would share
/// the bytes through a reference count in another allocation: for a link
/// not requested lately, one more cache miss and two atomic operations per
/// redirect. A copy of a URL reads only the bytes the response needs anyway.
fn own_copy(value: &HeaderValue) -> HeaderValue {
    // The bytes are already a valid header value, so this cannot fail.
    HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone())
}

fn gone() -> AppError {
    AppError::Gone("this link has expired, was deleted or has no clicks left".to_owned())
}
