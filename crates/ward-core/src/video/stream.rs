//! What a video stream gives the frame loop (`frames.rs`), whichever side backs it:
//! `libav.rs` over FFmpeg's libraries, or `libav_absent.rs` in a build without them.

use std::ffi::c_int;

use super::nal;

/// FFmpeg's "no time stamp" (`AV_NOPTS_VALUE`).
pub(super) const NO_PTS: i64 = i64::MIN;
/// `AV_PKT_FLAG_DISCARD`: the demuxer says the packet must be decoded (others may refer to
/// it) but its frame dropped (an edit list starting after it).
pub(super) const PACKET_DISCARD: c_int = 0x4;

/// What the container says about the stream, as the reference reads it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct StreamInfo {
    pub width: u32,
    pub height: u32,
    /// The average frame rate, else the real base rate, as a fraction.
    pub rate: (i32, i32),
    pub duration: Option<f64>,
    pub frames: Option<u64>,
    /// A codec whose non-reference pictures Ward can tell from their NAL unit headers, with
    /// the size of the units' length prefix (0 for start codes).
    pub non_reference: Option<(nal::Codec, usize)>,
}

/// A packet of the video stream, borrowed until the next read.
#[derive(Debug)]
pub(super) struct Packet<'a> {
    pub data: &'a [u8],
    /// Presentation time, [`NO_PTS`] when the container does not say.
    pub pts: i64,
    pub flags: c_int,
}

/// What the decoder answers.
#[derive(Debug, PartialEq)]
pub(super) enum Decoded {
    /// A frame, with its presentation time ([`NO_PTS`] when unknown).
    Frame(i64),
    /// It needs more packets.
    Again,
    /// It has given every frame.
    End,
}
