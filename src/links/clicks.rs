//! Clicks and other visits, off the redirect path: each serving thread
//! appends them to its own log ([`crate::analytics::visits`]); a flush
//! derives the analytics from the logs on a blocking thread
//! ([`crate::analytics::rollup`]) and writes the rows in one transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ahash::RandomState;
use parking_lot::Mutex;

use super::view::now_ms;
use crate::analytics::rollup::{Deriver, Rollup, Rows};
use crate::analytics::sink::ClickSink;
use crate::analytics::visits::{Agent, Hit, Visit, VisitLog};
use crate::clock::Clock;
use crate::per_thread::{my_slot, Padded, SLOTS};
use crate::store::{ClickBatch, StoreError};

/// How long analytics rows (days, values, unknown codes) and the order by
/// clicks gather visits before they are written, unless a flush is forced.
/// Link click counts are written at every flush; analytics rows for one
/// link and value are far fewer per click when they cover half a minute
/// than one second (BENCHMARKS.md, "Click analytics").
pub const ANALYTICS_EVERY: Duration = Duration::from_secs(30);

/// Sealed logs waiting for the flusher. Past this many (the flusher is far
/// behind), a thread that fills its log derives it itself: slower, but
/// nothing is lost and memory stays bounded.
const MAX_SEALED: usize = 16;

type Chunk = (Vec<Hit>, Vec<Agent>);

/// A flush that was taken but is not known to be written. It is retried,
/// with the same id, before anything else is written.
struct Unwritten {
    id: i64,
    rows: Rows,
}

/// Visits seen but not yet written to the store.
///
/// Every flush is written with an id of its own ([`ClickBatch`]). When a
/// write fails, even one that may have committed after this side stopped
/// waiting, the same batch is retried with the same id, and the store
/// skips a batch it already has: so a click is written exactly once.
pub struct ClickBuffer {
    shards: [Padded<Mutex<VisitLog>>; SLOTS],
    sealed: Mutex<Vec<Chunk>>,
    /// Derived from the logs, not yet taken into a batch.
    derived: Mutex<Rollup>,
    unwritten: Mutex<Option<Unwritten>>,
    /// Held while a batch is being written, so flushes run one at a time.
    flushing: tokio::sync::Mutex<()>,
    deriver: Deriver,
    clock: Clock,
    /// Where flushes go.
    sink: Arc<dyn ClickSink>,
    /// When analytics rows were last taken into a batch.
    analytics_taken: Mutex<Instant>,
}

impl ClickBuffer {
    /// An empty buffer deriving with `deriver`, dating visits by `clock`,
    /// flushing to `sink`.
    pub fn new(deriver: Deriver, clock: Clock, sink: Arc<dyn ClickSink>) -> ClickBuffer {
        ClickBuffer {
            shards: std::array::from_fn(|_| Padded::default()),
            sealed: Mutex::new(Vec::new()),
            derived: Mutex::new(Rollup::default()),
            unwritten: Mutex::new(None),
            flushing: tokio::sync::Mutex::new(()),
            deriver,
            clock,
            sink,
            analytics_taken: Mutex::new(Instant::now()),
        }
    }

    /// Records one visit to `link_id` (or to an unknown code); `counted`
    /// when the link's click count already has it. This is all the
    /// redirect path pays.
    pub fn record(&self, link_id: i64, visit: &Visit<'_>, counted: bool) {
        let day = self.clock.today();
        let mut log = self.shards[my_slot()].0.lock();
        if log.is_full() {
            let chunk = log.take();
            drop(log);
            self.seal(chunk);
            log = self.shards[my_slot()].0.lock();
        }
        log.push(link_id, day, visit, counted);
    }

    fn seal(&self, chunk: Chunk) {
        let mut sealed = self.sealed.lock();
        if sealed.len() < MAX_SEALED {
            sealed.push(chunk);
            return;
        }
        drop(sealed);
        let mut rollup = Rollup::default();
        self.deriver.add(&mut rollup, &chunk.0, &chunk.1);
        self.derived.lock().merge(rollup);
    }

    /// Human clicks on a link that are not in the store yet.
    pub fn pending_for(&self, link_id: i64) -> i64 {
        self.pending_for_each(&[link_id])[0]
    }

