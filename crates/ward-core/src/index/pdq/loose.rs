//! Entries that belong to no family, indexed by chunks of their bits (multi-index hashing).
//!
//! Unrelated hashes are about 128 bits apart and carry no structure to prune with, so
//! without an index every query would read all of them. Cut `m` disjoint chunks of `w` bits
//! out of the hash: two hashes within distance `r` have some chunk within `f = r / m` bits of
//! each other (if every chunk differed by `f + 1` or more, the total would exceed `r`). So
//! for each chunk, the entries whose chunk value lies within `f` bits of the query's are the
//! only candidates. Each candidate is checked at its full distance, and counted only from
//! the first chunk that can produce it, so nothing is reported twice.
//!
//! How many chunks depends on how many entries there are ([`Layout::for_entries`]). Up to a
//! few million, 16 chunks of 16 bits: 17 values a chunk at radius 31 (`f = 1`), each value
//! holding `n / 65536` entries. Beyond, the candidates grow with `n` while the table lookups
//! do not, so fewer, wider chunks win: at ten million, 11 chunks of 23 bits probe 277 values
//! a chunk (`f = 2`) but each holds about one entry, a tenth of the candidates.
//!
//! The entries are kept sorted by their first chunk, so its table is the entry order itself;
//! every other table lists block numbers by chunk value, bit-packed at the width the count
//! needs. With the wide chunks a block is 16 consecutive entries (4 bits off every number;
//! the query reads the block's 512 bytes for the entries with the probed value), otherwise
//! one. Where a plain array of where each value starts would cost more than four bits an
//! entry, the table's directory is unary instead (each value's count as that many ones and
//! a zero, a bit per posting and a bit per value), with a sample every 128 values to start
//! counting from. Ids are bit-packed too, from the smallest. At ten million unrelated
//! hashes that is 32 bytes for the hash, 3 for its id and about 28 for the tables: some 63
//! bytes an entry, where a table of `u32` entry numbers per chunk took 104 (blocks of one
//! entry would take 68 and answer about twice as fast).
//!
//! A query's lookups and candidates are reads from anywhere in memory, one cache miss each.
//! Many queries asked together ([`LooseIndex::search_batch`]) put theirs in order: per
//! group of up to 2048 queries, each table's probes are sorted by value (a radix sort) so
//! the directory and keys are read front to back, and all the candidate blocks by block
//! number, so the hashes are too, each block once for every query that wants it. At ten
//! million unrelated hashes that answers some 2.5 times as many queries a second. Only the
//! wide layouts do this: with 16 chunks the index has at most a few million entries, whose
//! hashes largely stay in the processor's cache, and one by one is quicker.
//!
//! Built at once with the index; entries inserted later wait in scanned pages until the next
//! rebuild; removed entries are marked and skipped.

use rayon::prelude::*;

use super::PdqMatch;
use crate::pdq::PdqHash;

/// Chunks at the most (and at radius 31, one bit a chunk).
const MAX_TABLES: u32 = 16;
/// Chunks at the fewest considered (at radius 31, two bits a chunk down to 11).
const MIN_TABLES: u32 = 11;
/// The widest chunk: its directory has `2^w` values.
const MAX_WIDTH: u32 = 24;
/// Bits of query chunk difference probed at the most; beyond, the entries are read.
const MAX_FLIPS: u32 = 3;
/// Values between two samples of a unary directory.
const SAMPLE: usize = 128;
/// Entries a posting stands for in the layouts of fewer, wider chunks.
const WIDE_BLOCK: u32 = 16;
/// Queries a batched search takes together at the most.
const BATCH_QUERIES: usize = 2048;
/// Fewer queries than this are searched one by one: sorting would not pay.
const BATCH_MIN_QUERIES: usize = 16;
/// Candidates a batched search collects before sorting them: 32 MiB of them, and as much
/// again to sort into (a group with twice as many is split).
const BATCH_CANDIDATES: usize = 1 << 22;

/// How the hash is cut into chunks: `tables` chunks of `width` bits, chunk `t` being bits
/// `t * width .. (t + 1) * width` (counted from the least significant bit of the first word).
/// Every table but the first lists blocks of `block` consecutive entries rather than
/// entries: a block's number takes `log2(block)` bits fewer, and the query reads the block's
/// entries for the ones with the value it probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    pub(super) tables: u32,
    pub(super) width: u32,
    pub(super) block: u32,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            tables: MAX_TABLES,
            width: 16,
            block: 1,
        }
    }
}

impl Layout {
    /// The layout with the least expected work for a radius-31 query over `n` entries: a
    /// table lookup costs about three candidates' reads in a unary directory and one in a
    /// plain one, and each candidate is one read of a hash from anywhere in memory.
    pub(super) fn for_entries(n: usize) -> Layout {
        let cost = |layout: Layout| {
            let flips = 31 / layout.tables;
            let probes = f64::from(layout.tables) * neighbour_count(layout.width, flips) as f64;
            let per_value = n as f64 / (1u64 << layout.width) as f64;
            let lookup = if layout.plain_directory(n) { 1.0 } else { 3.0 };
            probes * (lookup + per_value)
        };
        let best = (MIN_TABLES..=MAX_TABLES)
            .map(|tables| Layout {
                tables,
                width: (256 / tables).min(MAX_WIDTH),
                block: 1,
            })
            .min_by(|a, b| cost(*a).total_cmp(&cost(*b)))
            .expect("some layouts");
        // Wide chunks leave a query so few candidates that it can read 16 entries for each
        // (512 bytes, next to one another) and stay several times quicker than 16 chunks
        // would be; the entry numbers shrink by 4 bits in every table.
        Layout {
            block: if best.tables < MAX_TABLES {
                WIDE_BLOCK
            } else {
                1
            },
            ..best
        }
    }

    /// Whether a table's directory is a plain array of starts (four bytes a value) rather
    /// than unary: when that costs at most four bits an entry.
    fn plain_directory(self, n: usize) -> bool {
        (1usize << self.width) * 8 <= n
    }

    /// Whether a snapshot's layout is one this code could have made.
    pub(super) fn is_valid(self) -> bool {
        (1..=MAX_TABLES).contains(&self.tables)
            && (8..=MAX_WIDTH).contains(&self.width)
            && self.block.is_power_of_two()
            && self.block <= 64
            && self.tables * self.width <= PdqHash::BITS
    }

    fn values(self) -> usize {
        1 << self.width
    }

    /// Blocks of `n` entries.
    pub(super) fn blocks(self, n: usize) -> usize {
        n.div_ceil(self.block as usize)
    }

    /// Chunk `t` of a hash's words.
    #[inline(always)]
    fn chunk(self, words: &[u64; 4], t: u32) -> u32 {
        let start = t * self.width;
        let (word, offset) = ((start / 64) as usize, start % 64);
        let mut bits = words[word] >> offset;
        if offset + self.width > 64 {
            bits |= words[word + 1] << (64 - offset);
        }
        (bits & ((1u64 << self.width) - 1)) as u32
    }
}

/// The chunk values within `flips` bits of `value`, a chunk of `width` bits.
pub(super) fn neighbours(value: u32, width: u32, flips: u32, out: &mut Vec<u32>) {
    out.clear();
    out.push(value);
    if flips >= 1 {
        for a in 0..width {
            out.push(value ^ (1 << a));
        }
    }
    if flips >= 2 {
        for a in 0..width {
            for b in a + 1..width {
                out.push(value ^ (1 << a) ^ (1 << b));
            }
        }
    }
    if flips >= 3 {
        for a in 0..width {
            for b in a + 1..width {
                for c in b + 1..width {
                    out.push(value ^ (1 << a) ^ (1 << b) ^ (1 << c));
                }
            }
        }
    }
}

