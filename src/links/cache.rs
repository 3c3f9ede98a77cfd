//! The in-process link cache (quick_cache, S3-FIFO), with brief negative
//! entries and write generations that keep racing loads from inserting
//! stale data.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode};
use compact_str::CompactString;
use quick_cache::sync::DefaultLifecycle;
use quick_cache::UnitWeighter;

use super::generations::{Generations, LoadTicket};
use super::view::now_ms;
use crate::per_thread::PerThreadCounter;
use crate::redis_shared::LocalCache;
use crate::store::LinkRecord;

/// How long an unknown code is remembered, so scans of random codes hit the
/// cache instead of the store.
pub const MISS_TTL: Duration = Duration::from_secs(2);

/// How long a found link stays cached. Writes through this process
/// invalidate at once; this only bounds how long a change made behind its
/// back (by the CLI, say) can go unseen.
pub const LINK_TTL: Duration = Duration::from_secs(300);

/// What the redirect path needs to answer for one live link, pre-built.
#[derive(Debug)]
pub struct Target {
    /// The store's id, which keys the click buffer.
    pub id: i64,
    pub code: Arc<str>,
    pub location: HeaderValue,
    pub status: StatusCode,
    pub expires_at: Option<i64>,
    /// Links with `max_clicks` count every click in the store, atomically.
    pub capped: bool,
    /// Links with a password redirect only after it was given.
    pub protected: bool,
}

impl Target {
    /// Whether the link's expiry has passed; such a link answers 410.
    pub fn is_expired(&self) -> bool {
        self.expires_at.is_some_and(|at| at <= now_ms())
    }
}

/// A cached lookup result.
#[derive(Clone, Debug)]
pub enum Cached {
    Live(Arc<Target>),
    /// Deleted, purged or used up.
    Gone,
    /// No such code.
    Missing,
}

impl Cached {
    /// Turns a store lookup into what the redirect path needs.
    pub fn from_record(record: Option<&LinkRecord>) -> Cached {
        let Some(r) = record else {
            return Cached::Missing;
        };
        if r.deleted_at.is_some() || r.max_clicks.is_some_and(|m| r.clicks >= m) {
            return Cached::Gone;
        }
        let (Ok(location), Ok(status)) = (
            HeaderValue::from_str(&r.url),
            StatusCode::from_u16(r.redirect_status as u16),
        ) else {
            // Stored URLs are validated ASCII; anything else is treated as gone.
            return Cached::Gone;
        };
        Cached::Live(Arc::new(Target {
            id: r.id,
            code: Arc::from(r.code.as_str()),
            location,
            status,
            expires_at: r.expires_at,
            capped: r.max_clicks.is_some(),
            protected: r.password_hash.is_some(),
        }))
    }
}

/// How long entries live while cross-instance invalidation is down, which
/// bounds how stale another instance's write can look here.
pub const DEGRADED_TTL: Duration = Duration::from_secs(1);

/// A cached value and when it stops being believed.
#[derive(Clone)]
struct Slot {
    value: Cached,
    expires: Instant,
}

/// Bounded cache of code lookups in front of the store.
///
/// quick_cache's S3-FIFO policy (scan resistant: a small probation queue
/// and a ghost list keep one-off lookups from evicting the hot set, the
/// goal TinyLFU serves in moka). With a million links looked up at random,
/// its lookup costs about a third of moka's (`bench/cache-lookup`,
/// BENCHMARKS.md). Lifetimes are kept per entry, in the entry.
///
/// Keys are `CompactString`s, which keep codes of up to 24 bytes inside the
/// entry, so a hit reads no second allocation.
pub struct LinkCache {
    entries: quick_cache::sync::Cache<CompactString, Slot, UnitWeighter, ahash::RandomState>,
    degraded: AtomicBool,
    generations: Generations,
    hits: PerThreadCounter,
    misses: PerThreadCounter,
}

