//! Integration tests: one binary, each test against a real server on port 0
//! with a fresh store: a SQLite file, or with `TEST_BACKEND=postgres` a new
//! PostgreSQL database (see `backend.rs`). Set TEST_LOG=1 to see server logs.

mod analytics;
mod auth_limits;
mod backend;
mod binary;
mod browser;
mod cache;
mod cli;
mod cli_accounts;
mod codes;
mod config;
mod crash;
mod degradation;
mod docs;
mod durability;
mod errors;
mod faulty_store;
mod finding;
mod helpers;
mod import;
mod lifecycle;
mod links;
mod logs;
mod metrics;
mod password;
mod qr;
mod rate_limits;
mod receiver;
mod redirect;
mod scale_out;
mod services;
mod shared_redis;
mod slow_clients;
mod store;
mod telemetry;
mod tls;
mod users;
mod web_import;
mod web_links;
mod web_pages;
mod web_sessions;
