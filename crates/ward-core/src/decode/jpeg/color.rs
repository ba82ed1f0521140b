//! Chroma upsampling and colour conversion as libjpeg does them by default ("fancy"
//! triangle-filter upsampling, fixed-point YCbCr to RGB), then Pillow's CMYK conversion.

use crate::error::{Error, Result};

/// One decoded component at its own (downsampled) resolution.
#[derive(Debug)]
pub(super) struct Plane {
    pub(super) samples: Vec<u8>,
    pub(super) stride: usize,
    /// `ceil(image_width * h / h_max)`: the samples that hold image data.
    pub(super) width: usize,
    /// `ceil(image_height * v / v_max)`.
    pub(super) height: usize,
    pub(super) h: usize,
    pub(super) v: usize,
}

impl Plane {
    #[inline(always)]
    fn row(&self, y: usize) -> &[u8] {
        &self.samples[y * self.stride..y * self.stride + self.width]
    }
}

/// The colour space of the components, as libjpeg guesses it from the markers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ColorSpace {
    Grey,
    YCbCr,
    Rgb,
    Cmyk,
    Ycck,
}

/// How one component is brought to full resolution (libjpeg's `jinit_upsampler` choice).
#[derive(Clone, Copy, Debug)]
enum Upsampling {
    None,
    FancyH2V1,
    FancyH1V2,
    FancyH2V2,
    /// Pixel replication by integral factors.
    Replicate {
        h: usize,
        v: usize,
    },
}

fn upsampling(plane: &Plane, h_max: usize, v_max: usize) -> Result<Upsampling> {
    if !h_max.is_multiple_of(plane.h) || !v_max.is_multiple_of(plane.v) {
        return Err(Error::Unsupported {
            format: "jpeg",
            message: "fractional sampling factors".into(),
        });
    }
    let (h, v) = (h_max / plane.h, v_max / plane.v);
    Ok(match (h, v) {
        (1, 1) => Upsampling::None,
        (2, 1) if plane.width > 2 => Upsampling::FancyH2V1,
        (1, 2) => Upsampling::FancyH1V2,
        (2, 2) if plane.width > 2 => Upsampling::FancyH2V2,
        (h, v) => Upsampling::Replicate { h, v },
    })
}

/// Writes full-resolution row `y` of `plane` into `out` (at least `width` samples).
#[inline(always)]
fn upsample_row(plane: &Plane, method: Upsampling, y: usize, out: &mut [u8], sums: &mut Vec<u16>) {
    let last = plane.height - 1;
    match method {
        Upsampling::None => out[..plane.width].copy_from_slice(plane.row(y)),
        Upsampling::Replicate { h, v } => {
            let row = plane.row((y / v).min(last));
            for (chunk, &s) in out.chunks_mut(h).zip(row) {
                chunk.fill(s);
            }
        }
        Upsampling::FancyH2V1 => {
            let row = plane.row(y.min(last));
            let n = row.len();
            out[0] = row[0];
            out[1] = ((u32::from(row[0]) * 3 + u32::from(row[1]) + 2) >> 2) as u8;
            for i in 1..n - 1 {
                let this = u32::from(row[i]) * 3;
                out[2 * i] = ((this + u32::from(row[i - 1]) + 1) >> 2) as u8;
                out[2 * i + 1] = ((this + u32::from(row[i + 1]) + 2) >> 2) as u8;
            }
            out[2 * n - 2] = ((u32::from(row[n - 1]) * 3 + u32::from(row[n - 2]) + 1) >> 2) as u8;
            out[2 * n - 1] = row[n - 1];
        }
        Upsampling::FancyH1V2 => {
            let (near, far, bias) = vertical_neighbours(plane, y);
            for ((o, &a), &b) in out.iter_mut().zip(near).zip(far) {
                *o = ((u32::from(a) * 3 + u32::from(b) + bias) >> 2) as u8;
            }
        }
        Upsampling::FancyH2V2 => {
            let (near, far, _) = vertical_neighbours(plane, y);
            let n = near.len();
            // Column sums of the vertical filter first (a vectorisable pass), then the
            // horizontal filter over them, two outputs per input column.
            sums.clear();
            sums.extend(
                near.iter()
                    .zip(far)
                    .map(|(&a, &b)| u16::from(a) * 3 + u16::from(b)),
            );
            h2v2_filter(sums, &mut out[..2 * n]);
        }
    }
}

