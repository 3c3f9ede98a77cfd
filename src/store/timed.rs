//! A [`Store`] wrapper that times every call into
//! `shorty_store_query_duration_seconds{op}`, whichever backend is behind it.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{ClickBatch, CounterMarks, LinkPatch, LinkRecord, NewLink, Order, Store, StoreError};
use crate::telemetry::metrics::Metrics;

/// Times the calls of the store it wraps.
pub struct TimedStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl TimedStore {
    /// Wraps `inner`, recording into `metrics`.
    pub fn wrap(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Arc<dyn Store> {
        metrics.register_store_ops(&OPS);
        Arc::new(TimedStore { inner, metrics })
    }
}

/// The `op` label of every timed call, registered at zero on startup.
pub const OPS: [&str; 13] = [
    "insert_links",
    "get_link",
    "list_links",
    "update_link",
    "delete_link",
    "consume_click",
    "add_clicks",
    "reserve_counter_block",
    "counter_floor",
    "record_redis_block",
    "purge_expired",
    "purge_click_batches",
    "ping",
];

macro_rules! timed {
    ($self:ident, $op:literal, $call:expr) => {{
        let started = Instant::now();
        let result = $call.await;
        $self.metrics.record_store_op($op, started.elapsed());
        result
    }};
}

#[async_trait]
impl Store for TimedStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.migrate().await
    }

    async fn insert_links(&self, links: &[NewLink]) -> Result<Vec<Option<i64>>, StoreError> {
        timed!(self, "insert_links", self.inner.insert_links(links))
    }

    async fn get_link(&self, code: &str) -> Result<Option<LinkRecord>, StoreError> {
        timed!(self, "get_link", self.inner.get_link(code))
    }

    async fn list_links(
        &self,
        after: Option<i64>,
        limit: u32,
        order: Order,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        timed!(
            self,
            "list_links",
            self.inner.list_links(after, limit, order)
        )
    }

    async fn update_link(
        &self,
        code: &str,
        patch: &LinkPatch,
    ) -> Result<Option<LinkRecord>, StoreError> {
        timed!(self, "update_link", self.inner.update_link(code, patch))
    }

    async fn delete_link(&self, code: &str, now: i64) -> Result<bool, StoreError> {
        timed!(self, "delete_link", self.inner.delete_link(code, now))
    }

    async fn consume_clicks(
        &self,
        wanted: &[(String, i64)],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        timed!(
            self,
            "consume_click",
            self.inner.consume_clicks(wanted, now)
        )
    }

    async fn add_clicks(&self, batch: ClickBatch<'_>) -> Result<(), StoreError> {
        timed!(self, "add_clicks", self.inner.add_clicks(batch))
    }

    async fn purge_click_batches(&self, before: i64) -> Result<u64, StoreError> {
        timed!(
            self,
            "purge_click_batches",
            self.inner.purge_click_batches(before)
        )
    }

    async fn reserve_counter_block(&self, count: u64) -> Result<u64, StoreError> {
        timed!(
            self,
            "reserve_counter_block",
            self.inner.reserve_counter_block(count)
        )
    }

    async fn counter_floor(&self) -> Result<u64, StoreError> {
        timed!(self, "counter_floor", self.inner.counter_floor())
    }

    async fn record_redis_block(&self, end: u64) -> Result<CounterMarks, StoreError> {
        timed!(
            self,
            "record_redis_block",
            self.inner.record_redis_block(end)
        )
    }

    async fn code_key(&self) -> Result<u64, StoreError> {
        self.inner.code_key().await
    }

    async fn purge_expired(&self, now: i64, limit: u32) -> Result<u64, StoreError> {
        timed!(self, "purge_expired", self.inner.purge_expired(now, limit))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        timed!(self, "ping", self.inner.ping())
    }

    async fn close(&self) {
        self.inner.close().await
    }
}
