//! Telemetry: logging (JSON lines by default, pretty for terminals),
//! Prometheus [`metrics`], and optional OTLP traces.

pub mod metrics;
mod writer;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, WorkerGuard};

use tracing_subscriber::EnvFilter;

/// Whether spans are exported; requests only create spans when they are.
static TRACES: AtomicBool = AtomicBool::new(false);

/// Whether an OTLP exporter is installed, so requests should make spans.
pub fn traces_enabled() -> bool {
    TRACES.load(Ordering::Relaxed)
}

use crate::config::LogFormat;

/// Where log lines go: the server logs to stdout; CLI commands log to
/// stderr so that `export` output stays clean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

/// Lines the background log writer dropped because its queue was full.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Log lines dropped so far because the log consumer could not keep up,
/// for `/metrics`.
pub fn dropped_log_lines() -> u64 {
    DROPPED.get().map_or(0, |c| c.dropped_lines() as u64)
}

/// Keeps the background log writer running; dropping it writes out what
/// is still queued.
#[must_use = "dropping it stops the log writer"]
pub struct LogGuard {
    _writer: Option<WorkerGuard>,
}

/// Installs the global subscriber; `RUST_LOG` overrides the `info` default.
/// Lines are written by a background thread ([`writer`]).
pub fn init(format: LogFormat, target: LogTarget) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = match target {
        LogTarget::Stdout => std::io::stdout().is_terminal(),
        LogTarget::Stderr => std::io::stderr().is_terminal(),
    };
    let (out, guard, dropped) = match target {
        LogTarget::Stdout => writer::background(std::io::stdout()),
        LogTarget::Stderr => writer::background(std::io::stderr()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(out);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        // Colours only for a terminal; redirected to a file they are noise.
        LogFormat::Pretty => builder.with_ansi(ansi).try_init(),
    };
    // A second init (tests, embedding) keeps the first subscriber.
    if result.is_ok() {
        let _ = DROPPED.set(dropped);
        LogGuard {
            _writer: Some(guard),
        }
    } else {
        LogGuard { _writer: None }
    }
}
