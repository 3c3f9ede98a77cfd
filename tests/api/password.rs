//! Password-protected links: the hash is never shown, the form hides the
//! target, the right password redirects (once per click), a wrong one says
//! so, guessing is limited per client and link, HEAD and the cached fast
//! path reveal nothing, and export/import keeps the protection.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

const TARGET: &str = "https://example.com/secret-target";

async fn unlock(app: &TestApp, code: &str, password: &str, client: &str) -> reqwest::Response {
    app.anon(Method::POST, &format!("/{code}"))
        .header("x-forwarded-for", client)
        .form(&[("password", password)])
        .send()
        .await
        .expect("post")
}

async fn trusting_app() -> TestApp {
    spawn_app_with(|c| {
        c.trusted_proxies = Some(vec!["127.0.0.0/8".into()]);
        c.auth_failure_rate = Some(0.01);
        c.auth_failure_burst = Some(5);
    })
    .await
}

#[tokio::test]
async fn a_protected_link_asks_first_and_redirects_after_the_right_password() {
    let app = trusting_app().await;
    let link = app
        .create_with(json!({"url": TARGET, "password": "open sesame"}))
        .await;
    assert_eq!(link["has_password"], true);
    assert!(
        link.get("password").is_none() && link.get("password_hash").is_none(),
        "{link}"
    );
    let code = link["code"].as_str().expect("code");
    for _ in 0..3 {
        // Followed more than once: the cached fast path must not answer it.
        let page = app.follow(code).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.headers().get("location").is_none());
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        let html = page.text().await.expect("html");
        assert!(
            html.contains("name=\"password\"") && !html.contains("secret-target"),
            "{html}"
        );
    }
    let head = app
        .anon(Method::HEAD, &format!("/{code}"))
        .send()
        .await
        .expect("head");
    assert!(head.headers().get("location").is_none());
    let json = app
        .anon(Method::GET, &format!("/{code}"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("json");
    assert_eq!(json.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json.headers()["content-type"], "application/problem+json");
    assert!(!json.text().await.expect("body").contains("secret-target"));

    let wrong = unlock(&app, code, "open sesam", "198.51.100.1").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let html = wrong.text().await.expect("html");
    assert!(html.contains("Wrong password") && !html.contains("secret-target"));
    let right = unlock(&app, code, "open sesame", "198.51.100.1").await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(right.headers()["location"], TARGET);
    app.state.links.flush_clicks().await.expect("flush");
    let shown: Value = app
        .admin(Method::GET, &format!("/api/v1/links/{code}"))
        .send()
        .await
        .expect("show")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["clicks"], 1, "only the unlocked visit is a click");

    // Changing and removing the password.
    let patch = |body: Value| {
        app.admin(Method::PATCH, &format!("/api/v1/links/{code}"))
            .json(&body)
            .send()
    };
    let patched: Value = patch(json!({"password": "new secret"}))
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(patched["has_password"], true);
    assert_eq!(
        unlock(&app, code, "open sesame", "198.51.100.2")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        unlock(&app, code, "new secret", "198.51.100.2")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let cleared: Value = patch(json!({"password": null}))
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(cleared["has_password"], false);
    assert_eq!(app.follow(code).await.status(), StatusCode::FOUND);
    for bad in [json!("abc"), json!("x".repeat(129)), json!(5)] {
        let status = app
            .create_link(json!({"url": TARGET, "password": bad}))
            .await
            .status();
        assert!(matches!(status.as_u16(), 400 | 422), "{bad}: {status}");
    }
}

#[tokio::test]
async fn guessing_is_limited_per_client_and_link() {
    let app = trusting_app().await;
    let a = app
        .create_with(json!({"url": TARGET, "password": "right one"}))
        .await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let b = app
        .create_with(json!({"url": TARGET, "password": "right two"}))
        .await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let guesser = "203.0.113.50";
    let mut statuses = Vec::new();
    for i in 0..8 {
        statuses.push(
            unlock(&app, &a, &format!("guess {i}"), guesser)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 401, 429, 429, 429],
        "five guesses (the burst) are looked at, then the client is refused"
    );
    // Refused even with the right password: a guesser learns nothing.
    let refused = unlock(&app, &a, "right one", guesser).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().get("retry-after").is_some());
    // Another link for the same client, and the same link for another client.
    assert_eq!(
        unlock(&app, &b, "right two", guesser).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        unlock(&app, &a, "right one", "203.0.113.51").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn capped_and_expired_protected_links_and_bad_requests() {
    let app = trusting_app().await;
    let code = app
        .create_with(json!({"url": TARGET, "password": "only once", "max_clicks": 1}))
        .await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    assert_eq!(
        app.follow(&code).await.status(),
        StatusCode::OK,
        "the form uses no click"
    );
    assert_eq!(
        unlock(&app, &code, "only once", "192.0.2.7").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        unlock(&app, &code, "only once", "192.0.2.7").await.status(),
        StatusCode::GONE
    );
    let json_body = app
        .anon(Method::POST, &format!("/{code}"))
        .json(&json!({"password": "only once"}))
        .send()
        .await
        .expect("post");
    assert_eq!(json_body.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        unlock(&app, "NoSuchCode", "x", "192.0.2.7").await.status(),
        StatusCode::NOT_FOUND
    );
    // A link without a password: POST points back at the plain redirect.
    let plain = app.create(TARGET).await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let back = unlock(&app, &plain, "anything", "192.0.2.7").await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(back.headers()["location"], format!("/{plain}").as_str());
}
