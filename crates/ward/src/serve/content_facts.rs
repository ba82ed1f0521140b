//! What every node holds of every content item so that a first-time match answer reads no
//! store: the item's series with its series' flags, and its summary group (items that show
//! the same in an answer, their ids aside: on SQLite, a block of content added in bulk).
//!
//! Both are derived from the store and follow it. Groups come with the index feed
//! ([`super::bank_index::BankIndex`] sets them as it applies each change). Series are read
//! once with [`Store::series_memberships`] after the log's last position, then kept by
//! following [`Store::series_log`] from there; when the log no longer reaches back that far
//! (a node that could not follow for ten minutes or more), they are read again. Until they
//! are read, answers take series from the summary cache and the store, as before.
//!
//! Items are held by content id in pages of [`PAGE`] slots, 8 bytes an item: content ids
//! are given out in order, so pages are full, and a sparse store costs a page per id at
//! worst. Series ids and group ids are held as 32-bit numbers; an id that does not fit
//! (never given out in practice) leaves the item to the store.

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ward_store::{ContentId, SeriesBadge, SeriesId, SeriesLogEntry, Store, StoreError};

use super::bank_index::IdMap;

/// Items in a page.
pub const PAGE: usize = 1024;
/// Memberships read at a time while loading.
const LOAD_PAGE: u32 = 50_000;
/// Log entries read at a time while following.
const LOG_PAGE: u32 = 20_000;

/// One item: its series' id + 1 and its group's id + 1 (0: none).
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    series: u32,
    group: u32,
}

/// The facts of one page of content ids.
type Page = Box<[Slot; PAGE]>;

#[derive(Debug, Default)]
struct Facts {
    pages: IdMap<i64, Page>,
    /// Flags of series that have any (bits of [`SeriesBadge::flags`]).
    flags: IdMap<u32, u8>,
    /// The series log's position the series reflect.
    log_cursor: i64,
    /// Whether the series are held and current (read, then followed); under the same lock
    /// as the series, so that an answer never sees them half cleared.
    series_held: bool,
}

/// A place for a 64-bit id in 32 bits (id + 1), if it fits.
fn packed(id: i64) -> Option<u32> {
    u32::try_from(id).ok().and_then(|id| id.checked_add(1))
}

impl Facts {
    fn slot(&self, content: ContentId) -> Slot {
        let (page, at) = place(content);
        self.pages.get(&page).map(|p| p[at]).unwrap_or_default()
    }

    fn slot_mut(&mut self, content: ContentId) -> &mut Slot {
        let (page, at) = place(content);
        &mut self
            .pages
            .entry(page)
            .or_insert_with(|| Box::new([Slot::default(); PAGE]))[at]
    }

    /// Sets an item's series (`None`: in none); false when its id does not fit.
    fn set_series(&mut self, content: ContentId, series: Option<SeriesId>) -> bool {
        let packed = match series {
            Some(series) => match packed(series.0) {
                Some(id) => id,
                None => return false,
            },
            None => 0,
        };
        if packed == 0 && !self.pages.contains_key(&place(content).0) {
            return true;
        }
        self.slot_mut(content).series = packed;
        true
    }

    fn set_flags(&mut self, badge: &SeriesBadge) -> bool {
        let Some(id) = packed(badge.id.0) else {
            return false;
        };
        match badge.flags() as u8 {
            0 => drop(self.flags.remove(&id)),
            flags => drop(self.flags.insert(id, flags)),
        }
        true
    }

    fn badge(&self, slot: Slot) -> Option<SeriesBadge> {
        let packed = slot.series.checked_sub(1)?;
        let flags = self.flags.get(&(packed + 1)).copied().unwrap_or(0);
        Some(SeriesBadge::of_flags(
            SeriesId(i64::from(packed)),
            i64::from(flags),
        ))
    }
}

/// The page of a content id and its place in it.
fn place(content: ContentId) -> (i64, usize) {
    (
        content.0.div_euclid(PAGE as i64),
        content.0.rem_euclid(PAGE as i64) as usize,
    )
}

/// The facts of one matched item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ItemFacts {
    /// Its summary group, if it is in one.
    pub group: Option<u32>,
    /// Its series, when series are held (`None` inside: in none); `None`: ask elsewhere.
    pub series: Option<Option<SeriesBadge>>,
}

/// Every item's series and summary group.
#[derive(Debug, Default)]
pub struct ContentFacts {
    facts: RwLock<Facts>,
    /// Set when an id did not fit: series are then left to the store.
    series_refused: AtomicBool,
    loads: AtomicU64,
    /// One load or follow of the series at a time.
    turn: tokio::sync::Mutex<()>,
}

/// What the facts hold, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FactsStats {
    pub bytes: usize,
    pub series_held: bool,
    pub series_loads: u64,
    pub log_cursor: i64,
}

