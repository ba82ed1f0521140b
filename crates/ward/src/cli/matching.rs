//! `ward match`: match hashes and media files against hash lists, printing one record per
//! match in query order.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal as _, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use ward_core::index::PdqQuerySet;
use ward_core::lists::{Hex64, ListError, ListReader, Signal};

use super::output::MatchPrinter;
use super::{MatchArgs, load_lists, low_quality_note, match_status, print_hits};
use crate::hashing::{self, Input, describe_io};
use crate::matcher::{Matcher, Queries};

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
    // Hashes alone (no media, no standard input) are read before the lists, and matched as
    // the lists are read, when the lists are longer than the queries (else an index of the
    // lists is as quick).
    let mut upfront = Upfront::read(args).filter(|upfront| {
        let list_bytes: u64 = (args.matching.lists.iter())
            .filter_map(|path| std::fs::metadata(path).ok())
            .map(|meta| meta.len())
            .sum();
        list_bytes / PDQ_LINE >= upfront.signals.len() as u64
    });
    let queries = match &upfront {
        Some(upfront) => Queries::Known {
            hashes: &upfront.signals,
            distance: args.matching.distance,
        },
        None => expected_queries(args).map_or(Queries::Unknown, Queries::Count),
    };
    let known = matches!(queries, Queries::Known { .. });
    let matcher = load_lists(&args.matching, queries)?;
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
    for (i, path) in args.query_files.iter().enumerate() {
        let read = upfront
            .as_mut()
            .map(|upfront| std::mem::take(&mut upfront.files[i]));
        run.query_file(path, read)
            .with_context(|| format!("cannot read queries from {}", path.display()))?;
    }
    let matched = started.elapsed();
    run.printer.flush().context("cannot write output")?;
    if timing {
        eprintln!(
            "ward match timing: {} {:.3} s, queries matched and printed {:.3} s, flushed {:.3} s",
            if known {
                "queries read, then lists read and matched"
            } else {
                "lists read and indexed"
            },
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

/// Bytes of a list line holding a PDQ hash (64 digits and a line end).
const PDQ_LINE: u64 = 65;

/// The queries of a run that asks only hashes, read before its lists ([`Queries::Known`]).
struct Upfront {
    /// Every query: the arguments, then the query files' lines in order.
    signals: Vec<Signal>,
    /// Each query file's lines (in the order of `--queries`): a hash, or why the line is
    /// malformed.
    files: Vec<Vec<Result<Signal, ListError>>>,
}

impl Upfront {
    /// `None` when a query is a media file or folder, a query file is standard input or
    /// not a regular file (a pipe could not be read again should the lists turn out
    /// short) or cannot be read (it is read again in its turn, and the error reported
    /// there), or the query files hold more than [`PdqQuerySet::MAX_QUERIES`] lines: at
    /// most that many are held.
    fn read(args: &MatchArgs) -> Option<Upfront> {
        let mut signals = Vec::new();
        for query in &args.queries {
            signals.push(hash_text(query)?);
        }
        let mut files = Vec::with_capacity(args.query_files.len());
        let mut lines_held = signals.len();
        for path in &args.query_files {
            if path.as_os_str() == "-" {
                return None;
            }
            // Asked of the path, not of an open file: opening a pipe would take its writer's
            // data with it.
            if !std::fs::metadata(path).ok()?.is_file() {
                return None;
            }
            let file = File::open(path).ok()?;
            let mut lines = Vec::new();
            for item in ListReader::new(BufReader::new(file), Hex64::Pdq) {
                lines_held += 1;
                if lines_held > PdqQuerySet::MAX_QUERIES {
                    return None;
                }
                match item {
                    Ok(entry) => {
                        signals.push(entry.signal.clone());
                        lines.push(Ok(entry.signal));
                    }
                    Err(error @ ListError::Malformed { .. }) => lines.push(Err(error)),
                    Err(_) => return None,
                }
            }
            files.push(lines);
        }
        Some(Upfront { signals, files })
    }
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

    /// Matches every hash of a queries file (or of standard input for `-`; `read`, its
    /// lines when they were read before the lists), up to [`QUERY_GROUP`] at a time
    /// ([`Matcher::match_texts`]), or one at a time from a terminal, whose typist waits for
    /// each answer.
    fn query_file(
        &mut self,
        path: &Path,
        read: Option<Vec<Result<Signal, ListError>>>,
    ) -> Result<()> {
        if let Some(lines) = read {
            return self.query_lines(path, lines, QUERY_GROUP);
        }
        let (input, group): (Box<dyn BufRead>, usize) = if path.as_os_str() == "-" {
            let stdin = io::stdin();
            let group = if stdin.is_terminal() { 1 } else { QUERY_GROUP };
            (Box::new(stdin.lock()), group)
        } else {
            let file = File::open(path).map_err(|e| anyhow!(describe_io(&e)))?;
            (Box::new(BufReader::new(file)), QUERY_GROUP)
        };
        // 64 digits are tried as SHA-256 too (see `Matcher::match_text`), so PDQ is right.
        let lines = ListReader::new(input, Hex64::Pdq).map(|item| item.map(|entry| entry.signal));
        self.query_lines(path, lines, group)
    }

    /// Matches the hashes of a queries file's lines, `group` at a time.
    fn query_lines(
        &mut self,
        path: &Path,
        lines: impl IntoIterator<Item = Result<Signal, ListError>>,
        group: usize,
    ) -> Result<()> {
        let mut pending = Vec::with_capacity(group);
        for item in lines {
            match item {
                Ok(signal) => {
                    pending.push(signal);
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
