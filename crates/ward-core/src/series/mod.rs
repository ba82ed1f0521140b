//! Series: here is content, tell me which near-duplicates it belongs with, kept current as
//! content comes and goes and as curators merge and split.
//!
//! Items are the caller's `u64` ids, each with a [`Signature`]: an image's PDQ hash or a
//! video's vPDQ. Two items are **linked** when
//!
//! - two images are within [`SeriesOptions::radius`] bits (inclusive);
//! - an image and a video: the image is within the radius of one of the video's frames (of
//!   at least the comparison's minimum quality);
//! - two videos: [`crate::video::compare`] with [`SeriesOptions::video`] matches with either
//!   video as the query, and at least one pair of frames is within its distance (so that
//!   share thresholds of 0 cannot link unrelated videos).
//!
//! A **series** is a connected component of the links (transitively), restricted by the
//! curators' decisions below, and has a stable [`SeriesId`]:
//!
//! - an insert looks its neighbours up in two [`crate::index::PdqIndex`]es (images, and the
//!   frames of videos) and unions their series in a union-find: the new item joins, and
//!   when it bridges several series they become one under the **smallest** (oldest) id; the
//!   others are recorded as merged into it ([`SeriesIndex::resolve`] follows them);
//! - a removal touches only the removed item's series. When the members it was linked to
//!   still reach each other without it (a search or two in a near-duplicate family), the
//!   series stays whole under its id. Otherwise the series is regrouped: its remaining
//!   members' components, found by searching each member's neighbours in the indexes; the
//!   largest part keeps the id (ties: the part holding the smallest item id), the others
//!   get fresh ids in order of size, then of smallest item id. A series left with no member
//!   ends; its id is never reused.
//!
//! Curators' decisions, which stick when content arrives:
//!
//! - [`SeriesIndex::merge`] joins two series by an explicit link between their smallest
//!   members (at the time). An explicit link joins its two items whatever their labels; it
//!   lasts as long as both items do (removing either drops it, which may split the series
//!   again).
//! - [`SeriesIndex::split`] gives the chosen members a fresh **partition label** and drops
//!   the explicit links between them and the rest of their series. Every item has a label
//!   (0 until a split gives it one) and a link counts only between items with the **same**
//!   label, so the two sides stay apart however much content later arrives between them. A
//!   new item takes the label of its nearest linked neighbour (smallest distance, then
//!   smallest item id), or 0 when it has none; it joins the series of the neighbours that
//!   share that label. After a split the chosen members form one or more series (one per
//!   component among them), and so does the rest.
//!
//! Distances for "nearest": image to image, the PDQ distance; image to video, the distance
//! to the video's nearest frame; video to video, that of their nearest pair of frames.
//!
//! The engine is derived state: the store keeps the items, and [`SeriesIndex::state`]
//! gives what else is needed (each item's series, the labels, the explicit links, the merged
//! ids and the counters) for [`SeriesIndex::restore`] to rebuild the same series under the
//! same ids.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use crate::error::{Error, Result};
use crate::pdq::PdqHash;
use crate::video::{CompareOptions, Vpdq};
use forest::Forest;
use links::{Links, Neighbour, Probe, map_bytes};

mod forest;
mod links;

/// The largest series id a restored state may hold (ids are counted from 0, so no engine
/// comes near it; the bound keeps hostile state from overflowing the counter).
pub const MAX_SERIES_ID: u64 = 1 << 62;

/// A series' stable id. Ids are handed out in increasing order and never reused, so the
/// smallest of several ids is the oldest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u64);

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What an item is: an image's PDQ hash or a video's vPDQ.
#[derive(Clone, Debug, PartialEq)]
pub enum Signature {
    Image(PdqHash),
    Video(Vpdq),
}

/// When items link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesOptions {
    /// Two images (or an image and a video's frame) link within this many bits (0 to 256).
    pub radius: u32,
    /// How two videos are compared (its `distance` from 0 to 256, shares from 0 to 100).
    pub video: CompareOptions,
}

impl Default for SeriesOptions {
    fn default() -> SeriesOptions {
        SeriesOptions {
            radius: 31,
            video: CompareOptions::default(),
        }
    }
}

