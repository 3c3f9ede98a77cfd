//! The `/api/v1/links` endpoints but the list ([`super::link_list`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::{ApiJson, Authorized, Caller, CodePath, LinksRead, LinksWrite};
use super::AppState;
use crate::domain::Scope;
use crate::error::{AppError, Problem};
use crate::links::input::{CreateBody, PatchBody};
use crate::links::view::{now_ms, LinkView};

/// Most links in one batch request.
pub const MAX_BATCH: usize = 1000;

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
    let record = state.links.get_for(&principal, code.as_str()).await?;
    Ok(Json(state.links.view(&record)))
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
    let record = state
        .links
        .patch_for(&principal, code.as_str(), body)
        .await?;
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
    state.links.delete_for(&principal, code.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}
