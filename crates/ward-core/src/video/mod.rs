//! Video: here is a video file, give me its vPDQ (the PDQ hashes of its frames, sampled as
//! Meta's reference samples them); here are videos, tell me which contain which.
//!
//! Frames come from FFmpeg's libraries (`libav.c`, `libav.rs`), numbered and sampled as the
//! reference does (`frames.rs`), each hashed with the full-resolution PDQ pipeline. A frame
//! is hashed when
//! `frame_number % max(1, floor(seconds_per_hash * average_fps)) == 0` (every frame when
//! `seconds_per_hash` is 0) and stamped `frame_number / average_fps` (in float32), as the
//! reference does. Frames are hashed with [`Pipeline::VideoFrame`]: float32 luma, like the
//! reference's C++ (images use float64, like the pdqhash binding).
//!
//! [`hash_video`] decodes in the calling process, so every codec's bugs are in that process
//! too: a program that must outlive a hostile file (a server, a scan) calls it in a child
//! process of its own (the `ward` binary's `video-worker`). The keyframe grid runs the
//! `ffmpeg` program as a child (`ffmpeg.rs`).

mod bars;
mod ffmpeg;
mod frames;
mod keyframes;
#[cfg_attr(ward_no_ffmpeg, path = "libav_absent.rs")]
mod libav;
// Without FFmpeg (see `libav_absent.rs`) no packet is ever read, so what reads them is unused.
#[cfg_attr(ward_no_ffmpeg, allow(dead_code))]
mod nal;
mod search;
#[cfg_attr(ward_no_ffmpeg, allow(dead_code))]
mod stream;
mod vpdq;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;
use std::time::Duration;

pub use bars::Bars;
pub use keyframes::{GridShape, keyframe_grid};
pub use search::{VideoHit, VideoIndex};
pub use vpdq::{CompareOptions, FrameHash, VideoMatch, Vpdq, compare};

use crate::decode::{Picture, Pixels};
use crate::error::{Error, Result};
use crate::pdq::{PdqDct, Pipeline};

/// Whether this build decodes videos: false when it was built where FFmpeg's libraries were
/// missing (`build.rs`), in which case hashing a video fails with
/// [`Error::NoVideoDecoder`] and only images hash.
pub const DECODES_VIDEO: bool = !cfg!(ward_no_ffmpeg);

/// How to hash a video, and the limits that keep a hostile file from costing too much.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoOptions {
    /// Seconds between hashed frames (Meta's default 1); 0 hashes every frame.
    pub seconds_per_hash: f64,
    /// Videos longer than this are refused before decoding (by their declared duration) or
    /// when decoding reaches it.
    pub max_duration: Duration,
    /// Frames with more pixels than this are refused.
    pub max_frame_pixels: u64,
    /// The decoder is stopped after this long.
    pub timeout: Duration,
    /// The FFmpeg programs that draw keyframe grids ([`keyframe_grid`]).
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Also hash each frame inside its letterbox or pillarbox bars, when it has some (see
    /// [`Bars`]; Ward's addition for matching, off by default).
    pub trim_bars: bool,
    /// Threads hashing frames while FFmpeg decodes; 0 for one per core.
    pub threads: usize,
}

impl Default for VideoOptions {
    fn default() -> VideoOptions {
        VideoOptions {
            seconds_per_hash: 1.0,
            max_duration: Duration::from_secs(4 * 3600),
            max_frame_pixels: 8192 * 4320,
            timeout: Duration::from_secs(30 * 60),
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: PathBuf::from("ffprobe"),
            trim_bars: false,
            threads: 0,
        }
    }
}

/// What the container says about the first video stream.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    pub width: u32,
    pub height: u32,
    /// Average frames per second, when the container knows.
    pub fps: Option<f64>,
    /// Seconds, when the container knows.
    pub duration: Option<f64>,
    /// Frames, when the container knows.
    pub frames: Option<u64>,
}

impl VideoInfo {
    /// Refuses a stream over `options`' limits before anything decodes it: frames of no
    /// pixels or more than the limit, a declared duration past the maximum.
    fn check_limits(&self, options: &VideoOptions) -> Result<()> {
        let pixels = u64::from(self.width) * u64::from(self.height);
        if pixels == 0 {
            return Err(Error::Corrupt {
                format: "video",
                message: "zero-sized frames".into(),
            });
        }
        if pixels > options.max_frame_pixels {
            return Err(Error::TooLarge {
                width: u64::from(self.width),
                height: u64::from(self.height),
                limit: options.max_frame_pixels,
            });
        }
        match self.duration {
            Some(seconds) if seconds > options.max_duration.as_secs_f64() => Err(Error::TooLong {
                seconds,
                limit: options.max_duration.as_secs(),
            }),
            _ => Ok(()),
        }
    }
}

