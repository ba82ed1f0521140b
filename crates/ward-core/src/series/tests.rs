//! Tests of the series engine: its rules case by case, and random sequences of inserts,
//! removals, merges and splits on clustered data against a from-scratch computation.

use std::collections::{BTreeSet, HashMap, HashSet};

use proptest::prelude::*;

use super::*;
use crate::pdq::Quality;
use crate::testing::Rng;
use crate::video::{FrameHash, compare};

/// `hash` with its first `bits` bits flipped: exactly `bits` away.
fn flip(hash: PdqHash, from: usize, bits: usize) -> PdqHash {
    let mut words = hash.words();
    for bit in from..from + bits {
        words[bit / 64] ^= 1 << (bit % 64);
    }
    PdqHash::from_words(words)
}

fn image(hash: PdqHash) -> Signature {
    Signature::Image(hash)
}

fn video(frames: &[(PdqHash, u8)]) -> Signature {
    Signature::Video(Vpdq::new(
        frames
            .iter()
            .enumerate()
            .map(|(i, &(hash, quality))| FrameHash {
                frame: i as u64,
                quality: Quality::new(quality).unwrap(),
                hash,
                timestamp: i as f64,
            })
            .collect(),
    ))
}

fn engine() -> SeriesIndex {
    SeriesIndex::new(SeriesOptions::default()).unwrap()
}

fn centre() -> PdqHash {
    Rng(0x1234_5678).hash()
}

/// The engine's series as sets of members, ignoring ids; also checks that `members` and
/// `series_count` agree with `items`.
fn partition(index: &SeriesIndex) -> BTreeSet<BTreeSet<u64>> {
    let mut groups: HashMap<SeriesId, BTreeSet<u64>> = HashMap::new();
    for (item, series) in index.items() {
        groups.entry(series).or_default().insert(item);
    }
    assert_eq!(groups.len(), index.series_count());
    for (series, members) in &groups {
        let listed: BTreeSet<u64> = index.members(*series).unwrap().into_iter().collect();
        assert_eq!(&listed, members);
    }
    groups.into_values().collect()
}

#[test]
fn near_duplicates_join_transitively_and_keep_their_id() {
    let mut index = engine();
    let a = centre();
    let s = index.insert(1, &image(a)).unwrap();
    // 20 bits from a, then 40 from a but 20 from the second: a chain.
    assert_eq!(index.insert(2, &image(flip(a, 0, 20))).unwrap(), s);
    assert_eq!(index.insert(3, &image(flip(a, 0, 40))).unwrap(), s);
    // 31 is within the radius, 32 is not.
    assert_eq!(index.insert(4, &image(flip(a, 100, 31))).unwrap(), s);
    let other = index.insert(5, &image(flip(a, 100, 63))).unwrap();
    assert_ne!(other, s);
    assert_eq!(index.members(s).unwrap(), [1, 2, 3, 4]);
    assert_eq!(index.series_len(s), Some(4));
    assert_eq!((index.len(), index.series_count()), (5, 2));
}

#[test]
fn a_bridge_merges_under_the_smallest_id() {
    let mut index = engine();
    let a = centre();
    let first = index.insert(10, &image(a)).unwrap();
    let second = index.insert(11, &image(flip(a, 0, 60))).unwrap();
    let third = index.insert(12, &image(flip(a, 120, 60))).unwrap();
    assert!(first < second && second < third);
    // 30 from the first and the second, 90 from the third.
    assert_eq!(index.insert(13, &image(flip(a, 0, 30))).unwrap(), first);
    assert_eq!(index.resolve(second), Some(first));
    assert_eq!(index.resolve(third), Some(third));
    assert_eq!(index.members(second).unwrap(), [10, 11, 13]);
    assert_eq!(index.state().merged, [(second, first)]);
}

#[test]
fn removal_splits_and_the_largest_part_keeps_the_id() {
    let mut index = engine();
    let a = centre();
    // A chain 1 - 2 - 3 - 4 - 5 with steps of 25 bits; 6 and 7 hang on 4 and 5.
    let s = index.insert(1, &image(a)).unwrap();
    for (item, at) in [(2, 25), (3, 50), (4, 75), (5, 100)] {
        assert_eq!(index.insert(item, &image(flip(a, 0, at))).unwrap(), s);
    }
    index
        .insert(6, &image(flip(flip(a, 0, 75), 200, 10)))
        .unwrap();
    index
        .insert(7, &image(flip(flip(a, 0, 100), 200, 12)))
        .unwrap();
    let parts = index.remove(2).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], s);
    assert_eq!(index.members(s).unwrap(), [3, 4, 5, 6, 7]);
    assert_eq!(index.members(parts[1]).unwrap(), [1]);
    assert!(parts[1] > s);
    // A removal that splits nothing changes no id.
    assert_eq!(index.remove(7).unwrap(), [s]);
    // The last member gone, the series ends.
    assert_eq!(index.remove(1).unwrap(), []);
    assert_eq!(index.resolve(parts[1]), None);
    assert_eq!(index.members(parts[1]), None);
}

