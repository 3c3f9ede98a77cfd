//! Point lookups by code for the redirect path, run inline on the calling
//! thread with a pooled rusqlite connection, and off it whenever they would
//! wait.
//!
//! A lookup against a memory-mapped WAL database takes a few microseconds,
//! less than handing it to another thread and back (as sqlx does for each
//! SQLite statement; BENCHMARKS.md has what that costs cache misses). But the serving threads each
//! run one single-threaded runtime, so a lookup that waited there (for a
//! lock, or to open a connection) would stall every cached redirect on
//! that thread. So the inline attempt never waits: its connections have no
//! busy timeout, and are opened ahead of time. A lookup that finds the
//! database busy, or no idle connection, runs on the blocking pool
//! instead, where it may wait up to [`BUSY_WAIT`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

use super::list_sql::tags_of;
use super::{LinkRecord, StoreError};

/// Idle connections kept; more are opened under load and dropped after.
const MAX_IDLE: usize = 16;

/// Longest a lookup off the serving thread waits for a lock.
pub const BUSY_WAIT: Duration = Duration::from_millis(500);

/// A small pool of read connections used synchronously.
pub struct InlineLookup {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    select: String,
    idle: Mutex<Vec<Connection>>,
}

impl InlineLookup {
    /// Lookups against the database file at `path`, selecting `columns`,
    /// with a connection per core opened now, so none is opened on a
    /// serving thread later.
    pub fn new(path: &Path, columns: &str) -> InlineLookup {
        let shared = Shared {
            path: path.to_owned(),
            select: format!("SELECT {columns} FROM links WHERE code = ?1"),
            idle: Mutex::new(Vec::new()),
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let opened: Vec<Connection> = (0..cores.min(MAX_IDLE))
            .filter_map(|_| shared.open(Duration::ZERO).ok())
            .collect();
        *shared.idle.lock() = opened;
        InlineLookup {
            shared: Arc::new(shared),
        }
    }

    /// The link stored under `code`, tombstones included.
    pub async fn get_link(&self, code: &str) -> Result<Option<LinkRecord>, StoreError> {
        let pooled = self.shared.idle.lock().pop();
        let Some(conn) = pooled else {
            return self.off_thread(None, code).await;
        };
        match self.shared.query(&conn, code) {
            Err(e) if is_busy(&e) => self.off_thread(Some(conn), code).await,
            found => {
                self.shared.give_back(conn, found.is_ok());
                Ok(found?)
            }
        }
    }

    /// The lookup on the blocking pool, where it may wait for a lock (and
    /// open a connection first, if it has none).
    async fn off_thread(
        &self,
        conn: Option<Connection>,
        code: &str,
    ) -> Result<Option<LinkRecord>, StoreError> {
        let (shared, code) = (Arc::clone(&self.shared), code.to_owned());
        tokio::task::spawn_blocking(move || {
            let conn = match conn {
                Some(conn) => conn,
                None => shared.open(BUSY_WAIT)?,
            };
            conn.busy_timeout(BUSY_WAIT)?;
            let found = shared.query(&conn, &code);
            let reusable = conn.busy_timeout(Duration::ZERO).is_ok() && found.is_ok();
            shared.give_back(conn, reusable);
            Ok(found?)
        })
        .await
        .map_err(|e| StoreError::Other(format!("lookup task failed: {e}")))?
    }
}

impl Shared {
    fn query(&self, conn: &Connection, code: &str) -> rusqlite::Result<Option<LinkRecord>> {
        let mut statement = conn.prepare_cached(&self.select)?;
        statement
            .query_row([code], |row| {
                Ok(LinkRecord {
                    id: row.get(0)?,
                    code: row.get(1)?,
                    url: row.get(2)?,
                    created_at: row.get(3)?,
                    expires_at: row.get(4)?,
                    max_clicks: row.get(5)?,
                    clicks: row.get(6)?,
                    redirect_status: row.get(7)?,
                    deleted_at: row.get(8)?,
                    owner: row.get(9)?,
                    tags: tags_of(&row.get::<_, String>(10)?),
                    password_hash: row.get(11)?,
                })
            })
            .optional()
    }

