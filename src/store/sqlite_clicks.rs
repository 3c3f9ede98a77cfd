//! Click writes on SQLite: flushed batches (click counts and the analytics
//! rollups) and capped links' clicks, each a transaction on the single
//! writer connection.

use sqlx::{QueryBuilder, SqlitePool};

use super::{ClickBatch, StoreError};

/// Rows per multi-row statement, far below SQLite's bound-parameter limit.
pub const ROWS_PER_STATEMENT: usize = 500;

/// A link's clicks, all in `link_clicks`.
const TOTAL: &str = "COALESCE((SELECT c.clicks FROM link_clicks c WHERE c.link_id = links.id), 0)";

/// Writes `batch` unless its id shows an earlier attempt already did.
pub async fn add(write: &SqlitePool, batch: ClickBatch<'_>) -> Result<(), StoreError> {
    let mut tx = write.begin().await?;
    let recorded = sqlx::query(
        "INSERT INTO click_batches (id, written_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
    )
    .bind(batch.id)
    .bind(batch.now)
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() == 0 {
        tracing::info!(
            batch = batch.id,
            "click batch already written by an earlier attempt; not adding it again"
        );
        return Ok(());
    }
    for chunk in batch.link_clicks.chunks(ROWS_PER_STATEMENT) {
        let mut upsert = QueryBuilder::new("INSERT INTO link_clicks (link_id, clicks) ");
        upsert.push_values(chunk, |mut row, (id, n)| {
            row.push_bind(id).push_bind(n);
        });
        upsert.push(
            " ON CONFLICT (link_id) DO UPDATE SET clicks = link_clicks.clicks + excluded.clicks",
        );
        upsert.build().execute(&mut *tx).await?;
    }
    for chunk in batch.days.chunks(ROWS_PER_STATEMENT) {
        let mut upsert = QueryBuilder::new("INSERT INTO click_days (link_id, day, human, bots) ");
        upsert.push_values(chunk, |mut row, d| {
            row.push_bind(d.link_id)
                .push_bind(d.day)
                .push_bind(d.human)
                .push_bind(d.bots);
        });
        upsert.push(
            " ON CONFLICT (link_id, day) DO UPDATE SET human = click_days.human + excluded.human, \
             bots = click_days.bots + excluded.bots",
        );
        upsert.build().execute(&mut *tx).await?;
    }
    for chunk in batch.values.chunks(ROWS_PER_STATEMENT) {
        let mut upsert =
            QueryBuilder::new("INSERT INTO click_values (link_id, day, dim, value, clicks) ");
        upsert.push_values(chunk, |mut row, v| {
            row.push_bind(v.link_id)
                .push_bind(v.day)
                .push_bind(v.dim.id())
                .push_bind(v.value.as_str())
                .push_bind(v.clicks);
        });
        upsert.push(
            " ON CONFLICT (link_id, day, dim, value) \
             DO UPDATE SET clicks = click_values.clicks + excluded.clicks",
        );
        upsert.build().execute(&mut *tx).await?;
    }
    // The order by clicks catches up with the links this batch's days name.
    let mut ranked: Vec<i64> = batch.days.iter().map(|d| d.link_id).collect();
    ranked.dedup();
    for chunk in ranked.chunks(ROWS_PER_STATEMENT) {
        let mut update =
            QueryBuilder::new("UPDATE link_clicks SET ranked = clicks WHERE link_id IN (");
        let mut ids = update.separated(", ");
        for id in chunk {
            ids.push_bind(id);
        }
        update.push(") AND ranked <> clicks");
        update.build().execute(&mut *tx).await?;
    }
    for (day, n) in batch.unknown {
        sqlx::query(
            "INSERT INTO unknown_days (day, requests) VALUES (?, ?) \
             ON CONFLICT (day) DO UPDATE SET requests = unknown_days.requests + excluded.requests",
        )
        .bind(day)
        .bind(n)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Counts what each capped link's cap allows of the clicks wanted. The
/// writer connection is the only one, so nothing runs between a link's
/// read and its update.
pub async fn consume(
    write: &SqlitePool,
    wanted: &[(String, i64)],
    now: i64,
) -> Result<Vec<i64>, StoreError> {
    let mut tx = write.begin().await?;
    let mut granted = Vec::with_capacity(wanted.len());
    for (code, n) in wanted {
        let left: Option<(i64, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT id, max_clicks - ({TOTAL}) FROM links \
             WHERE code = ? AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"
        ))
        .bind(code)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let count = match left {
            Some((_, Some(left))) => (*n).min(left.max(0)),
            Some((_, None)) => *n,
            None => 0,
        };
        if let (Some((id, _)), true) = (left, count > 0) {
            sqlx::query(
                "INSERT INTO link_clicks (link_id, clicks, ranked) VALUES (?, ?, ?) \
                 ON CONFLICT (link_id) DO UPDATE SET clicks = link_clicks.clicks + excluded.clicks, \
                   ranked = link_clicks.clicks + excluded.clicks",
            )
            .bind(id)
            .bind(count)
            .bind(count)
            .execute(&mut *tx)
            .await?;
        }
        granted.push(count);
    }
    tx.commit().await?;
    Ok(granted)
}

/// Drops the ids of batches written before `before`.
pub async fn purge_batches(write: &SqlitePool, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM click_batches WHERE written_at < ?")
        .bind(before)
        .execute(write)
        .await?;
    Ok(done.rows_affected())
}
