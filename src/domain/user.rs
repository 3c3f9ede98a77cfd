//! `UserId` and `Email`: who a user is, checked once at the edge.

use std::fmt;

/// Longest user id.
pub const MAX_USER_ID: usize = 64;
/// Longest display name.
pub const MAX_NAME: usize = 200;
/// Longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// A user's id: 1 to 64 of `[A-Za-z0-9_.-]`, so it is safe in paths,
/// logs and as a label without escaping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// Checks `raw`; the error says what is wrong with it.
    pub fn parse(raw: &str) -> Result<UserId, String> {
        if raw.is_empty() || raw.len() > MAX_USER_ID {
            return Err(format!("a user id is 1 to {MAX_USER_ID} characters"));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err("a user id may only hold A-Z, a-z, 0-9, '_', '.' and '-'".to_owned());
        }
        Ok(UserId(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name: 1 to 200 characters, no control characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    /// Checks `raw`; the error says what is wrong with it.
    pub fn parse(raw: &str) -> Result<UserName, String> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(format!("a name is 1 to {MAX_NAME} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("a name may not hold control characters".to_owned());
        }
        Ok(UserName(name.to_owned()))
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// An e-mail address as RFC 5322 allows it (parsed by `email_address`),
/// without display names and at most 254 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks `raw`; the error says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Email, String> {
        if raw.len() > MAX_EMAIL {
            return Err(format!("an e-mail address is at most {MAX_EMAIL} bytes"));
        }
        let options = email_address::Options::default().without_display_text();
        email_address::EmailAddress::parse_with_options(raw, options)
            .map(|address| Email(address.as_str().to_owned()))
            .map_err(|e| format!("not an e-mail address: {e}"))
    }

    /// The address, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_short_and_plain() {
        for ok in ["a", "alice", "Bob_2", "x.y-z", &"a".repeat(64)] {
            assert_eq!(UserId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", &"a".repeat(65), "a b", "a/b", "ä", "a\n", "../x"] {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
        // '.' is allowed but a path of dots is still only an id.
        assert!(UserId::parse("..").is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(UserName::parse("  Ada  ").unwrap().into_string(), "Ada");
        for bad in ["", "   ", "a\u{0}b", &"n".repeat(201)] {
            assert!(UserName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UserName::parse(&"ñ".repeat(200)).is_ok());
    }

    #[test]
    fn emails_are_checked() {
        for ok in ["a@example.com", "first.last+tag@sub.example.org"] {
            assert_eq!(Email::parse(ok).unwrap().into_string(), ok);
        }
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "Ada <a@example.com>",
            &long,
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
