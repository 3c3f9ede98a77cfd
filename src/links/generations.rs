//! Write generations, per stripe of codes: what keeps a cache fill that
//! raced a write from putting a stale value back.
//!
//! The link cache and the API key cache both use them. A load notes its
//! code's stripe generation before it reads the store; a
//! write bumps the generation of its code's stripe and changes the cache
//! under that stripe's lock; the load inserts what it read only if, under
//! the same lock, the generation is unchanged. So a stale value is never
//! inserted, not even for a moment, and a write to another code drops a
//! load only when both codes share one of [`STRIPES`] stripes.

use std::hash::Hash;

use parking_lot::Mutex;

/// Stripes of codes; a write drops concurrent loads of about one code in
/// this many others.
pub const STRIPES: usize = 1024;

/// The stripe and its generation as a load began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadTicket {
    stripe: usize,
    generation: u64,
}

/// One generation counter per stripe.
pub struct Generations {
    stripes: Box<[Mutex<u64>]>,
    hasher: ahash::RandomState,
}

impl Default for Generations {
    fn default() -> Generations {
        Generations {
            stripes: (0..STRIPES).map(|_| Mutex::new(0)).collect(),
            hasher: ahash::RandomState::new(),
        }
    }
}

impl Generations {
    fn stripe<K: Hash + ?Sized>(&self, code: &K) -> usize {
        (self.hasher.hash_one(code) as usize) % STRIPES
    }

    /// Call before reading the store for `code` (a link code, or any other
    /// cache key).
    pub fn ticket<K: Hash + ?Sized>(&self, code: &K) -> LoadTicket {
        let stripe = self.stripe(code);
        LoadTicket {
            stripe,
            generation: *self.stripes[stripe].lock(),
        }
    }

    /// Runs `fill` (the insert of what the load read) unless a write to
    /// the ticket's stripe happened since it was taken; `true` if it ran.
    pub fn fill_if_unchanged(&self, ticket: LoadTicket, fill: impl FnOnce()) -> bool {
        let generation = self.stripes[ticket.stripe].lock();
        let unchanged = *generation == ticket.generation;
        if unchanged {
            fill();
        }
        unchanged
    }

    /// Records a write to `code` and runs `change` (the cache update) in
    /// the same step, so no load in between can slip a stale value in.
    pub fn write<K: Hash + ?Sized>(&self, code: &K, change: impl FnOnce()) {
        let mut generation = self.stripes[self.stripe(code)].lock();
        *generation += 1;
        change();
    }

    /// Records a write to every code, for when writes may have been
    /// missed; clear the cache after this.
    pub fn write_all(&self) {
        for stripe in self.stripes.iter() {
            *stripe.lock() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_to_the_same_stripe_stop_a_fill() {
        let generations = Generations::default();
        let ticket = generations.ticket("abc");
        let other = (0..10_000)
            .map(|i| format!("code{i}"))
            .find(|c| generations.stripe(c) != ticket.stripe)
            .unwrap();
        generations.write(&other, || {});
        assert!(generations.fill_if_unchanged(ticket, || {}));
        generations.write("abc", || {});
        assert!(!generations.fill_if_unchanged(ticket, || panic!("stale fill ran")));
        let ticket = generations.ticket("abc");
        generations.write_all();
        assert!(!generations.fill_if_unchanged(ticket, || panic!("stale fill ran")));
    }
}
