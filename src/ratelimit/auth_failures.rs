//! Clients refused for failing to authenticate too often.
//!
//! The failure bucket only counts failures, so a client that has used it up
//! must be refused before its next credential is even looked at: were good
//! credentials let through, a 200 among the 429s would tell a guesser it
//! had found a key. [`Blocks`] remembers, for at most a bounded number of
//! clients, until when each one is refused.

use std::time::{Duration, Instant};

use super::{Decision, LimitKey};

/// Until when each recently refused client stays refused.
pub struct Blocks {
    until: quick_cache::sync::Cache<LimitKey, Instant>,
}

impl Blocks {
    /// Remembers at most `capacity` refused clients.
    pub fn new(capacity: usize) -> Blocks {
        Blocks {
            until: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    /// Refuses `key` for `wait` from now.
    pub fn block(&self, key: LimitKey, wait: Duration) {
        self.until.insert(key, Instant::now() + wait);
    }

    /// How long `key` stays refused, if it is.
    pub fn remaining(&self, key: &LimitKey) -> Option<Duration> {
        let until = self.until.get(key)?;
        let wait = until.checked_duration_since(Instant::now())?;
        (!wait.is_zero()).then_some(wait)
    }
}

/// The 429 for a refused client: retry once the block is over.
pub fn refusal(limit: u32, wait: Duration) -> Decision {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Decision {
        allowed: false,
        limit,
        remaining: 0,
        reset_secs: secs.max(1),
        retry_after_secs: secs.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_last_as_long_as_asked() {
        let blocks = Blocks::new(10);
        let key = LimitKey::Ip("192.0.2.1".parse().unwrap());
        assert!(blocks.remaining(&key).is_none());
        blocks.block(key, Duration::from_millis(150));
        let left = blocks.remaining(&key).unwrap();
        assert!(left <= Duration::from_millis(150));
        assert_eq!(refusal(10, left).retry_after_secs, 1);
        std::thread::sleep(Duration::from_millis(200));
        assert!(blocks.remaining(&key).is_none());
    }
}
