//! `shorty user …` and `shorty key …` against the store a running server
//! uses: what the CLI issues works on the server, and what it revokes
//! stops working there.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend::redis_url;
use crate::binary::{cli, CliOutput};
use crate::helpers::{problem, spawn_app, TestApp};

/// Runs `shorty ARGS…` on `app`'s store (and Redis, when it has it) off
/// the test's runtime.
async fn shorty(app: &TestApp, args: &[&str]) -> CliOutput {
    let mut all = vec!["--database-url".to_owned(), app.database_url()];
    if let Some(prefix) = app.redis_prefix() {
        all.extend(["--redis-url".to_owned(), redis_url()]);
        all.extend(["--redis-key-prefix".to_owned(), prefix]);
    }
    all.extend(args.iter().map(|a| (*a).to_owned()));
    tokio::task::spawn_blocking(move || cli(&all).run())
        .await
        .expect("cli task")
}

fn json_lines(output: &CliOutput) -> Vec<Value> {
    output
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[tokio::test]
async fn users_and_keys_are_managed_from_the_command_line() {
    let app = spawn_app().await;
    let put = shorty(
        &app,
        &[
            "user",
            "put",
            "ada",
            "--name",
            "Ada",
            "--email",
            "ada@example.com",
        ],
    )
    .await;
    put.assert_code(0);
    assert!(put.stderr.contains("created user ada"), "{}", put.stderr);
    let again = shorty(
        &app,
        &[
            "user",
            "put",
            "ada",
            "--name",
            "Ada L",
            "--email",
            "ada@example.com",
        ],
    )
    .await;
    again.assert_code(0);
    assert!(
        again.stderr.contains("updated user ada"),
        "{}",
        again.stderr
    );
    assert_eq!(json_lines(&again)[0]["name"], "Ada L");

    // Every bad field is named, and nothing is written.
    let bad = shorty(
        &app,
        &["user", "put", "a b", "--name", "", "--email", "nope"],
    )
    .await;
    bad.assert_code(1);
    for field in ["id:", "name:", "email:"] {
        assert!(
            bad.stderr.contains(field),
            "{field} missing from {}",
            bad.stderr
        );
    }
    let listed = shorty(&app, &["user", "list"]).await;
    listed.assert_code(0);
    let ids: Vec<Value> = json_lines(&listed)
        .into_iter()
        .map(|u| u["id"].clone())
        .collect();
    assert_eq!(ids, [json!("ada")]);

    let issued = shorty(
        &app,
        &[
            "key",
            "issue",
            "ada",
            "--name",
            "ci",
            "--scope",
            "links:read",
        ],
    )
    .await;
    issued.assert_code(0);
    let issued = &json_lines(&issued)[0];
    let key = issued["key"].as_str().unwrap();
    assert_eq!(issued["scopes"], json!(["links:read"]));
    let keys = shorty(&app, &["key", "list", "ada"]).await;
    keys.assert_code(0);
    assert_eq!(json_lines(&keys).len(), 1);
    assert!(
        !keys.stdout.contains(key),
        "a list must never show a secret"
    );
    let unknown_scope = shorty(&app, &["key", "issue", "ada", "--scope", "root"]).await;
    unknown_scope.assert_code(1);
    assert!(
        unknown_scope.stderr.contains("scopes:"),
        "{}",
        unknown_scope.stderr
    );

    // The key works on the server, with only the scope it was given.
    let read = app
        .with_token(key, Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let write = app
        .with_token(key, Method::POST, "/api/v1/links")
        .json(&json!({"url": "https://example.com/"}))
        .send()
        .await
        .unwrap();
    problem(write, StatusCode::FORBIDDEN).await;

    // Revoked from the CLI, it stops working on the server within a second.
    let key_id = issued["id"].as_str().unwrap();
    shorty(&app, &["key", "revoke", "ada", key_id])
        .await
        .assert_code(0);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let refused = app
        .with_token(key, Method::GET, "/api/v1/links")
        .send()
        .await
        .unwrap();
    problem(refused, StatusCode::UNAUTHORIZED).await;
    let twice = shorty(&app, &["key", "revoke", "ada", key_id]).await;
    twice.assert_code(1);
    assert!(twice.stderr.contains("no such key"), "{}", twice.stderr);

    shorty(&app, &["user", "delete", "ada"])
        .await
        .assert_code(0);
    let gone = shorty(&app, &["user", "get", "ada"]).await;
    gone.assert_code(1);
    assert!(
        gone.stderr.contains("no user has that id"),
        "{}",
        gone.stderr
    );
}
