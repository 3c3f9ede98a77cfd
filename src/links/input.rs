//! Request bodies of the links API and their validation into checked values.

use serde::{Deserialize, Deserializer};

use crate::config::Config;
use crate::domain::password::Password;
use crate::domain::{Alias, Expiry, MaxClicks, RedirectStatus, Tags, TargetUrl, UrlPolicy};
use crate::error::{AppError, FieldErrors};
use crate::store::LinkPatch;

/// What validation needs to know about the deployment.
#[derive(Clone, Debug)]
pub struct Rules {
    pub policy: UrlPolicy,
    pub default_status: RedirectStatus,
}

impl Rules {
    /// The rules `config` sets: URL length, blocklist (read from its file),
    /// the names this service answers to (`base_url`'s host, `own_hosts`,
    /// the listen address) and the default redirect status.
    pub fn from_config(config: &Config) -> Result<Rules, String> {
        let blocklist = match &config.blocklist {
            Some(path) => UrlPolicy::read_blocklist(path)?,
            None => Vec::new(),
        };
        let own_hosts = config
            .own_hosts
            .iter()
            .map(String::as_str)
            .chain([config.listen.as_str()]);
        Ok(Rules {
            policy: UrlPolicy::new(config.max_url_length, &config.base_url, blocklist)
                .with_own_hosts(own_hosts)?,
            default_status: config.redirect_status,
        })
    }
}

/// A link to create. Unknown fields are refused (400); a `null` field is
/// the same as a missing one; `ttl` and `expires_at` exclude each other.
// Every field is optional here, so that a missing `url` is a 422 naming
// the field, not a 400. The constraints JSON Schema needs `enum`, `not` or
// the configuration for are added to the document in api/docs.rs.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// The target.
    #[schema(value_type = String, required = true, example = "https://example.com/a?b=c")]
    pub url: Option<String>,
    /// 3 to 64 of `[A-Za-z0-9_-]`; reserved words are refused.
    #[schema(pattern = "^[A-Za-z0-9_-]{3,64}$", example = "launch-2026")]
    pub alias: Option<String>,
    /// RFC 3339 time later than the time of the request (a past one is a
    /// 422); not with `ttl`.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Lifetime in seconds, at most 100 years' worth; not with `expires_at`.
    #[serde(default, deserialize_with = "whole")]
    #[schema(minimum = 1)]
    pub ttl: Option<i64>,
    /// Redirects allowed before the link answers 410.
    #[serde(default, deserialize_with = "whole")]
    #[schema(minimum = 1)]
    pub max_clicks: Option<i64>,
    /// 301, 302, 307 or 308 (default: the `redirect_status` setting).
    #[serde(default, deserialize_with = "whole")]
    #[schema(example = 302)]
    pub redirect_status: Option<i64>,
    /// Up to 10 labels, each 1 to 40 letters, digits or `-_.:/`.
    #[schema(max_items = 10, example = json!(["launch"]))]
    pub tags: Option<Vec<String>>,
    /// 4 to 128 characters asked for before the redirect; kept only as an
    /// argon2id hash and never returned.
    #[schema(min_length = 4, max_length = 128)]
    pub password: Option<String>,
}

/// A create request whose every field passed validation.
#[derive(Clone, Debug)]
pub struct NewLinkSpec {
    pub url: TargetUrl,
    pub alias: Option<Alias>,
    pub expires_at: Option<Expiry>,
    pub max_clicks: Option<MaxClicks>,
    pub redirect_status: RedirectStatus,
    pub tags: Tags,
    pub password: Option<Password>,
}

