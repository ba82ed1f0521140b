//! What the crate's tests share: a small deterministic generator of PDQ hashes (the tests
//! need no crate for randomness), used by the index, video search and series tests.

use crate::pdq::PdqHash;

/// Xorshift64: the same sequence for the same seed, everywhere.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn hash(&mut self) -> PdqHash {
        PdqHash::from_words([self.next(), self.next(), self.next(), self.next()])
    }

    /// `hash` with `flips` distinct random bits flipped: exactly `flips` apart.
    pub(crate) fn near(&mut self, hash: &PdqHash, flips: u32) -> PdqHash {
        let mut words = hash.words();
        let mut flipped = std::collections::HashSet::new();
        while (flipped.len() as u32) < flips {
            let bit = self.below(256);
            if flipped.insert(bit) {
                words[bit / 64] ^= 1 << (bit % 64);
            }
        }
        PdqHash::from_words(words)
    }

    /// `hash` with `flips` random bits flipped (some may flip back: at most `flips` apart).
    pub(crate) fn near_at_most(&mut self, hash: &PdqHash, flips: u32) -> PdqHash {
        let mut words = hash.words();
        for _ in 0..flips {
            let bit = self.below(256);
            words[bit / 64] ^= 1 << (bit % 64);
        }
        PdqHash::from_words(words)
    }
}
