//! `GET /api/v1/links`: finding links, a page at a time, by owner, text,
//! tag and order.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiQuery, Authorized, LinksRead};
use super::links::LinkPage;
use super::AppState;
use crate::error::AppError;
use crate::links::finding::FindQuery;

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
    let owner = principal.owner();
    let found = state
        .links
        .find(&FindQuery {
            owner: owner.as_deref(),
            q: query.q.as_deref(),
            tag: query.tag.as_deref(),
            sort: query.sort.as_deref(),
            cursor: query.cursor.as_deref(),
            limit: query.limit,
        })
        .await?;
    Ok(Json(LinkPage {
        items: state.links.views(&found.records),
        next_cursor: found.next_cursor,
    }))
}
