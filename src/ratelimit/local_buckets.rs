//! In-process buckets (governor's GCRA), used without Redis and whenever
//! Redis does not answer. Each rule keeps at most [`TRACKED_KEYS`] clients
//! ([`BoundedStore`]), so memory stays fixed under a flood of new ones.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::{NoOpMiddleware, StateInformationMiddleware};
use governor::RateLimiter;

use super::bounded_store::BoundedStore;
use super::{ceil_secs, Decision, LimitKey, Quota};
use crate::telemetry::metrics::LimitRule;

/// Clients tracked per rule. At about 100 bytes each, all rules together
/// stay within a few tens of MiB however many clients come.
pub const TRACKED_KEYS: usize = 100_000;

type Limiter =
    RateLimiter<LimitKey, BoundedStore<LimitKey>, DefaultClock, StateInformationMiddleware>;

/// One rule's limiter and a view of its states.
struct Keyed {
    limiter: Limiter,
    store: BoundedStore<LimitKey>,
}

/// One keyed limiter per rule.
pub struct LocalLimiter {
    create: Keyed,
    api: Keyed,
    redirect: Option<Keyed>,
    auth: Keyed,
    clock: DefaultClock,
}

fn keyed(quota: Quota, capacity: usize) -> Keyed {
    let burst = NonZeroU32::new(quota.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let quota = governor::Quota::with_period(quota.interval())
        .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst);
    let store = BoundedStore::new(capacity);
    let limiter = RateLimiter::<_, _, _, NoOpMiddleware<_>>::new(
        quota,
        store.clone(),
        DefaultClock::default(),
    )
    .with_middleware::<StateInformationMiddleware>();
    Keyed { limiter, store }
}

impl LocalLimiter {
    /// Buckets for each configured rule, each holding at most `capacity`
    /// clients ([`TRACKED_KEYS`] in the server).
    pub fn new(quotas: &super::Quotas, capacity: usize) -> LocalLimiter {
        LocalLimiter {
            create: keyed(quotas.create, capacity),
            api: keyed(quotas.api, capacity),
            redirect: quotas.redirect.map(|q| keyed(q, capacity)),
            auth: keyed(quotas.auth, capacity),
            clock: DefaultClock::default(),
        }
    }

    /// Clients tracked under `rule` right now.
    pub fn tracked(&self, rule: LimitRule) -> usize {
        self.keyed(rule).store.tracked()
    }

    fn keyed(&self, rule: LimitRule) -> &Keyed {
        match rule {
            LimitRule::Create => &self.create,
            LimitRule::Api => &self.api,
            LimitRule::Auth => &self.auth,
            LimitRule::Redirect => self.redirect.as_ref().unwrap_or(&self.api),
        }
    }

    /// Takes one token from `key`'s bucket under `rule`.
    pub fn check(&self, rule: LimitRule, key: &LimitKey, quota: Quota) -> Decision {
        let limiter = &self.keyed(rule).limiter;
        let interval = quota.interval();
        match limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit: quota.burst,
                    remaining,
                    reset_secs: ceil_secs(interval * quota.burst.saturating_sub(remaining)),
                    retry_after_secs: 0,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Decision {
                    allowed: false,
                    limit: quota.burst,
                    remaining: 0,
                    reset_secs: ceil_secs(wait + interval * quota.burst.saturating_sub(1)),
                    retry_after_secs: ceil_secs(wait).max(1),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_rule(quota: Quota) -> super::super::Quotas {
        super::super::Quotas {
            create: quota,
            api: quota,
            redirect: None,
            auth: quota,
        }
    }

    #[test]
    fn burst_then_refusal_with_a_wait() {
        let quota = Quota {
            rate: 1.0,
            burst: 3,
        };
        let quotas = every_rule(quota);
        let limiter = LocalLimiter::new(&quotas, 100);
        let key = LimitKey::Ip("192.0.2.1".parse().unwrap());
        let remaining: Vec<u32> = (0..3)
            .map(|_| limiter.check(LimitRule::Create, &key, quota))
            .map(|d| {
                assert!(d.allowed);
                d.remaining
            })
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limiter.check(LimitRule::Create, &key, quota);
        assert!(!refused.allowed);
        assert_eq!(
            (refused.limit, refused.remaining, refused.retry_after_secs),
            (3, 0, 1)
        );
        assert!(
            refused.reset_secs >= 2 && refused.reset_secs <= 3,
            "{refused:?}"
        );
        // Another client and another rule have buckets of their own.
        let other = LimitKey::Ip("192.0.2.2".parse().unwrap());
        assert!(limiter.check(LimitRule::Create, &other, quota).allowed);
        assert!(limiter.check(LimitRule::Api, &key, quota).allowed);
    }

    #[test]
    fn a_flood_of_distinct_clients_keeps_memory_bounded() {
        let quota = Quota {
            rate: 0.001,
            burst: 1,
        };
        let quotas = every_rule(quota);
        let limiter = LocalLimiter::new(&quotas, 1_000);
        let attacker = LimitKey::Ip("192.0.2.66".parse().unwrap());
        assert!(limiter.check(LimitRule::Auth, &attacker, quota).allowed);
        for n in 0..50_000u32 {
            let key = LimitKey::Ip(std::net::IpAddr::from(n.to_be_bytes()));
            assert!(limiter.check(LimitRule::Auth, &key, quota).allowed);
            if n % 100 == 0 {
                // The attacker keeps trying (and keeps being refused).
                assert!(!limiter.check(LimitRule::Auth, &attacker, quota).allowed);
            }
        }
        let tracked = limiter.tracked(LimitRule::Auth);
        assert!(
            tracked <= 1_100,
            "{tracked} clients tracked for a capacity of 1000"
        );
        // A client seen often stays tracked, so its bucket is still empty.
        assert!(!limiter.check(LimitRule::Auth, &attacker, quota).allowed);
    }
}
