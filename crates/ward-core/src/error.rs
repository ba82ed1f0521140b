//! The one error type of ward-core, in the words of the field.

/// What can go wrong turning bytes into signals.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input has no bytes at all.
    #[error("empty file")]
    Empty,
    /// The bytes are not an image format Ward decodes.
    #[error("not a recognised image or video format")]
    UnsupportedFormat,
    /// The file ends before its image data does.
    #[error("truncated {format} file")]
    Truncated { format: &'static str },
    /// The file is damaged or not what its header says.
    #[error("corrupt {format} file: {message}")]
    Corrupt {
        format: &'static str,
        message: String,
    },
    /// A valid file using a feature Ward does not decode.
    #[error("unsupported {format} file: {message}")]
    Unsupported {
        format: &'static str,
        message: String,
    },
    /// The header claims more pixels than the configured limit (a decompression bomb, or an
    /// image too large to hash safely).
    #[error("image of {width}x{height} pixels exceeds the limit of {limit} pixels")]
    TooLarge { width: u64, height: u64, limit: u64 },
    /// A hash in text form is malformed.
    #[error("invalid {signal_type}: {reason}")]
    InvalidSignal {
        signal_type: &'static str,
        reason: String,
    },
    /// An index snapshot cannot be written or read back (damaged, truncated, another version).
    #[error("index snapshot: {0}")]
    Snapshot(String),
    /// The video decoder (FFmpeg's libraries, or the process running them) failed, crashed
    /// or could not be started.
    #[error("video decoder: {0}")]
    Decoder(String),
    /// This build of Ward was made without FFmpeg's libraries and decodes no video.
    #[error(
        "this build of Ward decodes no video: it was built without FFmpeg's libraries \
         (Debian: apt-get install pkg-config libavcodec-dev libavformat-dev libavutil-dev \
         libswscale-dev, then build again)"
    )]
    NoVideoDecoder,
    /// A video runs longer than the configured limit.
    #[error("video of {seconds:.1} s exceeds the limit of {limit} s")]
    TooLong { seconds: f64, limit: u64 },
    /// Decoding took longer than the configured time limit; the decoder was stopped.
    #[error("video decoding took longer than {0} s and was stopped")]
    Timeout(u64),
    /// A setting has a value Ward does not know.
    #[error("{0}")]
    InvalidOption(String),
    /// A series operation names an item the series engine does not hold.
    #[error("unknown item {0}")]
    UnknownItem(u64),
    /// An item is added to the series engine under an id it already holds.
    #[error("item {0} is already held")]
    DuplicateItem(u64),
    /// A series operation names a series that does not exist (or no longer has members).
    #[error("unknown series {0}")]
    UnknownSeries(u64),
    /// A curator's split that cannot be made (no members, members of another series, or
    /// every member of the series).
    #[error("invalid split: {0}")]
    InvalidSplit(String),
}

/// `Result` with ward-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
