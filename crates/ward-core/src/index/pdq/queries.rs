//! A few queries indexed by chunks of their bits, so that a long list can be matched against
//! them as it is read, with nothing kept per entry.
//!
//! The pigeonhole of the multi-index (`loose.rs`) turned around: cut the hash into 16
//! chunks of 16 bits; two hashes within distance `r <= 31` have some chunk within
//! `f = r / 16` bits of each other. Each query is listed, in each chunk's table, under every
//! value within `f` bits of its own chunk (17 values at `f = 1`), so an entry looks up its
//! own 16 chunk values, exactly, and checks the queries listed there at full distance. A pair
//! is counted only from the first chunk that can produce it, so nothing comes twice.
//!
//! The work is the index's (the same pairs are checked), but what is read from anywhere in
//! memory is the queries' tables and hashes, not the list's: with some ten thousand queries
//! each table is about 600 KB and the hashes 320 KB, which stay in the processor's cache,
//! and the entries are read front to back, a table at a time over a run of them
//! ([`PdqQuerySet::search`]). Matching a file of queries against a list read once, that
//! avoids building an index of the list at all.

use super::PdqMatch;
use super::loose::{neighbours, prefetch};
use crate::pdq::PdqHash;

/// Chunks, and bits a chunk.
const TABLES: usize = 16;
const WIDTH: u32 = 16;
/// Values a chunk takes.
const VALUES: usize = 1 << WIDTH;

/// Entries a table is walked over at a time (an entry's number in it is a `u8`).
const STRETCH: usize = 256;
/// Query numbers copied at once for an entry's value (more take a slower way).
const COPY: usize = 8;
/// (entry, query) pairs gathered before they are checked: `COPY` for each entry of a stretch.
const PAIRS: usize = STRETCH * COPY;

/// (entry, query) pairs to check, gathered for one table over a stretch of entries.
struct Pairs {
    queries: [u16; PAIRS + COPY],
    entries: [u8; PAIRS + COPY],
    len: usize,
}

/// The queries of a match, indexed for lists to be streamed past them.
#[derive(Debug)]
pub struct PdqQuerySet {
    queries: Vec<PdqHash>,
    radius: u32,
    /// Bits a chunk may differ by: `radius / 16`.
    flips: u32,
    tables: Vec<QueryTable>,
}

/// One chunk's table: query numbers listed by chunk value.
#[derive(Debug)]
struct QueryTable {
    /// Where each value's query numbers start in `queries`, and the end (`VALUES + 1`).
    starts: Vec<u32>,
    queries: Vec<u16>,
}

/// Chunk `t` of a hash's words: bits `16 t .. 16 t + 16`, from the least significant bit of
/// the first word.
#[inline(always)]
fn chunk(words: &[u64; 4], t: usize) -> usize {
    (words[t / 4] >> ((t % 4) * 16)) as usize & (VALUES - 1)
}

impl PdqQuerySet {
    /// Queries a set holds at the most (a posting is a `u16` query number).
    pub const MAX_QUERIES: usize = 1 << 16;
    /// The largest radius a set answers at: one bit a chunk.
    pub const MAX_RADIUS: u32 = 2 * TABLES as u32 - 1;

    /// Indexes `queries` for matching within `radius`: `None` when the radius is above
    /// [`PdqQuerySet::MAX_RADIUS`] or there are more than [`PdqQuerySet::MAX_QUERIES`]
    /// queries.
    pub fn new(queries: Vec<PdqHash>, radius: u32) -> Option<PdqQuerySet> {
        if radius > Self::MAX_RADIUS || queries.len() > Self::MAX_QUERIES {
            return None;
        }
        let flips = radius / TABLES as u32;
        let tables = (0..TABLES)
            .map(|t| QueryTable::build(&queries, t, flips))
            .collect();
        Some(PdqQuerySet {
            queries,
            radius,
            flips,
            tables,
        })
    }

    /// The queries, in the order given: a match's query number indexes them.
    pub fn queries(&self) -> &[PdqHash] {
        &self.queries
    }

    /// The radius the set answers at.
    pub fn radius(&self) -> u32 {
        self.radius
    }

    /// Appends, for each of the entries `hashes` (with the caller's `ids`, one each) within
    /// the radius of a query, `(query number, match)`, in no particular order. Runs of a few
    /// thousand entries are the quickest: each table is walked over the whole run.
    pub fn search(&self, hashes: &[PdqHash], ids: &[u64], out: &mut Vec<(u32, PdqMatch)>) {
        assert_eq!(hashes.len(), ids.len(), "one id an entry");
        search_entries(self, hashes, ids, out);
    }

    /// Bytes held, about.
    pub fn memory_bytes(&self) -> usize {
        self.queries.len() * size_of::<PdqHash>()
            + self
                .tables
                .iter()
                .map(|t| t.starts.len() * 4 + t.queries.len() * 2)
                .sum::<usize>()
    }

