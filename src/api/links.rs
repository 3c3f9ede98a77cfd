//! The `/api/v1/links` endpoints.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiQuery, Authorized, Caller, CodePath, LinksRead, LinksWrite};
use super::AppState;
use crate::domain::tag::parse_tag;
use crate::domain::Scope;
use crate::error::{AppError, Problem};
use crate::links::input::{CreateBody, PatchBody};
use crate::links::not_deleted;
use crate::links::view::{now_ms, LinkView};
use crate::store::{LinkFilter, LinkRecord, Order};

/// Most links in one batch request.
pub const MAX_BATCH: usize = 1000;
/// Most links in one list page.
pub const MAX_PAGE: u32 = 1000;

/// Creates one link: 201 with `Location` and the link object.
#[utoipa::path(post, path = "/api/v1/links", tag = "links",
    request_body = CreateBody,
    security((), ("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = LinkView,
            headers(("Location" = String, description = "The new link's API URL"))),
        (status = 401, description = "Credentials needed (allow_anonymous = false) or invalid",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The alias is taken",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid URL, alias, expiry, click cap or status",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, AppError> {
    let owner = match caller {
        Caller::Anonymous if state.allow_anonymous => None,
        caller => caller.require(Scope::LinksWrite)?.owner(),
    };
    let spec = body.validate(state.links.rules(), now_ms())?;
    let record = state.links.create(spec, owner).await?;
    if let Some(metrics) = &state.metrics {
        metrics.record_links_created(1);
    }
    let location = format!("/api/v1/links/{}", record.code);
    let view = state.links.view_created(&record);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

/// One item of a batch response: the link (201) or why it failed.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    Created { status: u16, link: LinkView },
    Failed { status: u16, error: Problem },
}

/// A batch response: one item per request item, in request order.
#[derive(Serialize, ToSchema)]
pub struct BatchPage {
    pub items: Vec<BatchItem>,
}

/// One page of links, newest first.
#[derive(Serialize, ToSchema)]
pub struct LinkPage {
    pub items: Vec<LinkView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl BatchItem {
    fn failed(e: AppError) -> BatchItem {
        // Like a response: so a store outage is logged (and reported)
        // once per 30 s, not once per item.
        e.log();
        BatchItem::Failed {
            status: e.status().as_u16(),
            error: e.problem(),
        }
    }
}

/// Creates up to 1000 links; each item succeeds or fails on its own.
#[utoipa::path(post, path = "/api/v1/links/batch", tag = "links",
    request_body(content = Vec<CreateBody>, description = "Up to 1000 create bodies (2 MiB)"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per item, in request order", body = BatchPage),
        (status = 422, description = "More than 1000 items",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_batch(
    State(state): State<Arc<AppState>>,
    Authorized(principal, _): Authorized<LinksWrite>,
    ApiJson(items): ApiJson<Vec<Value>>,
) -> Result<Json<BatchPage>, AppError> {
    let owner = principal.owner();
    if items.len() > MAX_BATCH {
        return Err(AppError::invalid(
            "items",
            format!(
                "a batch holds at most {MAX_BATCH} links, not {}",
                items.len()
            ),
        ));
    }
    let now = now_ms();
    let results = futures::future::join_all(items.into_iter().map(|item| {
        let state = Arc::clone(&state);
        let owner = owner.clone();
        async move {
            let outcome = async {
                let body: CreateBody = serde_json::from_value(item)
                    .map_err(|e| AppError::BadRequest(e.to_string()))?;
                let spec = body.validate(state.links.rules(), now)?;
                state.links.create(spec, owner).await
            };
            match outcome.await {
                Ok(record) => BatchItem::Created {
                    status: 201,
                    link: state.links.view_created(&record),
                },
                Err(e) => BatchItem::failed(e),
            }
        }
    }))
    .await;
    if let Some(metrics) = &state.metrics {
        let created = results
            .iter()
            .filter(|r| matches!(r, BatchItem::Created { .. }))
            .count();
        metrics.record_links_created(created as u64);
    }
    Ok(Json(BatchPage { items: results }))
}

/// `GET /api/v1/links` query string.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Links per page, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page (with the same `sort`).
    cursor: Option<String>,
    /// Only links whose URL or code contains this text, ignoring case;
    /// 3 to 200 characters, no NUL.
    #[param(min_length = 3, max_length = 200, pattern = "^[^\\u0000]*$")]
    q: Option<String>,
    /// Only links with this tag.
    #[param(pattern = "^[A-Za-z0-9_.:/-]{1,40}$")]
    tag: Option<String>,
    /// `-created` (newest first, the default), `created`, `-clicks` (most
    /// clicked first) or `clicks`.
    #[param(pattern = "^-?(created|clicks)$")]
    sort: Option<String>,
}

/// Longest `q`, in characters.
const MAX_SEARCH: usize = 200;

impl ListQuery {
    /// The store filter this query asks for, checked.
    fn filter<'a>(&'a self, owner: Option<&'a str>) -> Result<LinkFilter<'a>, AppError> {
        let order = match self.sort.as_deref() {
            None | Some("-created") => Order::NewestFirst,
            Some("created") => Order::OldestFirst,
            Some("-clicks") => Order::MostClicked,
            Some("clicks") => Order::LeastClicked,
            Some(_) => {
                return Err(AppError::BadRequest(
                    "sort must be created, -created, clicks or -clicks".to_owned(),
                ))
            }
        };
        if let Some(q) = &self.q {
            if !(3..=MAX_SEARCH).contains(&q.chars().count()) || q.contains('\0') {
                return Err(AppError::BadRequest(format!(
                    "q must be 3 to {MAX_SEARCH} characters long, without NUL"
                )));
            }
        }
        if let Some(tag) = &self.tag {
            parse_tag(tag).map_err(|e| AppError::BadRequest(format!("tag: {e}")))?;
        }
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok(LinkFilter {
            owner,
            search: self.q.as_deref(),
            tag: self.tag.as_deref(),
            order,
            after,
        })
    }
}

/// Lists live links a page at a time: newest first unless `sort` says
/// otherwise, only those matching `q` and `tag` when given.
#[utoipa::path(get, path = "/api/v1/links", tag = "links",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of links", body = LinkPage)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Authorized(principal, _): Authorized<LinksRead>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<LinkPage>, AppError> {
    let limit = page_limit(query.limit)?;
    let owner = principal.owner();
    let filter = query.filter(owner.as_deref())?;
    let records = state.links.list(&filter, limit).await?;
    let next_cursor = next_cursor(&records, limit, encode_cursor);
    let items = state.links.views(&records);
    Ok(Json(LinkPage { items, next_cursor }))
}

/// A list's `limit`: 1 to [`MAX_PAGE`], 50 when not given.
pub(super) fn page_limit(limit: Option<u32>) -> Result<u32, AppError> {
    let limit = limit.unwrap_or(50);
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )))
    }
}

