//! HMA's coin flip: one number in [0, 1) drawn per lookup, against which each bank's enabled
//! ratio is held (a bank takes part when its ratio is at least the draw).
//!
//! With a `seed`, the draw is the one CPython's `random.Random(seed).random()` gives, bit
//! for bit, so that a client that seeds with its own content id gets from Ward the same
//! decision HMA gave it: the seed's UTF-8 bytes followed by their SHA-512, read as one
//! big-endian integer, are the key of a Mersenne Twister (MT19937, `init_by_array`), and the
//! draw is made of the top 27 and 26 bits of its first two outputs. Without a seed the draw
//! comes from the operating system's random source. Bypassing the flip draws 0, so every
//! bank with a ratio of 0 or more takes part.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use sha2::{Digest, Sha512};

use super::error::ApiError;

/// A `/v1` lookup's draw, from its query string: `seed` (any text) and
/// `bypass_enabled_ratio` (`true` or `1` draws 0).
pub struct Coin(pub f64);

impl<S: Send + Sync> FromRequestParts<S> for Coin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Coin, ApiError> {
        let Query(params) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let bypass = match params.get("bypass_enabled_ratio").map(String::as_str) {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "bypass_enabled_ratio is true or false",
                ));
            }
        };
        bounded_draw(params.get("seed").map(String::as_str), bypass)
            .map(Coin)
            .map_err(ApiError::bad_request)
    }
}

/// The longest seed, in bytes.
pub const MAX_SEED: usize = 1_024;

/// [`draw`] for a seed a client sent: one over [`MAX_SEED`] bytes is refused, saying so.
pub fn bounded_draw(seed: Option<&str>, bypass: bool) -> Result<f64, String> {
    if seed.is_some_and(|s| s.len() > MAX_SEED) {
        return Err(format!("a seed has at most {MAX_SEED} bytes"));
    }
    Ok(draw(seed, bypass))
}

/// The number a lookup's banks are held to: bypassed, seeded or random.
pub fn draw(seed: Option<&str>, bypass: bool) -> f64 {
    if bypass {
        return 0.0;
    }
    match seed {
        Some(seed) => Twister::seeded(seed).random(),
        None => {
            let mut bytes = [0u8; 8];
            // Without the system's randomness, every bank takes part rather than none.
            if getrandom::fill(&mut bytes).is_err() {
                return 0.0;
            }
            (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
        }
    }
}

const N: usize = 624;
const M: usize = 397;

/// MT19937, seeded as CPython seeds it from a string.
struct Twister {
    state: Box<[u32; N]>,
    next: usize,
}

impl Twister {
    fn from_u32(seed: u32) -> Twister {
        let mut state = Box::new([0u32; N]);
        state[0] = seed;
        for i in 1..N {
            let previous = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(previous ^ (previous >> 30))
                .wrapping_add(i as u32);
        }
        Twister { state, next: N }
    }

    fn from_key(key: &[u32]) -> Twister {
        let mut twister = Twister::from_u32(19_650_218);
        let mt = &mut twister.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let previous = mt[i - 1];
            mt[i] = (mt[i] ^ (previous ^ (previous >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let previous = mt[i - 1];
            mt[i] = (mt[i] ^ (previous ^ (previous >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        twister
    }

    /// CPython's seeding of a string (version 2).
    fn seeded(seed: &str) -> Twister {
        let mut bytes = seed.as_bytes().to_vec();
        bytes.extend_from_slice(&Sha512::digest(seed.as_bytes()));
        // The bytes are one big-endian integer; its 32-bit words, least significant first.
        let significant = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let digits = &bytes[significant..];
        let mut key: Vec<u32> = digits
            .rchunks(4)
            .map(|chunk| {
                chunk
                    .iter()
                    .fold(0u32, |word, b| (word << 8) | u32::from(*b))
            })
            .collect();
        if key.is_empty() {
            key.push(0);
        }
        Twister::from_key(&key)
    }

    fn next_u32(&mut self) -> u32 {
        if self.next >= N {
            self.twist();
        }
        let mut y = self.state[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn twist(&mut self) {
        let mt = &mut self.state;
        for i in 0..N {
            let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % N] & 0x7fff_ffff);
            let mut value = mt[(i + M) % N] ^ (y >> 1);
            if y & 1 == 1 {
                value ^= 0x9908_b0df;
            }
            mt[i] = value;
        }
        self.next = 0;
    }

    /// A float in [0, 1) with 53 random bits, as CPython's `random()` makes it.
    fn random(&mut self) -> f64 {
        let high = f64::from(self.next_u32() >> 5);
        let low = f64::from(self.next_u32() >> 6);
        (high * 67_108_864.0 + low) / 9_007_199_254_740_992.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The draws CPython makes for each seed, written by `testdata/hma/coinflip.py`.
    #[test]
    fn seeded_draws_are_cpythons() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/hma/coinflip.json"
        ))
        .unwrap();
        let cases: serde_json::Value = serde_json::from_str(&text).unwrap();
        let cases = cases.as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let seed = case["seed"].as_str().unwrap();
            let mut twister = Twister::seeded(seed);
            // As text, read by Rust's correctly rounded parser.
            let expected: Vec<f64> = case["draws"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().parse().unwrap())
                .collect();
            for expected in &expected {
                assert_eq!(twister.random(), *expected, "seed {seed:?}");
            }
            assert_eq!(draw(Some(seed), false), expected[0]);
        }
    }

    #[test]
    fn bypassed_and_unseeded_draws() {
        assert_eq!(draw(Some("abc"), true), 0.0);
        assert_eq!(draw(None, true), 0.0);
        let draws: Vec<f64> = (0..1000).map(|_| draw(None, false)).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        // Spread over the interval (the chance that 1,000 uniform draws all miss a tenth
        // of it is 0.9^1000).
        for tenth in 0..10 {
            let (low, high) = (f64::from(tenth) / 10.0, f64::from(tenth + 1) / 10.0);
            assert!(draws.iter().any(|d| (low..high).contains(d)), "{tenth}");
        }
    }
}
