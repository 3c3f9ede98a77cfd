//! The shared cache layer: link lookups kept in Redis for every instance.
//!
//! Found links (live or gone) are cached for [`SHARED_TTL`]; unknown codes
//! are not, so a create never has to chase a cached "not found" across
//! instances. A write replaces the entry with a short-lived marker and
//! fills use `SET NX`, so a load that raced the write cannot put the old
//! value back while the marker lives.

use std::time::Duration;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{RedisError, SharedRedis};
use crate::store::LinkRecord;

/// How long a link stays in the shared cache.
pub const SHARED_TTL: Duration = Duration::from_secs(300);

/// Marker value left by a write; readers treat it as absent.
const MARKER: &str = "-";

/// Invalidation message meaning "every code" (never a valid code).
pub const EVERYTHING: &str = "*";

/// Background fills running at once, per instance.
pub const MAX_FILLS_IN_FLIGHT: usize = 256;

/// Writes remembered while Redis is away; past this, everything shared is
/// dropped once Redis is back.
const MAX_UNANNOUNCED: usize = 100_000;

/// What the shared cache holds for one code: the fields the redirect path
/// and its cap and expiry checks need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedEntry {
    pub id: i64,
    pub url: String,
    pub status: i64,
    pub expires_at: Option<i64>,
    pub max_clicks: Option<i64>,
    /// Clicks when cached; only used to tell a used-up capped link.
    pub clicks: i64,
    pub deleted: bool,
    /// The link asks for a password (its hash is not shared: it is read
    /// from the store when a password is checked).
    #[serde(default)]
    pub protected: bool,
}

impl SharedEntry {
    /// The cacheable part of a stored link.
    pub fn from_record(r: &LinkRecord) -> SharedEntry {
        SharedEntry {
            id: r.id,
            url: r.url.clone(),
            status: r.redirect_status,
            expires_at: r.expires_at,
            max_clicks: r.max_clicks,
            clicks: r.clicks,
            deleted: r.deleted_at.is_some(),
            protected: r.password_hash.is_some(),
        }
    }

    /// Back to a record, as the local cache builds its entries from one.
    /// Only what a redirect needs is shared, so the owner is not known.
    pub fn into_record(self, code: &str) -> LinkRecord {
        LinkRecord {
            id: self.id,
            code: code.to_owned(),
            url: self.url,
            created_at: 0,
            expires_at: self.expires_at,
            max_clicks: self.max_clicks,
            clicks: self.clicks,
            redirect_status: self.status,
            deleted_at: self.deleted.then_some(0),
            owner: None,
            tags: Vec::new(),
            // Only that there is one: the hash stays in the store.
            password_hash: self.protected.then(String::new),
        }
    }
}

impl SharedRedis {
    fn link_key(&self, code: &str) -> String {
        format!("{}link:{code}", self.prefix)
    }

