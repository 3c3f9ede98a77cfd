//! API keys recently seen valid, so an authenticated request does not
//! cost a store round trip.
//!
//! An entry lives 30 s while the Redis invalidation channel is up (a
//! revocation on any instance is announced on it) and 1 s otherwise:
//! without Redis, or while the channel is down. So a revoked key stops
//! working everywhere within a second either way. Only valid keys are
//! cached; a key's own expiry is checked on every use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::KeyGrant;
use crate::domain::api_key::to_hex;
use crate::links::generations::{Generations, LoadTicket};

/// How long an entry lives while invalidations can arrive.
pub const LONG_TTL: Duration = Duration::from_secs(30);
/// How long an entry lives while they cannot.
pub const SHORT_TTL: Duration = Duration::from_secs(1);
/// What invalidation messages about keys start with; codes never hold ':'.
pub const KEY_MESSAGE_PREFIX: &str = "key:";
/// Most keys held.
const CAPACITY: usize = 10_000;

#[derive(Clone)]
struct Entry {
    grant: Arc<KeyGrant>,
    fetched: Instant,
}

/// See the module doc.
pub struct KeyCache {
    entries: quick_cache::sync::Cache<Vec<u8>, Entry>,
    /// Keeps a load that raced a revocation from caching the revoked key.
    generations: Generations,
    degraded: AtomicBool,
}

impl Default for KeyCache {
    fn default() -> KeyCache {
        KeyCache {
            entries: quick_cache::sync::Cache::new(CAPACITY),
            generations: Generations::default(),
            // Until a subscriber says the channel is up.
            degraded: AtomicBool::new(true),
        }
    }
}

impl KeyCache {
    /// The grant cached for `hash`, if still fresh.
    pub fn get(&self, hash: &[u8], now: Instant) -> Option<Arc<KeyGrant>> {
        let entry = self.entries.get(hash)?;
        let ttl = if self.degraded.load(Ordering::Acquire) {
            SHORT_TTL
        } else {
            LONG_TTL
        };
        (now.saturating_duration_since(entry.fetched) < ttl).then_some(entry.grant)
    }

    /// Call before reading the store for `hash`; pass it to [`KeyCache::put`].
    pub fn ticket(&self, hash: &[u8]) -> LoadTicket {
        self.generations.ticket(hash)
    }

    /// Caches a grant loaded at `fetched`, unless an invalidation of its
    /// stripe came in since `ticket` (the load may have read a key just
    /// revoked).
    pub fn put(&self, hash: Vec<u8>, grant: Arc<KeyGrant>, fetched: Instant, ticket: LoadTicket) {
        self.generations.fill_if_unchanged(ticket, || {
            self.entries.insert(hash, Entry { grant, fetched });
        });
    }

    /// Forgets one key.
    pub fn invalidate(&self, hash: &[u8]) {
        self.generations.write(hash, || {
            self.entries.remove(hash);
        });
    }

    /// Forgets every key.
    pub fn invalidate_all(&self) {
        self.generations.write_all();
        self.entries.clear();
    }

    /// Short lifetimes while invalidations cannot arrive.
    pub fn set_degraded(&self, degraded: bool) {
        if self.degraded.swap(degraded, Ordering::AcqRel) != degraded {
            self.invalidate_all();
        }
    }

    /// Handles an invalidation message if it is about a key; `false` if it
    /// is not (it names a link code).
    pub fn on_message(&self, message: &str) -> bool {
        let Some(hex) = message.strip_prefix(KEY_MESSAGE_PREFIX) else {
            return false;
        };
        match decode_hex(hex) {
            Some(hash) => self.invalidate(&hash),
            None => self.invalidate_all(),
        }
        true
    }
}

/// The invalidation message for the key with `hash`.
pub fn key_message(hash: &[u8]) -> String {
    format!("{KEY_MESSAGE_PREFIX}{}", to_hex(hash))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scopes;

    fn grant() -> Arc<KeyGrant> {
        Arc::new(KeyGrant {
            user_id: "u".into(),
            key_id: "k".into(),
            scopes: Scopes::all(),
            expires_at: None,
        })
    }

    #[test]
    fn entries_live_long_only_while_invalidations_arrive() {
        let cache = KeyCache::default();
        let t0 = Instant::now();
        cache.put(vec![1], grant(), t0, cache.ticket(&[1]));
        assert!(cache.get(&[1], t0 + Duration::from_millis(900)).is_some());
        assert!(cache.get(&[1], t0 + Duration::from_millis(1100)).is_none());
        cache.set_degraded(false);
        cache.put(vec![1], grant(), t0, cache.ticket(&[1]));
        assert!(cache.get(&[1], t0 + Duration::from_secs(20)).is_some());
        assert!(cache.get(&[1], t0 + LONG_TTL).is_none());
    }

    #[test]
    fn messages_name_keys_and_a_racing_load_does_not_stick() {
        let cache = KeyCache::default();
        let now = Instant::now();
        let hash = vec![0xab, 0x01];
        cache.put(hash.clone(), grant(), now, cache.ticket(&hash));
        assert!(!cache.on_message("abc"));
        assert!(cache.get(&hash, now).is_some());
        assert_eq!(key_message(&hash), "key:ab01");
        assert!(cache.on_message(&key_message(&hash)));
        assert!(cache.get(&hash, now).is_none());
        let before = cache.ticket(&hash);
        cache.invalidate(&hash);
        cache.put(hash.clone(), grant(), now, before);
        assert!(cache.get(&hash, now).is_none());
        // A garbled key message forgets everything rather than nothing.
        cache.put(hash.clone(), grant(), now, cache.ticket(&hash));
        assert!(cache.on_message("key:zz"));
        assert!(cache.get(&hash, now).is_none());
    }
}
