//! Keyframes: here is a video file, give me a small grid of frames spread evenly over it, so
//! that an analyst sees what a video holds without playing it.
//!
//! FFmpeg draws the grid itself (`fps`, `scale`, `pad`, `tile`) and writes it as one PNG,
//! in a child process under the same limits as hashing: the stream's shape and duration are
//! checked first, the decoder is killed at the timeout, and its output is bounded.

use std::path::Path;
use std::process::Command;

use super::VideoOptions;
use super::ffmpeg::{probe, run_with_deadline};
use crate::error::{Error, Result};

/// The shape of a keyframe grid: `columns` x `rows` cells of `cell_width` x `cell_height`
/// pixels, each frame scaled into its cell with its proportions kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridShape {
    pub columns: u32,
    pub rows: u32,
    pub cell_width: u32,
    pub cell_height: u32,
}

impl Default for GridShape {
    /// Nine frames, three by three, in cells of 160x90: small by default.
    fn default() -> GridShape {
        GridShape {
            columns: 3,
            rows: 3,
            cell_width: 160,
            cell_height: 90,
        }
    }
}

/// The largest grid drawn (the PNG stays well under the output bound).
const MAX_GRID_PIXELS: u64 = 1920 * 1080;

/// The most bytes of PNG read from FFmpeg; a grid that would need more is refused.
const MAX_GRID_BYTES: usize = 1 << 20;

/// A PNG of `shape.columns * shape.rows` frames taken at even intervals over the video at
/// `path` (the first at its start), in time order, left to right and top to bottom. A
/// video with fewer frames leaves the last cells black.
pub fn keyframe_grid(path: &Path, options: &VideoOptions, shape: &GridShape) -> Result<Vec<u8>> {
    let cells = u64::from(shape.columns) * u64::from(shape.rows);
    let grid_pixels = cells * u64::from(shape.cell_width) * u64::from(shape.cell_height);
    if cells == 0 || shape.cell_width < 2 || shape.cell_height < 2 || grid_pixels > MAX_GRID_PIXELS
    {
        return Err(Error::InvalidOption(format!(
            "a keyframe grid of {}x{} cells of {}x{} pixels is not drawn",
            shape.columns, shape.rows, shape.cell_width, shape.cell_height
        )));
    }
    let info = probe(path, options)?;
    info.check_limits(options)?;
    let duration = match info.duration {
        Some(seconds) if seconds > 0.0 => seconds,
        // A still or a stream without a duration: its frames as they come, one a second.
        _ => cells as f64,
    };
    let (w, h) = (shape.cell_width, shape.cell_height);
    // `fps` keeps one frame per interval of duration / cells; each is fitted into its cell
    // and padded to it, and `tile` lays the cells out (a partial grid is drawn at the end).
    let filters = format!(
        "fps={cells}/{duration:.6},scale={w}:{h}:force_original_aspect_ratio=decrease,\
         pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,tile={columns}x{rows}",
        columns = shape.columns,
        rows = shape.rows,
    );
    let mut command = Command::new(&options.ffmpeg);
    command
        .args(["-nostdin", "-v", "error", "-noautorotate", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-an", "-sn", "-dn", "-vf"])
        .arg(filters)
        .args(["-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"]);
    let output = run_with_deadline(command, options.timeout, &options.ffmpeg)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(super::ffmpeg::failure("no keyframes", &stderr));
    }
    if output.stdout.len() >= MAX_GRID_BYTES {
        return Err(Error::Decoder(format!(
            "the keyframe grid is larger than {MAX_GRID_BYTES} bytes"
        )));
    }
    if !output.stdout.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(Error::Corrupt {
            format: "video",
            message: "no frames to show".into(),
        });
    }
    Ok(output.stdout)
}
