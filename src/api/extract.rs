//! Extractors whose rejections are problem+json like every other error.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::domain::{Code, SecretDigest};
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

/// The caller as [`super::auth::authenticate`] established it for this
/// request; routes outside its reach see anonymous callers.
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .copied()
            .unwrap_or(Caller::Anonymous))
    }
}

/// The token of an `Authorization: Bearer` header value, if it is one.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether `token` is the configured admin token.
pub fn is_admin_token(state: &AppState, token: &str) -> bool {
    state
        .admin_token
        .as_ref()
        .is_some_and(|admin: &SecretDigest| admin.matches(token))
}

/// Proof that the caller holds the admin token. As an extractor it runs
/// before the body is read, so anonymous callers get 401 without making the
/// server parse a 2 MiB batch first.
pub struct Admin;

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Caller::from_request_parts(parts, state)
            .await?
            .require_admin()?;
        Ok(Admin)
    }
}
