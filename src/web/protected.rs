//! The page a password-protected link answers with instead of its
//! redirect: a form asking for the password, and nothing about where the
//! link goes.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use super::page::{render, Layout, PROTECTED_CSP};

#[derive(Template)]
#[template(path = "protected.html")]
struct ProtectedPage<'a> {
    layout: Layout,
    code: &'a str,
    wrong: bool,
}

/// The form for `code` (a checked code: letters, digits, `-` and `_`);
/// `wrong` after a wrong password, which answers 401.
pub fn password_form(code: &str, wrong: bool) -> Response {
    let page = ProtectedPage {
        layout: Layout {
            title: "Password needed".to_owned(),
            current: "",
            user: None,
            csrf: String::new(),
        },
        code,
        wrong,
    };
    let status = if wrong {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut response = render(&page, status);
    let headers = response.headers_mut();
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    headers.insert(header::CONTENT_SECURITY_POLICY, PROTECTED_CSP);
    response
}
