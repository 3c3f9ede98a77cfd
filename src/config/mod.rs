//! Configuration: every key can come from a CLI flag, a `SHORTY_*`
//! environment variable or `shorty.toml`, in that order of precedence.

mod print;
mod resolve;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, ValueEnum};
use serde::{Deserialize, Deserializer};
use url::Url;

pub use resolve::MIN_ADMIN_TOKEN_LEN;

use crate::clock::Clock;
use crate::domain::RedirectStatus;
use crate::store::StoreOptions;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log shippers.
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

/// One source of configuration, where every key is optional. The CLI/env
/// layer and the file layer share this shape so they merge field by field.
#[derive(Args, Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    /// HTTP listen address [default: 0.0.0.0:8080]
    #[arg(long, env = "SHORTY_LISTEN", global = true)]
    pub listen: Option<String>,
    /// Public prefix of short_url [default: http://localhost:8080]
    #[arg(long, env = "SHORTY_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// sqlite://PATH or postgres://… [default: sqlite://shorty.db]
    #[arg(long, env = "SHORTY_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// redis://… shared cache; unset means in-process only
    #[arg(long, env = "SHORTY_REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel [default: shorty:]
    #[arg(long, env = "SHORTY_REDIS_KEY_PREFIX", global = true)]
    pub redis_key_prefix: Option<String>,
    /// Longest wait for one Redis call before going without it [default: 250]
    #[arg(long, env = "SHORTY_REDIS_TIMEOUT_MS", global = true)]
    pub redis_timeout_ms: Option<u64>,
    /// Store connections per instance [default: 16 for PostgreSQL; SQLite: 2 readers per core]
    #[arg(long, env = "SHORTY_DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<u32>,
    /// Longest wait for a store connection or PostgreSQL call, in ms [default: 1000]
    #[arg(long, env = "SHORTY_DB_TIMEOUT_MS", global = true)]
    pub db_timeout_ms: Option<u64>,
    /// Prepared statements cached per PostgreSQL connection; 0 disables [default: 100]
    #[arg(long, env = "SHORTY_DB_STATEMENT_CACHE", global = true)]
    pub db_statement_cache: Option<usize>,
    /// Bearer token with full rights; unset disables admin access
    #[arg(
        long,
        env = "SHORTY_ADMIN_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// Allow anonymous POST /api/v1/links [default: true]
    #[arg(long, env = "SHORTY_ALLOW_ANONYMOUS", global = true, action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub allow_anonymous: Option<bool>,
    /// Default redirect status for new links: 301, 302, 307 or 308 [default: 302]
    #[arg(long, env = "SHORTY_REDIRECT_STATUS", global = true)]
    pub redirect_status: Option<u16>,
    /// Generated code length, 4 to 10 [default: 7]
    #[arg(long, env = "SHORTY_CODE_LENGTH", global = true)]
    pub code_length: Option<usize>,
    /// Longest accepted URL in bytes [default: 2048]
    #[arg(long, env = "SHORTY_MAX_URL_LENGTH", global = true)]
    pub max_url_length: Option<usize>,
    /// In-process cache entries [default: 1000000]
    #[arg(long, env = "SHORTY_CACHE_CAPACITY", global = true)]
    pub cache_capacity: Option<u64>,
    /// File of blocked host suffixes, one per line
    #[arg(long, env = "SHORTY_BLOCKLIST", global = true)]
    pub blocklist: Option<PathBuf>,
    /// json or pretty [default: json]
    #[arg(long, env = "SHORTY_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// Separate address for /metrics
    #[arg(long, env = "SHORTY_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<String>,
    /// Record Prometheus metrics and serve /metrics [default: true]
    #[arg(long, env = "SHORTY_METRICS", global = true, action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub metrics: Option<bool>,
    /// Link creations per second per client IP [default: 10]
    #[arg(long, env = "SHORTY_CREATE_RATE", global = true)]
    pub create_rate: Option<f64>,
    /// Burst for create_rate [default: 20]
    #[arg(long, env = "SHORTY_CREATE_BURST", global = true)]
    pub create_burst: Option<u32>,
    /// API requests per second per API key [default: 100]
    #[arg(long, env = "SHORTY_API_RATE", global = true)]
    pub api_rate: Option<f64>,
    /// Burst for api_rate [default: 200]
    #[arg(long, env = "SHORTY_API_BURST", global = true)]
    pub api_burst: Option<u32>,
    /// Optional per-IP limit on redirects, per second
    #[arg(long, env = "SHORTY_REDIRECT_RATE", global = true)]
    pub redirect_rate: Option<f64>,
    /// Burst for redirect_rate [default: twice redirect_rate, at least 1]
    #[arg(long, env = "SHORTY_REDIRECT_BURST", global = true)]
    pub redirect_burst: Option<u32>,
    /// Comma-separated CIDRs whose X-Forwarded-For is believed
    #[arg(
        long,
        env = "SHORTY_TRUSTED_PROXIES",
        global = true,
        value_delimiter = ','
    )]
    #[serde(default, deserialize_with = "string_or_list")]
    pub trusted_proxies: Option<Vec<String>>,
    /// Comma-separated other host names this service answers to (refused as link targets)
    #[arg(long, env = "SHORTY_OWN_HOSTS", global = true, value_delimiter = ',')]
    #[serde(default, deserialize_with = "string_or_list")]
    pub own_hosts: Option<Vec<String>>,
    /// Failed authentications allowed per second per client IP [default: 0.1]
    #[arg(long, env = "SHORTY_AUTH_FAILURE_RATE", global = true)]
    pub auth_failure_rate: Option<f64>,
    /// Burst for auth_failure_rate [default: 10]
    #[arg(long, env = "SHORTY_AUTH_FAILURE_BURST", global = true)]
    pub auth_failure_burst: Option<u32>,
    /// Time for a client to send its request head, in ms [default: 10000]
    #[arg(long, env = "SHORTY_HEADER_READ_TIMEOUT_MS", global = true)]
    pub header_read_timeout_ms: Option<u64>,
    /// Idle keep-alive connections are closed after this many ms [default: 60000]
    #[arg(long, env = "SHORTY_KEEP_ALIVE_TIMEOUT_MS", global = true)]
    pub keep_alive_timeout_ms: Option<u64>,
    /// Longest time for one request, body included, in ms [default: 30000]
    #[arg(long, env = "SHORTY_REQUEST_TIMEOUT_MS", global = true)]
    pub request_timeout_ms: Option<u64>,
    /// Open connections per instance; past it new ones wait [default: 10000]
    #[arg(long, env = "SHORTY_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// OTLP endpoint for traces (OTEL_EXPORTER_OTLP_ENDPOINT also works)
    #[arg(long, env = "SHORTY_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
    /// Sentry-compatible DSN for error reporting
    #[arg(long, env = "SHORTY_SENTRY_DSN", global = true, hide_env_values = true)]
    pub sentry_dsn: Option<String>,
    /// MaxMind-format .mmdb file for the country dimension of click stats
    #[arg(long, env = "SHORTY_GEOIP_DB", global = true)]
    pub geoip_db: Option<PathBuf>,
    /// Purge daily click stats older than this many days [default: keep]
    #[arg(long, env = "SHORTY_STATS_RETENTION_DAYS", global = true)]
    pub stats_retention_days: Option<u32>,
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Some(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s.split(',').map(|p| p.trim().to_owned()).collect(),
        OneOrMany::Many(v) => v,
    }))
}