impl ContentFacts {
    /// The facts of `ids`, under one lock.
    pub fn of(&self, ids: &[ContentId]) -> Vec<ItemFacts> {
        let facts = self.facts.read().expect("lock");
        let held = facts.series_held;
        ids.iter()
            .map(|id| {
                let slot = facts.slot(*id);
                ItemFacts {
                    group: slot.group.checked_sub(1),
                    series: held.then(|| facts.badge(slot)),
                }
            })
            .collect()
    }

    /// Sets the summary groups of items, as the index feed gives them (`None`: the item has
    /// rows of its own, or the group's id does not fit).
    pub fn set_groups(&self, groups: impl IntoIterator<Item = (ContentId, Option<i64>)>) {
        let mut facts = self.facts.write().expect("lock");
        for (content, group) in groups {
            let group = group.and_then(packed).unwrap_or(0);
            if group == 0 && !facts.pages.contains_key(&place(content).0) {
                continue;
            }
            facts.slot_mut(content).group = group;
        }
    }

    /// Every item's summary group, page by page, for a snapshot of the index: a page's
    /// number and its items' groups (id + 1; 0: none); pages without any are left out.
    pub fn group_pages(&self) -> Vec<(i64, Box<[u32; PAGE]>)> {
        let facts = self.facts.read().expect("lock");
        let mut pages: Vec<(i64, Box<[u32; PAGE]>)> = facts
            .pages
            .iter()
            .filter(|(_, page)| page.iter().any(|slot| slot.group != 0))
            .map(|(&number, page)| (number, Box::new(page.map(|slot| slot.group))))
            .collect();
        pages.sort_unstable_by_key(|(number, _)| *number);
        pages
    }

    /// Sets the groups of whole pages, as [`ContentFacts::group_pages`] gave them (a snapshot
    /// read back); series are left as they are.
    pub fn restore_group_pages(&self, pages: Vec<(i64, Box<[u32; PAGE]>)>) {
        let mut facts = self.facts.write().expect("lock");
        facts.pages.reserve(pages.len());
        for (number, groups) in pages {
            let page = facts
                .pages
                .entry(number)
                .or_insert_with(|| Box::new([Slot::default(); PAGE]));
            for (slot, group) in page.iter_mut().zip(groups.iter()) {
                slot.group = *group;
            }
        }
    }

    /// Whether series are held.
    pub fn series_held(&self) -> bool {
        self.facts.read().expect("lock").series_held
    }

    /// Brings the series up to date: reads them all when they are not held (at start, or
    /// when the log no longer reaches back to where they are), else applies the log since.
    /// Answers take series from elsewhere while they are read.
    /// While another task reads them whole, this returns at once (answers meanwhile take
    /// series from elsewhere); a follow waits for one under way, so that a change made
    /// through this node shows in its next answer.
    pub async fn follow_series(&self, store: &impl Store) -> Result<(), StoreError> {
        if self.series_refused.load(Ordering::Acquire) {
            return Ok(());
        }
        let _turn = if self.series_held() {
            self.turn.lock().await
        } else {
            match self.turn.try_lock() {
                Ok(turn) => turn,
                Err(_) => return Ok(()),
            }
        };
        if !self.series_held() {
            return self.load_series(store).await;
        }
        loop {
            let cursor = self.facts.read().expect("lock").log_cursor;
            let page = store.series_log(cursor, LOG_PAGE).await?;
            if page.pruned > cursor {
                // Entries this node did not apply are gone: read everything again.
                return self.load_series(store).await;
            }
            let Some(last) = page.entries.last().map(|(at, _)| *at) else {
                return Ok(());
            };
            let mut facts = self.facts.write().expect("lock");
            let mut fits = true;
            for (_, entry) in &page.entries {
                fits &= match entry {
                    SeriesLogEntry::Member { content, series } => {
                        facts.set_series(*content, *series)
                    }
                    SeriesLogEntry::Flags(badge) => facts.set_flags(badge),
                };
            }
            facts.log_cursor = last;
            drop(facts);
            if !fits {
                self.refuse();
                return Ok(());
            }
            if page.entries.len() < LOG_PAGE as usize {
                return Ok(());
            }
        }
    }

