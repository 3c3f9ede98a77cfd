//! Click counting off the redirect path: clicks are summed in memory and
//! written to the store in one transaction per flush.

use std::collections::HashMap;
use std::sync::Arc;

use ahash::RandomState;
use parking_lot::Mutex;

use crate::store::{Store, StoreError};

/// Longest a capped link's click waits for buffered clicks to be written.
pub const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Clicks seen but not yet written to the store, by link id.
#[derive(Default)]
pub struct ClickBuffer {
    pending: Mutex<HashMap<i64, i64, RandomState>>,
    /// Held from taking a batch until it is committed or restored, so a
    /// caller that must see every click in the store (a capped link) can
    /// wait for a flush in progress.
    flushing: tokio::sync::Mutex<()>,
}

impl ClickBuffer {
    /// Counts one click; this is all the redirect path pays.
    pub fn record(&self, link_id: i64) {
        *self.pending.lock().entry(link_id).or_insert(0) += 1;
    }

    /// Clicks on a link that are not in the store yet.
    pub fn pending_for(&self, link_id: i64) -> i64 {
        self.pending.lock().get(&link_id).copied().unwrap_or(0)
    }

    /// Total clicks waiting to be written.
    pub fn pending_total(&self) -> i64 {
        self.pending.lock().values().sum()
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
            let Some(n) = buffer.pending.lock().remove(&link_id) else {
                return Ok(());
            };
            let written = store.add_clicks(&[(link_id, n)]).await;
            if written.is_err() {
                *buffer.pending.lock().entry(link_id).or_insert(0) += n;
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
        let batch = std::mem::take(&mut *self.pending.lock());
        if batch.is_empty() {
            return Ok(0);
        }
        let counts: Vec<(i64, i64)> = batch.iter().map(|(id, n)| (*id, *n)).collect();
        match store.add_clicks(&counts).await {
            Ok(()) => Ok(counts.iter().map(|(_, n)| n).sum()),
            Err(e) => {
                let mut pending = self.pending.lock();
                for (id, n) in batch {
                    *pending.entry(id).or_insert(0) += n;
                }
                Err(e)
            }
        }
    }
}
