//! Defaults and validation: a merged [`ConfigLayer`] becomes a [`Config`]
//! or an error that names the key.

use std::time::Duration;

use url::Url;

use super::{Config, ConfigLayer, LogFormat};
use crate::client_ip::TrustedProxies;
use crate::clock::Clock;
use crate::domain::codegen::LENGTHS;
use crate::domain::{OwnHost, RedirectStatus};

/// Shortest accepted `admin_token`: a token anyone can type from memory
/// is a token someone can guess.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// Bounds of the connection timeouts, in milliseconds.
const MIN_TIMEOUT_MS: u64 = 10;
const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// Most connections `max_connections` may allow.
const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

impl Config {
    /// Applies defaults to a merged layer and validates every value.
    pub fn resolve(layer: ConfigLayer) -> Result<Config, String> {
        let base_url = layer.base_url.as_deref().unwrap_or("http://localhost:8080");
        let base_url = Url::parse(base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| format!("base_url must be an http(s) URL, not {base_url:?}"))?;
        let status = layer.redirect_status.unwrap_or(302);
        let redirect_status = RedirectStatus::parse(status.into())?;
        let code_length = layer.code_length.unwrap_or(7);
        if !LENGTHS.contains(&code_length) {
            return Err(format!(
                "code_length must be between 4 and 10, not {code_length}"
            ));
        }
        let max_url_length = layer.max_url_length.unwrap_or(2048);
        if max_url_length < 16 {
            return Err(format!(
                "max_url_length must be at least 16, not {max_url_length}"
            ));
        }
        let rates = [
            ("create_rate", layer.create_rate),
            ("api_rate", layer.api_rate),
            ("redirect_rate", layer.redirect_rate),
            ("auth_failure_rate", layer.auth_failure_rate),
        ];
        for (name, rate) in rates {
            if rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
                return Err(format!("{name} must be a positive number"));
            }
        }
        let bursts = [
            ("create_burst", layer.create_burst),
            ("api_burst", layer.api_burst),
            ("redirect_burst", layer.redirect_burst),
            ("auth_failure_burst", layer.auth_failure_burst),
        ];
        for (name, burst) in bursts {
            if burst == Some(0) {
                return Err(format!("{name} must be at least 1"));
            }
        }
        let stats_retention_days = match layer.stats_retention_days {
            Some(0) => return Err("stats_retention_days must be at least 1".to_owned()),
            days => days,
        };
        let trusted_proxies = layer.trusted_proxies.unwrap_or_default();
        TrustedProxies::parse(&trusted_proxies)?;
        let own_hosts: Vec<String> = layer
            .own_hosts
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect();
        for host in &own_hosts {
            OwnHost::parse(host).map_err(|e| format!("own_hosts: {e}"))?;
        }
        let admin_token = check_admin_token(layer.admin_token)?;
        if layer.db_pool_size == Some(0) {
            return Err("db_pool_size must be at least 1".to_owned());
        }
        let millis = [
            ("db_timeout_ms", layer.db_timeout_ms),
            ("redis_timeout_ms", layer.redis_timeout_ms),
        ];
        for (name, ms) in millis {
            if ms.is_some_and(|ms| !(1..=60_000).contains(&ms)) {
                return Err(format!("{name} must be between 1 and 60000"));
            }
        }
        let timeouts = [
            ("header_read_timeout_ms", layer.header_read_timeout_ms),
            ("keep_alive_timeout_ms", layer.keep_alive_timeout_ms),
            ("request_timeout_ms", layer.request_timeout_ms),
        ];
        for (name, ms) in timeouts {
            if ms.is_some_and(|ms| !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&ms)) {
                return Err(format!(
                    "{name} must be between {MIN_TIMEOUT_MS} and {MAX_TIMEOUT_MS}"
                ));
            }
        }
        let max_connections = layer.max_connections.unwrap_or(10_000);
        if !(1..=MAX_CONNECTIONS_LIMIT).contains(&max_connections) {
            return Err(format!(
                "max_connections must be between 1 and {MAX_CONNECTIONS_LIMIT}"
            ));
        }
        if let Some(url) = &layer.redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err("redis_url must start with redis:// or rediss://".to_owned());
            }
        }
        let otlp_endpoint = layer
            .otlp_endpoint
            .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok())
            .filter(|s| !s.is_empty());
        Ok(Config {
            listen: layer.listen.unwrap_or_else(|| "0.0.0.0:8080".to_owned()),
            base_url,
            database_url: layer
                .database_url
                .unwrap_or_else(|| "sqlite://shorty.db".to_owned()),
            redis_url: layer.redis_url.filter(|u| !u.is_empty()),
            redis_key_prefix: layer
                .redis_key_prefix
                .unwrap_or_else(|| "shorty:".to_owned()),
            redis_timeout: Duration::from_millis(layer.redis_timeout_ms.unwrap_or(250)),
            db_pool_size: layer.db_pool_size,
            db_timeout: Duration::from_millis(layer.db_timeout_ms.unwrap_or(1000)),
            db_statement_cache: layer.db_statement_cache.unwrap_or(100),
            admin_token,
            allow_anonymous: layer.allow_anonymous.unwrap_or(true),
            redirect_status,
            code_length,
            max_url_length,
            cache_capacity: layer.cache_capacity.unwrap_or(1_000_000),
            blocklist: layer.blocklist,
            log_format: layer.log_format.unwrap_or(LogFormat::Json),
            metrics_listen: layer.metrics_listen.filter(|s| !s.is_empty()),
            metrics: layer.metrics.unwrap_or(true),
            create_rate: layer.create_rate.unwrap_or(10.0),
            create_burst: layer.create_burst.unwrap_or(20),
            api_rate: layer.api_rate.unwrap_or(100.0),
            api_burst: layer.api_burst.unwrap_or(200),
            redirect_rate: layer.redirect_rate,
            redirect_burst: layer.redirect_burst.unwrap_or_else(|| {
                let twice = (layer.redirect_rate.unwrap_or(0.5) * 2.0).ceil();
                twice.clamp(1.0, f64::from(u32::MAX)) as u32
            }),
            trusted_proxies,
            own_hosts,
            auth_failure_rate: layer.auth_failure_rate.unwrap_or(0.1),
            auth_failure_burst: layer.auth_failure_burst.unwrap_or(10),
            header_read_timeout: millis_or(layer.header_read_timeout_ms, 10_000),
            keep_alive_timeout: millis_or(layer.keep_alive_timeout_ms, 60_000),
            request_timeout: millis_or(layer.request_timeout_ms, 30_000),
            max_connections,
            otlp_endpoint,
            sentry_dsn: layer.sentry_dsn,
            geoip_db: layer.geoip_db,
            stats_retention_days,
            clock: Clock::System,
        })
    }
}

/// `ms` if set, else `default`, as a duration.
fn millis_or(ms: Option<u64>, default: u64) -> Duration {
    Duration::from_millis(ms.unwrap_or(default))
}

/// An unset token disables admin access; a set one must be long enough.
/// An empty value is refused too: it is more often a variable that did
/// not expand than a wish to switch admin access off.
fn check_admin_token(token: Option<String>) -> Result<Option<String>, String> {
    match token {
        Some(t) if t.chars().count() < MIN_ADMIN_TOKEN_LEN => Err(format!(
            "admin_token must be at least {MIN_ADMIN_TOKEN_LEN} characters long \
             (it has {}); leave it unset to switch admin access off",
            t.chars().count()
        )),
        other => Ok(other),
    }
}
