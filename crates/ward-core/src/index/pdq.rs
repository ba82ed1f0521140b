//! The PDQ index: all stored hashes within a Hamming distance of a query, or its k nearest,
//! exactly, in about 41 bytes per hash.
//!
//! Entries live in buckets, each with a centre and a radius that bounds the distance from the
//! centre to every member. By the triangle inequality a query `q` can only have a neighbour
//! within `r` in a bucket when `d(q, centre) <= r + radius`, so a query measures its distance
//! to every centre and scans only the buckets that pass. The answer is exact whatever the
//! buckets look like; how fast it comes depends on them:
//!
//! - **Cluster buckets** hold near-duplicate families, the structure of real hash lists (the
//!   same picture re-encoded, resized, cropped). Their centre is the bitwise majority of the
//!   family and their radius is at most [`ASSIGN_RADIUS`], so a query far from the family
//!   (unrelated content is about 128 bits away) skips it with one distance computation.
//! - **Loose buckets** hold everything else in pages of [`LOOSE_PAGE`] entries. Unrelated
//!   256-bit hashes have no structure to exploit, so loose pages are in effect scanned.
//!
//! Families are found when the index is built: a sample of the entries is grouped by each
//! of the 16 16-bit chunks of the hash (near-duplicates share chunks exactly far more often
//! than unrelated hashes do), pairs within [`LINK_RADIUS`] inside a group are joined with a
//! union-find, and every component of two or more sampled members becomes a family centre.
//! Every entry then joins the nearest centre within [`ASSIGN_RADIUS`], found through a small
//! multi-index over the centres (exact chunks, then chunks one bit away), or goes loose. A
//! second round does the same over the loose entries, for families the sample missed.
//!
//! Entries inserted later join a family the same way or go to an open loose page; removals
//! take an entry out of its bucket. Radii only ever grow, so bounds stay valid without any
//! rebuild; [`PdqIndex::rebuild`] re-forms the buckets when many entries have arrived loose.

use std::collections::BinaryHeap;
use std::io::{Read, Write};
use std::sync::RwLock;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::pdq::PdqHash;

/// Distance within which two sampled entries are taken to be the same family.
pub const LINK_RADIUS: u32 = 48;
/// Largest distance from a family centre at which an entry joins the family. It bounds
/// every cluster bucket's radius, so that unrelated queries (about 128 bits away) skip it.
pub const ASSIGN_RADIUS: u32 = 64;
/// Entries per loose bucket.
pub const LOOSE_PAGE: usize = 256;
/// Below this many entries the index is a single loose scan.
const MIN_CLUSTERED: usize = 2048;
/// How many group neighbours each sampled entry is compared with.
const GROUP_WINDOW: usize = 24;

/// A stored hash within reach of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PdqMatch {
    /// Hamming distance to the query.
    pub distance: u32,
    /// The caller's id of the stored entry.
    pub id: u64,
    /// The stored hash.
    pub hash: PdqHash,
}

/// An exact, thread-safe index of PDQ hashes with ids: queries from many threads at once,
/// inserts and removals between them.
#[derive(Debug, Default)]
pub struct PdqIndex {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Members of each bucket.
    buckets: Vec<Bucket>,
    /// Each bucket's centre and radius, apart from the members so that the first pass of a
    /// query reads only these.
    centres: Vec<PdqHash>,
    radii: Vec<u32>,
    /// The multi-index over the centres of cluster buckets (which are buckets
    /// `0..families.len()`).
    families: ChunkIndex,
    /// The loose bucket that takes new loose entries.
    open_loose: Option<usize>,
    len: usize,
}

#[derive(Debug, Default)]
struct Bucket {
    hashes: Vec<PdqHash>,
    ids: Vec<u64>,
}

impl PdqIndex {
    /// An empty index.
    pub fn new() -> PdqIndex {
        PdqIndex::default()
    }

    /// Builds an index over `entries` at once, finding the near-duplicate families in them.
    /// Uses all cores.
    pub fn build(entries: impl IntoIterator<Item = (PdqHash, u64)>) -> PdqIndex {
        let (hashes, ids): (Vec<PdqHash>, Vec<u64>) = entries.into_iter().unzip();
        PdqIndex {
            inner: RwLock::new(Inner::build(hashes, ids)),
        }
    }

