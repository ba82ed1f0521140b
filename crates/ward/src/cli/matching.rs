//! `ward match`: match hashes and media files against hash lists, printing one record per
//! match in query order.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use ward_core::lists::{Hex64, ListError, ListReader, Signal};

use super::output::MatchPrinter;
use super::{MatchArgs, load_lists, low_quality_note, match_status, print_hits};
use crate::hashing::{self, Input, describe_io};
use crate::matcher::Matcher;

/// Hashes of a queries file matched together: enough that the index reads its memory in
/// order for them ([`ward_core::index::PdqIndex::search_radius_many`]), few enough that
/// their matches need not wait long to be printed.
const QUERY_GROUP: usize = 4096;

/// Matches every query, hashes first, files hashed in parallel; see [`MatchArgs`].
pub fn run(args: &MatchArgs) -> Result<ExitCode> {
    let stdin_queries = args.queries.iter().any(|q| q.as_os_str() == "-");
    if stdin_queries && args.query_files.iter().any(|f| f.as_os_str() == "-") {
        bail!("standard input cannot be both a QUERY file and a --queries file");
    }
    // `WARD_MATCH_TIMING=1` (bench/match-vs-faiss.sh) prints where the run's time went.
    let timing = std::env::var_os("WARD_MATCH_TIMING").is_some();
    let started = std::time::Instant::now();
    let matcher = load_lists(&args.matching, expected_queries(args))?;
    let loaded = started.elapsed();
    let stdout = io::stdout();
    let interactive = stdout.is_terminal();
    let printer = MatchPrinter::new(args.matching.format, BufWriter::new(stdout.lock()))
        .context("cannot write output")?;
    let mut run = Run {
        matcher: &matcher,
        args,
        printer,
        interactive,
        matched: false,
        failed: false,
    };

    // Consecutive files are hashed together, in parallel; a hash between them is matched
    // in its place, so that output follows the order of the arguments.
    let mut files = Vec::new();
    for query in &args.queries {
        match hash_text(query) {
            Some(signal) => {
                run.files(std::mem::take(&mut files))?;
                run.text(&signal)?;
            }
            None => files.push(Input::from_arg(query)),
        }
    }
    run.files(files)?;
    for path in &args.query_files {
        run.query_file(path)
            .with_context(|| format!("cannot read queries from {}", path.display()))?;
    }
    let matched = started.elapsed();
    run.printer.flush().context("cannot write output")?;
    if timing {
        eprintln!(
            "ward match timing: lists read and indexed {:.3} s, queries matched and printed {:.3} s, flushed {:.3} s",
            loaded.as_secs_f64(),
            (matched - loaded).as_secs_f64(),
            (started.elapsed() - matched).as_secs_f64()
        );
    }
    Ok(match_status(run.matched, run.failed))
}

/// How many queries the run will ask, when only hashes are asked (arguments, and query
/// files, whose lines are at least 33 bytes): `None` when a query is a media file or a
/// folder (which may hold millions) or a query file is standard input.
fn expected_queries(args: &MatchArgs) -> Option<u64> {
    let mut queries = 0u64;
    for query in &args.queries {
        hash_text(query)?;
        queries += 1;
    }
    for path in &args.query_files {
        if path.as_os_str() == "-" {
            return None;
        }
        queries += std::fs::metadata(path).ok()?.len() / 33 + 1;
    }
    Some(queries)
}

/// A query argument that is a hash: 32, 40 or 64 hex digits. Anything else is a path.
fn hash_text(query: &Path) -> Option<Signal> {
    Signal::parse_untyped(query.to_str()?, Hex64::Pdq).ok()
}

/// The state of one `ward match`.
struct Run<'a, W: Write> {
    matcher: &'a Matcher,
    args: &'a MatchArgs,
    printer: MatchPrinter<W>,
    /// Someone is watching: print each record as it is ready.
    interactive: bool,
    matched: bool,
    failed: bool,
}

