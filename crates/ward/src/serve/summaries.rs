//! What a match answer says about the matched content (its categories, provenance, opinion
//! status and series), kept in the node's memory so that a match of known content costs no
//! store read.
//!
//! A summary is read from the store the first time a content item matches and kept until the
//! item changes. Every change to a content item that a match shows (an assessment, an opinion,
//! enabling, disabling, removing) gives its signals a new place in the store's feed, so the
//! node's follower forgets the summaries of the content its feed pages mention, within a poll
//! on every node; the node that made the change forgets at once, so that its own answers show
//! the change as soon as the write returns. An item's series comes from the node's
//! [`ContentFacts`], which hold every item's; only while they are read (at start) are series
//! cached here, forgotten whenever the store's series epoch moves. Content added in bulk
//! (a summary group) shows its group's summary, read once for the group. A miss reads what
//! a whole answer lacks in one query (`Store::match_summaries`).
//!
//! A read that overlaps a change must not outlive it: every forget moves a generation on,
//! and a read only keeps what it found when no forget happened since it started.
//!
//! Memory is bounded in bytes ([`ContentSummaries::new`]'s budget): entries live in two
//! halves, the newer taking what is read or used, and when the newer fills half the budget
//! the older is dropped and the newer becomes the older. What is used often stays; a miss
//! costs a read of the store. Rendered JSON is shared between summaries that print the same
//! (the provenance of one import batch, the few category combinations), so an item costs a
//! few dozen bytes.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::mem::size_of;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::value::RawValue;
use tokio::sync::{Semaphore, mpsc, oneshot};
use ward_store::{
    AnyStore, ContentId, MatchSummary, OpinionStatus, SeriesBadge, Store, StoreError,
};

use super::bank_index::IdMap;
use super::content_facts::{ContentFacts, FactsStats};
use super::view::{CategoriesView, ProvenanceView};

/// The memory a node gives content summaries by default (`ward serve --summary-cache-mib`).
pub const DEFAULT_BUDGET_BYTES: usize = 128 << 20;

/// The content details of a match answer.
#[derive(Clone, Debug)]
pub struct ContentSummary {
    pub id: ContentId,
    pub opinion_status: OpinionStatus,
    /// Categories and provenance as answers print them, rendered once and shared: a
    /// summary is printed many times, and escaping its strings each time showed in
    /// profiles.
    pub categories: Arc<RawValue>,
    pub provenance: Arc<RawValue>,
}

impl ContentSummary {
    pub fn of(summary: &MatchSummary) -> ContentSummary {
        let categories = summary.assessment.as_ref().map(CategoriesView::of);
        ContentSummary {
            id: summary.id,
            opinion_status: summary.opinion_status,
            categories: Arc::from(raw_json(&categories)),
            provenance: Arc::from(raw_json(&ProvenanceView::of(&summary.provenance))),
        }
    }
}

/// A matched content item as answers show it: its summary and its series, if any.
#[derive(Clone, Debug)]
pub struct Matched {
    pub summary: ContentSummary,
    pub series: Option<SeriesBadge>,
}

/// `value` rendered as JSON once, to be printed as it is.
pub fn raw_json(value: &impl serde::Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("plain structs and strings render as JSON")
}

/// The node's content summaries and series of content.
#[derive(Debug)]
pub struct ContentSummaries {
    budget: usize,
    /// Read by every match answer at once, written on a miss, a use of the older half, or
    /// a forget.
    cache: RwLock<Cache>,
    /// Every item's series and summary group.
    facts: ContentFacts,
    hits: AtomicU64,
    misses: AtomicU64,
    series_misses: AtomicU64,
    group_hits: AtomicU64,
}

#[derive(Debug, Default)]
struct Cache {
    /// The summary of each summary group's items (their ids aside), read the first time
    /// one of them matched: a group is content added in bulk with nothing of its own, so
    /// what one item shows, every item shows.
    templates: IdMap<u32, ContentSummary>,
    newer: Half,
    older: Half,
    /// Moves on with every forget.
    generation: u64,
    /// The store's series epoch that the series held reflect.
    series_epoch: Option<i64>,
}

