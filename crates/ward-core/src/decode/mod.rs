//! Decoding untrusted image bytes: here are bytes, give me the RGB (or grey) pixels that the
//! reference hashes.
//!
//! Every input is hostile until decoded: dimensions are checked against a pixel limit
//! before any pixel buffer is allocated, truncated and corrupt files become typed errors,
//! and no decoder may panic the caller (decoding runs under `catch_unwind` as a last line).
//!
//! Colour handling follows what the reference pipeline (Pillow's `convert("RGB")`, then
//! Meta's core) sees, which is not always what python-threatexchange passes along: palette
//! images are looked up in their palette (not hashed as indices), CMYK is converted with
//! Pillow's formula (not read as RGB), alpha is dropped without compositing, 16-bit samples
//! keep their high byte, except 16-bit grey, which Pillow clips to 255.

mod gif;
mod jpeg;
mod orientation;

use std::fmt;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use crate::error::{Error, Result};
pub use orientation::Orientation;

/// The pixels of a decoded picture, row-major, 8 bits per sample.
#[derive(Clone, PartialEq, Eq)]
pub enum Pixels {
    /// One sample per pixel.
    Grey(Vec<u8>),
    /// Three samples per pixel, R, G, B.
    Rgb(Vec<u8>),
}

impl fmt::Debug for Pixels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pixels::Grey(s) => write!(f, "Grey({} samples)", s.len()),
            Pixels::Rgb(s) => write!(f, "Rgb({} samples)", s.len()),
        }
    }
}

impl Pixels {
    fn channels(&self) -> usize {
        match self {
            Pixels::Grey(_) => 1,
            Pixels::Rgb(_) => 3,
        }
    }

    fn samples(&self) -> &[u8] {
        match self {
            Pixels::Grey(s) | Pixels::Rgb(s) => s,
        }
    }
}

/// A decoded picture.
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    width: u32,
    height: u32,
    pixels: Pixels,
}

impl fmt::Debug for Picture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.pixels {
            Pixels::Grey(_) => "grey",
            Pixels::Rgb(_) => "rgb",
        };
        write!(f, "Picture({}x{} {kind})", self.width, self.height)
    }
}

impl Picture {
    /// Wraps pixels; fails when the buffer does not hold `width * height` pixels.
    pub fn new(width: u32, height: u32, pixels: Pixels) -> Result<Picture> {
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(pixels.channels()));
        if expected != Some(pixels.samples().len()) {
            return Err(Error::InvalidOption(format!(
                "{} samples cannot be a {width}x{height} picture",
                pixels.samples().len()
            )));
        }
        Ok(Picture {
            width,
            height,
            pixels,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn pixels(&self) -> &Pixels {
        &self.pixels
    }

    /// Gives the pixel buffer back (to reuse it for the next frame of a video).
    pub fn into_pixels(self) -> Pixels {
        self.pixels
    }
}

/// The image formats Ward decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    WebP,
    Bmp,
    Tiff,
}

impl ImageFormat {
    /// Recognises a format from the first bytes of a file (never from its name).
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        let starts = |magic: &[u8]| bytes.starts_with(magic);
        if starts(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if starts(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if starts(b"GIF87a") || starts(b"GIF89a") {
            Some(ImageFormat::Gif)
        } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::WebP)
        } else if starts(b"BM") {
            Some(ImageFormat::Bmp)
        } else if starts(b"II*\0") || starts(b"MM\0*") {
            Some(ImageFormat::Tiff)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::WebP => "webp",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Tiff => "tiff",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Pictures with more pixels than this are refused before any pixel is decoded.
    pub max_pixels: u64,
    /// Apply the EXIF orientation. The reference does not, so hashes made with it do not
    /// match the field's lists for rotated photos; it is off by default.
    pub exif_orient: bool,
}

impl DecodeOptions {
    /// 200 megapixels: larger than any camera, smaller than a decompression bomb.
    pub const DEFAULT_MAX_PIXELS: u64 = 200_000_000;
}

impl Default for DecodeOptions {
    fn default() -> DecodeOptions {
        DecodeOptions {
            max_pixels: DecodeOptions::DEFAULT_MAX_PIXELS,
            exif_orient: false,
        }
    }
}

/// Decodes an image file held in memory.
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Picture> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let format = ImageFormat::sniff(bytes).ok_or(Error::UnsupportedFormat)?;
    // The decoders are meant never to panic on bad input; if one does, the input is
    // reported as corrupt rather than taking the caller down with it.
    let decoded = catch_unwind(AssertUnwindSafe(|| decode_format(format, bytes, options)));
    let (picture, orientation) = decoded.unwrap_or_else(|_| {
        Err(Error::Corrupt {
            format: format.name(),
            message: "decoder failed".into(),
        })
    })?;
    Ok(match orientation {
        Some(orientation) if options.exif_orient => orientation::apply(picture, orientation),
        _ => picture,
    })
}

/// What decoding a file will take, read from its headers alone: no pixel is decoded and no
/// pixel buffer allocated. A server admits decodes within a memory budget by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodePlan {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// The most bytes [`decode`] holds at once for this file (pixel buffers and the
    /// decoder's own), besides the file's bytes: an upper bound, for the colour type, bit
    /// depth, sampling and scans the headers declare.
    pub memory: u64,
}

