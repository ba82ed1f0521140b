//! The server's match index: every active signal in the store, derived from the store's index
//! feed and kept current by following it, so that a signal added or disabled through any
//! node is matched (or no longer matched) by every node within a poll.
//!
//! It also holds the summaries of matched content that answers show ([`ContentSummaries`]),
//! which the follower forgets when the feed says their content changed, and every item's
//! series and summary group ([`super::content_facts::ContentFacts`]), which it keeps.
//!
//! A node may keep the index in a file between runs ([`SnapshotPlace`], `snapshot.rs`): a
//! restart then reads it and applies the feed after its position, instead of reading the whole
//! feed. The file is a cache: one that is damaged, of another deployment or ahead of the store
//! is refused (and logged), and the index is loaded from the feed as if there were none.
//!
//! Ids in the ward-core indexes are the store's signal ids; `located` says which content
//! item and bank each belongs to. Bank settings (enabled, distance, kind, sharing) are not in
//! the index: they are applied when a match is reported, from the bank table refreshed on
//! every poll.

mod snapshot;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::Context as _;

use ward_core::index::PdqIndex;
use ward_core::index::digests::{Md5Set, Sha1Set, Sha256Set};
use ward_core::lists::{Signal, SignalType};
use ward_core::pdq::Quality;
use ward_core::video::{CompareOptions, VideoIndex, Vpdq};
use ward_store::{Bank, BankId, ContentId, Seq, SignalChange, SignalId, SignalKind, Store};

use super::summaries::ContentSummaries;

/// Hashes integer ids (signal and content ids) for the node's large maps with one multiply
/// (Fibonacci hashing): ids come from the store, not from clients, so they need no defence
/// against chosen collisions, and SipHash's cost showed in match answers' profiles.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_i64(&mut self, id: i64) {
        self.0 = (self.0 ^ id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by ids, hashed with [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// The signal types in the order of [`BankIndex::counts`] and [`BankIndex::bank_sizes`].
pub const SIGNAL_TYPES: [SignalType; 5] = [
    SignalType::Pdq,
    SignalType::Md5,
    SignalType::Sha1,
    SignalType::Sha256,
    SignalType::Vpdq,
];

/// A signal's place in [`SIGNAL_TYPES`].
fn type_slot(signal: &Signal) -> usize {
    match signal {
        Signal::Pdq(_) => 0,
        Signal::Md5(_) => 1,
        Signal::Sha1(_) => 2,
        Signal::Sha256(_) => 3,
        Signal::Vpdq(_) => 4,
    }
}

/// A snapshot is refused when the store's feed moved more than this many places since it
/// (or a tenth of the signals it holds, if that is more): reading the feed whole and building
/// the index is quicker then.
const STALE_CHANGES: i64 = 500_000;

/// How many feed entries one poll reads at a time.
const FEED_PAGE: u32 = 20_000;

/// Where a signal lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    pub content: ContentId,
    pub bank: BankId,
}

/// A stored signal that a query signal matched, before bank rules are applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndexHit {
    pub signal: SignalId,
    pub located: Located,
    pub signal_type: SignalType,
    /// Hamming distance for PDQ, 0 for digests; `None` for vPDQ.
    pub distance: Option<u32>,
    /// For vPDQ: the query's and the stored video's shares (percent).
    pub shares: Option<(f64, f64)>,
}

/// vPDQ entries and the index over their frames, rebuilt when they change (videos are few
/// beside images, and a video index answers with per-video shares).
#[derive(Debug, Default)]
struct Videos {
    entries: HashMap<i64, Vpdq>,
    index: Option<VideoIndex>,
}

/// Where a node keeps its index between runs, and whose store the index is of.
#[derive(Clone, Debug)]
pub struct SnapshotPlace {
    pub path: PathBuf,
    /// The deployment the store is of (its instance's public key): a snapshot of another's
    /// is refused.
    pub deployment: String,
}

/// A snapshot written.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotWritten {
    pub cursor: Seq,
    pub bytes: u64,
    /// How long following the feed waited while the index was written to the file.
    pub held: std::time::Duration,
    /// The whole write, sync and rename included.
    pub took: std::time::Duration,
}

