//! Finding links as the table grows: the store's list queries (newest
//! first, a deep cursor page, substring search, most clicked, a tag) timed
//! at each of `--sizes` links on a fresh database, so a query that scans
//! instead of using an index shows as time growing with the table.
//!
//!   cargo run --release --example list-scale -- \
//!       --database-url sqlite:///tmp/list.db --sizes 100000,1000000
//!   cargo run --release --example list-scale -- \
//!       --database-url postgres://postgres@127.0.0.1:5432/shorty_list_bench
//!
//! The database is emptied before each size (SQLite: the file is removed;
//! PostgreSQL: the schema is dropped, and after the load `VACUUM ANALYZE`
//! runs, as autovacuum would). See BENCHMARKS.md ("Finding links").

use std::time::Instant;

use rand::{rngs::StdRng, Rng, SeedableRng};
use shorty::store::{self, ClickBatch, DayRow, LinkFilter, NewLink, Order, Store, StoreOptions};

const WORDS: [&str; 16] = [
    "spring", "summer", "autumn", "winter", "sale", "launch", "report", "invite", "docs", "video",
    "offer", "news", "blog", "careers", "support", "press",
];

#[path = "args.rs"]
mod args;
use args::arg;

async fn fresh(url: &str) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    } else {
        let pool = sqlx::PgPool::connect(url).await?;
        sqlx::query("DROP SCHEMA public CASCADE")
            .execute(&pool)
            .await?;
        sqlx::query("CREATE SCHEMA public").execute(&pool).await?;
        pool.close().await;
    }
    let store = store::connect(
        url,
        &StoreOptions {
            timeout: std::time::Duration::from_secs(120),
            ..StoreOptions::default()
        },
    )
    .await?;
    store.migrate().await?;
    Ok(store)
}

/// Median of `runs` timings of `query`, in microseconds, and its row count.
async fn time<F, Fut>(runs: usize, mut query: F) -> anyhow::Result<(f64, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut times = Vec::with_capacity(runs);
    let mut rows = 0;
    for _ in 0..runs {
        let t = Instant::now();
        rows = query().await?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok((times[runs / 2], rows))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = arg("--database-url", "sqlite:///tmp/shorty-list-bench.db");
    let sizes: Vec<u64> = arg("--sizes", "100000,1000000")
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let runs: usize = arg("--runs", "101").parse()?;
    println!("| links | query | rows | median µs |");
    println!("|---:|---|---:|---:|");
    for size in sizes {
        let store = fresh(&url).await?;
        let mut rng = StdRng::seed_from_u64(11);
        let started = Instant::now();
        let mut ids = Vec::with_capacity(size as usize);
        let mut batch = Vec::with_capacity(5000);
        for i in 0..size {
            let word = WORDS[rng.gen_range(0..WORDS.len())];
            batch.push(NewLink {
                code: format!("L{i:07}"),
                // One link in 100k has the rare word, so a search finds ~10
                // at 1M and ~1 at 100k: selective either way.
                url: if i % 100_000 == 7 {
                    format!("https://site{}.example/{word}/zebrafish-{i}", i % 1000)
                } else {
                    format!("https://site{}.example/{word}/{i}", i % 1000)
                },
                created_at: i as i64,
                expires_at: None,
                max_clicks: None,
                clicks: 0,
                redirect_status: 302,
                owner: None,
                tags: if i % 10 == 0 {
                    vec![word.to_owned()]
                } else {
                    Vec::new()
                },
                password_hash: None,
            });
            if batch.len() == 5000 || i + 1 == size {
                ids.extend(store.insert_links(&batch).await?.into_iter().flatten());
                batch.clear();
            }
        }
        let inserted = started.elapsed().as_secs_f64();
        // Clicks: most links few, some many.
        let counts: Vec<(i64, i64)> = ids
            .iter()
            .map(|id| (*id, (rng.gen::<f64>().powi(8) * 10_000.0) as i64))
            .collect();
        for (n, chunk) in counts.chunks(50_000).enumerate() {
            // With day rows, as an analytics flush has them: they refresh
            // the `ranked` counts that the order by clicks reads.
            let days: Vec<DayRow> = chunk
                .iter()
                .map(|(link_id, human)| DayRow {
                    link_id: *link_id,
                    day: 0,
                    human: *human,
                    bots: 0,
                })
                .collect();
            store
                .add_clicks(ClickBatch {
                    id: n as i64 + 1,
                    link_clicks: chunk,
                    days: &days,
                    values: &[],
                    unknown: &[],
                    now: 0,
                })
                .await?;
        }
        eprintln!(
            "{size} links in {inserted:.1} s, clicks in {:.1} s",
            started.elapsed().as_secs_f64() - inserted
        );
        if !url.starts_with("sqlite:") {
            // What autovacuum does soon after a bulk load: planner
            // statistics, and the GIN indexes' pending entries merged.
            let pool = sqlx::PgPool::connect(&url).await?;
            sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
            pool.close().await;
        }
        let mid = ids[ids.len() / 2];
        let cases: Vec<(&str, LinkFilter<'_>)> = vec![
            ("newest first", LinkFilter::all(Order::NewestFirst)),
            (
                "newest first, page from the middle",
                LinkFilter {
                    after: Some(mid),
                    ..LinkFilter::all(Order::NewestFirst)
                },
            ),
            (
                "search `zebrafish`",
                LinkFilter {
                    search: Some("zebrafish"),
                    ..LinkFilter::all(Order::NewestFirst)
                },
            ),
            ("most clicked", LinkFilter::all(Order::MostClicked)),
            (
                "most clicked, page from the middle",
                LinkFilter {
                    after: Some(mid),
                    ..LinkFilter::all(Order::MostClicked)
                },
            ),
            (
                "tag `launch`",
                LinkFilter {
                    tag: Some("launch"),
                    ..LinkFilter::all(Order::NewestFirst)
                },
            ),
        ];
        for (name, filter) in cases {
            let (us, rows) = time(runs, || {
                let store = std::sync::Arc::clone(&store);
                async move { Ok(store.list_links(&filter, 50).await?.len()) }
            })
            .await?;
            println!("| {size} | {name} | {rows} | {us:.0} |");
        }
        store.close().await;
    }
    Ok(())
}