/// Reads the headers of an image file held in memory: its format, its dimensions (refused
/// over the pixel limit, as [`decode`] refuses them) and the memory decoding it takes. A
/// file whose headers are damaged gets the error [`decode`] would give for them.
pub fn plan(bytes: &[u8], options: &DecodeOptions) -> Result<DecodePlan> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let format = ImageFormat::sniff(bytes).ok_or(Error::UnsupportedFormat)?;
    let planned = catch_unwind(AssertUnwindSafe(|| match format {
        ImageFormat::Jpeg => jpeg::plan(bytes, options),
        ImageFormat::Gif => gif::plan(bytes, options),
        ImageFormat::Png | ImageFormat::WebP | ImageFormat::Bmp | ImageFormat::Tiff => {
            plan_with_image(format, bytes, options)
        }
    }));
    let (width, height, mut memory) = planned.unwrap_or_else(|_| {
        Err(Error::Corrupt {
            format: format.name(),
            message: "decoder failed".into(),
        })
    })?;
    if options.exif_orient {
        // A turned picture is a copy of the decoded one.
        memory += u64::from(width) * u64::from(height) * 3;
    }
    Ok(DecodePlan {
        format,
        width,
        height,
        memory,
    })
}

/// Refuses dimensions over the limit; called before any pixel buffer exists.
pub(crate) fn check_size(width: u64, height: u64, options: &DecodeOptions) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Corrupt {
            format: "image",
            message: format!("zero-sized picture ({width}x{height})"),
        });
    }
    if width.saturating_mul(height) > options.max_pixels {
        return Err(Error::TooLarge {
            width,
            height,
            limit: options.max_pixels,
        });
    }
    Ok(())
}

fn decode_format(
    format: ImageFormat,
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<(Picture, Option<Orientation>)> {
    match format {
        ImageFormat::Jpeg => jpeg::decode(bytes, options),
        ImageFormat::Gif => gif::decode(bytes, options),
        ImageFormat::Png | ImageFormat::WebP | ImageFormat::Bmp | ImageFormat::Tiff => {
            decode_with_image(format, bytes, options)
        }
    }
}

/// The `image` crate's decoder of a PNG, WebP, BMP or TIFF file, its headers read.
fn image_decoder<'a>(
    format: ImageFormat,
    bytes: &'a [u8],
    options: &DecodeOptions,
) -> Result<impl ImageDecoder + 'a> {
    let image_format = match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::WebP => image::ImageFormat::WebP,
        ImageFormat::Bmp => image::ImageFormat::Bmp,
        ImageFormat::Tiff => image::ImageFormat::Tiff,
        ImageFormat::Jpeg | ImageFormat::Gif => unreachable!("decoded by their own modules"),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut limits = Limits::default();
    // Room for the largest allowed picture at 16 bits per sample with alpha, and no more.
    limits.max_alloc = Some(options.max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    reader.into_decoder().map_err(|e| image_error(format, e))
}

