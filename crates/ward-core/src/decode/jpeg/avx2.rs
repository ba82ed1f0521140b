//! The JPEG decoder's two hottest loops (inverse DCT, YCbCr to RGB) written for AVX2.
//!
//! Same integer arithmetic as the portable code in `idct.rs` and `color.rs`, eight lanes at a
//! time: 32-bit wrapping multiplies, adds and arithmetic shifts give the same bits, so the
//! tests compare every output of both versions. Used only after a run-time AVX2 check.

use std::arch::x86_64::*;

use crate::cpu::transpose_8x8 as transpose;

use super::color::{FIX_0_34414, FIX_0_71414, FIX_1_40200, FIX_1_77200, ONE_HALF, SCALE_BITS};
use super::idct::{
    CONST_BITS, FIX_0_298631336, FIX_0_390180644, FIX_0_541196100, FIX_0_765366865,
    FIX_0_899976223, FIX_1_175875602, FIX_1_501321110, FIX_1_847759065, FIX_1_961570560,
    FIX_2_053119869, FIX_2_562915447, FIX_3_072711026, PASS1_BITS,
};

/// One 1-D pass over eight lanes, as `idct::pass`.
#[inline(always)]
unsafe fn pass(x: [__m256i; 8], bits: i32) -> [__m256i; 8] {
    unsafe {
        let c = |v: i32| _mm256_set1_epi32(v);
        let mul = |a: __m256i, k: i32| _mm256_mullo_epi32(a, c(k));
        let add = |a: __m256i, b: __m256i| _mm256_add_epi32(a, b);
        let sub = |a: __m256i, b: __m256i| _mm256_sub_epi32(a, b);
        let round = c(1 << (bits - 1));
        let shift = _mm_cvtsi32_si128(bits);
        let descale = |v: __m256i| _mm256_sra_epi32(_mm256_add_epi32(v, round), shift);
        let shl13 = |v: __m256i| _mm256_slli_epi32::<{ CONST_BITS as i32 }>(v);

        let z1 = mul(add(x[2], x[6]), FIX_0_541196100);
        let tmp2 = sub(z1, mul(x[6], FIX_1_847759065));
        let tmp3 = add(z1, mul(x[2], FIX_0_765366865));
        let tmp0 = shl13(add(x[0], x[4]));
        let tmp1 = shl13(sub(x[0], x[4]));
        let tmp10 = add(tmp0, tmp3);
        let tmp13 = sub(tmp0, tmp3);
        let tmp11 = add(tmp1, tmp2);
        let tmp12 = sub(tmp1, tmp2);

        let (t0, t1, t2, t3) = (x[7], x[5], x[3], x[1]);
        let z1 = add(t0, t3);
        let z2 = add(t1, t2);
        let z3 = add(t0, t2);
        let z4 = add(t1, t3);
        let z5 = mul(add(z3, z4), FIX_1_175875602);
        let t0 = mul(t0, FIX_0_298631336);
        let t1 = mul(t1, FIX_2_053119869);
        let t2 = mul(t2, FIX_3_072711026);
        let t3 = mul(t3, FIX_1_501321110);
        let z1 = mul(z1, -FIX_0_899976223);
        let z2 = mul(z2, -FIX_2_562915447);
        let z3 = add(mul(z3, -FIX_1_961570560), z5);
        let z4 = add(mul(z4, -FIX_0_390180644), z5);
        let t0 = add(t0, add(z1, z3));
        let t1 = add(t1, add(z2, z4));
        let t2 = add(t2, add(z2, z3));
        let t3 = add(t3, add(z1, z4));
        [
            descale(add(tmp10, t3)),
            descale(add(tmp11, t2)),
            descale(add(tmp12, t1)),
            descale(add(tmp13, t0)),
            descale(sub(tmp13, t0)),
            descale(sub(tmp12, t1)),
            descale(sub(tmp11, t2)),
            descale(sub(tmp10, t3)),
        ]
    }
}

