//! Token-bucket rate limits (GCRA): per client IP on link creation and on
//! failed authentications, per API key on the whole API, and optionally
//! per client IP on redirects. IPv6 clients are keyed by their /64, which
//! one client controls whole.
//!
//! With Redis configured the buckets live there, shared by every instance
//! (`redis_buckets`); without it, or whenever Redis fails to answer, they
//! live in this process (`local_buckets`). Limiting is never switched
//! off by a failure.

mod auth_failures;
mod bounded_store;
mod local_buckets;
mod redis_buckets;

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};

use crate::config::Config;
use crate::redis_shared::SharedRedis;
use crate::telemetry::metrics::LimitRule;

pub use local_buckets::{LocalLimiter, TRACKED_KEYS};

/// The budget of every rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quotas {
    pub create: Quota,
    pub api: Quota,
    /// `None` when redirects are not limited.
    pub redirect: Option<Quota>,
    pub auth: Quota,
}

impl Quotas {
    /// The rules from `create_rate`/`create_burst`, `api_rate`/`api_burst`,
    /// `redirect_rate`/`redirect_burst` and `auth_failure_rate`/`auth_failure_burst`.
    pub fn from_config(config: &Config) -> Quotas {
        let quota = |rate, burst| Quota { rate, burst };
        Quotas {
            create: quota(config.create_rate, config.create_burst),
            api: quota(config.api_rate, config.api_burst),
            redirect: config
                .redirect_rate
                .map(|rate| quota(rate, config.redirect_burst)),
            auth: quota(config.auth_failure_rate, config.auth_failure_burst),
        }
    }
}

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

impl LimitKey {
    /// The key of a client address: IPv4 as it is, IPv6 by its /64, since
    /// whoever has one address of a /64 can use them all.
    pub fn client(ip: IpAddr) -> LimitKey {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => LimitKey::Ip(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    LimitKey::Ip(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
            v4 => LimitKey::Ip(v4),
        }
    }
}

/// Every configured rule, checked shared-first with an in-process fallback.
pub struct RateLimits {
    quotas: Quotas,
    local: LocalLimiter,
    redis: Option<Arc<SharedRedis>>,
    /// Clients refused for failed authentications, remembered locally.
    auth_blocks: auth_failures::Blocks,
}

impl RateLimits {
    /// The configured rules, shared through `redis` when given.
    pub fn new(config: &Config, redis: Option<Arc<SharedRedis>>) -> RateLimits {
        let quotas = Quotas::from_config(config);
        RateLimits {
            local: LocalLimiter::new(&quotas, TRACKED_KEYS),
            quotas,
            redis,
            auth_blocks: auth_failures::Blocks::new(TRACKED_KEYS),
        }
    }

    /// Whether redirects are limited at all (the route gets no limiter
    /// otherwise, so unlimited redirects pay nothing).
    pub fn limits_redirects(&self) -> bool {
        self.quotas.redirect.is_some()
    }

    /// Takes one token from `key`'s bucket under `rule`.
    pub async fn check(&self, rule: LimitRule, key: &LimitKey) -> Decision {
        let quota = match rule {
            LimitRule::Create => self.quotas.create,
            LimitRule::Api => self.quotas.api,
            LimitRule::Auth => self.quotas.auth,
            LimitRule::Redirect => match self.quotas.redirect {
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

    /// The refusal for a client that recently failed to authenticate too
    /// often, or `None`. Asked before any credential is looked at, so a
    /// refused client learns nothing about the ones it sends.
    pub async fn auth_blocked(&self, key: &LimitKey) -> Option<Decision> {
        let limit = self.quotas.auth.burst;
        if let Some(wait) = self.auth_blocks.remaining(key) {
            return Some(auth_failures::refusal(limit, wait));
        }
        let redis = self.redis.as_ref()?;
        match redis_buckets::blocked_for(redis, key).await {
            Ok(Some(wait)) => {
                self.auth_blocks.block(*key, wait);
                Some(auth_failures::refusal(limit, wait))
            }
            Ok(None) | Err(_) => None,
        }
    }

    /// Counts a failed authentication. Once the client's bucket is empty
    /// (by this failure or an earlier one), it is refused, good credentials
    /// included, until a token is back: so a guesser has exactly the
    /// bucket's rate of guesses that are looked at.
    pub async fn auth_failed(&self, key: &LimitKey) -> Decision {
        let decision = self.check(LimitRule::Auth, key).await;
        let wait = if !decision.allowed {
            Some(Duration::from_secs(decision.retry_after_secs))
        } else if decision.remaining == 0 {
            // At most one interval until the next token.
            Some(self.quotas.auth.interval())
        } else {
            None
        };
        if let Some(wait) = wait {
            self.auth_blocks.block(*key, wait);
            if let Some(redis) = &self.redis {
                let _ = redis_buckets::block(redis, key, wait).await;
            }
        }
        decision
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
    fn ipv6_clients_are_keyed_by_their_64() {
        let key = |s: &str| LimitKey::client(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:1:2:3"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
        assert_eq!(key("2001:db8:1:2::9").to_string(), "ip:2001:db8:1:2::");
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
