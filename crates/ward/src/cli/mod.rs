//! The command line: what `ward` and each of its commands accept, as clap reads it.
//!
//! Doc comments here are the `--help` text. Each command lives in its own module with a
//! `run` function; this module only parses and dispatches.

mod admin;
mod exchange;
mod exchanges;
mod hash;
mod matching;
mod output;
mod referral;
mod scan;
mod serve;
mod sync;

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum, value_parser};
use ward_core::decode::DecodeOptions;
use ward_core::digest::Md5;
use ward_core::lists::{Hex64, ListError, SignalType};
use ward_core::pdq::{Pipeline, Quality};
use ward_core::video::{CompareOptions, VideoHit, VideoOptions};

use crate::hashing::{Media, Signals};
use crate::matcher::{Hit, Matcher, Queries};
use output::{MatchPrinter, MatchRecord};

/// The exit status when some inputs could not be hashed but the others were.
pub const EXIT_SOME_FAILED: u8 = 1;

/// The exit status when the command itself failed (bad usage, output not writable).
pub const EXIT_FATAL: u8 = 2;

/// The exit status of `ward match` and `ward scan` when anything matched.
pub const EXIT_MATCHED: u8 = 3;

/// What `ward match` and `ward scan` say about their exit status.
const MATCH_EXIT_HELP: &str = "Exit status: 0 when nothing matched and every input was \
    read; 3 when anything matched, even if some inputs failed (a match is never hidden \
    behind an error; the failures have their own records); 1 when some inputs could not be \
    read or hashed and nothing matched; 2 when the command failed (bad usage, a list that \
    cannot be opened, output not writable). Malformed list lines are reported on standard \
    error as LIST:LINE: reason and skipped; they do not change the status.";

/// Ward: find known abuse material by its hashes.
#[derive(Debug, Parser)]
#[command(name = "ward", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the PDQ hash and quality (images) or vPDQ (videos), and the MD5, SHA-1 and
    /// SHA-256, of media files.
    ///
    /// Files are hashed in parallel on all cores and printed in the order given. What a file
    /// is comes from its first bytes, never its name. Images: JPEG, PNG, GIF, WebP, BMP,
    /// TIFF. Videos (MP4, MOV, Matroska/WebM, AVI, FLV, ASF/WMV, MPEG, MPEG-TS) are decoded
    /// with FFmpeg's libraries in a separate process; a video's vPDQ is the PDQ hash of
    /// one frame every --seconds-per-hash, sampled and stamped as Meta's vPDQ does, so it
    /// matches the lists HMA and python-threatexchange make. Files in folders that are
    /// neither images nor videos are skipped, as ripgrep skips binary files; a file named
    /// on the command line is read whatever it is. A summary goes to standard error at the
    /// end: `ward: hash: hashed=N skipped=N errors=N seconds=S`.
    #[command(
        after_help = "Exit status: 0 when every image and video was hashed, 1 when any \
                            could not be (each has its own error record), 2 when the command \
                            failed."
    )]
    Hash(HashArgs),

    /// Match hashes or media files against hash lists.
    ///
    /// Prints one record per match, queries in the order given and each query's matches
    /// nearest first: {"query":…,"list":…,"signal_type":…,"signal":…,"label":…,"id":…,
    /// "distance":N}, with "path" first for a file. A video that matches a vPDQ entry
    /// prints {"path":…,"query":MD5,"list":…,"signal_type":"vpdq","label":…,"id":…,
    /// "query_share":Q,"compared_share":C}: the query is the video's MD5 (its vPDQ is too
    /// long to print), the entry is named by its list, label and id (give vPDQ lists an id
    /// column), and the shares are the percentages of the video's distinct frames found in
    /// the entry's and of the entry's found in the video's. A video's digests are matched
    /// as an image's are, first; videos are decoded only when some list has vPDQ entries.
    /// A file that cannot be hashed prints {"path":…,"error":…}.
    #[command(after_help = MATCH_EXIT_HELP)]
    Match(MatchArgs),

    /// Hash every file under directories and print those that match hash lists.
    ///
    /// Files are hashed in parallel on all cores, as `ward hash` does, and matched as they
    /// are hashed. One record per match, in file-name order: {"path":…,"query":…,"list":…,
    /// "signal_type":…,"signal":…,"label":…,"id":…,"distance":N}; a file that cannot be
    /// hashed prints {"path":…,"error":…}; videos print as with `ward match`. Files in the
    /// folders that are neither images nor videos are skipped (a file named on the command
    /// line is read whatever it is). A summary goes to standard error at the end: `ward:
    /// scan: files=N matched=N skipped=N errors=N low_quality=N seconds=S` (matched counts
    /// files with at least one match; low_quality
    /// those whose PDQ hash, or every frame of a video, was below --min-quality and were
    /// matched by their digests only; seconds since the command
    /// started, loading the lists included). On a terminal, a progress
    /// line is shown on standard error meanwhile.
    #[command(after_help = MATCH_EXIT_HELP)]
    Scan(ScanArgs),

    /// Run the HTTP service: banks, content and keys, hashing and matching for platforms
    /// (`/v1`, and HMA's routes), health and metrics.
    ///
    /// Data is kept in SQLite under --data-dir by default; with --database-url
    /// postgres://… several `ward serve` nodes share one PostgreSQL and each keeps its match
    /// index current from it. Make the first key with `ward admin`.
    Serve(Box<ServeArgs>),

    /// Manage organisations and API keys directly in the store (the same --data-dir or
    /// --database-url as `ward serve`; the service may be running).
    Admin(AdminArgs),

    /// Import hash lists into a bank, as the field exchanges them: CSV or plain lists, HMA
    /// bank content, Project VIC (VICS) JSON, NCMEC hash-sharing XML, StopNCII JSON.
    ///
    /// Files are read as streams (a multi-gigabyte file needs memory for two batches of
    /// 65,536 entries) and applied in batches, each one transaction. Entries with the list's
    /// own id (VICS MediaID, NCMEC's id, a CSV `id` column) replace the bank's item with that
    /// id, and tombstones (NCMEC deletedImage, StopNCII Withdrawn/Deleted) remove it; the
    /// list's category label and other fields are kept as given. Entries without an id are
    /// keyed by their signals: one the bank holds already is not added again (`unchanged`), so
    /// a file imported twice, or again after an interrupted import, adds nothing twice. The
    /// bank is created (owned by --org) when it does not exist. Malformed records are
    /// reported on standard error as FILE:record N (line L): reason, and skipped. A summary
    /// line per file goes to standard error: `ward: import: FILE: records=N added=N
    /// replaced=N removed=N missing=N unchanged=N malformed=N seconds=S per_second=N`.
    #[command(
        after_help = "Exit status: 0 when every record of every file was imported, 1 when \
                      some were malformed or a file ended early (the rest was imported), \
                      2 when the command failed (what was imported before stays)."
    )]
    Import(ImportArgs),

    /// Write a bank's content as a hash list (CSV with a `signal_type,signal` header, HMA
    /// bank content as JSON lines, or a VICS `#Media` JSON export), to standard output or
    /// --output.
    Export(ExportArgs),

    /// Write a referral of content items to law enforcement or a hotline: their signals,
    /// categories, provenance, first and last seen, and the reported URLs related to them
    /// with their reports (never a reporter's e-mail), as Ward's referral JSON or a VICS
    /// `#Media` export, to standard output or --output. The export is recorded in the audit
    /// log (`export.referral`, target `content:ID,...`).
    #[command(
        after_help = "Exit status: 0 when every item was written, 1 when VICS could not \
                      carry some (vPDQ alone; their ids go to standard error), 2 when the \
                      command failed."
    )]
    Referral(ReferralArgs),

    /// Pull partner Ward instances' feeds into local banks (federation).
    ///
    /// A partner shares banks with an organisation it made for this instance, and gives it
    /// an API key (curator or analyst). A partner is an exchange of type `ward` (also made
    /// by `ward exchange add --api ward` or HMA's /c/exchanges), filling a bank of its own.
    /// `ward sync add` pins the partner's public key (from its /v1/instance, or
    /// --public-key; compare it with the partner out of band) and keeps its API key sealed
    /// as that exchange's own credentials; every page pulled must carry that key's
    /// signature over its exact bytes, for the cursor asked: an altered, foreign or
    /// replayed page is refused and nothing of it is stored. Each page is applied as one
    /// batch keyed on the partner's content ids, with the cursor after it, so a pull
    /// stopped at any point resumes without losing or duplicating anything. `ward serve`
    /// fetches them every --exchange-interval seconds, as every exchange. Partners of
    /// older deployments become `ward` exchanges when a command holding the deployment's
    /// key (this one, `ward exchange fetch` or `credentials`, `ward serve`) first runs.
    #[command(subcommand)]
    Sync(SyncCommand),

    /// Set up, list and fetch live exchanges: NCMEC's hash sharing (API v2), each exchange
    /// filling a bank of its own.
    ///
    /// `ward exchange add NAME --api ncmec --config '{"environment":"https://exttest.cybertip.org/hashsharing"}'`
    /// makes the exchange and its bank NAME of --org; `ward exchange credentials --org ORG
    /// ncmec` keeps the organisation's NCMEC user and password (from TX_NCMEC_CREDENTIALS
    /// or ~/.tx_ncmec_credentials, as `user:password`), sealed with the deployment's key
    /// and used only for its exchanges; `ward exchange fetch NAME` reads
    /// what is new, a page at a time, each page saved with where it got to, so a fetch
    /// stopped at any point resumes without losing or repeating anything. Entries are
    /// keyed on NCMEC's member and entry ids; deleted entries are removed from the bank.
    #[command(subcommand)]
    Exchange(ExchangeCommand),

    /// Decode and hash one video and print the result as a JSON line: the child process
    /// every other command decodes videos in (see video_worker.rs), not for people.
    #[command(name = "video-worker", hide = true)]
    VideoWorker(VideoWorkerArgs),
}

