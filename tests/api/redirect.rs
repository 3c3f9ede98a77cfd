//! `GET`/`HEAD /{code}`: statuses, headers, gone links and click counting.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use shorty::startup::CLICK_FLUSH_EVERY;

use crate::helpers::{code_of, problem, spawn_app};

#[tokio::test]
async fn each_status_gets_its_cache_control() {
    let app = spawn_app().await;
    for (status, cache_control) in [
        (301, "public, max-age=86400"),
        (302, "private, no-store"),
        (307, "private, no-store"),
        (308, "public, max-age=86400"),
    ] {
        let link = app
            .create_with(json!({ "url": "https://example.com/x", "redirect_status": status }))
            .await;
        let response = app.follow(&code_of(&link)).await;
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["cache-control"], cache_control);
        assert_eq!(response.headers()["location"], "https://example.com/x");
        assert!(response.bytes().await.unwrap().len() <= 16);
    }
}

#[tokio::test]
async fn location_is_the_stored_url_byte_for_byte() {
    let app = spawn_app().await;
    for url in [
        "https://example.com/a?b=c&d=%20e#frag",
        "https://example.com/p%C3%A9?q=%E2%9C%93",
        "http://192.0.2.10:8081/x;y?z",
        "https://xn--bcher-kva.de/",
        "https://example.com/~user/a+b/?empty=&x=1",
    ] {
        let link = app.create(url).await;
        let stored = link["url"].as_str().unwrap().to_owned();
        let response = app.follow(&code_of(&link)).await;
        assert_eq!(response.headers()["location"].as_bytes(), stored.as_bytes());
        // Fresh from the store too, not only from the cache.
        let fresh: Value = app.get_link(&code_of(&link)).await.json().await.unwrap();
        assert_eq!(fresh["url"].as_str().unwrap(), stored);
    }
}

