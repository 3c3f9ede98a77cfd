//! The embedded default store: one SQLite file in WAL mode.
//!
//! All writes go through a single connection (SQLite has one writer anyway,
//! and this avoids `SQLITE_BUSY` between our own connections); reads use a
//! separate pool and run concurrently with writes thanks to WAL.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, SqlitePool};

use super::list_sql::{list_query, tags_json, tags_of, Bind, Dialect, COLUMNS};
use super::sqlite_clicks::{self, ROWS_PER_STATEMENT};
use super::sqlite_lookup::InlineLookup;
use super::sqlite_stats;
use super::{
    assign_ids, ClickBatch, CounterMarks, KeyRecord, LinkFilter, LinkPatch, LinkRecord,
    LinkStatsRows, NewLink, Owner, OwnerStatsRows, SessionRecord, Store, StoreError, StoreOptions,
    UserRecord, TOP,
};
use super::{sqlite_sessions, sqlite_users};

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Inline lookups by code for the redirect path.
    lookup: InlineLookup,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`).
    pub async fn connect(
        url: &str,
        store_options: &StoreOptions,
    ) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad sqlite url: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: every commit is fsynced before a 201 is sent, so an
            // acknowledged create survives a power cut, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Larger page caches and memory-mapped reads keep hot pages out of
            // read() syscalls once the file outgrows SQLite's 2 MiB default.
            .pragma("mmap_size", "1073741824")
            .pragma("temp_store", "memory");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", "-65536")
                    .pragma("wal_autocheckpoint", WAL_CHECKPOINT_PAGES),
            )
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(store_options.pool_size.unwrap_or_else(reader_count))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone().pragma("cache_size", "-16384"))
            .await?;
        let lookup = InlineLookup::new(options.get_filename(), COLUMNS);
        Ok(SqliteStore {
            read,
            write,
            lookup,
        })
    }
}

/// WAL pages after which a commit copies the WAL back into the database
/// (SQLite's default is 1,000). A click flush under random traffic over a
/// million links rewrites most of `link_clicks`, about 2,700 pages; at
/// 16,384 pages (64 MiB of WAL) a checkpoint comes every few flushes and
/// copies each page once, where SQLite's default would copy them all after
/// every flush (BENCHMARKS.md has what that costs).
const WAL_CHECKPOINT_PAGES: &str = "16384";

/// One `link_tags` row per tag of link `id`.
async fn write_tags(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    tags: &[String],
) -> Result<(), sqlx::Error> {
    for tag in tags {
        sqlx::query("INSERT INTO link_tags (tag, link_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(tag)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn reader_count() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores as u32 * 2).clamp(2, 16)
}

fn record(row: &sqlx::sqlite::SqliteRow) -> Result<LinkRecord, sqlx::Error> {
    Ok(LinkRecord {
        id: row.try_get(0)?,
        code: row.try_get(1)?,
        url: row.try_get(2)?,
        created_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
        max_clicks: row.try_get(5)?,
        clicks: row.try_get(6)?,
        redirect_status: row.try_get(7)?,
        deleted_at: row.try_get(8)?,
        owner: row.try_get(9)?,
        tags: tags_of(row.try_get(10)?),
        password_hash: row.try_get(11)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("migrations/sqlite").run(&self.write).await?;
        Ok(())
    }

    async fn insert_links(&self, links: &[NewLink]) -> Result<Vec<Option<i64>>, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut ids = Vec::with_capacity(links.len());
        for chunk in links.chunks(ROWS_PER_STATEMENT) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO links (code, url, created_at, expires_at, max_clicks, clicks, \
                 redirect_status, owner, tags, password_hash) ",
            );
            insert.push_values(chunk, |mut row, link| {
                row.push_bind(&link.code)
                    .push_bind(&link.url)
                    .push_bind(link.created_at)
                    .push_bind(link.expires_at)
                    .push_bind(link.max_clicks)
                    .push_bind(link.clicks)
                    .push_bind(link.redirect_status)
                    .push_bind(link.owner.as_deref())
                    .push_bind(tags_json(&link.tags))
                    .push_bind(link.password_hash.as_deref());
            });
            insert.push(" ON CONFLICT (code) DO NOTHING RETURNING code, id");
            let rows: Vec<(String, i64)> = insert.build_query_as().fetch_all(&mut *tx).await?;
            let chunk_ids = assign_ids(chunk, rows);
            for (link, id) in chunk.iter().zip(&chunk_ids) {
                if let Some(id) = id {
                    write_tags(&mut tx, *id, &link.tags).await?;
                }
            }
            ids.extend(chunk_ids);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn taken_codes(&self, codes: &[String]) -> Result<Vec<String>, StoreError> {
        let mut taken = Vec::new();
        for chunk in codes.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::new("SELECT code FROM links WHERE code IN (");
            let mut list = query.separated(", ");
            for code in chunk {
                list.push_bind(code);
            }
            query.push(")");
            let rows: Vec<(String,)> = query.build_query_as().fetch_all(&self.read).await?;
            taken.extend(rows.into_iter().map(|(code,)| code));
        }
        Ok(taken)
    }

    async fn get_link(&self, code: &str) -> Result<Option<LinkRecord>, StoreError> {
        self.lookup.get_link(code).await
    }

    async fn list_links(
        &self,
        filter: &LinkFilter<'_>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        let (sql, binds) = list_query(filter, limit, Dialect::Sqlite);
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Int(n) => query.bind(n),
                Bind::Text(t) => query.bind(t),
            };
        }
        let rows = query.fetch_all(&self.read).await?;
        Ok(rows.iter().map(record).collect::<Result<_, _>>()?)
    }

    async fn update_link(
        &self,
        code: &str,
        patch: &LinkPatch,
    ) -> Result<Option<LinkRecord>, StoreError> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE links SET \
               url = COALESCE(?, url), \
               expires_at = CASE WHEN ? THEN ? ELSE expires_at END, \
               max_clicks = CASE WHEN ? THEN ? ELSE max_clicks END, \
               redirect_status = COALESCE(?, redirect_status), \
               tags = COALESCE(?, tags), \
               password_hash = CASE WHEN ? THEN ? ELSE password_hash END \
             WHERE code = ? AND deleted_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(patch.url.as_deref())
        .bind(patch.expires_at.is_some())
        .bind(patch.expires_at.flatten())
        .bind(patch.max_clicks.is_some())
        .bind(patch.max_clicks.flatten())
        .bind(patch.redirect_status)
        .bind(patch.tags.as_deref().map(tags_json))
        .bind(patch.password_hash.is_some())
        .bind(patch.password_hash.clone().flatten())
        .bind(code)
        .fetch_optional(&mut *tx)
        .await?;
        let record = row.as_ref().map(record).transpose()?;
        if let (Some(record), Some(tags)) = (&record, &patch.tags) {
            sqlx::query("DELETE FROM link_tags WHERE link_id = ?")
                .bind(record.id)
                .execute(&mut *tx)
                .await?;
            write_tags(&mut tx, record.id, tags).await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    async fn delete_link(&self, code: &str, now: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE links SET deleted_at = ? WHERE code = ? AND deleted_at IS NULL")
                .bind(now)
                .bind(code)
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn consume_clicks(
        &self,
        wanted: &[(String, i64)],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        sqlite_clicks::consume(&self.write, wanted, now).await
    }

    async fn add_clicks(&self, batch: ClickBatch<'_>) -> Result<(), StoreError> {
        sqlite_clicks::add(&self.write, batch).await
    }

    async fn link_stats(
        &self,
        link_id: i64,
        from: i32,
        to: i32,
    ) -> Result<LinkStatsRows, StoreError> {
        sqlite_stats::link(&self.read, link_id, from, to, TOP).await
    }

    async fn owner_stats(
        &self,
        owner: Owner<'_>,
        from: i32,
        to: i32,
        top: u32,
    ) -> Result<OwnerStatsRows, StoreError> {
        sqlite_stats::owner(&self.read, owner, from, to, top).await
    }

    async fn unknown_days(&self, from: i32, to: i32) -> Result<Vec<(i32, i64)>, StoreError> {
        sqlite_stats::unknown(&self.read, from, to).await
    }

    async fn purge_stats(&self, before: i32) -> Result<u64, StoreError> {
        sqlite_stats::purge(&self.write, before).await
    }

    async fn purge_click_batches(&self, before: i64) -> Result<u64, StoreError> {
        sqlite_clicks::purge_batches(&self.write, before).await
    }

    async fn reserve_counter_block(&self, count: u64) -> Result<u64, StoreError> {
        let next: i64 = sqlx::query_scalar(
            "UPDATE counters SET next = MAX(next, redis_high) + ? WHERE name = 'links' RETURNING next",
        )
        .bind(count as i64)
        .fetch_one(&self.write)
        .await?;
        Ok(next as u64 - count)
    }

    async fn counter_floor(&self) -> Result<u64, StoreError> {
        let floor: i64 =
            sqlx::query_scalar("SELECT MAX(next, redis_high) FROM counters WHERE name = 'links'")
                .fetch_one(&self.read)
                .await?;
        Ok(floor as u64)
    }

    async fn record_redis_block(&self, end: u64) -> Result<CounterMarks, StoreError> {
        // One writer connection: nothing runs between the read and the update.
        let mut tx = self.write.begin().await?;
        let (next, redis_high): (i64, i64) =
            sqlx::query_as("SELECT next, redis_high FROM counters WHERE name = 'links'")
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query("UPDATE counters SET redis_high = MAX(redis_high, ?) WHERE name = 'links'")
            .bind(end as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(CounterMarks {
            next: next as u64,
            redis_high: redis_high as u64,
        })
    }

    async fn code_key(&self) -> Result<u64, StoreError> {
        let fresh: u64 = rand::random();
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ('code_key', ?) ON CONFLICT (key) DO NOTHING",
        )
        .bind(fresh.to_string())
        .execute(&self.write)
        .await?;
        let stored: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'code_key'")
            .fetch_one(&self.write)
            .await?;
        stored
            .parse()
            .map_err(|_| StoreError::Other("corrupt code_key in meta table".to_owned()))
    }

    async fn purge_expired(&self, now: i64, limit: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE links SET url = '', deleted_at = expires_at WHERE id IN ( \
               SELECT id FROM links WHERE expires_at IS NOT NULL AND deleted_at IS NULL \
                 AND expires_at <= ? LIMIT ?)",
        )
        .bind(now)
        .bind(limit)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    async fn put_user(&self, user: &UserRecord) -> Result<(UserRecord, bool), StoreError> {
        sqlite_users::put_user(&self.write, user).await
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        sqlite_users::get_user(&self.read, id).await
    }

    async fn list_users(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError> {
        sqlite_users::list_users(&self.read, after, limit).await
    }

    async fn delete_user(&self, id: &str, now: i64) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        sqlite_users::delete_user(&self.write, id, now).await
    }

    async fn insert_key(&self, key: &KeyRecord) -> Result<bool, StoreError> {
        sqlite_users::insert_key(&self.write, key).await
    }

    async fn list_keys(&self, user_id: &str) -> Result<Vec<KeyRecord>, StoreError> {
        sqlite_users::list_keys(&self.read, user_id).await
    }

    async fn revoke_key(
        &self,
        user_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        sqlite_users::revoke_key(&self.write, user_id, key_id, now).await
    }

    async fn key_by_hash(&self, hash: &[u8]) -> Result<Option<KeyRecord>, StoreError> {
        sqlite_users::key_by_hash(&self.read, hash).await
    }

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlite_sessions::insert(&self.write, session).await
    }

    async fn get_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        sqlite_sessions::get(&self.read, id_hash, now).await
    }

    async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, StoreError> {
        sqlite_sessions::delete(&self.write, id_hash).await
    }

    async fn purge_sessions(&self, now: i64) -> Result<u64, StoreError> {
        sqlite_sessions::purge(&self.write, now).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}
