//! Clustered PDQ data for the series engine's benchmark (`benches/series.rs`) and its
//! timing example (`examples/series_timing.rs`), so that both measure the same content:
//! `items` hashes around `families` random centres, each at most 8 bits from its centre,
//! shuffled. Deterministic for a seed.

use ward_core::pdq::PdqHash;

/// The families' centres and the items (ids `0..items` with their hashes, in shuffled
/// order), drawn from `rng`.
pub fn clustered(
    rng: &mut Rng,
    items: usize,
    families: usize,
) -> (Vec<PdqHash>, Vec<(u64, PdqHash)>) {
    let centres: Vec<PdqHash> = (0..families).map(|_| rng.hash()).collect();
    let mut data: Vec<(u64, PdqHash)> = (0..items)
        .map(|i| {
            let flips = (rng.next() % 9) as u32;
            (i as u64, rng.near(&centres[i % families], flips))
        })
        .collect();
    for i in (1..data.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        data.swap(i, j);
    }
    (centres, data)
}

/// Xorshift64, as the crate's tests use.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn hash(&mut self) -> PdqHash {
        PdqHash::from_words([self.next(), self.next(), self.next(), self.next()])
    }

    /// `hash` with `flips` random bits flipped (some may flip back: at most `flips` apart).
    pub fn near(&mut self, hash: &PdqHash, flips: u32) -> PdqHash {
        let mut words = hash.words();
        for _ in 0..flips {
            let bit = (self.next() % 256) as usize;
            words[bit / 64] ^= 1 << (bit % 64);
        }
        PdqHash::from_words(words)
    }
}
