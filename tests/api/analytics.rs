//! Click analytics end to end: known visits (user agents, referrers,
//! forwarded addresses, days set by a manual clock) through two instances
//! on one store, read back exactly after a flush, by a third instance too;
//! bots on capped links; ranges; retention; privacy.

use std::path::PathBuf;
use std::sync::OnceLock;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shorty::clock::{Clock, DAY_MS};

use crate::helpers::{spawn_app_configured, TestApp};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
const SLACK: &str = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
const TWITTER: &str = "Twitterbot/1.0";

/// 2026-03-10, noon UTC, as a day number and in milliseconds.
const DAY0: i64 = 20_522;
const NOON: i64 = DAY0 * DAY_MS + DAY_MS / 2;

/// The test country database (scripts/make-test-mmdb): 203.0.113.0/24 is
/// DE, 198.51.100.0/24 FR, 2001:db8::/32 JP.
fn geoip_db() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let path = dir.join("countries.mmdb");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/make-test-mmdb");
        let status = std::process::Command::new(script)
            .arg(&path)
            .status()
            .expect("run scripts/make-test-mmdb");
        assert!(status.success(), "scripts/make-test-mmdb failed");
        path
    })
    .clone()
}

/// An instance on `database_url` (a fresh store when `None`), with
/// `clock`, the test country database and the loopback proxy trusted.
async fn instance(clock: &Clock, database_url: Option<String>, redis: Option<String>) -> TestApp {
    let clock = clock.clone();
    spawn_app_configured(
        |layer| {
            layer.trusted_proxies = Some(vec!["127.0.0.1/32".into()]);
            layer.geoip_db = Some(geoip_db());
            if let Some(url) = database_url {
                layer.database_url = Some(url);
            }
            if let Some(prefix) = redis {
                layer.redis_key_prefix = Some(prefix);
            }
        },
        move |config| config.clock = clock,
    )
    .await
}

/// One visit to `/{code}` with these headers; returns the status.
async fn visit(
    app: &TestApp,
    method: Method,
    code: &str,
    ua: &str,
    referer: &str,
    ip: &str,
) -> StatusCode {
    let mut request = app
        .anon(method, &format!("/{code}"))
        .header("user-agent", ua)
        .header("x-forwarded-for", ip);
    if !referer.is_empty() {
        request = request.header("referer", referer);
    }
    request.send().await.expect("visit").status()
}

async fn visits(app: &TestApp, n: usize, code: &str, ua: &str, referer: &str, ip: &str) {
    for _ in 0..n {
        let status = visit(app, Method::GET, code, ua, referer, ip).await;
        assert!(matches!(status.as_u16(), 302 | 404), "{status}");
    }
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    let response = app
        .with_token(token, Method::GET, path)
        .send()
        .await
        .expect("get");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

fn named(list: &Value, key: &str) -> Vec<(String, i64)> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e[key].as_str().expect("name").to_owned(),
                e["clicks"].as_i64().expect("clicks"),
            )
        })
        .collect()
}

fn count_of(list: &Value, name: &str) -> i64 {
    named(list, "name")
        .into_iter()
        .find(|(n, _)| n == name)
        .map_or(0, |(_, c)| c)
}