/// A hashed video.
#[derive(Clone, Debug, PartialEq)]
pub struct HashedVideo {
    pub info: VideoInfo,
    /// The reference's vPDQ.
    pub vpdq: Vpdq,
    /// With [`VideoOptions::trim_bars`], when some frames have bars: the same frames hashed
    /// inside their bars (frames without bars as in `vpdq`). For matching only: no list holds
    /// such hashes, but they match the list's hashes of the video before the bars were added.
    pub trimmed: Option<Vpdq>,
}

/// Recognises a video container from the first bytes of a file (never from its name).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
    if at(4, b"ftyp") {
        // MP4, MOV, 3GP, M4V (but not the still-image HEIF/AVIF brands).
        let brand = bytes.get(8..12).unwrap_or_default();
        if [&b"heic"[..], b"heix", b"mif1", b"msf1", b"avif", b"avis"].contains(&brand) {
            return None;
        }
        return Some(if brand.starts_with(b"qt") {
            "mov"
        } else {
            "mp4"
        });
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some("matroska");
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Some("avi");
    }
    if at(0, b"FLV") {
        return Some("flv");
    }
    if at(0, &[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
        return Some("asf");
    }
    if at(0, &[0x00, 0x00, 0x01, 0xBA]) || at(0, &[0x00, 0x00, 0x01, 0xB3]) {
        return Some("mpeg");
    }
    // MPEG transport stream: sync bytes every 188 bytes.
    if bytes.len() >= 377 && bytes[0] == 0x47 && bytes[188] == 0x47 && bytes[376] == 0x47 {
        return Some("mpegts");
    }
    None
}

/// Decodes and hashes the video at `path`, in this process (see the module's note on
/// crashes).
pub fn hash_video(path: &Path, options: &VideoOptions) -> Result<HashedVideo> {
    if !(options.seconds_per_hash >= 0.0 && options.seconds_per_hash.is_finite()) {
        return Err(Error::InvalidOption(format!(
            "seconds per hash must be 0 or more, not {}",
            options.seconds_per_hash
        )));
    }
    let frames = frames::Frames::open(path, options)?;
    let info = frames.info().clone();
    let fps = frames.fps();
    let stop = frames.stop_flag();
    // Frames are decoded and converted on their own thread, some frames ahead of the
    // hashing threads, so that the decoder goes on while Ward hashes and a decoder that
    // stalls on a frame's references leaves frames to hash. Buffers go back to the decoding
    // thread to be filled again.
    let frame_bytes = info.width as usize * info.height as usize * 3;
    let workers = match options.threads {
        0 => thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let read_ahead = read_ahead(frame_bytes, workers);
    let (full_tx, full_rx) = mpsc::sync_channel::<Read>(read_ahead);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    let full_rx = Mutex::new(full_rx);
    let job = Job {
        info: &info,
        fps,
        options,
    };
    let results: Vec<Result<Hashed>> = thread::scope(|scope| {
        scope.spawn(move || read_frames(frames, &full_tx, &empty_rx));
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (full, empty, stop) = (&full_rx, empty_tx.clone(), &*stop);
                scope.spawn(move || {
                    yield_to_the_decoder();
                    job.hash_frames(full, &empty, stop)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Decoder("a hashing thread panicked".into())))
            })
            .collect()
    });
    let mut all = Hashed::default();
    for result in results {
        let part = result?;
        all.frames.extend(part.frames);
        all.trimmed.extend(part.trimmed);
        all.any_bars |= part.any_bars;
        all.ended |= part.ended;
    }
    if !all.ended {
        return Err(Error::Decoder("the frame reader stopped".into()));
    }
    all.frames.sort_unstable_by_key(|f| f.frame);
    all.trimmed.sort_unstable_by_key(|f| f.frame);
    Ok(HashedVideo {
        info,
        vpdq: Vpdq::new(all.frames),
        trimmed: all.any_bars.then(|| Vpdq::new(all.trimmed)),
    })
}

