//! The inverse DCT that libjpeg uses by default (`jpeg_idct_islow`, the Loeffler-Ligtenberg-
//! Moschytz algorithm in 13-bit fixed point): the same integers in, the same pixels out.
//!
//! Both passes run on eight lanes at once (columns, then rows of the transposed workspace),
//! which the compiler vectorises; libjpeg's shortcuts for all-zero columns and rows give the
//! same numbers as the full computation, so they are not needed for exactness.

use std::num::Wrapping;

type W = Wrapping<i32>;

const CONST_BITS: usize = 13;
const PASS1_BITS: usize = 2;

const FIX_0_298631336: W = Wrapping(2446);
const FIX_0_390180644: W = Wrapping(3196);
const FIX_0_541196100: W = Wrapping(4433);
const FIX_0_765366865: W = Wrapping(6270);
const FIX_0_899976223: W = Wrapping(7373);
const FIX_1_175875602: W = Wrapping(9633);
const FIX_1_501321110: W = Wrapping(12299);
const FIX_1_847759065: W = Wrapping(15137);
const FIX_1_961570560: W = Wrapping(16069);
const FIX_2_053119869: W = Wrapping(16819);
const FIX_2_562915447: W = Wrapping(20995);
const FIX_3_072711026: W = Wrapping(25172);

/// libjpeg's post-IDCT range limit: the masked index wraps garbage from corrupt data
/// the same way libjpeg's table does, and clamps everything else to 0..=255.
const RANGE_LIMIT: [u8; 1024] = {
    let mut table = [0u8; 1024];
    let mut i = 0;
    while i < 1024 {
        table[i] = match i {
            0..=127 => (i + 128) as u8,
            128..=511 => 255,
            512..=895 => 0,
            _ => (i - 896) as u8,
        };
        i += 1;
    }
    table
};

/// One 1-D pass over eight lanes; `input[k]` is frequency `k` of every lane. Returns the
/// eight outputs of every lane before descaling, as (sums, differences) pairs.
#[inline(always)]
fn pass(input: &[[W; 8]; 8], descale: usize, output: &mut [[i32; 8]; 8]) {
    let round = Wrapping(1i32 << (descale - 1));
    for lane in 0..8 {
        let x = |k: usize| input[k][lane];
        // Even part.
        let z2 = x(2);
        let z3 = x(6);
        let z1 = (z2 + z3) * FIX_0_541196100;
        let tmp2 = z1 - z3 * FIX_1_847759065;
        let tmp3 = z1 + z2 * FIX_0_765366865;
        let z2 = x(0);
        let z3 = x(4);
        let tmp0 = (z2 + z3) << CONST_BITS;
        let tmp1 = (z2 - z3) << CONST_BITS;
        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        // Odd part.
        let tmp0 = x(7);
        let tmp1 = x(5);
        let tmp2 = x(3);
        let tmp3 = x(1);
        let z1 = tmp0 + tmp3;
        let z2 = tmp1 + tmp2;
        let z3 = tmp0 + tmp2;
        let z4 = tmp1 + tmp3;
        let z5 = (z3 + z4) * FIX_1_175875602;
        let tmp0 = tmp0 * FIX_0_298631336;
        let tmp1 = tmp1 * FIX_2_053119869;
        let tmp2 = tmp2 * FIX_3_072711026;
        let tmp3 = tmp3 * FIX_1_501321110;
        let z1 = -(z1 * FIX_0_899976223);
        let z2 = -(z2 * FIX_2_562915447);
        let z3 = -(z3 * FIX_1_961570560) + z5;
        let z4 = -(z4 * FIX_0_390180644) + z5;
        let tmp0 = tmp0 + z1 + z3;
        let tmp1 = tmp1 + z2 + z4;
        let tmp2 = tmp2 + z2 + z3;
        let tmp3 = tmp3 + z1 + z4;
        let descaled = |v: W| ((v + round) >> descale).0;
        output[0][lane] = descaled(tmp10 + tmp3);
        output[7][lane] = descaled(tmp10 - tmp3);
        output[1][lane] = descaled(tmp11 + tmp2);
        output[6][lane] = descaled(tmp11 - tmp2);
        output[2][lane] = descaled(tmp12 + tmp1);
        output[5][lane] = descaled(tmp12 - tmp1);
        output[3][lane] = descaled(tmp13 + tmp0);
        output[4][lane] = descaled(tmp13 - tmp0);
    }
}

