//! Links: here is a signature, give me the stored items near enough to be in its series.
//!
//! Images live in one [`PdqIndex`] under their item ids; the distinct frames of every video
//! (of at least the comparison's minimum quality) in another, under frame ids of their own
//! that map back to the video. Every link is found by radius searches in these two indexes,
//! never by a scan of the items.

use std::collections::HashMap;

use crate::index::PdqIndex;
use crate::pdq::PdqHash;
use crate::video::CompareOptions;

/// A signature as the link rules see it: an image's hash, or a video's distinct frames.
#[derive(Clone, Copy, Debug)]
pub(super) enum Probe<'a> {
    Image(PdqHash),
    Video(&'a [PdqHash]),
}

/// A stored item linked to a probe, with the smallest PDQ distance between them (image to
/// image; image to the nearest frame; nearest pair of frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Neighbour {
    pub distance: u32,
    pub item: u64,
}

#[derive(Debug)]
enum Stored {
    Image(PdqHash),
    /// Distinct frame hashes with their frame ids.
    Video(Box<[(PdqHash, u64)]>),
}

/// The two indexes and what is needed to take items out of them again.
#[derive(Debug)]
pub(super) struct Links {
    radius: u32,
    video: CompareOptions,
    images: PdqIndex,
    frames: PdqIndex,
    /// Frame id to (video item, its number of distinct frames).
    frame_owner: HashMap<u64, (u64, u32)>,
    next_frame: u64,
    stored: HashMap<u64, Stored>,
    image_upkeep: Upkeep,
    frame_upkeep: Upkeep,
}

/// When to re-form an index's buckets. Entries inserted into a [`PdqIndex`] after it was
/// built that belong to no family it knows sit in scanned pages, so the index is rebuilt
/// each time the entries inserted since the last build reach a quarter of those it had:
/// rebuilds cost a constant amount of work per insert, amortised, and queries stay fast.
#[derive(Debug, Default)]
struct Upkeep {
    at_build: usize,
    since: usize,
}

/// Fewer inserts than this since the last build never trigger a rebuild.
const REBUILD_MIN: usize = 4096;

impl Upkeep {
    fn inserted(&mut self, index: &PdqIndex) {
        self.since += 1;
        if self.since >= REBUILD_MIN.max(self.at_build / 4) {
            index.rebuild();
            self.at_build = index.len();
            self.since = 0;
        }
    }
}

impl Links {
    pub fn new(radius: u32, video: CompareOptions) -> Links {
        Links {
            radius,
            video,
            images: PdqIndex::new(),
            frames: PdqIndex::new(),
            frame_owner: HashMap::new(),
            next_frame: 0,
            stored: HashMap::new(),
            image_upkeep: Upkeep::default(),
            frame_upkeep: Upkeep::default(),
        }
    }

    /// Stores an item (the caller has checked that its id is new).
    pub fn insert(&mut self, item: u64, probe: Probe<'_>) {
        match probe {
            Probe::Image(hash) => {
                self.images.insert(hash, item);
                self.image_upkeep.inserted(&self.images);
                self.stored.insert(item, Stored::Image(hash));
            }
            Probe::Video(hashes) => {
                let count = hashes.len() as u32;
                let mut frames = Vec::with_capacity(hashes.len());
                for &hash in hashes {
                    let id = self.next_frame;
                    self.next_frame += 1;
                    self.frames.insert(hash, id);
                    self.frame_upkeep.inserted(&self.frames);
                    self.frame_owner.insert(id, (item, count));
                    frames.push((hash, id));
                }
                self.stored
                    .insert(item, Stored::Video(frames.into_boxed_slice()));
            }
        }
    }

    /// Takes an item out; returns whether it was there.
    pub fn remove(&mut self, item: u64) -> bool {
        match self.stored.remove(&item) {
            None => false,
            Some(Stored::Image(hash)) => {
                self.images.remove(&hash, item);
                true
            }
            Some(Stored::Video(frames)) => {
                for (hash, id) in frames.iter() {
                    self.frames.remove(hash, *id);
                    self.frame_owner.remove(id);
                }
                true
            }
        }
    }

    /// Every stored item linked to `item` (itself left out), nearest first, ties by id.
    pub fn neighbours_of(&self, item: u64, out: &mut Vec<Neighbour>) {
        match self.stored.get(&item) {
            None => out.clear(),
            Some(Stored::Image(hash)) => self.neighbours(Probe::Image(*hash), Some(item), out),
            Some(Stored::Video(frames)) => {
                let hashes: Vec<PdqHash> = frames.iter().map(|(h, _)| *h).collect();
                self.neighbours(Probe::Video(&hashes), Some(item), out);
            }
        }
    }