#[tokio::test]
async fn unknown_codes_are_404_and_head_works() {
    let app = spawn_app().await;
    problem(app.follow("nosuchcode").await, StatusCode::NOT_FOUND).await;
    let code = code_of(&app.create("https://example.com/").await);
    let head = app.head(&code).await;
    assert_eq!(head.status(), StatusCode::FOUND);
    assert_eq!(head.headers()["location"], "https://example.com/");
    assert_eq!(app.head("nosuchcode").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn expired_and_deleted_links_are_410() {
    let app = spawn_app().await;
    let short = code_of(
        &app.create_with(json!({ "url": "https://example.com/", "ttl": 1 }))
            .await,
    );
    assert_eq!(app.follow(&short).await.status(), StatusCode::FOUND);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    problem(app.follow(&short).await, StatusCode::GONE).await;
    assert_eq!(app.head(&short).await.status(), StatusCode::GONE);

    let doomed = code_of(&app.create("https://example.com/").await);
    assert_eq!(app.follow(&doomed).await.status(), StatusCode::FOUND);
    app.delete_link(&doomed).await;
    problem(app.follow(&doomed).await, StatusCode::GONE).await;
}

#[tokio::test]
async fn get_counts_clicks_and_head_does_not() {
    let app = spawn_app().await;
    let code = code_of(&app.create("https://example.com/").await);
    for _ in 0..3 {
        app.follow(&code).await;
    }
    for _ in 0..2 {
        app.head(&code).await;
    }
    let link: Value = app.get_link(&code).await.json().await.unwrap();
    assert_eq!(link["clicks"], 3);
}

#[tokio::test]
async fn clicks_reach_the_store_within_one_flush_interval() {
    // The flush interval is at most the spec's one second; allow a little
    // for the flush transaction itself to commit.
    assert!(CLICK_FLUSH_EVERY <= Duration::from_secs(1));
    let app = spawn_app().await;
    let code = code_of(&app.create("https://example.com/").await);
    for _ in 0..4 {
        app.follow(&code).await;
    }
    tokio::time::sleep(CLICK_FLUSH_EVERY + Duration::from_millis(300)).await;
    assert_eq!(app.state.links.pending_clicks(), 0);
    let stored = app
        .state
        .links
        .store()
        .get_link(&code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.clicks, 4);
}

#[tokio::test]
async fn max_clicks_holds_exactly_under_concurrent_clicks() {
    let app = spawn_app().await;
    let code = code_of(
        &app.create_with(json!({ "url": "https://example.com/", "max_clicks": 5 }))
            .await,
    );
    let statuses = app.follow_concurrently(&code, 50).await;
    let redirected = statuses.iter().filter(|s| **s == StatusCode::FOUND).count();
    let gone = statuses.iter().filter(|s| **s == StatusCode::GONE).count();
    assert_eq!((redirected, gone), (5, 45), "{statuses:?}");
    let link: Value = app.get_link(&code).await.json().await.unwrap();
    assert_eq!(link["clicks"], 5);
    assert_eq!(app.head(&code).await.status(), StatusCode::GONE);
}

#[tokio::test]
async fn head_does_not_use_up_a_capped_link_nor_learn_its_target() {
    let app = spawn_app().await;
    let code = code_of(
        &app.create_with(json!({ "url": "https://example.com/", "max_clicks": 1 }))
            .await,
    );
    for _ in 0..3 {
        let head = app.head(&code).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert!(head.headers().get("location").is_none());
    }
    assert_eq!(app.follow(&code).await.status(), StatusCode::FOUND);
    problem(app.follow(&code).await, StatusCode::GONE).await;
}

#[tokio::test]
async fn a_cap_added_later_counts_clicks_still_in_memory() {
    let app = spawn_app().await;
    let code = code_of(&app.create("https://example.com/").await);
    for _ in 0..3 {
        assert_eq!(app.follow(&code).await.status(), StatusCode::FOUND);
    }
    // The three clicks are most likely still buffered; a cap of 5 leaves 2.
    app.patch_link(&code, json!({ "max_clicks": 5 })).await;
    let statuses = app.follow_concurrently(&code, 20).await;
    let redirected = statuses.iter().filter(|s| **s == StatusCode::FOUND).count();
    assert_eq!(redirected, 2, "{statuses:?}");
    let link: Value = app.get_link(&code).await.json().await.unwrap();
    assert_eq!(link["clicks"], 5);
}

#[tokio::test]
async fn cached_redirects_answer_exactly_like_uncached_ones() {
    let app = spawn_app().await;
    let link = app
        .create_with(json!({ "url": "https://example.com/same?a=1", "redirect_status": 308 }))
        .await;
    let code = code_of(&link);
    let cache = app.state.links.cache();
    let follow = |id: &'static str| {
        app.anon(reqwest::Method::GET, &format!("/{code}"))
            .header("x-request-id", id)
            .send()
    };

    // Not cached: through the router and the handler.
    cache.invalidate(&code);
    let (hits, misses) = cache.hits_and_misses();
    let slow = follow("first").await.unwrap();
    assert_eq!(cache.hits_and_misses(), (hits, misses + 1));
    // Cached: answered before the router.
    let fast = follow("second").await.unwrap();
    assert_eq!(cache.hits_and_misses(), (hits + 1, misses + 1));

    for (response, id) in [(&slow, "first"), (&fast, "second")] {
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        let headers = response.headers();
        assert_eq!(headers["location"], "https://example.com/same?a=1");
        assert_eq!(headers["cache-control"], "public, max-age=86400");
        assert_eq!(headers["x-request-id"], id);
        assert_eq!(headers["content-length"], "0");
    }
    let names = |r: &reqwest::Response| {
        let mut names: Vec<String> = r.headers().keys().map(|k| k.to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(names(&slow), names(&fast));

    // HEAD from the cache redirects without counting; both GETs counted.
    assert_eq!(
        app.head(&code).await.status(),
        StatusCode::PERMANENT_REDIRECT
    );
    let shown: Value = app.get_link(&code).await.json().await.unwrap();
    assert_eq!(shown["clicks"], 2);
    // Routes that look like codes are still the router's.
    let health = app
        .anon(reqwest::Method::GET, "/healthz")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_fast_path_answers_only_plain_cached_links() {
    use axum::body::Body;
    use shorty::api::fast_redirect::FastRedirect;
    use tower::ServiceExt as _;

    let app = spawn_app().await;
    let plain = code_of(&app.create("https://example.com/plain").await);
    let capped = code_of(
        &app.create_with(json!({ "url": "https://example.com/c", "max_clicks": 9 }))
            .await,
    );
    let uncached = code_of(&app.create("https://example.com/uncached").await);
    app.follow(&plain).await;
    app.follow(&capped).await;
    app.state.links.cache().invalidate(&uncached);

    // In front of an empty router, whatever the fast path declines is 404.
    let fast_only = FastRedirect::new(std::sync::Arc::clone(&app.state), axum::Router::new());
    let status = |method: &str, path: String| {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let service = fast_only.clone();
        async move { service.oneshot(request).await.unwrap().status() }
    };
    assert_eq!(status("GET", format!("/{plain}")).await, StatusCode::FOUND);
    assert_eq!(status("HEAD", format!("/{plain}")).await, StatusCode::FOUND);
    assert_eq!(
        status("GET", format!("/{plain}?utm=x")).await,
        StatusCode::FOUND
    );
    for declined in [
        ("POST", format!("/{plain}")),
        ("GET", format!("/{plain}/")),
        ("GET", format!("/{capped}")),
        ("GET", format!("/{uncached}")),
        ("GET", "/healthz".to_owned()),
        ("GET", "/nosuchcode".to_owned()),
    ] {
        assert_eq!(
            status(declined.0, declined.1.clone()).await,
            StatusCode::NOT_FOUND,
            "{declined:?}"
        );
    }
    // A redirect rate limit is applied by the router, so it turns the fast
    // path off.
    let limited = crate::helpers::spawn_app_with(|c| c.redirect_rate = Some(1000.0)).await;
    let code = code_of(&limited.create("https://example.com/").await);
    limited.follow(&code).await;
    let fast_only = FastRedirect::new(std::sync::Arc::clone(&limited.state), axum::Router::new());
    let request = axum::http::Request::get(format!("/{code}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        fast_only.oneshot(request).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