/// `ward sync` subcommands.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Add a partner: NAME (this instance's name for it), its base URL, and the key it gave
    /// read from --key-from (never from the command line, where other users of the machine
    /// see it); makes the `ward` exchange filling --bank and prints its id.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// The key file secrets are sealed with (as `ward serve --evidence-key`).
        #[arg(long, value_name = "FILE", env = "WARD_EVIDENCE_KEY")]
        evidence_key: Option<PathBuf>,
        name: String,
        url: String,
        /// A file holding the API key the partner gave this instance (its first line; `-`:
        /// standard input).
        #[arg(long, value_name = "FILE")]
        key_from: PathBuf,
        /// The bank of --org its content is pulled into (created, private, if missing).
        #[arg(long, value_name = "NAME")]
        bank: String,
        /// The organisation the pulled content is for, which owns the bank.
        #[arg(long, value_name = "NAME", default_value = "local")]
        org: String,
        /// The partner's Ed25519 public key (hex), instead of asking its /v1/instance.
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
    },
    /// List the partners (the `ward` exchanges), tab-separated: id, name, URL, bank,
    /// public key, cursor, last fetch and how it went (never their keys).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_name = "FILE", env = "WARD_EVIDENCE_KEY")]
        evidence_key: Option<PathBuf>,
    },
    /// Fetch partners' feeds now, until each has no more (every enabled `ward` exchange,
    /// or the one named: the partner's name or its exchange's).
    Run {
        #[command(flatten)]
        store: StoreArgs,
        name: Option<String>,
        #[arg(long, value_name = "FILE", env = "WARD_EVIDENCE_KEY")]
        evidence_key: Option<PathBuf>,
        /// Take each exchange's lease from whoever holds it (a run that was killed holds it
        /// until it lapses), as `ward exchange fetch --take-over`.
        #[arg(long)]
        take_over: bool,
    },
}

/// `ward exchange` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Add an exchange, filling the bank NAME of --org (made if missing); prints its id.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        name: String,
        /// The organisation the exchange's content is for, which owns its bank.
        #[arg(long, value_name = "NAME", default_value = "local")]
        org: String,
        /// The exchange's type: ncmec, stop_ncii, fb_threatexchange, file (a hash list at
        /// a URL, taken as a full snapshot) or ward (a partner Ward instance's signed feed).
        #[arg(long, value_name = "TYPE", default_value = "ncmec")]
        api: String,
        /// Its settings as JSON: for ncmec, `environment` (the API's base URL) and
        /// `only_esp_ids` (members to take entries of; none: all); for stop_ncii none; for
        /// fb_threatexchange `privacy_group` (its id); for file `url` (https, or http to a
        /// loopback address) and `format` (csv, hma or vics); for ward `url`, `public_key`
        /// (hex Ed25519) and optionally `partner` (its name in provenance). stop_ncii,
        /// fb_threatexchange and file take `page_size` too.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        config: String,
        /// Where requests go instead of the type's API (a proxy, a test server): the
        /// settings' `base_url` (not for file, whose `url` is the address).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
    },
    /// List the exchanges with their fetch status (never credentials), one JSON line each.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Fetch an exchange now, until it has nothing new or --seconds have passed.
    Fetch {
        #[command(flatten)]
        store: StoreArgs,
        name: String,
        #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
        seconds: u64,
        /// The key file secrets are sealed with (as `ward serve --evidence-key`).
        #[arg(long, value_name = "FILE", env = "WARD_EVIDENCE_KEY")]
        evidence_key: Option<PathBuf>,
        /// Take the exchange's lease from whoever holds it (a fetch that was killed holds it
        /// until it lapses). Safe whatever the holder is doing: its next save fails, since
        /// every save names its holder and the version it started from.
        #[arg(long)]
        take_over: bool,
    },
    /// Keep an organisation's credentials for an exchange type, sealed; they fetch only
    /// into its exchanges; --unset forgets them. Read from --from, else where
    /// python-threatexchange looks: ncmec `user:password` from TX_NCMEC_CREDENTIALS, else
    /// ~/.tx_ncmec_credentials; stop_ncii
    /// `fetch_function_key,subscription_key[,base_url_override]` from TX_STOPNCII_KEYS,
    /// else ~/.tx_stopncii_keys; fb_threatexchange the app's token `APPID|SECRET` from
    /// TX_ACCESS_TOKEN, else ~/.txtoken; file (optional: a list may be open) a bearer token
    /// from WARD_FILE_BEARER, else ~/.ward_file_bearer; ward the API key the partner gave,
    /// for the one exchange --exchange, from --from only (every partner's key is its own).
    /// Never from the command line.
    Credentials {
        #[command(flatten)]
        store: StoreArgs,
        api: String,
        /// For ward: the exchange whose key they are.
        #[arg(long, value_name = "NAME")]
        exchange: Option<String>,
        /// The organisation whose credentials they are.
        #[arg(long, value_name = "NAME", default_value = "local")]
        org: String,
        #[arg(long)]
        unset: bool,
        /// A file holding them as the environment variable would (`-`: standard input).
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        #[arg(long, value_name = "FILE", env = "WARD_EVIDENCE_KEY")]
        evidence_key: Option<PathBuf>,
    },
    /// Stop fetching an exchange (its bank still matches).
    Disable {
        #[command(flatten)]
        store: StoreArgs,
        name: String,
    },
    /// Fetch an exchange again.
    Enable {
        #[command(flatten)]
        store: StoreArgs,
        name: String,
    },
    /// Delete an exchange and its bank.
    Delete {
        #[command(flatten)]
        store: StoreArgs,
        name: String,
    },
}