/// Lowers the calling (hashing) thread's priority below the decoding thread's and FFmpeg's.
///
/// Decoding is the slow stage: FFmpeg's frame threads wait on each other's rows and the
/// decoding thread on them, so every moment the decoder waits for a core that a hashing
/// thread holds is lost, while hashing can wait: its frames sit in the read-ahead.
/// At nice +10 the hashing threads take the time the decoder leaves (on two cores, 720p
/// video every frame: about an eighth more frames per second than at equal priority). Best
/// effort; only Linux gives threads their own nice value.
fn yield_to_the_decoder() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on this thread's own id changes only its scheduling priority
    // (raising the nice value needs no privilege); gettid has no preconditions.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, HASHING_NICE);
    }
}

/// The nice value of threads hashing video frames (see [`yield_to_the_decoder`]).
#[cfg(target_os = "linux")]
const HASHING_NICE: libc::c_int = 10;

/// Frames waiting to be hashed: four per hashing thread, but no more than
/// [`READ_AHEAD_BYTES`] of them (and at least one).
fn read_ahead(frame_bytes: usize, workers: usize) -> usize {
    (READ_AHEAD_BYTES / frame_bytes.max(1)).clamp(1, 4 * workers.max(1))
}

/// The most memory that frames read ahead may hold.
const READ_AHEAD_BYTES: usize = 64 << 20;

/// What the decoding thread hands over.
enum Read {
    /// A sampled frame, by its number in the video, as RGB24.
    Frame(u64, Vec<u8>),
    /// The decoder finished, well or not.
    End(Result<()>),
}

/// Decodes frames until the end, an error, or the hashing side hanging up.
fn read_frames(mut frames: frames::Frames, full: &SyncSender<Read>, empty: &Receiver<Vec<u8>>) {
    loop {
        let mut buffer = empty.try_recv().unwrap_or_default();
        match frames.next(&mut buffer) {
            Ok(Some(number)) => {
                if full.send(Read::Frame(number, buffer)).is_err() {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                let _ = full.send(Read::End(Err(e)));
                return;
            }
        }
    }
    let _ = full.send(Read::End(Ok(())));
}

/// What one hashing thread hashed.
#[derive(Default)]
struct Hashed {
    frames: Vec<FrameHash>,
    trimmed: Vec<FrameHash>,
    any_bars: bool,
    /// This thread received the reader's end (exactly one does when all went well).
    ended: bool,
}

/// What every hashing thread needs to know.
#[derive(Clone, Copy)]
struct Job<'a> {
    info: &'a VideoInfo,
    fps: f64,
    options: &'a VideoOptions,
}

impl Job<'_> {
    /// Hashes frames the reader sends until it ends: the reference's vPDQ, and with
    /// `trim_bars` the frames inside their bars when some have them. On an error the decoder
    /// is stopped and the rest drained, so that the reader never waits on a full channel.
    fn hash_frames(
        &self,
        full: &Mutex<Receiver<Read>>,
        empty: &mpsc::Sender<Vec<u8>>,
        stop: &AtomicBool,
    ) -> Result<Hashed> {
        let mut out = Hashed::default();
        let mut failed = None;
        loop {
            let read = match full.lock() {
                Ok(receiver) => receiver.recv(),
                Err(_) => return Err(Error::Decoder("a hashing thread failed".into())),
            };
            let result = match read {
                Ok(Read::Frame(number, buffer)) if failed.is_none() => {
                    self.hash_frame(number, buffer, &mut out, empty)
                }
                Ok(Read::Frame(..)) => Ok(()),
                Ok(Read::End(result)) => {
                    out.ended = true;
                    result
                }
                // The reader is done and another thread took its end.
                Err(_) => break,
            };
            if let Err(error) = result {
                stop.store(true, Ordering::Release);
                failed.get_or_insert(error);
            }
            if out.ended {
                break;
            }
        }
        match failed {
            Some(error) => Err(error),
            None => Ok(out),
        }
    }

    fn hash_frame(
        &self,
        number: u64,
        buffer: Vec<u8>,
        out: &mut Hashed,
        empty: &mpsc::Sender<Vec<u8>>,
    ) -> Result<()> {
        let (info, options) = (self.info, self.options);
        let picture = Picture::new(info.width, info.height, Pixels::Rgb(buffer))?;
        let dct = PdqDct::compute(&picture, Pipeline::VideoFrame);
        let frame = FrameHash {
            frame: number,
            quality: dct.quality(),
            hash: dct.hash(),
            timestamp: timestamp(number, self.fps),
        };
        out.frames.push(frame);
        if let Pixels::Rgb(samples) = picture.into_pixels() {
            if options.trim_bars {
                let bars = Bars::find(&samples, info.width, info.height);
                out.trimmed.push(if bars.is_empty() {
                    frame
                } else {
                    out.any_bars = true;
                    let (inside, width, height) = bars.crop(&samples, info.width, info.height);
                    let dct = PdqDct::compute(
                        &Picture::new(width, height, Pixels::Rgb(inside))?,
                        Pipeline::VideoFrame,
                    );
                    FrameHash {
                        quality: dct.quality(),
                        hash: dct.hash(),
                        ..frame
                    }
                });
            }
            let _ = empty.send(samples);
        }
        Ok(())
    }
}