    #[inline(always)]
    fn search_inner(&self, hashes: &[PdqHash], ids: &[u64], out: &mut Vec<(u32, PdqMatch)>) {
        // A table at a time over a stretch of entries, in sweeps whose reads do not wait on
        // one another: the values' starts asked for; the ranges read and their query numbers
        // asked for; the (entry, query) pairs gathered into one list, a value's query
        // numbers copied [`COPY`] at a time whatever their count (so that how many there
        // are is not a branch to guess); their hashes asked for; then the pairs checked.
        let mut ranges = [(0u32, 0u32); STRETCH];
        let mut pairs = Pairs {
            queries: [0; PAIRS + COPY],
            entries: [0; PAIRS + COPY],
            len: 0,
        };
        for (first, hashes) in hashes.chunks(STRETCH).enumerate() {
            let ids = &ids[first * STRETCH..];
            for (t, table) in self.tables.iter().enumerate() {
                for hash in hashes {
                    prefetch(&table.starts[chunk(&hash.words(), t)]);
                }
                for (range, hash) in ranges.iter_mut().zip(hashes) {
                    let value = chunk(&hash.words(), t);
                    *range = (table.starts[value], table.starts[value + 1]);
                    prefetch(table.queries.as_ptr().wrapping_add(range.0 as usize));
                }
                for (k, &(start, end)) in ranges[..hashes.len()].iter().enumerate() {
                    let (start, end) = (start as usize, end as usize);
                    if end - start <= COPY {
                        // Room for COPY more: the list holds PAIRS + COPY.
                        if pairs.len > PAIRS {
                            self.check_pairs(t, hashes, ids, &mut pairs, out);
                        }
                        let len = pairs.len;
                        pairs.queries[len..len + COPY]
                            .copy_from_slice(&table.queries[start..start + COPY]);
                        pairs.entries[len..len + COPY].fill(k as u8);
                        pairs.len += end - start;
                    } else {
                        for &q in &table.queries[start..end] {
                            if pairs.len >= PAIRS {
                                self.check_pairs(t, hashes, ids, &mut pairs, out);
                            }
                            pairs.queries[pairs.len] = q;
                            pairs.entries[pairs.len] = k as u8;
                            pairs.len += 1;
                        }
                    }
                }
                for &q in &pairs.queries[..pairs.len] {
                    prefetch(&self.queries[usize::from(q)]);
                }
                self.check_pairs(t, hashes, ids, &mut pairs, out);
            }
        }
    }

    /// Checks the gathered pairs (entry `k` of `hashes` against a query, listed by table
    /// `t`), and empties the list.
    #[inline(always)]
    fn check_pairs(
        &self,
        t: usize,
        hashes: &[PdqHash],
        ids: &[u64],
        pairs: &mut Pairs,
        out: &mut Vec<(u32, PdqMatch)>,
    ) {
        for (&q, &k) in pairs.queries[..pairs.len]
            .iter()
            .zip(&pairs.entries[..pairs.len])
        {
            self.check(t, &hashes[usize::from(k)], q, ids[usize::from(k)], out);
        }
        pairs.len = 0;
    }

    /// Checks entry `hash` against query `q`, which table `t` listed under its value.
    #[inline(always)]
    fn check(&self, t: usize, hash: &PdqHash, q: u16, id: u64, out: &mut Vec<(u32, PdqMatch)>) {
        let query = &self.queries[usize::from(q)];
        let distance = hash.distance(query);
        if distance > self.radius {
            return;
        }
        // Counted from the first chunk within the flips only.
        let (words, query_words) = (hash.words(), query.words());
        let earlier = (0..t).any(|s| {
            ((chunk(&words, s) ^ chunk(&query_words, s)) as u32).count_ones() <= self.flips
        });
        if !earlier {
            out.push((
                u32::from(q),
                PdqMatch {
                    distance,
                    id,
                    hash: *hash,
                },
            ));
        }
    }
}

crate::cpu::vectorised! {
    fn search_entries(
        set: &PdqQuerySet,
        hashes: &[PdqHash],
        ids: &[u64],
        out: &mut Vec<(u32, PdqMatch)>,
    ) -> () = PdqQuerySet::search_inner;
}

