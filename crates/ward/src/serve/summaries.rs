//! What a match answer says about the matched content (its categories, provenance and opinion
//! status), kept in the node's memory so that a match of known content costs no store read.
//!
//! A summary is read from the store the first time a content item matches and kept until the
//! item changes. Every change to a content item that a match shows (an assessment, an opinion,
//! enabling, disabling, removing) gives its signals a new place in the store's feed, so the
//! node's follower forgets the summaries of the content its feed pages mention, within a poll
//! on every node; the node that made the change forgets at once, so that its own answers show
//! the change as soon as the write returns.
//!
//! A summary read while the same item changes must not outlive the change: every forget moves
//! a generation on, and a read only keeps what it found when no forget happened since it
//! started. When the cache is full it starts over (a miss costs one store read).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::value::RawValue;
use ward_store::{Content, ContentId, OpinionStatus, Store, StoreError};

use super::bank_index::IdMap;
use super::view::{CategoriesView, ProvenanceView};

/// How many content summaries a node keeps by default: about 300 bytes each with their
/// rendered JSON, some 80 MB when full.
pub const DEFAULT_CAPACITY: usize = 1 << 18;

/// The content details of a match answer.
#[derive(Clone, Debug)]
pub struct ContentSummary {
    pub id: ContentId,
    pub opinion_status: OpinionStatus,
    /// Categories and provenance as answers print them, rendered once: a summary is printed
    /// many times, and escaping its strings each time showed in profiles.
    pub categories: Box<RawValue>,
    pub provenance: Box<RawValue>,
}

impl ContentSummary {
    pub fn of(content: &Content) -> ContentSummary {
        let categories = content.assessment.as_ref().map(CategoriesView::of);
        ContentSummary {
            id: content.id,
            opinion_status: content.opinion_status(),
            categories: raw_json(&categories),
            provenance: raw_json(&ProvenanceView::of(&content.provenance)),
        }
    }
}

/// `value` rendered as JSON once, to be printed as it is.
pub fn raw_json(value: &impl serde::Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("plain structs and strings render as JSON")
}

/// The node's content summaries.
#[derive(Debug)]
pub struct ContentSummaries {
    capacity: usize,
    /// Read by every match answer at once, written on a miss or a forget.
    cache: RwLock<Cache>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Default)]
struct Cache {
    entries: IdMap<ContentId, Arc<ContentSummary>>,
    /// Moves on with every forget.
    generation: u64,
}

impl Default for ContentSummaries {
    fn default() -> ContentSummaries {
        ContentSummaries::with_capacity(DEFAULT_CAPACITY)
    }
}

