//! The link object as the API and `export` show it, and `import` reads it.

use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};

use crate::store::LinkRecord;

/// The JSON link object from the spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkView {
    /// The generated code or alias.
    #[schema(example = "aZ3kQ9x")]
    pub code: String,
    /// `base_url` + `/` + code.
    #[serde(default)]
    #[schema(example = "https://sho.rt/aZ3kQ9x")]
    pub short_url: String,
    /// The target, normalized (IDN hosts as punycode).
    pub url: String,
    /// RFC 3339, UTC.
    #[schema(value_type = String, format = DateTime, required = true)]
    pub created_at: Option<String>,
    /// RFC 3339, UTC; `null` for links that never expire.
    #[serde(default)]
    #[schema(format = DateTime, required = true)]
    pub expires_at: Option<String>,
    /// The click cap; `null` for no cap.
    #[serde(default)]
    #[schema(required = true, minimum = 1)]
    pub max_clicks: Option<i64>,
    /// Clicks counted so far, including those not yet written to the store.
    #[serde(default)]
    pub clicks: i64,
    /// 301, 302, 307 or 308.
    #[serde(default)]
    #[schema(value_type = u16, required = true, example = 302)]
    pub redirect_status: Option<u16>,
    /// The id of the user whose key created the link; `null` for links
    /// made anonymously, with the admin token or by the CLI.
    #[serde(default)]
    #[schema(required = true)]
    pub owner: Option<String>,
    /// Labels for finding the link (`?tag=`), at most 10.
    #[serde(default)]
    #[schema(required = true)]
    pub tags: Vec<String>,
}

impl LinkView {
    /// The object for `r` under `base_url`, with `pending_clicks` not yet
    /// in the store added to its count.
    pub fn of(r: &LinkRecord, base_url: &str, pending_clicks: i64) -> LinkView {
        LinkView {
            short_url: format!("{base_url}/{}", r.code),
            code: r.code.clone(),
            url: r.url.clone(),
            created_at: Some(rfc3339(r.created_at)),
            expires_at: r.expires_at.map(rfc3339),
            max_clicks: r.max_clicks,
            clicks: r.clicks + pending_clicks,
            redirect_status: Some(r.redirect_status as u16),
            owner: r.owner.clone(),
            tags: r.tags.clone(),
        }
    }
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
