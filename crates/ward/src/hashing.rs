//! Hashing files: here are paths, give me their signals, in order.
//!
//! A feeder thread expands the inputs lazily (directories are walked in file-name order) and
//! hands each file to rayon's pool, which reads it once (digesting it on the way), decodes it
//! and hashes it. Results come back in input order through a reorder window of bounded size:
//! the feeder may run at most [`WINDOW`] inputs ahead of the consumer, so output streams as
//! results arrive and memory stays bounded however many files a directory holds.
//!
//! What a file is comes from its first bytes, never its name. An image is read into memory
//! and decoded; a video is only streamed past the digests (it may be gigabytes) and then
//! given by path to the video worker (`video_worker.rs`: FFmpeg's libraries in a child
//! process). Standard input that is a video is first copied to a temporary file, since
//! FFmpeg needs to seek.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write as _};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};

use tempfile::NamedTempFile;
use walkdir::WalkDir;
use ward_core::decode::{self, DecodeOptions, ImageFormat};
use ward_core::digest::{Digester, FileDigests};
use ward_core::pdq::{PdqDct, PdqHash, Pipeline, Quality};
use ward_core::video::{self, VideoOptions, Vpdq};

/// Something to hash: a path as the user gave it (or as a directory walk found it), or
/// standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

impl Input {
    /// Reads a command-line argument: `-` is standard input (`./-` names a file called `-`).
    pub fn from_arg(arg: &Path) -> Input {
        if arg.as_os_str() == "-" {
            Input::Stdin
        } else {
            Input::Path(arg.to_path_buf())
        }
    }

    /// The name to print: `-` for standard input, the path otherwise (lossily, when it is
    /// not valid UTF-8).
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            Input::Stdin => Cow::Borrowed("-"),
            Input::Path(path) => path.to_string_lossy(),
        }
    }
}

/// How to hash.
#[derive(Clone, Debug, PartialEq)]
pub struct HashOptions {
    pub decode: DecodeOptions,
    pub pipeline: Pipeline,
    /// Also compute the eight dihedral hashes.
    pub dihedral: bool,
    /// How to hash videos; `None` to give videos their digests only (when nothing would
    /// use their vPDQ, decoding them would be wasted).
    pub video: Option<VideoOptions>,
}

/// The signals of one file.
#[derive(Clone, Debug, PartialEq)]
pub struct Signals {
    /// Of the file's raw bytes.
    pub digests: FileDigests,
    pub media: Media,
}

/// The signals that depend on what a file is.
#[derive(Clone, Debug, PartialEq)]
pub enum Media {
    Image(ImageSignals),
    /// `None` when videos were not to be decoded ([`HashOptions::video`]).
    Video(Option<VideoSignals>),
}

/// An image's PDQ hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSignals {
    pub pdq: PdqHash,
    pub quality: Quality,
    /// In Meta's order ([`ward_core::pdq::DIHEDRAL_NAMES`]); present when asked for. Boxed:
    /// rarely asked for, and eight times the size of everything else.
    pub dihedral: Option<Box<[PdqHash; 8]>>,
}

/// A video's vPDQ, and how it was sampled.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoSignals {
    pub vpdq: Vpdq,
    /// The frames hashed inside their bars, when asked for and found.
    pub trimmed: Option<Vpdq>,
    pub seconds_per_hash: f64,
}

/// One input and what became of it.
#[derive(Debug)]
pub struct Hashed {
    pub input: Input,
    pub outcome: Result<Signals, HashError>,
    /// Found by walking a directory, rather than named on the command line.
    pub walked: bool,
}

impl Hashed {
    /// A file found in a directory that is neither an image nor a video (a README, a CSV):
    /// skipped and counted, as ripgrep skips binary files, not reported as an error. A file
    /// named on the command line that is not media is still an error.
    pub fn skipped(&self) -> bool {
        self.walked
            && matches!(
                self.outcome,
                Err(HashError::Decode(ward_core::Error::UnsupportedFormat))
            )
    }
}