macro_rules! merge_layers {
    ($high:expr, $low:expr, $($field:ident),+ $(,)?) => {
        ConfigLayer { $($field: $high.$field.or($low.$field)),+ }
    };
}

impl ConfigLayer {
    /// Keys set here win; the rest come from `lower`.
    pub fn or(self, lower: ConfigLayer) -> ConfigLayer {
        merge_layers!(
            self,
            lower,
            listen,
            base_url,
            database_url,
            redis_url,
            redis_key_prefix,
            redis_timeout_ms,
            db_pool_size,
            db_timeout_ms,
            db_statement_cache,
            admin_token,
            allow_anonymous,
            redirect_status,
            code_length,
            max_url_length,
            cache_capacity,
            blocklist,
            log_format,
            metrics_listen,
            metrics,
            create_rate,
            create_burst,
            api_rate,
            api_burst,
            redirect_rate,
            redirect_burst,
            trusted_proxies,
            own_hosts,
            auth_failure_rate,
            auth_failure_burst,
            header_read_timeout_ms,
            keep_alive_timeout_ms,
            request_timeout_ms,
            max_connections,
            otlp_endpoint,
            sentry_dsn,
            geoip_db,
            stats_retention_days,
        )
    }

    /// Reads a `shorty.toml`; unknown keys are errors so typos do not pass silently.
    pub fn from_file(path: &Path) -> Result<ConfigLayer, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        // The error names the line and key but does not quote the line,
        // which may hold a secret.
        toml::from_str(&text).map_err(|e| {
            let Some(span) = e.span() else {
                return format!("{}: {}", path.display(), e.message());
            };
            let before = &text[..span.start.min(text.len())];
            let line_no = before.lines().count().max(1);
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let key = text[line_start..]
                .split(['=', '\n'])
                .next()
                .unwrap_or("")
                .trim();
            format!("{}:{line_no}: {key}: {}", path.display(), e.message())
        })
    }
}

/// The effective, validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: String,
    pub base_url: Url,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_key_prefix: String,
    pub redis_timeout: Duration,
    pub db_pool_size: Option<u32>,
    pub db_timeout: Duration,
    pub db_statement_cache: usize,
    pub admin_token: Option<String>,
    pub allow_anonymous: bool,
    pub redirect_status: RedirectStatus,
    pub code_length: usize,
    pub max_url_length: usize,
    pub cache_capacity: u64,
    pub blocklist: Option<PathBuf>,
    pub log_format: LogFormat,
    pub metrics_listen: Option<String>,
    /// Whether metrics are recorded and `/metrics` served.
    pub metrics: bool,
    pub create_rate: f64,
    pub create_burst: u32,
    pub api_rate: f64,
    pub api_burst: u32,
    pub redirect_rate: Option<f64>,
    pub redirect_burst: u32,
    pub trusted_proxies: Vec<String>,
    /// Other names of this service, refused as link targets.
    pub own_hosts: Vec<String>,
    pub auth_failure_rate: f64,
    pub auth_failure_burst: u32,
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub otlp_endpoint: Option<String>,
    pub sentry_dsn: Option<String>,
    pub geoip_db: Option<PathBuf>,
    pub stats_retention_days: Option<u32>,
    /// What click days are dated by; tests set it, nothing else does.
    pub clock: Clock,
}

impl Config {
    /// Merges the CLI/env layer over the file layer (`config_file`, or
    /// `./shorty.toml` when it exists) and applies defaults.
    pub fn load(cli: ConfigLayer, config_file: Option<&Path>) -> Result<Config, String> {
        let file = match config_file {
            Some(path) => ConfigLayer::from_file(path)?,
            None if Path::new("shorty.toml").exists() => {
                ConfigLayer::from_file(Path::new("shorty.toml"))?
            }
            None => ConfigLayer::default(),
        };
        Config::resolve(cli.or(file))
    }
}

impl Config {
    /// The store's connection settings.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            pool_size: self.db_pool_size,
            timeout: self.db_timeout,
            statement_cache: self.db_statement_cache,
        }
    }
}
