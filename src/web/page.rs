//! What every page shares: the layout's data, the headers pages are served
//! with (a strict Content-Security-Policy above all), field errors shown
//! next to their field, and error pages.

use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::assets;
use crate::error::{AppError, FieldError};

/// The pages' policy, with `$forms` as the allowed form targets.
macro_rules! csp {
    ($forms:literal) => {
        HeaderValue::from_static(concat!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action ",
            $forms,
            "; frame-ancestors 'none'; base-uri 'none'"
        ))
    };
}

/// Only this origin's scripts, styles, images and forms; no frames, no
/// inline script or style, no plugins.
pub const CSP: HeaderValue = csp!("'self'");

/// [`CSP`] for a protected link's password form, whose answer is a
/// redirect to the link's target on any site: browsers apply
/// `form-action` to the redirect too, so it must allow any web origin.
pub const PROTECTED_CSP: HeaderValue = csp!("'self' http: https:");

/// Who is signed in, as the header shows it.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The user id, or `admin`.
    pub label: String,
    pub admin: bool,
}

/// The data the layout (`templates/base.html`) needs on every page.
#[derive(Clone, Debug)]
pub struct Layout {
    pub title: String,
    /// Which navigation entry is the current page: `shorten`, `links`,
    /// `admin`, `login`, or empty.
    pub current: &'static str,
    pub user: Option<SignedIn>,
    /// The CSRF token of this visitor, for the sign-out form.
    pub csrf: String,
}

impl Layout {
    /// The stylesheet's URL, with its content hash so caches never serve
    /// a stale one.
    pub fn css(&self) -> &'static str {
        assets::url("app.css")
    }

    /// The script's URL (see [`Layout::css`]).
    pub fn js(&self) -> &'static str {
        assets::url("app.js")
    }

    /// The icon's URL (see [`Layout::css`]).
    pub fn icon(&self) -> &'static str {
        assets::url("icon.svg")
    }

    /// Whether the signed-in visitor is the admin.
    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.admin)
    }
}

/// One option of a `<select>`.
#[derive(Clone, Debug)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

impl Choice {
    /// The options `(value, label)`, with `current` selected.
    pub fn list(options: &[(&'static str, &'static str)], current: &str) -> Vec<Choice> {
        options
            .iter()
            .map(|&(value, label)| Choice {
                value,
                label,
                selected: value == current,
            })
            .collect()
    }
}

/// The field errors of a submitted form, looked up by field name.
#[derive(Clone, Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    /// The message for `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// Whether there is any error at all.
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    /// Adds one.
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
}

/// Renders a page with `status` and the headers every page carries.
pub fn render(page: &impl Template, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            page_headers(response.headers_mut());
            response
        }
        Err(e) => AppError::Internal(format!("rendering a page failed: {e}")).into_response(),
    }
}

/// The headers of every HTML page: type, CSP, and never cached (pages
/// hold per-visitor tokens).
pub fn page_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, CSP);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// An error page: the status and the problem's title and detail.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    detail: &'a str,
}

/// Why a page could not be shown: an error, rendered as an HTML error page
/// with the status the API would answer (and its `Retry-After` on 429 and
/// 503), or a visitor who has to sign in first.
#[derive(Debug)]
pub enum PageError {
    App(AppError),
    /// Not signed in: to the sign-in page, then back to `next`.
    SignIn {
        next: String,
    },
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> PageError {
        PageError::App(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::App(error) => error_page(error),
            PageError::SignIn { next } => {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                see_other(&format!("/ui/login?{query}"))
            }
        }
    }
}

fn error_page(error: AppError) -> Response {
    error.log();
    let problem = error.problem();
    let page = ErrorPage {
        layout: Layout {
            title: problem.title.clone(),
            current: "",
            user: None,
            csrf: String::new(),
        },
        status: problem.status,
        detail: &problem.detail,
    };
    let mut response = render(&page, error.status());
    copy_limit_headers(error, &mut response);
    response
}

/// The `Retry-After` and `RateLimit-*` headers the API would send with
/// `error`, so a page is limited as visibly as the API.
pub fn copy_limit_headers(error: AppError, response: &mut Response) {
    if !matches!(error, AppError::RateLimited(_) | AppError::Unavailable(_)) {
        return;
    }
    let api = error.response();
    for (name, value) in api.headers() {
        if name == header::RETRY_AFTER || name.as_str().starts_with("ratelimit-") {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
}

/// `303 See Other` to `location` (a path on this site), after a form.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
