//! Building and running the server: `Application::build` binds the
//! listener and starts the background work, `run_until_stopped` serves until
//! the shutdown future resolves, then drains requests and flushes clicks.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::analytics::classify::Classifier;
use crate::analytics::Analytics;
use crate::api::{self, AppState};
use crate::client_ip::TrustedProxies;
use crate::config::Config;
use crate::domain::SecretDigest;
use crate::links::cache::LinkCache;
use crate::links::LinkService;
use crate::listen::{self, ConnectionLimits};
use crate::ratelimit::RateLimits;
use crate::redis_shared;
use crate::shutdown::stopped;
use crate::store;
use crate::store::timed::TimedStore;
use crate::telemetry::metrics::Metrics;
use crate::users::key_cache::KeyCache;
use crate::users::UserService;

/// How often buffered clicks are written: the spec's "at least once a
/// second". Each flush under traffic spread over many links rewrites most
/// pages of the click table, so flushing more often costs redirect
/// throughput (every 500 ms: about 15% of cache-hit req/s, BENCHMARKS.md).
pub const CLICK_FLUSH_EVERY: Duration = Duration::from_millis(1000);
/// How often expired links are purged.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);
/// How long the final click flush may keep retrying at shutdown.
pub const FINAL_FLUSH_LIMIT: Duration = Duration::from_secs(1);
/// How long in-flight requests get to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(8);

/// Connections the separate metrics listener serves at once.
pub const METRICS_MAX_CONNECTIONS: usize = 64;

/// How often histogram samples are folded into buckets when nobody scrapes.
pub const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// A bound, ready-to-run server.
pub struct Application {
    listeners: Vec<std::net::TcpListener>,
    /// Bounds on the main listener's connections, and on the metrics
    /// listener's (the same timeouts, a cap of its own).
    limits: ConnectionLimits,
    metrics_limits: ConnectionLimits,
    metrics_listener: Option<tokio::net::TcpListener>,
    state: Arc<AppState>,
}

impl Application {
    /// Opens and migrates the store and binds the listener (port 0 picks a
    /// free port, which tests use).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let proxies = TrustedProxies::parse(&config.trusted_proxies).map_err(anyhow::Error::msg)?;
        let metrics = config.metrics.then(|| Arc::new(Metrics::new()));
        let mut store = store::connect(&config.database_url, &config.store_options())
            .await
            .context("opening the store")?;
        store.migrate().await.context("migrating the store")?;
        if let Some(metrics) = &metrics {
            store = TimedStore::wrap(store, Arc::clone(metrics));
        }
        let analytics =
            Arc::new(Analytics::new(&config, Arc::clone(&store)).map_err(anyhow::Error::msg)?);
        // The user-agent matchers take a moment to compile; not on the
        // first request that needs them.
        tokio::task::spawn_blocking(Classifier::warm_up);
        let links = LinkService::start(&config, store, analytics.deriver())
            .await
            .map_err(anyhow::Error::msg)?;
        let listeners = listen::bind_per_core(&config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let metrics_listener = match (&config.metrics_listen, config.metrics) {
            (Some(addr), true) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding metrics_listen {addr}"))?,
            ),
            _ => None,
        };
        let users = UserService::new(Arc::clone(links.store()), links.redis().cloned());
        let state = Arc::new(AppState {
            limits: RateLimits::new(&config, links.redis().cloned()),
            users,
            links,
            analytics,
            admin_token: config.admin_token.as_deref().map(SecretDigest::of),
            request_timeout: config.request_timeout,
            allow_anonymous: config.allow_anonymous,
            metrics_on_main: metrics.is_some() && metrics_listener.is_none(),
            metrics,
            proxies,
            secure_cookies: config.base_url.scheme() == "https",
        });
        Ok(Application {
            limits: ConnectionLimits::from_config(&config),
            metrics_limits: ConnectionLimits::new(&config, METRICS_MAX_CONNECTIONS),
            listeners,
            metrics_listener,
            state,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map_or(0, |a| a.port())
    }

    /// The port of the separate metrics listener, when `metrics_listen` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// Shared state, for tests and embedding.
    pub fn state(&self) -> Arc<AppState> {
        Arc::clone(&self.state)
    }

    /// Serves until `shutdown` resolves; then stops accepting, gives
    /// in-flight requests up to [`DRAIN_TIMEOUT`], and flushes clicks.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let workers = spawn_background(Arc::clone(&self.state), stop_rx.clone());
        let app = api::service(Arc::clone(&self.state), crate::web::routes());
        let addr = self.listeners[0].local_addr()?;
        tracing::info!(%addr, threads = self.listeners.len(), "shorty listening");
        let signal = async move {
            shutdown.await;
            tracing::info!("shutdown requested; draining in-flight requests");
            let _ = stop_tx.send(true);
        };
        tokio::spawn(signal);
        let (abort_tx, abort_rx) = watch::channel(false);
        if let Some(listener) = self.metrics_listener {
            let app = api::prometheus::metrics_only(Arc::clone(&self.state));
            tokio::spawn(listen::serve(
                listener,
                app,
                self.metrics_limits,
                stop_rx.clone(),
                abort_rx.clone(),
            ));
        }
        let server =
            listen::serve_per_core(self.listeners, app, self.limits, stop_rx.clone(), abort_rx);
        tokio::pin!(server);
        let mut deadline_rx = stop_rx;
        let deadline = async move {
            stopped(&mut deadline_rx).await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        };
        tokio::select! {
            served = &mut server => served.context("serving HTTP")?,
            _ = deadline => {
                tracing::warn!("drain timeout; dropping remaining connections");
                let _ = abort_tx.send(true);
                // The HTTP threads stop serving before the final flush, so
                // no click can be counted after it.
                server.await.context("serving HTTP")?;
            }
        }
        for worker in workers {
            let _ = worker.await;
        }
        final_flush(&self.state).await;
        self.state.links.store().close().await;
        tracing::info!("shorty stopped");
        Ok(())
    }
}

