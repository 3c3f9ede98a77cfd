//! In-process buckets (governor's GCRA), used without Redis and whenever
//! Redis does not answer.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::RateLimiter;

use super::{ceil_secs, Decision, LimitKey, Quota};
use crate::telemetry::metrics::LimitRule;

type Keyed = RateLimiter<
    LimitKey,
    DefaultKeyedStateStore<LimitKey>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One keyed limiter per rule.
pub struct LocalLimiter {
    create: Keyed,
    api: Keyed,
    redirect: Option<Keyed>,
    clock: DefaultClock,
}

fn keyed(quota: Quota) -> Keyed {
    let burst = NonZeroU32::new(quota.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let quota = governor::Quota::with_period(quota.interval())
        .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst);
    RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>()
}

impl LocalLimiter {
    /// Buckets for each configured rule.
    pub fn new(create: Quota, api: Quota, redirect: Option<Quota>) -> LocalLimiter {
        LocalLimiter {
            create: keyed(create),
            api: keyed(api),
            redirect: redirect.map(keyed),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one token from `key`'s bucket under `rule`.
    pub fn check(&self, rule: LimitRule, key: &LimitKey, quota: Quota) -> Decision {
        let limiter = match rule {
            LimitRule::Create => &self.create,
            LimitRule::Api => &self.api,
            LimitRule::Redirect => match &self.redirect {
                Some(limiter) => limiter,
                None => &self.api,
            },
        };
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

    /// Drops buckets that are full again.
    pub fn forget_idle(&self) {
        for limiter in [Some(&self.create), Some(&self.api), self.redirect.as_ref()]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_with_a_wait() {
        let quota = Quota {
            rate: 1.0,
            burst: 3,
        };
        let limiter = LocalLimiter::new(quota, quota, None);
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
}
