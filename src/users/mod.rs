//! The user service: users, their API keys, and who a key belongs to.
//!
//! Keys are checked against a cache of recently valid keys
//! ([`key_cache`]); a revocation clears the key here at once and on every
//! other instance through the Redis invalidation channel.

pub mod input;
pub mod key_cache;
pub mod sessions;
pub mod view;

use std::sync::Arc;
use std::time::Instant;

use crate::domain::api_key::{key_hash, looks_like_key, IssuedSecret};
use crate::domain::{Email, Scopes, UserId, UserName};
use crate::error::AppError;
use crate::links::view::now_ms;
use crate::redis_shared::SharedRedis;
use crate::store::{KeyRecord, Store, UserRecord};
use key_cache::{key_message, KeyCache};

/// Most keys a user holds that are not revoked.
pub const MAX_KEYS_PER_USER: usize = 100;

/// What a valid key lets its holder do, and as whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGrant {
    pub user_id: String,
    pub key_id: String,
    pub scopes: Scopes,
    /// Unix milliseconds; checked on every use, cached or not.
    pub expires_at: Option<i64>,
}

/// A key as issued: the stored record and the secret, shown only now.
pub struct IssuedKey {
    pub record: KeyRecord,
    pub secret: String,
}

/// See the module doc.
pub struct UserService {
    store: Arc<dyn Store>,
    keys: Arc<KeyCache>,
    redis: Option<Arc<SharedRedis>>,
}

impl UserService {
    /// The service over `store`, announcing revocations on `redis`.
    pub fn new(store: Arc<dyn Store>, redis: Option<Arc<SharedRedis>>) -> UserService {
        UserService {
            store,
            keys: Arc::new(KeyCache::default()),
            redis,
        }
    }

    /// The key cache, which the invalidation subscriber reaches.
    pub fn key_cache(&self) -> &Arc<KeyCache> {
        &self.keys
    }

    /// Creates or updates a user; `true` when it was created.
    pub async fn put(
        &self,
        id: UserId,
        name: UserName,
        email: Email,
    ) -> Result<(UserRecord, bool), AppError> {
        let now = now_ms();
        let user = UserRecord {
            id: id.into_string(),
            name: name.into_string(),
            email: email.into_string(),
            created_at: now,
            updated_at: now,
        };
        Ok(self.store.put_user(&user).await?)
    }

    /// The user, or 404.
    pub async fn get(&self, id: &str) -> Result<UserRecord, AppError> {
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| AppError::NotFound("no user has that id".to_owned()))
    }

    /// A page of users in id order.
    pub async fn list(&self, after: Option<&str>, limit: u32) -> Result<Vec<UserRecord>, AppError> {
        Ok(self.store.list_users(after, limit).await?)
    }

    /// Deletes a user and revokes their keys; their links stay. Returns
    /// whether every revocation was announced (see
    /// [`UserService::revoke_key`]).
    pub async fn delete(&self, id: &str) -> Result<bool, AppError> {
        let revoked = self.store.delete_user(id, now_ms()).await?;
        let revoked =
            revoked.ok_or_else(|| AppError::NotFound("no user has that id".to_owned()))?;
        let mut announced = true;
        for hash in &revoked {
            announced &= self.forget(hash).await;
        }
        Ok(announced)
    }

    /// Issues a key to an existing user.
    pub async fn issue_key(
        &self,
        user_id: &str,
        name: Option<String>,
        expires_at: Option<i64>,
        scopes: Scopes,
    ) -> Result<IssuedKey, AppError> {
        // An unknown user has no keys; the insert below answers 404 for it.
        if self.store.list_keys(user_id).await?.len() >= MAX_KEYS_PER_USER {
            return Err(AppError::invalid(
                "user",
                format!("a user holds at most {MAX_KEYS_PER_USER} keys; revoke one first"),
            ));
        }
        let issued = IssuedSecret::generate();
        let record = KeyRecord {
            id: issued.id,
            user_id: user_id.to_owned(),
            name,
            hash: issued.hash,
            scopes: scopes.bits(),
            created_at: now_ms(),
            expires_at,
            revoked_at: None,
        };
        if !self.store.insert_key(&record).await? {
            return Err(AppError::NotFound("no user has that id".to_owned()));
        }
        Ok(IssuedKey {
            record,
            secret: issued.secret,
        })
    }

    /// The user's keys that are not revoked, or 404 for an unknown user.
    pub async fn list_keys(&self, user_id: &str) -> Result<Vec<KeyRecord>, AppError> {
        self.get(user_id).await?;
        Ok(self.store.list_keys(user_id).await?)
    }

    /// Revokes a key; it stops working on every instance within a second.
    /// Returns `false` when Redis did not take the announcement: instances
    /// whose invalidation channel is up may then accept the key for up to
    /// [`key_cache::LONG_TTL`] (a server keeps retrying for longer).
    pub async fn revoke_key(&self, user_id: &str, key_id: &str) -> Result<bool, AppError> {
        let hash = self.store.revoke_key(user_id, key_id, now_ms()).await?;
        let hash =
            hash.ok_or_else(|| AppError::NotFound("that user has no such key".to_owned()))?;
        Ok(self.forget(&hash).await)
    }

    /// What `token` grants, or `None` when it is not a valid key (unknown,
    /// revoked or expired). Store failures are errors, not `None`, so an
    /// outage is not counted as a failed authentication.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Arc<KeyGrant>>, AppError> {
        if !looks_like_key(token) {
            return Ok(None);
        }
        self.grant_for_hash(key_hash(token)).await
    }

    /// What the key with this hash grants, if it is valid: for
    /// [`UserService::authenticate`], and for web sessions, which keep
    /// their key's hash, not the key.
    async fn grant_for_hash(&self, hash: Vec<u8>) -> Result<Option<Arc<KeyGrant>>, AppError> {
        let now = Instant::now();
        let grant = match self.keys.get(&hash, now) {
            Some(grant) => grant,
            None => {
                let ticket = self.keys.ticket(&hash);
                let Some(record) = self.store.key_by_hash(&hash).await? else {
                    return Ok(None);
                };
                if record.revoked_at.is_some() {
                    return Ok(None);
                }
                let grant = Arc::new(KeyGrant {
                    user_id: record.user_id,
                    key_id: record.id,
                    scopes: Scopes::from_bits(record.scopes),
                    expires_at: record.expires_at,
                });
                self.keys.put(hash, Arc::clone(&grant), now, ticket);
                grant
            }
        };
        let expired = grant.expires_at.is_some_and(|at| at <= now_ms());
        Ok((!expired).then_some(grant))
    }

    /// Drops the key here and announces it to every instance; `false` if
    /// Redis did not take the announcement.
    async fn forget(&self, hash: &[u8]) -> bool {
        self.keys.invalidate(hash);
        match &self.redis {
            Some(redis) => redis.publish_invalidation(key_message(hash)).await,
            None => true,
        }
    }
}
