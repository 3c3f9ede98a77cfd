//! A governor state store with a fixed number of entries.
//!
//! governor's own keyed stores grow with every new key until they are
//! pruned, so a flood of distinct clients (or of guessed tokens) could grow
//! them without bound between prunings. This store keeps each key's GCRA
//! state in a bounded quick_cache instead: past its capacity, entries that
//! are rarely used are evicted (S3-FIFO keeps the frequently seen ones), so
//! memory stays fixed whatever arrives. An evicted client starts again with
//! a full bucket, which gives it no more than a new client gets.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use governor::nanos::Nanos;
use governor::state::StateStore;

/// Keyed GCRA states, at most `capacity` of them. Clones share the
/// states, so the owner of a limiter can still see how many it tracks.
#[derive(Clone)]
pub struct BoundedStore<K: Eq + Hash + Clone> {
    cells: Arc<quick_cache::sync::Cache<K, Arc<AtomicU64>>>,
}

impl<K: Eq + Hash + Clone> BoundedStore<K> {
    /// A store holding at most `capacity` keys.
    pub fn new(capacity: usize) -> BoundedStore<K> {
        BoundedStore {
            cells: Arc::new(quick_cache::sync::Cache::new(capacity.max(1))),
        }
    }

    /// Keys tracked right now.
    pub(super) fn tracked(&self) -> usize {
        self.cells.len()
    }
}

impl<K: Eq + Hash + Clone> StateStore for BoundedStore<K> {
    type Key = K;

    /// The same compare-and-swap loop as governor's in-memory state: the
    /// stored value is the theoretical arrival time, 0 meaning "never seen".
    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let cell = self
            .cells
            .get_or_insert_with(key, || Ok::<_, E>(Arc::new(AtomicU64::new(0))))?;
        let state = |raw: u64| (raw != 0).then(|| Nanos::new(raw));
        let mut prev = cell.load(Ordering::Acquire);
        loop {
            let (result, next) = f(state(prev))?;
            match cell.compare_exchange_weak(
                prev,
                next.as_u64(),
                Ordering::Release,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(result),
                Err(now) => prev = now,
            }
        }
    }
}
