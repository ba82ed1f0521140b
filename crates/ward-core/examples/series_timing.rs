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

use ward_core::series::{SeriesIndex, SeriesOptions, Signature};

#[path = "../benches/clustered/mod.rs"]
mod clustered;
use clustered::{Rng, clustered};

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

    let (_, data) = clustered(&mut Rng(0x5e71e5), items, families);
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

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