#[tokio::test]
async fn known_visits_on_two_instances_read_back_exactly() {
    let clock = Clock::manual(NOON);
    let one = instance(&clock, None, None).await;
    let two = instance(&clock, Some(one.database_url()), one.redis_prefix()).await;
    one.put_user("alice").await;
    let key = one.issue_key("alice", json!({})).await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let create = |body: Value| {
        one.with_token(&key, Method::POST, "/api/v1/links")
            .json(&body)
            .send()
    };
    let link: Value = create(json!({"url": "https://example.com/a"}))
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let code = link["code"].as_str().expect("code").to_owned();
    let capped: Value = create(json!({"url": "https://example.com/once", "max_clicks": 2}))
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let once = capped["code"].as_str().expect("code").to_owned();

    // Day 0, instance one: 3 from Chrome in DE via a news site, 4 requests
    // for unknown codes.
    visits(
        &one,
        3,
        &code,
        CHROME,
        "https://news.example.com/story?id=9",
        "203.0.113.9",
    )
    .await;
    visits(&one, 4, "NoSuchCode", CHROME, "", "203.0.113.9").await;
    // Instance two: 2 from an iPhone in FR, a Twitter unfurl, a HEAD from
    // Chrome (a bot, whatever it says), one from an address without a country.
    visits(&two, 2, &code, IPHONE, "", "198.51.100.20").await;
    visits(&two, 1, &code, TWITTER, "", "198.51.100.21").await;
    assert_eq!(
        visit(&two, Method::HEAD, &code, CHROME, "", "203.0.113.9").await,
        StatusCode::FOUND
    );
    visits(&two, 1, &code, FIREFOX, "", "192.0.2.1").await;
    // The capped link: Slack unfurls it twice and gets a page without the
    // target, using nothing; then one person follows it.
    for _ in 0..2 {
        let response = two
            .anon(Method::GET, &format!("/{once}"))
            .header("user-agent", SLACK)
            .send()
            .await
            .expect("unfurl");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.expect("page");
        assert!(!page.contains("example.com"), "{page}");
    }
    assert_eq!(
        visit(&one, Method::GET, &once, FIREFOX, "", "2001:db8::5").await,
        StatusCode::FOUND
    );

    // Day 1: 5 from Firefox in JP, referred by t.co, on instance two.
    clock.set(NOON + DAY_MS);
    visits(&two, 5, &code, FIREFOX, "https://t.co/abc", "2001:db8::7").await;

    one.state.links.flush_clicks().await.expect("flush one");
    two.state.links.flush_clicks().await.expect("flush two");
    let three = instance(&clock, Some(one.database_url()), one.redis_prefix()).await;

    for reader in [&one, &three] {
        let path = format!("/api/v1/links/{code}/stats?from=2026-03-10&to=2026-03-11");
        let stats = get_json(reader, &key, &path).await;
        assert_eq!(
            (
                stats["total"].as_i64(),
                stats["human"].as_i64(),
                stats["bots"].as_i64()
            ),
            (Some(13), Some(11), Some(2)),
            "{stats}"
        );
        assert_eq!(
            stats["daily"],
            json!([
                {"date": "2026-03-10", "clicks": 8, "human": 6, "bots": 2},
                {"date": "2026-03-11", "clicks": 5, "human": 5, "bots": 0},
            ])
        );
        assert_eq!(
            named(&stats["referrers"], "host"),
            [("t.co".to_owned(), 5), ("news.example.com".to_owned(), 3)]
        );
        assert_eq!(
            count_of(&stats["browsers"], "Chrome"),
            4,
            "3 GETs and the HEAD"
        );
        assert_eq!(count_of(&stats["browsers"], "Firefox"), 6);
        assert_eq!(count_of(&stats["browsers"], "Mobile Safari"), 2);
        assert_eq!(count_of(&stats["os"], "iOS"), 2);
        assert_eq!(count_of(&stats["os"], "Windows"), 4);
        assert_eq!(
            named(&stats["devices"], "name"),
            [
                ("desktop".to_owned(), 9),
                ("bot".to_owned(), 2),
                ("mobile".to_owned(), 2),
            ]
        );
        assert_eq!(
            named(&stats["countries"], "name"),
            [
                ("DE".to_owned(), 4),
                ("JP".to_owned(), 5),
                ("FR".to_owned(), 3),
            ]
            .into_iter()
            .fold(Vec::new(), |mut v, e| {
                v.push(e);
                v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                v
            })
        );
        let total: i64 = named(&stats["browsers"], "name")
            .iter()
            .map(|(_, c)| c)
            .sum();
        assert_eq!(total, 13, "every visit has a browser");

        let link = get_json(reader, &key, &format!("/api/v1/links/{code}")).await;
        assert_eq!(link["clicks"], 11, "people only: {link}");
        let capped = get_json(reader, &key, &format!("/api/v1/links/{once}")).await;
        assert_eq!(capped["clicks"], 1, "the unfurls used nothing: {capped}");
        let once_stats = get_json(
            reader,
            &key,
            &format!("/api/v1/links/{once}/stats?from=2026-03-10&to=2026-03-10"),
        )
        .await;
        assert_eq!(
            (once_stats["human"].as_i64(), once_stats["bots"].as_i64()),
            (Some(1), Some(2))
        );

        // The default range is the 30 days up to today (day 1).
        let recent = get_json(reader, &key, &format!("/api/v1/links/{code}/stats")).await;
        assert_eq!(recent["daily"].as_array().map(Vec::len), Some(30));
        assert_eq!(
            (recent["to"].as_str(), recent["total"].as_i64()),
            (Some("2026-03-11"), Some(13))
        );

        let mine = get_json(reader, &key, "/api/v1/stats?from=2026-03-10&to=2026-03-11").await;
        assert_eq!(
            (mine["total"].as_i64(), mine["human"].as_i64()),
            (Some(16), Some(12))
        );
        assert_eq!(mine["top_links"][0]["code"], code.as_str());
        assert_eq!(mine["top_links"][1]["code"], once.as_str());
        assert!(mine.get("unknown_codes").is_none(), "admin only: {mine}");
        let admin = get_json(
            reader,
            crate::helpers::ADMIN_TOKEN,
            "/api/v1/stats?from=2026-03-10&to=2026-03-11",
        )
        .await;
        assert_eq!(
            admin["unknown_codes"],
            json!([
                {"date": "2026-03-10", "requests": 4},
                {"date": "2026-03-11", "requests": 0},
            ])
        );
        assert_eq!(admin["total"], 16);
    }
}

