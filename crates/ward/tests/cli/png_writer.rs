//! PNG files written by hand for the self-report hashing tests: Adam7-interlaced, every row
//! with one of the five filters in turn, in stored (uncompressed) deflate blocks, of any
//! colour type and 8 or 16 bits, so that the page's own PNG reader meets what the image
//! crate's encoder never writes.

/// CRC-32 (ISO 3309), as PNG's chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                0xedb8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// A zlib stream of stored blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let length = block.len() as u16;
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&(!length).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    let mut checked = kind.to_vec();
    checked.extend_from_slice(body);
    out.extend_from_slice(&checked);
    out.extend_from_slice(&crc32(&checked).to_be_bytes());
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// An interlaced PNG of `width` x `height` pixels of `channels` samples of `depth` bits
/// (8 or 16, big-endian in `samples`), colour type `colour` (0, 2, 4 or 6).
pub fn interlaced(width: u32, height: u32, colour: u8, depth: u8, samples: &[u8]) -> Vec<u8> {
    let channels = match colour {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        other => panic!("colour type {other}"),
    };
    let bpp = channels * usize::from(depth) / 8;
    let (w, h) = (width as usize, height as usize);
    assert_eq!(samples.len(), w * h * bpp);
    let passes = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let mut raw = Vec::new();
    let mut filter = 0u8;
    for (x0, y0, dx, dy) in passes {
        if x0 >= w || y0 >= h {
            continue;
        }
        let mut previous: Option<Vec<u8>> = None;
        for y in (y0..h).step_by(dy) {
            let row: Vec<u8> = (x0..w)
                .step_by(dx)
                .flat_map(|x| samples[(y * w + x) * bpp..(y * w + x + 1) * bpp].to_vec())
                .collect();
            let up = previous.clone().unwrap_or_else(|| vec![0; row.len()]);
            raw.push(filter);
            for i in 0..row.len() {
                let left = if i >= bpp { row[i - bpp] } else { 0 };
                let upper_left = if i >= bpp { up[i - bpp] } else { 0 };
                let predicted = match filter {
                    0 => 0,
                    1 => left,
                    2 => up[i],
                    3 => ((u16::from(left) + u16::from(up[i])) / 2) as u8,
                    _ => paeth(left, up[i], upper_left),
                };
                raw.push(row[i].wrapping_sub(predicted));
            }
            filter = (filter + 1) % 5;
            previous = Some(row);
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[depth, colour, 0, 0, 1]);
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}
