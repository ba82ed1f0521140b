//! Rows of float luma, read from a decoded picture the way each reference pipeline reads it.

use crate::decode::{Picture, Pixels};

/// How the reference turns RGB into luma.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LumaFormula {
    /// `0.299 R + 0.587 G + 0.114 B` in float64, rounded to float32: what the `pdqhash`
    /// binding (and so HMA and python-threatexchange) feeds to Meta's C++ core.
    Float64,
    /// The same formula with float32 coefficients and float32 arithmetic: Meta's C++
    /// `fillFloatLumaFromRGB`, used by the command-line tool and its WASM build.
    Float32,
}

/// A source of luma rows, possibly through a nearest-neighbour resize.
///
/// Reading rows on demand lets the hasher stream through an image without holding a
/// full-size float copy of it.
#[derive(Debug)]
pub(crate) struct LumaRows<'a> {
    picture: &'a Picture,
    formula: LumaFormula,
    rows: usize,
    cols: usize,
    /// Source row of each output row, when resizing.
    row_map: Option<Vec<usize>>,
    /// Source column of each output column, when resizing.
    col_map: Option<Vec<usize>>,
}

impl<'a> LumaRows<'a> {
    /// Every pixel of the picture, at its own size.
    pub(crate) fn full(picture: &'a Picture, formula: LumaFormula) -> LumaRows<'a> {
        LumaRows {
            picture,
            formula,
            rows: picture.height() as usize,
            cols: picture.width() as usize,
            row_map: None,
            col_map: None,
        }
    }

    /// The picture resized to `rows` x `cols` by nearest neighbour as CImg's `resize` does it:
    /// output index `x` reads source index `floor(x * old / new)`.
    pub(crate) fn nearest(
        picture: &'a Picture,
        formula: LumaFormula,
        rows: usize,
        cols: usize,
    ) -> LumaRows<'a> {
        let map = |old: u32, new: usize| -> Vec<usize> {
            (0..new)
                .map(|x| ((x as f64 * f64::from(old)) / new as f64) as usize)
                .map(|i| i.min(old as usize - 1))
                .collect()
        };
        LumaRows {
            picture,
            formula,
            rows,
            cols,
            row_map: Some(map(picture.height(), rows)),
            col_map: Some(map(picture.width(), cols)),
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// Writes luma row `row` into `out` (`cols` values).
    #[inline(always)]
    pub(crate) fn fill(&self, row: usize, out: &mut [f32]) {
        let out = &mut out[..self.cols];
        let source_row = self.row_map.as_ref().map_or(row, |m| m[row]);
        let width = self.picture.width() as usize;
        match self.picture.pixels() {
            Pixels::Grey(grey) => {
                let line = &grey[source_row * width..(source_row + 1) * width];
                match &self.col_map {
                    None => {
                        for (o, &v) in out.iter_mut().zip(line) {
                            *o = f32::from(v);
                        }
                    }
                    Some(map) => {
                        for (o, &c) in out.iter_mut().zip(map) {
                            *o = f32::from(line[c]);
                        }
                    }
                }
            }
            Pixels::Rgb(rgb) => {
                let line = &rgb[source_row * width * 3..(source_row + 1) * width * 3];
                match (&self.col_map, self.formula) {
                    (None, LumaFormula::Float64) => luma_f64(line, out),
                    (None, LumaFormula::Float32) => luma_f32(line, out),
                    (Some(map), formula) => {
                        for (o, &c) in out.iter_mut().zip(map) {
                            let px = &line[c * 3..c * 3 + 3];
                            *o = match formula {
                                LumaFormula::Float64 => luma_f64_pixel(px[0], px[1], px[2]),
                                LumaFormula::Float32 => luma_f32_pixel(px[0], px[1], px[2]),
                            };
                        }
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn luma_f64_pixel(r: u8, g: u8, b: u8) -> f32 {
    // numpy evaluates `r*0.299 + g*0.587 + b*0.114` left to right in float64.
    (f64::from(r) * 0.299 + f64::from(g) * 0.587 + f64::from(b) * 0.114) as f32
}

#[inline(always)]
fn luma_f32_pixel(r: u8, g: u8, b: u8) -> f32 {
    0.299f32 * f32::from(r) + 0.587f32 * f32::from(g) + 0.114f32 * f32::from(b)
}

#[inline(always)]
fn luma_f64(rgb: &[u8], out: &mut [f32]) {
    for (o, px) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        *o = luma_f64_pixel(px[0], px[1], px[2]);
    }
}

#[inline(always)]
fn luma_f32(rgb: &[u8], out: &mut [f32]) {
    for (o, px) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        *o = luma_f32_pixel(px[0], px[1], px[2]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_agree_on_grey_and_extremes() {
        for v in [0u8, 1, 17, 128, 254, 255] {
            assert_eq!(luma_f64_pixel(v, v, v), f32::from(v));
        }
        assert_eq!(luma_f64_pixel(255, 0, 0), (255.0f64 * 0.299) as f32);
    }

    #[test]
    fn nearest_map_follows_cimg() {
        let picture = Picture::new(
            1000,
            3,
            Pixels::Grey((0..3000).map(|i| (i % 251) as u8).collect()),
        )
        .unwrap();
        let rows = LumaRows::nearest(&picture, LumaFormula::Float32, 2, 512);
        let map = rows.col_map.as_ref().unwrap();
        assert_eq!(map[0], 0);
        assert_eq!(map[1], 1); // 1000/512 = 1.95
        assert_eq!(map[2], 3);
        assert_eq!(map[511], 998);
        assert_eq!(rows.row_map.as_ref().unwrap(), &vec![0, 1]);
    }
}
