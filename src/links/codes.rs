//! Hands out generated codes from counter blocks reserved in the store.

use std::ops::Range;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::domain::alias::is_reserved;
use crate::domain::{Code, CodeGenerator};
use crate::store::{Store, StoreError};

/// Counter values reserved per store round trip.
pub const BLOCK_SIZE: u64 = 1000;

/// Turns reserved counter values into codes. Values left in a block at
/// shutdown are simply skipped: gaps are harmless, reuse never happens.
pub struct CodeAllocator {
    generator: CodeGenerator,
    store: Arc<dyn Store>,
    block: Mutex<Range<u64>>,
}

impl CodeAllocator {
    /// An allocator using the store's counter and `generator`'s bijection.
    pub fn new(generator: CodeGenerator, store: Arc<dyn Store>) -> CodeAllocator {
        CodeAllocator {
            generator,
            store,
            block: Mutex::new(0..0),
        }
    }

    /// The next fresh code. Counter values whose code is a reserved word
    /// (`healthz` and `metrics` have seven letters) are passed over.
    pub async fn next(&self) -> Result<Code, StoreError> {
        let mut block = self.block.lock().await;
        loop {
            if block.is_empty() {
                let first = self.store.reserve_counter_block(BLOCK_SIZE).await?;
                *block = first..first + BLOCK_SIZE;
            }
            let n = block.start;
            block.start += 1;
            let code = self.generator.code_for(n);
            if !is_reserved(code.as_str()) {
                return Ok(code);
            }
        }
    }
}