/// Dequantises `coefficients` (natural order) with `quant` and writes the 8x8 pixels to
/// `out` with row stride `stride`.
pub(super) fn idct_islow(
    coefficients: &[i16; 64],
    quant: &[u16; 64],
    out: &mut [u8],
    stride: usize,
) {
    // Pass 1 over columns: input[k][col] = dequantised coefficient at row k, column col.
    let mut input = [[Wrapping(0i32); 8]; 8];
    for k in 0..8 {
        for col in 0..8 {
            let i = k * 8 + col;
            input[k][col] = Wrapping(i32::from(coefficients[i]) * i32::from(quant[i]));
        }
    }
    let mut workspace = [[0i32; 8]; 8];
    pass(&input, CONST_BITS - PASS1_BITS, &mut workspace);
    // workspace[r][col]: row r of the column outputs. Pass 2 over rows: lanes are rows.
    let mut transposed = [[Wrapping(0i32); 8]; 8];
    for r in 0..8 {
        for col in 0..8 {
            transposed[col][r] = Wrapping(workspace[r][col]);
        }
    }
    let mut pixels = [[0i32; 8]; 8];
    pass(&transposed, CONST_BITS + PASS1_BITS + 3, &mut pixels);
    // pixels[col][r] is the sample at row r, column col.
    for r in 0..8 {
        let row = &mut out[r * stride..r * stride + 8];
        for col in 0..8 {
            row[col] = RANGE_LIMIT[(pixels[col][r] & 1023) as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idct(coefficients: &[i16; 64]) -> [u8; 64] {
        let mut out = [0u8; 64];
        idct_islow(coefficients, &[1; 64], &mut out, 8);
        out
    }

    /// A floating-point IDCT, the definition the fixed-point one approximates.
    fn float_idct(coefficients: &[i16; 64]) -> [f64; 64] {
        let c = |u: usize| {
            if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            }
        };
        std::array::from_fn(|i| {
            let (y, x) = (i / 8, i % 8);
            let mut sum = 0.0;
            for v in 0..8 {
                for u in 0..8 {
                    sum += c(u)
                        * c(v)
                        * f64::from(coefficients[v * 8 + u])
                        * (((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI) / 16.0).cos()
                        * (((2 * y + 1) as f64 * v as f64 * std::f64::consts::PI) / 16.0).cos();
                }
            }
            sum / 4.0 + 128.0
        })
    }

    #[test]
    fn dc_only_block_is_flat() {
        let mut block = [0i16; 64];
        // Pass 1 gives 80 << 2; pass 2 descales (320 << 13) by 18 bits: 10 above mid-grey.
        block[0] = 80;
        let out = idct(&block);
        assert!(out.iter().all(|&v| v == out[0]));
        assert_eq!(out[0], 128 + 10);
    }

    #[test]
    fn range_limit_matches_libjpeg_table() {
        assert_eq!(RANGE_LIMIT[0], 128);
        assert_eq!(RANGE_LIMIT[127], 255);
        assert_eq!(RANGE_LIMIT[300], 255);
        assert_eq!(RANGE_LIMIT[600], 0);
        assert_eq!(RANGE_LIMIT[1023], 127);
        assert_eq!(RANGE_LIMIT[(-128i32 & 1023) as usize], 0);
    }

    #[test]
    fn close_to_the_float_definition() {
        let mut seed = 12345u32;
        for _ in 0..200 {
            let mut block = [0i16; 64];
            for (i, c) in block.iter_mut().enumerate() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let spread = if i == 0 {
                    600
                } else {
                    120 / (1 + i as i32 / 8)
                };
                *c = ((seed >> 16) as i32 % (2 * spread + 1) - spread) as i16;
            }
            let exact = float_idct(&block);
            let fixed = idct(&block);
            for (e, f) in exact.iter().zip(fixed) {
                let clamped = e.clamp(0.0, 255.0);
                assert!((clamped - f64::from(f)).abs() <= 1.0, "{clamped} vs {f}");
            }
        }
    }
}