    /// Human clicks not in the store yet, for each of `link_ids`. Visits
    /// not yet derived count unless their user agent is known as a bot.
    pub fn pending_for_each(&self, link_ids: &[i64]) -> Vec<i64> {
        let mut pending = vec![0; link_ids.len()];
        let at: HashMap<i64, usize, RandomState> = link_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let mut count = |hits: &[Hit], agents: &[Agent]| {
            for hit in hits {
                if let Some(&i) = at.get(&hit.link_id) {
                    let bot = agents.get(hit.agent as usize).is_some_and(|a| {
                        self.deriver.classifier.cached_bot(&a.user_agent) == Some(true)
                    });
                    if !hit.head && !hit.counted && !bot {
                        pending[i] += 1;
                    }
                }
            }
        };
        for shard in &self.shards {
            let log = shard.0.lock();
            count(&log.hits, &log.agents);
        }
        for (hits, agents) in self.sealed.lock().iter() {
            count(hits, agents);
        }
        let derived = self.derived.lock();
        let unwritten = self.unwritten.lock();
        for (total, id) in pending.iter_mut().zip(link_ids) {
            *total += derived.link_clicks.get(id).copied().unwrap_or(0);
            if let Some(batch) = &*unwritten {
                *total += batch.rows.link_clicks_of(*id);
            }
        }
        pending
    }

    /// Clicks not yet written: visits not yet derived (bots and unknown
    /// codes included, as they are not known yet), and derived clicks not
    /// yet in the store. Analytics rows held for [`ANALYTICS_EVERY`] are
    /// not counted: they are not clicks.
    pub fn pending_total(&self) -> i64 {
        let logged: usize = self.shards.iter().map(|s| s.0.lock().hits.len()).sum();
        let sealed: usize = self.sealed.lock().iter().map(|(h, _)| h.len()).sum();
        let derived: i64 = self.derived.lock().link_clicks.values().sum();
        let unwritten = self
            .unwritten
            .lock()
            .as_ref()
            .map_or(0, |b| b.rows.link_clicks.iter().map(|(_, n)| n).sum());
        (logged + sealed) as i64 + derived + unwritten
    }

    /// Takes every log, the sealed ones first.
    fn take_logs(&self) -> Vec<Chunk> {
        let mut chunks = std::mem::take(&mut *self.sealed.lock());
        for shard in &self.shards {
            let chunk = shard.0.lock().take();
            if !chunk.0.is_empty() {
                chunks.push(chunk);
            }
        }
        chunks
    }

