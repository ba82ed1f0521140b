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
