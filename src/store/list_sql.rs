//! The link columns and the list query, shared by both backends: one
//! statement per filter combination, each of whose filters and orders an
//! index serves (see the migrations named `finding_links`).

use super::{LinkFilter, Order};

/// Link columns as `record` reads them; the click total is `link_clicks`'.
pub const COLUMNS: &str = "links.id, links.code, links.url, links.created_at, \
     links.expires_at, links.max_clicks, \
     COALESCE((SELECT c.clicks FROM link_clicks c WHERE c.link_id = links.id), 0), \
     links.redirect_status, links.deleted_at, links.owner, links.tags, links.password_hash";

/// Which SQL dialect to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value bound to the list statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bind {
    Int(i64),
    Text(String),
}

/// The list statement for `filter` and its values, in order.
pub fn list_query(filter: &LinkFilter<'_>, limit: u32, dialect: Dialect) -> (String, Vec<Bind>) {
    let clicks = filter.order.by_clicks();
    let mut sql = format!("SELECT {COLUMNS} FROM links");
    let mut binds = Vec::new();
    // With a tag, pages by date walk that tag's rows in id order (the
    // primary key), stopping at the limit.
    let id = if let Some(tag) = filter.tag {
        sql.push_str(" JOIN link_tags t ON t.link_id = links.id AND t.tag = ?");
        binds.push(Bind::Text(tag.to_owned()));
        "t.link_id"
    } else {
        "links.id"
    };
    if clicks {
        sql.push_str(" JOIN link_clicks k ON k.link_id = links.id");
    }
    sql.push_str(" WHERE links.deleted_at IS NULL");
    if let Some(owner) = filter.owner {
        sql.push_str(" AND links.owner = ?");
        binds.push(Bind::Text(owner.to_owned()));
    }
    if let Some(search) = filter.search {
        match dialect {
            Dialect::Sqlite => {
                sql.push_str(
                    " AND links.id IN (SELECT rowid FROM links_search WHERE links_search MATCH ?)",
                );
                // One FTS5 string: the trigrams of the text, in order.
                binds.push(Bind::Text(format!("\"{}\"", search.replace('"', "\"\""))));
            }
            Dialect::Postgres => {
                sql.push_str(" AND (links.url ILIKE ? OR links.code ILIKE ?)");
                let pattern = format!("%{}%", escape_like(search));
                binds.push(Bind::Text(pattern.clone()));
                binds.push(Bind::Text(pattern));
            }
        }
    }
    if let Some(after) = filter.after {
        // Click orders continue from where the cursor's link is now; a
        // cursor naming no link gives an empty page.
        let condition = match filter.order {
            Order::NewestFirst => format!(" AND {id} < ?"),
            Order::OldestFirst => format!(" AND {id} > ?"),
            Order::MostClicked => " AND (k.ranked, k.link_id) < \
                 ((SELECT a.ranked FROM link_clicks a WHERE a.link_id = ?), ?)"
                .to_owned(),
            Order::LeastClicked => " AND (k.ranked, k.link_id) > \
                 ((SELECT a.ranked FROM link_clicks a WHERE a.link_id = ?), ?)"
                .to_owned(),
        };
        sql.push_str(&condition);
        binds.push(Bind::Int(after));
        if filter.order.by_clicks() {
            binds.push(Bind::Int(after));
        }
    }
    sql.push_str(&match filter.order {
        Order::NewestFirst => format!(" ORDER BY {id} DESC"),
        Order::OldestFirst => format!(" ORDER BY {id} ASC"),
        Order::MostClicked => " ORDER BY k.ranked DESC, k.link_id DESC".to_owned(),
        Order::LeastClicked => " ORDER BY k.ranked ASC, k.link_id ASC".to_owned(),
    });
    sql.push_str(" LIMIT ?");
    binds.push(Bind::Int(limit.into()));
    if dialect == Dialect::Postgres {
        sql = numbered(&sql);
    }
    (sql, binds)
}

/// `?` placeholders as PostgreSQL's `$1`, `$2`, ….
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` matched literally by `LIKE`/`ILIKE` (backslash is the escape).
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The JSON array stored in `links.tags`.
pub fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

/// `links.tags` read back; a malformed value reads as no tags.
pub fn tags_of(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_adds_its_clause_and_values_in_order() {
        let filter = LinkFilter {
            owner: Some("ada"),
            search: Some("50%_off\"x"),
            tag: Some("launch"),
            order: Order::MostClicked,
            after: Some(9),
        };
        let (sql, binds) = list_query(&filter, 50, Dialect::Postgres);
        assert!(sql.contains("t.tag = $1"), "{sql}");
        assert!(sql.contains("links.owner = $2"), "{sql}");
        assert!(
            sql.contains("links.url ILIKE $3 OR links.code ILIKE $4"),
            "{sql}"
        );
        assert!(sql.contains("WHERE a.link_id = $5), $6)"), "{sql}");
        assert!(
            sql.ends_with("ORDER BY k.ranked DESC, k.link_id DESC LIMIT $7"),
            "{sql}"
        );
        assert_eq!(binds[2], Bind::Text("%50\\%\\_off\"x%".into()));
        assert_eq!(&binds[4..], [Bind::Int(9), Bind::Int(9), Bind::Int(50)]);
        let (sql, binds) = list_query(&filter, 50, Dialect::Sqlite);
        assert!(sql.contains("links_search MATCH ?"), "{sql}");
        assert_eq!(binds[2], Bind::Text("\"50%_off\"\"x\"".into()));
        assert_eq!(binds.len(), 6);
    }

    #[test]
    fn a_plain_list_is_newest_first_by_id() {
        let (sql, binds) = list_query(&LinkFilter::all(Order::NewestFirst), 10, Dialect::Sqlite);
        assert!(!sql.contains("JOIN"), "{sql}");
        assert!(sql.ends_with("ORDER BY links.id DESC LIMIT ?"), "{sql}");
        assert_eq!(binds, [Bind::Int(10)]);
        assert_eq!(
            tags_of(&tags_json(&["a".into(), "b\"".into()])),
            ["a", "b\""]
        );
        assert!(tags_of("not json").is_empty());
    }
}