#[tokio::test]
async fn stats_are_for_owners_with_the_scope_and_ranges_are_checked() {
    let clock = Clock::manual(NOON);
    let app = instance(&clock, None, None).await;
    for id in ["alice", "bob"] {
        app.put_user(id).await;
    }
    let alice = app.issue_key("alice", json!({})).await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let bob = app.issue_key("bob", json!({})).await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let no_stats = app
        .issue_key("alice", json!({"scopes": ["links:read", "links:write"]}))
        .await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let link: Value = app
        .with_token(&alice, Method::POST, "/api/v1/links")
        .json(&json!({"url": "https://example.com/"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let path = format!(
        "/api/v1/links/{}/stats",
        link["code"].as_str().expect("code")
    );
    for (token, status) in [
        (alice.as_str(), 200),
        (bob.as_str(), 403),
        (no_stats.as_str(), 403),
        (crate::helpers::ADMIN_TOKEN, 200),
    ] {
        let response = app
            .with_token(token, Method::GET, &path)
            .send()
            .await
            .expect("stats");
        assert_eq!(response.status().as_u16(), status);
    }
    assert_eq!(
        app.anon(Method::GET, &path)
            .send()
            .await
            .expect("stats")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.with_token(&no_stats, Method::GET, "/api/v1/stats")
            .send()
            .await
            .expect("stats")
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.with_token(&alice, Method::GET, "/api/v1/links/NoSuchCode/stats")
            .send()
            .await
            .expect("stats")
            .status(),
        StatusCode::NOT_FOUND
    );
    for query in [
        "?from=2026-3-1",
        "?from=2026-03-12&to=2026-03-11",
        "?from=2024-01-01&to=2026-01-01",
        "?to=tomorrow",
        "?from=2026-02-30",
        "?days=7",
    ] {
        for base in [path.as_str(), "/api/v1/stats"] {
            let response = app
                .with_token(&alice, Method::GET, &format!("{base}{query}"))
                .send()
                .await
                .expect("stats");
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{base}{query}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }
    }
}

#[tokio::test]
async fn the_periodic_flush_writes_clicks_now_and_analytics_later() {
    let clock = Clock::manual(NOON);
    let app = instance(&clock, None, None).await;
    let code = app.create("https://example.com/window").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    visits(&app, 3, &code, FIREFOX, "", "192.0.2.9").await;
    app.state.links.flush_due_clicks().await.expect("flush");
    assert_eq!(app.state.links.pending_clicks(), 0);
    let admin = crate::helpers::ADMIN_TOKEN;
    let link = get_json(&app, admin, &format!("/api/v1/links/{code}")).await;
    assert_eq!(link["clicks"], 3, "clicks are written at every flush");
    let path = format!("/api/v1/links/{code}/stats?from=2026-03-10&to=2026-03-10");
    let stats = get_json(&app, admin, &path).await;
    assert_eq!(
        stats["total"], 0,
        "analytics wait for their window: {stats}"
    );
    app.state.links.flush_clicks().await.expect("flush");
    let stats = get_json(&app, admin, &path).await;
    assert_eq!(
        (stats["total"].as_i64(), stats["human"].as_i64()),
        (Some(3), Some(3))
    );
    let link = get_json(&app, admin, &format!("/api/v1/links/{code}")).await;
    assert_eq!(link["clicks"], 3, "not counted twice");
}

#[tokio::test]
async fn retention_purges_old_days_only() {
    let clock = Clock::manual(NOON);
    let app = spawn_app_configured(|layer| layer.stats_retention_days = Some(2), {
        let clock = clock.clone();
        move |config| config.clock = clock
    })
    .await;
    let code = app.create("https://example.com/kept").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    for day in 0..4 {
        clock.set(NOON + day * DAY_MS);
        assert_eq!(app.follow(&code).await.status(), StatusCode::FOUND);
        app.state.links.flush_clicks().await.expect("flush");
    }
    assert!(app.state.analytics.purge_old().await.expect("purge") >= 2);
    let path = format!("/api/v1/links/{code}/stats?from=2026-03-10&to=2026-03-13");
    let stats = get_json(&app, crate::helpers::ADMIN_TOKEN, &path).await;
    let daily: Vec<i64> = stats["daily"]
        .as_array()
        .expect("daily")
        .iter()
        .map(|d| d["clicks"].as_i64().expect("n"))
        .collect();
    assert_eq!(daily, [0, 0, 1, 1], "days before today - 2 are gone");
    let link = get_json(
        &app,
        crate::helpers::ADMIN_TOKEN,
        &format!("/api/v1/links/{code}"),
    )
    .await;
    assert_eq!(link["clicks"], 4, "the link's own count is not analytics");
}

/// Everything the store holds, as text: the SQLite files byte for byte,
/// or on PostgreSQL every row of every table.
async fn store_text(database_url: &str) -> String {
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).expect("db file");
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let pool = sqlx::PgPool::connect(database_url).await.expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    let mut text = String::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{table}\" t"))
            .fetch_all(&pool)
            .await
            .expect("rows");
        text.push_str(&rows.join("\n"));
    }
    text
}

