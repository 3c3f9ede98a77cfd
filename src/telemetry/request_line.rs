//! The per-request log line in JSON, written straight to the log writer.
//!
//! Every request logs a line, and a profile of the redirect benchmark put
//! tracing's JSON formatter (a serde visitor per field, a timestamp
//! formatted per event) at about 8% of the server's CPU. This writes the
//! same line, with the same fields, for a fraction of that. Other lines,
//! and request lines at other levels or in pretty format, still go through
//! `tracing`; the caller checks with `tracing::enabled!` that the line is
//! wanted, so `RUST_LOG` still applies.
//!
//! Each serving thread gathers its lines into a batch and hands the batch
//! to the log writer when it reaches [`BATCH_BYTES`] or is [`BATCH_AGE`]
//! old. Handed over line by line, the writer thread found its queue empty
//! after every line or two and made a `write` system call each time (6,000
//! a second in the redirect benchmark).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing_appender::non_blocking::NonBlocking;

/// The JSON log writer, set when JSON logging is installed.
static OUT: OnceLock<NonBlocking> = OnceLock::new();

/// Request lines lost because the writer's queue was full, beyond the one
/// line per lost batch that the writer counts itself.
static DROPPED_EXTRA: AtomicU64 = AtomicU64::new(0);

/// Bytes of lines a thread gathers before handing them to the writer.
pub const BATCH_BYTES: usize = 32 * 1024;

/// Longest a line waits in its thread's batch. Serving threads hand over
/// their batch at least this often ([`flush_thread`]).
pub const BATCH_AGE: Duration = Duration::from_millis(100);

/// One thread's handle on [`OUT`] and its batch.
struct Batch {
    out: NonBlocking,
    text: String,
    lines: u64,
    /// When the oldest line in `text` was written (since the epoch).
    oldest: Duration,
}

impl Batch {
    fn hand_over(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let counter = self.out.error_counter();
        let before = counter.dropped_lines();
        // The writer queues the batch for its thread and never blocks; a
        // full queue drops the batch and counts one line.
        let _ = self.out.write_all(self.text.as_bytes());
        if counter.dropped_lines() > before {
            DROPPED_EXTRA.fetch_add(self.lines.saturating_sub(1), Ordering::Relaxed);
        }
        self.text.clear();
        self.lines = 0;
    }
}

thread_local! {
    static LOCAL: RefCell<Option<Batch>> = const { RefCell::new(None) };
    /// The formatted date and time of the last second seen on this thread.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Request lines dropped because the log writer could not keep up, beyond
/// what the writer counted (it counts a lost batch as one line).
pub(super) fn dropped_extra() -> u64 {
    DROPPED_EXTRA.load(Ordering::Relaxed)
}

/// Hands this thread's gathered lines to the writer. Serving threads call
/// it every [`BATCH_AGE`] and before they exit.
pub fn flush_thread() {
    LOCAL.with(|local| {
        if let Some(batch) = local.borrow_mut().as_mut() {
            batch.hand_over();
        }
    });
}

/// Sends request lines to `out` from now on (JSON logging only).
pub(super) fn install(out: NonBlocking) {
    let _ = OUT.set(out);
}

/// What one request's line says.
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub latency: Duration,
    pub request_id: &'a str,
    pub client_ip: IpAddr,
}

/// Writes `line` at level INFO with target `target`. Returns false when
/// JSON logging is not installed, so the caller logs through `tracing`.
pub fn write_info(target: &str, line: &RequestLine<'_>) -> bool {
    LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        if local.is_none() {
            let Some(out) = OUT.get() else {
                return false;
            };
            *local = Some(Batch {
                out: out.clone(),
                text: String::with_capacity(BATCH_BYTES + 1024),
                lines: 0,
                oldest: Duration::ZERO,
            });
        }
        let Some(batch) = local.as_mut() else {
            return false;
        };
        let now = SystemTime::now();
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        if batch.lines == 0 {
            batch.oldest = since_epoch;
        }
        format(&mut batch.text, target, line, now);
        batch.lines += 1;
        if batch.text.len() >= BATCH_BYTES || since_epoch.saturating_sub(batch.oldest) >= BATCH_AGE
        {
            batch.hand_over();
        }
        true
    })
}

