//! The PDQ index: all stored hashes within a Hamming distance of a query, or its k nearest,
//! exactly.

use std::sync::RwLock;

use crate::pdq::PdqHash;

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

/// An exact, thread-safe index of PDQ hashes with ids.
#[derive(Debug, Default)]
pub struct PdqIndex {
    inner: RwLock<Vec<(PdqHash, u64)>>,
}

impl PdqIndex {
    /// An empty index.
    pub fn new() -> PdqIndex {
        PdqIndex::default()
    }

    /// Builds an index over `entries` at once (faster and better organised than inserting
    /// them one by one).
    pub fn build(entries: impl IntoIterator<Item = (PdqHash, u64)>) -> PdqIndex {
        PdqIndex { inner: RwLock::new(entries.into_iter().collect()) }
    }

    /// Adds an entry. The same hash may be stored under several ids.
    pub fn insert(&self, hash: PdqHash, id: u64) {
        self.inner.write().expect("index lock").push((hash, id));
    }

    /// Removes one entry with this hash and id; returns whether there was one.
    pub fn remove(&self, hash: &PdqHash, id: u64) -> bool {
        let mut inner = self.inner.write().expect("index lock");
        match inner.iter().position(|(h, i)| h == hash && *i == id) {
            Some(at) => {
                inner.swap_remove(at);
                true
            }
            None => false,
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.inner.read().expect("index lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends to `out` every entry within `radius` of `query` (in no particular order).
    pub fn search_radius(&self, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) {
        let inner = self.inner.read().expect("index lock");
        for (hash, id) in inner.iter() {
            let distance = hash.distance(query);
            if distance <= radius {
                out.push(PdqMatch { distance, id: *id, hash: *hash });
            }
        }
    }

    /// The `k` entries nearest to `query`, nearest first (ties by id).
    pub fn search_nearest(&self, query: &PdqHash, k: usize) -> Vec<PdqMatch> {
        let inner = self.inner.read().expect("index lock");
        let mut all: Vec<PdqMatch> =
            inner.iter().map(|(hash, id)| PdqMatch { distance: hash.distance(query), id: *id, hash: *hash }).collect();
        all.sort();
        all.truncate(k);
        all
    }

    /// Approximate heap memory held by the index, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.inner.read().expect("index lock").capacity() * std::mem::size_of::<(PdqHash, u64)>()
    }
}