/// Half of the cache: summaries and series of content, and the rendered JSON they share.
#[derive(Debug, Default)]
struct Half {
    summaries: IdMap<ContentId, ContentSummary>,
    /// `None`: the item is in no series.
    series: IdMap<ContentId, Option<SeriesBadge>>,
    texts: HashSet<SharedText>,
    text_bytes: usize,
}

/// Bytes a held summary costs in its table (key, value and control byte).
const SUMMARY_SLOT: usize = size_of::<(ContentId, ContentSummary)>() + 1;
/// Bytes a held series of content costs in its table.
const SERIES_SLOT: usize = size_of::<(ContentId, Option<SeriesBadge>)>() + 1;
/// Bytes a shared text costs in its set.
const TEXT_SLOT: usize = size_of::<SharedText>() + 1;
/// Bytes of a shared text's allocation besides its characters (the `Arc`'s counts).
const TEXT_OVERHEAD: usize = 2 * size_of::<usize>();

/// Bytes of a hash table holding `len` entries in an allocation for `capacity`: a table
/// grows by doubling its slots, and keeps at most 7 of 8 full.
fn table_bytes(len: usize, capacity: usize, slot: usize) -> usize {
    let slots = match len.max(capacity) {
        0 => 0,
        1..=3 => 4,
        4..=7 => 8,
        n => (n * 8 / 7).next_power_of_two(),
    };
    slots * slot
}

impl Half {
    /// The memory this half holds: its tables as allocated (not only what they use) and
    /// its texts.
    fn bytes(&self) -> usize {
        self.bytes_with(0, 0)
    }

    /// The memory this half would hold with `summaries` and `series` more entries.
    fn bytes_with(&self, summaries: usize, series: usize) -> usize {
        let summaries_len = self.summaries.len() + summaries;
        let series_len = self.series.len() + series;
        table_bytes(summaries_len, self.summaries.capacity(), SUMMARY_SLOT)
            + table_bytes(series_len, self.series.capacity(), SERIES_SLOT)
            + table_bytes(self.texts.len(), self.texts.capacity(), TEXT_SLOT)
            + self.text_bytes
    }

    /// `text`, or the same text already held (one allocation for many summaries).
    fn share(&mut self, text: Arc<RawValue>) -> Arc<RawValue> {
        if let Some(held) = self.texts.get(text.get()) {
            return Arc::clone(&held.0);
        }
        self.text_bytes += text.get().len() + TEXT_OVERHEAD;
        self.texts.insert(SharedText(Arc::clone(&text)));
        text
    }

    fn keep_summary(&mut self, summary: &ContentSummary) {
        let kept = ContentSummary {
            id: summary.id,
            opinion_status: summary.opinion_status,
            categories: self.share(Arc::clone(&summary.categories)),
            provenance: self.share(Arc::clone(&summary.provenance)),
        };
        self.summaries.insert(kept.id, kept);
    }
}

/// Rendered JSON in a set, found by its text.
#[derive(Debug)]
struct SharedText(Arc<RawValue>);

impl PartialEq for SharedText {
    fn eq(&self, other: &SharedText) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for SharedText {}

impl Hash for SharedText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.get().hash(state);
    }
}

impl Borrow<str> for SharedText {
    fn borrow(&self) -> &str {
        self.0.get()
    }
}

impl Default for ContentSummaries {
    fn default() -> ContentSummaries {
        ContentSummaries::new(DEFAULT_BUDGET_BYTES)
    }
}

/// What a lookup found in memory, and what it must read.
#[derive(Debug, Default)]
struct Lookup {
    summaries: IdMap<ContentId, ContentSummary>,
    series: IdMap<ContentId, Option<SeriesBadge>>,
    missing_summaries: Vec<ContentId>,
    missing_series: Vec<ContentId>,
    /// Found in the older half: moved to the newer one.
    from_older: Vec<ContentId>,
    /// The summary groups of missing summaries' items.
    groups: IdMap<ContentId, u32>,
    generation: u64,
}

