//! The web interface's sessions and forms, attacked: cookie flags, CSRF
//! tokens and cross-site posts, guessed keys limited like the API's, and
//! sessions that end when their key is revoked, when signed out, or when
//! the admin token changes.

use reqwest::StatusCode;
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::{spawn_app, spawn_app_with, ADMIN_TOKEN};

#[tokio::test]
async fn signing_in_sets_a_strict_cookie_and_signing_out_ends_the_session() {
    let app = spawn_app().await;
    app.put_user("ada").await;
    let key = app.issue_key("ada", json!({})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = Browser::new(&app);
    let answer = browser.sign_in(&key).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/ui/links");
    let cookie = answer
        .set_cookie("shorty_session")
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    let secret = browser.cookies["shorty_session"].clone();
    let links = browser.get("/ui/links").await;
    assert_eq!(links.status, StatusCode::OK);
    assert!(links.body.contains("My links") && links.body.contains(">ada<"));

    let csrf = links.csrf();
    let out = browser.post("/ui/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!browser.cookies.contains_key("shorty_session"));
    // The old cookie, replayed, is no session any more.
    browser.cookies.insert("shorty_session".into(), secret);
    let after = browser.get("/ui/links").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), "/ui/login?next=%2Fui%2Flinks");
}

#[tokio::test]
async fn forms_need_this_visitors_token_and_this_site() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let url = ("url", "https://example.com/csrf");
    // No cookie at all: refused, nothing created.
    let bare = browser
        .post("/", &[("csrf", "x".repeat(43).as_str()), url])
        .await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
    let token = browser.get("/").await.csrf();
    for wrong in ["", "short", &"A".repeat(43), &token[1..]] {
        let page = browser.post("/", &[("csrf", wrong), url]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{wrong:?}");
        assert!(page.body.contains("reload the page"));
    }
    // The right token from another site is refused too.
    browser.extra = vec![("sec-fetch-site", "cross-site".to_owned())];
    let cross = browser.post("/", &[("csrf", &token), url]).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    browser.extra = vec![("sec-fetch-site", "same-origin".to_owned())];
    let ok = browser.post("/", &[("csrf", &token), url]).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let listed = app
        .admin(reqwest::Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");

    // Signed in, the anonymous token no longer works: forms carry the
    // session's own.
    browser.extra.clear();
    assert_eq!(
        browser.sign_in(ADMIN_TOKEN).await.status,
        StatusCode::SEE_OTHER
    );
    let stale = browser.post("/ui/logout", &[("csrf", &token)]).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert!(browser.cookies.contains_key("shorty_session"));
}

#[tokio::test]
async fn guessed_keys_are_limited_like_the_api() {
    let app = spawn_app_with(|c| {
        c.auth_failure_rate = Some(0.001);
        c.auth_failure_burst = Some(3);
    })
    .await;
    app.put_user("ada").await;
    let key = app.issue_key("ada", json!({})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = Browser::new(&app);
    for i in 0..3 {
        let guess = format!("sk_{}", "x".repeat(42) + &i.to_string());
        let page = browser.sign_in(&guess).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("not a valid key"));
        assert!(page.body.contains("aria-invalid=\"true\""));
    }
    let limited = browser.sign_in("sk_another-guess").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    // The right key is refused too while the bucket is empty, so a
    // guesser learns nothing from the answer ...
    let right = browser.sign_in(&key).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!browser.cookies.contains_key("shorty_session"));
    // ... and the API shares the bucket.
    let api = app
        .with_token(&key, reqwest::Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_revoked_key_ends_its_sessions_at_once() {
    let app = spawn_app().await;
    app.put_user("ada").await;
    let issued = app.issue_key("ada", json!({"name": "laptop"})).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(issued["key"].as_str().unwrap()).await;
    assert_eq!(browser.get("/ui/links").await.status, StatusCode::OK);
    let revoke = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/api/v1/users/ada/keys/{}", issued["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let after = browser.get("/ui/links").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location().starts_with("/ui/login"));
    // The dead session's cookie is cleared.
    assert!(!browser.cookies.contains_key("shorty_session"));
}

#[tokio::test]
async fn a_new_admin_token_ends_admin_sessions() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN_TOKEN).await;
    let session = browser.cookies["shorty_session"].clone();
    assert_eq!(browser.get("/ui/admin").await.status, StatusCode::OK);
    // A second instance on the same store with another admin token does
    // not honour the session; one with the same token does.
    let url = app.database_url();
    let rotated = spawn_app_with(|c| {
        c.database_url = Some(url.clone());
        c.admin_token = Some("a-brand-new-admin-token-4567".into());
    })
    .await;
    let same = spawn_app_with(|c| c.database_url = Some(url.clone())).await;
    for (app, status) in [(&rotated, StatusCode::SEE_OTHER), (&same, StatusCode::OK)] {
        let mut other = Browser::new(app);
        other
            .cookies
            .insert("shorty_session".into(), session.clone());
        assert_eq!(other.get("/ui/admin").await.status, status);
    }
}

#[tokio::test]
async fn only_the_admin_reaches_the_admin_pages() {
    let app = spawn_app().await;
    app.put_user("ada").await;
    let key = app.issue_key("ada", json!({})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut anonymous = Browser::new(&app);
    let page = anonymous.get("/ui/admin/users/ada").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        "/ui/login?next=%2Fui%2Fadmin%2Fusers%2Fada"
    );
    let mut ada = Browser::new(&app);
    ada.sign_in(&key).await;
    for path in [
        "/ui/admin",
        "/ui/admin/users/ada",
        "/ui/admin/users/ada/delete",
    ] {
        let page = ada.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("admin only"), "{path}");
    }
    // Nor can she post to them with her own (valid) token.
    let csrf = ada.get("/ui/links").await.csrf();
    let issue = ada
        .post(
            "/ui/admin/users/ada/keys",
            &[("csrf", &csrf), ("name", "mine")],
        )
        .await;
    assert_eq!(issue.status, StatusCode::FORBIDDEN);
    let keys = app
        .admin(reqwest::Method::GET, "/api/v1/users/ada/keys")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(keys["items"].as_array().unwrap().len(), 1);
}
