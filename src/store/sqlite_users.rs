//! Users and their API keys on SQLite. Writes go through the single writer
//! connection, so a transaction's read and its write see the same state.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::{KeyRecord, StoreError, UserRecord};

/// User columns, in [`user`]'s order.
const USER_COLUMNS: &str = "id, name, email, created_at, updated_at";

/// Key columns, in [`key`]'s order.
const KEY_COLUMNS: &str = "id, user_id, name, hash, scopes, created_at, expires_at, revoked_at";

fn user(row: &SqliteRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        email: row.try_get(2)?,
        created_at: row.try_get(3)?,
        updated_at: row.try_get(4)?,
    })
}

fn key(row: &SqliteRow) -> Result<KeyRecord, sqlx::Error> {
    Ok(KeyRecord {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        name: row.try_get(2)?,
        hash: row.try_get(3)?,
        scopes: row.try_get(4)?,
        created_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        revoked_at: row.try_get(7)?,
    })
}

/// Creates or updates `new`; whether it was created is read in the same
/// transaction, before the upsert (SQLite cannot tell from its result).
pub async fn put_user(
    write: &SqlitePool,
    new: &UserRecord,
) -> Result<(UserRecord, bool), StoreError> {
    let mut tx = write.begin().await?;
    let existed: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)")
        .bind(&new.id)
        .fetch_one(&mut *tx)
        .await?;
    let row = sqlx::query(&format!(
        "INSERT INTO users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, \
           updated_at = excluded.updated_at \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(&new.id)
    .bind(&new.name)
    .bind(&new.email)
    .bind(new.created_at)
    .bind(new.updated_at)
    .fetch_one(&mut *tx)
    .await?;
    let stored = user(&row)?;
    tx.commit().await?;
    Ok((stored, !existed))
}

/// The user with this id.
pub async fn get_user(read: &SqlitePool, id: &str) -> Result<Option<UserRecord>, StoreError> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
        .bind(id)
        .fetch_optional(read)
        .await?;
    Ok(row.as_ref().map(user).transpose()?)
}

/// A page of users in id order, after `after`.
pub async fn list_users(
    read: &SqlitePool,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<UserRecord>, StoreError> {
    let after_clause = if after.is_some() { "WHERE id > ?" } else { "" };
    let sql = format!("SELECT {USER_COLUMNS} FROM users {after_clause} ORDER BY id LIMIT ?");
    let mut query = sqlx::query(&sql);
    if let Some(after) = after {
        query = query.bind(after);
    }
    let rows = query.bind(limit).fetch_all(read).await?;
    Ok(rows.iter().map(user).collect::<Result<_, _>>()?)
}

/// Deletes the user, then revokes their live keys, in one transaction;
/// `None`, with nothing revoked, when there was no such user.
pub async fn delete_user(
    write: &SqlitePool,
    id: &str,
    now: i64,
) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
    let mut tx = write.begin().await?;
    let deleted = sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(None);
    }
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar(
        "UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL \
         RETURNING hash",
    )
    .bind(now)
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(hashes))
}

/// Stores `new` if its user exists, checked in the same statement.
pub async fn insert_key(write: &SqlitePool, new: &KeyRecord) -> Result<bool, StoreError> {
    let done = sqlx::query(&format!(
        "INSERT INTO api_keys ({KEY_COLUMNS}) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)"
    ))
    .bind(&new.id)
    .bind(&new.user_id)
    .bind(new.name.as_deref())
    .bind(new.hash.as_slice())
    .bind(new.scopes)
    .bind(new.created_at)
    .bind(new.expires_at)
    .bind(new.revoked_at)
    .bind(&new.user_id)
    .execute(write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The user's keys not revoked, oldest first.
pub async fn list_keys(read: &SqlitePool, user_id: &str) -> Result<Vec<KeyRecord>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = ? AND revoked_at IS NULL \
         ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(read)
    .await?;
    Ok(rows.iter().map(key).collect::<Result<_, _>>()?)
}

/// Revokes one live key of the user's; its hash, or `None` if there was none.
pub async fn revoke_key(
    write: &SqlitePool,
    user_id: &str,
    key_id: &str,
    now: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    let hash = sqlx::query_scalar(
        "UPDATE api_keys SET revoked_at = ? \
         WHERE user_id = ? AND id = ? AND revoked_at IS NULL RETURNING hash",
    )
    .bind(now)
    .bind(user_id)
    .bind(key_id)
    .fetch_optional(write)
    .await?;
    Ok(hash)
}

/// The key with this hash, in whatever state.
pub async fn key_by_hash(read: &SqlitePool, hash: &[u8]) -> Result<Option<KeyRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = ?"
    ))
    .bind(hash)
    .fetch_optional(read)
    .await?;
    Ok(row.as_ref().map(key).transpose()?)
}
