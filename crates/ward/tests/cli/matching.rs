//! `ward match`: hashes, files and query files against plain and CSV lists; distances,
//! digests, output formats, malformed lines and exit statuses.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use ward_core::digest::FileDigests;

use crate::{golden, repo_file, shown, ward, ward_with_stdin};

const RGB: &str = "testdata/pdq/generated/rgb.png";
/// 2 bits from `RGB`'s hash.
const PALETTE: &str = "testdata/pdq/generated/palette.gif";
/// 10 bits from `RGB`'s hash.
const SIZE_64: &str = "testdata/pdq/generated/size-64x64.png";
/// PDQ quality 49: below Meta's floor of 50.
const LOW_QUALITY: &str = "testdata/pdq/generated/size-5x5.png";

fn pdq(image: &str) -> String {
    golden(image).pdq
}

fn digests(image: &str) -> FileDigests {
    FileDigests::of(&fs::read(repo_file(image)).unwrap())
}

/// Writes `text` to `name` in `dir`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// Runs `ward match` with `--list` for each of `lists`, then `args`.
fn ward_match(lists: &[&Path], args: &[&str]) -> crate::Run {
    let mut all: Vec<String> = vec!["match".into()];
    for list in lists {
        all.extend(["--list".into(), shown(list)]);
    }
    all.extend(args.iter().map(|a| a.to_string()));
    ward(all)
}

/// A match record as `ward match` prints it.
fn record(
    path: Option<&str>,
    query: &str,
    list: &Path,
    signal: (&str, &str),
    label: Option<&str>,
    distance: u32,
) -> Value {
    let mut record = json!({
        "query": query,
        "list": shown(list),
        "signal_type": signal.0,
        "signal": signal.1,
        "label": label,
        "id": null,
        "distance": distance,
    });
    if let Some(path) = path {
        record["path"] = json!(path);
    }
    record
}

