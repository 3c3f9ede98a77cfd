//! Hands out generated codes from counter blocks: from Redis when it is
//! configured and answers, else from the store's own counter.
//!
//! The two counters never overlap. Every Redis block is recorded in the
//! store before use, and the store's counter always moves past what was
//! recorded. A Redis block that starts below the store's counter (the
//! store handed out values while Redis was away) or below the previously
//! recorded Redis mark (Redis lost its data and handed a block out again,
//! or simply another instance recorded a later block first) is thrown
//! away, and Redis is moved past both marks before the next try.

use std::ops::Range;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::backoff::UnavailableBackoff;

use crate::domain::alias::is_reserved;
use crate::domain::{Code, CodeGenerator};
use crate::redis_shared::SharedRedis;
use crate::store::{Store, StoreError};

/// Counter values reserved per store round trip.
pub const BLOCK_SIZE: u64 = 1000;

/// Redis blocks tried before falling back to the store's counter.
const REDIS_ATTEMPTS: usize = 3;

/// Turns reserved counter values into codes. Values left in a block at
/// shutdown are simply skipped: gaps are harmless, reuse never happens.
pub struct CodeAllocator {
    generator: CodeGenerator,
    store: Arc<dyn Store>,
    redis: Option<Arc<SharedRedis>>,
    block: Mutex<Range<u64>>,
    backoff: Mutex<UnavailableBackoff>,
}

impl CodeAllocator {
    /// An allocator using Redis's counter if given, else the store's, and
    /// `generator`'s bijection.
    pub fn new(
        generator: CodeGenerator,
        store: Arc<dyn Store>,
        redis: Option<Arc<SharedRedis>>,
    ) -> CodeAllocator {
        CodeAllocator {
            generator,
            store,
            redis,
            block: Mutex::new(0..0),
            backoff: Mutex::default(),
        }
    }

    /// The first value of a fresh block; fails at once for a moment after
    /// the store was found unavailable, so waiters do not each time out.
    async fn reserve(&self) -> Result<u64, StoreError> {
        self.backoff.lock().await.run(self.reserve_block()).await
    }

    async fn reserve_block(&self) -> Result<u64, StoreError> {
        if let Some(redis) = &self.redis {
            if let Some(first) = self.reserve_from_redis(redis).await? {
                return Ok(first);
            }
        }
        self.store.reserve_counter_block(BLOCK_SIZE).await
    }

    /// A block from Redis, or `None` when Redis cannot give a usable one.
    async fn reserve_from_redis(&self, redis: &SharedRedis) -> Result<Option<u64>, StoreError> {
        let mut floor = self.store.counter_floor().await?;
        for _ in 0..REDIS_ATTEMPTS {
            let Ok(end) = redis.counter_block(BLOCK_SIZE, floor).await else {
                return Ok(None);
            };
            let marks = self.store.record_redis_block(end).await?;
            let first = end - BLOCK_SIZE;
            if marks.clears(first) {
                return Ok(Some(first));
            }
            floor = marks.floor();
        }
        Ok(None)
    }

    /// The next fresh code. Counter values whose code is a reserved word
    /// (`healthz` and `metrics` have seven letters) are passed over.
    pub async fn next(&self) -> Result<Code, StoreError> {
        let mut block = self.block.lock().await;
        loop {
            if block.is_empty() {
                let first = self.reserve().await?;
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
