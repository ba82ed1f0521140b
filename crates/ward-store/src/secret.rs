//! API key secrets: how they are made, and the digest and prefix that are all the store
//! keeps of them.

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

/// What every secret starts with, so that a leaked key is recognisable (secret scanners).
pub(crate) const PREFIX: &str = "ward_";
/// Random characters after [`PREFIX`]: 40 base62 characters are about 238 bits.
const RANDOM_CHARS: usize = 40;
/// Characters of the secret kept in clear to recognise a key in lists: `ward_` and 8 more.
const VISIBLE_CHARS: usize = PREFIX.len() + 8;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new secret: `ward_` and 40 base62 characters from the operating system's random
/// source.
pub(crate) fn generate() -> Result<String> {
    let mut secret = String::with_capacity(PREFIX.len() + RANDOM_CHARS);
    secret.push_str(PREFIX);
    let mut chars = 0;
    while chars < RANDOM_CHARS {
        let mut bytes = [0u8; 64];
        // Not a database failure, but the store has no better word for it, and it does not
        // happen on a working system.
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::Database(format!("the system's random source failed: {e}")))?;
        // 248 = 4 * 62: bytes at or above it are dropped, so each character is uniform.
        for byte in bytes.into_iter().filter(|&b| b < 248) {
            if chars == RANDOM_CHARS {
                break;
            }
            secret.push(char::from(BASE62[usize::from(byte % 62)]));
            chars += 1;
        }
    }
    Ok(secret)
}

/// The SHA-256 digest of the whole secret, in lower-case hex: what the store looks keys up
/// by.
/// 32 bytes from the operating system's random source (an instance's signing key seed).
pub(crate) fn random_key() -> Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|e| StoreError::Database(format!("the system's random source failed: {e}")))?;
    Ok(key)
}

pub(crate) fn digest(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// The visible prefix of a secret (`ward_k3J9x2Qa`).
pub(crate) fn visible_prefix(secret: &str) -> String {
    secret.chars().take(VISIBLE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_ward_and_40_base62_characters() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        for secret in [&a, &b] {
            assert_eq!(secret.len(), 45);
            let random = secret.strip_prefix("ward_").unwrap();
            assert!(random.bytes().all(|c| BASE62.contains(&c)), "{secret}");
            assert_eq!(visible_prefix(secret), secret[..13]);
        }
    }

    #[test]
    fn digests_are_sha256_hex() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
