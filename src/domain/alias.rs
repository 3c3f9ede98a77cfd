//! The `Alias` newtype: a user-chosen code.

use super::code::{is_code_byte, Code};

/// Paths the service uses itself (or may use), so no alias may take them.
pub const RESERVED: &[&str] = &[
    "api",
    "docs",
    "api-docs",
    "metrics",
    "healthz",
    "readyz",
    "_health",
    "static",
    "assets",
    "favicon.ico",
    "robots.txt",
    "admin",
    "login",
    "logout",
    "ui",
    // `/api/v1/links/batch` is a route, so a link under that alias could
    // not be shown, changed or deleted.
    "batch",
];

/// True for the paths the service keeps for itself, in any case.
pub fn is_reserved(code: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(code))
}

/// A custom code that is well formed and not reserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias(Code);

/// Why an alias was refused; the message is shown to the client.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AliasError {
    #[error("alias must be 3 to 64 characters long")]
    Length,
    #[error("alias may only contain A-Z, a-z, 0-9, '_' and '-'")]
    Charset,
    #[error("alias '{0}' is reserved")]
    Reserved(String),
}

impl Alias {
    /// Checks a requested alias against the alphabet, length and reserved words.
    pub fn parse(raw: &str) -> Result<Alias, AliasError> {
        if !(3..=64).contains(&raw.chars().count()) {
            return Err(AliasError::Length);
        }
        if !raw.bytes().all(is_code_byte) {
            return Err(AliasError::Charset);
        }
        // Reserved words are matched without regard to case: proxies and
        // people both fold case, and `/API` must not shadow the API.
        if is_reserved(raw) {
            return Err(AliasError::Reserved(raw.to_owned()));
        }
        let code = Code::parse(raw).ok_or(AliasError::Charset)?;
        Ok(Alias(code))
    }

    /// The alias as a code.
    pub fn into_code(self) -> Code {
        self.0
    }

    /// The alias as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_aliases() {
        for ok in ["abc", "My_Link-2026", &"a".repeat(64)] {
            assert_eq!(Alias::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn enforces_length() {
        assert_eq!(Alias::parse("ab"), Err(AliasError::Length));
        assert_eq!(Alias::parse(&"a".repeat(65)), Err(AliasError::Length));
    }

    #[test]
    fn enforces_charset() {
        for bad in ["has space", "dot.ted", "slash/x", "ümlaut", "tab\tx"] {
            assert_eq!(Alias::parse(bad), Err(AliasError::Charset), "{bad:?}");
        }
    }

    #[test]
    fn refuses_every_reserved_word_in_any_case() {
        for word in RESERVED.iter().filter(|w| w.len() >= 3) {
            let err = Alias::parse(word).unwrap_err();
            // favicon.ico and robots.txt already fail the charset rule.
            assert!(
                matches!(err, AliasError::Reserved(_) | AliasError::Charset),
                "{word}"
            );
            if !word.contains('.') {
                assert_eq!(err, AliasError::Reserved(word.to_string()));
                let upper = word.to_ascii_uppercase();
                assert!(matches!(Alias::parse(&upper), Err(AliasError::Reserved(_))));
            }
        }
        // `ui` is reserved too, but already too short to be an alias.
        assert_eq!(Alias::parse("ui"), Err(AliasError::Length));
    }
}
