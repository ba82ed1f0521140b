//! JPEG through zune-jpeg: baseline, progressive, greyscale, and CMYK/YCCK converted as
//! libjpeg and Pillow convert them.

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;
use zune_jpeg::errors::DecodeErrors;

use super::{DecodeOptions, Orientation, Picture, Pixels, check_size};
use crate::error::{Error, Result};

pub(super) fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<(Picture, Option<Orientation>)> {
    // Strict mode turns a premature end of data into an error instead of grey fill, as
    // Pillow refuses truncated files. Other strict-mode complaints (stray bytes between
    // markers and the like) are tolerated by libjpeg, so those files are decoded again
    // leniently.
    match decode_with(bytes, options, true) {
        Err(Error::Corrupt { message, .. }) if !is_truncation(&message) => {
            decode_with(bytes, options, false)
        }
        Err(Error::Corrupt { .. }) => Err(Error::Truncated { format: "jpeg" }),
        other => other,
    }
}

fn is_truncation(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("premature end") || message.contains("no more bytes") || message.contains("eof")
}

fn decode_with(
    bytes: &[u8],
    options: &DecodeOptions,
    strict: bool,
) -> Result<(Picture, Option<Orientation>)> {
    let zune_options = DecoderOptions::default()
        .set_strict_mode(strict)
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX));
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), zune_options);
    decoder.decode_headers().map_err(corrupt)?;
    let (width, height) = decoder.dimensions().ok_or_else(|| corrupt_message("no frame header"))?;
    check_size(width as u64, height as u64, options)?;
    let input = decoder.input_colorspace().ok_or_else(|| corrupt_message("no colour space"))?;
    let orientation = if options.exif_orient {
        decoder.exif().and_then(|exif| image::metadata::Orientation::from_exif_chunk(exif)).map(Orientation::from)
    } else {
        None
    };

    let output = match input {
        ColorSpace::Luma | ColorSpace::LumaA => ColorSpace::Luma,
        ColorSpace::CMYK => ColorSpace::CMYK,
        ColorSpace::YCCK => ColorSpace::YCCK,
        _ => ColorSpace::RGB,
    };
    decoder.set_options(zune_options.jpeg_set_out_colorspace(output));
    let samples = decoder.decode().map_err(corrupt)?;

    let pixels = match output {
        ColorSpace::Luma => Pixels::Grey(samples),
        ColorSpace::CMYK => Pixels::Rgb(inverted_cmyk_to_rgb(&samples)),
        ColorSpace::YCCK => Pixels::Rgb(ycck_to_rgb(&samples)),
        _ => Pixels::Rgb(samples),
    };
    Ok((Picture::new(width as u32, height as u32, pixels)?, orientation))
}

fn corrupt(error: DecodeErrors) -> Error {
    corrupt_message(&error.to_string())
}

fn corrupt_message(message: &str) -> Error {
    Error::Corrupt { format: "jpeg", message: message.to_string() }
}

/// Four-component JPEGs hold Adobe's inverted CMYK; Pillow undoes the inversion ("CMYK;I")
/// and then converts with `R = 255 - K - C (255 - K) / 255` in integer arithmetic.
fn inverted_cmyk_to_rgb(samples: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(samples.len() / 4 * 3);
    for p in samples.chunks_exact(4) {
        let [c, m, y, k] = [p[0], p[1], p[2], p[3]].map(|v| 255 - v);
        rgb.extend_from_slice(&cmyk_pixel_to_rgb(c, m, y, k));
    }
    rgb
}

/// Pillow's `cmyk2rgb`.
fn cmyk_pixel_to_rgb(c: u8, m: u8, y: u8, k: u8) -> [u8; 3] {
    let not_k = 255 - i32::from(k);
    let channel = |v: u8| {
        let t = i32::from(v) * not_k + 128;
        (not_k - (((t >> 8) + t) >> 8)).clamp(0, 255) as u8
    };
    [channel(c), channel(m), channel(y)]
}

/// YCCK (Adobe transform 2): libjpeg turns YCC into inverted CMY with its fixed-point
/// YCbCr tables and passes K through; then the CMYK path above.
fn ycck_to_rgb(samples: &[u8]) -> Vec<u8> {
    const SCALE_BITS: i32 = 16;
    const HALF: i32 = 1 << (SCALE_BITS - 1);
    let fix = |x: f64| (x * f64::from(1 << SCALE_BITS) + 0.5) as i32;
    let mut rgb = Vec::with_capacity(samples.len() / 4 * 3);
    for p in samples.chunks_exact(4) {
        let y = i32::from(p[0]);
        let cb = i32::from(p[1]) - 128;
        let cr = i32::from(p[2]) - 128;
        let red = y + ((fix(1.402) * cr + HALF) >> SCALE_BITS);
        let green = y + ((-fix(0.344_14) * cb + HALF - fix(0.714_14) * cr) >> SCALE_BITS);
        let blue = y + ((fix(1.772) * cb + HALF) >> SCALE_BITS);
        let inverted = |v: i32| (255 - v).clamp(0, 255) as u8;
        let stored = [inverted(red), inverted(green), inverted(blue), p[3]];
        let [c, m, yy, k] = stored.map(|v| 255 - v);
        rgb.extend_from_slice(&cmyk_pixel_to_rgb(c, m, yy, k));
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_cmyk(cmyk: [u8; 4], rgb: [u8; 3]) {
        assert_eq!(cmyk_pixel_to_rgb(cmyk[0], cmyk[1], cmyk[2], cmyk[3]), rgb, "{cmyk:?}");
    }

    #[test]
    fn cmyk_converts_like_pillow() {
        check_cmyk([0, 0, 0, 0], [255, 255, 255]);
        check_cmyk([255, 255, 255, 0], [0, 0, 0]);
        check_cmyk([0, 0, 0, 255], [0, 0, 0]);
        check_cmyk([255, 0, 0, 0], [0, 255, 255]);
        check_cmyk([128, 64, 32, 16], [119, 179, 209]);
        check_cmyk([10, 200, 90, 77], [171, 38, 115]);
    }

    #[test]
    fn ycck_follows_libjpeg_then_pillow() {
        // libjpeg writes C = 255 - R(YCC) with K passed through; Pillow then inverts all four.
        // With neutral chroma and K stored as 255 (no black ink), Y = 0 means no ink at all.
        assert_eq!(ycck_to_rgb(&[0, 128, 128, 255]), vec![255, 255, 255]);
        assert_eq!(ycck_to_rgb(&[255, 128, 128, 255]), vec![0, 0, 0]);
        // Stored K of 0 is full black whatever the colour.
        assert_eq!(ycck_to_rgb(&[0, 128, 128, 0]), vec![0, 0, 0]);
    }
}