/// Where a signature would go, for a match answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// It is linked at distance 0 to an item of this series (the same image hash, or a frame
    /// identical to one of a linked video's).
    Known(SeriesId),
    /// It would join `joins`; `near` lists every series it links to (including `joins`),
    /// nearest first.
    Near {
        joins: SeriesId,
        near: Vec<SeriesId>,
    },
    /// It links to nothing held.
    Novel,
}

/// What a store keeps, besides the items, to rebuild the engine as it was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesState {
    /// Every item's series, by item.
    pub series: Vec<(u64, SeriesId)>,
    /// Every item whose partition label is not 0, by item.
    pub labels: Vec<(u64, u32)>,
    /// Curators' explicit links (smaller item first), sorted.
    pub links: Vec<(u64, u64)>,
    /// Ids merged into another (the other may itself have been merged since), sorted.
    pub merged: Vec<(SeriesId, SeriesId)>,
    /// The next fresh series id and partition label.
    pub next_series: u64,
    pub next_label: u32,
}

/// Near-duplicate content grouped into series, kept current incrementally.
#[derive(Debug)]
pub struct SeriesIndex {
    options: SeriesOptions,
    links: Links,
    forest: Forest,
    /// Item to its slot in the forest.
    slots: HashMap<u64, u32>,
    /// Live series to their root slot.
    series: HashMap<SeriesId, u32>,
    merged_into: HashMap<SeriesId, SeriesId>,
    /// Curators' explicit links, both ways.
    curated: HashMap<u64, Vec<u64>>,
    next_series: u64,
    next_label: u32,
}

impl SeriesIndex {
    /// An empty engine; the options are checked.
    pub fn new(options: SeriesOptions) -> Result<SeriesIndex> {
        let video = &options.video;
        let share_ok = |s: f64| (0.0..=100.0).contains(&s);
        if options.radius > PdqHash::BITS
            || video.distance > PdqHash::BITS
            || !share_ok(video.query_share)
            || !share_ok(video.compared_share)
        {
            return Err(Error::InvalidOption(format!(
                "series options out of range: radius {}, video distance {}, shares {} and {}",
                options.radius, video.distance, video.query_share, video.compared_share
            )));
        }
        Ok(SeriesIndex {
            options,
            links: Links::new(options.radius, options.video),
            forest: Forest::default(),
            slots: HashMap::new(),
            series: HashMap::new(),
            merged_into: HashMap::new(),
            curated: HashMap::new(),
            next_series: 0,
            next_label: 1,
        })
    }

    pub fn options(&self) -> &SeriesOptions {
        &self.options
    }

    /// Adds an item; returns the series it is now in.
    pub fn insert(&mut self, item: u64, signature: &Signature) -> Result<SeriesId> {
        self.insert_labelled(item, signature, None)
    }

    fn insert_labelled(
        &mut self,
        item: u64,
        signature: &Signature,
        label: Option<u32>,
    ) -> Result<SeriesId> {
        if self.slots.contains_key(&item) {
            return Err(Error::DuplicateItem(item));
        }
        let frames = self.frames(signature);
        let probe = probe(signature, &frames);
        let mut neighbours = Vec::new();
        self.links.neighbours(probe, None, &mut neighbours);
        let label = label.unwrap_or_else(|| match neighbours.first() {
            Some(n) => self.forest.label(self.slots[&n.item]),
            None => 0,
        });
        let same: Vec<u32> = neighbours
            .iter()
            .map(|n| self.slots[&n.item])
            .filter(|&s| self.forest.label(s) == label)
            .collect();
        let mut roots: Vec<u32> = same.into_iter().map(|s| self.forest.find_mut(s)).collect();
        roots.sort_unstable();
        roots.dedup();

        self.links.insert(item, probe);
        let slot = self.forest.add(item, label);
        self.slots.insert(item, slot);
        if roots.is_empty() {
            let id = self.fresh_series();
            self.forest.set_series(slot, id.0);
            self.series.insert(id, slot);
            return Ok(id);
        }
        roots.push(slot);
        Ok(self.join(&roots))
    }

    /// Unions the trees with these roots (the last may have no series yet) under the smallest
    /// series id among them, recording the others as merged into it.
    fn join(&mut self, roots: &[u32]) -> SeriesId {
        let ids: Vec<SeriesId> = roots
            .iter()
            .map(|&r| self.forest.series(r))
            .filter(|&s| s != u64::MAX)
            .map(SeriesId)
            .collect();
        let keep = *ids.iter().min().expect("a root with a series");
        let mut root = roots[0];
        for &r in &roots[1..] {
            root = self.forest.union(root, r);
        }
        for &id in &ids {
            self.series.remove(&id);
            if id != keep {
                self.merged_into.insert(id, keep);
            }
        }
        self.forest.set_series(root, keep.0);
        self.series.insert(keep, root);
        keep
    }

