//! `ward hash`: print the signals of files and directories, in the order given.

use std::io::{self, BufWriter, IsTerminal as _};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use ward_core::decode::DecodeOptions;

use super::output::{self, Printer};
use super::{EXIT_SOME_FAILED, HashArgs};
use crate::hashing::{self, HashOptions, Input};

/// Hashes every input and prints one record each, then a summary on standard error; exits
/// with [`EXIT_SOME_FAILED`] when any input could not be hashed. Files found in directories
/// that are not media are skipped and counted ([`hashing::Hashed::skipped`]).
pub fn run(args: &HashArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let options = HashOptions {
        decode: DecodeOptions {
            max_pixels: args.max_pixels,
            exif_orient: args.exif_orient,
        },
        pipeline: args.pipeline,
        dihedral: args.dihedral,
        video: Some(args.video.options()),
    };
    let inputs = args
        .paths
        .iter()
        .map(|path| Input::from_arg(path))
        .collect();

    let stdout = io::stdout();
    // Someone watching a terminal sees each record as it is ready; a pipe gets whole blocks.
    let interactive = stdout.is_terminal();
    let out = BufWriter::new(stdout.lock());
    let mut printer = Printer::new(args.format, args.dihedral, out, io::stderr())
        .context("cannot write output")?;
    let progress =
        output::progress_bar("{spinner} {human_pos} files hashed ({per_sec}, {elapsed})")?;

    let (mut hashed_files, mut skipped, mut failed) = (0u64, 0u64, 0u64);
    for hashed in hashing::hash_in_order(inputs, options) {
        if hashed.skipped() {
            skipped += 1;
            continue;
        }
        match hashed.outcome {
            Ok(_) => hashed_files += 1,
            Err(_) => failed += 1,
        }
        // The bar is drawn on stderr, which may be the same terminal as stdout.
        progress
            .suspend(|| {
                printer.print(&hashed)?;
                if interactive { printer.flush() } else { Ok(()) }
            })
            .context("cannot write output")?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    printer.flush().context("cannot write output")?;
    eprintln!(
        "ward: hash: hashed={hashed_files} skipped={skipped} errors={failed} seconds={:.2}",
        started.elapsed().as_secs_f64()
    );
    Ok(if failed > 0 {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
