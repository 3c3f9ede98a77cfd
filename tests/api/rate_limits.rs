//! Rate limits: 429 with `Retry-After` and `RateLimit-*`, per client IP
//! (with `X-Forwarded-For` believed only from trusted proxies), optionally
//! on redirects; shared through Redis, and in-process when Redis fails.
//! Failed authentications have tests of their own (`auth_limits.rs`).

use reqwest::{Method, Response, StatusCode};
use serde_json::json;
use shorty::config::ConfigLayer;

use crate::helpers::{code_of, problem, spawn_app_with, TestApp};
use crate::services::{shared_redis, PrivateRedis};

pub fn header(response: &Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

fn limit_creates(rate: f64, burst: u32) -> impl FnOnce(&mut ConfigLayer) {
    move |c| {
        c.create_rate = Some(rate);
        c.create_burst = Some(burst);
    }
}

async fn create_from(app: &TestApp, forwarded_for: Option<&str>) -> Response {
    let mut request = app
        .anon(Method::POST, "/api/v1/links")
        .json(&json!({ "url": "https://example.com/limited" }));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.unwrap()
}

async fn statuses(app: &TestApp, n: usize, forwarded_for: Option<&str>) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(create_from(app, forwarded_for).await.status().as_u16());
    }
    out
}

/// Checks a 429 and its headers; returns the problem document.
pub async fn assert_limited(response: Response, limit: u64) {
    let retry_after = header(&response, "retry-after").expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(header(&response, "ratelimit-limit"), Some(limit));
    assert_eq!(header(&response, "ratelimit-remaining"), Some(0));
    assert!(header(&response, "ratelimit-reset").is_some_and(|r| r >= 1));
    let body = problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body["detail"].as_str().unwrap().contains("retry"), "{body}");
}

#[tokio::test]
async fn creation_is_limited_per_client_ip_with_headers() {
    let app = spawn_app_with(limit_creates(0.5, 3)).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = create_from(&app, None).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(header(&response, "ratelimit-limit"), Some(3));
        remaining.push(header(&response, "ratelimit-remaining").unwrap());
    }
    assert_eq!(remaining, [2, 1, 0]);
    assert_limited(create_from(&app, None).await, 3).await;

    // The admin token is never limited.
    for _ in 0..10 {
        let response = app
            .admin(Method::POST, "/api/v1/links")
            .json(&json!({ "url": "https://example.com/admin" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    // Redirects are not limited unless configured.
    let link = app
        .admin(Method::GET, "/api/v1/links?limit=1")
        .send()
        .await
        .unwrap();
    let link: serde_json::Value = link.json().await.unwrap();
    let code = code_of(&link["items"][0]);
    assert_eq!(
        app.follow_concurrently(&code, 50).await,
        vec![StatusCode::FOUND; 50]
    );

    let metrics = app
        .anon(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"shorty_rate_limited_total{rule="create"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // The test client (127.0.0.1) is a trusted proxy: each forwarded
    // client gets its own bucket.
    let trusting = spawn_app_with(|c| {
        limit_creates(0.1, 1)(c);
        c.trusted_proxies = Some(vec!["127.0.0.0/8".into()]);
    })
    .await;
    assert_eq!(
        statuses(&trusting, 2, Some("198.51.100.1")).await,
        [201, 429]
    );
    assert_eq!(statuses(&trusting, 1, Some("198.51.100.2")).await, [201]);
    // A chain: the right-most untrusted hop is the client.
    let chain = "203.0.113.50, 198.51.100.3, 127.0.0.9";
    assert_eq!(statuses(&trusting, 2, Some(chain)).await, [201, 429]);
    assert_eq!(statuses(&trusting, 1, Some("203.0.113.50")).await, [201]);

    // Here the peer is not trusted: a spoofed header changes nothing.
    let untrusting = spawn_app_with(|c| {
        limit_creates(0.1, 1)(c);
        c.trusted_proxies = Some(vec!["10.0.0.0/8".into()]);
    })
    .await;
    assert_eq!(statuses(&untrusting, 1, Some("198.51.100.1")).await, [201]);
    let spoofed = create_from(&untrusting, Some("198.51.100.2")).await;
    assert_limited(spoofed, 1).await;
}

#[tokio::test]
async fn redirects_can_be_limited_per_client_ip() {
    let app = spawn_app_with(|c| {
        c.redirect_rate = Some(0.1);
        c.redirect_burst = Some(2);
    })
    .await;
    let code = code_of(&app.create("https://example.com/r").await);
    assert_eq!(app.follow(&code).await.status(), StatusCode::FOUND);
    assert_eq!(app.follow(&code).await.status(), StatusCode::FOUND);
    assert_limited(app.follow(&code).await, 2).await;
}

#[tokio::test]
async fn limits_are_shared_across_instances_through_redis() {
    let Some((url, prefix)) = shared_redis() else {
        return;
    };
    let shared = |c: &mut ConfigLayer| {
        limit_creates(0.1, 2)(c);
        c.redis_url = Some(url.clone());
        c.redis_key_prefix = Some(prefix.to_string());
    };
    let a = spawn_app_with(shared).await;
    let b = spawn_app_with(shared).await;
    assert_eq!(statuses(&a, 2, None).await, [201, 201]);
    assert_limited(create_from(&b, None).await, 2).await;
    assert_limited(create_from(&a, None).await, 2).await;
}

#[tokio::test]
async fn limiting_falls_back_to_in_process_when_redis_fails() {
    let Some(mut redis) = PrivateRedis::start() else {
        return;
    };
    let url = redis.url();
    let app = spawn_app_with(move |c| {
        limit_creates(0.1, 2)(c);
        c.redis_url = Some(url);
    })
    .await;
    assert_eq!(statuses(&app, 2, None).await, [201, 201]);
    assert_limited(create_from(&app, None).await, 2).await;
    redis.stop();
    // Without Redis the in-process buckets take over: a fresh burst, then
    // 429 again. Never unlimited.
    assert_eq!(statuses(&app, 3, None).await, [201, 201, 429]);
}
