//! Moving in: links from shorty's own export or from another shortener's
//! (Shlink's importer CSV, Bitly's CSV export, YOURLS's `yourls_url` table
//! as CSV, chhoto-url's JSON export), codes kept. Rows that cannot be
//! taken are reported one by one and the rest still import; a dry run
//! reports the same without writing. Both `shorty import` and the admin
//! page's upload run this.
//!
//! The file is parsed on a blocking thread ([`reader`]) and handed over in
//! chunks, so a large file streams through in bounded memory.

mod csv_rows;
mod json_rows;
mod reader;
mod row;

use std::collections::HashSet;
use std::io::Read;

use serde::Serialize;

use super::LinkService;
use crate::domain::UserId;
use crate::store::{NewLink, StoreError};
use row::Chunk;

/// Problems kept in a report for display; the rest are only counted.
pub const MAX_LISTED_PROBLEMS: usize = 1000;

/// A file layout the importer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    /// shorty's own `export`: one link object per line.
    Jsonl,
    /// Shlink's importer CSV: `Long URL`, `Short code`, optional `Title`,
    /// `Domain`, `Tags` (separated by `|`).
    Shlink,
    /// Bitly's CSV export: `long_url`, `link` (the bitlink), optional
    /// `custom_bitlinks`, `title`, `created_at`, `tags`.
    Bitly,
    /// YOURLS's `yourls_url` table as CSV: `keyword`, `url`, `title`,
    /// `timestamp`, `ip`, `clicks` (with or without a header row).
    Yourls,
    /// chhoto-url's JSON export: an array of `shortlink`, `longlink`,
    /// `hits`, `expiry_time`.
    Chhoto,
}

impl ImportFormat {
    /// Every format with its name, as the CLI and the upload form offer them.
    pub const ALL: [(ImportFormat, &'static str); 5] = [
        (ImportFormat::Jsonl, "jsonl"),
        (ImportFormat::Shlink, "shlink"),
        (ImportFormat::Bitly, "bitly"),
        (ImportFormat::Yourls, "yourls"),
        (ImportFormat::Chhoto, "chhoto"),
    ];

    /// The format a name (`jsonl`, `shlink`, …) stands for.
    pub fn parse(name: &str) -> Option<ImportFormat> {
        Self::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(f, _)| *f)
    }

    /// What a row's number counts in this format, for messages.
    pub fn unit(self) -> &'static str {
        match self {
            ImportFormat::Chhoto => "entry",
            _ => "line",
        }
    }
}

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub format: ImportFormat,
    /// Report what would happen, write nothing.
    pub dry_run: bool,
    /// The owner of every imported link that names none itself.
    pub owner: Option<UserId>,
}

/// A row that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// The row's line (or, for chhoto-url's JSON, its entry number), from 1.
    pub line: u64,
    /// The row's code, when it had one.
    pub code: Option<String>,
    pub reason: String,
    /// `true` when the code was taken (the row was fine otherwise).
    pub taken: bool,
}

/// What an import did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// Rows read, blank lines not counted.
    pub rows: u64,
    pub imported: u64,
    /// Rows whose code was already taken (or came earlier in the file).
    pub taken: u64,
    /// Rows that could not be read or checked.
    pub rejected: u64,
    /// The first [`MAX_LISTED_PROBLEMS`] problems, in file order.
    pub problems: Vec<RowProblem>,
    /// Problems past those listed.
    pub more_problems: u64,
    pub dry_run: bool,
}

/// Something a caller may show while a long import runs.
pub enum ImportEvent<'a> {
    /// A row was skipped.
    Problem(&'a RowProblem),
    /// Rows read so far, and bytes of the file.
    Progress { rows: u64, bytes: u64 },
}

