//! PDQ: here is a picture, give me its 256-bit perceptual hash, quality and dihedral hashes.
//!
//! The computation is Meta's C++ core step for step in float32 (luma, two-pass Jarosz box
//! filter, 64x64 decimation, quality, 16x16 DCT without DC, lower-median threshold), so the
//! hashes are the reference's bit for bit. Only the data layout differs, for speed; see
//! `jarosz.rs`.

mod dct;
mod hash;
mod interleave;
mod jarosz;
mod luma;

use std::fmt;
use std::str::FromStr;

pub use hash::{PdqHash, Quality};

use crate::decode::Picture;
use crate::error::{Error, Result};
use luma::{LumaFormula, LumaRows};

/// Which reference pipeline to reproduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Pipeline {
    /// The core on the whole decoded image with float64 luma: what the `pdqhash` binding,
    /// HMA, python-threatexchange and Meta's Java give, and what shared lists hold.
    #[default]
    Full,
    /// Meta's C++ command-line tool (and its WASM build): an image wider or taller than 512
    /// is first resized to exactly 512x512 by nearest neighbour, and luma is float32.
    Cli512,
    /// Meta's vPDQ on each video frame: the core on the whole frame with float32 luma.
    VideoFrame,
}

impl Pipeline {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Pipeline::Full => "full",
            Pipeline::Cli512 => "cli512",
            Pipeline::VideoFrame => "video-frame",
        }
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Pipeline {
    type Err = Error;

    fn from_str(text: &str) -> Result<Pipeline> {
        match text {
            "full" => Ok(Pipeline::Full),
            "cli512" => Ok(Pipeline::Cli512),
            "video-frame" => Ok(Pipeline::VideoFrame),
            other => Err(Error::InvalidOption(format!(
                "unknown PDQ pipeline {other:?} (expected full, cli512 or video-frame)"
            ))),
        }
    }
}

/// The dihedral transforms, in the order of Meta's reference and of [`PdqDct::dihedral`].
pub const DIHEDRAL_NAMES: [&str; 8] = [
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
];

/// The sides below which the reference gives an all-zero hash of quality 0.
const MIN_HASHABLE_SIDE: u32 = 5;

/// The C++ tool's pre-resize target.
const CLI_DOWNSAMPLE: u32 = 512;

/// The 16x16 low-frequency DCT of a picture and its quality: everything its hash and its
/// eight dihedral hashes come from.
#[derive(Clone, Debug)]
pub struct PdqDct {
    /// `None` when the picture is too small to hash.
    coefficients: Option<[[f32; 16]; 16]>,
    quality: Quality,
}

impl PdqDct {
    /// Computes the DCT of `picture` as `pipeline` does.
    pub fn compute(picture: &Picture, pipeline: Pipeline) -> PdqDct {
        let (width, height) = (picture.width(), picture.height());
        if width < MIN_HASHABLE_SIDE || height < MIN_HASHABLE_SIDE {
            return PdqDct {
                coefficients: None,
                quality: Quality::default(),
            };
        }
        let luma = match pipeline {
            Pipeline::Full => LumaRows::full(picture, LumaFormula::Float64),
            Pipeline::Cli512 if width > CLI_DOWNSAMPLE || height > CLI_DOWNSAMPLE => {
                let side = CLI_DOWNSAMPLE as usize;
                LumaRows::nearest(picture, LumaFormula::Float32, side, side)
            }
            Pipeline::Cli512 | Pipeline::VideoFrame => {
                LumaRows::full(picture, LumaFormula::Float32)
            }
        };
        let buffer = jarosz::downsample(&luma);
        PdqDct {
            coefficients: Some(dct::dct_16x16(&buffer)),
            quality: dct::quality(&buffer),
        }
    }

    /// The quality, 0 to 100.
    pub fn quality(&self) -> Quality {
        self.quality
    }

    /// The PDQ hash.
    pub fn hash(&self) -> PdqHash {
        self.coefficients
            .as_ref()
            .map(dct::threshold)
            .unwrap_or_default()
    }

    /// The hashes of the eight rotations and flips, in Meta's order (see [`DIHEDRAL_NAMES`]),
    /// each thresholded with its own median. They approximate the hash of a really rotated
    /// image; they are not a canonical form.
    pub fn dihedral(&self) -> [PdqHash; 8] {
        match &self.coefficients {
            Some(coefficients) => dct::dihedral(coefficients).map(|b| dct::threshold(&b)),
            None => [PdqHash::default(); 8],
        }
    }
}

/// A PDQ hash with its quality: the signal that lists exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PdqSignal {
    pub hash: PdqHash,
    pub quality: Quality,
}

/// Hashes `picture` with `pipeline`.
pub fn hash(picture: &Picture, pipeline: Pipeline) -> PdqSignal {
    hash_inner(picture, pipeline)
}

/// The most bytes hashing a `width` by `height` picture holds besides the picture: rows
/// stream through the passes, and only the column pass keeps `window + 1` rows of floats
/// (about a 32nd of the pixels' count in bytes), with a few rows in flight and small
/// fixed buffers.
pub fn memory(width: u32, height: u32) -> u64 {
    let width = u64::from(width);
    let window = jarosz::window_size(height as usize) as u64;
    4 * width * (window + 1) + 256 * width + (1 << 20)
}

fn hash_inner(picture: &Picture, pipeline: Pipeline) -> PdqSignal {
    let dct = PdqDct::compute(picture, pipeline);
    PdqSignal {
        hash: dct.hash(),
        quality: dct.quality(),
    }
}
