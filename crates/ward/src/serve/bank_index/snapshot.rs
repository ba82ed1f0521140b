//! The file a node keeps its match index in between runs, so that a restart reads it and the
//! store's changes since, instead of the whole feed. It is a cache of derived state: anything
//! wrong with it (damaged, of another version, of another deployment's store, ahead of the
//! store) refuses it, and the index is loaded from the feed as if it were not there.
//!
//! Version 1, integers little-endian:
//!
//! ```text
//! magic "WARDBIDX", version u32 = 1, pdq_offset u64 (where the PDQ index starts),
//! cursor i64 (the feed position the rest reflects), cursor_signal i64 (the signal of the
//!     feed entry at that position, 0 for none), written_at i64 (ms since the epoch),
//!     signals i64 (how many the index holds),
//! deployment: length u32 and bytes (the instance's public key, hex)
//! located: count u64, then (signal i64, content i64, bank i64) each
//! sizes: count u64, then (bank i64, five counts u64 in SIGNAL_TYPES' order) each
//! groups: count u64, then (page i64, 1024 groups u32) each
//! videos: count u64, then (signal i64, length u32, the vPDQ's text form) each
//! md5, sha1, sha256: count u64, then (digest bytes, id u64) each, in increasing order
//! crc32 (IEEE) of every byte above but pdq_offset, u32
//! the PDQ index in ward-core's snapshot format (its own version and checksum), to the end
//! ```
//!
//! The two parts are read at once on two threads (the PDQ index from `pdq_offset`), each
//! checked before it is trusted; every count is checked against the bytes left in the file
//! before anything is allocated for it, so a damaged file is refused, never a panic or a
//! huge allocation.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt as _;

use ward_core::digest::{Md5, Sha1, Sha256};
use ward_core::index::digests::DigestSet;
use ward_core::index::{ChecksumWriter, PdqIndex};
use ward_core::video::Vpdq;
use ward_store::{BankId, ContentId, Seq};

use super::super::content_facts::PAGE;
use super::{BankIndex, IdMap, Located};

const MAGIC: &[u8; 8] = b"WARDBIDX";
const VERSION: u32 = 1;
/// Where `pdq_offset` is in the file (after the magic and the version).
const PDQ_OFFSET_AT: u64 = 12;
/// Bytes read or written at a time.
const CHUNK: usize = 1 << 20;

/// Why a snapshot was not used.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("there is none yet")]
    Missing,
    #[error("it cannot be read: {0}")]
    Unreadable(io::Error),
    #[error("it is damaged or not of this version: {0}")]
    Damaged(String),
    #[error("it is of another deployment's store (instance key {found}, the store's {store})")]
    Deployment { found: String, store: String },
    #[error(
        "the store's feed ends at {store}, before the snapshot's position {snapshot} (a store \
         restored from a backup?)"
    )]
    Behind { snapshot: i64, store: i64 },
    #[error(
        "the store's feed at the snapshot's position {0} names another signal (a store \
         restored from a backup and changed since?)"
    )]
    Diverged(i64),
    #[error(
        "the store's feed moved {changes} places since it (reading it whole is quicker than \
         applying that many changes one by one)"
    )]
    Stale { changes: i64 },
}

fn damaged(message: impl Into<String>) -> Refusal {
    Refusal::Damaged(message.into())
}

/// What a snapshot's head says, read before the rest so that a snapshot of another store or
/// ahead of the store is refused before the bulk is read.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub deployment: String,
    pub cursor: Seq,
    pub cursor_signal: i64,
    pub written_at: i64,
    pub signals: i64,
    pdq_offset: u64,
}

/// A snapshot file whose head has been read: the rest is read from the same file, even if
/// the path is given a newer one meanwhile.
#[derive(Debug)]
pub struct Opened {
    pub head: Head,
    file: File,
    len: u64,
}

/// Everything of the index a snapshot holds.
pub struct Parts {
    pub located: IdMap<i64, Located>,
    pub sizes: std::collections::HashMap<BankId, [usize; 5]>,
    pub groups: Vec<(i64, Box<[u32; PAGE]>)>,
    pub videos: std::collections::HashMap<i64, Vpdq>,
    pub md5: DigestSet<Md5>,
    pub sha1: DigestSet<Sha1>,
    pub sha256: DigestSet<Sha256>,
    pub pdq: PdqIndex,
}

