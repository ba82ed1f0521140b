//! Times Ward's PDQ index on one data set, single-threaded, for bench/index-vs-faiss.sh.
//!
//! Usage: `index_timing [--queries N] [--batch B] [--knn K] [--snapshot PATH] [--unclustered]
//! DATA_DIR`
//!
//! DATA_DIR is made by `bench/make_index_data.py`: `base.u8` (32 bytes per stored hash, in
//! [`PdqHash::to_bytes`] order), `queries.u8` (the same, planted and random queries
//! alternating) and `truth.txt` (per query, every stored hash within distance 31 as `id:distance`
//! tokens). Stored hash `i` gets id `i`. The example measures:
//!
//! - `build_s`: [`PdqIndex::build`] over all stored hashes (with `--unclustered`,
//!   [`PdqIndex::build_unclustered`], as `ward match` builds for few queries); `families`,
//!   `in_families` and `loose`: the shape it found ([`PdqIndex::shape`]);
//! - `rss_bytes_per_hash`: the process's resident memory (VmRSS, Linux only) after the build
//!   minus before it, per hash, next to the index's own [`PdqIndex::memory_bytes`];
//! - `qps`: [`PdqIndex::search_radius`] at radius 31 for the first N queries (all by default)
//!   one after another on this thread, after a one-query warm-up;
//! - `recall` and `exact`: every stored hash within 31 must come back once, with its id, hash
//!   and distance, and nothing else may;
//! - `batch_qps`: the same queries asked B at a time (all by default) through
//!   [`PdqIndex::search_radius_many`], as a matcher with a file of queries asks them, and
//!   `batch_exact`, their answers checked the same way;
//! - the snapshot: [`PdqIndex::write_snapshot`] to a file and [`PdqIndex::read_snapshot`]
//!   back (through buffered I/O), then the same queries on the loaded index, whose answers
//!   must be the same;
//! - with `--knn K`: [`PdqIndex::search_nearest`] for the queries, checked against the truth
//!   where the truth decides (the nearest within 31, ties by id).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use ward_core::index::{PdqIndex, PdqMatch, PdqQuerySet};
use ward_core::pdq::PdqHash;

/// The radius the benchmark searches at: PDQ's usual match threshold.
const RADIUS: u32 = 31;

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("index_timing: {message}");
            eprintln!(
                "usage: index_timing [--queries N] [--batch B] [--knn K] [--snapshot PATH] \
                 [--unclustered] DATA_DIR"
            );
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("index_timing: {}: {message}", args.data_dir.display());
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug)]
struct Args {
    queries: Option<usize>,
    batch: Option<usize>,
    knn: Option<usize>,
    snapshot: Option<PathBuf>,
    unclustered: bool,
    stream: bool,
    data_dir: PathBuf,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let (mut queries, mut batch, mut knn, mut snapshot, mut data_dir) =
            (None, None, None, None, None);
        let (mut unclustered, mut stream) = (false, false);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            let number = |name: &str, value: String| -> Result<usize, String> {
                value
                    .parse()
                    .map_err(|_| format!("{name}: not a number: {value:?}"))
            };
            match arg.as_str() {
                "--queries" => queries = Some(number("--queries", value("--queries")?)?),
                "--batch" => batch = Some(number("--batch", value("--batch")?)?.max(1)),
                "--knn" => knn = Some(number("--knn", value("--knn")?)?.max(1)),
                "--snapshot" => snapshot = Some(PathBuf::from(value("--snapshot")?)),
                "--unclustered" => unclustered = true,
                "--stream" => stream = true,
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                _ if data_dir.is_some() => return Err("more than one data directory".into()),
                _ => data_dir = Some(PathBuf::from(arg)),
            }
        }
        let data_dir = data_dir.ok_or("no data directory given")?;
        Ok(Args {
            queries,
            batch,
            knn,
            snapshot,
            unclustered,
            stream,
            data_dir,
        })
    }
}

