//! Telemetry: logging (JSON lines by default, pretty for terminals),
//! Prometheus [`metrics`], optional OTLP traces ([`otlp`]) and optional
//! Sentry-compatible error reporting ([`sentry_report`]).

pub mod metrics;
pub mod otlp;
pub mod sentry_report;

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

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

/// The exporters `main` keeps while it runs. Dropping it (or [`finish`])
/// delivers what is still queued: spans first, then error events.
///
/// [`finish`]: Telemetry::finish
#[must_use = "dropping it stops the exporters"]
pub struct Telemetry {
    // Fields drop in order: the span exporter first, then Sentry's client.
    otlp: Option<otlp::OtlpGuard>,
    sentry: Option<sentry::ClientInitGuard>,
}

impl Telemetry {
    /// Flushes and stops the exporters; call it after the runtime is
    /// dropped, so spans and errors from its shutdown are included.
    pub fn finish(self) {
        drop(self.otlp);
        drop(self.sentry);
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
    install(config.log_format, target, otlp.as_ref(), sentry.is_some());
    TRACES.store(otlp.is_some(), Ordering::Relaxed);
    Ok(Telemetry { otlp, sentry })
}

/// Installs the global subscriber without exporters (tests, embedding).
pub fn init_logging(format: LogFormat, target: LogTarget) {
    install(format, target, None, false);
}

/// The global subscriber; `RUST_LOG` overrides the `info` default and
/// applies to the exporters too. A second call keeps the first one.
fn install(format: LogFormat, target: LogTarget, otlp: Option<&otlp::OtlpGuard>, sentry: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    macro_rules! with_exporters {
        ($subscriber:expr) => {
            $subscriber
                .with(otlp.map(|guard| guard.layer()))
                .with(sentry.then(sentry_report::layer))
                .try_init()
        };
    }
    let result = match (format, target) {
        (LogFormat::Json, LogTarget::Stdout) => with_exporters!(builder.json().finish()),
        (LogFormat::Json, LogTarget::Stderr) => {
            with_exporters!(builder.json().with_writer(std::io::stderr).finish())
        }
        (LogFormat::Pretty, LogTarget::Stdout) => with_exporters!(builder.finish()),
        (LogFormat::Pretty, LogTarget::Stderr) => {
            with_exporters!(builder.with_writer(std::io::stderr).finish())
        }
    };
    // A second init (tests, embedding) keeps the first subscriber.
    let _ = result;
}

/// Both exporters send over reqwest with rustls, which panics when asked
/// for a client before a crypto provider is chosen: ring, process-wide.
/// Already installed (by the other exporter) is fine.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
