//! Users and their API keys on PostgreSQL. Each function is one round trip
//! but for [`delete_user`], whose two statements must see each other's
//! effects (see there); callers bound each call with their timeout.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use super::{KeyRecord, UserRecord};

/// User columns, in [`user`]'s order.
const USER_COLUMNS: &str = "id, name, email, created_at, updated_at";

/// Key columns, in [`key`]'s order.
const KEY_COLUMNS: &str = "id, user_id, name, hash, scopes, created_at, expires_at, revoked_at";

fn user(row: &PgRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        email: row.try_get(2)?,
        created_at: row.try_get(3)?,
        updated_at: row.try_get(4)?,
    })
}

fn key(row: &PgRow) -> Result<KeyRecord, sqlx::Error> {
    Ok(KeyRecord {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        name: row.try_get(2)?,
        hash: row.try_get(3)?,
        scopes: i64::from(row.try_get::<i32, _>(4)?),
        created_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        revoked_at: row.try_get(7)?,
    })
}

/// Creates or updates `new` in one statement. A row the upsert inserted has
/// no `xmax` yet; one it updated has this transaction's id there.
pub async fn put_user(pool: &PgPool, new: &UserRecord) -> Result<(UserRecord, bool), sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, \
           updated_at = excluded.updated_at \
         RETURNING {USER_COLUMNS}, (xmax = 0)"
    ))
    .bind(&new.id)
    .bind(&new.name)
    .bind(&new.email)
    .bind(new.created_at)
    .bind(new.updated_at)
    .fetch_one(pool)
    .await?;
    Ok((user(&row)?, row.try_get(5)?))
}

/// The user with this id.
pub async fn get_user(pool: &PgPool, id: &str) -> Result<Option<UserRecord>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(user).transpose()
}

/// A page of users in id order, after `after`.
pub async fn list_users(
    pool: &PgPool,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<UserRecord>, sqlx::Error> {
    let sql = match after {
        Some(_) => format!("SELECT {USER_COLUMNS} FROM users WHERE id > $2 ORDER BY id LIMIT $1"),
        None => format!("SELECT {USER_COLUMNS} FROM users ORDER BY id LIMIT $1"),
    };
    let mut query = sqlx::query(&sql).bind(i64::from(limit));
    if let Some(after) = after {
        query = query.bind(after);
    }
    let rows = query.fetch_all(pool).await?;
    rows.iter().map(user).collect()
}

/// Deletes the user, then revokes their live keys, in one transaction;
/// `None`, with nothing revoked, when there was no such user.
///
/// The delete comes first and the revocation is a statement of its own:
/// [`insert_key`] holds a lock on the user's row until it commits, so the
/// delete waits for any key being added, and the revocation, which reads
/// the keys afresh, then sees it. (Revoking in the delete's own statement,
/// or before it, would read the keys as they were before that wait.)
pub async fn delete_user(
    pool: &PgPool,
    id: &str,
    now: i64,
) -> Result<Option<Vec<Vec<u8>>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(None);
    }
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar(
        "UPDATE api_keys SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
         RETURNING hash",
    )
    .bind(id)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(hashes))
}

/// Stores `new` if its user exists. The user's row is locked (as a foreign
/// key would lock it) until this commits, so a concurrent [`delete_user`]
/// either waits and then revokes the key, or wins and this inserts nothing.
pub async fn insert_key(pool: &PgPool, new: &KeyRecord) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "INSERT INTO api_keys ({KEY_COLUMNS}) \
         SELECT $1, $2, $3, $4, $5::int8, $6, $7, $8 FROM users WHERE id = $2 \
         FOR KEY SHARE"
    ))
    .bind(&new.id)
    .bind(&new.user_id)
    .bind(new.name.as_deref())
    .bind(new.hash.as_slice())
    .bind(new.scopes)
    .bind(new.created_at)
    .bind(new.expires_at)
    .bind(new.revoked_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The user's keys not revoked, oldest first.
pub async fn list_keys(pool: &PgPool, user_id: &str) -> Result<Vec<KeyRecord>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL \
         ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(key).collect()
}

/// Revokes one live key of the user's; its hash, or `None` if there was none.
pub async fn revoke_key(
    pool: &PgPool,
    user_id: &str,
    key_id: &str,
    now: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE api_keys SET revoked_at = $3 \
         WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING hash",
    )
    .bind(user_id)
    .bind(key_id)
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// The key with this hash, in whatever state.
pub async fn key_by_hash(pool: &PgPool, hash: &[u8]) -> Result<Option<KeyRecord>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = $1"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(key).transpose()
}
