//! The inverse DCT that libjpeg uses by default (`jpeg_idct_islow`, the Loeffler-Ligtenberg-
//! Moschytz algorithm in 13-bit fixed point): the same integers in, the same pixels out.
//!
//! Both passes run on eight lanes at once (columns, then rows of the transposed workspace),
//! which the compiler vectorises; libjpeg's shortcuts for all-zero columns and rows give the
//! same numbers as the full computation, so they are not needed for exactness.

pub(super) const CONST_BITS: u32 = 13;
pub(super) const PASS1_BITS: u32 = 2;

pub(super) const FIX_0_298631336: i32 = 2446;
pub(super) const FIX_0_390180644: i32 = 3196;
pub(super) const FIX_0_541196100: i32 = 4433;
pub(super) const FIX_0_765366865: i32 = 6270;
pub(super) const FIX_0_899976223: i32 = 7373;
pub(super) const FIX_1_175875602: i32 = 9633;
pub(super) const FIX_1_501321110: i32 = 12299;
pub(super) const FIX_1_847759065: i32 = 15137;
pub(super) const FIX_1_961570560: i32 = 16069;
pub(super) const FIX_2_053119869: i32 = 16819;
pub(super) const FIX_2_562915447: i32 = 20995;
pub(super) const FIX_3_072711026: i32 = 25172;

/// Eight lanes of the same step. Arithmetic wraps: valid streams never overflow (libjpeg's
/// SIMD code is 16- and 32-bit too), and corrupt ones must not panic.
type Lanes = [i32; 8];

#[inline(always)]
fn lanewise(a: Lanes, f: impl Fn(i32) -> i32) -> Lanes {
    let mut out = [0; 8];
    for i in 0..8 {
        out[i] = f(a[i]);
    }
    out
}

#[inline(always)]
fn add(a: Lanes, b: Lanes) -> Lanes {
    let mut out = [0; 8];
    for i in 0..8 {
        out[i] = a[i].wrapping_add(b[i]);
    }
    out
}

#[inline(always)]
fn sub(a: Lanes, b: Lanes) -> Lanes {
    let mut out = [0; 8];
    for i in 0..8 {
        out[i] = a[i].wrapping_sub(b[i]);
    }
    out
}

#[inline(always)]
fn mul(a: Lanes, c: i32) -> Lanes {
    lanewise(a, |v| v.wrapping_mul(c))
}

#[inline(always)]
fn shl(a: Lanes, bits: u32) -> Lanes {
    lanewise(a, |v| v.wrapping_shl(bits))
}

/// libjpeg's `DESCALE`: round and shift right (arithmetically).
#[inline(always)]
fn descale(a: Lanes, bits: u32) -> Lanes {
    lanewise(a, |v| v.wrapping_add(1 << (bits - 1)) >> bits)
}

/// One 1-D pass of `jpeg_idct_islow` over eight lanes: `x[k]` holds frequency `k` of every
/// lane; returns the eight outputs of every lane, descaled by `bits`.
#[inline(always)]
fn pass(x: &[Lanes; 8], bits: u32) -> [Lanes; 8] {
    // Even part.
    let z1 = mul(add(x[2], x[6]), FIX_0_541196100);
    let tmp2 = sub(z1, mul(x[6], FIX_1_847759065));
    let tmp3 = add(z1, mul(x[2], FIX_0_765366865));
    let tmp0 = shl(add(x[0], x[4]), CONST_BITS);
    let tmp1 = shl(sub(x[0], x[4]), CONST_BITS);
    let tmp10 = add(tmp0, tmp3);
    let tmp13 = sub(tmp0, tmp3);
    let tmp11 = add(tmp1, tmp2);
    let tmp12 = sub(tmp1, tmp2);
    // Odd part.
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
        descale(add(tmp10, t3), bits),
        descale(add(tmp11, t2), bits),
        descale(add(tmp12, t1), bits),
        descale(add(tmp13, t0), bits),
        descale(sub(tmp13, t0), bits),
        descale(sub(tmp12, t1), bits),
        descale(sub(tmp11, t2), bits),
        descale(sub(tmp10, t3), bits),
    ]
}

#[inline(always)]
fn transpose(m: &[Lanes; 8]) -> [Lanes; 8] {
    let mut out = [[0; 8]; 8];
    for i in 0..8 {
        for j in 0..8 {
            out[i][j] = m[j][i];
        }
    }
    out
}

/// libjpeg's post-IDCT range limit, `range_limit[x & 1023]` with its table: the low 10 bits
/// read as a signed number, plus 128, clamped. Garbage from corrupt data wraps as in libjpeg.
#[inline(always)]
fn range_limit(v: i32) -> u8 {
    (((v << 22) >> 22) + 128).clamp(0, 255) as u8
}

