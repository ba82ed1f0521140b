//! `ward scan`: hash every file under directories, match each against hash lists, print the
//! matches and a summary.

use std::io::{self, BufWriter, IsTerminal as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};

use super::output::{self, MatchPrinter};
use super::{ScanArgs, load_lists, match_status, print_hits};
use crate::hashing::{self, Input};
use crate::matcher::Queries;

/// Scans the paths of `args`; see [`ScanArgs`] for what is printed.
pub fn run(args: &ScanArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let options = &args.matching;
    // A folder may hold millions of files: the index built for many queries.
    let matcher = Arc::new(load_lists(options, Queries::Unknown)?);
    let hash_options = options.hash_options(matcher.has_videos());
    let inputs = args.paths.iter().map(|p| Input::from_arg(p)).collect();
    let thresholds = options.thresholds();
    // Matching runs in the task that hashed the file, so on all cores.
    let worker = Arc::clone(&matcher);
    let results = hashing::hash_in_order_then(inputs, hash_options, move |hashed| {
        let skipped = hashed.skipped();
        let found = hashed.outcome.map(|signals| {
            let found = worker.match_file(&signals, &thresholds);
            (signals, found)
        });
        (hashed.input, skipped, found)
    });

    let stdout = io::stdout();
    let interactive = stdout.is_terminal();
    let mut printer = MatchPrinter::new(options.format, BufWriter::new(stdout.lock()))
        .context("cannot write output")?;
    let progress =
        output::progress_bar("{spinner} {human_pos} files scanned, {msg} ({per_sec}, {elapsed})")?;
    progress.set_message("0 matched");
    let mut summary = Summary::default();
    for (input, skipped, found) in results {
        if skipped {
            summary.skipped += 1;
            progress.inc(1);
            continue;
        }
        summary.files += 1;
        let name = input.name();
        // The bar is drawn on stderr, which may be the same terminal as stdout.
        let printed = progress.suspend(|| -> io::Result<()> {
            match found {
                Err(error) => {
                    summary.errors += 1;
                    printer.print_error(&name, &error.to_string())?;
                }
                Ok((signals, found)) => {
                    summary.low_quality += u64::from(found.low_quality);
                    summary.matched += u64::from(!found.is_empty());
                    print_hits(
                        &mut printer,
                        &matcher,
                        Some(&name),
                        &found.hits,
                        &found.videos,
                        Some(&signals.digests.md5),
                    )?;
                }
            }
            if interactive { printer.flush() } else { Ok(()) }
        });
        printed.context("cannot write output")?;
        progress.inc(1);
        progress.set_message(format!("{} matched", summary.matched));
    }
    progress.finish_and_clear();
    printer.flush().context("cannot write output")?;
    eprintln!(
        "ward: scan: files={} matched={} skipped={} errors={} low_quality={} seconds={:.2}",
        summary.files,
        summary.matched,
        summary.skipped,
        summary.errors,
        summary.low_quality,
        started.elapsed().as_secs_f64()
    );
    Ok(match_status(summary.matched > 0, summary.errors > 0))
}

/// What the summary line counts.
#[derive(Debug, Default)]
struct Summary {
    files: u64,
    /// Files in the directories walked that are neither images nor videos.
    skipped: u64,
    /// Files with at least one match.
    matched: u64,
    errors: u64,
    /// Files whose PDQ hash was below the minimum quality, so matched by digests only.
    low_quality: u64,
}