/// The horizontal half of libjpeg's `h2v2_fancy_upsample`, over the column sums of the
/// vertical half: two outputs per column, the row's first and last columns repeating.
#[inline(always)]
fn h2v2_filter(sums: &[u16], out: &mut [u8]) {
    let n = sums.len();
    out[0] = ((sums[0] * 4 + 8) >> 4) as u8;
    out[1] = ((sums[0] * 3 + sums[1] + 7) >> 4) as u8;
    // The interior, free of branches so that it vectorises.
    for (pair, window) in out[2..2 * n - 2].chunks_exact_mut(2).zip(sums.windows(3)) {
        let this = window[1] * 3;
        pair[0] = ((this + window[0] + 8) >> 4) as u8;
        pair[1] = ((this + window[2] + 7) >> 4) as u8;
    }
    out[2 * n - 2] = ((sums[n - 1] * 3 + sums[n - 2] + 8) >> 4) as u8;
    out[2 * n - 1] = ((sums[n - 1] * 4 + 7) >> 4) as u8;
}

/// For output row `y` of a component upsampled 2x vertically: the nearer input row, the
/// further one (the row above for even `y`, below for odd, repeating the edge rows as
/// libjpeg's context buffers do), and the rounding bias of the 1-D vertical filter.
#[inline(always)]
fn vertical_neighbours(plane: &Plane, y: usize) -> (&[u8], &[u8], u32) {
    let last = plane.height - 1;
    let row = (y / 2).min(last);
    if y.is_multiple_of(2) {
        (plane.row(row), plane.row(row.saturating_sub(1)), 1)
    } else {
        (plane.row(row), plane.row((row + 1).min(last)), 2)
    }
}

crate::cpu::vectorised! {
    /// Upsamples and converts the planes to the pixels Pillow gets from libjpeg.
    pub(super) fn convert(
        planes: &[Plane],
        width: usize,
        height: usize,
        space: ColorSpace,
    ) -> Result<super::Pixels> = convert_inner;
}

#[inline(always)]
fn convert_inner(
    planes: &[Plane],
    width: usize,
    height: usize,
    space: ColorSpace,
) -> Result<super::Pixels> {
    let h_max = planes.iter().map(|p| p.h).max().unwrap_or(1);
    let v_max = planes.iter().map(|p| p.v).max().unwrap_or(1);
    let methods = planes
        .iter()
        .map(|p| upsampling(p, h_max, v_max))
        .collect::<Result<Vec<_>>>()?;
    let padded = planes
        .iter()
        .map(|p| p.width * h_max / p.h)
        .max()
        .unwrap_or(width)
        .max(width)
        + 2;
    let mut rows: Vec<Vec<u8>> = planes.iter().map(|_| vec![0u8; padded]).collect();
    let mut sums = Vec::with_capacity(padded);

    let channels = if space == ColorSpace::Grey { 1 } else { 3 };
    let mut out = vec![0u8; width * height * channels];
    for (y, out_row) in out.chunks_exact_mut(width * channels).enumerate() {
        for ((plane, method), row) in planes.iter().zip(&methods).zip(rows.iter_mut()) {
            upsample_row(plane, *method, y, row, &mut sums);
        }
        match space {
            ColorSpace::Grey => out_row.copy_from_slice(&rows[0][..width]),
            ColorSpace::YCbCr => ycc_to_rgb(&rows[0][..width], &rows[1], &rows[2], out_row),
            ColorSpace::Rgb => {
                for (x, px) in out_row.chunks_exact_mut(3).enumerate() {
                    px.copy_from_slice(&[rows[0][x], rows[1][x], rows[2][x]]);
                }
            }
            ColorSpace::Cmyk => {
                for (x, px) in out_row.chunks_exact_mut(3).enumerate() {
                    let stored = [rows[0][x], rows[1][x], rows[2][x], rows[3][x]];
                    px.copy_from_slice(&inverted_cmyk_to_rgb(stored));
                }
            }
            ColorSpace::Ycck => {
                for (x, px) in out_row.chunks_exact_mut(3).enumerate() {
                    let [r, g, b] = ycc_pixel(rows[0][x], rows[1][x], rows[2][x]);
                    // libjpeg writes C = 255 - R (and so on) and passes K through.
                    let stored = [255 - r, 255 - g, 255 - b, rows[3][x]];
                    px.copy_from_slice(&inverted_cmyk_to_rgb(stored));
                }
            }
        }
    }
    Ok(match space {
        ColorSpace::Grey => super::Pixels::Grey(out),
        _ => super::Pixels::Rgb(out),
    })
}