/// The dimensions of a PNG, WebP, BMP or TIFF file and the memory decoding it takes: the
/// decoder's buffer in the file's own colour type and depth, the RGB (or grey) picture
/// made from it, and what the format's decoder holds besides (a TIFF strip, which may be
/// the whole picture; WebP's lossless ARGB pixels; a few rows of a PNG).
fn plan_with_image(
    format: ImageFormat,
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<(u32, u32, u64)> {
    let decoder = image_decoder(format, bytes, options)?;
    let (width, height) = decoder.dimensions();
    check_size(u64::from(width), u64::from(height), options)?;
    let pixels = u64::from(width) * u64::from(height);
    let native = decoder.total_bytes();
    let channels = if decoder.color_type().has_color() {
        3
    } else {
        1
    };
    // A buffer already in 8-bit RGB or grey becomes the picture without a copy.
    let converted = if native == pixels * channels {
        0
    } else {
        pixels * channels
    };
    let row = native / u64::from(height.max(1));
    let extra = match format {
        ImageFormat::Tiff => native,
        ImageFormat::WebP => pixels * 4,
        _ => 8 * row,
    };
    Ok((width, height, native + converted + extra + (1 << 20)))
}

/// PNG, WebP, BMP and TIFF through the `image` crate's decoders.
fn decode_with_image(
    format: ImageFormat,
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<(Picture, Option<Orientation>)> {
    let fail = |e: ImageError| image_error(format, e);
    let mut decoder = image_decoder(format, bytes, options)?;
    let (width, height) = decoder.dimensions();
    check_size(u64::from(width), u64::from(height), options)?;
    let orientation = if options.exif_orient {
        decoder.orientation().ok().map(Orientation::from)
    } else {
        None
    };
    let image = DynamicImage::from_decoder(decoder).map_err(fail)?;
    Ok((picture_from_dynamic(image, format)?, orientation))
}

fn image_error(format: ImageFormat, error: ImageError) -> Error {
    match error {
        ImageError::Limits(_) => Error::Corrupt {
            format: format.name(),
            message: "decoding would exceed the memory limit".into(),
        },
        ImageError::Unsupported(e) => Error::Unsupported {
            format: format.name(),
            message: e.to_string(),
        },
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Truncated {
                format: format.name(),
            }
        }
        other => {
            let message = other.to_string();
            let lower = message.to_ascii_lowercase();
            let phrases = [
                "end of file",
                "eof",
                "truncated",
                "not have enough data",
                "unexpected end",
            ];
            if phrases.iter().any(|phrase| lower.contains(phrase)) {
                Error::Truncated {
                    format: format.name(),
                }
            } else {
                Error::Corrupt {
                    format: format.name(),
                    message,
                }
            }
        }
    }
}

/// Converts the `image` crate's colour types to the pixels Pillow's `convert("RGB")` gives.
fn picture_from_dynamic(image: DynamicImage, format: ImageFormat) -> Result<Picture> {
    let (width, height) = (image.width(), image.height());
    let high_byte = |v: u16| (v >> 8) as u8;
    let pixels = match image {
        DynamicImage::ImageLuma8(buffer) => Pixels::Grey(buffer.into_raw()),
        DynamicImage::ImageLumaA8(buffer) => {
            Pixels::Grey(buffer.into_raw().chunks_exact(2).map(|p| p[0]).collect())
        }
        DynamicImage::ImageRgb8(buffer) => Pixels::Rgb(buffer.into_raw()),
        DynamicImage::ImageRgba8(buffer) => Pixels::Rgb(drop_alpha(&buffer.into_raw())),
        // Pillow opens 16-bit grey as mode I;16, whose conversion to 8 bits clips at 255.
        DynamicImage::ImageLuma16(buffer) => Pixels::Grey(
            buffer
                .into_raw()
                .iter()
                .map(|&v| v.min(255) as u8)
                .collect(),
        ),
        // Other 16-bit modes Pillow unpacks by keeping the most significant byte.
        DynamicImage::ImageLumaA16(buffer) => Pixels::Grey(
            buffer
                .into_raw()
                .chunks_exact(2)
                .map(|p| high_byte(p[0]))
                .collect(),
        ),
        DynamicImage::ImageRgb16(buffer) => {
            Pixels::Rgb(buffer.into_raw().iter().map(|&v| high_byte(v)).collect())
        }
        DynamicImage::ImageRgba16(buffer) => Pixels::Rgb(
            buffer
                .into_raw()
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]].map(high_byte))
                .collect(),
        ),
        // Float images (TIFF): Pillow's F mode converts by clipping the value itself.
        DynamicImage::ImageRgb32F(buffer) => {
            Pixels::Rgb(buffer.into_raw().iter().map(|&v| clip_float(v)).collect())
        }
        DynamicImage::ImageRgba32F(buffer) => Pixels::Rgb(
            buffer
                .into_raw()
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]].map(clip_float))
                .collect(),
        ),
        other => {
            return Err(Error::Unsupported {
                format: format.name(),
                message: format!("colour type {:?}", other.color()),
            });
        }
    };
    Picture::new(width, height, pixels)
}

