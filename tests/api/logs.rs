//! Request logs of the real binary: one structured line per request with
//! method, route, status, latency, request id and client IP; request ids
//! kept or generated and echoed; probes only at debug; no secrets.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::binary::{client, sqlite_url, ServeOptions, ShortyProcess};
use crate::helpers::ADMIN_TOKEN;

fn start(args: &[&str], envs: &[(&str, &str)]) -> (ShortyProcess, tempfile::TempDir) {
    let db = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        args: args.iter().map(|a| a.to_string()).collect(),
        envs: envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..ServeOptions::default()
    };
    let server = ShortyProcess::start_with(&sqlite_url(&db.path().join("s.db")), options);
    (server, db)
}

/// Its stdout once it holds `expected` (lines are written by a background
/// thread, a moment after the response).
fn stdout(server: &ShortyProcess, expected: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let out = std::fs::read_to_string(server.dir.path().join("stdout.log")).unwrap();
        if out.contains(expected) || started.elapsed() > std::time::Duration::from_secs(5) {
            return out;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The JSON request lines (target `shorty::http`), once `expected` is logged.
///
/// Each serving thread hands its request lines over in batches, at least
/// every `BATCH_AGE`, so lines from another thread can lag the expected
/// one by that much.
fn request_lines(server: &ShortyProcess, expected: &str) -> Vec<Value> {
    stdout(server, expected);
    std::thread::sleep(3 * shorty::telemetry::request_line::BATCH_AGE);
    stdout(server, expected)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .filter(|v| v["target"] == "shorty::http")
        .collect()
}

#[tokio::test]
async fn each_request_logs_one_json_line_with_its_id_and_no_secrets() {
    let (server, _db) = start(&[], &[]);
    let base = server.address();
    let http = client();
    let created = http
        .post(format!("{base}/api/v1/links"))
        .bearer_auth(ADMIN_TOKEN)
        .header("x-request-id", "test-req-42")
        .json(&json!({ "url": "https://example.com/logged" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["x-request-id"], "test-req-42");
    let code = created.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let followed = http.get(format!("{base}/{code}")).send().await.unwrap();
    assert_eq!(followed.status(), StatusCode::FOUND);
    let generated = followed.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 32, "{generated}");
    // A request id that could break a log line is replaced.
    let odd = http
        .get(format!("{base}/{code}"))
        .header("x-request-id", "has spaces in it")
        .send()
        .await
        .unwrap();
    assert_ne!(odd.headers()["x-request-id"], "has spaces in it");
    let wrong_token = "wrong-secret-token-0123456789";
    let refused = http
        .get(format!("{base}/api/v1/links"))
        .bearer_auth(wrong_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    for probe in ["/_health", "/healthz", "/readyz", "/metrics"] {
        assert!(http
            .get(format!("{base}{probe}"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success());
    }

    let lines = request_lines(&server, r#""status":401"#);
    assert_eq!(lines.len(), 4, "one line per non-probe request: {lines:#?}");
    let create = lines
        .iter()
        .find(|l| l["request_id"] == "test-req-42")
        .expect("create line");
    assert_eq!(create["method"], "POST");
    assert_eq!(create["route"], "/api/v1/links");
    assert_eq!(create["status"], 201);
    assert_eq!(create["client_ip"], "127.0.0.1");
    assert_eq!(create["level"], "INFO");
    assert!(create["latency_ms"]
        .as_f64()
        .is_some_and(|ms| ms > 0.0 && ms < 10_000.0));
    assert!(create["timestamp"].is_string());
    let follow = lines
        .iter()
        .find(|l| l["request_id"] == generated.as_str())
        .expect("redirect line");
    assert_eq!(
        (&follow["route"], &follow["status"]),
        (&json!("/{code}"), &json!(302))
    );
    assert!(lines.iter().any(|l| l["status"] == 401));

    let everything = server.logs();
    assert!(
        !everything.contains(ADMIN_TOKEN),
        "the admin token was logged"
    );
    assert!(
        !everything.contains(wrong_token),
        "a presented token was logged"
    );
}

#[tokio::test]
async fn probes_log_at_debug_and_pretty_logs_are_plain_text() {
    let (server, _db) = start(&["--log-format", "pretty"], &[("RUST_LOG", "debug")]);
    let base = server.address();
    let http = client();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        http.get(format!("{base}/nosuch1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let out = stdout(&server, "status=404");
    let probe = out
        .lines()
        .find(|l| l.contains(r#"route="/healthz""#))
        .expect("probe line at debug");
    assert!(probe.contains("DEBUG"), "{probe}");
    let miss = out
        .lines()
        .find(|l| l.contains("status=404"))
        .expect("404 line");
    assert!(
        miss.contains("INFO") && miss.contains(r#"route="/{code}""#),
        "{miss}"
    );
    assert!(
        miss.contains("request_id=") && miss.contains("client_ip=127.0.0.1"),
        "{miss}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with('{')),
        "pretty logs are not JSON"
    );
    assert!(
        !out.contains('\u{1b}'),
        "no colour codes when stdout is a file"
    );
}
