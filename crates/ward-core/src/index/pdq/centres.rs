//! The buckets' centres and radii, laid out for the first pass of a query: which buckets can
//! hold an entry within reach.
//!
//! Every query measures its distance to every centre (tens of thousands at ten million
//! entries), so this pass is most of a query's time when nothing matches, which is most
//! queries. The centres are kept twice: as hashes, for the family multi-index and the
//! snapshot, and word by word ("lanes": word 0 of every centre, then word 1, ...), so that a
//! vector register holds the same word of 4 or 8 centres and their distances to the query
//! come out in lanes, ready to compare with their radii, without any horizontal sums.
//!
//! The pass is bound by memory bandwidth more than by arithmetic (ten million clustered
//! entries have some fifty thousand centres, 1.8 MB), so it reads the fourth word of a group
//! of centres only when the first three leave one of them within reach: their distance is
//! a lower bound of the whole distance, and a query unrelated to a centre, about 96 bits away
//! on three words, is already beyond its bound (the query's radius plus the bucket's, 31 +
//! about 45). A quarter of the centres' bytes are then never read for most queries.

use crate::pdq::PdqHash;

/// Centres and radii of buckets `0..len()`.
#[derive(Debug, Default)]
pub(super) struct Centres {
    hashes: Vec<PdqHash>,
    /// `lanes[w][b]` is word `w` of centre `b`.
    lanes: [Vec<u64>; 4],
    radii: Vec<u32>,
    /// The radii as the first pass reads them, a byte each: [`SATURATED`] stands for 255 and
    /// more, and such a bucket is always reached (a quarter of the bytes of `radii`, which
    /// the pass would otherwise read beside the centres).
    reach: Vec<u8>,
}

/// A radius of 255 bits or more, in [`Centres`]' bytes: distances are at most 256, so the
/// bucket is scanned whatever the query.
const SATURATED: u8 = u8::MAX;

/// A radius as the first pass reads it.
fn reach_of(radius: u32) -> u8 {
    radius.min(u32::from(SATURATED)) as u8
}

impl Centres {
    pub(super) fn len(&self) -> usize {
        self.hashes.len()
    }

    pub(super) fn push(&mut self, centre: PdqHash, radius: u32) {
        for (lane, word) in self.lanes.iter_mut().zip(centre.words()) {
            lane.push(word);
        }
        self.hashes.push(centre);
        self.radii.push(radius);
        self.reach.push(reach_of(radius));
    }

    /// Centre `b`.
    pub(super) fn hash(&self, b: usize) -> &PdqHash {
        &self.hashes[b]
    }

    /// All centres, in bucket order.
    pub(super) fn hashes(&self) -> &[PdqHash] {
        &self.hashes
    }

    /// The largest distance from centre `b` to a member of its bucket.
    pub(super) fn radius(&self, b: usize) -> u32 {
        self.radii[b]
    }

    pub(super) fn radii(&self) -> &[u32] {
        &self.radii
    }

    /// Makes bucket `b`'s radius cover a member at `distance` from its centre.
    pub(super) fn widen(&mut self, b: usize, distance: u32) {
        self.radii[b] = self.radii[b].max(distance);
        self.reach[b] = reach_of(self.radii[b]);
    }

    pub(super) fn memory_bytes(&self) -> usize {
        self.hashes.capacity() * size_of::<PdqHash>()
            + self.lanes.iter().map(|l| l.capacity() * 8).sum::<usize>()
            + self.radii.capacity() * size_of::<u32>()
            + self.reach.capacity()
    }

    /// Calls `reach(b)`, in order, for every bucket `b` that may hold an entry within
    /// `radius` of `query`: those with `d(query, centre) <= radius + radius_b`, and those
    /// whose radius is 255 or more.
    #[inline(always)]
    pub(super) fn reachable(&self, query: &PdqHash, radius: u32, reach: &mut impl FnMut(usize)) {
        #[cfg(target_arch = "x86_64")]
        {
            if crate::cpu::has_avx512_popcnt() {
                // SAFETY: the CPU has AVX-512F and AVX-512 VPOPCNTDQ.
                unsafe { self.reachable_avx512(query, radius, reach) };
                return;
            }
            if crate::cpu::has_avx2() {
                // SAFETY: the CPU has AVX2.
                unsafe { self.reachable_avx2(query, radius, reach) };
                return;
            }
        }
        self.reachable_portable(0, query, radius, reach);
    }

