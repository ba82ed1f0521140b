//! The command line: what `ward` and each of its commands accept, as clap reads it.
//!
//! Doc comments here are the `--help` text. Each command lives in its own module with a
//! `run` function; this module only parses and dispatches.

mod hash;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ward_core::decode::DecodeOptions;
use ward_core::pdq::Pipeline;

/// The exit status when some inputs could not be hashed but the others were.
pub const EXIT_SOME_FAILED: u8 = 1;

/// The exit status when the command itself failed (bad usage, output not writable).
pub const EXIT_FATAL: u8 = 2;

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
            let Command::Hash(a) = cli.command;
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
}