/// Why an input has no signals. Any of these concerns that input only: the others are
/// still hashed.
#[derive(Debug)]
pub enum HashError {
    /// The file could not be opened or read.
    Read(io::Error),
    /// A directory could not be listed; the path is the directory.
    List(io::Error),
    /// The bytes are not a picture that ward-core decodes.
    Decode(ward_core::Error),
    /// The file starts as a video does, but could not be decoded and hashed as one.
    Video(ward_core::Error),
    /// Standard input (a video) could not be copied to a temporary file for the decoder.
    Spool(io::Error),
    /// Hashing panicked: a bug, reported for this input rather than taking the others down.
    Panicked,
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashError::Read(e) => write!(f, "cannot read: {}", describe_io(e)),
            HashError::List(e) => write!(f, "cannot list directory: {}", describe_io(e)),
            HashError::Decode(e) => e.fmt(f),
            // The limits say which option moves them.
            HashError::Video(ward_core::Error::TooLarge {
                width,
                height,
                limit,
            }) => write!(
                f,
                "video frames of {width}x{height} pixels exceed the limit of {limit} pixels \
                 (--max-frame-pixels)"
            ),
            HashError::Video(e @ ward_core::Error::TooLong { .. }) => {
                write!(f, "{e} (--max-duration)")
            }
            HashError::Video(e @ ward_core::Error::Timeout(_)) => {
                write!(f, "{e} (--decoder-timeout)")
            }
            HashError::Video(e) => e.fmt(f),
            HashError::Spool(e) => write!(
                f,
                "cannot copy standard input to a temporary file for the video decoder: {}",
                describe_io(e)
            ),
            HashError::Panicked => f.write_str("internal error: hashing panicked"),
        }
    }
}

impl std::error::Error for HashError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HashError::Read(e) | HashError::List(e) | HashError::Spool(e) => Some(e),
            HashError::Decode(e) | HashError::Video(e) => Some(e),
            HashError::Panicked => None,
        }
    }
}

/// Hashes `inputs` on all cores and yields one [`Hashed`] per file, in input order
/// (directory entries in walk order). Dropping the iterator early stops the work.
pub fn hash_in_order(inputs: Vec<Input>, options: HashOptions) -> impl Iterator<Item = Hashed> {
    hash_in_order_then(inputs, options, |hashed| hashed)
}

/// As [`hash_in_order`], running `then` on each file's result in the same parallel task, so
/// that what follows hashing (matching, for `ward scan`) runs on all cores too. A panic in
/// `then` is raised again on the thread that iterates.
pub fn hash_in_order_then<R, F>(
    inputs: Vec<Input>,
    options: HashOptions,
    then: F,
) -> impl Iterator<Item = R>
where
    R: Send + 'static,
    F: Fn(Hashed) -> R + Send + Sync + 'static,
{
    let work = move |job| {
        let hashed = run_job(job, &options);
        panic::catch_unwind(AssertUnwindSafe(|| then(hashed)))
    };
    ordered_parallel(jobs(inputs), WINDOW, work)
        .map(|result| result.unwrap_or_else(|payload| panic::resume_unwind(payload)))
}

/// How far the feeder may run ahead of the consumer: enough that one slow file does not
/// idle the other cores for long, small enough that the waiting results (a few hundred bytes
/// each) stay a few megabytes.
const WINDOW: usize = 4096;

/// Files are read in chunks of this size.
const CHUNK: usize = 256 * 1024;

/// Once this many bytes are in (or the file has ended), what the file is is decided from
/// them: an image, a video, or neither (given up on at once). It is more than any magic
/// number ward-core sniffs (an MPEG transport stream shows itself at byte 376).
const SNIFF_LEN: usize = 512;