fn clip_float(v: f32) -> u8 {
    // Samples in 0..=1 are the usual float convention; scale those.
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

pub(crate) fn drop_alpha(rgba: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for p in rgba.chunks_exact(4) {
        rgb.extend_from_slice(&p[..3]);
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_sniff(bytes: &[u8], expected: Option<ImageFormat>) {
        assert_eq!(ImageFormat::sniff(bytes), expected, "{bytes:?}");
    }

    #[test]
    fn sniffs_magic_numbers() {
        check_sniff(b"\xFF\xD8\xFF\xE0rest", Some(ImageFormat::Jpeg));
        check_sniff(b"\x89PNG\r\n\x1a\nrest", Some(ImageFormat::Png));
        check_sniff(b"GIF89a..", Some(ImageFormat::Gif));
        check_sniff(b"GIF87a..", Some(ImageFormat::Gif));
        check_sniff(b"RIFF\0\0\0\0WEBPVP8 ", Some(ImageFormat::WebP));
        check_sniff(b"RIFF\0\0\0\0AVI ", None);
        check_sniff(b"BM\0\0", Some(ImageFormat::Bmp));
        check_sniff(b"II*\0", Some(ImageFormat::Tiff));
        check_sniff(b"MM\0*", Some(ImageFormat::Tiff));
        check_sniff(b"%PDF-1.4", None);
        check_sniff(b"", None);
    }

    #[test]
    fn empty_and_unknown_inputs_are_typed_errors() {
        let options = DecodeOptions::default();
        assert!(matches!(decode(b"", &options), Err(Error::Empty)));
        assert!(matches!(
            decode(b"hello world", &options),
            Err(Error::UnsupportedFormat)
        ));
    }

    #[test]
    fn size_limit_is_checked_before_decoding() {
        let options = DecodeOptions {
            max_pixels: 100,
            exif_orient: false,
        };
        assert!(check_size(10, 10, &options).is_ok());
        assert!(matches!(
            check_size(11, 10, &options),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(
            check_size(0, 10, &options),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn picture_checks_its_buffer() {
        assert!(Picture::new(2, 2, Pixels::Grey(vec![0; 4])).is_ok());
        assert!(Picture::new(2, 2, Pixels::Rgb(vec![0; 4])).is_err());
        assert!(Picture::new(u32::MAX, u32::MAX, Pixels::Rgb(vec![])).is_err());
    }
}
