//! Web session secrets and CSRF tokens: random, handed to the browser,
//! and (for the session secret) kept only as their SHA-256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use subtle::ConstantTimeEq;

use super::api_key::key_hash;

/// Length of a session secret or CSRF token: 256 random bits in unpadded
/// base64url.
const TOKEN_LEN: usize = 43;

/// A new session's cookie secret and the digest the store keeps.
pub struct SessionSecret {
    /// What the cookie holds.
    pub secret: String,
    /// SHA-256 of `secret`.
    pub hash: Vec<u8>,
}

impl SessionSecret {
    /// A fresh secret from the operating system's random generator.
    pub fn generate() -> SessionSecret {
        let secret = random_token();
        SessionSecret {
            hash: key_hash(&secret),
            secret,
        }
    }
}

/// 256 random bits as unpadded base64url: session secrets and CSRF tokens.
pub fn random_token() -> String {
    let mut bits = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bits);
    URL_SAFE_NO_PAD.encode(bits)
}

/// Whether `value` has the shape of [`random_token`]'s output, so a forged
/// cookie of another shape never reaches the store.
pub fn looks_like_token(value: &str) -> bool {
    value.len() == TOKEN_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a presented CSRF token is the expected one, in constant time.
pub fn tokens_match(presented: &str, expected: &str) -> bool {
    looks_like_token(presented) && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_well_formed() {
        let a = SessionSecret::generate();
        let b = SessionSecret::generate();
        assert_ne!(a.secret, b.secret);
        assert!(looks_like_token(&a.secret));
        assert_eq!(a.hash, key_hash(&a.secret));
        assert_eq!(a.hash.len(), 32);
    }

    #[test]
    fn only_the_same_token_matches() {
        let token = random_token();
        assert!(tokens_match(&token, &token));
        assert!(!tokens_match(&random_token(), &token));
        for bad in [
            "",
            "short",
            &token[1..],
            &format!("{token}x"),
            &"!".repeat(43),
        ] {
            assert!(!tokens_match(bad, &token), "{bad:?}");
        }
        assert!(!looks_like_token(&"!".repeat(TOKEN_LEN)));
    }
}