impl ExchangeCommand {
    pub(crate) fn store(&self) -> &StoreArgs {
        match self {
            ExchangeCommand::Add { store, .. }
            | ExchangeCommand::List { store }
            | ExchangeCommand::Fetch { store, .. }
            | ExchangeCommand::Credentials { store, .. }
            | ExchangeCommand::Disable { store, .. }
            | ExchangeCommand::Enable { store, .. }
            | ExchangeCommand::Delete { store, .. } => store,
        }
    }
}

/// Arguments of `ward import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// The bank of --org to import into (created if it has none of that name; other
    /// organisations' banks are never imported into by name).
    #[arg(long, value_name = "NAME")]
    pub bank: String,

    /// The format of the files: csv, hma, vics, ncmec or stopncii.
    #[arg(long, value_name = "FORMAT", default_value = "csv")]
    pub format: String,

    /// The organisation the import acts for, which owns the bank (created too if
    /// missing).
    #[arg(long, value_name = "NAME", default_value = "local")]
    pub org: String,

    /// The provenance of the imported items (`import:FILE` by default).
    #[arg(long, value_name = "TEXT")]
    pub source: Option<String>,

    /// The files to import; `-` is standard input.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// Arguments of `ward export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// The bank to export: the organisation's own bank of that name, else the one other
    /// bank of that name it sees.
    #[arg(long, value_name = "NAME")]
    pub bank: String,

    /// The organisation the export acts for.
    #[arg(long, value_name = "NAME", default_value = "local")]
    pub org: String,

    /// csv, hma or vics.
    #[arg(long, value_name = "FORMAT", default_value = "csv")]
    pub format: String,

    /// Where to write (standard output by default).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Arguments of `ward referral`.
#[derive(Debug, Args)]
pub struct ReferralArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// The content items to refer: ids separated by commas (`12,13`).
    #[arg(
        long,
        value_name = "ID[,ID...]",
        value_delimiter = ',',
        required = true
    )]
    pub content: Vec<i64>,

    /// json (Ward's referral JSON) or vics.
    #[arg(long, value_name = "FORMAT", default_value = "json")]
    pub format: String,

    /// Where to write (standard output by default).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Arguments of `ward hash`.
#[derive(Debug, Args)]
pub struct HashArgs {
    /// Files or directories to hash; `-` reads standard input.
    ///
    /// Directories are walked recursively in file-name order. Every regular file in them is
    /// attempted whatever its name; symbolic links to files are read, links to directories
    /// are not followed, and other special files (pipes, sockets, devices) are skipped. A
    /// path named on the command line is read whatever it is.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Also print the hashes of the eight rotations and flips, in Meta's order: original,
    /// rotate90, rotate180, rotate270, flipx, flipy, flipplus1, flipminus1.
    #[arg(long)]
    pub dihedral: bool,

    /// The reference pipeline to reproduce: `full` hashes the whole image as the pdqhash
    /// binding, HMA and shared lists do; `cli512` first shrinks images larger than 512
    /// pixels to 512x512 as Meta's C++ command-line tool does.
    #[arg(long, value_name = "PIPELINE", default_value = "full", value_parser = pipeline_parser())]
    pub pipeline: Pipeline,

    /// How to print each record.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,

    /// Turn photos as their EXIF orientation says before hashing. The reference does not, so
    /// such hashes will not match shared lists for rotated photos.
    #[arg(long)]
    pub exif_orient: bool,

    /// Refuse images with more pixels than this, before decoding them.
    #[arg(long, value_name = "N", default_value_t = DecodeOptions::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,

    #[command(flatten)]
    pub video: VideoArgs,
}

/// How videos are decoded and sampled, and the limits that keep a hostile one from costing
/// too much: shared by every command that hashes files.
#[derive(Debug, Args)]
#[command(next_help_heading = "Videos")]
pub struct VideoArgs {
    /// Hash one frame every this many seconds (frames whose number is a multiple of
    /// floor(S * frame rate)), as Meta's vPDQ does; 0 hashes every frame. Lists made by HMA
    /// and python-threatexchange use 1.
    #[arg(long, value_name = "S", default_value_t = 1.0, value_parser = seconds_per_hash)]
    pub seconds_per_hash: f64,

    /// Refuse videos longer than this many seconds: from the container's duration before
    /// decoding, or when decoding reaches it.
    #[arg(long, value_name = "SECONDS", default_value_t = 4 * 3600)]
    pub max_duration: u64,

    /// Refuse videos whose frames have more pixels than this (8192x4320 by default).
    #[arg(long, value_name = "N", default_value_t = 8192 * 4320)]
    pub max_frame_pixels: u64,

    /// Stop decoding a video after this many seconds and report it as an error.
    #[arg(long, value_name = "SECONDS", default_value_t = 30 * 60, value_parser = value_parser!(u64).range(1..))]
    pub decoder_timeout: u64,

    /// The FFmpeg program that draws the keyframe grids of the analyst's pages (a path, or a
    /// name looked up in PATH). Hashing decodes with FFmpeg's libraries, in a child process.
    #[arg(long, value_name = "PATH", default_value = "ffmpeg")]
    pub ffmpeg: PathBuf,

    /// The ffprobe program that reads a video's size and duration for keyframe grids.
    #[arg(long, value_name = "PATH", default_value = "ffprobe")]
    pub ffprobe: PathBuf,
}

