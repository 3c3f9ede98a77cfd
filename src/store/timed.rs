//! A [`Store`] wrapper that times every call into
//! `shorty_store_query_duration_seconds{op}`, whichever backend is behind it.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{
    ClickBatch, CounterMarks, KeyRecord, LinkFilter, LinkPatch, LinkRecord, LinkStatsRows, NewLink,
    Owner, OwnerStatsRows, SessionRecord, Store, StoreError, UserRecord,
};
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
pub const OPS: [&str; 30] = [
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
    "link_stats",
    "owner_stats",
    "unknown_days",
    "purge_stats",
    "put_user",
    "get_user",
    "list_users",
    "delete_user",
    "insert_key",
    "list_keys",
    "revoke_key",
    "key_by_hash",
    "insert_session",
    "get_session",
    "delete_session",
    "purge_sessions",
    "taken_codes",
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

    async fn taken_codes(&self, codes: &[String]) -> Result<Vec<String>, StoreError> {
        timed!(self, "taken_codes", self.inner.taken_codes(codes))
    }

    async fn get_link(&self, code: &str) -> Result<Option<LinkRecord>, StoreError> {
        timed!(self, "get_link", self.inner.get_link(code))
    }

    async fn list_links(
        &self,
        filter: &LinkFilter<'_>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        timed!(self, "list_links", self.inner.list_links(filter, limit))
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

    async fn link_stats(
        &self,
        link_id: i64,
        from: i32,
        to: i32,
    ) -> Result<LinkStatsRows, StoreError> {
        timed!(self, "link_stats", self.inner.link_stats(link_id, from, to))
    }

    async fn owner_stats(
        &self,
        owner: Owner<'_>,
        from: i32,
        to: i32,
        top: u32,
    ) -> Result<OwnerStatsRows, StoreError> {
        timed!(
            self,
            "owner_stats",
            self.inner.owner_stats(owner, from, to, top)
        )
    }

    async fn unknown_days(&self, from: i32, to: i32) -> Result<Vec<(i32, i64)>, StoreError> {
        timed!(self, "unknown_days", self.inner.unknown_days(from, to))
    }

    async fn purge_stats(&self, before: i32) -> Result<u64, StoreError> {
        timed!(self, "purge_stats", self.inner.purge_stats(before))
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

    async fn put_user(&self, user: &UserRecord) -> Result<(UserRecord, bool), StoreError> {
        timed!(self, "put_user", self.inner.put_user(user))
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        timed!(self, "get_user", self.inner.get_user(id))
    }

    async fn list_users(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError> {
        timed!(self, "list_users", self.inner.list_users(after, limit))
    }

    async fn delete_user(&self, id: &str, now: i64) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        timed!(self, "delete_user", self.inner.delete_user(id, now))
    }

    async fn insert_key(&self, key: &KeyRecord) -> Result<bool, StoreError> {
        timed!(self, "insert_key", self.inner.insert_key(key))
    }

    async fn list_keys(&self, user_id: &str) -> Result<Vec<KeyRecord>, StoreError> {
        timed!(self, "list_keys", self.inner.list_keys(user_id))
    }

    async fn revoke_key(
        &self,
        user_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        timed!(
            self,
            "revoke_key",
            self.inner.revoke_key(user_id, key_id, now)
        )
    }

    async fn key_by_hash(&self, hash: &[u8]) -> Result<Option<KeyRecord>, StoreError> {
        timed!(self, "key_by_hash", self.inner.key_by_hash(hash))
    }

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        timed!(self, "insert_session", self.inner.insert_session(session))
    }

    async fn get_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        timed!(self, "get_session", self.inner.get_session(id_hash, now))
    }

    async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, StoreError> {
        timed!(self, "delete_session", self.inner.delete_session(id_hash))
    }

    async fn purge_sessions(&self, now: i64) -> Result<u64, StoreError> {
        timed!(self, "purge_sessions", self.inner.purge_sessions(now))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        timed!(self, "ping", self.inner.ping())
    }

    async fn close(&self) {
        self.inner.close().await
    }
}
