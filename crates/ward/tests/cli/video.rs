//! Videos: `ward hash` prints their vPDQ and digests, `ward match` and `ward scan` find
//! re-encodings and clips of listed videos and nothing else, and every kind of bad video
//! (not a video, truncated, too long, too large, a decoder that hangs or is missing) gives an
//! error record while the others are still hashed.
//!
//! The videos are generated with FFmpeg's test sources (benign patterns) when the tests
//! first need them, so nothing binary is committed for these tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ward_core::digest::FileDigests;
use ward_core::video::Vpdq;

use crate::{Run, repo_file, shown, ward, ward_with_env, ward_with_stdin};

/// The generated videos, all at 25 frames per second.
struct Videos {
    /// 6 s of `testsrc2` at 320x240.
    original: PathBuf,
    /// The original at 160x120, re-encoded at a low quality (CRF 35).
    resized: PathBuf,
    /// Seconds 2 to 5 of the original, re-encoded.
    clip: PathBuf,
    /// 6 s of a visually unrelated source (`mandelbrot`).
    other: PathBuf,
    /// The original letterboxed to 320x320: black bars of 40 rows above and below.
    letterboxed: PathBuf,
}

/// Makes the videos once per run, in Cargo's temporary folder for integration tests. Each is
/// written under a temporary name and renamed, so concurrent runs never see half a file.
fn videos() -> &'static Videos {
    static VIDEOS: OnceLock<Videos> = OnceLock::new();
    VIDEOS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ward-videos-v1");
        fs::create_dir_all(&dir).unwrap();
        // `args` are FFmpeg's input and filter arguments, separated by spaces.
        let make = |name: &str, args: &str| -> PathBuf {
            let path = dir.join(name);
            if !path.exists() {
                let partial = dir.join(format!("{}.{name}", std::process::id()));
                let mut command = Command::new("ffmpeg");
                command.args(["-nostdin", "-v", "error", "-y"]);
                for arg in args.split_whitespace() {
                    // `@NAME` is a video made before.
                    match arg.strip_prefix('@') {
                        Some(input) => command.arg(dir.join(input)),
                        None => command.arg(arg),
                    };
                }
                let status = command
                    .args(["-an", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
                    .arg(&partial)
                    .status()
                    .expect("ffmpeg must be installed (apt-get install ffmpeg)");
                assert!(status.success(), "ffmpeg failed making {name}");
                fs::rename(&partial, &path).unwrap();
            }
            path
        };
        let original = make(
            "original.mp4",
            "-f lavfi -i testsrc2=size=320x240:rate=25:duration=6",
        );
        Videos {
            resized: make("resized.mp4", "-i @original.mp4 -vf scale=160:120 -crf 35"),
            clip: make("clip.mp4", "-ss 2 -i @original.mp4 -t 3"),
            other: make(
                "other.mp4",
                "-f lavfi -i mandelbrot=size=320x240:rate=25 -t 6",
            ),
            letterboxed: make(
                "letterboxed.mp4",
                "-i @original.mp4 -vf pad=320:320:0:40:black",
            ),
            original,
        }
    })
}

/// Runs `ward` with `args`, each a string or a path.
fn ward_args(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    ward(args.iter().map(|a| a.as_ref()))
}

/// The one record of a run that hashed one file.
fn only_record(run: &Run) -> Value {
    let records = run.records();
    assert_eq!(records.len(), 1, "{run:?}");
    records.into_iter().next().unwrap()
}

