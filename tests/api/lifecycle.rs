//! Process lifecycle of the real binary: an acknowledged create (201)
//! survives `kill -9`, and SIGTERM stops accepting connections, finishes
//! in-flight requests, flushes buffered clicks and exits 0 within 10 s.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::backend::TestDb;
use crate::binary::{cli, client, CliOutput, ShortyProcess};

/// How long after SIGTERM the process must be gone.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// `shorty ARGS…` against `db_url`.
fn shorty(db_url: &str, args: &[&str]) -> CliOutput {
    cli(&["--database-url", db_url, "--log-format", "json"])
        .args(args)
        .run()
}

/// `shorty get CODE`: the link object.
fn get_link(db_url: &str, code: &str) -> Value {
    let output = shorty(db_url, &["get", code]);
    output.assert_code(0);
    serde_json::from_str(&output.stdout).expect("link json")
}

/// Creates a link over HTTP; returns its code.
async fn create(client: &reqwest::Client, server: &ShortyProcess, url: &str) -> String {
    let response = client
        .post(format!("{}/api/v1/links", server.address()))
        .json(&json!({ "url": url }))
        .send()
        .await
        .expect("create request");
    assert_eq!(response.status(), StatusCode::CREATED);
    let link: Value = response.json().await.expect("link json");
    link["code"].as_str().expect("code").to_owned()
}

/// Opens a connection and sends a create request's headers and the first
/// half of its body: a request the server has started but cannot finish.
async fn half_sent_create(port: u16, url: &str) -> (TcpStream, String) {
    let body = json!({ "url": url }).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/links HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    stream.flush().await.expect("flush");
    (stream, rest.to_owned())
}

/// Asserts that nothing on `port` serves a new request any more.
async fn assert_not_serving(port: u16) {
    let connect = tokio::time::timeout(
        Duration::from_secs(2),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await;
    let mut stream = match connect {
        Ok(Err(_)) | Err(_) => return, // refused (or never accepted)
        Ok(Ok(stream)) => stream,
    };
    // Connected after all: a request on it must still fail.
    let request = "GET /_health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.starts_with("HTTP/1.1 2"),
        "a new connection was served after SIGTERM: {answer}"
    );
}

#[tokio::test]
async fn acknowledged_creates_survive_kill_9() {
    let db = TestDb::fresh();
    let db_url = db.url.clone();
    let mut server = ShortyProcess::start(
        &db_url,
        &["--create-rate", "100000", "--create-burst", "100000"],
    );
    let client = client();

    let mut creates = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = client.clone();
        let endpoint = format!("{}/api/v1/links", server.address());
        creates.spawn(async move {
            let url = format!("https://example.com/crash/{i}?n={i}");
            let response = client
                .post(endpoint)
                .json(&json!({ "url": url }))
                .send()
                .await
                .expect("create request");
            assert_eq!(response.status(), StatusCode::CREATED);
            let link: Value = response.json().await.expect("link json");
            (link["code"].as_str().expect("code").to_owned(), url)
        });
    }
    let acknowledged: BTreeMap<String, String> =
        tokio::time::timeout(Duration::from_secs(60), creates.join_all())
            .await
            .expect("200 creates within 60 s")
            .into_iter()
            .collect();
    assert_eq!(acknowledged.len(), 200, "codes must be unique");

    // All 201s are in: crash at once.
    server.kill();
    let status = server.try_wait().expect("killed process has exited");
    assert_eq!(status.signal(), Some(9), "not ended by SIGKILL: {status}");

    // Every acknowledged link is in the store, with its URL.
    let export = shorty(&db_url, &["export"]);
    export.assert_code(0);
    let stored: BTreeMap<String, String> = export
        .stdout
        .lines()
        .map(|line| {
            let link: Value = serde_json::from_str(line).expect("export line");
            let field = |f: &str| link[f].as_str().expect("field").to_owned();
            (field("code"), field("url"))
        })
        .collect();
    for (code, url) in &acknowledged {
        assert_eq!(stored.get(code), Some(url), "acknowledged {code} lost");
    }
    assert_eq!(stored.len(), acknowledged.len());

    // A restarted server on the same file serves them all, and new codes
    // do not collide with the ones handed out before the crash.
    let restarted = ShortyProcess::start(&db_url, &[]);
    for (code, url) in &acknowledged {
        let response = client
            .get(format!("{}/{code}", restarted.address()))
            .send()
            .await
            .expect("redirect");
        assert_eq!(response.status(), StatusCode::FOUND, "{code}");
        assert_eq!(response.headers()["location"], url.as_str());
    }
    let fresh = create(&client, &restarted, "https://example.com/after-crash").await;
    assert!(
        !acknowledged.contains_key(&fresh),
        "{fresh} handed out twice"
    );
}

