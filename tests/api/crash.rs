//! Crash proof on both backends: several clients create and follow links
//! against the real binary, which is killed with SIGKILL at a random moment
//! while requests are in flight, 20 times on SQLite and 20 times on
//! PostgreSQL with Redis. After every restart on the same database:
//!
//! - every create answered 201, in any cycle, is stored with its exact URL;
//! - no code was ever handed out by two 201s;
//! - no capped link was redirected (302 received) more often than its
//!   `max_clicks`, and its stored `clicks` never exceeds it.
//!
//! Only answers actually received count; requests cut off by the kill
//! prove nothing either way. Clicks on uncapped links are buffered in
//! memory, so a kill may lose them (at most one flush interval); they are
//! only checked never to exceed the requests sent. The kill moments and the
//! clients' choices come from a seed named in every failure (set
//! `CRASH_SEED` to replay it); `TEST_LOG=1` prints a summary.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend::{Backend, TestDb};
use crate::binary::{client, ShortyProcess};
use crate::helpers::ADMIN_TOKEN;
use crate::services::{shared_postgres, shared_redis};

/// Kill-and-restart cycles per backend.
const CYCLES: usize = 20;
/// Concurrent clients per cycle.
const CLIENTS: usize = 6;
/// How long the clients run before the kill, in milliseconds.
const RUN_MS: std::ops::Range<u64> = 100..900;

/// One create answered 201.
struct Created {
    cycle: usize,
    returned_url: String,
    max_clicks: Option<i64>,
}

/// Everything the clients were answered, across all cycles.
#[derive(Default)]
struct Ledger {
    created: HashMap<String, Created>,
    /// Acknowledged codes, and the capped ones among them, oldest first.
    codes: Vec<String>,
    capped: Vec<String>,
    /// `GET /{code}` requests sent (answered or not), and 302s received.
    sent: HashMap<String, i64>,
    redirects: HashMap<String, i64>,
    /// 410s received for used-up capped links, 503s (a busy store proves
    /// nothing either way), requests the kills cut off.
    gone: u64,
    refused: u64,
    cut_off: u64,
    /// What must never happen: a code handed out twice, a wrong answer.
    violations: Vec<String>,
}

/// What one client task does next.
enum Op {
    Create(Value),
    Follow(String),
}

/// Runs `CYCLES` kill-and-restart cycles of `shorty serve --database-url
/// db_url EXTRA…`, checking the store after every restart.
async fn crash_cycles(db_url: &str, extra_args: &[&str]) {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let mut rng = StdRng::seed_from_u64(seed);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = Instant::now();
    for cycle in 0..=CYCLES {
        let mut server = ShortyProcess::start(db_url, extra_args);
        let client = client();
        let when = format!("seed {seed}, after {cycle} kills");
        check_store(&client, &server, &ledger, &when).await;
        if cycle == CYCLES {
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let run = ClientRun {
                    client: client.clone(),
                    base: server.address(),
                    ledger: Arc::clone(&ledger),
                    stop: Arc::clone(&stop),
                    cycle,
                    tag: format!("seed {seed}, cycle {cycle}, client {id}"),
                    path: format!("{cycle}-{id}"),
                };
                tokio::spawn(run.drive(StdRng::seed_from_u64(rng.gen())))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(RUN_MS))).await;
        // No new request starts after this; those in flight die with it.
        stop.store(true, Ordering::SeqCst);
        server.kill();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("a client ends within 15 s of the kill")
                .expect("client task");
        }
    }
    let ledger = ledger.lock().unwrap();
    assert!(ledger.cut_off > 0, "seed {seed}: no kill cut off a request");
    assert!(ledger.gone > 0, "seed {seed}: no capped link was used up");
    if std::env::var_os("TEST_LOG").is_some() {
        let used_up = (ledger.capped.iter())
            .filter(|code| {
                let max = ledger.created[*code].max_clicks;
                max == ledger.redirects.get(*code).copied()
            })
            .count();
        // Past the test harness's capture, like the servers' logs.
        let _ = writeln!(
            std::io::stderr(),
            "crash: {}, seed {seed}, {CYCLES} kills in {:.1?}: {} creates \
             acknowledged, {} redirects, {used_up} capped links redirected \
             max_clicks times, {} 410s, {} 503s, {} requests cut off",
            db_url.split(':').next().unwrap_or_default(),
            started.elapsed(),
            ledger.created.len(),
            ledger.redirects.values().sum::<i64>(),
            ledger.gone,
            ledger.refused,
            ledger.cut_off,
        );
    }
}

