//! Click writes on PostgreSQL: flushed batches, written in chunks within
//! one transaction under a longer bound than requests get, and capped
//! links' clicks, counted under each link's row lock.

use std::time::Duration;

use sqlx::PgPool;

use super::{ClickBatch, StoreError};

/// Click flushes run in the background and may be large (one row per link
/// clicked since the last flush), so they get their own, longer bound.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// Rows per click-flush statement.
const FLUSH_CHUNK: usize = 5000;

/// Writes `batch` unless its id shows an earlier attempt already did. Past
/// `client_limit` this side stops waiting and reports the store
/// unavailable, though the transaction may still commit: the batch id
/// makes the retry harmless.
pub async fn add(
    pool: &PgPool,
    batch: ClickBatch<'_>,
    client_limit: Duration,
) -> Result<(), StoreError> {
    // Rows are locked in id order (the batch is sorted), so two instances
    // flushing overlapping links cannot deadlock.
    let flush = async {
        let mut tx = pool.begin().await?;
        let limit = format!(
            "SET LOCAL statement_timeout = {}",
            FLUSH_TIMEOUT.as_millis()
        );
        sqlx::query(&limit).execute(&mut *tx).await?;
        let recorded = sqlx::query(
            "INSERT INTO click_batches (id, written_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
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
            return Ok::<_, sqlx::Error>(());
        }
        for chunk in batch.link_clicks.chunks(FLUSH_CHUNK) {
            let (ids, clicks): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
            sqlx::query(
                "INSERT INTO link_clicks (link_id, clicks) \
                 SELECT * FROM UNNEST($1::int8[], $2::int8[]) \
                 ON CONFLICT (link_id) DO UPDATE SET clicks = link_clicks.clicks + excluded.clicks",
            )
            .bind(&ids)
            .bind(&clicks)
            .execute(&mut *tx)
            .await?;
        }
        for chunk in batch.days.chunks(FLUSH_CHUNK) {
            sqlx::query(
                "INSERT INTO click_days (link_id, day, human, bots) \
                 SELECT * FROM UNNEST($1::int8[], $2::int4[], $3::int8[], $4::int8[]) \
                 ON CONFLICT (link_id, day) DO UPDATE SET \
                   human = click_days.human + excluded.human, bots = click_days.bots + excluded.bots",
            )
            .bind(chunk.iter().map(|d| d.link_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|d| d.day).collect::<Vec<_>>())
            .bind(chunk.iter().map(|d| d.human).collect::<Vec<_>>())
            .bind(chunk.iter().map(|d| d.bots).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        }
        for chunk in batch.values.chunks(FLUSH_CHUNK) {
            sqlx::query(
                "INSERT INTO click_values (link_id, day, dim, value, clicks) \
                 SELECT * FROM UNNEST($1::int8[], $2::int4[], $3::int2[], $4::text[], $5::int8[]) \
                 ON CONFLICT (link_id, day, dim, value) \
                 DO UPDATE SET clicks = click_values.clicks + excluded.clicks",
            )
            .bind(chunk.iter().map(|v| v.link_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|v| v.day).collect::<Vec<_>>())
            .bind(chunk.iter().map(|v| v.dim.id()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|v| v.value.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|v| v.clicks).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        }
        // The order by clicks catches up with the links this batch's days
        // name.
        for chunk in batch.days.chunks(FLUSH_CHUNK) {
            let mut ids: Vec<i64> = chunk.iter().map(|d| d.link_id).collect();
            ids.dedup();
            sqlx::query(
                "UPDATE link_clicks SET ranked = clicks \
                 WHERE link_id = ANY($1) AND ranked <> clicks",
            )
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        }
        if !batch.unknown.is_empty() {
            let (days, requests): (Vec<i32>, Vec<i64>) = batch.unknown.iter().copied().unzip();
            sqlx::query(
                "INSERT INTO unknown_days (day, requests) \
                 SELECT * FROM UNNEST($1::int4[], $2::int8[]) \
                 ON CONFLICT (day) DO UPDATE SET requests = unknown_days.requests + excluded.requests",
            )
            .bind(&days)
            .bind(&requests)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    };
    match tokio::time::timeout(client_limit, flush).await {
        Ok(done) => Ok(done?),
        Err(_) => Err(StoreError::Unavailable(
            "click flush did not finish in time".to_owned(),
        )),
    }
}

/// Counts what each capped link's cap allows of the clicks wanted. The row
/// lock taken by the first statement makes concurrent counts from every
/// instance wait, and read the count the others committed; links are
/// locked in code order, so two batches cannot deadlock.
pub async fn consume(
    pool: &PgPool,
    wanted: &[(String, i64)],
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by(|a, b| wanted[*a].0.cmp(&wanted[*b].0));
    let mut granted = vec![0; wanted.len()];
    let mut tx = pool.begin().await?;
    for i in order {
        let (code, n) = &wanted[i];
        // The link's row lock orders concurrent counts. The count itself
        // is in link_clicks, so it is read by a second statement, whose
        // snapshot is taken once the lock is held: a statement that waited
        // for the lock would still see link_clicks as it was before.
        let locked: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, max_clicks FROM links WHERE code = $1 AND deleted_at IS NULL \
               AND (expires_at IS NULL OR expires_at > $2) FOR UPDATE",
        )
        .bind(code)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let counted = match locked {
            Some((id, max_clicks)) => Some(
                sqlx::query_scalar::<_, i64>(
                    "WITH cur AS ( \
                       SELECT CASE WHEN $3::int8 IS NULL THEN $2 ELSE LEAST($2, GREATEST(0, \
                         $3 - COALESCE( \
                           (SELECT c.clicks FROM link_clicks c WHERE c.link_id = $1), 0))) \
                       END AS n), \
                     counted AS ( \
                       INSERT INTO link_clicks (link_id, clicks, ranked) SELECT $1, n, n FROM cur \
                       ON CONFLICT (link_id) DO UPDATE SET \
                         clicks = link_clicks.clicks + excluded.clicks, \
                         ranked = link_clicks.clicks + excluded.clicks) \
                     SELECT n FROM cur",
                )
                .bind(id)
                .bind(n)
                .bind(max_clicks)
                .fetch_one(&mut *tx)
                .await?,
            ),
            None => None,
        };
        granted[i] = counted.unwrap_or(0);
    }
    tx.commit().await?;
    Ok(granted)
}

/// Drops the ids of batches written before `before`.
pub async fn purge_batches(pool: &PgPool, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM click_batches WHERE written_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