/// The cursor after a page of `limit` asked for: made from its last item
/// when the page is full, `None` when it is the last page.
pub(super) fn next_cursor<T>(
    page: &[T],
    limit: u32,
    cursor: impl Fn(&T) -> String,
) -> Option<String> {
    match page.last() {
        Some(last) if page.len() == limit as usize => Some(cursor(last)),
        _ => None,
    }
}

/// The cursor after `last`: its id. Pages by clicks continue from where
/// that link is when the next page is read, so they walk a moving order: a
/// link whose count changes between pages may be seen twice or not at all.
fn encode_cursor(last: &LinkRecord) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{}", last.id))
}

fn decode_cursor(cursor: &str) -> Result<i64, AppError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("v1:")?.parse().ok())
        .ok_or_else(|| AppError::BadRequest("cursor is not one this server issued".to_owned()))
}

/// Shows one link.
#[utoipa::path(get, path = "/api/v1/links/{code}", tag = "links",
    params(("code" = String, Path, description = "The link's code or alias")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The link", body = LinkView),
        (status = 410, description = "The link was deleted",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    Authorized(principal, _): Authorized<LinksRead>,
    CodePath(code): CodePath,
) -> Result<Json<LinkView>, AppError> {
    let record = state.links.get_any(code.as_str()).await?;
    principal.may_access(record.owner.as_deref())?;
    Ok(Json(state.links.view(&not_deleted(record)?)))
}

/// Changes a link's URL, expiry, click cap or status.
#[utoipa::path(patch, path = "/api/v1/links/{code}", tag = "links",
    params(("code" = String, Path, description = "The link's code or alias")),
    request_body = PatchBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed link", body = LinkView),
        (status = 410, description = "The link was deleted",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid URL, expiry, click cap or status",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    Authorized(principal, _): Authorized<LinksWrite>,
    CodePath(code): CodePath,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<LinkView>, AppError> {
    let owner = state.links.get_any(code.as_str()).await?.owner;
    principal.may_access(owner.as_deref())?;
    let patch = body.validate(state.links.rules(), now_ms())?;
    let record = state.links.update(code.as_str(), &patch).await?;
    Ok(Json(state.links.view(&record)))
}

/// Deletes a link; its code is never reused.
#[utoipa::path(delete, path = "/api/v1/links/{code}", tag = "links",
    params(("code" = String, Path, description = "The link's code or alias")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 410, description = "The link was deleted",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<Arc<AppState>>,
    Authorized(principal, _): Authorized<LinksWrite>,
    CodePath(code): CodePath,
) -> Result<StatusCode, AppError> {
    let owner = state.links.get_any(code.as_str()).await?.owner;
    principal.may_access(owner.as_deref())?;
    state.links.delete(code.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let last = LinkRecord {
            id: 42,
            code: "abc".into(),
            url: "https://example.com/".into(),
            created_at: 0,
            expires_at: None,
            max_clicks: None,
            clicks: 7,
            redirect_status: 302,
            deleted_at: None,
            owner: None,
            tags: Vec::new(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&last)).unwrap(), 42);
        for bad in ["", "!!", "djE6", "bm9wZQ", &"A".repeat(5000)] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
