//! EXIF orientation: the eight ways a camera may ask for its pixels to be turned.

use super::{Picture, Pixels};

/// The transform that shows a picture upright, from its EXIF orientation tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Orientation {
    /// Tag 1.
    Upright,
    /// Tag 2: mirror left to right.
    FlipHorizontal,
    /// Tag 3.
    Rotate180,
    /// Tag 4: mirror top to bottom.
    FlipVertical,
    /// Tag 5: mirror along the main diagonal.
    Transpose,
    /// Tag 6: rotate 90 degrees clockwise.
    Rotate90,
    /// Tag 7: mirror along the other diagonal.
    Transverse,
    /// Tag 8: rotate 270 degrees clockwise.
    Rotate270,
}

impl From<image::metadata::Orientation> for Orientation {
    fn from(o: image::metadata::Orientation) -> Orientation {
        use image::metadata::Orientation as I;
        match o {
            I::NoTransforms => Orientation::Upright,
            I::FlipHorizontal => Orientation::FlipHorizontal,
            I::Rotate180 => Orientation::Rotate180,
            I::FlipVertical => Orientation::FlipVertical,
            I::Rotate90FlipH => Orientation::Transpose,
            I::Rotate90 => Orientation::Rotate90,
            I::Rotate270FlipH => Orientation::Transverse,
            I::Rotate270 => Orientation::Rotate270,
        }
    }
}

/// Turns the picture upright.
pub(super) fn apply(picture: Picture, orientation: Orientation) -> Picture {
    if orientation == Orientation::Upright {
        return picture;
    }
    let (w, h) = (picture.width as usize, picture.height as usize);
    let swaps = matches!(
        orientation,
        Orientation::Transpose
            | Orientation::Rotate90
            | Orientation::Transverse
            | Orientation::Rotate270
    );
    let (out_w, out_h) = if swaps { (h, w) } else { (w, h) };
    // For each output pixel, the input pixel it shows.
    let source = |x: usize, y: usize| -> (usize, usize) {
        match orientation {
            Orientation::Upright => (x, y),
            Orientation::FlipHorizontal => (w - 1 - x, y),
            Orientation::Rotate180 => (w - 1 - x, h - 1 - y),
            Orientation::FlipVertical => (x, h - 1 - y),
            Orientation::Transpose => (y, x),
            Orientation::Rotate90 => (y, h - 1 - x),
            Orientation::Transverse => (w - 1 - y, h - 1 - x),
            Orientation::Rotate270 => (w - 1 - y, x),
        }
    };
    let remap = |samples: &[u8], channels: usize| -> Vec<u8> {
        let mut out = Vec::with_capacity(samples.len());
        for y in 0..out_h {
            for x in 0..out_w {
                let (sx, sy) = source(x, y);
                let at = (sy * w + sx) * channels;
                out.extend_from_slice(&samples[at..at + channels]);
            }
        }
        out
    };
    let pixels = match &picture.pixels {
        Pixels::Grey(samples) => Pixels::Grey(remap(samples, 1)),
        Pixels::Rgb(samples) => Pixels::Rgb(remap(samples, 3)),
    };
    Picture {
        width: out_w as u32,
        height: out_h as u32,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x2 grey picture:
    /// 1 2 3
    /// 4 5 6
    fn sample() -> Picture {
        Picture::new(3, 2, Pixels::Grey(vec![1, 2, 3, 4, 5, 6])).unwrap()
    }

    fn check(orientation: Orientation, width: u32, expected: &[u8]) {
        let out = apply(sample(), orientation);
        assert_eq!(out.width, width, "{orientation:?}");
        assert_eq!(
            out.pixels,
            Pixels::Grey(expected.to_vec()),
            "{orientation:?}"
        );
    }

    #[test]
    fn orientations_turn_the_picture_upright() {
        check(Orientation::Upright, 3, &[1, 2, 3, 4, 5, 6]);
        check(Orientation::FlipHorizontal, 3, &[3, 2, 1, 6, 5, 4]);
        check(Orientation::Rotate180, 3, &[6, 5, 4, 3, 2, 1]);
        check(Orientation::FlipVertical, 3, &[4, 5, 6, 1, 2, 3]);
        check(Orientation::Transpose, 2, &[1, 4, 2, 5, 3, 6]);
        check(Orientation::Rotate90, 2, &[4, 1, 5, 2, 6, 3]);
        check(Orientation::Transverse, 2, &[6, 3, 5, 2, 4, 1]);
        check(Orientation::Rotate270, 2, &[3, 6, 2, 5, 1, 4]);
    }
}