impl ContentSummaries {
    /// Summaries held in at most about `budget` bytes.
    pub fn new(budget: usize) -> ContentSummaries {
        ContentSummaries {
            budget: budget.max(1),
            cache: RwLock::default(),
            facts: ContentFacts::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            series_misses: AtomicU64::new(0),
            group_hits: AtomicU64::new(0),
        }
    }

    /// What answers show of `ids` (sorted, without repeats), from memory or else in one
    /// store read of the summaries and one of the series missing. An id the store does not
    /// have (removed meanwhile) is left out.
    pub async fn get(
        &self,
        source: &impl SummarySource,
        ids: &[ContentId],
    ) -> Result<IdMap<ContentId, Matched>, StoreError> {
        let mut found = self.lookup(ids);
        if !found.from_older.is_empty() {
            self.promote(&found.from_older);
        }
        // What is missing of either, in one read (a removed item is not found, and left
        // out).
        let mut missing = found.missing_summaries.clone();
        missing.extend(&found.missing_series);
        missing.sort_unstable();
        missing.dedup();
        let read = if missing.is_empty() {
            Vec::new()
        } else {
            source.read(missing).await?
        };
        let mut read_summaries = Vec::with_capacity(read.len());
        let mut read_series = Vec::with_capacity(read.len());
        let mut templates = Vec::new();
        for m in &read {
            if found.series.contains_key(&m.id) {
                // Its series came from the facts; its summary is what was missing.
            } else {
                read_series.push((m.id, m.series));
            }
            if found.summaries.contains_key(&m.id) {
                continue;
            }
            let summary = ContentSummary::of(m);
            match found.groups.get(&m.id) {
                // What one item of a group shows, every item of it shows, unless this one
                // got something of its own since the feed last said (then it is kept
                // alone, and the feed will take it out of its group).
                Some(group)
                    if m.assessment.is_none() && m.opinion_status == OpinionStatus::Unreviewed =>
                {
                    templates.push((*group, summary.clone()));
                }
                _ => read_summaries.push(summary.clone()),
            }
            found.summaries.insert(m.id, summary);
        }
        if !read_summaries.is_empty() || !read_series.is_empty() || !templates.is_empty() {
            self.keep(&read_summaries, &read_series, &templates, found.generation);
        }
        found.series.extend(read_series);
        let mut matched = IdMap::with_capacity_and_hasher(ids.len(), Default::default());
        for (id, summary) in found.summaries {
            let series = found.series.get(&id).copied().flatten();
            matched.insert(id, Matched { summary, series });
        }
        Ok(matched)
    }

    /// What memory holds of `ids`, what is missing, and the generation to read under.
    fn lookup(&self, ids: &[ContentId]) -> Lookup {
        let mut found = Lookup {
            summaries: IdMap::with_capacity_and_hasher(ids.len(), Default::default()),
            series: IdMap::with_capacity_and_hasher(ids.len(), Default::default()),
            ..Lookup::default()
        };
        let facts = self.facts.of(ids);
        let mut from_groups = 0;
        let cache = self.cache.read().expect("lock");
        for (id, fact) in ids.iter().zip(facts) {
            let mut older = false;
            let template = fact.group.map(|g| (g, cache.templates.get(&g)));
            match template {
                Some((_, Some(template))) => {
                    found.summaries.insert(
                        *id,
                        ContentSummary {
                            id: *id,
                            ..template.clone()
                        },
                    );
                    from_groups += 1;
                }
                _ => match cache.newer.summaries.get(id) {
                    Some(summary) => drop(found.summaries.insert(*id, summary.clone())),
                    None => match cache.older.summaries.get(id) {
                        Some(summary) => {
                            found.summaries.insert(*id, summary.clone());
                            older = true;
                        }
                        None => {
                            found.missing_summaries.push(*id);
                            if let Some((group, None)) = template {
                                found.groups.insert(*id, group);
                            }
                        }
                    },
                },
            }
            if let Some(series) = fact.series {
                found.series.insert(*id, series);
                if older {
                    found.from_older.push(*id);
                }
                continue;
            }
            match cache.newer.series.get(id) {
                Some(series) => drop(found.series.insert(*id, *series)),
                None => match cache.older.series.get(id) {
                    Some(series) => {
                        found.series.insert(*id, *series);
                        older = true;
                    }
                    None => found.missing_series.push(*id),
                },
            }
            if older {
                found.from_older.push(*id);
            }
        }
        found.generation = cache.generation;
        drop(cache);
        let missing = found.missing_summaries.len();
        self.hits
            .fetch_add((ids.len() - missing) as u64, Ordering::Relaxed);
        self.group_hits.fetch_add(from_groups, Ordering::Relaxed);
        self.misses.fetch_add(missing as u64, Ordering::Relaxed);
        self.series_misses
            .fetch_add(found.missing_series.len() as u64, Ordering::Relaxed);
        found
    }

