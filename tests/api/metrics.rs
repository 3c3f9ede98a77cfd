//! `/metrics`: every SPEC metric, route templates as labels (so the series
//! count cannot grow with scanned paths), `metrics_listen` and `metrics = false`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{code_of, spawn_app, spawn_app_with, TestApp};

async fn scrape(app: &TestApp) -> String {
    let response = app.anon(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

/// The value of the sample line that starts with `series` exactly.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

fn series_count(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count()
}

#[tokio::test]
async fn every_spec_metric_is_exported_with_values_that_follow_traffic() {
    let app = spawn_app().await;
    let link = app.create("https://example.com/metrics").await;
    let code = code_of(&link);
    for _ in 0..3 {
        assert_eq!(app.follow(&code).await.status(), StatusCode::FOUND);
    }
    assert_eq!(app.follow("nosuch1").await.status(), StatusCode::NOT_FOUND);
    let capped = code_of(
        &app.create_with(json!({"url": "https://example.com/c", "max_clicks": 1}))
            .await,
    );
    assert_eq!(app.follow(&capped).await.status(), StatusCode::FOUND);
    assert_eq!(app.follow(&capped).await.status(), StatusCode::GONE);

    let text = scrape(&app).await;
    for name in [
        "shorty_http_requests_total",
        "shorty_http_request_duration_seconds_bucket",
        "shorty_redirects_total",
        "shorty_cache_requests_total",
        "shorty_store_query_duration_seconds_bucket",
        "shorty_links_created_total",
        "shorty_clicks_pending",
        "shorty_rate_limited_total",
        "shorty_build_info",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
    let get = r#"shorty_http_requests_total{method="GET",route="/{code}",status="302"}"#;
    assert_eq!(sample(&text, get), Some(4.0), "{text}");
    let created = r#"shorty_http_requests_total{method="POST",route="/api/v1/links",status="201"}"#;
    assert_eq!(sample(&text, created), Some(2.0));
    assert_eq!(
        sample(&text, r#"shorty_redirects_total{outcome="found"}"#),
        Some(4.0)
    );
    assert_eq!(
        sample(&text, r#"shorty_redirects_total{outcome="not_found"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"shorty_redirects_total{outcome="gone"}"#),
        Some(1.0)
    );
    assert_eq!(sample(&text, "shorty_links_created_total"), Some(2.0));
    let hits = r#"shorty_cache_requests_total{layer="local",result="hit"}"#;
    assert!(sample(&text, hits).is_some_and(|n| n >= 2.0), "{text}");
    let count = r#"shorty_http_request_duration_seconds_count{method="GET",route="/{code}"}"#;
    assert_eq!(sample(&text, count), Some(6.0));
    assert!(text.contains(r#"shorty_store_query_duration_seconds_count{op="insert_links"}"#));
    let version = format!(
        r#"shorty_build_info{{name="shorty",version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(sample(&text, &version), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, r#"shorty_rate_limited_total{rule="create"}"#),
        Some(0.0)
    );
    if app.state.links.redis().is_some() {
        assert!(text.contains(r#"shorty_cache_requests_total{layer="redis",result="miss"}"#));
        assert_eq!(sample(&text, "shorty_redis_up"), Some(1.0), "{text}");
        assert_eq!(
            sample(&text, "shorty_redis_subscribed"),
            Some(1.0),
            "{text}"
        );
    } else {
        assert!(!text.contains("shorty_redis_up"), "{text}");
    }
}

#[tokio::test]
async fn scanning_random_codes_does_not_grow_the_series_count() {
    let app = spawn_app().await;
    // Every route and outcome the scan will touch, once.
    assert_eq!(app.follow("warmup1").await.status(), StatusCode::NOT_FOUND);
    let api = app
        .admin(Method::GET, "/api/v1/links/warmup1")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let nowhere = app
        .anon(Method::GET, "/no/such/route")
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    // The first scrape adds the series of GET /metrics itself.
    scrape(&app).await;
    let before = scrape(&app).await;

    let app = &app;
    let codes: Vec<String> = (0..1000).map(|i| format!("scan{i:04}x")).collect();
    for chunk in codes.chunks(100) {
        let requests = chunk.iter().map(|code| async move {
            let a = app.follow(code).await.status();
            let b = app
                .admin(Method::GET, &format!("/api/v1/links/{code}"))
                .send()
                .await
                .unwrap()
                .status();
            let c = app
                .anon(Method::GET, &format!("/x/{code}/y"))
                .send()
                .await
                .unwrap()
                .status();
            [a, b, c]
        });
        for statuses in futures::future::join_all(requests).await {
            assert_eq!(statuses, [StatusCode::NOT_FOUND; 3]);
        }
    }
    let after = scrape(app).await;
    assert_eq!(
        series_count(&before),
        series_count(&after),
        "series grew:\n{after}"
    );
    assert!(!after.contains("scan0"), "a raw path became a label");
    let not_found = r#"shorty_redirects_total{outcome="not_found"}"#;
    assert_eq!(sample(&after, not_found), Some(1001.0));
    let unmatched = r#"shorty_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert_eq!(sample(&after, unmatched), Some(1001.0));
}

#[tokio::test]
async fn metrics_listen_moves_metrics_off_the_main_listener() {
    let app = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".into())).await;
    let main = app.anon(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(main.status(), StatusCode::NOT_FOUND);
    let port = app.metrics_port.expect("a metrics port");
    let url = format!("http://127.0.0.1:{port}");
    let link = app.create("https://example.com/elsewhere").await;
    assert_eq!(
        app.follow(&code_of(&link)).await.status(),
        StatusCode::FOUND
    );
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(&text, r#"shorty_redirects_total{outcome="found"}"#),
        Some(1.0),
        "{text}"
    );
    // Only /metrics is served there.
    let other = reqwest::get(format!("{url}/api/v1/links")).await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let app = spawn_app_with(|c| c.metrics = Some(false)).await;
    let link = app.create("https://example.com/off").await;
    assert_eq!(
        app.follow(&code_of(&link)).await.status(),
        StatusCode::FOUND
    );
    let response = app.anon(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// `method` on `path`, without credentials; returns the status.
async fn send(app: &TestApp, method: &str, path: &str) -> StatusCode {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    app.anon(method, path).send().await.unwrap().status()
}

#[tokio::test]
async fn invented_methods_and_paths_add_no_series() {
    let app = spawn_app().await;
    let code = code_of(&app.create("https://example.com/m").await);
    let targets = [
        "/healthz".to_owned(),
        format!("/{code}"),
        "/api/v1/links".to_owned(),
        "/no/such/route".to_owned(),
    ];
    // Every route and status the flood will touch, once, under `other`.
    for path in &targets {
        assert!(send(&app, "WARMUP", path).await.is_client_error(), "{path}");
    }
    scrape(&app).await;
    let before = scrape(&app).await;
    for i in 0..50 {
        for path in &targets {
            let status = send(&app, &format!("FOO{i}"), path).await;
            assert!(status.is_client_error(), "FOO{i} {path}: {status}");
        }
        let scan = send(&app, "GET", &format!("/x/{i}/y")).await;
        assert_eq!(scan, StatusCode::NOT_FOUND);
    }
    let after = scrape(&app).await;
    assert_eq!(
        series_count(&before),
        series_count(&after),
        "series grew:\n{after}"
    );
    assert!(
        !after.contains("FOO") && !after.contains("WARMUP"),
        "{after}"
    );
    let other = r#"shorty_http_requests_total{method="other",route="/healthz",status="405"}"#;
    assert_eq!(sample(&after, other), Some(51.0), "{after}");
}

#[tokio::test]
async fn the_series_dashboards_use_exist_from_startup() {
    let app = spawn_app().await;
    let text = scrape(&app).await;
    for series in [
        r#"shorty_http_requests_total{method="GET",route="/{code}",status="302"}"#,
        r#"shorty_http_requests_total{method="GET",route="/{code}",status="404"}"#,
        r#"shorty_http_requests_total{method="GET",route="/{code}",status="500"}"#,
        r#"shorty_http_requests_total{method="POST",route="/api/v1/links",status="201"}"#,
        r#"shorty_http_requests_total{method="POST",route="/api/v1/links",status="429"}"#,
        r#"shorty_http_requests_total{method="POST",route="/api/v1/links",status="503"}"#,
        r#"shorty_http_request_duration_seconds_count{method="GET",route="/{code}"}"#,
        r#"shorty_redirects_total{outcome="found"}"#,
        r#"shorty_rate_limited_total{rule="auth"}"#,
        r#"shorty_links_created_total"#,
        r#"shorty_store_query_duration_seconds_count{op="insert_links"}"#,
        r#"shorty_store_query_duration_seconds_count{op="add_clicks"}"#,
        r#"shorty_cache_requests_total{layer="local",result="miss"}"#,
        r#"shorty_clicks_pending"#,
    ] {
        assert_eq!(
            sample(&text, series),
            Some(0.0),
            "{series} missing or not 0:\n{text}"
        );
    }
}
