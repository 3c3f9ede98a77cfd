//! Durable storage behind one trait, so SQLite and PostgreSQL are
//! interchangeable; the backend is chosen by the `database_url` scheme.

mod click_rows;
mod list_sql;
mod postgres;
mod postgres_clicks;
mod postgres_sessions;
mod postgres_stats;
mod postgres_users;
mod sqlite;
mod sqlite_clicks;
mod sqlite_lookup;
mod sqlite_sessions;
mod sqlite_stats;
mod sqlite_users;
pub mod timed;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use click_rows::{
    ClickBatch, DayRow, Dimension, LinkStatsRows, Owner, OwnerStatsRows, ValueRow, STATS_TABLES,
    TOP,
};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A stored link, live or tombstoned. Times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRecord {
    /// Insertion order; the list cursor is built from it.
    pub id: i64,
    pub code: String,
    pub url: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub max_clicks: Option<i64>,
    pub clicks: i64,
    pub redirect_status: i64,
    /// Set when the link was deleted or purged after expiry.
    pub deleted_at: Option<i64>,
    /// The id of the user whose key created it; `None` for links made
    /// anonymously, with the admin token, or by the CLI.
    pub owner: Option<String>,
    /// Labels for finding it (at most 10, checked by `domain::Tags`).
    pub tags: Vec<String>,
    /// The argon2id hash of its password, if it has one.
    pub password_hash: Option<String>,
}

/// A link to insert: everything but the id, which the store assigns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLink {
    pub code: String,
    pub url: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub max_clicks: Option<i64>,
    pub clicks: i64,
    pub redirect_status: i64,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub password_hash: Option<String>,
}

/// A partial update; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkPatch {
    pub url: Option<String>,
    pub expires_at: Option<Option<i64>>,
    pub max_clicks: Option<Option<i64>>,
    pub redirect_status: Option<i64>,
    /// Replaces every tag.
    pub tags: Option<Vec<String>>,
    /// A new password hash, or `Some(None)` to remove the password.
    pub password_hash: Option<Option<String>>,
}

/// Which way a page of links runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// The API's default list order (`sort=-created`).
    NewestFirst,
    /// Export order, so an import recreates links in their original order
    /// (`sort=created`).
    OldestFirst,
    /// Most clicked first (`sort=-clicks`); ties newest first.
    MostClicked,
    /// Least clicked first (`sort=clicks`); ties oldest first.
    LeastClicked,
}

impl Order {
    /// Whether pages run by click count (their cursor holds one).
    pub fn by_clicks(self) -> bool {
        matches!(self, Order::MostClicked | Order::LeastClicked)
    }
}

/// Which live links a list shows, and in what order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkFilter<'a> {
    /// Only this user's links.
    pub owner: Option<&'a str>,
    /// Only links whose URL or code contains this (at least 3 characters,
    /// case-insensitive).
    pub search: Option<&'a str>,
    /// Only links with this tag.
    pub tag: Option<&'a str>,
    pub order: Order,
    /// The id of the last link of the previous page: the page starts
    /// after it, in `order` (for click orders, where its clicks are now).
    pub after: Option<i64>,
}

impl LinkFilter<'_> {
    /// Every live link in `order`, from the start.
    pub fn all(order: Order) -> LinkFilter<'static> {
        LinkFilter {
            owner: None,
            search: None,
            tag: None,
            order,
            after: None,
        }
    }
}

/// A user: someone who holds API keys and owns the links made with them.
/// Times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub name: String,
    pub email: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An API key, as stored: never the secret itself, only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// Public id, shown in lists and used to revoke the key.
    pub id: String,
    pub user_id: String,
    pub name: Option<String>,
    /// SHA-256 of the whole secret (`sk_…`), 32 bytes; unique.
    pub hash: Vec<u8>,
    /// The scopes as a bit set (`crate::domain::Scopes`).
    pub scopes: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A signed-in session of the web interface, as stored: never the cookie's
/// secret, only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the cookie's secret, 32 bytes.
    pub id_hash: Vec<u8>,
    /// Whether the session acts for the admin (else for an API key).
    pub admin: bool,
    /// What it acts with: the key's hash, or a digest of the admin token.
    pub credential: Vec<u8>,
    /// The token every form of this session carries.
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The code counter's state, as [`Store::record_redis_block`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterMarks {
    /// The store counter's next value.
    pub next: u64,
    /// The highest value Redis was recorded to have handed out.
    pub redis_high: u64,
}

impl CounterMarks {
    /// Whether a Redis block starting at `start` is clear of both marks.
    pub fn clears(&self, start: u64) -> bool {
        start >= self.next && start >= self.redis_high
    }

    /// Where Redis must move past before its next block can be used.
    pub fn floor(&self) -> u64 {
        self.next.max(self.redis_high)
    }
}