/// Writes `index` to `file` (at its start). The caller holds the index's follow turn, so
/// nothing changes while it is written. Returns the bytes written.
pub fn write(
    index: &BankIndex,
    deployment: &str,
    written_at: i64,
    file: &mut File,
) -> io::Result<u64> {
    let pdq_offset = write_parts(index, deployment, written_at, &mut *file)?;
    let len = file.stream_position()?;
    file.seek(SeekFrom::Start(PDQ_OFFSET_AT))?;
    file.write_all(&pdq_offset.to_le_bytes())?;
    file.seek(SeekFrom::Start(len))?;
    Ok(len)
}

/// Writes everything but `pdq_offset`, which it returns.
fn write_parts(
    index: &BankIndex,
    deployment: &str,
    written_at: i64,
    file: &mut File,
) -> io::Result<u64> {
    let mut out = ChecksumWriter::new(BufWriter::with_capacity(CHUNK, file));
    out.write_all(MAGIC)?;
    out.write_all(&VERSION.to_le_bytes())?;
    // Filled in below, once known; not in the checksum.
    out.get_mut().write_all(&0u64.to_le_bytes())?;
    let cursor = index.cursor.load(std::sync::atomic::Ordering::Acquire);
    let cursor_signal = index
        .cursor_signal
        .load(std::sync::atomic::Ordering::Acquire);
    let signals = index.located.read().expect("lock").len() as i64;
    for value in [cursor, cursor_signal, written_at, signals] {
        out.write_all(&value.to_le_bytes())?;
    }
    out.write_all(&(deployment.len() as u32).to_le_bytes())?;
    out.write_all(deployment.as_bytes())?;

    let mut buffer = Vec::with_capacity(CHUNK);
    {
        let located = index.located.read().expect("lock");
        out.write_all(&(located.len() as u64).to_le_bytes())?;
        for (signal, at) in located.iter() {
            buffer.extend_from_slice(&signal.to_le_bytes());
            buffer.extend_from_slice(&at.content.0.to_le_bytes());
            buffer.extend_from_slice(&at.bank.0.to_le_bytes());
            flush_if_full(&mut out, &mut buffer)?;
        }
        out.write_all(&buffer)?;
        buffer.clear();
    }
    {
        let sizes = index.sizes.lock().expect("lock").clone();
        out.write_all(&(sizes.len() as u64).to_le_bytes())?;
        for (bank, counts) in sizes {
            out.write_all(&bank.0.to_le_bytes())?;
            for count in counts {
                out.write_all(&(count as u64).to_le_bytes())?;
            }
        }
    }
    let groups = index.summaries.facts().group_pages();
    out.write_all(&(groups.len() as u64).to_le_bytes())?;
    for (page, slots) in groups {
        buffer.extend_from_slice(&page.to_le_bytes());
        for group in slots.iter() {
            buffer.extend_from_slice(&group.to_le_bytes());
        }
        flush_if_full(&mut out, &mut buffer)?;
    }
    out.write_all(&buffer)?;
    buffer.clear();
    {
        let videos = index.videos.read().expect("lock");
        out.write_all(&(videos.entries.len() as u64).to_le_bytes())?;
        for (signal, vpdq) in &videos.entries {
            let text = vpdq.to_text();
            out.write_all(&signal.to_le_bytes())?;
            out.write_all(&(text.len() as u32).to_le_bytes())?;
            out.write_all(text.as_bytes())?;
        }
    }
    write_digests(&mut out, &index.md5)?;
    write_digests(&mut out, &index.sha1)?;
    write_digests(&mut out, &index.sha256)?;
    let (mut inner, crc) = out.finish();
    inner.write_all(&crc.to_le_bytes())?;
    let pdq_offset = inner.stream_position()?;
    index
        .pdq
        .write_snapshot(&mut inner)
        .map_err(io::Error::other)?;
    inner.flush()?;
    Ok(pdq_offset)
}

fn flush_if_full(out: &mut impl Write, buffer: &mut Vec<u8>) -> io::Result<()> {
    if buffer.len() >= CHUNK {
        out.write_all(buffer)?;
        buffer.clear();
    }
    Ok(())
}

fn write_digests<D: Digest>(out: &mut impl Write, set: &DigestSet<D>) -> io::Result<()> {
    out.write_all(&(set.len() as u64).to_le_bytes())?;
    let mut buffer = Vec::with_capacity(CHUNK + 64);
    let mut failed = Ok(());
    set.for_each_sorted(|digest, id| {
        if failed.is_err() {
            return;
        }
        buffer.extend_from_slice(digest.bytes());
        buffer.extend_from_slice(&id.to_le_bytes());
        failed = flush_if_full(out, &mut buffer);
    });
    failed?;
    out.write_all(&buffer)
}

