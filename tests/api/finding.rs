//! Finding links: tags (`?tag=`), substring search (`?q=`) and sorting
//! (`?sort=`), alone and together, with cursor pages; bad parameters are
//! 400 and bad tags 422.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn list(app: &TestApp, query: &str) -> Value {
    let response = app
        .admin(Method::GET, &format!("/api/v1/links{query}"))
        .send()
        .await
        .expect("list");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn codes(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| l["code"].as_str().expect("code").to_owned())
        .collect()
}

async fn status_of(app: &TestApp, query: &str) -> StatusCode {
    app.admin(Method::GET, &format!("/api/v1/links{query}"))
        .send()
        .await
        .expect("list")
        .status()
}

#[tokio::test]
async fn tags_are_kept_changed_and_filtered_on() {
    let app = spawn_app().await;
    let a = app
        .create_with(json!({"url": "https://example.com/a", "alias": "tag-a", "tags": ["launch", "q3:2026", "launch"]}))
        .await;
    assert_eq!(a["tags"], json!(["launch", "q3:2026"]));
    app.create_with(json!({"url": "https://example.com/b", "alias": "tag-b", "tags": ["other"]}))
        .await;
    app.create_with(json!({"url": "https://example.com/c", "alias": "tag-c", "tags": ["launch"]}))
        .await;
    app.create_with(json!({"url": "https://example.com/d", "alias": "tag-d"}))
        .await;
    assert_eq!(codes(&list(&app, "?tag=launch").await), ["tag-c", "tag-a"]);
    assert_eq!(codes(&list(&app, "?tag=q3:2026").await), ["tag-a"]);
    assert_eq!(
        codes(&list(&app, "?tag=nothing").await),
        Vec::<String>::new()
    );
    let shown: Value = app
        .admin(Method::GET, "/api/v1/links/tag-d")
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["tags"], json!([]));

    let patch = |body: Value| {
        app.admin(Method::PATCH, "/api/v1/links/tag-a")
            .json(&body)
            .send()
    };
    let patched: Value = patch(json!({"tags": ["launch", "renamed"]}))
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(patched["tags"], json!(["launch", "renamed"]));
    assert_eq!(
        codes(&list(&app, "?tag=q3:2026").await),
        Vec::<String>::new()
    );
    assert_eq!(codes(&list(&app, "?tag=renamed").await), ["tag-a"]);
    assert_eq!(codes(&list(&app, "?tag=launch").await), ["tag-c", "tag-a"]);
    // A patch without tags keeps them; null removes them.
    let kept: Value = patch(json!({"max_clicks": 5}))
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(kept["tags"], json!(["launch", "renamed"]));
    let cleared: Value = patch(json!({"tags": null}))
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(cleared["tags"], json!([]));
    assert_eq!(codes(&list(&app, "?tag=launch").await), ["tag-c"]);

    let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    for bad in [
        json!(eleven),
        json!(["a b"]),
        json!([""]),
        json!(["x".repeat(41)]),
        json!("launch"),
    ] {
        let response = app
            .create_link(json!({"url": "https://example.com/", "tags": bad}))
            .await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert!(matches!(status.as_u16(), 400 | 422), "{bad}: {status}");
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_eq!(body["errors"][0]["field"], "tags", "{body}");
        }
    }
    for bad in ["?tag=a%20b", "?tag=", &format!("?tag={}", "x".repeat(41))] {
        assert_eq!(status_of(&app, bad).await, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn search_finds_substrings_of_urls_and_codes_ignoring_case() {
    let app = spawn_app().await;
    for (alias, url) in [
        ("Summer-Promo", "https://shop.example/spring"),
        ("plain-one", "https://shop.example/Big-SALE/today"),
        ("plain-two", "https://example.org/100%_off"),
        ("plain-three", "https://example.org/1000-off"),
    ] {
        app.create_with(json!({"url": url, "alias": alias})).await;
    }
    assert_eq!(codes(&list(&app, "?q=sale").await), ["plain-one"]);
    assert_eq!(codes(&list(&app, "?q=PROMO").await), ["Summer-Promo"]);
    assert_eq!(
        codes(&list(&app, "?q=shop.example").await),
        ["plain-one", "Summer-Promo"]
    );
    // `%` and `_` are text, not wildcards; so are quotes.
    assert_eq!(codes(&list(&app, "?q=0%25_o").await), ["plain-two"]);
    assert_eq!(
        codes(&list(&app, "?q=%22%27%22").await),
        Vec::<String>::new()
    );
    assert_eq!(codes(&list(&app, "?q=nowhere").await), Vec::<String>::new());
    assert_eq!(
        codes(&list(&app, "?q=example.org&limit=1").await),
        ["plain-three"]
    );
    let first = list(&app, "?q=example.org&limit=1").await;
    let cursor = first["next_cursor"].as_str().expect("cursor");
    assert_eq!(
        codes(&list(&app, &format!("?q=example.org&limit=1&cursor={cursor}")).await),
        ["plain-two"]
    );
    // A changed URL is found by its new text only; a deleted link not at all.
    app.admin(Method::PATCH, "/api/v1/links/plain-one")
        .json(&json!({"url": "https://shop.example/clearance"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(codes(&list(&app, "?q=sale").await), Vec::<String>::new());
    assert_eq!(codes(&list(&app, "?q=clearance").await), ["plain-one"]);
    app.admin(Method::DELETE, "/api/v1/links/plain-one")
        .send()
        .await
        .expect("delete");
    assert_eq!(
        codes(&list(&app, "?q=clearance").await),
        Vec::<String>::new()
    );
    for bad in [
        "?q=ab",
        "?q=",
        &format!("?q={}", "x".repeat(201)),
        "?q=ab%00c",
    ] {
        assert_eq!(status_of(&app, bad).await, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn links_sort_by_clicks_and_date_in_pages() {
    let app = spawn_app().await;
    for (alias, clicks) in [("sort-a", 3), ("sort-b", 1), ("sort-c", 0), ("sort-d", 2)] {
        app.create_with(json!({"url": "https://example.com/", "alias": alias, "tags": ["sorted"]}))
            .await;
        for _ in 0..clicks {
            assert_eq!(app.follow(alias).await.status(), StatusCode::FOUND);
        }
    }
    // A capped link's clicks count too.
    app.create_with(json!({"url": "https://example.com/", "alias": "sort-e", "max_clicks": 9, "tags": ["sorted"]})).await;
    for _ in 0..4 {
        assert_eq!(app.follow("sort-e").await.status(), StatusCode::FOUND);
    }
    app.state.links.flush_clicks().await.expect("flush");
    let most = ["sort-e", "sort-a", "sort-d", "sort-b", "sort-c"];
    assert_eq!(codes(&list(&app, "?sort=-clicks").await), most);
    let mut least = most;
    least.reverse();
    assert_eq!(codes(&list(&app, "?sort=clicks").await), least);
    assert_eq!(
        codes(&list(&app, "?sort=created").await),
        ["sort-a", "sort-b", "sort-c", "sort-d", "sort-e"]
    );
    assert_eq!(
        codes(&list(&app, "?sort=-created").await),
        ["sort-e", "sort-d", "sort-c", "sort-b", "sort-a"]
    );
    // One link a page, by clicks, through the cursor.
    let mut seen = Vec::new();
    let mut query = "?sort=-clicks&tag=sorted&limit=1".to_owned();
    loop {
        let page = list(&app, &query).await;
        seen.extend(codes(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?sort=-clicks&tag=sorted&limit=1&cursor={cursor}"),
            None => break,
        }
        assert!(seen.len() <= 5, "{seen:?}");
    }
    assert_eq!(seen, most);
    let view: Value = list(&app, "?sort=-clicks&limit=1").await;
    assert_eq!(view["items"][0]["clicks"], 4);
    for bad in [
        "?sort=clicks,created",
        "?sort=+clicks",
        "?sort=",
        "?sort=CLICKS",
    ] {
        assert_eq!(status_of(&app, bad).await, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn a_key_finds_only_its_own_links() {
    let app = spawn_app().await;
    for id in ["ann", "ben"] {
        app.put_user(id).await;
    }
    let ann = app.issue_key("ann", json!({})).await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let ben = app.issue_key("ben", json!({})).await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    for (key, alias) in [(&ann, "ann-deal"), (&ben, "ben-deal")] {
        let response = app
            .with_token(key, Method::POST, "/api/v1/links")
            .json(&json!({"url": "https://example.com/deal", "alias": alias, "tags": ["deal"]}))
            .send()
            .await
            .expect("create");
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for query in [
        "?q=deal",
        "?tag=deal",
        "?sort=-clicks",
        "?q=deal&tag=deal&sort=clicks",
    ] {
        let page: Value = app
            .with_token(&ann, Method::GET, &format!("/api/v1/links{query}"))
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        assert_eq!(codes(&page), ["ann-deal"], "{query}");
    }
    assert_eq!(
        codes(&list(&app, "?q=deal&sort=created").await),
        ["ann-deal", "ben-deal"]
    );
}
