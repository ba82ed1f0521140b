//! The snapshot format, so that a restart loads the index instead of rebuilding it.
//!
//! Version 2, all integers little-endian:
//!
//! ```text
//! magic "WARDPDQI", version u32 = 1,
//! families u64, pages u64, entries u64, indexed u64
//! families + pages buckets, each: centre (32 bytes, in hex order), radius u32, members u32,
//!     then the member hashes (32 bytes each), then the member ids (u64 each)
//! the multi-indexed loose entries (`indexed` of them, removed ones included), when any:
//!     tables u32, width u32, block u32 (the chunks, `loose.rs`),
//!     hashes (four u64 words each, least significant first, sorted by the first chunk),
//!     id base u64, id width u32, ids (bit-packed in u64 words, less the base),
//!     removed flags (one bit each, in u64 words),
//!     for each table: its postings u64, its directory in unary form (u64 words), then for
//!     every table but the first its block numbers (bit-packed in u64 words at the width the
//!     number of blocks needs)
//! crc32 (IEEE) of every byte before it, u32
//! ```
//!
//! The first `families` buckets are families, the next `pages` loose pages. Every member is
//! checked against its bucket's radius and every table against its bounds on load, so a
//! damaged file is refused rather than answering wrongly or panicking; the checksum catches
//! the rest. The multi-index over family centres is rebuilt (it takes milliseconds); the
//! one over loose entries is stored, because rebuilding it for ten million entries would
//! take seconds.

use std::io::{self, Read, Write};

use super::loose::{Layout, LooseIndex, Packed, key_width, unary_words};
use super::{Bucket, ChunkIndex, Inner, LOOSE_PAGE, SNAPSHOT_MAGIC};
use crate::error::{Error, Result};
use crate::index::ChecksumWriter;
use crate::pdq::PdqHash;

const VERSION: u32 = 2;

pub(super) fn write(inner: &Inner, out: &mut impl Write) -> io::Result<()> {
    let mut out = ChecksumWriter::new(io::BufWriter::with_capacity(1 << 20, out));
    let families = inner.families.len();
    let pages = inner.buckets.len() - families;
    let loose = inner.loose.parts();
    out.write_all(SNAPSHOT_MAGIC)?;
    out.write_all(&VERSION.to_le_bytes())?;
    for count in [families, pages, inner.len, loose.hashes.len()] {
        out.write_all(&(count as u64).to_le_bytes())?;
    }
    let mut buffer = Vec::new();
    let centres = inner.centres.hashes().iter().zip(inner.centres.radii());
    for (bucket, (centre, radius)) in inner.buckets.iter().zip(centres) {
        buffer.clear();
        buffer.extend_from_slice(&centre.to_bytes());
        buffer.extend_from_slice(&radius.to_le_bytes());
        buffer.extend_from_slice(&(bucket.ids.len() as u32).to_le_bytes());
        out.write_all(&buffer)?;
        write_hashes(&mut out, &bucket.hashes)?;
        write_words(&mut out, bucket.ids.iter().map(|id| id.to_le_bytes()))?;
    }
    if !loose.hashes.is_empty() {
        out.write_all(&loose.layout.tables.to_le_bytes())?;
        out.write_all(&loose.layout.width.to_le_bytes())?;
        out.write_all(&loose.layout.block.to_le_bytes())?;
    }
    // The bulk of a large snapshot: plain little-endian words, which load without conversion.
    write_words(
        &mut out,
        loose
            .hashes
            .iter()
            .flat_map(|h| h.words())
            .map(|w| w.to_le_bytes()),
    )?;
    if !loose.hashes.is_empty() {
        out.write_all(&loose.id_base.to_le_bytes())?;
        out.write_all(&loose.ids.width().to_le_bytes())?;
        write_words(&mut out, loose.ids.words().iter().map(|w| w.to_le_bytes()))?;
        write_words(&mut out, loose.removed.iter().map(|w| w.to_le_bytes()))?;
        for (postings, unary, keys) in &loose.tables {
            out.write_all(&(*postings as u64).to_le_bytes())?;
            write_words(&mut out, unary.iter().map(|w| w.to_le_bytes()))?;
            if let Some(keys) = keys {
                write_words(&mut out, keys.words().iter().map(|w| w.to_le_bytes()))?;
            }
        }
    }
    let (mut out, crc) = out.finish();
    out.write_all(&crc.to_le_bytes())?;
    out.flush()
}

