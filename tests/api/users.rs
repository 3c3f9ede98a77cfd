//! Users, API keys and ownership: the user endpoints, keys that are shown
//! once and stop working when revoked or expired, and the full matrix of
//! who may do what to whose link.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{code_of, problem, spawn_app, spawn_app_with, TestApp, ADMIN_TOKEN};

#[tokio::test]
async fn users_are_created_updated_listed_and_deleted() {
    let app = spawn_app().await;
    let created = app.put_user("ada").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["location"], "/api/v1/users/ada");
    let first: Value = created.json().await.unwrap();
    assert_eq!(first["id"], "ada");
    assert_eq!(first["email"], "ada@example.com");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let updated = app
        .admin(Method::PUT, "/api/v1/users/ada")
        .json(&json!({"name": "Ada L.", "email": "al@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let second: Value = updated.json().await.unwrap();
    assert_eq!(second["name"], "Ada L.");
    assert_eq!(second["created_at"], first["created_at"]);
    assert_ne!(second["updated_at"], first["updated_at"]);

    for id in ["bob", "cy", "dee"] {
        assert_eq!(app.put_user(id).await.status(), StatusCode::CREATED);
    }
    let page: Value = json_of(app.admin(Method::GET, "/api/v1/users?limit=3")).await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ada", "bob", "cy"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value = json_of(app.admin(
        Method::GET,
        &format!("/api/v1/users?limit=3&cursor={cursor}"),
    ))
    .await;
    assert_eq!(rest["items"][0]["id"], "dee");
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());

    let deleted = app
        .admin(Method::DELETE, "/api/v1/users/bob")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .admin(Method::GET, "/api/v1/users/bob")
        .send()
        .await
        .unwrap();
    problem(gone, StatusCode::NOT_FOUND).await;
    let again = app
        .admin(Method::DELETE, "/api/v1/users/bob")
        .send()
        .await
        .unwrap();
    problem(again, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bad_user_bodies_get_every_field_error_and_change_nothing() {
    let app = spawn_app().await;
    let bad = app
        .admin(Method::PUT, "/api/v1/users/no%20spaces")
        .json(&json!({"name": "", "email": "not-an-email"}))
        .send()
        .await
        .unwrap();
    let body = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id", "name", "email"]);
    let missing = app
        .admin(Method::PUT, "/api/v1/users/ok")
        .json(&json!({"name": "Ok"}))
        .send()
        .await
        .unwrap();
    let body = problem(missing, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "email");
    let unknown = app
        .admin(Method::PUT, "/api/v1/users/ok")
        .json(&json!({"name": "Ok", "email": "ok@example.com", "role": "admin"}))
        .send()
        .await
        .unwrap();
    problem(unknown, StatusCode::BAD_REQUEST).await;
    let long_id = "a".repeat(65);
    let too_long = app.put_user(&long_id).await;
    problem(too_long, StatusCode::UNPROCESSABLE_ENTITY).await;
    let none = app
        .admin(Method::GET, "/api/v1/users/ok")
        .send()
        .await
        .unwrap();
    problem(none, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn keys_are_shown_once_and_stop_working_when_revoked_expired_or_their_user_goes() {
    let app = spawn_app().await;
    app.put_user("ada").await;
    let issued = app.issue_key("ada", json!({"name": "ci"})).await;
    let key = issued["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_") && key.len() == 46, "{key}");
    assert_eq!(
        issued["scopes"],
        json!(["links:read", "links:write", "stats:read"])
    );
    assert_eq!(issued["name"], "ci");
    let listed: Value = json_of(app.admin(Method::GET, "/api/v1/users/ada/keys")).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], issued["id"]);
    assert!(
        !listed.to_string().contains(&key),
        "a list must never show a secret"
    );

    // The key works: its links belong to ada, and ada can read herself.
    let link: Value = json_of(
        app.with_token(&key, Method::POST, "/api/v1/links")
            .json(&json!({"url": "https://example.com/k"})),
    )
    .await;
    assert_eq!(link["owner"], "ada");
    let me = app
        .with_token(&key, Method::GET, "/api/v1/users/ada")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    let key_id = issued["id"].as_str().unwrap();
    let revoked = app
        .admin(Method::DELETE, &format!("/api/v1/users/ada/keys/{key_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let refused = app
        .with_token(&key, Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap();
    problem(refused, StatusCode::UNAUTHORIZED).await;
    let twice = app
        .admin(Method::DELETE, &format!("/api/v1/users/ada/keys/{key_id}"))
        .send()
        .await
        .unwrap();
    problem(twice, StatusCode::NOT_FOUND).await;

    // An expired key is refused like an unknown one.
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let short = app.issue_key("ada", json!({"expires_at": soon})).await;
    let short = short["key"].as_str().unwrap();
    let ok = app
        .with_token(short, Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let expired = app
        .with_token(short, Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap();
    problem(expired, StatusCode::UNAUTHORIZED).await;

    // Deleting the user revokes the rest of her keys; her link stays.
    let last = app.issue_key("ada", json!({})).await;
    let last = last["key"].as_str().unwrap();
    assert_eq!(
        app.with_token(last, Method::GET, "/api/v1/links")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.admin(Method::DELETE, "/api/v1/users/ada")
        .send()
        .await
        .unwrap();
    let after = app
        .with_token(last, Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap();
    problem(after, StatusCode::UNAUTHORIZED).await;
    let kept = app.get_link(&code_of(&link)).await;
    assert_eq!(kept.status(), StatusCode::OK);
    assert_eq!(kept.json::<Value>().await.unwrap()["owner"], "ada");
}

#[tokio::test]
async fn bad_key_requests_are_refused_with_reasons() {
    let app = spawn_app().await;
    let nobody = app
        .admin(Method::POST, "/api/v1/users/ghost/keys")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(nobody, StatusCode::NOT_FOUND).await;
    app.put_user("ada").await;
    let bad = app
        .admin(Method::POST, "/api/v1/users/ada/keys")
        .json(&json!({"scopes": ["links:read", "root"], "expires_at": "yesterday"}))
        .send()
        .await
        .unwrap();
    let body = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["expires_at", "scopes"]);
    // A user holds at most 100 keys.
    for _ in 0..100 {
        app.issue_key("ada", json!({})).await;
    }
    let over = app
        .admin(Method::POST, "/api/v1/users/ada/keys")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(over, StatusCode::UNPROCESSABLE_ENTITY).await;
}

/// A key revoked on one instance stops working on another within a
/// second: through the Redis invalidation channel when Redis is on, by
/// the key cache's one-second lifetime when it is not.
#[tokio::test]
async fn a_key_revoked_on_one_instance_stops_working_on_another_within_a_second() {
    let a = spawn_app().await;
    let (db, prefix) = (a.database_url(), a.redis_prefix());
    let b = spawn_app_with(|layer| {
        layer.database_url = Some(db);
        if prefix.is_some() {
            layer.redis_key_prefix = prefix;
        }
    })
    .await;
    a.put_user("ada").await;
    let issued = a.issue_key("ada", json!({})).await;
    let key = issued["key"].as_str().unwrap();
    for _ in 0..3 {
        let ok = b
            .with_token(key, Method::GET, "/api/v1/links")
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
    }
    a.admin(
        Method::DELETE,
        &format!("/api/v1/users/ada/keys/{}", issued["id"].as_str().unwrap()),
    )
    .send()
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let refused = b
        .with_token(key, Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap();
    problem(refused, StatusCode::UNAUTHORIZED).await;
}

/// One row of the matrix: its name, the request, and the status each
/// caller in [`EVERYONE`] must get.
type Case = (
    &'static str,
    Method,
    &'static str,
    Option<Value>,
    [StatusCode; 7],
);

/// Everyone the matrix tries, and how each is sent.
#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    Admin,
    UserA,
    UserB,
    /// A key of user A with only `stats:read`.
    NoScope,
    /// A key of user A that was revoked.
    Revoked,
    /// A key of user A that has expired.
    Expired,
}

const EVERYONE: [Who; 7] = [
    Who::Anonymous,
    Who::Admin,
    Who::UserA,
    Who::UserB,
    Who::NoScope,
    Who::Revoked,
    Who::Expired,
];

struct Keys {
    a: String,
    b: String,
    no_scope: String,
    revoked: String,
    expired: String,
}

impl Keys {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Admin => Some(ADMIN_TOKEN),
            Who::UserA => Some(&self.a),
            Who::UserB => Some(&self.b),
            Who::NoScope => Some(&self.no_scope),
            Who::Revoked => Some(&self.revoked),
            Who::Expired => Some(&self.expired),
        }
    }
}

async fn send(
    app: &TestApp,
    keys: &Keys,
    who: Who,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> StatusCode {
    let mut request = app.anon(method, path);
    if let Some(token) = keys.token(who) {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().status()
}

/// Every endpoint a key can reach, against every kind of caller, with the
/// exact status of each cell. A's link is owned by user A; "fresh" links
/// are made per cell so that a DELETE in one cell cannot change another.
#[tokio::test]
async fn the_ownership_matrix_holds_for_every_endpoint_and_caller() {
    let app = spawn_app_with(|layer| {
        layer.allow_anonymous = Some(false);
        // Revoked and expired keys are failed authentications, which are
        // limited per client; every cell here comes from one address.
        layer.auth_failure_burst = Some(100_000);
    })
    .await;
    app.put_user("a").await;
    app.put_user("b").await;
    let key = |v: Value| v["key"].as_str().unwrap().to_owned();
    let revoked = app.issue_key("a", json!({})).await;
    app.admin(
        Method::DELETE,
        &format!("/api/v1/users/a/keys/{}", revoked["id"].as_str().unwrap()),
    )
    .send()
    .await
    .unwrap();
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(800)).to_rfc3339();
    let expired = app.issue_key("a", json!({"expires_at": soon})).await;
    let keys = Keys {
        a: key(app.issue_key("a", json!({})).await),
        b: key(app.issue_key("b", json!({})).await),
        no_scope: key(app.issue_key("a", json!({"scopes": ["stats:read"]})).await),
        revoked: key(revoked),
        expired: key(expired),
    };
    tokio::time::sleep(Duration::from_millis(900)).await;

    use StatusCode as S;
    let (ok, created, gone_ok) = (S::OK, S::CREATED, S::NO_CONTENT);
    let (unauth, forbidden) = (S::UNAUTHORIZED, S::FORBIDDEN);
    // Columns: Anonymous, Admin, UserA, UserB, NoScope, Revoked, Expired.
    let row = |cells: [S; 7]| cells;
    let link_body = json!({"url": "https://example.com/m"});
    let cases: Vec<Case> = vec![
        (
            "create",
            Method::POST,
            "/api/v1/links",
            Some(link_body.clone()),
            row([unauth, created, created, created, forbidden, unauth, unauth]),
        ),
        (
            "batch",
            Method::POST,
            "/api/v1/links/batch",
            Some(json!([link_body.clone()])),
            row([unauth, ok, ok, ok, forbidden, unauth, unauth]),
        ),
        (
            "list",
            Method::GET,
            "/api/v1/links",
            None,
            row([unauth, ok, ok, ok, forbidden, unauth, unauth]),
        ),
        (
            "show A's link",
            Method::GET,
            "/api/v1/links/{a}",
            None,
            row([unauth, ok, ok, forbidden, forbidden, unauth, unauth]),
        ),
        (
            "patch A's link",
            Method::PATCH,
            "/api/v1/links/{a}",
            Some(json!({"max_clicks": 5})),
            row([unauth, ok, ok, forbidden, forbidden, unauth, unauth]),
        ),
        (
            "delete A's link",
            Method::DELETE,
            "/api/v1/links/{fresh}",
            None,
            row([
                unauth, gone_ok, gone_ok, forbidden, forbidden, unauth, unauth,
            ]),
        ),
        (
            "stats of A's link",
            Method::GET,
            "/api/v1/links/{a}/stats",
            None,
            row([unauth, ok, ok, forbidden, ok, unauth, unauth]),
        ),
        (
            "stats of the admin's link",
            Method::GET,
            "/api/v1/links/{admin}/stats",
            None,
            row([unauth, ok, forbidden, forbidden, forbidden, unauth, unauth]),
        ),
        (
            "the caller's stats",
            Method::GET,
            "/api/v1/stats",
            None,
            row([unauth, ok, ok, ok, ok, unauth, unauth]),
        ),
        (
            "show the admin's link",
            Method::GET,
            "/api/v1/links/{admin}",
            None,
            row([unauth, ok, forbidden, forbidden, forbidden, unauth, unauth]),
        ),
        (
            "show an unknown code",
            Method::GET,
            "/api/v1/links/nosuchcode",
            None,
            row([
                unauth,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                forbidden,
                unauth,
                unauth,
            ]),
        ),
        (
            "list users",
            Method::GET,
            "/api/v1/users",
            None,
            row([unauth, ok, forbidden, forbidden, forbidden, unauth, unauth]),
        ),
        (
            "read user a",
            Method::GET,
            "/api/v1/users/a",
            None,
            row([unauth, ok, ok, forbidden, ok, unauth, unauth]),
        ),
        (
            "put user c",
            Method::PUT,
            "/api/v1/users/c",
            Some(json!({"name": "C", "email": "c@example.com"})),
            row([unauth, ok, forbidden, forbidden, forbidden, unauth, unauth]),
        ),
        (
            "list a's keys",
            Method::GET,
            "/api/v1/users/a/keys",
            None,
            row([unauth, ok, forbidden, forbidden, forbidden, unauth, unauth]),
        ),
        (
            "issue a key",
            Method::POST,
            "/api/v1/users/b/keys",
            Some(json!({"scopes": ["links:read"]})),
            row([
                unauth, created, forbidden, forbidden, forbidden, unauth, unauth,
            ]),
        ),
        (
            "revoke a key",
            Method::DELETE,
            "/api/v1/users/b/keys/0000000000000000",
            None,
            row([
                unauth,
                S::NOT_FOUND,
                forbidden,
                forbidden,
                forbidden,
                unauth,
                unauth,
            ]),
        ),
        (
            "delete a user",
            Method::DELETE,
            "/api/v1/users/nobody",
            None,
            row([
                unauth,
                S::NOT_FOUND,
                forbidden,
                forbidden,
                forbidden,
                unauth,
                unauth,
            ]),
        ),
    ];
    // "put user c" answers 201 the first time; make it exist first so
    // every cell sees an update.
    app.admin(Method::PUT, "/api/v1/users/c")
        .json(&json!({"name": "C", "email": "c@example.com"}))
        .send()
        .await
        .unwrap();
    let a_link = created_code(&app, &keys.a).await;
    let admin_link = created_code(&app, ADMIN_TOKEN).await;
    let mut failures = Vec::new();
    for (name, method, path, body, expected) in &cases {
        for (who, want) in EVERYONE.iter().zip(expected) {
            let path = if path.contains("{fresh}") {
                path.replace("{fresh}", &created_code(&app, &keys.a).await)
            } else {
                path.replace("{a}", &a_link).replace("{admin}", &admin_link)
            };
            let got = send(&app, &keys, *who, method.clone(), &path, body.clone()).await;
            if got != *want {
                failures.push(format!("{name} as {who:?}: expected {want}, got {got}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "matrix cells that differ:\n{}",
        failures.join("\n")
    );

    // What user A lists is A's links only; the admin sees every link.
    let mine: Value =
        json_of(app.with_token(&keys.a, Method::GET, "/api/v1/links?limit=1000")).await;
    let items = mine["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|l| l["owner"] == "a"), "{mine}");
    let all: Value = json_of(app.admin(Method::GET, "/api/v1/links?limit=1000")).await;
    let owners: std::collections::BTreeSet<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["owner"].as_str().unwrap_or("(none)").to_owned())
        .collect();
    assert_eq!(owners.into_iter().collect::<Vec<_>>(), ["(none)", "a", "b"]);
}

/// Sends `request` and reads its JSON body.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

async fn created_code(app: &TestApp, token: &str) -> String {
    let link: Value = json_of(
        app.with_token(token, Method::POST, "/api/v1/links")
            .json(&json!({"url": "https://example.com/owned"})),
    )
    .await;
    code_of(&link)
}
