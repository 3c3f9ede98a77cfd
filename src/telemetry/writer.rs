//! Log output off the request path. Every request writes a line, so at
//! tens of thousands of requests a second a `write` system call per line on
//! the serving threads would cost more than the redirect itself. Lines are
//! formatted on the calling thread and handed over a channel to one writer
//! thread, which writes whatever has queued up in one buffered chunk.

use std::io::{BufWriter, Write};

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

/// Lines that may wait for the writer thread. When it cannot keep up (a
/// log consumer that stalls), further lines are dropped and counted rather
/// than stalling requests.
const QUEUED_LINES: usize = 128_000;

/// Bytes gathered into one write.
const CHUNK: usize = 64 * 1024;

/// The writer for the log layer, the guard that flushes it when dropped,
/// and the count of lines dropped because the queue was full.
pub fn background<W: Write + Send + 'static>(out: W) -> (NonBlocking, WorkerGuard, ErrorCounter) {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("shorty-log")
        .finish(BufWriter::with_capacity(CHUNK, out));
    let dropped = writer.error_counter();
    (writer, guard, dropped)
}
