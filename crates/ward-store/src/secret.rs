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

/// Crockford's base32: no I, L, O or U, so a reference read aloud or copied by hand is
/// not mistaken.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new report reference: `R-` and three groups of four base32 characters (60 random
/// bits), `R-7K3M-Q9XP-2D4F`.
pub(crate) fn reference() -> Result<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Database(format!("the system's random source failed: {e}")))?;
    let mut text = String::from("R");
    for (i, byte) in bytes.iter().enumerate() {
        if i % 4 == 0 {
            text.push('-');
        }
        text.push(char::from(CROCKFORD[usize::from(byte % 32)]));
    }
    Ok(text)
}

/// A reference as a reporter may type it: upper case, with or without the dashes, with
/// Crockford's stand-ins (O for 0, I and L for 1). `None` when it cannot be one.
pub fn normalise_reference(text: &str) -> Option<String> {
    let text = text.trim();
    let text = match text.get(..2) {
        Some("R-" | "r-" | "R " | "r ") => &text[2..],
        _ => text,
    };
    let mut chars: Vec<char> = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    if chars.first() == Some(&'R') && chars.len() == 13 {
        chars.remove(0);
    }
    if chars.len() != 12 || !chars.iter().all(|c| CROCKFORD.contains(&(*c as u8))) {
        return None;
    }
    let mut text = String::from("R");
    for (i, c) in chars.into_iter().enumerate() {
        if i % 4 == 0 {
            text.push('-');
        }
        text.push(c);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_read_back_however_they_are_typed() {
        let a = reference().unwrap();
        assert_ne!(a, reference().unwrap());
        assert_eq!(a.len(), 16);
        assert_eq!(normalise_reference(&a).as_deref(), Some(a.as_str()));
        let cases: &[(&str, Option<&str>)] = &[
            ("R-7K3M-Q9XP-2D4F", Some("R-7K3M-Q9XP-2D4F")),
            ("r-7k3m-q9xp-2d4f", Some("R-7K3M-Q9XP-2D4F")),
            (" R 7K3M Q9XP 2D4F ", Some("R-7K3M-Q9XP-2D4F")),
            ("7K3MQ9XP2D4F", Some("R-7K3M-Q9XP-2D4F")),
            ("R7K3MQ9XP2D4F", Some("R-7K3M-Q9XP-2D4F")),
            ("RK3M-Q9XP-2D4F", Some("R-RK3M-Q9XP-2D4F")),
            ("R-7K3M-Q9XP-2D4O", Some("R-7K3M-Q9XP-2D40")),
            ("R-IK3M-Q9XP-2D4L", Some("R-1K3M-Q9XP-2D41")),
            ("R-7K3M-Q9XP-2D4", None),
            ("R-7K3M-Q9XP-2D4U", None),
            ("", None),
            ("R-7K3M-Q9XP-2D4F-0000", None),
        ];
        for (typed, expected) in cases {
            assert_eq!(
                normalise_reference(typed).as_deref(),
                *expected,
                "{typed:?}"
            );
        }
    }

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
