//! Redis, shared by every instance: a second cache layer, counter blocks
//! for generated codes, and cross-instance cache invalidation.
//!
//! Redis is optional and never required for correctness. Every call is
//! bounded by `redis_timeout_ms`; after a failure, calls are skipped for
//! [`RETRY_AFTER`] so an outage costs requests nothing, and the outage and
//! the recovery are each logged once.

mod cache;
mod invalidation;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, FromRedisValue};

pub use cache::{SharedEntry, EVERYTHING, SHARED_TTL};
pub use invalidation::{spawn_subscriber, LocalCache};

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
}

/// One instance's handle on the shared Redis.
pub struct SharedRedis {
    client: Client,
    prefix: String,
    timeout: Duration,
    /// Tells this handle's connections apart in the per-thread table.
    id: usize,
    /// The main (multi-threaded) runtime's connection.
    main_connection: parking_lot::RwLock<Option<ConnectionManager>>,
    main_connecting: AtomicBool,
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
}

thread_local! {
    /// Each single-threaded runtime's connections, by handle id. A
    /// connection is driven by a task on the runtime that opened it;
    /// shared between runtimes, a
    /// connection opened by a busy HTTP thread would starve the replies
    /// another runtime waits for (seen in the bench as heartbeats timing
    /// out and caches degrading under load). One per thread means the
    /// thread that waits for a reply is the one that drives it, with no
    /// hop between threads on the hot path.
    static CONNECTIONS: RefCell<HashMap<usize, ConnectionManager>> = RefCell::new(HashMap::new());
    /// Handle ids this thread is connecting for right now.
    static CONNECTING: RefCell<HashSet<usize>> = RefCell::new(HashSet::new());
}

/// Ids for [`SharedRedis`] handles (tests run several in one process).
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl SharedRedis {
    /// A handle for `config.redis_url`; connects on first use, so shorty
    /// starts (and reports Redis as not ready) while Redis is down.
    pub fn new(config: &Config) -> Result<Option<Arc<SharedRedis>>, String> {
        let Some(url) = &config.redis_url else {
            return Ok(None);
        };
        let client = Client::open(url.as_str()).map_err(|e| format!("bad redis_url: {e}"))?;
        Ok(Some(Arc::new(SharedRedis {
            client,
            prefix: config.redis_key_prefix.clone(),
            timeout: config.redis_timeout,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            main_connection: parking_lot::RwLock::new(None),
            main_connecting: AtomicBool::new(false),
            started: Instant::now(),
            skip_until: AtomicU64::new(0),
            down: AtomicBool::new(false),
            counter: redis::Script::new(COUNTER_SCRIPT),
            marker_ttl: config.db_timeout * 2 + Duration::from_secs(3),
            unannounced: parking_lot::Mutex::new(HashSet::new()),
            unannounced_overflow: AtomicBool::new(false),
            fills: Arc::new(tokio::sync::Semaphore::new(cache::MAX_FILLS_IN_FLIGHT)),
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
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, RedisError> {
        self.check_skip()?;
        self.query_now(cmd).await
    }

    /// Sends one command even within the pause after a failure: for the
    /// heartbeat, which must not fall silent (and degrade every cache)
    /// just because one call was slow.
    pub async fn query_now<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, RedisError> {
        let mut conn = self.connection().await?;
        let answer = self.bounded(cmd.query_async::<T>(&mut conn)).await;
        self.note(answer)
    }

    /// Sends a pipeline, within the timeout.
    pub async fn pipeline<T: FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, RedisError> {
        self.check_skip()?;
        let mut conn = self.connection().await?;
        let answer = self.bounded(pipe.query_async::<T>(&mut conn)).await;
        self.note(answer)
    }

    /// Hands out a block of `size` counter values past `floor`; returns
    /// the block's end (exclusive).
    pub async fn counter_block(&self, size: u64, floor: u64) -> Result<u64, RedisError> {
        self.check_skip()?;
        let mut conn = self.connection().await?;
        let mut invocation = self.counter.key(self.key("code_counter"));
        invocation.arg(size).arg(floor);
        let answer = self
            .bounded(invocation.invoke_async::<u64>(&mut conn))
            .await;
        self.note(answer)
    }

    /// Runs a Lua script on one key (EVALSHA, loading it when Redis does
    /// not know it yet), within the timeout.
    pub async fn run_script<T: FromRedisValue>(
        &self,
        script: &redis::Script,
        key: &str,
        args: &[u64],
    ) -> Result<T, RedisError> {
        self.check_skip()?;
        let mut conn = self.connection().await?;
        let mut invocation = script.key(key);
        for arg in args {
            invocation.arg(*arg);
        }
        let answer = self.bounded(invocation.invoke_async::<T>(&mut conn)).await;
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

    fn check_skip(&self) -> Result<(), RedisError> {
        let now = self.started.elapsed().as_millis() as u64;
        if now < self.skip_until.load(Ordering::Relaxed) {
            return Err(RedisError::Skipped);
        }
        Ok(())
    }

    /// This runtime's connection. Single-threaded runtimes (the HTTP
    /// threads) keep one per thread; the multi-threaded main runtime,
    /// whose tasks move between threads, shares one.
    async fn connection(&self) -> Result<ConnectionManager, RedisError> {
        let multi_thread = tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread;
        let id = self.id;
        let existing = if multi_thread {
            self.main_connection.read().clone()
        } else {
            CONNECTIONS.with(|c| c.borrow().get(&id).cloned())
        };
        if let Some(conn) = existing {
            return Ok(conn);
        }
        // One task per runtime connects; the others go without Redis
        // meanwhile rather than each making an attempt of its own.
        let _connecting = if multi_thread {
            if self.main_connecting.swap(true, Ordering::AcqRel) {
                return Err(RedisError::Skipped);
            }
            ConnectingGuard::Main(&self.main_connecting)
        } else {
            if !CONNECTING.with(|c| c.borrow_mut().insert(id)) {
                return Err(RedisError::Skipped);
            }
            ConnectingGuard::Thread(id)
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1);
        let connect = self.client.get_connection_manager_with_config(config);
        let conn = self.note(self.bounded(connect).await)?;
        if multi_thread {
            *self.main_connection.write() = Some(conn.clone());
        } else {
            CONNECTIONS.with(|c| c.borrow_mut().insert(id, conn.clone()));
        }
        Ok(conn)
    }

    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RedisError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(answer) => Ok(answer?),
            Err(_) => Err(RedisError::Timeout),
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

/// Clears the "connecting" mark however the attempt ends (including the
/// caller being cancelled). A single-threaded runtime's task never moves
/// threads, so its thread-local mark is cleared on the thread that set it.
enum ConnectingGuard<'a> {
    Main(&'a AtomicBool),
    Thread(usize),
}

impl Drop for ConnectingGuard<'_> {
    fn drop(&mut self) {
        match self {
            ConnectingGuard::Main(flag) => flag.store(false, Ordering::Release),
            ConnectingGuard::Thread(id) => {
                CONNECTING.with(|c| c.borrow_mut().remove(id));
            }
        }
    }
}
