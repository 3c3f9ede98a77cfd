//! Web sessions on SQLite: writes through the single writer connection,
//! reads from the reader pool.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::{SessionRecord, StoreError};

/// Session columns, in [`session`]'s order.
const COLUMNS: &str = "id_hash, admin, credential, csrf, created_at, expires_at";

fn session(row: &SqliteRow) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        id_hash: row.try_get(0)?,
        admin: row.try_get(1)?,
        credential: row.try_get(2)?,
        csrf: row.try_get(3)?,
        created_at: row.try_get(4)?,
        expires_at: row.try_get(5)?,
    })
}

/// Stores a new session.
pub async fn insert(write: &SqlitePool, s: &SessionRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO ui_sessions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    ))
    .bind(&s.id_hash)
    .bind(s.admin)
    .bind(&s.credential)
    .bind(&s.csrf)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(write)
    .await?;
    Ok(())
}

/// The unexpired session with this id hash.
pub async fn get(
    read: &SqlitePool,
    id_hash: &[u8],
    now: i64,
) -> Result<Option<SessionRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM ui_sessions WHERE id_hash = ? AND expires_at > ?"
    ))
    .bind(id_hash)
    .bind(now)
    .fetch_optional(read)
    .await?;
    Ok(row.as_ref().map(session).transpose()?)
}

/// Ends a session.
pub async fn delete(write: &SqlitePool, id_hash: &[u8]) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM ui_sessions WHERE id_hash = ?")
        .bind(id_hash)
        .execute(write)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes the sessions expired by `now`.
pub async fn purge(write: &SqlitePool, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM ui_sessions WHERE expires_at <= ?")
        .bind(now)
        .execute(write)
        .await?;
    Ok(done.rows_affected())
}