/// One unit of work for the pool.
#[derive(Debug)]
enum Job {
    /// A file to read; `walked` when a directory walk found it.
    Read { input: Input, walked: bool },
    /// Walking found an error, which only needs to be passed along in its place.
    Failed(Input, HashError),
}

/// Expands the inputs lazily: a directory becomes its files in walk order.
fn jobs(inputs: Vec<Input>) -> impl Iterator<Item = Job> + Send + 'static {
    inputs
        .into_iter()
        .flat_map(|input| -> Box<dyn Iterator<Item = Job> + Send> {
            match input {
                Input::Path(path) if path.is_dir() => Box::new(walk(path)),
                input => Box::new(std::iter::once(Job::Read {
                    input,
                    walked: false,
                })),
            }
        })
}

/// The files under `root`, sorted by name within each directory, depth first.
///
/// Regular files are read, whatever their names. Symbolic links are not followed into
/// directories (that could loop or leave the tree) but are read when they point to a file,
/// and reported when they point nowhere. Pipes, sockets and devices are skipped: reading one
/// could block for ever.
fn walk(root: PathBuf) -> impl Iterator<Item = Job> + Send {
    let walker = WalkDir::new(&root).sort_by_file_name().into_iter();
    walker.filter_map(move |entry| match entry {
        Ok(entry) => {
            let kind = entry.file_type();
            let wanted = kind.is_file() || (kind.is_symlink() && is_file_or_dangling(entry.path()));
            wanted.then(|| Job::Read {
                input: Input::Path(entry.into_path()),
                walked: true,
            })
        }
        Err(err) => {
            let path = err.path().map_or_else(|| root.clone(), Path::to_path_buf);
            Some(Job::Failed(Input::Path(path), HashError::List(err.into())))
        }
    })
}

fn is_file_or_dangling(link: &Path) -> bool {
    fs::metadata(link).map_or(true, |target| target.is_file())
}

fn run_job(job: Job, options: &HashOptions) -> Hashed {
    match job {
        Job::Failed(input, error) => Hashed {
            input,
            outcome: Err(error),
            walked: true,
        },
        Job::Read { input, walked } => {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| hash_input(&input, options)))
                .unwrap_or(Err(HashError::Panicked));
            Hashed {
                input,
                outcome,
                walked,
            }
        }
    }
}

fn hash_input(input: &Input, options: &HashOptions) -> Result<Signals, HashError> {
    let content = match input {
        Input::Stdin => read_once(io::stdin().lock(), Spool::Temporary)?,
        Input::Path(path) => read_once(File::open(path).map_err(HashError::Read)?, Spool::No)?,
    };
    match content {
        Content::Image(bytes, digests) => {
            let picture = decode::decode(&bytes, &options.decode).map_err(HashError::Decode)?;
            drop(bytes);
            let dct = PdqDct::compute(&picture, options.pipeline);
            Ok(Signals {
                digests,
                media: Media::Image(ImageSignals {
                    pdq: dct.hash(),
                    quality: dct.quality(),
                    dihedral: options.dihedral.then(|| Box::new(dct.dihedral())),
                }),
            })
        }
        Content::Video(digests, spooled) => {
            let Some(video_options) = &options.video else {
                return Ok(Signals {
                    digests,
                    media: Media::Video(None),
                });
            };
            let path = match (&spooled, input) {
                (Some(file), _) => file.path(),
                (None, Input::Path(path)) => path.as_path(),
                (None, Input::Stdin) => unreachable!("standard input is always spooled"),
            };
            let hashed =
                crate::video_worker::hash_video(path, video_options).map_err(HashError::Video)?;
            drop(spooled);
            // Nothing to match, and a sign of a damaged file the decoder did not complain
            // about: better an error than a video that silently matches nothing.
            if hashed.vpdq.is_empty() {
                return Err(HashError::Video(ward_core::Error::Corrupt {
                    format: "video",
                    message: "no frames could be decoded".into(),
                }));
            }
            Ok(Signals {
                digests,
                media: Media::Video(Some(VideoSignals {
                    vpdq: hashed.vpdq,
                    trimmed: hashed.trimmed,
                    seconds_per_hash: video_options.seconds_per_hash,
                })),
            })
        }
    }
}

