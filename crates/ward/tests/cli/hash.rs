//! `ward hash` on good files: golden hashes, options, formats, input order.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use ward_core::digest::FileDigests;
use ward_core::pdq::PdqHash;

use crate::{golden, goldens, repo_file, shown, ward, ward_with_stdin};

/// Goldens whose decoders are exact today (the JPEG decoder is being rewritten; its hashes
/// may differ from the reference by a few bits until then).
fn lossless_goldens() -> Vec<(String, crate::Golden)> {
    let mut rows: Vec<_> = goldens()
        .into_iter()
        .filter(|(path, _)| !path.ends_with(".jpg") && !path.ends_with(".jpeg"))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// Checks one `jsonl` record against an image's golden and its file's digests.
fn check_record(record: &Value, path: &Path, golden: &crate::Golden) {
    let bytes = fs::read(path).unwrap();
    let digests = FileDigests::of(&bytes);
    assert_eq!(record["path"], shown(path), "{record}");
    assert_eq!(record["pdq"], golden.pdq.as_str(), "{record}");
    assert_eq!(record["quality"], golden.quality, "{record}");
    assert_eq!(record["md5"], digests.md5.to_string(), "{record}");
    assert_eq!(record["sha1"], digests.sha1.to_string(), "{record}");
    assert_eq!(record["sha256"], digests.sha256.to_string(), "{record}");
    assert!(record.get("error").is_none(), "{record}");
}

#[test]
fn hashes_match_the_goldens() {
    let rows = lossless_goldens();
    assert!(
        rows.len() >= 20,
        "goldens.csv lost its PNG/GIF/BMP/WebP/TIFF rows"
    );
    let paths: Vec<PathBuf> = rows.iter().map(|(path, _)| repo_file(path)).collect();
    let run = ward(
        ["hash".as_ref()]
            .into_iter()
            .chain(paths.iter().map(|p| p.as_os_str())),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let records = run.records();
    assert_eq!(records.len(), rows.len());
    for ((_, golden), (record, path)) in rows.iter().zip(records.iter().zip(&paths)) {
        check_record(record, path, golden);
        assert!(record.get("dihedral").is_none(), "{record}");
    }
}

#[test]
fn dihedral_prints_eight_hashes_in_meta_order() {
    let names = [
        "testdata/pdq/generated/rgb.png",
        "testdata/pdq/generated/palette.gif",
        "testdata/pdq/generated/size-7x600.png",
        "testdata/threatexchange/pdq/data/reg-test-input/pen-and-coaster.png",
    ];
    let paths = names.map(repo_file);
    let run = ward(
        ["hash".as_ref(), "--dihedral".as_ref()]
            .into_iter()
            .chain(paths.iter().map(|p| p.as_os_str())),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    for ((name, path), record) in names.iter().zip(&paths).zip(run.records()) {
        let golden = golden(name);
        check_record(&record, path, &golden);
        let dihedral: Vec<&str> = record["dihedral"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        assert_eq!(dihedral.len(), 8, "{record}");
        assert_eq!(dihedral, golden.dihedral, "{name}");
        assert_eq!(dihedral[0], golden.pdq, "the original comes first");
    }
}

#[test]
fn cli512_changes_only_images_larger_than_512() {
    let hash = |pipeline: &str, name: &str| {
        let run = ward(
            ["hash", "--pipeline", pipeline, "--format", "text"]
                .map(Into::into)
                .into_iter()
                .chain([repo_file(name)]),
        );
        assert_eq!(run.code, Some(0), "{run:?}");
        run.stdout.split(' ').next().unwrap().to_owned()
    };
    for large in [
        "testdata/pdq/generated/size-129x1000.png",
        "testdata/threatexchange/pdq/data/reg-test-input/pen-and-coaster.png",
    ] {
        assert_eq!(hash("full", large), golden(large).pdq);
        assert_ne!(hash("cli512", large), hash("full", large), "{large}");
    }
    let small = "testdata/pdq/generated/rgb.png"; // 400x251: the C++ tool hashes it as it is.
    assert_eq!(hash("cli512", small), hash("full", small));
}

#[test]
fn exif_orient_turns_photos_before_hashing() {
    // A JPEG: only compared by distance, as the JPEG decoder may still be off by a few bits.
    let name = "testdata/pdq/generated/exif-orientation-6.jpg";
    let row = csv::Reader::from_path(repo_file("testdata/pdq/goldens.csv"))
        .unwrap()
        .into_records()
        .map(Result::unwrap)
        .find(|row| &row[0] == name)
        .unwrap();
    let oriented_golden: PdqHash = row[4].parse().unwrap();
    let hash = |extra: &[&str]| -> PdqHash {
        let mut args = vec!["hash".into(), "--format".into(), "text".into()];
        args.extend(extra.iter().map(Into::into));
        args.push(repo_file(name).into_os_string());
        let run = ward(args);
        assert_eq!(run.code, Some(0), "{run:?}");
        run.stdout.split(' ').next().unwrap().parse().unwrap()
    };
    let (plain, oriented) = (hash(&[]), hash(&["--exif-orient"]));
    assert!(
        oriented.distance(&oriented_golden) <= 16,
        "{oriented:?} vs {oriented_golden:?}"
    );
    assert!(
        plain.distance(&oriented_golden) > 64,
        "without the flag the photo is not turned"
    );
}

#[test]
fn stdin_is_read_as_dash() {
    let gif = repo_file("testdata/pdq/generated/palette.gif");
    let png = repo_file("testdata/pdq/generated/rgb.png");
    let bytes = fs::read(&gif).unwrap();
    let run = ward_with_stdin(
        ["hash".as_ref(), png.as_os_str(), "-".as_ref()],
        Some(&bytes),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let records = run.records();
    assert_eq!(records.len(), 2);
    check_record(&records[0], &png, &golden("testdata/pdq/generated/rgb.png"));
    let expected = golden("testdata/pdq/generated/palette.gif");
    assert_eq!(records[1]["path"], "-");
    assert_eq!(records[1]["pdq"], expected.pdq.as_str());
    assert_eq!(
        records[1]["sha256"],
        FileDigests::of(&bytes).sha256.to_string()
    );
}

#[test]
fn directories_are_walked_in_file_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let png = fs::read(repo_file("testdata/pdq/generated/rgb.png")).unwrap();
    // Created out of order; every regular file counts, whatever its extension, except that
    // what is not media at all (c.txt) is skipped.
    for name in [
        "b.png",
        "a/z.png",
        "a/b.dat",
        "A.png",
        "c.txt",
        "a/deeper/x",
        "0",
    ] {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(
            &path,
            if name.ends_with(".txt") {
                b"hello".as_slice()
            } else {
                &png
            },
        )
        .unwrap();
    }
    let run = ward(["hash".as_ref(), dir.path().as_os_str()]);
    assert_eq!(run.code, Some(0), "c.txt is skipped: {run:?}");
    assert!(run.stderr.contains(" skipped=1 errors=0 "), "{run:?}");
    let paths: Vec<String> = run
        .records()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = ["0", "A.png", "a/b.dat", "a/deeper/x", "a/z.png", "b.png"]
        .iter()
        .map(|name| shown(&dir.path().join(name)))
        .collect();
    assert_eq!(paths, expected);
}

#[test]
fn output_follows_input_order_with_many_files() {
    // Images of very different sizes, so that later ones often finish first.
    let sources = [
        "testdata/threatexchange/pdq/data/misc-images/c.png",
        "testdata/pdq/generated/size-5x5.png",
        "testdata/pdq/generated/palette.gif",
        "testdata/threatexchange/pdq/data/reg-test-input/pen-and-coaster.png",
        "testdata/pdq/generated/size-100x4.png",
        "testdata/pdq/generated/rgb16.png",
        "testdata/pdq/generated/lossless.webp",
        "testdata/pdq/generated/size-7x600.png",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for i in 0..40 {
        let source = sources[i % sources.len()];
        let copy = dir.path().join(format!(
            "{i:02}-{}",
            Path::new(source).file_name().unwrap().to_string_lossy()
        ));
        fs::copy(repo_file(source), &copy).unwrap();
        copies.push((copy, golden(source)));
    }
    // Given in a scrambled order: that order, not the names', is the output's.
    let order: Vec<usize> = (0..40).map(|i| i * 17 % 40).collect();
    let run = ward(
        ["hash".as_ref()]
            .into_iter()
            .chain(order.iter().map(|&i| copies[i].0.as_os_str())),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let records = run.records();
    assert_eq!(records.len(), 40);
    for (&i, record) in order.iter().zip(&records) {
        check_record(record, &copies[i].0, &copies[i].1);
    }
    // The directory itself: name order.
    let run = ward(["hash".as_ref(), dir.path().as_os_str()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    for ((copy, golden), record) in copies.iter().zip(run.records()) {
        check_record(&record, copy, golden);
    }
}

#[test]
fn csv_format_quotes_and_adds_dihedral() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("a,b \"c\".png");
    fs::copy(repo_file("testdata/pdq/generated/rgb.png"), &odd).unwrap();
    let missing = dir.path().join("missing.png");
    let expected = golden("testdata/pdq/generated/rgb.png");

    let run = ward([
        "hash".as_ref(),
        "--format".as_ref(),
        "csv".as_ref(),
        odd.as_os_str(),
        missing.as_os_str(),
    ]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "path", "pdq", "quality", "md5", "sha1", "sha256", "vpdq", "error"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let digests = FileDigests::of(&fs::read(&odd).unwrap());
    let (quality, md5, sha1, sha256) = (
        expected.quality.to_string(),
        digests.md5.to_string(),
        digests.sha1.to_string(),
        digests.sha256.to_string(),
    );
    assert_eq!(
        rows[0],
        vec![
            shown(&odd).as_str(),
            &expected.pdq,
            &quality,
            &md5,
            &sha1,
            &sha256,
            "",
            ""
        ]
    );
    assert_eq!(
        rows[1],
        vec![
            shown(&missing).as_str(),
            "",
            "",
            "",
            "",
            "",
            "",
            "cannot read: no such file or directory"
        ]
    );

    let run = ward([
        "hash".as_ref(),
        "--format=csv".as_ref(),
        "--dihedral".as_ref(),
        odd.as_os_str(),
        missing.as_os_str(),
    ]);
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "path", "pdq", "quality", "md5", "sha1", "sha256", "vpdq", "error", "dihedral"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows[0][8], expected.dihedral.join(" "));
    assert_eq!(&rows[1][8], "");
}

#[test]
fn text_format_prints_like_meta_and_errors_to_stderr() {
    let png = repo_file("testdata/pdq/generated/size-5x5.png");
    let missing = PathBuf::from("no/such/file.png");
    let expected = golden("testdata/pdq/generated/size-5x5.png");
    let run = ward([
        "hash".as_ref(),
        "--format".as_ref(),
        "text".as_ref(),
        missing.as_os_str(),
        png.as_os_str(),
    ]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("{} {} {}\n", expected.pdq, expected.quality, shown(&png))
    );
    let stderr: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        stderr[0],
        "ward: no/such/file.png: cannot read: no such file or directory"
    );
    assert!(
        stderr[1].starts_with("ward: hash: hashed=1 skipped=0 errors=1 "),
        "{stderr:?}"
    );
    assert_eq!(stderr.len(), 2);

    let run = ward([
        "hash".as_ref(),
        "--format=text".as_ref(),
        "--dihedral".as_ref(),
        png.as_os_str(),
    ]);
    assert_eq!(
        run.stdout,
        format!(
            "{} {} {}\n",
            expected.dihedral.join(" "),
            expected.quality,
            shown(&png)
        )
    );
}

#[test]
fn non_utf8_paths_are_printed_lossily() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt as _;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(OsStr::from_bytes(b"caf\xe9.png"));
    fs::copy(repo_file("testdata/pdq/generated/rgb.png"), &path).unwrap();
    for args in [vec![path.as_os_str()], vec![dir.path().as_os_str()]] {
        let run = ward(["hash".as_ref()].into_iter().chain(args));
        assert_eq!(run.code, Some(0), "{run:?}");
        let records = run.records();
        assert_eq!(
            records[0]["path"],
            format!("{}/caf\u{fffd}.png", shown(dir.path()))
        );
        assert_eq!(
            records[0]["pdq"],
            golden("testdata/pdq/generated/rgb.png").pdq.as_str()
        );
    }
}

#[test]
fn max_pixels_refuses_larger_images() {
    let big = repo_file("testdata/pdq/generated/rgb.png"); // 400x251 = 100,400 pixels
    let small = repo_file("testdata/pdq/generated/size-64x64.png");
    let run = ward([
        "hash".as_ref(),
        "--max-pixels".as_ref(),
        "100000".as_ref(),
        big.as_os_str(),
        small.as_os_str(),
    ]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let records = run.records();
    assert_eq!(
        records[0]["error"],
        "image of 400x251 pixels exceeds the limit of 100000 pixels"
    );
    check_record(
        &records[1],
        &small,
        &golden("testdata/pdq/generated/size-64x64.png"),
    );
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &["hash"][..],
        &["hash", "--pipeline", "fast", "x"],
        &["hash", "--format", "json", "x"],
        &["frobnicate"],
    ] {
        let run = ward(args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(run.stdout.is_empty());
        assert!(run.stderr.starts_with("error:"), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn closed_stdout_is_not_an_error() {
    // Far more output than a pipe holds, with the reader gone after one line.
    let png = repo_file("testdata/pdq/generated/size-5x5.png");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(
            ["hash".as_ref(), "--dihedral".as_ref()]
                .into_iter()
                .chain(std::iter::repeat_n(png.as_os_str(), 400)),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// The README's first command: a folder of Meta's test images with its README, text and
/// `.dat` files. What is not media is skipped and counted, not an error, and the run
/// succeeds; a file that is not media named on the command line is still an error.
#[test]
fn walked_files_that_are_not_media_are_skipped_and_counted() {
    let folder = repo_file("testdata/threatexchange/pdq/data");
    let run = ward([&"hash".as_ref(), &folder.as_os_str()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let records = run.records();
    assert_eq!(records.len(), 45, "{}", run.stdout);
    assert!(
        records
            .iter()
            .all(|r| r.get("error").is_none() && r["pdq"].is_string())
    );
    let summary = run.stderr.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("ward: hash: hashed=45 skipped=8 errors=0 "),
        "{}",
        run.stderr
    );

    let readme = folder.join("misc-images/modes/README.md");
    let named = ward([&"hash".as_ref(), &readme.as_os_str()]);
    assert_eq!(named.code, Some(1), "{}", named.stderr);
    let records = named.records();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]["error"],
        "not a recognised image or video format"
    );
    assert!(
        named.stderr.contains("hashed=0 skipped=0 errors=1"),
        "{}",
        named.stderr
    );
}
