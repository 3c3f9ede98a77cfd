//! The `/api/v1/users` endpoints: users and their API keys (admin), and
//! a user reading their own record with one of their keys.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{Admin, ApiJson, ApiQuery, Caller};
use super::AppState;
use crate::domain::UserId;
use crate::error::{AppError, Problem};
use crate::links::finding::{next_cursor, page_limit};
use crate::links::view::now_ms;
use crate::users::input::{KeyBody, UserBody};
use crate::users::view::{IssuedKeyView, KeyList, KeyView, UserPage, UserView};

/// `GET /api/v1/users` query string.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Users per page, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page: the id of its last user.
    #[param(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    cursor: Option<String>,
}

fn user_id(raw: &str) -> Result<UserId, AppError> {
    UserId::parse(raw).map_err(|_| AppError::NotFound("no user has that id".to_owned()))
}

/// Creates (201) or updates (200) a user.
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "1 to 64 of A-Z a-z 0-9 _ . -", pattern = "^[A-Za-z0-9_.-]{1,64}$")),
    request_body = UserBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 201, description = "Created", body = UserView,
            headers(("Location" = String, description = "The user's API URL"))),
        (status = 422, description = "Invalid id, name or email",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_user(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<Response, AppError> {
    let (id, name, email) = body.validate(&id)?;
    let (user, created) = state.users.put(id, name, email).await?;
    let location = format!("/api/v1/users/{}", user.id);
    let view = Json(UserView::of(user));
    Ok(if created {
        (StatusCode::CREATED, [(header::LOCATION, location)], view).into_response()
    } else {
        view.into_response()
    })
}

/// Shows a user: to the admin, or to that user with any of their keys.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 403, description = "Another user's record",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>, AppError> {
    match &caller {
        Caller::Key(grant) if grant.user_id == id => {}
        caller => caller.require_admin()?,
    }
    let id = user_id(&id)?;
    Ok(Json(UserView::of(state.users.get(id.as_str()).await?)))
}

/// Lists users in id order, a page at a time.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    params(UserListQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of users", body = UserPage)))]
pub async fn list_users(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<UserListQuery>,
) -> Result<Json<UserPage>, AppError> {
    let limit = page_limit(query.limit)?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let users = state.users.list(after.as_deref(), limit).await?;
    let next_cursor = next_cursor(&users, limit, |last| last.id.clone());
    let items = users.into_iter().map(UserView::of).collect();
    Ok(Json(UserPage { items, next_cursor }))
}

fn decode_cursor(cursor: &str) -> Result<String, AppError> {
    UserId::parse(cursor)
        .map(UserId::into_string)
        .map_err(|_| AppError::BadRequest("cursor is not one this server issued".to_owned()))
}

/// Deletes a user and revokes all their keys; their links stay.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.users.delete(user_id(&id)?.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues an API key to a user; the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/users/{id}/keys", tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    request_body = KeyBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Issued", body = IssuedKeyView),
        (status = 404, description = "No such user",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name, expiry or scopes, or too many keys",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn issue_key(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<KeyBody>,
) -> Result<Response, AppError> {
    let id = user_id(&id)?;
    let spec = body.validate(now_ms())?;
    let issued = state
        .users
        .issue_key(id.as_str(), spec.name, spec.expires_at, spec.scopes)
        .await?;
    let view = IssuedKeyView {
        info: KeyView::of(&issued.record),
        key: issued.secret,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Lists a user's keys (not revoked ones), without their secrets.
#[utoipa::path(get, path = "/api/v1/users/{id}/keys", tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The keys", body = KeyList),
        (status = 404, description = "No such user",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_keys(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<KeyList>, AppError> {
    let keys = state.users.list_keys(user_id(&id)?.as_str()).await?;
    Ok(Json(KeyList {
        items: keys.iter().map(KeyView::of).collect(),
    }))
}

/// Revokes a key; it stops working on every instance within a second.
#[utoipa::path(delete, path = "/api/v1/users/{id}/keys/{key_id}", tag = "users",
    params(("id" = String, Path, description = "The user's id"),
        ("key_id" = String, Path, description = "The key's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such user or key",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_key(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    state
        .users
        .revoke_key(user_id(&id)?.as_str(), &key_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_user_ids() {
        assert_eq!(decode_cursor("ada.l").unwrap(), "ada.l");
        for bad in ["", "a b", "ä", &"a".repeat(65)] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
