//! The shared store for many instances: PostgreSQL.
//!
//! Every operation is one round trip. Batches (group-committed creates,
//! click flushes) are sent as arrays and expanded with `UNNEST`, so one
//! prepared statement serves any batch size. Each call is bounded by the
//! configured timeout, so an unreachable server turns into a quick
//! [`StoreError::Unavailable`] rather than a hung request.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};

use super::list_sql::{list_query, tags_json, tags_of, Bind, Dialect, COLUMNS};
use super::{
    assign_ids, ClickBatch, CounterMarks, KeyRecord, LinkFilter, LinkPatch, LinkRecord,
    LinkStatsRows, NewLink, Owner, OwnerStatsRows, SessionRecord, Store, StoreError, StoreOptions,
    UserRecord, TOP,
};
use super::{postgres_clicks, postgres_sessions, postgres_stats, postgres_users};

/// Pool size when `db_pool_size` is not set.
const DEFAULT_POOL_SIZE: u32 = 16;

/// How much longer than the client-side timeout the server lets a
/// statement run before cancelling it.
const STATEMENT_TIMEOUT_MARGIN: Duration = Duration::from_millis(500);

/// PostgreSQL-backed [`Store`].
pub struct PostgresStore {
    pool: PgPool,
    timeout: Duration,
}

impl PostgresStore {
    /// Connects lazily: the pool opens connections on first use, so the
    /// server can start (and report not ready) while PostgreSQL is down.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<PostgresStore, StoreError> {
        // The server cancels any statement running past the timeout, so a
        // statement this side has given up on cannot go on holding locks
        // that later statements would queue behind.
        let statement_timeout = options.timeout + STATEMENT_TIMEOUT_MARGIN;
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad postgres url: {e}")))?
            .statement_cache_capacity(options.statement_cache)
            .application_name("shorty")
            .options([(
                "statement_timeout",
                format!("{}ms", statement_timeout.as_millis()),
            )]);
        let pool = PgPoolOptions::new()
            .max_connections(options.pool_size.unwrap_or(DEFAULT_POOL_SIZE))
            .min_connections(0)
            .acquire_timeout(options.timeout)
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(connect);
        Ok(PostgresStore {
            pool,
            timeout: options.timeout,
        })
    }

    /// Runs one store call within the configured timeout.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(StoreError::Unavailable(format!(
                "postgres did not answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }
}

