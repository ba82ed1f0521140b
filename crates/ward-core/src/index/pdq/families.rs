//! Finding near-duplicate families among the entries, and the family a new entry joins.

use rayon::prelude::*;

use super::{ASSIGN_RADIUS, GROUP_WINDOW, LINK_RADIUS};
use crate::pdq::PdqHash;

/// A pseudo-random subset of `members`, enough to find families without comparing
/// everything: at least a quarter of a million entries, or an eighth of the index. (Chosen
/// by hashing positions, so that no regularity in the order of entries biases it.)
pub(super) fn sample(members: &[u32], total: usize) -> Vec<u32> {
    let want = (total / 8).max(1 << 18);
    if members.len() <= want {
        return members.to_vec();
    }
    let threshold = ((want as u128 * u128::from(u64::MAX)) / members.len() as u128) as u64;
    members
        .iter()
        .copied()
        .filter(|&i| mix(u64::from(i)) <= threshold)
        .collect()
}

/// SplitMix64's finaliser: a fixed, well-spread permutation of 64-bit numbers.
pub(super) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The 16-bit chunk `t` (0..16) of a hash.
#[inline(always)]
pub(super) fn chunk(hash: &PdqHash, t: usize) -> u16 {
    (hash.words()[t / 4] >> ((t % 4) * 16)) as u16
}

/// Finds the near-duplicate families among `members` (indices into `hashes`) and returns
/// their centres.
pub(super) fn discover_families(hashes: &[PdqHash], members: &[u32]) -> Vec<PdqHash> {
    let m = members.len();
    if m < 2 {
        return Vec::new();
    }
    // Pairs within LINK_RADIUS that share a chunk exactly, per chunk, in parallel.
    let pairs: Vec<(u32, u32)> = (0..16usize)
        .into_par_iter()
        .flat_map_iter(|t| links_in_chunk(hashes, members, t))
        .collect();
    let mut sets = UnionFind::new(m);
    for (a, b) in pairs {
        sets.union(a, b);
    }
    // Components of two or more members, in order of their first member.
    let mut by_root: Vec<(u32, u32)> = (0..m as u32).map(|i| (sets.find(i), i)).collect();
    by_root.sort_unstable();
    by_root
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|group| group.len() >= 2)
        .map(|group| {
            majority(
                group
                    .iter()
                    .map(|&(_, i)| &hashes[members[i as usize] as usize]),
            )
        })
        .collect()
}

crate::cpu::vectorised! {
    /// Pairs of `members` within LINK_RADIUS of each other that share chunk `t` exactly
    /// (each compared with the next GROUP_WINDOW members of its group).
    fn links_in_chunk(hashes: &[PdqHash], members: &[u32], t: usize) -> Vec<(u32, u32)> = links_in_chunk_inner;
}

#[inline(always)]
fn links_in_chunk_inner(hashes: &[PdqHash], members: &[u32], t: usize) -> Vec<(u32, u32)> {
    let mut by_chunk: Vec<(u16, u32)> = (0..members.len() as u32)
        .map(|i| (chunk(&hashes[members[i as usize] as usize], t), i))
        .collect();
    by_chunk.sort_unstable();
    let mut pairs = Vec::new();
    for group in by_chunk.chunk_by(|a, b| a.0 == b.0) {
        for (k, &(_, i)) in group.iter().enumerate() {
            let a = &hashes[members[i as usize] as usize];
            for &(_, j) in group.iter().skip(k + 1).take(GROUP_WINDOW) {
                if a.distance(&hashes[members[j as usize] as usize]) <= LINK_RADIUS {
                    pairs.push((i, j));
                }
            }
        }
    }
    pairs
}

/// The bitwise majority of a family: each bit set when more than half the members set it.
pub(super) fn majority<'a>(family: impl Iterator<Item = &'a PdqHash>) -> PdqHash {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for hash in family {
        n += 1;
        for (w, word) in hash.words().iter().enumerate() {
            for bit in 0..64 {
                counts[w * 64 + bit] += ((word >> bit) & 1) as u32;
            }
        }
    }
    let mut words = [0u64; 4];
    for (k, &count) in counts.iter().enumerate() {
        if count * 2 > n {
            words[k / 64] |= 1 << (k % 64);
        }
    }
    PdqHash::from_words(words)
}

/// Assigns each of `members` to its nearest centroid within ASSIGN_RADIUS that `search`
/// finds (as bucket `offset + centroid`), leaving the others as they are.
pub(super) fn assign(
    hashes: &[PdqHash],
    members: &[u32],
    index: &ChunkIndex,
    centroids: &[PdqHash],
    offset: u32,
    search: Probes,
    assignment: &mut [u32],
) {
    if centroids.is_empty() {
        return;
    }
    let found: Vec<(u32, u32)> = members
        .par_iter()
        .filter_map(|&i| {
            index
                .nearest(&hashes[i as usize], centroids, search)
                .map(|c| (i, offset + c as u32))
        })
        .collect();
    for (i, bucket) in found {
        assignment[i as usize] = bucket;
    }
}