fn run(args: &Args) -> Result<String, String> {
    let base = read_hashes(&args.data_dir.join("base.u8"))?;
    let mut queries = read_hashes(&args.data_dir.join("queries.u8"))?;
    let mut truth = read_truth(&args.data_dir.join("truth.txt"))?;
    if truth.len() != queries.len() {
        return Err(format!(
            "{} queries but {} lines of truth",
            queries.len(),
            truth.len()
        ));
    }
    if let Some(limit) = args.queries {
        queries.truncate(limit);
        truth.truncate(limit);
    }
    let n = base.len();
    let mut json = Json::default();
    json.string("index", "ward");
    json.number("n", n);
    json.number("queries", queries.len());

    if args.stream {
        let answers = stream_past(&base, &queries);
        json.float("stream_s", answers.seconds, 4);
        let check = check_against_truth(&answers, &truth, &base);
        json.bool(
            "stream_exact",
            check.found == check.truth_pairs && check.extra == 0,
        );
    }

    // The arrays `build_unclustered` takes, made before the clock starts.
    let unclustered = args
        .unclustered
        .then(|| (base.clone(), (0..n as u64).collect::<Vec<u64>>()));
    let rss_before = rss_bytes();
    let started = Instant::now();
    let index = if let Some((hashes, ids)) = unclustered {
        PdqIndex::build_unclustered(hashes, ids)
    } else {
        PdqIndex::build(base.iter().enumerate().map(|(id, hash)| (*hash, id as u64)))
    };
    json.float("build_s", started.elapsed().as_secs_f64(), 3);
    let rss_after = rss_bytes();
    if index.len() != n {
        return Err(format!(
            "built an index of {} entries from {n}",
            index.len()
        ));
    }
    match (rss_before, rss_after) {
        (Some(before), Some(after)) => json.float(
            "rss_bytes_per_hash",
            after.saturating_sub(before) as f64 / n as f64,
            2,
        ),
        _ => json.null("rss_bytes_per_hash"),
    }
    json.float(
        "memory_bytes_per_hash",
        index.memory_bytes() as f64 / n as f64,
        2,
    );
    let (in_families, families, loose) = index.shape();
    json.number("families", families);
    json.number("in_families", in_families);
    json.number("loose", loose);

    let answers = search_all(&index, &queries);
    json.float("search_s", answers.seconds, 4);
    json.float("qps", queries.len() as f64 / answers.seconds, 2);
    let check = check_against_truth(&answers, &truth, &base);
    json.number("truth_pairs", check.truth_pairs);
    json.number("found", check.found);
    json.number("missed", check.truth_pairs - check.found);
    json.number("extra", check.extra);
    let recall = match check.truth_pairs {
        0 => 1.0,
        pairs => check.found as f64 / pairs as f64,
    };
    json.float("recall", recall, 6);
    json.bool(
        "exact",
        check.found == check.truth_pairs && check.extra == 0,
    );

    let batch = args.batch.unwrap_or(queries.len()).max(1);
    let batched = search_batched(&index, &queries, batch);
    json.number("batch", batch);
    json.float("batch_qps", queries.len() as f64 / batched.seconds, 2);
    let batch_check = check_against_truth(&batched, &truth, &base);
    json.bool(
        "batch_exact",
        batch_check.found == check.truth_pairs && batch_check.extra == 0,
    );

    if let Some(k) = args.knn {
        let started = Instant::now();
        let nearest: Vec<Vec<PdqMatch>> = queries
            .iter()
            .map(|query| index.search_nearest(query, k))
            .collect();
        let seconds = started.elapsed().as_secs_f64();
        json.number("knn_k", k);
        json.float("knn_qps", queries.len() as f64 / seconds, 2);
        json.bool("knn_consistent", knn_consistent(&nearest, &truth, k.min(n)));
    }

    let snapshot_path = args.snapshot.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("ward-index-timing-{}.snapshot", std::process::id()))
    });
    let snapshot = time_snapshot(index, &snapshot_path, &queries, &answers);
    let _ = std::fs::remove_file(&snapshot_path);
    let snapshot = snapshot?;
    json.number("snapshot_bytes", snapshot.bytes);
    json.float("snapshot_write_s", snapshot.write_s, 3);
    json.float("snapshot_load_s", snapshot.load_s, 3);
    json.float("snapshot_qps", queries.len() as f64 / snapshot.search_s, 2);
    json.bool("snapshot_identical", snapshot.identical);
    Ok(json.finish())
}

