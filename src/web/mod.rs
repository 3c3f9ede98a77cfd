//! The web interface: server-rendered pages (askama templates compiled
//! into the binary from `templates/`), one stylesheet and one small
//! script (`assets/ui`), under a strict Content-Security-Policy. Every
//! page works without JavaScript; the script adds copy buttons.
//!
//! Pages use the same services as the JSON API, with the same checks:
//! the shorten page, signing in with an API key (a session cookie), the
//! visitor's links, a link's page with its analytics, editing and
//! deleting, and the admin's users, keys and imports.

mod admin;
mod admin_user;
mod assets;
mod chart;
mod edit;
mod form;
mod format;
mod import;
mod link_info;
mod link_list;
mod link_page;
mod login;
pub mod page;
pub mod protected;
mod shorten;
mod visitor;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn;
use axum::routing::{get, post};
use axum::Router;

use crate::api::AppState;
use crate::error::AppError;
use page::PageError;

/// The pages: `/` and everything under `/ui/`.
pub fn routes() -> Router<Arc<AppState>> {
    let ui = Router::new()
        .route("/login", get(login::page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/static/{file}", get(assets::serve))
        .route("/links", get(link_list::page))
        .route("/links/{code}", get(link_page::page))
        .route("/links/{code}/edit", get(edit::edit_form).post(edit::save))
        .route(
            "/links/{code}/delete",
            get(edit::confirm_delete).post(edit::delete),
        )
        .route("/admin", get(admin::page))
        .route("/admin/users", post(admin::put_user))
        .route(
            "/admin/import",
            get(import::form_page)
                .post(import::upload)
                .layer(DefaultBodyLimit::max(import::UPLOAD_BODY_LIMIT)),
        )
        .route("/admin/users/{id}", get(admin_user::page))
        .route("/admin/users/{id}/keys", post(admin_user::issue_key))
        .route(
            "/admin/users/{id}/keys/{key_id}/revoke",
            post(admin_user::revoke_key),
        )
        .route(
            "/admin/users/{id}/delete",
            get(admin_user::confirm_delete).post(admin_user::delete),
        )
        .fallback(no_such_page);
    Router::new()
        .route("/", get(shorten::page).post(shorten::create))
        .nest("/ui", ui)
        .layer(from_fn(visitor::with_cookies))
}

async fn no_such_page() -> PageError {
    AppError::NotFound("there is no page here".to_owned()).into()
}
