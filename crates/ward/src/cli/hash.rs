//! `ward hash`: print the signals of files and directories, in the order given.

use std::io::{self, BufWriter, IsTerminal as _};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ward_core::decode::DecodeOptions;

use super::output::Printer;
use super::{EXIT_SOME_FAILED, HashArgs};
use crate::hashing::{self, HashOptions, Input};

/// Hashes every input and prints one record each; exits with [`EXIT_SOME_FAILED`] when any
/// input could not be hashed.
pub fn run(args: &HashArgs) -> Result<ExitCode> {
    let options = HashOptions {
        decode: DecodeOptions {
            max_pixels: args.max_pixels,
            exif_orient: args.exif_orient,
        },
        pipeline: args.pipeline,
        dihedral: args.dihedral,
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
    let progress = progress_bar()?;

    let mut failed = 0u64;
    for hashed in hashing::hash_in_order(inputs, options) {
        failed += u64::from(hashed.outcome.is_err());
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
    Ok(if failed > 0 {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// A count of files hashed on stderr, when stderr is a terminal; hidden otherwise. The total
/// is unknown while directories are still being walked, so it is a spinner, not a bar.
fn progress_bar() -> Result<ProgressBar> {
    if !io::stderr().is_terminal() {
        return Ok(ProgressBar::hidden());
    }
    let style =
        ProgressStyle::with_template("{spinner} {human_pos} files hashed ({per_sec}, {elapsed})")
            .context("invalid progress template")?;
    let progress =
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style);
    progress.enable_steady_tick(Duration::from_millis(120));
    Ok(progress)
}
