//! Times Ward's PDQ stages single-threaded, one JSON line per image, for bench/pdq-vs-reference.sh.
//!
//! Usage: `pdq_timing [--repeat N] [--budget-ms MS] [--pipeline P] IMAGE...`
//!
//! Each file is read into memory once. After one untimed warm-up, every repetition runs the
//! whole pipeline in order and times its parts: decode, the PDQ hash stage on the decoded
//! picture (luma, Jarosz filter, DCT, threshold) and the MD5/SHA-1/SHA-256 digests of the bytes
//! that `ward hash` also computes. The line reports medians over the repetitions:
//!
//! ```text
//! {"path":"a.jpg","width":1786,"height":1120,"megapixels":2.000,"repeat":20,
//!  "decode_ms":..,"hash_ms":..,"total_ms":..,"digest_ms":..,"total_with_digests_ms":..,
//!  "pdq":"<64 hex>","quality":100}
//! ```
//!
//! `total_ms` is the median of decode + hash within a repetition (file bytes to hash), and
//! `total_with_digests_ms` adds the digests. Repetitions stop early, after at least
//! [`MIN_REPEAT`], once a file has used its time budget, so 12 MP images stay quick.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ward_core::decode::{self, DecodeOptions};
use ward_core::digest::FileDigests;
use ward_core::pdq::{PdqDct, PdqHash, Pipeline};

/// Repetitions per file unless `--repeat` says otherwise.
const DEFAULT_REPEAT: usize = 20;
/// Time per file after which repetitions stop, unless `--budget-ms` says otherwise.
const DEFAULT_BUDGET: Duration = Duration::from_secs(10);
/// Repetitions run even when the budget is spent, so a median means something.
const MIN_REPEAT: usize = 3;

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("pdq_timing: {message}");
            eprintln!("usage: pdq_timing [--repeat N] [--budget-ms MS] [--pipeline P] IMAGE...");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for path in &args.paths {
        match time_file(path, &args) {
            Ok(line) => println!("{line}"),
            Err(message) => {
                eprintln!("pdq_timing: {path}: {message}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[derive(Debug)]
struct Args {
    repeat: usize,
    budget: Duration,
    /// `full` (images, the default) or `video-frame` (each frame of a video).
    pipeline: Pipeline,
    paths: Vec<String>,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args {
            repeat: DEFAULT_REPEAT,
            budget: DEFAULT_BUDGET,
            pipeline: Pipeline::Full,
            paths: Vec::new(),
        };
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<u64, String> {
                let value = args.next().ok_or_else(|| format!("{name} needs a value"))?;
                value
                    .parse()
                    .map_err(|_| format!("{name}: not a number: {value:?}"))
            };
            match arg.as_str() {
                "--repeat" => parsed.repeat = number("--repeat")?.max(1) as usize,
                "--budget-ms" => parsed.budget = Duration::from_millis(number("--budget-ms")?),
                "--pipeline" => {
                    let value = args.next().ok_or("--pipeline needs a value")?;
                    parsed.pipeline = value.parse().map_err(|e| format!("{e}"))?;
                }
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                _ => parsed.paths.push(arg),
            }
        }
        if parsed.paths.is_empty() {
            return Err("no images given".into());
        }
        Ok(parsed)
    }
}

/// The times of one repetition.
#[derive(Clone, Copy, Debug)]
struct Sample {
    decode: Duration,
    hash: Duration,
    digest: Duration,
}

fn time_file(path: &str, args: &Args) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let options = DecodeOptions::default();

    // Warm-up: page in the code, size the allocator's pools, and get the hash to report.
    let picture = decode::decode(&bytes, &options).map_err(|e| format!("cannot decode: {e}"))?;
    let (width, height) = (picture.width(), picture.height());
    let dct = PdqDct::compute(&picture, args.pipeline);
    let (pdq, quality) = (dct.hash(), dct.quality());
    black_box(FileDigests::of(&bytes));
    drop(picture);

    let started = Instant::now();
    let mut samples = Vec::with_capacity(args.repeat);
    while samples.len() < args.repeat
        && (samples.len() < MIN_REPEAT || started.elapsed() < args.budget)
    {
        samples.push(one_repetition(&bytes, &options, args.pipeline, pdq)?);
    }

    let median = |stage: fn(&Sample) -> Duration| -> f64 {
        let mut ms: Vec<f64> = samples
            .iter()
            .map(|s| stage(s).as_secs_f64() * 1e3)
            .collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        if n % 2 == 1 {
            ms[n / 2]
        } else {
            (ms[n / 2 - 1] + ms[n / 2]) / 2.0
        }
    };
    let megapixels = f64::from(width) * f64::from(height) / 1e6;
    Ok(format!(
        "{{\"path\":{path},\"width\":{width},\"height\":{height},\"megapixels\":{megapixels:.3},\
         \"repeat\":{repeat},\"decode_ms\":{decode:.3},\"hash_ms\":{hash:.3},\
         \"total_ms\":{total:.3},\"digest_ms\":{digest:.3},\
         \"total_with_digests_ms\":{with_digests:.3},\"pdq\":\"{pdq}\",\"quality\":{quality}}}",
        path = json_string(path),
        repeat = samples.len(),
        decode = median(|s| s.decode),
        hash = median(|s| s.hash),
        total = median(|s| s.decode + s.hash),
        digest = median(|s| s.digest),
        with_digests = median(|s| s.decode + s.hash + s.digest),
    ))
}

/// Decodes, hashes and digests once, as `ward hash` does for a file already in memory.
fn one_repetition(
    bytes: &[u8],
    options: &DecodeOptions,
    pipeline: Pipeline,
    expected: PdqHash,
) -> Result<Sample, String> {
    let t0 = Instant::now();
    let picture =
        decode::decode(black_box(bytes), options).map_err(|e| format!("cannot decode: {e}"))?;
    let t1 = Instant::now();
    let hash = PdqDct::compute(black_box(&picture), pipeline).hash();
    let t2 = Instant::now();
    let digests = FileDigests::of(black_box(bytes));
    let t3 = Instant::now();
    black_box(digests);
    if hash != expected {
        return Err(format!(
            "hash changed between repetitions: {hash} then {expected}"
        ));
    }
    // Freeing the picture is left out of the timings, on both sides of the benchmark.
    drop(picture);
    Ok(Sample {
        decode: t1 - t0,
        hash: t2 - t1,
        digest: t3 - t2,
    })
}

/// A JSON string literal for `text`.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
