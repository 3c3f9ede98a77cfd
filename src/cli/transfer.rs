//! `export` and `import`: all live links as JSON lines, with progress on stderr.

use std::io::Write;
use std::time::Instant;

use chrono::DateTime;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::config::Config;
use crate::domain::alias::is_reserved;
use crate::domain::password::is_argon2id_hash;
use crate::domain::{Code, RedirectStatus, Tags, TargetUrl, UserId};
use crate::links::view::{export_line, now_ms, parse_export_line};
use crate::links::LinkService;
use crate::store::{LinkFilter, NewLink, Order};

/// Links read or written per store round trip.
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

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub imported: u64,
    pub already_present: u64,
    pub rejected: u64,
}

/// Reads JSON lines from stdin and inserts them, codes included. Lines that
/// fail validation are reported with their line number and skipped; codes
/// that already exist are left untouched.
pub async fn import(links: &LinkService, config: &Config) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut summary = ImportSummary::default();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut line_no = 0u64;
    let mut seen = 0u64;
    while let Some(line) = lines.next_line().await? {
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(&line, links, config) {
            Ok(link) => chunk.push(link),
            Err(reason) => {
                summary.rejected += 1;
                eprintln!("line {line_no}: rejected: {reason}");
            }
        }
        if chunk.len() == CHUNK {
            write_chunk(links, &mut chunk, &mut summary).await?;
        }
        seen += 1;
        if seen.is_multiple_of(REPORT_EVERY) {
            progress("read", seen, started);
        }
    }
    write_chunk(links, &mut chunk, &mut summary).await?;
    eprintln!(
        "imported {} links ({} already present, {} rejected) in {:.1}s",
        summary.imported,
        summary.already_present,
        summary.rejected,
        started.elapsed().as_secs_f64()
    );
    Ok(summary)
}

async fn write_chunk(
    links: &LinkService,
    chunk: &mut Vec<NewLink>,
    summary: &mut ImportSummary,
) -> anyhow::Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    for id in links.import(chunk).await? {
        match id {
            Some(_) => summary.imported += 1,
            None => summary.already_present += 1,
        }
    }
    chunk.clear();
    Ok(())
}

fn parse_line(line: &str, links: &LinkService, config: &Config) -> Result<NewLink, String> {
    let (view, password_hash) = parse_export_line(line)?;
    if let Some(hash) = &password_hash {
        if !is_argon2id_hash(hash) {
            return Err("password_hash is not an argon2id hash".to_owned());
        }
    } else if view.has_password {
        return Err("has_password is true but password_hash is missing".to_owned());
    }
    let code = Code::parse(&view.code)
        .filter(|c| !is_reserved(c.as_str()))
        .ok_or_else(|| format!("{:?} is not a usable code", view.code))?;
    let url = TargetUrl::parse(&view.url, &links.rules().policy)?;
    let time = |field: &str, raw: &str| {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.timestamp_millis())
            .map_err(|_| format!("{field} is not an RFC 3339 timestamp"))
    };
    let created_at = match view.created_at.as_deref() {
        Some(raw) => time("created_at", raw)?,
        None => now_ms(),
    };
    let expires_at = view
        .expires_at
        .as_deref()
        .map(|raw| time("expires_at", raw))
        .transpose()?;
    let redirect_status = match view.redirect_status {
        Some(s) => RedirectStatus::parse(s.into())?,
        None => config.redirect_status,
    };
    if view.max_clicks.is_some_and(|m| m < 1) || view.clicks < 0 {
        return Err("max_clicks must be at least 1 and clicks not negative".to_owned());
    }
    Ok(NewLink {
        code: code.into_string(),
        url: url.into_string(),
        created_at,
        expires_at,
        max_clicks: view.max_clicks,
        clicks: view.clicks,
        redirect_status: redirect_status.as_u16().into(),
        owner: view
            .owner
            .map(|o| UserId::parse(&o).map(UserId::into_string))
            .transpose()
            .map_err(|e| format!("owner: {e}"))?,
        tags: Tags::parse(&view.tags)
            .map_err(|e| format!("tags: {e}"))?
            .into_vec(),
        password_hash,
    })
}

fn progress(verb: &str, n: u64, started: Instant) {
    let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
    eprintln!("{verb} {n} links ({rate:.0}/s)");
}
