//! The CSV formats: Shlink's importer CSV, Bitly's export and YOURLS's
//! `yourls_url` table. Column names are matched loosely (case, spaces and
//! underscores ignored: `Long URL`, `long_url` and `longurl` are one
//! column), and a header written with `;` between the columns is read so.

use std::io::BufRead;

use csv::{ReaderBuilder, StringRecord};

use super::row::{parse_clicks, parse_time, split_tags, Candidate, Row, Sender, Stop};
use crate::links::input::Rules;

/// Shlink's importer CSV: `Long URL` and `Short code`, optional `Tags`
/// (`|` between them); `Title` and `Domain` are not kept.
pub fn shlink(reader: impl BufRead, rules: &Rules, out: &mut Sender<'_>) -> Result<(), Stop> {
    let table = Table::open(reader)?;
    let url = table.need(&["longurl"], "Long URL")?;
    let code = table.need(&["shortcode"], "Short code")?;
    let tags = table.find(&["tags"]);
    table.each(
        out,
        |row| {
            Ok(Candidate {
                code: row.get(code).to_owned(),
                url: row.get(url).to_owned(),
                tags: row.optional(tags).map(split_tags).unwrap_or_default(),
                ..Candidate::default()
            })
        },
        code,
        rules,
    )
}

/// Bitly's CSV export: `long_url` and the bitlink (`link`, `bitlink` or
/// `id`, whose last path segment is the code; a `custom_bitlinks` entry
/// wins when present), optional `created_at` and `tags`.
pub fn bitly(reader: impl BufRead, rules: &Rules, out: &mut Sender<'_>) -> Result<(), Stop> {
    let table = Table::open(reader)?;
    let url = table.need(&["longurl"], "long_url")?;
    let link = table.need(&["link", "bitlink", "id"], "link")?;
    let custom = table.find(&["custombitlinks", "custombitlink"]);
    let created = table.find(&["createdat", "created", "datecreated"]);
    let tags = table.find(&["tags"]);
    table.each(
        out,
        |row| {
            let chosen = row
                .optional(custom)
                .and_then(|c| c.split([',', '|']).map(str::trim).find(|c| !c.is_empty()))
                .unwrap_or_else(|| row.get(link));
            Ok(Candidate {
                code: last_segment(chosen).to_owned(),
                url: row.get(url).to_owned(),
                created_at: row.optional(created).map(parse_time).transpose()?,
                tags: row.optional(tags).map(split_tags).unwrap_or_default(),
                ..Candidate::default()
            })
        },
        link,
        rules,
    )
}

/// YOURLS's `yourls_url` table: `keyword`, `url`, `title`, `timestamp`,
/// `ip`, `clicks`, with a header row or (as phpMyAdmin exports by
/// default) without one, in the table's column order.
pub fn yourls(reader: impl BufRead, rules: &Rules, out: &mut Sender<'_>) -> Result<(), Stop> {
    let mut table = Table::open(reader)?;
    if table.find(&["keyword"]).is_none() {
        table.headerless(&["keyword", "url", "title", "timestamp", "ip", "clicks"]);
    }
    let code = table.need(&["keyword"], "keyword")?;
    let url = table.need(&["url"], "url")?;
    let when = table.find(&["timestamp"]);
    let clicks = table.find(&["clicks"]);
    table.each(
        out,
        |row| {
            Ok(Candidate {
                code: row.get(code).to_owned(),
                url: row.get(url).to_owned(),
                created_at: row.optional(when).map(parse_time).transpose()?,
                clicks: row
                    .optional(clicks)
                    .map(parse_clicks)
                    .transpose()?
                    .unwrap_or(0),
                ..Candidate::default()
            })
        },
        code,
        rules,
    )
}

/// The code in a short URL: `bit.ly/abc`, `https://bit.ly/abc` → `abc`.
fn last_segment(link: &str) -> &str {
    let link = link.trim().trim_end_matches('/');
    link.rsplit('/').next().unwrap_or(link)
}

/// A CSV file with its header read.
struct Table<R> {
    reader: csv::Reader<R>,
    header: Vec<String>,
    /// The first row, when [`Table::headerless`] found it is data.
    first: Option<StringRecord>,
    header_row: StringRecord,
}

