//! The innermost loop of a query: which of these hashes lie within a radius.

use crate::pdq::PdqHash;

/// Hashes from which a scan takes AVX-512 where the CPU has it.
const LONG_SCAN: usize = 64;

/// Calls `found(k, distance)` for each `hashes[k]` within `radius` of `query`, in order,
/// with AVX-512 (and its population count) or AVX2 where the CPU has them: AVX-512 for
/// [`LONG_SCAN`] hashes or more (loose pages, the k nearest's reading of everything), AVX2
/// for a family's few, which it takes four at a time where AVX-512 takes eight.
#[inline(always)]
pub(super) fn within(
    hashes: &[PdqHash],
    query: &PdqHash,
    radius: u32,
    found: &mut impl FnMut(usize, u32),
) {
    #[cfg(target_arch = "x86_64")]
    if hashes.len() >= LONG_SCAN && crate::cpu::has_avx512_popcnt() {
        // SAFETY: the CPU supports AVX-512F and VPOPCNTDQ.
        unsafe { within_avx512(hashes, query, radius, found) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx2() {
        // SAFETY: the CPU supports AVX2.
        unsafe { within_avx2(hashes, query, radius, found) };
        return;
    }
    within_portable(hashes, query, radius, found);
}

/// [`within`] in portable code.
#[inline(always)]
pub(super) fn within_portable(
    hashes: &[PdqHash],
    query: &PdqHash,
    radius: u32,
    found: &mut impl FnMut(usize, u32),
) {
    for (k, hash) in hashes.iter().enumerate() {
        let distance = hash.distance(query);
        if distance <= radius {
            found(k, distance);
        }
    }
}

/// [`within_portable`] with AVX2, four hashes at a time: XOR, count bits per byte with a nibble
/// lookup, sum bytes per 64-bit word, add the four words of each hash, compare.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
pub(super) unsafe fn within_avx2(
    hashes: &[PdqHash],
    query: &PdqHash,
    radius: u32,
    found: &mut impl FnMut(usize, u32),
) {
    use std::arch::x86_64::*;
    const _: () = assert!(size_of::<PdqHash>() == 32);
    let whole = hashes.len() / 4 * 4;
    unsafe {
        let q = _mm256_loadu_si256(query as *const PdqHash as *const __m256i);
        let nibbles = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0F);
        let zero = _mm256_setzero_si256();
        let limit = _mm256_set1_epi64x(i64::from(radius.min(256)));
        // Bits set per 64-bit word of `h XOR query`.
        let words = |p: *const PdqHash| {
            let x = _mm256_xor_si256(_mm256_loadu_si256(p as *const __m256i), q);
            let counts = _mm256_add_epi8(
                _mm256_shuffle_epi8(nibbles, _mm256_and_si256(x, low)),
                _mm256_shuffle_epi8(nibbles, _mm256_and_si256(_mm256_srli_epi16::<4>(x), low)),
            );
            _mm256_sad_epu8(counts, zero)
        };
        let base = hashes.as_ptr();
        let mut k = 0;
        while k < whole {
            let (a, b, c, d) = (
                words(base.add(k)),
                words(base.add(k + 1)),
                words(base.add(k + 2)),
                words(base.add(k + 3)),
            );
            // Sum the four words of each hash: [a0+a1, b0+b1, a2+a3, b2+b3] and likewise
            // for c, d, then across the 128-bit halves.
            let ab = _mm256_add_epi64(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b));
            let cd = _mm256_add_epi64(_mm256_unpacklo_epi64(c, d), _mm256_unpackhi_epi64(c, d));
            let distances = _mm256_add_epi64(
                _mm256_permute2x128_si256::<0x20>(ab, cd),
                _mm256_permute2x128_si256::<0x31>(ab, cd),
            );
            // distances = [d(a), d(b), d(c), d(d)]; a lane is in reach unless it exceeds.
            let beyond =
                _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(distances, limit)));
            if beyond != 0b1111 {
                let mut lanes = [0u64; 4];
                _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, distances);
                for (lane, &distance) in lanes.iter().enumerate() {
                    if beyond & (1 << lane) == 0 {
                        found(k + lane, distance as u32);
                    }
                }
            }
            k += 4;
        }
    }
    within_portable(&hashes[whole..], query, radius, &mut |k, distance| {
        found(whole + k, distance)
    });
}

