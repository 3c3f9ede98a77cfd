//! Turning counter values into short codes.
//!
//! Codes come from a 64-bit counter handed out in blocks. Each counter value
//! goes through a keyed permutation of the code space (a Feistel network with
//! cycle walking), then is written in base62 with a fixed width. Because the
//! permutation is a bijection, distinct counter values always give distinct
//! codes: uniqueness holds by construction, with no random retries, while
//! neighbouring counter values give unrelated-looking codes.

use super::code::Code;

/// The base62 alphabet, in the order `0-9A-Za-z`.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Shortest and longest generated code lengths the configuration accepts.
/// 62^10 still fits in a u64; 62^11 does not.
pub const LENGTHS: std::ops::RangeInclusive<usize> = 4..=10;

const ROUNDS: usize = 6;

/// Maps counter values to codes; the same key always gives the same codes,
/// so the key is generated once per store and kept there.
#[derive(Clone, Debug)]
pub struct CodeGenerator {
    round_keys: [u64; ROUNDS],
    length: usize,
}

impl CodeGenerator {
    /// A generator for codes of `length` characters, keyed by `key`.
    pub fn new(key: u64, length: usize) -> CodeGenerator {
        let mut state = key;
        let round_keys = std::array::from_fn(|_| splitmix64(&mut state));
        CodeGenerator {
            round_keys,
            length: length.clamp(*LENGTHS.start(), *LENGTHS.end()),
        }
    }

    /// The code for counter value `n`. Once the configured length's space is
    /// used up, codes grow by one character (62^7 values, then 62^8 more).
    pub fn code_for(&self, mut n: u64) -> Code {
        let mut length = self.length;
        loop {
            let domain = domain_size(length);
            if n < domain || length == *LENGTHS.end() {
                let permuted = self.permute(n % domain, domain);
                return Code::from_generated(encode_base62(permuted, length));
            }
            n -= domain;
            length += 1;
        }
    }

    /// A bijection on `0..domain`: a Feistel permutation of the smallest
    /// even-width bit space that holds the domain, re-applied (cycle walking)
    /// until the value falls back inside the domain.
    pub fn permute(&self, x: u64, domain: u64) -> u64 {
        let half = half_bits(domain);
        let mut v = x;
        loop {
            v = self.feistel(v, half);
            if v < domain {
                return v;
            }
        }
    }

    /// The inverse of [`CodeGenerator::permute`]; used to prove the bijection.
    pub fn unpermute(&self, y: u64, domain: u64) -> u64 {
        let half = half_bits(domain);
        let mut v = y;
        loop {
            v = self.feistel_inverse(v, half);
            if v < domain {
                return v;
            }
        }
    }

    fn feistel(&self, v: u64, half: u32) -> u64 {
        let mask = (1u64 << half) - 1;
        let (mut l, mut r) = (v >> half, v & mask);
        for k in self.round_keys {
            let next = l ^ (round(r, k) & mask);
            l = r;
            r = next;
        }
        (l << half) | r
    }

    fn feistel_inverse(&self, v: u64, half: u32) -> u64 {
        let mask = (1u64 << half) - 1;
        let (mut l, mut r) = (v >> half, v & mask);
        for k in self.round_keys.iter().rev() {
            let prev = r ^ (round(l, *k) & mask);
            r = l;
            l = prev;
        }
        (l << half) | r
    }
}

/// 62^length: how many codes of that length exist.
pub fn domain_size(length: usize) -> u64 {
    62u64.pow(length as u32)
}

fn half_bits(domain: u64) -> u32 {
    let bits = 64 - (domain - 1).leading_zeros();
    bits.div_ceil(2)
}

fn round(x: u64, key: u64) -> u64 {
    let mut s = x ^ key;
    splitmix64(&mut s)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fixed-width base62, most significant digit first.
pub fn encode_base62(mut v: u64, width: usize) -> String {
    let mut buf = vec![b'0'; width];
    for slot in buf.iter_mut().rev() {
        *slot = ALPHABET[(v % 62) as usize];
        v /= 62;
    }
    buf.into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn exhaustive_bijection_on_a_small_domain() {
        let generator = CodeGenerator::new(42, 4);
        for domain in [domain_size(1), domain_size(2), 1000, 4097] {
            let images: HashSet<u64> = (0..domain).map(|x| generator.permute(x, domain)).collect();
            assert_eq!(images.len() as u64, domain, "collision in domain {domain}");
            assert!(images.iter().all(|&y| y < domain));
        }
    }

    #[test]
    fn seven_character_codes_by_default() {
        let generator = CodeGenerator::new(7, 7);
        let code = generator.code_for(0);
        assert_eq!(code.as_str().len(), 7);
        assert!(code.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn grows_to_eight_characters_after_the_seven_character_space() {
        let generator = CodeGenerator::new(7, 7);
        let last7 = generator.code_for(domain_size(7) - 1);
        let first8 = generator.code_for(domain_size(7));
        assert_eq!(last7.as_str().len(), 7);
        assert_eq!(first8.as_str().len(), 8);
    }

    #[test]
    fn neighbours_do_not_look_alike() {
        let generator = CodeGenerator::new(99, 7);
        let a = generator.code_for(1000);
        let b = generator.code_for(1001);
        let shared_prefix = a
            .as_str()
            .bytes()
            .zip(b.as_str().bytes())
            .take_while(|(x, y)| x == y)
            .count();
        assert!(shared_prefix < 4, "{a} and {b} look sequential");
    }

    #[test]
    fn different_keys_give_different_sequences() {
        let a = CodeGenerator::new(1, 7).code_for(5);
        let b = CodeGenerator::new(2, 7).code_for(5);
        assert_ne!(a, b);
    }

    #[test]
    fn base62_is_fixed_width_and_ordered() {
        assert_eq!(encode_base62(0, 7), "0000000");
        assert_eq!(encode_base62(61, 2), "0z");
        assert_eq!(encode_base62(62, 2), "10");
    }

    proptest! {
        #[test]
        fn permute_is_one_to_one_on_the_seven_char_space(key: u64, x in 0..domain_size(7)) {
            let generator = CodeGenerator::new(key, 7);
            let domain = domain_size(7);
            let y = generator.permute(x, domain);
            prop_assert!(y < domain);
            prop_assert_eq!(generator.unpermute(y, domain), x);
        }

        #[test]
        fn distinct_counters_give_distinct_codes(
            key: u64,
            a in 0..domain_size(7) + domain_size(8),
            b in 0..domain_size(7) + domain_size(8),
        ) {
            prop_assume!(a != b);
            let generator = CodeGenerator::new(key, 7);
            prop_assert_ne!(generator.code_for(a), generator.code_for(b));
        }
    }
}
