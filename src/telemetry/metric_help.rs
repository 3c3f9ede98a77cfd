//! The help text of every metric SPEC.md lists, registered once per
//! registry so `/metrics` describes each series before it has traffic.

use metrics::{KeyName, Recorder, Unit};
use metrics_exporter_prometheus::PrometheusRecorder;

/// Help texts for every metric SPEC.md lists.
pub(super) fn describe(recorder: &PrometheusRecorder) {
    let counters = [
        (
            "shorty_http_requests_total",
            "HTTP requests by method, matched route template and status",
        ),
        (
            "shorty_redirects_total",
            "Redirect requests by outcome: found, not_found, gone",
        ),
        (
            "shorty_cache_requests_total",
            "Link cache lookups by layer (local, redis) and result (hit, miss)",
        ),
        ("shorty_links_created_total", "Links created"),
        (
            "shorty_rate_limited_total",
            "Requests refused with 429, by rule",
        ),
    ];
    for (name, help) in counters {
        recorder.describe_counter(KeyName::from(name), None, help.into());
    }
    let histograms = [
        (
            "shorty_http_request_duration_seconds",
            "HTTP request latency by method and matched route template",
        ),
        (
            "shorty_store_query_duration_seconds",
            "Store (SQLite or PostgreSQL) call latency by operation",
        ),
    ];
    for (name, help) in histograms {
        recorder.describe_histogram(KeyName::from(name), Some(Unit::Seconds), help.into());
    }
    recorder.describe_gauge(
        KeyName::from("shorty_clicks_pending"),
        None,
        "Clicks counted in memory and not yet written to the store".into(),
    );
    let redis_gauges = [
        (
            "shorty_redis_up",
            "1 while Redis answers, 0 after a failed call (only with redis_url)",
        ),
        (
            "shorty_redis_subscribed",
            "1 while subscribed to invalidations, 0 while local entries live 1 s (only with redis_url)",
        ),
    ];
    for (name, help) in redis_gauges {
        recorder.describe_gauge(KeyName::from(name), None, help.into());
    }
    recorder.describe_gauge(
        KeyName::from("shorty_build_info"),
        None,
        "Always 1; the labels carry the version".into(),
    );
}
