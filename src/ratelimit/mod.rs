//! Token-bucket rate limits (GCRA): per client IP on link creation, per
//! API key on the whole API, and optionally per client IP on redirects.
//!
//! With Redis configured the buckets live there, shared by every instance
//! ([`shared`]); without it, or whenever Redis fails to answer, they live in
//! this process ([`local`]). Limiting is never switched off by a failure.

mod local_buckets;
mod redis_buckets;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};

use crate::config::Config;
use crate::redis_shared::SharedRedis;
use crate::telemetry::metrics::LimitRule;

pub use local_buckets::LocalLimiter;

/// One rule's budget: `rate` tokens a second, at most `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    pub rate: f64,
    pub burst: u32,
}

impl Quota {
    /// Time for one token to come back.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.rate)
    }
}

/// What a bucket is keyed on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LimitKey {
    /// A client address (creation and redirect rules).
    Ip(IpAddr),
    /// A hash of an API key, so keys never reach Redis or memory maps in
    /// plain text.
    Token(u64),
}

impl std::fmt::Display for LimitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitKey::Ip(ip) => write!(f, "ip:{ip}"),
            LimitKey::Token(hash) => write!(f, "key:{hash:016x}"),
        }
    }
}

/// The answer for one request, with what the `RateLimit-*` headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The burst size (`RateLimit-Limit`).
    pub limit: u32,
    /// Requests that would pass right now (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Seconds until the bucket is full again (`RateLimit-Reset`).
    pub reset_secs: u64,
    /// Seconds until a refused request would pass (`Retry-After`).
    pub retry_after_secs: u64,
}

impl Decision {
    /// Sets `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`,
    /// on refusals and on allowed requests alike, so clients can pace
    /// themselves before they are refused.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(self.reset_secs));
    }
}

/// Whole seconds for a header, never 0 for a wait that is not over.
fn ceil_secs(d: Duration) -> u64 {
    let secs = d.as_secs();
    if d.subsec_nanos() > 0 {
        secs + 1
    } else {
        secs
    }
}

/// Every configured rule, checked shared-first with an in-process fallback.
pub struct RateLimits {
    create: Quota,
    api: Quota,
    redirect: Option<Quota>,
    local: LocalLimiter,
    redis: Option<Arc<SharedRedis>>,
}

impl RateLimits {
    /// The rules from `create_rate`/`create_burst`, `api_rate`/`api_burst`
    /// and `redirect_rate`/`redirect_burst`.
    pub fn new(config: &Config, redis: Option<Arc<SharedRedis>>) -> RateLimits {
        let create = Quota {
            rate: config.create_rate,
            burst: config.create_burst,
        };
        let api = Quota {
            rate: config.api_rate,
            burst: config.api_burst,
        };
        let redirect = config.redirect_rate.map(|rate| Quota {
            rate,
            burst: config.redirect_burst,
        });
        RateLimits {
            local: LocalLimiter::new(create, api, redirect),
            create,
            api,
            redirect,
            redis,
        }
    }

    /// Whether redirects are limited at all (the route gets no limiter
    /// otherwise, so unlimited redirects pay nothing).
    pub fn limits_redirects(&self) -> bool {
        self.redirect.is_some()
    }

    /// Takes one token from `key`'s bucket under `rule`.
    pub async fn check(&self, rule: LimitRule, key: &LimitKey) -> Decision {
        let quota = match rule {
            LimitRule::Create => self.create,
            LimitRule::Api => self.api,
            LimitRule::Redirect => match self.redirect {
                Some(quota) => quota,
                None => return unlimited(),
            },
        };
        if let Some(redis) = &self.redis {
            match redis_buckets::check(redis, rule, key, quota).await {
                Ok(decision) => return decision,
                Err(e) => {
                    tracing::debug!(error = %e, "shared rate limit unavailable; limiting in-process")
                }
            }
        }
        self.local.check(rule, key, quota)
    }

    /// Forgets in-process buckets that are full again, so memory follows
    /// the number of recently active clients.
    pub fn forget_idle(&self) {
        self.local.forget_idle();
    }
}

fn unlimited() -> Decision {
    Decision {
        allowed: true,
        limit: u32::MAX,
        remaining: u32::MAX,
        reset_secs: 0,
        retry_after_secs: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_seconds_round_up() {
        assert_eq!(ceil_secs(Duration::from_millis(0)), 0);
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1000)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
    }

    #[test]
    fn keys_print_without_secrets() {
        assert_eq!(
            LimitKey::Ip("10.0.0.1".parse().unwrap()).to_string(),
            "ip:10.0.0.1"
        );
        assert_eq!(LimitKey::Token(255).to_string(), "key:00000000000000ff");
    }
}