impl CreateBody {
    /// Checks every field, reporting all problems at once.
    pub fn validate(self, rules: &Rules, now_ms: i64) -> Result<NewLinkSpec, AppError> {
        let mut errors = FieldErrors::default();
        let url = match self.url.as_deref() {
            Some(raw) => errors.check("url", TargetUrl::parse(raw, &rules.policy)),
            None => errors.check("url", Err("url is required".to_owned())),
        };
        let alias = self
            .alias
            .map(|a| errors.check("alias", Alias::parse(&a).map_err(|e| e.to_string())));
        let expires_at = match (self.expires_at, self.ttl) {
            (Some(_), Some(_)) => {
                errors.check("ttl", Err("give expires_at or ttl, not both".to_owned()))
            }
            (Some(at), None) => errors.check("expires_at", Expiry::from_rfc3339(&at, now_ms)),
            (None, Some(ttl)) => errors.check("ttl", Expiry::from_ttl(ttl, now_ms)),
            (None, None) => None,
        };
        let max_clicks = self
            .max_clicks
            .map(|n| errors.check("max_clicks", MaxClicks::parse(n)));
        let redirect_status = match self.redirect_status {
            Some(s) => errors.check("redirect_status", RedirectStatus::parse(s)),
            None => Some(rules.default_status),
        };
        let tags = self
            .tags
            .map(|t| errors.check("tags", Tags::parse(&t).map_err(|e| e.to_string())));
        let password = self
            .password
            .map(|p| errors.check("password", Password::parse(&p)));
        errors.into_result()?;
        match (url, redirect_status) {
            (Some(url), Some(redirect_status)) => Ok(NewLinkSpec {
                url,
                alias: alias.flatten(),
                expires_at,
                max_clicks: max_clicks.flatten(),
                redirect_status,
                tags: tags.flatten().unwrap_or_default(),
                password: password.flatten(),
            }),
            _ => Err(AppError::Internal("validation lost an error".to_owned())),
        }
    }
}

/// A whole number, also when written with a zero fraction (`5.0`): JSON
/// (and JSON Schema) make no difference between the two.
fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(|n| whole_number(&n))
        .transpose()
}

/// [`whole`] for a field where `null` means "clear it".
fn present_whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    whole(d).map(Some)
}

/// 2^63, the first float past `i64::MAX`.
const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;

fn whole_number<E: serde::de::Error>(n: &serde_json::Number) -> Result<i64, E> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        // Below 2^63 exactly, so the conversion cannot saturate.
        Some(f) if f.fract() == 0.0 && (-TWO_TO_63..TWO_TO_63).contains(&f) => Ok(f as i64),
        _ => Err(E::custom(format!(
            "invalid value: {n}, expected a whole number between {} and {}",
            i64::MIN,
            i64::MAX
        ))),
    }
}

/// Distinguishes an absent field (no change) from `null` (clear it).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `url` and `redirect_status` can be changed but not cleared.
fn not_null<T>(value: Option<T>) -> Result<T, String> {
    value.ok_or_else(|| "this field cannot be null".to_owned())
}

/// `PATCH /api/v1/links/{code}` body: absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// A new target (cannot be `null`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub url: Option<Option<String>>,
    /// A new expiry, later than the time of the request; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<String>>,
    /// A new click cap; `null` removes it.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub max_clicks: Option<Option<i64>>,
    /// 301, 302, 307 or 308 (cannot be `null`).
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(value_type = i64)]
    pub redirect_status: Option<Option<i64>>,
    /// The new tags, replacing the old ones; `null` or `[]` removes them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>, max_items = 10)]
    pub tags: Option<Option<Vec<String>>>,
    /// A new password (4 to 128 characters); `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 4, max_length = 128)]
    pub password: Option<Option<String>>,
}

/// A checked patch, and the password change it asks for (hashed by the
/// link service, off the serving threads).
#[derive(Debug)]
pub struct ValidPatch {
    pub patch: LinkPatch,
    /// `Some(None)` removes the password.
    pub password: Option<Option<Password>>,
}

