//! Exact lookups of MD5, SHA-1 and SHA-256 digests: here is a digest, give me the ids stored
//! under it.
//!
//! A [`DigestSet`] is a sorted array of `(digest, id)` pairs searched by bisection: 24 bytes
//! per MD5 entry, 32 per SHA-1 and 40 per SHA-256, with no per-entry allocation and no hash
//! table slack (a hash map of the same pairs needs 40 to 57 bytes per MD5, depending on where
//! it stands between two doublings). Keeping the big array sorted under single inserts and
//! removals would move half of it each time, so changes go to two small sorted side arrays
//! (`added`, `removed`) that lookups consult too, and are merged into the big one in one
//! linear pass, in place, once they hold about `4 * sqrt(n)` pairs. A single insert or
//! removal then costs O(sqrt n) amortised (about ten microseconds at ten million entries);
//! bulk loads go through [`DigestSet::build`], which sorts once, and a set saved in order
//! ([`DigestSet::for_each_sorted`]) is read back with [`DigestSet::from_sorted`], which only
//! checks the order.
//!
//! Like [`PdqIndex`](crate::index::PdqIndex), a set is shared by reference between threads:
//! lookups take a read lock, changes a write lock, so a server can update it while it
//! matches. A merge holds the write lock for its one pass (tens of milliseconds at ten
//! million entries).

use std::sync::RwLock;

use crate::digest::{Md5, Sha1, Sha256};

/// A set of MD5 digests with ids.
pub type Md5Set = DigestSet<Md5>;
/// A set of SHA-1 digests with ids.
pub type Sha1Set = DigestSet<Sha1>;
/// A set of SHA-256 digests with ids.
pub type Sha256Set = DigestSet<Sha256>;

/// An exact, thread-safe set of `(digest, id)` pairs: a digest may be stored under several
/// ids, and each pair is stored once.
#[derive(Debug)]
pub struct DigestSet<D> {
    inner: RwLock<Runs<D>>,
}

impl<D: Copy + Ord> Default for DigestSet<D> {
    fn default() -> DigestSet<D> {
        DigestSet {
            inner: RwLock::new(Runs {
                base: Vec::new(),
                added: Vec::new(),
                removed: Vec::new(),
            }),
        }
    }
}

impl<D: Copy + Ord> DigestSet<D> {
    /// An empty set.
    pub fn new() -> DigestSet<D> {
        DigestSet::default()
    }

    /// Builds a set over `entries` at once (one sort; much faster than inserting them one by
    /// one). Repeated pairs are kept once.
    pub fn build(entries: impl IntoIterator<Item = (D, u64)>) -> DigestSet<D> {
        let mut base: Vec<(D, u64)> = entries.into_iter().collect();
        base.sort_unstable();
        base.dedup();
        base.shrink_to_fit();
        DigestSet {
            inner: RwLock::new(Runs {
                base,
                added: Vec::new(),
                removed: Vec::new(),
            }),
        }
    }

    /// A set over `entries` that are already in increasing order without repeats, as
    /// [`DigestSet::for_each_sorted`] gives them (a snapshot of a set read back): no sort,
    /// one pass to check the order. `None` when they are not in order.
    pub fn from_sorted(entries: Vec<(D, u64)>) -> Option<DigestSet<D>> {
        if entries.windows(2).any(|pair| pair[0] >= pair[1]) {
            return None;
        }
        Some(DigestSet {
            inner: RwLock::new(Runs {
                base: entries,
                added: Vec::new(),
                removed: Vec::new(),
            }),
        })
    }

    /// Calls `visit` with every pair, in increasing order, under the read lock (changes wait
    /// until it returns; lookups do not).
    pub fn for_each_sorted(&self, mut visit: impl FnMut(&D, u64)) {
        let runs = self.inner.read().expect("digest set lock");
        let mut removed = runs.removed.iter().peekable();
        let mut added = runs.added.iter().peekable();
        for pair in &runs.base {
            if removed.peek() == Some(&pair) {
                removed.next();
                continue;
            }
            while let Some(extra) = added.next_if(|extra| *extra < pair) {
                visit(&extra.0, extra.1);
            }
            visit(&pair.0, pair.1);
        }
        for extra in added {
            visit(&extra.0, extra.1);
        }
    }

    /// Adds `digest` under `id`; returns whether the pair is new.
    pub fn insert(&self, digest: D, id: u64) -> bool {
        self.inner
            .write()
            .expect("digest set lock")
            .insert((digest, id))
    }

