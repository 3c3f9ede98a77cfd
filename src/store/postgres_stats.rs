//! Stats reads on PostgreSQL, and the retention purge.

use sqlx::PgPool;

use super::{LinkStatsRows, Owner, OwnerStatsRows, STATS_TABLES};

/// Days of one link, and the top values per dimension, over a range.
pub async fn link(
    pool: &PgPool,
    link_id: i64,
    from: i32,
    to: i32,
    top: u32,
) -> Result<LinkStatsRows, sqlx::Error> {
    let days: Vec<(i32, i64, i64)> = sqlx::query_as(
        "SELECT day, human, bots FROM click_days \
         WHERE link_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
    )
    .bind(link_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let values: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT dim::int8, value, total FROM ( \
           SELECT dim, value, SUM(clicks)::int8 AS total, \
             ROW_NUMBER() OVER (PARTITION BY dim ORDER BY SUM(clicks) DESC, value) AS n \
           FROM click_values WHERE link_id = $1 AND day BETWEEN $2 AND $3 \
           GROUP BY dim, value) AS ranked \
         WHERE n <= $4 ORDER BY dim, total DESC, value",
    )
    .bind(link_id)
    .bind(from)
    .bind(to)
    .bind(i64::from(top))
    .fetch_all(pool)
    .await?;
    Ok(LinkStatsRows::from_tuples(link_id, days, values))
}

/// Daily totals and top links of one owner's links (or everyone's).
pub async fn owner(
    pool: &PgPool,
    owner: Owner<'_>,
    from: i32,
    to: i32,
    top: u32,
) -> Result<OwnerStatsRows, sqlx::Error> {
    // The owner is the last parameter of each query, when there is one.
    let (days_filter, top_filter, id) = match owner {
        Owner::Everyone => ("", "", None),
        Owner::User(id) => (" AND l.owner = $3", " AND l.owner = $4", Some(id)),
    };
    let days_sql = format!(
        "SELECT d.day, SUM(d.human)::int8, SUM(d.bots)::int8 FROM click_days d \
         JOIN links l ON l.id = d.link_id \
         WHERE d.day BETWEEN $1 AND $2{days_filter} GROUP BY d.day ORDER BY d.day"
    );
    let top_sql = format!(
        "SELECT l.code, SUM(d.human)::int8, SUM(d.bots)::int8 FROM click_days d \
         JOIN links l ON l.id = d.link_id \
         WHERE d.day BETWEEN $1 AND $2{top_filter} GROUP BY l.id, l.code \
         ORDER BY SUM(d.human + d.bots) DESC, l.code LIMIT $3"
    );
    let mut days = sqlx::query_as::<_, (i32, i64, i64)>(&days_sql)
        .bind(from)
        .bind(to);
    let mut top_links = sqlx::query_as::<_, (String, i64, i64)>(&top_sql)
        .bind(from)
        .bind(to)
        .bind(i64::from(top));
    if let Some(id) = id {
        days = days.bind(id);
        top_links = top_links.bind(id);
    }
    let days = days.fetch_all(pool).await?;
    let top_links = top_links.fetch_all(pool).await?;
    Ok(OwnerStatsRows::from_tuples(days, top_links))
}

/// Requests for unknown codes per day, over a range.
pub async fn unknown(pool: &PgPool, from: i32, to: i32) -> Result<Vec<(i32, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT day, requests FROM unknown_days WHERE day BETWEEN $1 AND $2 ORDER BY day",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// Deletes daily rows of days before `before`; returns how many.
pub async fn purge(pool: &PgPool, before: i32) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut purged = 0;
    for table in STATS_TABLES {
        purged += sqlx::query(&format!("DELETE FROM {table} WHERE day < $1"))
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(purged)
}
