//! Durability: WAL mode, group commit and background purging.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use shorty::config::{Config, ConfigLayer};
use shorty::error::AppError;
use shorty::links::input::CreateBody;
use shorty::links::LinkService;

use crate::backend::{Backend, TestDb};
use crate::faulty_store::{Fault, Faulty};
use crate::helpers::{code_of, spawn_app, spawn_app_with};

#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    let db = TestDb::on(Backend::Sqlite);
    let _app = spawn_app_with(|c| c.database_url = Some(db.url.clone())).await;
    let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn concurrent_creates_share_transactions() {
    let app = spawn_app().await;
    let urls: Vec<String> = (0..300)
        .map(|i| format!("https://example.com/{i}"))
        .collect();
    let creates = urls.iter().map(|url| app.create(url));
    let links = futures::future::join_all(creates).await;
    let codes: HashSet<String> = links.iter().map(code_of).collect();
    assert_eq!(codes.len(), 300);
    let stats = app.state.links.commit_stats();
    let transactions = stats.transactions.load(Ordering::Relaxed);
    assert_eq!(stats.links.load(Ordering::Relaxed), 300);
    assert!(
        transactions < 300,
        "no grouping: {transactions} transactions for 300 creates"
    );
}

#[tokio::test]
async fn expired_links_are_purged_to_tombstones() {
    let app = spawn_app().await;
    let short = code_of(
        &app.create_with(json!({ "url": "https://example.com/secret", "ttl": 1 }))
            .await,
    );
    let kept = code_of(
        &app.create_with(json!({ "url": "https://example.com/", "ttl": 3600 }))
            .await,
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.state.links.purge_expired().await.unwrap(), 1);
    let store = app.state.links.store();
    let purged = store.get_link(&short).await.unwrap().unwrap();
    assert_eq!(purged.url, "");
    assert!(purged.deleted_at.is_some());
    assert!(store
        .get_link(&kept)
        .await
        .unwrap()
        .unwrap()
        .deleted_at
        .is_none());
    assert_eq!(app.follow(&short).await.status(), StatusCode::GONE);
    // The code stays taken.
    let again = app
        .create_link(json!({ "url": "https://example.com/", "alias": short }))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_panic_in_the_store_fails_one_group_of_creates_and_the_writer_goes_on() {
    let db = TestDb::fresh();
    let real = shorty::store::connect(&db.url, &Default::default())
        .await
        .unwrap();
    real.migrate().await.unwrap();
    let store = Faulty::wrap(real, Fault::PanicOnInsert);
    let mut layer = ConfigLayer {
        base_url: Some("https://sho.rt".into()),
        ..ConfigLayer::default()
    };
    layer.listen = Some("127.0.0.1:0".into());
    let config = Config::resolve(layer).unwrap();
    let links = LinkService::start(
        &config,
        store,
        shorty::analytics::rollup::Deriver::without_geoip(),
    )
    .await
    .unwrap();
    let spec = || {
        CreateBody {
            url: Some("https://example.com/after-a-panic".into()),
            ..CreateBody::default()
        }
        .validate(links.rules(), 0)
        .unwrap()
    };
    let first = links.create(spec(), None).await;
    assert!(matches!(first, Err(AppError::Internal(_))), "{first:?}");
    assert!(links.writers_running());
    for _ in 0..3 {
        let created = links.create(spec(), None).await.unwrap();
        assert!(links.get(&created.code).await.is_ok());
    }
}