/// Store failures, split by what the caller should do about them.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached right now; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint refused the write.
    #[error("code already taken")]
    Conflict,
    /// Anything else: a bug or a corrupt store.
    #[error("store error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            // PostgreSQL errors that pass with time: connection exceptions
            // (08), transaction rollbacks such as deadlocks and
            // serialization failures (40), insufficient resources such as
            // a full disk (53), operator intervention such as shutdown,
            // recovery or a cancelled statement (57), and writes sent to a
            // read-only standby during a failover (25006).
            sqlx::Error::Database(db)
                if db.code().is_some_and(|c| {
                    ["08", "40", "53", "57"]
                        .iter()
                        .any(|class| c.starts_with(class))
                        || c == "25006"
                }) =>
            {
                StoreError::Unavailable(e.to_string())
            }
            // SQLite's "database is locked" (SQLITE_BUSY) passes with time.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> StoreError {
        StoreError::Other(format!("migration failed: {e}"))
    }
}

/// The operations the service needs from durable storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Brings the schema up to date; safe to run on every start.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Inserts links in one transaction. Each result is the new link's id,
    /// or `None` when its code was already taken; a failure of the whole
    /// transaction fails every link.
    async fn insert_links(&self, links: &[NewLink]) -> Result<Vec<Option<i64>>, StoreError>;

    /// Which of `codes` are taken, tombstones included, so an import's dry
    /// run can say what a real one would skip (at most 1000 codes a call).
    async fn taken_codes(&self, codes: &[String]) -> Result<Vec<String>, StoreError>;

    /// Looks a link up by code, tombstones included.
    async fn get_link(&self, code: &str) -> Result<Option<LinkRecord>, StoreError>;

    /// A page of up to `limit` live links that pass `filter`, after
    /// `filter.after` (exclusive). Each filter and order is read from an
    /// index, not a scan (`store::list_sql`).
    async fn list_links(
        &self,
        filter: &LinkFilter<'_>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError>;

    /// Applies a patch to a live link; `None` if there is no live link.
    async fn update_link(
        &self,
        code: &str,
        patch: &LinkPatch,
    ) -> Result<Option<LinkRecord>, StoreError>;

    /// Tombstones a live link; `false` if there was no live link.
    async fn delete_link(&self, code: &str, now: i64) -> Result<bool, StoreError>;

    /// Counts clicks on links with a click cap, in one transaction: for
    /// each `(code, wanted)`, as many of `wanted` as the cap has left (all
    /// of them once the cap is gone), none for a deleted, expired or
    /// unknown link. Returns how many were counted, per link, in order.
    async fn consume_clicks(
        &self,
        wanted: &[(String, i64)],
        now: i64,
    ) -> Result<Vec<i64>, StoreError>;

    /// Adds a flush's click counts and analytics rollups, in one
    /// transaction that also records `batch.id`. A batch already recorded
    /// was written by an earlier attempt (which then failed to say so), and
    /// is skipped.
    async fn add_clicks(&self, batch: ClickBatch<'_>) -> Result<(), StoreError>;

    /// One link's daily counts and top `top` values per dimension, over
    /// the days `from..=to`.
    async fn link_stats(
        &self,
        link_id: i64,
        from: i32,
        to: i32,
    ) -> Result<LinkStatsRows, StoreError>;

    /// Daily totals and the `top` most visited links of `owner`'s links.
    async fn owner_stats(
        &self,
        owner: Owner<'_>,
        from: i32,
        to: i32,
        top: u32,
    ) -> Result<OwnerStatsRows, StoreError>;

    /// Requests for unknown codes per day over `from..=to` (days without
    /// any are absent).
    async fn unknown_days(&self, from: i32, to: i32) -> Result<Vec<(i32, i64)>, StoreError>;

    /// Deletes analytics rows of days before `before`; returns how many.
    async fn purge_stats(&self, before: i32) -> Result<u64, StoreError>;

    /// Forgets the ids of click batches written before `before`.
    async fn purge_click_batches(&self, before: i64) -> Result<u64, StoreError>;

    /// Reserves `count` values of the store's own code counter and returns
    /// the first one. The block always starts past every value Redis has
    /// handed out (see [`Store::record_redis_block`]).
    async fn reserve_counter_block(&self, count: u64) -> Result<u64, StoreError>;

    /// The lowest counter value that neither the store nor Redis has handed
    /// out, as far as the store knows; Redis is moved past it when its own
    /// counter is behind (after a restart that lost its data, say).
    async fn counter_floor(&self) -> Result<u64, StoreError>;

    /// Records that Redis handed out counter values below `end`, before any
    /// of them is used. Returns what was recorded before: the store
    /// counter's next value and the previous Redis high-water mark. A block
    /// that starts below either may overlap values handed out already (by
    /// the store, or by a Redis that has since lost its data) and must be
    /// thrown away.
    async fn record_redis_block(&self, end: u64) -> Result<CounterMarks, StoreError>;

    /// The store's code bijection key, created on first use.
    async fn code_key(&self) -> Result<u64, StoreError>;

    /// Tombstones up to `limit` links that expired before `now`, dropping
    /// their URLs; returns how many it purged.
    async fn purge_expired(&self, now: i64, limit: u32) -> Result<u64, StoreError>;

    /// Creates the user, or updates its `name`, `email` and `updated_at`
    /// (keeping `created_at`). Returns the stored user and whether it was
    /// created.
    async fn put_user(&self, user: &UserRecord) -> Result<(UserRecord, bool), StoreError>;

    /// Looks a user up by id.
    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;

    /// A page of users in id order, after `after` (exclusive).
    async fn list_users(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError>;

    /// Deletes a user and, in the same transaction, revokes every key of
    /// theirs not yet revoked. Returns the hashes of the keys it revoked,
    /// or `None` when there is no such user. Their links stay.
    async fn delete_user(&self, id: &str, now: i64) -> Result<Option<Vec<Vec<u8>>>, StoreError>;

    /// Stores a new key; `false` when its user does not exist (checked in
    /// the same statement, so a key cannot outlive a concurrent delete).
    async fn insert_key(&self, key: &KeyRecord) -> Result<bool, StoreError>;

    /// The user's keys that are not revoked (expired ones included),
    /// oldest first.
    async fn list_keys(&self, user_id: &str) -> Result<Vec<KeyRecord>, StoreError>;

    /// Revokes one of the user's keys; returns its hash, or `None` when
    /// the user has no such key that is not already revoked.
    async fn revoke_key(
        &self,
        user_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// The key with this hash, in whatever state (revoked, expired).
    async fn key_by_hash(&self, hash: &[u8]) -> Result<Option<KeyRecord>, StoreError>;

    /// Stores a new web session.
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// The session with this id hash, if it has not expired by `now`.
    async fn get_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// Ends a session; `false` when there was none.
    async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, StoreError>;

    /// Deletes sessions that expired before `now`; returns how many.
    async fn purge_sessions(&self, now: i64) -> Result<u64, StoreError>;

    /// Answers when the store is reachable.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Releases connections and checkpoints; called once at shutdown.
    async fn close(&self);
}

/// Connection settings shared by both backends.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Most connections held open; `None` picks a backend default.
    pub pool_size: Option<u32>,
    /// Longest wait for a connection or one PostgreSQL call, so an
    /// unreachable store turns into a quick 503.
    pub timeout: Duration,
    /// Prepared statements cached per connection (PostgreSQL); 0 turns the
    /// cache off, for poolers in transaction mode.
    pub statement_cache: usize,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            pool_size: None,
            timeout: Duration::from_millis(1000),
            statement_cache: 100,
        }
    }
}

