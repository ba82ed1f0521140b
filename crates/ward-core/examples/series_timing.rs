//! Times the series engine's upkeep on clustered PDQ data and prints the figures.
//!
//! Usage: `series_timing [ITEMS [FAMILIES [REMOVALS]]]` (defaults: 1,000,000 items in 10,000
//! families, 10,000 removals).
//!
//! Each family is a random centre and `ITEMS / FAMILIES` members, each with up to 8 random
//! bits of it flipped (so every family is one series at the default radius of 31). Items
//! arrive in a random order, one [`SeriesIndex::insert`] at a time on this thread; the
//! example prints the total and mean time per insert, the slowest insert (inserts that
//! trigger a rebuild of an index's buckets), the number of series, the engine's own memory
//! accounting ([`SeriesIndex::memory_bytes`]) and the process's peak resident memory (VmHWM,
//! Linux only). Then it removes `REMOVALS` random items (each regroups its series) and
//! prints the mean time per removal. Timings are printed, never checked.

use std::time::{Duration, Instant};

use ward_core::pdq::PdqHash;
use ward_core::series::{SeriesIndex, SeriesOptions, Signature};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let mut next = |default: usize| match args.next() {
        None => default,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: series_timing [ITEMS [FAMILIES [REMOVALS]]] (positive numbers)");
            std::process::exit(2);
        }
    };
    let (items, families, removals) = (next(1_000_000), next(10_000), next(10_000));

    let data = clustered(items, families, 0x5e71e5);
    let mut index = SeriesIndex::new(SeriesOptions::default()).expect("default options");
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    for (item, hash) in &data {
        let at = Instant::now();
        index
            .insert(*item, &Signature::Image(*hash))
            .expect("new item");
        slowest = slowest.max(at.elapsed());
    }
    let total = started.elapsed();
    println!("items: {items} in {families} families");
    println!("series: {}", index.series_count());
    println!("insert total: {:.2} s", total.as_secs_f64());
    println!(
        "insert mean: {:.1} us",
        total.as_secs_f64() * 1e6 / items as f64
    );
    println!("insert slowest: {:.1} ms", slowest.as_secs_f64() * 1e3);
    let memory = index.memory_bytes();
    println!(
        "engine memory: {:.1} MiB ({:.0} bytes per item)",
        memory as f64 / 1048576.0,
        memory as f64 / items as f64
    );
    if let Some(peak) = peak_rss() {
        println!("peak RSS: {:.1} MiB", peak as f64 / 1048576.0);
    }

    let mut rng = Rng(0xdead_beef);
    let removals = removals.min(items);
    let mut split = 0usize;
    let started = Instant::now();
    for _ in 0..removals {
        // Items are numbered 0..items; pick among those still held.
        let item = loop {
            let item = rng.next() % items as u64;
            if index.series_of(item).is_some() {
                break item;
            }
        };
        if index.remove(item).expect("held item").len() > 1 {
            split += 1;
        }
    }
    let total = started.elapsed();
    println!(
        "remove mean: {:.1} us over {removals} removals ({split} split a series)",
        total.as_secs_f64() * 1e6 / removals as f64
    );
    println!("series after removals: {}", index.series_count());
}

/// `items` hashes (id, hash) in `families` families, shuffled.
fn clustered(items: usize, families: usize, seed: u64) -> Vec<(u64, PdqHash)> {
    let mut rng = Rng(seed);
    let centres: Vec<PdqHash> = (0..families).map(|_| rng.hash()).collect();
    let mut data: Vec<(u64, PdqHash)> = (0..items)
        .map(|i| {
            let flips = (rng.next() % 9) as u32;
            (i as u64, rng.near(&centres[i % families], flips))
        })
        .collect();
    for i in (1..data.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        data.swap(i, j);
    }
    data
}

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

    fn near(&mut self, hash: &PdqHash, flips: u32) -> PdqHash {
        let mut words = hash.words();
        for _ in 0..flips {
            let bit = (self.next() % 256) as usize;
            words[bit / 64] ^= 1 << (bit % 64);
        }
        PdqHash::from_words(words)
    }
}

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