/// A `jsonl` record's vPDQ as (frame, timestamp) pairs, checking every frame's form.
fn frames(record: &Value) -> Vec<(u64, f64)> {
    record["vpdq"]
        .as_array()
        .unwrap_or_else(|| panic!("no vpdq: {record}"))
        .iter()
        .map(|f| {
            let quality = f["quality"].as_u64().unwrap();
            assert!(quality <= 100, "{f}");
            let pdq = f["pdq"].as_str().unwrap();
            assert!(pdq.len() == 64 && pdq.bytes().all(|b| b.is_ascii_hexdigit()));
            (
                f["frame"].as_u64().unwrap(),
                f["timestamp"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn hash_samples_a_frame_a_second_and_digests_the_file() {
    let v = videos();
    let run = ward_args(&[&"hash", &v.original]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr
            .starts_with("ward: hash: hashed=1 skipped=0 errors=0 ")
            && run.stderr.lines().count() == 1,
        "{run:?}"
    );
    let record = only_record(&run);
    let digests = FileDigests::of(&fs::read(&v.original).unwrap());
    assert_eq!(record["path"], shown(&v.original));
    assert_eq!(record["md5"], digests.md5.to_string());
    assert_eq!(record["sha1"], digests.sha1.to_string());
    assert_eq!(record["sha256"], digests.sha256.to_string());
    assert_eq!(record["seconds_per_hash"], 1.0);
    assert!(record.get("pdq").is_none() && record.get("quality").is_none());
    // floor(1 s * 25 fps) = 25: frames 0, 25, ..., 125, stamped frame / 25.
    let expected: Vec<(u64, f64)> = (0..6).map(|k| (k * 25, k as f64)).collect();
    assert_eq!(frames(&record), expected);
    // Timestamps are printed with three decimals, as Meta's tools print them.
    assert!(
        run.stdout.contains(r#""timestamp":1.000}"#),
        "{}",
        run.stdout
    );

    // Every frame: 150 of them, 0.04 s apart.
    let run = ward_args(&[&"hash", &"--seconds-per-hash", &"0", &v.original]);
    let every: Vec<(u64, f64)> = frames(&only_record(&run));
    assert_eq!(every.len(), 150);
    for (k, (frame, timestamp)) in every.into_iter().enumerate() {
        assert_eq!(frame, k as u64);
        assert!(
            (timestamp - k as f64 / 25.0).abs() < 0.0005,
            "{k}: {timestamp}"
        );
    }
    assert!(run.stdout.contains(r#""timestamp":0.040}"#));
    // Half a second: floor(12.5) = 12 frames apart.
    let run = ward_args(&[&"hash", &"--seconds-per-hash", &"0.5", &v.original]);
    let half: Vec<u64> = frames(&only_record(&run)).iter().map(|f| f.0).collect();
    assert_eq!(half, (0..13).map(|k| k * 12).collect::<Vec<u64>>());
}

#[test]
fn hash_formats_and_standard_input() {
    let v = videos();
    let record = only_record(&ward_args(&[&"hash", &v.clip]));
    let hashes: Vec<&str> = record["vpdq"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["pdq"].as_str().unwrap())
        .collect();
    assert_eq!(hashes.len(), 3);

    // Standard input is spooled and hashed the same.
    let bytes = fs::read(&v.clip).unwrap();
    let run = ward_with_stdin(["hash", "-"], Some(&bytes));
    assert_eq!(run.code, Some(0), "{run:?}");
    let mut from_stdin = only_record(&run);
    assert_eq!(from_stdin["path"], "-");
    from_stdin["path"] = record["path"].clone();
    assert_eq!(from_stdin, record);

    // CSV: python-threatexchange's JSON form in the vpdq column, no PDQ hash.
    let run = ward_args(&[&"hash", &"--format", &"csv", &v.clip]);
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "path", "pdq", "quality", "md5", "sha1", "sha256", "vpdq", "error"
        ]
    );
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!((&row[1], &row[2], &row[7]), ("", "", ""));
    assert_eq!(&row[3], record["md5"].as_str().unwrap());
    let vpdq = Vpdq::parse_json(&row[6]).unwrap();
    let from_csv: Vec<String> = vpdq.frames().iter().map(|f| f.hash.to_string()).collect();
    assert_eq!(from_csv, hashes);
    assert!(
        row[6].starts_with(&format!("[\"{},", hashes[0])),
        "{}",
        &row[6]
    );

    // Text: Meta's vPDQ line of each frame, then the path.
    let run = ward_args(&[&"hash", &"--format", &"text", &v.clip]);
    let lines: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
    let expected: Vec<String> = record["vpdq"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{},{},{},{:.3} {}",
                f["frame"],
                f["quality"],
                f["pdq"].as_str().unwrap(),
                f["timestamp"].as_f64().unwrap(),
                shown(&v.clip)
            )
        })
        .collect();
    assert_eq!(lines, expected);
    assert!(lines[1].starts_with("25,") && lines[1].contains(",1.000 "));
}

/// A CSV list of the original video's vPDQ (from `ward hash --format csv`, as a bank would
/// be built) and of its MD5 as HMA names it; returns its path.
fn video_list(dir: &Path) -> PathBuf {
    let v = videos();
    let run = ward_args(&[&"hash", &"--format", &"csv", &v.original]);
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    let path = dir.join("videos.csv");
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer
        .write_record(["signal_type", "signal", "label", "id"])
        .unwrap();
    writer
        .write_record(["vpdq", &row[6], "test pattern", "v1"])
        .unwrap();
    writer
        .write_record(["video_md5", &row[3], "test pattern file", "v1-md5"])
        .unwrap();
    writer.flush().unwrap();
    path
}

/// A vPDQ match record as `ward match` and `ward scan` print it, without its shares.
fn vpdq_record(path: &Path, list: &Path) -> Value {
    let md5 = FileDigests::of(&fs::read(path).unwrap()).md5;
    json!({
        "path": shown(path),
        "query": md5.to_string(),
        "list": shown(list),
        "signal_type": "vpdq",
        "label": "test pattern",
        "id": "v1",
        "bars_trimmed": false,
    })
}

/// Takes the shares out of a record.
fn shares(record: &mut Value) -> (f64, f64) {
    let record = record.as_object_mut().unwrap();
    let share = |value: Option<Value>| value.and_then(|v| v.as_f64()).expect("a share");
    (
        share(record.remove("query_share")),
        share(record.remove("compared_share")),
    )
}

#[test]
fn match_finds_reencodings_and_clips_and_not_other_videos() {
    let v = videos();
    let dir = tempfile::tempdir().unwrap();
    let list = video_list(dir.path());
    let run = ward_args(&[
        &"match",
        &"--list",
        &list,
        &v.original,
        &v.resized,
        &v.clip,
        &v.other,
    ]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(run.stderr, "");
    let mut records = run.records();
    assert_eq!(records.len(), 4, "{run:?}");

    // The listed file itself: its MD5 exactly (first), then its vPDQ entirely.
    let md5 = FileDigests::of(&fs::read(&v.original).unwrap())
        .md5
        .to_string();
    assert_eq!(
        records[0],
        json!({
            "path": shown(&v.original),
            "query": md5,
            "list": shown(&list),
            "signal_type": "md5",
            "signal": md5,
            "label": "test pattern file",
            "id": "v1-md5",
            "distance": 0,
        })
    );
    assert_eq!(shares(&mut records[1]), (100.0, 100.0));
    assert_eq!(records[1], vpdq_record(&v.original, &list));
    // Resized and re-encoded at a low quality: still nearly every frame.
    let (query, compared) = shares(&mut records[2]);
    assert!(query >= 80.0 && compared >= 80.0, "{query} {compared}");
    assert_eq!(records[2], vpdq_record(&v.resized, &list));
    // Three seconds of six: all of the clip is in the listed video, half of it in the clip.
    let (query, compared) = shares(&mut records[3]);
    assert!(query >= 99.0, "{query}");
    assert!((40.0..=60.0).contains(&compared), "{compared}");
    assert_eq!(records[3], vpdq_record(&v.clip, &list));
    // The unrelated video matches nothing, even with no share required.
    let run = ward_args(&[
        &"match",
        &"--list",
        &list,
        &"--video-query-share",
        &"0",
        &v.other,
    ]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");

    // Asking for most of the listed video leaves the clip out.
    let run = ward_args(&[
        &"match",
        &"--list",
        &list,
        &"--video-compared-share",
        &"90",
        &v.clip,
        &v.resized,
    ]);
    let records = run.records();
    assert_eq!(records.len(), 1, "{run:?}");
    assert_eq!(records[0]["path"], shown(&v.resized));

    // CSV: the shares in their columns, no signal or distance.
    let run = ward_args(&[&"match", &"--list", &list, &"--format", &"csv", &v.clip]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "path,query,list,signal_type,signal,label,id,distance,query_share,compared_share,bars_trimmed,error"
    );
    let clip_md5 = FileDigests::of(&fs::read(&v.clip).unwrap()).md5;
    let prefix = format!(
        "{},{clip_md5},{},vpdq,,test pattern,v1,,100,",
        shown(&v.clip),
        shown(&list)
    );
    assert!(lines[1].starts_with(&prefix), "{}", lines[1]);
    assert_eq!(lines.len(), 2);
}

/// Bars added around a listed video hide it from vPDQ as the reference computes it; by
/// default the frames inside the bars are matched too, and the match says so.
#[test]
fn match_finds_a_letterboxed_copy_by_trimming_its_bars() {
    let v = videos();
    let dir = tempfile::tempdir().unwrap();
    let list = video_list(dir.path());
    let run = ward_args(&[&"match", &"--list", &list, &v.letterboxed]);
    assert_eq!(run.code, Some(3), "{run:?}");
    let mut record = only_record(&run);
    let (query, compared) = shares(&mut record);
    assert!(query >= 80.0 && compared >= 80.0, "{query} {compared}");
    let mut expected = vpdq_record(&v.letterboxed, &list);
    expected["bars_trimmed"] = json!(true);
    assert_eq!(record, expected);

    // As the reference hashes it, nothing.
    let run = ward_args(&[
        &"match",
        &"--list",
        &list,
        &"--no-trim-bars",
        &v.letterboxed,
    ]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
    // `ward hash` prints the reference's vPDQ only.
    let run = ward_args(&[&"hash", &v.letterboxed]);
    let record = only_record(&run);
    assert!(record.get("vpdq").is_some() && record.get("trimmed").is_none());
}

#[test]
fn vpdq_needs_a_csv_list() {
    let v = videos();
    let dir = tempfile::tempdir().unwrap();
    let run = ward_args(&[&"hash", &"--format", &"csv", &v.clip]);
    let row = csv::Reader::from_reader(run.stdout.as_bytes())
        .records()
        .next()
        .unwrap()
        .unwrap();
    let plain = dir.path().join("plain.txt");
    fs::write(&plain, format!("{}\n", &row[6])).unwrap();
    let run = ward_args(&[&"match", &"--list", &plain, &v.clip]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>(),
        [
            format!(
                "ward: {}:1: a vPDQ signal (a JSON list) needs a CSV list with a signal column",
                shown(&plain)
            ),
            format!("ward: {}: no entries", shown(&plain)),
        ]
    );
}

#[test]
fn scan_finds_listed_videos_among_other_files() {
    let v = videos();
    let dir = tempfile::tempdir().unwrap();
    let list = video_list(dir.path());
    let folder = dir.path().join("uploads");
    fs::create_dir(&folder).unwrap();
    fs::copy(&v.clip, folder.join("a-clip.mp4")).unwrap();
    fs::copy(&v.other, folder.join("b-other.mp4")).unwrap();
    fs::copy(&v.resized, folder.join("c-resized.mov")).unwrap();
    fs::copy(
        repo_file("testdata/pdq/generated/rgb.png"),
        folder.join("d-photo.png"),
    )
    .unwrap();
    let run = ward_args(&[&"scan", &folder, &"--list", &list]);
    assert_eq!(run.code, Some(3), "{run:?}");
    let paths: Vec<String> = run
        .records()
        .iter()
        .map(|r| {
            assert_eq!(r["signal_type"], "vpdq", "{r}");
            r["path"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        paths,
        [
            shown(&folder.join("a-clip.mp4")),
            shown(&folder.join("c-resized.mov"))
        ]
    );
    assert!(
        run.stderr
            .starts_with("ward: scan: files=4 matched=2 skipped=0 errors=0 low_quality=0 "),
        "{}",
        run.stderr
    );

    // A list without vPDQ entries: videos are matched by their digests without being
    // decoded (no decoder at all is needed).
    let md5 = FileDigests::of(&fs::read(&v.clip).unwrap()).md5;
    let digests = dir.path().join("digests.txt");
    fs::write(&digests, format!("{md5}\n")).unwrap();
    let run = ward_with_worker(
        Path::new("/nonexistent/worker"),
        &[&"scan", &folder, &"--list", &digests],
    );
    assert_eq!(run.code, Some(3), "{run:?}");
    let records = run.records();
    assert_eq!(records.len(), 1, "{run:?}");
    assert_eq!(records[0]["path"], shown(&folder.join("a-clip.mp4")));
    assert_eq!(records[0]["signal_type"], "md5");
}

/// The error of a run's one record.
fn error_of(run: &Run) -> String {
    let record = only_record(run);
    record["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {record}"))
        .to_owned()
}

#[test]
fn bad_videos_give_error_records_and_the_others_are_hashed() {
    let v = videos();
    let dir = tempfile::tempdir().unwrap();
    let original = fs::read(&v.original).unwrap();
    // Random bytes named like a video: neither an image nor a video.
    let random = dir.path().join("random.mp4");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    fs::write(&random, &noise).unwrap();
    // The first half of an MP4 whose index comes last, as FFmpeg writes it by default.
    let truncated = dir.path().join("truncated.mp4");
    fs::write(&truncated, &original[..original.len() / 2]).unwrap();
    // A file that starts like an MP4 and is nothing else.
    let fake = dir.path().join("fake.mp4");
    fs::write(&fake, [&b"\0\0\0\x20ftypisom"[..], &[0; 1000]].concat()).unwrap();

    let run = ward_args(&[&"hash", &random, &v.clip, &truncated, &fake]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let records = run.records();
    assert_eq!(records.len(), 4, "{run:?}");
    assert_eq!(
        records[0]["error"],
        "not a recognised image or video format"
    );
    assert_eq!(records[1]["vpdq"].as_array().unwrap().len(), 3, "{run:?}");
    for record in [&records[2], &records[3]] {
        let error = record["error"].as_str().unwrap();
        assert!(error.starts_with("corrupt video file: "), "{record}");
    }

    let run = ward_args(&[&"hash", &"--max-duration", &"2", &v.original]);
    assert_eq!(
        error_of(&run),
        "video of 6.0 s exceeds the limit of 2 s (--max-duration)"
    );
    let run = ward_args(&[&"hash", &"--max-frame-pixels", &"76799", &v.original]);
    assert_eq!(
        error_of(&run),
        "video frames of 320x240 pixels exceed the limit of 76799 pixels (--max-frame-pixels)"
    );
    assert_eq!(run.code, Some(1));
    let run = ward_args(&[&"hash", &"--max-frame-pixels", &"76800", &v.original]);
    assert_eq!(run.code, Some(0), "{run:?}");
}

/// `ward ARGS` with the video worker replaced by `worker`.
fn ward_with_worker(worker: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    ward_with_env(
        args.iter().map(|a| a.as_ref()),
        &[("WARD_VIDEO_WORKER", worker.as_os_str())],
    )
}

/// A shell script standing in for the video worker.
fn fake_worker(dir: &Path, name: &str, script: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

#[test]
fn a_decoder_that_hangs_is_stopped_at_the_timeout() {
    let v = videos();
    let dir = tempfile::tempdir().unwrap();
    // `exec`, so that stopping the process stops the sleep too.
    let hanging = fake_worker(dir.path(), "hanging-worker", "exec sleep 60");
    let started = Instant::now();
    let run = ward_with_worker(&hanging, &[&"hash", &"--decoder-timeout", &"1", &v.clip]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, Some(1));
    assert_eq!(
        error_of(&run),
        "video decoding took longer than 1 s and was stopped (--decoder-timeout)"
    );
    let run = ward_args(&[&"hash", &"--decoder-timeout", &"0", &v.clip]);
    assert_eq!(
        run.code,
        Some(2),
        "a timeout of 0 is a usage error: {run:?}"
    );
}

#[test]
fn a_decoder_that_crashes_takes_only_itself_down() {
    let v = videos();
    let dir = tempfile::tempdir().unwrap();
    // The worker dies as a codec's bad memory access would kill it.
    let crashing = fake_worker(dir.path(), "crashing-worker", "kill -SEGV $$");
    let image = dir.path().join("image.png");
    image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 128]))
        .save(&image)
        .unwrap();
    let run = ward_with_worker(&crashing, &[&"hash", &v.clip, &image]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let records = run.records();
    assert_eq!(records.len(), 2, "{run:?}");
    assert_eq!(
        records[0]["error"],
        "video decoder: the video decoder crashed (signal 11)"
    );
    assert!(records[1]["pdq"].is_string(), "{run:?}");
}

#[test]
fn a_missing_decoder_is_named() {
    let v = videos();
    let run = ward_with_worker(Path::new("/nonexistent/worker"), &[&"hash", &v.clip]);
    assert_eq!(run.code, Some(1));
    assert!(
        error_of(&run)
            .starts_with("video decoder: cannot run the video decoder /nonexistent/worker: "),
        "{run:?}"
    );
}
