//! `GET /api/v1/links/{code}/stats` and `GET /api/v1/stats`: click
//! analytics read from the daily rollups, for the link's owner or the
//! admin (and keys with `stats:read`).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiQuery, Authorized, CodePath, Principal, StatsRead};
use super::AppState;
use crate::analytics::view::{LinkStats, OwnerStats};
use crate::error::{AppError, Problem};
use crate::store::Owner;

/// The days to report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First day, `YYYY-MM-DD` (UTC) [default: 29 days before `to`]; not
    /// after `to`, and at most 365 days before it (400 otherwise)
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last day, included, `YYYY-MM-DD` (UTC) [default: today]
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

/// One link's analytics.
#[utoipa::path(get, path = "/api/v1/links/{code}/stats", tag = "stats",
    params(("code" = String, Path, description = "The link's code or alias"), RangeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Visits per day (every day of the range) and the top values of each dimension", body = LinkStats),
        (status = 400, description = "A date is malformed, or the range is reversed or too long",
            body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The link was deleted",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn link_stats(
    State(state): State<Arc<AppState>>,
    Authorized(principal, _): Authorized<StatsRead>,
    CodePath(code): CodePath,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<LinkStats>, AppError> {
    let range = state
        .analytics
        .range(query.from.as_deref(), query.to.as_deref())?;
    let record = state.links.get_for(&principal, code.as_str()).await?;
    Ok(Json(state.analytics.link_stats(record.id, range).await?))
}

/// The caller's totals and top links.
#[utoipa::path(get, path = "/api/v1/stats", tag = "stats",
    params(RangeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Totals across the caller's links (the admin's: every link, plus requests for unknown codes per day)", body = OwnerStats),
        (status = 400, description = "A date is malformed, or the range is reversed or too long",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn caller_stats(
    State(state): State<Arc<AppState>>,
    Authorized(principal, _): Authorized<StatsRead>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<OwnerStats>, AppError> {
    let range = state
        .analytics
        .range(query.from.as_deref(), query.to.as_deref())?;
    let stats = match &principal {
        Principal::Admin => state.analytics.owner_stats(Owner::Everyone, range, true),
        Principal::User(id) => state.analytics.owner_stats(Owner::User(id), range, false),
    };
    Ok(Json(stats.await?))
}