    /// Removes `digest` under `id`; returns whether the pair was there. Other ids of the same
    /// digest stay.
    pub fn remove(&self, digest: &D, id: u64) -> bool {
        self.inner
            .write()
            .expect("digest set lock")
            .remove((*digest, id))
    }

    /// Appends to `out` the ids stored under `digest`, in increasing order.
    pub fn lookup(&self, digest: &D, out: &mut Vec<u64>) {
        self.inner
            .read()
            .expect("digest set lock")
            .lookup(digest, out);
    }

    /// Whether any id is stored under `digest`.
    pub fn contains(&self, digest: &D) -> bool {
        let mut ids = Vec::new();
        self.lookup(digest, &mut ids);
        !ids.is_empty()
    }

    /// The number of `(digest, id)` pairs.
    pub fn len(&self) -> usize {
        let runs = self.inner.read().expect("digest set lock");
        runs.base.len() - runs.removed.len() + runs.added.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap memory held by the set, in bytes.
    pub fn memory_bytes(&self) -> usize {
        let runs = self.inner.read().expect("digest set lock");
        (runs.base.capacity() + runs.added.capacity() + runs.removed.capacity())
            * std::mem::size_of::<(D, u64)>()
    }
}

/// Side arrays are merged into the base once they hold more than this many pairs, or
/// `4 * sqrt(base)` when that is more: inserting into a side array moves half of it, and a
/// merge moves the whole base, so both costs are about sqrt(n) per change.
const MIN_DELTA: usize = 1024;

/// The pairs, as a big sorted run and two small sorted corrections to it.
#[derive(Debug)]
struct Runs<D> {
    /// Sorted, without repeats.
    base: Vec<(D, u64)>,
    /// Sorted; none of these is in `base`.
    added: Vec<(D, u64)>,
    /// Sorted; all of these are in `base`, and are no longer in the set.
    removed: Vec<(D, u64)>,
}

impl<D: Copy + Ord> Runs<D> {
    fn insert(&mut self, pair: (D, u64)) -> bool {
        if let Ok(at) = self.removed.binary_search(&pair) {
            self.removed.remove(at);
        } else if self.base.binary_search(&pair).is_ok() {
            return false;
        } else {
            match self.added.binary_search(&pair) {
                Ok(_) => return false,
                Err(at) => self.added.insert(at, pair),
            }
        }
        self.merge_if_due();
        true
    }

    fn remove(&mut self, pair: (D, u64)) -> bool {
        if let Ok(at) = self.added.binary_search(&pair) {
            self.added.remove(at);
            return true;
        }
        if self.base.binary_search(&pair).is_err() {
            return false;
        }
        match self.removed.binary_search(&pair) {
            Ok(_) => false,
            Err(at) => {
                self.removed.insert(at, pair);
                self.merge_if_due();
                true
            }
        }
    }

    fn lookup(&self, digest: &D, out: &mut Vec<u64>) {
        let start = out.len();
        for pair in equal_range(&self.base, digest) {
            if self.removed.binary_search(pair).is_err() {
                out.push(pair.1);
            }
        }
        let from_base = out.len();
        out.extend(equal_range(&self.added, digest).iter().map(|pair| pair.1));
        if from_base > start && out.len() > from_base {
            out[start..].sort_unstable();
        }
    }

    fn merge_if_due(&mut self) {
        let limit = MIN_DELTA.max(self.base.len().isqrt() * 4);
        if self.added.len() + self.removed.len() > limit {
            self.merge();
        }
    }

