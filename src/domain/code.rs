//! The `Code` newtype: the path segment that identifies a link.

use std::fmt;

/// Longest code accepted anywhere (aliases are capped at 64 characters).
pub const MAX_CODE_LEN: usize = 64;

/// A syntactically valid link code: 1 to 64 characters of `[A-Za-z0-9_-]`.
///
/// Generated codes and aliases are both codes; this type exists so that a
/// raw path segment (which may be 10 KB of garbage) is checked once, at the
/// edge, before it reaches the cache or the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

impl Code {
    /// Checks a path segment; `None` means it cannot name any link.
    pub fn parse(raw: &str) -> Option<Code> {
        if is_code(raw) {
            Some(Code(raw.to_owned()))
        } else {
            None
        }
    }

    /// Wraps a string produced by the code generator, which only emits base62.
    pub(crate) fn from_generated(s: String) -> Code {
        debug_assert!(is_code(&s));
        Code(s)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the code, returning its text.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// True when `s` only uses the code alphabet and has an acceptable length.
pub fn is_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_CODE_LEN && s.bytes().all(is_code_byte)
}

/// The characters allowed in codes and aliases.
pub fn is_code_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_code_alphabet() {
        for ok in ["a", "aZ3kQ9x", "my-link_2", &"x".repeat(64)] {
            assert_eq!(
                Code::parse(ok).map(|c| c.into_string()),
                Some(ok.to_string())
            );
        }
    }

    #[test]
    fn rejects_everything_else() {
        let long = "x".repeat(65);
        let huge = "y".repeat(10 * 1024);
        for bad in ["", "a b", "a/b", "a.b", "ü", "%41", &long, &huge] {
            assert!(Code::parse(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn codes_are_case_sensitive() {
        assert_ne!(Code::parse("abc"), Code::parse("ABC"));
    }
}
