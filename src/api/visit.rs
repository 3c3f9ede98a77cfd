//! What the redirect routes share: the visit a request records, and the
//! answer for a link that cannot be followed any more.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, HeaderValue, Method};

use crate::analytics::visits::Visit;
use crate::error::AppError;

/// What the redirect path records of a request.
pub(super) fn visit_of<'a>(headers: &'a HeaderMap, ip: IpAddr, method: &Method) -> Visit<'a> {
    let header = |name| {
        headers
            .get(name)
            .map_or(&b""[..], |v: &HeaderValue| v.as_bytes())
    };
    Visit {
        user_agent: header(header::USER_AGENT),
        referer: header(header::REFERER),
        ip,
        head: method == Method::HEAD,
    }
}

/// The 404 of a code no link has.
pub(super) fn no_such_link() -> AppError {
    AppError::NotFound("no link has that code".to_owned())
}

/// The 410 of an expired, deleted or used-up link.
pub(super) fn gone() -> AppError {
    AppError::Gone("this link has expired, was deleted or has no clicks left".to_owned())
}
