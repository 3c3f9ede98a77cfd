//! Nanoseconds per `get` for the caches shorty considered, with the same
//! allocator as shorty, 1,000,000 entries and keys drawn uniformly at
//! random (the `redirect-hit` benchmark's access pattern).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ENTRIES: usize = 1_000_000;
const LOOKUPS: usize = 3_000_000;
const ROUNDS: usize = 3;

/// Stands in for shorty's cached value (an `Arc` to the pre-built target).
#[derive(Clone)]
struct Value(Arc<(i64, String)>);

/// shorty's lifetimes before the switch: 300 s for links.
struct LinkTtl;

impl moka::Expiry<Arc<str>, Value> for LinkTtl {
    fn expire_after_create(&self, _: &Arc<str>, _: &Value, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(300))
    }
}

/// Prints the time per lookup of `get` over random keys, `ROUNDS` times.
fn measure(name: &str, keys: &[String], get: impl Fn(&str) -> bool) {
    let mut rng = rand::thread_rng();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let mut found = 0usize;
        for _ in 0..LOOKUPS {
            found += usize::from(get(&keys[rng.gen_range(0..keys.len())]));
        }
        let ns = started.elapsed().as_nanos() as f64 / LOOKUPS as f64;
        println!("{name:<28} {ns:>6.0} ns/get  (found {found} of {LOOKUPS})");
    }
}

fn value(key: &str) -> Value {
    Value(Arc::new((1, format!("https://example.com/{key}"))))
}

fn main() {
    let keys: Vec<String> = (0..ENTRIES)
        .map(|i| format!("{:07}", i * 7919 % 10_000_000))
        .collect();

    for per_entry_expiry in [true, false] {
        let builder = moka::sync::Cache::builder().max_capacity(ENTRIES as u64);
        let cache: moka::sync::Cache<Arc<str>, Value, ahash::RandomState> = if per_entry_expiry {
            builder
                .expire_after(LinkTtl)
                .build_with_hasher(ahash::RandomState::new())
        } else {
            builder.build_with_hasher(ahash::RandomState::new())
        };
        for k in &keys {
            cache.insert(Arc::from(k.as_str()), value(k));
        }
        cache.run_pending_tasks();
        let name = if per_entry_expiry {
            "moka, per-entry expiry"
        } else {
            "moka, no expiry"
        };
        measure(name, &keys, |k| cache.get(k).is_some());
    }

    let cache: quick_cache::sync::Cache<Box<str>, Value, _, ahash::RandomState> =
        quick_cache::sync::Cache::with(
            ENTRIES,
            ENTRIES as u64,
            quick_cache::UnitWeighter,
            ahash::RandomState::new(),
            quick_cache::sync::DefaultLifecycle::default(),
        );
    for k in &keys {
        cache.insert(Box::from(k.as_str()), value(k));
    }
    measure("quick_cache (S3-FIFO)", &keys, |k| cache.get(k).is_some());
    drop(cache);

    let mut map = HashMap::with_hasher(ahash::RandomState::new());
    for k in &keys {
        map.insert(Box::<str>::from(k.as_str()), value(k));
    }
    measure("HashMap (no eviction)", &keys, |k| {
        map.get(k).cloned().is_some()
    });
}