/// Writes the clicks still buffered at shutdown, retrying for up to
/// [`FINAL_FLUSH_LIMIT`]: pooled PostgreSQL connections opened by the HTTP
/// threads' runtimes, which have just stopped, fail once each and are
/// replaced by connections on this runtime.
async fn final_flush(state: &AppState) {
    let deadline = tokio::time::Instant::now() + FINAL_FLUSH_LIMIT;
    loop {
        match state.links.flush_clicks().await {
            Ok(n) => {
                tracing::info!(clicks = n, "final click flush done");
                return;
            }
            Err(e) if tokio::time::Instant::now() >= deadline => {
                let pending = state.links.pending_clicks();
                tracing::error!(error = %e, pending, "final click flush failed; these clicks are lost");
                return;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

fn spawn_background(state: Arc<AppState>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let flush_state = Arc::clone(&state);
    // Failures are logged when they start and when they end, not every
    // second in between; the clicks stay buffered meanwhile.
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flusher = every(CLICK_FLUSH_EVERY, stop.clone(), move || {
        let (state, failing) = (Arc::clone(&flush_state), Arc::clone(&failing));
        async move {
            let flushed = state.links.flush_due_clicks().await;
            let was_failing = failing.swap(flushed.is_err(), Ordering::Relaxed);
            match flushed {
                Err(e) if !was_failing => {
                    let pending = state.links.pending_clicks();
                    tracing::warn!(error = %e, pending, "click flush failed; clicks stay buffered, retrying every second");
                }
                Ok(n) if was_failing => tracing::info!(clicks = n, "click flush works again"),
                _ => {}
            }
        }
    });
    let subscriber = state.links.redis().map(|redis| {
        let cache: Arc<dyn redis_shared::LocalCache> = Arc::new(Caches {
            links: Arc::clone(state.links.cache()),
            keys: Arc::clone(state.users.key_cache()),
        });
        redis_shared::spawn_subscriber(Arc::clone(redis), cache, stop.clone())
    });
    let announcer = state.links.redis().map(|redis| {
        let redis = Arc::clone(redis);
        every(CLICK_FLUSH_EVERY, stop.clone(), move || {
            let redis = Arc::clone(&redis);
            async move { redis.retry_unannounced().await }
        })
    });
    let upkeep_state = Arc::clone(&state);
    let upkeep = every(METRICS_UPKEEP_EVERY, stop.clone(), move || {
        let state = Arc::clone(&upkeep_state);
        async move {
            if let Some(metrics) = &state.metrics {
                metrics.upkeep();
            }
        }
    });
    let purger = every(PURGE_EVERY, stop, move || {
        let state = Arc::clone(&state);
        async move {
            match state.links.purge_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged expired links"),
                Err(e) => tracing::warn!(error = %e, "purging expired links failed"),
            }
            match state.users.purge_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "purged expired web sessions"),
                Err(e) => tracing::warn!(error = %e, "purging expired web sessions failed"),
            }
            match state.analytics.purge_old().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "purged click stats past stats_retention_days"),
                Err(e) => tracing::warn!(error = %e, "purging old click stats failed"),
            }
        }
    });
    let mut workers = vec![flusher, purger, upkeep];
    workers.extend(subscriber);
    workers.extend(announcer);
    workers
}

/// Runs `job` every `period` until `stop` turns true.
fn every<F, Fut>(period: Duration, mut stop: watch::Receiver<bool>, job: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => job().await,
                _ = stopped(&mut stop) => return,
            }
        }
    })
}

/// The caches that cross-instance invalidations reach: the link cache, and
/// the key cache for messages about keys.
struct Caches {
    links: Arc<LinkCache>,
    keys: Arc<KeyCache>,
}

impl redis_shared::LocalCache for Caches {
    fn invalidate(&self, message: &str) {
        if !self.keys.on_message(message) {
            self.links.invalidate(message);
        }
    }

    fn invalidate_all(&self) {
        self.links.invalidate_all();
        self.keys.invalidate_all();
    }

    fn set_degraded(&self, degraded: bool) {
        self.links.set_degraded(degraded);
        self.keys.set_degraded(degraded);
    }
}
