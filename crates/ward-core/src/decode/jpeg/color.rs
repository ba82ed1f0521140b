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
    if h_max % plane.h != 0 || v_max % plane.v != 0 {
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
fn upsample_row(plane: &Plane, method: Upsampling, y: usize, out: &mut [u8]) {
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
            let column = |i: usize| u32::from(near[i]) * 3 + u32::from(far[i]);
            let mut this = column(0);
            let mut next = column(1);
            out[0] = ((this * 4 + 8) >> 4) as u8;
            out[1] = ((this * 3 + next + 7) >> 4) as u8;
            let mut previous = this;
            this = next;
            for i in 1..n - 1 {
                next = column(i + 1);
                out[2 * i] = ((this * 3 + previous + 8) >> 4) as u8;
                out[2 * i + 1] = ((this * 3 + next + 7) >> 4) as u8;
                previous = this;
                this = next;
            }
            out[2 * n - 2] = ((this * 3 + previous + 8) >> 4) as u8;
            out[2 * n - 1] = ((this * 4 + 7) >> 4) as u8;
        }
    }
}

/// For output row `y` of a component upsampled 2x vertically: the nearer input row, the
/// further one (the row above for even `y`, below for odd, repeating the edge rows as
/// libjpeg's context buffers do), and the rounding bias of the 1-D vertical filter.
fn vertical_neighbours(plane: &Plane, y: usize) -> (&[u8], &[u8], u32) {
    let last = plane.height - 1;
    let row = (y / 2).min(last);
    if y % 2 == 0 {
        (plane.row(row), plane.row(row.saturating_sub(1)), 1)
    } else {
        (plane.row(row), plane.row((row + 1).min(last)), 2)
    }
}

/// Upsamples and converts the planes to the pixels Pillow gets from libjpeg.
pub(super) fn convert(
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

    let channels = if space == ColorSpace::Grey { 1 } else { 3 };
    let mut out = vec![0u8; width * height * channels];
    for (y, out_row) in out.chunks_exact_mut(width * channels).enumerate() {
        for ((plane, method), row) in planes.iter().zip(&methods).zip(rows.iter_mut()) {
            upsample_row(plane, *method, y, row);
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

const SCALE_BITS: i32 = 16;
const ONE_HALF: i32 = 1 << (SCALE_BITS - 1);
// FIX(x) = x * 2^16 rounded, as libjpeg's jdcolor.c.
const FIX_1_40200: i32 = 91881;
const FIX_1_77200: i32 = 116130;
const FIX_0_71414: i32 = 46802;
const FIX_0_34414: i32 = 22554;

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

fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    for (((px, &y), &cb), &cr) in out.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
        px.copy_from_slice(&ycc_pixel(y, cb, cr));
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
        upsample_row(&p, Upsampling::FancyH2V1, 0, &mut out);
        // 0, (0*3+100+2)>>2=25, (300+0+1)>>2=75, (300+200+2)>>2=125, (600+100+1)>>2=175, 200
        assert_eq!(out, [0, 25, 75, 125, 175, 200]);
    }

    #[test]
    fn fancy_h2v2_uses_context_rows() {
        let p = plane(3, 2, vec![0, 0, 0, 160, 160, 160]);
        let mut out = [0u8; 6];
        // Row 0: nearer row 0, further row -1 (= row 0): all zero.
        upsample_row(&p, Upsampling::FancyH2V2, 0, &mut out);
        assert_eq!(out, [0; 6]);
        // Row 1: nearer row 0 (0), further row 1 (160): colsum 160, (160*4+8)>>4 = 40.
        upsample_row(&p, Upsampling::FancyH2V2, 1, &mut out);
        assert_eq!(out, [40, 40, 40, 40, 40, 40]);
        // Row 3: nearer row 1, further row 2 (= row 1): all 160.
        upsample_row(&p, Upsampling::FancyH2V2, 3, &mut out);
        assert_eq!(out, [160; 6]);
    }
}
