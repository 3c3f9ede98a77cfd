//! Telemetry: logging (JSON lines by default, pretty for terminals),
//! Prometheus [`metrics`], optional OTLP traces ([`otlp`]) and optional
//! Sentry-compatible error reporting ([`sentry_report`]).

mod metric_help;
mod metric_labels;
pub mod metrics;
pub mod otlp;
mod redirect_tally;
pub mod request_line;
pub mod sentry_report;
mod writer;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, WorkerGuard};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// The target of the per-request log lines (and of the note that a
/// handler panicked). Error reporting skips it: the failure behind a 5xx
/// is logged, and so reported, once by `AppError` or the panic hook.
pub const REQUEST_LOG_TARGET: &str = "shorty::http";

/// Whether spans are exported; requests only create spans when they are.
static TRACES: AtomicBool = AtomicBool::new(false);

/// Whether an OTLP exporter is installed, so requests should make spans.
pub fn traces_enabled() -> bool {
    TRACES.load(Ordering::Relaxed)
}

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
    DROPPED.get().map_or(0, |c| c.dropped_lines() as u64) + request_line::dropped_extra()
}

/// What `main` keeps while it runs. Dropping it (or [`finish`]) delivers
/// what is still queued: spans first, then error events, then log lines.
///
/// [`finish`]: Telemetry::finish
#[must_use = "dropping it stops the exporters and the log writer"]
pub struct Telemetry {
    // Fields drop in order: the span exporter first, then Sentry's client,
    // then the log writer (so their last words are written).
    otlp: Option<otlp::OtlpGuard>,
    sentry: Option<sentry::ClientInitGuard>,
    logs: Option<WorkerGuard>,
}

impl Telemetry {
    /// Flushes and stops the exporters and the log writer; call it after
    /// the runtime is dropped, so what its shutdown logs is included.
    pub fn finish(self) {
        drop(self.otlp);
        drop(self.sentry);
        drop(self.logs);
    }
}

/// Sets up telemetry for `main`, before any runtime or thread starts:
/// Sentry (with `sentry_dsn`), then the OTLP exporter (with
/// `otlp_endpoint`), then the global subscriber. A server (`serving`) logs
/// to stdout and gets both exporters; CLI commands log to stderr and get
/// neither. Fails on an invalid DSN or endpoint.
pub fn init(config: &Config, serving: bool) -> anyhow::Result<Telemetry> {
    let dsn = config.sentry_dsn.as_deref().filter(|_| serving);
    let endpoint = config.otlp_endpoint.as_deref().filter(|_| serving);
    let sentry = dsn.map(sentry_report::init).transpose()?;
    let otlp = endpoint.map(otlp::init).transpose()?;
    let target = if serving {
        LogTarget::Stdout
    } else {
        LogTarget::Stderr
    };
    let logs = install(config.log_format, target, otlp.as_ref(), sentry.is_some());
    TRACES.store(otlp.is_some(), Ordering::Relaxed);
    Ok(Telemetry { otlp, sentry, logs })
}

/// Installs the global subscriber without exporters (tests, embedding);
/// the guard keeps the log writer running.
pub fn init_logging(format: LogFormat, target: LogTarget) -> Option<WorkerGuard> {
    install(format, target, None, false)
}

/// The global subscriber; `RUST_LOG` overrides the `info` default and
/// applies to the exporters too. Lines are written by a background thread
/// ([`writer`]). A second call keeps the first subscriber (and returns no
/// guard).
fn install(
    format: LogFormat,
    target: LogTarget,
    otlp: Option<&otlp::OtlpGuard>,
    sentry: bool,
) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (ansi, (out, guard, dropped)) = match target {
        LogTarget::Stdout => (
            std::io::stdout().is_terminal(),
            writer::background(std::io::stdout()),
        ),
        LogTarget::Stderr => (
            std::io::stderr().is_terminal(),
            writer::background(std::io::stderr()),
        ),
    };
    let json_out = (format == LogFormat::Json).then(|| out.clone());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(out);
    macro_rules! with_exporters {
        ($subscriber:expr) => {
            $subscriber
                .with(otlp.map(|guard| guard.layer()))
                .with(sentry.then(sentry_report::layer))
                .try_init()
        };
    }
    let result = match format {
        LogFormat::Json => with_exporters!(builder.json().flatten_event(true).finish()),
        // Colours only for a terminal; redirected to a file they are noise.
        LogFormat::Pretty => with_exporters!(builder.with_ansi(ansi).finish()),
    };
    result.ok().map(|()| {
        let _ = DROPPED.set(dropped);
        if let Some(out) = json_out {
            request_line::install(out);
        }
        guard
    })
}

/// Both exporters send over reqwest with rustls, which panics when asked
/// for a client before a crypto provider is chosen: ring, process-wide.
/// Already installed (by the other exporter) is fine.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
