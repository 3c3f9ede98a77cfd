//! Degradation with private servers the tests stop and restart: a
//! `redis-server` and a PostgreSQL cluster (`initdb` into a temporary
//! directory), each on a free port, so nothing shared is disturbed.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::binary::{client, ShortyProcess};
use crate::helpers::ADMIN_TOKEN;
use crate::services::{
    redis_get, seen_within, shared_postgres, wait_until_subscribed, PrivatePostgres, PrivateRedis,
};

/// `POST /api/v1/links` to `server`.
async fn post(client: &reqwest::Client, server: &ShortyProcess, body: Value) -> Response {
    client
        .post(format!("{}/api/v1/links", server.address()))
        .json(&body)
        .send()
        .await
        .expect("create request")
}

/// Creates a link to `url`, expecting 201; returns its code.
async fn create(client: &reqwest::Client, server: &ShortyProcess, url: &str) -> String {
    let response = post(client, server, json!({ "url": url })).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["code"].as_str().unwrap().to_owned()
}

/// `n` concurrent creates on `server`; returns their codes.
async fn create_many(
    client: &reqwest::Client,
    server: &ShortyProcess,
    n: usize,
    tag: &str,
) -> Vec<String> {
    stream::iter(0..n)
        .map(|i| async move {
            let url = format!("https://example.com/{tag}/{i}");
            create(client, server, &url).await
        })
        .buffer_unordered(32)
        .collect()
        .await
}

async fn follow(client: &reqwest::Client, server: &ShortyProcess, code: &str) -> StatusCode {
    client
        .get(format!("{}/{code}", server.address()))
        .send()
        .await
        .expect("redirect request")
        .status()
}

async fn admin(
    client: &reqwest::Client,
    method: reqwest::Method,
    server: &ShortyProcess,
    path: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, format!("{}{path}", server.address()))
        .bearer_auth(ADMIN_TOKEN)
}

