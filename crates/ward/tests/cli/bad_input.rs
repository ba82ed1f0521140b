//! `ward hash` on hostile and unreadable inputs: each gives an error record, never a panic,
//! and the good files around it are still hashed, in order.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{Golden, golden, repo_file, shown, ward};

const GOOD_PNG: &str = "testdata/pdq/generated/rgb.png";
const GOOD_GIF: &str = "testdata/pdq/generated/palette.gif";
const REAL_JPEG: &str = "testdata/threatexchange/pdq/data/bridge-mods/aaa-orig.jpg";

/// Hashes a good PNG, `bad`, and a good GIF (all passed as paths, in that order) and checks
/// that only `bad` failed, with an error containing `expected_error`.
fn check_between_good_files(bad: &Path, expected_error: &str) {
    let run = ward([
        "hash".as_ref(),
        repo_file(GOOD_PNG).as_os_str(),
        bad.as_os_str(),
        repo_file(GOOD_GIF).as_os_str(),
    ]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let records = run.records();
    assert_eq!(records.len(), 3, "{run:?}");
    check_good(&records[0], &repo_file(GOOD_PNG), &golden(GOOD_PNG));
    assert_eq!(records[1]["path"], shown(bad));
    assert!(
        records[1].get("pdq").is_none() && records[1].get("md5").is_none(),
        "no partial hashes: {}",
        records[1]
    );
    let error = records[1]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {}", records[1]));
    assert!(
        error.contains(expected_error),
        "{error:?} does not say {expected_error:?}"
    );
    check_good(&records[2], &repo_file(GOOD_GIF), &golden(GOOD_GIF));
}

fn check_good(record: &serde_json::Value, path: &Path, golden: &Golden) {
    assert_eq!(record["path"], shown(path), "{record}");
    assert_eq!(record["pdq"], golden.pdq.as_str(), "{record}");
    assert_eq!(record["quality"], golden.quality, "{record}");
}

/// Writes `contents` to a file called `name` in a fresh temporary directory and checks it.
fn check_bad_file(name: &str, contents: &[u8], expected_error: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, contents).unwrap();
    check_between_good_files(&path, expected_error);
}

/// The first half of a real file.
fn first_half(path: &str) -> Vec<u8> {
    let bytes = fs::read(repo_file(path)).unwrap();
    bytes[..bytes.len() / 2].to_vec()
}

/// A PNG of `width` x `height` RGB pixels with valid CRCs, whose image stream holds
/// `scanlines` (each a filter byte and the row's samples): given none, the header of a
/// decompression bomb without the bomb.
fn png(width: u32, height: u32, scanlines: &[u8]) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = [width.to_be_bytes(), height.to_be_bytes()].concat();
    ihdr.extend([8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
    push_chunk(&mut png, b"IHDR", &ihdr);
    push_chunk(&mut png, b"IDAT", &zlib_stored(scanlines));
    push_chunk(&mut png, b"IEND", b"");
    png
}

/// A zlib stream holding `data` in one uncompressed deflate block.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).expect("one stored block");
    let mut out = vec![0x78, 0x01, 0x01];
    out.extend(len.to_le_bytes());
    out.extend((!len).to_le_bytes());
    out.extend(data);
    let (a, b) = data.iter().fold((1u32, 0u32), |(a, b), &x| {
        let a = (a + u32::from(x)) % 65521;
        (a, (b + a) % 65521)
    });
    out.extend((b << 16 | a).to_be_bytes());
    out
}

fn push_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend((data.len() as u32).to_be_bytes());
    png.extend(kind);
    png.extend(data);
    png.extend(crc32(&[kind.as_slice(), data].concat()).to_be_bytes());
}

/// The CRC-32 PNG chunks carry (ISO-HDLC, reflected, polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

#[test]
fn crc32_and_png_builder_are_right() {
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    // A small picture from the same builder decodes, so the bomb is refused for its size alone.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grey.png");
    let scanlines: Vec<u8> = (0..8u8)
        .flat_map(|y| [vec![0], vec![y * 30; 8 * 3]].concat())
        .collect();
    fs::write(&path, png(8, 8, &scanlines)).unwrap();
    let run = ward(["hash".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.records()[0].get("pdq").is_some(), "{run:?}");
}

#[test]
fn empty_file() {
    check_bad_file("empty.png", b"", "empty file");
}

#[test]
fn truncated_png() {
    check_bad_file("truncated.png", &first_half(GOOD_PNG), "truncated png file");
}

#[test]
fn png_claiming_100000_by_100000_pixels() {
    check_bad_file(
        "bomb.png",
        &png(100_000, 100_000, &[]),
        "100000x100000 pixels exceeds the limit",
    );
}

#[test]
fn text_file() {
    check_bad_file(
        "notes.jpg",
        b"these are not the pixels you are looking for\n",
        "not a recognised image or video format",
    );
}

#[test]
fn missing_path() {
    check_between_good_files(
        Path::new("/nonexistent/ward/test.png"),
        "cannot read: no such file or directory",
    );
}

#[test]
fn path_through_a_file() {
    check_between_good_files(
        &repo_file(GOOD_PNG).join("x.png"),
        "cannot read: not a directory",
    );
}

#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.png");
    fs::copy(repo_file(GOOD_PNG), &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::File::open(&path).is_ok() {
        eprintln!("skipped: running as root, mode 000 does not stop reads");
        return;
    }
    check_between_good_files(&path, "cannot read: permission denied");
}

#[test]
fn truncated_jpeg() {
    check_bad_file(
        "truncated.jpg",
        &first_half(REAL_JPEG),
        "truncated jpeg file",
    );
}

/// The bad inputs, by file name, with what their errors say.
fn bad_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        ("bomb.png", png(100_000, 100_000, &[]), "exceeds the limit"),
        ("empty", Vec::new(), "empty file"),
        (
            "notes.txt",
            b"hello\n".to_vec(),
            "not a recognised image or video format",
        ),
        (
            "truncated.jpg",
            first_half(REAL_JPEG),
            "truncated jpeg file",
        ),
        ("truncated.png", first_half(GOOD_PNG), "truncated png file"),
    ]
}

