//! Moving eight rows of floats into and out of the interleaved blocks that the Jarosz passes
//! along rows work on (`block[col][lane]`, lane = row), with AVX2 8x8 transposes where the
//! CPU has them.
//!
//! Only data moves here, no arithmetic, so both versions give the same bits; the tests
//! compare them on every shape of remainder.

use super::jarosz::LANES;

/// `block[c][l] = rows[l * cols + c]` for every lane `l` and column `c < cols`. `rows`
/// holds [`LANES`] rows of `cols` floats (rows past the ones filled may hold anything: their
/// lanes are carried along and never read).
#[inline(always)]
pub(super) fn interleave(rows: &[f32], cols: usize, block: &mut [[f32; LANES]]) {
    assert!(rows.len() >= LANES * cols && block.len() >= cols);
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx2() {
        // SAFETY: the CPU supports AVX2, and the lengths were checked above.
        done = unsafe { avx2::interleave(rows, cols, block) };
    }
    interleave_portable(rows, cols, block, done);
}

/// [`interleave`] from column `from` on, one float at a time.
#[inline(always)]
fn interleave_portable(rows: &[f32], cols: usize, block: &mut [[f32; LANES]], from: usize) {
    for (c, cell) in block.iter_mut().enumerate().take(cols).skip(from) {
        for (l, v) in cell.iter_mut().enumerate() {
            *v = rows[l * cols + c];
        }
    }
}

/// `rows[l * cols + c] = block[c][l]`: the inverse of [`interleave`].
#[inline(always)]
pub(super) fn deinterleave(block: &[[f32; LANES]], cols: usize, rows: &mut [f32]) {
    assert!(rows.len() >= LANES * cols && block.len() >= cols);
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx2() {
        // SAFETY: the CPU supports AVX2, and the lengths were checked above.
        done = unsafe { avx2::deinterleave(block, cols, rows) };
    }
    deinterleave_portable(block, cols, rows, done);
}

/// [`deinterleave`] from column `from` on, one float at a time.
#[inline(always)]
fn deinterleave_portable(block: &[[f32; LANES]], cols: usize, rows: &mut [f32], from: usize) {
    for (c, cell) in block.iter().enumerate().take(cols).skip(from) {
        for (l, v) in cell.iter().enumerate() {
            rows[l * cols + c] = *v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::LANES;
    use crate::cpu::transpose_8x8 as transpose;

    /// [`super::interleave`] for whole tiles of eight columns; returns the columns done.
    ///
    /// # Safety
    /// The CPU must support AVX2; `rows` must hold `LANES * cols` floats and `block` `cols`
    /// cells.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn interleave(
        rows: &[f32],
        cols: usize,
        block: &mut [[f32; LANES]],
    ) -> usize {
        let tiles = cols / 8;
        let (src, dst) = (rows.as_ptr(), block.as_mut_ptr().cast::<f32>());
        for tile in 0..tiles {
            let c = tile * 8;
            // SAFETY: row `l`'s columns c..c+8 lie within `LANES * cols` floats, and cells
            // c..c+8 within `cols` cells of `LANES` floats.
            unsafe {
                let m: [__m256i; 8] =
                    std::array::from_fn(|l| _mm256_loadu_si256(src.add(l * cols + c).cast()));
                for (j, v) in transpose(m).into_iter().enumerate() {
                    _mm256_storeu_si256(dst.add((c + j) * LANES).cast(), v);
                }
            }
        }
        tiles * 8
    }

    /// [`super::deinterleave`] for whole tiles of eight columns; returns the columns done.
    ///
    /// # Safety
    /// As [`interleave`].
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn deinterleave(
        block: &[[f32; LANES]],
        cols: usize,
        rows: &mut [f32],
    ) -> usize {
        let tiles = cols / 8;
        let (src, dst) = (block.as_ptr().cast::<f32>(), rows.as_mut_ptr());
        for tile in 0..tiles {
            let c = tile * 8;
            // SAFETY: as in `interleave`, with source and destination swapped.
            unsafe {
                let m: [__m256i; 8] =
                    std::array::from_fn(|j| _mm256_loadu_si256(src.add((c + j) * LANES).cast()));
                for (l, v) in transpose(m).into_iter().enumerate() {
                    _mm256_storeu_si256(dst.add(l * cols + c).cast(), v);
                }
            }
        }
        tiles * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column count around the tile width, with distinct values everywhere: the
    /// dispatched version (AVX2 here, when the CPU has it) against the portable one, and
    /// both against the definition.
    #[test]
    fn interleaving_round_trips_and_matches_the_definition() {
        for cols in [1, 5, 7, 8, 9, 15, 16, 17, 64, 100, 1280] {
            let rows: Vec<f32> = (0..LANES * cols).map(|i| i as f32 + 0.5).collect();
            let mut block = vec![[0f32; LANES]; cols];
            interleave(&rows, cols, &mut block);
            let mut portable = vec![[0f32; LANES]; cols];
            interleave_portable(&rows, cols, &mut portable, 0);
            assert_eq!(block, portable, "cols {cols}");
            for (c, cell) in block.iter().enumerate() {
                for (l, v) in cell.iter().enumerate() {
                    assert_eq!(*v, rows[l * cols + c], "cols {cols}: col {c} lane {l}");
                }
            }
            let mut back = vec![0f32; LANES * cols];
            deinterleave(&block, cols, &mut back);
            assert_eq!(back, rows, "cols {cols}");
            let mut back = vec![0f32; LANES * cols];
            deinterleave_portable(&block, cols, &mut back, 0);
            assert_eq!(back, rows, "cols {cols}");
        }
    }
}
