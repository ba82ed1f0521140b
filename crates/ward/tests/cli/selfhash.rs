//! Self-report hashing in a real Chromium (`browser-tests/selfhash.mjs`) against `ward
//! hash`, on every picture in `testdata/` that both decode (JPEG, PNG, GIF, WebP, BMP) and
//! interlaced PNGs of every colour type written for the test: each
//! MD5 equal, each PDQ hash and quality exact (PNGs and GIFs read by the page's own
//! decoders, other pictures by the browser's).

use std::collections::BTreeMap;
use std::process::Command;

use crate::{browser, testdata, ward};

fn pictures() -> Vec<String> {
    let root = testdata();
    let mut found = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| {
                ["jpg", "jpeg", "png", "gif", "webp", "bmp"]
                    .contains(&e.to_ascii_lowercase().to_str().unwrap_or(""))
            }) {
                found.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// Interlaced PNGs of each colour type, 8 and 16 bits, written by hand into `dir`
/// (`png_writer`), and a GIF that is not interlaced: what no file of testdata is.
fn interlaced_pngs(dir: &std::path::Path) -> Vec<String> {
    let mut state = 0x9e37_79b9u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state >> 24) as u8
    };
    let mut made = Vec::new();
    for (colour, channels) in [(0u8, 1usize), (2, 3), (4, 2), (6, 4)] {
        for depth in [8u8, 16] {
            let (width, height) = (133u32, 77u32);
            let bytes = usize::from(depth) / 8;
            let mut samples = Vec::new();
            for y in 0..height {
                for x in 0..width {
                    for c in 0..channels {
                        let v = ((x * (c as u32 + 3) + y * 5) as u8).wrapping_add(noise() / 8);
                        samples.push(v);
                        if bytes == 2 {
                            samples.push(noise());
                        }
                    }
                }
            }
            let png = crate::png_writer::interlaced(width, height, colour, depth, &samples);
            let path = dir.join(format!("interlaced-{colour}-{depth}.png"));
            std::fs::write(&path, png).unwrap();
            made.push(path.display().to_string());
        }
    }
    // A GIF as the image crate writes it: one frame, not interlaced, with a local palette
    // quantised from many colours, so that the codes grow to their widest.
    let gif = image::RgbImage::from_fn(301, 199, |x, y| {
        image::Rgb([(x * 3 + y) as u8, (y * 5) as u8 ^ noise(), (x ^ y) as u8])
    });
    let path = dir.join("progressive.gif");
    gif.save(&path).unwrap();
    made.push(path.display().to_string());
    made
}

#[test]
fn pictures_hash_in_chromium_as_in_ward() {
    let scripts = browser::scripts();
    let written = tempfile::tempdir().unwrap();
    let mut names = pictures();
    let interlaced = interlaced_pngs(written.path());
    assert!(names.len() >= 80, "{} pictures", names.len());
    let mut paths: Vec<String> = names
        .iter()
        .map(|n| testdata().join(n).display().to_string())
        .collect();
    names.extend(interlaced.iter().cloned());
    paths.extend(interlaced);
    let run = ward(std::iter::once("hash".to_owned()).chain(paths.iter().cloned()));
    let ward_hashes: BTreeMap<String, serde_json::Value> = run
        .records()
        .into_iter()
        .map(|r| (r["path"].as_str().unwrap().to_owned(), r))
        .collect();
    let output = Command::new("node")
        .arg(scripts.join("selfhash.mjs"))
        .args(&paths)
        .output()
        .expect("cannot run node");
    assert!(output.status.success(), "{output:?}");
    let mut exact = 0;
    let mut decoded = 0;
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let browser: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = browser["path"].as_str().unwrap();
        let name = names[paths.iter().position(|p| p == path).unwrap()].as_str();
        let Some(theirs) = ward_hashes.get(path).filter(|r| r.get("pdq").is_some()) else {
            continue; // a picture Ward refuses (a test of bad input)
        };
        assert_eq!(browser["md5"], theirs["md5"], "{name}");
        let Some(pdq) = browser["pdq"].as_str() else {
            panic!("{name}: Ward decodes it, the browser does not");
        };
        decoded += 1;
        let distance = (0..4)
            .map(|i| {
                let part = |hex: &str| u64::from_str_radix(&hex[i * 16..(i + 1) * 16], 16).unwrap();
                (part(pdq) ^ part(theirs["pdq"].as_str().unwrap())).count_ones()
            })
            .sum::<u32>();
        // PNGs and GIFs are read by the page's own decoders, never the canvas's.
        let decoder = browser["decoder"].as_str().unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        for (extension, own) in [(".png", "png"), (".gif", "gif")] {
            if lower.ends_with(extension) {
                assert_eq!(decoder, own, "{name}");
            }
        }
        assert_eq!(distance, 0, "{name}");
        assert_eq!(browser["quality"], theirs["quality"], "{name}");
        exact += 1;
    }
    eprintln!("self-report hashing: {exact} of {decoded} pictures exact in Chromium");
    assert_eq!(exact, decoded);
}
