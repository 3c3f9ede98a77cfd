//! Click counting off the redirect path: clicks are summed in memory and
//! written to the store in one transaction per flush.

use std::collections::HashMap;
use std::sync::Arc;

use ahash::RandomState;
use parking_lot::Mutex;

use super::view::now_ms;
use crate::per_thread::{my_slot, Padded, SLOTS};
use crate::store::{ClickBatch, Store, StoreError};

type Counts = HashMap<i64, i64, RandomState>;

/// Clicks a shard notes one by one before summing them into its counts.
const LOG_CAP: usize = 1 << 16;

/// One thread's clicks. A click is appended to `log`, which writes memory
/// in order; adding to a map of tens of thousands of links missed the CPU
/// cache on most clicks. Past [`LOG_CAP`] the log is summed into `counts`,
/// so memory stays bounded by the number of links while a flush is failing.
#[derive(Default)]
struct Shard {
    log: Vec<i64>,
    counts: Counts,
}

impl Shard {
    fn fold_log(&mut self) {
        for id in self.log.drain(..) {
            *self.counts.entry(id).or_insert(0) += 1;
        }
    }
}

/// A flush that was taken from the shards but is not known to be written.
/// It is retried, with the same id, before anything else is written.
struct Unwritten {
    id: i64,
    counts: Vec<(i64, i64)>,
}

/// Clicks seen but not yet written to the store, by link id. Each thread
/// counts into its own shard ([`crate::per_thread`]), so the serving threads
/// never wait on each other's lock.
///
/// Every flush is written with an id of its own ([`ClickBatch`]). When a
/// write fails, even one that may have committed after this side stopped
/// waiting, the same batch is retried with the same id, and the store
/// skips a batch it already has: so a click is written exactly once.
pub struct ClickBuffer {
    shards: [Padded<Mutex<Shard>>; SLOTS],
    unwritten: Mutex<Option<Unwritten>>,
    /// Held while a batch is being written, so flushes run one at a time.
    flushing: tokio::sync::Mutex<()>,
}

impl Default for ClickBuffer {
    fn default() -> Self {
        ClickBuffer {
            shards: std::array::from_fn(|_| Padded::default()),
            unwritten: Mutex::new(None),
            flushing: tokio::sync::Mutex::new(()),
        }
    }
}

impl ClickBuffer {
    /// Counts one click; this is all the redirect path pays.
    pub fn record(&self, link_id: i64) {
        let mut shard = self.shards[my_slot()].0.lock();
        if shard.log.len() >= LOG_CAP {
            shard.fold_log();
        }
        shard.log.push(link_id);
    }

    /// Clicks on a link that are not in the store yet.
    pub fn pending_for(&self, link_id: i64) -> i64 {
        self.pending_for_each(&[link_id])[0]
    }

    /// Clicks not in the store yet, for each of `link_ids`, in one pass:
    /// each shard's log is summed into its counts once (the work a flush
    /// would do), after which every id is one lookup.
    pub fn pending_for_each(&self, link_ids: &[i64]) -> Vec<i64> {
        let mut pending = vec![0; link_ids.len()];
        for shard in &self.shards {
            let mut shard = shard.0.lock();
            shard.fold_log();
            for (total, id) in pending.iter_mut().zip(link_ids) {
                *total += shard.counts.get(id).copied().unwrap_or(0);
            }
        }
        if let Some(batch) = &*self.unwritten.lock() {
            for (total, id) in pending.iter_mut().zip(link_ids) {
                if let Ok(at) = batch.counts.binary_search_by_key(id, |(id, _)| *id) {
                    *total += batch.counts[at].1;
                }
            }
        }
        pending
    }

    /// Total clicks waiting to be written.
    pub fn pending_total(&self) -> i64 {
        let buffered: i64 = self
            .shards
            .iter()
            .map(|s| {
                let shard = s.0.lock();
                shard.counts.values().sum::<i64>() + shard.log.len() as i64
            })
            .sum();
        let unwritten = self
            .unwritten
            .lock()
            .as_ref()
            .map_or(0, |b| b.counts.iter().map(|(_, n)| n).sum());
        buffered + unwritten
    }

