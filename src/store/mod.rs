//! Durable storage behind one trait, so SQLite and PostgreSQL are
//! interchangeable; the backend is chosen by the `database_url` scheme.

mod sqlite;
mod sqlite_lookup;

use std::sync::Arc;

use async_trait::async_trait;

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
}

/// A partial update; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkPatch {
    pub url: Option<String>,
    pub expires_at: Option<Option<i64>>,
    pub max_clicks: Option<Option<i64>>,
    pub redirect_status: Option<i64>,
}

/// Which way a page of links runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// The API's list order.
    NewestFirst,
    /// Export order, so an import recreates links in their original order.
    OldestFirst,
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
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e.to_string())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
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

    /// Looks a link up by code, tombstones included.
    async fn get_link(&self, code: &str) -> Result<Option<LinkRecord>, StoreError>;

    /// A page of live links after the link with id `after` (exclusive).
    async fn list_links(
        &self,
        after: Option<i64>,
        limit: u32,
        order: Order,
    ) -> Result<Vec<LinkRecord>, StoreError>;

    /// Applies a patch to a live link; `None` if there is no live link.
    async fn update_link(
        &self,
        code: &str,
        patch: &LinkPatch,
    ) -> Result<Option<LinkRecord>, StoreError>;

    /// Tombstones a live link; `false` if there was no live link.
    async fn delete_link(&self, code: &str, now: i64) -> Result<bool, StoreError>;

    /// Atomically counts one click on a link with a click cap, if the cap,
    /// expiry and deletion allow it; `false` means the link is used up.
    async fn consume_click(&self, code: &str, now: i64) -> Result<bool, StoreError>;

    /// Adds aggregated click counts, keyed by link id, in one transaction.
    async fn add_clicks(&self, counts: &[(i64, i64)]) -> Result<(), StoreError>;

    /// Reserves `count` counter values and returns the first one.
    async fn reserve_counter_block(&self, count: u64) -> Result<u64, StoreError>;

    /// The store's code bijection key, created on first use.
    async fn code_key(&self) -> Result<u64, StoreError>;

    /// Tombstones up to `limit` links that expired before `now`, dropping
    /// their URLs; returns how many it purged.
    async fn purge_expired(&self, now: i64, limit: u32) -> Result<u64, StoreError>;

    /// Answers when the store is reachable.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Releases connections and checkpoints; called once at shutdown.
    async fn close(&self);
}

/// Opens the store named by `database_url` (`sqlite://PATH`).
pub async fn connect(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("sqlite:")
        && (database_url.contains(":memory:") || database_url.contains("mode=memory"))
    {
        Err(StoreError::Other(
            "an in-memory SQLite database would lose every link on exit; use sqlite://PATH"
                .to_owned(),
        ))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(database_url).await?))
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Err(StoreError::Other(
            "PostgreSQL is not supported by this build yet; use sqlite://PATH".to_owned(),
        ))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database_url {:?}: expected sqlite://PATH",
            database_url.split(':').next().unwrap_or_default()
        )))
    }
}
