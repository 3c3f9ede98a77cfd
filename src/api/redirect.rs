//! `GET`/`HEAD /{code}`: the hot path.

use std::sync::Arc;

use axum::body::Body;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Extension;

use super::extract::CodePath;
use super::visit::{gone, no_such_link, visit_of};
use super::AppState;
use crate::analytics::visits::{user_agent_of, Visit};
use crate::client_ip::ClientIp;
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
        (status = 200, description = "A link with max_clicks asked for by a bot, a link-preview fetcher or a HEAD request: a page without the target, and no click used", content_type = "text/html"),
        (status = 404, description = "No link has that code",
            body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired, deleted or out of clicks",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn follow(
    State(state): State<Arc<AppState>>,
    method: Method,
    Extension(client): Extension<ClientIp>,
    headers: HeaderMap,
    CodePath(code): CodePath,
) -> Result<Response, AppError> {
    let visit = visit_of(&headers, client.0, &method);
    let result = redirect(&state, &visit, code, &headers).await;
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

async fn redirect(
    state: &AppState,
    visit: &Visit<'_>,
    code: Code,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let target = match state.links.resolve(code.as_str()).await? {
        Cached::Live(target) => target,
        Cached::Gone => return Err(gone()),
        Cached::Missing => {
            state.links.record_unknown(visit);
            return Err(no_such_link());
        }
    };
    if target.is_expired() {
        return Err(gone());
    }
    if target.protected {
        // The form, not the target; nothing is counted until the password.
        return Ok(super::password::ask(code.as_str(), headers, false));
    }
    if !target.capped {
        state.links.record_click(&target, visit);
        return Ok(redirect_to(&target));
    }
    // A bot must not use up a capped link: a chat app unfurling a one-time
    // link would spend it. It gets a page without the target instead, so
    // claiming to be a bot gains nothing either.
    let bot = visit.head
        || state
            .analytics
            .is_bot(&String::from_utf8_lossy(user_agent_of(visit)))
            .await;
    if bot {
        if !state.links.has_clicks_left(&target.code).await? {
            return Err(gone());
        }
        state.links.record_counted_visit(&target, visit);
        return Ok(no_target_page());
    }
    if !state.links.take_capped_click(&target).await? {
        return Err(gone());
    }
    state.links.record_counted_visit(&target, visit);
    Ok(redirect_to(&target))
}

/// The page a bot gets for a capped link: no target, no click used.
fn no_target_page() -> Response {
    const PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <meta name=\"robots\" content=\"noindex\"><title>Limited link</title></head>\
        <body><p>This short link can be opened a limited number of times. \
        Open it in a browser to follow it.</p></body></html>";
    let mut response = Response::new(axum::body::Body::from(Bytes::from_static(PAGE.as_bytes())));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, TEMPORARY);
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
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
