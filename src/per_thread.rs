//! Per-thread slots for state that every serving thread updates on every
//! request.
//!
//! An atomic that all serving threads write moves its cache line between
//! cores on each write; in the cache-hit redirect benchmark a handful of
//! such counters per request cost more than the work they counted. State
//! kept in slots is written by one thread each (a slot is shared only when
//! there are more threads than slots) and summed when read.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// How many slots sharded state has; threads beyond this share slots.
pub const SLOTS: usize = 16;

static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS;
}

/// This thread's slot, handed out in turn as threads first ask.
pub fn my_slot() -> usize {
    MY_SLOT.with(|slot| *slot)
}

/// A value alone on its cache lines, so neighbours' writes do not move it.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Padded<T>(pub T);

/// A counter that threads bump in their own slot.
#[derive(Debug, Default)]
pub struct PerThreadCounter([Padded<AtomicU64>; SLOTS]);

impl PerThreadCounter {
    /// Adds `n` in this thread's slot.
    pub fn add(&self, n: u64) {
        self.0[my_slot()].0.fetch_add(n, Ordering::Relaxed);
    }

    /// The total over all slots.
    pub fn sum(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_more_threads_than_slots_add_up() {
        let counter = PerThreadCounter::default();
        std::thread::scope(|s| {
            for _ in 0..SLOTS + 5 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        counter.add(1);
                    }
                    counter.add(10);
                });
            }
        });
        assert_eq!(counter.sum(), (SLOTS as u64 + 5) * 1010);
    }

    #[test]
    fn a_thread_keeps_its_slot() {
        let first = my_slot();
        assert!(first < SLOTS);
        assert_eq!(my_slot(), first);
    }
}