    /// Re-forms the buckets from the current entries (as `build` would), for when many
    /// entries have been inserted since the last build and sit in loose pages.
    pub fn rebuild(&self) {
        let (hashes, ids) = {
            let inner = self.read();
            let mut hashes = Vec::with_capacity(inner.len);
            let mut ids = Vec::with_capacity(inner.len);
            for bucket in &inner.buckets {
                hashes.extend_from_slice(&bucket.hashes);
                ids.extend_from_slice(&bucket.ids);
            }
            (hashes, ids)
        };
        let rebuilt = Inner::build(hashes, ids);
        *self.write() = rebuilt;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the index inconsistent (every
        // mutation is a push, a swap-remove or a radius update), so a poisoned lock is safe.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an entry. The same hash may be stored under several ids.
    pub fn insert(&self, hash: PdqHash, id: u64) {
        self.write().insert(hash, id);
    }

    /// Removes one entry with this hash and id; returns whether there was one.
    pub fn remove(&self, hash: &PdqHash, id: u64) -> bool {
        self.write().remove(hash, id)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.read().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How the entries are organised: (entries in family buckets, families, loose entries).
    pub fn shape(&self) -> (usize, usize, usize) {
        let inner = self.read();
        let families = inner.families.len();
        let in_families: usize = inner.buckets[..families].iter().map(|b| b.ids.len()).sum();
        (in_families, families, inner.len - in_families)
    }

    /// Appends to `out` every entry within `radius` of `query`, in no particular order.
    pub fn search_radius(&self, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) {
        search_radius(&self.read(), query, radius, out);
    }

    /// The `k` entries nearest to `query`, nearest first (ties broken by id, then hash).
    pub fn search_nearest(&self, query: &PdqHash, k: usize) -> Vec<PdqMatch> {
        search_nearest(&self.read(), query, k)
    }

    /// Approximate heap memory held by the index, in bytes.
    pub fn memory_bytes(&self) -> usize {
        let inner = self.read();
        let buckets: usize = inner
            .buckets
            .iter()
            .map(|b| {
                b.hashes.capacity() * size_of::<PdqHash>()
                    + b.ids.capacity() * size_of::<u64>()
                    + size_of::<Bucket>()
            })
            .sum();
        buckets
            + inner.centres.capacity() * size_of::<PdqHash>()
            + inner.radii.capacity() * size_of::<u32>()
            + inner.families.memory_bytes()
    }

    /// Writes the index to `out` in Ward's snapshot format (see [`SNAPSHOT_MAGIC`]).
    pub fn write_snapshot(&self, out: &mut impl Write) -> Result<()> {
        let inner = self.read();
        snapshot::write(&inner, out).map_err(|e| Error::Snapshot(format!("cannot write: {e}")))
    }

    /// Reads an index written by [`PdqIndex::write_snapshot`], checking its version and
    /// checksum.
    pub fn read_snapshot(input: &mut impl Read) -> Result<PdqIndex> {
        Ok(PdqIndex {
            inner: RwLock::new(snapshot::read(input)?),
        })
    }
}

crate::cpu::vectorised! {
    fn search_radius(inner: &Inner, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) -> () = search_radius_inner;
}

#[inline(always)]
fn search_radius_inner(inner: &Inner, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) {
    for ((centre, &bound), bucket) in inner.centres.iter().zip(&inner.radii).zip(&inner.buckets) {
        if centre.distance(query) <= radius.saturating_add(bound) {
            bucket.scan(query, radius, out);
        }
    }
}

crate::cpu::vectorised! {
    fn search_nearest(inner: &Inner, query: &PdqHash, k: usize) -> Vec<PdqMatch> = search_nearest_inner;
}

#[inline(always)]
fn search_nearest_inner(inner: &Inner, query: &PdqHash, k: usize) -> Vec<PdqMatch> {
    if k == 0 {
        return Vec::new();
    }
    // Lower bounds on the distance to any member of each bucket, smallest first.
    let mut order: Vec<(u32, u32)> = inner
        .centres
        .iter()
        .zip(&inner.radii)
        .enumerate()
        .map(|(b, (centre, &bound))| (centre.distance(query).saturating_sub(bound), b as u32))
        .collect();
    order.sort_unstable();
    let mut best: BinaryHeap<PdqMatch> = BinaryHeap::with_capacity(k + 1);
    for (bound, b) in order {
        if best.len() == k && bound > best.peek().expect("k > 0").distance {
            break;
        }
        let bucket = &inner.buckets[b as usize];
        for (hash, &id) in bucket.hashes.iter().zip(&bucket.ids) {
            let candidate = PdqMatch {
                distance: hash.distance(query),
                id,
                hash: *hash,
            };
            if best.len() < k {
                best.push(candidate);
            } else if candidate < *best.peek().expect("k > 0") {
                best.pop();
                best.push(candidate);
            }
        }
    }
    best.into_sorted_vec()
}

impl Bucket {
    #[inline(always)]
    fn scan(&self, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) {
        let mut found = |k: usize, distance: u32| {
            out.push(PdqMatch {
                distance,
                id: self.ids[k],
                hash: self.hashes[k],
            });
        };
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has_avx2() {
            // SAFETY: the CPU supports AVX2.
            unsafe { scan::within_avx2(&self.hashes, query, radius, &mut found) };
            return;
        }
        scan::within(&self.hashes, query, radius, &mut found);
    }

    fn push(&mut self, hash: PdqHash, id: u64) {
        self.hashes.push(hash);
        self.ids.push(id);
    }
}

impl Inner {
    fn build(hashes: Vec<PdqHash>, ids: Vec<u64>) -> Inner {
        let n = hashes.len();
        let mut centroids = Vec::new();
        let mut assignment = vec![u32::MAX; n];
        if n >= MIN_CLUSTERED {
            // Round one: families in a sample of everything.
            let all: Vec<u32> = (0..n as u32).collect();
            centroids = discover_families(&hashes, &sample(&all, n));
            let index = ChunkIndex::new(&centroids);
            assign(
                &hashes,
                &all,
                &index,
                &centroids,
                0,
                Probes::Exact,
                &mut assignment,
            );
            // Entries far from their family's centre may share no chunk with it exactly;
            // look again for those, one bit around each chunk.
            let missed: Vec<u32> = (0..n as u32)
                .filter(|&i| assignment[i as usize] == u32::MAX)
                .collect();
            assign(
                &hashes,
                &missed,
                &index,
                &centroids,
                0,
                Probes::ExactAndOneBit,
                &mut assignment,
            );
            // Round two: families among what is still loose, which the sample missed (when
            // the sample showed any structure at all; unrelated hashes have none).
            let loose: Vec<u32> = (0..n as u32)
                .filter(|&i| assignment[i as usize] == u32::MAX)
                .collect();
            if !centroids.is_empty() && loose.len() >= MIN_CLUSTERED {
                let more = discover_families(&hashes, &sample(&loose, n));
                let offset = centroids.len() as u32;
                let index = ChunkIndex::new(&more);
                assign(
                    &hashes,
                    &loose,
                    &index,
                    &more,
                    offset,
                    Probes::ExactAndOneBit,
                    &mut assignment,
                );
                centroids.extend(more);
            }
        }

        // Family buckets first (so bucket b < families.len() has centroid b), then loose pages.
        let families = centroids.len();
        let mut counts = vec![0usize; families];
        let mut loose_count = 0usize;
        for &a in &assignment {
            match counts.get_mut(a as usize) {
                Some(count) => *count += 1,
                None => loose_count += 1,
            }
        }
        let mut buckets: Vec<Bucket> = counts
            .iter()
            .map(|&c| Bucket {
                hashes: Vec::with_capacity(c),
                ids: Vec::with_capacity(c),
            })
            .collect();
        let mut centres = centroids.clone();
        let mut radii = vec![0u32; families];
        let mut loose = Bucket::default();
        let pages = loose_count.div_ceil(LOOSE_PAGE);
        let mut loose_buckets: Vec<Bucket> = Vec::with_capacity(pages);
        for ((hash, id), &a) in hashes.into_iter().zip(ids).zip(&assignment) {
            if let Some(bucket) = buckets.get_mut(a as usize) {
                radii[a as usize] = radii[a as usize].max(centres[a as usize].distance(&hash));
                bucket.push(hash, id);
            } else {
                if loose.hashes.is_empty() {
                    let room = LOOSE_PAGE.min(loose_count - loose_buckets.len() * LOOSE_PAGE);
                    loose = Bucket {
                        hashes: Vec::with_capacity(room),
                        ids: Vec::with_capacity(room),
                    };
                }
                loose.push(hash, id);
                if loose.hashes.len() == LOOSE_PAGE {
                    loose_buckets.push(std::mem::take(&mut loose));
                }
            }
        }
        if !loose.hashes.is_empty() {
            loose_buckets.push(loose);
        }
        for page in &loose_buckets {
            let centre = page.hashes[0];
            centres.push(centre);
            radii.push(
                page.hashes
                    .iter()
                    .map(|h| h.distance(&centre))
                    .max()
                    .unwrap_or(0),
            );
        }
        let open_loose = match loose_buckets.last() {
            Some(page) if page.hashes.len() < LOOSE_PAGE => {
                Some(families + loose_buckets.len() - 1)
            }
            _ => None,
        };
        buckets.extend(loose_buckets);
        Inner {
            buckets,
            centres,
            radii,
            families: ChunkIndex::new(&centroids),
            open_loose,
            len: n,
        }
    }

    fn insert(&mut self, hash: PdqHash, id: u64) {
        let centroids = &self.centres[..self.families.len()];
        let b = match self
            .families
            .nearest(&hash, centroids, Probes::ExactAndOneBit)
        {
            Some(family) => family,
            None => match self
                .open_loose
                .filter(|&b| self.buckets[b].ids.len() < LOOSE_PAGE)
            {
                Some(page) => page,
                None => {
                    self.buckets.push(Bucket::default());
                    self.centres.push(hash);
                    self.radii.push(0);
                    self.open_loose = Some(self.buckets.len() - 1);
                    self.buckets.len() - 1
                }
            },
        };
        self.radii[b] = self.radii[b].max(self.centres[b].distance(&hash));
        self.buckets[b].push(hash, id);
        self.len += 1;
    }

    fn remove(&mut self, hash: &PdqHash, id: u64) -> bool {
        for b in 0..self.buckets.len() {
            if self.centres[b].distance(hash) > self.radii[b] {
                continue;
            }
            let bucket = &mut self.buckets[b];
            let found = bucket
                .ids
                .iter()
                .zip(&bucket.hashes)
                .position(|(&i, h)| i == id && h == hash);
            if let Some(at) = found {
                bucket.ids.swap_remove(at);
                bucket.hashes.swap_remove(at);
                self.len -= 1;
                return true;
            }
        }
        false
    }
}

/// A pseudo-random subset of `members`, enough to find families without comparing
/// everything: at least a quarter of a million entries, or an eighth of the index. (Chosen
/// by hashing positions, so that no regularity in the order of entries biases it.)
fn sample(members: &[u32], total: usize) -> Vec<u32> {
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
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The 16-bit chunk `t` (0..16) of a hash.
#[inline(always)]
fn chunk(hash: &PdqHash, t: usize) -> u16 {
    (hash.words()[t / 4] >> ((t % 4) * 16)) as u16
}

/// Finds the near-duplicate families among `members` (indices into `hashes`) and returns
/// their centres.
fn discover_families(hashes: &[PdqHash], members: &[u32]) -> Vec<PdqHash> {
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
fn majority<'a>(family: impl Iterator<Item = &'a PdqHash>) -> PdqHash {
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
fn assign(
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
struct ChunkIndex {
    offsets: Vec<u32>,
    entries: Vec<u32>,
    count: usize,
}

impl ChunkIndex {
    fn new(centroids: &[PdqHash]) -> ChunkIndex {
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

    fn len(&self) -> usize {
        self.count
    }

    fn memory_bytes(&self) -> usize {
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
    fn nearest(&self, hash: &PdqHash, centroids: &[PdqHash], search: Probes) -> Option<usize> {
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
enum Probes {
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

mod scan {
    //! The innermost loop of a query: which of these hashes lie within a radius.

    use crate::pdq::PdqHash;

    /// Calls `found(k, distance)` for each `hashes[k]` within `radius` of `query`.
    #[inline(always)]
    pub(super) fn within(
        hashes: &[PdqHash],
        query: &PdqHash,
        radius: u32,
        found: &mut impl FnMut(usize, u32),
    ) {
        for (k, hash) in hashes.iter().enumerate() {
            let distance = hash.distance(query);
            if distance <= radius {
                found(k, distance);
            }
        }
    }

    /// [`within`] with AVX2, four hashes at a time: XOR, count bits per byte with a nibble
    /// lookup, sum bytes per 64-bit word, add the four words of each hash, compare.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    pub(super) unsafe fn within_avx2(
        hashes: &[PdqHash],
        query: &PdqHash,
        radius: u32,
        found: &mut impl FnMut(usize, u32),
    ) {
        use std::arch::x86_64::*;
        const _: () = assert!(size_of::<PdqHash>() == 32);
        let whole = hashes.len() / 4 * 4;
        unsafe {
            let q = _mm256_loadu_si256(query as *const PdqHash as *const __m256i);
            let nibbles = _mm256_setr_epi8(
                0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3,
                2, 3, 3, 4,
            );
            let low = _mm256_set1_epi8(0x0F);
            let zero = _mm256_setzero_si256();
            let limit = _mm256_set1_epi64x(i64::from(radius.min(256)));
            // Bits set per 64-bit word of `h XOR query`.
            let words = |p: *const PdqHash| {
                let x = _mm256_xor_si256(_mm256_loadu_si256(p as *const __m256i), q);
                let counts = _mm256_add_epi8(
                    _mm256_shuffle_epi8(nibbles, _mm256_and_si256(x, low)),
                    _mm256_shuffle_epi8(nibbles, _mm256_and_si256(_mm256_srli_epi16::<4>(x), low)),
                );
                _mm256_sad_epu8(counts, zero)
            };
            let base = hashes.as_ptr();
            let mut k = 0;
            while k < whole {
                let (a, b, c, d) = (
                    words(base.add(k)),
                    words(base.add(k + 1)),
                    words(base.add(k + 2)),
                    words(base.add(k + 3)),
                );
                // Sum the four words of each hash: [a0+a1, b0+b1, a2+a3, b2+b3] and likewise
                // for c, d, then across the 128-bit halves.
                let ab = _mm256_add_epi64(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b));
                let cd = _mm256_add_epi64(_mm256_unpacklo_epi64(c, d), _mm256_unpackhi_epi64(c, d));
                let distances = _mm256_add_epi64(
                    _mm256_permute2x128_si256::<0x20>(ab, cd),
                    _mm256_permute2x128_si256::<0x31>(ab, cd),
                );
                // distances = [d(a), d(b), d(c), d(d)]; a lane is in reach unless it exceeds.
                let beyond =
                    _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(distances, limit)));
                if beyond != 0b1111 {
                    let mut lanes = [0u64; 4];
                    _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, distances);
                    for (lane, &distance) in lanes.iter().enumerate() {
                        if beyond & (1 << lane) == 0 {
                            found(k + lane, distance as u32);
                        }
                    }
                }
                k += 4;
            }
        }
        within(&hashes[whole..], query, radius, &mut |k, distance| {
            found(whole + k, distance)
        });
    }
}

/// The first bytes of a snapshot file; the version follows.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"WARDPDQI";

mod snapshot {
    //! The snapshot format, version 1, all integers little-endian:
    //!
    //! ```text
    //! magic "WARDPDQI", version u32 = 1, families u64, buckets u64, entries u64
    //! per bucket: centre (32 bytes, in hex order), radius u32, members u32,
    //!             then the member hashes (32 bytes each), then the member ids (u64 each)
    //! crc32 (IEEE) of every byte before it, u32
    //! ```
    //!
    //! The first `families` buckets are families; the multi-index over their centres is
    //! rebuilt on load (it is derived and takes milliseconds).

    use std::io::{self, Read, Write};

    use super::{Bucket, ChunkIndex, Inner, LOOSE_PAGE, SNAPSHOT_MAGIC};
    use crate::error::{Error, Result};
    use crate::pdq::PdqHash;

    const VERSION: u32 = 1;

    /// Counts the CRC of everything written through it.
    struct Checked<W> {
        inner: W,
        crc: crc32fast::Hasher,
    }

    impl<W: Write> Write for Checked<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.crc.update(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    pub(super) fn write(inner: &Inner, out: &mut impl Write) -> io::Result<()> {
        let mut out = Checked {
            inner: io::BufWriter::with_capacity(1 << 20, out),
            crc: crc32fast::Hasher::new(),
        };
        out.write_all(SNAPSHOT_MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&(inner.families.len() as u64).to_le_bytes())?;
        out.write_all(&(inner.buckets.len() as u64).to_le_bytes())?;
        out.write_all(&(inner.len as u64).to_le_bytes())?;
        let mut buffer = Vec::new();
        for ((bucket, centre), radius) in inner.buckets.iter().zip(&inner.centres).zip(&inner.radii)
        {
            buffer.clear();
            buffer.extend_from_slice(&centre.to_bytes());
            buffer.extend_from_slice(&radius.to_le_bytes());
            buffer.extend_from_slice(&(bucket.ids.len() as u32).to_le_bytes());
            // Members are written hashes first, then ids.
            for hash in &bucket.hashes {
                buffer.extend_from_slice(&hash.to_bytes());
            }
            for id in &bucket.ids {
                buffer.extend_from_slice(&id.to_le_bytes());
            }
            out.write_all(&buffer)?;
        }
        let crc = out.crc.clone().finalize();
        out.inner.write_all(&crc.to_le_bytes())?;
        out.inner.flush()
    }

    /// Reads exactly `n` bytes, feeding the checksum.
    fn take<'a>(
        input: &mut impl Read,
        crc: &mut crc32fast::Hasher,
        buffer: &'a mut Vec<u8>,
        n: usize,
    ) -> Result<&'a [u8]> {
        buffer.resize(n, 0);
        input
            .read_exact(buffer)
            .map_err(|e| bad(&format!("truncated ({e})")))?;
        crc.update(buffer);
        Ok(buffer)
    }

    fn bad(message: &str) -> Error {
        Error::Snapshot(message.to_string())
    }

    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
    }

    fn hash_at(bytes: &[u8], at: usize) -> PdqHash {
        PdqHash::from_bytes(bytes[at..at + 32].try_into().expect("32 bytes"))
    }

    pub(super) fn read(input: &mut impl Read) -> Result<Inner> {
        let mut input = io::BufReader::with_capacity(1 << 20, input);
        let mut crc = crc32fast::Hasher::new();
        let mut buffer = Vec::new();
        let header = take(&mut input, &mut crc, &mut buffer, 36)?;
        if &header[..8] != SNAPSHOT_MAGIC {
            return Err(bad("not a Ward PDQ index snapshot"));
        }
        let version = u32_at(header, 8);
        if version != VERSION {
            return Err(bad(&format!(
                "unsupported snapshot version {version} (this Ward reads {VERSION})"
            )));
        }
        let (families, count, len) = (u64_at(header, 12), u64_at(header, 20), u64_at(header, 28));
        if families > count {
            return Err(bad("inconsistent header"));
        }
        let mut inner = Inner::default();
        let mut total = 0u64;
        for _ in 0..count {
            let head = take(&mut input, &mut crc, &mut buffer, 40)?;
            let centre = hash_at(head, 0);
            let radius = u32_at(head, 32);
            let members = u64::from(u32_at(head, 36));
            total += members;
            if total > len {
                return Err(bad("more members than the header says"));
            }
            // Read in bounded pieces, so that a damaged count fails on missing data
            // instead of allocating what it claims.
            let members = members as usize;
            let mut hashes = Vec::new();
            let mut ids = Vec::new();
            let mut left = members;
            while left > 0 {
                let n = left.min(1 << 14);
                let piece = take(&mut input, &mut crc, &mut buffer, 32 * n)?;
                hashes.extend((0..n).map(|k| hash_at(piece, 32 * k)));
                left -= n;
            }
            let mut left = members;
            while left > 0 {
                let n = left.min(1 << 14);
                let piece = take(&mut input, &mut crc, &mut buffer, 8 * n)?;
                ids.extend((0..n).map(|k| u64_at(piece, 8 * k)));
                left -= n;
            }
            if hashes.iter().any(|h| h.distance(&centre) > radius) {
                return Err(bad("a member lies outside its bucket's radius"));
            }
            inner.buckets.push(Bucket { hashes, ids });
            inner.centres.push(centre);
            inner.radii.push(radius);
        }
        if total != len {
            return Err(bad("fewer members than the header says"));
        }
        let expected = crc.finalize();
        let mut trailer = [0u8; 4];
        input
            .read_exact(&mut trailer)
            .map_err(|e| bad(&format!("truncated ({e})")))?;
        if u32::from_le_bytes(trailer) != expected {
            return Err(bad("checksum mismatch: the file is damaged"));
        }
        inner.len = len as usize;
        inner.families = ChunkIndex::new(&inner.centres[..families as usize]);
        inner.open_loose = match inner.buckets.len() {
            n if n > families as usize && inner.buckets[n - 1].ids.len() < LOOSE_PAGE => {
                Some(n - 1)
            }
            _ => None,
        };
        Ok(inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small deterministic generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn hash(&mut self) -> PdqHash {
            PdqHash::from_words([self.next(), self.next(), self.next(), self.next()])
        }

        /// `hash` with `flips` distinct random bits flipped.
        fn near(&mut self, hash: &PdqHash, flips: u32) -> PdqHash {
            let mut words = hash.words();
            let mut flipped = std::collections::HashSet::new();
            while (flipped.len() as u32) < flips {
                let bit = (self.next() % 256) as usize;
                if flipped.insert(bit) {
                    words[bit / 64] ^= 1 << (bit % 64);
                }
            }
            PdqHash::from_words(words)
        }
    }

    /// Random hashes, or families of near-duplicates around random centres.
    fn dataset(seed: u64, n: usize, families: usize, spread: u32) -> Vec<(PdqHash, u64)> {
        let mut rng = Rng(seed | 1);
        let centres: Vec<PdqHash> = (0..families.max(1)).map(|_| rng.hash()).collect();
        (0..n as u64)
            .map(|id| {
                let hash = if families == 0 {
                    rng.hash()
                } else {
                    let centre = centres[(rng.next() % families as u64) as usize];
                    let flips = (rng.next() % (u64::from(spread) + 1)) as u32;
                    rng.near(&centre, flips)
                };
                (hash, id)
            })
            .collect()
    }

    fn brute_radius(entries: &[(PdqHash, u64)], query: &PdqHash, radius: u32) -> Vec<PdqMatch> {
        let mut out: Vec<PdqMatch> = entries
            .iter()
            .map(|&(hash, id)| PdqMatch {
                distance: hash.distance(query),
                id,
                hash,
            })
            .filter(|m| m.distance <= radius)
            .collect();
        out.sort();
        out
    }

    fn brute_nearest(entries: &[(PdqHash, u64)], query: &PdqHash, k: usize) -> Vec<PdqMatch> {
        let mut out = brute_radius(entries, query, 256);
        out.truncate(k);
        out
    }

    fn check_queries(index: &PdqIndex, entries: &[(PdqHash, u64)], rng: &mut Rng, queries: usize) {
        for q in 0..queries {
            // Half near a stored hash, half anywhere.
            let query = if q % 2 == 0 && !entries.is_empty() {
                let (base, _) = entries[(rng.next() % entries.len() as u64) as usize];
                let flips = (rng.next() % 40) as u32;
                rng.near(&base, flips)
            } else {
                rng.hash()
            };
            let radius = (rng.next() % 65) as u32;
            let mut found = Vec::new();
            index.search_radius(&query, radius, &mut found);
            found.sort();
            assert_eq!(
                found,
                brute_radius(entries, &query, radius),
                "radius {radius}"
            );
            let k = 1 + (rng.next() % 12) as usize;
            assert_eq!(
                index.search_nearest(&query, k),
                brute_nearest(entries, &query, k),
                "k {k}"
            );
        }
    }

    #[test]
    fn finds_families_and_answers_exactly() {
        let entries = dataset(7, 20_000, 200, 40);
        let index = PdqIndex::build(entries.iter().copied());
        let (in_families, families, loose) = index.shape();
        assert_eq!(in_families + loose, entries.len());
        assert!(families >= 150, "only {families} families found");
        assert!(loose < entries.len() / 20, "{loose} loose entries");
        check_queries(&index, &entries, &mut Rng(11), 60);
    }

    #[test]
    fn random_hashes_stay_loose_and_are_found() {
        let entries = dataset(3, 5000, 0, 0);
        let index = PdqIndex::build(entries.iter().copied());
        assert_eq!(index.shape().1, 0);
        check_queries(&index, &entries, &mut Rng(5), 40);
    }

    #[test]
    fn small_and_empty_indexes() {
        let index = PdqIndex::new();
        assert!(index.is_empty());
        let mut out = Vec::new();
        index.search_radius(&PdqHash::default(), 64, &mut out);
        assert!(out.is_empty());
        assert!(index.search_nearest(&PdqHash::default(), 3).is_empty());
        assert!(!index.remove(&PdqHash::default(), 1));
        let entries = dataset(9, 10, 2, 10);
        let index = PdqIndex::build(entries.iter().copied());
        check_queries(&index, &entries, &mut Rng(13), 20);
    }

    #[test]
    fn snapshot_roundtrip_and_damage() {
        let entries = dataset(21, 6000, 50, 30);
        let index = PdqIndex::build(entries.iter().copied());
        let mut bytes = Vec::new();
        index.write_snapshot(&mut bytes).unwrap();
        let loaded = PdqIndex::read_snapshot(&mut bytes.as_slice()).unwrap();
        assert_eq!(loaded.len(), index.len());
        assert_eq!(loaded.shape(), index.shape());
        check_queries(&loaded, &entries, &mut Rng(17), 20);
        // Every kind of damage is refused with an error, never a panic.
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x10;
        assert!(PdqIndex::read_snapshot(&mut flipped.as_slice()).is_err());
        assert!(PdqIndex::read_snapshot(&mut &bytes[..bytes.len() - 1]).is_err());
        assert!(PdqIndex::read_snapshot(&mut &bytes[..40]).is_err());
        let mut version = bytes.clone();
        version[8] = 9;
        assert!(PdqIndex::read_snapshot(&mut version.as_slice()).is_err());
        assert!(PdqIndex::read_snapshot(&mut &b"not a snapshot at all, no"[..]).is_err());
    }

    #[test]
    fn vector_scan_equals_portable_scan() {
        let mut rng = Rng(77);
        let base = rng.hash();
        let hashes: Vec<PdqHash> = (0..1003)
            .map(|k| rng.near(&base, (k % 130) as u32))
            .collect();
        for radius in [0, 1, 31, 64, 100, 128, 256, 1000] {
            let mut portable = Vec::new();
            scan::within(&hashes, &base, radius, &mut |k, d| portable.push((k, d)));
            let mut dispatched = Vec::new();
            let bucket = Bucket {
                ids: (0..hashes.len() as u64).collect(),
                hashes: hashes.clone(),
            };
            let mut out = Vec::new();
            bucket.scan(&base, radius, &mut out);
            dispatched.extend(out.iter().map(|m| (m.id as usize, m.distance)));
            assert_eq!(portable, dispatched, "radius {radius}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Inserts and removals interleaved with queries, against brute force, on random and
        /// clustered data, at every radius.
        #[test]
        fn matches_brute_force_under_changes(seed: u64, families in 0usize..40, spread in 0u32..48) {
            let start = dataset(seed, 3000, families, spread);
            let index = PdqIndex::build(start.iter().copied());
            let mut entries = start;
            let mut rng = Rng(seed ^ 0x5eed);
            let extra = dataset(seed.wrapping_add(1), 800, families, spread);
            for (step, (hash, id)) in extra.into_iter().enumerate() {
                let id = id + 1_000_000;
                if step % 3 == 2 {
                    let victim = (rng.next() % entries.len() as u64) as usize;
                    let (h, i) = entries.swap_remove(victim);
                    prop_assert!(index.remove(&h, i));
                    prop_assert!(!index.remove(&h, i) || entries.contains(&(h, i)));
                } else {
                    index.insert(hash, id);
                    entries.push((hash, id));
                }
                if step % 100 == 0 {
                    check_queries(&index, &entries, &mut rng, 4);
                }
            }
            prop_assert_eq!(index.len(), entries.len());
            check_queries(&index, &entries, &mut rng, 10);
            index.rebuild();
            check_queries(&index, &entries, &mut rng, 10);
        }
    }

    #[test]
    fn concurrent_queries_and_inserts() {
        let entries = dataset(31, 5000, 30, 30);
        let index = PdqIndex::build(entries.iter().copied());
        let extra = dataset(32, 2000, 30, 30);
        std::thread::scope(|scope| {
            for t in 0..3 {
                let (index, entries) = (&index, &entries);
                scope.spawn(move || {
                    let mut rng = Rng(100 + t);
                    for _ in 0..200 {
                        let (base, id) = entries[(rng.next() % entries.len() as u64) as usize];
                        let mut found = Vec::new();
                        index.search_radius(&base, 0, &mut found);
                        // Entries present from the start are always found.
                        assert!(found.iter().any(|m| m.id == id));
                    }
                });
            }
            scope.spawn(|| {
                for (hash, id) in &extra {
                    index.insert(*hash, id + 10_000);
                }
            });
        });
        assert_eq!(index.len(), 7000);
    }
}
