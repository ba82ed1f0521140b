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

/// `count` random characters of Crockford's base32, in groups of four joined by dashes.
fn random_groups(count: usize) -> Result<String> {
    let mut bytes = vec![0u8; count];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Database(format!("the system's random source failed: {e}")))?;
    let mut text = String::with_capacity(count + count / 4);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            text.push('-');
        }
        // 256 is a multiple of 32: every character is as likely.
        text.push(char::from(CROCKFORD[usize::from(byte % 32)]));
    }
    Ok(text)
}

/// A new report reference: `R-` and three groups of four base32 characters (60 random
/// bits), `R-7K3M-Q9XP-2D4F`.
pub(crate) fn reference() -> Result<String> {
    Ok(format!("R-{}", random_groups(12)?))
}

/// A new self-report case number: as a reference, with `S` for `R` (`S-7K3M-Q9XP-2D4F`).
pub(crate) fn case_number() -> Result<String> {
    Ok(format!("S-{}", random_groups(12)?))
}

/// A new self-report code: two groups of four base32 characters (40 random bits, with the
/// case number and the portal's rate limit more than enough), `4T7Q-M2XH`.
pub(crate) fn case_code() -> Result<String> {
    random_groups(8)
}

/// A reference as a reporter may type it: upper case, with or without the dashes, with
/// Crockford's stand-ins (O for 0, I and L for 1). `None` when it cannot be one.
pub fn normalise_reference(text: &str) -> Option<String> {
    normalise_prefixed('R', text)
}

/// A self-report case number as it may be typed (see [`normalise_reference`]).
pub fn normalise_case_number(text: &str) -> Option<String> {
    normalise_prefixed('S', text)
}

/// A self-report code as it may be typed: `4T7Q-M2XH`, `4t7qm2xh`.
pub fn normalise_case_code(text: &str) -> Option<String> {
    let chars = base32_chars(text.trim())?;
    (chars.len() == 8).then(|| grouped(&chars))
}

/// `prefix`, a dash and twelve base32 characters in groups of four, from `text` with or
/// without the prefix and the dashes.
fn normalise_prefixed(prefix: char, text: &str) -> Option<String> {
    let text = text.trim();
    let mut start = text.chars();
    let text = match (start.next(), start.next()) {
        (Some(first), Some('-' | ' ')) if first.eq_ignore_ascii_case(&prefix) => &text[2..],
        _ => text,
    };
    let mut chars = base32_chars(text)?;
    if chars.first() == Some(&prefix) && chars.len() == 13 {
        chars.remove(0);
    }
    (chars.len() == 12).then(|| format!("{prefix}-{}", grouped(&chars)))
}

/// The characters of `text` as base32 digits (upper case, Crockford's stand-ins read as the
/// digits they stand for), without dashes and spaces; `None` when another is in it.
fn base32_chars(text: &str) -> Option<Vec<char>> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    chars
        .iter()
        .all(|c| c.is_ascii() && CROCKFORD.contains(&(*c as u8)))
        .then_some(chars)
}

/// Characters in groups of four joined by dashes.
fn grouped(chars: &[char]) -> String {
    let mut text = String::with_capacity(chars.len() + chars.len() / 4);
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            text.push('-');
        }
        text.push(*c);
    }
    text
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
    fn case_numbers_and_codes_read_back_however_they_are_typed() {
        let number = case_number().unwrap();
        assert!(number.starts_with("S-") && number.len() == 16, "{number}");
        assert_eq!(
            normalise_case_number(&number).as_deref(),
            Some(number.as_str())
        );
        let code = case_code().unwrap();
        assert_eq!(code.len(), 9, "{code}");
        assert_eq!(normalise_case_code(&code).as_deref(), Some(code.as_str()));
        let numbers: &[(&str, Option<&str>)] = &[
            ("S-7K3M-Q9XP-2D4F", Some("S-7K3M-Q9XP-2D4F")),
            ("s 7k3m q9xp 2d4f", Some("S-7K3M-Q9XP-2D4F")),
            ("S7K3MQ9XP2D4F", Some("S-7K3M-Q9XP-2D4F")),
            ("7K3MQ9XP2D4F", Some("S-7K3M-Q9XP-2D4F")),
            ("R-7K3M-Q9XP-2D4F", None),
            ("S-7K3M-Q9XP-2D4", None),
            ("S-7K3M-Q9XP-2D4Ü", None),
        ];
        for (typed, expected) in numbers {
            assert_eq!(
                normalise_case_number(typed).as_deref(),
                *expected,
                "{typed:?}"
            );
        }
        let codes: &[(&str, Option<&str>)] = &[
            ("4T7Q-M2XH", Some("4T7Q-M2XH")),
            (" 4t7q m2xh ", Some("4T7Q-M2XH")),
            ("4T7QM2XO", Some("4T7Q-M2X0")),
            ("4T7Q-M2X", None),
            ("4T7Q-M2XH-0", None),
            ("4T7Q-M2XU", None),
        ];
        for (typed, expected) in codes {
            assert_eq!(
                normalise_case_code(typed).as_deref(),
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
