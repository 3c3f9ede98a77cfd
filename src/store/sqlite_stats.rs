//! Stats reads on SQLite, and the retention purge.

use sqlx::SqlitePool;

use super::{LinkStatsRows, Owner, OwnerStatsRows, StoreError, STATS_TABLES};

/// Days of one link, and the top values per dimension, over a range.
pub async fn link(
    read: &SqlitePool,
    link_id: i64,
    from: i32,
    to: i32,
    top: u32,
) -> Result<LinkStatsRows, StoreError> {
    let days: Vec<(i32, i64, i64)> = sqlx::query_as(
        "SELECT day, human, bots FROM click_days \
         WHERE link_id = ? AND day BETWEEN ? AND ? ORDER BY day",
    )
    .bind(link_id)
    .bind(from)
    .bind(to)
    .fetch_all(read)
    .await?;
    let values: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT dim, value, total FROM ( \
           SELECT dim, value, SUM(clicks) AS total, \
             ROW_NUMBER() OVER (PARTITION BY dim ORDER BY SUM(clicks) DESC, value) AS n \
           FROM click_values WHERE link_id = ? AND day BETWEEN ? AND ? \
           GROUP BY dim, value) \
         WHERE n <= ? ORDER BY dim, total DESC, value",
    )
    .bind(link_id)
    .bind(from)
    .bind(to)
    .bind(top)
    .fetch_all(read)
    .await?;
    Ok(LinkStatsRows::from_tuples(link_id, days, values))
}

/// The filter and its bound value for an owner query.
fn owner_filter(owner: Owner<'_>) -> (&'static str, Option<&str>) {
    match owner {
        Owner::Everyone => ("", None),
        Owner::User(id) => (" AND l.owner = ?", Some(id)),
    }
}

/// Daily totals and top links of one owner's links (or everyone's).
pub async fn owner(
    read: &SqlitePool,
    owner: Owner<'_>,
    from: i32,
    to: i32,
    top: u32,
) -> Result<OwnerStatsRows, StoreError> {
    let (filter, id) = owner_filter(owner);
    let days_sql = format!(
        "SELECT d.day, SUM(d.human), SUM(d.bots) FROM click_days d \
         JOIN links l ON l.id = d.link_id \
         WHERE d.day BETWEEN ? AND ?{filter} GROUP BY d.day ORDER BY d.day"
    );
    let mut days = sqlx::query_as::<_, (i32, i64, i64)>(&days_sql)
        .bind(from)
        .bind(to);
    if let Some(id) = id {
        days = days.bind(id);
    }
    let days = days.fetch_all(read).await?;
    let top_sql = format!(
        "SELECT l.code, SUM(d.human), SUM(d.bots) FROM click_days d \
         JOIN links l ON l.id = d.link_id \
         WHERE d.day BETWEEN ? AND ?{filter} GROUP BY l.id \
         ORDER BY SUM(d.human + d.bots) DESC, l.code LIMIT ?"
    );
    let mut top_links = sqlx::query_as::<_, (String, i64, i64)>(&top_sql)
        .bind(from)
        .bind(to);
    if let Some(id) = id {
        top_links = top_links.bind(id);
    }
    let top_links = top_links.bind(top).fetch_all(read).await?;
    Ok(OwnerStatsRows::from_tuples(days, top_links))
}

/// Requests for unknown codes per day, over a range.
pub async fn unknown(read: &SqlitePool, from: i32, to: i32) -> Result<Vec<(i32, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT day, requests FROM unknown_days WHERE day BETWEEN ? AND ? ORDER BY day",
    )
    .bind(from)
    .bind(to)
    .fetch_all(read)
    .await?)
}

/// Deletes daily rows of days before `before`; returns how many.
pub async fn purge(write: &SqlitePool, before: i32) -> Result<u64, StoreError> {
    let mut tx = write.begin().await?;
    let mut purged = 0;
    for table in STATS_TABLES {
        purged += sqlx::query(&format!("DELETE FROM {table} WHERE day < ?"))
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(purged)
}