/// Every query's matches, in one buffer: query `q`'s are `matches[ends[q - 1]..ends[q]]`.
#[derive(Debug)]
struct Answers {
    matches: Vec<PdqMatch>,
    ends: Vec<usize>,
    seconds: f64,
}

impl Answers {
    /// Query `q`'s matches sorted by id, then distance and hash.
    fn sorted(&self, q: usize) -> Vec<PdqMatch> {
        let start = if q == 0 { 0 } else { self.ends[q - 1] };
        let mut matches = self.matches[start..self.ends[q]].to_vec();
        matches.sort_by_key(|m| (m.id, m.distance, m.hash));
        matches
    }
}

/// Runs the queries one after another; only the searches are inside the timing, and they
/// append to one buffer so that no allocation per query is timed.
fn search_all(index: &PdqIndex, queries: &[PdqHash]) -> Answers {
    let mut matches = Vec::with_capacity(queries.len() * 8);
    if let Some(first) = queries.first() {
        index.search_radius(first, RADIUS, &mut matches);
        matches.clear();
    }
    let mut ends = Vec::with_capacity(queries.len());
    let started = Instant::now();
    for query in queries {
        index.search_radius(query, RADIUS, &mut matches);
        ends.push(matches.len());
    }
    let seconds = started.elapsed().as_secs_f64();
    Answers {
        matches,
        ends,
        seconds,
    }
}

/// Indexes the queries ([`PdqQuerySet`]) and streams the stored hashes past them in runs, as
/// `ward match` does with a file of queries; the timing covers both.
fn stream_past(base: &[PdqHash], queries: &[PdqHash]) -> Answers {
    const RUN: usize = 8192;
    let ids: Vec<u64> = (0..base.len() as u64).collect();
    let started = Instant::now();
    let set = PdqQuerySet::new(queries.to_vec(), RADIUS).expect("few queries at radius 31");
    let mut found = Vec::new();
    for (hashes, ids) in base.chunks(RUN).zip(ids.chunks(RUN)) {
        set.search(hashes, ids, &mut found);
    }
    let seconds = started.elapsed().as_secs_f64();
    found.sort_unstable_by_key(|&(q, _)| q);
    let mut matches = Vec::with_capacity(found.len());
    let mut ends = Vec::with_capacity(queries.len());
    let mut at = 0;
    for q in 0..queries.len() as u32 {
        while at < found.len() && found[at].0 == q {
            matches.push(found[at].1);
            at += 1;
        }
        ends.push(matches.len());
    }
    Answers {
        matches,
        ends,
        seconds,
    }
}

/// Runs the queries `batch` at a time through [`PdqIndex::search_radius_many`]; only the
/// searches are inside the timing.
fn search_batched(index: &PdqIndex, queries: &[PdqHash], batch: usize) -> Answers {
    let started = Instant::now();
    let answers: Vec<Vec<Vec<PdqMatch>>> = queries
        .chunks(batch)
        .map(|part| index.search_radius_many(part, RADIUS))
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    let mut matches = Vec::new();
    let mut ends = Vec::with_capacity(queries.len());
    for found in answers.into_iter().flatten() {
        matches.extend(found);
        ends.push(matches.len());
    }
    Answers {
        matches,
        ends,
        seconds,
    }
}

#[derive(Debug)]
struct Check {
    truth_pairs: usize,
    found: usize,
    extra: usize,
}

/// Counts truth pairs found with the right distance and stored hash, and everything else
/// that came back (wrong distance or hash, out of reach, or the same entry twice).
fn check_against_truth(answers: &Answers, truth: &[Vec<(u64, u32)>], base: &[PdqHash]) -> Check {
    let mut check = Check {
        truth_pairs: truth.iter().map(Vec::len).sum(),
        found: 0,
        extra: 0,
    };
    for (q, expected) in truth.iter().enumerate() {
        let got = answers.sorted(q);
        let mut previous = None;
        for m in &got {
            let right = previous != Some(m.id)
                && expected
                    .binary_search_by_key(&m.id, |&(id, _)| id)
                    .is_ok_and(|at| expected[at].1 == m.distance)
                && base.get(m.id as usize) == Some(&m.hash);
            if right {
                check.found += 1;
            } else {
                check.extra += 1;
            }
            previous = Some(m.id);
        }
    }
    check
}

