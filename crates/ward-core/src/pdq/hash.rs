//! The PDQ hash and quality values, and their text forms exactly as Meta's reference writes them.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A 256-bit PDQ hash.
///
/// Bit `k = 16 * i + j` is set when DCT coefficient `(i, j)` (vertical frequency `i`,
/// horizontal `j`, both 0-based and skipping DC) is above the median. The bits are held as
/// four little-endian 64-bit words: bit `k` lives in word `k / 64` at position `k % 64`, which
/// makes the Hamming distance four popcounts and the hex text a big-endian 256-bit integer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash([u64; 4]);

impl PdqHash {
    /// The number of bits in a hash.
    pub const BITS: u32 = 256;

    /// Builds a hash from its four words, least significant first.
    pub const fn from_words(words: [u64; 4]) -> PdqHash {
        PdqHash(words)
    }

    /// The four words, least significant first.
    pub const fn words(&self) -> [u64; 4] {
        self.0
    }

    /// The hash as 32 bytes, big-endian: the same order as its hex text.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.0.iter().rev()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Builds a hash from 32 big-endian bytes (the order of its hex text).
    pub fn from_bytes(bytes: [u8; 32]) -> PdqHash {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().rev().zip(bytes.chunks_exact(8)) {
            *word = u64::from_be_bytes(chunk.try_into().expect("chunks of 8"));
        }
        PdqHash(words)
    }

    /// Whether bit `k` (0..256) is set.
    pub fn bit(&self, k: usize) -> bool {
        (self.0[k >> 6] >> (k & 63)) & 1 == 1
    }

    pub(crate) fn set_bit(&mut self, k: usize) {
        self.0[k >> 6] |= 1 << (k & 63);
    }

    /// The number of set bits; a hash computed without ties has exactly 128.
    pub fn count_ones(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// Hamming distance: the number of bits in which the two hashes differ.
    #[inline(always)]
    pub fn distance(&self, other: &PdqHash) -> u32 {
        (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones()
    }
}

impl fmt::Display for PdqHash {
    /// 64 lowercase hex digits, Meta's word 15 first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = [0u8; 32];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(self.0.iter().rev()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        crate::digest::write_hex(&bytes, f)
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({self})")
    }
}

impl FromStr for PdqHash {
    type Err = Error;

    /// Parses 64 hex digits (either case), as every implementation writes them.
    fn from_str(text: &str) -> Result<PdqHash> {
        let invalid = || Error::InvalidSignal {
            signal_type: "pdq",
            reason: format!(
                "expected 64 hex digits, got {:?}",
                truncate_for_message(text)
            ),
        };
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(invalid());
        }
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().rev().zip(bytes.chunks_exact(16)) {
            let digits = std::str::from_utf8(chunk).map_err(|_| invalid())?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid());
            }
            *word = u64::from_str_radix(digits, 16).map_err(|_| invalid())?;
        }
        Ok(PdqHash(words))
    }
}

/// PDQ's quality score, 0 to 100: how much gradient the 64x64 downsample has.
///
/// Meta treats hashes of quality below 50 as unreliable and does not match them by default.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Quality(u8);

impl Quality {
    /// The quality below which Meta's reference does not match a hash.
    pub const MATCHABLE: Quality = Quality(50);

    /// Returns `None` above 100.
    pub const fn new(value: u8) -> Option<Quality> {
        if value <= 100 {
            Some(Quality(value))
        } else {
            None
        }
    }

    pub(crate) const fn saturating(value: u32) -> Quality {
        Quality(if value > 100 { 100 } else { value as u8 })
    }

    /// The score, 0 to 100.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Quality {
    type Err = Error;

    fn from_str(text: &str) -> Result<Quality> {
        text.parse::<u8>()
            .ok()
            .and_then(Quality::new)
            .ok_or_else(|| Error::InvalidSignal {
                signal_type: "pdq quality",
                reason: format!("expected 0..=100, got {:?}", truncate_for_message(text)),
            })
    }
}

/// Keeps error messages short when a caller hands us a whole line of garbage.
fn truncate_for_message(text: &str) -> &str {
    match text.char_indices().nth(80) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_roundtrip(hex: &str, ones: u32) {
        let hash: PdqHash = hex.parse().unwrap();
        assert_eq!(hash.to_string(), hex.to_ascii_lowercase());
        assert_eq!(hash.count_ones(), ones);
        assert_eq!(PdqHash::from_bytes(hash.to_bytes()), hash);
    }

    #[test]
    fn text_roundtrips() {
        check_roundtrip(&"0".repeat(64), 0);
        check_roundtrip(&"f".repeat(64), 256);
        check_roundtrip(&"F".repeat(64), 256);
        check_roundtrip(
            "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22",
            128,
        );
        check_roundtrip(
            "0007001f003f003f007f00ff00ff00ff01ff01ff01ff03ff03ff03ff03ff03ff",
            128,
        );
    }

    #[test]
    fn bit_numbering_follows_meta() {
        // Bit k is Meta's word k/16, bit k%16; word 0 prints last, so bit 0 is the last digit.
        let check = |k: usize, hex: &str| {
            let mut hash = PdqHash::default();
            hash.set_bit(k);
            assert!(hash.bit(k));
            assert_eq!(hash.to_string(), hex, "bit {k}");
        };
        check(0, &format!("{}1", "0".repeat(63)));
        check(4, &format!("{}10", "0".repeat(62)));
        check(16, &format!("{}10000", "0".repeat(59)));
        check(255, &format!("8{}", "0".repeat(63)));
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "abc",
            &"g".repeat(64),
            &"0".repeat(63),
            &"0".repeat(65),
            &"é".repeat(32),
        ] {
            assert!(bad.parse::<PdqHash>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn distance_counts_differing_bits() {
        let a: PdqHash = "f".repeat(64).parse().unwrap();
        let b = PdqHash::default();
        assert_eq!(a.distance(&b), 256);
        assert_eq!(a.distance(&a), 0);
        let c: PdqHash = format!("{}7", "f".repeat(63)).parse().unwrap();
        assert_eq!(a.distance(&c), 1);
    }

    #[test]
    fn quality_is_bounded() {
        assert_eq!("100".parse::<Quality>().unwrap().get(), 100);
        assert_eq!("0".parse::<Quality>().unwrap().get(), 0);
        assert!("101".parse::<Quality>().is_err());
        assert!("-1".parse::<Quality>().is_err());
        assert_eq!(Quality::saturating(12345), Quality::new(100).unwrap());
    }
}
