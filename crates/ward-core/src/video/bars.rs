//! Letterbox and pillarbox bars: the flat borders a re-upload often adds around a video, found
//! so that the frames inside them can be hashed too.
//!
//! vPDQ hashes whole frames, so a copy with bars added shares none of its frame hashes with
//! the original (Meta's reference gives 0% between its own grey-bar and no-bar samples). This
//! is Ward's addition, not the reference's: the reference hash is always computed as the
//! reference does, and the trimmed one beside it only serves matching.
//!
//! A border line (row or column) belongs to a bar when almost all its pixels are within a
//! small tolerance of the colour of the outermost line; scanning stops at the first line that
//! is not. Bars thinner than 2% of the side are ignored, and a frame that is flat all over
//! (a fade to black) has no bars.

/// How far a pixel's channel may be from the bar's colour (codec noise, dithering).
const TOLERANCE: u8 = 16;
/// The share of a line's pixels that may be off the colour (in parts per 256).
const STRAY_PER_256: usize = 3;
/// A bar must be at least this share of its side (in parts per 256: about 2%).
const MIN_BAR_PER_256: u32 = 5;
/// What is left inside the bars must be at least this share of each side (in parts per 256).
const MIN_INSIDE_PER_256: u32 = 64;

/// Bar thicknesses in pixels on each side of a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bars {
    pub top: u32,
    pub bottom: u32,
    pub left: u32,
    pub right: u32,
}

impl Bars {
    /// No bars at all.
    pub fn is_empty(&self) -> bool {
        *self == Bars::default()
    }

    /// Finds the bars of an RGB24 frame (`width * height * 3` bytes).
    pub fn find(rgb: &[u8], width: u32, height: u32) -> Bars {
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 || rgb.len() < w * h * 3 {
            return Bars::default();
        }
        let pixel = |x: usize, y: usize| -> [u8; 3] {
            let i = (y * w + x) * 3;
            [rgb[i], rgb[i + 1], rgb[i + 2]]
        };
        let rows = |y: usize, from: usize, to: usize| (from..to).map(move |x| pixel(x, y));
        let columns = |x: usize, from: usize, to: usize| (from..to).map(move |y| pixel(x, y));

        let top = edge(h, |i| rows(i, 0, w));
        if top == h {
            return Bars::default(); // flat all over
        }
        let bottom = edge(h - top, |i| rows(h - 1 - i, 0, w));
        let (inside_top, inside_bottom) = (top, h - bottom);
        let left = edge(w, |i| columns(i, inside_top, inside_bottom));
        let right = edge(w - left, |i| columns(w - 1 - i, inside_top, inside_bottom));

        let keep = |bar: usize, side: u32| {
            let bar = bar as u32;
            if u64::from(bar) * 256 >= u64::from(side) * u64::from(MIN_BAR_PER_256) {
                bar
            } else {
                0
            }
        };
        let bars = Bars {
            top: keep(top, height),
            bottom: keep(bottom, height),
            left: keep(left, width),
            right: keep(right, width),
        };
        let inside_w = width - bars.left - bars.right;
        let inside_h = height - bars.top - bars.bottom;
        if u64::from(inside_w) * 256 < u64::from(width) * u64::from(MIN_INSIDE_PER_256)
            || u64::from(inside_h) * 256 < u64::from(height) * u64::from(MIN_INSIDE_PER_256)
        {
            return Bars::default();
        }
        bars
    }

    /// The picture inside the bars, as RGB24 with its width and height.
    pub fn crop(&self, rgb: &[u8], width: u32, height: u32) -> (Vec<u8>, u32, u32) {
        let inside_w = width.saturating_sub(self.left + self.right);
        let inside_h = height.saturating_sub(self.top + self.bottom);
        let stride = width as usize * 3;
        let mut out = Vec::with_capacity(inside_w as usize * inside_h as usize * 3);
        for y in self.top..self.top + inside_h {
            let start = y as usize * stride + self.left as usize * 3;
            out.extend_from_slice(&rgb[start..start + inside_w as usize * 3]);
        }
        (out, inside_w, inside_h)
    }
}

/// How many of the `count` lines from one edge inwards (line `i` given by `line(i)`) are
/// flat in the colour of the first.
fn edge<L, I>(count: usize, line: L) -> usize
where
    L: Fn(usize) -> I,
    I: Iterator<Item = [u8; 3]> + Clone,
{
    let Some(colour) = (count > 0).then(|| mean(line(0))).flatten() else {
        return 0;
    };
    (0..count).take_while(|&i| is_flat(line(i), colour)).count()
}

