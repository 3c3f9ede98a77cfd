//! Failed authentications are limited per client IP (IPv6 by /64),
//! whatever token each attempt presents, on every authenticated route.
//! While a client is refused, even good credentials from it get 429, so
//! guessing learns nothing; other clients are not affected.

use std::collections::BTreeMap;

use reqwest::{Method, Response, StatusCode};
use serde_json::json;
use shorty::config::ConfigLayer;

use crate::helpers::{spawn_app_with, TestApp, ADMIN_TOKEN};
use crate::rate_limits::{assert_limited, header};
use crate::services::shared_redis;

/// The test client (127.0.0.1) is a trusted proxy, so `X-Forwarded-For`
/// picks the client; failures refill slowly enough to count exactly.
fn guessable(c: &mut ConfigLayer) {
    c.trusted_proxies = Some(vec!["127.0.0.0/8".into()]);
    c.auth_failure_rate = Some(0.05);
    c.auth_failure_burst = Some(10);
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str, client: &str) -> Response {
    app.anon(method, path)
        .bearer_auth(token)
        .header("x-forwarded-for", client)
        .send()
        .await
        .expect("request")
}

fn random_token() -> String {
    format!("sk_{:032x}", rand::random::<u128>())
}

#[tokio::test]
async fn three_hundred_guessed_tokens_get_429s_and_a_good_token_elsewhere_works() {
    let app = spawn_app_with(guessable).await;
    let mut statuses = BTreeMap::new();
    for _ in 0..300 {
        let response = call(
            &app,
            Method::GET,
            "/api/v1/links",
            &random_token(),
            "198.51.100.7",
        )
        .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(header(&response, "retry-after").is_some_and(|s| s >= 1));
        }
        *statuses.entry(response.status().as_u16()).or_insert(0) += 1;
    }
    assert_eq!(statuses, BTreeMap::from([(401, 10), (429, 290)]));

    // The refused client gets 429 even with the admin token, on every
    // authenticated route: its credentials are not even looked at.
    let good = call(
        &app,
        Method::GET,
        "/api/v1/links",
        ADMIN_TOKEN,
        "198.51.100.7",
    )
    .await;
    assert_limited(good, 10).await;
    let create = app
        .anon(Method::POST, "/api/v1/links")
        .bearer_auth(ADMIN_TOKEN)
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({ "url": "https://example.com/" }))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::TOO_MANY_REQUESTS);
    // Without credentials it is not an authentication, so not refused.
    let anonymous = app
        .anon(Method::POST, "/api/v1/links")
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({ "url": "https://example.com/" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::CREATED);

    // Another client with the right token is served.
    let other = call(
        &app,
        Method::GET,
        "/api/v1/links",
        ADMIN_TOKEN,
        "198.51.100.8",
    )
    .await;
    assert_eq!(other.status(), StatusCode::OK);
    // So is another client with a user's API key, on its own links and stats.
    app.put_user("carol").await;
    let key = app.issue_key("carol", json!({})).await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    for path in ["/api/v1/links", "/api/v1/stats"] {
        let with_key = call(&app, Method::GET, path, &key, "198.51.100.9").await;
        assert_eq!(with_key.status(), StatusCode::OK, "{path}");
    }

    let metrics = app.anon(Method::GET, "/metrics").send().await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"shorty_rate_limited_total{rule="auth"} 292"#),
        "{text}"
    );
}

#[tokio::test]
async fn ipv6_clients_are_limited_by_their_64() {
    let app = spawn_app_with(guessable).await;
    let path = "/api/v1/links/abc";
    for i in 0..10 {
        let client = format!("2001:db8:1:2::{i:x}");
        let response = call(&app, Method::GET, path, &random_token(), &client).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Any other address of the same /64 is the same client…
    for client in ["2001:db8:1:2::ffff", "2001:db8:1:2:abcd:1:2:3"] {
        let response = call(&app, Method::DELETE, path, &random_token(), client).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{client}");
    }
    // …and the next /64 is not.
    let next = call(&app, Method::GET, path, &random_token(), "2001:db8:1:3::1").await;
    assert_eq!(next.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failures_count_across_instances_through_redis() {
    let Some((url, prefix)) = shared_redis() else {
        return;
    };
    let shared = |c: &mut ConfigLayer| {
        guessable(c);
        c.redis_url = Some(url.clone());
        c.redis_key_prefix = Some(prefix.to_string());
    };
    let (a, b) = (spawn_app_with(shared).await, spawn_app_with(shared).await);
    for i in 0..10 {
        let app = if i % 2 == 0 { &a } else { &b };
        let response = call(
            app,
            Method::GET,
            "/api/v1/links",
            &random_token(),
            "203.0.113.5",
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    for app in [&a, &b] {
        let response = call(
            app,
            Method::GET,
            "/api/v1/links",
            ADMIN_TOKEN,
            "203.0.113.5",
        )
        .await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}
