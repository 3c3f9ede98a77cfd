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

use super::extract::{Admin, ApiJson, ApiQuery, Caller, CodePath};
use super::AppState;
use crate::error::{AppError, Problem};
use crate::links::input::{CreateBody, PatchBody};
use crate::links::view::{now_ms, LinkView};
use crate::store::Order;

/// Most links in one batch request.
pub const MAX_BATCH: usize = 1000;
/// Most links in one list page.
pub const MAX_PAGE: u32 = 1000;

/// Creates one link: 201 with `Location` and the link object.
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, AppError> {
    if !state.allow_anonymous {
        caller.require_admin()?;
    }
    let spec = body.validate(state.links.rules(), now_ms())?;
    let record = state.links.create(spec).await?;
    if let Some(metrics) = &state.metrics {
        metrics.record_links_created(1);
    }
    let location = format!("/api/v1/links/{}", record.code);
    let view = state.links.view(&record);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

/// One item of a batch response.
#[derive(Serialize)]
#[serde(untagged)]
pub enum BatchItem {
    Created { status: u16, link: LinkView },
    Failed { status: u16, error: Problem },
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
pub async fn create_batch(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    ApiJson(items): ApiJson<Vec<Value>>,
) -> Result<Json<Value>, AppError> {
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
        async move {
            let outcome = async {
                let body: CreateBody = serde_json::from_value(item)
                    .map_err(|e| AppError::BadRequest(e.to_string()))?;
                let spec = body.validate(state.links.rules(), now)?;
                state.links.create(spec).await
            };
            match outcome.await {
                Ok(record) => BatchItem::Created {
                    status: 201,
                    link: state.links.view(&record),
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
    Ok(Json(serde_json::json!({ "items": results })))
}

/// `GET /api/v1/links` query string.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Lists live links, newest first, a page at a time.
pub async fn list(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let records = state.links.list(after, limit, Order::NewestFirst).await?;
    let next_cursor = match records.last() {
        Some(last) if records.len() == limit as usize => Some(encode_cursor(last.id)),
        _ => None,
    };
    let items: Vec<LinkView> = records.iter().map(|r| state.links.view(r)).collect();
    Ok(Json(
        serde_json::json!({ "items": items, "next_cursor": next_cursor }),
    ))
}

fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{id}"))
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
pub async fn show(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    CodePath(code): CodePath,
) -> Result<Json<LinkView>, AppError> {
    let record = state.links.get(code.as_str()).await?;
    Ok(Json(state.links.view(&record)))
}

/// Changes a link's URL, expiry, click cap or status.
pub async fn update(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    CodePath(code): CodePath,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<LinkView>, AppError> {
    let patch = body.validate(state.links.rules(), now_ms())?;
    let record = state.links.update(code.as_str(), &patch).await?;
    Ok(Json(state.links.view(&record)))
}

/// Deletes a link; its code is never reused.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    CodePath(code): CodePath,
) -> Result<StatusCode, AppError> {
    state.links.delete(code.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        for bad in ["", "!!", "djE6", "bm9wZQ", &"A".repeat(5000)] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
