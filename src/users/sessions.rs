//! Signed-in sessions of the web interface. A visitor signs in with an
//! API key or the admin token once; the browser then holds a random
//! session secret in a cookie, and the store keeps its SHA-256 with what
//! the session acts with. Every request checks that again: a session
//! opened with a key ends when the key is revoked or expires (through the
//! same key cache the API uses), an admin session when the admin token
//! changes, and any session after [`SESSION_TTL`] or when signed out.

use std::sync::Arc;
use std::time::Duration;

use super::{KeyGrant, UserService};
use crate::domain::session::{looks_like_token, random_token, SessionSecret};
use crate::domain::SecretDigest;
use crate::error::AppError;
use crate::links::view::now_ms;
use crate::store::{SessionRecord, StoreError};

/// How long a session lasts from sign-in, whatever it does meanwhile.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// What admin sessions store as their credential: a digest of the admin
/// token for this purpose only.
const ADMIN_TAG: &str = "shorty web session";

/// Whom a live session acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionActor {
    /// Signed in with the admin token.
    Admin,
    /// Signed in with a user's API key, with that key's scopes.
    Key(Arc<KeyGrant>),
}

/// A live session, checked for this request.
#[derive(Clone, Debug)]
pub struct Session {
    pub actor: SessionActor,
    /// The token every state-changing form of this session must carry.
    pub csrf: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// A session just opened: the secret for the cookie, shown only now.
pub struct OpenedSession {
    pub secret: String,
    pub session: Session,
}

impl UserService {
    /// Opens a session for the holder of a valid API key; `None` when the
    /// key is not one (unknown, revoked, expired).
    pub async fn open_key_session(&self, key: &str) -> Result<Option<OpenedSession>, AppError> {
        let Some(grant) = self.authenticate(key).await? else {
            return Ok(None);
        };
        let credential = crate::domain::api_key::key_hash(key);
        let opened = self
            .open(false, credential, SessionActor::Key(grant))
            .await?;
        Ok(Some(opened))
    }

    /// Opens a session for the admin, who presented `admin`'s token.
    pub async fn open_admin_session(
        &self,
        admin: &SecretDigest,
    ) -> Result<OpenedSession, AppError> {
        self.open(true, admin.tag(ADMIN_TAG), SessionActor::Admin)
            .await
    }

    async fn open(
        &self,
        admin: bool,
        credential: Vec<u8>,
        actor: SessionActor,
    ) -> Result<OpenedSession, AppError> {
        let fresh = SessionSecret::generate();
        let now = now_ms();
        let record = SessionRecord {
            id_hash: fresh.hash,
            admin,
            credential,
            csrf: random_token(),
            created_at: now,
            expires_at: now + SESSION_TTL.as_millis() as i64,
        };
        self.store.insert_session(&record).await?;
        Ok(OpenedSession {
            secret: fresh.secret,
            session: Session {
                actor,
                csrf: record.csrf,
                expires_at: record.expires_at,
            },
        })
    }

    /// The live session whose cookie holds `secret`, or `None` when there
    /// is none (never was, expired, signed out, or its key or the admin
    /// token no longer holds). `admin` is the admin token configured now.
    pub async fn session(
        &self,
        secret: &str,
        admin: Option<&SecretDigest>,
    ) -> Result<Option<Session>, AppError> {
        if !looks_like_token(secret) {
            return Ok(None);
        }
        let hash = crate::domain::api_key::key_hash(secret);
        let Some(record) = self.store.get_session(&hash, now_ms()).await? else {
            return Ok(None);
        };
        let actor = if record.admin {
            match admin {
                Some(admin) if admin.has_tag(ADMIN_TAG, &record.credential) => SessionActor::Admin,
                _ => return Ok(None),
            }
        } else {
            match self.grant_for_hash(record.credential).await? {
                Some(grant) => SessionActor::Key(grant),
                None => return Ok(None),
            }
        };
        Ok(Some(Session {
            actor,
            csrf: record.csrf,
            expires_at: record.expires_at,
        }))
    }

    /// Ends the session whose cookie holds `secret` (signing out).
    pub async fn end_session(&self, secret: &str) -> Result<(), AppError> {
        if looks_like_token(secret) {
            let hash = crate::domain::api_key::key_hash(secret);
            self.store.delete_session(&hash).await?;
        }
        Ok(())
    }

    /// Deletes expired sessions, for the periodic purge.
    pub async fn purge_sessions(&self) -> Result<u64, StoreError> {
        self.store.purge_sessions(now_ms()).await
    }
}