/// Everything one client task of one cycle needs.
struct ClientRun {
    client: reqwest::Client,
    base: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    cycle: usize,
    /// Names the seed, cycle and client in violations.
    tag: String,
    /// Makes this task's URLs and aliases unique in the test.
    path: String,
}

impl ClientRun {
    /// Creates and follows links until told to stop: 45% follows of
    /// acknowledged links (half of them capped), else creates, plain, with
    /// an alias or with `max_clicks` 1 to 3.
    async fn drive(self, mut rng: StdRng) {
        for n in 0u64.. {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let op = self.next_op(&mut rng, n);
            let answered = match op {
                Op::Create(body) => self.create(body).await,
                Op::Follow(code) => self.follow(code).await,
            };
            if answered.is_err() {
                self.ledger.lock().unwrap().cut_off += 1;
            }
        }
    }

    /// Picks the next operation; the `n`th of this task.
    fn next_op(&self, rng: &mut StdRng, n: u64) -> Op {
        let mut ledger = self.ledger.lock().unwrap();
        if rng.gen_bool(0.45) && !ledger.codes.is_empty() {
            // Capped links mostly among the latest, so caps get exceeded.
            let recent = ledger.capped.len().saturating_sub(12);
            let code = match rng.gen_range(0..4) {
                0 if !ledger.capped.is_empty() => ledger.capped.choose(rng),
                1 | 2 if !ledger.capped.is_empty() => ledger.capped[recent..].choose(rng),
                _ => ledger.codes.choose(rng),
            };
            let code = code.expect("a code").clone();
            *ledger.sent.entry(code.clone()).or_default() += 1;
            return Op::Follow(code);
        }
        let url = format!(
            "https://example.com/crash/{}/{n}/{:016x}?q={:x}&n={n}",
            self.path,
            rng.gen::<u64>(),
            rng.gen::<u32>()
        );
        Op::Create(match rng.gen_range(0..10) {
            0..=5 => json!({ "url": url }),
            6 | 7 => json!({ "url": url, "max_clicks": rng.gen_range(1..=3) }),
            _ => json!({ "url": url, "alias": format!("crash-{}-{n}", self.path) }),
        })
    }

