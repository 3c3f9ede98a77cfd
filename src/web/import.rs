//! The admin's import upload: a file in shorty's own JSON lines or another
//! shortener's export, imported (or dry-run) by the same importer as
//! `shorty import`, with a report of every row it could not take.

use super::page::Choice;

/// Largest upload, in MiB.
pub const MAX_UPLOAD_MIB: usize = 32;

/// The choices the upload form offers.
pub struct ImportChoices {
    pub formats: Vec<Choice>,
    pub max_mib: usize,
}

impl ImportChoices {
    /// Every format, shorty's own first.
    pub fn new() -> ImportChoices {
        ImportChoices {
            formats: Choice::list(
                &[
                    ("jsonl", "shorty (JSON lines from shorty export)"),
                    ("shlink", "Shlink (CSV)"),
                    ("bitly", "Bitly (CSV export)"),
                    ("yourls", "YOURLS (yourls_url table as CSV)"),
                    ("chhoto", "chhoto-url (JSON export)"),
                ],
                "jsonl",
            ),
            max_mib: MAX_UPLOAD_MIB,
        }
    }
}