impl LinkCache {
    /// A cache holding at most `capacity` entries.
    pub fn new(capacity: u64) -> LinkCache {
        let capacity = capacity.max(1);
        LinkCache {
            entries: quick_cache::sync::Cache::with(
                usize::try_from(capacity).unwrap_or(usize::MAX),
                capacity,
                UnitWeighter,
                ahash::RandomState::new(),
                DefaultLifecycle::default(),
            ),
            degraded: AtomicBool::new(false),
            generations: Generations::default(),
            hits: PerThreadCounter::default(),
            misses: PerThreadCounter::default(),
        }
    }

    /// The cached result for `code`, if any; counts the hit or miss.
    pub fn get(&self, code: &str) -> Option<Cached> {
        let found = self.fresh(code);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.add(1);
        found
    }

    /// The cached live link for `code`, without counting the lookup: the
    /// redirect fast path counts a hit ([`LinkCache::record_hit`]) only if
    /// it answers, and otherwise the normal path counts it as usual.
    /// `now` is the caller's clock reading, which saves the fast path a second one.
    pub fn peek_live(&self, code: &str, now: Instant) -> Option<Arc<Target>> {
        match self.fresh_at(code, now)? {
            Cached::Live(target) => Some(target),
            Cached::Gone | Cached::Missing => None,
        }
    }

    /// The entry for `code` unless its lifetime is over; counts nothing.
    fn fresh(&self, code: &str) -> Option<Cached> {
        self.fresh_at(code, Instant::now())
    }

    fn fresh_at(&self, code: &str, now: Instant) -> Option<Cached> {
        self.entries
            .get(code)
            .filter(|slot| slot.expires > now)
            .map(|slot| slot.value)
    }

    /// Counts a lookup answered from the cache outside [`LinkCache::get`].
    pub fn record_hit(&self) {
        self.hits.add(1);
    }

    /// Lookups answered from the cache and lookups that went to the store.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (self.hits.sum(), self.misses.sum())
    }

    fn insert(&self, code: &str, value: Cached) {
        let normal = match value {
            Cached::Missing => MISS_TTL,
            Cached::Live(_) | Cached::Gone => LINK_TTL,
        };
        let ttl = if self.degraded.load(Ordering::Relaxed) {
            normal.min(DEGRADED_TTL)
        } else {
            normal
        };
        let expires = Instant::now() + ttl;
        self.entries
            .insert(CompactString::from(code), Slot { value, expires });
    }

    /// Call before reading the store; pass the result to [`LinkCache::finish_load`].
    pub fn begin_load(&self, code: &str) -> LoadTicket {
        self.generations.ticket(code)
    }

    /// Caches a value read from the store, unless a write to the code (or
    /// one sharing its stripe) happened meanwhile: the value may be stale.
    pub fn finish_load(&self, code: &str, value: Cached, ticket: LoadTicket) {
        self.generations
            .fill_if_unchanged(ticket, || self.insert(code, value));
    }

    /// Records a write that just committed and caches what it wrote.
    pub fn put_written(&self, code: &str, value: Cached) {
        self.generations.write(code, || self.insert(code, value));
    }

    /// Switches to (or back from) one-second entry lifetimes, for while
    /// writes on other instances cannot reach this cache. Either way the
    /// cache is emptied, since what it holds may have missed a write.
    pub fn set_degraded(&self, degraded: bool) {
        if self.degraded.swap(degraded, Ordering::SeqCst) != degraded {
            self.invalidate_all();
        }
    }

    /// Whether entries are short-lived because invalidation is down.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::SeqCst)
    }

    /// Forgets everything, for when writes elsewhere may have been missed.
    pub fn invalidate_all(&self) {
        self.generations.write_all();
        self.entries.clear();
    }

    /// Forgets `code` after a write to it committed.
    pub fn invalidate(&self, code: &str) {
        self.generations.write(code, || {
            self.entries.remove(code);
        });
    }
}

impl LocalCache for LinkCache {
    fn invalidate(&self, code: &str) {
        LinkCache::invalidate(self, code);
    }

    fn invalidate_all(&self) {
        LinkCache::invalidate_all(self);
    }

