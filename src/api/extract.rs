//! Extractors whose rejections are problem+json like every other error.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use serde::de::DeserializeOwned;

use std::marker::PhantomData;
use std::sync::Arc;

use super::AppState;
pub use crate::domain::Principal;
use crate::domain::{Code, Scope, SecretDigest};
use crate::error::AppError;
use crate::users::KeyGrant;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Holds the configured admin token.
    Admin,
    /// Holds a valid API key of a user.
    Key(Arc<KeyGrant>),
    /// Sent no credentials.
    Anonymous,
}

impl Caller {
    /// Refuses anyone but the admin.
    pub fn require_admin(&self) -> Result<(), AppError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Key(_) => Err(AppError::Forbidden(
                "this endpoint is for the admin only".to_owned(),
            )),
            Caller::Anonymous => Err(needs_credentials()),
        }
    }

    /// The admin, or a key that carries `scope` (403 without it).
    pub fn require(&self, scope: Scope) -> Result<Principal, AppError> {
        match self {
            Caller::Admin => Ok(Principal::Admin),
            Caller::Key(grant) if grant.scopes.has(scope) => {
                Ok(Principal::User(grant.user_id.clone()))
            }
            Caller::Key(_) => Err(AppError::Forbidden(format!(
                "this key lacks the {} scope",
                scope.as_str()
            ))),
            Caller::Anonymous => Err(needs_credentials()),
        }
    }
}

fn needs_credentials() -> AppError {
    AppError::Unauthorized(
        "this endpoint needs credentials: Authorization: Bearer <token>".to_owned(),
    )
}

/// The caller as [`super::auth::authenticate`] established it for this
/// request; routes outside its reach see anonymous callers.
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller::Anonymous))
    }
}

/// A scope an endpoint needs, as a type, for [`Authorized`].
pub trait NeedsScope {
    const SCOPE: Scope;
}

/// Needs `links:read`.
pub struct LinksRead;
impl NeedsScope for LinksRead {
    const SCOPE: Scope = Scope::LinksRead;
}

/// Needs `links:write`.
pub struct LinksWrite;
impl NeedsScope for LinksWrite {
    const SCOPE: Scope = Scope::LinksWrite;
}

/// Needs `stats:read`.
pub struct StatsRead;
impl NeedsScope for StatsRead {
    const SCOPE: Scope = Scope::StatsRead;
}

/// The admin or a key with scope `S`. As an extractor it runs before the
/// body is read, so a caller without the right gets 401/403 without
/// making the server parse a 2 MiB batch first.
pub struct Authorized<S>(pub Principal, pub PhantomData<S>);

impl<S: NeedsScope, St: Send + Sync> FromRequestParts<St> for Authorized<S> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(Authorized(caller.require(S::SCOPE)?, PhantomData))
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