#[test]
fn a_directory_of_bad_files_gives_one_error_each_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents, _) in bad_files() {
        fs::write(dir.path().join(name), contents).unwrap();
    }
    fs::copy(repo_file(GOOD_PNG), dir.path().join("good.png")).unwrap();
    let run = ward(["hash".as_ref(), dir.path().as_os_str()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let records = run.records();
    // What is not media at all (notes.txt) is skipped in a directory, and counted.
    let not_media = "not a recognised image or video format";
    let mut expected: Vec<(&str, Option<&str>)> = bad_files()
        .into_iter()
        .filter(|(_, _, error)| *error != not_media)
        .map(|(name, _, error)| (name, Some(error)))
        .collect();
    let skipped = bad_files().len() - expected.len();
    assert_eq!(skipped, 1);
    assert!(
        run.stderr.contains(&format!(
            "hashed=1 skipped={skipped} errors={} ",
            expected.len()
        )),
        "{run:?}"
    );
    expected.push(("good.png", None));
    expected.sort();
    assert_eq!(records.len(), expected.len(), "{run:?}");
    for ((name, error), record) in expected.iter().zip(&records) {
        assert_eq!(record["path"], shown(&dir.path().join(name)));
        match error {
            Some(error) => assert!(
                record["error"].as_str().unwrap().contains(error),
                "{record}"
            ),
            None => check_good(record, &dir.path().join(name), &golden(GOOD_PNG)),
        }
    }
}

#[test]
fn links_and_special_files_in_a_directory() {
    use std::os::unix::fs::symlink;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("sub")).unwrap();
    fs::copy(repo_file(GOOD_PNG), root.join("sub/real.png")).unwrap();
    symlink(root.join("sub/real.png"), root.join("a-link.png")).unwrap();
    symlink(root.join("nowhere.png"), root.join("b-dangling.png")).unwrap();
    symlink(root.join("sub"), root.join("c-dir-link")).unwrap(); // Not followed.
    // A pipe nobody writes to would block a reader for ever: it must be skipped.
    let fifo = root.join("d-fifo");
    let made_fifo = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());

    let run = ward(["hash".as_ref(), root.as_os_str()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let records = run.records();
    let paths: Vec<&str> = records
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = ["a-link.png", "b-dangling.png", "sub/real.png"]
        .iter()
        .map(|n| shown(&root.join(n)))
        .collect();
    assert_eq!(paths, expected, "made a fifo: {made_fifo}");
    check_good(&records[0], &root.join("a-link.png"), &golden(GOOD_PNG));
    assert_eq!(
        records[1]["error"],
        "cannot read: no such file or directory"
    );
    check_good(&records[2], &root.join("sub/real.png"), &golden(GOOD_PNG));
}

#[test]
fn every_bad_input_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<PathBuf> = Vec::new();
    let mut expected = Vec::new();
    for (name, contents, error) in bad_files() {
        let path = dir.path().join(name);
        fs::write(&path, contents).unwrap();
        args.extend([path.clone(), repo_file(GOOD_GIF)]);
        expected.extend([Some(error), None]);
    }
    args.push(dir.path().join("missing"));
    expected.push(Some("cannot read: no such file or directory"));
    let run = ward(std::iter::once(PathBuf::from("hash")).chain(args.iter().cloned()));
    assert_eq!(run.code, Some(1), "{run:?}");
    let records = run.records();
    assert_eq!(records.len(), args.len(), "{run:?}");
    for ((path, error), record) in args.iter().zip(&expected).zip(&records) {
        assert_eq!(record["path"], shown(path));
        match error {
            Some(error) => assert!(
                record["error"].as_str().unwrap().contains(error),
                "{record}"
            ),
            None => check_good(record, path, &golden(GOOD_GIF)),
        }
    }
}
