//! The input of the streamed readers, and the one bound on a record: [`MAX_RECORD`] bytes
//! for a line of a list (plain, CSV, HMA's JSON lines, the API's NDJSON: [`read_line`]) and
//! for a record of a JSON or XML document ([`Tracked`]: the line reached, the record's
//! budget, and a UTF-8 byte-order mark dropped).
//!
//! The parsers own the reader they are given, so what the wrapper learns is shared with the
//! reader's code through a [`Progress`] behind an `Rc`.

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

/// The most bytes one record may take, in every streamed format: a line of a list (without
/// its line feed), an element of a JSON array, an XML entry. The readers hold a record whole,
/// so this bounds the memory a hostile file can ask for. A real record takes a few kilobytes;
/// a vPDQ signal about 85 bytes per hashed frame (1.3 MB for four hours at a frame a second,
/// 9 MB for an hour of every frame at 30 per second).
pub const MAX_RECORD: u64 = 16 * 1024 * 1024;

/// Reads the next line of `input` into `buffer`, without its line feed (a carriage return
/// before it stays): `Ok(None)` at the end of the input, `Ok(Some(false))` for a line longer
/// than [`MAX_RECORD`] bytes, which is read to its end a piece at a time and dropped (never
/// held whole), else `Ok(Some(true))`. The last line needs no line feed.
pub fn read_line(input: &mut impl BufRead, buffer: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buffer.clear();
    // A whole line and its line feed; a piece this long without one is too long.
    let limit = MAX_RECORD + 1;
    let read = input.by_ref().take(limit).read_until(b'\n', buffer)?;
    if read == 0 {
        return Ok(None);
    }
    if buffer.last() == Some(&b'\n') {
        buffer.pop();
        return Ok(Some(true));
    }
    if read as u64 == limit {
        loop {
            buffer.clear();
            let read = input.by_ref().take(limit).read_until(b'\n', buffer)?;
            if read == 0 || buffer.last() == Some(&b'\n') {
                break;
            }
        }
        buffer.clear();
        return Ok(Some(false));
    }
    Ok(Some(true))
}

/// What the reader has seen so far, as the parsers' callers see it.
#[derive(Debug)]
pub struct Progress {
    /// Line feeds consumed.
    newlines: Cell<u64>,
    /// Bytes the current record may still take.
    remaining: Cell<u64>,
    /// Whether a record went over [`MAX_RECORD`].
    exceeded: Cell<bool>,
}

impl Progress {
    /// The 1-based line of the next byte to be read.
    pub fn line(&self) -> u64 {
        self.newlines.get() + 1
    }

    /// Starts a record's budget: it may take [`MAX_RECORD`] bytes from here.
    pub fn reset_budget(&self) {
        self.remaining.set(MAX_RECORD);
    }

    /// Whether reading failed because a record went over [`MAX_RECORD`].
    pub fn exceeded(&self) -> bool {
        self.exceeded.get()
    }
}

/// A reader that counts lines, enforces [`MAX_RECORD`] and drops a leading byte-order mark.
#[derive(Debug)]
pub struct Tracked<R> {
    inner: R,
    progress: Rc<Progress>,
    /// Bytes of the byte-order mark matched so far; 3 once the start has been checked.
    bom: usize,
}

const BOM: &[u8; 3] = b"\xef\xbb\xbf";

impl<R: BufRead> Tracked<R> {
    pub fn new(inner: R) -> (Tracked<R>, Rc<Progress>) {
        let progress = Rc::new(Progress {
            newlines: Cell::new(0),
            remaining: Cell::new(MAX_RECORD),
            exceeded: Cell::new(false),
        });
        let tracked = Tracked {
            inner,
            progress: Rc::clone(&progress),
            bom: 0,
        };
        (tracked, progress)
    }

    /// Drops the byte-order mark, a byte at a time so that one split across reads is found
    /// too. Bytes that start like one and then differ are dropped with it: such input is not
    /// UTF-8 text, and fails to parse either way.
    fn skip_bom(&mut self) -> io::Result<()> {
        while self.bom < BOM.len() {
            let buffer = self.inner.fill_buf()?;
            match buffer.first() {
                Some(&byte) if byte == BOM[self.bom] => {
                    self.inner.consume(1);
                    self.bom += 1;
                }
                _ => self.bom = BOM.len(),
            }
        }
        Ok(())
    }
}