/// A frame's time as the reference computes it: in single precision, which shows in the
/// third decimal of some frames (frame 75 at 30000/1001 fps is 2.503 in float32, 2.502 in
/// float64).
fn timestamp(frame: u64, fps: f64) -> f64 {
    f64::from(frame as f32 / fps as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A build made where FFmpeg's libraries were missing refuses a video with what to
    /// install (this runs only in such a build: `PKG_CONFIG_LIBDIR=/nonexistent cargo test
    /// -p ward-core --lib video` makes one).
    #[cfg(ward_no_ffmpeg)]
    #[test]
    fn without_ffmpeg_a_video_is_refused_with_what_to_install() {
        const { assert!(!DECODES_VIDEO) };
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/video/doorknob-hd-no-bar.mp4");
        let error = hash_video(&path, &VideoOptions::default()).unwrap_err();
        assert!(matches!(error, Error::NoVideoDecoder), "{error}");
        assert!(error.to_string().contains("libavcodec-dev"), "{error}");
    }

    #[test]
    fn sniffs_containers() {
        let check =
            |bytes: &[u8], expected: Option<&str>| assert_eq!(sniff(bytes), expected, "{bytes:?}");
        check(b"\0\0\0\x20ftypisom\0\0\0\0", Some("mp4"));
        check(b"\0\0\0\x14ftypqt  \0\0\0\0", Some("mov"));
        check(b"\0\0\0\x1cftypheic\0\0\0\0", None);
        check(b"\x1A\x45\xDF\xA3\x01", Some("matroska"));
        check(b"RIFF\0\0\0\0AVI LIST", Some("avi"));
        check(b"RIFF\0\0\0\0WEBPVP8 ", None);
        check(b"FLV\x01", Some("flv"));
        check(b"\xFF\xD8\xFF\xE0", None);
        check(b"", None);
        let mut ts = vec![0u8; 400];
        ts[0] = 0x47;
        ts[188] = 0x47;
        ts[376] = 0x47;
        check(&ts, Some("mpegts"));
    }

    #[test]
    fn timestamps_are_single_precision_like_the_reference() {
        let ntsc = 30000.0 / 1001.0;
        let check = |frame, fps, expected: &str| {
            assert_eq!(format!("{:.3}", timestamp(frame, fps)), expected, "{frame}");
        };
        check(0, ntsc, "0.000");
        check(75, ntsc, "2.503");
        check(36, 24000.0 / 1001.0, "1.502");
        check(90, 30.0, "3.000");
    }

    #[test]
    fn frames_read_ahead_are_bounded_by_memory() {
        let rgb = |w: usize, h: usize| w * h * 3;
        assert_eq!(read_ahead(rgb(1280, 720), 2), 8);
        assert_eq!(read_ahead(rgb(1920, 1080), 8), 10);
        assert_eq!(read_ahead(rgb(3840, 2160), 2), 2);
        assert_eq!(read_ahead(rgb(8192, 4320), 2), 1);
        assert_eq!(read_ahead(rgb(320, 240), 1), 4);
        assert_eq!(read_ahead(0, 0), 4);
    }

    #[test]
    fn refuses_bad_options_before_running_anything() {
        let options = VideoOptions {
            seconds_per_hash: -1.0,
            ..VideoOptions::default()
        };
        assert!(matches!(
            hash_video(Path::new("/nonexistent"), &options),
            Err(Error::InvalidOption(_))
        ));
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        match hash_video(
            Path::new("/nonexistent/video.mp4"),
            &VideoOptions::default(),
        ) {
            Err(Error::Corrupt { message, .. }) => {
                assert!(message.contains("No such file"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
}
