//! The exporters of the real binary, against loopback receivers: OTLP
//! traces (from the flag or `OTEL_EXPORTER_OTLP_ENDPOINT`), delivered by
//! the time `serve` exits, and Sentry events for 5xx answers, one per
//! failure. Panic reporting is tested in `tests/panic_report.rs`.

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Attr;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::binary::{cli, client, free_port, sqlite_url, ServeOptions, ShortyProcess};
use crate::receiver::{dsn, headline, level, Receiver};
use crate::services::PrivatePostgres;

/// Longest wait for `serve` to exit after SIGTERM.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// `POST /api/v1/links` with a fixed URL; the response's status and body.
async fn create(client: &reqwest::Client, server: &ShortyProcess) -> (StatusCode, Value) {
    let response = client
        .post(format!("{}/api/v1/links", server.address()))
        .json(&json!({ "url": "https://example.com/x" }))
        .send()
        .await
        .expect("create request");
    let status = response.status();
    (status, response.json().await.expect("problem or link"))
}

/// SIGTERM, then a clean exit within [`EXIT_TIMEOUT`]. The server answers
/// health checks a moment before it handles SIGTERM (which would kill it
/// until then), so first wait for it to catch the signal.
fn stop(server: &mut ShortyProcess) {
    let started = Instant::now();
    while !catches_sigterm(server.pid()) {
        assert!(started.elapsed() < EXIT_TIMEOUT, "SIGTERM never handled");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.signal("TERM");
    let status = server
        .wait_exit(EXIT_TIMEOUT)
        .expect("exited after SIGTERM");
    assert!(status.success(), "{status}\n{}", server.logs());
}

/// Whether process `pid` has a handler for SIGTERM (signal 15), from
/// Linux's `/proc/PID/status`; `true` where that cannot be read.
fn catches_sigterm(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let caught = status.lines().find_map(|l| l.strip_prefix("SigCgt:"));
    let mask = caught.and_then(|m| u64::from_str_radix(m.trim(), 16).ok());
    mask.is_none_or(|m| m & (1 << (15 - 1)) != 0)
}

/// Every span in the OTLP requests received so far.
fn spans(receiver: &Receiver) -> Vec<Span> {
    let requests = receiver.posts_to("/v1/traces");
    let decoded = requests
        .iter()
        .map(|r| ExportTraceServiceRequest::decode(r.body.as_slice()).expect("OTLP protobuf"));
    let resource_spans = decoded.flat_map(|r| r.resource_spans);
    let scope_spans = resource_spans.flat_map(|r| r.scope_spans);
    scope_spans.flat_map(|s| s.spans).collect()
}

/// The value of `span`'s attribute `key`, if any.
fn attribute(span: &Span, key: &str) -> Option<Attr> {
    let kv = span.attributes.iter().find(|kv| kv.key == key)?;
    kv.value.as_ref()?.value.clone()
}

/// Creates a link and follows it on `server`, stops it, and checks that
/// the redirect's span reached `receiver` by the time it exited.
async fn redirect_span_is_exported(mut server: ShortyProcess, receiver: &Receiver) {
    let client = client();
    let (status, link) = create(&client, &server).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let code = link["code"].as_str().unwrap();
    let response = client
        .get(format!("{}/{code}", server.address()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // Spans are batched every 5 s: these can only come from the final
    // export at exit.
    stop(&mut server);
    let spans = spans(receiver);
    let redirect = spans
        .iter()
        .find(|s| attribute(s, "http.route") == Some(Attr::StringValue("/{code}".into())))
        .unwrap_or_else(|| panic!("no span for /{{code}} in {spans:#?}"));
    assert_eq!(redirect.name, "GET /{code}");
    assert_eq!(
        attribute(redirect, "http.response.status_code"),
        Some(Attr::IntValue(302))
    );
    let create_route = Some(Attr::StringValue("/api/v1/links".into()));
    assert!(spans
        .iter()
        .any(|s| attribute(s, "http.route") == create_route));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_to_the_otlp_endpoint_flag() {
    let (receiver, addr) = Receiver::start();
    let db = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{addr}");
    let args = ["--otlp-endpoint", &endpoint];
    let server = ShortyProcess::start(&sqlite_url(&db.path().join("t.db")), &args);
    redirect_span_is_exported(server, &receiver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_to_otel_exporter_otlp_endpoint() {
    let (receiver, addr) = Receiver::start();
    let db = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        envs: vec![(
            "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            format!("http://{addr}/"),
        )],
        ..ServeOptions::default()
    };
    let server = ShortyProcess::start_with(&sqlite_url(&db.path().join("t.db")), options);
    redirect_span_is_exported(server, &receiver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_is_one_sentry_event_per_30_s() {
    let Some(pg) = PrivatePostgres::start() else {
        return;
    };
    let (receiver, addr) = Receiver::start();
    let mut server = ShortyProcess::start(&pg.url(), &["--sentry-dsn", &dsn(addr)]);
    let client = client();
    pg.stop();
    for _ in 0..3 {
        let (status, problem) = create(&client, &server).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    }
    stop(&mut server);
    let events = receiver.sentry_events();
    let outages: Vec<&Value> = events
        .iter()
        .filter(|e| headline(e).contains("store unavailable"))
        .collect();
    assert_eq!(outages.len(), 1, "{events:#?}");
    assert_eq!(level(outages[0]), "error");
    // The per-request lines (warn for a 503, error for other 5xx) are
    // neither events nor breadcrumbs.
    let logged = server.logs();
    assert_eq!(logged.matches(r#""status":503"#).count(), 3, "{logged}");
    for event in &events {
        assert_ne!(event["logger"], "shorty::http", "{event:#}");
        assert!(!event.to_string().contains(r#""status":503"#), "{event:#}");
    }
}

#[test]
fn a_collector_that_is_down_is_logged_not_reported() {
    let (receiver, addr) = Receiver::start();
    let db = tempfile::tempdir().unwrap();
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let args = ["--otlp-endpoint", &nobody, "--sentry-dsn", &dsn(addr)];
    // The harness's health checks made spans; exporting them at exit fails.
    let mut server = ShortyProcess::start(&sqlite_url(&db.path().join("t.db")), &args);
    stop(&mut server);
    let logged = server.logs();
    assert!(
        logged.contains("BatchSpanProcessor.ExportError"),
        "{logged}"
    );
    let events = receiver.sentry_events();
    assert!(events.is_empty(), "{events:#?}");
}

#[test]
fn an_invalid_sentry_dsn_is_a_configuration_error() {
    let db = tempfile::tempdir().unwrap();
    let url = sqlite_url(&db.path().join("t.db"));
    let args = ["serve", "--database-url", &url, "--sentry-dsn", "not a dsn"];
    let output = cli(&args).timeout(Duration::from_secs(10)).run();
    output.assert_code(2);
    assert!(output.stderr.contains("invalid sentry_dsn"), "{output:?}");
}
