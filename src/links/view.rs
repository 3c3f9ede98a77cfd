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
    /// Whether following the link asks for a password (which is never
    /// returned).
    #[serde(default)]
    #[schema(required = true)]
    pub has_password: bool,
}

/// A line of `export`: the link object, and the password's hash when the
/// link has one (`password_hash`), so an import keeps the link protected.
/// The API never shows the hash.
pub fn export_line(view: &LinkView, password_hash: Option<&str>) -> serde_json::Value {
    let mut line = serde_json::to_value(view).unwrap_or_default();
    if let (Some(hash), Some(fields)) = (password_hash, line.as_object_mut()) {
        fields.insert("password_hash".to_owned(), hash.into());
    }
    line
}

/// An `export` line read back: the link object (unknown fields refused)
/// and the password hash, if any.
pub fn parse_export_line(line: &str) -> Result<(LinkView, Option<String>), String> {
    let mut value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let hash = match value
        .as_object_mut()
        .and_then(|o| o.remove("password_hash"))
    {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(hash)) => Some(hash),
        Some(_) => return Err("password_hash must be a string".to_owned()),
    };
    let view = serde_json::from_value(value).map_err(|e| e.to_string())?;
    Ok((view, hash))
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
            has_password: r.password_hash.is_some(),
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

    #[test]
    fn export_lines_carry_the_hash_and_nothing_unknown() {
        let line = r#"{"code":"abc","url":"https://example.com/","has_password":true,"password_hash":"$argon2id$x"}"#;
        let (view, hash) = parse_export_line(line).unwrap();
        assert_eq!(hash.as_deref(), Some("$argon2id$x"));
        assert!(view.has_password);
        let again = export_line(&view, hash.as_deref()).to_string();
        assert!(
            again.contains("\"password_hash\":\"$argon2id$x\""),
            "{again}"
        );
        assert!(!export_line(&view, None)
            .to_string()
            .contains("password_hash"));
        for bad in [
            r#"{"code":"abc","url":"https://example.com/","surprise":1}"#,
            r#"{"code":"abc","url":"https://example.com/","password_hash":5}"#,
            "[1]",
        ] {
            assert!(parse_export_line(bad).is_err(), "{bad}");
        }
    }
}