async fn readyz(client: &reqwest::Client, server: &ShortyProcess) -> (StatusCode, Value) {
    let response = client
        .get(format!("{}/readyz", server.address()))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// The Redis gauges of `server`'s `/metrics`: (`shorty_redis_up`, `shorty_redis_subscribed`).
async fn redis_gauges(client: &reqwest::Client, server: &ShortyProcess) -> (String, String) {
    let text = client
        .get(format!("{}/metrics", server.address()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or("absent")
            .to_owned()
    };
    (value("shorty_redis_up"), value("shorty_redis_subscribed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_everything_works_and_recovers_by_itself() {
    let (Some(pg), Some(mut redis)) = (PrivatePostgres::start(), PrivateRedis::start()) else {
        return;
    };
    let prefix = "degraded:";
    let args = ["--redis-url", &redis.url(), "--redis-key-prefix", prefix];
    let servers = [
        ShortyProcess::start(&pg.url(), &args),
        ShortyProcess::start(&pg.url(), &args),
    ];
    let client = client();
    let mut codes = HashSet::new();
    for i in 0..40 {
        let code = create(
            &client,
            &servers[i % 2],
            &format!("https://example.com/r/{i}"),
        )
        .await;
        assert!(codes.insert(code));
    }

    redis.stop();
    let down_at = Instant::now();
    // Creates, redirects, patches, deletes and lists on both instances:
    // never a 5xx.
    let mut statuses = Vec::new();
    for (i, code) in codes.clone().iter().enumerate() {
        let server = &servers[i % 2];
        let new = create(&client, server, &format!("https://example.com/down/{i}")).await;
        assert!(codes.insert(new.clone()), "duplicate code {new}");
        statuses.push(follow(&client, server, code).await);
        statuses.push(follow(&client, &servers[(i + 1) % 2], &new).await);
    }
    // More creates than one counter block (1000) per instance, so both
    // fall back to the store's counter while Redis is away.
    for (n, server) in servers.iter().enumerate() {
        for code in create_many(&client, server, 1100, &format!("outage{n}")).await {
            assert!(codes.insert(code.clone()), "duplicate code {code}");
        }
    }
    let victim = codes.iter().next().unwrap().clone();
    let patch = admin(
        &client,
        reqwest::Method::PATCH,
        &servers[0],
        &format!("/api/v1/links/{victim}"),
    )
    .await
    .json(&json!({ "url": "https://example.com/patched-without-redis" }))
    .send()
    .await
    .unwrap();
    assert_eq!(patch.status(), StatusCode::OK);
    let list = admin(
        &client,
        reqwest::Method::GET,
        &servers[1],
        "/api/v1/links?limit=5",
    )
    .await
    .send()
    .await
    .unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    assert!(
        statuses.iter().all(|s| *s == StatusCode::FOUND),
        "{statuses:?}"
    );
    let (status, body) = readyz(&client, &servers[1]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["degraded"], json!(["redis", "invalidation"]), "{body}");
    // The same, as numbers for alerts.
    let gauges = redis_gauges(&client, &servers[1]).await;
    assert_eq!(gauges, ("0".to_owned(), "0".to_owned()));
    // Without invalidation, the other instance still sees the patch within
    // about a second, since its entries now live one second.
    let started = Instant::now();
    seen_within(
        &client,
        &servers[1],
        &victim,
        (started, Duration::from_millis(1500)),
        |_, location| location == "https://example.com/patched-without-redis",
    )
    .await;
    eprintln!(
        "Redis down for {:?} of traffic without errors",
        down_at.elapsed()
    );
    // Thousands of requests went without Redis; each instance said so once.
    for server in &servers {
        let logs = server.logs();
        assert_eq!(logs.matches("redis unavailable").count(), 1, "{logs}");
    }

    // Redis comes back empty (it keeps nothing on disk). Counter blocks
    // and the shared cache resume on their own; codes stay unique.
    redis.resume().unwrap();
    let back_at = Instant::now();
    let counter_key = format!("{prefix}code_counter");
    let mut i = 0;
    while redis_get(&redis.url(), &counter_key).is_none() {
        assert!(
            back_at.elapsed() < Duration::from_secs(10),
            "Redis counter never used again"
        );
        // Each instance holds up to one block from before; use them up.
        for (n, server) in servers.iter().enumerate() {
            for code in create_many(&client, server, 100, &format!("back{n}-{i}")).await {
                assert!(
                    codes.insert(code.clone()),
                    "duplicate code {code} after Redis came back"
                );
            }
        }
        i += 1;
    }
    for (n, server) in servers.iter().enumerate() {
        for code in create_many(&client, server, 1100, &format!("after{n}")).await {
            assert!(
                codes.insert(code.clone()),
                "duplicate code {code} after Redis came back"
            );
        }
        let started = Instant::now();
        loop {
            let (status, body) = readyz(&client, server).await;
            let gauges = redis_gauges(&client, server).await;
            if status == StatusCode::OK
                && body["checks"]["redis"] == "ok"
                && body["checks"]["invalidation"] == "subscribed"
                && gauges == ("1".to_owned(), "1".to_owned())
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{body} {gauges:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!("recovered {:?} after Redis came back", back_at.elapsed());
    // The unique index would turn a counter overlap into skipped codes,
    // not duplicates; none may have been skipped either.
    for server in &servers {
        let logs = server.logs();
        assert!(
            !logs.contains("skipping it"),
            "a generated code collided:\n{logs}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_down_cached_links_redirect_writes_fail_fast_and_nothing_is_lost() {
    let Some(pg) = PrivatePostgres::start() else {
        return;
    };
    let server = ShortyProcess::start(&pg.url(), &[]);
    let client = client();
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        acknowledged.push(create(&client, &server, &format!("https://example.com/pg/{i}")).await);
    }
    for code in &acknowledged {
        assert_eq!(follow(&client, &server, code).await, StatusCode::FOUND);
    }

    pg.stop();
    // Cached links keep redirecting, as fast as ever; each of these clicks
    // is buffered.
    for code in &acknowledged {
        let asked = Instant::now();
        assert_eq!(follow(&client, &server, code).await, StatusCode::FOUND);
        assert!(
            asked.elapsed() < Duration::from_millis(500),
            "{:?}",
            asked.elapsed()
        );
    }
    // A burst of 100 concurrent creates: every one gets its 503 within
    // 2 s, none waits behind the others' timeouts.
    let started = Instant::now();
    let burst = futures::future::join_all((0..100).map(|i| {
        let (client, server) = (&client, &server);
        async move {
            let body = json!({ "url": format!("https://example.com/burst/{i}") });
            let response = post(client, server, body).await;
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (response.status(), started.elapsed(), retry_after)
        }
    }))
    .await;
    for (status, took, retry_after) in &burst {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert!(
            *took < Duration::from_secs(2),
            "a create in the burst took {took:?}"
        );
    }

    // Writes fail within 2 s with 503 and Retry-After.
    let code = &acknowledged[0];
    let writes: Vec<Pin<Box<dyn Future<Output = Response> + Send + '_>>> = vec![
        Box::pin(post(
            &client,
            &server,
            json!({ "url": "https://example.com/during" }),
        )),
        Box::pin(async {
            admin(
                &client,
                reqwest::Method::PATCH,
                &server,
                &format!("/api/v1/links/{code}"),
            )
            .await
            .json(&json!({ "url": "https://example.com/x" }))
            .send()
            .await
            .unwrap()
        }),
        Box::pin(async {
            admin(
                &client,
                reqwest::Method::DELETE,
                &server,
                &format!("/api/v1/links/{code}"),
            )
            .await
            .send()
            .await
            .unwrap()
        }),
    ];
    for write in writes {
        let started = Instant::now();
        let response = write.await;
        let took = started.elapsed();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert!(
            took < Duration::from_secs(2),
            "a write took {took:?} to fail"
        );
    }
    let started = Instant::now();
    let (status, body) = readyz(&client, &server).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["failed"], json!(["store"]), "{body}");
    // Three failed requests and failing click flushes, each logged once.
    let logs = server.logs();
    assert_eq!(
        logs.matches("store unavailable; answering 503").count(),
        1,
        "{logs}"
    );
    assert!(logs.matches("click flush failed").count() <= 1, "{logs}");

    // Within 5 s of PostgreSQL returning, everything works again by
    // itself: readiness, creates, changes, and reads that need the store.
    pg.resume();
    let back_at = Instant::now();
    let changed = &acknowledged[1];
    loop {
        let ready = readyz(&client, &server).await.0 == StatusCode::OK;
        let created = post(
            &client,
            &server,
            json!({ "url": "https://example.com/after" }),
        )
        .await
        .status();
        let patched = admin(
            &client,
            reqwest::Method::PATCH,
            &server,
            &format!("/api/v1/links/{changed}"),
        )
        .await
        .json(&json!({ "url": "https://example.com/after-outage" }))
        .send()
        .await
        .unwrap()
        .status();
        let looked_up = follow(&client, &server, "never-seen-before").await;
        let statuses = [created, patched, looked_up];
        if ready && statuses == [StatusCode::CREATED, StatusCode::OK, StatusCode::NOT_FOUND] {
            break;
        }
        assert!(
            statuses
                .iter()
                .all(|s| s.is_success() || s.as_u16() == 404 || s.as_u16() == 503),
            "{statuses:?}"
        );
        assert!(
            back_at.elapsed() < Duration::from_secs(5),
            "not recovered within 5 s: ready {ready}, {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "everything recovered {:?} after PostgreSQL came back",
        back_at.elapsed()
    );

    // Clicks buffered during the outage reach the store with the next
    // flushes: after a kill -9 (no final flush), a new process on the same
    // database finds every acknowledged link with both of its clicks.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut server = server;
    server.kill();
    let server = ShortyProcess::start(&pg.url(), &[]);
    for code in &acknowledged {
        let response = admin(
            &client,
            reqwest::Method::GET,
            &server,
            &format!("/api/v1/links/{code}"),
        )
        .await
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{code} lost");
        let link: Value = response.json().await.unwrap();
        assert_eq!(link["clicks"], 2, "{link}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_redis_missed_is_announced_once_it_answers_again() {
    let (Some(db), Some(redis)) = (shared_postgres(), PrivateRedis::start()) else {
        return;
    };
    let prefix = "missed:";
    let args = ["--redis-url", &redis.url(), "--redis-key-prefix", prefix];
    let (a, b) = (
        ShortyProcess::start(&db.url, &args),
        ShortyProcess::start(&db.url, &args),
    );
    let client = client();
    for server in [&a, &b] {
        wait_until_subscribed(&client, server).await;
    }
    let code = create(&client, &a, "https://example.com/old").await;
    // B reads it, which puts it in the shared cache.
    let key = format!("{prefix}link:{code}");
    let started = Instant::now();
    while redis_get(&redis.url(), &key).is_none_or(|v| !v.contains("/old")) {
        assert_eq!(follow(&client, &b, &code).await, StatusCode::FOUND);
        assert!(started.elapsed() < Duration::from_secs(5), "never shared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // One more read, so B holds the link in its own cache (a fill can race
    // the first read and drop it there).
    assert_eq!(follow(&client, &b, &code).await, StatusCode::FOUND);

    // Redis hangs (it keeps its data). A's next Redis call times out, which
    // starts A's one-second pause from Redis, so the announcement of the
    // patch below is never even sent.
    redis.freeze();
    assert_eq!(
        follow(&client, &a, "never-created").await,
        StatusCode::NOT_FOUND
    );
    let patch = admin(
        &client,
        reqwest::Method::PATCH,
        &a,
        &format!("/api/v1/links/{code}"),
    )
    .await
    .json(&json!({ "url": "https://example.com/new" }))
    .send()
    .await
    .unwrap();
    assert_eq!(patch.status(), StatusCode::OK);
    // Even while Redis hangs, B notices the silence on the invalidation
    // channel and shows the change within about a second.
    let patched_at = Instant::now();
    seen_within(
        &client,
        &b,
        &code,
        (patched_at, Duration::from_millis(1500)),
        |_, location| location == "https://example.com/new",
    )
    .await;
    eprintln!(
        "B saw the patch {:?} after it, with Redis hanging",
        patched_at.elapsed()
    );
    // The readiness probe bounds its Redis check: a hung Redis is named
    // within a second, and the instance stays ready.
    for server in [&a, &b] {
        let asked = Instant::now();
        let (status, body) = readyz(&client, server).await;
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "{:?}",
            asked.elapsed()
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_ne!(body["checks"]["redis"], "ok", "{body}");
        assert!(
            body["degraded"]
                .as_array()
                .is_some_and(|d| d.contains(&json!("redis"))),
            "{body}"
        );
    }
    redis.thaw();

    // Once Redis answers, the stale shared entry is replaced, and B
    // redirects to the new URL.
    let started = Instant::now();
    while redis_get(&redis.url(), &key).is_some_and(|v| v.contains("/old")) {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the stale shared entry outlived Redis's outage"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    seen_within(
        &client,
        &b,
        &code,
        (started, Duration::from_secs(2)),
        |_, location| location == "https://example.com/new",
    )
    .await;
}
