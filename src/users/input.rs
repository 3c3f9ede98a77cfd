//! Request bodies of the user endpoints, and their checks.

use serde::Deserialize;

use crate::domain::{Email, Expiry, Scope, Scopes, UserId, UserName};
use crate::error::{AppError, FieldErrors};

/// Longest key name.
pub const MAX_KEY_NAME: usize = 100;

/// `PUT /api/v1/users/{id}`. Unknown fields are refused (400).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    /// Display name, 1 to 200 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, example = "Ada Lovelace")]
    pub name: Option<String>,
    /// E-mail address.
    #[schema(value_type = String, required = true, format = "email", max_length = 254, example = "ada@example.com")]
    pub email: Option<String>,
}

impl UserBody {
    /// Checks every field, reporting all problems at once.
    /// `id` is the user's id from the path (or command line), checked
    /// with the body so that its error is reported with theirs.
    pub fn validate(self, id: &str) -> Result<(UserId, UserName, Email), AppError> {
        let mut errors = FieldErrors::default();
        let id = errors.check("id", UserId::parse(id));
        let name = errors.check(
            "name",
            self.name
                .ok_or_else(|| "name is required".to_owned())
                .and_then(|n| UserName::parse(&n)),
        );
        let email = errors.check(
            "email",
            self.email
                .ok_or_else(|| "email is required".to_owned())
                .and_then(|e| Email::parse(&e)),
        );
        errors.into_result()?;
        match (id, name, email) {
            (Some(id), Some(name), Some(email)) => Ok((id, name, email)),
            _ => Err(AppError::Internal("validation lost a field".to_owned())),
        }
    }
}

/// `POST /api/v1/users/{id}/keys`. Every field is optional.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyBody {
    /// What the key is for, up to 100 characters.
    #[schema(max_length = 100, example = "ci")]
    pub name: Option<String>,
    /// RFC 3339, in the future; `null` or missing for a key that never
    /// expires.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// What the key may do; default all three.
    #[schema(value_type = Option<Vec<Scope>>, min_items = 1)]
    pub scopes: Option<Vec<String>>,
}

/// A checked [`KeyBody`].
pub struct KeySpec {
    pub name: Option<String>,
    pub expires_at: Option<i64>,
    pub scopes: Scopes,
}

impl KeyBody {
    /// Checks every field, reporting all problems at once.
    pub fn validate(self, now_ms: i64) -> Result<KeySpec, AppError> {
        let mut errors = FieldErrors::default();
        let name = self.name.and_then(|n| {
            errors.check(
                "name",
                if n.chars().count() > MAX_KEY_NAME || n.chars().any(char::is_control) {
                    Err(format!(
                        "a key name is at most {MAX_KEY_NAME} characters, without control characters"
                    ))
                } else {
                    Ok(n)
                },
            )
        });
        let expires_at = self.expires_at.and_then(|at| {
            errors.check(
                "expires_at",
                Expiry::from_rfc3339(&at, now_ms).map(|e| e.millis()),
            )
        });
        let scopes = match self.scopes {
            None => Some(Scopes::all()),
            Some(names) => errors.check("scopes", parse_scopes(&names)),
        };
        errors.into_result()?;
        Ok(KeySpec {
            name,
            expires_at,
            scopes: scopes.unwrap_or_else(Scopes::all),
        })
    }
}

fn parse_scopes(names: &[String]) -> Result<Scopes, String> {
    if names.is_empty() {
        return Err("give at least one scope, or leave scopes out for all".to_owned());
    }
    let mut scopes = Vec::new();
    for name in names {
        let scope = Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope {name:?}; known: {}", known.join(", "))
            })?;
        scopes.push(scope);
    }
    Ok(Scopes::of(&scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_bodies_report_every_bad_field() {
        let Err(AppError::Validation(errors)) = UserBody::default().validate("a b") else {
            panic!("expected a validation error");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["id", "name", "email"]);
        let ok = UserBody {
            name: Some(" Ada ".into()),
            email: Some("ada@example.com".into()),
        };
        let (id, name, email) = ok.validate("ada").unwrap();
        assert_eq!(id.as_str(), "ada");
        assert_eq!(name.into_string(), "Ada");
        assert_eq!(email.into_string(), "ada@example.com");
    }

    #[test]
    fn key_bodies_default_to_every_scope_and_check_the_rest() {
        let spec = KeyBody::default().validate(0).unwrap();
        assert_eq!(spec.scopes, Scopes::all());
        assert_eq!((spec.name, spec.expires_at), (None, None));
        let only_read = KeyBody {
            scopes: Some(vec!["links:read".into()]),
            ..Default::default()
        };
        assert_eq!(
            only_read.validate(0).unwrap().scopes,
            Scopes::of(&[Scope::LinksRead])
        );
        let bad = KeyBody {
            name: Some("x".repeat(101)),
            expires_at: Some("2000-01-01T00:00:00Z".into()),
            scopes: Some(vec!["links:admin".into()]),
        };
        let Err(AppError::Validation(errors)) = bad.validate(1_000_000_000_000) else {
            panic!("expected a validation error");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "expires_at", "scopes"]);
        let empty = KeyBody {
            scopes: Some(vec![]),
            ..Default::default()
        };
        assert!(empty.validate(0).is_err());
    }
}
