//! The browser's PDQ and MD5 (`crates/ward/src/portal/static/pdq.js`, `md5.js`, for
//! self-reports hashed on the reporter's device) against `ward hash`: the same pixels give
//! the same hash and quality, bit for bit, the same files the same MD5, on generated benign pictures of many sizes (small, odd, over 512
//! px, a photo's 1600x1004), run with node outside a browser (the browser's own decoding is
//! checked by the browser tests).

use std::process::Command;

use crate::{repo_file, ward};

/// A benign picture: gradients, a sine and pseudo-random noise, so that every bit is
/// decided by the arithmetic (and none by a tie).
fn picture(width: u32, height: u32, seed: u32) -> image::RgbaImage {
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state >> 24) as u8
    };
    image::RgbaImage::from_fn(width, height, |x, y| {
        let wave = (128.0 + 100.0 * (x as f64 / 17.0 + y as f64 / 29.0).sin()) as u8;
        image::Rgba([
            ((x * 7 + y * 3) as u8).wrapping_add(noise() / 6),
            wave.wrapping_add(noise() / 12),
            ((x ^ y) as u8).wrapping_add(noise() / 4),
            255,
        ])
    })
}

#[test]
fn the_browsers_pdq_is_wards_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = [
        (64, 64),
        (100, 37),
        (5, 5),
        (4, 9),
        (640, 480),
        (513, 900),
        (1600, 1004),
        (128, 129),
    ];
    let mut arguments = Vec::new();
    let mut pngs = Vec::new();
    for (n, (width, height)) in sizes.into_iter().enumerate() {
        let image = picture(width, height, n as u32 + 1);
        let png = dir.path().join(format!("p{n}.png"));
        image.save(&png).unwrap();
        let raw = dir.path().join(format!("p{n}.rgba"));
        std::fs::write(&raw, image.as_raw()).unwrap();
        arguments.push(format!("{width}x{height}:{}", raw.display()));
        pngs.push(png);
    }
    for png in &pngs {
        arguments.push(format!("md5:{}", png.display()));
    }
    let output = Command::new("node")
        .arg(repo_file("browser-tests/pdq-core.cjs"))
        .args(&arguments)
        .output()
        .expect("cannot run node (install Debian's nodejs)");
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<Vec<&str>> = printed.lines().map(|l| l.split(' ').collect()).collect();
    let (browser, digests) = lines.split_at(sizes.len());
    let browser: Vec<(String, String)> = browser
        .iter()
        .map(|parts| (parts[1].to_owned(), parts[2].to_owned()))
        .collect();
    let run = ward(
        std::iter::once("hash".to_owned()).chain(pngs.iter().map(|p| p.display().to_string())),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let records = run.records();
    assert_eq!(records.len(), sizes.len());
    for ((record, (hash, quality)), size) in records.iter().zip(&browser).zip(sizes) {
        assert_eq!(record["pdq"].as_str().unwrap(), hash, "{size:?}");
        assert_eq!(record["quality"].to_string(), *quality, "{size:?}");
    }
    for (record, digest) in records.iter().zip(digests) {
        assert_eq!(record["md5"].as_str().unwrap(), digest[1]);
    }
    eprintln!(
        "pdq.js: {} of {} pictures exact",
        browser.len(),
        sizes.len()
    );
}
