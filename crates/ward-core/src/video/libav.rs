//! The safe side of `libav.c`: a file's first video stream opened with FFmpeg's libraries,
//! its packets read one at a time, decoded when sent, and frames converted to RGB24 as the
//! reference converts them. Every call into C goes through [`Stream`], which owns the C
//! handle and frees it on drop.

use std::ffi::{CString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use super::nal;
pub(super) use super::stream::{Decoded, NO_PTS, PACKET_DISCARD, Packet, StreamInfo};
use crate::error::{Error, Result};

const OK: c_int = 0;
const END: c_int = 1;
const AGAIN: c_int = 2;
const NO_VIDEO: c_int = -2;
const TOO_LARGE: c_int = -3;
const NO_DECODER: c_int = -4;
const NO_MEMORY: c_int = -5;
const FRAME_SIZE: c_int = -6;

/// Bytes past a converted frame that swscale may write (FFmpeg pads its own frame buffers
/// by 64 plus a vector's width; this is more).
const CONVERT_PADDING: usize = 256;

#[repr(C)]
struct Opaque {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Default)]
struct RawInfo {
    width: c_int,
    height: c_int,
    fps_num: c_int,
    fps_den: c_int,
    duration: f64,
    frames: i64,
    codec: c_int,
    nal_length_size: c_int,
    temporal_layers: c_int,
    error: c_int,
}

unsafe extern "C" {
    fn ward_av_open(
        path: *const c_char,
        decode: c_int,
        threads: c_int,
        max_pixels: u64,
        out: *mut *mut Opaque,
        info: *mut RawInfo,
    ) -> c_int;
    fn ward_av_close(v: *mut Opaque);
    fn ward_av_read(
        v: *mut Opaque,
        data: *mut *const u8,
        size: *mut c_int,
        pts: *mut i64,
        flags: *mut c_int,
        error: *mut c_int,
    ) -> c_int;
    fn ward_av_send(v: *mut Opaque, flush: c_int, error: *mut c_int) -> c_int;
    fn ward_av_receive(v: *mut Opaque, pts: *mut i64, error: *mut c_int) -> c_int;
    fn ward_av_convert(v: *mut Opaque, rgb: *mut u8) -> c_int;
    fn ward_av_messages(out: *mut c_char, len: usize);
    fn ward_av_strerror(code: c_int, out: *mut c_char, len: usize);
}

/// An open video stream (with its decoder, unless opened for packets only).
#[derive(Debug)]
pub(super) struct Stream {
    raw: *mut Opaque,
    info: StreamInfo,
    frame_bytes: usize,
}

// SAFETY: the C handle is used by one thread at a time (`&mut self`); FFmpeg's own threads
// are internal to it.
unsafe impl Send for Stream {}

