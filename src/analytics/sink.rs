//! Where a flush's clicks and rollups go: the store, by default. Kept
//! behind a trait so a column store (ClickHouse, say; BENCHMARKS.md, "On
//! paper") can take the day and value rows when PostgreSQL should not.

use std::sync::Arc;

use async_trait::async_trait;

use crate::store::{ClickBatch, Store, StoreError};

/// Takes one flush, all or nothing. A batch id already taken must be
/// skipped: a flush whose write failed is retried with the same id.
#[async_trait]
pub trait ClickSink: Send + Sync + 'static {
    /// Writes the batch, or nothing of it.
    async fn write(&self, batch: ClickBatch<'_>) -> Result<(), StoreError>;
}

/// The default sink: everything in the link store, in one transaction.
pub struct StoreSink(Arc<dyn Store>);

impl StoreSink {
    /// A sink writing to `store`.
    pub fn shared(store: Arc<dyn Store>) -> Arc<dyn ClickSink> {
        Arc::new(StoreSink(store))
    }
}

#[async_trait]
impl ClickSink for StoreSink {
    async fn write(&self, batch: ClickBatch<'_>) -> Result<(), StoreError> {
        self.0.add_clicks(batch).await
    }
}
