//! Bad input of every kind gets the right 4xx as problem+json, and the
//! server stays healthy afterwards.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn malformed_bodies_are_400() {
    let app = spawn_app().await;
    for body in [
        &b"{\"url\": "[..],
        b"not json at all",
        b"[1, 2, 3]",
        b"{\"url\": 42}",
        b"{\"url\": \"https://example.com/\", \"ttl\": 1.5}",
        b"{\"url\": \"https://example.com/\", \"max_clicks\": 99999999999999999999}",
        b"{\"url\": \"https://example.com/\xff\xfe\"}",
        b"",
    ] {
        let response = app
            .anon(Method::POST, "/api/v1/links")
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::BAD_REQUEST).await;
    }
    app.assert_healthy().await;
}

#[tokio::test]
async fn unknown_fields_are_400_naming_the_field() {
    let app = spawn_app().await;
    let response = app
        .create_link(json!({ "url": "https://example.com/", "colour": "red" }))
        .await;
    let body = problem(response, StatusCode::BAD_REQUEST).await;
    assert!(body["detail"].as_str().unwrap().contains("colour"));
    let code = crate::helpers::code_of(&app.create("https://example.com/").await);
    let patch = app.patch_link(&code, json!({ "code": "other" })).await;
    problem(patch, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn wrong_content_types_are_415() {
    let app = spawn_app().await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = app
            .anon(Method::POST, "/api/v1/links")
            .body(r#"{"url": "https://example.com/"}"#);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        problem(
            request.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
    }
    app.assert_healthy().await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app().await;
    let padding = "a".repeat(70 * 1024);
    let body = json!({ "url": format!("https://example.com/{padding}") });
    problem(app.create_link(body).await, StatusCode::PAYLOAD_TOO_LARGE).await;

    let item = json!({ "url": format!("https://example.com/{}", "b".repeat(2100)) });
    let too_big: Vec<_> = (0..1000).map(|_| item.clone()).collect();
    problem(
        app.batch(json!(too_big)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    app.assert_healthy().await;
}

#[tokio::test]
async fn invalid_values_are_422_with_field_errors() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "url": "https://example.com/", "redirect_status": 200 }),
            "redirect_status",
        ),
        (
            json!({ "url": "https://example.com/", "expires_at": "2001-01-01T00:00:00Z" }),
            "expires_at",
        ),
        (
            json!({ "url": "https://example.com/", "expires_at": "next tuesday" }),
            "expires_at",
        ),
        (json!({ "url": "https://example.com/", "ttl": 0 }), "ttl"),
        (
            json!({ "url": "https://example.com/", "max_clicks": 0 }),
            "max_clicks",
        ),
        (json!({ "url": "https://sho.rt/loop" }), "url"),
        (json!({ "alias": "nourl" }), "url"),
    ];
    for (body, field) in cases {
        let response = app.create_link(body.clone()).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
        assert!(problem["errors"][0]["message"].is_string());
    }
    app.assert_healthy().await;
}

#[tokio::test]
async fn hostile_paths_are_404_not_500() {
    let app = spawn_app().await;
    let ten_kb = "a".repeat(10 * 1024);
    for path in [
        "/%FF%FE".to_owned(),
        "/%C0%AF".to_owned(),
        format!("/{ten_kb}"),
        "/a%00b".to_owned(),
        "/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/api/v1/links/%FF".to_owned(),
        format!("/api/v1/links/{ten_kb}"),
        "/no/such/route".to_owned(),
    ] {
        let get = app.admin(Method::GET, &path).send().await.unwrap();
        problem(get, StatusCode::NOT_FOUND).await;
    }
    let patch = app
        .admin(Method::PATCH, &format!("/api/v1/links/{ten_kb}"))
        .json(&json!({ "max_clicks": 1 }))
        .send()
        .await
        .unwrap();
    problem(patch, StatusCode::NOT_FOUND).await;
    app.assert_healthy().await;
}

#[tokio::test]
async fn unsupported_methods_are_405_problems() {
    let app = spawn_app().await;
    let response = app.anon(Method::PUT, "/api/v1/links").send().await.unwrap();
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    let response = app.anon(Method::POST, "/_health").send().await.unwrap();
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn probes_answer() {
    let app = spawn_app().await;
    for path in ["/_health", "/healthz", "/readyz"] {
        let response = app.anon(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let ready: serde_json::Value = app
        .anon(Method::GET, "/readyz")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["store"], "ok");
}

#[tokio::test]
async fn a_second_server_on_the_same_port_is_refused() {
    let app = spawn_app().await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let taken = shorty::listen::bind_per_core(&format!("127.0.0.1:{port}")).await;
    let err = taken.expect_err("a second bind on a served port must fail");
    let io = err.downcast_ref::<std::io::Error>().expect("an io error");
    assert_eq!(io.kind(), std::io::ErrorKind::AddrInUse);
    app.assert_healthy().await;
}