/// A multi-index over a few centroids: for each of the 16 chunks, the centroids by chunk
/// value (a counting sort: offsets into one array of centroid numbers).
#[derive(Debug, Default)]
pub(super) struct ChunkIndex {
    offsets: Vec<u32>,
    entries: Vec<u32>,
    count: usize,
}

impl ChunkIndex {
    pub(super) fn new(centroids: &[PdqHash]) -> ChunkIndex {
        if centroids.is_empty() {
            return ChunkIndex::default();
        }
        let n = centroids.len();
        let mut offsets = vec![0u32; 16 * 65537];
        let mut entries = vec![0u32; 16 * n];
        for t in 0..16 {
            let table = &mut offsets[t * 65537..(t + 1) * 65537];
            for c in centroids {
                table[usize::from(chunk(c, t)) + 1] += 1;
            }
            for v in 0..65536 {
                table[v + 1] += table[v];
            }
            let mut next: Vec<u32> = table[..65536].to_vec();
            for (k, c) in centroids.iter().enumerate() {
                let v = usize::from(chunk(c, t));
                entries[t * n + next[v] as usize] = k as u32;
                next[v] += 1;
            }
        }
        ChunkIndex {
            offsets,
            entries,
            count: n,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.count
    }

    pub(super) fn memory_bytes(&self) -> usize {
        self.offsets.capacity() * 4 + self.entries.capacity() * 4
    }

    /// The centroids whose chunk `t` equals `value`.
    #[inline(always)]
    fn probe(&self, t: usize, value: u16) -> &[u32] {
        let table = &self.offsets[t * 65537..];
        let (start, end) = (
            table[usize::from(value)] as usize,
            table[usize::from(value) + 1] as usize,
        );
        &self.entries[t * self.count + start..t * self.count + end]
    }

    /// A centroid within ASSIGN_RADIUS that shares a chunk with `hash` exactly or, failing
    /// that, to one bit (the nearest among those of the first chunk that finds any).
    pub(super) fn nearest(
        &self,
        hash: &PdqHash,
        centroids: &[PdqHash],
        search: Probes,
    ) -> Option<usize> {
        nearest_centroid(self, hash, centroids, search)
    }
}

crate::cpu::vectorised! {
    fn nearest_centroid(index: &ChunkIndex, hash: &PdqHash, centroids: &[PdqHash], search: Probes) -> Option<usize> = nearest_centroid_inner;
}

impl ChunkIndex {
    #[inline(always)]
    fn nearest_inner(
        &self,
        hash: &PdqHash,
        centroids: &[PdqHash],
        search: Probes,
    ) -> Option<usize> {
        if self.count == 0 {
            return None;
        }
        // Families lie about 128 bits apart and their members within ASSIGN_RADIUS of the
        // centre, so the first chunk that leads to a centre in reach has found the family:
        // the search stops there rather than probing all 16 chunks (each probe is a cache
        // miss, and building assigns every entry).
        let mut best: Option<(u32, usize)> = None;
        let consider = |best: &mut Option<(u32, usize)>, c: u32| {
            let d = centroids[c as usize].distance(hash);
            if d <= ASSIGN_RADIUS && best.is_none_or(|(bd, bc)| (d, c as usize) < (bd, bc)) {
                *best = Some((d, c as usize));
            }
        };
        for t in 0..16 {
            for &c in self.probe(t, chunk(hash, t)) {
                consider(&mut best, c);
            }
            if best.is_some() {
                return best.map(|(_, c)| c);
            }
        }
        if search == Probes::ExactAndOneBit {
            for t in 0..16 {
                let value = chunk(hash, t);
                for bit in 0..16 {
                    for &c in self.probe(t, value ^ (1 << bit)) {
                        consider(&mut best, c);
                    }
                }
                if best.is_some() {
                    break;
                }
            }
        }
        best.map(|(_, c)| c)
    }
}

#[inline(always)]
fn nearest_centroid_inner(
    index: &ChunkIndex,
    hash: &PdqHash,
    centroids: &[PdqHash],
    search: Probes,
) -> Option<usize> {
    index.nearest_inner(hash, centroids, search)
}

/// How hard to look for a family centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Probes {
    /// Centres sharing a chunk exactly: 16 lookups. Enough for building, where an entry
    /// that misses its family goes loose and a later round finds it again.
    Exact,
    /// Then centres with a chunk one bit away: 256 more lookups, for single inserts.
    ExactAndOneBit,
}

/// Union-find with path halving and union by size.
struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }
}
