//! `ward scan`: a folder of generated benign pictures against a list of a million hashes,
//! with planted copies (exact, resized, re-encoded) that must all be found, and nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufWriter, Write as _};
use std::path::Path;

use image::imageops::{self, FilterType};
use image::{ExtendedColorType, ImageFormat, RgbImage};
use ward_core::decode::{self, DecodeOptions};
use ward_core::digest::FileDigests;
use ward_core::pdq::{self, PdqHash, Pipeline, Quality};

use crate::{Run, golden, repo_file, shown, ward};

/// Pictures in the folder that are not copies of a planted one.
const OTHERS: usize = 2940;
/// Pictures whose hashes are in the list; each is in the folder three times.
const PLANTED: usize = 20;
/// Of those, how many also have their exact file's MD5 in the list.
const PLANTED_MD5: usize = 5;
/// Lines of the list, all told.
const LIST_LINES: usize = 1_000_000;

/// A small, fast, seeded generator (SplitMix64): the same pictures and list on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The side of the canvas pictures are drawn on before they are enlarged.
const CANVAS: usize = 32;

/// A benign picture of 96 to 160 pixels a side, distinct for every seed: value noise of
/// several octaves (so that, as in a photograph, every frequency PDQ looks at has some
/// energy and the hash is robust), alone, over a gradient, or under rectangles of colour.
///
/// A debug build does not optimise this crate, so the picture is drawn on a small canvas
/// and enlarged a row at a time, with repeated rows copied (a `memcpy`).
fn picture(seed: u64) -> RgbImage {
    let mut rng = Rng(seed ^ 0x5eed_0000);
    let (width, height) = (
        96 + 16 * rng.below(5) as usize,
        96 + 16 * rng.below(5) as usize,
    );
    let mut canvas = vec![[0i32; 3]; CANVAS * CANVAS];
    for (cells, amplitude) in [(2, 96), (4, 64), (8, 40), (16, 24)] {
        add_noise(&mut canvas, &mut rng, cells, amplitude);
    }
    match seed % 3 {
        0 => {}
        1 => {
            let (dx, dy) = (rng.below(9) as i32 - 4, rng.below(9) as i32 - 4);
            for (i, pixel) in canvas.iter_mut().enumerate() {
                let (x, y) = ((i % CANVAS) as i32 - 16, (i / CANVAS) as i32 - 16);
                pixel.iter_mut().for_each(|c| *c += (x * dx + y * dy) * 2);
            }
        }
        _ => {
            for _ in 0..2 + rng.below(4) {
                let (x0, y0) = (rng.below(28) as usize, rng.below(28) as usize);
                let (w, h) = (4 + rng.below(12) as usize, 4 + rng.below(12) as usize);
                let colour = [0; 3].map(|_: i32| rng.below(256) as i32 - 128);
                for y in y0..(y0 + h).min(CANVAS) {
                    for x in x0..(x0 + w).min(CANVAS) {
                        canvas[y * CANVAS + x] = colour;
                    }
                }
            }
        }
    }
    // Enlarged by nearest neighbour, a row at a time; repeated rows are copied.
    let mut pixels = Vec::with_capacity(width * height * 3);
    let mut row = Vec::with_capacity(width * 3);
    for y in 0..height {
        let cy = y * CANVAS / height;
        if y == 0 || cy != (y - 1) * CANVAS / height {
            row.clear();
            for x in 0..width {
                let pixel = canvas[cy * CANVAS + x * CANVAS / width];
                row.extend(pixel.map(|c| (c + 128).clamp(0, 255) as u8));
            }
        }
        pixels.extend_from_slice(&row);
    }
    RgbImage::from_raw(width as u32, height as u32, pixels).expect("the buffer fits")
}

