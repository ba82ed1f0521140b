//! The exact hashes every list carries: MD5, SHA-1 and SHA-256 of a file's bytes, in one pass.

use std::fmt;
use std::str::FromStr;

use md5::Md5 as Md5Hasher;
use sha1::Sha1 as Sha1Hasher;
use sha2::{Digest as _, Sha256 as Sha256Hasher};

use crate::error::{Error, Result};

/// Writes up to 32 bytes as lower-case hex in one piece (lists of millions of hashes are
/// written and re-read through this).
pub(crate) fn write_hex(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 64];
    let len = bytes.len().min(32);
    for (pair, byte) in text.chunks_exact_mut(2).zip(&bytes[..len]) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 15)];
    }
    // Only ASCII digits were written.
    f.write_str(std::str::from_utf8(&text[..len * 2]).map_err(|_| fmt::Error)?)
}

macro_rules! digest_type {
    ($(#[$doc:meta])* $name:ident, $len:expr, $signal:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len]);

        impl $name {
            /// The signal type name lists use.
            pub const SIGNAL_TYPE: &'static str = $signal;

            pub const fn from_bytes(bytes: [u8; $len]) -> $name {
                $name(bytes)
            }

            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            /// Lowercase hex.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = Error;

            /// Hex in either case (VICS writes MD5 in upper case).
            fn from_str(text: &str) -> Result<$name> {
                parse_hex::<$len>(text.as_bytes()).map($name).ok_or_else(|| Error::InvalidSignal {
                    signal_type: $signal,
                    reason: format!("expected {} hex digits", $len * 2),
                })
            }
        }
    };
}

digest_type!(
    /// An MD5 digest.
    Md5, 16, "md5"
);
digest_type!(
    /// A SHA-1 digest.
    Sha1, 20, "sha1"
);
digest_type!(
    /// A SHA-256 digest.
    Sha256, 32, "sha256"
);

/// Nibble values of hex digits (both cases), 0x10 for any other byte; lower case only in
/// the second table. Lists of millions of hashes are decoded through these.
const NIBBLES: [[u8; 256]; 2] = {
    let mut tables = [[0x10u8; 256]; 2];
    let mut i = 0;
    while i < 10 {
        tables[0][b'0' as usize + i] = i as u8;
        tables[1][b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        tables[0][b'a' as usize + i] = 10 + i as u8;
        tables[0][b'A' as usize + i] = 10 + i as u8;
        tables[1][b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    tables
};

/// Decodes exactly `2 * out.len()` hex digits into `out`; `lower_only` refuses upper case
/// (the canonical form). `None` for anything else.
pub fn decode_hex_into(digits: &[u8], out: &mut [u8], lower_only: bool) -> Option<()> {
    if digits.len() != 2 * out.len() {
        return None;
    }
    let table = &NIBBLES[usize::from(lower_only)];
    let mut invalid = 0u8;
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (table[usize::from(pair[0])], table[usize::from(pair[1])]);
        invalid |= high | low;
        *byte = high << 4 | (low & 15);
    }
    (invalid & 0x10 == 0).then_some(())
}

/// Decodes exactly `2 * N` hex digits in either case.
pub fn parse_hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    decode_hex_into(digits, &mut out, false)?;
    Some(out)
}

/// Lower-case hex of any bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    text
}

/// The three digests of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileDigests {
    pub md5: Md5,
    pub sha1: Sha1,
    pub sha256: Sha256,
}

impl FileDigests {
    /// Digests bytes already in memory.
    pub fn of(bytes: &[u8]) -> FileDigests {
        let mut digester = Digester::default();
        digester.update(bytes);
        digester.finish()
    }
}

/// Computes all three digests while a file streams past, so it is read once.
#[derive(Clone, Default)]
pub struct Digester {
    md5: Md5Hasher,
    sha1: Sha1Hasher,
    sha256: Sha256Hasher,
}

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digester")
    }
}

impl Digester {
    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha1.update(bytes);
        self.sha256.update(bytes);
    }

    pub fn finish(self) -> FileDigests {
        FileDigests {
            md5: Md5(self.md5.finalize().into()),
            sha1: Sha1(self.sha1.finalize().into()),
            sha256: Sha256(self.sha256.finalize().into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[u8], md5: &str, sha1: &str, sha256: &str) {
        let digests = FileDigests::of(input);
        assert_eq!(digests.md5.to_string(), md5);
        assert_eq!(digests.sha1.to_string(), sha1);
        assert_eq!(digests.sha256.to_string(), sha256);
        // Streaming in pieces gives the same.
        let mut digester = Digester::default();
        for chunk in input.chunks(7) {
            digester.update(chunk);
        }
        assert_eq!(digester.finish(), digests);
        assert_eq!(md5.parse::<Md5>().unwrap(), digests.md5);
        assert_eq!(md5.to_uppercase().parse::<Md5>().unwrap(), digests.md5);
        assert_eq!(sha256.parse::<Sha256>().unwrap(), digests.sha256);
    }

    #[test]
    fn known_digests() {
        check(
            b"",
            "d41d8cd98f00b204e9800998ecf8427e",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
        check(
            b"The quick brown fox jumps over the lazy dog",
            "9e107d9d372bb6826bd81d3542a419d6",
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
            "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
        );
    }

    #[test]
    fn rejects_bad_hex() {
        for bad in ["", "xyz", &"0".repeat(31), &"g".repeat(32), &"0".repeat(33)] {
            assert!(bad.parse::<Md5>().is_err(), "{bad:?}");
        }
    }
}
