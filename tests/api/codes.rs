//! Generated codes: unique by construction, and aliases are never overwritten.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use shorty::domain::CodeGenerator;

use crate::helpers::{code_of, spawn_app};

#[tokio::test]
async fn two_hundred_thousand_links_get_distinct_codes() {
    let app = spawn_app().await;
    let app = &app;
    let mut codes = HashSet::new();
    for round in 0..25 {
        let batches = (0..8).map(|b| async move {
            let items: Vec<Value> = (0..1000)
                .map(|i| json!({ "url": format!("https://example.com/{round}/{b}/{i}") }))
                .collect();
            let response = app.batch(json!(items)).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        });
        for body in futures::future::join_all(batches).await {
            for item in body["items"].as_array().unwrap() {
                assert_eq!(item["status"], 201, "{item}");
                let code = item["link"]["code"].as_str().unwrap().to_owned();
                assert_eq!(code.len(), 7);
                assert!(codes.insert(code.clone()), "duplicate code {code}");
            }
        }
    }
    assert_eq!(codes.len(), 200_000);
}

#[tokio::test]
async fn an_alias_is_never_overwritten_by_a_generated_code() {
    let app = spawn_app().await;
    // The first generated link takes counter value 0 of the first block.
    let first = code_of(&app.create("https://example.com/first").await);
    let key = app.state.links.store().code_key().await.unwrap();
    let generator = CodeGenerator::new(key, 7);
    assert_eq!(generator.code_for(0).as_str(), first);

    // Squat on the code that counter value 1 would produce.
    let squatted = generator.code_for(1).into_string();
    app.create_with(json!({ "url": "https://example.com/alias", "alias": squatted }))
        .await;

    // The next generated link skips it instead of failing or overwriting.
    let next = code_of(&app.create("https://example.com/next").await);
    assert_ne!(next, squatted);
    assert_eq!(next, generator.code_for(2).as_str());
    let alias = app.follow(&squatted).await;
    assert_eq!(alias.headers()["location"], "https://example.com/alias");
    let generated = app.follow(&next).await;
    assert_eq!(generated.headers()["location"], "https://example.com/next");
}