    /// Takes an item out; returns the series its former series' remaining members are now
    /// in (none when it was the last; several when its removal split the series).
    pub fn remove(&mut self, item: u64) -> Result<Vec<SeriesId>> {
        let slot = *self.slots.get(&item).ok_or(Error::UnknownItem(item))?;
        let root = self.forest.find_mut(slot);
        let id = SeriesId(self.forest.series(root));
        // The item's links inside its series, found while it is still indexed.
        let mut neighbours = Vec::new();
        self.links.neighbours_of(item, &mut neighbours);
        let label = self.forest.label(slot);
        let mut linked: Vec<u64> = neighbours
            .iter()
            .filter(|n| {
                let s = self.slots[&n.item];
                self.forest.label(s) == label && self.forest.find(s) == root
            })
            .map(|n| n.item)
            .collect();
        self.slots.remove(&item);
        self.links.remove(item);
        if let Some(others) = self.curated.remove(&item) {
            for other in others {
                self.unlink(other, item);
                linked.push(other);
            }
        }
        self.forest.bury(slot, root);
        if self.forest.size(root) == 0 {
            for buried in self.forest.buried(root) {
                self.forest.release(buried);
            }
            self.series.remove(&id);
            return Ok(Vec::new());
        }
        // The series stays whole when the item's linked members still reach each other
        // without it, which near-duplicate families show after a search or two.
        if self.still_connected(&linked) {
            if self.forest.buried_count(root) > self.forest.size(root) {
                let members = self.forest.members(root);
                let buried = self.forest.buried(root);
                let new_root = self.forest.regroup(&[members])[0];
                self.forest.set_series(new_root, id.0);
                self.series.insert(id, new_root);
                for slot in buried {
                    self.forest.release(slot);
                }
            }
            return Ok(vec![id]);
        }
        let members = self.forest.members(root);
        Ok(self.regroup_series(id, root, members))
    }

    /// Whether every item of `targets` (all in one series) reaches the first one over links.
    fn still_connected(&self, targets: &[u64]) -> bool {
        let Some(&start) = targets.first() else {
            return true;
        };
        let mut missing: HashSet<u64> = targets[1..].iter().copied().collect();
        missing.remove(&start);
        let mut seen: HashSet<u64> = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        let mut neighbours = Vec::new();
        while let Some(item) = queue.pop_front() {
            if missing.is_empty() {
                return true;
            }
            for other in self.linked_in_series(item, &mut neighbours) {
                missing.remove(&other);
                if seen.insert(other) {
                    queue.push_back(other);
                }
            }
        }
        missing.is_empty()
    }

    /// The items an item is linked to by the rules (similar with the same label, or by an
    /// explicit link): all in its own series.
    fn linked_in_series(&self, item: u64, neighbours: &mut Vec<Neighbour>) -> Vec<u64> {
        let label = self.forest.label(self.slots[&item]);
        self.links.neighbours_of(item, neighbours);
        let similar = neighbours.iter().map(|n| n.item).filter(|other| {
            self.slots
                .get(other)
                .is_some_and(|&s| self.forest.label(s) == label)
        });
        let explicit = self.curated.get(&item).into_iter().flatten().copied();
        similar.chain(explicit).collect()
    }

    /// Regroups a series' members and gives back the slots buried in it.
    fn regroup_series(&mut self, id: SeriesId, root: u32, members: Vec<u32>) -> Vec<SeriesId> {
        let buried = self.forest.buried(root);
        let parts = self.regroup(id, members);
        for slot in buried {
            self.forest.release(slot);
        }
        parts
    }