/// What reading a file gave.
#[derive(Debug)]
enum Content {
    /// An image (or too little to tell), whole in memory.
    Image(Vec<u8>, FileDigests),
    /// A video, streamed past the digests; standard input's bytes are in the temporary file.
    Video(FileDigests, Option<NamedTempFile>),
}

/// Where a video's bytes go while it is digested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spool {
    /// Nowhere: the decoder reads the file itself.
    No,
    /// To a temporary file, for standard input.
    Temporary,
}

/// Reads a file once in chunks, digesting it on the way: an image whole into memory, a
/// video only streamed past (into a temporary file for `Spool::Temporary`).
///
/// Stops as soon as the first bytes show that neither an image nor a video starts this way:
/// such a file can only give an error, and it may be many gigabytes.
fn read_once(mut reader: impl Read, spool: Spool) -> Result<Content, HashError> {
    let mut bytes = Vec::new();
    let mut digester = Digester::default();
    let mut chunk = vec![0u8; CHUNK];
    // Reads the next chunk, digesting it; 0 at the end.
    let mut read = |chunk: &mut [u8], digester: &mut Digester| -> Result<usize, HashError> {
        loop {
            match reader.read(chunk) {
                Ok(n) => {
                    digester.update(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(HashError::Read(e)),
            }
        }
    };
    // The start, to tell what the file is.
    let mut ended = false;
    while bytes.len() < SNIFF_LEN {
        let n = read(&mut chunk, &mut digester)?;
        if n == 0 {
            ended = true;
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    if ImageFormat::sniff(&bytes).is_none() && video::sniff(&bytes).is_some() {
        let mut spooled = match spool {
            Spool::No => None,
            Spool::Temporary => {
                let mut file = NamedTempFile::new().map_err(HashError::Spool)?;
                file.write_all(&bytes).map_err(HashError::Spool)?;
                Some(file)
            }
        };
        drop(bytes);
        while !ended {
            let n = read(&mut chunk, &mut digester)?;
            ended = n == 0;
            if let Some(file) = &mut spooled {
                file.write_all(&chunk[..n]).map_err(HashError::Spool)?;
            }
        }
        if let Some(file) = &mut spooled {
            file.flush().map_err(HashError::Spool)?;
        }
        return Ok(Content::Video(digester.finish(), spooled));
    }
    if !ended && ImageFormat::sniff(&bytes).is_none() {
        return Err(HashError::Decode(ward_core::Error::UnsupportedFormat));
    }
    while !ended {
        let n = read(&mut chunk, &mut digester)?;
        ended = n == 0;
        bytes.extend_from_slice(&chunk[..n]);
    }
    Ok(Content::Image(bytes, digester.finish()))
}

/// An io error as a lower-case phrase: "permission denied", not "Permission denied (os
/// error 13)".
pub fn describe_io(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match error.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .unwrap_or(&text),
        None => &text,
    };
    let mut chars = text.chars();
    match (chars.next(), chars.clone().next()) {
        // Only a capital starting a lower-case word: "I/O" and "EOF" stay as they are.
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

/// Runs `work` on every item on rayon's pool and yields the results in the items' order,
/// with at most `window` items taken but not yet yielded.
///
/// The items are pulled on a thread of their own, which waits whenever the window is full;
/// the consumer keeps early results until the ones before them are done. `work` must not
/// panic (a panic in a rayon task aborts the process).
fn ordered_parallel<T, R, F>(
    items: impl Iterator<Item = T> + Send + 'static,
    window: usize,
    work: F,
) -> Ordered<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    // A token per item in the window: the feeder sends one before it starts an item and
    // blocks when `window` are out; the consumer takes one back per result it yields.
    let (permit_tx, permits) = mpsc::sync_channel::<()>(window.max(1));
    let (result_tx, results) = mpsc::channel();
    let work = Arc::new(work);
    let feeder = thread::Builder::new()
        .name("ward-feeder".into())
        .spawn(move || {
            for (index, item) in items.enumerate() {
                if permit_tx.send(()).is_err() {
                    return; // The consumer is gone.
                }
                let (work, result_tx) = (Arc::clone(&work), result_tx.clone());
                rayon::spawn(move || {
                    // The consumer may be gone; then nobody wants the result.
                    let _ = result_tx.send((index, work(item)));
                });
            }
        })
        .expect("cannot start the feeder thread");
    Ordered {
        results,
        permits,
        waiting: BTreeMap::new(),
        next: 0,
        feeder: Some(feeder),
    }
}

/// The iterator [`ordered_parallel`] returns.
struct Ordered<R> {
    results: Receiver<(usize, R)>,
    permits: Receiver<()>,
    /// Results that finished before an earlier one; never more than the window.
    waiting: BTreeMap<usize, R>,
    next: usize,
    feeder: Option<JoinHandle<()>>,
}

impl<R> Iterator for Ordered<R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        loop {
            if let Some(result) = self.waiting.remove(&self.next) {
                self.next += 1;
                // This result's token was sent before its work started, so this never waits.
                let _ = self.permits.recv();
                return Some(result);
            }
            match self.results.recv() {
                Ok((index, result)) => {
                    self.waiting.insert(index, result);
                }
                // Every sender is gone: the feeder has finished and so has all the work.
                Err(_) => {
                    if let Some(Err(panic)) = self.feeder.take().map(JoinHandle::join) {
                        panic::resume_unwind(panic);
                    }
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn yields_in_order_within_the_window() {
        for window in [1, 2, 3, 8, 100] {
            let taken = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&taken);
            let items = (0..60u64).inspect(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            });
            // Later items finish first often, so the reorder buffer has work to do.
            let work = |i: u64| {
                thread::sleep(Duration::from_millis((60 - i) % 7));
                i * 10
            };
            let mut yielded = 0;
            for (expected, result) in ordered_parallel(items, window, work).enumerate() {
                assert_eq!(result, expected as u64 * 10, "window {window}");
                yielded += 1;
                // The feeder takes one item before it waits for room to start it.
                let ahead = taken.load(Ordering::SeqCst) - yielded;
                assert!(ahead <= window + 1, "window {window}: {ahead} items ahead");
            }
            assert_eq!(yielded, 60);
        }
    }

    #[test]
    fn stops_when_dropped_early() {
        let mut results = ordered_parallel(0..1_000_000u64, 4, |i| i);
        assert_eq!(results.next(), Some(0));
        assert_eq!(results.next(), Some(1));
        drop(results); // Must not hang: the feeder sees the consumer gone.
    }

    #[test]
    fn no_items_no_results() {
        assert_eq!(
            ordered_parallel(std::iter::empty::<u8>(), 4, |i| i).count(),
            0
        );
    }

    fn check_describe(error: io::Error, expected: &str) {
        assert_eq!(describe_io(&error), expected);
    }

    #[test]
    fn io_errors_read_as_phrases() {
        check_describe(io::Error::from_raw_os_error(2), "no such file or directory");
        check_describe(io::Error::from_raw_os_error(13), "permission denied");
        check_describe(io::Error::from_raw_os_error(21), "is a directory");
        check_describe(io::Error::other("EOF while reading"), "EOF while reading");
        check_describe(io::Error::other("I/O error"), "I/O error");
        check_describe(io::Error::other("Bad thing"), "bad thing");
        check_describe(io::Error::other("x"), "x");
        check_describe(io::Error::other(""), "");
    }

    fn check_error(error: HashError, expected: &str) {
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn hash_errors_say_what_failed() {
        check_error(
            HashError::Read(io::Error::from_raw_os_error(13)),
            "cannot read: permission denied",
        );
        check_error(
            HashError::List(io::Error::from_raw_os_error(13)),
            "cannot list directory: permission denied",
        );
        check_error(HashError::Decode(ward_core::Error::Empty), "empty file");
        check_error(
            HashError::Video(ward_core::Error::TooLarge {
                width: 1920,
                height: 1080,
                limit: 100,
            }),
            "video frames of 1920x1080 pixels exceed the limit of 100 pixels \
             (--max-frame-pixels)",
        );
        check_error(
            HashError::Video(ward_core::Error::TooLong {
                seconds: 6.04,
                limit: 2,
            }),
            "video of 6.0 s exceeds the limit of 2 s (--max-duration)",
        );
        check_error(
            HashError::Video(ward_core::Error::Timeout(1)),
            "video decoding took longer than 1 s and was stopped (--decoder-timeout)",
        );
        check_error(
            HashError::Spool(io::Error::from_raw_os_error(28)),
            "cannot copy standard input to a temporary file for the video decoder: no space \
             left on device",
        );
        check_error(HashError::Panicked, "internal error: hashing panicked");
    }

    /// What `read_once` makes of `bytes`: `image N` or `video N` (N bytes kept or spooled),
    /// or the error; the digests are checked against the bytes here.
    fn check_read(bytes: &[u8], spool: Spool, expected: Result<&str, &str>) {
        let read = read_once(bytes, spool).map(|content| match content {
            Content::Image(read, digests) => {
                assert_eq!(digests, FileDigests::of(bytes));
                assert_eq!(read, bytes);
                format!("image {}", read.len())
            }
            Content::Video(digests, spooled) => {
                assert_eq!(digests, FileDigests::of(bytes));
                match spooled {
                    Some(file) => {
                        assert_eq!(fs::read(file.path()).unwrap(), bytes);
                        format!("video {}", bytes.len())
                    }
                    None => "video".to_owned(),
                }
            }
        });
        assert_eq!(
            read.map_err(|e| e.to_string()),
            expected.map(str::to_owned).map_err(str::to_owned)
        );
    }

    #[test]
    fn reads_whole_images_and_gives_up_on_other_files_early() {
        let png_like = [&b"\x89PNG\r\n\x1a\n"[..], &[7; 3 * CHUNK]].concat();
        check_read(b"", Spool::No, Ok("image 0"));
        // Too short to judge early; decoding will say.
        check_read(b"not an image", Spool::No, Ok("image 12"));
        check_read(
            &png_like,
            Spool::No,
            Ok(&format!("image {}", png_like.len())),
        );
        check_read(
            &[b'x'; 3 * CHUNK],
            Spool::No,
            Err("not a recognised image or video format"),
        );
    }

    #[test]
    fn streams_videos_past_the_digests() {
        let mp4_like = [&b"\0\0\0\x20ftypisom"[..], &[9; 3 * CHUNK + 5]].concat();
        check_read(&mp4_like, Spool::No, Ok("video"));
        check_read(
            &mp4_like,
            Spool::Temporary,
            Ok(&format!("video {}", mp4_like.len())),
        );
        // Shorter than the sniffing window: still a video.
        check_read(&mp4_like[..40], Spool::Temporary, Ok("video 40"));
        // A transport stream shows itself only at byte 376.
        let mut ts = vec![0u8; 1000];
        for at in [0, 188, 376, 564, 752, 940] {
            ts[at] = 0x47;
        }
        check_read(&ts, Spool::No, Ok("video"));
    }
    #[test]
    fn dash_is_standard_input() {
        assert_eq!(Input::from_arg(Path::new("-")), Input::Stdin);
        assert_eq!(Input::from_arg(Path::new("./-")), Input::Path("./-".into()));
        assert_eq!(Input::Stdin.name(), "-");
        assert_eq!(Input::Path("a/b c.png".into()).name(), "a/b c.png");
    }
}
