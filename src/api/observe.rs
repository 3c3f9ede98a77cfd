//! The outermost middleware: request ids, the client address, one log line
//! and the metrics per request, and (with OTLP on) a span around it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::AppState;
use crate::client_ip::ClientIp;
use crate::telemetry;
use crate::telemetry::metrics::UNMATCHED_ROUTE;
use crate::telemetry::request_line::{self, RequestLine};

/// The header carrying the request id, kept from the client when sane.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, for logs and error reports.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

pub use crate::telemetry::REQUEST_LOG_TARGET as LOG_TARGET;

/// Probe and scrape routes, logged at debug so they do not drown the log.
const QUIET_ROUTES: [&str; 4] = ["/_health", "/healthz", "/readyz", "/metrics"];

/// Wraps every request: see the module doc.
pub async fn observe(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or(UNMATCHED_ROUTE, |p| p.as_str());
    let client = client_of(&state, &req);
    let request_id = request_id_of(req.headers());
    req.extensions_mut().insert(client);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let mut response = if telemetry::traces_enabled() {
        let span = tracing::info_span!(
            "request",
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            http.request.method = %method,
            http.route = route,
            http.response.status_code = tracing::field::Empty,
            client.address = %client.0,
            request_id = request_id.to_str().unwrap_or(""),
        );
        let response = next.run(req).instrument(span.clone()).await;
        // As i64: tracing-opentelemetry exports other integers as strings.
        let status = i64::from(response.status().as_u16());
        span.record("http.response.status_code", status);
        response
    } else {
        next.run(req).await
    };
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    if let Some(metrics) = &state.metrics {
        metrics.record_request(&method, route, status, elapsed);
    }
    log_request(&method, route, status, elapsed, &request_id, client);
    response
        .headers_mut()
        .insert(REQUEST_ID.clone(), request_id);
    response
}

/// The client's address: the peer, or what a trusted proxy forwarded.
fn client_of(state: &AppState, req: &Request) -> ClientIp {
    client_at(state, peer_of(req), req.headers())
}

/// The TCP peer the serving loop recorded, or `0.0.0.0` when there is none
/// (a request handed to the service directly, as in tests).
pub(super) fn peer_of<B>(req: &axum::http::Request<B>) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The client behind the TCP peer `peer` (see [`client_of`]).
pub(super) fn client_at(state: &AppState, peer: IpAddr, headers: &HeaderMap) -> ClientIp {
    state.proxies.client(peer, headers)
}

/// The client's request id if acceptable, else a new one.
pub(super) fn request_id_of(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&REQUEST_ID)
        .filter(|v| acceptable_id(v.as_bytes()))
        .cloned()
        .unwrap_or_else(new_request_id)
}

/// Writes the request's log line, at a level that fits its route and status.
pub(super) fn log_request(
    method: &axum::http::Method,
    route: &str,
    status: u16,
    elapsed: std::time::Duration,
    request_id: &HeaderValue,
    client: ClientIp,
) {
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let request_id = request_id.to_str().unwrap_or("");
    let client_ip = client.0;
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: LOG_TARGET,
                method = method.as_str(),
                route,
                status,
                latency_ms,
                request_id,
                %client_ip,
                "request"
            )
        };
    }
    if QUIET_ROUTES.contains(&route) {
        line!(debug);
    } else if status == 503 {
        // Store outages are logged once per 30 s (with a count) by the
        // error path; one error per refused request would flood the log.
        line!(warn);
    } else if status >= 500 {
        line!(error);
    } else if tracing::enabled!(target: LOG_TARGET, tracing::Level::INFO) {
        let fast = RequestLine {
            method: method.as_str(),
            route,
            status,
            latency: elapsed,
            request_id,
            client_ip,
        };
        if !request_line::write_info(LOG_TARGET, &fast) {
            line!(info);
        }
    }
}

/// Client ids are kept if short and printable, so they cannot break log
/// lines or headers.
fn acceptable_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

/// 128 random bits in lowercase hex.
fn new_request_id() -> HeaderValue {
    hex_id(rand::random())
}

fn hex_id(bits: u128) -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = [0u8; 32];
    for (i, digit) in id.iter_mut().enumerate() {
        *digit = HEX[((bits >> (124 - 4 * i)) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&id).unwrap_or(HeaderValue::from_static("unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_checked_and_generated() {
        assert!(acceptable_id(b"abc-123"));
        assert!(!acceptable_id(b""));
        assert!(!acceptable_id(b"has space"));
        assert!(!acceptable_id(&[b'a'; 129]));
        let a = new_request_id();
        assert_eq!(a.len(), 32);
        let bits = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
        assert_eq!(hex_id(bits), format!("{bits:032x}").as_str());
        assert_eq!(hex_id(1), "00000000000000000000000000000001");
        assert_ne!(a, new_request_id());
    }
}