    /// Joins two series (given by any id they have had) by a curator's explicit link;
    /// returns the series they now form, under the smaller id.
    pub fn merge(&mut self, a: SeriesId, b: SeriesId) -> Result<SeriesId> {
        let a = self.resolve(a).ok_or(Error::UnknownSeries(a.0))?;
        let b = self.resolve(b).ok_or(Error::UnknownSeries(b.0))?;
        if a == b {
            return Ok(a);
        }
        let anchor = |index: &SeriesIndex, id: SeriesId| {
            let members = index.forest.members(index.series[&id]);
            members.iter().map(|&s| index.forest.item(s)).min()
        };
        let (x, y) = (
            anchor(self, a).expect("live series have members"),
            anchor(self, b).expect("live series have members"),
        );
        self.curated.entry(x).or_default().push(y);
        self.curated.entry(y).or_default().push(x);
        let roots = [self.series[&a], self.series[&b]];
        Ok(self.join(&roots))
    }

    /// Separates `members` from the rest of their series (given by any id it has had) for
    /// good: they get a fresh partition label (see the module's documentation). Returns
    /// the series the members of the former series are now in: the first is the one that
    /// kept its id.
    pub fn split(&mut self, series: SeriesId, members: &[u64]) -> Result<Vec<SeriesId>> {
        let id = self.resolve(series).ok_or(Error::UnknownSeries(series.0))?;
        let root = self.series[&id];
        let chosen: HashSet<u64> = members.iter().copied().collect();
        if chosen.is_empty() {
            return Err(Error::InvalidSplit("no members chosen".into()));
        }
        for &item in &chosen {
            let slot = *self.slots.get(&item).ok_or(Error::UnknownItem(item))?;
            if self.forest.find(slot) != root {
                return Err(Error::InvalidSplit(format!(
                    "item {item} is not in series {id}"
                )));
            }
        }
        let all = self.forest.members(root);
        if chosen.len() == all.len() {
            return Err(Error::InvalidSplit(format!(
                "every member of series {id} chosen"
            )));
        }
        let label = self.next_label;
        self.next_label = self
            .next_label
            .checked_add(1)
            .ok_or_else(|| Error::InvalidSplit("no partition label left".into()))?;
        for &item in &chosen {
            self.forest.set_label(self.slots[&item], label);
        }
        for &item in &chosen {
            let crossing: Vec<u64> = self
                .curated
                .get(&item)
                .map(|others| {
                    others
                        .iter()
                        .copied()
                        .filter(|o| !chosen.contains(o))
                        .collect()
                })
                .unwrap_or_default();
            for other in crossing {
                // Links cross the split only within the series; both ends are held.
                self.unlink(item, other);
                self.unlink(other, item);
            }
        }
        Ok(self.regroup_series(id, root, all))
    }

    /// Recomputes the components of one series' members; the largest keeps `id`.
    fn regroup(&mut self, id: SeriesId, members: Vec<u32>) -> Vec<SeriesId> {
        let position: HashMap<u64, usize> = members
            .iter()
            .enumerate()
            .map(|(i, &s)| (self.forest.item(s), i))
            .collect();
        let mut part = vec![usize::MAX; members.len()];
        let mut parts: Vec<Vec<u32>> = Vec::new();
        let mut queue = VecDeque::new();
        let mut neighbours: Vec<Neighbour> = Vec::new();
        for start in 0..members.len() {
            if part[start] != usize::MAX {
                continue;
            }
            let number = parts.len();
            part[start] = number;
            let mut slots = vec![members[start]];
            queue.push_back(start);
            while let Some(at) = queue.pop_front() {
                let item = self.forest.item(members[at]);
                for other in self.linked_in_series(item, &mut neighbours) {
                    if let Some(&next) = position.get(&other)
                        && part[next] == usize::MAX
                    {
                        part[next] = number;
                        slots.push(members[next]);
                        queue.push_back(next);
                    }
                }
            }
            parts.push(slots);
        }
        // Largest first, then by smallest item: the first keeps the id.
        let smallest = |forest: &Forest, slots: &[u32]| {
            slots.iter().map(|&s| forest.item(s)).min().unwrap_or(0)
        };
        let mut keyed: Vec<(usize, u64, Vec<u32>)> = parts
            .into_iter()
            .map(|p| (p.len(), smallest(&self.forest, &p), p))
            .collect();
        keyed.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let parts: Vec<Vec<u32>> = keyed.into_iter().map(|(_, _, p)| p).collect();
        let roots = self.forest.regroup(&parts);
        let mut ids = Vec::with_capacity(roots.len());
        for (n, &root) in roots.iter().enumerate() {
            let series = if n == 0 { id } else { self.fresh_series() };
            self.forest.set_series(root, series.0);
            self.series.insert(series, root);
            ids.push(series);
        }
        ids
    }