impl PatchBody {
    /// Checks every field that is present, reporting all problems at once.
    pub fn validate(self, rules: &Rules, now_ms: i64) -> Result<ValidPatch, AppError> {
        let mut errors = FieldErrors::default();
        let password = self
            .password
            .map(|p| p.and_then(|p| errors.check("password", Password::parse(&p))));
        let patch = LinkPatch {
            url: self
                .url
                .and_then(|u| errors.check("url", not_null(u)))
                .and_then(|u| errors.check("url", TargetUrl::parse(&u, &rules.policy)))
                .map(TargetUrl::into_string),
            expires_at: self.expires_at.map(|at| {
                at.and_then(|at| errors.check("expires_at", Expiry::from_rfc3339(&at, now_ms)))
                    .map(Expiry::millis)
            }),
            max_clicks: self.max_clicks.map(|n| {
                n.and_then(|n| errors.check("max_clicks", MaxClicks::parse(n)))
                    .map(MaxClicks::get)
            }),
            redirect_status: self
                .redirect_status
                .and_then(|s| errors.check("redirect_status", not_null(s)))
                .and_then(|s| errors.check("redirect_status", RedirectStatus::parse(s)))
                .map(|s| s.as_u16().into()),
            tags: self.tags.and_then(|t| {
                let tags = Tags::parse(&t.unwrap_or_default()).map_err(|e| e.to_string());
                errors.check("tags", tags).map(Tags::into_vec)
            }),
            password_hash: None,
        };
        errors.into_result()?;
        Ok(ValidPatch { patch, password })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn rules() -> Rules {
        let base = Url::parse("https://sho.rt").unwrap();
        Rules {
            policy: UrlPolicy::new(2048, &base, vec![]),
            default_status: RedirectStatus::FOUND,
        }
    }

    fn fields(err: AppError) -> Vec<String> {
        match err {
            AppError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn reports_every_bad_field() {
        let body = CreateBody {
            url: Some("javascript:alert(1)".into()),
            alias: Some("api".into()),
            ttl: Some(-1),
            max_clicks: Some(0),
            redirect_status: Some(200),
            ..CreateBody::default()
        };
        let got = fields(body.validate(&rules(), 0).unwrap_err());
        assert_eq!(
            got,
            ["url", "alias", "ttl", "max_clicks", "redirect_status"]
        );
    }

    #[test]
    fn url_is_required_and_expiry_is_exclusive() {
        let body = CreateBody {
            expires_at: Some("2099-01-01T00:00:00Z".into()),
            ttl: Some(5),
            ..CreateBody::default()
        };
        assert_eq!(
            fields(body.validate(&rules(), 0).unwrap_err()),
            ["url", "ttl"]
        );
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_zero_fraction() {
        let body: CreateBody =
            serde_json::from_str(r#"{"ttl": 60.0, "max_clicks": 3, "redirect_status": 3.01e2}"#)
                .unwrap();
        assert_eq!(
            (body.ttl, body.max_clicks, body.redirect_status),
            (Some(60), Some(3), Some(301))
        );
        for bad in [
            r#"{"ttl": 1.5}"#,
            r#"{"max_clicks": 1e300}"#,
            r#"{"ttl": "5"}"#,
            r#"{"ttl": 9.3e18}"#,
        ] {
            assert!(serde_json::from_str::<CreateBody>(bad).is_err(), "{bad}");
        }
        let patch: PatchBody =
            serde_json::from_str(r#"{"max_clicks": 2.0, "redirect_status": 308.0}"#).unwrap();
        assert_eq!(
            (patch.max_clicks, patch.redirect_status),
            (Some(Some(2)), Some(Some(308)))
        );
        let cleared: PatchBody = serde_json::from_str(r#"{"max_clicks": null}"#).unwrap();
        assert_eq!(cleared.max_clicks, Some(None));
    }

    #[test]
    fn patch_null_clears_and_absent_keeps() {
        let patch: PatchBody = serde_json::from_str(r#"{"expires_at": null}"#).unwrap();
        let valid = patch.validate(&rules(), 0).unwrap();
        assert_eq!(valid.patch.expires_at, Some(None));
        assert_eq!(valid.patch.max_clicks, None);
        assert!(valid.password.is_none());
        let bad: PatchBody = serde_json::from_str(r#"{"max_clicks": 0}"#).unwrap();
        assert_eq!(
            fields(bad.validate(&rules(), 0).unwrap_err()),
            ["max_clicks"]
        );
        let removed: PatchBody = serde_json::from_str(r#"{"password": null}"#).unwrap();
        let removed = removed.validate(&rules(), 0).unwrap();
        assert!(matches!(removed.password, Some(None)));
        let short: PatchBody = serde_json::from_str(r#"{"password": "abc"}"#).unwrap();
        assert_eq!(
            fields(short.validate(&rules(), 0).unwrap_err()),
            ["password"]
        );
    }
}
