//! Slow and idle clients cannot hold connections: a request head must
//! arrive within `header_read_timeout_ms` (also for a client that connects
//! and says nothing), an idle keep-alive connection is closed after
//! `keep_alive_timeout_ms`, a request (body included) gets 408 after
//! `request_timeout_ms`, and past `max_connections` new connections wait.
//! Meanwhile a normal client on the same instance keeps being answered.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app_with, TestApp};

const HEAD: Duration = Duration::from_millis(600);
const KEEP_ALIVE: Duration = Duration::from_millis(1500);
const REQUEST: Duration = Duration::from_millis(1200);
/// How late a close may come: a quarter of the shorter bound (two of the
/// sweeper's ticks), plus scheduling on a busy test machine. A close never
/// comes early, so the lower bounds below leave only the clock's grain.
const SLACK: Duration = Duration::from_millis(1500);

async fn bounded_app() -> TestApp {
    spawn_app_with(|c| {
        c.header_read_timeout_ms = Some(HEAD.as_millis() as u64);
        c.keep_alive_timeout_ms = Some(KEEP_ALIVE.as_millis() as u64);
        c.request_timeout_ms = Some(REQUEST.as_millis() as u64);
    })
    .await
}

fn port_of(address: &str) -> u16 {
    address.rsplit(':').next().unwrap().parse().unwrap()
}

async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect")
}

/// Reads until the server closes the connection; returns what it sent and
/// how long after `since` the close came (`None` past `limit`).
async fn read_until_closed(
    stream: &mut TcpStream,
    since: Instant,
    limit: Duration,
) -> (String, Option<Duration>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(since.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&got).into_owned(),
                    Some(since.elapsed()),
                )
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
        }
    }
}

/// One complete `GET /healthz` on `stream`, leaving the connection open.
async fn healthz_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("\"ok\"}") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A normal client's requests, each on a new connection, while `work` runs.
async fn served_meanwhile<F: std::future::Future>(app: &TestApp, work: F) -> F::Output {
    let normal = async {
        let mut answered = 0;
        for _ in 0..10 {
            let status = app
                .anon(reqwest::Method::GET, "/healthz")
                .send()
                .await
                .unwrap();
            assert_eq!(status.status(), StatusCode::OK);
            answered += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        answered
    };
    let (out, answered) = tokio::join!(work, normal);
    assert_eq!(answered, 10);
    out
}

#[tokio::test]
async fn partial_heads_and_silent_connections_are_closed_after_the_head_timeout() {
    let app = bounded_app().await;
    let port = port_of(&app.address);
    let started = Instant::now();
    let mut streams = Vec::new();
    for i in 0..20 {
        let mut stream = connect(port).await;
        if i % 2 == 0 {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        streams.push(stream);
    }
    let closes = served_meanwhile(&app, async {
        let mut closes = Vec::new();
        for stream in &mut streams {
            closes.push(read_until_closed(stream, started, HEAD + SLACK).await);
        }
        closes
    })
    .await;
    for (i, (sent, closed)) in closes.into_iter().enumerate() {
        let closed = closed.unwrap_or_else(|| panic!("connection {i} still open"));
        assert!(
            closed >= HEAD - Duration::from_millis(50),
            "{i} closed early: {closed:?}"
        );
        assert!(sent.is_empty(), "{i} was answered: {sent}");
    }
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_but_used_ones_stay() {
    let app = bounded_app().await;
    let mut stream = connect(port_of(&app.address)).await;
    assert!(healthz_on(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Idle for less than the bound: the connection still serves.
    tokio::time::sleep(KEEP_ALIVE / 2).await;
    assert!(healthz_on(&mut stream).await.starts_with("HTTP/1.1 200"));
    let answered = Instant::now();
    let (_, closed) = read_until_closed(&mut stream, answered, KEEP_ALIVE + SLACK).await;
    let closed = closed.expect("the idle connection was never closed");
    assert!(
        closed >= KEEP_ALIVE - Duration::from_millis(50),
        "{closed:?}"
    );
}

#[tokio::test]
async fn a_trickled_body_gets_408_and_the_connection_closes() {
    let app = bounded_app().await;
    let mut stream = connect(port_of(&app.address)).await;
    stream
        .write_all(
            b"POST /api/v1/links HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 200\r\n\r\n{",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let (reader, mut writer) = stream.split();
    let trickle = async move {
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let mut reader = reader;
    let read = async {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(REQUEST + SLACK, reader.read_to_end(&mut got)).await;
        (
            String::from_utf8_lossy(&got).into_owned(),
            started.elapsed(),
        )
    };
    let ((answer, took), ()) = served_meanwhile(&app, async { tokio::join!(read, trickle) }).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(took >= REQUEST - Duration::from_millis(50), "{took:?}");
    assert!(took < REQUEST + SLACK, "{took:?}");
}

#[tokio::test]
async fn past_max_connections_new_ones_wait_for_a_free_slot() {
    let app = spawn_app_with(|c| c.max_connections = Some(3)).await;
    let port = port_of(&app.address);
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(port).await;
        assert!(healthz_on(&mut stream).await.starts_with("HTTP/1.1 200"));
        open.push(stream);
    }
    let mut waiting = connect(port).await;
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let early = tokio::time::timeout(Duration::from_millis(700), waiting.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the fourth connection was served: {early:?}"
    );
    drop(open.pop());
    let n = tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut buf))
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn the_metrics_listener_closes_slow_heads_too() {
    let app = spawn_app_with(|c| {
        c.header_read_timeout_ms = Some(HEAD.as_millis() as u64);
        c.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await;
    let mut stream = connect(app.metrics_port.expect("metrics port")).await;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (sent, closed) = read_until_closed(&mut stream, started, HEAD + SLACK).await;
    assert!(closed.is_some(), "still open");
    assert!(sent.is_empty(), "{sent}");
}