/// Whether each query's `k` nearest (`k` at most the number stored) agree with the truth as
/// far as it goes: the stored hashes within the radius, nearest first and ties by id, then
/// (if fewer than `k`) only hashes beyond it.
fn knn_consistent(nearest: &[Vec<PdqMatch>], truth: &[Vec<(u64, u32)>], k: usize) -> bool {
    nearest.iter().zip(truth).all(|(got, expected)| {
        let mut expected: Vec<(u32, u64)> = expected.iter().map(|&(id, d)| (d, id)).collect();
        expected.sort_unstable();
        expected.truncate(k);
        let shown = got.iter().map(|m| (m.distance, m.id));
        got.len() == k
            && shown.take(expected.len()).eq(expected.iter().copied())
            && got[expected.len()..].iter().all(|m| m.distance > RADIUS)
    })
}

#[derive(Debug)]
struct SnapshotTiming {
    bytes: u64,
    write_s: f64,
    load_s: f64,
    search_s: f64,
    identical: bool,
}

/// Writes the index to `path`, drops it, loads it back and runs the queries again.
fn time_snapshot(
    index: PdqIndex,
    path: &Path,
    queries: &[PdqHash],
    answers: &Answers,
) -> Result<SnapshotTiming, String> {
    let started = Instant::now();
    let file = File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    index
        .write_snapshot(&mut writer)
        .map_err(|e| format!("cannot write the snapshot: {e}"))?;
    writer
        .into_inner()
        .map_err(|e| format!("cannot write the snapshot: {e}"))?
        .sync_all()
        .map_err(|e| format!("cannot write the snapshot: {e}"))?;
    let write_s = started.elapsed().as_secs_f64();
    drop(index);
    let bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();

    let started = Instant::now();
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let loaded = PdqIndex::read_snapshot(&mut BufReader::with_capacity(1 << 20, file))
        .map_err(|e| format!("cannot read the snapshot: {e}"))?;
    let load_s = started.elapsed().as_secs_f64();

    let again = search_all(&loaded, queries);
    let identical = (0..queries.len()).all(|q| again.sorted(q) == answers.sorted(q));
    Ok(SnapshotTiming {
        bytes,
        write_s,
        load_s,
        search_s: again.seconds,
        identical,
    })
}

fn read_hashes(path: &Path) -> Result<Vec<PdqHash>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() % 32 != 0 {
        return Err(format!(
            "{} is {} bytes, not a multiple of 32",
            path.display(),
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|chunk| PdqHash::from_bytes(chunk.try_into().expect("chunks of 32")))
        .collect())
}

/// Per query, `(id, distance)` of every stored hash within the radius, sorted by id.
fn read_truth(path: &Path) -> Result<Vec<Vec<(u64, u32)>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(line, tokens)| {
            let mut pairs = tokens
                .split_whitespace()
                .map(|token| {
                    let (id, distance) = token.split_once(':')?;
                    Some((id.parse().ok()?, distance.parse().ok()?))
                })
                .collect::<Option<Vec<(u64, u32)>>>()
                .ok_or_else(|| {
                    format!("{}:{}: not id:distance tokens", path.display(), line + 1)
                })?;
            pairs.sort_unstable();
            Ok(pairs)
        })
        .collect()
}

/// The process's resident memory in bytes, from /proc/self/status (Linux only).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A JSON object built field by field; the keys here need no escaping.
#[derive(Debug, Default)]
struct Json {
    fields: Vec<String>,
}

impl Json {
    fn string(&mut self, key: &str, value: &str) {
        self.fields.push(format!("\"{key}\":\"{value}\""));
    }

    fn number(&mut self, key: &str, value: impl std::fmt::Display) {
        self.fields.push(format!("\"{key}\":{value}"));
    }

    fn float(&mut self, key: &str, value: f64, decimals: usize) {
        self.fields.push(format!("\"{key}\":{value:.decimals$}"));
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.fields.push(format!("\"{key}\":{value}"));
    }

    fn null(&mut self, key: &str) {
        self.fields.push(format!("\"{key}\":null"));
    }

    fn finish(self) -> String {
        format!("{{{}}}", self.fields.join(","))
    }
}
