//! `Password`: a link's password, and its argon2id hash, the only form in
//! which it is kept.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest and longest password, in characters.
pub const LENGTHS: std::ops::RangeInclusive<usize> = 4..=128;

/// A password that passed the length check. Its `Debug` hides it, so it
/// never reaches a log line.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Checks the length.
    pub fn parse(raw: &str) -> Result<Password, String> {
        if LENGTHS.contains(&raw.chars().count()) {
            Ok(Password(raw.to_owned()))
        } else {
            Err(format!(
                "password must be {} to {} characters long",
                LENGTHS.start(),
                LENGTHS.end()
            ))
        }
    }

    /// Its argon2id hash in PHC form, with a fresh salt. Slow on purpose
    /// (tens of milliseconds): callers run it off the serving threads.
    pub fn hash(&self) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| format!("hashing the password failed: {e}"))
    }
}

/// Whether `attempt` is the password whose hash is `hash`. Slow on purpose,
/// and constant-time in the comparison (the argon2 crate's).
pub fn verify(attempt: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(attempt.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Whether `hash` is an argon2id hash in PHC form (an import must not bring
/// anything else in as a password).
pub fn is_argon2id_hash(hash: &str) -> bool {
    hash.len() <= 256 && PasswordHash::new(hash).is_ok_and(|h| h.algorithm.as_str() == "argon2id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_password_verifies_and_others_do_not() {
        let hash = Password::parse("open sesame").unwrap().hash().unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(is_argon2id_hash(&hash));
        assert!(verify("open sesame", &hash));
        for wrong in ["open sesam", "", "OPEN SESAME", "open sesame "] {
            assert!(!verify(wrong, &hash), "{wrong}");
        }
        assert!(!verify("x", "not a hash"));
        assert!(!is_argon2id_hash("$2b$10$abcdefghijklmnopqrstuv"));
        let again = Password::parse("open sesame").unwrap().hash().unwrap();
        assert_ne!(hash, again, "salted");
    }

    #[test]
    fn lengths_are_checked() {
        assert!(Password::parse("abc").is_err());
        assert!(Password::parse("abcd").is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
    }
}