/// Every active signal of the store, by type.
#[derive(Debug, Default)]
pub struct BankIndex {
    pdq: PdqIndex,
    md5: Md5Set,
    sha1: Sha1Set,
    sha256: Sha256Set,
    videos: RwLock<Videos>,
    located: RwLock<IdMap<i64, Located>>,
    /// Active signals by bank, by type (in [`SIGNAL_TYPES`]'s order).
    sizes: std::sync::Mutex<HashMap<BankId, [usize; 5]>>,
    banks: RwLock<HashMap<BankId, Arc<Bank>>>,
    summaries: ContentSummaries,
    /// The largest match distance of any bank: how far PDQ searches go.
    max_distance: AtomicU32,
    cursor: AtomicI64,
    /// The signal of the feed entry at `cursor` (0: none), which a snapshot records so that a
    /// store whose feed has another signal there is recognised as another history.
    cursor_signal: AtomicI64,
    /// The feed position of the snapshot on disk (written or read by this node; -1: none), so
    /// that an index that has not moved is not written again.
    snapshot_cursor: AtomicI64,
    /// Whether this run of the index started from a snapshot.
    from_snapshot: AtomicBool,
    /// One snapshot write at a time (a periodic one and the one at shutdown share the
    /// temporary file's name).
    writing: std::sync::Mutex<()>,
    /// When the index last read the feed to its end (ms since the epoch; 0: never).
    caught_up_at: AtomicI64,
    ready: AtomicBool,
    applied: AtomicU64,
    /// One `follow` at a time: two passes over the same page could apply an older change
    /// after a newer one.
    following: tokio::sync::Mutex<()>,
}

impl BankIndex {
    /// Builds the index from everything in the store (each index built in one go, which is
    /// much faster than inserting millions of entries one by one).
    pub async fn load(
        store: &impl Store,
        summary_budget: usize,
    ) -> Result<BankIndex, ward_store::StoreError> {
        let (mut pdq, mut md5, mut sha1, mut sha256) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut videos = HashMap::new();
        let mut located = IdMap::default();
        let mut sizes: HashMap<BankId, [usize; 5]> = HashMap::new();
        let summaries = ContentSummaries::new(summary_budget);
        let (mut cursor, mut cursor_signal) = (Seq(0), 0);
        loop {
            let page = store.signal_changes(cursor, FEED_PAGE).await?;
            let Some(last) = page.last() else { break };
            cursor = last.seq;
            cursor_signal = last.signal.0;
            summaries
                .facts()
                .set_groups(page.iter().map(|c| (c.content, c.summary_group)));
            for change in page {
                let Some(signal) = parse(&change) else {
                    continue;
                };
                if !change.active {
                    continue;
                }
                let id = change.signal.0 as u64;
                sizes.entry(change.bank).or_default()[type_slot(&signal)] += 1;
                match signal {
                    Signal::Pdq(hash) => pdq.push((hash, id)),
                    Signal::Md5(d) => md5.push((d, id)),
                    Signal::Sha1(d) => sha1.push((d, id)),
                    Signal::Sha256(d) => sha256.push((d, id)),
                    Signal::Vpdq(v) => {
                        videos.insert(change.signal.0, v);
                    }
                }
                located.insert(change.signal.0, located_of(&change));
            }
        }
        let index = BankIndex {
            pdq: PdqIndex::build(pdq),
            md5: Md5Set::build(md5),
            sha1: Sha1Set::build(sha1),
            sha256: Sha256Set::build(sha256),
            videos: RwLock::new(Videos {
                index: None,
                entries: videos,
            }),
            located: RwLock::new(located),
            sizes: std::sync::Mutex::new(sizes),
            banks: RwLock::default(),
            summaries,
            max_distance: AtomicU32::new(0),
            cursor: AtomicI64::new(cursor.0),
            cursor_signal: AtomicI64::new(cursor_signal),
            snapshot_cursor: AtomicI64::new(-1),
            from_snapshot: AtomicBool::new(false),
            writing: std::sync::Mutex::default(),
            caught_up_at: AtomicI64::new(ward_store::Timestamp::now().0),
            ready: AtomicBool::new(false),
            applied: AtomicU64::new(0),
            following: tokio::sync::Mutex::new(()),
        };
        index.rebuild_videos();
        index.refresh_banks(store).await?;
        index.summaries.series_epoch(store.series_epoch().await?);
        index.ready.store(true, Ordering::Release);
        Ok(index)
    }

