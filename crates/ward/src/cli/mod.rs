//! The command line: what `ward` and each of its commands accept, as clap reads it.
//!
//! Doc comments here are the `--help` text. Each command lives in its own module with a
//! `run` function; this module only parses and dispatches.

mod hash;
mod matching;
mod output;
mod scan;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum, value_parser};
use ward_core::decode::DecodeOptions;
use ward_core::lists::{Hex64, ListError};
use ward_core::pdq::{Pipeline, Quality};

use crate::matcher::Matcher;

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
    /// Print the PDQ hash and quality, and the MD5, SHA-1 and SHA-256, of image files.
    ///
    /// Files are hashed in parallel on all cores and printed in the order given.
    #[command(
        after_help = "Exit status: 0 when every input was hashed, 1 when any could not \
                            be (each has its own error record), 2 when the command failed."
    )]
    Hash(HashArgs),

    /// Match hashes or media files against hash lists.
    ///
    /// Prints one record per match, queries in the order given and each query's matches
    /// nearest first: {"query":…,"list":…,"signal_type":…,"signal":…,"label":…,"id":…,
    /// "distance":N}, with "path" first for a file. A file that cannot be hashed prints
    /// {"path":…,"error":…}.
    #[command(after_help = MATCH_EXIT_HELP)]
    Match(MatchArgs),

    /// Hash every file under directories and print those that match hash lists.
    ///
    /// Files are hashed in parallel on all cores, as `ward hash` does, and matched as they
    /// are hashed. One record per match, in file-name order: {"path":…,"query":…,"list":…,
    /// "signal_type":…,"signal":…,"label":…,"id":…,"distance":N}; a file that cannot be
    /// hashed prints {"path":…,"error":…}. A summary goes to standard error at the end:
    /// `ward: scan: files=N matched=N errors=N low_quality=N seconds=S` (matched counts
    /// files with at least one match; low_quality those whose PDQ hash was below
    /// --min-quality and were matched by their digests only; seconds since the command
    /// started, loading the lists included). On a terminal, a progress
    /// line is shown on standard error meanwhile.
    #[command(after_help = MATCH_EXIT_HELP)]
    Scan(ScanArgs),
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
}

/// Arguments of `ward match`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// What to match: a hash in hex (64 digits: matched as PDQ within --distance and as
    /// SHA-256 exactly, since the text cannot say which it is; 40: SHA-1; 32: MD5), or else
    /// a media file or directory, hashed as `ward hash` does (PDQ, MD5, SHA-1 and SHA-256
    /// all matched); `-` reads a file from standard input. Write `./NAME` for a file whose
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
    /// Signal types: pdq, md5, sha1, sha256; without a declared type, the hash's length
    /// says (see --hex64).
    #[arg(long = "list", value_name = "FILE", required = true)]
    pub lists: Vec<PathBuf>,

    /// The largest Hamming distance at which a PDQ hash matches (0 to 256). MD5, SHA-1 and
    /// SHA-256 match only when equal (distance 0).
    #[arg(long, value_name = "N", default_value_t = 31, value_parser = value_parser!(u32).range(0..=256))]
    pub distance: u32,

    /// The PDQ quality below which a file's PDQ hash is not matched (its digests still
    /// are), as Meta's tools do: such hashes are unreliable. A note on standard error says
    /// when this happens; 0 matches every hash.
    #[arg(long, value_name = "Q", default_value_t = Quality::MATCHABLE.get(), value_parser = value_parser!(u8).range(0..=100))]
    pub min_quality: u8,

    /// What a hash of 64 hex digits with no declared signal type is, in the lists: pdq or
    /// sha256. CSV lists with a signal_type column declare their own.
    #[arg(long, value_enum, value_name = "TYPE", default_value_t = Hex64Arg::Pdq)]
    pub hex64: Hex64Arg,

    /// How to print each record.
    #[arg(long, value_enum, default_value_t = MatchFormat::Jsonl)]
    pub format: MatchFormat,

    /// Refuse images with more pixels than this, before decoding them.
    #[arg(long, value_name = "N", default_value_t = DecodeOptions::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
}

impl MatchOptions {
    /// How files are hashed for matching: as `ward hash` does by default, the full pipeline
    /// without EXIF orientation (the lists' hashes come from that), within the pixel limit.
    pub fn hash_options(&self) -> crate::hashing::HashOptions {
        crate::hashing::HashOptions {
            decode: DecodeOptions {
                max_pixels: self.max_pixels,
                exif_orient: false,
            },
            pipeline: Pipeline::Full,
            dihedral: false,
        }
    }

    pub fn min_quality(&self) -> Quality {
        Quality::new(self.min_quality).expect("clap keeps it within 0..=100")
    }
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
    /// distance, error (only the path and error are filled for an input that failed).
    Csv,
}

/// The output formats of `ward hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per input: path, pdq, quality, md5, sha1, sha256 (and dihedral), or
    /// path and error.
    Jsonl,
    /// A header, then one row per input: path, pdq, quality, md5, sha1, sha256, error (and
    /// dihedral, the eight hashes separated by spaces).
    Csv,
    /// `<pdq> <quality> <path>` per input, as Meta's pdq-photo-hasher prints (with
    /// --dihedral, the eight hashes instead of one); errors go to standard error.
    Text,
}

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Hash(args) => hash::run(&args),
        Command::Match(args) => matching::run(&args),
        Command::Scan(args) => scan::run(&args),
    }
}

/// How many malformed lines of one list are shown; the rest are counted.
const MALFORMED_SHOWN: u64 = 100;

/// Loads the lists of `options`, reporting malformed lines on stderr as `ward:
/// LIST:LINE: reason` (the first [`MALFORMED_SHOWN`] of each list, then how many in all) and
/// lists that gave no entry at all.
fn load_lists(options: &MatchOptions) -> Result<Matcher> {
    let matcher = Matcher::load(&options.lists, options.hex64.into(), |list, error| {
        if list.malformed <= MALFORMED_SHOWN {
            let reason = match error {
                ListError::Malformed { reason, .. } => reason.as_str(),
                _ => "malformed",
            };
            eprintln!("ward: {}:{}: {reason}", list.name, error.line());
        }
    })?;
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