/// Why an import stopped before the end of the file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file as a whole is not in the format (no header, not JSON, …).
    #[error("{0}")]
    Unreadable(String),
    #[error("there is no user {0:?} to own the imported links")]
    UnknownOwner(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LinkService {
    /// Imports every row of `file` read as `options.format`, calling
    /// `on_event` for each skipped row and every few thousand rows read.
    pub async fn import_file(
        &self,
        file: impl Read + Send + 'static,
        options: &ImportOptions,
        mut on_event: impl FnMut(ImportEvent<'_>),
    ) -> Result<ImportReport, ImportError> {
        if let Some(owner) = &options.owner {
            if self.store().get_user(owner.as_str()).await?.is_none() {
                return Err(ImportError::UnknownOwner(owner.as_str().to_owned()));
            }
        }
        let mut chunks = reader::read(options.format, self.rules().clone(), file);
        let mut report = ImportReport {
            dry_run: options.dry_run,
            ..ImportReport::default()
        };
        let mut dry_run_seen = HashSet::new();
        while let Some(chunk) = chunks.recv().await {
            let Chunk { rows, bytes } = chunk.map_err(ImportError::Unreadable)?;
            let mut lines = Vec::with_capacity(rows.len());
            let mut links = Vec::with_capacity(rows.len());
            let mut problems = Vec::new();
            for row in rows {
                report.rows += 1;
                match row.link {
                    Ok(mut link) => {
                        if link.owner.is_none() {
                            link.owner = options.owner.as_ref().map(|o| o.as_str().to_owned());
                        }
                        lines.push(row.line);
                        links.push(link);
                    }
                    Err(reason) => {
                        report.rejected += 1;
                        problems.push(RowProblem {
                            line: row.line,
                            code: row.code,
                            reason,
                            taken: false,
                        });
                    }
                }
            }
            let written = if options.dry_run {
                self.would_write(&links, &mut dry_run_seen).await?
            } else {
                self.import(&links)
                    .await?
                    .iter()
                    .map(Option::is_some)
                    .collect()
            };
            for ((line, link), fresh) in lines.into_iter().zip(links).zip(written) {
                if fresh {
                    report.imported += 1;
                    continue;
                }
                report.taken += 1;
                problems.push(RowProblem {
                    line,
                    reason: format!("the code {:?} is already taken", link.code),
                    code: Some(link.code),
                    taken: true,
                });
            }
            problems.sort_by_key(|p| p.line);
            for problem in problems {
                note(&mut report, problem, &mut on_event);
            }
            on_event(ImportEvent::Progress {
                rows: report.rows,
                bytes,
            });
        }
        Ok(report)
    }

    /// For a dry run: whether each link would be written, that is, its
    /// code is free in the store and not used earlier in the file.
    async fn would_write(
        &self,
        links: &[NewLink],
        seen: &mut HashSet<String>,
    ) -> Result<Vec<bool>, StoreError> {
        let codes: Vec<String> = links.iter().map(|l| l.code.clone()).collect();
        let taken: HashSet<String> = self
            .store()
            .taken_codes(&codes)
            .await?
            .into_iter()
            .collect();
        Ok(codes
            .into_iter()
            .map(|code| !taken.contains(&code) && seen.insert(code))
            .collect())
    }
}

fn note(
    report: &mut ImportReport,
    problem: RowProblem,
    on_event: &mut impl FnMut(ImportEvent<'_>),
) {
    on_event(ImportEvent::Problem(&problem));
    if report.problems.len() < MAX_LISTED_PROBLEMS {
        report.problems.push(problem);
    } else {
        report.more_problems += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_found_by_name_in_any_case() {
        for (format, name) in ImportFormat::ALL {
            assert_eq!(ImportFormat::parse(name), Some(format));
            assert_eq!(ImportFormat::parse(&name.to_uppercase()), Some(format));
        }
        assert_eq!(ImportFormat::parse("csv"), None);
        assert_eq!(ImportFormat::Chhoto.unit(), "entry");
        assert_eq!(ImportFormat::Shlink.unit(), "line");
    }
}