    /// Takes every buffered count, one entry per link, sorted by link id:
    /// stores write rows in key order, which touches each page once (SQLite)
    /// and takes row locks in one order (PostgreSQL). The shards keep their
    /// capacity, so the next second's clicks do not regrow them.
    fn take_all(&self) -> Vec<(i64, i64)> {
        let mut all = Vec::new();
        for shard in &self.shards {
            let mut shard = shard.0.lock();
            let shard = &mut *shard;
            all.extend(shard.counts.drain());
            all.extend(shard.log.drain(..).map(|id| (id, 1)));
        }
        all.sort_unstable_by_key(|(id, _)| *id);
        all.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 += later.1;
            }
            same
        });
        all
    }

    /// Writes everything buffered, after the batch a failed flush left
    /// unwritten; returns how many clicks were written. On failure nothing
    /// is lost: the batch is kept and retried first next time.
    ///
    /// The write runs in its own task, so a caller that is cancelled (a
    /// client hanging up) cannot drop a taken batch on the floor.
    pub async fn flush(self: &Arc<Self>, store: &Arc<dyn Store>) -> Result<i64, StoreError> {
        let (buffer, store) = (Arc::clone(self), Arc::clone(store));
        tokio::spawn(async move {
            let _flushing = buffer.flushing.lock().await;
            let mut written = 0;
            let retry = buffer.unwritten.lock().take();
            if let Some(batch) = retry {
                written += buffer.write(store.as_ref(), batch).await?;
            }
            let counts = buffer.take_all();
            if !counts.is_empty() {
                let batch = Unwritten {
                    id: rand::random::<i64>() & i64::MAX,
                    counts,
                };
                written += buffer.write(store.as_ref(), batch).await?;
            }
            Ok(written)
        })
        .await
        .map_err(|e| StoreError::Other(format!("click flush task failed: {e}")))?
    }

    /// Writes one batch; on failure keeps it for the next flush.
    async fn write(&self, store: &dyn Store, batch: Unwritten) -> Result<i64, StoreError> {
        let written = store
            .add_clicks(ClickBatch {
                id: batch.id,
                counts: &batch.counts,
                now: now_ms(),
            })
            .await;
        match written {
            Ok(()) => Ok(batch.counts.iter().map(|(_, n)| n).sum()),
            Err(e) => {
                *self.unwritten.lock() = Some(batch);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicks_from_many_threads_merge_into_one_sorted_count_per_link() {
        let buffer = ClickBuffer::default();
        std::thread::scope(|s| {
            for t in 0..(SLOTS as i64 + 3) {
                let buffer = &buffer;
                s.spawn(move || {
                    for id in [9, 2, 5, 2] {
                        buffer.record(id);
                    }
                    buffer.record(100 + t);
                });
            }
        });
        let threads = SLOTS as i64 + 3;
        assert_eq!(buffer.pending_for(2), 2 * threads);
        assert_eq!(buffer.pending_total(), 5 * threads);
        let counts = buffer.take_all();
        let mut expected = vec![(2, 2 * threads), (5, threads), (9, threads)];
        expected.extend((0..threads).map(|t| (100 + t, 1)));
        assert_eq!(counts, expected);
        assert_eq!(buffer.pending_total(), 0);
    }

    #[test]
    fn a_full_log_is_summed_and_nothing_is_lost() {
        let buffer = ClickBuffer::default();
        for i in 0..(LOG_CAP + 10) {
            buffer.record((i % 3) as i64);
        }
        for _ in 0..5 {
            buffer.record(7);
        }
        let total = LOG_CAP as i64 + 10;
        assert_eq!(buffer.pending_total(), total + 5);
        assert_eq!(buffer.pending_for(0), (total + 2) / 3);
        let counts = buffer.take_all();
        assert_eq!(counts.len(), 4);
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), total + 5);
        assert_eq!(counts[3], (7, 5));
    }
}