/// [`within_portable`] with AVX-512, eight hashes at a time (two a register): XOR, count the
/// bits of each word (VPOPCNTQ), add the words of each hash pairwise across the four
/// registers, compare. A scan of millions (the k nearest of unrelated hashes) reads every
/// hash, and this counts them in a quarter of the instructions AVX2 takes.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 VPOPCNTDQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
pub(super) unsafe fn within_avx512(
    hashes: &[PdqHash],
    query: &PdqHash,
    radius: u32,
    found: &mut impl FnMut(usize, u32),
) {
    use std::arch::x86_64::*;
    // The lane of the distances holding hash `h` of the eight (and the hash in lane `h`).
    const LANE: [usize; 8] = [0, 2, 1, 3, 4, 6, 5, 7];
    let whole = hashes.len() / 8 * 8;
    let words = query.words();
    let q = _mm512_setr_epi64(
        words[0] as i64,
        words[1] as i64,
        words[2] as i64,
        words[3] as i64,
        words[0] as i64,
        words[1] as i64,
        words[2] as i64,
        words[3] as i64,
    );
    let limit = _mm512_set1_epi64(i64::from(radius.min(256)));
    let base = hashes.as_ptr();
    // A long scan (the k nearest's, of millions of hashes) is bound by reading memory: its
    // lines are asked for 2 KiB ahead, which the processor's own prefetching leaves a
    // quarter slower. A bucket's few hashes are not.
    const AHEAD: usize = 64;
    let asked_until = if hashes.len() >= 16 * AHEAD {
        whole - AHEAD
    } else {
        0
    };
    let mut k = 0;
    while k < whole {
        if k < asked_until {
            for line in 0..4 {
                // SAFETY: k + AHEAD + 8 <= whole: in the slice.
                let ahead = unsafe { base.add(k + AHEAD + 2 * line) };
                _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
            }
        }
        // Bits differing per word, for hashes k + 2i and k + 2i + 1.
        // SAFETY: k + 8 <= whole <= hashes.len(): the 64 bytes at hash k + 2i are in it.
        let counts = |i: usize| {
            let pair = unsafe { _mm512_loadu_si512(base.add(k + 2 * i).cast()) };
            _mm512_popcnt_epi64(_mm512_xor_si512(pair, q))
        };
        let (a, b, c, d) = (counts(0), counts(1), counts(2), counts(3));
        // Per 128-bit lane, words 0+1 and 2+3 of hashes (0, 2), (0, 2), (1, 3), (1, 3); and
        // of hashes 4..8 likewise.
        let ab = _mm512_add_epi64(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
        let cd = _mm512_add_epi64(_mm512_unpacklo_epi64(c, d), _mm512_unpackhi_epi64(c, d));
        // The 128-bit lanes of words 0+1, then of words 2+3: their sum is the distances of
        // hashes 0, 2, 1, 3, 4, 6, 5, 7.
        let distances = _mm512_add_epi64(
            _mm512_shuffle_i64x2::<0x88>(ab, cd),
            _mm512_shuffle_i64x2::<0xDD>(ab, cd),
        );
        let inside = _mm512_cmple_epu64_mask(distances, limit);
        if inside != 0 {
            let mut lanes = [0u64; 8];
            // SAFETY: 64 bytes written to an array of eight u64.
            unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), distances) };
            for (h, &lane) in LANE.iter().enumerate() {
                if inside >> lane & 1 == 1 {
                    found(k + h, lanes[lane] as u32);
                }
            }
        }
        k += 8;
    }
    within_portable(&hashes[whole..], query, radius, &mut |k, distance| {
        found(whole + k, distance)
    });
}