    /// Moves what answers used from the older half to the newer one.
    fn promote(&self, ids: &[ContentId]) {
        let mut cache = self.cache.write().expect("lock");
        let summaries: Vec<ContentSummary> = ids
            .iter()
            .filter_map(|id| cache.older.summaries.remove(id))
            .collect();
        let series: Vec<(ContentId, Option<SeriesBadge>)> = ids
            .iter()
            .filter_map(|id| cache.older.series.remove(id).map(|s| (*id, s)))
            .collect();
        self.make_room(&mut cache, summaries.len(), series.len());
        for summary in &summaries {
            cache.newer.keep_summary(summary);
        }
        cache.newer.series.extend(series);
        self.make_room(&mut cache, 0, 0);
    }

    /// Keeps what was read under `generation`, unless something was forgotten since.
    fn keep(
        &self,
        summaries: &[ContentSummary],
        series: &[(ContentId, Option<SeriesBadge>)],
        templates: &[(u32, ContentSummary)],
        generation: u64,
    ) {
        let mut cache = self.cache.write().expect("lock");
        if cache.generation != generation {
            return;
        }
        for (group, template) in templates {
            cache.templates.insert(*group, template.clone());
        }
        self.make_room(&mut cache, summaries.len(), series.len());
        for summary in summaries {
            cache.newer.keep_summary(summary);
        }
        cache.newer.series.extend(series.iter().copied());
        // New texts may have taken it past the mark.
        self.make_room(&mut cache, 0, 0);
    }

    /// When the newer half would hold more than half the budget with `summaries` and
    /// `series` more entries, the older half is dropped and the newer becomes the older.
    fn make_room(&self, cache: &mut Cache, summaries: usize, series: usize) {
        if cache.newer.bytes_with(summaries, series) > self.budget / 2 {
            cache.older = std::mem::take(&mut cache.newer);
        }
    }

    /// Forgets the summaries and series of content items that changed.
    pub fn forget(&self, ids: impl IntoIterator<Item = ContentId>) {
        let ids: Vec<ContentId> = ids.into_iter().collect();
        // Out of their groups until the feed puts them back: a change through this node
        // shows in its next answer (an item that changed has rows of its own).
        self.facts.set_groups(ids.iter().map(|id| (*id, None)));
        let mut cache = self.cache.write().expect("lock");
        let cache = &mut *cache;
        cache.generation += 1;
        for id in ids {
            for half in [&mut cache.newer, &mut cache.older] {
                half.summaries.remove(&id);
                half.series.remove(&id);
            }
        }
    }

    /// Takes in the store's series epoch: when it moved since the last one, every series
    /// held is forgotten.
    pub fn series_epoch(&self, epoch: i64) {
        if self.cache.read().expect("lock").series_epoch == Some(epoch) {
            return;
        }
        let mut cache = self.cache.write().expect("lock");
        if cache.series_epoch != Some(epoch) {
            cache.generation += 1;
            cache.newer.series = IdMap::default();
            cache.older.series = IdMap::default();
            cache.series_epoch = Some(epoch);
        }
    }