impl Stream {
    /// Opens `path`'s first video stream; with `decode`, its decoder and converter too.
    pub(super) fn open(path: &Path, decode: bool, max_pixels: u64) -> Result<Stream> {
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::InvalidOption("a video path with a NUL byte".into()))?;
        let mut raw = ptr::null_mut();
        let mut info = RawInfo::default();
        // SAFETY: a NUL-terminated path and out-pointers to locals, as libav.c expects.
        let code = unsafe {
            ward_av_open(
                c_path.as_ptr(),
                c_int::from(decode),
                0,
                max_pixels,
                &mut raw,
                &mut info,
            )
        };
        match code {
            OK => {}
            TOO_LARGE => {
                return Err(Error::TooLarge {
                    width: info.width.max(0) as u64,
                    height: info.height.max(0) as u64,
                    limit: max_pixels,
                });
            }
            NO_VIDEO => return Err(corrupt("no video stream".into())),
            NO_DECODER => return Err(corrupt("no decoder for its codec".into())),
            NO_MEMORY => return Err(Error::Decoder("out of memory".into())),
            _ => return Err(failure("not a readable video", info.error)),
        }
        let stream_info = StreamInfo {
            width: info.width.max(0) as u32,
            height: info.height.max(0) as u32,
            rate: (info.fps_num, info.fps_den),
            duration: (info.duration >= 0.0 && info.duration.is_finite()).then_some(info.duration),
            frames: (info.frames > 0).then_some(info.frames as u64),
            non_reference: match (info.codec, info.nal_length_size.max(0) as usize) {
                (1, length_size) => Some((nal::Codec::H264, length_size)),
                // HEVC whose record says it has one temporal sub-layer (otherwise a picture
                // that is no reference in its own sub-layer may be one for a higher one).
                (2, length_size) if length_size > 0 && info.temporal_layers == 1 => {
                    Some((nal::Codec::Hevc, length_size))
                }
                _ => None,
            },
        };
        Ok(Stream {
            raw,
            frame_bytes: stream_info.width as usize * stream_info.height as usize * 3,
            info: stream_info,
        })
    }

    pub(super) fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// The next packet of the video stream; `None` at the end of the file.
    pub(super) fn read(&mut self) -> Result<Option<Packet<'_>>> {
        let (mut data, mut size, mut pts, mut flags, mut error) = (ptr::null(), 0, 0, 0, 0);
        // SAFETY: an open handle and out-pointers to locals.
        let code = unsafe {
            ward_av_read(
                self.raw, &mut data, &mut size, &mut pts, &mut flags, &mut error,
            )
        };
        match code {
            OK => {
                let data = if data.is_null() || size <= 0 {
                    &[][..]
                } else {
                    // SAFETY: FFmpeg's packet buffer of `size` bytes, which stays valid until
                    // the next read; the borrow of `self` ends before then.
                    unsafe { std::slice::from_raw_parts(data, size as usize) }
                };
                Ok(Some(Packet { data, pts, flags }))
            }
            // A file cut short after its index ends "normally"; the demuxer says so only in
            // a message.
            END if messages().contains(PARTIAL_FILE) => Err(Error::Truncated { format: "video" }),
            END => Ok(None),
            _ => Err(read_failure(error)),
        }
    }

    /// Sends the packet last read to the decoder; false when the decoder must give frames
    /// first (send it again after [`Stream::receive`]).
    pub(super) fn send(&mut self) -> Result<bool> {
        self.send_or_flush(0)
    }

    /// Tells the decoder the stream has ended.
    pub(super) fn flush(&mut self) -> Result<()> {
        self.send_or_flush(1).map(|_| ())
    }

    fn send_or_flush(&mut self, flush: c_int) -> Result<bool> {
        let mut error = 0;
        // SAFETY: an open handle with a decoder; an out-pointer to a local.
        match unsafe { ward_av_send(self.raw, flush, &mut error) } {
            OK | END => Ok(true),
            AGAIN => Ok(false),
            _ => Err(failure("the decoder refused a packet", error)),
        }
    }

    /// The decoder's next frame, if it has one.
    pub(super) fn receive(&mut self) -> Result<Decoded> {
        let (mut pts, mut error) = (NO_PTS, 0);
        // SAFETY: an open handle with a decoder; out-pointers to locals.
        match unsafe { ward_av_receive(self.raw, &mut pts, &mut error) } {
            OK => Ok(Decoded::Frame(pts)),
            AGAIN => Ok(Decoded::Again),
            END => Ok(Decoded::End),
            _ => Err(failure("the decoder failed", error)),
        }
    }

    /// Converts the frame last received to RGB24 in `rgb` (resized to one frame).
    pub(super) fn convert(&mut self, rgb: &mut Vec<u8>) -> Result<()> {
        // swscale's vector code writes whole blocks of pixels, past the end of the last row
        // when the width is not a multiple of the block (FFmpeg's own frame buffers are
        // padded for it).
        rgb.resize(self.frame_bytes + CONVERT_PADDING, 0);
        // SAFETY: `rgb` holds width * 3 * height bytes, what libav.c writes, and the padding
        // swscale may write past them.
        let code = unsafe { ward_av_convert(self.raw, rgb.as_mut_ptr()) };
        rgb.truncate(self.frame_bytes);
        match code {
            OK => Ok(()),
            FRAME_SIZE => Err(corrupt("the frame size changes within the stream".into())),
            _ => Err(corrupt(
                "frames in a format that cannot be converted".into(),
            )),
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: the handle came from ward_av_open and is freed once.
        unsafe { ward_av_close(self.raw) };
    }
}

/// What FFmpeg said at error level on this thread since the stream was opened.
fn messages() -> String {
    let mut buffer = vec![0u8; 1024];
    // SAFETY: a buffer of the given length, NUL-terminated by the callee.
    unsafe { ward_av_messages(buffer.as_mut_ptr().cast(), buffer.len()) };
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

fn strerror(code: c_int) -> String {
    let mut buffer = vec![0u8; 256];
    // SAFETY: a buffer of the given length, NUL-terminated by the callee.
    unsafe { ward_av_strerror(code, buffer.as_mut_ptr().cast(), buffer.len()) };
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

fn corrupt(message: String) -> Error {
    Error::Corrupt {
        format: "video",
        message,
    }
}

/// A failed read: a file cut short (FFmpeg says "partial file") or a damaged one.
fn read_failure(code: c_int) -> Error {
    if messages().contains(PARTIAL_FILE) {
        Error::Truncated { format: "video" }
    } else {
        failure("the video cannot be read", code)
    }
}

/// What FFmpeg's MP4 demuxer says of a sample that runs past the end of the file.
const PARTIAL_FILE: &str = "partial file";

/// An error from FFmpeg's first message, else from its error code.
fn failure(what: &str, code: c_int) -> Error {
    let said = messages();
    let detail = said
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
        .or_else(|| (code != 0).then(|| strerror(code)));
    match detail {
        Some(detail) => corrupt(format!("{what}: {detail}")),
        None => corrupt(what.to_string()),
    }
}
