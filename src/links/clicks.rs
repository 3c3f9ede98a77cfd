//! Click counting off the redirect path: clicks are summed in memory and
//! written to the store in one transaction per flush.

use std::collections::HashMap;
use std::sync::Arc;

use ahash::RandomState;
use parking_lot::Mutex;

use crate::per_thread::{my_slot, Padded, SLOTS};
use crate::store::{Store, StoreError};

/// Longest a capped link's click waits for buffered clicks to be written.
pub const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

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

/// Clicks seen but not yet written to the store, by link id. Each thread
/// counts into its own shard ([`crate::per_thread`]), so the serving threads
/// never wait on each other's lock.
pub struct ClickBuffer {
    shards: [Padded<Mutex<Shard>>; SLOTS],
    /// Held from taking a batch until it is committed or restored, so a
    /// caller that must see every click in the store (a capped link) can
    /// wait for a flush in progress.
    flushing: tokio::sync::Mutex<()>,
}

impl Default for ClickBuffer {
    fn default() -> Self {
        ClickBuffer {
            shards: std::array::from_fn(|_| Padded::default()),
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

    fn add(&self, link_id: i64, n: i64) {
        *self.shards[my_slot()]
            .0
            .lock()
            .counts
            .entry(link_id)
            .or_insert(0) += n;
    }

    /// Clicks on a link that are not in the store yet.
    pub fn pending_for(&self, link_id: i64) -> i64 {
        self.shards
            .iter()
            .map(|s| {
                let shard = s.0.lock();
                let logged = shard.log.iter().filter(|id| **id == link_id).count();
                shard.counts.get(&link_id).copied().unwrap_or(0) + logged as i64
            })
            .sum()
    }

    /// Total clicks waiting to be written.
    pub fn pending_total(&self) -> i64 {
        self.shards
            .iter()
            .map(|s| {
                let shard = s.0.lock();
                shard.counts.values().sum::<i64>() + shard.log.len() as i64
            })
            .sum()
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

    /// Takes the buffered clicks of one link.
    fn take_one(&self, link_id: i64) -> i64 {
        self.shards
            .iter()
            .map(|s| {
                let mut shard = s.0.lock();
                let before = shard.log.len();
                shard.log.retain(|id| *id != link_id);
                let logged = (before - shard.log.len()) as i64;
                shard.counts.remove(&link_id).unwrap_or(0) + logged
            })
            .sum()
    }

    /// Writes everything buffered; on failure the counts go back into the
    /// buffer so no click is lost. Returns how many clicks were written.
    ///
    /// The write runs in its own task, so a caller that is cancelled (a
    /// client hanging up) cannot drop a taken batch on the floor.
    pub async fn flush(self: &Arc<Self>, store: &Arc<dyn Store>) -> Result<i64, StoreError> {
        let (buffer, store) = (Arc::clone(self), Arc::clone(store));
        tokio::spawn(async move {
            let _flushing = buffer.flushing.lock().await;
            buffer.write_pending(store.as_ref()).await
        })
        .await
        .map_err(|e| StoreError::Other(format!("click flush task failed: {e}")))?
    }

    /// Makes sure every click on `link_id` seen so far is in the store:
    /// waits for a flush in progress (which may hold some of them), then
    /// writes this link's buffered clicks on their own. Capped links call
    /// this before counting a click in the store. Waits at most
    /// [`SETTLE_WAIT`]; the write goes on in the background if the caller
    /// stops waiting, so no click is lost either way.
    pub async fn settle(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        link_id: i64,
    ) -> Result<(), StoreError> {
        if let Ok(_idle) = self.flushing.try_lock() {
            if self.pending_for(link_id) == 0 {
                return Ok(());
            }
        }
        let (buffer, store) = (Arc::clone(self), Arc::clone(store));
        let write = tokio::spawn(async move {
            let _flushing = buffer.flushing.lock().await;
            let n = buffer.take_one(link_id);
            if n == 0 {
                return Ok(());
            }
            let written = store.add_clicks(&[(link_id, n)]).await;
            if written.is_err() {
                buffer.add(link_id, n);
            }
            written
        });
        match tokio::time::timeout(SETTLE_WAIT, write).await {
            Ok(Ok(written)) => written,
            Ok(Err(e)) => Err(StoreError::Other(format!("click settle task failed: {e}"))),
            Err(_) => Err(StoreError::Unavailable(
                "buffered clicks could not be written in time".to_owned(),
            )),
        }
    }

    async fn write_pending(&self, store: &dyn Store) -> Result<i64, StoreError> {
        let counts = self.take_all();
        if counts.is_empty() {
            return Ok(0);
        }
        match store.add_clicks(&counts).await {
            Ok(()) => Ok(counts.iter().map(|(_, n)| n).sum()),
            Err(e) => {
                for (id, n) in counts {
                    self.add(id, n);
                }
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
    fn one_link_can_be_taken_alone() {
        let buffer = ClickBuffer::default();
        buffer.record(1);
        buffer.record(2);
        std::thread::scope(|s| {
            s.spawn(|| buffer.record(1));
        });
        assert_eq!(buffer.take_one(1), 2);
        assert_eq!(buffer.take_one(1), 0);
        assert_eq!(buffer.take_all(), vec![(2, 1)]);
    }

    #[test]
    fn a_full_log_is_summed_and_nothing_is_lost() {
        let buffer = ClickBuffer::default();
        for i in 0..(LOG_CAP + 10) {
            buffer.record((i % 3) as i64);
        }
        buffer.add(7, 5);
        let total = LOG_CAP as i64 + 10;
        assert_eq!(buffer.pending_total(), total + 5);
        assert_eq!(buffer.pending_for(0), (total + 2) / 3);
        let counts = buffer.take_all();
        assert_eq!(counts.len(), 4);
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), total + 5);
        assert_eq!(counts[3], (7, 5));
    }
}
