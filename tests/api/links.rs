//! The links API: create, batch, list, get, patch, delete, and who may call it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{code_of, problem, spawn_app, spawn_app_with, ADMIN_TOKEN};

#[tokio::test]
async fn create_returns_201_with_location_and_the_link_object() {
    let app = spawn_app().await;
    let response = app
        .create_link(json!({ "url": "https://example.com/a?b=c" }))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let link: Value = response.json().await.unwrap();
    let code = code_of(&link);
    assert_eq!(location, format!("/api/v1/links/{code}"));
    assert_eq!(code.len(), 7);
    assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(link["short_url"], format!("https://sho.rt/{code}"));
    assert_eq!(link["url"], "https://example.com/a?b=c");
    assert_eq!(link["clicks"], 0);
    assert_eq!(link["redirect_status"], 302);
    assert_eq!(link["expires_at"], Value::Null);
    assert_eq!(link["max_clicks"], Value::Null);
    assert!(link["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn create_accepts_alias_ttl_expiry_cap_and_status() {
    let app = spawn_app().await;
    let link = app
        .create_with(json!({
            "url": "https://example.com/",
            "alias": "my-Alias_1",
            "ttl": 3600,
            "max_clicks": 3,
            "redirect_status": 308,
        }))
        .await;
    assert_eq!(link["code"], "my-Alias_1");
    assert_eq!(link["max_clicks"], 3);
    assert_eq!(link["redirect_status"], 308);
    assert!(link["expires_at"].is_string());
    let at = app
        .create_with(
            json!({ "url": "https://example.com/", "expires_at": "2099-01-01T00:00:00+01:00" }),
        )
        .await;
    assert_eq!(at["expires_at"], "2098-12-31T23:00:00Z");
}

#[tokio::test]
async fn the_default_redirect_status_comes_from_config() {
    let app = spawn_app_with(|c| c.redirect_status = Some(307)).await;
    assert_eq!(
        app.create("https://example.com/").await["redirect_status"],
        307
    );
}

#[tokio::test]
async fn a_taken_alias_is_409_and_keeps_its_url() {
    let app = spawn_app().await;
    app.create_with(json!({ "url": "https://first.example/", "alias": "taken" }))
        .await;
    let again = app
        .create_link(json!({ "url": "https://second.example/", "alias": "taken" }))
        .await;
    problem(again, StatusCode::CONFLICT).await;
    let follow = app.follow("taken").await;
    assert_eq!(follow.headers()["location"], "https://first.example/");
}

#[tokio::test]
async fn reserved_and_malformed_aliases_are_422() {
    let app = spawn_app().await;
    for alias in [
        "api",
        "docs",
        "api-docs",
        "metrics",
        "healthz",
        "readyz",
        "_health",
        "static",
        "assets",
        "admin",
        "login",
        "logout",
        "Admin",
        "ab",
        "bad alias",
        "a/b",
    ] {
        let response = app
            .create_link(json!({ "url": "https://example.com/", "alias": alias }))
            .await;
        let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["field"], "alias", "{alias}");
    }
}

#[tokio::test]
async fn anonymous_creation_can_be_switched_off() {
    let app = spawn_app_with(|c| c.allow_anonymous = Some(false)).await;
    let anon = app
        .create_link(json!({ "url": "https://example.com/" }))
        .await;
    problem(anon, StatusCode::UNAUTHORIZED).await;
    let admin = app
        .admin(Method::POST, "/api/v1/links")
        .json(&json!({ "url": "https://example.com/" }))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_wrong_token_is_401_even_where_anonymous_is_allowed() {
    let app = spawn_app().await;
    let response = app
        .anon(Method::POST, "/api/v1/links")
        .bearer_auth("not-the-token")
        .json(&json!({ "url": "https://example.com/" }))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNAUTHORIZED).await;
}

async fn management_calls(app: &crate::helpers::TestApp, token: Option<&str>) -> Vec<StatusCode> {
    let code = code_of(&app.create("https://example.com/").await);
    let calls = [
        (Method::GET, "/api/v1/links".to_owned(), None),
        (Method::GET, format!("/api/v1/links/{code}"), None),
        (
            Method::PATCH,
            format!("/api/v1/links/{code}"),
            Some(json!({ "max_clicks": 1 })),
        ),
        (Method::DELETE, format!("/api/v1/links/{code}"), None),
        (
            Method::POST,
            "/api/v1/links/batch".to_owned(),
            Some(json!([])),
        ),
    ];
    let mut statuses = Vec::new();
    for (method, path, body) in calls {
        let mut request = app.anon(method, &path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        statuses.push(request.send().await.unwrap().status());
    }
    statuses
}

#[tokio::test]
async fn management_endpoints_need_the_admin_token() {
    let app = spawn_app().await;
    for token in [None, Some("wrong")] {
        let statuses = management_calls(&app, token).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
            "{token:?}: {statuses:?}"
        );
    }
    let statuses = management_calls(&app, Some(ADMIN_TOKEN)).await;
    assert!(statuses.iter().all(|s| s.is_success()), "{statuses:?}");
}

#[tokio::test]
async fn without_an_admin_token_configured_management_is_closed() {
    let app = spawn_app_with(|c| c.admin_token = None).await;
    for token in [None, Some(""), Some(ADMIN_TOKEN)] {
        let statuses = management_calls(&app, token).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
            "{token:?}: {statuses:?}"
        );
    }
}