    fn set_degraded(&self, degraded: bool) {
        LinkCache::set_degraded(self, degraded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(code: &str) -> LinkRecord {
        LinkRecord {
            id: 1,
            code: code.into(),
            url: "https://example.com/".into(),
            created_at: 0,
            expires_at: None,
            max_clicks: None,
            clicks: 0,
            redirect_status: 302,
            deleted_at: None,
            owner: None,
            tags: Vec::new(),
            password_hash: None,
        }
    }

    #[test]
    fn records_map_to_cached_states() {
        assert!(matches!(Cached::from_record(None), Cached::Missing));
        assert!(matches!(
            Cached::from_record(Some(&record("abc"))),
            Cached::Live(_)
        ));
        let deleted = LinkRecord {
            deleted_at: Some(5),
            ..record("abc")
        };
        assert!(matches!(Cached::from_record(Some(&deleted)), Cached::Gone));
        let used_up = LinkRecord {
            max_clicks: Some(2),
            clicks: 2,
            ..record("abc")
        };
        assert!(matches!(Cached::from_record(Some(&used_up)), Cached::Gone));
    }

    #[test]
    fn a_load_racing_a_write_does_not_stick() {
        let cache = LinkCache::new(100);
        let epoch = cache.begin_load("abc");
        // A write commits and invalidates while the load is in flight...
        cache.invalidate("abc");
        // ...so the stale value the load read must not stay cached.
        cache.finish_load("abc", Cached::Missing, epoch);
        assert!(cache.get("abc").is_none());

        let epoch = cache.begin_load("abc");
        cache.finish_load("abc", Cached::Missing, epoch);
        assert!(matches!(cache.get("abc"), Some(Cached::Missing)));
    }

    #[test]
    fn a_write_to_another_code_does_not_drop_a_load() {
        let cache = LinkCache::new(100);
        let epoch = cache.begin_load("abc");
        cache.put_written("other", Cached::from_record(Some(&record("other"))));
        cache.invalidate("another");
        cache.finish_load("abc", Cached::from_record(Some(&record("abc"))), epoch);
        assert!(matches!(cache.get("abc"), Some(Cached::Live(_))));
    }

    #[test]
    fn misses_expire_but_links_stay() {
        let cache = LinkCache::new(100);
        cache.put_written("miss", Cached::Missing);
        cache.put_written("hit", Cached::from_record(Some(&record("hit"))));
        std::thread::sleep(MISS_TTL + Duration::from_millis(200));
        assert!(cache.get("miss").is_none());
        assert!(matches!(cache.get("hit"), Some(Cached::Live(_))));
    }

    #[test]
    fn keys_too_long_to_sit_inline_work_like_codes() {
        let cache = LinkCache::new(100);
        for code in ["b0002bH", "an-alias-longer-than-the-24-inline-bytes"] {
            cache.put_written(code, Cached::from_record(Some(&record(code))));
            let now = Instant::now();
            assert!(cache.peek_live(code, now).is_some(), "{code}");
            assert!(cache.peek_live(code, now + LINK_TTL).is_none(), "{code}");
            cache.invalidate(code);
            assert!(cache.get(code).is_none(), "{code}");
        }
    }

    #[test]
    fn degraded_entries_live_one_second_and_switching_empties_the_cache() {
        let cache = LinkCache::new(100);
        cache.put_written("old", Cached::from_record(Some(&record("old"))));
        cache.set_degraded(true);
        assert!(cache.get("old").is_none(), "switching must empty the cache");
        cache.put_written("hit", Cached::from_record(Some(&record("hit"))));
        assert!(cache.get("hit").is_some());
        std::thread::sleep(DEGRADED_TTL + Duration::from_millis(200));
        assert!(cache.get("hit").is_none(), "degraded entries outlived 1 s");
        cache.set_degraded(false);
        cache.put_written("hit", Cached::from_record(Some(&record("hit"))));
        std::thread::sleep(DEGRADED_TTL + Duration::from_millis(200));
        assert!(cache.get("hit").is_some(), "normal entries live longer");
    }
}