impl VideoArgs {
    pub fn options(&self) -> VideoOptions {
        VideoOptions {
            seconds_per_hash: self.seconds_per_hash,
            max_duration: Duration::from_secs(self.max_duration),
            max_frame_pixels: self.max_frame_pixels,
            timeout: Duration::from_secs(self.decoder_timeout),
            ffmpeg: self.ffmpeg.clone(),
            ffprobe: self.ffprobe.clone(),
            trim_bars: false,
            threads: 0,
        }
    }
}

/// Arguments of the hidden `ward video-worker`.
#[derive(Debug, Args)]
pub struct VideoWorkerArgs {
    #[command(flatten)]
    pub video: VideoArgs,

    /// Threads hashing frames; 0 for one per core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Also hash frames inside their letterbox or pillarbox bars.
    #[arg(long)]
    pub trim_bars: bool,

    /// The video.
    pub path: PathBuf,
}

/// Arguments of `ward match`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// What to match: a hash in hex (64 digits: matched as PDQ within --distance and as
    /// SHA-256 exactly, since the text cannot say which it is; 40: SHA-1; 32: MD5), or else
    /// a media file or directory, hashed as `ward hash` does (PDQ or vPDQ, MD5, SHA-1 and
    /// SHA-256 all matched); `-` reads a file from standard input. Write `./NAME` for a file whose
    /// name looks like a hash.
    #[arg(value_name = "QUERY", required_unless_present = "query_files")]
    pub queries: Vec<PathBuf>,

    /// A file of hashes to match, one per line (or CSV with a header, as lists are), after
    /// the QUERY arguments; `-` is standard input. May be repeated. Malformed lines are
    /// reported on standard error as FILE:LINE: reason, and count as failed inputs.
    #[arg(long = "queries", value_name = "FILE")]
    pub query_files: Vec<PathBuf>,

    #[command(flatten)]
    pub matching: MatchOptions,
}

/// Arguments of `ward scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directories (walked recursively, in file-name order) or files to scan. Every regular
    /// file is attempted whatever its name, as `ward hash` does.
    #[arg(required = true, value_name = "DIR")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub matching: MatchOptions,
}

/// The lists and settings of `ward match` and `ward scan`.
#[derive(Debug, Args)]
pub struct MatchOptions {
    /// A hash list to match against; repeat the option for several. Plain (one hash per
    /// line; `#` comments; text after the hash and a comma or space is ignored) or CSV with
    /// a header naming a `signal` column and optionally `signal_type`, `label` and `id`.
    /// Signal types: pdq, md5, sha1, sha256, and vpdq (CSV only: python-threatexchange's
    /// JSON list of "pdq_hex,quality,timestamp", as HMA exports it); video_md5 is read as
    /// md5. Without a declared type, the hash's length says (see --hex64), and a signal
    /// starting with `[` is vpdq.
    #[arg(long = "list", value_name = "FILE", required = true)]
    pub lists: Vec<PathBuf>,

    /// The largest Hamming distance at which a PDQ hash matches (0 to 256); for videos, at
    /// which two frames match. MD5, SHA-1 and SHA-256 match only when equal (distance 0).
    #[arg(long, value_name = "N", default_value_t = 31, value_parser = value_parser!(u32).range(0..=256))]
    pub distance: u32,

    /// The PDQ quality below which a file's PDQ hash is not matched (its digests still
    /// are), as Meta's tools do: such hashes are unreliable. Video frames below it are left
    /// out on both sides (the list's and the query's). A note on standard error says when
    /// a file had nothing left to match; 0 matches every hash.
    #[arg(long, value_name = "Q", default_value_t = Quality::MATCHABLE.get(), value_parser = value_parser!(u8).range(0..=100))]
    pub min_quality: u8,

    /// What a hash of 64 hex digits with no declared signal type is, in the lists: pdq or
    /// sha256. CSV lists with a signal_type column declare their own.
    #[arg(long, value_enum, value_name = "TYPE", default_value_t = Hex64Arg::Pdq)]
    pub hex64: Hex64Arg,

    /// How to print each record.
    #[arg(long, value_enum, default_value_t = MatchFormat::Jsonl)]
    pub format: MatchFormat,

    /// The share of a video's distinct frames (percent) that must match frames of a vPDQ
    /// entry for the video to match it, as python-threatexchange's query match percent: 80
    /// finds re-encodings and clips cut from a listed video.
    #[arg(long, value_name = "PERCENT", default_value_t = 80.0, value_parser = percent, help_heading = "Videos")]
    pub video_query_share: f64,

    /// The share of a vPDQ entry's distinct frames (percent) that must match frames of the
    /// video, as python-threatexchange's compared match percent: 0 by default, so a short
    /// listed clip inside a longer video is not required to cover it; raise it to ask for
    /// the whole listed video.
    #[arg(long, value_name = "PERCENT", default_value_t = 0.0, value_parser = percent, help_heading = "Videos")]
    pub video_compared_share: f64,

    /// Do not also match a video's frames inside their letterbox or pillarbox bars. By
    /// default a video with flat bars around its picture is matched both as it is (as the
    /// reference hashes it) and with the bars cut away, so that a copy with bars added still
    /// matches the listed original; such matches say `"bars_trimmed":true`.
    #[arg(long, help_heading = "Videos")]
    pub no_trim_bars: bool,

    /// Refuse images with more pixels than this, before decoding them.
    #[arg(long, value_name = "N", default_value_t = DecodeOptions::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,

    #[command(flatten)]
    pub video: VideoArgs,
}

impl MatchOptions {
    /// How files are hashed for matching: as `ward hash` does by default, the full pipeline
    /// without EXIF orientation (the lists' hashes come from that), within the pixel limit;
    /// videos are decoded only when `videos` (some list has vPDQ entries), else they get
    /// their digests only.
    pub fn hash_options(&self, videos: bool) -> crate::hashing::HashOptions {
        crate::hashing::HashOptions {
            decode: DecodeOptions {
                max_pixels: self.max_pixels,
                exif_orient: false,
            },
            pipeline: Pipeline::Full,
            dihedral: false,
            video: videos.then(|| VideoOptions {
                trim_bars: !self.no_trim_bars,
                ..self.video.options()
            }),
        }
    }

    pub fn min_quality(&self) -> Quality {
        Quality::new(self.min_quality).expect("clap keeps it within 0..=100")
    }

    /// What a file's signals must meet to match: the distance, the quality floor and, for
    /// videos, the shares.
    pub fn thresholds(&self) -> CompareOptions {
        CompareOptions {
            min_quality: self.min_quality(),
            distance: self.distance,
            query_share: self.video_query_share,
            compared_share: self.video_compared_share,
        }
    }
}