fn record(row: &PgRow) -> Result<LinkRecord, sqlx::Error> {
    Ok(LinkRecord {
        id: row.try_get(0)?,
        code: row.try_get(1)?,
        url: row.try_get(2)?,
        created_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
        max_clicks: row.try_get(5)?,
        clicks: row.try_get(6)?,
        redirect_status: i64::from(row.try_get::<i32, _>(7)?),
        deleted_at: row.try_get(8)?,
        owner: row.try_get(9)?,
        tags: tags_of(row.try_get(10)?),
        password_hash: row.try_get(11)?,
    })
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        // Migrations may take longer than one request's budget; the lock
        // sqlx takes makes concurrent starts of several instances safe.
        sqlx::migrate!("migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_links(&self, links: &[NewLink]) -> Result<Vec<Option<i64>>, StoreError> {
        // Rows go in as given: ids follow that order, which `export` keeps.
        // Two instances inserting the same two aliases in opposite orders
        // at the same moment can deadlock; PostgreSQL then aborts one
        // (40P01), which reaches its callers as a retryable 503.
        let column = |f: fn(&NewLink) -> Option<i64>| links.iter().map(f).collect::<Vec<_>>();
        let codes: Vec<&str> = links.iter().map(|l| l.code.as_str()).collect();
        let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
        let statuses: Vec<i32> = links.iter().map(|l| l.redirect_status as i32).collect();
        let owners: Vec<Option<&str>> = links.iter().map(|l| l.owner.as_deref()).collect();
        let tags: Vec<String> = links.iter().map(|l| tags_json(&l.tags)).collect();
        // One statement, so a link and its tag rows commit together.
        let query = sqlx::query_as::<_, (String, i64)>(
            "WITH inserted AS ( \
               INSERT INTO links (code, url, created_at, expires_at, max_clicks, clicks, \
                 redirect_status, owner, tags, password_hash) \
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], \
                 $6::int8[], $7::int4[], $8::text[], $9::text[], $10::text[]) \
               ON CONFLICT (code) DO NOTHING RETURNING code, id, tags), \
             tagged AS ( \
               INSERT INTO link_tags (tag, link_id) \
               SELECT t.tag, inserted.id FROM inserted, \
                 jsonb_array_elements_text(inserted.tags::jsonb) AS t(tag) \
               ON CONFLICT DO NOTHING) \
             SELECT code, id FROM inserted",
        )
        .bind(&codes)
        .bind(&urls)
        .bind(column(|l| Some(l.created_at)))
        .bind(column(|l| l.expires_at))
        .bind(column(|l| l.max_clicks))
        .bind(column(|l| Some(l.clicks)))
        .bind(&statuses)
        .bind(&owners)
        .bind(&tags)
        .bind(
            links
                .iter()
                .map(|l| l.password_hash.as_deref())
                .collect::<Vec<_>>(),
        );
        let rows = self.bounded(query.fetch_all(&self.pool)).await?;
        Ok(assign_ids(links, rows))
    }

    async fn taken_codes(&self, codes: &[String]) -> Result<Vec<String>, StoreError> {
        let query = sqlx::query_scalar("SELECT code FROM links WHERE code = ANY($1)")
            .bind(codes)
            .fetch_all(&self.pool);
        self.bounded(query).await
    }

    async fn get_link(&self, code: &str) -> Result<Option<LinkRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM links WHERE code = $1");
        let row = self
            .bounded(sqlx::query(&sql).bind(code).fetch_optional(&self.pool))
            .await?;
        Ok(row.as_ref().map(record).transpose()?)
    }

    async fn list_links(
        &self,
        filter: &LinkFilter<'_>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        let (sql, binds) = list_query(filter, limit, Dialect::Postgres);
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Int(n) => query.bind(n),
                Bind::Text(t) => query.bind(t),
            };
        }
        let rows = self.bounded(query.fetch_all(&self.pool)).await?;
        Ok(rows.iter().map(record).collect::<Result<_, _>>()?)
    }

    async fn update_link(
        &self,
        code: &str,
        patch: &LinkPatch,
    ) -> Result<Option<LinkRecord>, StoreError> {
        // One statement: the tag rows change with the link. Tags kept
        // across the change are neither deleted nor inserted, since both
        // sides of one statement see the same snapshot.
        let sql = format!(
            "WITH updated AS ( \
               UPDATE links SET \
                 url = COALESCE($1, url), \
                 expires_at = CASE WHEN $2 THEN $3 ELSE expires_at END, \
                 max_clicks = CASE WHEN $4 THEN $5 ELSE max_clicks END, \
                 redirect_status = COALESCE($6, redirect_status), \
                 tags = COALESCE($8, tags), \
                 password_hash = CASE WHEN $9 THEN $10 ELSE password_hash END \
               WHERE code = $7 AND deleted_at IS NULL RETURNING {COLUMNS}), \
             dropped AS ( \
               DELETE FROM link_tags WHERE $8::text IS NOT NULL \
                 AND link_id IN (SELECT id FROM updated) \
                 AND tag NOT IN (SELECT jsonb_array_elements_text($8::jsonb))), \
             added AS ( \
               INSERT INTO link_tags (tag, link_id) \
               SELECT t.tag, updated.id FROM updated, \
                 jsonb_array_elements_text(COALESCE($8, '[]')::jsonb) AS t(tag) \
               ON CONFLICT DO NOTHING) \
             SELECT * FROM updated"
        );
        let query = sqlx::query(&sql)
            .bind(patch.url.as_deref())
            .bind(patch.expires_at.is_some())
            .bind(patch.expires_at.flatten())
            .bind(patch.max_clicks.is_some())
            .bind(patch.max_clicks.flatten())
            .bind(patch.redirect_status.map(|s| s as i32))
            .bind(code)
            .bind(patch.tags.as_deref().map(tags_json))
            .bind(patch.password_hash.is_some())
            .bind(patch.password_hash.clone().flatten());
        let row = self.bounded(query.fetch_optional(&self.pool)).await?;
        Ok(row.as_ref().map(record).transpose()?)
    }

    async fn delete_link(&self, code: &str, now: i64) -> Result<bool, StoreError> {
        let query =
            sqlx::query("UPDATE links SET deleted_at = $1 WHERE code = $2 AND deleted_at IS NULL")
                .bind(now)
                .bind(code);
        let done = self.bounded(query.execute(&self.pool)).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn consume_clicks(
        &self,
        wanted: &[(String, i64)],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        self.bounded(postgres_clicks::consume(&self.pool, wanted, now))
            .await
    }

    async fn add_clicks(&self, batch: ClickBatch<'_>) -> Result<(), StoreError> {
        let limit = postgres_clicks::FLUSH_TIMEOUT + STATEMENT_TIMEOUT_MARGIN;
        postgres_clicks::add(&self.pool, batch, limit).await
    }

    async fn link_stats(
        &self,
        link_id: i64,
        from: i32,
        to: i32,
    ) -> Result<LinkStatsRows, StoreError> {
        self.bounded(postgres_stats::link(&self.pool, link_id, from, to, TOP))
            .await
    }

    async fn owner_stats(
        &self,
        owner: Owner<'_>,
        from: i32,
        to: i32,
        top: u32,
    ) -> Result<OwnerStatsRows, StoreError> {
        self.bounded(postgres_stats::owner(&self.pool, owner, from, to, top))
            .await
    }

    async fn unknown_days(&self, from: i32, to: i32) -> Result<Vec<(i32, i64)>, StoreError> {
        self.bounded(postgres_stats::unknown(&self.pool, from, to))
            .await
    }

    async fn purge_stats(&self, before: i32) -> Result<u64, StoreError> {
        match tokio::time::timeout(
            postgres_clicks::FLUSH_TIMEOUT,
            postgres_stats::purge(&self.pool, before),
        )
        .await
        {
            Ok(purged) => Ok(purged?),
            Err(_) => Err(StoreError::Unavailable(
                "the stats purge did not finish in time".to_owned(),
            )),
        }
    }

    async fn purge_click_batches(&self, before: i64) -> Result<u64, StoreError> {
        self.bounded(postgres_clicks::purge_batches(&self.pool, before))
            .await
    }

    async fn reserve_counter_block(&self, count: u64) -> Result<u64, StoreError> {
        let query = sqlx::query_scalar::<_, i64>(
            "UPDATE counters SET next = GREATEST(next, redis_high) + $1 \
             WHERE name = 'links' RETURNING next",
        )
        .bind(count as i64);
        let next = self.bounded(query.fetch_one(&self.pool)).await?;
        Ok(next as u64 - count)
    }

    async fn counter_floor(&self) -> Result<u64, StoreError> {
        let query = sqlx::query_scalar::<_, i64>(
            "SELECT GREATEST(next, redis_high) FROM counters WHERE name = 'links'",
        );
        Ok(self.bounded(query.fetch_one(&self.pool)).await? as u64)
    }

    async fn record_redis_block(&self, end: u64) -> Result<CounterMarks, StoreError> {
        // The CTE reads the row under its lock, so the marks returned are
        // exactly what this update replaced.
        let query = sqlx::query_as::<_, (i64, i64)>(
            "WITH old AS (SELECT next, redis_high FROM counters WHERE name = 'links' FOR UPDATE) \
             UPDATE counters SET redis_high = GREATEST(counters.redis_high, $1) \
             FROM old WHERE counters.name = 'links' RETURNING old.next, old.redis_high",
        )
        .bind(end as i64);
        let (next, redis_high) = self.bounded(query.fetch_one(&self.pool)).await?;
        Ok(CounterMarks {
            next: next as u64,
            redis_high: redis_high as u64,
        })
    }

    async fn code_key(&self) -> Result<u64, StoreError> {
        let fresh: u64 = rand::random();
        let insert = sqlx::query(
            "INSERT INTO meta (key, value) VALUES ('code_key', $1) ON CONFLICT (key) DO NOTHING",
        )
        .bind(fresh.to_string());
        self.bounded(insert.execute(&self.pool)).await?;
        let select =
            sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = 'code_key'");
        let stored = self.bounded(select.fetch_one(&self.pool)).await?;
        stored
            .parse()
            .map_err(|_| StoreError::Other("corrupt code_key in meta table".to_owned()))
    }

    async fn purge_expired(&self, now: i64, limit: u32) -> Result<u64, StoreError> {
        // SKIP LOCKED: several instances purging at once split the work
        // instead of queueing on the same rows.
        let query = sqlx::query(
            "UPDATE links SET url = '', deleted_at = expires_at WHERE id IN ( \
               SELECT id FROM links WHERE expires_at IS NOT NULL AND deleted_at IS NULL \
                 AND expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(now)
        .bind(i64::from(limit));
        let done = self.bounded(query.execute(&self.pool)).await?;
        Ok(done.rows_affected())
    }

    async fn put_user(&self, user: &UserRecord) -> Result<(UserRecord, bool), StoreError> {
        self.bounded(postgres_users::put_user(&self.pool, user))
            .await
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.bounded(postgres_users::get_user(&self.pool, id)).await
    }

    async fn list_users(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.bounded(postgres_users::list_users(&self.pool, after, limit))
            .await
    }

    async fn delete_user(&self, id: &str, now: i64) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        self.bounded(postgres_users::delete_user(&self.pool, id, now))
            .await
    }

    async fn insert_key(&self, key: &KeyRecord) -> Result<bool, StoreError> {
        self.bounded(postgres_users::insert_key(&self.pool, key))
            .await
    }

    async fn list_keys(&self, user_id: &str) -> Result<Vec<KeyRecord>, StoreError> {
        self.bounded(postgres_users::list_keys(&self.pool, user_id))
            .await
    }

    async fn revoke_key(
        &self,
        user_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.bounded(postgres_users::revoke_key(&self.pool, user_id, key_id, now))
            .await
    }

    async fn key_by_hash(&self, hash: &[u8]) -> Result<Option<KeyRecord>, StoreError> {
        self.bounded(postgres_users::key_by_hash(&self.pool, hash))
            .await
    }

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.bounded(postgres_sessions::insert(&self.pool, session))
            .await
    }

    async fn get_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.bounded(postgres_sessions::get(&self.pool, id_hash, now))
            .await
    }

    async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, StoreError> {
        self.bounded(postgres_sessions::delete(&self.pool, id_hash))
            .await
    }

    async fn purge_sessions(&self, now: i64) -> Result<u64, StoreError> {
        self.bounded(postgres_sessions::purge(&self.pool, now))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.bounded(sqlx::query("SELECT 1").execute(&self.pool))
            .await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
