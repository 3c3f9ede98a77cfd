//! The nginx worker model: one single-threaded runtime per core, each with
//! its own `SO_REUSEPORT` listener on the same address. The kernel spreads
//! connections evenly over the listeners and each connection stays on one
//! thread, so the redirect path has no work stealing and no cross-thread
//! wake-ups. The redirect benchmark measured this against tokio's
//! work-stealing runtime (see BENCHMARKS.md).
//!
//! Each thread runs its own accept loop and serves HTTP/1 with hyper, as
//! `axum::serve` does, but gives each connection its own service (see
//! `crate::api::fast_redirect`).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::api::fast_redirect::FastRedirect;
use crate::shutdown::stopped;
use crate::telemetry::request_line;

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
/// until `stop` turns true and their connections have drained.
pub async fn serve_per_core(
    listeners: Vec<std::net::TcpListener>,
    app: FastRedirect,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut finished = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let app = app.clone();
        let stop = stop.clone();
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
                        serve(listener, app, stop).await;
                        Ok(())
                    })
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

/// Accepts and serves connections on this thread until `stop`, then stops
/// accepting, lets in-flight requests finish and closes idle connections.
async fn serve(listener: TcpListener, app: FastRedirect, mut stop: watch::Receiver<bool>) {
    let http = hyper::server::conn::http1::Builder::new();
    let connections = GracefulShutdown::new();
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
        let connection = http.serve_connection(TokioIo::new(stream), app.for_connection(peer));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::trace!("connection from {peer} ended: {e}");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
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