/// Where the store is: shared by `ward serve` and `ward admin`. Global, so that they may
/// come anywhere after the command (`ward admin org create X --data-dir D`).
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The directory of the embedded SQLite store (`ward.db`), created if missing.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "ward-data",
        env = "WARD_DATA_DIR"
    )]
    pub data_dir: PathBuf,

    /// A PostgreSQL URL (postgres://user@host/db) to use instead of SQLite, so that several
    /// nodes serve one deployment.
    #[arg(long, global = true, value_name = "URL", env = "WARD_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// Arguments of `ward serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,

    #[command(flatten)]
    pub store: StoreArgs,

    /// The largest upload in MiB (a multipart body of media); larger ones get 413. Bulk
    /// imports stream, bounded a record (16 MiB) at a time.
    #[arg(long, value_name = "MIB", default_value_t = 256, value_parser = value_parser!(u64).range(1..=65536))]
    pub body_limit: u64,

    /// The largest body of every other request (JSON, forms) in KiB; larger ones get 413.
    #[arg(long, value_name = "KIB", default_value_t = 2048, value_parser = value_parser!(u64).range(16..=1048576))]
    pub json_limit: u64,

    /// The memory media being hashed may hold at once, in MiB: uploads' and fetched bytes,
    /// decodes (planned from each picture's header) and video workers. A request that
    /// finds none free waits --hash-wait, then gets 503 with Retry-After; one that needs
    /// more than all of it gets 413.
    #[arg(long, value_name = "MIB", default_value_t = 1024, value_parser = value_parser!(u64).range(16..=1048576))]
    pub hash_memory: u64,

    /// Seconds a request waits for hashing memory before it gets 503.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = value_parser!(u64).range(0..=600))]
    pub hash_wait: u64,

    /// Seconds a client has to send a request's head (its request line and headers), from
    /// its connection or the head's first byte; then the connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,

    /// Seconds a kept-alive connection may stay idle between requests.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,

    /// Seconds within which a request body must bring 64 KiB (or its end), and a client must
    /// read some of a response; then the connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,

    /// The most connections open at once; at the cap a new one closes the connection that
    /// has waited longest without a request. Lowered to fit the open-file limit (raised to
    /// its hard limit at start) less 128 files for the rest of the node.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = value_parser!(u64).range(16..=1048576))]
    pub max_connections: u64,

    /// Retired: partners (`ward sync add`) are `ward` exchanges, fetched every
    /// --exchange-interval. Accepted and ignored, so that older scripts still start.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, hide = true)]
    pub sync_interval: u64,

    /// How often live exchanges are looked at, in seconds: each enabled one is fetched
    /// when its last fetch is this old (at once while it has more; after a backoff when
    /// it failed); 0: only when `ward exchange fetch` is run.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub exchange_interval: u64,

    /// How often to look for reported URLs to fetch, hash and match, in seconds; 0: this
    /// node takes no part in intake.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub intake_interval: u64,

    /// The key file that what reported URLs serve is sealed with (32 bytes, made when
    /// missing; every node of a deployment needs the same file). Default: evidence.key in
    /// the data directory.
    #[arg(long, value_name = "FILE", env = "WARD_EVIDENCE_KEY")]
    pub evidence_key: Option<PathBuf>,

    /// Days that what a reported URL served is kept (sealed) for the analysts.
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = value_parser!(u64).range(1..=3650))]
    pub evidence_retention_days: u64,

    /// An ADDRESS:PORT that the fetcher of reported URLs may reach although it is not a
    /// public address. For tests that stand a loopback server in for a public host; a
    /// production deployment never needs it.
    #[arg(long, value_name = "ADDR:PORT")]
    pub fetch_allow: Vec<std::net::SocketAddr>,

    /// An IP-to-country database in the MaxMind DB format (GeoLite2 Country or DB-IP Lite
    /// Country; GeoLite2 ASN for the networks): intake looks up the addresses each reported
    /// URL's host stood for and keeps the country and network with the URL, shown to
    /// analysts. Repeatable (each database adds what the ones before did not say); read at
    /// start, at most 512 MiB each. Without one, only the addresses are kept.
    #[arg(long, value_name = "FILE")]
    pub geoip_db: Vec<PathBuf>,

    /// Refuse HMA's `url=` parameters (`/h/hash`, `/m/lookup`, `/c/bank/NAME/content`)
    /// instead of fetching them (through the same guard as reported URLs: public addresses
    /// only, at most 100 MiB).
    #[arg(long)]
    pub no_hma_url_fetch: bool,

    /// Grants ROLE of ORGANISATION to HMA requests (`/h`, `/m`, `/c`) that come without a key
    /// from NETWORK (`10.20.0.0/16=platform@Example Platform`), for HMA clients that relied
    /// on their network and cannot send a key yet. Repeatable; none by default. Each grant
    /// acts as a key of its own (made at start, audited); every such request is logged and
    /// counted (`ward_network_role_requests_total`). Never `admin`.
    #[arg(long, value_name = "NETWORK=ROLE@ORGANISATION")]
    pub hma_network_role: Vec<crate::serve::networks::NetworkRole>,

    /// How often to read partner hotlines' forwarding feeds (reports forwarded here, and
    /// the outcome of those forwarded from here) and take back forwards not acknowledged
    /// in time, in seconds; 0: this node reads none.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub forwarding_interval: u64,

    /// Messages asked for per page of a partner's forwarding feed (1 to 500).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = value_parser!(u32).range(1..=500))]
    pub forwarding_page: u32,

    /// How often to send the notices due and re-check noticed URLs, in seconds; 0: this
    /// node sends none.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub notice_interval: u64,

    /// The SMTP relay for notices by e-mail: smtp://host:port (clear),
    /// smtp://user:password@host?tls=starttls, or smtps://host:port.
    #[arg(long, value_name = "URL", env = "WARD_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// Who notices come from ("Name <address>").
    #[arg(
        long,
        value_name = "MAILBOX",
        default_value = "Ward hotline <notices@localhost>"
    )]
    pub notice_from: String,

    /// The hotline's name, as notices sign.
    #[arg(long, value_name = "NAME", default_value = "Ward hotline")]
    pub hotline_name: String,

    /// How a host disputes a notice (notices quote it).
    #[arg(long, value_name = "TEXT")]
    pub notice_dispute: Option<String>,

    /// Hours until a notice is sent again while the content is still there.
    #[arg(long, value_name = "HOURS", default_value_t = 24, value_parser = value_parser!(u64).range(1..=720))]
    pub renotice_hours: u64,

    /// Hours between re-checks of a noticed URL.
    #[arg(long, value_name = "HOURS", default_value_t = 6, value_parser = value_parser!(u64).range(1..=720))]
    pub recheck_hours: u64,

    /// Seconds between re-checks, in place of --recheck-hours: for tests that watch a
    /// removal happen (a deployment re-checks by the hour).
    #[arg(long, value_name = "SECONDS", hide = true, value_parser = value_parser!(u64).range(1..=86_400))]
    pub recheck_seconds: Option<u64>,

    /// Near-duplicate images (and an image and a video's frame) are in one series within
    /// this many bits of PDQ distance (transitively).
    #[arg(long, value_name = "BITS", default_value_t = 31, value_parser = value_parser!(u32).range(0..=256))]
    pub series_radius: u32,

    /// Seconds between steps of the series keeper on this node (one node of a deployment
    /// keeps the series at a time; the others take over when it stops); 0: never here.
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    pub series_interval: u64,

    /// Memory for what match answers show of matched content (categories, provenance,
    /// opinions, series), in MiB: what is matched often is answered from memory, the rest is
    /// read from the store.
    #[arg(long, value_name = "MIB", default_value_t = 128, value_parser = value_parser!(u64).range(1..=1048576))]
    pub summary_cache_mib: u64,

    /// How often the match index is saved to its snapshot file while it changes (and at a
    /// graceful shutdown), in seconds: a restart reads the file and the store's changes since
    /// instead of the store's whole feed (a snapshot that is damaged, of another deployment or
    /// ahead of the store is refused, logged, and the feed read whole). 0: no snapshot is
    /// read or written.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub index_snapshot_interval: u64,

    /// The match index's snapshot file, one per node (with PostgreSQL, nodes sharing a
    /// directory need one each) [default: index.snapshot in the data directory].
    #[arg(long, value_name = "FILE")]
    pub index_snapshot: Option<PathBuf>,

    /// The deployment is reached over HTTPS (a proxy in front terminates TLS): every cookie
    /// (the analyst's sessions, the portal's CSRF token) is marked Secure, so that browsers
    /// never send them over plain HTTP.
    #[arg(long, env = "WARD_SECURE_COOKIES")]
    pub secure_cookies: bool,

    #[command(flatten)]
    pub video: VideoArgs,
}