#[test]
fn removals_that_split_nothing_keep_the_series_and_its_id() {
    let mut index = engine();
    let mut rng = Rng(5);
    let a = centre();
    let s = index.insert(0, &image(a)).unwrap();
    for item in 1..40 {
        assert_eq!(
            index.insert(item, &image(rng.near_at_most(&a, 6))).unwrap(),
            s
        );
    }
    // Far more removals than members left: buried slots are given back on the way.
    for item in 0..35 {
        assert_eq!(index.remove(item).unwrap(), [s]);
        assert_eq!(
            index.members(s).unwrap(),
            (item + 1..40).collect::<Vec<_>>()
        );
    }
    for item in 40..80 {
        assert_eq!(
            index.insert(item, &image(rng.near_at_most(&a, 6))).unwrap(),
            s
        );
    }
    assert_eq!(index.series_len(s), Some(45));
    assert_eq!(partition(&index).len(), 1);
    for item in (35..80).rev() {
        let left = index.remove(item).unwrap();
        assert_eq!(left, if item == 35 { vec![] } else { vec![s] });
    }
    assert_eq!(
        (index.len(), index.series_count(), index.resolve(s)),
        (0, 0, None)
    );
}

#[test]
fn a_curators_split_sticks_when_content_arrives() {
    let mut index = engine();
    let a = centre();
    let s = index.insert(1, &image(a)).unwrap();
    index.insert(2, &image(flip(a, 0, 10))).unwrap();
    index.insert(3, &image(flip(a, 100, 10))).unwrap();
    let parts = index.split(s, &[3]).unwrap();
    assert_eq!(parts[0], s);
    assert_eq!(index.members(s).unwrap(), [1, 2]);
    assert_eq!(index.members(parts[1]).unwrap(), [3]);
    // Between both sides: it takes the label of the nearest (3, 6 bits away; 1 is 8 away)
    // and stays apart.
    let between = flip(flip(a, 100, 6), 0, 2);
    assert_eq!(index.insert(4, &image(between)).unwrap(), parts[1]);
    // Nearer the other side: joins it, and still bridges nothing.
    assert_eq!(index.insert(5, &image(flip(a, 0, 1))).unwrap(), s);
    assert_eq!(index.members(s).unwrap(), [1, 2, 5]);
    assert_eq!(index.members(parts[1]).unwrap(), [3, 4]);
    match index.place(&image(flip(a, 100, 9))) {
        Placement::Near { joins, near } => {
            assert_eq!(joins, parts[1]);
            assert_eq!(near, [parts[1], s]);
        }
        other => panic!("{other:?}"),
    }
    // A merge joins them again, and the explicit link survives new content.
    assert_eq!(index.merge(parts[1], s).unwrap(), s);
    index.insert(6, &image(flip(a, 100, 12))).unwrap();
    assert_eq!(index.members(s).unwrap(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(index.state().links, [(1, 3)]);
    // Splitting again drops the explicit link across.
    // Three against three: the part with the smallest item keeps the id.
    let parts = index.split(s, &[3, 4, 6]).unwrap();
    assert_eq!(parts[0], s);
    assert_eq!(index.members(parts[0]).unwrap(), [1, 2, 5]);
    assert_eq!(index.members(parts[1]).unwrap(), [3, 4, 6]);
    assert!(index.state().links.is_empty());
}

#[test]
fn merges_stick_and_keep_the_smallest_id() {
    let mut index = engine();
    let mut rng = Rng(7);
    let x = index.insert(1, &image(rng.hash())).unwrap();
    let y = index.insert(2, &image(rng.hash())).unwrap();
    let z = index.insert(3, &image(rng.hash())).unwrap();
    assert_eq!(index.merge(z, y).unwrap(), y);
    assert_eq!(index.merge(y, x).unwrap(), x);
    assert_eq!(index.resolve(z), Some(x));
    assert_eq!(index.members(z).unwrap(), [1, 2, 3]);
    assert_eq!(index.merge(x, z).unwrap(), x);
    // Removing an anchor of an explicit link drops the link.
    assert_eq!(index.remove(2).unwrap().len(), 2);
    assert_eq!(index.series_count(), 2);
}

#[test]
fn videos_link_by_comparison_and_to_images_by_frames() {
    let mut rng = Rng(99);
    let frames: Vec<PdqHash> = (0..5).map(|_| rng.hash()).collect();
    let mut index = engine();
    let whole: Vec<(PdqHash, u8)> = frames.iter().map(|&h| (h, 100)).collect();
    let v = index.insert(1, &video(&whole)).unwrap();
    // A clip with 4 of the 5 frames, slightly changed: 100% of it is in the video.
    let clip: Vec<(PdqHash, u8)> = frames[..4].iter().map(|&h| (flip(h, 0, 5), 90)).collect();
    assert_eq!(index.insert(2, &video(&clip)).unwrap(), v);
    // Two shared frames out of five each way (40%) is no match.
    let other: Vec<(PdqHash, u8)> = vec![
        (frames[0], 100),
        (frames[1], 100),
        (rng.hash(), 100),
        (rng.hash(), 100),
        (rng.hash(), 100),
    ];
    assert_ne!(index.insert(3, &video(&other)).unwrap(), v);
    // A frame of low quality does not count: an image near it is alone.
    let low = rng.hash();
    let w = index
        .insert(4, &video(&[(low, 10), (rng.hash(), 100)]))
        .unwrap();
    assert_ne!(index.insert(5, &image(flip(low, 0, 3))).unwrap(), w);
    // An image within the radius of a frame joins the video's series.
    assert_eq!(index.insert(6, &image(flip(frames[4], 0, 31))).unwrap(), v);
    assert_eq!(index.members(v).unwrap(), [1, 2, 6]);
    // A video whose frames all fall below the quality floor links to nothing.
    let blank = index.insert(7, &video(&[(frames[0], 0)])).unwrap();
    assert_eq!(index.members(blank).unwrap(), [7]);
}

#[test]
fn placement_answers_known_near_or_novel() {
    let mut index = engine();
    let a = centre();
    let s = index.insert(1, &image(a)).unwrap();
    assert_eq!(index.place(&image(a)), Placement::Known(s));
    assert_eq!(
        index.place(&image(flip(a, 0, 12))),
        Placement::Near {
            joins: s,
            near: vec![s]
        }
    );
    assert_eq!(index.place(&image(flip(a, 0, 128))), Placement::Novel);
    assert_eq!(index.len(), 1);
}

#[test]
fn bad_input_is_an_error() {
    let mut index = engine();
    let a = centre();
    let s = index.insert(1, &image(a)).unwrap();
    index.insert(2, &image(flip(a, 0, 3))).unwrap();
    let lone = index.insert(3, &image(flip(a, 0, 128))).unwrap();
    assert!(matches!(
        index.insert(1, &image(a)),
        Err(Error::DuplicateItem(1))
    ));
    assert!(matches!(index.remove(9), Err(Error::UnknownItem(9))));
    assert!(matches!(
        index.merge(s, SeriesId(77)),
        Err(Error::UnknownSeries(77))
    ));
    assert!(matches!(
        index.split(SeriesId(77), &[1]),
        Err(Error::UnknownSeries(77))
    ));
    assert!(matches!(index.split(s, &[]), Err(Error::InvalidSplit(_))));
    assert!(matches!(
        index.split(s, &[1, 2]),
        Err(Error::InvalidSplit(_))
    ));
    assert!(matches!(index.split(s, &[3]), Err(Error::InvalidSplit(_))));
    assert!(matches!(index.split(s, &[8]), Err(Error::UnknownItem(8))));
    assert!(matches!(
        index.split(lone, &[3]),
        Err(Error::InvalidSplit(_))
    ));
    assert_eq!(partition(&index).len(), 2);
    for options in [
        SeriesOptions {
            radius: 257,
            ..SeriesOptions::default()
        },
        SeriesOptions {
            video: CompareOptions {
                query_share: f64::NAN,
                ..CompareOptions::default()
            },
            ..SeriesOptions::default()
        },
    ] {
        assert!(matches!(
            SeriesIndex::new(options),
            Err(Error::InvalidOption(_))
        ));
    }
}

#[test]
fn restore_gives_the_same_series_and_refuses_bad_state() {
    let mut index = engine();
    let a = centre();
    let mut items = Vec::new();
    for (item, bits) in [(1, 0), (2, 10), (3, 90), (4, 100), (5, 200)] {
        let signature = image(flip(a, 0, bits));
        index.insert(item, &signature).unwrap();
        items.push((item, signature));
    }
    let s = index.series_of(3).unwrap();
    index.split(s, &[4]).unwrap();
    index.merge(index.series_of(1).unwrap(), s).unwrap();
    index.remove(5).unwrap();
    items.pop();
    let state = index.state();
    let restored =
        SeriesIndex::restore(SeriesOptions::default(), items.iter().cloned(), &state).unwrap();
    assert_eq!(restored.state(), state);
    assert_eq!(partition(&restored), partition(&index));

    let mut unknown = state.clone();
    unknown.links.push((1, 99));
    let result = SeriesIndex::restore(SeriesOptions::default(), items.iter().cloned(), &unknown);
    assert!(matches!(result, Err(Error::UnknownItem(99))));
    let mut huge = state.clone();
    huge.series[0].1 = SeriesId(u64::MAX);
    let result = SeriesIndex::restore(SeriesOptions::default(), items.iter().cloned(), &huge);
    assert!(matches!(result, Err(Error::InvalidOption(_))));
    let twice = items.iter().chain(&items).cloned();
    let result = SeriesIndex::restore(SeriesOptions::default(), twice, &state);
    assert!(matches!(result, Err(Error::DuplicateItem(1))));
}

/// Brute force: every pair compared, labels and explicit links kept as the module's
/// documentation says, components from scratch.
#[derive(Default)]
struct Model {
    options: SeriesOptions,
    items: Vec<(u64, Signature, u32)>,
    links: HashSet<(u64, u64)>,
    next_label: u32,
}

impl Model {
    fn frames(&self, signature: &Signature) -> Vec<PdqHash> {
        match signature {
            Signature::Image(h) => vec![*h],
            Signature::Video(v) => v.distinct_hashes(self.options.video.min_quality),
        }
    }

    /// The distance at which two signatures link, if they do.
    fn link(&self, a: &Signature, b: &Signature) -> Option<u32> {
        let nearest = || {
            let (fa, fb) = (self.frames(a), self.frames(b));
            fa.iter()
                .flat_map(|x| fb.iter().map(|y| x.distance(y)))
                .min()
        };
        match (a, b) {
            (Signature::Video(x), Signature::Video(y)) => {
                let opts = &self.options.video;
                let d = nearest().filter(|&d| d <= opts.distance)?;
                (compare(x, y, opts).is_match(opts) || compare(y, x, opts).is_match(opts))
                    .then_some(d)
            }
            _ => nearest().filter(|&d| d <= self.options.radius),
        }
    }

    fn partition(&self) -> Vec<BTreeSet<u64>> {
        let n = self.items.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                x = parent[x];
            }
            x
        }
        let at: HashMap<u64, usize> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, (item, _, _))| (*item, i))
            .collect();
        for i in 0..n {
            for j in i + 1..n {
                let (a, b) = (&self.items[i], &self.items[j]);
                let linked = a.2 == b.2 && self.link(&a.1, &b.1).is_some()
                    || self.links.contains(&(a.0.min(b.0), a.0.max(b.0)));
                if linked {
                    let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                    parent[ri] = rj;
                }
            }
        }
        let mut groups: HashMap<usize, BTreeSet<u64>> = HashMap::new();
        for (item, &i) in &at {
            let root = find(&mut parent, i);
            groups.entry(root).or_default().insert(*item);
        }
        groups.into_values().collect()
    }

    fn series_of(&self, item: u64) -> BTreeSet<u64> {
        self.partition()
            .into_iter()
            .find(|s| s.contains(&item))
            .unwrap()
    }

    fn insert(&mut self, item: u64, signature: Signature) {
        let nearest = self
            .items
            .iter()
            .filter_map(|(other, s, label)| self.link(&signature, s).map(|d| (d, *other, *label)))
            .min();
        let label = nearest.map_or(0, |(_, _, label)| label);
        self.items.push((item, signature, label));
    }

    fn remove(&mut self, item: u64) {
        self.items.retain(|(i, _, _)| *i != item);
        self.links.retain(|&(a, b)| a != item && b != item);
    }

    fn merge(&mut self, a: u64, b: u64) {
        let (sa, sb) = (self.series_of(a), self.series_of(b));
        if sa == sb {
            return;
        }
        let (x, y) = (*sa.first().unwrap(), *sb.first().unwrap());
        self.links.insert((x.min(y), x.max(y)));
    }

    /// Returns whether the split is valid.
    fn split(&mut self, chosen: &BTreeSet<u64>, series: &BTreeSet<u64>) -> bool {
        if chosen.is_empty() || chosen.len() == series.len() {
            return false;
        }
        self.next_label += 1;
        for (item, _, label) in &mut self.items {
            if chosen.contains(item) {
                *label = 1000 + self.next_label;
            }
        }
        self.links.retain(|&(a, b)| {
            let crossing =
                |x: u64, y: u64| chosen.contains(&x) && series.contains(&y) && !chosen.contains(&y);
            !crossing(a, b) && !crossing(b, a)
        });
        true
    }
}

