//! Redis as the shared layer, with in-process servers on the backend under
//! test: the shared cache, counter blocks and cross-instance invalidation,
//! and Redis being away.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backend::{Backend, TestDb};
use crate::binary::free_port;
use crate::helpers::{code_of, spawn_app_with, TestApp};
use crate::services::{redis_get, shared_redis};

/// Two servers on one fresh store, sharing Redis under `prefix`.
async fn pair(db: &TestDb, redis_url: &str, prefix: &str) -> (TestApp, TestApp) {
    let start = || {
        spawn_app_with(|c| {
            c.database_url = Some(db.url.clone());
            c.redis_url = Some(redis_url.to_owned());
            c.redis_key_prefix = Some(prefix.to_owned());
        })
    };
    (start().await, start().await)
}

/// Polls `GET /{code}` on `app` until `accept` holds, for at most `limit`;
/// returns how long it took.
async fn until_seen(
    app: &TestApp,
    code: &str,
    limit: Duration,
    accept: impl Fn(StatusCode, Option<&str>) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let response = app.follow(code).await;
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok());
        if accept(response.status(), location) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{code} not updated on the other instance within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_patch_or_delete_on_one_instance_reaches_the_other_within_a_second() {
    let Some((redis, prefix)) = shared_redis() else {
        return;
    };
    let db = TestDb::fresh();
    let (a, b) = pair(&db, &redis, &prefix).await;
    // Once subscribed, entries live for minutes again, so a change seen
    // within a second below came through the invalidation channel.
    let started = Instant::now();
    while a.state.links.cache().is_degraded() || b.state.links.cache().is_degraded() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let patched = code_of(&a.create("https://example.com/before").await);
    let deleted = code_of(&a.create("https://example.com/doomed").await);
    for code in [&patched, &deleted] {
        assert_eq!(b.follow(code).await.status(), StatusCode::FOUND);
    }

    let response = a
        .admin(Method::PATCH, &format!("/api/v1/links/{patched}"))
        .json(&json!({ "url": "https://example.com/after" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let took = until_seen(&b, &patched, Duration::from_secs(1), |_, location| {
        location == Some("https://example.com/after")
    })
    .await;
    eprintln!("patch seen on the other instance after {took:?}");

    let response = a
        .admin(Method::DELETE, &format!("/api/v1/links/{deleted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    until_seen(&b, &deleted, Duration::from_secs(1), |status, _| {
        status == StatusCode::GONE
    })
    .await;

    // An alias that B has cached as unknown becomes visible once created on A.
    assert_eq!(
        b.follow("fresh-alias").await.status(),
        StatusCode::NOT_FOUND
    );
    a.create_with(json!({ "url": "https://example.com/alias", "alias": "fresh-alias" }))
        .await;
    until_seen(&b, "fresh-alias", Duration::from_secs(1), |status, _| {
        status == StatusCode::FOUND
    })
    .await;
}

#[tokio::test]
async fn links_are_shared_through_redis_and_codes_come_from_its_counter() {
    let Some((redis, prefix)) = shared_redis() else {
        return;
    };
    let db = TestDb::fresh();
    let (a, b) = pair(&db, &redis, &prefix).await;
    let code = code_of(&a.create("https://example.com/shared").await);

    // Counter blocks came from Redis under this run's prefix.
    let counter: u64 = redis_get(&redis, &format!("{prefix}code_counter"))
        .expect("counter key in redis")
        .parse()
        .unwrap();
    assert!(counter >= 1000, "counter {counter}");

    // A read on B fills the shared cache for every instance.
    assert_eq!(b.follow(&code).await.status(), StatusCode::FOUND);
    let key = format!("{prefix}link:{code}");
    let started = Instant::now();
    let cached = loop {
        if let Some(value) = redis_get(&redis, &key) {
            break value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{key} never filled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(cached.contains("https://example.com/shared"), "{cached}");

    // Codes from both instances never collide.
    let mut codes = std::collections::HashSet::new();
    for i in 0..200 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert!(codes.insert(code_of(
            &app.create(&format!("https://example.com/{i}")).await
        )));
    }
}

#[tokio::test]
async fn with_redis_unreachable_everything_still_works() {
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let app = spawn_app_with(|c| {
        c.redis_url = Some(dead_redis.clone());
        c.redis_key_prefix = Some("unreachable:".into());
    })
    .await;
    let started = Instant::now();
    let link = app.create("https://example.com/no-redis").await;
    let code = code_of(&link);
    assert_eq!(app.follow(&code).await.status(), StatusCode::FOUND);
    let patch = app
        .admin(Method::PATCH, &format!("/api/v1/links/{code}"))
        .json(&json!({ "url": "https://example.com/patched" }))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::OK);
    let follow = app.follow(&code).await;
    assert_eq!(
        follow.headers()["location"].to_str().unwrap(),
        "https://example.com/patched"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "requests were slowed by the missing Redis: {:?}",
        started.elapsed()
    );

    // Ready (the store answers), and the body names Redis as degraded.
    let ready = app.anon(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["redis"], "unreachable", "{body}");
    assert_eq!(body["degraded"], json!(["redis", "invalidation"]), "{body}");
}

#[tokio::test]
async fn sqlite_and_redis_work_together_too() {
    // Redis is independent of the store: one instance on SQLite may use it.
    let Some((redis, prefix)) = shared_redis() else {
        return;
    };
    let db = TestDb::on(Backend::Sqlite);
    let (a, _b) = pair(&db, &redis, &prefix).await;
    let code = code_of(&a.create("https://example.com/sqlite").await);
    assert_eq!(a.follow(&code).await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn a_delete_from_the_cli_reaches_running_servers_through_redis() {
    let Some((redis, prefix)) = shared_redis() else {
        return;
    };
    let db = TestDb::fresh();
    let (a, _b) = pair(&db, &redis, &prefix).await;
    let started = Instant::now();
    while a.state.links.cache().is_degraded() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let code = code_of(&a.create("https://example.com/cli").await);
    assert_eq!(a.follow(&code).await.status(), StatusCode::FOUND);

    let args: Vec<String> = [
        "--database-url",
        &db.url,
        "--redis-url",
        &redis,
        "--redis-key-prefix",
        &prefix,
        "delete",
        &code,
    ]
    .map(str::to_owned)
    .to_vec();
    let deleted = tokio::task::spawn_blocking(move || crate::binary::cli(&args).run())
        .await
        .unwrap();
    deleted.assert_code(0);
    assert!(!deleted.stderr.contains("warning"), "{deleted:?}");
    until_seen(&a, &code, Duration::from_secs(1), |status, _| {
        status == StatusCode::GONE
    })
    .await;
}