/// Removes the temporary files of writes of the snapshot at `path` that were cut short (a
/// node killed while writing it; their names end with its process id and `.tmp`), but for
/// `ours`.
pub fn remove_leftovers(path: &std::path::Path, ours: &std::path::Path) {
    let (Some(directory), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let directory = if directory.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        directory
    };
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        let leftover = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if leftover && entry.path() != ours {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Opens the snapshot at `path` and reads its head.
pub fn open(path: &std::path::Path) -> Result<Opened, Refusal> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(Refusal::Missing),
        Err(error) => return Err(Refusal::Unreadable(error)),
    };
    let len = file.metadata().map_err(Refusal::Unreadable)?.len();
    let head = Input::new(&file, 0, len).head()?;
    Ok(Opened { head, file, len })
}

/// Reads the rest of an opened snapshot: the PDQ index on a thread of its own while this one
/// reads the other parts.
pub fn read_body(opened: &Opened) -> Result<Parts, Refusal> {
    if opened.head.pdq_offset > opened.len {
        return Err(damaged("the PDQ index's offset lies past the end"));
    }
    let (pdq, rest) = std::thread::scope(|scope| {
        let pdq = scope.spawn(|| {
            let mut at = At {
                file: &opened.file,
                pos: opened.head.pdq_offset,
            };
            PdqIndex::read_snapshot(&mut at).map_err(|e| damaged(e.to_string()))
        });
        let rest = read_rest(opened);
        (pdq.join(), rest)
    });
    let pdq = pdq.map_err(|_| damaged("reading the PDQ index panicked"))??;
    let (located, sizes, groups, videos, md5, sha1, sha256) = rest?;
    let parts = Parts {
        located,
        sizes,
        groups,
        videos,
        md5,
        sha1,
        sha256,
        pdq,
    };
    // Every indexed signal is located, and only those.
    let indexed = parts.pdq.len()
        + parts.md5.len()
        + parts.sha1.len()
        + parts.sha256.len()
        + parts.videos.len();
    if indexed != parts.located.len() {
        return Err(damaged(format!(
            "{} signals indexed, {} located",
            indexed,
            parts.located.len()
        )));
    }
    Ok(parts)
}

type Rest = (
    IdMap<i64, Located>,
    std::collections::HashMap<BankId, [usize; 5]>,
    Vec<(i64, Box<[u32; PAGE]>)>,
    std::collections::HashMap<i64, Vpdq>,
    DigestSet<Md5>,
    DigestSet<Sha1>,
    DigestSet<Sha256>,
);

fn read_rest(opened: &Opened) -> Result<Rest, Refusal> {
    let mut input = Input::new(&opened.file, 0, opened.head.pdq_offset);
    if input.head()? != opened.head {
        return Err(damaged("its head changed while it was read"));
    }

    let count = input.count(24)?;
    let mut located = IdMap::with_capacity_and_hasher(count, Default::default());
    input.records(count, 24, |r| {
        located.insert(
            i64_at(r, 0),
            Located {
                content: ContentId(i64_at(r, 8)),
                bank: BankId(i64_at(r, 16)),
            },
        );
    })?;
    if located.len() != count {
        return Err(damaged("a signal is located twice"));
    }

    let count = input.count(48)?;
    let mut sizes = std::collections::HashMap::with_capacity(count);
    input.records(count, 48, |r| {
        let mut counts = [0usize; 5];
        for (k, n) in counts.iter_mut().enumerate() {
            *n = usize::try_from(i64_at(r, 8 + 8 * k) as u64).unwrap_or(usize::MAX);
        }
        sizes.insert(BankId(i64_at(r, 0)), counts);
    })?;

    let page_bytes = 8 + 4 * PAGE;
    let count = input.count(page_bytes)?;
    let mut groups = Vec::with_capacity(count);
    input.records(count, page_bytes, |r| {
        let mut slots = Box::new([0u32; PAGE]);
        for (k, slot) in slots.iter_mut().enumerate() {
            let at = 8 + 4 * k;
            *slot = u32::from_le_bytes(r[at..at + 4].try_into().expect("4 bytes"));
        }
        groups.push((i64_at(r, 0), slots));
    })?;

    let count = input.count(12)?;
    let mut videos = std::collections::HashMap::with_capacity(count);
    for _ in 0..count {
        let signal = input.i64()?;
        let len = input.u32()? as usize;
        if len as u64 > input.left() {
            return Err(damaged("a video's text runs past the end"));
        }
        let mut text = vec![0u8; len];
        input.bytes(&mut text)?;
        let vpdq = std::str::from_utf8(&text)
            .ok()
            .and_then(|text| Vpdq::parse_text(text).ok())
            .ok_or_else(|| damaged("a video's vPDQ does not parse"))?;
        videos.insert(signal, vpdq);
    }

    let md5 = input.digests()?;
    let sha1 = input.digests()?;
    let sha256 = input.digests()?;

    let expected = input.crc.clone().finalize();
    let mut trailer = [0u8; 4];
    input.raw(&mut trailer)?;
    if u32::from_le_bytes(trailer) != expected {
        return Err(damaged("checksum mismatch"));
    }
    if input.pos != opened.head.pdq_offset {
        return Err(damaged("the PDQ index does not start where the rest ends"));
    }
    Ok((located, sizes, groups, videos, md5, sha1, sha256))
}

