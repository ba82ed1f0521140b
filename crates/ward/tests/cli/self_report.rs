//! Self-reports end to end: a hotline's `ward serve` with a self-report bank, a second
//! instance following it with `ward sync`, and `browser-tests/selfreport.mjs` in a real
//! Chromium. The page hashes pictures of every format the browser reads and videos; what it
//! posts is compared with `ward hash` (each MD5 exact, each PDQ hash within 2 bits and
//! counted exact, sent only at quality 50 or more); the case reaches the second instance
//! through the feed, and its withdrawal (JavaScript off) takes it away there too. The
//! figures count the case. The time to hash a 12 MP JPEG in the page is printed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use ward_core::digest::FileDigests;

use crate::serve::{Node, admin_key, exported_md5s, sqlite, sync};
use crate::{browser, testdata, ward};

/// What the walk printed last.
fn result(stdout: &str) -> Value {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("result: "))
        .expect("the walk prints its result");
    serde_json::from_str(line).unwrap()
}

/// A 12 MP (4000x3000) JPEG of smooth shapes and grain, as a phone's camera makes.
fn twelve_megapixels(path: &Path) {
    let mut state = 0x2545_f491u32;
    let picture = image::RgbImage::from_fn(4000, 3000, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let grain = (state >> 28) as u8;
        let (fx, fy) = (x as f32 / 4000.0, y as f32 / 3000.0);
        let ring = (((fx - 0.4).powi(2) + (fy - 0.6).powi(2)).sqrt() * 40.0).sin();
        image::Rgb([
            (fx * 200.0) as u8 + grain,
            (128.0 + ring * 100.0) as u8,
            (fy * 220.0) as u8 + grain,
        ])
    });
    picture.save(path).unwrap();
}

/// Bits that differ between two PDQ hashes in hex.
fn distance(a: &str, b: &str) -> u32 {
    (0..4)
        .map(|i| {
            let part = |hex: &str| u64::from_str_radix(&hex[i * 16..(i + 1) * 16], 16).unwrap();
            (part(a) ^ part(b)).count_ones()
        })
        .sum()
}

/// Checks the lines the page posted for `paths` (in order) against `ward hash` and the
/// files' MD5s; returns (pictures with a PDQ hash, of them exact).
fn check_lines(
    lines: &[Value],
    paths: &[String],
    ward_hashes: &BTreeMap<String, Value>,
) -> (u32, u32) {
    let mut expected = paths.iter().filter(|p| {
        // Browsers do not read TIFF: the page counts them as unreadable and sends nothing.
        !p.ends_with(".tiff")
    });
    let (mut pictures, mut exact) = (0, 0);
    for line in lines {
        let line = line.as_str().unwrap();
        let path = expected.next().expect("a line for each readable file");
        let name = Path::new(path).file_name().unwrap().to_string_lossy();
        let md5 = FileDigests::of(&std::fs::read(path).unwrap())
            .md5
            .to_string();
        let mut parts = line.split(' ');
        assert_eq!(parts.next(), Some(format!("md5:{md5}").as_str()), "{name}");
        let pdq = parts.next().map(|p| p.strip_prefix("pdq:").unwrap());
        let theirs = &ward_hashes[path];
        match theirs["pdq"].as_str() {
            // A video (or a file Ward does not read as a picture): its MD5 only.
            None => assert_eq!(pdq, None, "{name}"),
            Some(ward_pdq) => {
                let quality = theirs["quality"].as_u64().unwrap();
                let Some(pdq) = pdq else {
                    assert!(
                        quality < 50,
                        "{name}: quality {quality}, yet no PDQ hash sent"
                    );
                    continue;
                };
                assert!(quality >= 50, "{name}: PDQ hash sent at quality {quality}");
                let bits = distance(pdq, ward_pdq);
                assert!(bits <= 2, "{name}: {bits} bits from ward hash");
                pictures += 1;
                exact += u32::from(bits == 0);
            }
        }
    }
    assert!(expected.next().is_none(), "every readable file has a line");
    (pictures, exact)
}

