//! `GET /metrics`: the Prometheus text exposition, on the main listener or
//! on `metrics_listen` alone.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;
use crate::error::AppError;

/// The Prometheus text format's content type.
const TEXT_FORMAT: HeaderValue =
    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");

/// Renders every series, first copying in the totals kept as plain atomics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 404, description = "Metrics are off, or served on metrics_listen",
            body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let Some(metrics) = &state.metrics else {
        return AppError::NotFound("metrics are switched off (metrics = false)".to_owned())
            .into_response();
    };
    let lookups = |layer: &'static str, (hits, misses): (u64, u64)| {
        let name = "shorty_cache_requests_total";
        metrics.set_total(name, &[("layer", layer), ("result", "hit")], hits);
        metrics.set_total(name, &[("layer", layer), ("result", "miss")], misses);
    };
    lookups("local", state.links.cache_hits_and_misses());
    if let Some(redis) = state.links.redis() {
        lookups("redis", state.links.redis_hits_and_misses());
        // What /readyz reports as `checks.redis` and `checks.invalidation`,
        // as numbers an alert can read. Redis calls go out several times a
        // second (the invalidation heartbeat), so the last one is recent.
        let up = if redis.is_down() { 0.0 } else { 1.0 };
        metrics.set_gauge("shorty_redis_up", up);
        let subscribed = if state.links.cache().is_degraded() {
            0.0
        } else {
            1.0
        };
        metrics.set_gauge("shorty_redis_subscribed", subscribed);
    }
    metrics.set_gauge("shorty_clicks_pending", state.links.pending_clicks() as f64);
    let dropped = crate::telemetry::dropped_log_lines();
    metrics.set_total("shorty_log_lines_dropped_total", &[], dropped);
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], metrics.render()).into_response()
}

/// The router of the separate `metrics_listen` address: `/metrics` only.
pub fn metrics_only(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { AppError::NotFound("only /metrics is served here".to_owned()) })
        .with_state(state)
}
