//! Signing in and out. An API key (or the admin token) is exchanged once
//! for a session cookie; a wrong one counts as a failed authentication,
//! limited per client exactly like a wrong bearer token on the API.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::form::{PageForm, PageQuery};
use super::page::{copy_limit_headers, render, see_other, Layout, PageError};
use super::visitor::{append_cookie, Visitor, CSRF_COOKIE, SESSION_COOKIE};
use crate::api::extract::is_admin_token;
use crate::api::AppState;
use crate::error::AppError;
use crate::ratelimit::LimitKey;
use crate::telemetry::metrics::LimitRule;
use crate::users::sessions::{OpenedSession, SESSION_TTL};

/// Where a visitor goes after signing in when nothing else was asked for.
const HOME: &str = "/ui/links";
/// Longest `next` kept.
const MAX_NEXT: usize = 2048;

/// `?next=`: the page to return to.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

/// The sign-in form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    token: String,
    next: String,
}

/// The sign-out form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LogoutForm {
    csrf: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    error: Option<String>,
}

/// `next` if it is a path on this site, else the default page: never
/// another site (`//evil`, `https://…`, `/\evil`).
fn safe_next(next: &str) -> String {
    let ok = next.len() <= MAX_NEXT
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.bytes().all(|b| b.is_ascii_graphic());
    if ok { next } else { HOME }.to_owned()
}

/// `GET /ui/login`: the form (or, when signed in already, onwards).
pub async fn page(visitor: Visitor, PageQuery(query): PageQuery<NextQuery>) -> Response {
    let next = safe_next(&query.next);
    if visitor.session.is_some() {
        return see_other(&next);
    }
    let page = LoginPage {
        layout: visitor.layout("Sign in", "login"),
        next,
        error: None,
    };
    render(&page, StatusCode::OK)
}

/// `POST /ui/login`: a session for a valid key or the admin token.
pub async fn login(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    visitor.check_csrf(&form.csrf, &headers)?;
    let next = safe_next(&form.next);
    let client = LimitKey::client(visitor.ip);
    let refused = match state.limits.auth_blocked(&client).await {
        Some(refused) => Some(refused),
        None => match open(&state, form.token.trim()).await? {
            Some(opened) => return Ok(signed_in(&visitor, opened, &next)),
            None => {
                let decision = state.limits.auth_failed(&client).await;
                (!decision.allowed).then_some(decision)
            }
        },
    };
    let (status, error) = match refused {
        Some(decision) => {
            if let Some(metrics) = &state.metrics {
                metrics.record_rate_limited(LimitRule::Auth);
            }
            let message = format!(
                "Too many failed sign-ins from your address. Try again in {} s.",
                decision.retry_after_secs
            );
            (Some(decision), message)
        }
        None => (
            None,
            "That is not a valid key: it may be mistyped, revoked or expired.".to_owned(),
        ),
    };
    let page = LoginPage {
        layout: visitor.layout("Sign in", "login"),
        next,
        error: Some(error),
    };
    let response = match status {
        Some(decision) => {
            let mut response = render(&page, StatusCode::TOO_MANY_REQUESTS);
            copy_limit_headers(AppError::RateLimited(decision), &mut response);
            response
        }
        None => render(&page, StatusCode::UNAUTHORIZED),
    };
    Ok(response)
}

/// A session for `token`, or `None` when it grants nothing.
async fn open(state: &AppState, token: &str) -> Result<Option<OpenedSession>, AppError> {
    if is_admin_token(state, token) {
        if let Some(admin) = &state.admin_token {
            return Ok(Some(state.users.open_admin_session(admin).await?));
        }
    }
    state.users.open_key_session(token).await
}

fn signed_in(visitor: &Visitor, opened: OpenedSession, next: &str) -> Response {
    let mut response = see_other(next);
    let cookie = visitor.cookie(SESSION_COOKIE, opened.secret, SESSION_TTL);
    append_cookie(&mut response, &cookie);
    // Signed-in forms carry the session's own token from now on.
    append_cookie(&mut response, &visitor.removal(CSRF_COOKIE));
    response
}

/// `POST /ui/logout`: ends the session here and on every instance.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    PageForm(form): PageForm<LogoutForm>,
) -> Result<Response, PageError> {
    visitor.check_csrf(&form.csrf, &headers)?;
    if let Some(secret) = visitor.session_secret() {
        state.users.end_session(secret).await?;
    }
    let mut response = see_other("/");
    append_cookie(&mut response, &visitor.removal(SESSION_COOKIE));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/ui/links?q=abc"), "/ui/links?q=abc");
        assert_eq!(safe_next("/"), "/");
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "ui/links",
            "/a b",
            "/\u{e9}",
        ] {
            assert_eq!(safe_next(bad), HOME, "{bad:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(MAX_NEXT))), HOME);
    }
}