impl<W: Write> Run<'_, W> {
    /// Matches one hash given as text.
    fn text(&mut self, query: &Signal) -> Result<()> {
        let hits = self.matcher.match_text(query, self.args.matching.distance);
        self.matched |= !hits.is_empty();
        print_hits(&mut self.printer, self.matcher, None, &hits, &[], None)
            .context("cannot write output")?;
        self.flush_if_interactive()
    }

    /// Hashes files (and directories' files) in parallel and matches each, in order.
    fn files(&mut self, inputs: Vec<Input>) -> Result<()> {
        if inputs.is_empty() {
            return Ok(());
        }
        let options = &self.args.matching;
        let hash_options = options.hash_options(self.matcher.has_videos());
        let thresholds = options.thresholds();
        for hashed in hashing::hash_in_order(inputs, hash_options) {
            let name = hashed.input.name();
            match &hashed.outcome {
                Ok(signals) => {
                    let found = self.matcher.match_file(signals, &thresholds);
                    if found.low_quality {
                        eprintln!("{}", low_quality_note(&name, signals, options.min_quality));
                    }
                    self.matched |= !found.is_empty();
                    let (path, md5) = (Some(name.as_ref()), Some(&signals.digests.md5));
                    print_hits(
                        &mut self.printer,
                        self.matcher,
                        path,
                        &found.hits,
                        &found.videos,
                        md5,
                    )
                    .context("cannot write output")?;
                    self.flush_if_interactive()?;
                }
                Err(error) => {
                    self.failed = true;
                    self.printer
                        .print_error(&name, &error.to_string())
                        .context("cannot write output")?;
                    self.flush_if_interactive()?;
                }
            }
        }
        Ok(())
    }

    /// Matches every hash of a queries file (or of standard input for `-`), up to
    /// [`QUERY_GROUP`] at a time ([`Matcher::match_texts`]), or one at a time from a
    /// terminal, whose typist waits for each answer.
    fn query_file(&mut self, path: &PathBuf) -> Result<()> {
        let (input, group): (Box<dyn BufRead>, usize) = if path.as_os_str() == "-" {
            let stdin = io::stdin();
            let group = if stdin.is_terminal() { 1 } else { QUERY_GROUP };
            (Box::new(stdin.lock()), group)
        } else {
            let file = File::open(path).map_err(|e| anyhow!(describe_io(&e)))?;
            (Box::new(BufReader::new(file)), QUERY_GROUP)
        };
        let mut pending = Vec::with_capacity(group);
        // 64 digits are tried as SHA-256 too (see `Matcher::match_text`), so PDQ is right.
        for item in ListReader::new(input, Hex64::Pdq) {
            match item {
                Ok(entry) => {
                    pending.push(entry.signal);
                    if pending.len() == group {
                        self.texts(&pending)?;
                        pending.clear();
                    }
                }
                Err(ListError::Malformed { line, reason }) => {
                    // The lines before it are answered first.
                    self.texts(&pending)?;
                    pending.clear();
                    self.failed = true;
                    eprintln!("ward: {}:{line}: {reason}", path.display());
                }
                Err(error) => return Err(error.into()),
            }
        }
        self.texts(&pending)
    }

    /// Matches hashes given as text, together, printing their matches in order.
    fn texts(&mut self, queries: &[Signal]) -> Result<()> {
        if queries.is_empty() {
            return Ok(());
        }
        for hits in self
            .matcher
            .match_texts(queries, self.args.matching.distance)
        {
            self.matched |= !hits.is_empty();
            print_hits(&mut self.printer, self.matcher, None, &hits, &[], None)
                .context("cannot write output")?;
        }
        self.flush_if_interactive()
    }

    fn flush_if_interactive(&mut self) -> Result<()> {
        if self.interactive {
            self.printer.flush().context("cannot write output")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str, expected: Option<&str>) {
        let parsed = hash_text(Path::new(query)).map(|s| s.signal_type().name());
        assert_eq!(parsed, expected, "{query:?}");
    }

    #[test]
    fn hashes_and_paths() {
        check(&"a".repeat(32), Some("md5"));
        check(&"A".repeat(40), Some("sha1"));
        check(&"0".repeat(64), Some("pdq"));
        check(&"0".repeat(63), None);
        check(&"0".repeat(33), None);
        check(&format!("./{}", "0".repeat(32)), None);
        check(&format!("{}.jpg", "0".repeat(32)), None);
        check(&"g".repeat(32), None);
        check("photo.jpg", None);
        check("-", None);
    }
}