/// How many values `neighbours` yields.
fn neighbour_count(width: u32, flips: u32) -> usize {
    let w = width as usize;
    let mut count = 1;
    if flips >= 1 {
        count += w;
    }
    if flips >= 2 {
        count += w * (w - 1) / 2;
    }
    if flips >= 3 {
        count += w * (w - 1) * (w - 2) / 6;
    }
    count
}

/// Unsigned integers of one width, packed end to end in words (least significant bits
/// first), with a spare word so that reading the last never runs past the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Packed {
    width: u32,
    words: Vec<u64>,
}

impl Packed {
    /// Room for `len` zeros of `width` bits.
    fn zeros(width: u32, len: usize) -> Packed {
        Packed {
            width,
            words: vec![0; Packed::words_for(width, len)],
        }
    }

    pub(super) fn words_for(width: u32, len: usize) -> usize {
        (len * width as usize).div_ceil(64) + 1
    }

    /// Reassembles packed integers from a snapshot, if the words fit `len` of them.
    pub(super) fn from_parts(width: u32, len: usize, words: Vec<u64>) -> Option<Packed> {
        ((1..=64).contains(&width) && words.len() == Packed::words_for(width, len))
            .then_some(Packed { width, words })
    }

    pub(super) fn width(&self) -> u32 {
        self.width
    }

    pub(super) fn words(&self) -> &[u64] {
        &self.words
    }

    /// Asks for slot `i`'s word to be brought into the cache.
    #[inline(always)]
    fn prefetch(&self, i: usize) {
        prefetch(
            self.words
                .as_ptr()
                .wrapping_add(i * self.width as usize / 64),
        );
    }

    /// Appends slots `start..end` to `out`.
    #[inline(always)]
    fn extend_into(&self, start: usize, end: usize, out: &mut Vec<u32>) {
        let width = self.width as usize;
        let mask = mask(self.width);
        let mut bit = start * width;
        for _ in start..end {
            let (word, offset) = (bit / 64, bit % 64);
            let mut value = self.words[word] >> offset;
            if offset + width > 64 {
                value |= self.words[word + 1] << (64 - offset);
            }
            out.push((value & mask) as u32);
            bit += width;
        }
    }

    #[inline(always)]
    fn get(&self, i: usize) -> u64 {
        let bit = i * self.width as usize;
        let (word, offset) = (bit / 64, (bit % 64) as u32);
        let mut value = self.words[word] >> offset;
        if offset + self.width > 64 {
            value |= self.words[word + 1] << (64 - offset);
        }
        value & mask(self.width)
    }

    /// Sets slot `i`, which must still be zero.
    fn set(&mut self, i: usize, value: u64) {
        let bit = i * self.width as usize;
        let (word, offset) = (bit / 64, (bit % 64) as u32);
        self.words[word] |= value << offset;
        if offset + self.width > 64 {
            self.words[word + 1] |= value >> (64 - offset);
        }
    }
}

fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1 << width) - 1
    }
}

/// Bits of the numbers of `n` entries (or blocks).
pub(super) fn key_width(n: usize) -> u32 {
    width_for(n.saturating_sub(1) as u64)
}

/// Bits needed to hold every value up to `max`.
fn width_for(max: u64) -> u32 {
    (64 - max.leading_zeros()).max(1)
}

/// Where each chunk value's entries lie in a table.
#[derive(Debug)]
enum Directory {
    /// `starts[v] .. starts[v + 1]`.
    Plain(Vec<u32>),
    /// `unary`: for each value, as many ones as it has entries, then a zero; `samples[j]`:
    /// the entries before value `64 j`.
    Unary { unary: Vec<u64>, samples: Vec<u32> },
}

impl Directory {
    /// The directory of a table whose values have these counts (`counts[v]`).
    fn from_counts(counts: &[u32], plain: bool) -> Directory {
        if plain {
            let mut starts = Vec::with_capacity(counts.len() + 1);
            let mut total = 0u32;
            starts.push(0);
            for &c in counts {
                total += c;
                starts.push(total);
            }
            return Directory::Plain(starts);
        }
        let entries: usize = counts.iter().map(|&c| c as usize).sum();
        let mut unary = vec![0u64; unary_words(counts.len(), entries)];
        let mut samples = Vec::with_capacity(counts.len().div_ceil(SAMPLE));
        let (mut bit, mut before) = (0usize, 0u32);
        for (v, &c) in counts.iter().enumerate() {
            if v % SAMPLE == 0 {
                samples.push(before);
            }
            before += c;
            // `c` ones, then the zero already there.
            let mut left = c as usize;
            while left > 0 {
                let offset = bit % 64;
                let take = left.min(64 - offset);
                unary[bit / 64] |= mask(take as u32) << offset;
                bit += take;
                left -= take;
            }
            bit += 1;
        }
        Directory::Unary { unary, samples }
    }

    /// The directory from its unary form (a snapshot's, checked by [`unary_is_valid`]).
    fn from_unary(unary: Vec<u64>, values: usize, plain: bool) -> Directory {
        if plain {
            return Directory::Plain(starts_from_unary(&unary, values));
        }
        // Entries before value 64j: the ones before zero number 64j - 1.
        let mut samples = Vec::with_capacity(values.div_ceil(SAMPLE));
        samples.push(0);
        let mut zeros_before = 0usize;
        for (w, &word) in unary.iter().enumerate() {
            if samples.len() == values.div_ceil(SAMPLE) {
                break;
            }
            let zeros = !word;
            let count = zeros.count_ones() as usize;
            loop {
                let target = samples.len() * SAMPLE - 1;
                if target >= zeros_before + count || samples.len() == values.div_ceil(SAMPLE) {
                    break;
                }
                let at = w * 64 + nth_set_bit(zeros, (target - zeros_before) as u32) as usize;
                samples.push((at - target) as u32);
            }
            zeros_before += count;
        }
        Directory::Unary { unary, samples }
    }