#[test]
fn hashes_match_within_the_distance_nearest_first() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = "0".repeat(64);
    let list = write(
        dir.path(),
        "list.txt",
        &format!("{}\n{}\n{zeros}\n", pdq(PALETTE), pdq(RGB)),
    );
    let (rgb, palette) = (pdq(RGB), pdq(PALETTE));

    let run = ward_match(&[&list], &[&rgb]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(
        run.records(),
        [
            record(None, &rgb, &list, ("pdq", &rgb), None, 0),
            record(None, &rgb, &list, ("pdq", &palette), None, 2),
        ]
    );
    assert_eq!(run.stderr, "");

    let run = ward_match(&[&list], &["--distance", "1", &rgb.to_uppercase()]);
    assert_eq!(
        run.records(),
        [record(None, &rgb, &list, ("pdq", &rgb), None, 0)]
    );
    let run = ward_match(&[&list], &["--distance", "0", &palette, &zeros]);
    assert_eq!(
        run.records(),
        [
            record(None, &palette, &list, ("pdq", &palette), None, 0),
            record(None, &zeros, &list, ("pdq", &zeros), None, 0),
        ]
    );

    let run = ward_match(&[&list], &[&"f".repeat(64)]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
}

#[test]
fn files_are_hashed_and_matched_in_query_order() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = pdq(RGB);
    let list = write(
        dir.path(),
        "bank.csv",
        &format!("signal_type,signal,label,id\npdq,{rgb},\"rgb, original\",r1\n"),
    );
    let (palette, size_64) = (repo_file(PALETTE), repo_file(SIZE_64));
    let missing = dir.path().join("missing.png");
    let run = ward_match(
        &[&list],
        &[&shown(&palette), &rgb, &shown(&size_64), &shown(&missing)],
    );
    assert_eq!(run.code, Some(3), "a match wins over a failure: {run:?}");
    let with_id = |mut record: Value| {
        record["id"] = json!("r1");
        record
    };
    let label = Some("rgb, original");
    assert_eq!(
        run.records(),
        [
            with_id(record(
                Some(&shown(&palette)),
                &pdq(PALETTE),
                &list,
                ("pdq", &rgb),
                label,
                2
            )),
            with_id(record(None, &rgb, &list, ("pdq", &rgb), label, 0)),
            with_id(record(
                Some(&shown(&size_64)),
                &pdq(SIZE_64),
                &list,
                ("pdq", &rgb),
                label,
                10
            )),
            json!({"path": shown(&missing), "error": "cannot read: no such file or directory"}),
        ]
    );

    // A directory is walked, as `ward hash` walks it; `./` makes a hash-like name a path.
    let named_like_a_hash = dir.path().join("d41d8cd98f00b204e9800998ecf8427e");
    fs::create_dir(&named_like_a_hash).unwrap();
    fs::copy(&palette, named_like_a_hash.join("copy.gif")).unwrap();
    let run = ward_match(&[&list], &[&shown(&named_like_a_hash)]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(
        run.records()[0]["path"],
        shown(&named_like_a_hash.join("copy.gif"))
    );
}

#[test]
fn digests_match_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = digests(RGB);
    let (md5, sha1, sha256) = (d.md5.to_string(), d.sha1.to_string(), d.sha256.to_string());
    let list = write(
        dir.path(),
        "digests.csv",
        &format!(
            "signal_type,signal,label\nMD5,{},m\nsha-1,{sha1},s1\nsha256,{sha256},s256\n",
            md5.to_uppercase()
        ),
    );
    let image = shown(&repo_file(RGB));
    let run = ward_match(&[&list], &[&image]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(
        run.records(),
        [
            record(Some(&image), &md5, &list, ("md5", &md5), Some("m"), 0),
            record(Some(&image), &sha1, &list, ("sha1", &sha1), Some("s1"), 0),
            record(
                Some(&image),
                &sha256,
                &list,
                ("sha256", &sha256),
                Some("s256"),
                0
            ),
        ]
    );
    // As hashes: 64 hex digits are tried as SHA-256 as well as PDQ.
    let run = ward_match(&[&list], &[&sha256, &sha1, &md5.to_uppercase()]);
    let labels: Vec<String> = run
        .records()
        .iter()
        .map(|r| r["label"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(labels, ["s256", "s1", "m"]);
    // Exact means exact: another file's digests match nothing.
    let run = ward_match(&[&list], &[&shown(&repo_file(PALETTE))]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");

    // A plain list of SHA-256 lines is PDQ unless --hex64 says otherwise.
    let plain = write(dir.path(), "sha256.txt", &format!("{sha256}\n"));
    let run = ward_match(&[&plain], &[&image]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
    let run = ward_match(&[&plain], &["--hex64", "sha256", &image]);
    assert_eq!(
        run.records(),
        [record(
            Some(&image),
            &sha256,
            &plain,
            ("sha256", &sha256),
            None,
            0
        )]
    );
}

#[test]
fn queries_files_are_read_like_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (rgb, md5) = (pdq(RGB), digests(RGB).md5.to_string());
    let list = write(dir.path(), "list.txt", &format!("{rgb}\n{md5}\n"));
    let queries = write(
        dir.path(),
        "queries.txt",
        &format!(
            "# to check\n{}\nnot-a-hash\n{md5} from a report\n",
            pdq(PALETTE)
        ),
    );
    let run = ward_match(&[&list], &["--queries", &shown(&queries)]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(
        run.records(),
        [
            record(None, &pdq(PALETTE), &list, ("pdq", &rgb), None, 2),
            record(None, &md5, &list, ("md5", &md5), None, 0),
        ]
    );
    assert_eq!(
        run.stderr,
        format!(
            "ward: {}:3: invalid signal: not a hash: \"not-a-hash\"\n",
            shown(&queries)
        )
    );

    // Standard input, after the arguments; a malformed line alone fails the run.
    let mut args: Vec<String> = vec!["match".into(), "--list".into(), shown(&list)];
    args.extend(["--queries", "-", &md5].map(String::from));
    let run = ward_with_stdin(&args, Some(format!("signal\n{rgb}\n").as_bytes()));
    let queries: Vec<String> = run
        .records()
        .iter()
        .map(|r| r["query"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(queries, [md5.clone(), rgb.clone()]);
    let run = ward_with_stdin(&args[..5], Some(b"xyz\n"));
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.stderr,
        "ward: -:1: invalid signal: not a hash: \"xyz\"\n"
    );
}

/// A queries file longer than the groups it is matched in: every match printed in line
/// order, across the groups and around a malformed line; against a short list (an index of
/// it is searched) and a long one (the queries are read first and each entry matched
/// against them as the list is read), the same.
#[test]
fn long_queries_files_are_answered_in_line_order() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = pdq(RGB);
    // Near copies (the last digit changed: at most 4 bits away) at chosen lines, hashes far
    // from it elsewhere (its complement with one digit changed), a malformed line between.
    let near = |k: usize| format!("{}{:x}", &rgb[..63], k % 16);
    let complement: String = rgb
        .chars()
        .map(|c| format!("{:x}", 15 - c.to_digit(16).unwrap()))
        .collect();
    let far = |k: usize| format!("{:x}{}", k % 16, &complement[1..]);
    let wanted = [0, 1, 4095, 4096, 4097, 6000, 8191, 8192, 9999];
    let mut text = String::new();
    for line in 0..10_000 {
        if line == 5000 {
            text.push_str("not-a-hash\n");
        }
        let query = if wanted.contains(&line) {
            near(line)
        } else {
            far(line)
        };
        text.push_str(&query);
        text.push('\n');
    }
    let queries = write(dir.path(), "queries.txt", &text);
    // Half complemented: some 128 bits from every query.
    let unrelated: String = (0..10_100)
        .map(|k| format!("{}{:x}{}\n", &complement[..31], k % 16, &rgb[32..]))
        .collect();
    let short = write(dir.path(), "short.txt", &format!("{rgb}\n"));
    let long = write(dir.path(), "long.txt", &format!("{unrelated}{rgb}\n"));
    for list in [short, long] {
        let run = ward_match(&[&list], &["--queries", &shown(&queries)]);
        assert_eq!(run.code, Some(3), "{run:?}");
        let got: Vec<String> = run
            .records()
            .iter()
            .map(|r| r["query"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = wanted.iter().map(|&k| near(k)).collect();
        assert_eq!(got, expected);
        assert_eq!(
            run.stderr,
            format!(
                "ward: {}:5001: invalid signal: not a hash: \"not-a-hash\"\n",
                shown(&queries)
            )
        );
    }
}

/// A queries file that is a pipe is read once, in its turn, whatever the lists' length
/// (only regular files are read before the lists).
#[cfg(unix)]
#[test]
fn queries_from_a_pipe_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = pdq(RGB);
    let list = write(dir.path(), "list.txt", &format!("{rgb}\n"));
    let fifo = dir.path().join("queries.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Two queries, one list entry: a list shorter than the queries.
    let text = format!("{rgb}\n{}\n", pdq(PALETTE));
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::write(fifo, text).unwrap())
    };
    // Were the pipe opened twice, the second open would wait for a writer for ever: one
    // comes after 30 s, with nothing to say, and the answers come out missing.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rescue = {
        let (fifo, done) = (fifo.clone(), done.clone());
        std::thread::spawn(move || {
            for _ in 0..300 {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = fs::OpenOptions::new().write(true).open(fifo);
        })
    };
    let run = ward_match(&[&list], &["--queries", &shown(&fifo)]);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.join().unwrap();
    rescue.join().unwrap();
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(
        run.records(),
        [
            record(None, &rgb, &list, ("pdq", &rgb), None, 0),
            record(None, &pdq(PALETTE), &list, ("pdq", &rgb), None, 2),
        ]
    );
}

#[test]
fn csv_format() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = pdq(RGB);
    let list = write(
        dir.path(),
        "list.csv",
        &format!("signal,label\n{rgb},\"says \"\"hi\"\", twice\"\n"),
    );
    let image = shown(&repo_file(PALETTE));
    let missing = shown(&dir.path().join("gone.png"));
    let run = ward_match(&[&list], &["--format", "csv", &image, &rgb, &missing]);
    assert_eq!(run.code, Some(3), "{run:?}");
    let list = shown(&list);
    let expected = [
        "path,query,list,signal_type,signal,label,id,distance,query_share,compared_share,bars_trimmed,error"
            .to_owned(),
        format!(
            "{image},{},{list},pdq,{rgb},\"says \"\"hi\"\", twice\",,2,,,,",
            pdq(PALETTE)
        ),
        format!(",{rgb},{list},pdq,{rgb},\"says \"\"hi\"\", twice\",,0,,,,"),
        format!("{missing},,,,,,,,,,,cannot read: no such file or directory"),
    ];
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn malformed_list_lines_are_reported_with_their_numbers_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (rgb, md5) = (pdq(RGB), digests(RGB).md5.to_string());
    let plain = write(
        dir.path(),
        "plain.txt",
        &format!("# bank\n{}\n\n{rgb}\nzz\n", &rgb[1..]),
    );
    let csv = write(
        dir.path(),
        "bank.csv",
        &format!("signal_type,signal\nphotodna,{md5}\nmd5\ntmk,{md5}\nmd5,{md5}\n"),
    );
    let headless = write(
        dir.path(),
        "broken.csv",
        &format!("signal_type,hash\nmd5,{md5}\n"),
    );
    let run = ward_match(&[&plain, &csv, &headless], &[&shown(&repo_file(RGB))]);
    assert_eq!(run.code, Some(3), "the good lines still load: {run:?}");
    let expected = [
        format!(
            "ward: {}:2: invalid signal: expected 32 (md5), 40 (sha1) or 64 (pdq) hex digits, got 63",
            shown(&plain)
        ),
        format!(
            "ward: {}:5: invalid signal: not a hash: \"zz\"",
            shown(&plain)
        ),
        format!(
            "ward: {}:2: signal type \"photodna\" is proprietary and cannot be matched by Ward",
            shown(&csv)
        ),
        format!("ward: {}:3: no signal in this row", shown(&csv)),
        format!(
            "ward: {}:4: unknown signal type \"tmk\" (expected pdq, vpdq, md5, video_md5, sha1 or \
             sha256)",
            shown(&csv)
        ),
        format!(
            "ward: {}:1: the CSV header has no \"signal\" column",
            shown(&headless)
        ),
        format!("ward: {}: no entries", shown(&headless)),
    ];
    assert_eq!(run.stderr.lines().collect::<Vec<_>>(), expected);
    let lists: Vec<String> = run
        .records()
        .iter()
        .map(|r| r["list"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        lists,
        [shown(&plain), shown(&csv)],
        "both at distance 0, in list order"
    );
}

#[test]
fn many_malformed_lines_are_counted_after_the_first_hundred() {
    let dir = tempfile::tempdir().unwrap();
    let list = write(dir.path(), "junk.txt", &"junk\n".repeat(250));
    let run = ward_match(&[&list], &[&pdq(RGB)]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 100 + 2, "{}", run.stderr);
    assert_eq!(
        lines[99],
        format!(
            "ward: {}:100: invalid signal: not a hash: \"junk\"",
            shown(&list)
        )
    );
    assert_eq!(
        lines[100],
        format!("ward: {}: 250 malformed lines skipped in all", shown(&list))
    );
    assert_eq!(lines[101], format!("ward: {}: no entries", shown(&list)));
}

#[test]
fn low_quality_files_match_by_their_digests_only_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (hash, md5) = (pdq(LOW_QUALITY), digests(LOW_QUALITY).md5.to_string());
    let list = write(dir.path(), "list.txt", &format!("{hash}\n{md5}\n"));
    let image = shown(&repo_file(LOW_QUALITY));
    let run = ward_match(&[&list], &[&image]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(
        run.records(),
        [record(Some(&image), &md5, &list, ("md5", &md5), None, 0)]
    );
    assert_eq!(
        run.stderr,
        format!(
            "ward: {image}: PDQ quality 49 is below --min-quality 50; only its digests were matched\n"
        )
    );
    let run = ward_match(&[&list], &["--min-quality", "0", &image]);
    assert_eq!(run.records().len(), 2, "{run:?}");
    assert_eq!(run.stderr, "");
    // A hash given as text has no quality to judge: it is always matched.
    let run = ward_match(&[&list], &[&hash]);
    assert_eq!(run.records().len(), 1, "{run:?}");
}

#[test]
fn exit_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let list = write(dir.path(), "list.txt", &format!("{}\n", pdq(RGB)));
    let missing = shown(&dir.path().join("missing.png"));
    let far = "0".repeat(64);
    let status = |args: &[&str]| ward_match(&[&list], args).code;
    assert_eq!(status(&[&far]), Some(0));
    assert_eq!(status(&[&missing]), Some(1));
    assert_eq!(status(&[&far, &missing]), Some(1));
    assert_eq!(status(&[&missing, &pdq(RGB)]), Some(3));

    let run = ward_match(&[&dir.path().join("nope.txt")], &[&far]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "ward: cannot read list {}: no such file or directory\n",
            shown(&dir.path().join("nope.txt"))
        )
    );
    for args in [
        &["match", &far][..],
        &["match", "--list", "l"],
        &["match", "--list", "l", "--distance", "300", &far],
    ] {
        let run = ward(args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.starts_with("error:"), "{}", run.stderr);
    }
}
