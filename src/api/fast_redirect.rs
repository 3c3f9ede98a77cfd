//! Cached redirects answered before axum's router and middleware.
//!
//! In the cache-hit benchmark, a redirect spent more CPU in the router and
//! the middleware around it (each layer boxing and moving the request's
//! future) than in finding the link. This service answers the common case
//! directly: `GET`/`HEAD /{code}` for a cached, live, uncapped and unexpired
//! link, with no redirect rate limit and no trace export. The answer is the
//! one the full stack gives (the same response builder, request id, click,
//! metrics and log line). Anything else, including every cache miss, goes
//! through the router unchanged.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use axum::routing::future::RouteFuture;
use axum::Router;
use futures::future::Either;
use tower::Service;

use super::observe::{client_of, log_request, request_id_of, REQUEST_ID};
use super::redirect::redirect_to;
use super::AppState;
use crate::domain::{alias::is_reserved, code::is_code};
use crate::telemetry;
use crate::telemetry::metrics::RedirectOutcome;

/// The route label the fast path reports, the same as the router's.
const ROUTE: &str = "/{code}";

/// The whole HTTP service: the fast path in front of the router.
#[derive(Clone)]
pub struct FastRedirect {
    state: Arc<AppState>,
    router: Router,
    /// False when redirects are rate limited: only the router applies limits.
    enabled: bool,
}

impl FastRedirect {
    /// Puts the fast path in front of `router`, which was built from `state`.
    pub fn new(state: Arc<AppState>, router: Router) -> FastRedirect {
        let enabled = !state.limits.limits_redirects();
        FastRedirect {
            state,
            router,
            enabled,
        }
    }

    fn try_answer(&self, req: &Request) -> Option<Response> {
        if !self.enabled || telemetry::traces_enabled() {
            return None;
        }
        let method = req.method();
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let code = req.uri().path().strip_prefix('/')?;
        // Reserved words include every single-segment route (`/docs`,
        // `/healthz`, ...), which the router must keep answering.
        if !is_code(code) || is_reserved(code) {
            return None;
        }
        let started = Instant::now();
        let target = self.state.links.cached_plain_target(code)?;
        if method == Method::GET {
            self.state.links.record_click(&target);
        }
        let mut response = redirect_to(&target);
        let status = response.status().as_u16();
        let request_id = request_id_of(req.headers());
        let elapsed = started.elapsed();
        if let Some(metrics) = &self.state.metrics {
            metrics.record_redirect(RedirectOutcome::Found);
            metrics.record_request(method, ROUTE, status, elapsed);
        }
        log_request(
            method,
            ROUTE,
            status,
            elapsed,
            &request_id,
            client_of(&self.state, req),
        );
        response
            .headers_mut()
            .insert(REQUEST_ID.clone(), request_id);
        Some(response)
    }
}

impl Service<Request> for FastRedirect {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, RouteFuture<Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match self.try_answer(&req) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.router.call(req)),
        }
    }
}
