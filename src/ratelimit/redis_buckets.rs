//! Buckets in Redis, shared by every instance: GCRA in one Lua script, so
//! the read-decide-write of each check is atomic across instances.

use std::sync::LazyLock;
use std::time::Duration;

use super::{Decision, LimitKey, Quota};
use crate::redis_shared::{RedisError, SharedRedis};
use crate::telemetry::metrics::LimitRule;

/// GCRA on a stored "theoretical arrival time" (TAT) in microseconds, on
/// Redis's own clock so instances' clocks do not matter.
/// ARGV: emission interval (µs), burst. Returns {allowed, remaining,
/// retry_after_us, reset_us}.
static GCRA: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GCRA_SCRIPT));

const GCRA_SCRIPT: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
local remaining = math.floor((now - allow_at) / interval)
return {1, remaining, 0, new_tat - now}
";

/// Runs the GCRA script for one request.
pub async fn check(
    redis: &SharedRedis,
    rule: LimitRule,
    key: &LimitKey,
    quota: Quota,
) -> Result<Decision, RedisError> {
    let interval_us = (1_000_000.0 / quota.rate).round().max(1.0) as u64;
    let redis_key = redis.key(&format!("rl:{}:{key}", rule.as_str()));
    let (allowed, remaining, retry_us, reset_us): (i64, i64, i64, i64) = redis
        .run_script(
            &GCRA,
            &redis_key,
            &[interval_us, u64::from(quota.burst.max(1))],
        )
        .await?;
    let secs = |us: i64| (u64::try_from(us).unwrap_or(0)).div_ceil(1_000_000);
    Ok(Decision {
        allowed: allowed == 1,
        limit: quota.burst,
        remaining: u32::try_from(remaining).unwrap_or(0),
        reset_secs: secs(reset_us),
        retry_after_secs: if allowed == 1 {
            0
        } else {
            secs(retry_us).max(1)
        },
    })
}

/// The Redis key marking `key` as refused for failed authentications.
fn block_key(redis: &SharedRedis, key: &LimitKey) -> String {
    redis.key(&format!("rl:auth-block:{key}"))
}

/// How long `key` stays refused for failed authentications, shared by
/// every instance.
pub async fn blocked_for(
    redis: &SharedRedis,
    key: &LimitKey,
) -> Result<Option<Duration>, RedisError> {
    let ms: i64 = redis
        .query(redis::cmd("PTTL").arg(block_key(redis, key)))
        .await?;
    Ok(u64::try_from(ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis))
}

/// Refuses `key` on every instance for `wait`.
pub async fn block(redis: &SharedRedis, key: &LimitKey, wait: Duration) -> Result<(), RedisError> {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    redis
        .query(
            redis::cmd("SET")
                .arg(block_key(redis, key))
                .arg(1)
                .arg("PX")
                .arg(ms),
        )
        .await
}