    /// What the cache holds, for metrics.
    pub fn stats(&self) -> SummaryStats {
        let cache = self.cache.read().expect("lock");
        SummaryStats {
            held: cache.newer.summaries.len() + cache.older.summaries.len(),
            bytes: cache.newer.bytes() + cache.older.bytes(),
            budget: self.budget,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            series_misses: self.series_misses.load(Ordering::Relaxed),
            group_hits: self.group_hits.load(Ordering::Relaxed),
            groups: cache.templates.len(),
            facts: self.facts.stats(),
        }
    }

    /// Every item's series and summary group.
    pub fn facts(&self) -> &ContentFacts {
        &self.facts
    }
}

/// Where summaries that memory lacks are read from.
pub trait SummarySource: Sync {
    /// What match answers show of those of `ids` (sorted, without repeats) that exist.
    fn read(
        &self,
        ids: Vec<ContentId>,
    ) -> impl Future<Output = Result<Vec<MatchSummary>, StoreError>> + Send;
}

/// A store, read as asked.
impl<S: Store> SummarySource for S {
    async fn read(&self, ids: Vec<ContentId>) -> Result<Vec<MatchSummary>, StoreError> {
        self.match_summaries(&ids).await
    }
}

/// Reads of what answers lack, gathered across the answers being made at once: each read
/// of the store carries every id asked meanwhile, so that under load a first-time lookup
/// costs a share of one statement rather than one of its own (each statement is a round
/// trip to a database connection's thread). At most [`PARALLEL_READS`] reads run at once;
/// asks that arrive while they run go together in the next.
#[derive(Clone, Debug)]
pub struct BatchedReads {
    asks: mpsc::UnboundedSender<Ask>,
}

/// Store reads of summaries running at once (SQLite has four reading connections).
pub const PARALLEL_READS: usize = 4;
/// The most ids one read carries.
const BATCH_IDS: usize = 2_000;

type Reply = Result<Vec<MatchSummary>, StoreError>;

#[derive(Debug)]
struct Ask {
    ids: Vec<ContentId>,
    reply: oneshot::Sender<Reply>,
}

impl BatchedReads {
    /// Starts the task that reads for every answer from `store`; it ends when the last
    /// handle is dropped.
    pub fn start(store: AnyStore) -> BatchedReads {
        let (asks, waiting) = mpsc::unbounded_channel();
        tokio::spawn(read_batches(store, waiting));
        BatchedReads { asks }
    }
}

impl SummarySource for BatchedReads {
    async fn read(&self, ids: Vec<ContentId>) -> Result<Vec<MatchSummary>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.asks
            .send(Ask { ids, reply })
            .map_err(|_| StoreError::Database("the summary reader has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the summary reader has stopped".into()))?
    }
}

async fn read_batches(store: AnyStore, mut waiting: mpsc::UnboundedReceiver<Ask>) {
    let permits = Arc::new(Semaphore::new(PARALLEL_READS));
    while let Some(first) = waiting.recv().await {
        // While every read is busy, asks gather behind this one.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let mut ids = first.ids.len();
        let mut batch = vec![first];
        while ids < BATCH_IDS {
            match waiting.try_recv() {
                Ok(ask) => {
                    ids += ask.ids.len();
                    batch.push(ask);
                }
                Err(_) => break,
            }
        }
        let store = store.clone();
        tokio::spawn(async move {
            answer_batch(&store, batch).await;
            drop(permit);
        });
    }
}

/// One store read for every ask of `batch`; each gets what it asked for.
async fn answer_batch(store: &AnyStore, batch: Vec<Ask>) {
    let mut ids: Vec<ContentId> = batch
        .iter()
        .flat_map(|ask| ask.ids.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match store.match_summaries(&ids).await {
        Ok(found) => {
            let found: IdMap<ContentId, MatchSummary> =
                found.into_iter().map(|m| (m.id, m)).collect();
            for ask in batch {
                let mine = ask
                    .ids
                    .iter()
                    .filter_map(|id| found.get(id).cloned())
                    .collect();
                let _ = ask.reply.send(Ok(mine));
            }
        }
        Err(error) => {
            let message = error.to_string();
            for ask in batch {
                let _ = ask.reply.send(Err(StoreError::Database(message.clone())));
            }
        }
    }
}

/// The cache's figures (`/metrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryStats {
    /// Summaries held.
    pub held: usize,
    /// Memory they take, by the cache's own count.
    pub bytes: usize,
    pub budget: usize,
    /// Summaries answered from memory and read from the store.
    pub hits: u64,
    pub misses: u64,
    /// Content whose series was read from the store.
    pub series_misses: u64,
    /// Summaries made from their group's.
    pub group_hits: u64,
    /// Summary groups held.
    pub groups: usize,
    pub facts: FactsStats,
}