pub(super) const SCALE_BITS: i32 = 16;
pub(super) const ONE_HALF: i32 = 1 << (SCALE_BITS - 1);
// FIX(x) = x * 2^16 rounded, as libjpeg's jdcolor.c.
pub(super) const FIX_1_40200: i32 = 91881;
pub(super) const FIX_1_77200: i32 = 116130;
pub(super) const FIX_0_71414: i32 = 46802;
pub(super) const FIX_0_34414: i32 = 22554;

/// libjpeg's `ycc_rgb_convert` for one pixel.
#[inline(always)]
fn ycc_pixel(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = i32::from(y);
    let cb = i32::from(cb) - 128;
    let cr = i32::from(cr) - 128;
    let red = y + ((FIX_1_40200 * cr + ONE_HALF) >> SCALE_BITS);
    let green = y + ((-FIX_0_34414 * cb + ONE_HALF - FIX_0_71414 * cr) >> SCALE_BITS);
    let blue = y + ((FIX_1_77200 * cb + ONE_HALF) >> SCALE_BITS);
    [red, green, blue].map(|v| v.clamp(0, 255) as u8)
}

/// libjpeg's `ycc_rgb_convert` for a row, with AVX2 where the CPU has it.
#[inline(always)]
fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx2() {
        // SAFETY: the CPU supports AVX2.
        let done = unsafe { super::avx2::ycc_to_rgb(y, cb, cr, out) };
        let n = out.len() / 3;
        ycc_to_rgb_portable(
            &y[done..n],
            &cb[done..n],
            &cr[done..n],
            &mut out[3 * done..],
        );
        return;
    }
    ycc_to_rgb_portable(y, cb, cr, out);
}

fn ycc_to_rgb_portable(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    // Written lane-wise (no per-pixel arrays) so that the compiler vectorises it.
    let n = out.len() / 3;
    let (y, cb, cr) = (&y[..n], &cb[..n], &cr[..n]);
    for (i, px) in out.chunks_exact_mut(3).enumerate() {
        let luma = i32::from(y[i]);
        let cb = i32::from(cb[i]) - 128;
        let cr = i32::from(cr[i]) - 128;
        let red = luma + ((FIX_1_40200 * cr + ONE_HALF) >> SCALE_BITS);
        let green = luma + ((-FIX_0_34414 * cb + ONE_HALF - FIX_0_71414 * cr) >> SCALE_BITS);
        let blue = luma + ((FIX_1_77200 * cb + ONE_HALF) >> SCALE_BITS);
        px[0] = red.clamp(0, 255) as u8;
        px[1] = green.clamp(0, 255) as u8;
        px[2] = blue.clamp(0, 255) as u8;
    }
}

/// Four-component JPEGs hold Adobe's inverted CMYK. Pillow undoes the inversion ("CMYK;I")
/// and converts with `cmyk2rgb`: `R = (255 - K) - C (255 - K) / 255` in integers.
fn inverted_cmyk_to_rgb(stored: [u8; 4]) -> [u8; 3] {
    let [c, m, y, k] = stored.map(|v| 255 - v);
    cmyk_to_rgb(c, m, y, k)
}