    /// Starts the index from the snapshot at `place` when there is one that fits the store,
    /// applying the feed after its position; else (none, or refused: the reason is logged)
    /// loads it from the whole feed as [`BankIndex::load`] does. Either way the index holds
    /// the same.
    pub async fn open(
        store: &impl Store,
        summary_budget: usize,
        place: Option<&SnapshotPlace>,
    ) -> Result<BankIndex, ward_store::StoreError> {
        if let Some(place) = place {
            let path = place.path.display();
            match Self::start_from_snapshot(store, summary_budget, place).await? {
                Ok(index) => return Ok(index),
                Err(snapshot::Refusal::Missing) => {
                    tracing::info!(%path, "no index snapshot yet: loading the index from the store's feed");
                }
                Err(refusal) => tracing::warn!(
                    %path,
                    reason = %refusal,
                    "index snapshot refused: loading the index from the store's feed"
                ),
            }
        }
        Self::load(store, summary_budget).await
    }

    /// The index from the snapshot at `place` and the feed after it; the snapshot's refusal
    /// when it does not fit the store.
    async fn start_from_snapshot(
        store: &impl Store,
        summary_budget: usize,
        place: &SnapshotPlace,
    ) -> Result<Result<BankIndex, snapshot::Refusal>, ward_store::StoreError> {
        let path = place.path.clone();
        let opened = match tokio::task::spawn_blocking(move || snapshot::open(&path)).await {
            Ok(Ok(opened)) => opened,
            Ok(Err(refusal)) => return Ok(Err(refusal)),
            Err(_) => {
                return Ok(Err(snapshot::Refusal::Damaged(
                    "reading it panicked".into(),
                )));
            }
        };
        let head = &opened.head;
        if head.deployment != place.deployment {
            return Ok(Err(snapshot::Refusal::Deployment {
                found: head.deployment.clone(),
                store: place.deployment.clone(),
            }));
        }
        let last = store.last_seq().await?;
        if last < head.cursor {
            return Ok(Err(snapshot::Refusal::Behind {
                snapshot: head.cursor.0,
                store: last.0,
            }));
        }
        // Applying changes one by one costs more than building the index at once: past
        // some number, a full load is quicker (`last - cursor` bounds the changes since).
        let changes = last.0 - head.cursor.0;
        if changes > STALE_CHANGES.max(head.signals / 10) {
            return Ok(Err(snapshot::Refusal::Stale { changes }));
        }
        // The feed entry at the snapshot's position is the same signal's, unless that signal
        // changed since (then its entry moved on, and there is nothing to compare).
        if head.cursor.0 > 0 {
            let at = store.signal_changes(Seq(head.cursor.0 - 1), 1).await?;
            if let Some(entry) = at.first()
                && entry.seq == head.cursor
                && entry.signal.0 != head.cursor_signal
            {
                return Ok(Err(snapshot::Refusal::Diverged(head.cursor.0)));
            }
        }
        let (cursor, cursor_signal) = (head.cursor, head.cursor_signal);
        let parts = match tokio::task::spawn_blocking(move || snapshot::read_body(&opened)).await {
            Ok(Ok(parts)) => parts,
            Ok(Err(refusal)) => return Ok(Err(refusal)),
            Err(_) => {
                return Ok(Err(snapshot::Refusal::Damaged(
                    "reading it panicked".into(),
                )));
            }
        };
        let summaries = ContentSummaries::new(summary_budget);
        summaries.facts().restore_group_pages(parts.groups);
        let index = BankIndex {
            pdq: parts.pdq,
            md5: parts.md5,
            sha1: parts.sha1,
            sha256: parts.sha256,
            videos: RwLock::new(Videos {
                index: None,
                entries: parts.videos,
            }),
            located: RwLock::new(parts.located),
            sizes: std::sync::Mutex::new(parts.sizes),
            banks: RwLock::default(),
            summaries,
            max_distance: AtomicU32::new(0),
            cursor: AtomicI64::new(cursor.0),
            cursor_signal: AtomicI64::new(cursor_signal),
            snapshot_cursor: AtomicI64::new(cursor.0),
            from_snapshot: AtomicBool::new(true),
            writing: std::sync::Mutex::default(),
            caught_up_at: AtomicI64::new(0),
            ready: AtomicBool::new(false),
            applied: AtomicU64::new(0),
            following: tokio::sync::Mutex::new(()),
        };
        index.rebuild_videos();
        // What changed since the snapshot; banks and the series epoch as a load reads them.
        let applied = index.follow_feed(store).await?;
        index.ready.store(true, Ordering::Release);
        tracing::info!(
            from = cursor.0,
            to = index.cursor().0,
            applied,
            "match index started from its snapshot"
        );
        Ok(Ok(index))
    }