#[cfg(test)]
mod tests {
    use ward_store::{Provenance, Timestamp};

    use super::*;

    fn summary(id: i64) -> ContentSummary {
        ContentSummary::of(&MatchSummary {
            id: ContentId(id),
            assessment: None,
            provenance: Provenance {
                added_by: "test".into(),
                added_by_key: None,
                added_by_org: None,
                source: "api".into(),
                added_at: Timestamp(0),
            },
            opinion_status: OpinionStatus::Unreviewed,
            series: None,
        })
    }

    fn ids(range: std::ops::RangeInclusive<i64>) -> Vec<ContentId> {
        range.map(ContentId).collect()
    }

    /// Keeps summaries of `range` as if read from the store, with no series.
    fn read(summaries: &ContentSummaries, range: std::ops::RangeInclusive<i64>) {
        let found = summaries.lookup(&ids(range.clone()));
        let read: Vec<ContentSummary> = range.clone().map(summary).collect();
        let series: Vec<_> = range.map(|id| (ContentId(id), None)).collect();
        summaries.keep(&read, &series, &[], found.generation);
    }

    #[test]
    fn reads_are_kept_until_forgotten() {
        let summaries = ContentSummaries::new(1 << 20);
        let found = summaries.lookup(&ids(1..=2));
        assert!(found.summaries.is_empty());
        assert_eq!(found.missing_summaries, ids(1..=2));
        assert_eq!(found.missing_series, ids(1..=2));
        let series = [(ContentId(1), None), (ContentId(2), None)];
        summaries.keep(&[summary(1), summary(2)], &series, &[], found.generation);
        let found = summaries.lookup(&ids(1..=2));
        assert_eq!(
            (found.summaries.len(), found.missing_summaries.len()),
            (2, 0)
        );
        assert_eq!(found.series.len(), 2);
        assert_eq!(
            found.summaries[&ContentId(2)].opinion_status,
            OpinionStatus::Unreviewed
        );
        summaries.forget([ContentId(1)]);
        let found = summaries.lookup(&ids(1..=2));
        assert_eq!(found.summaries.len(), 1);
        assert_eq!(found.missing_summaries, vec![ContentId(1)]);
        assert_eq!(found.missing_series, vec![ContentId(1)]);
        let stats = summaries.stats();
        assert_eq!((stats.held, stats.hits, stats.misses), (1, 3, 3));
    }

    /// A read that overlaps a change is not kept: it may show the state before the change.
    #[test]
    fn a_read_overlapping_a_forget_is_not_kept() {
        let summaries = ContentSummaries::new(1 << 20);
        let found = summaries.lookup(&[ContentId(1)]);
        // The change lands, and is forgotten, while the store is being read.
        summaries.forget([ContentId(1)]);
        summaries.keep(&[summary(1)], &[], &[], found.generation);
        assert_eq!(summaries.stats().held, 0);
        read(&summaries, 1..=1);
        assert_eq!(summaries.stats().held, 1);
    }

