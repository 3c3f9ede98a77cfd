//! Extractors whose rejections are problem+json like every other error.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::Json;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::domain::Code;
use crate::error::AppError;

/// `Json<T>` with problem+json rejections (400, 413, 415).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// `Query<T>` with problem+json rejections (400).
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// The `{code}` path segment, checked; anything that cannot be a code
/// (non-UTF-8, 10 KB long, wrong characters) is a plain 404.
pub struct CodePath(pub Code);

impl<S: Send + Sync> FromRequestParts<S> for CodePath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Code::parse(&raw)
            .map(CodePath)
            .ok_or_else(|| AppError::NotFound("no link has that code".to_owned()))
    }
}

/// Who is calling, from the `Authorization: Bearer` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Holds the configured admin token.
    Admin,
    /// Sent no credentials.
    Anonymous,
}

impl Caller {
    /// Refuses anyone but the admin.
    pub fn require_admin(self) -> Result<(), AppError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Anonymous => Err(AppError::Unauthorized(
                "this endpoint needs credentials: Authorization: Bearer <token>".to_owned(),
            )),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, AppError> {
        let Some(given) = parts.headers.get(AUTHORIZATION) else {
            return Ok(Caller::Anonymous);
        };
        match given.to_str().ok().and_then(parse_bearer) {
            Some(token) if is_admin_token(state, token) => Ok(Caller::Admin),
            _ => Err(AppError::Unauthorized("invalid credentials".to_owned())),
        }
    }
}

/// The token of an `Authorization: Bearer` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()
        .and_then(parse_bearer)
}

fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether `token` is the configured admin token.
pub fn is_admin_token(state: &AppState, token: &str) -> bool {
    state
        .admin_token
        .as_deref()
        .is_some_and(|admin| constant_time_eq(token.as_bytes(), admin.as_bytes()))
}

/// Proof that the caller holds the admin token. As an extractor it runs
/// before the body is read, so anonymous callers get 401 without making the
/// server parse a 2 MiB batch first.
pub struct Admin;

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, AppError> {
        Caller::from_request_parts(parts, state)
            .await?
            .require_admin()?;
        Ok(Admin)
    }
}

/// Compares secrets without leaking, through timing, where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_secrets() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
