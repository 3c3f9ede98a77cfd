//! The click-analytics write path, measured without HTTP: `--clicks`
//! visits over `--links` links chosen with a Zipf distribution (a few
//! links get most clicks, as in real traffic), a mix of browsers, bots,
//! referrers and addresses, recorded through the real `ClickBuffer` in
//! `--per-flush` slices, each followed by a real flush to the store.
//! Prints, per flush and in total: clicks, rows written, the time deriving
//! (user-agent parsing, bot matching, summing) and the time writing.
//!
//!   cargo run --release --example analytics-flush -- \
//!       --database-url sqlite:///tmp/flush.db --links 100000 --clicks 1000000
//!
//! See BENCHMARKS.md ("Click analytics") for results.

use std::sync::Arc;
use std::time::Instant;

use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use shorty::analytics::rollup::Deriver;
use shorty::analytics::sink::StoreSink;
use shorty::analytics::visits::Visit;
use shorty::clock::{Clock, DAY_MS};
use shorty::links::clicks::ClickBuffer;
use shorty::store::{self, NewLink, StoreOptions};

#[path = "sample_visits.rs"]
mod sample_visits;
use sample_visits::{AGENTS, REFERRERS};

#[path = "args.rs"]
mod args;
use args::arg;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = arg("--database-url", "sqlite:///tmp/shorty-flush-bench.db");
    let links: u64 = arg("--links", "100000").parse()?;
    let clicks: u64 = arg("--clicks", "1000000").parse()?;
    let per_flush: u64 = arg("--per-flush", "100000").parse()?;
    let exponent: f64 = arg("--zipf", "1.1").parse()?;
    let store = store::connect(&url, &StoreOptions::default()).await?;
    store.migrate().await?;
    let started = Instant::now();
    let mut first_id = None;
    for chunk in (0..links).collect::<Vec<_>>().chunks(5000) {
        let batch: Vec<NewLink> = chunk
            .iter()
            .map(|i| NewLink {
                code: format!("fb{i}"),
                url: format!("https://example.com/{i}"),
                created_at: 0,
                expires_at: None,
                max_clicks: None,
                clicks: 0,
                redirect_status: 302,
                owner: None,
                tags: Vec::new(),
                password_hash: None,
            })
            .collect();
        let ids = store.insert_links(&batch).await?;
        first_id = first_id.or(ids.first().copied().flatten());
    }
    let first_id = first_id.ok_or_else(|| anyhow::anyhow!("no links inserted"))?;
    eprintln!("{links} links in {:.1} s", started.elapsed().as_secs_f64());

    let clock = Clock::manual(20_000 * DAY_MS);
    let sink = StoreSink::shared(Arc::clone(&store));
    let buffer = Arc::new(ClickBuffer::new(Deriver::without_geoip(), clock, sink));
    let zipf = Zipf::new(links, exponent)?;
    let mut rng = StdRng::seed_from_u64(7);
    let (mut total_rows, mut record_s, mut flush_s) = (0i64, 0f64, 0f64);
    println!(
        "| flush | clicks | rows written | clicks per row | record s | flush s (derive + write) |"
    );
    println!("|---|---|---|---|---|---|");
    let flushes = clicks.div_ceil(per_flush);
    for n in 0..flushes {
        let this = per_flush.min(clicks - n * per_flush);
        let visits: Vec<(i64, usize, usize, [u8; 4])> = (0..this)
            .map(|_| {
                let link = first_id + zipf.sample(&mut rng) as i64 - 1;
                let agent = rng.gen_range(0..AGENTS.len());
                let referer = rng.gen_range(0..REFERRERS.len());
                (link, agent, referer, [198, 51, rng.gen(), rng.gen()])
            })
            .collect();
        let t = Instant::now();
        for (link, agent, referer, ip) in &visits {
            let visit = Visit {
                user_agent: AGENTS[*agent].as_bytes(),
                referer: REFERRERS[*referer].as_bytes(),
                ip: (*ip).into(),
                head: false,
            };
            buffer.record(*link, &visit, false);
        }
        let recorded = t.elapsed().as_secs_f64();
        record_s += recorded;
        let t = Instant::now();
        let rows = buffer.flush().await?;
        let took = t.elapsed().as_secs_f64();
        flush_s += took;
        total_rows += rows;
        println!(
            "| {} | {this} | {rows} | {:.1} | {recorded:.3} | {took:.3} |",
            n + 1,
            this as f64 / rows as f64,
        );
    }
    println!();
    println!(
        "total: {clicks} clicks, {total_rows} rows, {:.1} clicks per row; \
         record {:.0} ns per click; flush {:.2} s in all, {:.0} rows/s",
        clicks as f64 / total_rows as f64,
        record_s * 1e9 / clicks as f64,
        flush_s,
        total_rows as f64 / flush_s
    );
    store.close().await;
    Ok(())
}