    /// Derives what the logs hold into the pending rollup, on a blocking
    /// thread.
    async fn derive(self: &Arc<Self>) -> Result<(), StoreError> {
        let chunks = self.take_logs();
        if chunks.is_empty() {
            return Ok(());
        }
        let buffer = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut rollup = Rollup::default();
            for (hits, agents) in &chunks {
                buffer.deriver.add(&mut rollup, hits, agents);
            }
            buffer.derived.lock().merge(rollup);
        })
        .await
        .map_err(|e| StoreError::Other(format!("click derivation failed: {e}")))
    }

    /// Writes everything recorded, after the batch a failed flush left
    /// unwritten; returns how many rows were written. On failure nothing
    /// is lost: the batch is kept and retried first next time.
    pub async fn flush(self: &Arc<Self>) -> Result<i64, StoreError> {
        self.flush_with(true).await
    }

    /// What the once-a-second flusher calls: click counts always, the
    /// analytics rows once [`ANALYTICS_EVERY`] has passed.
    pub async fn flush_due(self: &Arc<Self>) -> Result<i64, StoreError> {
        self.flush_with(false).await
    }

    /// [`ClickBuffer::flush`], with analytics rows written only when
    /// `everything` or when due.
    ///
    /// The work runs in its own task, so a caller that is cancelled (a
    /// client hanging up) cannot drop a taken batch on the floor.
    async fn flush_with(self: &Arc<Self>, everything: bool) -> Result<i64, StoreError> {
        let buffer = Arc::clone(self);
        let sink = Arc::clone(&self.sink);
        tokio::spawn(async move {
            let _flushing = buffer.flushing.lock().await;
            buffer.derive().await?;
            let mut written = 0;
            let retry = buffer.unwritten.lock().take();
            if let Some(batch) = retry {
                written += buffer.write(sink.as_ref(), batch).await?;
            }
            let rollup = {
                let mut derived = buffer.derived.lock();
                let mut taken = buffer.analytics_taken.lock();
                if everything || taken.elapsed() >= ANALYTICS_EVERY {
                    *taken = Instant::now();
                    std::mem::take(&mut *derived)
                } else {
                    derived.take_link_clicks()
                }
            };
            if !rollup.is_empty() {
                let batch = Unwritten {
                    id: rand::random::<i64>() & i64::MAX,
                    rows: rollup.into_rows(),
                };
                written += buffer.write(sink.as_ref(), batch).await?;
            }
            Ok(written)
        })
        .await
        .map_err(|e| StoreError::Other(format!("click flush task failed: {e}")))?
    }

    /// Writes one batch; on failure keeps it for the next flush.
    async fn write(&self, sink: &dyn ClickSink, batch: Unwritten) -> Result<i64, StoreError> {
        let rows = &batch.rows;
        let written = sink
            .write(ClickBatch {
                id: batch.id,
                link_clicks: &rows.link_clicks,
                days: &rows.days,
                values: &rows.values,
                unknown: &rows.unknown,
                now: now_ms(),
            })
            .await;
        match written {
            Ok(()) => Ok(rows.len() as i64),
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
    use crate::analytics::classify::Classifier;
    use crate::analytics::visits::{LOG_CAP, UNKNOWN_LINK};
    use crate::store::Dimension;

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

    /// These tests never flush.
    struct NoSink;

    #[async_trait::async_trait]
    impl ClickSink for NoSink {
        async fn write(&self, _: ClickBatch<'_>) -> Result<(), StoreError> {
            Err(StoreError::Other("not in these tests".to_owned()))
        }
    }

    fn buffer() -> ClickBuffer {
        let deriver = Deriver {
            classifier: Arc::new(Classifier::default()),
            geo: None,
        };
        ClickBuffer::new(
            deriver,
            Clock::manual(20_000 * crate::clock::DAY_MS),
            Arc::new(NoSink),
        )
    }

    fn visit(ua: &str, head: bool) -> Visit<'_> {
        Visit {
            user_agent: ua.as_bytes(),
            referer: b"https://ref.example/page",
            ip: "198.51.100.7".parse().expect("ip"),
            head,
        }
    }

    fn derive_now(buffer: &ClickBuffer) -> Rollup {
        for (hits, agents) in buffer.take_logs() {
            let mut rollup = Rollup::default();
            buffer.deriver.add(&mut rollup, &hits, &agents);
            buffer.derived.lock().merge(rollup);
        }
        std::mem::take(&mut *buffer.derived.lock())
    }

    #[test]
    fn visits_from_many_threads_become_one_row_per_tuple() {
        let buffer = buffer();
        let threads = SLOTS as i64 + 3;
        std::thread::scope(|s| {
            for _ in 0..threads {
                let buffer = &buffer;
                s.spawn(move || {
                    for id in [9, 2, 5, 2] {
                        buffer.record(id, &visit(FIREFOX, false), false);
                    }
                    buffer.record(2, &visit("Twitterbot/1.0", false), false);
                    buffer.record(2, &visit(FIREFOX, true), false);
                    buffer.record(UNKNOWN_LINK, &visit(FIREFOX, false), false);
                });
            }
        });
        assert_eq!(
            buffer.pending_for(2),
            3 * threads,
            "the bot is not cached yet"
        );
        assert_eq!(buffer.pending_total(), 7 * threads);
        let rows = derive_now(&buffer).into_rows();
        assert_eq!(
            rows.link_clicks,
            [(2, 2 * threads), (5, threads), (9, threads)]
        );
        let day = 20_000;
        let two = rows.days.iter().find(|d| d.link_id == 2).expect("link 2");
        assert_eq!(
            (two.day, two.human, two.bots),
            (day, 2 * threads, 2 * threads)
        );
        assert_eq!(rows.unknown, [(day, threads)]);
        let value = |dim, v: &str| {
            rows.values
                .iter()
                .find(|r| r.link_id == 2 && r.dim == dim && r.value == v)
                .map(|r| r.clicks)
        };
        assert_eq!(value(Dimension::Referrer, "ref.example"), Some(4 * threads));
        assert_eq!(value(Dimension::Device, "bot"), Some(2 * threads));
        assert_eq!(value(Dimension::Device, "desktop"), Some(2 * threads));
        assert_eq!(value(Dimension::Browser, "Firefox"), Some(3 * threads));
        assert_eq!(
            value(Dimension::Country, "US"),
            None,
            "no database, no guess"
        );
        assert_eq!(buffer.pending_total(), 0);
    }

    #[test]
    fn full_logs_are_sealed_and_nothing_is_lost() {
        let buffer = buffer();
        let total = (LOG_CAP * (MAX_SEALED + 3)) as i64;
        for _ in 0..total {
            buffer.record(7, &visit(FIREFOX, false), false);
        }
        assert!(buffer.sealed.lock().len() <= MAX_SEALED);
        assert_eq!(buffer.pending_total(), total);
        assert_eq!(buffer.pending_for(7), total);
        let rows = derive_now(&buffer).into_rows();
        assert_eq!(rows.link_clicks, [(7, total)]);
    }

    #[test]
    fn capped_clicks_are_analytics_only() {
        let buffer = buffer();
        buffer.record(3, &visit(FIREFOX, false), true);
        assert_eq!(buffer.pending_for(3), 0);
        let rows = derive_now(&buffer).into_rows();
        assert!(rows.link_clicks.is_empty());
        assert_eq!(rows.days[0].human, 1);
    }
}
