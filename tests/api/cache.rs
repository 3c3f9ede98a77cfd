//! The in-process cache: misses are cached briefly, writes show at once.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{code_of, spawn_app};

#[tokio::test]
async fn a_scan_of_random_codes_reaches_the_store_once_per_code() {
    let app = spawn_app().await;
    let codes: Vec<String> = (0..20).map(|i| format!("scan{i:03}")).collect();
    for _ in 0..10 {
        for code in &codes {
            assert_eq!(app.follow(code).await.status(), StatusCode::NOT_FOUND);
        }
    }
    let (hits, misses) = app.state.links.cache_hits_and_misses();
    assert_eq!(misses, 20, "each unknown code should reach the store once");
    assert_eq!(hits, 180);
}

#[tokio::test]
async fn an_alias_created_after_a_miss_works_at_once() {
    let app = spawn_app().await;
    assert_eq!(app.follow("later").await.status(), StatusCode::NOT_FOUND);
    app.create_with(json!({ "url": "https://example.com/", "alias": "later" }))
        .await;
    assert_eq!(app.follow("later").await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn patch_and_delete_take_effect_on_the_next_request() {
    let app = spawn_app().await;
    let code = code_of(&app.create("https://example.com/before").await);
    assert_eq!(
        app.follow(&code).await.headers()["location"],
        "https://example.com/before"
    );

    app.patch_link(
        &code,
        json!({ "url": "https://example.com/after", "redirect_status": 301 }),
    )
    .await;
    let after = app.follow(&code).await;
    assert_eq!(after.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(after.headers()["location"], "https://example.com/after");

    // Two clicks so far (one may still be buffered): a cap of 3 leaves one.
    app.patch_link(&code, json!({ "max_clicks": 3 })).await;
    assert_eq!(
        app.follow(&code).await.status(),
        StatusCode::MOVED_PERMANENTLY
    );
    assert_eq!(app.follow(&code).await.status(), StatusCode::GONE);
    app.patch_link(&code, json!({ "max_clicks": null })).await;
    assert_eq!(
        app.follow(&code).await.status(),
        StatusCode::MOVED_PERMANENTLY
    );

    app.delete_link(&code).await;
    assert_eq!(app.follow(&code).await.status(), StatusCode::GONE);
}

#[tokio::test]
async fn a_cached_hit_does_not_touch_the_store() {
    let app = spawn_app().await;
    let code = code_of(&app.create("https://example.com/").await);
    for _ in 0..50 {
        assert_eq!(app.follow(&code).await.status(), StatusCode::FOUND);
    }
    let (hits, misses) = app.state.links.cache_hits_and_misses();
    assert_eq!((hits, misses), (50, 0));
}

#[tokio::test]
async fn lookups_are_cached_while_other_links_are_being_created() {
    let app = spawn_app().await;
    let mut codes = Vec::new();
    for i in 0..30 {
        codes.push(code_of(
            &app.create(&format!("https://example.com/read/{i}")).await,
        ));
    }
    app.state.links.cache().invalidate_all();
    let writing = std::sync::atomic::AtomicBool::new(true);
    let writers = futures::future::join_all((0..8).map(|w| {
        let (app, writing) = (&app, &writing);
        async move {
            let mut n = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                app.create(&format!("https://example.com/write/{w}/{n}"))
                    .await;
                n += 1;
            }
        }
    }));
    let readers = async {
        let (_, misses_before) = app.state.links.cache_hits_and_misses();
        for code in &codes {
            for _ in 0..3 {
                assert_eq!(app.follow(code).await.status(), StatusCode::FOUND);
            }
        }
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
        let (_, misses_after) = app.state.links.cache_hits_and_misses();
        misses_after - misses_before
    };
    let (misses, _) = tokio::join!(readers, writers);
    // One store read per link; a write to another code may drop a fill
    // only when both share one of 1,024 stripes.
    assert!(
        misses <= 32,
        "{misses} store reads for 30 links read 3 times each"
    );
}
