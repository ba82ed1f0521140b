//! Running hot loops with the widest vector instructions this CPU has.
//!
//! The build targets the x86-64 baseline (SSE2) so that one binary runs everywhere. The hot
//! loops of decoding and hashing are written as plain lane-wise loops that the compiler
//! vectorises, and [`vectorised!`] compiles each entry point a second time for AVX2 (with the
//! POPCNT instruction, which Hamming distances need) and picks that copy at run time. The arithmetic is the same IEEE and integer arithmetic either way
//! (Rust never fuses multiply-adds on its own), so results are bit-identical; the tests
//! compare both copies.

/// Defines `fn $name(args) -> ret` that runs `$inner(args)` compiled for AVX2 when the CPU
/// supports it, and for the baseline otherwise. Everything `$inner` calls on its hot path
/// must be `#[inline(always)]` to be compiled into the AVX2 copy.
macro_rules! vectorised {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $inner:path;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,popcnt")]
                fn avx2($($arg: $ty),*) -> $ret {
                    $inner($($arg),*)
                }
                if $crate::cpu::has_avx2() {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $inner($($arg),*)
        }
    };
}

pub(crate) use vectorised;

/// Whether this CPU has AVX-512F and AVX-512 VPOPCNTDQ (population counts of 64-bit lanes),
/// for the index's pass over its bucket centres (detected once).
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx512_popcnt() -> bool {
    use std::sync::OnceLock;
    static AVX512: OnceLock<bool> = OnceLock::new();
    *AVX512.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
    })
}

/// Whether this CPU has AVX2 and POPCNT (every CPU with AVX2 has POPCNT; detected once).
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2() -> bool {
    use std::sync::OnceLock;
    static AVX2: OnceLock<bool> = OnceLock::new();
    *AVX2.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt")
    })
}

/// Transposes an 8x8 matrix of 32-bit lanes (`m[i]` lane `j` becomes lane `i` of `out[j]`),
/// for the AVX2 paths of the JPEG decoder's IDCT and PDQ's row interleaving. Only moves bits,
/// so floats can go through it as bit casts.
///
/// # Safety
/// The CPU must support AVX2 (call it from a function compiled for AVX2).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn transpose_8x8(
    m: [std::arch::x86_64::__m256i; 8],
) -> [std::arch::x86_64::__m256i; 8] {
    use std::arch::x86_64::*;
    unsafe {
        let t0 = _mm256_unpacklo_epi32(m[0], m[1]);
        let t1 = _mm256_unpackhi_epi32(m[0], m[1]);
        let t2 = _mm256_unpacklo_epi32(m[2], m[3]);
        let t3 = _mm256_unpackhi_epi32(m[2], m[3]);
        let t4 = _mm256_unpacklo_epi32(m[4], m[5]);
        let t5 = _mm256_unpackhi_epi32(m[4], m[5]);
        let t6 = _mm256_unpacklo_epi32(m[6], m[7]);
        let t7 = _mm256_unpackhi_epi32(m[6], m[7]);
        let u0 = _mm256_unpacklo_epi64(t0, t2);
        let u1 = _mm256_unpackhi_epi64(t0, t2);
        let u2 = _mm256_unpacklo_epi64(t1, t3);
        let u3 = _mm256_unpackhi_epi64(t1, t3);
        let u4 = _mm256_unpacklo_epi64(t4, t6);
        let u5 = _mm256_unpackhi_epi64(t4, t6);
        let u6 = _mm256_unpacklo_epi64(t5, t7);
        let u7 = _mm256_unpackhi_epi64(t5, t7);
        [
            _mm256_permute2x128_si256::<0x20>(u0, u4),
            _mm256_permute2x128_si256::<0x20>(u1, u5),
            _mm256_permute2x128_si256::<0x20>(u2, u6),
            _mm256_permute2x128_si256::<0x20>(u3, u7),
            _mm256_permute2x128_si256::<0x31>(u0, u4),
            _mm256_permute2x128_si256::<0x31>(u1, u5),
            _mm256_permute2x128_si256::<0x31>(u2, u6),
            _mm256_permute2x128_si256::<0x31>(u3, u7),
        ]
    }
}
