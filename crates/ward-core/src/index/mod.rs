//! Matching: here is a hash, give me the stored hashes near it (PDQ, by Hamming distance) or
//! equal to it (MD5, SHA-1, SHA-256), each with the id the caller maps to content.
//!
//! Indexes are derived state: the store is the truth, and an index can always be rebuilt
//! from it (or reloaded from a snapshot).

pub mod digests;
mod pdq;

pub use digests::{DigestSet, Md5Set, Sha1Set, Sha256Set};
pub use pdq::{PdqIndex, PdqMatch, PdqQuerySet};

/// A writer that keeps the CRC-32 (IEEE) of every byte written through it, for the
/// checksummed snapshot files of indexes (this crate's and the server's own).
#[derive(Debug)]
pub struct ChecksumWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: std::io::Write> ChecksumWriter<W> {
    pub fn new(inner: W) -> ChecksumWriter<W> {
        ChecksumWriter {
            inner,
            crc: crc32fast::Hasher::new(),
        }
    }

    /// The writer underneath, for bytes that are not to count in the checksum.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The writer underneath and the checksum of everything written through this one.
    pub fn finish(self) -> (W, u32) {
        (self.inner, self.crc.finalize())
    }
}

impl<W: std::io::Write> std::io::Write for ChecksumWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