    /// The unary form, for snapshots.
    fn unary(&self) -> Vec<u64> {
        match self {
            Directory::Unary { unary, .. } => unary.clone(),
            Directory::Plain(starts) => {
                let counts: Vec<u32> = starts.windows(2).map(|w| w[1] - w[0]).collect();
                match Directory::from_counts(&counts, false) {
                    Directory::Unary { unary, .. } => unary,
                    Directory::Plain(_) => unreachable!("asked for unary"),
                }
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        match self {
            Directory::Plain(starts) => starts.capacity() * 4,
            Directory::Unary { unary, samples } => unary.capacity() * 8 + samples.capacity() * 4,
        }
    }

    /// Asks for what a lookup of `v` reads first to be brought into the cache.
    #[inline(always)]
    fn prefetch(&self, v: u32) {
        match self {
            Directory::Plain(starts) => prefetch(starts.as_ptr().wrapping_add(v as usize)),
            Directory::Unary { samples, .. } => {
                prefetch(samples.as_ptr().wrapping_add(v as usize / SAMPLE))
            }
        }
    }

    /// For a unary directory, once its sample is in the cache: asks for the words a lookup
    /// of `v` counts through.
    #[inline(always)]
    fn prefetch_unary(&self, v: u32) {
        if let Directory::Unary { unary, samples } = self {
            let j = v as usize / SAMPLE;
            let word = (samples[j] as usize + j * SAMPLE) / 64;
            prefetch(unary.as_ptr().wrapping_add(word));
            prefetch(unary.as_ptr().wrapping_add(word + 8));
        }
    }

    /// The entries of value `v`: `start .. end` in the table's order.
    #[inline(always)]
    fn range(&self, v: u32) -> (usize, usize) {
        match self {
            Directory::Plain(starts) => {
                (starts[v as usize] as usize, starts[v as usize + 1] as usize)
            }
            Directory::Unary { unary, samples } => {
                let v = v as usize;
                let (j, r) = (v / SAMPLE, v % SAMPLE);
                // Bits before value 64j: its entries (ones) and its values (zeros).
                let mut at = samples[j] as usize + j * SAMPLE;
                if r > 0 {
                    // Past r more zeros: the start of value v.
                    at = zero_after(unary, at, r - 1) + 1;
                }
                let end = zero_after(unary, at, 0);
                (at - v, end - v)
            }
        }
    }
}

/// Words of a unary directory: a bit per value and per entry, and a spare zero word.
pub(super) fn unary_words(values: usize, entries: usize) -> usize {
    (values + entries).div_ceil(64) + 1
}

/// Where each value's entries start (and, last, the entry count), from a unary directory:
/// zero number `z` at bit `p` ends value `z`, after `p - z` entries.
fn starts_from_unary(unary: &[u64], values: usize) -> Vec<u32> {
    let mut starts = Vec::with_capacity(values + 1);
    starts.push(0);
    'words: for (w, &word) in unary.iter().enumerate() {
        let mut zeros = !word;
        while zeros != 0 {
            if starts.len() == values + 1 {
                break 'words;
            }
            let at = w * 64 + zeros.trailing_zeros() as usize;
            starts.push((at - (starts.len() - 1)) as u32);
            zeros &= zeros - 1;
        }
    }
    starts
}

/// Asks for the cache line holding `p` to be brought in; a hint, so any address will do.
#[inline(always)]
pub(super) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Position of zero number `skip` (from 0) at or after bit `from`. The unary array ends in
/// a zero word, so one is always found for positions the directory asks about.
#[inline(always)]
fn zero_after(unary: &[u64], from: usize, mut skip: usize) -> usize {
    let mut word = from / 64;
    let mut zeros = !unary[word] & (u64::MAX << (from % 64));
    loop {
        let count = zeros.count_ones() as usize;
        if count > skip {
            return word * 64 + nth_set_bit(zeros, skip as u32) as usize;
        }
        skip -= count;
        word += 1;
        zeros = !unary[word];
    }
}

/// The position of set bit number `n` (from 0) of `x`, which has more than `n`.
#[inline(always)]
fn nth_set_bit(mut x: u64, n: u32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("bmi2") {
        // SAFETY: the CPU has BMI2, checked just above.
        return unsafe { std::arch::x86_64::_pdep_u64(1 << n, x) }.trailing_zeros();
    }
    for _ in 0..n {
        x &= x - 1;
    }
    x.trailing_zeros()
}

/// Checks a unary directory read from a snapshot: `values` zeros holding `entries` ones
/// between them, and only zeros after.
fn unary_is_valid(unary: &[u64], values: usize, entries: usize) -> bool {
    let bits = values + entries;
    if unary.len() != unary_words(values, entries) {
        return false;
    }
    let ones: usize = unary.iter().map(|w| w.count_ones() as usize).sum();
    if ones != entries {
        return false;
    }
    // No one beyond the last value's zero: the bit before `bits` is a zero and nothing
    // after it is set.
    let last_word = (bits - 1) / 64;
    let above = (bits - 1) % 64;
    let beyond = unary[last_word] & !mask(above as u32 + 1) != 0
        || unary[last_word + 1..].iter().any(|&w| w != 0);
    !beyond && unary[last_word] >> above & 1 == 0
}

crate::cpu::vectorised! {
    /// Collects a group's candidates into `scratch.candidates`, each a block number above
    /// a query number; false (and stops) past `limit` of them.
    fn group_candidates(
        index: &LooseIndex,
        queries: &[PdqHash],
        radius: u32,
        limit: usize,
        scratch: &mut BatchScratch,
    ) -> bool = LooseIndex::group_candidates_inner;
}

crate::cpu::vectorised! {
    /// Checks each candidate block (a block number above a query number, in block order)
    /// against its query once, appending the matches as query `first + q`'s.
    fn check_blocks(
        index: &LooseIndex,
        candidates: &[u64],
        query_bits: u32,
        queries: &[PdqHash],
        first: u32,
        radius: u32,
        out: &mut Vec<(u32, PdqMatch)>,
    ) -> () = check_blocks_inner;
}

#[inline(always)]
fn check_blocks_inner(
    index: &LooseIndex,
    candidates: &[u64],
    query_bits: u32,
    queries: &[PdqHash],
    first: u32,
    radius: u32,
    out: &mut Vec<(u32, PdqMatch)>,
) {
    let block = index.layout.block as usize;
    let n = index.hashes.len();
    // The block each query last read: its repeats of it follow one another.
    let mut last = vec![u64::MAX; queries.len()];
    let mut ahead = u64::MAX;
    for (at, &candidate) in candidates.iter().enumerate() {
        let b = candidate >> query_bits;
        let q = (candidate & mask(query_bits)) as usize;
        if last[q] == b {
            continue;
        }
        last[q] = b;
        // In block order the reads go forwards, but with gaps: ask ahead, once a block.
        if let Some(&later) = candidates.get(at + 32) {
            let later = later >> query_bits;
            if later != ahead {
                ahead = later;
                index.prefetch_block(later as usize);
            }
        }
        let b = b as usize;
        let query = &queries[q];
        let q_words = query.words();
        let (from, to) = (b * block, ((b + 1) * block).min(n));
        // Most candidates are some 128 bits away: half the hash tells, for the whole block
        // at once (which the compiler can vectorise).
        let near = index.hashes[from..to]
            .iter()
            .fold((0u64, 0u32), |(near, i), hash| {
                let words = hash.words();
                let half =
                    (words[0] ^ q_words[0]).count_ones() + (words[1] ^ q_words[1]).count_ones();
                (near | u64::from(half <= radius) << i, i + 1)
            });
        let mut near = near.0;
        while near != 0 {
            let k = from + near.trailing_zeros() as usize;
            near &= near - 1;
            let distance = index.hashes[k].distance(query);
            if distance <= radius && !index.is_removed(k) {
                out.push((
                    first + q as u32,
                    PdqMatch {
                        distance,
                        id: index.id(k),
                        hash: index.hashes[k],
                    },
                ));
            }
        }
    }
}

/// The buffers of a batched search, kept between its groups.
#[derive(Debug, Default)]
struct BatchScratch {
    /// Block number above query number, per candidate.
    candidates: Vec<u64>,
    /// Value above query number, per probe of the table at hand.
    probes: Vec<u64>,
    /// Room for sorting either.
    spare: Vec<u64>,
    /// One query's probe values for one table.
    values: Vec<u32>,
    /// Where each probe's postings lie, and its query: `(start, end, query)`.
    ranges: Vec<(u32, u32, u32)>,
}

/// Bits a radix sort's pass sorts by, at the most.
const RADIX_BITS: u32 = 12;

/// Sorts `keys` by their bits `bits` alone (stable: keys equal there keep their order), a
/// digit of at most [`RADIX_BITS`] at a time from the least significant; `spare` is room to
/// sort into.
fn sort_by_bits(keys: &mut Vec<u64>, spare: &mut Vec<u64>, bits: std::ops::Range<u32>) {
    let width = bits.end.saturating_sub(bits.start);
    if width == 0 {
        return;
    }
    let passes = width.div_ceil(RADIX_BITS);
    let digit = width.div_ceil(passes);
    let mut shift = bits.start;
    while shift < bits.end {
        let take = digit.min(bits.end - shift);
        scatter_by_digit(|| keys.iter().copied(), spare, shift, take);
        std::mem::swap(keys, spare);
        shift += take;
    }
}

/// Writes the keys `keys` gives (twice: to count them, then to place them) into `into` in
/// order of their `width` bits from `shift` (stable).
fn scatter_by_digit<I: Iterator<Item = u64>>(
    keys: impl Fn() -> I,
    into: &mut Vec<u64>,
    shift: u32,
    width: u32,
) {
    let digits = 1usize << width;
    let digit = |key: u64| (key >> shift) as usize & (digits - 1);
    let mut next = vec![0usize; digits];
    for key in keys() {
        next[digit(key)] += 1;
    }
    let mut total = 0;
    for slot in next.iter_mut() {
        let count = *slot;
        *slot = total;
        total += count;
    }
    if into.len() != total {
        into.clear();
        into.resize(total, 0);
    }
    for key in keys() {
        let d = digit(key);
        into[next[d]] = key;
        next[d] += 1;
    }
}

/// A table's directory, keys and posting count from its postings (each a value above a block
/// number, in block order), which `postings` gives (twice: to count them, then to place
/// them): a counting sort by value, done a range of values at a time (by their top bits
/// first) so that its counts and its writes stay in the cache.
fn table_from_postings<I: Iterator<Item = u64>>(
    postings: impl Fn() -> I,
    width: u32,
    key_width: u32,
    plain: bool,
) -> (Directory, Packed, usize) {
    let value = |posting: u64| (posting >> 32) as usize;
    // 256 ranges: few enough write streams for the scatter, small enough ranges for the
    // counting sort.
    let top = width.min(8);
    let mut by_top = Vec::new();
    scatter_by_digit(postings, &mut by_top, 32 + width - top, top);
    let mut next = vec![0u32; 1 << width];
    for &posting in &by_top {
        next[value(posting)] += 1;
    }
    let directory = Directory::from_counts(&next, plain);
    let mut total = 0u32;
    for slot in next.iter_mut() {
        let count = *slot;
        *slot = total;
        total += count;
    }
    let mut keys = Packed::zeros(key_width, by_top.len());
    for &posting in &by_top {
        let v = value(posting);
        keys.set(next[v] as usize, posting & u64::from(u32::MAX));
        next[v] += 1;
    }
    (directory, keys, by_top.len())
}

/// One chunk's table: the entries by chunk value.
#[derive(Debug)]
struct Table {
    directory: Directory,
    /// How many entries (first table) or blocks (the others) it lists.
    postings: usize,
    /// Block numbers in value order; none for the first chunk, by which the entries are
    /// sorted.
    keys: Option<Packed>,
}

/// A loose index's arrays, borrowed for writing a snapshot.
pub(super) struct LooseParts<'a> {
    pub(super) layout: Layout,
    pub(super) hashes: &'a [PdqHash],
    pub(super) id_base: u64,
    pub(super) ids: &'a Packed,
    pub(super) removed: &'a [u64],
    /// Each table's postings, its directory in unary form, and its keys (none for the
    /// first).
    pub(super) tables: Vec<(usize, Vec<u64>, Option<&'a Packed>)>,
}

#[derive(Debug, Default)]
pub(super) struct LooseIndex {
    layout: Layout,
    /// Sorted by their first chunk.
    hashes: Vec<PdqHash>,
    /// `ids[k] + id_base` is entry `k`'s id.
    id_base: u64,
    ids: Packed,
    /// One bit per entry: removed.
    removed: Vec<u64>,
    removed_count: usize,
    tables: Vec<Table>,
}

impl LooseIndex {
    pub(super) fn build(hashes: Vec<PdqHash>, ids: Vec<u64>) -> LooseIndex {
        let layout = Layout::for_entries(hashes.len());
        LooseIndex::build_with(hashes, ids, layout)
    }

