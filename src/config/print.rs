//! `print-config`: the effective configuration as TOML, secrets redacted.

use std::fmt::Write as _;

use url::Url;

use super::{Config, LogFormat};

impl Config {
    /// The effective configuration as TOML, secrets replaced by `REDACTED`
    /// and unset keys shown as comments.
    pub fn to_redacted_toml(&self) -> String {
        use toml::Value as V;
        let s = |v: &str| Some(V::String(v.to_owned()));
        let opt = |v: &Option<String>| v.as_deref().and_then(s);
        let secret = |v: &Option<String>| v.as_ref().map(|_| V::String("REDACTED".into()));
        let millis = |d: std::time::Duration| Some(V::Integer(d.as_millis() as i64));
        let rows: Vec<(&str, Option<V>)> = vec![
            ("listen", s(&self.listen)),
            ("base_url", s(self.base_url.as_str())),
            ("database_url", s(&redact_url(&self.database_url))),
            (
                "redis_url",
                self.redis_url
                    .as_deref()
                    .map(redact_url)
                    .as_deref()
                    .and_then(s),
            ),
            ("redis_key_prefix", s(&self.redis_key_prefix)),
            (
                "redis_timeout_ms",
                Some(V::Integer(self.redis_timeout.as_millis() as i64)),
            ),
            (
                "db_pool_size",
                self.db_pool_size.map(|n| V::Integer(n.into())),
            ),
            (
                "db_timeout_ms",
                Some(V::Integer(self.db_timeout.as_millis() as i64)),
            ),
            (
                "db_statement_cache",
                Some(V::Integer(self.db_statement_cache as i64)),
            ),
            ("admin_token", secret(&self.admin_token)),
            ("allow_anonymous", Some(V::Boolean(self.allow_anonymous))),
            (
                "redirect_status",
                Some(V::Integer(self.redirect_status.as_u16().into())),
            ),
            ("code_length", Some(V::Integer(self.code_length as i64))),
            (
                "max_url_length",
                Some(V::Integer(self.max_url_length as i64)),
            ),
            (
                "cache_capacity",
                Some(V::Integer(self.cache_capacity as i64)),
            ),
            (
                "blocklist",
                self.blocklist
                    .as_ref()
                    .and_then(|p| s(&p.to_string_lossy())),
            ),
            (
                "log_format",
                s(match self.log_format {
                    LogFormat::Json => "json",
                    LogFormat::Pretty => "pretty",
                }),
            ),
            ("metrics_listen", opt(&self.metrics_listen)),
            ("metrics", Some(V::Boolean(self.metrics))),
            ("create_rate", Some(V::Float(self.create_rate))),
            ("create_burst", Some(V::Integer(self.create_burst.into()))),
            ("api_rate", Some(V::Float(self.api_rate))),
            ("api_burst", Some(V::Integer(self.api_burst.into()))),
            ("redirect_rate", self.redirect_rate.map(V::Float)),
            (
                "redirect_burst",
                self.redirect_rate
                    .map(|_| V::Integer(self.redirect_burst.into())),
            ),
            (
                "trusted_proxies",
                (!self.trusted_proxies.is_empty()).then(|| {
                    V::Array(
                        self.trusted_proxies
                            .iter()
                            .cloned()
                            .map(V::String)
                            .collect(),
                    )
                }),
            ),
            (
                "own_hosts",
                (!self.own_hosts.is_empty())
                    .then(|| V::Array(self.own_hosts.iter().cloned().map(V::String).collect())),
            ),
            ("auth_failure_rate", Some(V::Float(self.auth_failure_rate))),
            (
                "auth_failure_burst",
                Some(V::Integer(self.auth_failure_burst.into())),
            ),
            ("header_read_timeout_ms", millis(self.header_read_timeout)),
            ("keep_alive_timeout_ms", millis(self.keep_alive_timeout)),
            ("request_timeout_ms", millis(self.request_timeout)),
            (
                "max_connections",
                Some(V::Integer(self.max_connections as i64)),
            ),
            (
                "otlp_endpoint",
                self.otlp_endpoint
                    .as_deref()
                    .map(redact_url)
                    .as_deref()
                    .and_then(s),
            ),
            ("sentry_dsn", secret(&self.sentry_dsn)),
            (
                "geoip_db",
                self.geoip_db
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .as_deref()
                    .and_then(s),
            ),
            (
                "stats_retention_days",
                self.stats_retention_days.map(|d| V::Integer(d.into())),
            ),
        ];
        let mut out = String::new();
        for (key, value) in rows {
            let _ = match value {
                Some(v) => writeln!(out, "{key} = {v}"),
                None => writeln!(out, "# {key} is unset"),
            };
        }
        out
    }
}

/// Hides the password of a connection URL, keeping the rest readable. A
/// URL that does not parse but has userinfo is hidden whole, never echoed.
fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("REDACTED"));
            url.to_string()
        }
        Ok(_) => raw.to_owned(),
        Err(_) if raw.contains('@') => "REDACTED".to_owned(),
        Err(_) => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact_url("postgres://shorty:s3cret@db:5432/shorty"),
            "postgres://shorty:REDACTED@db:5432/shorty"
        );
        assert_eq!(
            redact_url("redis://localhost:6379"),
            "redis://localhost:6379"
        );
        assert_eq!(redact_url("sqlite://shorty.db"), "sqlite://shorty.db");
        // Unescaped '/' or '#' in a password makes the URL unparseable.
        let odd = "postgres://u:pa/ss#1@db/x";
        assert!(!redact_url(odd).contains("pa/ss"));
    }
}