/// Dequantises `coefficients` (natural order) with `quant` and writes the 8x8 pixels to
/// `out` with row stride `stride`, with AVX2 where the CPU has it.
#[inline(always)]
pub(super) fn idct_block(
    coefficients: &[i16; 64],
    quant: &[u16; 64],
    out: &mut [u8],
    stride: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx2() {
        // SAFETY: the CPU supports AVX2; the callers pass 8 rows of `stride` bytes.
        unsafe { super::avx2::idct_islow(coefficients, quant, out, stride) };
        return;
    }
    idct_islow(coefficients, quant, out, stride);
}

/// The portable inverse DCT: dequantises `coefficients` (natural order) with `quant` and
/// writes the 8x8 pixels to `out` with row stride `stride`.
#[inline(always)]
pub(super) fn idct_islow(
    coefficients: &[i16; 64],
    quant: &[u16; 64],
    out: &mut [u8],
    stride: usize,
) {
    // Pass 1 over columns: lanes are columns, x[k] is row k of the coefficients.
    let mut input = [[0i32; 8]; 8];
    for k in 0..8 {
        for col in 0..8 {
            let i = k * 8 + col;
            input[k][col] = i32::from(coefficients[i]).wrapping_mul(i32::from(quant[i]));
        }
    }
    let columns = pass(&input, CONST_BITS - PASS1_BITS);
    // Pass 2 over rows: lanes are rows, so transpose the workspace first and back after.
    let rows = transpose(&pass(&transpose(&columns), CONST_BITS + PASS1_BITS + 3));
    for (r, row) in rows.iter().enumerate() {
        let line = &mut out[r * stride..r * stride + 8];
        for (o, &v) in line.iter_mut().zip(row) {
            *o = range_limit(v);
        }
    }
}

/// The same result as [`idct_islow`] for a block whose AC coefficients are all zero: the
/// two passes reduce to descaling the DC term twice, and every sample is equal.
#[inline(always)]
pub(super) fn idct_dc_only(dc: i16, quant: u16, out: &mut [u8], stride: usize) {
    let dc = i32::from(dc).wrapping_mul(i32::from(quant));
    let column = descale([dc.wrapping_shl(CONST_BITS); 8], CONST_BITS - PASS1_BITS)[0];
    let value = descale(
        [column.wrapping_shl(CONST_BITS); 8],
        CONST_BITS + PASS1_BITS + 3,
    )[0];
    let sample = range_limit(value);
    for r in 0..8 {
        out[r * stride..r * stride + 8].fill(sample);
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
    fn vector_and_portable_transforms_agree() {
        let mut seed = 99u32;
        for round in 0..2000 {
            let mut block = [0i16; 64];
            let mut quant = [0u16; 64];
            for i in 0..64 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let spread: i32 = if round % 4 == 0 {
                    32767
                } else {
                    400 >> (i / 16)
                };
                block[i] = ((seed >> 8) as i32 % (2 * spread + 1) - spread) as i16;
                quant[i] = if round % 7 == 0 {
                    (seed >> 3) as u16
                } else {
                    1 + (seed >> 20) as u16 % 120
                };
            }
            let mut portable = [0u8; 64];
            idct_islow(&block, &quant, &mut portable, 8);
            let mut dispatched = [0u8; 64];
            idct_block(&block, &quant, &mut dispatched, 8);
            assert_eq!(portable, dispatched, "round {round}");
        }
    }

    #[test]
    fn dc_only_shortcut_equals_full_transform() {
        for dc in [
            -2048i16,
            -1000,
            -129,
            -1,
            0,
            1,
            7,
            80,
            1023,
            2047,
            i16::MIN,
            i16::MAX,
        ] {
            for quant in [1u16, 2, 16, 99, 255, 1000, 65535] {
                let mut block = [0i16; 64];
                block[0] = dc;
                let mut full = [0u8; 64];
                idct_islow(&block, &[quant; 64], &mut full, 8);
                let mut short = [0u8; 64];
                idct_dc_only(dc, quant, &mut short, 8);
                assert_eq!(full, short, "dc {dc} quant {quant}");
            }
        }
    }

    #[test]
    fn range_limit_matches_libjpeg_table() {
        // libjpeg's table, indexed by the low 10 bits of the descaled value.
        let table = |i: usize| -> u8 {
            match i {
                0..=127 => (i + 128) as u8,
                128..=511 => 255,
                512..=895 => 0,
                _ => (i - 896) as u8,
            }
        };
        for v in -5000..5000 {
            assert_eq!(range_limit(v), table((v & 1023) as usize), "{v}");
        }
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