    /// Writes the index to its snapshot file at `place`, atomically (a temporary file beside
    /// it, synced, renamed over it, the directory synced), unless the snapshot there is of
    /// the same feed position already. Blocking: run it on a blocking thread. Following the
    /// feed waits while the index is written to the file (matching does not); the sync comes
    /// after.
    pub fn write_snapshot(&self, place: &SnapshotPlace) -> anyhow::Result<Option<SnapshotWritten>> {
        let _writing = self.writing.lock().expect("lock");
        let started = std::time::Instant::now();
        let directory = match place.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&directory)
            .with_context(|| format!("making the directory {}", directory.display()))?;
        let mut name = place.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}.tmp", std::process::id()));
        let temporary = directory.join(name);
        snapshot::remove_leftovers(&place.path, &temporary);
        let turn = self.following.blocking_lock();
        let locked = std::time::Instant::now();
        let cursor = self.cursor.load(Ordering::Acquire);
        if cursor == self.snapshot_cursor.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut file = std::fs::File::create(&temporary)
            .with_context(|| format!("creating {}", temporary.display()))?;
        let written = snapshot::write(
            self,
            &place.deployment,
            ward_store::Timestamp::now().0,
            &mut file,
        );
        drop(turn);
        let held = locked.elapsed();
        let bytes = match written {
            Ok(bytes) => bytes,
            Err(error) => {
                let _ = std::fs::remove_file(&temporary);
                return Err(error).with_context(|| format!("writing {}", temporary.display()));
            }
        };
        let synced = file
            .sync_all()
            .and_then(|()| std::fs::rename(&temporary, &place.path))
            .and_then(|()| std::fs::File::open(&directory)?.sync_all());
        if let Err(error) = synced {
            let _ = std::fs::remove_file(&temporary);
            return Err(error).with_context(|| format!("saving {}", place.path.display()));
        }
        self.snapshot_cursor.store(cursor, Ordering::Release);
        Ok(Some(SnapshotWritten {
            cursor: Seq(cursor),
            bytes,
            held,
            took: started.elapsed(),
        }))
    }

    /// Whether this run of the index started from a snapshot.
    pub fn started_from_snapshot(&self) -> bool {
        self.from_snapshot.load(Ordering::Acquire)
    }

    /// Applies what the store's feed has after the cursor, and refreshes the banks. Returns
    /// how many changes were applied.
    pub async fn follow(&self, store: &impl Store) -> Result<usize, ward_store::StoreError> {
        let applied = self.follow_feed(store).await?;
        // Series after the feed, outside its turn: at start (and after a long pause) they
        // are read whole, which at millions of items takes seconds, and a write's wait for
        // the feed should not wait for that (answers meanwhile read series).
        self.summaries.facts().follow_series(store).await?;
        Ok(applied)
    }

    async fn follow_feed(&self, store: &impl Store) -> Result<usize, ward_store::StoreError> {
        let _turn = self.following.lock().await;
        let mut applied = 0;
        loop {
            let cursor = Seq(self.cursor.load(Ordering::Acquire));
            let page = store.signal_changes(cursor, FEED_PAGE).await?;
            let Some((last, last_signal)) = page.last().map(|c| (c.seq, c.signal.0)) else {
                break;
            };
            // Every content item the page mentions may have changed in a way a match shows
            // (new content has no summary to forget, and a read overlapping this page is
            // not kept: see `ContentSummaries`).
            self.summaries.forget(page.iter().map(|c| c.content));
            self.summaries
                .facts()
                .set_groups(page.iter().map(|c| (c.content, c.summary_group)));
            let mut videos_changed = false;
            for change in &page {
                videos_changed |= self.apply(change);
            }
            if videos_changed {
                self.rebuild_videos();
            }
            applied += page.len();
            self.cursor_signal.store(last_signal, Ordering::Release);
            self.cursor.store(last.0, Ordering::Release);
            if page.len() < FEED_PAGE as usize {
                break;
            }
        }
        self.refresh_banks(store).await?;
        self.summaries.series_epoch(store.series_epoch().await?);
        self.applied.fetch_add(applied as u64, Ordering::Relaxed);
        self.caught_up_at
            .store(ward_store::Timestamp::now().0, Ordering::Release);
        Ok(applied)
    }

    /// Applies one change; true when it changed the vPDQ entries.
    fn apply(&self, change: &SignalChange) -> bool {
        let Some(signal) = parse(change) else {
            return false;
        };
        let id = change.signal.0;
        let present = self.located.read().expect("lock").contains_key(&id);
        if change.active == present {
            return false;
        }
        let key = id as u64;
        let is_video = matches!(signal, Signal::Vpdq(_));
        {
            let mut sizes = self.sizes.lock().expect("lock");
            let count = &mut sizes.entry(change.bank).or_default()[type_slot(&signal)];
            *count = if change.active {
                *count + 1
            } else {
                count.saturating_sub(1)
            };
        }
        if change.active {
            match signal {
                Signal::Pdq(hash) => self.pdq.insert(hash, key),
                Signal::Md5(d) => drop(self.md5.insert(d, key)),
                Signal::Sha1(d) => drop(self.sha1.insert(d, key)),
                Signal::Sha256(d) => drop(self.sha256.insert(d, key)),
                Signal::Vpdq(v) => {
                    self.videos.write().expect("lock").entries.insert(id, v);
                }
            }
            self.located
                .write()
                .expect("lock")
                .insert(id, located_of(change));
        } else {
            match signal {
                Signal::Pdq(hash) => drop(self.pdq.remove(&hash, key)),
                Signal::Md5(d) => drop(self.md5.remove(&d, key)),
                Signal::Sha1(d) => drop(self.sha1.remove(&d, key)),
                Signal::Sha256(d) => drop(self.sha256.remove(&d, key)),
                Signal::Vpdq(_) => {
                    self.videos.write().expect("lock").entries.remove(&id);
                }
            }
            self.located.write().expect("lock").remove(&id);
        }
        is_video
    }

    fn rebuild_videos(&self) {
        let mut videos = self.videos.write().expect("lock");
        let entries: Vec<(u64, Vpdq)> = videos
            .entries
            .iter()
            .map(|(id, v)| (*id as u64, v.clone()))
            .collect();
        videos.index =
            (!entries.is_empty()).then(|| VideoIndex::build(entries, Quality::MATCHABLE));
    }

    async fn refresh_banks(&self, store: &impl Store) -> Result<(), ward_store::StoreError> {
        let banks = store.banks().await?;
        let max_distance = banks.iter().map(|b| b.distance).max().unwrap_or(0);
        *self.banks.write().expect("lock") =
            banks.into_iter().map(|b| (b.id, Arc::new(b))).collect();
        self.max_distance
            .store(max_distance.min(256), Ordering::Release);
        Ok(())
    }

    /// Whether the index has been loaded.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// When the index last read the store's feed to its end.
    pub fn caught_up_at(&self) -> ward_store::Timestamp {
        ward_store::Timestamp(self.caught_up_at.load(Ordering::Acquire))
    }

    /// The last feed position applied.
    pub fn cursor(&self) -> Seq {
        Seq(self.cursor.load(Ordering::Acquire))
    }

    /// Counts of indexed signals by type, for metrics and status.
    pub fn counts(&self) -> [(SignalType, usize); 5] {
        [
            (SignalType::Pdq, self.pdq.len()),
            (SignalType::Md5, self.md5.len()),
            (SignalType::Sha1, self.sha1.len()),
            (SignalType::Sha256, self.sha256.len()),
            (
                SignalType::Vpdq,
                self.videos.read().expect("lock").entries.len(),
            ),
        ]
    }

    /// Active signals of each bank, by type in [`SIGNAL_TYPES`]'s order (a bank without any
    /// is left out).
    pub fn bank_sizes(&self) -> HashMap<BankId, [usize; 5]> {
        let mut sizes = self.sizes.lock().expect("lock").clone();
        sizes.retain(|_, counts| counts.iter().any(|&n| n > 0));
        sizes
    }

    /// A bank as last refreshed.
    pub fn bank(&self, id: BankId) -> Option<Arc<Bank>> {
        self.banks.read().expect("lock").get(&id).cloned()
    }

    /// Summaries of matched content.
    pub fn summaries(&self) -> &ContentSummaries {
        &self.summaries
    }

    /// The largest distance any bank matches at.
    pub fn max_distance(&self) -> u32 {
        self.max_distance.load(Ordering::Acquire)
    }

    /// The stored signals that `signal` matches: PDQ within `distance` (the largest any bank
    /// allows; banks narrow it), digests exactly, vPDQ by the shares of `video`.
    pub fn search(&self, signal: &Signal, distance: u32, video: &CompareOptions) -> Vec<IndexHit> {
        let mut hits = Vec::new();
        let located_map = self.located.read().expect("lock");
        let located = |id: u64| located_map.get(&(id as i64)).copied();
        let mut push = |id: u64, signal_type, distance, shares| {
            if let Some(located) = located(id) {
                hits.push(IndexHit {
                    signal: SignalId(id as i64),
                    located,
                    signal_type,
                    distance,
                    shares,
                });
            }
        };
        let mut ids = Vec::new();
        match signal {
            Signal::Pdq(hash) => {
                let mut found = Vec::new();
                self.pdq.search_radius(hash, distance, &mut found);
                found.sort_by_key(|m| (m.distance, m.id));
                for m in found {
                    push(m.id, SignalType::Pdq, Some(m.distance), None);
                }
            }
            Signal::Md5(d) => {
                self.md5.lookup(d, &mut ids);
                ids.iter()
                    .for_each(|&id| push(id, SignalType::Md5, Some(0), None));
            }
            Signal::Sha1(d) => {
                self.sha1.lookup(d, &mut ids);
                ids.iter()
                    .for_each(|&id| push(id, SignalType::Sha1, Some(0), None));
            }
            Signal::Sha256(d) => {
                self.sha256.lookup(d, &mut ids);
                ids.iter()
                    .for_each(|&id| push(id, SignalType::Sha256, Some(0), None));
            }
            Signal::Vpdq(vpdq) => {
                let videos = self.videos.read().expect("lock");
                if let Some(index) = &videos.index {
                    for hit in index.search(vpdq, video) {
                        let shares = (hit.shares.query_share, hit.shares.compared_share);
                        push(hit.id, SignalType::Vpdq, None, Some(shares));
                    }
                }
            }
        }
        hits
    }
}

/// The feed entry's signal, parsed; `None` for PhotoDNA (stored, never matched) and for a
/// value that no longer parses (logged: it was validated when stored).
fn parse(change: &SignalChange) -> Option<Signal> {
    let signal_type = match change.kind {
        SignalKind::Pdq => SignalType::Pdq,
        SignalKind::Md5 => SignalType::Md5,
        SignalKind::Sha1 => SignalType::Sha1,
        SignalKind::Sha256 => SignalType::Sha256,
        SignalKind::Vpdq => SignalType::Vpdq,
        SignalKind::Photodna => return None,
    };
    match Signal::parse(signal_type, &change.value) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(signal = change.signal.0, %error, "stored signal does not parse");
            None
        }
    }
}

fn located_of(change: &SignalChange) -> Located {
    Located {
        content: change.content,
        bank: change.bank,
    }
}
