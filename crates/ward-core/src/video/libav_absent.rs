//! Stands in for `libav.rs` in a build made without FFmpeg's libraries (`build.rs` found no
//! development files for them): the same items, but opening a stream says that this build
//! decodes no video, and since no [`Stream`] can then exist, nothing else can be called.
//! Images hash as in any other build.

use std::convert::Infallible;
use std::path::Path;

pub(super) use super::stream::{Decoded, NO_PTS, PACKET_DISCARD, Packet, StreamInfo};
use crate::error::{Error, Result};

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
