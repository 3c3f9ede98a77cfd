//! Click counting off the redirect path: clicks are summed in memory and
//! written to the store in one transaction per flush.

use std::collections::HashMap;

use ahash::RandomState;
use parking_lot::Mutex;

use crate::store::{Store, StoreError};

/// Clicks seen but not yet written to the store, by link id.
#[derive(Default)]
pub struct ClickBuffer {
    pending: Mutex<HashMap<i64, i64, RandomState>>,
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
    pub async fn flush(&self, store: &dyn Store) -> Result<i64, StoreError> {
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