    /// Returns a connection to the pool, unless it failed (a broken one is
    /// dropped and a new one opened when needed) or the pool is full.
    fn give_back(&self, conn: Connection, reusable: bool) {
        let mut idle = self.idle.lock();
        if reusable && idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// A read connection, opened waiting up to `wait` for locks, that
    /// then never waits for one (until told to).
    fn open(&self, wait: Duration) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(wait)?;
        conn.pragma_update(None, "mmap_size", 1_073_741_824i64)?;
        conn.pragma_update(None, "cache_size", -16_384i64)?;
        conn.busy_timeout(Duration::ZERO)?;
        Ok(conn)
    }
}

/// Whether a lookup failed only because it would have had to wait.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode::{CannotOpen, DatabaseBusy, DatabaseLocked};
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, DatabaseBusy | DatabaseLocked | CannotOpen) =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use super::*;

    const COLUMNS: &str = "id, code, url, created_at, expires_at, max_clicks, clicks, \
                           redirect_status, deleted_at, owner, tags, password_hash";

    /// A WAL database with one link, and a thread holding an exclusive
    /// lock on it for `hold`: readers get `SQLITE_BUSY` meanwhile.
    fn locked_database(dir: &Path, hold: Duration) -> (PathBuf, std::thread::JoinHandle<()>) {
        let path = dir.join("locked.db");
        let setup = Connection::open(&path).unwrap();
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE links (id INTEGER PRIMARY KEY, code TEXT UNIQUE, url TEXT,
                   created_at INTEGER, expires_at INTEGER, max_clicks INTEGER,
                   clicks INTEGER, redirect_status INTEGER, deleted_at INTEGER, owner TEXT,
                   tags TEXT, password_hash TEXT);
                 INSERT INTO links VALUES (1, 'abc', 'https://example.com/', 0, NULL, NULL, 0, 302, NULL, NULL, '[]', NULL);",
            )
            .unwrap();
        drop(setup);
        let holder = lock(&path, hold);
        (path, holder)
    }

    /// A thread holding an exclusive lock on the database at `path` for
    /// `hold`, once this returns.
    fn lock(path: &Path, hold: Duration) -> std::thread::JoinHandle<()> {
        let (locked, is_locked) = std::sync::mpsc::channel();
        let locker = Connection::open(path).unwrap();
        let holder = std::thread::spawn(move || {
            locker
                .pragma_update(None, "locking_mode", "EXCLUSIVE")
                .unwrap();
            locker
                .execute_batch("BEGIN EXCLUSIVE; UPDATE links SET clicks = clicks;")
                .unwrap();
            locked.send(()).unwrap();
            std::thread::sleep(hold);
            locker.execute_batch("ROLLBACK").unwrap();
        });
        is_locked.recv().unwrap();
        holder
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_lookup_that_waits_for_a_lock_leaves_its_thread_serving() {
        let dir = tempfile::tempdir().unwrap();
        // Locked before the lookup's connections could be opened: each
        // attempt meets the lock, and must wait for it elsewhere.
        let (path, holder) = locked_database(dir.path(), Duration::from_millis(300));
        let unopened = InlineLookup::new(&path, COLUMNS);
        assert_thread_keeps_serving(&unopened, holder).await;
    }

    async fn assert_thread_keeps_serving(
        lookup: &InlineLookup,
        holder: std::thread::JoinHandle<()>,
    ) {
        // Another task on this (only) thread, as the cached redirects are.
        let ticks = Arc::new(AtomicU32::new(0));
        let ticker = {
            let ticks = Arc::clone(&ticks);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(10));
                loop {
                    every.tick().await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        tokio::task::yield_now().await;
        let before = ticks.load(Ordering::Relaxed);
        let found = lookup.get_link("abc").await.unwrap().unwrap();
        let during = ticks.load(Ordering::Relaxed) - before;
        ticker.abort();
        holder.join().unwrap();
        assert_eq!(found.url, "https://example.com/");
        assert!(
            during >= 10,
            "the thread ran other tasks {during} times while the lookup waited 300 ms"
        );
    }
}