#[tokio::test]
async fn get_patch_and_delete_a_link() {
    let app = spawn_app().await;
    let code = code_of(&app.create("https://example.com/old").await);
    let shown: Value = app.get_link(&code).await.json().await.unwrap();
    assert_eq!(shown["url"], "https://example.com/old");

    let patched = app
        .patch_link(&code, json!({ "url": "https://example.com/new", "max_clicks": 9, "redirect_status": 301, "expires_at": "2099-01-01T00:00:00Z" }))
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["url"], "https://example.com/new");
    assert_eq!(patched["max_clicks"], 9);
    assert_eq!(patched["redirect_status"], 301);
    assert_eq!(patched["expires_at"], "2099-01-01T00:00:00Z");

    let cleared: Value = app
        .patch_link(&code, json!({ "max_clicks": null, "expires_at": null }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["max_clicks"], Value::Null);
    assert_eq!(cleared["expires_at"], Value::Null);
    assert_eq!(cleared["url"], "https://example.com/new");

    let bad = app
        .patch_link(
            &code,
            json!({ "url": "ftp://example.com/", "redirect_status": 200 }),
        )
        .await;
    let body = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);

    assert_eq!(
        app.delete_link(&code).await.status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get_link(&code).await, StatusCode::GONE).await;
    problem(app.delete_link(&code).await, StatusCode::GONE).await;
    problem(
        app.patch_link(&code, json!({ "max_clicks": 1 })).await,
        StatusCode::GONE,
    )
    .await;
    problem(app.get_link("neverwas").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_deleted_code_is_never_handed_out_again() {
    let app = spawn_app().await;
    app.create_with(json!({ "url": "https://example.com/", "alias": "once" }))
        .await;
    app.delete_link("once").await;
    let again = app
        .create_link(json!({ "url": "https://example.com/", "alias": "once" }))
        .await;
    problem(again, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn list_pages_newest_first_with_an_opaque_cursor() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(code_of(
            &app.create(&format!("https://example.com/{i}")).await,
        ));
    }
    app.delete_link(&created[3]).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/links?limit=2&cursor={c}"),
            None => "/api/v1/links?limit=2".to_owned(),
        };
        let page: Value = app
            .admin(Method::GET, &path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(code_of));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = created
        .iter()
        .rev()
        .filter(|c| **c != created[3])
        .cloned()
        .collect();
    assert_eq!(seen, expected);

    let all: Value = app
        .admin(Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    assert_eq!(all["next_cursor"], Value::Null);
}

#[tokio::test]
async fn bad_list_parameters_are_400() {
    let app = spawn_app().await;
    for query in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "cursor=garbage",
        "limit=-1",
        "bogus=1",
    ] {
        let response = app
            .admin(Method::GET, &format!("/api/v1/links?{query}"))
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::BAD_REQUEST).await;
    }
    let max = app
        .admin(Method::GET, "/api/v1/links?limit=1000")
        .send()
        .await
        .unwrap();
    assert_eq!(max.status(), StatusCode::OK);
}