    fn build_with(hashes: Vec<PdqHash>, ids: Vec<u64>, layout: Layout) -> LooseIndex {
        let n = hashes.len();
        if n == 0 {
            return LooseIndex::default();
        }
        assert!(n < u32::MAX as usize, "at most 2^32 - 1 loose entries");
        let values = layout.values();
        let plain = layout.plain_directory(n);

        // Sort the entries by their first chunk (a counting sort).
        let mut counts = vec![0u32; values];
        let firsts: Vec<u32> = hashes.iter().map(|h| layout.chunk(&h.words(), 0)).collect();
        for &v in &firsts {
            counts[v as usize] += 1;
        }
        let mut next = Vec::with_capacity(values);
        let mut total = 0u32;
        for &c in &counts {
            next.push(total);
            total += c;
        }
        let mut order = vec![0u32; n];
        for (k, &v) in firsts.iter().enumerate() {
            order[next[v as usize] as usize] = k as u32;
            next[v as usize] += 1;
        }
        drop((firsts, next));
        let (least, most) = ids
            .iter()
            .fold((u64::MAX, 0), |(lo, hi), &id| (lo.min(id), hi.max(id)));
        let mut packed_ids = Packed::zeros(width_for(most - least), n);
        for (slot, &k) in order.iter().enumerate() {
            packed_ids.set(slot, ids[k as usize] - least);
        }
        drop(ids);
        // Gathered into a second array, not permuted in place: following the cycles is a
        // chain of dependent reads from anywhere (at ten million, 1.7 s more than this).
        let sorted: Vec<PdqHash> = order.iter().map(|&k| hashes[k as usize]).collect();
        drop((hashes, order));
        let first = Table {
            directory: Directory::from_counts(&counts, plain),
            postings: n,
            keys: None,
        };
        drop(counts);

        // The other tables, each a counting sort of the block numbers by chunk value, a block
        // listed once under each value it holds.
        let block = layout.block as usize;
        let key_width = key_width(layout.blocks(n));
        let mut tables: Vec<Table> = (1..layout.tables)
            .into_par_iter()
            .map(|t| {
                // Each block's values once, in order, without repeats: what it is listed under.
                let listed = |b: usize, out: &mut Vec<usize>| {
                    out.clear();
                    for hash in &sorted[b * block..((b + 1) * block).min(n)] {
                        let v = layout.chunk(&hash.words(), t) as usize;
                        if block == 1 || !out.contains(&v) {
                            out.push(v);
                        }
                    }
                };
                // Each posting as its value above its block number, in block order: read
                // off the hashes as they are needed, unless a block's values must be
                // gathered without repeats first.
                let (directory, keys, postings) = if block == 1 {
                    let postings = || {
                        sorted.iter().enumerate().map(|(k, hash)| {
                            u64::from(layout.chunk(&hash.words(), t)) << 32 | k as u64
                        })
                    };
                    table_from_postings(postings, layout.width, key_width, plain)
                } else {
                    let mut values_of_block = Vec::with_capacity(block);
                    let mut postings = Vec::with_capacity(n);
                    for b in 0..layout.blocks(n) {
                        listed(b, &mut values_of_block);
                        postings
                            .extend(values_of_block.iter().map(|&v| (v as u64) << 32 | b as u64));
                    }
                    let postings = || postings.iter().copied();
                    table_from_postings(postings, layout.width, key_width, plain)
                };
                Table {
                    directory,
                    postings,
                    keys: Some(keys),
                }
            })
            .collect();
        tables.insert(0, first);
        LooseIndex {
            layout,
            hashes: sorted,
            id_base: least,
            ids: packed_ids,
            removed: vec![0; n.div_ceil(64)],
            removed_count: 0,
            tables,
        }
    }

