//! The nginx worker model: one single-threaded runtime per core, each with
//! its own `SO_REUSEPORT` listener on the same address. The kernel spreads
//! connections evenly over the listeners and each connection stays on one
//! thread, so the redirect path has no work stealing and no cross-thread
//! wake-ups. The redirect benchmark measured this against tokio's
//! work-stealing runtime (see BENCHMARKS.md).
//!
//! Each thread runs its own accept loop and serves HTTP/1 with hyper, as
//! `axum::serve` does, but gives each connection its own service (see
//! [`MakeConnectionService`]). Every connection is bounded in time
//! ([`idle`]) and the open connections of an instance in number
//! (`max_connections`: past it, new ones wait in the kernel's backlog).

pub mod idle;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tower::Service;

use crate::config::Config;
use crate::shutdown::stopped;
use crate::telemetry::request_line;
use idle::{Activity, Registry, Timeouts, Watched};

/// What bounds the connections of one listener.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    pub timeouts: Timeouts,
    /// Connections served at once; the next one is accepted when one closes.
    pub permits: Arc<Semaphore>,
}

impl ConnectionLimits {
    /// `header_read_timeout_ms`, `keep_alive_timeout_ms` and
    /// `max_connections` from `config`.
    pub fn from_config(config: &Config) -> ConnectionLimits {
        ConnectionLimits::new(config, config.max_connections)
    }

    /// The same timeouts with `max_connections` of its own (the metrics
    /// listener's, so a full main listener cannot stop scrapes).
    pub fn new(config: &Config, max_connections: usize) -> ConnectionLimits {
        ConnectionLimits {
            timeouts: Timeouts {
                header_read: config.header_read_timeout,
                keep_alive: config.keep_alive_timeout,
            },
            permits: Arc::new(Semaphore::new(max_connections)),
        }
    }
}

/// The service hyper calls for one connection's requests.
pub trait MakeConnectionService: Clone + Send + 'static {
    /// The per-connection service.
    type Service: hyper::service::Service<
            hyper::Request<Incoming>,
            Response = Response,
            Error = Infallible,
            Future: Send,
        > + Send
        + 'static;

    /// The service for a connection from `peer`; it must hold a request
    /// open in `activity` ([`Activity::begin_request`]) while answering.
    fn for_connection(&self, peer: SocketAddr, activity: Arc<Activity>) -> Self::Service;
}

/// Any axum router, for listeners without a fast path (`metrics_listen`).
impl MakeConnectionService for axum::Router {
    type Service = RouterConnection;

    fn for_connection(&self, peer: SocketAddr, activity: Arc<Activity>) -> RouterConnection {
        RouterConnection {
            router: self.clone(),
            peer,
            activity,
        }
    }
}

/// [`axum::Router`] serving one connection.
pub struct RouterConnection {
    router: axum::Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

/// A routed request's response, boxed so the request can be tracked.
pub type Routed = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl RouterConnection {
    /// Routes `req` through `router`, holding the request open in `activity`.
    pub fn route(
        router: &axum::Router,
        peer: SocketAddr,
        activity: &Arc<Activity>,
        req: hyper::Request<Incoming>,
    ) -> Routed {
        let request = activity.begin_request();
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        let answer = router.clone().call(req);
        Box::pin(async move {
            let answer = answer.await;
            drop(request);
            answer
        })
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for RouterConnection {
    type Response = Response;
    type Error = Infallible;
    type Future = Routed;

    fn call(&self, req: hyper::Request<Incoming>) -> Routed {
        RouterConnection::route(&self.router, self.peer, &self.activity, req)
    }
}

/// Threads serving HTTP: `TOKIO_WORKER_THREADS`, else one per core.
pub fn http_threads() -> usize {
    std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// Binds one listener per HTTP thread on `addr`; with port 0 they share
/// one free port.
///
/// `SO_REUSEPORT` would also let a second shorty bind the same port and
/// silently take half the connections, so the address is first bound
/// exclusively: if anything listens there already, this fails with "address
/// in use" as a plain bind would.
pub async fn bind_per_core(addr: &str) -> anyhow::Result<Vec<std::net::TcpListener>> {
    let wanted = tokio::net::lookup_host(addr)
        .await?
        .next()
        .context("the address resolves to nothing")?;
    let probe = bind_one(wanted, false)?;
    let actual = probe.local_addr()?;
    drop(probe);
    (0..http_threads())
        .map(|_| bind_one(actual, true).map_err(anyhow::Error::from))
        .collect()
}

fn bind_one(addr: SocketAddr, shared: bool) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(all(unix, not(target_os = "solaris"), not(target_os = "illumos")))]
    socket.set_reuse_port(shared)?;
    #[cfg(not(all(unix, not(target_os = "solaris"), not(target_os = "illumos"))))]
    let _ = shared;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Serves `app` on every listener, each from its own thread and runtime,
/// until `stop` turns true and their connections have drained, or until
/// `abort` turns true, which drops the connections still open.
pub async fn serve_per_core<M: MakeConnectionService>(
    listeners: Vec<std::net::TcpListener>,
    app: M,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
    abort: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut finished = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let (app, limits) = (app.clone(), limits.clone());
        let (stop, abort) = (stop.clone(), abort.clone());
        let (done, finished_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("shorty-http-{i}"))
            .spawn(move || {
                let served = (|| -> anyhow::Result<()> {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    runtime.block_on(async move {
                        // Request log lines are batched per thread; this
                        // hands them over even when traffic stops.
                        tokio::spawn(async {
                            let mut tick = tokio::time::interval(request_line::BATCH_AGE);
                            loop {
                                tick.tick().await;
                                request_line::flush_thread();
                            }
                        });
                        let listener = TcpListener::from_std(listener)?;
                        serve(listener, app, limits, stop, abort).await;
                        Ok(())
                    })
                    // Dropping the runtime here drops every connection
                    // task still on it, so nothing on this thread serves
                    // (or counts a click) after it returns.
                })();
                request_line::flush_thread();
                let _ = done.send(served);
            })?;
        finished.push(finished_rx);
    }
    for thread in finished {
        thread
            .await
            .map_err(|_| anyhow::anyhow!("an HTTP thread died"))??;
    }
    Ok(())
}

/// Accepts and serves connections on this runtime until `stop`, then
/// stops accepting, lets in-flight requests finish and closes idle
/// connections; `abort` cuts that short.
pub async fn serve<M: MakeConnectionService>(
    listener: TcpListener,
    app: M,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
    mut abort: watch::Receiver<bool>,
) {
    let http = hyper::server::conn::http1::Builder::new();
    let connections = GracefulShutdown::new();
    let registry = Registry::start(limits.timeouts);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        // Permits are held by connections only, never by a thread waiting
        // in accept, so all `max_connections` serve whichever thread the
        // kernel hands them to. The one connection accepted past the cap
        // waits here, unserved, and this thread accepts no more until a
        // connection anywhere closes.
        let permit = tokio::select! {
            permit = Arc::clone(&limits.permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let activity = registry.track();
        let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity)));
        let service = app.for_connection(peer, Arc::clone(&activity));
        let connection = connections.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                served = connection => if let Err(e) = served {
                    tracing::trace!("connection from {peer} ended: {e}");
                },
                () = activity.expired() => {
                    tracing::debug!("closed a connection from {peer} that was idle or slow too long");
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = connections.shutdown() => {}
        () = stopped(&mut abort) => {}
    }
}
/// A failed accept: a connection that went away before it was accepted is
/// skipped; anything else (out of file descriptors) is logged and retried
/// after a pause, as `axum::serve` does.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept failed: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
