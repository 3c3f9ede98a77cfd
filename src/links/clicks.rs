//! Click counting off the redirect path: clicks are summed in memory and
//! written to the store in one transaction per flush.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::store::{Store, StoreError};

/// Clicks seen but not yet written to the store.
#[derive(Default)]
pub struct ClickBuffer {
    pending: Mutex<HashMap<Arc<str>, i64>>,
}

impl ClickBuffer {
    /// Counts one click; this is all the redirect path pays.
    pub fn record(&self, code: &Arc<str>) {
        *self.pending.lock().entry(Arc::clone(code)).or_insert(0) += 1;
    }

    /// Clicks on `code` that are not in the store yet.
    pub fn pending_for(&self, code: &str) -> i64 {
        self.pending.lock().get(code).copied().unwrap_or(0)
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
        let counts: Vec<(String, i64)> = batch.iter().map(|(c, n)| (c.to_string(), *n)).collect();
        match store.add_clicks(&counts).await {
            Ok(()) => Ok(counts.iter().map(|(_, n)| n).sum()),
            Err(e) => {
                let mut pending = self.pending.lock();
                for (code, n) in batch {
                    *pending.entry(code).or_insert(0) += n;
                }
                Err(e)
            }
        }
    }
}