impl ContentSummaries {
    pub fn with_capacity(capacity: usize) -> ContentSummaries {
        ContentSummaries {
            capacity: capacity.max(1),
            cache: RwLock::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The summaries of `ids` (sorted, without repeats), from memory or else in one store
    /// read. An id the store does not have (removed meanwhile) is left out.
    pub async fn get(
        &self,
        store: &impl Store,
        ids: &[ContentId],
    ) -> Result<IdMap<ContentId, Arc<ContentSummary>>, StoreError> {
        let (mut found, missing, generation) = self.lookup(ids);
        if !missing.is_empty() {
            let read: Vec<Arc<ContentSummary>> = store
                .contents(&missing)
                .await?
                .iter()
                .map(|c| Arc::new(ContentSummary::of(c)))
                .collect();
            self.keep(&read, generation);
            found.extend(read.into_iter().map(|s| (s.id, s)));
        }
        Ok(found)
    }

    /// The summaries held of `ids`, the ids missing, and the generation to read them under.
    fn lookup(
        &self,
        ids: &[ContentId],
    ) -> (IdMap<ContentId, Arc<ContentSummary>>, Vec<ContentId>, u64) {
        let mut found = IdMap::with_capacity_and_hasher(ids.len(), Default::default());
        let mut missing = Vec::new();
        let cache = self.cache.read().expect("lock");
        for id in ids {
            match cache.entries.get(id) {
                Some(summary) => drop(found.insert(*id, Arc::clone(summary))),
                None => missing.push(*id),
            }
        }
        let generation = cache.generation;
        drop(cache);
        self.hits
            .fetch_add((ids.len() - missing.len()) as u64, Ordering::Relaxed);
        self.misses
            .fetch_add(missing.len() as u64, Ordering::Relaxed);
        (found, missing, generation)
    }

    /// Keeps summaries read under `generation`, unless something was forgotten since.
    fn keep(&self, read: &[Arc<ContentSummary>], generation: u64) {
        let mut cache = self.cache.write().expect("lock");
        if cache.generation != generation {
            return;
        }
        for summary in read {
            if cache.entries.len() >= self.capacity {
                cache.entries.clear();
            }
            cache.entries.insert(summary.id, Arc::clone(summary));
        }
    }

    /// Forgets the summaries of content items that changed.
    pub fn forget(&self, ids: impl IntoIterator<Item = ContentId>) {
        let mut cache = self.cache.write().expect("lock");
        cache.generation += 1;
        for id in ids {
            cache.entries.remove(&id);
        }
    }

    /// (summaries held, answered from memory, read from the store), for metrics.
    pub fn stats(&self) -> (usize, u64, u64) {
        let held = self.cache.read().expect("lock").entries.len();
        let (hits, misses) = (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        );
        (held, hits, misses)
    }
}

#[cfg(test)]
mod tests {
    use ward_store::{OpinionStatus, Provenance, Timestamp};

    use super::*;

    fn summary(id: i64) -> Arc<ContentSummary> {
        let content = Content {
            id: ContentId(id),
            bank: ward_store::BankId(1),
            enabled: true,
            assessment: None,
            signals: Vec::new(),
            provenance: Provenance {
                added_by: "test".into(),
                added_by_key: None,
                added_by_org: None,
                source: "api".into(),
                added_at: Timestamp(0),
            },
            opinions: Vec::new(),
            external_id: None,
            label: None,
            attributes: Vec::new(),
        };
        Arc::new(ContentSummary::of(&content))
    }

    #[test]
    fn reads_are_kept_until_forgotten() {
        let summaries = ContentSummaries::with_capacity(10);
        let (found, missing, generation) = summaries.lookup(&[ContentId(1), ContentId(2)]);
        assert!(found.is_empty());
        assert_eq!(missing, [ContentId(1), ContentId(2)]);
        summaries.keep(&[summary(1), summary(2)], generation);
        let (found, missing, _) = summaries.lookup(&[ContentId(1), ContentId(2)]);
        assert_eq!((found.len(), missing.len()), (2, 0));
        assert_eq!(
            found[&ContentId(2)].opinion_status,
            OpinionStatus::Unreviewed
        );
        summaries.forget([ContentId(1)]);
        let (found, missing, _) = summaries.lookup(&[ContentId(1), ContentId(2)]);
        assert_eq!((found.len(), missing), (1, vec![ContentId(1)]));
        assert_eq!(summaries.stats(), (1, 3, 3));
    }

    /// A read that overlaps a change is not kept: it may show the state before the change.
    #[test]
    fn a_read_overlapping_a_forget_is_not_kept() {
        let summaries = ContentSummaries::with_capacity(10);
        let (_, _, generation) = summaries.lookup(&[ContentId(1)]);
        // The change lands, and is forgotten, while the store is being read.
        summaries.forget([ContentId(1)]);
        summaries.keep(&[summary(1)], generation);
        assert_eq!(summaries.stats().0, 0);
        let (_, _, generation) = summaries.lookup(&[ContentId(1)]);
        summaries.keep(&[summary(1)], generation);
        assert_eq!(summaries.stats().0, 1);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let summaries = ContentSummaries::with_capacity(3);
        let (_, _, generation) = summaries.lookup(&[]);
        summaries.keep(&(1..=3).map(summary).collect::<Vec<_>>(), generation);
        assert_eq!(summaries.stats().0, 3);
        summaries.keep(&[summary(4)], generation);
        assert_eq!(summaries.stats().0, 1);
        assert_eq!(summaries.lookup(&[ContentId(4)]).0.len(), 1);
    }
}