#[tokio::test]
async fn batch_reports_each_item_in_order() {
    let app = spawn_app().await;
    app.create_with(json!({ "url": "https://example.com/", "alias": "dupe" }))
        .await;
    let response = app
        .batch(json!([
            { "url": "https://example.com/1" },
            { "url": "javascript:alert(1)" },
            { "url": "https://example.com/3", "alias": "dupe" },
            { "url": "https://example.com/4", "colour": "red" },
            { "url": "https://example.com/5", "alias": "fresh" },
            "not an object",
        ]))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    let statuses: Vec<u64> = items
        .iter()
        .map(|i| i["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 422, 409, 400, 201, 400]);
    assert_eq!(items[0]["link"]["url"], "https://example.com/1");
    assert_eq!(items[1]["error"]["errors"][0]["field"], "url");
    assert_eq!(items[4]["link"]["code"], "fresh");
    assert_eq!(app.follow("fresh").await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn batch_holds_at_most_1000_links() {
    let app = spawn_app().await;
    let items: Vec<Value> = (0..1001)
        .map(|i| json!({ "url": format!("https://example.com/{i}") }))
        .collect();
    problem(
        app.batch(json!(items)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let items: Vec<Value> = (0..1000)
        .map(|i| json!({ "url": format!("https://example.com/{i}") }))
        .collect();
    let response = app.batch(json!(items)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] == 201));
}

#[tokio::test]
async fn the_blocklist_file_refuses_hosts_by_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocked.txt");
    std::fs::write(&path, "# phishing\nevil.example\nbücher.example\n").unwrap();
    let app = spawn_app_with(|c| c.blocklist = Some(path.clone())).await;
    for url in [
        "https://evil.example/login",
        "https://www.EVIL.example./",
        "https://shop.bücher.example/",
    ] {
        let body = problem(
            app.create_link(json!({ "url": url })).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("blocklist"),
            "{url}"
        );
    }
    app.create("https://notevil.example/").await;
}

#[tokio::test]
async fn credentials_are_checked_before_the_body_or_the_code() {
    let app = spawn_app().await;
    let garbage = app
        .anon(Method::POST, "/api/v1/links/batch")
        .header("content-type", "text/plain")
        .body("not json")
        .send()
        .await
        .unwrap();
    problem(garbage, StatusCode::UNAUTHORIZED).await;
    let bad_code = app
        .anon(Method::GET, "/api/v1/links/%FF")
        .send()
        .await
        .unwrap();
    problem(bad_code, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn patch_refuses_to_null_the_url_or_status() {
    let app = spawn_app().await;
    let code = code_of(&app.create("https://example.com/").await);
    let response = app
        .patch_link(&code, json!({ "url": null, "redirect_status": null }))
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.follow(&code).await.headers()["location"],
        "https://example.com/"
    );
}

#[tokio::test]
async fn in_memory_sqlite_is_refused_with_a_clear_error() {
    let result = shorty::store::connect("sqlite::memory:", &Default::default()).await;
    let message = result.err().expect("refused").to_string();
    assert!(message.contains("sqlite://PATH"), "{message}");
}

#[tokio::test]
async fn links_to_this_service_under_any_of_its_names_are_refused() {
    let app = spawn_app_with(|c| {
        c.base_url = Some("http://127.0.0.1:8080".into());
        c.own_hosts = Some(vec!["lb.example.com".into(), "10.0.0.5".into()]);
    })
    .await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let names = [
        format!("http://127.0.0.1:{port}/abc"),
        format!("http://[::1]:{port}/abc"),
        format!("http://localhost:{port}/x"),
        "http://LOCALHOST./x".to_owned(),
        "http://127.0.0.2/".to_owned(),
        "http://[0:0:0:0:0:0:0:1]/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
        "http://0.0.0.0/".to_owned(),
        "http://[::]/".to_owned(),
        "https://LB.Example.COM./x".to_owned(),
        "http://10.0.0.5:9000/".to_owned(),
        "http://[::ffff:10.0.0.5]/".to_owned(),
    ];
    for url in names {
        let response = app.create_link(json!({ "url": url })).await;
        let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["field"], "url", "{url}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("loop"), "{url}: {body}");
    }
    app.create("http://10.0.0.6/").await;
    app.create("https://lb.example.com.evil.test/").await;
}