    fn unlink(&mut self, from: u64, to: u64) {
        if let Some(list) = self.curated.get_mut(&from) {
            list.retain(|&o| o != to);
            if list.is_empty() {
                self.curated.remove(&from);
            }
        }
    }

    fn fresh_series(&mut self) -> SeriesId {
        let id = SeriesId(self.next_series);
        self.next_series += 1;
        id
    }

    fn frames(&self, signature: &Signature) -> Vec<PdqHash> {
        match signature {
            Signature::Image(_) => Vec::new(),
            Signature::Video(vpdq) => vpdq.distinct_hashes(self.options.video.min_quality),
        }
    }

    /// The series an item is in.
    pub fn series_of(&self, item: u64) -> Option<SeriesId> {
        let slot = *self.slots.get(&item)?;
        Some(SeriesId(self.forest.series(self.forest.find(slot))))
    }

    /// An item's partition label (0 until a curator's split gives it one).
    pub fn label(&self, item: u64) -> Option<u32> {
        Some(self.forest.label(*self.slots.get(&item)?))
    }

    /// The curators' explicit links (smaller item first), sorted.
    pub fn curated_links(&self) -> Vec<(u64, u64)> {
        let mut links: Vec<(u64, u64)> = self
            .curated
            .iter()
            .flat_map(|(&a, others)| others.iter().map(move |&b| (a, b)))
            .filter(|(a, b)| a < b)
            .collect();
        links.sort_unstable();
        links.dedup();
        links
    }

    /// The next fresh series id and partition label.
    pub fn counters(&self) -> (u64, u32) {
        (self.next_series, self.next_label)
    }

    /// The live series an id now stands for: itself, or the series it was merged into
    /// (transitively); `None` when that series has no members left.
    pub fn resolve(&self, mut id: SeriesId) -> Option<SeriesId> {
        loop {
            if self.series.contains_key(&id) {
                return Some(id);
            }
            id = *self.merged_into.get(&id)?;
        }
    }

    /// The members of a series (given by any id it has had), in increasing order.
    pub fn members(&self, series: SeriesId) -> Option<Vec<u64>> {
        let root = self.series[&self.resolve(series)?];
        let mut items: Vec<u64> = self
            .forest
            .members(root)
            .iter()
            .map(|&s| self.forest.item(s))
            .collect();
        items.sort_unstable();
        Some(items)
    }

    /// The number of members of a series (given by any id it has had).
    pub fn series_len(&self, series: SeriesId) -> Option<usize> {
        Some(self.forest.size(self.series[&self.resolve(series)?]))
    }

    /// Where a signature would go if it were inserted, without inserting it.
    pub fn place(&self, signature: &Signature) -> Placement {
        let frames = self.frames(signature);
        let mut neighbours = Vec::new();
        self.links
            .neighbours(probe(signature, &frames), None, &mut neighbours);
        let Some(nearest) = neighbours.first() else {
            return Placement::Novel;
        };
        let label = self.forest.label(self.slots[&nearest.item]);
        let series_of = |n: &Neighbour| self.series_of(n.item).expect("held items");
        if nearest.distance == 0 {
            return Placement::Known(series_of(nearest));
        }
        let joins = neighbours
            .iter()
            .filter(|n| self.forest.label(self.slots[&n.item]) == label)
            .map(series_of)
            .min()
            .expect("the nearest has the label");
        let mut near = Vec::new();
        for n in &neighbours {
            let s = series_of(n);
            if !near.contains(&s) {
                near.push(s);
            }
        }
        Placement::Near { joins, near }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The number of series.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Every item with its series, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = (u64, SeriesId)> + '_ {
        self.slots
            .iter()
            .map(|(&item, &slot)| (item, SeriesId(self.forest.series(self.forest.find(slot)))))
    }

    /// What a store keeps to rebuild the engine with [`SeriesIndex::restore`].
    pub fn state(&self) -> SeriesState {
        let mut series: Vec<(u64, SeriesId)> = self.items().collect();
        series.sort_unstable();
        let mut labels: Vec<(u64, u32)> = self
            .slots
            .iter()
            .map(|(&item, &slot)| (item, self.forest.label(slot)))
            .filter(|&(_, label)| label != 0)
            .collect();
        labels.sort_unstable();
        let links = self.curated_links();
        let mut merged: Vec<(SeriesId, SeriesId)> =
            self.merged_into.iter().map(|(&a, &b)| (a, b)).collect();
        merged.sort_unstable();
        SeriesState {
            series,
            labels,
            links,
            merged,
            next_series: self.next_series,
            next_label: self.next_label,
        }
    }

