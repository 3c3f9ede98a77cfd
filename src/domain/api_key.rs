//! API key secrets: made here, shown once, kept only as their SHA-256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What every key starts with, so a leaked key is easy to recognise (and
/// to tell apart from the admin token) in logs and secret scanners.
pub const KEY_PREFIX: &str = "sk_";

/// A newly issued key: the secret to hand over once, and what is stored.
pub struct IssuedSecret {
    /// `sk_` and 256 random bits in unpadded base64url (46 characters).
    pub secret: String,
    /// SHA-256 of `secret`, the only form the store keeps.
    pub hash: Vec<u8>,
    /// The key's public id: 64 random bits in hex, for lists and revocation.
    pub id: String,
}

impl IssuedSecret {
    /// A fresh key from the operating system's random generator.
    pub fn generate() -> IssuedSecret {
        let mut bits = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bits);
        let secret = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bits));
        let mut id = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut id);
        IssuedSecret {
            hash: key_hash(&secret),
            id: to_hex(&id),
            secret,
        }
    }
}

/// `bytes` in lowercase hex, for key ids and messages naming a key hash.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}

/// The stored form of a presented key. Keys hold 256 random bits, so a
/// fast hash is enough: nothing can be guessed from it offline.
pub fn key_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Whether `token` has the shape of a key (prefix, length, alphabet), so
/// tokens that cannot be keys never reach the store.
pub fn looks_like_key(token: &str) -> bool {
    token.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_recognisable_and_hashed() {
        let a = IssuedSecret::generate();
        let b = IssuedSecret::generate();
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.id, b.id);
        assert_eq!(a.secret.len(), 46);
        assert_eq!(a.id.len(), 16);
        assert!(looks_like_key(&a.secret));
        assert_eq!(a.hash, key_hash(&a.secret));
        assert_eq!(a.hash.len(), 32);
        assert_eq!(to_hex(&[0x00, 0xab, 0x0f, 0xf0]), "00ab0ff0");
        for bad in [
            "",
            "sk_",
            "sk_short",
            &a.secret[1..],
            &format!("{}!", &a.secret[..45]),
        ] {
            assert!(!looks_like_key(bad), "{bad:?}");
        }
    }
}