/// Random clustered content: members of a few families (a few bits from their centre),
/// unrelated noise, and now and then a video made of family members' frames.
fn signature(rng: &mut Rng, centres: &[PdqHash]) -> Signature {
    let member = |rng: &mut Rng| {
        let c = centres[rng.below(centres.len())];
        let flips = rng.below(22) as u32;
        rng.near_at_most(&c, flips)
    };
    match rng.below(20) {
        0 | 1 => {
            let frames: Vec<(PdqHash, u8)> = (0..1 + rng.below(3))
                .map(|_| {
                    let quality = if rng.below(6) == 0 { 20 } else { 100 };
                    (member(rng), quality)
                })
                .collect();
            video(&frames)
        }
        2 | 3 => image(rng.hash()),
        _ => image(member(rng)),
    }
}

fn check_same(index: &SeriesIndex, model: &Model) -> Result<(), TestCaseError> {
    let expected: BTreeSet<BTreeSet<u64>> = model.partition().into_iter().collect();
    prop_assert_eq!(partition(index), expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random inserts, removals, merges and splits: after every step the engine's series are
    /// the from-scratch computation's, inserts and merges only ever move old ids forward
    /// (every old id resolves to its members' series), and a restore from the state gives
    /// the same series under the same ids.
    #[test]
    fn series_match_a_computation_from_scratch(seed in 1u64.., families in 1usize..6, steps in 10usize..160) {
        let mut rng = Rng(seed);
        let centres: Vec<PdqHash> = (0..families).map(|_| rng.hash()).collect();
        let mut index = engine();
        let mut model = Model::default();
        let mut signatures: HashMap<u64, Signature> = HashMap::new();
        let mut next_item = 0u64;
        for _ in 0..steps {
            let held: Vec<u64> = {
                let mut held: Vec<u64> = signatures.keys().copied().collect();
                held.sort_unstable();
                held
            };
            let before: Vec<(u64, SeriesId)> = index.items().collect();
            let op = if held.len() < 3 { 0 } else { rng.below(10) };
            match op {
                0..=5 => {
                    let s = signature(&mut rng, &centres);
                    next_item += 1 + rng.below(3) as u64;
                    index.insert(next_item, &s).unwrap();
                    model.insert(next_item, s.clone());
                    signatures.insert(next_item, s);
                    for (item, series) in before {
                        prop_assert_eq!(index.resolve(series), index.series_of(item));
                    }
                }
                6 | 7 => {
                    let item = held[rng.below(held.len())];
                    index.remove(item).unwrap();
                    model.remove(item);
                    signatures.remove(&item);
                }
                8 => {
                    let (a, b) = (held[rng.below(held.len())], held[rng.below(held.len())]);
                    let (sa, sb) = (index.series_of(a).unwrap(), index.series_of(b).unwrap());
                    let kept = index.merge(sa, sb).unwrap();
                    prop_assert_eq!(kept, sa.min(sb));
                    model.merge(a, b);
                    for (item, series) in before {
                        prop_assert_eq!(index.resolve(series), index.series_of(item));
                    }
                }
                _ => {
                    let item = held[rng.below(held.len())];
                    let series = index.series_of(item).unwrap();
                    let members = model.series_of(item);
                    let mask = rng.next();
                    let chosen: BTreeSet<u64> = members
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| (mask >> (i % 64)) & 1 == 1)
                        .map(|(_, m)| *m)
                        .collect();
                    let list: Vec<u64> = chosen.iter().copied().collect();
                    let result = index.split(series, &list);
                    if model.split(&chosen, &members) {
                        let parts = result.unwrap();
                        // The part that kept the id is a largest one.
                        let sizes: Vec<usize> =
                            parts.iter().map(|&p| index.series_len(p).unwrap()).collect();
                        prop_assert_eq!(sizes.iter().max(), sizes.first());
                        prop_assert_eq!(parts[0], series);
                    } else {
                        prop_assert!(matches!(result, Err(Error::InvalidSplit(_))));
                    }
                }
            }
            check_same(&index, &model)?;
        }
        let state = index.state();
        let restored = SeriesIndex::restore(
            SeriesOptions::default(),
            signatures.iter().map(|(&i, s)| (i, s.clone())),
            &state,
        )
        .unwrap();
        prop_assert_eq!(restored.state(), state);
    }
}
