//! A real store with faults injected into chosen calls, for the failures
//! that cannot be caused from outside on demand: a write that commits but
//! reports failure (its reply lost to a timeout), and a panic in the
//! store's code.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use shorty::store::{
    ClickBatch, CounterMarks, KeyRecord, LinkFilter, LinkPatch, LinkRecord, LinkStatsRows, NewLink,
    Owner, OwnerStatsRows, SessionRecord, Store, StoreError, UserRecord,
};

/// What goes wrong, once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `add_clicks` commits, then reports the store unavailable.
    CommitThenFail,
    /// `insert_links` panics before writing anything.
    PanicOnInsert,
}

/// `inner` with one [`Fault`], which strikes the first time it can.
pub struct Faulty {
    inner: Arc<dyn Store>,
    fault: Fault,
    struck: AtomicBool,
}

impl Faulty {
    /// Wraps `inner`.
    pub fn wrap(inner: Arc<dyn Store>, fault: Fault) -> Arc<dyn Store> {
        Arc::new(Faulty {
            inner,
            fault,
            struck: AtomicBool::new(false),
        })
    }

    /// Whether `fault` is this store's and has not struck yet (it does now).
    fn strikes(&self, fault: Fault) -> bool {
        self.fault == fault && !self.struck.swap(true, Ordering::SeqCst)
    }
}

#[async_trait]
impl Store for Faulty {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.migrate().await
    }

    async fn insert_links(&self, links: &[NewLink]) -> Result<Vec<Option<i64>>, StoreError> {
        if self.strikes(Fault::PanicOnInsert) {
            panic!("injected panic in insert_links");
        }
        self.inner.insert_links(links).await
    }

    async fn get_link(&self, code: &str) -> Result<Option<LinkRecord>, StoreError> {
        self.inner.get_link(code).await
    }

    async fn list_links(
        &self,
        filter: &LinkFilter<'_>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        self.inner.list_links(filter, limit).await
    }

    async fn update_link(
        &self,
        code: &str,
        patch: &LinkPatch,
    ) -> Result<Option<LinkRecord>, StoreError> {
        self.inner.update_link(code, patch).await
    }

    async fn delete_link(&self, code: &str, now: i64) -> Result<bool, StoreError> {
        self.inner.delete_link(code, now).await
    }

    async fn consume_clicks(
        &self,
        wanted: &[(String, i64)],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        self.inner.consume_clicks(wanted, now).await
    }

    async fn add_clicks(&self, batch: ClickBatch<'_>) -> Result<(), StoreError> {
        self.inner.add_clicks(batch).await?;
        if self.strikes(Fault::CommitThenFail) {
            return Err(StoreError::Unavailable(
                "injected: no answer in time (the write committed)".to_owned(),
            ));
        }
        Ok(())
    }

    async fn purge_click_batches(&self, before: i64) -> Result<u64, StoreError> {
        self.inner.purge_click_batches(before).await
    }

    async fn link_stats(
        &self,
        link_id: i64,
        from: i32,
        to: i32,
    ) -> Result<LinkStatsRows, StoreError> {
        self.inner.link_stats(link_id, from, to).await
    }

    async fn owner_stats(
        &self,
        owner: Owner<'_>,
        from: i32,
        to: i32,
        top: u32,
    ) -> Result<OwnerStatsRows, StoreError> {
        self.inner.owner_stats(owner, from, to, top).await
    }

    async fn unknown_days(&self, from: i32, to: i32) -> Result<Vec<(i32, i64)>, StoreError> {
        self.inner.unknown_days(from, to).await
    }

    async fn purge_stats(&self, before: i32) -> Result<u64, StoreError> {
        self.inner.purge_stats(before).await
    }

    async fn reserve_counter_block(&self, count: u64) -> Result<u64, StoreError> {
        self.inner.reserve_counter_block(count).await
    }

    async fn counter_floor(&self) -> Result<u64, StoreError> {
        self.inner.counter_floor().await
    }

    async fn record_redis_block(&self, end: u64) -> Result<CounterMarks, StoreError> {
        self.inner.record_redis_block(end).await
    }

    async fn code_key(&self) -> Result<u64, StoreError> {
        self.inner.code_key().await
    }

    async fn purge_expired(&self, now: i64, limit: u32) -> Result<u64, StoreError> {
        self.inner.purge_expired(now, limit).await
    }

    async fn put_user(&self, user: &UserRecord) -> Result<(UserRecord, bool), StoreError> {
        self.inner.put_user(user).await
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.inner.get_user(id).await
    }

    async fn list_users(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.inner.list_users(after, limit).await
    }

    async fn delete_user(&self, id: &str, now: i64) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        self.inner.delete_user(id, now).await
    }

    async fn insert_key(&self, key: &KeyRecord) -> Result<bool, StoreError> {
        self.inner.insert_key(key).await
    }

    async fn list_keys(&self, user_id: &str) -> Result<Vec<KeyRecord>, StoreError> {
        self.inner.list_keys(user_id).await
    }

    async fn revoke_key(
        &self,
        user_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.revoke_key(user_id, key_id, now).await
    }

    async fn key_by_hash(&self, hash: &[u8]) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.key_by_hash(hash).await
    }

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.inner.insert_session(session).await
    }

    async fn get_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.get_session(id_hash, now).await
    }

    async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, StoreError> {
        self.inner.delete_session(id_hash).await
    }

    async fn taken_codes(&self, codes: &[String]) -> Result<Vec<String>, StoreError> {
        self.inner.taken_codes(codes).await
    }

    async fn purge_sessions(&self, now: i64) -> Result<u64, StoreError> {
        self.inner.purge_sessions(now).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn close(&self) {
        self.inner.close().await
    }
}
