//! The reading side of an import: a blocking thread parses the file into
//! checked rows and hands them over in chunks through a bounded channel
//! (so a slow store slows the reader instead of filling memory).

use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::row::{Chunk, Sender, Stop};
use super::{csv_rows, json_rows, ImportFormat};
use crate::links::input::Rules;

/// Starts reading `file` on a blocking thread; chunks arrive in order, and
/// an `Err` (the file as a whole is unreadable) ends the stream.
pub fn read(
    format: ImportFormat,
    rules: Rules,
    file: impl Read + Send + 'static,
) -> mpsc::Receiver<Result<Chunk, String>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let counted = Arc::new(AtomicU64::new(0));
        let reader = BufReader::new(Counting {
            inner: file,
            read: Arc::clone(&counted),
        });
        let mut out = Sender::new(&tx, &counted);
        let read = match format {
            ImportFormat::Jsonl => json_rows::jsonl(reader, &rules, &mut out),
            ImportFormat::Chhoto => json_rows::chhoto(reader, &rules, &mut out),
            ImportFormat::Shlink => csv_rows::shlink(reader, &rules, &mut out),
            ImportFormat::Bitly => csv_rows::bitly(reader, &rules, &mut out),
            ImportFormat::Yourls => csv_rows::yourls(reader, &rules, &mut out),
        };
        match read {
            Ok(()) => {
                out.flush();
            }
            Err(Stop::Unreadable(reason)) => {
                if out.flush() {
                    let _ = tx.blocking_send(Err(reason));
                }
            }
            Err(Stop::Gone) => {}
        }
    });
    rx
}

struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
