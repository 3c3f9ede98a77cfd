//! Redis, shared by every instance: a second cache layer, counter blocks
//! for generated codes, and cross-instance cache invalidation.
//!
//! Redis is optional and never required for correctness. Every call is
//! bounded by `redis_timeout_ms`; after a failure, calls are skipped for
//! [`RETRY_AFTER`] so an outage costs requests nothing, and the outage and
//! the recovery are each logged once.

mod cache;
mod invalidation;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, FromRedisValue};

pub use cache::{SharedEntry, EVERYTHING, SHARED_TTL};
pub use invalidation::spawn_subscriber;

use crate::config::Config;

/// How long Redis is left alone after a failed call.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Moves the counter past `floor` (ARGV[2]) if it is behind, e.g. after a
/// Redis restart lost it, then hands out a block of ARGV[1] values and
/// returns the block's end.
const COUNTER_SCRIPT: &str = r"
local size = tonumber(ARGV[1])
local floor = tonumber(ARGV[2])
local finish = redis.call('INCRBY', KEYS[1], size)
if finish - size < floor then
  finish = floor + size
  redis.call('SET', KEYS[1], finish)
end
return finish
";

/// Why a Redis call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("redis is unavailable; retrying shortly")]
    Skipped,
    #[error("redis did not answer in time")]
    Timeout,
    #[error("redis: {0}")]
    Failed(#[from] redis::RedisError),
    #[error("redis call task failed: {0}")]
    Task(String),
}

/// One instance's handle on the shared Redis.
pub struct SharedRedis {
    client: Client,
    prefix: String,
    timeout: Duration,
    connection: parking_lot::RwLock<Option<ConnectionManager>>,
    connecting: tokio::sync::Mutex<()>,
    started: Instant,
    /// Milliseconds since `started` before which calls are skipped.
    skip_until: AtomicU64,
    down: AtomicBool,
    counter: redis::Script,
    /// How long an invalidation marker keeps racing loads out of the
    /// shared cache: longer than any store call can take.
    marker_ttl: Duration,
    /// Codes written while Redis was away, still to be announced.
    unannounced: parking_lot::Mutex<HashSet<String>>,
    unannounced_overflow: AtomicBool,
    /// Permits for background fills of the shared cache.
    fills: Arc<tokio::sync::Semaphore>,
    /// The runtime every Redis call runs on.
    io: tokio::runtime::Handle,
}

impl SharedRedis {
    /// A handle for `config.redis_url`; connects on first use, so shorty
    /// starts (and reports Redis as not ready) while Redis is down. Must be
    /// called on the runtime that should run Redis calls (the main one).
    pub fn new(config: &Config) -> Result<Option<Arc<SharedRedis>>, String> {
        let Some(url) = &config.redis_url else {
            return Ok(None);
        };
        let client = Client::open(url.as_str()).map_err(|e| format!("bad redis_url: {e}"))?;
        Ok(Some(Arc::new(SharedRedis {
            client,
            prefix: config.redis_key_prefix.clone(),
            timeout: config.redis_timeout,
            connection: parking_lot::RwLock::new(None),
            connecting: tokio::sync::Mutex::new(()),
            started: Instant::now(),
            skip_until: AtomicU64::new(0),
            down: AtomicBool::new(false),
            counter: redis::Script::new(COUNTER_SCRIPT),
            marker_ttl: config.db_timeout * 2 + Duration::from_secs(3),
            unannounced: parking_lot::Mutex::new(HashSet::new()),
            unannounced_overflow: AtomicBool::new(false),
            fills: Arc::new(tokio::sync::Semaphore::new(cache::MAX_FILLS_IN_FLIGHT)),
            io: tokio::runtime::Handle::current(),
        })))
    }

    /// `prefix` + `name`: every key and channel is namespaced.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Whether the last call failed.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Sends one command, within the timeout.
    pub async fn query<T: FromRedisValue + Send + 'static>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, RedisError> {
        let mut conn = self.connection().await?;
        let cmd = cmd.clone();
        let answer = self
            .bounded(async move { cmd.query_async::<T>(&mut conn).await })
            .await;
        self.note(answer)
    }

    /// Sends a pipeline, within the timeout.
    pub async fn pipeline<T: FromRedisValue + Send + 'static>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, RedisError> {
        let mut conn = self.connection().await?;
        let pipe = pipe.clone();
        let answer = self
            .bounded(async move { pipe.query_async::<T>(&mut conn).await })
            .await;
        self.note(answer)
    }

    /// Hands out a block of `size` counter values past `floor`; returns
    /// the block's end (exclusive).
    pub async fn counter_block(&self, size: u64, floor: u64) -> Result<u64, RedisError> {
        let mut conn = self.connection().await?;
        let (script, key) = (self.counter.clone(), self.key("code_counter"));
        let answer = self
            .bounded(async move {
                let mut invocation = script.key(key);
                invocation.arg(size).arg(floor);
                invocation.invoke_async::<u64>(&mut conn).await
            })
            .await;
        self.note(answer)
    }

    /// Answers when Redis does, for `/readyz`. Within the pause after a
    /// failure this reports the failure without trying again.
    pub async fn ping(&self) -> Result<(), RedisError> {
        self.query::<String>(&redis::cmd("PING")).await.map(|_| ())
    }

    /// The client, for the pub/sub connection.
    fn client(&self) -> &Client {
        &self.client
    }

    async fn connection(&self) -> Result<ConnectionManager, RedisError> {
        let now = self.started.elapsed().as_millis() as u64;
        if now < self.skip_until.load(Ordering::Relaxed) {
            return Err(RedisError::Skipped);
        }
        if let Some(conn) = self.connection.read().as_ref() {
            return Ok(conn.clone());
        }
        // One caller connects; the others go without Redis meanwhile
        // rather than queueing behind a connection attempt.
        let Ok(_connecting) = self.connecting.try_lock() else {
            return Err(RedisError::Skipped);
        };
        if let Some(conn) = self.connection.read().as_ref() {
            return Ok(conn.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1);
        let client = self.client.clone();
        let connect = async move { client.get_connection_manager_with_config(config).await };
        let conn = self.note(self.bounded(connect).await)?;
        *self.connection.write() = Some(conn.clone());
        Ok(conn)
    }

    /// Runs a Redis call on the runtime the handle was made on, within the
    /// timeout. Connections are driven by tasks on the runtime that opened
    /// them; keeping every call (and so every connection) on the main
    /// runtime means busy HTTP threads can never starve Redis replies,
    /// which would look like a hung Redis and degrade the cache.
    async fn bounded<T: Send + 'static>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>> + Send + 'static,
    ) -> Result<T, RedisError> {
        let timeout = self.timeout;
        let task = self
            .io
            .spawn(async move { tokio::time::timeout(timeout, call).await });
        match task.await {
            Ok(Ok(answer)) => Ok(answer?),
            Ok(Err(_)) => Err(RedisError::Timeout),
            Err(e) => Err(RedisError::Task(e.to_string())),
        }
    }

    /// Logs transitions between up and down (once each), and starts the
    /// skip window after a failure.
    fn note<T>(&self, answer: Result<T, RedisError>) -> Result<T, RedisError> {
        match &answer {
            Ok(_) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis is reachable again");
                }
            }
            Err(e) => {
                let retry_at = self.started.elapsed() + RETRY_AFTER;
                self.skip_until
                    .store(retry_at.as_millis() as u64, Ordering::Relaxed);
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "redis unavailable; carrying on without it");
                }
            }
        }
        answer
    }
}
