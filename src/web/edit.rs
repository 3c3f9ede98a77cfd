//! Changing and deleting a link from its page: the edit form sends a
//! PATCH body through the same checks as the API (and shows each problem
//! next to its field); deleting asks for confirmation on a page of its
//! own, so it works without JavaScript.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::form::{field_errors, filled, tag_list, whole_number, PageCode, PageForm};
use super::format;
use super::page::{render, see_other, Choice, Errors, Layout, PageError};
use super::visitor::Visitor;
use crate::api::AppState;
use crate::domain::{Principal, Scope};
use crate::links::input::PatchBody;
use crate::links::view::now_ms;
use crate::store::LinkRecord;

/// The redirect statuses offered.
const STATUSES: [(&str, &str); 4] = [
    ("302", "302 Found (temporary)"),
    ("307", "307 Temporary"),
    ("301", "301 Permanent (cached)"),
    ("308", "308 Permanent (cached)"),
];

/// What the edit form sends (and shows again after an error).
#[derive(Clone, Deserialize, Default)]
#[serde(default)]
pub struct EditForm {
    csrf: String,
    pub url: String,
    /// `YYYY-MM-DDTHH:MM` in UTC, as a `datetime-local` input sends it.
    pub expires_at: String,
    pub max_clicks: String,
    pub redirect_status: String,
    pub tags: String,
    password: String,
    pub remove_password: String,
}

impl EditForm {
    fn of(record: &LinkRecord) -> EditForm {
        EditForm {
            url: record.url.clone(),
            expires_at: record
                .expires_at
                .map(format::datetime_local)
                .unwrap_or_default(),
            max_clicks: record.max_clicks.map(|m| m.to_string()).unwrap_or_default(),
            redirect_status: record.redirect_status.to_string(),
            tags: record.tags.join(", "),
            ..EditForm::default()
        }
    }
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    layout: Layout,
    code: String,
    short_url: String,
    has_password: bool,
    form: EditForm,
    statuses: Vec<Choice>,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "delete.html")]
struct DeletePage {
    layout: Layout,
    code: String,
    short_url: String,
    url: String,
    clicks: String,
}

/// The form's deletion confirmation.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    csrf: String,
}

/// The link, if the visitor may change it.
async fn editable(
    state: &AppState,
    visitor: &Visitor,
    code: &str,
    here: &str,
) -> Result<(Principal, LinkRecord), PageError> {
    let who = visitor.require(Scope::LinksWrite, here)?;
    let record = state.links.get_for(&who, code).await?;
    Ok((who, record))
}

fn edit_page(
    visitor: &Visitor,
    record: &LinkRecord,
    short_url: String,
    form: EditForm,
    errors: Errors,
) -> EditPage {
    EditPage {
        layout: visitor.layout(format!("Edit /{}", record.code), "links"),
        code: record.code.clone(),
        short_url,
        has_password: record.password_hash.is_some(),
        statuses: Choice::list(&STATUSES, &form.redirect_status),
        form,
        errors,
    }
}

/// `GET /ui/links/{code}/edit`.
pub async fn edit_form(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    PageCode(code): PageCode,
) -> Result<Response, PageError> {
    let here = format!("/ui/links/{}/edit", code.as_str());
    let (_, record) = editable(&state, &visitor, code.as_str(), &here).await?;
    let page = edit_page(
        &visitor,
        &record,
        state.links.short_url(&record.code),
        EditForm::of(&record),
        Errors::default(),
    );
    Ok(render(&page, StatusCode::OK))
}

/// `POST /ui/links/{code}/edit`: saves and goes back to the link's page,
/// or shows the form again with the problems.
pub async fn save(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    PageCode(code): PageCode,
    PageForm(form): PageForm<EditForm>,
) -> Result<Response, PageError> {
    visitor.check_csrf(&form.csrf, &headers)?;
    let here = format!("/ui/links/{}/edit", code.as_str());
    let (who, record) = editable(&state, &visitor, code.as_str(), &here).await?;
    let mut errors = Errors::default();
    let body = patch_of(&form, &record, &mut errors);
    if errors.any() {
        // Show every problem at once, the validators' too.
        if let Err(e) = body.validate(state.links.rules(), now_ms()) {
            field_errors(e, &mut errors)?;
        }
    } else {
        match state.links.patch_for(&who, code.as_str(), body).await {
            Ok(_) => return Ok(see_other(&format!("/ui/links/{}?saved=1", code.as_str()))),
            Err(e) => field_errors(e, &mut errors)?,
        }
    }
    let mut shown = form;
    shown.password.clear();
    let short_url = state.links.short_url(&record.code);
    let page = edit_page(&visitor, &record, short_url, shown, errors);
    Ok(render(&page, StatusCode::UNPROCESSABLE_ENTITY))
}

/// The PATCH body the form asks for. An expiry left as it was is not
/// sent again, so a link that has expired can still be edited otherwise.
fn patch_of(form: &EditForm, record: &LinkRecord, errors: &mut Errors) -> PatchBody {
    let unchanged_expiry = record
        .expires_at
        .map(format::datetime_local)
        .unwrap_or_default();
    let expires_at = if form.expires_at.trim() == unchanged_expiry {
        None
    } else {
        Some(filled(&form.expires_at).map(|at| format!("{at}:00Z")))
    };
    let redirect_status = match form.redirect_status.parse::<i64>() {
        Ok(status) => Some(Some(status)),
        Err(_) => {
            errors.push("redirect_status", "choose one of the options");
            None
        }
    };
    let tags = tag_list(&form.tags);
    let password = if !form.password.is_empty() {
        Some(Some(form.password.clone()))
    } else if form.remove_password == "on" {
        Some(None)
    } else {
        None
    };
    PatchBody {
        url: Some(filled(&form.url)),
        expires_at,
        max_clicks: Some(whole_number("max_clicks", &form.max_clicks, errors)),
        redirect_status,
        tags: Some((!tags.is_empty()).then_some(tags)),
        password,
    }
}

/// `GET /ui/links/{code}/delete`: are you sure?
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    PageCode(code): PageCode,
) -> Result<Response, PageError> {
    let here = format!("/ui/links/{}/delete", code.as_str());
    let (_, record) = editable(&state, &visitor, code.as_str(), &here).await?;
    let page = DeletePage {
        layout: visitor.layout(format!("Delete /{}", record.code), "links"),
        short_url: state.links.short_url(&record.code),
        clicks: format::count(state.links.view(&record).clicks),
        code: record.code,
        url: record.url,
    };
    Ok(render(&page, StatusCode::OK))
}

/// `POST /ui/links/{code}/delete`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    PageCode(code): PageCode,
    PageForm(form): PageForm<DeleteForm>,
) -> Result<Response, PageError> {
    visitor.check_csrf(&form.csrf, &headers)?;
    let here = format!("/ui/links/{}/delete", code.as_str());
    let who = visitor.require(Scope::LinksWrite, &here)?;
    state.links.delete_for(&who, code.as_str()).await?;
    Ok(see_other(&format!("/ui/links?deleted={}", code.as_str())))
}
