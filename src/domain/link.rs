//! Small validated link attributes: redirect status, expiry and click cap.

use chrono::{DateTime, Utc};

/// One of the redirect statuses a link may answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedirectStatus(u16);

impl RedirectStatus {
    /// The status every link gets unless told otherwise.
    pub const FOUND: RedirectStatus = RedirectStatus(302);

    /// Accepts 301, 302, 307 and 308, the statuses browsers follow.
    pub fn parse(status: i64) -> Result<RedirectStatus, String> {
        match status {
            301 | 302 | 307 | 308 => Ok(RedirectStatus(status as u16)),
            _ => Err(format!(
                "redirect_status must be 301, 302, 307 or 308, not {status}"
            )),
        }
    }

    /// The numeric status.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// Permanent redirects may be cached by browsers and proxies.
    pub fn is_permanent(self) -> bool {
        matches!(self.0, 301 | 308)
    }
}

/// A positive click cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxClicks(i64);

impl MaxClicks {
    /// A cap must allow at least one click.
    pub fn parse(n: i64) -> Result<MaxClicks, String> {
        if n >= 1 {
            Ok(MaxClicks(n))
        } else {
            Err(format!("max_clicks must be at least 1, not {n}"))
        }
    }

    /// The cap as a number.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// An expiry instant in the future, in Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry(i64);

/// Longest accepted `ttl`: 100 years, so that arithmetic never overflows.
pub const MAX_TTL_SECONDS: i64 = 100 * 366 * 24 * 3600;

impl Expiry {
    /// Parses an RFC 3339 timestamp, which must lie after `now_ms`.
    pub fn from_rfc3339(raw: &str, now_ms: i64) -> Result<Expiry, String> {
        let at = DateTime::parse_from_rfc3339(raw)
            .map_err(|_| format!("expires_at must be an RFC 3339 timestamp, not {raw:?}"))?;
        Expiry::at(at.with_timezone(&Utc).timestamp_millis(), now_ms)
    }

    /// Expiry `ttl` seconds after `now_ms`.
    pub fn from_ttl(ttl: i64, now_ms: i64) -> Result<Expiry, String> {
        if !(1..=MAX_TTL_SECONDS).contains(&ttl) {
            return Err(format!(
                "ttl must be between 1 and {MAX_TTL_SECONDS} seconds, not {ttl}"
            ));
        }
        Ok(Expiry(now_ms + ttl * 1000))
    }

    /// An absolute instant in Unix milliseconds, which must be in the future.
    pub fn at(ms: i64, now_ms: i64) -> Result<Expiry, String> {
        if ms <= now_ms {
            return Err("expiry must be in the future".to_owned());
        }
        Ok(Expiry(ms))
    }

    /// Unix milliseconds.
    pub fn millis(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_status_accepts_only_redirects() {
        for ok in [301, 302, 307, 308] {
            assert_eq!(RedirectStatus::parse(ok).unwrap().as_u16() as i64, ok);
        }
        for bad in [200, 300, 303, 304, 404, -1, 70000] {
            assert!(RedirectStatus::parse(bad).is_err(), "{bad}");
        }
        assert!(RedirectStatus::parse(301).unwrap().is_permanent());
        assert!(!RedirectStatus::parse(307).unwrap().is_permanent());
    }

    #[test]
    fn max_clicks_must_be_positive() {
        assert_eq!(MaxClicks::parse(5).unwrap().get(), 5);
        assert!(MaxClicks::parse(0).is_err());
        assert!(MaxClicks::parse(-3).is_err());
    }

    #[test]
    fn expiry_must_be_in_the_future() {
        let now = 1_800_000_000_000;
        assert!(Expiry::from_rfc3339("2020-01-01T00:00:00Z", now).is_err());
        let ok = Expiry::from_rfc3339("2099-01-01T00:00:00+02:00", now).unwrap();
        assert_eq!(ok.millis(), 4_070_901_600_000);
        assert!(Expiry::from_rfc3339("tomorrow", now).is_err());
    }

    #[test]
    fn ttl_is_bounded() {
        let now = 1_000;
        assert_eq!(Expiry::from_ttl(2, now).unwrap().millis(), 3_000);
        assert!(Expiry::from_ttl(0, now).is_err());
        assert!(Expiry::from_ttl(-5, now).is_err());
        assert!(Expiry::from_ttl(i64::MAX, now).is_err());
    }
}
