//! Cached redirects answered before axum's router and middleware.
//!
//! A cached redirect costs less than the router and middleware around it
//! (each layer boxes and moves the request's future), so this service
//! answers the common case directly: `GET`/`HEAD /{code}` for a cached, live, uncapped and unexpired
//! link, with no redirect rate limit and no trace export. The answer is the
//! one the full stack gives (the same response builder, request id, click,
//! metrics and log line). Anything else, including every cache miss, goes
//! through the router unchanged.
//!
//! The serving loop (`crate::listen`) calls [`PerConnection`], one per
//! connection: hyper calls a service by reference, so a request does not
//! clone the shared state, whose reference counts every serving thread
//! would otherwise move between cores on each request.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::net::{IpAddr, SocketAddr};
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

use super::observe::{client_at, log_request, peer_of, request_id_of, REQUEST_ID};
use super::redirect::redirect_to;
use super::visit::visit_of;
use super::AppState;
use crate::domain::{alias::is_reserved, code::is_code};
use crate::listen::idle::Activity;
use crate::listen::{MakeConnectionService, Routed, RouterConnection};
use crate::telemetry;
use crate::telemetry::metrics::REDIRECT_ROUTE;

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

    /// The redirect for `req` from `peer`, if the fast path can answer it.
    fn try_answer<B>(&self, req: &axum::http::Request<B>, peer: IpAddr) -> Option<Response> {
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
        let target = self.state.links.cached_plain_target(code, started)?;
        let client = client_at(&self.state, peer, req.headers());
        let visit = visit_of(req.headers(), client.0, method);
        self.state.links.record_click(&target, &visit);
        let mut response = redirect_to(&target);
        let status = response.status().as_u16();
        let request_id = request_id_of(req.headers());
        let elapsed = started.elapsed();
        if let Some(metrics) = &self.state.metrics {
            metrics.record_fast_redirect(method, status, elapsed);
        }
        log_request(method, REDIRECT_ROUTE, status, elapsed, &request_id, client);
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
        match self.try_answer(&req, peer_of(&req)) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.router.call(req)),
        }
    }
}

impl MakeConnectionService for FastRedirect {
    type Service = PerConnection;

    fn for_connection(&self, peer: SocketAddr, activity: Arc<Activity>) -> PerConnection {
        PerConnection {
            app: self.clone(),
            peer,
            activity,
        }
    }
}

/// [`FastRedirect`] for one connection, as hyper calls it.
pub struct PerConnection {
    app: FastRedirect,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for PerConnection {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, Routed>;

    fn call(&self, req: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        {
            let _request = self.activity.begin_request();
            if let Some(response) = self.app.try_answer(&req, self.peer.ip()) {
                return Either::Left(ready(Ok(response)));
            }
        }
        let routed = RouterConnection::route(&self.app.router, self.peer, &self.activity, req);
        Either::Right(routed)
    }
}
