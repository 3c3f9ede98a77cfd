//! shorty: a fast, self-contained URL shortener.
//!
//! # Layout
//!
//! - [`domain`]: validated value types (`Code`, `Alias`, `TargetUrl`, the
//!   names this service answers to, secret digests, …) and the keyed code
//!   bijection. Handlers only see values that passed these.
//! - [`store`]: the `Store` trait with SQLite (sqlx, plus inline rusqlite
//!   lookups by code for the redirect path) and PostgreSQL implementations,
//!   chosen by the `database_url` scheme, sharing the list query
//!   (`list_sql`); migrations under `migrations/sqlite` and
//!   `migrations/postgres`.
//! - [`links`]: the link service (create, resolve, patch, delete) with the
//!   in-process cache, the click buffer, capped-click batches, group commit
//!   and counter blocks, and the link query and ownership checks the API
//!   and the pages share.
//! - [`analytics`]: click analytics next to them: visits recorded by the
//!   redirect path, derived off the serving threads (bots, browsers, OS,
//!   devices, countries) into daily rollups written through a `ClickSink`,
//!   and the stats read back; [`clock`]: the time they go by, which tests
//!   set.
//! - [`users`]: the user service next to it: users, API keys (kept as
//!   hashes, with a cache of valid keys that revocations clear on every
//!   instance), who owns which link, and the web interface's sessions.
//! - [`redis_shared`]: optional Redis, shared by every instance: the
//!   second cache layer, counter blocks and cross-instance invalidation
//!   over pub/sub.
//! - [`api`]: the fast path that answers cached redirects before the
//!   router, then axum routes, extractors and handlers, the request observer
//!   (request ids, client IP, log line, metrics), authentication and
//!   rate-limit middleware, the request timeout,
//!   `/metrics`, and the OpenAPI document with the vendored Swagger UI.
//! - [`web`]: the pages people use (shorten, sign in, their links, a
//!   link's analytics, admin), server-rendered from `templates/` over the
//!   same services as the API, with sessions and CSRF tokens.
//! - [`ratelimit`]: token buckets (GCRA) in Redis when configured, in
//!   process otherwise or when Redis fails; [`client_ip`]: who the client
//!   is behind trusted proxies.
//! - [`error`]: `AppError`, rendered as problem+json.
//! - [`config`]: flags, `SHORTY_*` environment variables and `shorty.toml`.
//! - [`startup`]: `Application::build` and `run_until_stopped`; [`listen`]:
//!   one single-threaded runtime and `SO_REUSEPORT` listener per core, with
//!   the bounds on each connection's time and their number;
//!   [`shutdown`]: the signals and the stop flag.
//! - [`cli`]: the command line; [`telemetry`]: logging, Prometheus metrics,
//!   OTLP traces and Sentry-compatible error reporting.
//! - [`per_thread`]: per-thread slots for counters every request bumps.

#![forbid(unsafe_code)]

pub mod analytics;
pub mod api;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod links;
pub mod listen;
pub mod per_thread;
pub mod ratelimit;
pub mod redis_shared;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod users;
pub mod web;