fn write_hashes(out: &mut impl Write, hashes: &[PdqHash]) -> io::Result<()> {
    write_words(out, hashes.iter().map(PdqHash::to_bytes))
}

/// Writes fixed-size items through a buffer, a megabyte at a time.
fn write_words<const N: usize>(
    out: &mut impl Write,
    items: impl Iterator<Item = [u8; N]>,
) -> io::Result<()> {
    let mut buffer = Vec::with_capacity(1 << 20);
    for item in items {
        buffer.extend_from_slice(&item);
        if buffer.len() >= 1 << 20 {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    out.write_all(&buffer)
}

/// Reads the snapshot, checking the checksum before trusting anything.
struct Reader<R> {
    input: io::BufReader<R>,
    crc: crc32fast::Hasher,
    buffer: Vec<u8>,
}

impl<R: Read> Reader<R> {
    /// Reads exactly `n` bytes, feeding the checksum.
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        self.buffer.resize(n, 0);
        self.input
            .read_exact(&mut self.buffer)
            .map_err(|e| bad(&format!("truncated ({e})")))?;
        self.crc.update(&self.buffer);
        Ok(&self.buffer)
    }

    /// Reads `count` items of `N` bytes in pieces, so that a damaged count fails on missing
    /// data instead of allocating what it claims.
    fn items<const N: usize, T>(
        &mut self,
        count: u64,
        convert: impl Fn([u8; N]) -> T,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut left = count;
        while left > 0 {
            let n = left.min(1 << 16) as usize;
            let piece = self.take(n * N)?;
            out.extend(
                piece
                    .chunks_exact(N)
                    .map(|c| convert(c.try_into().expect("N bytes"))),
            );
            left -= n as u64;
        }
        Ok(out)
    }

    /// Reads `count` little-endian integers straight into their vector (in pieces, as
    /// `items`), without a conversion pass on little-endian machines.
    fn words<T: Word>(&mut self, count: u64) -> Result<Vec<T>> {
        let mut out: Vec<T> = Vec::new();
        let mut left = count;
        while left > 0 {
            let n = left.min(1 << 22) as usize;
            let start = out.len();
            out.resize(start + n, T::default());
            let bytes = T::bytes_mut(&mut out[start..]);
            self.input
                .read_exact(bytes)
                .map_err(|e| bad(&format!("truncated ({e})")))?;
            self.crc.update(bytes);
            left -= n as u64;
        }
        for word in &mut out {
            *word = word.to_native();
        }
        Ok(out)
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
}

/// Integers read as their in-memory bytes.
trait Word: Copy + Default {
    fn bytes_mut(words: &mut [Self]) -> &mut [u8];
    fn to_native(self) -> Self;
}

macro_rules! word {
    ($t:ty) => {
        impl Word for $t {
            fn bytes_mut(words: &mut [$t]) -> &mut [u8] {
                let len = std::mem::size_of_val(words);
                // SAFETY: integers have no padding and every byte pattern is a valid
                // integer; the slice covers exactly the words' memory.
                unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) }
            }
            fn to_native(self) -> $t {
                <$t>::from_le(self)
            }
        }
    };
}

word!(u32);
word!(u64);

fn bad(message: &str) -> Error {
    Error::Snapshot(message.to_string())
}