    /// The stored arrays, for snapshots.
    pub(super) fn parts(&self) -> LooseParts<'_> {
        LooseParts {
            layout: self.layout,
            hashes: &self.hashes,
            id_base: self.id_base,
            ids: &self.ids,
            removed: &self.removed,
            tables: self
                .tables
                .iter()
                .map(|t| (t.postings, t.directory.unary(), t.keys.as_ref()))
                .collect(),
        }
    }

    /// Reassembles an index from a snapshot's arrays, checking that they fit together
    /// (so that a damaged file cannot make a lookup go out of bounds or answer wrongly).
    pub(super) fn from_parts(
        layout: Layout,
        hashes: Vec<PdqHash>,
        id_base: u64,
        ids: Packed,
        removed: Vec<u64>,
        tables: Vec<(usize, Vec<u64>, Option<Packed>)>,
    ) -> Option<LooseIndex> {
        let n = hashes.len();
        if n == 0 {
            return (ids.words.is_empty() && removed.is_empty() && tables.is_empty())
                .then(LooseIndex::default);
        }
        if !layout.is_valid()
            || n >= u32::MAX as usize
            || ids.words.len() != Packed::words_for(ids.width, n)
            || removed.len() != n.div_ceil(64)
            || tables.len() != layout.tables as usize
            || id_base.checked_add(mask(ids.width)).is_none()
        {
            return None;
        }
        if !n.is_multiple_of(64) && removed[n / 64] >> (n % 64) != 0 {
            return None;
        }
        let values = layout.values();
        let plain = layout.plain_directory(n);
        let blocks = layout.blocks(n);
        let key_width = key_width(blocks);
        let mut built = Vec::with_capacity(tables.len());
        for (t, (postings, unary, keys)) in tables.into_iter().enumerate() {
            let most = if t == 0 { n } else { n.min(blocks * values) };
            if (t == 0 && postings != n)
                || postings > most
                || !unary_is_valid(&unary, values, postings)
            {
                return None;
            }
            let keys = match (t, keys) {
                (0, None) => None,
                (0, Some(_)) | (_, None) => return None,
                (_, Some(keys)) => {
                    if keys.width != key_width
                        || keys.words.len() != Packed::words_for(key_width, postings)
                        || (0..postings).any(|i| keys.get(i) as usize >= blocks)
                    {
                        return None;
                    }
                    Some(keys)
                }
            };
            // The entries must be sorted by their first chunk, as its table says.
            if t == 0 {
                let starts = starts_from_unary(&unary, values);
                let sorted = starts.windows(2).enumerate().all(|(v, w)| {
                    hashes[w[0] as usize..w[1] as usize]
                        .iter()
                        .all(|h| layout.chunk(&h.words(), 0) == v as u32)
                });
                if !sorted {
                    return None;
                }
            }
            let directory = Directory::from_unary(unary, values, plain);
            built.push(Table {
                directory,
                postings,
                keys,
            });
        }
        let removed_count = removed.iter().map(|w| w.count_ones() as usize).sum();
        Some(LooseIndex {
            layout,
            hashes,
            id_base,
            ids,
            removed,
            removed_count,
            tables: built,
        })
    }

    /// Entries not removed.
    pub(super) fn len(&self) -> usize {
        self.hashes.len() - self.removed_count
    }

    pub(super) fn memory_bytes(&self) -> usize {
        let tables: usize = self
            .tables
            .iter()
            .map(|t| {
                t.directory.memory_bytes() + t.keys.as_ref().map_or(0, |k| k.words.capacity() * 8)
            })
            .sum();
        self.hashes.capacity() * size_of::<PdqHash>()
            + self.ids.words.capacity() * 8
            + self.removed.capacity() * 8
            + tables
    }

    #[inline(always)]
    fn is_removed(&self, k: usize) -> bool {
        self.removed[k / 64] & (1 << (k % 64)) != 0
    }

    #[inline(always)]
    fn id(&self, k: usize) -> u64 {
        self.id_base + self.ids.get(k)
    }