/// Opens the store named by `database_url` (`sqlite://PATH` or
/// `postgres://…`).
pub async fn connect(
    database_url: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("sqlite:")
        && (database_url.contains(":memory:") || database_url.contains("mode=memory"))
    {
        Err(StoreError::Other(
            "an in-memory SQLite database would lose every link on exit; use sqlite://PATH"
                .to_owned(),
        ))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(database_url, options).await?))
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(
            PostgresStore::connect(database_url, options).await?,
        ))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database_url {:?}: expected sqlite://PATH or postgres://...",
            database_url.split(':').next().unwrap_or_default()
        )))
    }
}

/// Matches `RETURNING code, id` rows back to the links of a multi-row insert.
/// A code that appears twice in one insert goes to its first occurrence,
/// which is the row the store inserted.
fn assign_ids(links: &[NewLink], rows: Vec<(String, i64)>) -> Vec<Option<i64>> {
    let mut inserted: HashMap<String, i64> = rows.into_iter().collect();
    links
        .iter()
        .map(|link| inserted.remove(&link.code))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(code: &str) -> NewLink {
        NewLink {
            code: code.into(),
            url: "https://example.com/".into(),
            created_at: 0,
            expires_at: None,
            max_clicks: None,
            clicks: 0,
            redirect_status: 302,
            owner: None,
            tags: Vec::new(),
            password_hash: None,
        }
    }

    #[test]
    fn returned_ids_go_to_the_right_links() {
        let links = [link("a"), link("b"), link("a"), link("c")];
        let rows = vec![("c".to_owned(), 9), ("a".to_owned(), 7)];
        assert_eq!(assign_ids(&links, rows), [Some(7), None, None, Some(9)]);
    }
}
