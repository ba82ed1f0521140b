//! Entries that belong to no family, indexed by their 16 chunks (multi-index hashing).
//!
//! Unrelated hashes are about 128 bits apart and carry no structure to prune with, so
//! without an index every query would read all of them. Split a hash into 16 chunks of 16
//! bits: two hashes within distance `r` have some chunk within `r / 16` bits of each other
//! (if every chunk differed by more, the total would exceed `r`). So for each chunk, the
//! entries whose chunk value lies within `r / 16` bits of the query's are the only
//! candidates: at radius 31 that is 17 values per chunk, about 272 table slots out of a
//! million. Each candidate is checked at its full distance, and counted only from the first
//! chunk that can produce it, so nothing is reported twice.
//!
//! The tables are sorted arrays (one counting sort per chunk), four bytes per entry per
//! chunk: 64 bytes for each loose entry, the price of answering in a millisecond instead of
//! reading every loose hash. Built at once with the index; entries inserted later wait in
//! scanned pages until the next rebuild; removed entries are marked and skipped.

use rayon::prelude::*;

use super::PdqMatch;
use super::families::chunk;
use crate::pdq::PdqHash;

/// The chunk values within `flips` bits of a 16-bit value.
fn neighbours(value: u16, flips: u32, out: &mut Vec<u16>) {
    out.clear();
    out.push(value);
    if flips >= 1 {
        for a in 0..16 {
            out.push(value ^ (1 << a));
        }
    }
    if flips >= 2 {
        for a in 0..16 {
            for b in a + 1..16 {
                out.push(value ^ (1 << a) ^ (1 << b));
            }
        }
    }
    if flips >= 3 {
        for a in 0..16 {
            for b in a + 1..16 {
                for c in b + 1..16 {
                    out.push(value ^ (1 << a) ^ (1 << b) ^ (1 << c));
                }
            }
        }
    }
}

/// How many values `neighbours` yields for `flips`.
fn neighbour_count(flips: u32) -> usize {
    [1, 17, 137, 697][flips.min(3) as usize]
}

/// A loose index's arrays, borrowed for writing a snapshot.
pub(super) struct LooseParts<'a> {
    pub(super) hashes: &'a [PdqHash],
    pub(super) ids: &'a [u64],
    pub(super) removed: &'a [u64],
    pub(super) offsets: &'a [u32],
    pub(super) postings: &'a [u32],
}

#[derive(Debug, Default)]
pub(super) struct LooseIndex {
    hashes: Vec<PdqHash>,
    ids: Vec<u64>,
    /// One bit per entry: removed.
    removed: Vec<u64>,
    removed_count: usize,
    /// For each chunk, where each value's entries start in `postings` (65537 per chunk).
    offsets: Vec<u32>,
    /// For each chunk, the entry numbers ordered by chunk value.
    postings: Vec<u32>,
}

impl LooseIndex {
    pub(super) fn build(hashes: Vec<PdqHash>, ids: Vec<u64>) -> LooseIndex {
        let n = hashes.len();
        // Each table is written in place in the one array that keeps them all (a table
        // apiece, then copied together, wrote and faulted in twice the memory).
        let mut offsets = vec![0u32; 16 * 65537];
        let mut postings = vec![0u32; 16 * n];
        offsets
            .par_chunks_mut(65537)
            .zip(postings.par_chunks_mut(n.max(1)))
            .enumerate()
            .for_each(|(t, (offsets, postings))| {
                for hash in &hashes {
                    offsets[usize::from(chunk(hash, t)) + 1] += 1;
                }
                for v in 0..65536 {
                    offsets[v + 1] += offsets[v];
                }
                let mut next = offsets[..65536].to_vec();
                for (k, hash) in hashes.iter().enumerate() {
                    let v = usize::from(chunk(hash, t));
                    postings[next[v] as usize] = k as u32;
                    next[v] += 1;
                }
            });
        LooseIndex {
            removed: vec![0; n.div_ceil(64)],
            removed_count: 0,
            hashes,
            ids,
            offsets,
            postings,
        }
    }