fn mean(pixels: impl Iterator<Item = [u8; 3]>) -> Option<[u8; 3]> {
    let (mut sum, mut n) = ([0u64; 3], 0u64);
    for p in pixels {
        for c in 0..3 {
            sum[c] += u64::from(p[c]);
        }
        n += 1;
    }
    (n > 0).then(|| sum.map(|s| (s / n) as u8))
}

fn is_flat(pixels: impl Iterator<Item = [u8; 3]>, colour: [u8; 3]) -> bool {
    let (mut n, mut stray) = (0usize, 0usize);
    for p in pixels {
        n += 1;
        if (0..3).any(|c| p[c].abs_diff(colour[c]) > TOLERANCE) {
            stray += 1;
        }
    }
    n > 0 && stray * 256 <= n * STRAY_PER_256
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `width x height` frame of `background` with a textured rectangle inside `bars`.
    fn frame(width: u32, height: u32, bars: Bars, background: [u8; 3]) -> Vec<u8> {
        let mut rgb = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let inside = y >= bars.top
                    && y < height - bars.bottom
                    && x >= bars.left
                    && x < width - bars.right;
                if inside {
                    let v = ((x * 7 + y * 13) % 200) as u8 + 30;
                    rgb.extend_from_slice(&[v, v / 2, 255 - v]);
                } else {
                    rgb.extend_from_slice(&background);
                }
            }
        }
        rgb
    }

    #[test]
    fn finds_bars_of_any_colour_on_any_side() {
        let cases = [
            (
                Bars {
                    top: 45,
                    bottom: 45,
                    left: 0,
                    right: 0,
                },
                [0, 0, 0],
            ),
            (
                Bars {
                    top: 0,
                    bottom: 0,
                    left: 60,
                    right: 60,
                },
                [128, 128, 128],
            ),
            (
                Bars {
                    top: 20,
                    bottom: 30,
                    left: 10,
                    right: 40,
                },
                [250, 250, 250],
            ),
            (
                Bars {
                    top: 45,
                    bottom: 0,
                    left: 0,
                    right: 0,
                },
                [16, 16, 16],
            ),
            (Bars::default(), [0, 0, 0]),
        ];
        for (bars, colour) in cases {
            let rgb = frame(480, 360, bars, colour);
            assert_eq!(Bars::find(&rgb, 480, 360), bars, "{bars:?} in {colour:?}");
            let (inside, w, h) = bars.crop(&rgb, 480, 360);
            assert_eq!(
                (w, h),
                (480 - bars.left - bars.right, 360 - bars.top - bars.bottom)
            );
            assert_eq!(inside.len(), (w * h * 3) as usize);
        }
    }

    #[test]
    fn tolerates_codec_noise_in_bars() {
        let bars = Bars {
            top: 40,
            bottom: 40,
            left: 0,
            right: 0,
        };
        let mut rgb = frame(320, 240, bars, [0, 0, 0]);
        // Noise of up to 10 levels everywhere in the bars, one stray pixel per row.
        for y in (0..40).chain(200..240) {
            for x in 0..320usize {
                let i = (y * 320 + x) * 3;
                rgb[i] = ((x * 31 + y * 17) % 11) as u8;
            }
            rgb[(y * 320 + 100) * 3 + 1] = 200;
        }
        assert_eq!(Bars::find(&rgb, 320, 240), bars);
    }

    #[test]
    fn ignores_slivers_flat_frames_and_nearly_empty_insides() {
        // A 2-pixel line is encoder padding, not a bar.
        let thin = Bars {
            top: 2,
            bottom: 0,
            left: 0,
            right: 0,
        };
        assert!(Bars::find(&frame(480, 360, thin, [0, 0, 0]), 480, 360).is_empty());
        // A black frame.
        assert!(Bars::find(&vec![0; 480 * 360 * 3], 480, 360).is_empty());
        // Almost all bar: not trimmed to a sliver.
        let huge = Bars {
            top: 170,
            bottom: 170,
            left: 0,
            right: 0,
        };
        assert!(Bars::find(&frame(480, 360, huge, [0, 0, 0]), 480, 360).is_empty());
        // Too few bytes for the size claimed.
        assert!(Bars::find(&[0; 10], 480, 360).is_empty());
    }
}
