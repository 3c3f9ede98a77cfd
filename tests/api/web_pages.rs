//! The pages' content and rules over HTTP (tests/ui drives them in a real
//! browser): shortening with and without sign-in, the strict CSP and no
//! third-party origin, whose links a visitor sees and may change, a
//! link's analytics, edits through the API's validators, and bad input.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Page};
use crate::helpers::{spawn_app, spawn_app_with, TestApp, ADMIN_TOKEN};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn key_for(app: &TestApp, user: &str, scopes: Value) -> String {
    app.put_user(user).await;
    app.issue_key(user, json!({ "scopes": scopes })).await["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every `src`/`href`/`action` of a page points at this site.
fn assert_same_origin(page: &Page, what: &str) {
    for attr in ["src=\"", "href=\"", "action=\""] {
        for (i, _) in page.body.match_indices(attr) {
            let value = &page.body[i + attr.len()..];
            let value = &value[..value.find('"').unwrap()];
            let external = value.starts_with("http") || value.starts_with("//");
            // The only absolute URLs are the link's own target, shown as
            // a link on its page, and the short URL itself.
            let allowed = value.starts_with("https://example.com/");
            assert!(!external || allowed, "{what}: {attr}{value}");
        }
    }
}

#[tokio::test]
async fn every_page_has_a_strict_csp_and_only_this_sites_assets() {
    let app = spawn_app().await;
    let protected = app
        .create_with(json!({"url": "https://example.com/secret", "password": "open sesame"}))
        .await;
    let code = protected["code"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN_TOKEN).await;
    for path in [
        "/",
        "/ui/links",
        &format!("/ui/links/{code}"),
        &format!("/ui/links/{code}/edit"),
        "/ui/admin",
        &format!("/{code}"),
        "/ui/no-such-page",
    ] {
        let page = browser.get(path).await;
        assert!(
            page.headers.contains_key("content-security-policy"),
            "{path}"
        );
        // A protected link's form posts to its redirect, which may lead to
        // any site (browsers check form-action on the redirect too).
        let csp = if *path == format!("/{code}") {
            CSP.replace("form-action 'self'", "form-action 'self' http: https:")
        } else {
            CSP.to_owned()
        };
        assert_eq!(
            page.headers["content-security-policy"],
            csp.as_str(),
            "{path}"
        );
        assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(page.headers["cache-control"], "no-store", "{path}");
        assert!(
            !page.body.contains("<script>") && !page.body.contains("style="),
            "{path}"
        );
        assert_same_origin(&page, path);
    }
    let login = Browser::new(&app).get("/ui/login").await;
    assert_eq!(login.headers["content-security-policy"], CSP);
    assert_same_origin(&login, "/ui/login");
    // The assets the layout links are compiled in and cached by hash.
    let layout = browser.get("/").await.body;
    for (name, kind) in [
        ("app.css", "text/css"),
        ("app.js", "text/javascript"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let start = layout.find(&format!("/ui/static/{name}?v=")).expect(name);
        let url = &layout[start..start + layout[start..].find('"').unwrap()];
        let asset = app.anon(Method::GET, url).send().await.unwrap();
        assert_eq!(asset.status(), StatusCode::OK, "{url}");
        assert!(asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(kind));
        assert!(asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let stale = app
            .anon(Method::GET, &format!("/ui/static/{name}?v=old"))
            .send()
            .await
            .unwrap();
        assert_eq!(stale.headers()["cache-control"], "public, no-cache");
    }
    let missing = app
        .anon(Method::GET, "/ui/static/../Cargo.toml")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn shortening_shows_the_link_its_qr_and_every_bad_field() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let made = browser
        .submit(
            "/",
            "/",
            &[
                ("url", "https://example.com/a/b?c=d&e=f"),
                ("alias", "launch"),
                ("expires", "7d"),
                ("max_clicks", "3"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    for part in [
        "value=\"https://sho.rt/launch\"",
        "/launch/qr?format=svg",
        "/ui/links/launch",
        "https://example.com/a/b?c=d&#38;e=f",
        "Click limit",
    ] {
        assert!(made.body.contains(part), "{part}");
    }
    let link: Value = app.get_link("launch").await.json().await.unwrap();
    assert_eq!(link["max_clicks"], 3);
    assert!(link["expires_at"].is_string() && link["owner"].is_null());

    // Every problem at once, next to its field, the form kept; nothing made.
    let bad = browser
        .submit(
            "/",
            "/",
            &[
                ("url", "javascript:alert(1)"),
                ("alias", "a b"),
                ("expires", "forever"),
                ("max_clicks", "many"),
                ("password", "abc"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    for id in [
        "url-error",
        "alias-error",
        "expires-error",
        "max-error",
        "password-error",
    ] {
        assert!(
            bad.body.contains(&format!("id=\"{id}\"")),
            "{id}: {}",
            bad.body
        );
    }
    let again = bad;
    assert!(again.body.contains("value=\"a b\""), "the alias is kept");
    assert!(
        !again.body.contains("value=\"abc\""),
        "the password is not echoed"
    );
    let taken = browser
        .submit(
            "/",
            "/",
            &[("url", "https://example.com/"), ("alias", "launch")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(taken.body.contains("that alias is taken"));
    let all: Value = app
        .admin(Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn without_anonymous_links_the_page_asks_to_sign_in() {
    let app = spawn_app_with(|c| c.allow_anonymous = Some(false)).await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/").await;
    assert!(page.body.contains("Sign in to shorten links"));
    assert!(!page.body.contains("name=\"url\""));
    let csrf = browser.get("/ui/login").await.csrf();
    let refused = browser
        .post("/", &[("csrf", &csrf), ("url", "https://example.com/")])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // A key without links:write may sign in, but not create.
    let reader = key_for(&app, "reader", json!(["links:read"])).await;
    browser.sign_in(&reader).await;
    let denied = browser
        .submit("/", "/", &[("url", "https://example.com/")])
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.body.contains("links:write"));
    let writer = key_for(&app, "writer", json!(["links:write"])).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&writer).await;
    let made = browser
        .submit("/", "/", &[("url", "https://example.com/mine")])
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let items: Value = app
        .admin(Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items["items"][0]["owner"], "writer");
}

#[tokio::test]
async fn creating_from_the_page_is_rate_limited_per_client() {
    let app = spawn_app_with(|c| {
        c.create_rate = Some(0.001);
        c.create_burst = Some(2);
    })
    .await;
    let mut browser = Browser::new(&app);
    for i in 0..2 {
        let url = format!("https://example.com/{i}");
        assert_eq!(
            browser.submit("/", "/", &[("url", &url)]).await.status,
            StatusCode::CREATED
        );
    }
    let limited = browser
        .submit("/", "/", &[("url", "https://example.com/3")])
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    assert!(limited.body.contains("too quickly"));
    assert!(
        limited.body.contains("value=\"https://example.com/3\""),
        "the form is kept"
    );
}
