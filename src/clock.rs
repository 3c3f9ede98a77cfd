//! The time analytics go by, which tests can set.
//!
//! Click days and the default range of the stats endpoints come from this
//! clock, so a test can click "on" known days and read them back exactly.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Milliseconds in a UTC day.
pub const DAY_MS: i64 = 86_400_000;

/// Wall-clock time, or a time a test sets.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A time in Unix milliseconds that only moves when it is set.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A clock stopped at `ms`, for tests.
    pub fn manual(ms: i64) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(ms)))
    }

    /// Moves a manual clock to `ms`; a system clock ignores it.
    pub fn set(&self, ms: i64) {
        if let Clock::Manual(at) = self {
            at.store(ms, Ordering::Relaxed);
        }
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            Clock::Manual(at) => at.load(Ordering::Relaxed),
        }
    }

    /// Today's UTC day number (days since 1970-01-01).
    pub fn today(&self) -> i32 {
        day_of(self.now_ms())
    }
}

/// The UTC day number of a Unix-millisecond time.
pub fn day_of(ms: i64) -> i32 {
    ms.div_euclid(DAY_MS) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_split_at_utc_midnight() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(DAY_MS), 1);
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn a_manual_clock_moves_only_when_set() {
        let clock = Clock::manual(5 * DAY_MS);
        assert_eq!(clock.today(), 5);
        clock.set(7 * DAY_MS + 1);
        assert_eq!(clock.today(), 7);
        assert!(Clock::System.today() > 20_000);
    }
}
