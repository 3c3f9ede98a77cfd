//! The link object as the API and `export` show it, and `import` reads it.

use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};

/// The JSON link object from the spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkView {
    pub code: String,
    #[serde(default)]
    pub short_url: String,
    pub url: String,
    pub created_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub max_clicks: Option<i64>,
    #[serde(default)]
    pub clicks: i64,
    #[serde(default)]
    pub redirect_status: Option<u16>,
}

/// Unix milliseconds as RFC 3339 in UTC, with fractions only when present.
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_compactly() {
        assert_eq!(rfc3339(1_795_852_800_000), "2026-11-28T08:00:00Z");
        assert_eq!(rfc3339(1_795_852_800_250), "2026-11-28T08:00:00.250Z");
    }
}