    /// [`Centres::reachable`] in portable code, from bucket `from` on.
    #[inline(always)]
    fn reachable_portable(
        &self,
        from: usize,
        query: &PdqHash,
        radius: u32,
        reach: &mut impl FnMut(usize),
    ) {
        let radius = u64::from(radius);
        for b in from..self.len() {
            let own = self.reach[b];
            if own == SATURATED
                || u64::from(self.hashes[b].distance(query)) <= radius + u64::from(own)
            {
                reach(b);
            }
        }
    }

    /// [`Centres::reachable`] with AVX2, four centres at a time: per word, XOR and count
    /// bits per byte with a nibble table; the byte counts of the words add up without
    /// overflow (at most 32), and one sum of absolute differences gives each centre's distance
    /// in its own 64-bit lane.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn reachable_avx2(&self, query: &PdqHash, radius: u32, reach: &mut impl FnMut(usize)) {
        use std::arch::x86_64::*;
        let whole = self.len() / 4 * 4;
        let words = query.words();
        let nibbles = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0F);
        let zero = _mm256_setzero_si256();
        let reach_of_query = _mm256_set1_epi64x(i64::from(radius));
        let saturated = _mm256_set1_epi64x(i64::from(SATURATED));
        let query_words = words.map(|w| _mm256_set1_epi64x(w as i64));
        // Bits set per byte of `centre XOR query` in word `w` of centres b..b + 4.
        let counts = |w: usize, b: usize| {
            // SAFETY: b + 4 <= whole <= lanes[w].len().
            let lane = unsafe { _mm256_loadu_si256(self.lanes[w].as_ptr().add(b).cast()) };
            let x = _mm256_xor_si256(lane, query_words[w]);
            _mm256_add_epi8(
                _mm256_shuffle_epi8(nibbles, _mm256_and_si256(x, low)),
                _mm256_shuffle_epi8(nibbles, _mm256_and_si256(_mm256_srli_epi16::<4>(x), low)),
            )
        };
        let mut b = 0;
        while b < whole {
            // SAFETY: b + 4 <= whole <= reach.len(); an unaligned read of 4 bytes.
            let own = unsafe { self.reach.as_ptr().add(b).cast::<i32>().read_unaligned() };
            let own = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(own));
            let saturated =
                _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(own, saturated)));
            let bounds = _mm256_add_epi64(own, reach_of_query);
            // Three words first, as in the AVX-512 pass. Lanes hold small non-negative
            // numbers, so the signed comparison is exact.
            let partial =
                _mm256_add_epi8(_mm256_add_epi8(counts(0, b), counts(1, b)), counts(2, b));
            let beyond = |counts| {
                let distances = _mm256_sad_epu8(counts, zero);
                _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(distances, bounds)))
                    & !saturated
            };
            if beyond(partial) != 0b1111 {
                let mut inside = !beyond(_mm256_add_epi8(partial, counts(3, b))) as u32 & 0b1111;
                while inside != 0 {
                    reach(b + inside.trailing_zeros() as usize);
                    inside &= inside - 1;
                }
            }
            b += 4;
        }
        self.reachable_portable(whole, query, radius, reach);
    }

    /// [`Centres::reachable`] with AVX-512, eight centres at a time: XOR, count bits per
    /// 64-bit word, add the words, compare with the bounds into a mask.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512 VPOPCNTDQ.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    unsafe fn reachable_avx512(&self, query: &PdqHash, radius: u32, reach: &mut impl FnMut(usize)) {
        use std::arch::x86_64::*;
        let whole = self.len() / 8 * 8;
        let query_words = query.words().map(|w| _mm512_set1_epi64(w as i64));
        let reach_of_query = _mm512_set1_epi64(i64::from(radius));
        let saturated = _mm512_set1_epi64(i64::from(SATURATED));
        let mut b = 0;
        while b < whole {
            // SAFETY (loads): b + 8 <= whole <= the length of every lane and of reach (8
            // bytes read there).
            let differing = |w: usize| {
                let lane = unsafe { _mm512_loadu_si512(self.lanes[w].as_ptr().add(b).cast()) };
                _mm512_popcnt_epi64(_mm512_xor_si512(lane, query_words[w]))
            };
            let own = unsafe { _mm_loadl_epi64(self.reach.as_ptr().add(b).cast()) };
            let own = _mm512_cvtepu8_epi64(own);
            let always = _mm512_cmpeq_epi64_mask(own, saturated);
            let bounds = _mm512_add_epi64(own, reach_of_query);
            // Three words first: their distance is a lower bound, and an unrelated query
            // (about 96 bits away on them) is beyond every bound without the fourth.
            let partial =
                _mm512_add_epi64(_mm512_add_epi64(differing(0), differing(1)), differing(2));
            if _mm512_cmple_epu64_mask(partial, bounds) | always != 0 {
                let distances = _mm512_add_epi64(partial, differing(3));
                let mut inside = _mm512_cmple_epu64_mask(distances, bounds) | always;
                while inside != 0 {
                    reach(b + inside.trailing_zeros() as usize);
                    inside &= inside - 1;
                }
            }
            b += 8;
        }
        self.reachable_portable(whole, query, radius, reach);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::pdq::tests::Rng;

    /// Every instruction set this CPU has gives the same buckets as the portable loop, for
    /// counts that leave every possible remainder and for radii from none to all bits.
    #[test]
    fn vector_passes_equal_portable() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for count in [0usize, 1, 3, 4, 7, 8, 9, 15, 16, 17, 100, 1001] {
            let mut centres = Centres::default();
            let base = rng.hash();
            for k in 0..count {
                // Half near `base`, half unrelated, with radii across the whole range.
                let words = base.words();
                let centre = if k % 2 == 0 {
                    PdqHash::from_words(words.map(|w| w ^ (rng.next() & rng.next() & rng.next())))
                } else {
                    rng.hash()
                };
                // Radii across the whole range, saturated ones included.
                centres.push(centre, (rng.next() % 300) as u32);
            }
            for query in [base, rng.hash()] {
                for radius in [0, 31, 64, 200, u32::MAX] {
                    let mut portable = Vec::new();
                    centres.reachable_portable(0, &query, radius, &mut |b| portable.push(b));
                    let mut dispatched = Vec::new();
                    centres.reachable(&query, radius, &mut |b| dispatched.push(b));
                    assert_eq!(portable, dispatched, "{count} centres, radius {radius}");
                    // The buckets within reach by the triangle inequality, and beside them
                    // only those of a saturated radius.
                    for b in 0..count {
                        let d = u64::from(centres.hash(b).distance(&query));
                        let within = d <= u64::from(radius) + u64::from(centres.radius(b));
                        let reached = portable.contains(&b);
                        assert!(!within || reached, "bucket {b} within reach is missed");
                        assert!(
                            within || !reached || centres.radius(b) >= 255,
                            "bucket {b} is reached beyond its radius"
                        );
                    }
                    #[cfg(target_arch = "x86_64")]
                    if crate::cpu::has_avx2() {
                        let mut avx2 = Vec::new();
                        // SAFETY: checked just above.
                        unsafe { centres.reachable_avx2(&query, radius, &mut |b| avx2.push(b)) };
                        assert_eq!(portable, avx2, "AVX2, {count} centres, radius {radius}");
                    }
                }
            }
        }
    }

    #[test]
    fn widen_only_grows() {
        let mut centres = Centres::default();
        centres.push(PdqHash::default(), 10);
        centres.widen(0, 4);
        assert_eq!(centres.radius(0), 10);
        centres.widen(0, 40);
        assert_eq!(centres.radius(0), 40);
        assert_eq!(centres.radii(), &[40]);
        assert_eq!(centres.hash(0), &PdqHash::default());
        assert_eq!(centres.hashes().len(), 1);
    }
}
