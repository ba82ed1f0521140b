//! The PDQ index: all stored hashes within a Hamming distance of a query, or its k nearest,
//! exactly: about 41 bytes per hash in near-duplicate families, 63 for ten million unrelated
//! hashes.
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
//! - **Loose entries** are everything else. Unrelated 256-bit hashes have no structure to
//!   prune with, so when the index is built they get a multi-index over chunks of their
//!   bits (`loose.rs`); a few (under [`LOOSE_INDEX_MIN`]), and those inserted since the last
//!   build, sit in pages of [`LOOSE_PAGE`] that are in effect scanned.
//!
//! Families are found when the index is built: a sample of the entries is grouped by each
//! of the 16 16-bit chunks of the hash (near-duplicates share chunks exactly far more often
//! than unrelated hashes do), pairs within [`LINK_RADIUS`] inside a group are joined with a
//! union-find, and every component of two or more sampled members becomes a family centre.
//! Every entry then joins a centre within [`ASSIGN_RADIUS`], found through a small
//! multi-index over the centres (exact chunks, then chunks one bit away), or goes loose. A
//! second round does the same over the loose entries, for families the sample missed.
//!
//! Entries inserted later join a family the same way or go to an open loose page; removals
//! take an entry out of its bucket. Radii only ever grow, so bounds stay valid without any
//! rebuild; [`PdqIndex::rebuild`] re-forms the buckets when many entries have arrived loose.

use std::collections::BinaryHeap;
use std::io::{Read, Write};
use std::sync::RwLock;

use crate::error::{Error, Result};
use crate::pdq::PdqHash;
use centres::Centres;
use families::{ChunkIndex, Probes, assign, discover_families, sample};
use loose::LooseIndex;
pub use queries::PdqQuerySet;

mod centres;
mod families;
mod loose;
mod queries;
mod scan;
mod snapshot;

/// Distance within which two sampled entries are taken to be the same family.
pub const LINK_RADIUS: u32 = 48;
/// Largest distance from a family centre at which an entry joins the family. It bounds
/// every cluster bucket's radius, so that unrelated queries (about 128 bits away) skip it.
pub const ASSIGN_RADIUS: u32 = 64;
/// Entries per loose bucket.
pub const LOOSE_PAGE: usize = 256;
/// Loose entries below this many are kept in scanned pages rather than multi-indexed (a
/// scan of 16384 hashes takes about as long as the index's table lookups).
pub const LOOSE_INDEX_MIN: usize = 16384;
/// Below this many entries the index is a single loose scan.
const MIN_CLUSTERED: usize = 2048;
/// How many group neighbours each sampled entry is compared with.
pub(crate) const GROUP_WINDOW: usize = 24;

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
    centres: Centres,
    /// The multi-index over the centres of cluster buckets (which are buckets
    /// `0..families.len()`).
    families: ChunkIndex,
    /// The loose entries found when the index was built, under their multi-index.
    loose: LooseIndex,
    /// The loose page that takes new loose entries.
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

    /// Builds an index over `entries` without looking for near-duplicate families: every
    /// entry goes into the multi-index (`loose.rs`). It is built in a fraction of
    /// [`PdqIndex::build`]'s time and answers exactly as it does, each query reading the
    /// entries that share a chunk (within one bit) with it, so it suits a run that asks few
    /// queries of many entries (`ward match`); an index that serves queries for long should
    /// be built with `build`. Entries inserted later are kept as `build`'s are.
    ///
    /// `hashes[i]` is entry `ids[i]`'s hash; the two must be as long.
    pub fn build_unclustered(hashes: Vec<PdqHash>, ids: Vec<u64>) -> PdqIndex {
        assert_eq!(hashes.len(), ids.len(), "one id for each hash");
        PdqIndex {
            inner: RwLock::new(Inner::assemble(
                Vec::new(),
                Vec::new(),
                Bucket { hashes, ids },
            )),
        }
    }

    /// Re-forms the buckets from the current entries (as `build` would), for when many
    /// entries have been inserted since the last build and sit in loose pages.
    pub fn rebuild(&self) {
        let (hashes, ids) = self.read().entries().unzip();
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

    /// Every entry within `radius` of each query: `answers[q]` holds query `q`'s, in no
    /// particular order, the same as [`PdqIndex::search_radius`] gives it. Over a
    /// multi-index of more than a few million entries, many queries asked together are
    /// answered about 2.5 times as fast as one by one: the search puts its reads in order
    /// for all of them, holding up to 64 MiB of candidates (and as much to sort them)
    /// while it does.
    pub fn search_radius_many(&self, queries: &[PdqHash], radius: u32) -> Vec<Vec<PdqMatch>> {
        let mut answers = vec![Vec::new(); queries.len()];
        search_many(&self.read(), queries, radius, &mut answers);
        answers
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
            + inner.centres.memory_bytes()
            + inner.families.memory_bytes()
            + inner.loose.memory_bytes()
    }

    /// Writes the index to `out` in Ward's snapshot format (versioned, checksummed; the
    /// layout is described in `index/pdq/snapshot.rs`).
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
    search_buckets(inner, query, radius, out);
    inner.loose.search(query, radius, out);
}