/// Adds value noise of `cells` cells a side to the canvas: random values at the cells'
/// corners, blended bilinearly, within `amplitude` either way.
fn add_noise(canvas: &mut [[i32; 3]], rng: &mut Rng, cells: usize, amplitude: i32) {
    let corners: Vec<[i32; 3]> = (0..(cells + 1) * (cells + 1))
        .map(|_| [0; 3].map(|_: i32| rng.below(2 * amplitude as u64 + 1) as i32 - amplitude))
        .collect();
    let step = CANVAS / cells;
    let area = (step * step) as i32;
    for cy in 0..cells {
        for cx in 0..cells {
            let at = cy * (cells + 1) + cx;
            let (a, b) = (corners[at], corners[at + 1]);
            let (c, d) = (corners[at + cells + 1], corners[at + cells + 2]);
            for ty in 0..step {
                let row = &mut canvas[(cy * step + ty) * CANVAS + cx * step..][..step];
                let (sy, ty) = ((step - ty) as i32, ty as i32);
                for (tx, pixel) in row.iter_mut().enumerate() {
                    let (sx, tx) = ((step - tx) as i32, tx as i32);
                    for k in 0..3 {
                        let top = a[k] * sx + b[k] * tx;
                        let bottom = c[k] * sx + d[k] * tx;
                        pixel[k] += (top * sy + bottom * ty) / area;
                    }
                }
            }
        }
    }
}

