//! What a code points at: the local cache, then Redis (when configured),
//! then the store, filling the layers above on the way back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::cache::{Cached, LinkCache, Target};
use crate::error::AppError;
use crate::redis_shared::{SharedEntry, SharedRedis};
use crate::store::Store;

/// The read path of the link service.
pub struct Lookups {
    store: Arc<dyn Store>,
    cache: Arc<LinkCache>,
    redis: Option<Arc<SharedRedis>>,
    /// Shared-cache lookups that found the link, and that did not.
    redis_lookups: [AtomicU64; 2],
}

impl Lookups {
    /// Lookups through `cache` and `redis` to `store`.
    pub fn new(
        store: Arc<dyn Store>,
        cache: Arc<LinkCache>,
        redis: Option<Arc<SharedRedis>>,
    ) -> Lookups {
        Lookups {
            store,
            cache,
            redis,
            redis_lookups: Default::default(),
        }
    }

    /// What a code points at, from the cache or else the store.
    pub async fn resolve(&self, code: &str) -> Result<Cached, AppError> {
        if let Some(hit) = self.cache.get(code) {
            return Ok(hit);
        }
        let ticket = self.cache.begin_load(code);
        if let Some(redis) = &self.redis {
            if let Ok(Some(entry)) = redis.get_link(code).await {
                self.redis_lookups[0].fetch_add(1, Ordering::Relaxed);
                let value = Cached::from_record(Some(&entry.into_record(code)));
                self.cache.finish_load(code, value.clone(), ticket);
                return Ok(value);
            }
            self.redis_lookups[1].fetch_add(1, Ordering::Relaxed);
        }
        let record = self.store.get_link(code).await?;
        let value = Cached::from_record(record.as_ref());
        self.cache.finish_load(code, value.clone(), ticket);
        if let (Some(redis), Some(record)) = (&self.redis, &record) {
            redis.fill_in_background(code, SharedEntry::from_record(record));
        }
        Ok(value)
    }

    /// A cached live link that the redirect fast path may answer alone:
    /// uncapped and not expired. Counts the cache hit only when found.
    /// `now` is when the request started.
    pub fn cached_plain_target(&self, code: &str, now: Instant) -> Option<Arc<Target>> {
        let target = self.cache.peek_live(code, now)?;
        if target.capped || target.protected || target.is_expired() {
            return None;
        }
        self.cache.record_hit();
        Some(target)
    }

    /// Shared-cache (Redis) hits and misses so far, for `/metrics`.
    pub fn redis_hits_and_misses(&self) -> (u64, u64) {
        let [hits, misses] = &self.redis_lookups;
        (hits.load(Ordering::Relaxed), misses.load(Ordering::Relaxed))
    }
}
