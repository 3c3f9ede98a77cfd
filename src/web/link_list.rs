//! `/ui/links`: the visitor's links (the admin's: everyone's, with an
//! owner filter), found by text, tag and order a page at a time through
//! the same query the API's list uses.

use std::sync::Arc;

use askama::Template;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::form::{filled, PageQuery};
use super::link_info::LinkInfo;
use super::page::{render, Choice, Errors, Layout, PageError};
use super::visitor::Visitor;
use crate::api::AppState;
use crate::domain::{Code, Principal, Scope, UserId};
use crate::error::AppError;
use crate::links::finding::FindQuery;

/// Links per page.
const PAGE: u32 = 25;

/// The orders offered, as (`sort` value, label).
const SORTS: [(&str, &str); 4] = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-clicks", "Most clicked"),
    ("clicks", "Least clicked"),
];

/// The list's query string.
#[derive(Clone, Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    tag: String,
    sort: String,
    cursor: String,
    owner: String,
    /// A link just deleted, to say so.
    deleted: String,
}

#[derive(Template)]
#[template(path = "links.html")]
struct LinksPage {
    layout: Layout,
    query: ListQuery,
    sorts: Vec<Choice>,
    admin: bool,
    errors: Errors,
    links: Vec<LinkInfo>,
    /// The next page's URL.
    next: Option<String>,
    /// Whether this is a later page (offer the first one).
    paged: bool,
    deleted: Option<String>,
    filtered: bool,
}

impl ListQuery {
    /// This query's URL with `cursor` (the filters kept).
    fn url_with_cursor(&self, cursor: &str) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("q", &self.q),
            ("tag", &self.tag),
            ("sort", &self.sort),
            ("owner", &self.owner),
        ] {
            if !value.is_empty() {
                url.append_pair(name, value);
            }
        }
        url.append_pair("cursor", cursor);
        format!("/ui/links?{}", url.finish())
    }
}

/// `GET /ui/links`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    OriginalUri(uri): OriginalUri,
    PageQuery(query): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let here = uri.path_and_query().map_or("/ui/links", |p| p.as_str());
    let principal = visitor.require(Scope::LinksRead, here)?;
    let admin = principal == Principal::Admin;
    let mut errors = Errors::default();
    let owner = match &principal {
        Principal::User(id) => Some(id.clone()),
        Principal::Admin => match filled(&query.owner) {
            Some(owner) => match UserId::parse(&owner) {
                Ok(id) => Some(id.into_string()),
                Err(e) => {
                    errors.push("owner", e);
                    None
                }
            },
            None => None,
        },
    };
    let (q, tag) = (filled(&query.q), filled(&query.tag));
    let find = FindQuery {
        owner: owner.as_deref(),
        q: q.as_deref(),
        tag: tag.as_deref(),
        sort: Some(sort_value(&query.sort)),
        cursor: (!query.cursor.is_empty()).then_some(query.cursor.as_str()),
        limit: Some(PAGE),
    };
    let (links, next) = if errors.any() {
        (Vec::new(), None)
    } else {
        match state.links.find(&find).await {
            Ok(found) => {
                let views = state.links.views(&found.records);
                let links = found
                    .records
                    .iter()
                    .zip(views)
                    .map(|(r, v)| LinkInfo::of(&state.links, r, v.clicks))
                    .collect();
                (links, found.next_cursor.map(|c| query.url_with_cursor(&c)))
            }
            Err(AppError::BadRequest(message)) => {
                errors.push(field_of(&message), message);
                (Vec::new(), None)
            }
            Err(other) => return Err(other.into()),
        }
    };
    let status = if errors.any() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = LinksPage {
        layout: visitor.layout(if admin { "All links" } else { "My links" }, "links"),
        sorts: Choice::list(&SORTS, sort_value(&query.sort)),
        admin,
        errors,
        links,
        next,
        paged: !query.cursor.is_empty(),
        deleted: Code::parse(&query.deleted).map(Code::into_string),
        filtered: q.is_some() || tag.is_some() || (admin && owner.is_some()),
        query,
    };
    Ok(render(&page, status))
}

/// The `sort` value for the form's choice (`-created` when not given).
fn sort_value(sort: &str) -> &'static str {
    SORTS
        .iter()
        .find(|(value, _)| *value == sort)
        .map_or("-created", |(value, _)| value)
}

/// Which field a refused query names, to show its message there.
fn field_of(message: &str) -> &'static str {
    if message.starts_with("tag") {
        "tag"
    } else if message.starts_with("cursor") {
        "cursor"
    } else {
        "q"
    }
}