/// `idct::idct_islow` with AVX2.
///
/// # Safety
/// The CPU must support AVX2, and `out` must hold 8 rows of `stride` (at least 8) bytes from
/// its start.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn idct_islow(
    coefficients: &[i16; 64],
    quant: &[u16; 64],
    out: &mut [u8],
    stride: usize,
) {
    assert!(stride >= 8 && out.len() >= 7 * stride + 8);
    unsafe {
        let mut rows = [_mm256_setzero_si256(); 8];
        for (k, row) in rows.iter_mut().enumerate() {
            let c = _mm_loadu_si128(coefficients.as_ptr().add(k * 8).cast());
            let q = _mm_loadu_si128(quant.as_ptr().add(k * 8).cast());
            *row = _mm256_mullo_epi32(_mm256_cvtepi16_epi32(c), _mm256_cvtepu16_epi32(q));
        }
        let columns = pass(rows, (CONST_BITS - PASS1_BITS) as i32);
        let samples = transpose(pass(
            transpose(columns),
            (CONST_BITS + PASS1_BITS + 3) as i32,
        ));
        let offset = _mm256_set1_epi32(128);
        for (r, row) in samples.iter().enumerate() {
            // libjpeg's range limit: the low 10 bits as a signed number, plus 128, clamped.
            let v = _mm256_add_epi32(
                _mm256_srai_epi32::<22>(_mm256_slli_epi32::<22>(*row)),
                offset,
            );
            let words =
                _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
            let bytes = _mm_packus_epi16(words, words);
            _mm_storel_epi64(out.as_mut_ptr().add(r * stride).cast(), bytes);
        }
    }
}

/// `color::ycc_to_rgb` with AVX2 for the pixels in whole groups of eight; returns how many
/// it converted, leaving the rest to the portable code.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) -> usize {
    let n = out.len() / 3;
    assert!(y.len() >= n && cb.len() >= n && cr.len() >= n);
    let whole = n / 8 * 8;
    unsafe {
        let c = |v: i32| _mm256_set1_epi32(v);
        let centre = c(128);
        let half = c(ONE_HALF);
        // Bytes r0..r7 g0..g7 and b0..b7 to r0 g0 b0 r1 g1 b1 ...
        let rg_first = _mm_setr_epi8(0, 8, -1, 1, 9, -1, 2, 10, -1, 3, 11, -1, 4, 12, -1, 5);
        let b_first = _mm_setr_epi8(-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1);
        let rg_last = _mm_setr_epi8(13, -1, 6, 14, -1, 7, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1);
        let b_last = _mm_setr_epi8(-1, 5, -1, -1, 6, -1, -1, 7, -1, -1, -1, -1, -1, -1, -1, -1);
        let mut i = 0;
        while i < whole {
            let load = |s: &[u8]| _mm256_cvtepu8_epi32(_mm_loadl_epi64(s.as_ptr().add(i).cast()));
            let luma = load(y);
            let blue_diff = _mm256_sub_epi32(load(cb), centre);
            let red_diff = _mm256_sub_epi32(load(cr), centre);
            let red = _mm256_add_epi32(
                luma,
                _mm256_srai_epi32::<SCALE_BITS>(_mm256_add_epi32(
                    _mm256_mullo_epi32(red_diff, c(FIX_1_40200)),
                    half,
                )),
            );
            let green_sum = _mm256_add_epi32(
                _mm256_add_epi32(_mm256_mullo_epi32(blue_diff, c(-FIX_0_34414)), half),
                _mm256_mullo_epi32(red_diff, c(-FIX_0_71414)),
            );
            let green = _mm256_add_epi32(luma, _mm256_srai_epi32::<SCALE_BITS>(green_sum));
            let blue = _mm256_add_epi32(
                luma,
                _mm256_srai_epi32::<SCALE_BITS>(_mm256_add_epi32(
                    _mm256_mullo_epi32(blue_diff, c(FIX_1_77200)),
                    half,
                )),
            );
            let narrow = |v: __m256i| {
                let words =
                    _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
                _mm_packus_epi16(words, words)
            };
            let rg = _mm_unpacklo_epi64(narrow(red), narrow(green));
            let b = narrow(blue);
            let first = _mm_or_si128(_mm_shuffle_epi8(rg, rg_first), _mm_shuffle_epi8(b, b_first));
            let last = _mm_or_si128(_mm_shuffle_epi8(rg, rg_last), _mm_shuffle_epi8(b, b_last));
            let at = out.as_mut_ptr().add(3 * i);
            _mm_storeu_si128(at.cast(), first);
            _mm_storel_epi64(at.add(16).cast(), last);
            i += 8;
        }
    }
    whole
}
