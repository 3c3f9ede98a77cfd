//! Cross-instance invalidation: every instance subscribes to one Redis
//! channel, and a write on any instance publishes the code it changed.
//!
//! Every instance also publishes a heartbeat on the channel several times a
//! second. A subscription that hears nothing at all for [`SILENCE_LIMIT`]
//! is treated as lost, so a Redis that hangs (or a network that silently
//! drops packets) is noticed as quickly as one that closes the connection.
//!
//! While the subscription is down, messages can be missed, so the local
//! cache is told it is degraded: it is emptied and keeps entries for one
//! second only, which still bounds staleness across instances to a
//! second. Once subscribed again, the cache is emptied once more (for
//! what was missed) and goes back to normal lifetimes.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;

use super::{SharedRedis, EVERYTHING, RETRY_AFTER};
use crate::shutdown::stopped;

/// How often each instance publishes a heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(200);

/// Silence after which the subscription is considered lost.
pub const SILENCE_LIMIT: Duration = Duration::from_millis(700);

/// The heartbeat message (never a valid code).
const HEARTBEAT: &str = ".";

/// The local cache that invalidations reach. The link cache implements
/// it; keeping it a trait leaves this module below the link service.
pub trait LocalCache: Send + Sync + 'static {
    /// Forgets `code`, which another instance (or this one) just changed.
    fn invalidate(&self, code: &str);
    /// Forgets everything, for when writes elsewhere may have been missed.
    fn invalidate_all(&self);
    /// Switches to (or back from) short entry lifetimes, for while
    /// invalidations cannot arrive.
    fn set_degraded(&self, degraded: bool);
}

/// Keeps this instance subscribed, and publishing heartbeats, until `stop`
/// turns true.
pub fn spawn_subscriber(
    redis: Arc<SharedRedis>,
    cache: Arc<dyn LocalCache>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::select! {
            _ = subscribe_forever(&redis, cache.as_ref()) => {}
            _ = heartbeat_forever(&redis) => {}
            _ = stopped(&mut stop) => {}
        }
    })
}

async fn subscribe_forever(redis: &SharedRedis, cache: &dyn LocalCache) {
    let channel = redis.key("invalidate");
    let mut logged_down = false;
    loop {
        let connect = async {
            let mut pubsub = redis.client().get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(redis.timeout.max(Duration::from_secs(1)), connect).await {
            Ok(Ok(mut pubsub)) => {
                if logged_down {
                    tracing::info!("redis invalidation channel subscribed again");
                }
                cache.set_degraded(false);
                let mut messages = pubsub.on_message();
                loop {
                    let message = match tokio::time::timeout(SILENCE_LIMIT, messages.next()).await {
                        Ok(Some(message)) => message,
                        Ok(None) => {
                            tracing::warn!(
                                "redis invalidation channel lost; local cache entries now live 1 s"
                            );
                            break;
                        }
                        Err(_) => {
                            tracing::warn!("redis invalidation channel silent; local cache entries now live 1 s");
                            break;
                        }
                    };
                    match message.get_payload::<String>() {
                        Ok(code) if code == HEARTBEAT => {}
                        Ok(code) if code == EVERYTHING => cache.invalidate_all(),
                        Ok(code) => cache.invalidate(&code),
                        Err(_) => {}
                    }
                }
                logged_down = true;
            }
            Ok(Err(e)) if !logged_down => {
                tracing::warn!(error = %e, "redis invalidation channel unavailable; local cache entries now live 1 s");
                logged_down = true;
            }
            Err(_) if !logged_down => {
                tracing::warn!(
                    "redis invalidation channel timed out; local cache entries now live 1 s"
                );
                logged_down = true;
            }
            _ => {}
        }
        cache.set_degraded(true);
        tokio::time::sleep(RETRY_AFTER / 2).await;
    }
}

impl SharedRedis {
    /// Tells every instance (this one too) about `message` on the
    /// invalidation channel. When Redis does not take it now, returns
    /// `false` and keeps retrying for up to [`PUBLISH_RETRY_FOR`] in the
    /// background (which a short-lived process may not live to finish).
    pub async fn publish_invalidation(self: &Arc<Self>, message: String) -> bool {
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(self.key("invalidate")).arg(&message);
        if self.query_now::<()>(&publish).await.is_ok() {
            return true;
        }
        let redis = Arc::clone(self);
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + PUBLISH_RETRY_FOR;
            while redis.query_now::<()>(&publish).await.is_err() {
                if tokio::time::Instant::now() >= deadline {
                    tracing::warn!(%message, "could not announce an invalidation on redis");
                    return;
                }
                tokio::time::sleep(HEARTBEAT_EVERY).await;
            }
        });
        false
    }
}

/// How long an invalidation that Redis refused is retried. Past it, every
/// subscriber has noticed the outage (see [`SILENCE_LIMIT`]) and gone to
/// short cache lifetimes anyway.
pub const PUBLISH_RETRY_FOR: Duration = Duration::from_secs(30);

async fn heartbeat_forever(redis: &SharedRedis) {
    let mut publish = redis::cmd("PUBLISH");
    publish.arg(redis.key("invalidate")).arg(HEARTBEAT);
    loop {
        tokio::time::sleep(HEARTBEAT_EVERY).await;
        let _ = redis.query_now::<()>(&publish).await;
    }
}
