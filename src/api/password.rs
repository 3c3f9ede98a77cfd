//! Password-protected links: the form a `GET /{code}` gets instead of the
//! redirect, and `POST /{code}`, which checks the password and redirects.
//! Guesses are limited per client and link, like failed authentications.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use sha2::{Digest, Sha256};

use super::visit::{gone, visit_of};
use super::AppState;
use crate::client_ip::ClientIp;
use crate::error::{AppError, Problem};
use crate::links::cache::Cached;
use crate::links::password_matches;
use crate::ratelimit::LimitKey;
use crate::telemetry::metrics::RedirectOutcome;

use super::extract::CodePath;

/// What a protected link answers to `GET` (and `HEAD`): a form asking for
/// the password, or 401 problem+json for clients that want JSON. Neither
/// says where the link goes.
pub(super) fn ask(code: &str, headers: &HeaderMap, wrong: bool) -> Response {
    if wants_json(headers) {
        let detail = if wrong {
            "wrong password"
        } else {
            "this link asks for a password: POST it as the form field `password`"
        };
        return AppError::Unauthorized(detail.to_owned()).response();
    }
    crate::web::protected::password_form(code, wrong)
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("json") && !accept.contains("text/html"))
}

/// The guessing bucket of one client (IPv6 by its /64) on one link.
fn guess_key(ip: IpAddr, code: &str) -> LimitKey {
    let digest = Sha256::digest(format!("password|{}|{code}", LimitKey::client(ip)));
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    LimitKey::Token(u64::from_be_bytes(first))
}

/// Checks a protected link's password: right, a `303` to the target (and a
/// click); wrong, the form again with `401`.
#[utoipa::path(post, path = "/{code}", tag = "redirect",
    params(("code" = String, Path, description = "A generated code or an alias")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`password=…`"),
    responses(
        (status = 303, description = "The right password: go to the target",
            headers(("Location" = String, description = "The target URL"))),
        (status = 401, description = "A wrong password (the form again, or problem+json for JSON clients)",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No link has that code",
            body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired, deleted or out of clicks",
            body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not a form",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unlock(
    State(state): State<Arc<AppState>>,
    Extension(client): Extension<ClientIp>,
    headers: HeaderMap,
    CodePath(code): CodePath,
    body: Bytes,
) -> Result<Response, AppError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::UnsupportedMediaType(
            "send the password as application/x-www-form-urlencoded".to_owned(),
        ));
    }
    let key = guess_key(client.0, code.as_str());
    if let Some(refused) = state.limits.auth_blocked(&key).await {
        return Err(AppError::RateLimited(refused));
    }
    let record = state.links.get(code.as_str()).await?;
    let Some(hash) = record.password_hash.clone() else {
        // Nothing to unlock: the link opens with a plain GET.
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SEE_OTHER;
        let location = format!("/{}", code.as_str());
        if let Ok(location) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return Ok(response);
    };
    let target = match Cached::from_record(Some(&record)) {
        Cached::Live(target) if !target.is_expired() => target,
        _ => return Err(gone()),
    };
    let attempt = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "password")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !password_matches(attempt, hash).await? {
        let decision = state.limits.auth_failed(&key).await;
        if !decision.allowed {
            return Err(AppError::RateLimited(decision));
        }
        return Ok(ask(code.as_str(), &headers, true));
    }
    let visit = visit_of(&headers, client.0, &axum::http::Method::GET);
    if target.capped {
        if !state.links.take_capped_click(&target).await? {
            return Err(gone());
        }
        state.links.record_counted_visit(&target, &visit);
    } else {
        state.links.record_click(&target, &visit);
    }
    if let Some(metrics) = &state.metrics {
        metrics.record_redirect(RedirectOutcome::Found);
    }
    // 303 whatever the link's status: a 307 or 308 would send the form,
    // password and all, on to the target.
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
        .headers_mut()
        .insert(header::LOCATION, target.location.clone());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
