//! Telemetry: logging (JSON lines by default, pretty for terminals),
//! Prometheus [`metrics`], and optional OTLP traces.

pub mod metrics;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Installs the global subscriber; `RUST_LOG` overrides the `info` default.
pub fn init(format: LogFormat, target: LogTarget) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match (format, target) {
        (LogFormat::Json, LogTarget::Stdout) => builder.json().flatten_event(true).try_init(),
        (LogFormat::Json, LogTarget::Stderr) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .try_init(),
        // Colours only for a terminal; redirected to a file they are noise.
        (LogFormat::Pretty, LogTarget::Stdout) => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        (LogFormat::Pretty, LogTarget::Stderr) => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // A second init (tests, embedding) keeps the first subscriber.
    let _ = result;
}