/// Pillow's `cmyk2rgb`.
fn cmyk_to_rgb(c: u8, m: u8, y: u8, k: u8) -> [u8; 3] {
    let not_k = 255 - i32::from(k);
    let channel = |v: u8| {
        let t = i32::from(v) * not_k + 128;
        (not_k - (((t >> 8) + t) >> 8)).clamp(0, 255) as u8
    };
    [channel(c), channel(m), channel(y)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_cmyk(cmyk: [u8; 4], rgb: [u8; 3]) {
        assert_eq!(
            cmyk_to_rgb(cmyk[0], cmyk[1], cmyk[2], cmyk[3]),
            rgb,
            "{cmyk:?}"
        );
    }

    #[test]
    fn cmyk_converts_like_pillow() {
        // Expected values printed by Pillow 13: Image.new("CMYK", (1, 1), v).convert("RGB").
        check_cmyk([0, 0, 0, 0], [255, 255, 255]);
        check_cmyk([255, 255, 255, 0], [0, 0, 0]);
        check_cmyk([0, 0, 0, 255], [0, 0, 0]);
        check_cmyk([255, 0, 0, 0], [0, 255, 255]);
        check_cmyk([128, 64, 32, 16], [119, 179, 209]);
        check_cmyk([10, 200, 90, 77], [171, 38, 115]);
    }

    #[test]
    fn vector_and_portable_colour_conversion_agree() {
        let n = 8 * 256 + 5;
        let y: Vec<u8> = (0..n).map(|i| (i * 7 % 256) as u8).collect();
        let cb: Vec<u8> = (0..n)
            .map(|i| (i / 256 * 37 % 256) as u8 ^ (i % 256) as u8)
            .collect();
        let cr: Vec<u8> = (0..n).map(|i| ((i * 13 + 5) % 256) as u8).collect();
        let mut portable = vec![0u8; 3 * n];
        ycc_to_rgb_portable(&y, &cb, &cr, &mut portable);
        let mut dispatched = vec![0u8; 3 * n];
        ycc_to_rgb(&y, &cb, &cr, &mut dispatched);
        assert_eq!(portable, dispatched);
        for i in 0..n {
            assert_eq!(
                &portable[3 * i..3 * i + 3],
                &ycc_pixel(y[i], cb[i], cr[i]),
                "{i}"
            );
        }
    }

    #[test]
    fn vector_and_baseline_upsampling_agree() {
        let mut seed = 7u32;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect()
        };
        for (width, height, chroma_h, chroma_v) in [
            (37, 21, 2, 2),
            (64, 9, 2, 1),
            (5, 17, 1, 2),
            (3, 3, 2, 2),
            (301, 7, 4, 1),
        ] {
            let luma = Plane {
                samples: noise(width * height),
                stride: width,
                width,
                height,
                h: chroma_h,
                v: chroma_v,
            };
            let (cw, ch) = (width.div_ceil(chroma_h), height.div_ceil(chroma_v));
            let chroma = || Plane {
                samples: Vec::new(),
                stride: cw,
                width: cw,
                height: ch,
                h: 1,
                v: 1,
            };
            let (mut cb, mut cr) = (chroma(), chroma());
            cb.samples = noise(cw * ch);
            cr.samples = noise(cw * ch);
            let planes = [luma, cb, cr];
            let dispatched = convert(&planes, width, height, ColorSpace::YCbCr).unwrap();
            let baseline = convert_inner(&planes, width, height, ColorSpace::YCbCr).unwrap();
            assert!(
                dispatched == baseline,
                "{width}x{height} {chroma_h}x{chroma_v}"
            );
        }
    }

    #[test]
    fn ycc_follows_libjpeg() {
        assert_eq!(ycc_pixel(128, 128, 128), [128, 128, 128]);
        assert_eq!(ycc_pixel(255, 128, 128), [255, 255, 255]);
        // Pure red in JFIF YCbCr (76, 85, 255) comes back as (254, 0, 0) in libjpeg.
        assert_eq!(ycc_pixel(76, 85, 255), [254, 0, 0]);
    }

    fn plane(width: usize, height: usize, samples: Vec<u8>) -> Plane {
        Plane {
            stride: width,
            samples,
            width,
            height,
            h: 1,
            v: 1,
        }
    }

    #[test]
    fn fancy_h2v1_is_a_triangle_filter() {
        let p = plane(3, 1, vec![0, 100, 200]);
        let mut out = [0u8; 6];
        upsample_row(&p, Upsampling::FancyH2V1, 0, &mut out, &mut Vec::new());
        // 0, (0*3+100+2)>>2=25, (300+0+1)>>2=75, (300+200+2)>>2=125, (600+100+1)>>2=175, 200
        assert_eq!(out, [0, 25, 75, 125, 175, 200]);
    }

    #[test]
    fn fancy_h2v2_uses_context_rows() {
        let p = plane(3, 2, vec![0, 0, 0, 160, 160, 160]);
        let mut out = [0u8; 6];
        // Row 0: nearer row 0, further row -1 (= row 0): all zero.
        upsample_row(&p, Upsampling::FancyH2V2, 0, &mut out, &mut Vec::new());
        assert_eq!(out, [0; 6]);
        // Row 1: nearer row 0 (0), further row 1 (160): colsum 160, (160*4+8)>>4 = 40.
        upsample_row(&p, Upsampling::FancyH2V2, 1, &mut out, &mut Vec::new());
        assert_eq!(out, [40, 40, 40, 40, 40, 40]);
        // Row 3: nearer row 1, further row 2 (= row 1): all 160.
        upsample_row(&p, Upsampling::FancyH2V2, 3, &mut out, &mut Vec::new());
        assert_eq!(out, [160; 6]);
    }
}
