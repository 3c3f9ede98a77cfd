//! OTLP/HTTP (protobuf) export of `tracing` spans, on only when
//! `otlp_endpoint` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) is set; otherwise no
//! OpenTelemetry layer is installed and requests make no spans at all.

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Key;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// How long [`OtlpGuard`] waits for the final export at exit, so a dead
/// collector cannot hold up a shutdown for long.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The URL spans are POSTed to: `endpoint` is a base URL, as with
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (`http://collector:4318` gives
/// `http://collector:4318/v1/traces`). Done here because the exporter uses
/// an explicitly given endpoint verbatim.
pub fn traces_url(endpoint: &str) -> String {
    format!("{}/v1/traces", endpoint.trim().trim_end_matches('/'))
}

/// Starts the exporter for `endpoint` (a base URL, see [`traces_url`]).
///
/// The batch processor runs on its own OS thread and exports with a
/// blocking client, so spans may end on any thread or runtime and this
/// needs no runtime. Spans are sent every 5 s or 512 at a time; beyond a
/// full queue (2048) they are dropped, never waited for. `OTEL_BSP_*`,
/// `OTEL_EXPORTER_OTLP_HEADERS`/`_TIMEOUT`, `OTEL_SERVICE_NAME` and
/// `OTEL_RESOURCE_ATTRIBUTES` are honoured.
pub fn init(endpoint: &str) -> anyhow::Result<OtlpGuard> {
    super::install_tls_provider();
    let url = traces_url(endpoint);
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(&url)
        .build()
        .with_context(|| format!("cannot export spans to {url}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build();
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    Ok(OtlpGuard { provider, tracer })
}

/// The detected resource (`OTEL_*` variables), named `shorty` unless the
/// environment names the service.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let service = detected.get(&Key::from_static_str("service.name"));
    if service.is_some_and(|name| name.as_str() != "unknown_service") {
        return detected;
    }
    Resource::builder()
        .with_service_name(env!("CARGO_PKG_NAME"))
        .build()
}

/// Owns the exporter and flushes it when dropped: the layer in the global
/// subscriber keeps the provider alive forever, so without this the last
/// few seconds of spans would be lost at exit. Dropping it blocks for at
/// most [`SHUTDOWN_TIMEOUT`]; do it after the runtime has stopped.
#[must_use = "dropping the guard shuts the exporter down"]
pub struct OtlpGuard {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl OtlpGuard {
    /// A `tracing` layer feeding this exporter; generic, so each arm of
    /// the subscriber `match` (differently typed) can take its own.
    pub fn layer<S>(&self) -> impl Layer<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.tracer.clone())
    }
}

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            tracing::warn!(error = %e, "exporting the last spans failed");
        }
    }
}
