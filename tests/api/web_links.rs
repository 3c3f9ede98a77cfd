//! The link pages over HTTP: whose links a visitor sees and may change,
//! previews that never show a guarded target, a link's analytics, edits
//! and deletes through the API's own checks, the list's search, tags,
//! order and pages, and bad input answered with pages, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::helpers::{spawn_app, TestApp, ADMIN_TOKEN};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

async fn user_key(app: &TestApp, user: &str) -> String {
    app.put_user(user).await;
    app.issue_key(user, json!({})).await["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn create_as(app: &TestApp, key: &str, body: Value) -> String {
    let made: Value = app
        .with_token(key, Method::POST, "/api/v1/links")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    made["code"].as_str().expect("created").to_owned()
}

#[tokio::test]
async fn visitors_see_and_change_only_their_own_links() {
    let app = spawn_app().await;
    let (ada, bob) = (user_key(&app, "ada").await, user_key(&app, "bob").await);
    let mine = create_as(
        &app,
        &ada,
        json!({"url": "https://example.com/ada-open", "tags": ["q3"]}),
    )
    .await;
    let theirs = create_as(
        &app,
        &bob,
        json!({"url": "https://example.com/bob-secret", "password": "hunter22"}),
    )
    .await;
    let capped = create_as(
        &app,
        &bob,
        json!({"url": "https://example.com/bob-once", "max_clicks": 1}),
    )
    .await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&ada).await;
    let list = browser.get("/ui/links").await;
    assert!(list.body.contains(&format!("/ui/links/{mine}")));
    assert!(!list.body.contains(&theirs) && !list.body.contains("bob-"));
    // Bob's links: a preview, without the guarded targets, no edit.
    for code in [&theirs, &capped] {
        let page = browser.get(&format!("/ui/links/{code}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("bob-"), "{code} leaks its target");
        assert!(!page.body.contains("/edit\"") && page.body.contains("belongs to someone else"));
        let edit = browser.get(&format!("/ui/links/{code}/edit")).await;
        assert_eq!(edit.status, StatusCode::FORBIDDEN);
        let csrf = browser.get("/ui/links").await.csrf();
        let delete = browser
            .post(&format!("/ui/links/{code}/delete"), &[("csrf", &csrf)])
            .await;
        assert_eq!(delete.status, StatusCode::FORBIDDEN);
        let save = browser
            .post(
                &format!("/ui/links/{code}/edit"),
                &[
                    ("csrf", &csrf),
                    ("url", "https://example.com/hijack"),
                    ("redirect_status", "302"),
                ],
            )
            .await;
        assert_eq!(save.status, StatusCode::FORBIDDEN);
    }
    let still: Value = app.get_link(&theirs).await.json().await.unwrap();
    assert_eq!(still["url"], "https://example.com/bob-secret");
    // Anyone may look at an open link's preview; the admin sees everything.
    let mut stranger = Browser::new(&app);
    let open = stranger.get(&format!("/ui/links/{mine}")).await;
    assert!(
        open.body.contains("https://example.com/ada-open")
            && open.body.contains("Sign in as its owner")
    );
    let mut admin = Browser::new(&app);
    admin.sign_in(ADMIN_TOKEN).await;
    let all = admin.get("/ui/links?owner=bob").await;
    assert!(all.body.contains(&theirs) && all.body.contains(&capped) && !all.body.contains(&mine));
    let full = admin.get(&format!("/ui/links/{theirs}")).await;
    assert!(full.body.contains("https://example.com/bob-secret") && full.body.contains("/edit\""));
}

#[tokio::test]
async fn a_links_page_shows_its_analytics_for_the_chosen_days() {
    let app = spawn_app().await;
    let ada = user_key(&app, "ada").await;
    let code = create_as(&app, &ada, json!({"url": "https://example.com/launch"})).await;
    for (ua, referer) in [
        (CHROME, "https://news.example.com/story"),
        (CHROME, "https://news.example.com/other"),
        ("Slackbot-LinkExpanding 1.0", ""),
    ] {
        let mut request = app
            .anon(Method::GET, &format!("/{code}"))
            .header("user-agent", ua);
        if !referer.is_empty() {
            request = request.header("referer", referer);
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::FOUND);
    }
    app.state.links.flush_clicks().await.expect("flush");
    let mut browser = Browser::new(&app);
    browser.sign_in(&ada).await;
    let page = browser.get(&format!("/ui/links/{code}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for part in [
        "<svg class=\"chart\"",
        "3 clicks (2 people, 1 bots)",
        "news.example.com",
        "Chrome",
        "Slackbot-LinkExpanding",
        "desktop",
        ">2</span><span class=\"what\">by people",
    ] {
        assert!(page.body.contains(part), "{part} missing");
    }
    let today = chrono::Utc::now().date_naive();
    let week = format!(
        "/ui/links/{code}?from={}&to={today}",
        today - chrono::Days::new(6)
    );
    let days = browser.get(&week).await;
    assert_eq!(days.body.matches("<g><title>").count(), 7);
    // A bad range says so next to the dates and shows the default.
    for bad in [
        "from=2026-13-01",
        "from=2026-02-01&to=2026-01-01",
        "from=2000-01-01&to=2026-01-01",
        "to=yesterday",
    ] {
        let page = browser.get(&format!("/ui/links/{code}?{bad}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(page.body.contains("id=\"range-error\""), "{bad}");
        assert_eq!(page.body.matches("<g><title>").count(), 30, "{bad}");
    }
}

#[tokio::test]
async fn edits_go_through_the_apis_checks_and_deletes_ask_first() {
    let app = spawn_app().await;
    let ada = user_key(&app, "ada").await;
    let code = create_as(&app, &ada, json!({"url": "https://example.com/old"})).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&ada).await;
    let edit = format!("/ui/links/{code}/edit");
    let bad = browser
        .submit(
            &edit,
            &edit,
            &[
                ("url", "ftp://example.com/"),
                ("expires_at", "2001-01-01T00:00"),
                ("max_clicks", "0"),
                ("redirect_status", "303"),
                ("tags", "ok, not ok!"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for id in [
        "url-error",
        "expires-error",
        "max-error",
        "status-error",
        "tags-error",
    ] {
        assert!(bad.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    let unchanged: Value = app.get_link(&code).await.json().await.unwrap();
    assert_eq!(unchanged["url"], "https://example.com/old");

    let saved = browser
        .submit(
            &edit,
            &edit,
            &[
                ("url", "https://example.com/new"),
                ("expires_at", ""),
                ("max_clicks", "5"),
                ("redirect_status", "301"),
                ("tags", "launch, q3"),
                ("password", "open sesame"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), format!("/ui/links/{code}?saved=1"));
    let link: Value = app.get_link(&code).await.json().await.unwrap();
    assert_eq!(
        (
            link["url"].as_str(),
            link["max_clicks"].as_i64(),
            link["redirect_status"].as_i64()
        ),
        (Some("https://example.com/new"), Some(5), Some(301))
    );
    assert_eq!(link["tags"], json!(["launch", "q3"]));
    assert_eq!(link["has_password"], true);
    let removed = browser
        .submit(
            &edit,
            &edit,
            &[
                ("url", "https://example.com/new"),
                ("max_clicks", ""),
                ("redirect_status", "302"),
                ("tags", ""),
                ("remove_password", "on"),
            ],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let link: Value = app.get_link(&code).await.json().await.unwrap();
    assert_eq!(
        (
            link["has_password"].as_bool(),
            link["max_clicks"].is_null(),
            link["tags"].clone()
        ),
        (Some(false), true, json!([]))
    );
    assert_eq!(
        app.follow(&code).await.headers()["location"],
        "https://example.com/new"
    );

    let confirm = browser.get(&format!("/ui/links/{code}/delete")).await;
    assert!(confirm.body.contains("cannot be undone"));
    assert_eq!(
        app.follow(&code).await.status(),
        StatusCode::FOUND,
        "asking deletes nothing"
    );
    let gone = browser
        .post(
            &format!("/ui/links/{code}/delete"),
            &[("csrf", &confirm.csrf())],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(gone.location(), format!("/ui/links?deleted={code}"));
    assert_eq!(app.follow(&code).await.status(), StatusCode::GONE);
    assert_eq!(
        browser.get(&format!("/ui/links/{code}")).await.status,
        StatusCode::GONE
    );
}

#[tokio::test]
async fn the_list_finds_by_text_and_tag_in_order_a_page_at_a_time() {
    let app = spawn_app().await;
    let ada = user_key(&app, "ada").await;
    for i in 0..30 {
        let tags = if i % 3 == 0 {
            json!(["third"])
        } else {
            json!([])
        };
        create_as(
            &app,
            &ada,
            json!({"url": format!("https://example.com/item-{i:02}"), "tags": tags}),
        )
        .await;
    }
    let mut browser = Browser::new(&app);
    browser.sign_in(&ada).await;
    let first = browser.get("/ui/links").await;
    assert_eq!(first.body.matches("class=\"target\"").count(), 25);
    assert!(first.body.contains("item-29") && !first.body.contains("item-04"));
    let start = first
        .body
        .find("rel=\"next\"")
        .map(|i| first.body[..i].rfind("href=\"").unwrap() + 6)
        .expect("a next page");
    let next =
        first.body[start..start + first.body[start..].find('"').unwrap()].replace("&amp;", "&");
    let second = browser.get(&next).await;
    assert_eq!(second.body.matches("class=\"target\"").count(), 5);
    assert!(second.body.contains("item-00") && !second.body.contains("rel=\"next\""));
    let tagged = browser.get("/ui/links?tag=third&sort=created").await;
    assert_eq!(tagged.body.matches("class=\"target\"").count(), 10);
    assert!(tagged.body.find("item-00").unwrap() < tagged.body.find("item-27").unwrap());
    let found = browser.get("/ui/links?q=item-1").await;
    assert_eq!(found.body.matches("class=\"target\"").count(), 10);
    // Bad queries are answered next to their field, with a 400.
    for (query, field) in [
        ("q=ab", "q-error"),
        ("tag=no%20spaces", "tag-error"),
        ("cursor=garbage", "reload"),
    ] {
        let page = browser.get(&format!("/ui/links?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            page.body.contains(field) || page.body.contains("cursor is not one"),
            "{query}"
        );
    }
    let long = format!("/ui/links?q={}", "x".repeat(201));
    assert_eq!(browser.get(&long).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_requests_get_pages_never_a_500() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/").await.csrf();
    let huge = "x".repeat(100 * 1024);
    let too_big = browser.post("/", &[("csrf", &csrf), ("url", &huge)]).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_big.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let not_a_form = app
        .anon(Method::POST, "/")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_a_form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for path in [
        "/ui/nope",
        "/ui/links/no-such-code",
        "/ui/links/%FF%FE",
        "/ui/admin/users/%FF",
    ] {
        let page = browser.get(path).await;
        assert!(
            page.status == StatusCode::NOT_FOUND || page.status == StatusCode::SEE_OTHER,
            "{path}: {}",
            page.status
        );
    }
    // A forged or huge cookie is no session, and no crash.
    browser
        .cookies
        .insert("shorty_session".into(), "A".repeat(43));
    assert_eq!(browser.get("/ui/links").await.status, StatusCode::SEE_OTHER);
    browser
        .cookies
        .insert("shorty_session".into(), "B".repeat(9000));
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    let next = browser.get("/ui/login?next=https://evil.example/").await;
    assert!(next.body.contains("name=\"next\" value=\"/ui/links\""));
}
