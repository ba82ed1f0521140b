//! GIF: the first frame on the logical screen, coloured through its palette as Pillow does.

use std::io::Cursor;
use std::num::NonZeroU64;

use super::{DecodeOptions, Orientation, Picture, Pixels, check_size};
use crate::error::{Error, Result};

pub(super) fn decode(
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<(Picture, Option<Orientation>)> {
    let mut gif_options = gif::DecodeOptions::new();
    gif_options.set_color_output(gif::ColorOutput::Indexed);
    let frame_limit = NonZeroU64::new(options.max_pixels.max(1)).expect("at least 1");
    gif_options.set_memory_limit(gif::MemoryLimit::Bytes(frame_limit));
    let mut decoder = gif_options
        .read_info(Cursor::new(bytes))
        .map_err(gif_error)?;
    let (width, height) = (usize::from(decoder.width()), usize::from(decoder.height()));
    check_size(width as u64, height as u64, options)?;
    let global_palette = decoder.global_palette().map(<[u8]>::to_vec);
    let frame = decoder
        .read_next_frame()
        .map_err(gif_error)?
        .ok_or(Error::Corrupt {
            format: "gif",
            message: "no image in file".into(),
        })?;

    // Pillow starts the first frame from a canvas of the transparent index (or 0) and draws
    // the frame's indices at its offset.
    let mut indices = vec![frame.transparent.unwrap_or(0); width * height];
    let (left, top) = (usize::from(frame.left), usize::from(frame.top));
    let frame_width = usize::from(frame.width);
    if frame_width > 0 {
        for (y, line) in frame.buffer.chunks_exact(frame_width).enumerate() {
            let row = top + y;
            if row >= height || left >= width {
                break;
            }
            let visible = frame_width.min(width - left);
            indices[row * width + left..row * width + left + visible]
                .copy_from_slice(&line[..visible]);
        }
    }

    let palette = frame.palette.as_deref().or(global_palette.as_deref());
    let pixels = match palette {
        Some(palette) => {
            let mut rgb = Vec::with_capacity(indices.len() * 3);
            for &index in &indices {
                let at = usize::from(index) * 3;
                rgb.extend_from_slice(palette.get(at..at + 3).unwrap_or(&[0, 0, 0]));
            }
            Pixels::Rgb(rgb)
        }
        // Without any palette Pillow reads the indices as grey levels.
        None => Pixels::Grey(indices),
    };
    Ok((Picture::new(width as u32, height as u32, pixels)?, None))
}

/// The screen's dimensions and the memory decoding the first frame takes: the frame's
/// indices as decoded, the screen's indices and their RGB colours.
pub(super) fn plan(bytes: &[u8], options: &DecodeOptions) -> Result<(u32, u32, u64)> {
    let mut gif_options = gif::DecodeOptions::new();
    gif_options.set_color_output(gif::ColorOutput::Indexed);
    let frame_limit = NonZeroU64::new(options.max_pixels.max(1)).expect("at least 1");
    gif_options.set_memory_limit(gif::MemoryLimit::Bytes(frame_limit));
    let mut decoder = gif_options
        .read_info(Cursor::new(bytes))
        .map_err(gif_error)?;
    let (width, height) = (u64::from(decoder.width()), u64::from(decoder.height()));
    check_size(width, height, options)?;
    let frame = match decoder.next_frame_info().map_err(gif_error)? {
        Some(frame) => u64::from(frame.width) * u64::from(frame.height),
        None => 0,
    };
    // The decoder's tables and buffers besides the frame.
    let decoder_own = 64 << 10;
    Ok((
        width as u32,
        height as u32,
        frame + width * height * 4 + decoder_own,
    ))
}

fn gif_error(error: gif::DecodingError) -> Error {
    match error {
        gif::DecodingError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Truncated { format: "gif" }
        }
        other => {
            let message = other.to_string();
            if message.to_ascii_lowercase().contains("end of file") {
                Error::Truncated { format: "gif" }
            } else {
                Error::Corrupt {
                    format: "gif",
                    message,
                }
            }
        }
    }
}