#[tokio::test]
async fn the_store_keeps_no_address_user_agent_or_full_referrer() {
    let clock = Clock::manual(NOON);
    let app = instance(&clock, None, None).await;
    let code = app.create("https://example.com/private").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    visits(
        &app,
        3,
        &code,
        CHROME,
        "https://news.example.com/secret-path?token=XYZZY",
        "203.0.113.77",
    )
    .await;
    app.state.links.flush_clicks().await.expect("flush");
    let text = store_text(&app.database_url()).await;
    assert!(
        text.contains("news.example.com"),
        "the derived host is stored"
    );
    for secret in [
        "203.0.113.77",
        "secret-path",
        "XYZZY",
        "AppleWebKit",
        "Win64",
    ] {
        assert!(!text.contains(secret), "{secret} was stored");
    }
}

#[tokio::test]
async fn huge_user_agents_and_referrers_are_cut_not_stored_whole() {
    let clock = Clock::manual(NOON);
    let app = instance(&clock, None, None).await;
    let code = app
        .create_with(json!({"url": "https://example.com/big", "max_clicks": 3}))
        .await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    // "bot" only past the first 512 bytes: not seen, so this is a person.
    let ua = format!("{}{}bot", CHROME, " x".repeat(3000));
    let referer = format!("https://{}.example/", "a".repeat(6000));
    let response = app
        .anon(Method::GET, &format!("/{code}"))
        .header("user-agent", ua.as_str())
        .header("referer", referer.as_str())
        .send()
        .await
        .expect("visit");
    assert_eq!(response.status(), StatusCode::FOUND);
    app.state.links.flush_clicks().await.expect("flush");
    let stats = get_json(
        &app,
        crate::helpers::ADMIN_TOKEN,
        &format!("/api/v1/links/{code}/stats?from=2026-03-10&to=2026-03-10"),
    )
    .await;
    assert_eq!(
        (stats["human"].as_i64(), stats["bots"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        stats["referrers"],
        json!([]),
        "a host longer than DNS allows is not one"
    );
    assert_eq!(count_of(&stats["browsers"], "Chrome"), 1);
    let text = store_text(&app.database_url()).await;
    assert!(!text.contains(" x x x"), "the raw user agent was stored");
}
