//! Stands in for `libav.rs` in a build made without FFmpeg's libraries (`build.rs` found no
//! development files for them): the same items, but opening a stream says that this build
//! decodes no video, and since no [`Stream`] can then exist, nothing else can be called.
//! Images hash as in any other build.

use std::convert::Infallible;
use std::ffi::c_int;
use std::path::Path;

use super::nal;
use crate::error::{Error, Result};

/// FFmpeg's "no time stamp" (`AV_NOPTS_VALUE`).
pub(super) const NO_PTS: i64 = i64::MIN;
/// `AV_PKT_FLAG_DISCARD`.
pub(super) const PACKET_DISCARD: c_int = 0x4;

/// What the container says about the stream (see `libav.rs`).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct StreamInfo {
    pub width: u32,
    pub height: u32,
    pub rate: (i32, i32),
    pub duration: Option<f64>,
    pub frames: Option<u64>,
    pub non_reference: Option<(nal::Codec, usize)>,
}

/// A packet of the video stream (see `libav.rs`).
#[derive(Debug)]
pub(super) struct Packet<'a> {
    pub data: &'a [u8],
    pub pts: i64,
    pub flags: c_int,
}

/// What the decoder answers (see `libav.rs`).
#[derive(Debug, PartialEq)]
#[allow(dead_code)] // never made in this build; the frame loop matches on it.
pub(super) enum Decoded {
    Frame(i64),
    Again,
    End,
}

/// A video stream, which this build can never open.
#[derive(Debug)]
pub(super) struct Stream {
    never: Infallible,
}

impl Stream {
    pub(super) fn open(_path: &Path, _decode: bool, _max_pixels: u64) -> Result<Stream> {
        Err(Error::NoVideoDecoder)
    }

    pub(super) fn info(&self) -> &StreamInfo {
        match self.never {}
    }

    pub(super) fn read(&mut self) -> Result<Option<Packet<'_>>> {
        match self.never {}
    }

    pub(super) fn send(&mut self) -> Result<bool> {
        match self.never {}
    }

    pub(super) fn flush(&mut self) -> Result<()> {
        match self.never {}
    }

    pub(super) fn receive(&mut self) -> Result<Decoded> {
        match self.never {}
    }

    pub(super) fn convert(&mut self, _rgb: &mut Vec<u8>) -> Result<()> {
        match self.never {}
    }
}
