//! Error reporting to Sentry or anything speaking its protocol (GlitchTip,
//! Bugsink), on only when `sentry_dsn` is set: otherwise no client exists
//! and the panic hook and layer below are never installed.
//!
//! What becomes an event: every panic (from the panic hook, `fatal`, with
//! its backtrace) and every `ERROR` log line except those under
//! [`LOG_TARGET`], the per-request lines whose failure is already logged
//! (and so reported) once by `AppError`, and those of the OpenTelemetry
//! SDK (see [`layer`]). So a 5xx gives one event, and a store outage one
//! per 30 s (see `error::log_unavailable`).

use std::time::Duration;

use anyhow::Context as _;
use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::REQUEST_LOG_TARGET as LOG_TARGET;

/// Longest wait to deliver queued events: at exit, and on the panicking
/// thread after a panic (the panic hook flushes synchronously).
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the client and installs the panic hook (chained to the previous
/// one, so panics are still printed). Call it before any thread or runtime
/// starts: threads copy the main thread's hub when they first use one.
/// Events go through a bounded queue to a transport thread, so logging
/// never waits for the network. `SENTRY_ENVIRONMENT` and `SENTRY_RELEASE`
/// are honoured. Dropping the guard flushes (at most [`FLUSH_TIMEOUT`]).
pub fn init(dsn: &str) -> anyhow::Result<sentry::ClientInitGuard> {
    // Parsed here because `sentry::init` panics on an invalid DSN string.
    let dsn: sentry::types::Dsn = dsn.trim().parse().context("invalid sentry_dsn")?;
    super::install_tls_provider();
    let mut options = sentry::ClientOptions::new()
        .send_default_pii(false)
        // Traces go to OTLP; Sentry gets errors only.
        .traces_sample_rate(0.0)
        .shutdown_timeout(FLUSH_TIMEOUT);
    options.dsn = Some(dsn);
    options.release = sentry::release_name!();
    Ok(sentry::init(options))
}

/// The `tracing` layer: `ERROR` lines become events, `WARN` and `ERROR`
/// lines breadcrumbs on later events from the same thread, both only past
/// the global `EnvFilter` and never for [`LOG_TARGET`]. The OpenTelemetry
/// SDK's own errors (a failed export, every few seconds while the
/// collector is down) are breadcrumbs only: they are no failure of ours.
/// Spans are ignored (no per-span cost).
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let events = Reported {
        max: Level::ERROR,
        skip: &[LOG_TARGET, "opentelemetry"],
        inner: ErrorLayer::new(),
    };
    events.and_then(Reported {
        max: Level::WARN,
        skip: &[LOG_TARGET],
        inner: BreadcrumbLayer::new(),
    })
}

/// Passes `inner` the events at `max` or more severe whose target starts
/// with none of `skip`. Not `Layer::with_filter`: per-layer filters panic
/// on a `fmt().finish()` subscriber.
struct Reported<L> {
    max: Level,
    skip: &'static [&'static str],
    inner: L,
}

impl<S: Subscriber, L: Layer<S>> Layer<S> for Reported<L> {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let skipped = self.skip.iter().any(|t| meta.target().starts_with(t));
        if *meta.level() <= self.max && !skipped {
            self.inner.on_event(event, ctx);
        }
    }
}
