//! One row of an import, as every format's reader hands it on: the
//! checked link (or why not), the chunks rows travel in, and the parsing
//! of values other tools write (times, tags, click counts, codes).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDateTime};
use tokio::sync::mpsc;

use crate::domain::alias::is_reserved;
use crate::domain::{Code, Tags, TargetUrl};
use crate::links::input::Rules;
use crate::links::view::now_ms;
use crate::store::NewLink;

/// Rows handed over at a time (one store round trip).
pub const CHUNK_ROWS: usize = 1000;

/// One row of the file, checked.
pub struct Row {
    pub line: u64,
    /// The row's code as written, for the report.
    pub code: Option<String>,
    pub link: Result<NewLink, String>,
}

/// Rows read since the last chunk, and the bytes of the file read so far.
pub struct Chunk {
    pub rows: Vec<Row>,
    pub bytes: u64,
}

/// Why a format's reader stopped early.
pub enum Stop {
    /// The file is not in the format; the message says why.
    Unreadable(String),
    /// The importer went away (its caller gave up); nothing more to do.
    Gone,
}

/// Collects rows into chunks for the importer.
pub struct Sender<'a> {
    tx: &'a mpsc::Sender<Result<Chunk, String>>,
    rows: Vec<Row>,
    bytes: &'a AtomicU64,
}

impl<'a> Sender<'a> {
    /// A sender of chunks into `tx`, each stamped with `bytes` read so far.
    pub fn new(tx: &'a mpsc::Sender<Result<Chunk, String>>, bytes: &'a AtomicU64) -> Sender<'a> {
        Sender {
            tx,
            rows: Vec::with_capacity(CHUNK_ROWS),
            bytes,
        }
    }

    /// Adds a row, handing a full chunk over (and waiting while the
    /// importer is behind).
    pub fn push(&mut self, row: Row) -> Result<(), Stop> {
        self.rows.push(row);
        if self.rows.len() == CHUNK_ROWS && !self.flush() {
            return Err(Stop::Gone);
        }
        Ok(())
    }

    /// Hands the rows so far over; `false` when the importer is gone.
    pub fn flush(&mut self) -> bool {
        let rows = std::mem::replace(&mut self.rows, Vec::with_capacity(CHUNK_ROWS));
        let bytes = self.bytes.load(Ordering::Relaxed);
        self.tx.blocking_send(Ok(Chunk { rows, bytes })).is_ok()
    }
}

/// What another shortener's row says about a link, before checking.
#[derive(Default)]
pub struct Candidate {
    pub code: String,
    pub url: String,
    pub created_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub clicks: i64,
    pub tags: Vec<String>,
}

impl Candidate {
    /// The link to insert, if the code, URL and tags pass shorty's rules.
    pub fn check(self, rules: &Rules) -> Result<NewLink, String> {
        let code = usable_code(&self.code)?;
        let url = TargetUrl::parse(self.url.trim(), &rules.policy)?;
        let tags = Tags::parse(&self.tags).map_err(|e| format!("tags: {e}"))?;
        if self.clicks < 0 {
            return Err("the click count is negative".to_owned());
        }
        Ok(NewLink {
            code: code.into_string(),
            url: url.into_string(),
            created_at: self.created_at.unwrap_or_else(now_ms),
            expires_at: self.expires_at,
            max_clicks: None,
            clicks: self.clicks,
            redirect_status: rules.default_status.as_u16().into(),
            owner: None,
            tags: tags.into_vec(),
            password_hash: None,
        })
    }
}

/// A code shorty can serve: well formed and not one of its own paths.
pub fn usable_code(raw: &str) -> Result<Code, String> {
    if raw.is_empty() {
        return Err("the short code is empty".to_owned());
    }
    Code::parse(raw)
        .filter(|c| !is_reserved(c.as_str()))
        .ok_or_else(|| {
            format!("{raw:?} is not a usable code (1-64 of A-Z a-z 0-9 - _, not a reserved path)")
        })
}

/// Tags as other tools write them: split on `|` or `,`, spaces inside a
/// tag turned into `-` (shorty's tags have none), empty pieces dropped.
pub fn split_tags(raw: &str) -> Vec<String> {
    raw.split(['|', ','])
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join("-"))
        .filter(|t| !t.is_empty())
        .collect()
}

/// A time as other tools write it (RFC 3339, Bitly's `+0000` offsets, SQL
/// `YYYY-MM-DD HH:MM:SS` taken as UTC, or Unix seconds), in milliseconds.
pub fn parse_time(raw: &str) -> Result<i64, String> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(t) = DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%z") {
        return Ok(t.timestamp_millis());
    }
    for layout in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, layout) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    match raw.parse::<i64>() {
        Ok(secs) if (0..=253_402_300_799).contains(&secs) => Ok(secs * 1000),
        _ => Err(format!("{raw:?} is not a date and time")),
    }
}

/// A click count as text; empty means none.
pub fn parse_clicks(raw: &str) -> Result<i64, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(0);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("{raw:?} is not a click count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_layout_other_tools_write() {
        let want = 1_700_000_000_000;
        for raw in [
            "2023-11-14T22:13:20Z",
            "2023-11-14T22:13:20+00:00",
            "2023-11-14T22:13:20+0000",
            "2023-11-14 22:13:20",
            "2023-11-14T22:13:20",
            "1700000000",
            " 1700000000 ",
        ] {
            assert_eq!(parse_time(raw), Ok(want), "{raw}");
        }
        for bad in [
            "",
            "yesterday",
            "-5",
            "99999999999999",
            "2023-13-01 00:00:00",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_split_on_pipes_and_commas_with_spaces_joined() {
        assert_eq!(
            split_tags("summer sale| news ,, x"),
            ["summer-sale", "news", "x"]
        );
        assert!(split_tags("  ").is_empty());
    }

    #[test]
    fn clicks_are_whole_and_not_negative() {
        assert_eq!(parse_clicks(""), Ok(0));
        assert_eq!(parse_clicks(" 42 "), Ok(42));
        for bad in ["-1", "1.5", "many"] {
            assert!(parse_clicks(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_empty_and_malformed_codes_are_refused() {
        assert!(usable_code("abc-1_Z").is_ok());
        for bad in ["", "api", "a b", "ü", &"x".repeat(65)] {
            assert!(usable_code(bad).is_err(), "{bad}");
        }
    }
}
