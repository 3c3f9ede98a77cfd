//! The redirect fast path's metrics, counted per thread.
//!
//! Bumping the shared series (requests by status, redirects found, the
//! latency histogram) would move cache lines that every serving thread
//! writes between cores on each request. So the fast path counts into its
//! own thread's slot ([`crate::per_thread`]); [`RedirectTally::take_new`] gathers what is new
//! when `/metrics` is scraped or upkeep runs, and the registry gets it
//! then. Latency is kept per histogram bucket as a count and a sum, so the
//! published buckets, count and sum are exact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::Method;
use parking_lot::Mutex;

use crate::per_thread::{my_slot, Padded, SLOTS};

/// The statuses a redirect can have (SPEC.md's `redirect_status`).
pub(super) const STATUSES: [u16; 4] = [301, 302, 307, 308];

/// The methods the fast path answers.
pub(super) const METHODS: [Method; 2] = [Method::GET, Method::HEAD];

/// One thread's counts, or the totals already published.
struct Counts<const B: usize> {
    requests: [[AtomicU64; 4]; 2],
    latency_count: [[AtomicU64; B]; 2],
    latency_nanos: [[AtomicU64; B]; 2],
}

impl<const B: usize> Default for Counts<B> {
    fn default() -> Self {
        fn zeros<const N: usize>() -> [[AtomicU64; N]; 2] {
            std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0)))
        }
        Counts {
            requests: zeros(),
            latency_count: zeros(),
            latency_nanos: zeros(),
        }
    }
}

/// What was counted since the last [`RedirectTally::take_new`].
#[derive(Debug, Default, PartialEq)]
pub(super) struct NewCounts {
    /// Redirects found: every request the tally counts is one.
    pub found: u64,
    /// (method index, status, requests) for [`METHODS`] and [`STATUSES`].
    pub requests: Vec<(usize, u16, u64)>,
    /// (method index, bucket index, requests, summed seconds).
    pub latency: Vec<(usize, usize, u64, f64)>,
}

/// Per-thread counts of fast-path redirects, for histograms with `B`
/// buckets (the last one is `+Inf`).
pub(super) struct RedirectTally<const B: usize> {
    bounds: [f64; B],
    slots: Box<[Padded<Counts<B>>; SLOTS]>,
    published: Mutex<Counts<B>>,
}

impl<const B: usize> RedirectTally<B> {
    /// A tally whose bucket `i` holds latencies up to `bounds[i]` seconds.
    pub fn new(bounds: [f64; B]) -> RedirectTally<B> {
        RedirectTally {
            bounds,
            slots: Box::new(std::array::from_fn(|_| Padded::default())),
            published: Mutex::new(Counts::default()),
        }
    }

    /// Counts one redirect; false (and nothing counted) if the method or
    /// status is not one the tally keeps.
    pub fn record(&self, method: &Method, status: u16, elapsed: Duration) -> bool {
        let (Some(m), Some(s)) = (
            METHODS.iter().position(|x| x == method),
            STATUSES.iter().position(|x| *x == status),
        ) else {
            return false;
        };
        let seconds = elapsed.as_secs_f64();
        let bucket = self.bounds.partition_point(|b| *b < seconds).min(B - 1);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let counts = &self.slots[my_slot()].0;
        counts.requests[m][s].fetch_add(1, Ordering::Relaxed);
        counts.latency_count[m][bucket].fetch_add(1, Ordering::Relaxed);
        counts.latency_nanos[m][bucket].fetch_add(nanos, Ordering::Relaxed);
        true
    }

    /// What was counted since the last call.
    pub fn take_new(&self) -> NewCounts {
        let published = self.published.lock();
        // The total now, less what was published, which becomes the total.
        let advance =
            |now: u64, seen: &AtomicU64| now.wrapping_sub(seen.swap(now, Ordering::Relaxed));
        let mut new = NewCounts::default();
        for m in 0..METHODS.len() {
            for (s, status) in STATUSES.iter().enumerate() {
                let n = advance(
                    self.slots_total(|c| &c.requests[m][s]),
                    &published.requests[m][s],
                );
                if n > 0 {
                    new.found += n;
                    new.requests.push((m, *status, n));
                }
            }
            for b in 0..B {
                let n = advance(
                    self.slots_total(|c| &c.latency_count[m][b]),
                    &published.latency_count[m][b],
                );
                let nanos = advance(
                    self.slots_total(|c| &c.latency_nanos[m][b]),
                    &published.latency_nanos[m][b],
                );
                if n > 0 {
                    new.latency.push((m, b, n, nanos as f64 / 1e9));
                }
            }
        }
        new
    }

    fn slots_total(&self, field: impl Fn(&Counts<B>) -> &AtomicU64) -> u64 {
        self.slots
            .iter()
            .map(|slot| field(&slot.0).load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_counts_are_reported_once_with_exact_bucket_sums() {
        let tally = RedirectTally::new([0.001, 0.01, f64::INFINITY]);
        std::thread::scope(|s| {
            for _ in 0..SLOTS + 2 {
                s.spawn(|| {
                    assert!(tally.record(&Method::GET, 302, Duration::from_micros(500)));
                    assert!(tally.record(&Method::GET, 302, Duration::from_micros(700)));
                    assert!(tally.record(&Method::HEAD, 308, Duration::from_millis(5)));
                    assert!(tally.record(&Method::GET, 301, Duration::from_secs(2)));
                });
            }
        });
        let threads = SLOTS as u64 + 2;
        let new = tally.take_new();
        assert_eq!(new.found, 4 * threads);
        assert_eq!(
            new.requests,
            vec![(0, 301, threads), (0, 302, 2 * threads), (1, 308, threads)]
        );
        let latency: Vec<_> = new
            .latency
            .iter()
            .map(|(m, b, n, _)| (*m, *b, *n))
            .collect();
        assert_eq!(
            latency,
            vec![(0, 0, 2 * threads), (0, 2, threads), (1, 1, threads)]
        );
        let seconds = |i: usize| new.latency[i].3;
        assert!((seconds(0) - 0.0012 * threads as f64).abs() < 1e-9);
        assert!((seconds(1) - 2.0 * threads as f64).abs() < 1e-9);
        assert!((seconds(2) - 0.005 * threads as f64).abs() < 1e-9);

        assert_eq!(tally.take_new(), NewCounts::default());
        tally.record(&Method::GET, 307, Duration::from_micros(1));
        let new = tally.take_new();
        assert_eq!((new.found, new.requests), (1, vec![(0, 307, 1)]));
    }

    #[test]
    fn other_methods_and_statuses_are_left_to_the_caller() {
        let tally = RedirectTally::new([0.1, f64::INFINITY]);
        assert!(!tally.record(&Method::POST, 302, Duration::ZERO));
        assert!(!tally.record(&Method::GET, 404, Duration::ZERO));
        assert_eq!(tally.take_new(), NewCounts::default());
    }
}
