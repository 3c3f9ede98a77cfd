//! Point lookups by code for the redirect path, run inline on the calling
//! thread with a pooled rusqlite connection.
//!
//! sqlx runs every SQLite statement on a worker thread of its own and hands
//! the result back through a channel; for a lookup that takes a few
//! microseconds against a memory-mapped WAL database, those two thread
//! hand-offs (and the context switches they force) cost more than the query.
//! `bench/` measured cache-miss redirects at 0.14x nginx that way. WAL
//! readers never wait for the writer, so running the lookup inline only
//! blocks the async worker for the query itself.

use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{LinkRecord, StoreError};

/// Idle connections kept; more are opened under load and dropped after.
const MAX_IDLE: usize = 16;

/// A small pool of read connections used synchronously.
pub struct InlineLookup {
    path: PathBuf,
    select: String,
    idle: Mutex<Vec<Connection>>,
}

impl InlineLookup {
    /// Lookups against the database file at `path`, selecting `columns`.
    pub fn new(path: &Path, columns: &str) -> InlineLookup {
        InlineLookup {
            path: path.to_owned(),
            select: format!("SELECT {columns} FROM links WHERE code = ?1"),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The link stored under `code`, tombstones included.
    pub fn get_link(&self, code: &str) -> Result<Option<LinkRecord>, StoreError> {
        let pooled = self.idle.lock().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => self.open()?,
        };
        let found = self.query(&conn, code);
        if found.is_ok() {
            let mut idle = self.idle.lock();
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        found
    }

    fn query(&self, conn: &Connection, code: &str) -> Result<Option<LinkRecord>, StoreError> {
        let mut statement = conn.prepare_cached(&self.select)?;
        let record = statement
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
                })
            })
            .optional()?;
        Ok(record)
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        // Bounded: a lookup must never park an async worker for long.
        conn.busy_timeout(Duration::from_millis(500))?;
        conn.pragma_update(None, "mmap_size", 1_073_741_824i64)?;
        conn.pragma_update(None, "cache_size", -16_384i64)?;
        Ok(conn)
    }
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