/// A query's matches in the family buckets and loose pages: all but the multi-index.
#[inline(always)]
fn search_buckets(inner: &Inner, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) {
    inner.centres.reachable(query, radius, &mut |b| {
        inner.buckets[b].scan(query, radius, out)
    });
}

crate::cpu::vectorised! {
    fn search_many(inner: &Inner, queries: &[PdqHash], radius: u32, answers: &mut [Vec<PdqMatch>]) -> () = search_many_inner;
}

#[inline(always)]
fn search_many_inner(
    inner: &Inner,
    queries: &[PdqHash],
    radius: u32,
    answers: &mut [Vec<PdqMatch>],
) {
    // The family buckets and loose pages query by query; the multi-index together.
    for (query, out) in queries.iter().zip(answers.iter_mut()) {
        search_buckets(inner, query, radius, out);
    }
    let mut found = Vec::new();
    inner.loose.search_batch(queries, radius, &mut found);
    for (q, found) in found {
        answers[q as usize].push(found);
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
        .hashes()
        .iter()
        .zip(inner.centres.radii())
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
    // The multi-indexed loose entries: search outwards by radius until the k best are
    // certain, or read them all.
    let merge = |found: &[PdqMatch], best: &mut BinaryHeap<PdqMatch>| {
        for &candidate in found {
            if best.len() < k {
                best.push(candidate);
            } else if candidate < *best.peek().expect("k > 0") {
                best.pop();
                best.push(candidate);
            }
        }
    };
    if inner.loose.len() > 0 {
        // The multi-indexed loose entries: search outwards by radius while that is cheap
        // and the k best are not yet certain, then read the rest, narrowing as they improve
        // (unrelated hashes' nearest lie some 85 bits away at ten million, past any radius
        // the multi-index answers quickly).
        let mut found = Vec::new();
        let mut searched = None;
        for radius in [15, 31, 47, 63] {
            if !inner.loose.searchable_at(radius) {
                break;
            }
            found.clear();
            inner.loose.search(query, radius, &mut found);
            // Those within the previous radius are in `best` already.
            found.retain(|m| searched.is_none_or(|r| m.distance > r));
            merge(&found, &mut best);
            searched = Some(radius);
            if best.len() == k && best.peek().expect("k > 0").distance <= radius {
                return best.into_sorted_vec();
            }
        }
        inner
            .loose
            .nearest_beyond(query, searched, &mut |candidate| {
                if best.len() < k {
                    best.push(candidate);
                } else if candidate < *best.peek().expect("k > 0") {
                    best.pop();
                    best.push(candidate);
                }
                if best.len() == k {
                    best.peek().expect("k > 0").distance
                } else {
                    PdqHash::BITS
                }
            });
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

        // Members of each family; everything else is loose.
        let mut counts = vec![0usize; centroids.len()];
        for &a in &assignment {
            if let Some(count) = counts.get_mut(a as usize) {
                *count += 1;
            }
        }
        let mut families: Vec<Bucket> = counts
            .iter()
            .map(|&c| Bucket {
                hashes: Vec::with_capacity(c),
                ids: Vec::with_capacity(c),
            })
            .collect();
        let loose_count = n - counts.iter().sum::<usize>();
        let mut loose = Bucket {
            hashes: Vec::with_capacity(loose_count),
            ids: Vec::with_capacity(loose_count),
        };
        for ((hash, id), &a) in hashes.into_iter().zip(ids).zip(&assignment) {
            families
                .get_mut(a as usize)
                .unwrap_or(&mut loose)
                .push(hash, id);
        }
        Inner::assemble(centroids, families, loose)
    }

    /// Puts an index together from its families (centres and members) and its loose
    /// entries: the radii are measured, and the loose entries get the multi-index when
    /// there are enough of them to need it, pages otherwise.
    fn assemble(centroids: Vec<PdqHash>, families: Vec<Bucket>, loose: Bucket) -> Inner {
        let len = families.iter().map(|b| b.ids.len()).sum::<usize>() + loose.ids.len();
        let mut centres = Centres::default();
        for (bucket, centre) in families.iter().zip(&centroids) {
            let radius = bucket.hashes.iter().map(|h| h.distance(centre)).max();
            centres.push(*centre, radius.unwrap_or(0));
        }
        let index = ChunkIndex::new(&centroids);
        let mut buckets = families;
        let mut open_loose = None;
        let mut indexed = LooseIndex::default();
        if loose.ids.len() >= LOOSE_INDEX_MIN {
            indexed = LooseIndex::build(loose.hashes, loose.ids);
        } else {
            for (hashes, ids) in loose
                .hashes
                .chunks(LOOSE_PAGE)
                .zip(loose.ids.chunks(LOOSE_PAGE))
            {
                let centre = hashes[0];
                let radius = hashes.iter().map(|h| h.distance(&centre)).max();
                centres.push(centre, radius.unwrap_or(0));
                buckets.push(Bucket {
                    hashes: hashes.to_vec(),
                    ids: ids.to_vec(),
                });
            }
            if buckets.len() > index.len()
                && buckets.last().is_some_and(|b| b.ids.len() < LOOSE_PAGE)
            {
                open_loose = Some(buckets.len() - 1);
            }
        }
        Inner {
            buckets,
            centres,
            families: index,
            loose: indexed,
            open_loose,
            len,
        }
    }

    /// Every entry, for rebuilding and snapshots: families first, in bucket order.
    fn entries(&self) -> impl Iterator<Item = (PdqHash, u64)> + '_ {
        let buckets = self
            .buckets
            .iter()
            .flat_map(|b| b.hashes.iter().copied().zip(b.ids.iter().copied()));
        buckets.chain(self.loose.entries())
    }

    fn insert(&mut self, hash: PdqHash, id: u64) {
        let centroids = &self.centres.hashes()[..self.families.len()];
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
                    self.centres.push(hash, 0);
                    self.open_loose = Some(self.buckets.len() - 1);
                    self.buckets.len() - 1
                }
            },
        };
        self.centres.widen(b, self.centres.hash(b).distance(&hash));
        self.buckets[b].push(hash, id);
        self.len += 1;
    }

    fn remove(&mut self, hash: &PdqHash, id: u64) -> bool {
        for b in 0..self.buckets.len() {
            if self.centres.hash(b).distance(hash) > self.centres.radius(b) {
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
        let removed = self.loose.remove(hash, id);
        if removed {
            self.len -= 1;
        }
        removed
    }
}

/// The first bytes of a snapshot file; the version follows.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"WARDPDQI";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(super) use crate::testing::Rng;

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
        let mut asked = Vec::with_capacity(queries);
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
            asked.push(query);
        }
        // The same queries asked together.
        for radius in [0, 31, 47] {
            let answers = index.search_radius_many(&asked, radius);
            assert_eq!(answers.len(), asked.len());
            for (query, mut found) in asked.iter().zip(answers) {
                found.sort();
                assert_eq!(
                    found,
                    brute_radius(entries, query, radius),
                    "batched, radius {radius}"
                );
            }
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
    fn an_index_built_without_families_answers_exactly() {
        // Clustered data (where families would be found) and unrelated hashes, every entry
        // in the multi-index: the same answers as brute force, before and after changes,
        // and after a snapshot.
        let mut entries = dataset(51, 24_000, 300, 40);
        entries.extend(
            dataset(52, 6000, 0, 0)
                .into_iter()
                .map(|(h, id)| (h, id + 100_000)),
        );
        let (hashes, ids): (Vec<PdqHash>, Vec<u64>) = entries.iter().copied().unzip();
        let index = PdqIndex::build_unclustered(hashes, ids);
        let (in_families, families, loose) = index.shape();
        assert_eq!((in_families, families, loose), (0, 0, entries.len()));
        let mut rng = Rng(53);
        check_queries(&index, &entries, &mut rng, 60);
        for _ in 0..300 {
            let victim = (rng.next() % entries.len() as u64) as usize;
            let (hash, id) = entries.swap_remove(victim);
            assert!(index.remove(&hash, id));
        }
        for (hash, id) in dataset(54, 400, 10, 20) {
            index.insert(hash, id + 200_000);
            entries.push((hash, id + 200_000));
        }
        check_queries(&index, &entries, &mut rng, 40);
        let mut bytes = Vec::new();
        index.write_snapshot(&mut bytes).unwrap();
        let loaded = PdqIndex::read_snapshot(&mut bytes.as_slice()).unwrap();
        check_queries(&loaded, &entries, &mut rng, 20);
        // A rebuild finds the families.
        index.rebuild();
        assert!(index.shape().1 > 0);
        check_queries(&index, &entries, &mut rng, 20);
    }

    #[test]
    fn random_hashes_stay_loose_and_are_found() {
        let entries = dataset(3, 5000, 0, 0);
        let index = PdqIndex::build(entries.iter().copied());
        assert_eq!(index.shape().1, 0);
        check_queries(&index, &entries, &mut Rng(5), 40);
    }

    #[test]
    fn multi_indexed_loose_entries_answer_exactly() {
        // Enough unrelated hashes for the loose multi-index, and a few families.
        let mut entries = dataset(41, 30_000, 0, 0);
        entries.extend(
            dataset(42, 3000, 20, 30)
                .into_iter()
                .map(|(h, id)| (h, id + 100_000)),
        );
        let index = PdqIndex::build(entries.iter().copied());
        assert!(index.read().loose.len() >= LOOSE_INDEX_MIN);
        let mut rng = Rng(43);
        check_queries(&index, &entries, &mut rng, 40);
        // Removals from the multi-indexed entries, inserts into pages.
        for _ in 0..500 {
            let victim = (rng.next() % entries.len() as u64) as usize;
            let (hash, id) = entries.swap_remove(victim);
            assert!(index.remove(&hash, id));
            assert!(!index.remove(&hash, id));
        }
        for (hash, id) in dataset(44, 700, 0, 0) {
            index.insert(hash, id + 200_000);
            entries.push((hash, id + 200_000));
        }
        assert_eq!(index.len(), entries.len());
        check_queries(&index, &entries, &mut rng, 40);
        let mut bytes = Vec::new();
        index.write_snapshot(&mut bytes).unwrap();
        let loaded = PdqIndex::read_snapshot(&mut bytes.as_slice()).unwrap();
        assert_eq!(loaded.len(), entries.len());
        check_queries(&loaded, &entries, &mut rng, 20);
        index.rebuild();
        check_queries(&index, &entries, &mut rng, 20);
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
        // Long enough for the AVX-512 scan to ask for its lines ahead, with a remainder.
        let mut rng = Rng(77);
        let base = rng.hash();
        let hashes: Vec<PdqHash> = (0..2051)
            .map(|k| rng.near(&base, (k % 130) as u32))
            .collect();
        for radius in [0, 1, 31, 64, 100, 128, 256, 1000] {
            let mut portable = Vec::new();
            scan::within_portable(&hashes, &base, radius, &mut |k, d| portable.push((k, d)));
            let mut dispatched = Vec::new();
            let bucket = Bucket {
                ids: (0..hashes.len() as u64).collect(),
                hashes: hashes.clone(),
            };
            let mut out = Vec::new();
            bucket.scan(&base, radius, &mut out);
            dispatched.extend(out.iter().map(|m| (m.id as usize, m.distance)));
            assert_eq!(portable, dispatched, "radius {radius}");
            // Each vector copy the CPU can run, whichever the dispatch picks.
            #[cfg(target_arch = "x86_64")]
            {
                if crate::cpu::has_avx2() {
                    let mut avx2 = Vec::new();
                    // SAFETY: the CPU supports AVX2.
                    unsafe {
                        scan::within_avx2(&hashes, &base, radius, &mut |k, d| avx2.push((k, d)))
                    };
                    assert_eq!(portable, avx2, "avx2, radius {radius}");
                }
                if crate::cpu::has_avx512_popcnt() {
                    let mut avx512 = Vec::new();
                    // SAFETY: the CPU supports AVX-512F and VPOPCNTDQ.
                    unsafe {
                        scan::within_avx512(&hashes, &base, radius, &mut |k, d| avx512.push((k, d)))
                    };
                    assert_eq!(portable, avx512, "avx512, radius {radius}");
                }
            }
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