/// Follows `code` `times` times, checking each answer is a redirect.
async fn click(client: &reqwest::Client, server: &ShortyProcess, code: &str, times: usize) {
    for _ in 0..times {
        let response = client
            .get(format!("{}/{code}", server.address()))
            .send()
            .await
            .expect("redirect");
        assert_eq!(response.status(), StatusCode::FOUND);
    }
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_flushes_clicks_and_exits_0() {
    let db = TestDb::fresh();
    let db_url = db.url.clone();
    let mut server = ShortyProcess::start(&db_url, &[]);
    let client = client();

    let code = create(&client, &server, "https://example.com/clicked").await;
    let in_flight_url = "https://example.com/in-flight";
    let (mut stream, rest) = half_sent_create(server.port, in_flight_url).await;
    // Let the server read the headers: the request is now in flight.
    tokio::time::sleep(Duration::from_millis(150)).await;
    click(&client, &server, &code, 3).await;
    // SIGTERM at once, while the clicks are (most likely) still only in
    // memory: the periodic flush runs once a second.
    server.signal("TERM");
    let signalled = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.try_wait().is_none(),
        "exited before the in-flight request finished"
    );
    assert_not_serving(server.port).await;

    // The in-flight request still completes.
    stream.write_all(rest.as_bytes()).await.expect("send rest");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
        .await
        .expect("in-flight response within 5 s")
        .expect("read response");
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "in-flight create not answered 201: {response}"
    );
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let link: Value = serde_json::from_str(body).expect("in-flight link json");
    let in_flight_code = link["code"].as_str().expect("code").to_owned();

    let status = server
        .wait_exit(STOP_WITHIN.saturating_sub(signalled.elapsed()))
        .expect("exited within 10 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "exit status {status}");

    // The buffered clicks were flushed and the in-flight link committed.
    assert_eq!(get_link(&db_url, &code)["clicks"], 3);
    assert_eq!(get_link(&db_url, &in_flight_code)["url"], in_flight_url);
}

#[tokio::test]
async fn sigterm_with_a_stalled_client_still_exits_0_within_10_s() {
    let db = TestDb::fresh();
    let db_url = db.url.clone();
    let mut server = ShortyProcess::start(&db_url, &[]);
    let client = client();
    let code = create(&client, &server, "https://example.com/stalled").await;
    // This client never sends the rest of its body.
    let (_stream, _rest) = half_sent_create(server.port, "https://example.com/never").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    click(&client, &server, &code, 2).await;
    server.signal("TERM");
    let signalled = Instant::now();
    let status = server
        .wait_exit(STOP_WITHIN)
        .expect("exited within 10 s of SIGTERM despite a stalled request");
    assert!(signalled.elapsed() <= STOP_WITHIN);
    assert_eq!(status.code(), Some(0), "exit status {status}");
    assert_eq!(get_link(&db_url, &code)["clicks"], 2, "clicks not flushed");
}

#[tokio::test]
async fn sigint_also_shuts_down_gracefully() {
    let db = TestDb::fresh();
    let db_url = db.url.clone();
    let mut server = ShortyProcess::start(&db_url, &[]);
    let client = client();
    let code = create(&client, &server, "https://example.com/ctrl-c").await;
    let response = client
        .get(format!("{}/{code}", server.address()))
        .send()
        .await
        .expect("redirect");
    assert_eq!(response.status(), StatusCode::FOUND);
    server.signal("INT");
    let status = server
        .wait_exit(STOP_WITHIN)
        .expect("exited within 10 s of SIGINT");
    assert_eq!(status.code(), Some(0), "exit status {status}");
    assert_eq!(get_link(&db_url, &code)["clicks"], 1, "click not flushed");
}

#[tokio::test]
async fn clicks_are_exact_across_a_graceful_stop_under_load() {
    let db = TestDb::fresh();
    let db_url = db.url.clone();
    let mut server = ShortyProcess::start(&db_url, &[]);
    let setup = client();
    let plain = create(&setup, &server, "https://example.com/load").await;
    let capped = setup
        .post(format!("{}/api/v1/links", server.address()))
        .json(&json!({ "url": "https://example.com/capped-load", "max_clicks": 100_000 }))
        .send()
        .await
        .unwrap();
    let capped: Value = capped.json().await.unwrap();
    let capped = capped["code"].as_str().unwrap().to_owned();
    // A stalled request keeps the drain going until its deadline, so the
    // stop ends with the remaining connections dropped.
    let (_stalled, _rest) = half_sent_create(server.port, "https://example.com/never").await;

    // Eight clients, each on connections of its own, click until the server
    // stops answering; only the redirects they receive count.
    let mut clients = tokio::task::JoinSet::new();
    for n in 0..8 {
        let url = format!(
            "{}/{}",
            server.address(),
            if n % 2 == 0 { &plain } else { &capped }
        );
        clients.spawn(async move {
            let client = client();
            let mut received = 0u64;
            while let Ok(response) = client.get(&url).send().await {
                if response.status() != StatusCode::FOUND {
                    break;
                }
                received += 1;
            }
            (n % 2, received)
        });
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.signal("TERM");
    let status = server.wait_exit(STOP_WITHIN).expect("exited within 10 s");
    assert_eq!(status.code(), Some(0), "exit status {status}");
    let mut received = [0u64; 2];
    for (kind, n) in clients.join_all().await {
        received[kind] += n;
    }
    assert!(received.iter().all(|n| *n > 0), "{received:?}");
    assert_eq!(
        get_link(&db_url, &plain)["clicks"],
        received[0],
        "plain link"
    );
    assert_eq!(
        get_link(&db_url, &capped)["clicks"],
        received[1],
        "capped link"
    );
}
