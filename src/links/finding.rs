//! Finding links a page at a time, by owner, text, tag and order: the
//! query behind `GET /api/v1/links` and the web interface's link list,
//! checked here once for both.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::LinkService;
use crate::domain::tag::parse_tag;
use crate::error::AppError;
use crate::store::{LinkFilter, LinkRecord, Order};

/// Most links in one list page.
pub const MAX_PAGE: u32 = 1000;
/// Links in a page when the query does not say.
pub const DEFAULT_PAGE: u32 = 50;
/// Longest `q`, in characters.
pub const MAX_SEARCH: usize = 200;
/// Shortest `q`: the trigram indexes need three characters.
pub const MIN_SEARCH: usize = 3;

/// What to find, as the caller sent it; [`LinkService::find`] checks it.
#[derive(Clone, Copy, Debug, Default)]
pub struct FindQuery<'a> {
    /// Only this user's links; `None` for every link (the admin).
    pub owner: Option<&'a str>,
    /// Text the URL or code contains.
    pub q: Option<&'a str>,
    /// A tag the links carry.
    pub tag: Option<&'a str>,
    /// `-created` (the default), `created`, `-clicks` or `clicks`.
    pub sort: Option<&'a str>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<&'a str>,
    /// Links per page, 1 to [`MAX_PAGE`].
    pub limit: Option<u32>,
}

/// One page of links, and the cursor of the next one.
pub struct FoundPage {
    pub records: Vec<LinkRecord>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

impl FindQuery<'_> {
    /// The store filter this query asks for; 400 for a bad value.
    fn filter(&self) -> Result<LinkFilter<'_>, AppError> {
        let order = match self.sort {
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
        if let Some(q) = self.q {
            if !(MIN_SEARCH..=MAX_SEARCH).contains(&q.chars().count()) || q.contains('\0') {
                return Err(AppError::BadRequest(format!(
                    "q must be {MIN_SEARCH} to {MAX_SEARCH} characters long, without NUL"
                )));
            }
        }
        if let Some(tag) = self.tag {
            parse_tag(tag).map_err(|e| AppError::BadRequest(format!("tag: {e}")))?;
        }
        let after = self.cursor.map(decode_cursor).transpose()?;
        Ok(LinkFilter {
            owner: self.owner,
            search: self.q,
            tag: self.tag,
            order,
            after,
        })
    }
}

impl LinkService {
    /// A page of the live links the query asks for.
    pub async fn find(&self, query: &FindQuery<'_>) -> Result<FoundPage, AppError> {
        let limit = page_limit(query.limit)?;
        let records = self.list(&query.filter()?, limit).await?;
        let next_cursor = next_cursor(&records, limit, encode_cursor);
        Ok(FoundPage {
            records,
            next_cursor,
        })
    }
}

/// A list's `limit`: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when not given.
pub fn page_limit(limit: Option<u32>) -> Result<u32, AppError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
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
pub fn next_cursor<T>(page: &[T], limit: u32, cursor: impl Fn(&T) -> String) -> Option<String> {
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

    #[test]
    fn bad_queries_are_refused_before_the_store() {
        let bad = [
            FindQuery {
                sort: Some("name"),
                ..Default::default()
            },
            FindQuery {
                q: Some("ab"),
                ..Default::default()
            },
            FindQuery {
                q: Some("a\0b"),
                ..Default::default()
            },
            FindQuery {
                tag: Some("no spaces"),
                ..Default::default()
            },
            FindQuery {
                cursor: Some("nope"),
                ..Default::default()
            },
        ];
        for query in bad {
            assert!(
                matches!(query.filter(), Err(AppError::BadRequest(_))),
                "{query:?}"
            );
        }
        let long = "é".repeat(MAX_SEARCH);
        let ok = FindQuery {
            q: Some(&long),
            sort: Some("-clicks"),
            ..Default::default()
        };
        assert_eq!(ok.filter().unwrap().order, Order::MostClicked);
        assert!(page_limit(Some(0)).is_err() && page_limit(Some(MAX_PAGE + 1)).is_err());
        assert_eq!(page_limit(None).unwrap(), DEFAULT_PAGE);
    }
}