    /// Folds the side arrays into the base in place: one pass drops the removed pairs, one
    /// merges the added ones in from the back, so no second copy of the base is ever made.
    fn merge(&mut self) {
        let mut removed = self.removed.iter().peekable();
        self.base.retain(|pair| {
            if removed.peek() == Some(&pair) {
                removed.next();
                false
            } else {
                true
            }
        });
        let (old, added) = (self.base.len(), self.added.len());
        self.base.reserve_exact(added);
        // The new tail is overwritten below; these values only give it a length.
        self.base.extend_from_slice(&self.added);
        let (mut i, mut j) = (old, added);
        while j > 0 {
            let k = i + j - 1;
            if i > 0 && self.base[i - 1] > self.added[j - 1] {
                self.base[k] = self.base[i - 1];
                i -= 1;
            } else {
                self.base[k] = self.added[j - 1];
                j -= 1;
            }
        }
        self.added.clear();
        self.removed.clear();
    }
}

/// The pairs of a sorted run whose digest is `digest`.
fn equal_range<'a, D: Ord>(run: &'a [(D, u64)], digest: &D) -> &'a [(D, u64)] {
    let start = run.partition_point(|(d, _)| d < digest);
    let len = run[start..].partition_point(|(d, _)| d == digest);
    &run[start..start + len]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// An MD5 whose bytes are all `n`: enough distinct digests for the cases below.
    fn md5(n: u8) -> Md5 {
        Md5::from_bytes([n; 16])
    }

    #[derive(Clone, Copy, Debug)]
    enum Op {
        /// Insert digest `.0` under id `.1`; `.2` is whether the pair should be new.
        Insert(u8, u64, bool),
        /// Remove digest `.0` under id `.1`; `.2` is whether the pair should have been there.
        Remove(u8, u64, bool),
    }
    use Op::{Insert, Remove};

    /// Builds a set from `built`, applies `ops`, and checks the ids of digests 0 to 9 against
    /// `expected` (digests not listed have none).
    fn check(built: &[(u8, u64)], ops: &[Op], expected: &[(u8, &[u64])]) {
        let set = Md5Set::build(built.iter().map(|&(d, id)| (md5(d), id)));
        for op in ops {
            let done = match *op {
                Insert(d, id, _) => set.insert(md5(d), id),
                Remove(d, id, _) => set.remove(&md5(d), id),
            };
            let (Insert(.., want) | Remove(.., want)) = *op;
            assert_eq!(done, want, "{op:?} after {built:?}");
        }
        let mut total = 0;
        for d in 0..10 {
            let want: &[u64] = expected
                .iter()
                .find(|(e, _)| *e == d)
                .map_or(&[], |(_, ids)| ids);
            let mut ids = vec![999]; // Lookups append: what is there stays.
            set.lookup(&md5(d), &mut ids);
            assert_eq!(ids[1..], *want, "digest {d} after {built:?} then {ops:?}");
            assert_eq!(set.contains(&md5(d)), !want.is_empty());
            total += want.len();
        }
        assert_eq!(set.len(), total);
        assert_eq!(set.is_empty(), total == 0);
    }

    #[test]
    fn inserts_removes_and_lookups() {
        check(&[], &[], &[]);
        check(&[(1, 10)], &[], &[(1, &[10])]);
        check(&[(1, 10), (1, 10), (2, 5)], &[], &[(1, &[10]), (2, &[5])]);
        check(&[(1, 30), (1, 10), (1, 20)], &[], &[(1, &[10, 20, 30])]);
        check(&[], &[Insert(1, 7, true)], &[(1, &[7])]);
        check(
            &[],
            &[Insert(1, 7, true), Insert(1, 7, false)],
            &[(1, &[7])],
        );
        check(&[(1, 7)], &[Insert(1, 7, false)], &[(1, &[7])]);
        check(&[(1, 7)], &[Insert(1, 3, true)], &[(1, &[3, 7])]);
        check(&[(1, 7)], &[Insert(1, 9, true)], &[(1, &[7, 9])]);
        check(&[(1, 7)], &[Remove(1, 7, true)], &[]);
        check(
            &[(1, 7)],
            &[Remove(1, 8, false), Remove(2, 7, false)],
            &[(1, &[7])],
        );
        check(&[(1, 7)], &[Remove(1, 7, true), Remove(1, 7, false)], &[]);
        check(
            &[(1, 7)],
            &[Remove(1, 7, true), Insert(1, 7, true)],
            &[(1, &[7])],
        );
        check(&[], &[Insert(1, 7, true), Remove(1, 7, true)], &[]);
        check(
            &[(1, 1), (1, 2), (2, 1)],
            &[Remove(1, 1, true), Insert(1, 0, true), Insert(3, 1, true)],
            &[(1, &[0, 2]), (2, &[1]), (3, &[1])],
        );
        check(
            &[(0, u64::MAX), (9, 0)],
            &[],
            &[(0, &[u64::MAX]), (9, &[0])],
        );
    }

    /// Tens of thousands of random changes, with merges along the way, against a model.
    #[test]
    fn agrees_with_a_model_through_merges() {
        let set = Md5Set::build((0..3000u64).map(|i| (md5((i % 200) as u8), i)));
        let mut model: BTreeSet<(u8, u64)> = (0..3000u64).map(|i| ((i % 200) as u8, i)).collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for step in 0..40_000 {
            let (d, id) = ((next() % 200) as u8, next() % 4000);
            if next() % 3 == 0 {
                assert_eq!(
                    set.remove(&md5(d), id),
                    model.remove(&(d, id)),
                    "step {step}"
                );
            } else {
                assert_eq!(set.insert(md5(d), id), model.insert((d, id)), "step {step}");
            }
            if step % 997 == 0 {
                assert_eq!(set.len(), model.len());
                for d in 0..200u8 {
                    let mut ids = Vec::new();
                    set.lookup(&md5(d), &mut ids);
                    let want: Vec<u64> = model.range((d, 0)..=(d, u64::MAX)).map(|p| p.1).collect();
                    assert_eq!(ids, want, "digest {d} at step {step}");
                }
            }
        }
    }

    /// What `for_each_sorted` gives, after `ops` on a set built from `built`.
    fn sorted(built: &[(u8, u64)], ops: &[Op]) -> Vec<(u8, u64)> {
        let set = Md5Set::build(built.iter().map(|&(d, id)| (md5(d), id)));
        for op in ops {
            match *op {
                Insert(d, id, _) => drop(set.insert(md5(d), id)),
                Remove(d, id, _) => drop(set.remove(&md5(d), id)),
            }
        }
        let mut pairs = Vec::new();
        set.for_each_sorted(|d, id| pairs.push((d.as_bytes()[0], id)));
        // Read back, the same set.
        let copy = Md5Set::from_sorted(pairs.iter().map(|&(d, id)| (md5(d), id)).collect())
            .expect("in order");
        assert_eq!(copy.len(), set.len());
        pairs
    }

    #[test]
    fn visits_in_order_and_reads_back() {
        assert_eq!(sorted(&[], &[]), []);
        assert_eq!(sorted(&[(2, 1), (1, 5)], &[]), [(1, 5), (2, 1)]);
        assert_eq!(
            sorted(&[(2, 1), (4, 5)], &[Insert(1, 0, true), Insert(3, 3, true)]),
            [(1, 0), (2, 1), (3, 3), (4, 5)]
        );
        assert_eq!(
            sorted(&[(2, 1), (4, 5)], &[Insert(9, 0, true), Remove(2, 1, true)]),
            [(4, 5), (9, 0)]
        );
        assert_eq!(
            sorted(&[(2, 1), (2, 3)], &[Insert(2, 2, true), Remove(2, 3, true)]),
            [(2, 1), (2, 2)]
        );
    }

    #[test]
    fn from_sorted_refuses_what_is_out_of_order() {
        let check = |pairs: &[(u8, u64)], ok: bool| {
            let entries = pairs.iter().map(|&(d, id)| (md5(d), id)).collect();
            assert_eq!(Md5Set::from_sorted(entries).is_some(), ok, "{pairs:?}");
        };
        check(&[], true);
        check(&[(1, 1)], true);
        check(&[(1, 1), (1, 2), (2, 0)], true);
        check(&[(1, 2), (1, 1)], false);
        check(&[(2, 0), (1, 9)], false);
        check(&[(1, 1), (1, 1)], false);
    }

    #[test]
    fn memory_per_entry_stays_small() {
        let digest = |i: u64| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
            Md5::from_bytes(bytes)
        };
        let built = Md5Set::build((0..100_000).map(|i| (digest(i), i)));
        assert_eq!(built.memory_bytes(), 100_000 * 24);
        // One by one, merges included: the side arrays add little.
        let grown = Md5Set::new();
        for i in 0..100_000 {
            assert!(grown.insert(digest(i), i));
        }
        assert_eq!(grown.len(), 100_000);
        assert!(
            grown.memory_bytes() <= 100_000 * 32,
            "{}",
            grown.memory_bytes()
        );
        let mut ids = Vec::new();
        grown.lookup(&digest(77_777), &mut ids);
        assert_eq!(ids, [77_777]);
        assert_eq!(std::mem::size_of::<(Sha1, u64)>(), 32);
        assert_eq!(std::mem::size_of::<(Sha256, u64)>(), 40);
    }

    #[test]
    fn shared_between_threads() {
        let set =
            Sha256Set::build((0..1000u64).map(|i| (Sha256::from_bytes([(i % 256) as u8; 32]), i)));
        std::thread::scope(|scope| {
            for t in 0..4u64 {
                let set = &set;
                scope.spawn(move || {
                    for i in 0..500u64 {
                        set.insert(
                            Sha256::from_bytes([(i % 256) as u8; 32]),
                            10_000 + t * 1000 + i,
                        );
                        let mut ids = Vec::new();
                        set.lookup(&Sha256::from_bytes([(i % 256) as u8; 32]), &mut ids);
                        assert!(ids.contains(&(10_000 + t * 1000 + i)));
                    }
                });
            }
        });
        assert_eq!(set.len(), 1000 + 4 * 500);
    }
}