/// One data row, fields by column index.
struct Record<'a>(&'a StringRecord);

impl Record<'_> {
    fn get(&self, column: usize) -> &str {
        self.0.get(column).unwrap_or("").trim()
    }

    /// An optional column's value, `None` when the column is absent or
    /// the cell empty.
    fn optional(&self, column: Option<usize>) -> Option<&str> {
        column.map(|c| self.get(c)).filter(|v| !v.is_empty())
    }
}

impl<R: BufRead> Table<R> {
    fn open(mut reader: R) -> Result<Table<R>, Stop> {
        let peek = reader
            .fill_buf()
            .map_err(|e| Stop::Unreadable(format!("reading the file: {e}")))?;
        let first_line = peek.split(|b| *b == b'\n').next().unwrap_or_default();
        let count = |c: u8| first_line.iter().filter(|b| **b == c).count();
        let delimiter = if count(b';') > count(b',') {
            b';'
        } else {
            b','
        };
        let mut reader = ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(reader);
        let mut first = StringRecord::new();
        let found = reader
            .read_record(&mut first)
            .map_err(|e| Stop::Unreadable(format!("the file is not CSV: {e}")))?;
        if !found {
            return Err(Stop::Unreadable("the file is empty".to_owned()));
        }
        let header = first.iter().map(column_key).collect();
        Ok(Table {
            reader,
            header,
            first: None,
            header_row: first,
        })
    }

    /// The file has no header row: `names` are its columns, and the first
    /// row is data.
    fn headerless(&mut self, names: &[&str]) {
        self.header = names.iter().map(|n| column_key(n)).collect();
        self.first = Some(std::mem::take(&mut self.header_row));
    }

    fn find(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|name| self.header.iter().position(|h| h == name))
    }

    fn need(&self, names: &[&str], shown: &str) -> Result<usize, Stop> {
        self.find(names).ok_or_else(|| {
            Stop::Unreadable(format!(
                "the CSV has no {shown:?} column (its header is on line 1)"
            ))
        })
    }

    /// Every data row through `candidate`, checked and handed on.
    fn each(
        mut self,
        out: &mut Sender<'_>,
        candidate: impl Fn(&Record<'_>) -> Result<Candidate, String>,
        code_column: usize,
        rules: &Rules,
    ) -> Result<(), Stop> {
        if let Some(first) = self.first.take() {
            push(out, 1, &Record(&first), &candidate, code_column, rules)?;
        }
        let mut record = StringRecord::new();
        loop {
            match self.reader.read_record(&mut record) {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    if record.iter().all(|f| f.trim().is_empty()) {
                        continue;
                    }
                    push(out, line, &Record(&record), &candidate, code_column, rules)?;
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        return Err(Stop::Unreadable(format!("reading line {line}: {e}")));
                    }
                    out.push(Row {
                        line,
                        code: None,
                        link: Err(format!("unreadable CSV row: {e}")),
                    })?;
                }
            }
        }
    }
}

fn push(
    out: &mut Sender<'_>,
    line: u64,
    record: &Record<'_>,
    candidate: &impl Fn(&Record<'_>) -> Result<Candidate, String>,
    code_column: usize,
    rules: &Rules,
) -> Result<(), Stop> {
    let code = Some(record.get(code_column).to_owned()).filter(|c| !c.is_empty());
    let link = candidate(record).and_then(|c| c.check(rules));
    out.push(Row { line, code, link })
}

/// A column name without case, spaces, underscores or dashes.
fn column_key(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_match_whatever_their_spelling() {
        for name in ["Long URL", "long_url", "LONGURL", "\u{feff}Long-URL"] {
            assert_eq!(column_key(name), "longurl", "{name}");
        }
    }

    #[test]
    fn the_code_is_the_last_segment_of_a_bitlink() {
        assert_eq!(last_segment("bit.ly/3xYz"), "3xYz");
        assert_eq!(last_segment("https://bit.ly/3xYz/"), "3xYz");
        assert_eq!(last_segment("3xYz"), "3xYz");
    }
}
