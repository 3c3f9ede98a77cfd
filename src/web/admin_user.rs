//! `/ui/admin/users/{id}`: one user and their API keys. The admin issues
//! a key (shown once, on the page that answers the form, never again),
//! revokes one, or deletes the user after a confirmation page.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::form::{field_errors, filled, PageForm, PagePath, PageQuery};
use super::format;
use super::page::{render, see_other, Errors, Layout, PageError};
use super::visitor::Visitor;
use crate::api::AppState;
use crate::domain::{Scope, UserId};
use crate::error::AppError;
use crate::links::view::now_ms;
use crate::store::UserRecord;
use crate::users::input::KeyBody;

/// `?saved=1` after the user form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UserQuery {
    saved: String,
}

/// The issue-a-key form. Each scope is a checkbox.
#[derive(Clone, Deserialize, Default)]
#[serde(default)]
pub struct KeyForm {
    csrf: String,
    pub name: String,
    /// `YYYY-MM-DD`: the key works until the start of that day (UTC).
    pub expires: String,
    #[serde(rename = "links:read")]
    pub links_read: String,
    #[serde(rename = "links:write")]
    pub links_write: String,
    #[serde(rename = "stats:read")]
    pub stats_read: String,
}

impl KeyForm {
    /// The empty form, every scope ticked (as the API's default).
    fn all_scopes() -> KeyForm {
        KeyForm {
            links_read: "on".into(),
            links_write: "on".into(),
            stats_read: "on".into(),
            ..KeyForm::default()
        }
    }
}

/// A form that only carries its CSRF token.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    csrf: String,
}

/// A key as the list shows it.
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    layout: Layout,
    user: UserRecord,
    created: String,
    keys: Vec<KeyRow>,
    saved: bool,
    /// A key just issued: shown this once.
    issued: Option<String>,
    revoked: bool,
    form: KeyForm,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "delete_user.html")]
struct DeleteUserPage {
    layout: Layout,
    id: String,
    keys: usize,
}

fn user_id(raw: &str) -> Result<UserId, PageError> {
    UserId::parse(raw).map_err(|_| AppError::NotFound("no user has that id".to_owned()).into())
}

/// Renders the user's page.
async fn user_page(
    state: &AppState,
    visitor: &Visitor,
    id: &UserId,
    page: (bool, Option<String>, bool),
    form: KeyForm,
    errors: Errors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let user = state.users.get(id.as_str()).await?;
    let keys = state.users.list_keys(id.as_str()).await?;
    let (saved, issued, revoked) = page;
    let keys = keys
        .iter()
        .map(|k| KeyRow {
            id: k.id.clone(),
            name: k.name.clone().unwrap_or_default(),
            scopes: crate::domain::Scopes::from_bits(k.scopes)
                .list()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: format::time(k.created_at),
            expires: k
                .expires_at
                .map_or_else(|| "Never".to_owned(), format::time),
        })
        .collect();
    let page = UserPage {
        layout: visitor.layout(format!("User {}", user.id), "admin"),
        created: format::time(user.created_at),
        user,
        keys,
        saved,
        issued,
        revoked,
        form,
        errors,
    };
    Ok(render(&page, status))
}

/// `GET /ui/admin/users/{id}`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    PagePath(id): PagePath<String>,
    PageQuery(query): PageQuery<UserQuery>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    visitor.require_admin(&format!("/ui/admin/users/{}", id.as_str()))?;
    let form = KeyForm::all_scopes();
    let flags = (query.saved == "1", None, query.saved == "revoked");
    user_page(
        &state,
        &visitor,
        &id,
        flags,
        form,
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /ui/admin/users/{id}/keys`: issues a key and shows it once.
pub async fn issue_key(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    PagePath(id): PagePath<String>,
    PageForm(form): PageForm<KeyForm>,
) -> Result<Response, PageError> {
    visitor.check_csrf(&form.csrf, &headers)?;
    let id = user_id(&id)?;
    visitor.require_admin(&format!("/ui/admin/users/{}", id.as_str()))?;
    let scopes: Vec<String> = [
        (Scope::LinksRead, &form.links_read),
        (Scope::LinksWrite, &form.links_write),
        (Scope::StatsRead, &form.stats_read),
    ]
    .into_iter()
    .filter(|(_, on)| on.as_str() == "on")
    .map(|(scope, _)| scope.as_str().to_owned())
    .collect();
    let body = KeyBody {
        name: filled(&form.name),
        expires_at: filled(&form.expires).map(|day| format!("{day}T00:00:00Z")),
        scopes: Some(scopes),
    };
    let mut errors = Errors::default();
    let issued = match body.validate(now_ms()) {
        Ok(spec) => {
            let issued = state
                .users
                .issue_key(id.as_str(), spec.name, spec.expires_at, spec.scopes)
                .await;
            match issued {
                Ok(issued) => Some(issued.secret),
                Err(e) => {
                    field_errors(e, &mut errors)?;
                    None
                }
            }
        }
        Err(e) => {
            field_errors(e, &mut errors)?;
            None
        }
    };
    let status = if issued.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let form = if issued.is_some() {
        KeyForm::all_scopes()
    } else {
        form
    };
    user_page(
        &state,
        &visitor,
        &id,
        (false, issued, false),
        form,
        errors,
        status,
    )
    .await
}

/// `POST /ui/admin/users/{id}/keys/{key_id}/revoke`.
pub async fn revoke_key(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    PagePath((id, key_id)): PagePath<(String, String)>,
    PageForm(form): PageForm<TokenForm>,
) -> Result<Response, PageError> {
    visitor.check_csrf(&form.csrf, &headers)?;
    let id = user_id(&id)?;
    visitor.require_admin(&format!("/ui/admin/users/{}", id.as_str()))?;
    state.users.revoke_key(id.as_str(), &key_id).await?;
    Ok(see_other(&format!(
        "/ui/admin/users/{}?saved=revoked",
        id.as_str()
    )))
}

/// `GET /ui/admin/users/{id}/delete`: are you sure?
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    visitor.require_admin(&format!("/ui/admin/users/{}/delete", id.as_str()))?;
    let keys = state.users.list_keys(id.as_str()).await?.len();
    let page = DeleteUserPage {
        layout: visitor.layout(format!("Delete user {}", id.as_str()), "admin"),
        id: id.into_string(),
        keys,
    };
    Ok(render(&page, StatusCode::OK))
}

/// `POST /ui/admin/users/{id}/delete`: deletes the user and revokes their
/// keys; their links stay.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    PagePath(id): PagePath<String>,
    PageForm(form): PageForm<TokenForm>,
) -> Result<Response, PageError> {
    visitor.check_csrf(&form.csrf, &headers)?;
    let id = user_id(&id)?;
    visitor.require_admin("/ui/admin")?;
    state.users.delete(id.as_str()).await?;
    Ok(see_other("/ui/admin"))
}