/// Writes `picture` to `path` in `format`. Through `image::save_buffer_with_format`, whose
/// encoders are instantiated (and optimised) inside `image`; JPEGs get its quality of 75.
fn save(picture: &RgbImage, path: &Path, format: ImageFormat) {
    let (width, height) = picture.dimensions();
    image::save_buffer_with_format(
        path,
        picture.as_raw(),
        width,
        height,
        ExtendedColorType::Rgb8,
        format,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The PDQ hash and quality of a file, as ward-core computes them.
fn pdq_of(bytes: &[u8]) -> (PdqHash, Quality) {
    let picture = decode::decode(bytes, &DecodeOptions::default()).unwrap();
    let signal = pdq::hash(&picture, Pipeline::Full);
    (signal.hash, signal.quality)
}

/// A file in the folder, and the planted picture it copies, if any.
struct Planned {
    name: String,
    copy_of: Option<usize>,
}

/// Fills `folder`: the other pictures (one in ten a JPEG), then three copies of each planted
/// picture (the exact PNG, a PNG resized to 80%, a JPEG). Returns the files, and the bytes
/// of the planted pictures' exact files, which the list is made from.
fn fill(folder: &Path) -> (Vec<Planned>, Vec<Vec<u8>>) {
    let work = |range: std::ops::Range<usize>| -> Vec<Planned> {
        let mut files = Vec::new();
        for i in range {
            let picture = picture(i as u64);
            if i < OTHERS {
                let (name, format) = if i % 10 == 9 {
                    (format!("other-{i:04}.jpg"), ImageFormat::Jpeg)
                } else {
                    (format!("other-{i:04}.png"), ImageFormat::Png)
                };
                save(&picture, &folder.join(&name), format);
                files.push(Planned {
                    name,
                    copy_of: None,
                });
                continue;
            }
            let k = i - OTHERS;
            let (width, height) = picture.dimensions();
            let smaller = imageops::resize(
                &picture,
                width * 4 / 5,
                height * 4 / 5,
                FilterType::Triangle,
            );
            for (kind, copy, format) in [
                ("exact.png", &picture, ImageFormat::Png),
                ("resized.png", &smaller, ImageFormat::Png),
                ("reencoded.jpg", &picture, ImageFormat::Jpeg),
            ] {
                let name = format!("planted-{k:02}-{kind}");
                save(copy, &folder.join(&name), format);
                files.push(Planned {
                    name,
                    copy_of: Some(k),
                });
            }
        }
        files
    };
    // Two threads: making and encoding the pictures is most of the test's own time.
    let total = OTHERS + PLANTED;
    let files = std::thread::scope(|scope| {
        let first = scope.spawn(|| work(0..total / 2));
        let second = work(total / 2..total);
        let mut files = first.join().unwrap();
        files.extend(second);
        files
    });
    let exact = (0..PLANTED)
        .map(|k| fs::read(folder.join(format!("planted-{k:02}-exact.png"))).unwrap())
        .collect();
    (files, exact)
}

/// Writes the list: a CSV of `LIST_LINES` rows, random PDQ hashes but for the planted ones
/// (labelled `planted-K`) and the MD5s of the first planted files (`planted-K-md5`), spread
/// through it. Returns the random hashes' count.
fn write_list(path: &Path, planted: &[PdqHash], md5s: &[String]) -> usize {
    let mut special: BTreeMap<usize, String> = BTreeMap::new();
    let step = LIST_LINES / (planted.len() + md5s.len() + 1);
    for (k, hash) in planted.iter().enumerate() {
        special.insert(step * (k + 1), format!("pdq,{hash},planted-{k:02}\n"));
    }
    for (k, md5) in md5s.iter().enumerate() {
        special.insert(
            step * (planted.len() + k + 1),
            format!("md5,{md5},planted-{k:02}-md5\n"),
        );
    }
    let mut out = BufWriter::new(fs::File::create(path).unwrap());
    out.write_all(b"signal_type,signal,label\n").unwrap();
    let mut rng = Rng(1);
    let hex = b"0123456789abcdef";
    let mut line = *b"pdq,0000000000000000000000000000000000000000000000000000000000000000,\n";
    let mut random = 0;
    for row in 0..LIST_LINES {
        if let Some(text) = special.get(&row) {
            out.write_all(text.as_bytes()).unwrap();
            continue;
        }
        for chunk in line[4..68].chunks_mut(16) {
            let mut word = rng.next();
            for digit in chunk {
                *digit = hex[(word & 15) as usize];
                word >>= 4;
            }
        }
        out.write_all(&line).unwrap();
        random += 1;
    }
    out.flush().unwrap();
    random
}

/// The summary line's counts, by name.
fn summary(run: &Run) -> BTreeMap<String, String> {
    let line = run
        .stderr
        .lines()
        .find_map(|line| line.strip_prefix("ward: scan: "))
        .unwrap_or_else(|| panic!("no summary: {}", run.stderr));
    line.split(' ')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

#[test]
fn finds_planted_copies_among_thousands_against_a_million_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("folder");
    fs::create_dir(&folder).unwrap();
    let started = std::time::Instant::now();
    let (files, exact) = fill(&folder);
    eprintln!("pictures made in {:?}", started.elapsed());
    let planted: Vec<PdqHash> = exact
        .iter()
        .map(|bytes| {
            let (hash, quality) = pdq_of(bytes);
            assert!(
                quality >= Quality::MATCHABLE,
                "a planted picture of quality {quality}"
            );
            hash
        })
        .collect();
    let md5s: Vec<String> = exact[..PLANTED_MD5]
        .iter()
        .map(|bytes| FileDigests::of(bytes).md5.to_string())
        .collect();
    // A file that is not media, skipped and counted; and a PNG cut short, an error.
    fs::write(folder.join("notes.txt"), "not a picture\n").unwrap();
    fs::write(folder.join("broken.png"), &exact[0][..exact[0].len() / 2]).unwrap();
    let list = dir.path().join("list.csv");
    let random = write_list(&list, &planted, &md5s);
    assert_eq!(random + PLANTED + PLANTED_MD5, LIST_LINES);
    eprintln!("list written at {:?}", started.elapsed());

    let run = ward([
        "scan".as_ref(),
        folder.as_os_str(),
        "--list".as_ref(),
        list.as_os_str(),
    ]);
    eprintln!("scanned at {:?}", started.elapsed());
    // Some file failed (broken.png) and some matched: the match decides the status.
    assert_eq!(run.code, Some(3), "{}", run.stderr);

    // What each file matched, by label; and every match is a planted entry within reach.
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut errors = Vec::new();
    for record in run.records() {
        let path = record["path"].as_str().unwrap();
        let name = Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(path, shown(&folder.join(&name)));
        if let Some(error) = record.get("error") {
            assert!(error.as_str().unwrap().contains("png"), "{record}");
            errors.push(name);
            continue;
        }
        let label = record["label"]
            .as_str()
            .unwrap_or_else(|| panic!("a random entry matched: {record}"));
        let k: usize = label["planted-".len().."planted-".len() + 2]
            .parse()
            .unwrap();
        let distance = record["distance"].as_u64().unwrap();
        assert!(distance <= 31, "{record}");
        assert_eq!(record["list"], shown(&list).as_str());
        match record["signal_type"].as_str().unwrap() {
            "pdq" => {
                assert_eq!(record["signal"], planted[k].to_string(), "{record}");
                let query: PdqHash = record["query"].as_str().unwrap().parse().unwrap();
                assert_eq!(query.distance(&planted[k]) as u64, distance, "{record}");
            }
            "md5" => {
                assert_eq!(record["signal"], md5s[k].as_str(), "{record}");
                assert_eq!(distance, 0);
            }
            other => panic!("{other}: {record}"),
        }
        assert!(
            found.entry(name).or_default().insert(label.to_owned()),
            "twice: {record}"
        );
    }

    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        if let Some(k) = file.copy_of {
            let labels = expected.entry(file.name.clone()).or_default();
            labels.insert(format!("planted-{k:02}"));
            if k < PLANTED_MD5 && file.name.ends_with("-exact.png") {
                labels.insert(format!("planted-{k:02}-md5"));
            }
        }
    }
    assert_eq!(found, expected, "matches differ from the planted copies");
    assert_eq!(errors, ["broken.png".to_owned()], "{errors:?}");

    let counts = summary(&run);
    assert_eq!(counts["files"], (files.len() + 1).to_string());
    assert_eq!(counts["skipped"], "1");
    assert_eq!(counts["matched"], (3 * PLANTED).to_string());
    assert_eq!(counts["errors"], "1");
    assert_eq!(counts["low_quality"], "0");
    assert!(counts["seconds"].parse::<f64>().unwrap() > 0.0);
}

#[test]
fn statuses_csv_and_the_summary_on_a_small_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("folder");
    fs::create_dir_all(folder.join("sub")).unwrap();
    let rgb = "testdata/pdq/generated/rgb.png";
    fs::copy(repo_file(rgb), folder.join("sub/photo.png")).unwrap();
    // Quality 49: not matched by PDQ, and counted as such.
    fs::copy(
        repo_file("testdata/pdq/generated/size-5x5.png"),
        folder.join("tiny.png"),
    )
    .unwrap();
    let scan = |list: &str, extra: &[&str]| {
        let path = dir.path().join("list.txt");
        fs::write(&path, list).unwrap();
        let mut args = vec![
            "scan".to_owned(),
            shown(&folder),
            "--list".to_owned(),
            shown(&path),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        ward(args)
    };

    let run = scan(&format!("{}\n", "0".repeat(64)), &[]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
    let counts = summary(&run);
    assert_eq!(
        (
            &*counts["files"],
            &*counts["matched"],
            &*counts["errors"],
            &*counts["low_quality"]
        ),
        ("2", "0", "0", "1")
    );

    // Text is skipped and counted; a PNG cut short is an error.
    fs::write(folder.join("notes.txt"), "hello\n").unwrap();
    let png = fs::read(repo_file(rgb)).unwrap();
    fs::write(folder.join("broken.png"), &png[..png.len() / 2]).unwrap();
    let run = scan(&format!("{}\n", "0".repeat(64)), &[]);
    assert_eq!(run.code, Some(1), "an error and no match: {run:?}");
    assert_eq!(
        run.records(),
        [serde_json::json!({
            "path": shown(&folder.join("broken.png")),
            "error": "truncated png file"
        })]
    );
    assert_eq!(summary(&run)["skipped"], "1");

    let hash = golden(rgb).pdq;
    let run = scan(&format!("{hash}\n"), &["--format", "csv"]);
    assert_eq!(run.code, Some(3), "{run:?}");
    let list = shown(&dir.path().join("list.txt"));
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [
            "path,query,list,signal_type,signal,label,id,distance,query_share,compared_share,bars_trimmed,error"
                .to_owned(),
            format!(
                "{},,,,,,,,,,,truncated png file",
                shown(&folder.join("broken.png"))
            ),
            format!(
                "{},{hash},{list},pdq,{hash},,,0,,,,",
                shown(&folder.join("sub/photo.png"))
            ),
        ]
    );
    let counts = summary(&run);
    assert_eq!(
        (&*counts["files"], &*counts["matched"], &*counts["errors"]),
        ("3", "1", "1")
    );
}