    /// Rebuilds an engine from the items and a [`SeriesState`]: the series are computed
    /// again from the links, the labels and the explicit links; each takes the id its
    /// smallest item had (when no other series has taken it already), else a fresh one.
    pub fn restore(
        options: SeriesOptions,
        items: impl IntoIterator<Item = (u64, Signature)>,
        state: &SeriesState,
    ) -> Result<SeriesIndex> {
        let too_large = |id: u64| id > MAX_SERIES_ID;
        if too_large(state.next_series)
            || state.series.iter().any(|(_, id)| too_large(id.0))
            || state
                .merged
                .iter()
                .any(|(a, b)| too_large(a.0) || too_large(b.0))
        {
            return Err(Error::InvalidOption(format!(
                "series state: series ids go up to {MAX_SERIES_ID}"
            )));
        }
        let mut index = SeriesIndex::new(options)?;
        let labels: HashMap<u64, u32> = state.labels.iter().copied().collect();
        for (item, signature) in items {
            let label = labels.get(&item).copied().unwrap_or(0);
            index.insert_labelled(item, &signature, Some(label))?;
        }
        for &(item, _) in &state.labels {
            if !index.slots.contains_key(&item) {
                return Err(Error::UnknownItem(item));
            }
        }
        for &(a, b) in &state.links {
            for item in [a, b] {
                if !index.slots.contains_key(&item) {
                    return Err(Error::UnknownItem(item));
                }
            }
            index.curated.entry(a).or_default().push(b);
            index.curated.entry(b).or_default().push(a);
            let ra = index.forest.find_mut(index.slots[&a]);
            let rb = index.forest.find_mut(index.slots[&b]);
            index.join(&[ra, rb]);
        }
        // Put the stored ids back.
        let stored: HashMap<u64, SeriesId> = state.series.iter().copied().collect();
        let mut groups: Vec<(u64, u32)> = index
            .series
            .values()
            .map(|&root| {
                let smallest = index
                    .forest
                    .members(root)
                    .iter()
                    .map(|&s| index.forest.item(s))
                    .min()
                    .expect("live series have members");
                (smallest, root)
            })
            .collect();
        groups.sort_unstable();
        let mut next = state.next_series;
        let mut taken = HashSet::new();
        let mut chosen = Vec::with_capacity(groups.len());
        for &(smallest, root) in &groups {
            match stored.get(&smallest) {
                Some(&id) if taken.insert(id) => {
                    next = next.max(id.0.saturating_add(1));
                    chosen.push((root, Some(id)));
                }
                _ => chosen.push((root, None)),
            }
        }
        index.next_series = next;
        index.series.clear();
        for (root, id) in chosen {
            let id = id.unwrap_or_else(|| index.fresh_series());
            index.forest.set_series(root, id.0);
            index.series.insert(id, root);
        }
        index.merged_into = state
            .merged
            .iter()
            .copied()
            .filter(|(from, _)| !index.series.contains_key(from))
            .collect();
        index.next_label = state.next_label.max(
            state
                .labels
                .iter()
                .map(|&(_, l)| l.saturating_add(1))
                .max()
                .unwrap_or(1),
        );
        Ok(index)
    }

    /// Approximate heap memory held by the engine and its indexes, in bytes.
    pub fn memory_bytes(&self) -> usize {
        let curated: usize = self
            .curated
            .values()
            .map(|v| v.capacity() * size_of::<u64>())
            .sum();
        self.links.memory_bytes()
            + self.forest.memory_bytes()
            + map_bytes::<u64, u32>(self.slots.capacity())
            + map_bytes::<SeriesId, u32>(self.series.capacity())
            + map_bytes::<SeriesId, SeriesId>(self.merged_into.capacity())
            + map_bytes::<u64, Vec<u64>>(self.curated.capacity())
            + curated
    }
}

fn probe<'a>(signature: &Signature, frames: &'a [PdqHash]) -> Probe<'a> {
    match signature {
        Signature::Image(hash) => Probe::Image(*hash),
        Signature::Video(_) => Probe::Video(frames),
    }
}

#[cfg(test)]
mod tests;
