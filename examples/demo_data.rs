//! Demo data for the web interface: a user `ada`, a handful of her
//! tagged links and 30 days of visits to them
//! from a mix of browsers, devices, bots and referrers, written through
//! the real click buffer with its clock set to each past day. The browser
//! tests (tests/ui) run it so the screenshots show a chart with history.
//!
//!   cargo run --example demo-data -- --database-url sqlite:///tmp/demo.db
//!
//! Prints ada's code of the most clicked link on stdout.

use std::sync::Arc;

use rand::{rngs::StdRng, Rng, SeedableRng};
use shorty::analytics::rollup::Deriver;
use shorty::analytics::sink::StoreSink;
use shorty::analytics::visits::Visit;
use shorty::clock::{Clock, DAY_MS};
use shorty::links::clicks::ClickBuffer;
use shorty::links::view::now_ms;
use shorty::store::{self, NewLink, StoreOptions, UserRecord};

#[path = "../bench/sample_visits.rs"]
mod sample_visits;
use sample_visits::{AGENTS, REFERRERS};

const LINKS: [(&str, &str, &[&str]); 5] = [
    (
        "spring-sale",
        "https://example.com/shop/spring-sale?utm_source=newsletter",
        &["launch", "q2"],
    ),
    (
        "docs",
        "https://example.com/docs/getting-started",
        &["docs"],
    ),
    (
        "talk",
        "https://example.com/talks/2026/fast-redirects",
        &["conference"],
    ),
    (
        "jobs",
        "https://example.com/careers/rust-engineer",
        &["hiring"],
    ),
    ("survey", "https://example.com/forms/feedback", &[]),
];

#[path = "../bench/args.rs"]
mod args;
use args::arg;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = arg("--database-url", "sqlite:///tmp/shorty-demo.db");
    let store = store::connect(&url, &StoreOptions::default()).await?;
    store.migrate().await?;
    let now = now_ms();
    store
        .put_user(&UserRecord {
            id: "ada".into(),
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            created_at: now,
            updated_at: now,
        })
        .await?;
    let links: Vec<NewLink> = LINKS
        .iter()
        .enumerate()
        .map(|(i, (code, url, tags))| NewLink {
            code: (*code).into(),
            url: (*url).into(),
            created_at: now - (30 - i as i64) * DAY_MS,
            expires_at: None,
            max_clicks: None,
            clicks: 0,
            redirect_status: 302,
            owner: Some("ada".into()),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            password_hash: None,
        })
        .collect();
    let ids = store.insert_links(&links).await?;
    let ids: Vec<i64> = ids.into_iter().flatten().collect();
    anyhow::ensure!(ids.len() == LINKS.len(), "the demo links exist already");

    let today = now.div_euclid(DAY_MS);
    let clock = Clock::manual((today - 29) * DAY_MS);
    let sink = StoreSink::shared(Arc::clone(&store));
    let buffer = Arc::new(ClickBuffer::new(
        Deriver::without_geoip(),
        clock.clone(),
        sink,
    ));
    let mut rng = StdRng::seed_from_u64(42);
    for day in 0..30 {
        clock.set((today - 29 + day) * DAY_MS + DAY_MS / 2);
        // A launch on day 10, then a slow decline, plus weekly bumps.
        let base = if day < 10 { 20 } else { 180 - (day - 10) * 6 };
        let weekly = if day % 7 == 5 { 40 } else { 0 };
        for (rank, id) in ids.iter().enumerate() {
            let visits = (base + weekly) / (rank as i64 + 1) + rng.gen_range(0..8);
            for _ in 0..visits {
                let agent = AGENTS[weighted(&mut rng, &[30, 22, 14, 12, 8, 3, 4, 3])];
                let referer = REFERRERS[weighted(&mut rng, &[20, 15, 12, 10, 6, 5])];
                let visit = Visit {
                    user_agent: agent.as_bytes(),
                    referer: referer.as_bytes(),
                    ip: [198, 51, 100, rng.gen()].into(),
                    head: false,
                };
                buffer.record(*id, &visit, false);
            }
        }
        buffer.flush().await?;
    }
    store.close().await;
    println!("{}", LINKS[0].0);
    Ok(())
}

/// An index into `weights`, chosen in proportion to them.
fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut pick = rng.gen_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if pick < *w {
            return i;
        }
        pick -= w;
    }
    weights.len() - 1
}
