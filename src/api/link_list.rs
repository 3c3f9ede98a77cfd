//! `GET /api/v1/links`: finding links, a page at a time, by owner, text,
//! tag and order.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiQuery, Authorized, LinksRead};
use super::links::{next_cursor, page_limit, LinkPage};
use super::AppState;
use crate::domain::tag::parse_tag;
use crate::error::AppError;
use crate::store::{LinkFilter, LinkRecord, Order};

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
            password_hash: None,
        };
        assert_eq!(decode_cursor(&encode_cursor(&last)).unwrap(), 42);
        for bad in ["", "!!", "djE6", "bm9wZQ", &"A".repeat(5000)] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