    #[test]
    fn a_moved_series_epoch_forgets_every_series_but_no_summary() {
        let summaries = ContentSummaries::new(1 << 20);
        summaries.series_epoch(4);
        read(&summaries, 1..=3);
        summaries.series_epoch(4); // unchanged: kept
        assert!(summaries.lookup(&ids(1..=3)).missing_series.is_empty());
        let before = summaries.lookup(&ids(1..=3));
        summaries.series_epoch(5);
        let found = summaries.lookup(&ids(1..=3));
        assert_eq!(found.missing_series, ids(1..=3));
        assert!(found.missing_summaries.is_empty());
        // A read of series that started before the epoch moved is not kept.
        summaries.keep(&[], &[(ContentId(1), None)], &[], before.generation);
        assert_eq!(summaries.lookup(&ids(1..=1)).missing_series, ids(1..=1));
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_keeps_what_is_used() {
        let budget = 64 << 10;
        let summaries = ContentSummaries::new(budget);
        read(&summaries, 1..=10);
        for start in (100..20_000).step_by(100) {
            read(&summaries, start..=start + 99);
            // Items 1 to 10 are used all the time.
            let found = summaries.lookup(&ids(1..=10));
            if !found.missing_summaries.is_empty() {
                read(&summaries, 1..=10);
            } else {
                summaries.promote(&found.from_older);
            }
            let stats = summaries.stats();
            assert!(stats.bytes <= budget, "{} bytes held", stats.bytes);
        }
        let stats = summaries.stats();
        assert!(stats.held > 100 && stats.held < 20_000, "{stats:?}");
        assert!(summaries.lookup(&ids(1..=10)).missing_summaries.is_empty());
        // Items read long ago and never used again are gone.
        assert_eq!(
            summaries.lookup(&ids(100..=199)).missing_summaries.len(),
            100
        );
    }

    #[test]
    fn summaries_that_print_the_same_share_their_text() {
        let summaries = ContentSummaries::new(1 << 20);
        read(&summaries, 1..=1000);
        let cache = summaries.cache.read().unwrap();
        // One provenance and one (absent) categories for all of them.
        assert_eq!(cache.newer.texts.len(), 2);
        let one = &cache.newer.summaries[&ContentId(1)];
        let two = &cache.newer.summaries[&ContentId(2)];
        assert!(Arc::ptr_eq(&one.provenance, &two.provenance));
    }

    /// Answers read together are each given what they asked for, and a failed read reaches
    /// every answer waiting on it.
    #[tokio::test]
    async fn concurrent_asks_are_read_together_and_each_gets_its_own() {
        let folder = tempfile::tempdir().unwrap();
        let store = AnyStore::open(folder.path(), None).await.unwrap();
        let operator = ward_store::Actor::operator("test");
        let org = store.create_org(&operator, "Reader").await.unwrap().id;
        let bank = store
            .create_bank(
                &operator,
                &ward_store::NewBank {
                    name: "READS".into(),
                    org,
                    kind: ward_store::BankKind::Standard,
                    distance: 31,
                    enabled: true,
                    sharing: ward_store::Sharing::Private,
                    shared_with: Vec::new(),
                    dispute_limit: None,
                    description: String::new(),
                },
            )
            .await
            .unwrap()
            .id;
        let items: Vec<ward_store::NewContent> = (0..200)
            .map(|n: u64| ward_store::NewContent {
                signals: vec![ward_store::Signal {
                    kind: ward_store::SignalKind::Md5,
                    value: format!("{n:032x}"),
                }],
                source: "test".into(),
                ..ward_store::NewContent::default()
            })
            .collect();
        let ids = store.add_content(&operator, bank, &items).await.unwrap();
        let reads = BatchedReads::start(store.clone());
        let asks: Vec<_> = (0..50)
            .map(|n| {
                let reads = reads.clone();
                let mut asked = vec![
                    ids[n],
                    ids[n * 3],
                    ids[199 - n],
                    ContentId(1_000_000 + n as i64),
                ];
                asked.sort_unstable();
                asked.dedup();
                tokio::spawn(async move {
                    let found = reads.read(asked.clone()).await.unwrap();
                    (asked, found)
                })
            })
            .collect();
        for ask in asks {
            let (asked, found) = ask.await.unwrap();
            let mut found: Vec<ContentId> = found.iter().map(|m| m.id).collect();
            found.sort_unstable();
            // All but the unknown id, which is last.
            assert_eq!(found, asked[..asked.len() - 1]);
        }
        store.close().await;
        let failed = reads.read(vec![ids[0]]).await;
        assert!(matches!(failed, Err(StoreError::Database(_))), "{failed:?}");
    }
}