#[test]
fn self_reports_are_hashed_in_the_browser_sent_and_withdrawn_everywhere() {
    browser::scripts();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (sqlite(dir_a.path()), sqlite(dir_b.path()));
    let curator = admin_key(&a, "Hotline", "curator");
    let partner_key = admin_key(&a, "Ward B", "analyst");
    let platform = admin_key(&a, "Platform", "platform");
    let node = Node::start(&a);
    let base = format!("http://{}", node.address);
    let (status, bank) = node.json(
        "POST",
        "/v1/banks",
        Some(&curator),
        json!({"name": "SELF_REPORTS", "kind": "self_report", "sharing": "members"}),
    );
    assert_eq!(status, 201, "{bank}");
    assert_eq!(bank["kind"], "self_report");
    // Nothing but a self-report adds to it.
    let (status, refused) = node.json(
        "POST",
        &format!("/v1/banks/{}/content", bank["id"]),
        Some(&curator),
        json!({"signals": [{"signal_type": "md5", "signal": format!("{:032x}", 1)}]}),
    );
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.to_string().contains("self-report bank"),
        "{refused}"
    );

    // B follows A's feed with a key of its organisation there.
    let key_file = dir_b.path().join("a.key");
    std::fs::write(&key_file, format!("{partner_key}\n")).unwrap();
    let run = sync(
        &b,
        &[
            "add",
            "A",
            &base,
            "--key-from",
            &key_file.display().to_string(),
            "--bank",
            "FROM_A",
        ],
    );
    assert_eq!(run.code, Some(0), "{run:?}");

    // The files: every generated picture (TIFFs included, which browsers do not read), the
    // videos, and a 12 MP JPEG to time.
    let written = tempfile::tempdir().unwrap();
    let timed = written.path().join("camera-12mp.jpg");
    twelve_megapixels(&timed);
    let folder = |name: &str| -> Vec<String> {
        let mut paths: Vec<String> = std::fs::read_dir(testdata().join(name))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e != "sh" && e != "md" && e != "txt")
            })
            .map(|p| p.display().to_string())
            .collect();
        paths.sort();
        paths
    };
    let pictures = folder("pdq/generated");
    let videos = folder("video");
    assert!(
        pictures.len() >= 30 && videos.len() >= 15,
        "{} {}",
        pictures.len(),
        videos.len()
    );
    let (first_videos, more_videos) = videos.split_at(12);
    let first: Vec<String> = pictures.iter().chain(first_videos).cloned().collect();
    let more: Vec<String> = more_videos
        .iter()
        .cloned()
        .chain([timed.display().to_string()])
        .collect();
    let files = written.path().join("files.json");
    std::fs::write(
        &files,
        json!({"timed": timed.display().to_string(), "first": first, "more": more}).to_string(),
    )
    .unwrap();
    let all: Vec<String> = first.iter().chain(&more).cloned().collect();
    let ward_hashes: BTreeMap<String, Value> =
        ward(std::iter::once("hash".to_owned()).chain(all.iter().cloned()))
            .records()
            .into_iter()
            .map(|r| (r["path"].as_str().unwrap().to_owned(), r))
            .collect();

    let artefacts = browser::artefacts("self-report");
    let stdout = browser::walk(
        "selfreport.mjs",
        &base,
        &artefacts,
        &[("SELF_MODE", &"open"), ("SELF_FILES", &files)],
    );
    let opened = result(&stdout);
    let (number, code) = (
        opened["number"].as_str().unwrap(),
        opened["code"].as_str().unwrap(),
    );
    let (p1, e1) = check_lines(opened["opened"].as_array().unwrap(), &first, &ward_hashes);
    let (p2, e2) = check_lines(opened["added"].as_array().unwrap(), &more, &ward_hashes);
    let timed_line = opened["timed"].as_str().unwrap();
    check_lines(
        &[Value::from(timed_line)],
        &[timed.display().to_string()],
        &ward_hashes,
    );
    eprintln!(
        "self-report page: {} of {} PDQ hashes exact ({} files sent of {} chosen); a 12 MP JPEG hashed in {} ms",
        e1 + e2,
        p1 + p2,
        opened["opened"].as_array().unwrap().len() + opened["added"].as_array().unwrap().len(),
        all.len(),
        opened["timed_ms"]
    );
    assert_eq!(e1 + e2, p1 + p2, "every PDQ hash exact");
    let sent_md5s: Vec<String> = opened["opened"]
        .as_array()
        .unwrap()
        .iter()
        .chain(opened["added"].as_array().unwrap())
        .map(|l| l.as_str().unwrap()[4..36].to_owned())
        .collect();

    // A platform matches one of them at A.
    let (status, answer) = node.json(
        "POST",
        "/v1/match",
        Some(&platform),
        json!({"signals": [{"signal_type": "md5", "signal": sent_md5s[0]}]}),
    );
    assert_eq!(status, 200, "{answer}");
    assert!(answer.to_string().contains("SELF_REPORTS"), "{answer}");

    // B pulls the case's hashes.
    let run = sync(&b, &["run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let at_b = exported_md5s(&b, "FROM_A");
    for md5 in &sent_md5s {
        assert!(at_b.contains(md5), "B has {md5}");
    }

    // Withdrawn on A's page (JavaScript off): gone from A's matches and, after a sync, B's.
    let stdout = browser::walk(
        "selfreport.mjs",
        &base,
        &artefacts,
        &[
            ("SELF_MODE", &"withdraw"),
            ("SELF_CASE", &number),
            ("SELF_CODE", &code),
        ],
    );
    assert!(
        result(&stdout)["withdrawn"]
            .as_str()
            .unwrap()
            .contains("withdrawn")
    );
    let (_, answer) = node.json(
        "POST",
        "/v1/match",
        Some(&platform),
        json!({"signals": [{"signal_type": "md5", "signal": sent_md5s[0]}]}),
    );
    assert!(!answer.to_string().contains("SELF_REPORTS"), "{answer}");
    let run = sync(&b, &["run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let at_b = exported_md5s(&b, "FROM_A");
    for md5 in &sent_md5s {
        assert!(!at_b.contains(md5), "B removed {md5}");
    }

    // The hotline's figures count the case, its hashes and its withdrawal.
    let (status, figures) = node.json("GET", "/v1/transparency", Some(&curator), Value::Null);
    assert_eq!(status, 200, "{figures}");
    let total = |figure: &str, key: &str| -> f64 {
        figures["figures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["figure"] == figure && f["key"] == key)
            .map(|f| f["value"].as_f64().unwrap())
            .sum()
    };
    assert_eq!(total("self_reports_opened", "gb"), 1.0, "{figures}");
    assert_eq!(total("self_reports_withdrawn", "gb"), 1.0);
    assert_eq!(total("self_report_hashes", "md5"), sent_md5s.len() as f64);
    assert!(total("self_report_hashes", "pdq") >= f64::from(p1 + p2));
    // The platform's match (one per item with that MD5: two files of the case are the same
    // bytes), tallied by the node, which adds its tally to the store every few seconds.
    let items = sent_md5s.iter().filter(|md5| **md5 == sent_md5s[0]).count();
    assert_eq!(
        total("self_report_matches", "SELF_REPORTS"),
        items as f64,
        "{figures}"
    );

    // Nothing about the files but their hashes is stored: no name anywhere in the store.
    drop(node);
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir_a.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(path).unwrap());
        }
    }
    for path in &all {
        let name = Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            !stored.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name} is in the store"
        );
    }
}