fn i64_at(record: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(record[at..at + 8].try_into().expect("8 bytes"))
}

/// The digests the sets hold, as bytes.
trait Digest: Copy + Ord {
    const LEN: usize;
    fn bytes(&self) -> &[u8];
    fn of(bytes: &[u8]) -> Self;
}

macro_rules! digest {
    ($t:ty, $n:expr) => {
        impl Digest for $t {
            const LEN: usize = $n;
            fn bytes(&self) -> &[u8] {
                self.as_bytes()
            }
            fn of(bytes: &[u8]) -> $t {
                <$t>::from_bytes(bytes.try_into().expect("digest length"))
            }
        }
    };
}

digest!(Md5, 16);
digest!(Sha1, 20);
digest!(Sha256, 32);

/// Reads a file from a position of its own (`pread`), so that two threads read one file.
struct At<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The checked part of a snapshot, read up to `end`, feeding the checksum.
struct Input<'a> {
    reader: BufReader<At<'a>>,
    pos: u64,
    end: u64,
    crc: crc32fast::Hasher,
    chunk: Vec<u8>,
}

impl<'a> Input<'a> {
    fn new(file: &'a File, pos: u64, end: u64) -> Input<'a> {
        Input {
            reader: BufReader::with_capacity(CHUNK, At { file, pos }),
            pos,
            end,
            crc: crc32fast::Hasher::new(),
            chunk: Vec::new(),
        }
    }

    fn left(&self) -> u64 {
        self.end.saturating_sub(self.pos)
    }

    /// Reads exactly `out.len()` bytes without feeding the checksum.
    fn raw(&mut self, out: &mut [u8]) -> Result<(), Refusal> {
        if out.len() as u64 > self.left() {
            return Err(damaged("truncated"));
        }
        self.reader
            .read_exact(out)
            .map_err(|error| match error.kind() {
                io::ErrorKind::UnexpectedEof => damaged("truncated"),
                _ => Refusal::Unreadable(error),
            })?;
        self.pos += out.len() as u64;
        Ok(())
    }

    fn bytes(&mut self, out: &mut [u8]) -> Result<(), Refusal> {
        self.raw(out)?;
        self.crc.update(out);
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, Refusal> {
        let mut bytes = [0u8; 4];
        self.bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn i64(&mut self) -> Result<i64, Refusal> {
        let mut bytes = [0u8; 8];
        self.bytes(&mut bytes)?;
        Ok(i64::from_le_bytes(bytes))
    }

    /// A count of records of at least `each` bytes, checked against what is left.
    fn count(&mut self, each: usize) -> Result<usize, Refusal> {
        let count = self.i64()? as u64;
        match count.checked_mul(each as u64) {
            Some(bytes) if bytes <= self.left() => Ok(count as usize),
            _ => Err(damaged("a count runs past the end")),
        }
    }

    /// Reads `count` records of `each` bytes, a chunk at a time.
    fn records(
        &mut self,
        count: usize,
        each: usize,
        mut record: impl FnMut(&[u8]),
    ) -> Result<(), Refusal> {
        let per_chunk = (CHUNK / each).max(1);
        let mut chunk = std::mem::take(&mut self.chunk);
        let mut left = count;
        while left > 0 {
            let n = left.min(per_chunk);
            chunk.resize(n * each, 0);
            self.bytes(&mut chunk)?;
            chunk.chunks_exact(each).for_each(&mut record);
            left -= n;
        }
        self.chunk = chunk;
        Ok(())
    }

    fn head(&mut self) -> Result<Head, Refusal> {
        let mut magic = [0u8; 12];
        self.bytes(&mut magic)?;
        if &magic[..8] != MAGIC {
            return Err(damaged("not a Ward index snapshot"));
        }
        let version = u32::from_le_bytes(magic[8..].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(damaged(format!(
                "version {version} (this Ward reads {VERSION})"
            )));
        }
        let mut offset = [0u8; 8];
        self.raw(&mut offset)?;
        let (cursor, cursor_signal) = (self.i64()?, self.i64()?);
        let (written_at, signals) = (self.i64()?, self.i64()?);
        let len = self.u32()? as usize;
        if len > 1024 {
            return Err(damaged("the deployment's name is too long"));
        }
        let mut deployment = vec![0u8; len];
        self.bytes(&mut deployment)?;
        let deployment =
            String::from_utf8(deployment).map_err(|_| damaged("the deployment is not text"))?;
        Ok(Head {
            deployment,
            cursor: Seq(cursor),
            cursor_signal,
            written_at,
            signals,
            pdq_offset: u64::from_le_bytes(offset),
        })
    }

    fn digests<D: Digest>(&mut self) -> Result<DigestSet<D>, Refusal> {
        let each = D::LEN + 8;
        let count = self.count(each)?;
        let mut entries = Vec::with_capacity(count);
        self.records(count, each, |r| {
            let id = u64::from_le_bytes(r[D::LEN..].try_into().expect("8 bytes"));
            entries.push((D::of(&r[..D::LEN]), id));
        })?;
        DigestSet::from_sorted(entries).ok_or_else(|| damaged("digests out of order"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use ward_core::lists::Signal;
    use ward_store::{SignalChange, SignalId, SignalKind};

    use super::*;

    const PDQ: [&str; 3] = [
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
        "3b1ad2c5e6f70812a4b6c8d0e2f41628a3c5e7f90b1d2f4152637485960a1b2c",
        "9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b",
    ];

    /// A feed entry: signal `signal` of content `content` in bank `bank`.
    fn change(signal: i64, content: i64, bank: i64, kind: SignalKind, value: &str) -> SignalChange {
        SignalChange {
            seq: Seq(signal),
            signal: SignalId(signal),
            content: ContentId(content),
            bank: BankId(bank),
            kind,
            value: value.to_owned(),
            active: true,
            summary_group: Some(content / 2),
        }
    }

    /// An index of every kind of signal, some removed again.
    fn index() -> BankIndex {
        let video = format!(r#"["{},100,0.0","{},90,1.0"]"#, PDQ[0], PDQ[1]);
        let mut changes = vec![
            change(1, 10, 1, SignalKind::Pdq, PDQ[0]),
            change(2, 11, 1, SignalKind::Pdq, PDQ[1]),
            change(3, 12, 2, SignalKind::Pdq, PDQ[2]),
            change(
                4,
                12,
                2,
                SignalKind::Md5,
                "d41d8cd98f00b204e9800998ecf8427e",
            ),
            change(
                5,
                13,
                2,
                SignalKind::Md5,
                "0cc175b9c0f1b6a831c399e269772661",
            ),
            change(6, 3000, 1, SignalKind::Sha1, &"ab".repeat(20)),
            change(7, 3001, 1, SignalKind::Sha256, &"cd".repeat(32)),
            change(8, 3002, 3, SignalKind::Vpdq, &video),
        ];
        let mut removed = change(2, 11, 1, SignalKind::Pdq, PDQ[1]);
        removed.seq = Seq(9);
        removed.active = false;
        changes.push(removed);
        let index = BankIndex::default();
        index
            .summaries
            .facts()
            .set_groups(changes.iter().map(|c| (c.content, c.summary_group)));
        for change in &changes {
            index.apply(change);
        }
        index.rebuild_videos();
        index.cursor.store(9, Ordering::Release);
        index.cursor_signal.store(2, Ordering::Release);
        index
    }

    fn written(index: &BankIndex) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.snapshot");
        let mut file = File::create(&path).unwrap();
        let len = write(index, "deployment-key", 1234, &mut file).unwrap();
        drop(file);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, len);
        (dir, path, bytes)
    }

    fn read(path: &Path) -> Result<Parts, Refusal> {
        read_body(&open(path)?)
    }

    fn sorted<D: Digest>(set: &DigestSet<D>) -> Vec<(Vec<u8>, u64)> {
        let mut pairs = Vec::new();
        set.for_each_sorted(|d, id| pairs.push((d.bytes().to_vec(), id)));
        pairs
    }

    use std::path::Path;

    #[test]
    fn reads_back_what_it_wrote() {
        let index = index();
        let (_dir, path, _) = written(&index);
        let opened = open(&path).unwrap();
        assert_eq!(opened.head.deployment, "deployment-key");
        assert_eq!(
            (
                opened.head.cursor,
                opened.head.cursor_signal,
                opened.head.written_at
            ),
            (Seq(9), 2, 1234)
        );
        assert_eq!(opened.head.signals, 7);
        let parts = read_body(&opened).unwrap();
        assert_eq!(parts.located, *index.located.read().unwrap());
        assert_eq!(parts.located.len(), 7);
        assert_eq!(parts.videos.len(), 1);
        assert_eq!(parts.sizes, *index.sizes.lock().unwrap());
        assert_eq!(parts.groups, index.summaries.facts().group_pages());
        assert_eq!(parts.videos, index.videos.read().unwrap().entries);
        assert_eq!(sorted(&parts.md5), sorted(&index.md5));
        assert_eq!(sorted(&parts.sha1), sorted(&index.sha1));
        assert_eq!(sorted(&parts.sha256), sorted(&index.sha256));
        assert_eq!(parts.pdq.len(), 2);
        for hash in PDQ {
            let Ok(Signal::Pdq(hash)) = Signal::parse(ward_core::lists::SignalType::Pdq, hash)
            else {
                panic!("a PDQ hash");
            };
            let (mut found, mut wanted) = (Vec::new(), Vec::new());
            parts.pdq.search_radius(&hash, 31, &mut found);
            index.pdq.search_radius(&hash, 31, &mut wanted);
            found.sort_unstable();
            wanted.sort_unstable();
            assert_eq!(found, wanted);
        }
    }

    #[test]
    fn an_empty_index_reads_back() {
        let index = BankIndex::default();
        let (_dir, path, _) = written(&index);
        let parts = read(&path).unwrap();
        assert!(parts.located.is_empty() && parts.pdq.is_empty() && parts.groups.is_empty());
    }

    /// A byte changed, or the file cut short, anywhere is refused (never a panic): every
    /// byte of the head, bytes spread over the rest of Ward's part and over the PDQ index's
    /// (ward-core's, tested there; each read of it here takes milliseconds).
    #[test]
    fn refuses_every_damaged_byte_and_every_truncation() {
        let (_dir, path, good) = written(&index());
        let pdq_offset = open(&path).unwrap().head.pdq_offset as usize;
        assert!(read(&path).is_ok());
        let spread = |from: usize, to: usize, n: usize| (from..to).step_by((to - from) / n + 1);
        let places = (0..128)
            .chain(spread(128, pdq_offset + 64, 150))
            .chain(spread(pdq_offset + 64, good.len(), 60));
        for at in places.clone().chain([pdq_offset - 4, pdq_offset - 1]) {
            let mut bad = good.clone();
            bad[at] ^= 0x08;
            std::fs::write(&path, &bad).unwrap();
            assert!(
                matches!(read(&path), Err(Refusal::Damaged(_))),
                "byte {at} of {}",
                good.len()
            );
        }
        for len in places {
            std::fs::write(&path, &good[..len]).unwrap();
            assert!(
                matches!(read(&path), Err(Refusal::Damaged(_))),
                "cut at {len} of {}",
                good.len()
            );
        }
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(open(&path), Err(Refusal::Missing)));
    }

    #[test]
    fn writes_cut_short_are_removed_but_ours_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.snapshot");
        let names = [
            ("index.snapshot", true),
            ("index.snapshot.123.tmp", false),
            ("index.snapshot.77.tmp", true), // ours
            ("index.snapshot..tmp", true),
            ("index.snapshot.12a.tmp", true),
            ("other.snapshot.5.tmp", true),
            ("index.snapshot.5.tmp.keep", true),
        ];
        for (name, _) in names {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        remove_leftovers(&path, &dir.path().join("index.snapshot.77.tmp"));
        for (name, kept) in names {
            assert_eq!(dir.path().join(name).exists(), kept, "{name}");
        }
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let (_dir, path, mut bytes) = written(&index());
        bytes[8] = 2;
        std::fs::write(&path, &bytes).unwrap();
        let refusal = open(&path).unwrap_err().to_string();
        assert!(refusal.contains("version 2"), "{refusal}");
    }
}