impl<R: BufRead> BufRead for Tracked<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.skip_bom()?;
        let remaining = self.progress.remaining.get();
        if remaining == 0 {
            // A record may take exactly its budget when the input ends there.
            if self.inner.fill_buf()?.is_empty() {
                return Ok(&[]);
            }
            self.progress.exceeded.set(true);
            return Err(io::Error::other(format!(
                "a record is longer than {} MiB",
                MAX_RECORD / (1024 * 1024)
            )));
        }
        let buffer = self.inner.fill_buf()?;
        let len = buffer
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        Ok(&buffer[..len])
    }

    fn consume(&mut self, amount: usize) {
        // The bytes are still in the inner buffer: `fill_buf` again does no I/O until they
        // are consumed.
        if let Ok(buffer) = self.inner.fill_buf() {
            let consumed = &buffer[..amount.min(buffer.len())];
            let newlines = consumed.iter().filter(|&&b| b == b'\n').count() as u64;
            self.progress
                .newlines
                .set(self.progress.newlines.get() + newlines);
        }
        let remaining = self.progress.remaining.get();
        self.progress
            .remaining
            .set(remaining.saturating_sub(amount as u64));
        self.inner.consume(amount);
    }
}

impl<R: BufRead> Read for Tracked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buffer = self.fill_buf()?;
        let n = buffer.len().min(out.len());
        out[..n].copy_from_slice(&buffer[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], capacity: usize) -> (Vec<u8>, u64) {
        let reader = io::BufReader::with_capacity(capacity, input);
        let (mut tracked, progress) = Tracked::new(reader);
        let mut out = Vec::new();
        tracked.read_to_end(&mut out).unwrap();
        (out, progress.line())
    }

    #[test]
    fn drops_a_bom_and_counts_lines() {
        for capacity in [1, 2, 3, 1000] {
            assert_eq!(
                read_all(b"\xef\xbb\xbfa\nb\n", capacity),
                (b"a\nb\n".to_vec(), 3)
            );
            assert_eq!(
                read_all(b"a\xef\xbb\xbf", capacity),
                (b"a\xef\xbb\xbf".to_vec(), 1)
            );
            assert_eq!(read_all(b"", capacity), (Vec::new(), 1));
            assert_eq!(read_all(b"\xef\xbb", capacity), (Vec::new(), 1));
        }
    }

    /// Every line of `input` read through a small buffer: its length, or `None` when too long.
    fn lines(input: &[u8]) -> Vec<Option<usize>> {
        let mut reader = io::BufReader::with_capacity(1000, input);
        let mut buffer = Vec::new();
        let mut out = Vec::new();
        while let Some(kept) = read_line(&mut reader, &mut buffer).unwrap() {
            out.push(kept.then_some(buffer.len()));
            assert!(buffer.capacity() as u64 <= 2 * (MAX_RECORD + 1));
        }
        out
    }

    #[test]
    fn bounds_a_line() {
        let max = MAX_RECORD as usize;
        let line = |length: usize, end: &str| {
            let mut bytes = vec![b'x'; length];
            bytes.extend_from_slice(end.as_bytes());
            bytes
        };
        let check = |input: Vec<u8>, expected: &[Option<usize>]| {
            assert_eq!(lines(&input), expected, "{} bytes", input.len());
        };
        check(Vec::new(), &[]);
        check(line(0, "\n"), &[Some(0)]);
        check(line(3, "\r\n"), &[Some(4)]);
        check(line(max, "\n"), &[Some(max)]);
        check(line(max, ""), &[Some(max)]);
        check(line(max + 1, "\n"), &[None]);
        check(line(max + 1, ""), &[None]);
        check(line(max + 2, ""), &[None]);
        // A line of three records' length without a line feed, then a short one: the long
        // one is dropped, the next is read.
        let mut input = line(3 * max, "\n");
        input.extend(line(5, "\n"));
        check(input, &[None, Some(5)]);
    }

    #[test]
    fn caps_a_record() {
        let input = vec![b'x'; MAX_RECORD as usize + 10];
        let (mut tracked, progress) = Tracked::new(&input[..]);
        let mut out = Vec::new();
        let error = tracked.read_to_end(&mut out).unwrap_err();
        assert_eq!(error.to_string(), "a record is longer than 16 MiB");
        assert_eq!(out.len() as u64, MAX_RECORD);
        assert!(progress.exceeded());
        progress.reset_budget();
        let mut rest = Vec::new();
        tracked.read_to_end(&mut rest).unwrap();
        assert_eq!(rest.len(), 10);
    }
}
