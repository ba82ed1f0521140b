//! Criterion benchmark of the series engine's upkeep: inserts and removals in an engine that
//! already holds clustered content (1,000,000 items in 10,000 families by default; set
//! `WARD_SERIES_BENCH_ITEMS` and `WARD_SERIES_BENCH_FAMILIES` for other sizes).
//!
//! Filling the engine is itself timed once and printed (total, per insert, and the engine's
//! memory), since that is the figure the target is about; criterion then times single
//! operations in steady state, each undone after it so that the engine stays the same size:
//! a new member of a family inserted then removed, an existing member removed then put
//! back (its series regrouped), and a placement query.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ward_core::series::{SeriesIndex, SeriesOptions, Signature};

mod clustered;
use clustered::{Rng, clustered};

fn upkeep(c: &mut Criterion) {
    let items = setting("WARD_SERIES_BENCH_ITEMS", 1_000_000);
    let families = setting("WARD_SERIES_BENCH_FAMILIES", 10_000).min(items);
    let mut rng = Rng(0x5e71e5);
    let (centres, data) = clustered(&mut rng, items, families);

    let mut index = SeriesIndex::new(SeriesOptions::default()).expect("default options");
    let started = Instant::now();
    for (item, hash) in &data {
        index
            .insert(*item, &Signature::Image(*hash))
            .expect("new item");
    }
    let total = started.elapsed();
    println!(
        "series: filled {items} items in {families} families: {:.2} s, {:.1} us per insert, \
         {} series, {:.1} MiB ({:.0} bytes per item)",
        total.as_secs_f64(),
        total.as_secs_f64() * 1e6 / items as f64,
        index.series_count(),
        index.memory_bytes() as f64 / 1048576.0,
        index.memory_bytes() as f64 / items as f64,
    );

    let mut group = c.benchmark_group("series");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    let mut next_item = items as u64;
    group.bench_function("insert_then_remove_a_new_member", |b| {
        b.iter_batched(
            || {
                next_item += 1;
                let family = (rng.next() % families as u64) as usize;
                (next_item, rng.near(&centres[family], 6))
            },
            |(item, hash)| {
                black_box(index.insert(item, &Signature::Image(hash)).expect("new"));
                black_box(index.remove(item).expect("held"));
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("remove_then_reinsert_a_member", |b| {
        b.iter_batched(
            || data[(rng.next() % items as u64) as usize],
            |(item, hash)| {
                black_box(index.remove(item).expect("held"));
                black_box(index.insert(item, &Signature::Image(hash)).expect("new"));
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("place_a_near_duplicate", |b| {
        b.iter_batched(
            || {
                let family = (rng.next() % families as u64) as usize;
                rng.near(&centres[family], 10)
            },
            |hash| black_box(index.place(&Signature::Image(hash))),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

criterion_group!(benches, upkeep);
criterion_main!(benches);