    /// `POST /api/v1/links`; records a 201, or a violation for any other
    /// answer. `Err` when the kill cut the request off.
    async fn create(&self, body: Value) -> Result<(), reqwest::Error> {
        let response = self
            .client
            .post(format!("{}/api/v1/links", self.base))
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let link: Value = response.json().await?;
        let mut ledger = self.ledger.lock().unwrap();
        let tag = &self.tag;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            ledger.refused += 1;
            return Ok(());
        }
        if status != StatusCode::CREATED {
            ledger
                .violations
                .push(format!("{tag}: {body} answered {status} {link}"));
            return Ok(());
        }
        let code = link["code"].as_str().expect("code").to_owned();
        let returned_url = link["url"].as_str().expect("url").to_owned();
        if returned_url != body["url"] || body.get("alias").is_some_and(|a| *a != code) {
            ledger
                .violations
                .push(format!("{tag}: {body} answered {link}"));
        }
        let max_clicks = body["max_clicks"].as_i64();
        if let Some(earlier) = ledger.created.get(&code) {
            let message = format!(
                "{tag}: {code} handed out twice: for {} in cycle {}, now for {returned_url}",
                earlier.returned_url, earlier.cycle
            );
            ledger.violations.push(message);
            return Ok(());
        }
        let created = Created {
            cycle: self.cycle,
            returned_url,
            max_clicks,
        };
        ledger.created.insert(code.clone(), created);
        if max_clicks.is_some() {
            ledger.capped.push(code.clone());
        }
        ledger.codes.push(code);
        Ok(())
    }

    /// `GET /{code}`: a 302 must carry the link's exact URL, a 410 is
    /// right only for a capped link. `Err` when the kill cut it off.
    async fn follow(&self, code: String) -> Result<(), reqwest::Error> {
        let response = self
            .client
            .get(format!("{}/{code}", self.base))
            .send()
            .await?;
        let status = response.status();
        let location = response.headers().get("location").cloned();
        let mut ledger = self.ledger.lock().unwrap();
        let link = &ledger.created[&code];
        let wrong = match status {
            StatusCode::FOUND => location
                .as_ref()
                .is_none_or(|l| l != link.returned_url.as_str()),
            StatusCode::GONE => link.max_clicks.is_none(),
            StatusCode::SERVICE_UNAVAILABLE => false,
            _ => true,
        };
        if wrong {
            let message = format!("{}: GET /{code} answered {status} {location:?}", self.tag);
            ledger.violations.push(message);
        } else if status == StatusCode::FOUND {
            *ledger.redirects.entry(code).or_default() += 1;
        } else if status == StatusCode::GONE {
            ledger.gone += 1;
        } else {
            ledger.refused += 1;
        }
        Ok(())
    }
}

/// Every link `server` lists, by code (pages of 1000).
async fn stored_links(client: &reqwest::Client, server: &ShortyProcess) -> HashMap<String, Value> {
    let mut links = HashMap::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{}/api/v1/links?limit=1000{cursor}", server.address());
        let page: Value = client
            .get(url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("list request")
            .error_for_status()
            .expect("list answered 200")
            .json()
            .await
            .expect("list json");
        for link in page["items"].as_array().expect("items") {
            let code = link["code"].as_str().expect("code");
            links.insert(code.to_owned(), link.clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return links,
        }
    }
}

/// Asserts, on a freshly restarted `server`, that the ledger holds no
/// violation and that every acknowledged create is stored with its URL,
/// within its click cap.
async fn check_store(
    client: &reqwest::Client,
    server: &ShortyProcess,
    ledger: &Mutex<Ledger>,
    when: &str,
) {
    let stored = stored_links(client, server).await;
    let ledger = ledger.lock().unwrap();
    assert!(
        ledger.violations.is_empty(),
        "{when}: {:#?}",
        ledger.violations
    );
    for (code, created) in &ledger.created {
        let made = format!("{code} (201 in cycle {})", created.cycle);
        let link = stored
            .get(code)
            .unwrap_or_else(|| panic!("{when}: acknowledged {made} is lost"));
        assert_eq!(link["url"], created.returned_url.as_str(), "{when}: {made}");
        let clicks = link["clicks"].as_i64().expect("clicks");
        let sent = ledger.sent.get(code).copied().unwrap_or(0);
        assert!(
            clicks <= sent,
            "{when}: {made} has {clicks} clicks, {sent} sent"
        );
        if let Some(max) = created.max_clicks {
            let redirects = ledger.redirects.get(code).copied().unwrap_or(0);
            assert_eq!(link["max_clicks"], max, "{when}: {made}");
            assert!(
                redirects <= max && clicks <= max,
                "{when}: {made} capped at {max}: {redirects} redirects received, {clicks} stored"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_no_acknowledged_create_on_sqlite() {
    let db = TestDb::on(Backend::Sqlite);
    crash_cycles(&db.url, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_no_acknowledged_create_on_postgres_with_redis() {
    let (Some(db), Some((redis_url, prefix))) = (shared_postgres(), shared_redis()) else {
        return;
    };
    let redis = ["--redis-url", &redis_url, "--redis-key-prefix", &prefix];
    crash_cycles(&db.url, &redis).await;
}