    /// The stored arrays, for snapshots.
    pub(super) fn parts(&self) -> LooseParts<'_> {
        LooseParts {
            hashes: &self.hashes,
            ids: &self.ids,
            removed: &self.removed,
            offsets: &self.offsets,
            postings: &self.postings,
        }
    }

    /// Reassembles an index from a snapshot's arrays, checking that they fit together
    /// (so that a damaged file cannot make a lookup go out of bounds).
    pub(super) fn from_parts(
        hashes: Vec<PdqHash>,
        ids: Vec<u64>,
        removed: Vec<u64>,
        offsets: Vec<u32>,
        postings: Vec<u32>,
    ) -> Option<LooseIndex> {
        let n = hashes.len();
        if n == 0 {
            return (ids.is_empty()
                && removed.is_empty()
                && offsets.is_empty()
                && postings.is_empty())
            .then(LooseIndex::default);
        }
        if ids.len() != n
            || removed.len() != n.div_ceil(64)
            || offsets.len() != 16 * 65537
            || postings.len() != 16 * n
        {
            return None;
        }
        for table in offsets.chunks_exact(65537) {
            if table[0] != 0 || table[65536] as usize != n || table.windows(2).any(|w| w[0] > w[1])
            {
                return None;
            }
        }
        if postings.iter().any(|&k| k as usize >= n) {
            return None;
        }
        if !n.is_multiple_of(64) && removed[n / 64] >> (n % 64) != 0 {
            return None;
        }
        let removed_count = removed.iter().map(|w| w.count_ones() as usize).sum();
        Some(LooseIndex {
            hashes,
            ids,
            removed,
            removed_count,
            offsets,
            postings,
        })
    }

    /// Entries not removed.
    pub(super) fn len(&self) -> usize {
        self.hashes.len() - self.removed_count
    }

    pub(super) fn memory_bytes(&self) -> usize {
        self.hashes.capacity() * size_of::<PdqHash>()
            + self.ids.capacity() * 8
            + self.removed.capacity() * 8
            + self.offsets.capacity() * 4
            + self.postings.capacity() * 4
    }

    fn is_removed(&self, k: usize) -> bool {
        self.removed[k / 64] & (1 << (k % 64)) != 0
    }

    /// Every entry not removed, for rebuilding and snapshots.
    pub(super) fn entries(&self) -> impl Iterator<Item = (PdqHash, u64)> + '_ {
        (0..self.hashes.len())
            .filter(|&k| !self.is_removed(k))
            .map(|k| (self.hashes[k], self.ids[k]))
    }

    fn postings(&self, t: usize, value: u16) -> &[u32] {
        let n = self.hashes.len();
        let table = &self.offsets[t * 65537..(t + 1) * 65537];
        let (start, end) = (
            table[usize::from(value)] as usize,
            table[usize::from(value) + 1] as usize,
        );
        &self.postings[t * n + start..t * n + end]
    }

    /// Marks one entry with this hash and id removed; returns whether there was one.
    pub(super) fn remove(&mut self, hash: &PdqHash, id: u64) -> bool {
        if self.hashes.is_empty() {
            return false;
        }
        let found = self
            .postings(0, chunk(hash, 0))
            .iter()
            .map(|&k| k as usize)
            .find(|&k| !self.is_removed(k) && self.ids[k] == id && self.hashes[k] == *hash);
        match found {
            Some(k) => {
                self.removed[k / 64] |= 1 << (k % 64);
                self.removed_count += 1;
                true
            }
            None => false,
        }
    }

    /// Appends every entry within `radius` of `query` to `out`.
    #[inline(always)]
    pub(super) fn search(&self, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) {
        let n = self.hashes.len();
        if n == 0 {
            return;
        }
        let flips = radius / 16;
        // When the probes would touch a large part of the entries anyway, read them all.
        let expected = 16 * neighbour_count(flips) as u64 * n as u64 / 65536;
        if flips > 3 || expected > n as u64 / 4 {
            self.scan(query, radius, out);
            return;
        }
        let mut values = Vec::with_capacity(neighbour_count(flips));
        let mut candidates: Vec<u32> = Vec::new();
        for t in 0..16 {
            neighbours(chunk(query, t), flips, &mut values);
            candidates.clear();
            for &value in &values {
                candidates.extend_from_slice(self.postings(t, value));
            }
            self.check(query, radius, t, flips, &candidates, out);
        }
    }

    /// Checks the candidates of chunk `t`, skipping those an earlier chunk already produced.
    #[inline(always)]
    fn check(
        &self,
        query: &PdqHash,
        radius: u32,
        t: usize,
        flips: u32,
        candidates: &[u32],
        out: &mut Vec<PdqMatch>,
    ) {
        const AHEAD: usize = 16;
        for (at, &k) in candidates.iter().enumerate() {
            // The candidates are scattered through memory: ask for a later one in advance.
            #[cfg(target_arch = "x86_64")]
            if let Some(&later) = candidates.get(at + AHEAD) {
                // SAFETY: prefetching is a hint; the address is inside `hashes`.
                unsafe {
                    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                    _mm_prefetch::<_MM_HINT_T0>(
                        self.hashes.as_ptr().add(later as usize) as *const i8
                    );
                }
            }
            let k = k as usize;
            let hash = &self.hashes[k];
            let distance = hash.distance(query);
            if distance > radius {
                continue;
            }
            let earlier = (0..t).any(|s| (chunk(hash, s) ^ chunk(query, s)).count_ones() <= flips);
            if !earlier && !self.is_removed(k) {
                out.push(PdqMatch {
                    distance,
                    id: self.ids[k],
                    hash: *hash,
                });
            }
        }
    }

    /// Reads every entry.
    #[inline(always)]
    pub(super) fn scan(&self, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) {
        let mut found = |k: usize, distance: u32| {
            if !self.is_removed(k) {
                out.push(PdqMatch {
                    distance,
                    id: self.ids[k],
                    hash: self.hashes[k],
                });
            }
        };
        super::scan::within(&self.hashes, query, radius, &mut found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_all_values_within_the_flips() {
        let mut out = Vec::new();
        for flips in 0..=3 {
            neighbours(0xA5C3, flips, &mut out);
            assert_eq!(out.len(), neighbour_count(flips));
            let mut sorted = out.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), out.len(), "duplicates at {flips}");
            assert!(out.iter().all(|v| (v ^ 0xA5C3).count_ones() <= flips));
        }
    }
}
