//! `export` and `import`: all live links as JSON lines, and links from
//! shorty's or another shortener's export, with progress on stderr.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::links::import::{ImportEvent, ImportOptions, ImportReport};
use crate::links::view::export_line;
use crate::links::LinkService;
use crate::store::{LinkFilter, Order};

/// Links read per store round trip.
const CHUNK: usize = 1000;
/// Progress is reported every this many links.
const REPORT_EVERY: u64 = 10_000;

/// Streams every live link, oldest first, as one JSON object per line.
pub async fn export(links: &LinkService) -> anyhow::Result<u64> {
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut after = None;
    let mut written = 0u64;
    loop {
        let filter = LinkFilter {
            after,
            ..LinkFilter::all(Order::OldestFirst)
        };
        let page = links.list(&filter, CHUNK as u32).await?;
        for (view, record) in links.views(&page).into_iter().zip(&page) {
            let line = export_line(&view, record.password_hash.as_deref());
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
            written += 1;
            if written.is_multiple_of(REPORT_EVERY) {
                progress("exported", written, started);
            }
        }
        match page.last() {
            Some(last) if page.len() == CHUNK => after = Some(last.id),
            _ => break,
        }
    }
    out.flush()?;
    eprintln!(
        "exported {written} links in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(written)
}

/// Imports `file` (stdin when `None`) as `options` say, printing every
/// skipped row and progress to stderr; the report says what was done.
pub async fn import(
    links: &LinkService,
    file: Option<&Path>,
    options: &ImportOptions,
) -> anyhow::Result<ImportReport> {
    let started = Instant::now();
    let (reader, size): (Box<dyn Read + Send>, Option<u64>) = match file {
        Some(path) => {
            let opened = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let size = opened.metadata().ok().map(|m| m.len());
            (Box::new(opened), size)
        }
        None => (Box::new(std::io::stdin()), None),
    };
    let unit = options.format.unit();
    let mut next_report = REPORT_EVERY;
    let report = links
        .import_file(reader, options, |event| match event {
            ImportEvent::Problem(p) => {
                let verb = if p.taken { "skipped" } else { "rejected" };
                eprintln!("{unit} {}: {verb}: {}", p.line, p.reason);
            }
            ImportEvent::Progress { rows, bytes } if rows >= next_report => {
                next_report = (rows / REPORT_EVERY + 1) * REPORT_EVERY;
                let share = size
                    .filter(|s| *s > 0)
                    .map(|s| format!(", {:.0}% of the file", bytes as f64 * 100.0 / s as f64))
                    .unwrap_or_default();
                let rate = rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
                eprintln!("read {rows} links ({rate:.0}/s{share})");
            }
            ImportEvent::Progress { .. } => {}
        })
        .await?;
    let would = if report.dry_run {
        "dry run: would have "
    } else {
        ""
    };
    eprintln!(
        "{would}imported {} links ({} already present, {} rejected) in {:.1}s",
        report.imported,
        report.taken,
        report.rejected,
        started.elapsed().as_secs_f64()
    );
    Ok(report)
}

fn progress(verb: &str, n: u64, started: Instant) {
    let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
    eprintln!("{verb} {n} links ({rate:.0}/s)");
}