/// The line as tracing's JSON formatter (flattened) would write it, with
/// latency in milliseconds to the microsecond.
fn format(buf: &mut String, target: &str, line: &RequestLine<'_>, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    buf.push_str(r#"{"timestamp":""#);
    SECOND.with(|second| {
        let mut second = second.borrow_mut();
        let secs = since_epoch.as_secs();
        if second.0 != secs {
            let when = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default();
            second.1 = when.format("%Y-%m-%dT%H:%M:%S").to_string();
            second.0 = secs;
        }
        buf.push_str(&second.1);
    });
    let micros = line.latency.as_micros();
    buf.push('.');
    push_padded(buf, u64::from(since_epoch.subsec_micros()), 6);
    buf.push_str(r#"Z","level":"INFO","message":"request","method":""#);
    push_escaped(buf, line.method);
    buf.push_str(r#"","route":""#);
    push_escaped(buf, line.route);
    buf.push_str(r#"","status":"#);
    buf.push_str(itoa::Buffer::new().format(line.status));
    buf.push_str(r#","latency_ms":"#);
    buf.push_str(itoa::Buffer::new().format(micros / 1000));
    buf.push('.');
    push_padded(buf, (micros % 1000) as u64, 3);
    buf.push_str(r#","request_id":""#);
    push_escaped(buf, line.request_id);
    buf.push_str(r#"","client_ip":""#);
    push_ip(buf, line.client_ip);
    buf.push_str(r#"","target":""#);
    push_escaped(buf, target);
    buf.push_str("\"}\n");
}

/// Appends `n` in decimal, zero-padded to `width` digits (at most 6).
fn push_padded(buf: &mut String, n: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    let zeros = width.saturating_sub(digits.len()).min(6);
    buf.push_str(&"000000"[..zeros]);
    buf.push_str(digits);
}

/// Appends `ip` as `Display` writes it. IPv4, the common case, skips the
/// formatting machinery, which cost as much as the rest of the line.
fn push_ip(buf: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf.push('.');
                }
                buf.push_str(itoa::Buffer::new().format(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(buf, "{v6}");
        }
    }
}

/// Bytes that a JSON string must escape: controls, `"` and `\`.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Appends `s` as the inside of a JSON string.
fn push_escaped(buf: &mut String, s: &str) {
    if !s.bytes().any(|b| NEEDS_ESCAPE[usize::from(b)]) {
        buf.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", u32::from(c));
            }
            c => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(request_id: &str) -> RequestLine<'_> {
        RequestLine {
            method: "GET",
            route: "/{code}",
            status: 302,
            latency: Duration::from_micros(1_234_567),
            request_id,
            client_ip: "2001:db8::1".parse().unwrap(),
        }
    }

    #[test]
    fn lines_are_json_with_the_request_fields_at_the_top_level() {
        let mut buf = String::new();
        let now = UNIX_EPOCH + Duration::new(1_795_305_600, 7_000);
        format(&mut buf, "shorty::http", &line("ab\"c\\d\u{1}"), now);
        assert!(buf.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
        assert_eq!(v["timestamp"], "2026-11-22T00:00:00.000007Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "request");
        assert_eq!(v["target"], "shorty::http");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["route"], "/{code}");
        assert_eq!(v["status"], 302);
        assert_eq!(v["latency_ms"], 1234.567);
        assert_eq!(v["request_id"], "ab\"c\\d\u{1}");
        assert_eq!(v["client_ip"], "2001:db8::1");
    }

    #[test]
    fn numbers_are_zero_padded_to_their_width() {
        for (n, width, want) in [
            (6, 3, "006"),
            (0, 6, "000000"),
            (123_456, 6, "123456"),
            (42, 1, "42"),
        ] {
            let mut buf = String::new();
            push_padded(&mut buf, n, width);
            assert_eq!(buf, want);
        }
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.200.3.255",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "::",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut buf = String::new();
            push_ip(&mut buf, ip);
            assert_eq!(buf, ip.to_string());
        }
    }

    #[test]
    fn the_cached_second_is_refreshed_when_time_moves_on() {
        let mut buf = String::new();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_795_305_600);
        format(&mut buf, "t", &line("a"), t0);
        buf.clear();
        format(
            &mut buf,
            "t",
            &line("a"),
            t0 + Duration::from_millis(61_500),
        );
        let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
        assert_eq!(v["timestamp"], "2026-11-22T00:01:01.500000Z");
    }

    /// A log destination that says when a write starts and holds it until
    /// released.
    struct Stalled {
        entered: std::sync::mpsc::Sender<()>,
        held: std::sync::mpsc::Receiver<()>,
    }

    impl std::io::Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.entered.send(());
            let _ = self.held.recv();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_batch_lost_to_a_full_queue_counts_all_its_lines() {
        let (release, held) = std::sync::mpsc::channel();
        let (entered, writing) = std::sync::mpsc::channel();
        let (out, _guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(1)
            .finish(Stalled { entered, held });
        let counter = out.error_counter();
        let mut batch = Batch {
            out,
            text: String::new(),
            lines: 0,
            oldest: Duration::ZERO,
        };
        let mut send = |lines: u64| {
            batch.text.push_str(&"x\n".repeat(lines as usize));
            batch.lines = lines;
            batch.hand_over();
            assert!(batch.text.is_empty() && batch.lines == 0);
        };
        // The writer takes the first batch and stalls in write; the
        // second fills the one-slot queue; the rest are dropped.
        send(1);
        writing.recv().unwrap();
        send(1);
        let extra_before = dropped_extra();
        send(5);
        send(3);
        assert_eq!(
            counter.dropped_lines(),
            2,
            "the writer counts each batch once"
        );
        assert_eq!(dropped_extra() - extra_before, 4 + 2);
        for _ in 0..3 {
            let _ = release.send(());
        }
    }
}