    /// Every stored item linked to `probe` (but `exclude`), nearest first, ties by id. Two
    /// images link within the radius; an image and a video when the image is within the
    /// radius of one of the video's frames; two videos when their comparison matches in
    /// either direction and at least one pair of frames is within the comparison's distance.
    pub fn neighbours(&self, probe: Probe<'_>, exclude: Option<u64>, out: &mut Vec<Neighbour>) {
        out.clear();
        let mut found = Vec::new();
        let keep = |item: u64| Some(item) != exclude;
        match probe {
            Probe::Image(hash) => {
                self.images.search_radius(&hash, self.radius, &mut found);
                out.extend(found.iter().filter(|m| keep(m.id)).map(|m| Neighbour {
                    distance: m.distance,
                    item: m.id,
                }));
                found.clear();
                self.frames.search_radius(&hash, self.radius, &mut found);
                for m in &found {
                    let (video, _) = self.frame_owner[&m.id];
                    if keep(video) {
                        out.push(Neighbour {
                            distance: m.distance,
                            item: video,
                        });
                    }
                }
            }
            Probe::Video(hashes) => {
                // Per stored video: (query frames that found it, the last query frame
                // counted, its frames found, the smallest distance).
                let mut videos: HashMap<u64, (u32, usize, Vec<u64>, u32)> = HashMap::new();
                for (at, hash) in hashes.iter().enumerate() {
                    found.clear();
                    self.images.search_radius(hash, self.radius, &mut found);
                    out.extend(found.iter().filter(|m| keep(m.id)).map(|m| Neighbour {
                        distance: m.distance,
                        item: m.id,
                    }));
                    found.clear();
                    self.frames
                        .search_radius(hash, self.video.distance, &mut found);
                    for m in &found {
                        let (video, _) = self.frame_owner[&m.id];
                        if !keep(video) {
                            continue;
                        }
                        let entry =
                            videos
                                .entry(video)
                                .or_insert((0, usize::MAX, Vec::new(), u32::MAX));
                        if entry.1 != at {
                            entry.0 += 1;
                            entry.1 = at;
                        }
                        entry.2.push(m.id);
                        entry.3 = entry.3.min(m.distance);
                    }
                }
                for (video, (query_frames, _, mut frames, distance)) in videos {
                    frames.sort_unstable();
                    frames.dedup();
                    let (_, count) = self.frame_owner[&frames[0]];
                    let query = share(query_frames as usize, hashes.len());
                    let stored = share(frames.len(), count as usize);
                    if videos_link(query, stored, &self.video) {
                        out.push(Neighbour {
                            distance,
                            item: video,
                        });
                    }
                }
            }
        }
        // One entry per item, at its smallest distance.
        out.sort_unstable_by_key(|n| (n.item, n.distance));
        out.dedup_by_key(|n| n.item);
        out.sort_unstable();
    }

    /// Approximate heap memory, in bytes.
    pub fn memory_bytes(&self) -> usize {
        let video_frames: usize = self
            .stored
            .values()
            .map(|s| match s {
                Stored::Image(_) => 0,
                Stored::Video(frames) => frames.len() * size_of::<(PdqHash, u64)>(),
            })
            .sum();
        self.images.memory_bytes()
            + self.frames.memory_bytes()
            + map_bytes::<u64, (u64, u32)>(self.frame_owner.capacity())
            + map_bytes::<u64, Stored>(self.stored.capacity())
            + video_frames
    }
}

/// Percent of `of` that `matched` is, exactly as `video::compare` computes it (0 for none).
pub(super) fn share(matched: usize, of: usize) -> f64 {
    if of == 0 {
        return 0.0;
    }
    matched as f64 * 100.0 / of as f64
}

/// Whether two videos with these shares of each other link: the comparison matches with
/// either one as the query, and some pair of frames matched at all.
pub(super) fn videos_link(a_share: f64, b_share: f64, options: &CompareOptions) -> bool {
    let matched = |query: f64, compared: f64| {
        query >= options.query_share && compared >= options.compared_share
    };
    (a_share > 0.0 || b_share > 0.0) && (matched(a_share, b_share) || matched(b_share, a_share))
}

/// Approximate bytes of a `HashMap<K, V>` with this capacity (hashbrown: one control byte a
/// slot besides the key and value).
pub(super) fn map_bytes<K, V>(capacity: usize) -> usize {
    capacity * (size_of::<(K, V)>() + 1)
}
