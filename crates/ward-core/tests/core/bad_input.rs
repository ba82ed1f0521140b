//! Hostile and broken input: typed errors, never a panic, never an allocation the header asks for.

use std::cell::Cell;
use std::sync::Once;

use ward_core::Error;
use ward_core::decode::{DecodeOptions, decode};

use crate::testdata;

thread_local! {
    /// Panics on this test's thread (decoding runs on the caller's thread).
    static PANICS: Cell<usize> = const { Cell::new(0) };
}
static HOOK: Once = Once::new();

/// Counts panics even when `decode`'s last-resort `catch_unwind` turns them into errors,
/// so that the tests see a decoder that panics. Returns this thread's count so far.
fn count_panics() -> usize {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
    PANICS.with(Cell::get)
}

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(testdata().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn decode_default(bytes: &[u8]) -> ward_core::Result<ward_core::decode::Picture> {
    decode(bytes, &DecodeOptions::default())
}

#[test]
fn empty_input() {
    assert!(matches!(decode_default(b""), Err(Error::Empty)));
}

#[test]
fn not_an_image() {
    for bytes in [
        &b"hello, world\n"[..],
        b"%PDF-1.7\n",
        b"\x00\x00\x00\x18ftypmp42",
        &[0xFF; 100],
    ] {
        assert!(
            matches!(decode_default(bytes), Err(Error::UnsupportedFormat)),
            "{bytes:?}"
        );
    }
}

/// Every file cut short at several points is reported as truncated or corrupt.
#[test]
fn truncated_files() {
    count_panics();
    let files = [
        "pdq/generated/progressive.jpg",
        "pdq/generated/subsampling-444.jpg",
        "pdq/generated/grey.jpg",
        "pdq/generated/cmyk.jpg",
        "pdq/generated/rgb.png",
        "pdq/generated/palette.gif",
        "pdq/generated/lossy.webp",
        "pdq/generated/rgb.bmp",
        "pdq/generated/rgb.tiff",
    ];
    for file in files {
        let bytes = read(file);
        for fraction in [0.1, 0.5, 0.9, 0.99] {
            let cut = (bytes.len() as f64 * fraction) as usize;
            match decode_default(&bytes[..cut]) {
                Err(Error::Truncated { .. } | Error::Corrupt { .. }) => {}
                other => panic!("{file} cut at {cut} of {}: {other:?}", bytes.len()),
            }
        }
    }
    assert_eq!(count_panics(), 0, "a decoder panicked (see stderr)");
}

#[test]
fn truncated_jpeg_says_truncated() {
    let bytes = read("pdq/generated/subsampling-444.jpg");
    let cut = &bytes[..bytes.len() / 2];
    assert!(matches!(
        decode_default(cut),
        Err(Error::Truncated { format: "jpeg" })
    ));
    let bytes = read("pdq/generated/progressive.jpg");
    let cut = &bytes[..bytes.len() * 3 / 4];
    assert!(matches!(
        decode_default(cut),
        Err(Error::Truncated { format: "jpeg" })
    ));
}

/// A complete, small PNG file whose header claims the given size: a header chunk, one
/// data chunk of 1000 zero bytes (stored, not compressed) and the end chunk.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let zeros = [0u8; 1000];
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&1000u16.to_le_bytes());
    zlib.extend_from_slice(&(!1000u16).to_le_bytes());
    zlib.extend_from_slice(&zeros);
    zlib.extend_from_slice(&adler32(&zeros).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (&b"IHDR"[..], &header[..]),
        (b"IDAT", &zlib),
        (b"IEND", &[]),
    ] {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    png
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    b << 16 | a
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A JPEG whose frame header claims the given size (and nothing else).
fn jpeg_header(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 8];
    jpeg.extend_from_slice(&height.to_be_bytes());
    jpeg.extend_from_slice(&width.to_be_bytes());
    jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    jpeg
}

/// A complete GIF whose logical screen has the given size, holding one 1x1 frame.
fn gif_header(width: u16, height: u16) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&width.to_le_bytes());
    gif.extend_from_slice(&height.to_le_bytes());
    gif.extend_from_slice(&[0, 0, 0]);
    // Image descriptor at (0, 0), 1x1, no local palette; LZW codes clear, 0, end.
    gif.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
    gif.extend_from_slice(&[2, 2, 0x44, 0x01, 0, 0x3B]);
    gif
}

/// Decompression bombs: refused from the header, before any pixel buffer exists.
#[test]
fn headers_claiming_huge_sizes_are_refused() {
    let png = png_header(100_000, 100_000);
    assert!(
        matches!(
            decode_default(&png),
            Err(Error::TooLarge {
                width: 100_000,
                height: 100_000,
                ..
            })
        ),
        "{:?}",
        decode_default(&png)
    );
    let jpeg = jpeg_header(65_000, 65_000);
    assert!(
        matches!(decode_default(&jpeg), Err(Error::TooLarge { .. })),
        "{:?}",
        decode_default(&jpeg)
    );
    let gif = gif_header(65_000, 65_000);
    assert!(
        matches!(decode_default(&gif), Err(Error::TooLarge { .. })),
        "{:?}",
        decode_default(&gif)
    );
    // Within the limit, the same files are merely short of data.
    assert!(matches!(
        decode_default(&png_header(100, 100)),
        Err(Error::Truncated { .. } | Error::Corrupt { .. })
    ));
    assert!(matches!(
        decode_default(&jpeg_header(100, 100)),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn pixel_limit_is_configurable() {
    let bytes = read("pdq/generated/rgb.png"); // 400x251
    let tight = DecodeOptions {
        max_pixels: 400 * 251 - 1,
        ..DecodeOptions::default()
    };
    assert!(matches!(
        decode(&bytes, &tight),
        Err(Error::TooLarge {
            width: 400,
            height: 251,
            ..
        })
    ));
    let exact = DecodeOptions {
        max_pixels: 400 * 251,
        ..DecodeOptions::default()
    };
    assert!(decode(&bytes, &exact).is_ok());
}

/// Random damage to real files of every format: whatever comes out, nothing panics.
#[test]
fn damaged_files_never_panic() {
    count_panics();
    let files = [
        "threatexchange/pdq/data/misc-images/small.jpg",
        "threatexchange/pdq/data/misc-images/wee.jpg",
        "pdq/generated/size-129x1000.png",
        "pdq/generated/cmyk.jpg",
        "pdq/generated/transparent.gif",
        "pdq/generated/alpha.webp",
        "pdq/generated/palette.bmp",
        "pdq/generated/grey.tiff",
        "pdq/generated/exif-orientation-6.jpg",
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let options = DecodeOptions {
        exif_orient: true,
        ..DecodeOptions::default()
    };
    for file in files {
        let original = read(file);
        for _ in 0..60 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 8 {
                let at = (next() as usize) % bytes.len();
                match next() % 3 {
                    0 => bytes[at] = next() as u8,
                    1 => bytes[at] ^= 1 << (next() % 8),
                    _ => bytes[at] = 0xFF,
                }
            }
            if next() % 4 == 0 {
                let keep = (next() as usize) % bytes.len();
                bytes.truncate(keep.max(1));
            }
            let _ = decode(&bytes, &options);
        }
    }
    assert_eq!(count_panics(), 0, "a decoder panicked (see stderr)");
}