/// Arguments of `ward admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations (members of the deployment).
    #[command(subcommand)]
    Org(OrgCommand),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Where hosts' abuse desks are reached with notices.
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Partner hotlines (Ward partners of `ward sync`) that reports of URLs hosted in the
    /// countries they cover are forwarded to.
    #[command(subcommand)]
    Forwarding(ForwardingCommand),
    /// The people who sign in to the analyst's pages (/analyst).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Set how the hosts a pattern covers are sent notices (replacing what was set).
    Set {
        /// A host name; it covers its subdomains (the longest covering pattern wins).
        pattern: String,
        /// The abuse desk's e-mail address.
        #[arg(long)]
        email: Option<String>,
        /// A URL notices are posted to as JSON.
        #[arg(long)]
        webhook: Option<String>,
    },
    /// List contacts as `pattern<TAB>email<TAB>webhook`.
    List,
    /// Remove a pattern's contact.
    Remove { pattern: String },
}

#[derive(Debug, Subcommand)]
pub enum ForwardingCommand {
    /// Make a `ward` exchange a forwarding partner covering COUNTRIES (or change what it
    /// covers): a URL assessed as abuse here and hosted in one of them is forwarded to it
    /// instead of noticed here.
    Set {
        /// The `ward` exchange's name (as `ward sync list` shows it), or #ID.
        name: String,
        /// The countries it covers (ISO 3166-1 alpha-2, comma-separated: BE,LU); none: it
        /// only forwards to this hotline.
        #[arg(long, value_delimiter = ',')]
        countries: Vec<String>,
        /// Hours it has to acknowledge a forward before the report comes back here.
        #[arg(long, value_name = "HOURS", default_value_t = 72, value_parser = value_parser!(u64).range(1..=720))]
        ack_hours: u64,
        /// Keep the partner but forward nothing to it, and read nothing from it.
        #[arg(long)]
        disabled: bool,
    },
    /// List the partners as `name<TAB>countries<TAB>enabled<TAB>ack hours<TAB>read to<TAB>last error`.
    List,
    /// Stop forwarding to a partner (what was forwarded is kept).
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input (one line, at least 12
    /// characters), never from the command line.
    Create {
        /// What they sign in with (unique).
        #[arg(long)]
        name: String,
        /// The organisation's name.
        #[arg(long)]
        org: String,
        /// analyst, curator or admin work the queue; auditor and platform accounts cannot
        /// use the analyst's pages.
        #[arg(long)]
        role: String,
    },
    /// List users as `id<TAB>name<TAB>org<TAB>role<TAB>created<TAB>disabled`.
    List,
    /// Disable a user: their sessions end and they can no longer sign in.
    Disable {
        /// The user's name.
        name: String,
    },
    /// Set a user's password, read from standard input (one line); their sessions end.
    Password {
        /// The user's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation; prints its id.
    Create {
        /// Its name (unique).
        name: String,
    },
    /// List organisations as `id<TAB>name<TAB>operator|member`.
    List,
    /// Mark an organisation as the one that runs the deployment (in place of any other):
    /// its auditors read the whole audit log and every organisation's transparency
    /// figures, while every other auditor reads its own organisation's. Audited.
    Operator {
        /// The organisation's name.
        #[arg(required_unless_present = "none", conflicts_with = "none")]
        name: Option<String>,
        /// Leave the deployment without an operator: every auditor reads only its own
        /// organisation's events and figures (admins still read everything).
        #[arg(long)]
        none: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key; prints only the key, once (it is stored hashed and cannot be
    /// shown again).
    Create {
        /// The organisation's name.
        #[arg(long)]
        org: String,
        /// admin, curator, analyst, platform or auditor.
        #[arg(long)]
        role: String,
        /// What the key is for (shown in lists).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List keys as `id<TAB>prefix<TAB>org<TAB>role<TAB>label<TAB>created<TAB>revoked`.
    List,
    /// Revoke a key by its id: every node refuses it within a quarter of a second (each reads
    /// the store's revocations that often).
    Revoke {
        /// The key's id (from `ward admin key list`).
        id: i64,
    },
}

/// `--hex64`: what a 64-digit hash without a declared type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Hex64Arg {
    Pdq,
    Sha256,
}

impl From<Hex64Arg> for Hex64 {
    fn from(arg: Hex64Arg) -> Hex64 {
        match arg {
            Hex64Arg::Pdq => Hex64::Pdq,
            Hex64Arg::Sha256 => Hex64::Sha256,
        }
    }
}

/// The output formats of `ward match` and `ward scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MatchFormat {
    /// One JSON object per match (or per input that failed).
    Jsonl,
    /// A header, then one row per match: path, query, list, signal_type, signal, label, id,
    /// distance, query_share, compared_share, error (only the path and error are filled
    /// for an input that failed; signal and distance are empty for a vPDQ match, the
    /// shares for the others).
    Csv,
}

/// The output formats of `ward hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per input: path, pdq, quality, md5, sha1, sha256 (and dihedral), or
    /// path and error. A video has path, md5, sha1, sha256, seconds_per_hash and vpdq:
    /// [{"frame":N,"quality":Q,"pdq":HEX,"timestamp":T},…], T in seconds with three
    /// decimals.
    Jsonl,
    /// A header, then one row per input: path, pdq, quality, md5, sha1, sha256, vpdq, error
    /// (and dihedral, the eight hashes separated by spaces). A video's vpdq is
    /// python-threatexchange's JSON form (["pdq_hex,quality,timestamp",…]), what vPDQ
    /// lists hold; its pdq and quality are empty.
    Csv,
    /// `<pdq> <quality> <path>` per image, as Meta's pdq-photo-hasher prints (with
    /// --dihedral, the eight hashes instead of one); `<frame>,<quality>,<pdq>,<timestamp>
    /// <path>` per hashed frame of a video, Meta's vPDQ line and the path (`cut -d' ' -f1`
    /// of one video's lines is the file Meta's vpdq-hash-video writes). Errors go to
    /// standard error.
    Text,
}

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Hash(args) => hash::run(&args),
        Command::Match(args) => matching::run(&args),
        Command::Scan(args) => scan::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Admin(args) => admin::run(&args),
        Command::Import(args) => exchange::import(&args),
        Command::Export(args) => exchange::export(&args),
        Command::Referral(args) => referral::run(&args),
        Command::Sync(command) => sync::run(&command),
        Command::Exchange(command) => exchanges::run(&command),
        Command::VideoWorker(args) => {
            let options = VideoOptions {
                threads: args.threads,
                trim_bars: args.trim_bars,
                ..args.video.options()
            };
            println!("{}", crate::video_worker::serve(&args.path, &options));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// How many malformed lines of one list are shown; the rest are counted.
const MALFORMED_SHOWN: u64 = 100;

/// Loads the lists of `options`, reporting malformed lines on stderr as `ward:
/// LIST:LINE: reason` (the first [`MALFORMED_SHOWN`] of each list, then how many in all) and
/// lists that gave no entry at all.
/// `queries`: how many queries the command expects to ask, if it knows.
fn load_lists(options: &MatchOptions, queries: Queries<'_>) -> Result<Matcher> {
    let (hex64, min_quality) = (options.hex64.into(), options.min_quality());
    let matcher = Matcher::load(
        &options.lists,
        hex64,
        min_quality,
        queries,
        |list, error| {
            if list.malformed <= MALFORMED_SHOWN {
                let reason = match error {
                    ListError::Malformed { reason, .. } => reason.as_str(),
                    _ => "malformed",
                };
                eprintln!("ward: {}:{}: {reason}", list.name, error.line());
            }
        },
    )?;
    for list in matcher.lists() {
        if list.malformed > MALFORMED_SHOWN {
            eprintln!(
                "ward: {}: {} malformed lines skipped in all",
                list.name, list.malformed
            );
        }
        if list.entries == 0 {
            eprintln!("ward: {}: no entries", list.name);
        }
    }
    Ok(matcher)
}

/// Prints the matches of one query: `hits` of its hashes, and for a video `videos` of its
/// vPDQ, named by `md5` (the video's digest).
fn print_hits<W: io::Write>(
    printer: &mut MatchPrinter<W>,
    matcher: &Matcher,
    path: Option<&str>,
    hits: &[Hit],
    videos: &[VideoHit],
    md5: Option<&Md5>,
) -> io::Result<()> {
    for hit in hits {
        let entry = matcher.entry(hit.entry);
        printer.print_match(&MatchRecord {
            path,
            query: hit.query.to_string(),
            list: entry.list_name(),
            signal_type: hit.stored.signal_type().name(),
            signal: Some(hit.stored.to_string()),
            label: entry.label(),
            id: entry.id(),
            distance: Some(hit.distance),
            query_share: None,
            compared_share: None,
            bars_trimmed: None,
        })?;
    }
    for hit in videos {
        let entry = matcher.entry(hit.id);
        printer.print_match(&MatchRecord {
            path,
            query: md5.map(ToString::to_string).unwrap_or_default(),
            list: entry.list_name(),
            signal_type: SignalType::Vpdq.name(),
            signal: None,
            label: entry.label(),
            id: entry.id(),
            distance: None,
            query_share: Some(output::share(hit.shares.query_share)),
            compared_share: Some(output::share(hit.shares.compared_share)),
            bars_trimmed: Some(hit.trimmed),
        })?;
    }
    Ok(())
}

/// The note for a file none of whose PDQ hashes could be matched for their quality.
fn low_quality_note(name: &str, signals: &Signals, min_quality: u8) -> String {
    match &signals.media {
        Media::Image(image) => format!(
            "ward: {name}: PDQ quality {} is below --min-quality {min_quality}; only its \
             digests were matched",
            image.quality
        ),
        Media::Video(_) => format!(
            "ward: {name}: no frame has a PDQ quality of --min-quality {min_quality} or more; \
             only its digests were matched"
        ),
    }
}

/// The status of `ward match` and `ward scan`: a match wins over a failure, so that a
/// caller who checks only the status never misses one.
fn match_status(matched: bool, failed: bool) -> ExitCode {
    if matched {
        ExitCode::from(EXIT_MATCHED)
    } else if failed {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Parses `--seconds-per-hash`: a finite number of seconds, 0 or more.
fn seconds_per_hash(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(seconds),
        _ => Err("expected a number of seconds, 0 or more".into()),
    }
}

/// Parses a share: a percentage from 0 to 100.
fn percent(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=100.0).contains(&share) => Ok(share),
        _ => Err("expected a percentage from 0 to 100".into()),
    }
}

/// Parses `--pipeline` with ward-core's own names, listing them in `--help`.
fn pipeline_parser() -> impl TypedValueParser<Value = Pipeline> {
    let names = [Pipeline::Full, Pipeline::Cli512].map(Pipeline::name);
    PossibleValuesParser::new(names).try_map(|name| name.parse::<Pipeline>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    fn check(args: &[&str], expected: Result<(Pipeline, Format, u64), ()>) {
        let parsed = Cli::try_parse_from(["ward", "hash"].iter().chain(args)).map(|cli| {
            let Command::Hash(a) = cli.command else {
                panic!("not hash")
            };
            (a.pipeline, a.format, a.max_pixels)
        });
        assert_eq!(parsed.map_err(|_| ()), expected, "{args:?}");
    }

    #[test]
    fn parses_hash_options() {
        let default = DecodeOptions::DEFAULT_MAX_PIXELS;
        check(&["a.jpg"], Ok((Pipeline::Full, Format::Jsonl, default)));
        check(
            &["--pipeline", "cli512", "-"],
            Ok((Pipeline::Cli512, Format::Jsonl, default)),
        );
        check(
            &["--pipeline=full", "x"],
            Ok((Pipeline::Full, Format::Jsonl, default)),
        );
        check(
            &["--format", "csv", "x"],
            Ok((Pipeline::Full, Format::Csv, default)),
        );
        check(
            &["--format", "text", "x"],
            Ok((Pipeline::Full, Format::Text, default)),
        );
        check(
            &["--max-pixels", "100", "x"],
            Ok((Pipeline::Full, Format::Jsonl, 100)),
        );
        check(&["--pipeline", "cli", "x"], Err(()));
        check(&["--format", "json", "x"], Err(()));
        check(&["--max-pixels", "-1", "x"], Err(()));
        check(&[], Err(()));
    }

    /// The settings `ward match` parsed: queries, query files, lists, distance, quality,
    /// hex64, format.
    type Parsed = (
        Vec<String>,
        Vec<String>,
        Vec<String>,
        u32,
        u8,
        Hex64Arg,
        MatchFormat,
    );

    fn check_match(args: &[&str], expected: Result<Parsed, ()>) {
        let strings = |paths: &[PathBuf]| -> Vec<String> {
            paths.iter().map(|p| p.display().to_string()).collect()
        };
        let parsed = Cli::try_parse_from(["ward", "match"].iter().chain(args)).map(|cli| {
            let Command::Match(a) = cli.command else {
                panic!("not match")
            };
            let m = &a.matching;
            (
                strings(&a.queries),
                strings(&a.query_files),
                strings(&m.lists),
                m.distance,
                m.min_quality,
                m.hex64,
                m.format,
            )
        });
        assert_eq!(parsed.map_err(|_| ()), expected, "{args:?}");
    }

    #[test]
    fn parses_match_options() {
        let s = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (pdq, jsonl) = (Hex64Arg::Pdq, MatchFormat::Jsonl);
        check_match(
            &["--list", "l", "q"],
            Ok((s(&["q"]), s(&[]), s(&["l"]), 31, 50, pdq, jsonl)),
        );
        check_match(
            &["a", "--list=l1", "b", "--list", "l2", "--distance", "0"],
            Ok((s(&["a", "b"]), s(&[]), s(&["l1", "l2"]), 0, 50, pdq, jsonl)),
        );
        check_match(
            &["--list", "l", "--queries", "f", "--queries", "-"],
            Ok((s(&[]), s(&["f", "-"]), s(&["l"]), 31, 50, pdq, jsonl)),
        );
        check_match(
            &[
                "--list",
                "l",
                "--min-quality",
                "0",
                "--hex64",
                "sha256",
                "--format",
                "csv",
                "q",
            ],
            Ok((
                s(&["q"]),
                s(&[]),
                s(&["l"]),
                31,
                0,
                Hex64Arg::Sha256,
                MatchFormat::Csv,
            )),
        );
        check_match(
            &["--list", "l", "--distance", "256", "q"],
            Ok((s(&["q"]), s(&[]), s(&["l"]), 256, 50, pdq, jsonl)),
        );
        check_match(&["--list", "l", "--distance", "257", "q"], Err(()));
        check_match(&["--list", "l", "--distance", "-1", "q"], Err(()));
        check_match(&["--list", "l", "--min-quality", "101", "q"], Err(()));
        check_match(&["--list", "l", "--format", "text", "q"], Err(()));
        check_match(&["--list", "l", "--hex64", "md5", "q"], Err(()));
        check_match(&["--list", "l"], Err(()));
        check_match(&["q"], Err(()));
    }

    /// What `args` (after `ward`) give as video options and thresholds, or `Err` for a
    /// usage error.
    fn video_settings(args: &[&str]) -> Result<(VideoOptions, Option<CompareOptions>), ()> {
        let cli = Cli::try_parse_from(["ward"].iter().chain(args)).map_err(|_| ())?;
        Ok(match cli.command {
            Command::Hash(a) => (a.video.options(), None),
            Command::Match(a) => (
                a.matching.hash_options(true).video.unwrap(),
                Some(a.matching.thresholds()),
            ),
            Command::Scan(a) => (
                a.matching.hash_options(true).video.unwrap(),
                Some(a.matching.thresholds()),
            ),
            Command::Serve(a) => (a.video.options(), None),
            Command::Admin(_)
            | Command::Import(_)
            | Command::Export(_)
            | Command::Referral(_)
            | Command::Sync(_)
            | Command::Exchange(_)
            | Command::VideoWorker(_) => {
                return Err(());
            }
        })
    }

    #[test]
    fn parses_video_options() {
        let (video, _) = video_settings(&["hash", "v.mp4"]).unwrap();
        assert_eq!(video, VideoOptions::default());
        let matching = VideoOptions {
            trim_bars: true,
            ..VideoOptions::default()
        };
        let (video, thresholds) = video_settings(&["scan", "d", "--list", "l"]).unwrap();
        assert_eq!(video, matching);
        assert_eq!(thresholds, Some(CompareOptions::default()));
        let (video, thresholds) = video_settings(&[
            "match",
            "--list",
            "l",
            "--seconds-per-hash",
            "0.5",
            "--max-duration",
            "60",
            "--max-frame-pixels",
            "1000",
            "--decoder-timeout",
            "5",
            "--ffmpeg",
            "/opt/ff/ffmpeg",
            "--ffprobe",
            "probe",
            "--distance",
            "20",
            "--min-quality",
            "0",
            "--video-query-share",
            "50.5",
            "--video-compared-share",
            "100",
            "--no-trim-bars",
            "q.mp4",
        ])
        .unwrap();
        assert_eq!(
            video,
            VideoOptions {
                seconds_per_hash: 0.5,
                max_duration: Duration::from_secs(60),
                max_frame_pixels: 1000,
                timeout: Duration::from_secs(5),
                ffmpeg: "/opt/ff/ffmpeg".into(),
                ffprobe: "probe".into(),
                trim_bars: false,
                threads: 0,
            }
        );
        assert_eq!(
            thresholds,
            Some(CompareOptions {
                min_quality: Quality::new(0).unwrap(),
                distance: 20,
                query_share: 50.5,
                compared_share: 100.0,
            })
        );
        assert!(video_settings(&["hash", "--seconds-per-hash", "0", "v"]).is_ok());
        for bad in [
            &["hash", "--seconds-per-hash", "-1", "v"][..],
            &["hash", "--seconds-per-hash", "inf", "v"],
            &["hash", "--seconds-per-hash", "NaN", "v"],
            &["hash", "--decoder-timeout", "0", "v"],
            &["hash", "--max-duration", "-5", "v"],
            &["hash", "--video-query-share", "50", "v"],
            &["match", "--list", "l", "--video-query-share", "101", "q"],
            &["match", "--list", "l", "--video-compared-share", "-1", "q"],
            &["scan", "d", "--list", "l", "--video-query-share", "x"],
        ] {
            assert_eq!(video_settings(bad), Err(()), "{bad:?}");
        }
    }

    #[test]
    fn scan_needs_a_path_and_a_list() {
        let parse =
            |args: &[&str]| Cli::try_parse_from(["ward", "scan"].iter().chain(args)).is_ok();
        assert!(parse(&["dir", "--list", "l"]));
        assert!(parse(&[
            "--list", "l", "d1", "d2", "--list", "l2", "--format", "csv"
        ]));
        assert!(!parse(&["dir"]));
        assert!(!parse(&["--list", "l"]));
    }

    #[test]
    fn a_match_wins_over_a_failure() {
        let code = |matched, failed| format!("{:?}", match_status(matched, failed));
        assert_eq!(code(false, false), format!("{:?}", ExitCode::SUCCESS));
        assert_eq!(
            code(false, true),
            format!("{:?}", ExitCode::from(EXIT_SOME_FAILED))
        );
        assert_eq!(
            code(true, false),
            format!("{:?}", ExitCode::from(EXIT_MATCHED))
        );
        assert_eq!(
            code(true, true),
            format!("{:?}", ExitCode::from(EXIT_MATCHED))
        );
    }
}
