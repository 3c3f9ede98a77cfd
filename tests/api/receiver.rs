//! A loopback HTTP server that records every request, standing in for an
//! OTLP collector (`POST /v1/traces`) or a Sentry (`POST
//! /api/1/envelope/`). Also used by `tests/panic_report.rs`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use axum::Router;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub body: Vec<u8>,
}

/// The requests received so far; the server lives as long as the test.
#[derive(Clone, Default)]
pub struct Receiver {
    requests: Arc<Mutex<Vec<Recorded>>>,
}

#[allow(dead_code)]
impl Receiver {
    /// Serves on 127.0.0.1:<free port> from a thread of its own (so it
    /// answers while the test blocks), answering 200 to everything.
    pub fn start() -> (Receiver, SocketAddr) {
        let receiver = Receiver::default();
        let requests = Arc::clone(&receiver.requests);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("receiver runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind the receiver");
                tx.send(listener.local_addr().expect("receiver address"))
                    .expect("report the address");
                let app = Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
                    let requests = Arc::clone(&requests);
                    async move {
                        requests.lock().unwrap().push(Recorded {
                            method,
                            path: uri.path().to_owned(),
                            body: body.to_vec(),
                        });
                        // OTLP/HTTP success: 200 with an empty protobuf body.
                        let content_type = [("content-type", "application/x-protobuf")];
                        (StatusCode::OK, content_type, Vec::<u8>::new())
                    }
                });
                axum::serve(listener, app).await.expect("receiver serves");
            });
        });
        (receiver, rx.recv().expect("receiver started"))
    }

    /// The requests to `path` received so far.
    pub fn posts_to(&self, path: &str) -> Vec<Recorded> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .filter(|r| r.method == Method::POST && r.path == path)
            .cloned()
            .collect()
    }

    /// Polls until `accept` holds for the requests to `path` and returns
    /// them; fails after `limit`.
    pub fn wait_for(
        &self,
        path: &str,
        limit: Duration,
        accept: impl Fn(&[Recorded]) -> bool,
    ) -> Vec<Recorded> {
        let started = Instant::now();
        loop {
            let posts = self.posts_to(path);
            if accept(&posts) {
                return posts;
            }
            assert!(
                started.elapsed() < limit,
                "{} requests to {path} after {limit:?}, not what was expected: {:?}",
                posts.len(),
                posts
                    .iter()
                    .map(|r| String::from_utf8_lossy(&r.body))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The Sentry events in the envelopes received so far: every line of
    /// an envelope that is a JSON object with an `event_id` and a
    /// `timestamp` (the header and item-header lines have no timestamp).
    pub fn sentry_events(&self) -> Vec<serde_json::Value> {
        let envelopes = self.posts_to(ENVELOPE_PATH);
        let lines = envelopes.iter().flat_map(|r| r.body.split(|&b| b == b'\n'));
        let items = lines.filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok());
        items
            .filter(|item| item.get("event_id").is_some() && item.get("timestamp").is_some())
            .collect()
    }
}

/// What a Sentry event says (its message and exception values, not its
/// breadcrumbs), to match a report to its cause.
pub fn headline(event: &serde_json::Value) -> String {
    let exceptions = event["exception"]["values"]
        .as_array()
        .into_iter()
        .flatten();
    let values = exceptions.filter_map(|e| e["value"].as_str());
    let message = event["message"].as_str().into_iter();
    message.chain(values).collect::<Vec<_>>().join(" | ")
}

/// An event's level; `error`, the default, is left out on the wire.
pub fn level(event: &serde_json::Value) -> &str {
    event["level"].as_str().unwrap_or("error")
}

/// Where a Sentry client with the DSN `http://public@HOST/1` posts.
pub const ENVELOPE_PATH: &str = "/api/1/envelope/";

/// A DSN for project 1 on the receiver at `addr`.
pub fn dsn(addr: SocketAddr) -> String {
    format!("http://public@{addr}/1")
}