    /// Reads every item's series: the log's last position first, so that following it from
    /// there applies whatever changed while the pages were read.
    async fn load_series(&self, store: &impl Store) -> Result<(), StoreError> {
        let start = store.series_log(0, 0).await?.last;
        {
            let mut facts = self.facts.write().expect("lock");
            facts.series_held = false;
            for page in facts.pages.values_mut() {
                for slot in page.iter_mut() {
                    slot.series = 0;
                }
            }
            facts.flags.clear();
        }
        let mut after = ContentId(0);
        loop {
            let page = store.series_memberships(after, LOAD_PAGE).await?;
            let Some(last) = page.last().map(|(content, _)| *content) else {
                break;
            };
            let mut facts = self.facts.write().expect("lock");
            for (content, badge) in &page {
                if !facts.set_series(*content, Some(badge.id)) || !facts.set_flags(badge) {
                    drop(facts);
                    self.refuse();
                    return Ok(());
                }
            }
            drop(facts);
            after = last;
            if page.len() < LOAD_PAGE as usize {
                break;
            }
        }
        let mut facts = self.facts.write().expect("lock");
        facts.log_cursor = start;
        facts.series_held = true;
        self.loads.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// An id did not fit: series are left to the store from now on.
    fn refuse(&self) {
        tracing::warn!(
            "a series id does not fit in 32 bits: match answers read series from the store"
        );
        self.series_refused.store(true, Ordering::Release);
        self.facts.write().expect("lock").series_held = false;
    }

    /// What the facts hold, for metrics.
    pub fn stats(&self) -> FactsStats {
        let facts = self.facts.read().expect("lock");
        // The pages, and the tables' slots as allocated (key, value, control byte).
        let pages = facts.pages.len() * std::mem::size_of::<[Slot; PAGE]>();
        let slots = facts.pages.capacity() * (std::mem::size_of::<(i64, Page)>() + 1)
            + facts.flags.capacity() * (std::mem::size_of::<(u32, u8)>() + 1);
        FactsStats {
            bytes: pages + slots,
            series_held: facts.series_held,
            series_loads: self.loads.load(Ordering::Relaxed),
            log_cursor: facts.log_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge(id: i64, flags: i64) -> SeriesBadge {
        SeriesBadge::of_flags(SeriesId(id), flags)
    }

    #[test]
    fn items_hold_their_series_and_groups() {
        let facts = ContentFacts::default();
        facts.set_groups([
            (ContentId(1), Some(7)),
            (ContentId(5000), Some(0)),
            (ContentId(2), None),
            (ContentId(3), Some(i64::from(u32::MAX))),
        ]);
        let mut held = facts.facts.write().unwrap();
        assert!(held.set_series(ContentId(1), Some(SeriesId(4))));
        assert!(held.set_flags(&badge(4, 5)));
        assert!(held.set_series(ContentId(2), Some(SeriesId(0))));
        assert!(!held.set_series(ContentId(9), Some(SeriesId(i64::from(u32::MAX)))));
        assert!(!held.set_series(ContentId(9), Some(SeriesId(-1))));
        drop(held);
        let ids = [1, 2, 3, 5000, 9, 1 << 40].map(ContentId);
        // Series are not offered until they are held.
        assert!(facts.of(&ids).iter().all(|f| f.series.is_none()));
        facts.facts.write().unwrap().series_held = true;
        let found = facts.of(&ids);
        let expected = [
            (Some(7), Some(badge(4, 5))),
            (None, Some(badge(0, 0))),
            (None, None), // a group id that does not fit: no group
            (Some(0), None),
            (None, None),
            (None, None),
        ];
        for ((id, found), (group, series)) in ids.iter().zip(&found).zip(expected) {
            assert_eq!(found.group, group, "{id:?}");
            assert_eq!(found.series, Some(series), "{id:?}");
        }
        // Leaving a series, losing flags, leaving a group.
        let mut held = facts.facts.write().unwrap();
        assert!(held.set_series(ContentId(1), None));
        assert!(held.set_flags(&badge(0, 0)));
        assert!(held.set_flags(&badge(4, 0)));
        assert!(held.flags.is_empty());
        drop(held);
        facts.set_groups([(ContentId(1), None)]);
        assert_eq!(
            facts.of(&[ContentId(1)]),
            [ItemFacts {
                group: None,
                series: Some(None)
            }]
        );
        assert!(facts.stats().bytes >= 2 * PAGE * 8, "two pages");
    }

    #[test]
    fn groups_read_back_from_their_pages() {
        let facts = ContentFacts::default();
        let groups = [(1, Some(7)), (5000, Some(0)), (2, None), (3000, None)];
        facts.set_groups(groups.map(|(id, group)| (ContentId(id), group)));
        let pages = facts.group_pages();
        // The page of 3000 holds no group; the page of 1 and 2 does.
        assert_eq!(pages.iter().map(|p| p.0).collect::<Vec<_>>(), [0, 4]);
        let copy = ContentFacts::default();
        copy.restore_group_pages(pages);
        let ids = [1, 2, 3000, 5000, 4999].map(ContentId);
        assert_eq!(copy.of(&ids), facts.of(&ids));
        assert_eq!(copy.of(&ids)[0].group, Some(7));
    }
}
