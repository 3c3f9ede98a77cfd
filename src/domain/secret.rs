//! `SecretDigest`: a secret kept only as its SHA-256 digest and compared
//! in constant time, so neither the comparison's timing nor its length
//! check tells a guesser anything.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The digest of a configured secret (the admin token).
#[derive(Clone)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// Digests `secret` once, at startup.
    pub fn of(secret: &str) -> SecretDigest {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }

    /// A digest of this secret for one purpose (`purpose` keeps it apart
    /// from the digest compared above): web sessions of the admin store it,
    /// so changing the admin token ends them.
    pub fn tag(&self, purpose: &str) -> Vec<u8> {
        let mut hasher = Sha256::new();
        hasher.update(purpose.as_bytes());
        hasher.update([0]);
        hasher.update(self.0);
        hasher.finalize().to_vec()
    }

    /// Whether `tag` is [`SecretDigest::tag`] of this secret for `purpose`,
    /// in constant time.
    pub fn has_tag(&self, purpose: &str, tag: &[u8]) -> bool {
        self.tag(purpose).ct_eq(tag).into()
    }

    /// Whether `presented` is the secret. Both sides are 32-byte digests
    /// compared with `subtle`, so the time taken does not depend on where
    /// (or whether) the presented value differs, nor on the secret's length.
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_secret() {
        let digest = SecretDigest::of("correct horse battery staple");
        assert!(digest.matches("correct horse battery staple"));
        for wrong in [
            "",
            "c",
            "correct horse battery stapl",
            "correct horse battery staple!",
        ] {
            assert!(!digest.matches(wrong), "{wrong:?}");
        }
        assert_eq!(format!("{digest:?}"), "SecretDigest(..)");
        let tag = digest.tag("web");
        assert!(digest.has_tag("web", &tag));
        assert!(!digest.has_tag("other", &tag));
        assert!(!SecretDigest::of("another token entirely").has_tag("web", &tag));
        assert!(!digest.has_tag("web", &tag[..31]));
    }
}
