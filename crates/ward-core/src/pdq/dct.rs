//! PDQ's quality metric, 16x16 DCT, median threshold and dihedral variants, as Meta's C++.

use std::sync::OnceLock;

use super::hash::{PdqHash, Quality};

/// The 16 lowest non-DC frequencies of a 64-point DCT-II: `D[i][j]`, i = 0..16, j = 0..64.
///
/// The reference computes the scale factor as a float, multiplies it by a double cosine and
/// stores the product as a float; the same roundings are kept here.
/// The matrix and its transpose.
type DctMatrix = ([[f32; 64]; 16], [[f32; 16]; 64]);

fn dct_matrix() -> &'static DctMatrix {
    static MATRIX: OnceLock<DctMatrix> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut d = [[0f32; 64]; 16];
        let mut transposed = [[0f32; 16]; 64];
        for (i, row) in d.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                let angle =
                    (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                *cell = (f64::from(scale) * angle.cos()) as f32;
                transposed[j][i] = *cell;
            }
        }
        (d, transposed)
    })
}

/// The reference's image-domain quality: the sum of quantised neighbour gradients of the
/// 64x64 downsample, scaled to 0..=100.
pub(crate) fn quality(a: &[[f32; 64]; 64]) -> Quality {
    // The reference: `int d = ((u - v) * 100) / 255;` in float32, truncated toward zero.
    let gradient = |u: f32, v: f32| -> u32 { ((((u - v) * 100.0) / 255.0) as i32).unsigned_abs() };
    let mut sum = 0u32;
    for i in 0..63 {
        for j in 0..64 {
            sum += gradient(a[i][j], a[i + 1][j]);
        }
    }
    for row in a {
        for j in 0..63 {
            sum += gradient(row[j], row[j + 1]);
        }
    }
    Quality::saturating(sum / 90)
}

/// `B = D A D^T` for the 16x16 low frequencies, with the reference's summation order:
/// every dot product starts at zero and adds its 64 products in index order, in float32.
pub(crate) fn dct_16x16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let (d, dt) = dct_matrix();
    // T = D A (16x64); vectorised over j, each T[i][j] still sums over k in order.
    let mut t = [[0f32; 64]; 16];
    for (t_row, d_row) in t.iter_mut().zip(d) {
        for (k, a_row) in a.iter().enumerate() {
            let weight = d_row[k];
            for (cell, &value) in t_row.iter_mut().zip(a_row) {
                *cell += weight * value;
            }
        }
    }
    // B = T D^T (16x16); B[i][j] = sum over k of T[i][k] * D[j][k].
    let mut b = [[0f32; 16]; 16];
    for (b_row, t_row) in b.iter_mut().zip(&t) {
        for (k, &value) in t_row.iter().enumerate() {
            for (cell, &weight) in b_row.iter_mut().zip(&dt[k]) {
                *cell += value * weight;
            }
        }
    }
    b
}

/// Sets bit `16 i + j` where `B[i][j]` is above the lower median of the 256 values (what
/// Torben's algorithm returns for an even count).
pub(crate) fn threshold(b: &[[f32; 16]; 16]) -> PdqHash {
    let mut values: Vec<f32> = b.iter().flatten().copied().collect();
    let (_, median, _) = values.select_nth_unstable_by(127, f32::total_cmp);
    let median = *median;
    let mut hash = PdqHash::default();
    for (k, &v) in b.iter().flatten().enumerate() {
        if v > median {
            hash.set_bit(k);
        }
    }
    hash
}

/// The eight dihedral transforms of the DCT, in Meta's order: original, rotate 90,
/// rotate 180, rotate 270, flip X, flip Y, flip plus-1 (transpose), flip minus-1.
pub(crate) fn dihedral(a: &[[f32; 16]; 16]) -> [[[f32; 16]; 16]; 8] {
    let odd = |n: usize| n & 1 == 1;
    let sign = |negate: bool, v: f32| if negate { -v } else { v };
    let mut out = [[[0f32; 16]; 16]; 8];
    for i in 0..16 {
        for j in 0..16 {
            let v = a[i][j];
            out[0][i][j] = v;
            out[1][j][i] = sign(!odd(j), v);
            out[2][i][j] = sign(odd(i + j), v);
            out[3][j][i] = sign(!odd(i), v);
            out[4][i][j] = sign(!odd(i), v);
            out[5][i][j] = sign(!odd(j), v);
            out[6][j][i] = v;
            out[7][j][i] = sign(odd(i + j), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_matrix_rows_are_orthonormal_cosines() {
        let (d, dt) = dct_matrix();
        for i in 0..16 {
            let norm: f64 = d[i].iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            assert!((norm - 1.0).abs() < 1e-5, "row {i}: {norm}");
            for j in 0..64 {
                assert_eq!(d[i][j], dt[j][i]);
            }
        }
        // D[0][0] = sqrt(2/64) cos(pi/128)
        assert!((d[0][0] - 0.176_723_4).abs() < 1e-6);
    }

    #[test]
    fn flat_image_has_zero_quality_and_ties() {
        let a = [[128f32; 64]; 64];
        assert_eq!(quality(&a).get(), 0);
        let b = dct_16x16(&a);
        assert!(b.iter().flatten().all(|v| v.abs() < 1e-3));
    }

    #[test]
    fn quality_counts_quantised_gradients() {
        // A vertical step of 255 between two halves: 64 vertical pairs differ by 100 each.
        let mut a = [[0f32; 64]; 64];
        for row in a.iter_mut().skip(32) {
            row.fill(255.0);
        }
        assert_eq!(quality(&a).get(), (64 * 100 / 90) as u8);
        // Gradients below 2.55 grey levels count as zero.
        let mut b = [[0f32; 64]; 64];
        for (i, row) in b.iter_mut().enumerate() {
            row.fill(i as f32 * 2.5);
        }
        assert_eq!(quality(&b).get(), 0);
    }

    #[test]
    fn threshold_sets_half_the_bits_without_ties() {
        let mut b = [[0f32; 16]; 16];
        for (k, v) in b.iter_mut().flatten().enumerate() {
            *v = ((k * 37) % 256) as f32;
        }
        let hash = threshold(&b);
        assert_eq!(hash.count_ones(), 128);
        for (k, v) in b.iter().flatten().enumerate() {
            assert_eq!(hash.bit(k), *v > 127.0);
        }
    }

    #[test]
    fn dihedral_of_transpose_is_transpose() {
        let mut a = [[0f32; 16]; 16];
        for (k, v) in a.iter_mut().flatten().enumerate() {
            *v = k as f32 - 100.0;
        }
        let all = dihedral(&a);
        assert_eq!(all[0], a);
        for i in 0..16 {
            for j in 0..16 {
                assert_eq!(all[6][j][i], a[i][j]);
                // rotating by 180 twice is the identity; rot90 then rot270 likewise.
                assert_eq!(dihedral(&all[2])[2][i][j], a[i][j]);
                assert_eq!(dihedral(&all[1])[3][i][j], a[i][j]);
            }
        }
    }
}