    /// Every entry not removed, for rebuilding and snapshots.
    pub(super) fn entries(&self) -> impl Iterator<Item = (PdqHash, u64)> + '_ {
        (0..self.hashes.len())
            .filter(|&k| !self.is_removed(k))
            .map(|k| (self.hashes[k], self.id(k)))
    }

    /// Marks one entry with this hash and id removed; returns whether there was one.
    pub(super) fn remove(&mut self, hash: &PdqHash, id: u64) -> bool {
        if self.hashes.is_empty() {
            return false;
        }
        let (start, end) = self.tables[0]
            .directory
            .range(self.layout.chunk(&hash.words(), 0));
        let found = (start..end)
            .find(|&k| !self.is_removed(k) && self.hashes[k] == *hash && self.id(k) == id);
        match found {
            Some(k) => {
                self.removed[k / 64] |= 1 << (k % 64);
                self.removed_count += 1;
                true
            }
            None => false,
        }
    }

    /// Whether a radius-`radius` search would look up at most `limit` chunk values and
    /// expect at most `limit` candidates; beyond, reading every entry is as quick.
    fn probes_within(&self, radius: u32, limit: usize) -> bool {
        let Layout {
            tables,
            width,
            block,
        } = self.layout;
        let flips = radius / tables;
        if flips > MAX_FLIPS {
            return false;
        }
        let probes = tables as usize * neighbour_count(width, flips);
        let expected = (probes as u64 * self.hashes.len() as u64 * u64::from(block)) >> width;
        probes <= limit && expected <= limit as u64
    }

    /// Appends every entry within `radius` of `query` to `out`.
    #[inline(always)]
    pub(super) fn search(&self, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) {
        let n = self.hashes.len();
        if n == 0 {
            return;
        }
        if !self.probes_within(radius, n / 4) {
            self.scan(query, radius, out);
            return;
        }
        let layout = self.layout;
        let flips = radius / layout.tables;
        let words = query.words();
        let mut chunks = [0u32; MAX_TABLES as usize];
        for (t, chunk) in chunks.iter_mut().enumerate().take(layout.tables as usize) {
            *chunk = layout.chunk(&words, t as u32);
        }
        // Every table's probe values first, and what their lookups will read asked for in
        // advance, stage by stage (directory, then keys), so that the reads from memory
        // overlap; then each table's candidates, checked.
        let per_table = neighbour_count(layout.width, flips);
        let mut values = Vec::with_capacity(per_table);
        let mut probes: Vec<(u32, u32)> = Vec::with_capacity(layout.tables as usize * per_table);
        for (t, table) in self.tables.iter().enumerate() {
            neighbours(chunks[t], layout.width, flips, &mut values);
            for &value in &values {
                table.directory.prefetch(value);
                probes.push((t as u32, value));
            }
        }
        if self
            .tables
            .iter()
            .any(|t| matches!(t.directory, Directory::Unary { .. }))
        {
            for &(t, value) in &probes {
                self.tables[t as usize].directory.prefetch_unary(value);
            }
        }
        // (table, value, start, end) of the values with entries.
        let mut ranges: Vec<(u32, u32, u32, u32)> = Vec::with_capacity(probes.len());
        for &(t, value) in &probes {
            let table = &self.tables[t as usize];
            let (start, end) = table.directory.range(value);
            if start < end {
                if let Some(keys) = &table.keys {
                    keys.prefetch(start);
                }
                ranges.push((t, value, start as u32, end as u32));
            }
        }
        // Every table's candidates, then all of them checked in one pass, so that the reads
        // asked for in advance run on from one table's into the next's.
        let mut candidates: Vec<u32> = Vec::new();
        let mut ends: Vec<(u32, usize)> = Vec::with_capacity(layout.tables as usize);
        let mut blocks: Vec<(u32, u32)> = Vec::new();
        let block = layout.block as usize;
        for ranges in ranges.chunk_by(|a, b| a.0 == b.0) {
            let t = ranges[0].0;
            let table = &self.tables[t as usize];
            match &table.keys {
                None => {
                    for &(_, _, start, end) in ranges {
                        candidates.extend(start..end);
                    }
                }
                Some(keys) if block == 1 => {
                    for &(_, _, start, end) in ranges {
                        keys.extend_into(start as usize, end as usize, &mut candidates);
                    }
                }
                Some(keys) => {
                    // The blocks first, asked for in advance; then their entries of the
                    // probed value.
                    blocks.clear();
                    for &(_, value, start, end) in ranges {
                        for i in start as usize..end as usize {
                            let b = keys.get(i) as u32;
                            self.prefetch_block(b as usize);
                            blocks.push((b, value));
                        }
                    }
                    for &(b, value) in &blocks {
                        let first = b as usize * block;
                        let last = (first + block).min(self.hashes.len());
                        candidates.extend(
                            (first..last)
                                .filter(|&k| layout.chunk(&self.hashes[k].words(), t) == value)
                                .map(|k| k as u32),
                        );
                    }
                }
            }
            ends.push((t, candidates.len()));
        }
        self.check(query, radius, flips, &chunks, &candidates, &ends, out);
    }

    /// Appends every entry within `radius` of each query to `out`, as `(query number,
    /// match)`, in no particular order: the same answers as [`LooseIndex::search`] for each,
    /// found together. One query's lookups and candidates are reads from anywhere in memory;
    /// many queries' can be put in order first. Per group of queries, each table's probes
    /// are sorted by value, so its directory and keys are read front to back, and the
    /// candidate blocks of every table by block number, so the hashes are too; a block
    /// asked for by one query from several tables or values is read for it once.
    #[inline(always)]
    pub(super) fn search_batch(
        &self,
        queries: &[PdqHash],
        radius: u32,
        out: &mut Vec<(u32, PdqMatch)>,
    ) {
        // The narrow layouts serve up to a few million entries, whose hashes mostly stay in
        // the processor's cache: one by one is quicker there than sorting.
        if self.layout.block == 1
            || queries.len() < BATCH_MIN_QUERIES
            || !self.probes_within(radius, self.hashes.len() / 4)
        {
            self.search_each(queries, radius, out);
            return;
        }
        self.search_batch_within(queries, radius, BATCH_CANDIDATES, out);
    }

    /// [`LooseIndex::search_batch`] one query at a time.
    #[inline(always)]
    fn search_each(&self, queries: &[PdqHash], radius: u32, out: &mut Vec<(u32, PdqMatch)>) {
        let mut found = Vec::new();
        for (q, query) in queries.iter().enumerate() {
            self.search(query, radius, &mut found);
            out.extend(found.drain(..).map(|m| (q as u32, m)));
        }
    }

    /// [`LooseIndex::search_batch`] in the wide layouts too, holding at most about `cap`
    /// candidates at a time.
    fn search_batch_within(
        &self,
        queries: &[PdqHash],
        radius: u32,
        cap: usize,
        out: &mut Vec<(u32, PdqMatch)>,
    ) {
        let n = self.hashes.len();
        if n == 0 || queries.is_empty() {
            return;
        }
        if queries.len() < BATCH_MIN_QUERIES || !self.probes_within(radius, n / 4) {
            self.search_each(queries, radius, out);
            return;
        }
        // Queries a group holds: as many as fill the cap with the candidates an average
        // query has (more, for clustered entries, split the group again).
        let flips = radius / self.layout.tables;
        let per_value: f64 = self
            .tables
            .iter()
            .map(|t| t.postings as f64 / self.layout.values() as f64)
            .sum();
        let per_query = (per_value * neighbour_count(self.layout.width, flips) as f64).max(1.0);
        let group = ((cap as f64 / per_query) as usize).clamp(1, BATCH_QUERIES);
        let mut scratch = BatchScratch::default();
        for (g, part) in queries.chunks(group).enumerate() {
            self.search_group(part, (g * group) as u32, radius, cap, &mut scratch, out);
        }
    }

    /// One group of a batched search: queries `first ..` of the batch.
    fn search_group(
        &self,
        queries: &[PdqHash],
        first: u32,
        radius: u32,
        cap: usize,
        scratch: &mut BatchScratch,
        out: &mut Vec<(u32, PdqMatch)>,
    ) {
        if !group_candidates(self, queries, radius, 2 * cap, scratch) {
            if queries.len() == 1 {
                // One query with more candidates than the cap: its own search holds them
                // a table at a time.
                let mut found = Vec::new();
                self.search(&queries[0], radius, &mut found);
                out.extend(found.into_iter().map(|m| (first, m)));
                return;
            }
            let half = queries.len() / 2;
            self.search_group(&queries[..half], first, radius, cap, scratch, out);
            self.search_group(
                &queries[half..],
                first + half as u32,
                radius,
                cap,
                scratch,
                out,
            );
            return;
        }
        let query_bits = width_for(queries.len() as u64 - 1);
        let block_bits = key_width(self.layout.blocks(self.hashes.len()));
        let BatchScratch {
            candidates, spare, ..
        } = scratch;
        // By block only; a query's repeats of a block are skipped as they come.
        sort_by_bits(candidates, spare, query_bits..query_bits + block_bits);
        check_blocks(self, candidates, query_bits, queries, first, radius, out);
    }

    /// [`group_candidates`].
    #[inline(always)]
    fn group_candidates_inner(
        &self,
        queries: &[PdqHash],
        radius: u32,
        limit: usize,
        scratch: &mut BatchScratch,
    ) -> bool {
        let layout = self.layout;
        let flips = radius / layout.tables;
        let query_bits = width_for(queries.len() as u64 - 1);
        let block = layout.block as usize;
        let BatchScratch {
            candidates,
            probes,
            spare,
            values,
            ranges,
        } = scratch;
        candidates.clear();
        for (t, table) in self.tables.iter().enumerate() {
            probes.clear();
            for (q, query) in queries.iter().enumerate() {
                neighbours(
                    layout.chunk(&query.words(), t as u32),
                    layout.width,
                    flips,
                    values,
                );
                probes.extend(
                    values
                        .iter()
                        .map(|&v| u64::from(v) << query_bits | q as u64),
                );
            }
            // By value, so that the lookups walk the table forwards.
            sort_by_bits(probes, spare, query_bits..query_bits + layout.width);
            // Where each value's postings lie; then the postings, their keys asked for a
            // little in advance.
            ranges.clear();
            let mut last = (u32::MAX, 0, 0);
            for &probe in probes.iter() {
                let value = (probe >> query_bits) as u32;
                if value != last.0 {
                    let (start, end) = table.directory.range(value);
                    last = (value, start as u32, end as u32);
                }
                if last.1 < last.2 {
                    ranges.push((last.1, last.2, (probe & mask(query_bits)) as u32));
                }
            }
            for (at, &(start, end, q)) in ranges.iter().enumerate() {
                if let (Some(keys), Some(&(later, _, _))) = (&table.keys, ranges.get(at + 16)) {
                    keys.prefetch(later as usize);
                }
                let (start, end, q) = (start as usize, end as usize, u64::from(q));
                match &table.keys {
                    None => {
                        // Entries in order: one candidate per block they fall in.
                        let mut b = usize::MAX;
                        for k in start..end {
                            if k / block != b {
                                b = k / block;
                                candidates.push((b as u64) << query_bits | q);
                            }
                        }
                    }
                    Some(keys) => {
                        candidates.extend((start..end).map(|i| keys.get(i) << query_bits | q));
                    }
                }
                if candidates.len() > limit {
                    return false;
                }
            }
        }
        true
    }

    /// Asks for block `b`'s hashes to be brought into the cache.
    #[inline(always)]
    fn prefetch_block(&self, b: usize) {
        let block = self.layout.block as usize;
        let first = (b * block).min(self.hashes.len());
        let bytes = (self.hashes.len() - first).min(block) * size_of::<PdqHash>();
        let start = self.hashes.as_ptr().wrapping_add(first).cast::<u8>();
        for offset in (0..bytes).step_by(64) {
            prefetch(start.wrapping_add(offset));
        }
    }

    /// Checks the candidates, those of chunk `t` ending at `ends[i] = (t, end)`, skipping
    /// those an earlier chunk already produced.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        query: &PdqHash,
        radius: u32,
        flips: u32,
        chunks: &[u32; MAX_TABLES as usize],
        candidates: &[u32],
        ends: &[(u32, usize)],
        out: &mut Vec<PdqMatch>,
    ) {
        const AHEAD: usize = 16;
        let mut start = 0;
        for &(t, end) in ends {
            for at in start..end {
                // The candidates are scattered through memory: ask for a later one (maybe
                // the next chunk's) in advance.
                if let Some(&later) = candidates.get(at + AHEAD) {
                    prefetch(self.hashes.as_ptr().wrapping_add(later as usize));
                }
                let k = candidates[at] as usize;
                let hash = &self.hashes[k];
                let distance = hash.distance(query);
                if distance > radius {
                    continue;
                }
                let words = hash.words();
                let earlier = (0..t).any(|s| {
                    (self.layout.chunk(&words, s) ^ chunks[s as usize]).count_ones() <= flips
                });
                if !earlier && !self.is_removed(k) {
                    out.push(PdqMatch {
                        distance,
                        id: self.id(k),
                        hash: *hash,
                    });
                }
            }
            start = end;
        }
    }

    /// Reads every entry.
    #[inline(always)]
    pub(super) fn scan(&self, query: &PdqHash, radius: u32, out: &mut Vec<PdqMatch>) {
        let mut found = |k: usize, distance: u32| {
            if !self.is_removed(k) {
                out.push(PdqMatch {
                    distance,
                    id: self.id(k),
                    hash: self.hashes[k],
                });
            }
        };
        super::scan::within(&self.hashes, query, radius, &mut found);
    }

    /// Offers every entry farther than `searched` from `query` to `offer`, which returns
    /// the distance beyond which it wants no more: a scan that narrows as the best improve.
    #[inline(always)]
    pub(super) fn nearest_beyond(
        &self,
        query: &PdqHash,
        searched: Option<u32>,
        offer: &mut impl FnMut(PdqMatch) -> u32,
    ) {
        const BLOCK: usize = 4096;
        let mut bound = PdqHash::BITS;
        for (b, block) in self.hashes.chunks(BLOCK).enumerate() {
            let base = b * BLOCK;
            let mut narrowed = bound;
            let mut found = |k: usize, distance: u32| {
                let k = base + k;
                if searched.is_some_and(|r| distance <= r) || self.is_removed(k) {
                    return;
                }
                narrowed = offer(PdqMatch {
                    distance,
                    id: self.id(k),
                    hash: self.hashes[k],
                });
            };
            super::scan::within(block, query, bound, &mut found);
            bound = narrowed;
        }
    }

    /// Whether a radius search is cheap enough to try before reading everything.
    pub(super) fn searchable_at(&self, radius: u32) -> bool {
        self.probes_within(radius, self.hashes.len() / 16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;

    #[test]
    fn neighbours_are_all_values_within_the_flips() {
        let mut out = Vec::new();
        for (width, value) in [(16, 0xA5C3), (23, 0x5A_A5C3), (8, 0x81)] {
            for flips in 0..=3 {
                neighbours(value, width, flips, &mut out);
                assert_eq!(out.len(), neighbour_count(width, flips));
                let mut sorted = out.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), out.len(), "duplicates at {flips}");
                assert!(out.iter().all(|v| (v ^ value).count_ones() <= flips));
                assert!(out.iter().all(|v| v >> width == 0));
            }
        }
    }

    /// `n` hashes, unrelated but for every `every`th, which lies up to `spread` bits from
    /// `centre` (so that small radii find something).
    fn mixed_hashes(
        rng: &mut Rng,
        centre: &PdqHash,
        n: usize,
        every: usize,
        spread: u64,
    ) -> Vec<PdqHash> {
        (0..n)
            .map(|k| {
                if k % every == 0 {
                    let flips = (rng.next() % spread) as u32;
                    rng.near(centre, flips)
                } else {
                    rng.hash()
                }
            })
            .collect()
    }

    /// Every layout answers as brute force does, at every radius, with removals, and after
    /// its arrays are taken apart and put together again (as a snapshot does).
    #[test]
    fn every_layout_answers_exactly() {
        let mut rng = Rng(61);
        let centre = rng.hash();
        let hashes = mixed_hashes(&mut rng, &centre, 6000, 3, 48);
        // Ids in no order, spread over a wide range.
        let ids: Vec<u64> = (0..hashes.len() as u64)
            .map(|k| 1_000_000_007 + k * 7919 % 6007 * 1000)
            .collect();
        for (tables, width, block) in [
            (16, 16, 1),
            (11, 23, 1),
            (11, 23, 16),
            (12, 21, 4),
            (16, 8, 1),
            (16, 8, 8),
            (11, 11, 1),
            (13, 19, 64),
        ] {
            let layout = Layout {
                tables,
                width,
                block,
            };
            let mut index = LooseIndex::build_with(hashes.clone(), ids.clone(), layout);
            let mut entries: Vec<(PdqHash, u64)> =
                hashes.iter().copied().zip(ids.iter().copied()).collect();
            for step in 0..3 {
                for q in 0..30 {
                    let pick = (rng.next() % entries.len() as u64) as usize;
                    let flips = (rng.next() % 60) as u32;
                    let base = if q % 2 == 0 { entries[pick].0 } else { centre };
                    let query = rng.near(&base, flips);
                    let radius = (rng.next() % 70) as u32;
                    let mut found = Vec::new();
                    index.search(&query, radius, &mut found);
                    found.sort();
                    let mut expected: Vec<PdqMatch> = entries
                        .iter()
                        .map(|&(hash, id)| PdqMatch {
                            distance: hash.distance(&query),
                            id,
                            hash,
                        })
                        .filter(|m| m.distance <= radius)
                        .collect();
                    expected.sort();
                    assert_eq!(found, expected, "{layout:?} radius {radius} step {step}");
                }
                // Remove a few hundred, then take the arrays apart and back.
                for _ in 0..200 {
                    let (hash, id) =
                        entries.swap_remove((rng.next() % entries.len() as u64) as usize);
                    assert!(index.remove(&hash, id));
                    assert!(!index.remove(&hash, id));
                }
                let parts = index.parts();
                let tables = parts
                    .tables
                    .iter()
                    .map(|(postings, unary, keys)| (*postings, unary.clone(), keys.cloned()))
                    .collect();
                index = LooseIndex::from_parts(
                    parts.layout,
                    parts.hashes.to_vec(),
                    parts.id_base,
                    parts.ids.clone(),
                    parts.removed.to_vec(),
                    tables,
                )
                .expect("its own parts fit");
                assert_eq!(index.len(), entries.len());
                let mut listed: Vec<(PdqHash, u64)> = index.entries().collect();
                listed.sort();
                let mut expected = entries.clone();
                expected.sort();
                assert_eq!(listed, expected);
            }
        }
    }

    /// A batched search answers each query as its own search does, in every layout, at
    /// every radius, for any number of queries, with removals, and when the candidates
    /// overflow so that groups split (down to single queries).
    #[test]
    fn batched_search_answers_as_one_by_one() {
        let mut rng = Rng(67);
        let centre = rng.hash();
        let hashes = mixed_hashes(&mut rng, &centre, 5000, 2, 40);
        let ids: Vec<u64> = (0..hashes.len() as u64).map(|k| k * 31 % 5003).collect();
        for (tables, width, block) in [(16, 16, 1), (11, 23, 16), (12, 21, 4), (16, 8, 8)] {
            let layout = Layout {
                tables,
                width,
                block,
            };
            let mut index = LooseIndex::build_with(hashes.clone(), ids.clone(), layout);
            for k in (0..hashes.len()).step_by(7) {
                assert!(index.remove(&hashes[k], ids[k]));
            }
            // (queries, radius, candidate cap): few (one by one), many, groups split.
            for (count, radius, cap) in [
                (1, 31, BATCH_CANDIDATES),
                (15, 31, BATCH_CANDIDATES),
                (16, 31, BATCH_CANDIDATES),
                (300, 31, BATCH_CANDIDATES),
                (300, 0, BATCH_CANDIDATES),
                (300, 16, BATCH_CANDIDATES),
                (300, 47, BATCH_CANDIDATES),
                (300, 69, BATCH_CANDIDATES),
                (300, 31, 3000),
                (200, 31, 10),
                (40, 31, 0),
            ] {
                let queries: Vec<PdqHash> = (0..count)
                    .map(|q| {
                        let (pick, flips) = (rng.next() % 5000, (rng.next() % 50) as u32);
                        match q % 3 {
                            0 => rng.near(&hashes[pick as usize], flips),
                            1 => rng.near(&centre, flips),
                            _ => rng.hash(),
                        }
                    })
                    .collect();
                let mut found = Vec::new();
                index.search_batch_within(&queries, radius, cap, &mut found);
                let mut batched = vec![Vec::new(); count];
                for (q, m) in found {
                    batched[q as usize].push(m);
                }
                for (q, query) in queries.iter().enumerate() {
                    let mut one = Vec::new();
                    index.search(query, radius, &mut one);
                    one.sort();
                    batched[q].sort();
                    assert_eq!(
                        batched[q], one,
                        "{layout:?} {count} queries radius {radius} cap {cap}"
                    );
                }
            }
        }
    }

    /// Sorting by a range of bits orders by those bits and keeps the order of keys equal
    /// in them, whatever the range's width and place.
    #[test]
    fn sorting_by_bits_is_stable() {
        let mut rng = Rng(71);
        for (len, bits) in [
            (0, 0..8),
            (10, 0..40),
            (64, 5..25),
            (5000, 0..1),
            (5000, 3..15),
            (5000, 10..33),
            (20_000, 0..43),
            (3000, 0..64),
            (3000, 20..20),
        ] {
            let keys: Vec<u64> = (0..len).map(|_| rng.next()).collect();
            let mut sorted = keys.clone();
            sort_by_bits(&mut sorted, &mut Vec::new(), bits.clone());
            let field = |k: u64| (k >> bits.start) & mask(bits.end - bits.start);
            let mut expected = keys.clone();
            if bits.end > bits.start {
                expected.sort_by_key(|&k| field(k));
            }
            assert_eq!(sorted, expected, "{len} keys by bits {bits:?}");
        }
    }

    #[test]
    fn layouts_by_size() {
        // (entries, tables, width, block)
        for (n, tables, width, block) in [
            (20_000, 16, 16, 1),
            (1_000_000, 16, 16, 1),
            (10_000_000, 11, 23, 16),
            (100_000_000, 11, 23, 16),
        ] {
            assert_eq!(
                Layout::for_entries(n),
                Layout {
                    tables,
                    width,
                    block
                },
                "{n} entries"
            );
        }
    }

    #[test]
    fn chunks_cut_the_bits_in_order() {
        let mut rng = Rng(5);
        for _ in 0..50 {
            let hash = rng.hash();
            for layout in [
                Layout::default(),
                Layout {
                    tables: 11,
                    width: 23,
                    block: 1,
                },
                Layout {
                    tables: 12,
                    width: 21,
                    block: 1,
                },
            ] {
                for t in 0..layout.tables {
                    let expected = (0..layout.width).fold(0u32, |acc, b| {
                        acc | u32::from(hash.bit((t * layout.width + b) as usize)) << b
                    });
                    assert_eq!(layout.chunk(&hash.words(), t), expected);
                }
            }
        }
    }

    #[test]
    fn packed_integers_read_back() {
        for width in [1, 7, 20, 24, 31, 33, 63, 64] {
            let mut rng = Rng(u64::from(width));
            let values: Vec<u64> = (0..300).map(|_| rng.next() & mask(width)).collect();
            let mut packed = Packed::zeros(width, values.len());
            for (i, &v) in values.iter().enumerate() {
                packed.set(i, v);
            }
            for (i, &v) in values.iter().enumerate() {
                assert_eq!(packed.get(i), v, "width {width}, slot {i}");
            }
        }
    }

    #[test]
    fn unary_and_plain_directories_agree() {
        let mut rng = Rng(9);
        for (values, spread) in [(256, 3), (1024, 1), (4096, 40), (64, 0)] {
            let counts: Vec<u32> = (0..values)
                .map(|_| (rng.next() % (spread + 1)) as u32)
                .collect();
            let entries: usize = counts.iter().map(|&c| c as usize).sum();
            let plain = Directory::from_counts(&counts, true);
            let unary = Directory::from_counts(&counts, false);
            let Directory::Unary { unary: bits, .. } = &unary else {
                panic!("unary")
            };
            assert!(unary_is_valid(bits, values, entries));
            let mut start = 0;
            for v in 0..values as u32 {
                let end = start + counts[v as usize] as usize;
                assert_eq!(plain.range(v), (start, end), "plain {v}");
                assert_eq!(unary.range(v), (start, end), "unary {v}");
                start = end;
            }
            assert_eq!(unary.unary(), plain.unary());
            let Directory::Unary {
                unary: bits,
                samples,
            } = &unary
            else {
                panic!("unary")
            };
            let Directory::Unary { samples: read, .. } =
                Directory::from_unary(bits.clone(), values, false)
            else {
                panic!("unary")
            };
            assert_eq!(&read, samples, "samples from the unary form");
            let Directory::Plain(starts) = Directory::from_unary(bits.clone(), values, true) else {
                panic!("plain")
            };
            assert_eq!(
                Directory::Plain(starts).range(values as u32 - 1),
                plain.range(values as u32 - 1)
            );
        }
    }

    #[test]
    fn damaged_unary_directories_are_refused() {
        let counts = [2u32, 0, 1, 3];
        let Directory::Unary { unary, .. } = Directory::from_counts(&counts, false) else {
            panic!("unary")
        };
        assert!(unary_is_valid(&unary, 4, 6));
        assert!(!unary_is_valid(&unary, 4, 7));
        assert!(!unary_is_valid(&unary, 200, 6));
        let mut extra = unary.clone();
        extra[0] |= 1 << 20;
        assert!(!unary_is_valid(&extra, 4, 6));
        // A one after the last value's zero.
        let mut trailing = unary.clone();
        trailing[0] |= 1 << 10;
        assert!(!unary_is_valid(&trailing, 4, 7));
    }

    #[test]
    fn nth_set_bit_finds_each() {
        let x = 0b1011_0000_0000_0100_0000_0001u64 | 1 << 63;
        let positions = [0, 10, 20, 21, 23, 63];
        for (n, &p) in positions.iter().enumerate() {
            assert_eq!(nth_set_bit(x, n as u32), p);
        }
    }
}