    /// The shared entry for `code`, if one is cached.
    pub async fn get_link(&self, code: &str) -> Result<Option<SharedEntry>, RedisError> {
        let raw: Option<String> = self
            .query(redis::cmd("GET").arg(self.link_key(code)))
            .await?;
        Ok(raw
            .filter(|v| v != MARKER)
            .and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// Fills the shared cache without making the caller wait for Redis.
    /// At most [`MAX_FILLS_IN_FLIGHT`] run at once; past that, fills are
    /// skipped (a later read fills the entry), so a burst of misses
    /// cannot pile up tasks and memory while Redis falls behind.
    pub fn fill_in_background(self: &Arc<Self>, code: &str, entry: SharedEntry) {
        let Ok(permit) = Arc::clone(&self.fills).try_acquire_owned() else {
            return;
        };
        let (redis, code) = (Arc::clone(self), code.to_owned());
        tokio::spawn(async move {
            let _ = redis.fill_link(&code, &entry).await;
            drop(permit);
        });
    }

    /// Caches a link read from the store, unless a write's marker (or a
    /// newer value) is already there.
    pub async fn fill_link(&self, code: &str, entry: &SharedEntry) -> Result<(), RedisError> {
        let value = serde_json::to_string(entry).unwrap_or_default();
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.link_key(code))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(SHARED_TTL.as_millis() as u64);
        self.query::<Option<String>>(&cmd).await.map(|_| ())
    }

    /// After a committed write to `code`: replaces the shared entry with a
    /// marker and tells every instance to drop its local copy. When Redis
    /// cannot be told, the code is kept and announced again once it can
    /// (see [`SharedRedis::retry_unannounced`]), so an entry cached in
    /// Redis before an outage cannot outlive a write made during it.
    pub async fn invalidate(&self, code: &str) {
        if self.invalidate_codes(&[code]).await.is_err() {
            self.remember_unannounced(code);
        }
    }

    async fn invalidate_codes(&self, codes: &[&str]) -> Result<(), RedisError> {
        let mut pipe = redis::pipe();
        for code in codes {
            pipe.cmd("SET")
                .arg(self.link_key(code))
                .arg(MARKER)
                .arg("PX")
                .arg(self.marker_ttl.as_millis() as u64)
                .ignore()
                .cmd("PUBLISH")
                .arg(self.key("invalidate"))
                .arg(*code)
                .ignore();
        }
        self.pipeline::<()>(&pipe).await
    }

    fn remember_unannounced(&self, code: &str) {
        let mut pending = self.unannounced.lock();
        if pending.len() < MAX_UNANNOUNCED {
            pending.insert(code.to_owned());
        } else {
            self.unannounced_overflow.store(true, Ordering::Relaxed);
        }
    }

    /// Whether writes are still waiting to be announced.
    pub fn has_unannounced(&self) -> bool {
        !self.unannounced.lock().is_empty() || self.unannounced_overflow.load(Ordering::Relaxed)
    }

    /// Announces the writes that Redis missed; called every second. If too
    /// many piled up to remember, every shared entry is dropped instead
    /// and every instance empties its local cache.
    pub async fn retry_unannounced(&self) {
        // Taken out while announcing: writes that miss Redis meanwhile go
        // into a fresh set, and whatever could not be sent goes back.
        if self.unannounced_overflow.swap(false, Ordering::Relaxed) {
            self.unannounced.lock().clear();
            if self.drop_all_links().await.is_err() {
                self.unannounced_overflow.store(true, Ordering::Relaxed);
            }
            return;
        }
        let codes: Vec<String> = std::mem::take(&mut *self.unannounced.lock())
            .into_iter()
            .collect();
        for (n, chunk) in codes.chunks(500).enumerate() {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            if self.invalidate_codes(&refs).await.is_err() {
                for code in &codes[n * 500..] {
                    self.remember_unannounced(code);
                }
                return;
            }
        }
    }

    /// Deletes every shared link entry and tells instances to empty their
    /// local caches ([`EVERYTHING`] on the invalidation channel).
    async fn drop_all_links(&self) -> Result<(), RedisError> {
        let pattern = self.key("link:*");
        let mut cursor: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, keys): (u64, Vec<String>) = self.query(&scan).await?;
            if !keys.is_empty() {
                self.query::<()>(redis::cmd("UNLINK").arg(&keys)).await?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(self.key("invalidate")).arg(EVERYTHING);
        self.query::<()>(&publish).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_records() {
        let record = LinkRecord {
            id: 7,
            code: "abc".into(),
            url: "https://example.com/".into(),
            created_at: 0,
            expires_at: Some(99),
            max_clicks: Some(3),
            clicks: 1,
            redirect_status: 301,
            deleted_at: None,
            owner: None,
            tags: Vec::new(),
            password_hash: None,
        };
        let entry = SharedEntry::from_record(&record);
        let json = serde_json::to_string(&entry).unwrap();
        let back: SharedEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back.into_record("abc"), record);
        let gone = SharedEntry {
            deleted: true,
            ..entry
        };
        assert!(gone.into_record("abc").deleted_at.is_some());
    }
}
