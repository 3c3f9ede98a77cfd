//! `/ui/admin`: the admin's page of users (a page at a time), the form
//! that creates or updates one, and the import upload.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::form::{field_errors, filled, PageForm, PageQuery};
use super::format;
use super::import::ImportChoices;
use super::page::{render, see_other, Errors, Layout, PageError};
use super::visitor::Visitor;
use crate::api::AppState;
use crate::domain::UserId;
use crate::error::AppError;
use crate::links::finding::next_cursor;
use crate::users::input::UserBody;

/// Users per page.
const PAGE: u32 = 50;

/// `?cursor=`: the last user id of the previous page.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AdminQuery {
    cursor: String,
}

/// The create-or-update form.
#[derive(Clone, Deserialize, Default)]
#[serde(default)]
pub struct UserForm {
    csrf: String,
    pub id: String,
    pub name: String,
    pub email: String,
}

/// A user as the list shows them.
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    layout: Layout,
    users: Vec<UserRow>,
    next: Option<String>,
    paged: bool,
    form: UserForm,
    errors: Errors,
    import: ImportChoices,
}

/// Renders the admin page; `form` and `errors` are the user form's.
async fn admin_page(
    state: &AppState,
    visitor: &Visitor,
    cursor: &str,
    form: UserForm,
    errors: Errors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let after = match filled(cursor) {
        Some(c) => Some(
            UserId::parse(&c)
                .map_err(|_| AppError::BadRequest("cursor is not one this server issued".into()))?
                .into_string(),
        ),
        None => None,
    };
    let users = state.users.list(after.as_deref(), PAGE).await?;
    let next = next_cursor(&users, PAGE, |last| last.id.clone()).map(|c| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("cursor", &c)
            .finish();
        format!("/ui/admin?{query}")
    });
    let page = AdminPage {
        layout: visitor.layout("Admin", "admin"),
        users: users
            .into_iter()
            .map(|u| UserRow {
                created: format::time(u.created_at),
                id: u.id,
                name: u.name,
                email: u.email,
            })
            .collect(),
        next,
        paged: after.is_some(),
        form,
        errors,
        import: ImportChoices::new(),
    };
    Ok(render(&page, status))
}

/// `GET /ui/admin`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    PageQuery(query): PageQuery<AdminQuery>,
) -> Result<Response, PageError> {
    visitor.require_admin("/ui/admin")?;
    admin_page(
        &state,
        &visitor,
        &query.cursor,
        UserForm::default(),
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /ui/admin/users`: creates or updates a user, then shows them.
pub async fn put_user(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    PageForm(form): PageForm<UserForm>,
) -> Result<Response, PageError> {
    visitor.check_csrf(&form.csrf, &headers)?;
    visitor.require_admin("/ui/admin")?;
    let body = UserBody {
        name: Some(form.name.trim().to_owned()),
        email: Some(form.email.trim().to_owned()),
    };
    let id = form.id.trim();
    let mut errors = Errors::default();
    match body.validate(id) {
        Ok((id, name, email)) => {
            let (user, _) = state.users.put(id, name, email).await?;
            return Ok(see_other(&format!("/ui/admin/users/{}?saved=1", user.id)));
        }
        Err(e) => field_errors(e, &mut errors)?,
    }
    admin_page(
        &state,
        &visitor,
        "",
        form,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}
