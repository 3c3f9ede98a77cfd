//! Web sessions on PostgreSQL, one statement each; callers bound each call
//! with their timeout.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use super::SessionRecord;

/// Session columns, in [`session`]'s order.
const COLUMNS: &str = "id_hash, admin, credential, csrf, created_at, expires_at";

fn session(row: &PgRow) -> Result<SessionRecord, sqlx::Error> {
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
pub async fn insert(pool: &PgPool, s: &SessionRecord) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO ui_sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(&s.id_hash)
    .bind(s.admin)
    .bind(&s.credential)
    .bind(&s.csrf)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The unexpired session with this id hash.
pub async fn get(
    pool: &PgPool,
    id_hash: &[u8],
    now: i64,
) -> Result<Option<SessionRecord>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM ui_sessions WHERE id_hash = $1 AND expires_at > $2"
    ))
    .bind(id_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(session).transpose()
}

/// Ends a session.
pub async fn delete(pool: &PgPool, id_hash: &[u8]) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM ui_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes the sessions expired by `now`.
pub async fn purge(pool: &PgPool, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM ui_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
