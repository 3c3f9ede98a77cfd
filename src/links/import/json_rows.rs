//! The JSON formats: shorty's own JSON lines and chhoto-url's export.

use std::io::{BufRead, Read};

use chrono::DateTime;
use serde::Deserialize;

use super::row::{usable_code, Candidate, Row, Sender, Stop};
use crate::domain::password::is_argon2id_hash;
use crate::domain::{RedirectStatus, Tags, TargetUrl, UserId};
use crate::links::input::Rules;
use crate::links::view::{now_ms, parse_export_line};
use crate::store::NewLink;

/// Longest line of shorty's JSON lines (a link object is well under 16 KiB).
const MAX_LINE_BYTES: u64 = 64 * 1024;

/// shorty's `export`: one link object per line, blank lines skipped.
pub fn jsonl(mut reader: impl BufRead, rules: &Rules, out: &mut Sender<'_>) -> Result<(), Stop> {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = reader
            .by_ref()
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| Stop::Unreadable(format!("reading line {}: {e}", number + 1)))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if line.len() as u64 > MAX_LINE_BYTES {
            return Err(Stop::Unreadable(format!(
                "line {number} is longer than {MAX_LINE_BYTES} bytes; is this shorty's JSON lines?"
            )));
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            out.push(Row {
                line: number,
                code: None,
                link: Err("the line is not UTF-8".to_owned()),
            })?;
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let code = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("code")?.as_str().map(str::to_owned));
        out.push(Row {
            line: number,
            code,
            link: parse_line(text, rules),
        })?;
    }
}

fn parse_line(line: &str, rules: &Rules) -> Result<NewLink, String> {
    let (view, password_hash) = parse_export_line(line)?;
    if let Some(hash) = &password_hash {
        if !is_argon2id_hash(hash) {
            return Err("password_hash is not an argon2id hash".to_owned());
        }
    } else if view.has_password {
        return Err("has_password is true but password_hash is missing".to_owned());
    }
    let code = usable_code(&view.code)?;
    let url = TargetUrl::parse(&view.url, &rules.policy)?;
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
        None => rules.default_status,
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

/// One entry of chhoto-url's export (`GET /api/all`); other fields are
/// ignored.
#[derive(Deserialize)]
struct ChhotoEntry {
    shortlink: Option<String>,
    longlink: Option<String>,
    #[serde(default)]
    hits: i64,
    /// Unix seconds; 0 means the link never expires.
    #[serde(default)]
    expiry_time: i64,
}

/// chhoto-url's export: a JSON array of link objects, numbered from 1.
pub fn chhoto(reader: impl BufRead, rules: &Rules, out: &mut Sender<'_>) -> Result<(), Stop> {
    let entries: Vec<serde_json::Value> = serde_json::from_reader(reader).map_err(|e| {
        Stop::Unreadable(format!(
            "not chhoto-url's export (a JSON array of links): {e}"
        ))
    })?;
    for (i, value) in entries.into_iter().enumerate() {
        let code = value
            .get("shortlink")
            .and_then(|c| c.as_str())
            .map(str::to_owned);
        let link = serde_json::from_value::<ChhotoEntry>(value)
            .map_err(|e| format!("not a chhoto-url link: {e}"))
            .and_then(|entry| chhoto_link(entry, rules));
        out.push(Row {
            line: i as u64 + 1,
            code,
            link,
        })?;
    }
    Ok(())
}

fn chhoto_link(entry: ChhotoEntry, rules: &Rules) -> Result<NewLink, String> {
    if !(0..=253_402_300_799).contains(&entry.expiry_time) {
        return Err(format!("expiry_time {} is out of range", entry.expiry_time));
    }
    Candidate {
        code: entry.shortlink.ok_or("shortlink is missing")?,
        url: entry.longlink.ok_or("longlink is missing")?,
        created_at: None,
        expires_at: (entry.expiry_time > 0).then(|| entry.expiry_time * 1000),
        clicks: entry.hits,
        tags: Vec::new(),
    }
    .check(rules)
}
