//! Prometheus metrics: one registry per running server (so tests running
//! several servers in one process see only their own series), with the
//! hot-path handles looked up once and kept.
//!
//! Counters that already exist as plain atomics elsewhere (cache hits and
//! misses, pending clicks) are copied into the registry when `/metrics` is
//! scraped rather than recorded per request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use parking_lot::RwLock;

use super::metric_help::describe;
use super::redirect_tally::{RedirectTally, METHODS};

/// Latency buckets in seconds: sub-millisecond cache hits up to requests
/// that hit the 10 s store timeout.
const BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Histogram buckets, with the last (`+Inf`) one.
const BUCKETS_AND_INF: usize = BUCKETS.len() + 1;

const METADATA: Metadata<'static> = Metadata::new("shorty", Level::INFO, None);

pub use super::metric_labels::{
    method_label, status_label, LimitRule, RedirectOutcome, REDIRECT_ROUTE, UNMATCHED_ROUTE,
};

/// The latency histogram of one (method, route) and its counters per status.
struct RouteSeries {
    duration: Histogram,
    by_status: Vec<(&'static str, Counter)>,
}

/// The series of one route template, per method label.
type RouteMethods = Vec<(&'static str, RouteSeries)>;

/// The server's metrics registry and the handles the hot paths use.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    http: RwLock<HashMap<Box<str>, RouteMethods>>,
    redirects: [Counter; 3],
    rate_limited: [Counter; LimitRule::ALL.len()],
    links_created: Counter,
    store_ops: RwLock<HashMap<&'static str, Histogram>>,
    /// Redirects answered by the fast path, not yet in the series above.
    fast_redirects: RedirectTally<BUCKETS_AND_INF>,
}

impl Metrics {
    /// A fresh registry with every SPEC metric described and the fixed
    /// series registered at zero, so dashboards see them before traffic.
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        describe(&recorder);
        let counter = |name: &'static str, labels: Vec<Label>| {
            recorder.register_counter(&Key::from_parts(name, labels), &METADATA)
        };
        let outcome =
            |v: &'static str| counter("shorty_redirects_total", vec![Label::new("outcome", v)]);
        let rule =
            |v: &'static str| counter("shorty_rate_limited_total", vec![Label::new("rule", v)]);
        let build_info = recorder.register_gauge(
            &Key::from_parts(
                "shorty_build_info",
                vec![
                    Label::new("name", env!("CARGO_PKG_NAME")),
                    Label::new("version", env!("CARGO_PKG_VERSION")),
                ],
            ),
            &METADATA,
        );
        build_info.set(1.0);
        Metrics {
            redirects: [outcome("found"), outcome("not_found"), outcome("gone")],
            rate_limited: LimitRule::ALL.map(|r| rule(r.as_str())),
            links_created: counter("shorty_links_created_total", vec![]),
            recorder,
            handle,
            http: RwLock::new(HashMap::new()),
            store_ops: RwLock::new(HashMap::new()),
            fast_redirects: RedirectTally::new(std::array::from_fn(|i| {
                BUCKETS.get(i).copied().unwrap_or(f64::INFINITY)
            })),
        }
    }

    /// Counts one redirect answered by the fast path: the request, its
    /// latency and a found redirect, as [`Metrics::record_request`] and
    /// [`Metrics::record_redirect`] would, in this thread's own slot.
    pub fn record_fast_redirect(&self, method: &Method, status: u16, elapsed: Duration) {
        if !self.fast_redirects.record(method, status, elapsed) {
            self.record_redirect(RedirectOutcome::Found);
            self.record_request(method, REDIRECT_ROUTE, status, elapsed);
        }
    }

    /// Moves the fast path's new counts into the registry's series.
    fn publish_fast_redirects(&self) {
        let new = self.fast_redirects.take_new();
        self.redirects[RedirectOutcome::Found as usize].increment(new.found);
        for (m, status, n) in new.requests {
            self.series(&METHODS[m], REDIRECT_ROUTE, status)
                .0
                .increment(n);
        }
        for (m, _bucket, n, seconds) in new.latency {
            // Every sample of a bucket at the bucket's mean: the bucket,
            // the count and the sum all come out exact.
            self.duration(&METHODS[m], REDIRECT_ROUTE)
                .record_many(seconds / n as f64, usize::try_from(n).unwrap_or(usize::MAX));
        }
    }

    /// Registers, at zero, the series of `method` `route` with each of
    /// `statuses`: the ones dashboards and alerts read, so they exist
    /// before the first such request.
    pub fn register_route(&self, method: &Method, route: &str, statuses: &[u16]) {
        for status in statuses {
            let _ = self.series(method, route, *status);
        }
    }

    /// Counts one finished HTTP request and records its latency.
    pub fn record_request(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let (method, status) = (method_label(method), status_label(status));
        {
            let http = self.http.read();
            let found = http
                .get(route)
                .and_then(|methods| methods.iter().find(|(m, _)| *m == method))
                .and_then(|(_, series)| {
                    let (_, counter) = series.by_status.iter().find(|(s, _)| *s == status)?;
                    Some((counter, &series.duration))
                });
            if let Some((counter, duration)) = found {
                counter.increment(1);
                duration.record(seconds);
                return;
            }
        }
        let (counter, duration) = self.labelled_series(method, route, status);
        counter.increment(1);
        duration.record(seconds);
    }

    /// The request counter and latency histogram of a series, registered
    /// if new.
    fn series(&self, method: &Method, route: &str, status: u16) -> (Counter, Histogram) {
        self.labelled_series(method_label(method), route, status_label(status))
    }

    fn labelled_series(
        &self,
        method: &'static str,
        route: &str,
        status: &'static str,
    ) -> (Counter, Histogram) {
        let mut http = self.http.write();
        let series = self.route_series(&mut http, method, route);
        let counter = match series.by_status.iter().find(|(s, _)| *s == status) {
            Some((_, counter)) => counter.clone(),
            None => {
                let counter = self.recorder.register_counter(
                    &Key::from_parts(
                        "shorty_http_requests_total",
                        vec![
                            Label::new("method", method),
                            Label::new("route", route.to_owned()),
                            Label::new("status", status),
                        ],
                    ),
                    &METADATA,
                );
                series.by_status.push((status, counter.clone()));
                counter
            }
        };
        (counter, series.duration.clone())
    }

    /// The latency histogram of (method, route), registered if new.
    fn duration(&self, method: &Method, route: &str) -> Histogram {
        let mut http = self.http.write();
        self.route_series(&mut http, method_label(method), route)
            .duration
            .clone()
    }

    fn route_series<'a>(
        &self,
        http: &'a mut HashMap<Box<str>, RouteMethods>,
        method: &'static str,
        route: &str,
    ) -> &'a mut RouteSeries {
        let methods = http.entry(Box::from(route)).or_default();
        let index = match methods.iter().position(|(m, _)| *m == method) {
            Some(index) => index,
            None => {
                let duration = self.recorder.register_histogram(
                    &Key::from_parts(
                        "shorty_http_request_duration_seconds",
                        vec![
                            Label::new("method", method),
                            Label::new("route", route.to_owned()),
                        ],
                    ),
                    &METADATA,
                );
                let series = RouteSeries {
                    duration,
                    by_status: Vec::new(),
                };
                methods.push((method, series));
                methods.len() - 1
            }
        };
        &mut methods[index].1
    }

    /// Counts one redirect by how it ended.
    pub fn record_redirect(&self, outcome: RedirectOutcome) {
        self.redirects[outcome as usize].increment(1);
    }

    /// Counts one request refused by a rate limit.
    pub fn record_rate_limited(&self, rule: LimitRule) {
        self.rate_limited[rule as usize].increment(1);
    }

    /// Counts links created (by the API, batch or CLI import).
    pub fn record_links_created(&self, n: u64) {
        self.links_created.increment(n);
    }

    /// Registers the latency histograms of every store operation at zero.
    pub fn register_store_ops(&self, ops: &[&'static str]) {
        for op in ops {
            let _ = self.store_op(op);
        }
    }

    /// Records how long one store operation took.
    pub fn record_store_op(&self, op: &'static str, elapsed: Duration) {
        if let Some(h) = self.store_ops.read().get(op) {
            h.record(elapsed.as_secs_f64());
            return;
        }
        self.store_op(op).record(elapsed.as_secs_f64());
    }

    fn store_op(&self, op: &'static str) -> Histogram {
        let histogram = self.recorder.register_histogram(
            &Key::from_parts(
                "shorty_store_query_duration_seconds",
                vec![Label::new("op", op)],
            ),
            &METADATA,
        );
        self.store_ops.write().insert(op, histogram.clone());
        histogram
    }

    /// Sets a counter that is kept elsewhere as a running total.
    pub fn set_total(
        &self,
        name: &'static str,
        labels: &[(&'static str, &'static str)],
        value: u64,
    ) {
        self.counter(name, labels).absolute(value);
    }

    /// Sets a gauge to its current value.
    pub fn set_gauge(&self, name: &'static str, value: f64) {
        let gauge: Gauge = self
            .recorder
            .register_gauge(&Key::from_name(name), &METADATA);
        gauge.set(value);
    }

    fn counter(&self, name: &'static str, labels: &[(&'static str, &'static str)]) -> Counter {
        let labels: Vec<Label> = labels.iter().map(|(k, v)| Label::new(*k, *v)).collect();
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        self.publish_fast_redirects();
        self.handle.render()
    }

    /// Drains recorded histogram samples into their buckets; run
    /// periodically so memory stays bounded when nobody scrapes.
    pub fn upkeep(&self) {
        self.publish_fast_redirects();
        self.handle.run_upkeep();
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// Shared handle type used across the server.
pub type SharedMetrics = Arc<Metrics>;