impl QueryTable {
    /// Chunk `t`'s table: each query under every value within `flips` bits of its chunk (a
    /// counting sort by value).
    fn build(queries: &[PdqHash], t: usize, flips: u32) -> QueryTable {
        let mut values = Vec::new();
        let mut starts = vec![0u32; VALUES + 1];
        for query in queries {
            neighbours(chunk(&query.words(), t) as u32, WIDTH, flips, &mut values);
            for &v in &values {
                starts[v as usize + 1] += 1;
            }
        }
        for v in 0..VALUES {
            starts[v + 1] += starts[v];
        }
        let mut next = starts.clone();
        // With room for [`COPY`] numbers read from the last start.
        let mut listed = vec![0u16; starts[VALUES] as usize + COPY];
        for (q, query) in queries.iter().enumerate() {
            neighbours(chunk(&query.words(), t) as u32, WIDTH, flips, &mut values);
            for &v in &values {
                listed[next[v as usize] as usize] = q as u16;
                next[v as usize] += 1;
            }
        }
        QueryTable {
            starts,
            queries: listed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;

    /// Every (query, entry) pair within `radius`, by brute force.
    fn brute(queries: &[PdqHash], entries: &[PdqHash], radius: u32) -> Vec<(u32, u64, u32)> {
        let mut pairs = Vec::new();
        for (q, query) in queries.iter().enumerate() {
            for (k, entry) in entries.iter().enumerate() {
                let distance = query.distance(entry);
                if distance <= radius {
                    pairs.push((q as u32, k as u64 * 3 + 7, distance));
                }
            }
        }
        pairs.sort_unstable();
        pairs
    }

    #[test]
    fn answers_every_pair_once_at_each_radius() {
        let mut rng = Rng(24);
        let queries: Vec<PdqHash> = (0..300).map(|_| rng.hash()).collect();
        // Entries at every distance around the cut-offs from some query, unrelated ones,
        // and a query's exact copy twice.
        let mut entries = Vec::new();
        for (i, query) in queries.iter().enumerate() {
            entries.push(rng.near(query, (i % 40) as u32));
            if i % 7 == 0 {
                entries.push(*query);
            }
            entries.push(rng.hash());
        }
        let ids: Vec<u64> = (0..entries.len() as u64).map(|k| k * 3 + 7).collect();
        for radius in [0, 1, 15, 16, 17, 30, 31] {
            let set = PdqQuerySet::new(queries.clone(), radius).expect("in range");
            // Streamed in uneven runs, as a list is read.
            let mut found = Vec::new();
            let mut at = 0;
            for run in [1, 100, 17, 1000].into_iter().cycle() {
                if at == entries.len() {
                    break;
                }
                let end = (at + run).min(entries.len());
                set.search(&entries[at..end], &ids[at..end], &mut found);
                at = end;
            }
            let mut got: Vec<(u32, u64, u32)> =
                found.iter().map(|&(q, m)| (q, m.id, m.distance)).collect();
            got.sort_unstable();
            assert_eq!(got, brute(&queries, &entries, radius), "radius {radius}");
            assert!(
                found
                    .iter()
                    .all(|&(_, m)| entries[((m.id - 7) / 3) as usize] == m.hash)
            );
            assert!(
                got.len() > queries.len() / 4 || radius < 16,
                "radius {radius}"
            );
        }
    }

    /// Many queries sharing chunk values (near copies of one hash) give some entries
    /// thousands of pairs in a table, more than are gathered at once, between entries with
    /// a few: every pair is still found once.
    #[test]
    fn crowded_values_answer_every_pair() {
        let mut rng = Rng(7);
        let base = rng.hash();
        let queries: Vec<PdqHash> = (0..3000).map(|k| rng.near(&base, k % 24)).collect();
        let entries: Vec<PdqHash> = (0..3000)
            .map(|k| {
                if k % 5 == 0 {
                    rng.near(&base, (k % 40) as u32)
                } else {
                    rng.hash()
                }
            })
            .collect();
        let ids: Vec<u64> = (0..entries.len() as u64).map(|k| k * 3 + 7).collect();
        let set = PdqQuerySet::new(queries.clone(), 31).expect("in range");
        let mut found = Vec::new();
        for (hashes, ids) in entries.chunks(700).zip(ids.chunks(700)) {
            set.search(hashes, ids, &mut found);
        }
        let mut got: Vec<(u32, u64, u32)> =
            found.iter().map(|&(q, m)| (q, m.id, m.distance)).collect();
        got.sort_unstable();
        let want = brute(&queries, &entries, 31);
        assert!(want.len() > 100_000, "{}", want.len());
        assert_eq!(got, want);
    }

    #[test]
    fn limits() {
        let mut rng = Rng(1);
        assert!(PdqQuerySet::new(vec![rng.hash()], PdqQuerySet::MAX_RADIUS + 1).is_none());
        assert!(
            PdqQuerySet::new(vec![PdqHash::default(); PdqQuerySet::MAX_QUERIES + 1], 31).is_none()
        );
        let empty = PdqQuerySet::new(Vec::new(), 31).expect("no queries is a set");
        let mut found = Vec::new();
        empty.search(&[rng.hash()], &[0], &mut found);
        assert!(found.is_empty());
    }
}