pub(super) fn read(input: &mut impl Read) -> Result<Inner> {
    let mut reader = Reader {
        input: io::BufReader::with_capacity(1 << 20, input),
        crc: crc32fast::Hasher::new(),
        buffer: Vec::new(),
    };
    let head = reader.take(12)?;
    if &head[..8] != SNAPSHOT_MAGIC {
        return Err(bad("not a Ward PDQ index snapshot"));
    }
    let version = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(bad(&format!(
            "unsupported snapshot version {version} (this Ward reads {VERSION})"
        )));
    }
    let (families, pages, len, indexed) =
        (reader.u64()?, reader.u64()?, reader.u64()?, reader.u64()?);

    let mut inner = Inner::default();
    let mut total = 0u64;
    for _ in 0..families.saturating_add(pages) {
        let head = reader.take(40)?;
        let centre = PdqHash::from_bytes(head[..32].try_into().expect("32 bytes"));
        let radius = u32::from_le_bytes(head[32..36].try_into().expect("4 bytes"));
        let members = u64::from(u32::from_le_bytes(
            head[36..40].try_into().expect("4 bytes"),
        ));
        total += members;
        if total > len {
            return Err(bad("more members than the header says"));
        }
        let hashes = reader.items(members, PdqHash::from_bytes)?;
        let ids = reader.words(members)?;
        if hashes.iter().any(|h| h.distance(&centre) > radius) {
            return Err(bad("a member lies outside its bucket's radius"));
        }
        inner.buckets.push(Bucket { hashes, ids });
        inner.centres.push(centre, radius);
    }
    let mut layout = Layout::default();
    if indexed > 0 {
        let head = reader.take(12)?;
        layout.tables = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        layout.width = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        layout.block = u32::from_le_bytes(head[8..].try_into().expect("4 bytes"));
        if !layout.is_valid() || indexed >= u64::from(u32::MAX) {
            return Err(bad("the loose entries' chunks are not ones Ward makes"));
        }
    }
    let words: Vec<u64> = reader.words(indexed.saturating_mul(4))?;
    let hashes = words
        .chunks_exact(4)
        .map(|w| PdqHash::from_words([w[0], w[1], w[2], w[3]]))
        .collect();
    drop(words);
    let n = indexed as usize;
    let mut loose = None;
    if n > 0 {
        let id_base = reader.u64()?;
        let id_width = u32::from_le_bytes(reader.take(4)?.try_into().expect("4 bytes"));
        if !(1..=64).contains(&id_width) {
            return Err(bad(
                "the loose entries' ids are not packed as Ward packs them",
            ));
        }
        let ids = reader.words(Packed::words_for(id_width, n) as u64)?;
        let removed = reader.words(indexed.div_ceil(64))?;
        let mut tables = Vec::with_capacity(layout.tables as usize);
        for t in 0..layout.tables {
            let postings = reader.u64()?;
            // At most a posting per entry (per block, per value): refused before reading
            // what a damaged count claims.
            if postings > indexed {
                return Err(bad("a table lists more than the entries"));
            }
            let postings = postings as usize;
            let unary = reader.words(unary_words(1 << layout.width, postings) as u64)?;
            let keys = if t == 0 {
                None
            } else {
                let width = key_width(layout.blocks(n));
                let words = reader.words(Packed::words_for(width, postings) as u64)?;
                Packed::from_parts(width, postings, words)
            };
            tables.push((postings, unary, keys));
        }
        let ids = Packed::from_parts(id_width, n, ids)
            .ok_or_else(|| bad("the loose entries' ids do not fit"))?;
        loose = Some((id_base, ids, removed, tables));
    }
    let expected = reader.crc.clone().finalize();
    let mut trailer = [0u8; 4];
    reader
        .input
        .read_exact(&mut trailer)
        .map_err(|e| bad(&format!("truncated ({e})")))?;
    if u32::from_le_bytes(trailer) != expected {
        return Err(bad("checksum mismatch: the file is damaged"));
    }

    if let Some((id_base, ids, removed, tables)) = loose {
        inner.loose = LooseIndex::from_parts(layout, hashes, id_base, ids, removed, tables)
            .ok_or_else(|| bad("the loose entries' multi-index is inconsistent"))?;
    }
    if total + inner.loose.len() as u64 != len {
        return Err(bad("the entry count does not add up"));
    }
    inner.len = len as usize;
    inner.families = ChunkIndex::new(&inner.centres.hashes()[..families as usize]);
    let last = inner.buckets.len().checked_sub(1);
    inner.open_loose =
        last.filter(|&b| b >= families as usize && inner.buckets[b].ids.len() < LOOSE_PAGE);
    Ok(inner)
}
