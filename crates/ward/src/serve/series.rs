//! The series keeper: one node of a deployment at a time groups the banks' near-duplicate
//! content into series with ward-core's [`SeriesIndex`], following the store's index feed,
//! applies curators' merges and splits, and saves what changed (see `ward_store::series`).
//!
//! The keeper holds a lease in the store, renewed at every step; a node that cannot take it
//! does nothing here, and takes over when the holder stops renewing. A save names the
//! version of the keeper's row it started from, so a node that lost the lease cannot
//! overwrite the new holder's work: it drops its engine and reloads when it holds the lease
//! again.
//!
//! What is an item: content of a standard bank (negative banks hold known false positives,
//! which are no series) that is enabled and not removed, with a PDQ or vPDQ signal (its
//! first such signal, by id); content with only cryptographic digests has nothing to be
//! near. Loading rebuilds the engine from the saved state and the items' signatures (the
//! whole feed, read once), then applies what changed since the saved cursor.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use super::background;
use ward_core::lists::{Signal, SignalType};
use ward_core::series::{self, SeriesIndex, SeriesOptions, Signature};
use ward_store::{
    BankId, BankKind, ContentId, DecisionId, Seq, SeriesDecision, SeriesId, SeriesKeeping,
    SeriesRequest, SeriesSave, SeriesUpkeep, SignalChange, SignalKind, Store, StoreError,
    Timestamp,
};

/// How long a keeper's lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(30);

/// Feed entries read per page.
const FEED_PAGE: u32 = 10_000;

/// Changes applied before a save (a save is one transaction).
const STEP_CHANGES: usize = 50_000;

/// The most members one transaction of a save writes. SQLite has one writer: the first save
/// after a bulk import (every item joins a series: ten million rows) would otherwise hold it
/// for many minutes, and reports, decisions and imports would wait for it or time out.
const SAVE_MEMBERS: usize = 20_000;

/// Decisions applied per step.
const STEP_DECISIONS: u32 = 100;

/// How series are kept.
#[derive(Clone, Copy, Debug)]
pub struct SeriesConfig {
    pub options: SeriesOptions,
    /// How often the keeper steps; `None`: this node never keeps series.
    pub interval: Option<Duration>,
}

impl Default for SeriesConfig {
    fn default() -> SeriesConfig {
        SeriesConfig {
            options: SeriesOptions::default(),
            interval: Some(Duration::from_secs(1)),
        }
    }
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("series engine: {0}")]
    Engine(#[from] ward_core::Error),
    #[error("the series engine is not loaded")]
    NotLoaded,
}

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Whether this node holds the lease.
    pub keeping: bool,
    /// Whether the engine was (re)loaded from the store.
    pub loaded: bool,
    pub changes: usize,
    pub decisions: usize,
    pub saved: bool,
}

/// One node's keeper.
#[derive(Debug)]
pub struct Keeper {
    holder: String,
    options: SeriesOptions,
    kept: Option<Kept>,
    progress: Arc<Progress>,
    /// The most members one transaction saves ([`SAVE_MEMBERS`]).
    save_members: usize,
}

/// Where this node's keeper stands after its last step, for `/metrics` (read without
/// waiting for a step).
#[derive(Debug, Default)]
pub struct Progress {
    /// Whether this node holds the lease.
    pub keeping: AtomicBool,
    /// The feed position the saved series reflect (0 while not keeping).
    pub cursor: AtomicI64,
    /// Items in the engine, and the memory it takes.
    pub items: AtomicU64,
    pub engine_bytes: AtomicU64,
}

/// The engine and what the store has of it.
#[derive(Debug)]
struct Kept {
    engine: SeriesIndex,
    version: i64,
    cursor: Seq,
    /// Each item's signal (the one that made it an item).
    signals: HashMap<u64, i64>,
    /// Each item's series and label as saved.
    written: HashMap<u64, (u64, u32)>,
    /// Each live series' member count as saved.
    rows: HashMap<u64, u32>,
    links: Vec<(u64, u64)>,
}

/// What changed in the engine since the last save.
#[derive(Debug, Default)]
struct Touched {
    series: HashSet<u64>,
    removed: Vec<u64>,
    /// Series a curator's split made: they do not keep the name and flags of the series
    /// they came from.
    curated: HashSet<u64>,
    decisions: Vec<(DecisionId, Result<Vec<SeriesId>, String>)>,
    changes: usize,
}

impl Keeper {
    /// A keeper named `holder` (unique per node: the lease is held in its name).
    pub fn new(holder: String, options: SeriesOptions) -> Keeper {
        Keeper {
            holder,
            options,
            kept: None,
            progress: Arc::default(),
            save_members: SAVE_MEMBERS,
        }
    }

    /// Saves at most `members` members a transaction (tests use small parts).
    #[cfg(test)]
    pub fn with_save_members(mut self, members: usize) -> Keeper {
        self.save_members = members.max(1);
        self
    }

    /// A keeper with a random name.
    pub fn for_this_node(options: SeriesOptions) -> Keeper {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap_or_default();
        Keeper::new(format!("node-{}", u64::from_le_bytes(bytes)), options)
    }

    /// The name the lease is held in.
    #[cfg(test)]
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The engine, while this node keeps the series.
    #[cfg(test)]
    pub fn engine(&self) -> Option<&SeriesIndex> {
        self.kept.as_ref().map(|k| &k.engine)
    }

    /// Takes or renews the lease, (re)loads when needed, applies the feed and pending
    /// decisions, and saves. After a failure the engine is dropped and the next step
    /// reloads it: what it had applied but not saved would otherwise never be saved (its
    /// changes, read again, find the engine already holding them).
    pub async fn step(&mut self, store: &impl Store) -> Result<StepReport, KeeperError> {
        let result = self.try_step(store).await;
        if result.is_err() {
            self.kept = None;
        }
        let kept = self.kept.as_ref();
        let progress = &self.progress;
        progress.keeping.store(kept.is_some(), Ordering::Relaxed);
        progress
            .cursor
            .store(kept.map_or(0, |k| k.cursor.0), Ordering::Relaxed);
        progress
            .items
            .store(kept.map_or(0, |k| k.engine.len() as u64), Ordering::Relaxed);
        // Measuring the engine walks every item it holds (ten million at 10M): only when
        // this step changed it, not on every idle step.
        let changed = result
            .as_ref()
            .map_or(true, |r| r.loaded || r.changes > 0 || r.decisions > 0);
        if changed || kept.is_none() {
            progress.engine_bytes.store(
                kept.map_or(0, |k| k.engine.memory_bytes() as u64),
                Ordering::Relaxed,
            );
        }
        result
    }

    /// Where this keeper stands, shared with the metrics.
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    async fn try_step(&mut self, store: &impl Store) -> Result<StepReport, KeeperError> {
        let now = Timestamp::now();
        let until = Timestamp(now.0 + LEASE.as_millis() as i64);
        let Some(version) = store.claim_series_keeper(&self.holder, now, until).await? else {
            self.kept = None;
            return Ok(StepReport::default());
        };
        let mut report = StepReport {
            keeping: true,
            ..StepReport::default()
        };
        // After a load, what it found changed since the saved cursor is saved first.
        let mut carried = None;
        if self.kept.as_ref().is_none_or(|k| k.version != version) {
            self.kept = None;
            let (kept, touched, cursor) = self.load(store).await?;
            self.kept = Some(kept);
            carried = Some((touched, cursor));
            report.loaded = true;
        }
        let standard = Arc::new(standard_banks(store).await?);
        loop {
            let (touched, start) = match carried.take() {
                Some(carried) => carried,
                None => (Touched::default(), self.kept()?.cursor),
            };
            let (cursor, touched) = self.follow(store, start, &standard, touched).await?;
            let more = touched.changes >= STEP_CHANGES;
            let decisions = if more {
                Vec::new()
            } else {
                store.pending_series_decisions(STEP_DECISIONS).await?
            };
            let (save, changes, decided) = self
                .on_engine(move |kept| {
                    let mut touched = touched;
                    for decision in &decisions {
                        kept.decide(decision, &mut touched);
                    }
                    let (changes, decided) = (touched.changes, touched.decisions.len());
                    (kept.save_of(cursor, touched), changes, decided)
                })
                .await?;
            report.changes += changes;
            report.decisions += decided;
            let kept = self.kept()?;
            if !save.is_empty() || cursor != kept.cursor {
                // Another node may have kept the series meanwhile (or the store failed): the
                // next step then starts again from what the store has.
                let version =
                    save_in_parts(store, &self.holder, kept, &save, self.save_members).await?;
                self.on_engine(move |kept| kept.saved(&save, version))
                    .await?;
                report.saved = true;
            }
            if !more {
                return Ok(report);
            }
        }
    }

    /// The engine, which a step has loaded.
    fn kept(&self) -> Result<&Kept, KeeperError> {
        self.kept.as_ref().ok_or(KeeperError::NotLoaded)
    }

    /// Runs `work` on the engine on the background thread, at the lowest priority (the
    /// engine moves there and back; if the step is dropped meanwhile, the next one
    /// reloads).
    async fn on_engine<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut Kept) -> T + Send + 'static,
    ) -> Result<T, KeeperError> {
        let mut kept = self.kept.take().ok_or(KeeperError::NotLoaded)?;
        let (kept, out) = background::run(move || {
            let out = work(&mut kept);
            (kept, out)
        })
        .await;
        self.kept = Some(kept);
        Ok(out)
    }

    /// Applies the feed after `start`, up to a step's worth; returns where it got to.
    async fn follow(
        &mut self,
        store: &impl Store,
        start: Seq,
        standard: &Arc<HashSet<BankId>>,
        mut touched: Touched,
    ) -> Result<(Seq, Touched), KeeperError> {
        let mut cursor = start;
        loop {
            let page = store.signal_changes(cursor, FEED_PAGE).await?;
            let Some(last) = page.last() else { break };
            cursor = last.seq;
            let full = page.len() >= FEED_PAGE as usize;
            let standard = Arc::clone(standard);
            let applied;
            (touched, applied) = self
                .on_engine(move |kept| {
                    let applied = page
                        .iter()
                        .try_for_each(|change| kept.apply(change, &standard, &mut touched));
                    touched.changes += page.len();
                    (touched, applied)
                })
                .await?;
            applied?;
            if !full || touched.changes >= STEP_CHANGES {
                break;
            }
        }
        Ok((cursor, touched))
    }

    /// Rebuilds the engine from the store: the saved state over the items' signatures, then
    /// what changed since (returned to be saved, with the feed position it reaches). The
    /// store is read here; the engine is built on the background thread.
    async fn load(&self, store: &impl Store) -> Result<(Kept, Touched, Seq), KeeperError> {
        let keeping = store.series_keeping().await?;
        let standard = Arc::new(standard_banks(store).await?);
        // Every item's signature, from the whole feed.
        let mut candidates: HashMap<u64, Candidate> = HashMap::new();
        let mut cursor = Seq(0);
        loop {
            let page = store.signal_changes(cursor, FEED_PAGE).await?;
            let Some(last) = page.last() else { break };
            cursor = last.seq;
            let standard = Arc::clone(&standard);
            candidates = background::run(move || {
                for change in &page {
                    take_candidate(&mut candidates, change, &standard);
                }
                candidates
            })
            .await;
        }
        let options = self.options;
        let (kept, touched) = background::run(move || {
            let restored = Kept::restore(options, keeping, &candidates);
            drop(candidates);
            background::release_freed_memory();
            restored
        })
        .await?;
        Ok((kept, touched, cursor))
    }
}

/// Saves `save` in transactions of at most `part` members, so that the store's writer is
/// free between them. The parts before the last move the members only, with the cursor
/// where it was (and the series and label counters already where they will be, so that no
/// id is handed out twice): a node stopped between parts reloads from the old cursor and
/// saves again, each member's row being written whole. The last part has the rest (series
/// rows, links, decisions) and the new cursor. Returns the keeper row's version after it.
async fn save_in_parts(
    store: &impl Store,
    holder: &str,
    kept: &Kept,
    save: &SeriesSave,
    part: usize,
) -> Result<i64, StoreError> {
    let mut version = kept.version;
    if save.members.len() <= part {
        return store.save_series(holder, version, save).await;
    }
    let parts: Vec<_> = save.members.chunks(part).collect();
    let (last, earlier) = parts.split_last().expect("more members than one part");
    for members in earlier {
        let moving = SeriesSave {
            cursor: kept.cursor,
            next_series: save.next_series,
            next_label: save.next_label,
            members: members.to_vec(),
            series: Vec::new(),
            links: None,
            decisions: Vec::new(),
        };
        version = store.save_series(holder, version, &moving).await?;
    }
    // Field by field: `..save.clone()` would copy every member of the save (millions after
    // a bulk import) only to drop them.
    let rest = SeriesSave {
        cursor: save.cursor,
        next_series: save.next_series,
        next_label: save.next_label,
        members: last.to_vec(),
        series: save.series.clone(),
        links: save.links.clone(),
        decisions: save.decisions.clone(),
    };
    store.save_series(holder, version, &rest).await
}

/// Keeps `change` as its content's candidate signature unless the content already has one
/// from an earlier signal (an item is its first PDQ or vPDQ signal).
fn take_candidate(
    candidates: &mut HashMap<u64, Candidate>,
    change: &SignalChange,
    standard: &HashSet<BankId>,
) {
    let content = change.content.0 as u64;
    if !is_item_signal(change)
        || candidates
            .get(&content)
            .is_some_and(|held| held.signal < change.signal.0)
    {
        return;
    }
    let Some(signature) = signature(change) else {
        return;
    };
    candidates.insert(
        content,
        Candidate {
            signal: change.signal.0,
            signature,
            eligible: change.active && standard.contains(&change.bank),
        },
    );
}

impl Kept {
    /// The engine restored from the saved state over the items' signatures, and what
    /// changed since the saved cursor: items that left, items that came.
    fn restore(
        options: SeriesOptions,
        keeping: SeriesKeeping,
        candidates: &HashMap<u64, Candidate>,
    ) -> Result<(Kept, Touched), KeeperError> {
        let labels: HashMap<u64, u32> = keeping.state.labels.iter().copied().collect();
        let written: HashMap<u64, (u64, u32)> = keeping
            .state
            .series
            .iter()
            .map(|&(item, id)| (item, (id.0, labels.get(&item).copied().unwrap_or(0))))
            .collect();
        let mut rows: HashMap<u64, u32> = HashMap::new();
        for &(series, _) in written.values() {
            *rows.entry(series).or_default() += 1;
        }
        let saved_links = keeping.state.links.clone();
        // Items whose signals the feed no longer has cannot be restored; they leave.
        let mut state = keeping.state;
        let held: HashSet<u64> = state
            .series
            .iter()
            .map(|&(item, _)| item)
            .filter(|item| candidates.contains_key(item))
            .collect();
        state.series.retain(|(item, _)| held.contains(item));
        state.labels.retain(|(item, _)| held.contains(item));
        state
            .links
            .retain(|(a, b)| held.contains(a) && held.contains(b));
        let items = state
            .series
            .iter()
            .map(|&(item, _)| (item, candidates[&item].signature.clone()));
        let engine = SeriesIndex::restore(options, items, &state)?;
        let mut kept = Kept {
            engine,
            version: keeping.version,
            cursor: keeping.cursor,
            signals: HashMap::new(),
            written,
            rows,
            links: saved_links,
        };
        let mut touched = Touched::default();
        touched
            .removed
            .extend(kept.written.keys().filter(|item| !held.contains(item)));
        let items: Vec<u64> = kept.engine.items().map(|(item, _)| item).collect();
        for item in items {
            let candidate = &candidates[&item];
            kept.signals.insert(item, candidate.signal);
            if !candidate.eligible {
                kept.remove(item, &mut touched)?;
            }
        }
        let mut arriving: Vec<(u64, &Candidate)> = candidates
            .iter()
            .filter(|(item, c)| c.eligible && kept.engine.series_of(**item).is_none())
            .map(|(item, c)| (*item, c))
            .collect();
        arriving.sort_unstable_by_key(|(item, _)| *item);
        for (item, candidate) in arriving {
            let id = kept.engine.insert(item, &candidate.signature)?;
            kept.signals.insert(item, candidate.signal);
            touched.series.insert(id.0);
        }
        Ok((kept, touched))
    }

    fn apply(
        &mut self,
        change: &SignalChange,
        standard: &HashSet<BankId>,
        touched: &mut Touched,
    ) -> Result<(), KeeperError> {
        if !is_item_signal(change) {
            return Ok(());
        }
        let item = change.content.0 as u64;
        let eligible = change.active && standard.contains(&change.bank);
        let held = self.engine.series_of(item).is_some();
        if eligible && !held {
            if let Some(signature) = signature(change) {
                let id = self.engine.insert(item, &signature)?;
                self.signals.insert(item, change.signal.0);
                touched.series.insert(id.0);
            }
        } else if !eligible && held && self.signals.get(&item) == Some(&change.signal.0) {
            self.remove(item, touched)?;
        }
        Ok(())
    }

    fn remove(&mut self, item: u64, touched: &mut Touched) -> Result<(), KeeperError> {
        let parts = self.engine.remove(item)?;
        self.signals.remove(&item);
        touched.removed.push(item);
        touched.series.extend(parts.iter().map(|s| s.0));
        Ok(())
    }

    fn decide(&mut self, decision: &SeriesDecision, touched: &mut Touched) {
        let series = decision.series.engine();
        let result = match &decision.request {
            SeriesRequest::Merge { with } => self
                .engine
                .merge(series, with.engine())
                .map(|joined| vec![joined]),
            SeriesRequest::Split { members } => {
                let items: Vec<u64> = members.iter().map(|c| c.0 as u64).collect();
                let kept_id = self.engine.resolve(series);
                self.engine.split(series, &items).inspect(|parts| {
                    touched.curated.extend(
                        parts
                            .iter()
                            .map(|s| s.0)
                            .filter(|&s| Some(s) != kept_id.map(|k| k.0)),
                    );
                })
            }
        };
        let outcome = match result {
            Ok(parts) => {
                touched.series.extend(parts.iter().map(|s| s.0));
                Ok(parts.into_iter().map(SeriesId::of_engine).collect())
            }
            Err(error) => Err(error.to_string()),
        };
        touched.decisions.push((decision.id, outcome));
    }

    /// What the store must be told after `touched`, with the feed at `cursor`.
    fn save_of(&self, cursor: Seq, touched: Touched) -> SeriesSave {
        let engine = &self.engine;
        let mut old: HashSet<u64> = HashSet::new();
        let mut live: Vec<u64> = Vec::new();
        for &t in &touched.series {
            match engine.resolve(series::SeriesId(t)) {
                Some(l) => live.push(l.0),
                None => {
                    old.insert(t);
                }
            }
        }
        live.sort_unstable();
        live.dedup();
        let mut members = Vec::new();
        let mut upkeep = Vec::new();
        for &l in &live {
            let items = engine.members(series::SeriesId(l)).unwrap_or_default();
            // Where its members were, to tell which series a new one came from.
            let mut sources: HashMap<u64, usize> = HashMap::new();
            for &item in &items {
                let now = (l, engine.label(item).unwrap_or(0));
                let before = self.written.get(&item).copied();
                if before != Some(now) {
                    members.push((ContentId(item as i64), Some((SeriesId(l as i64), now.1))));
                }
                if let Some((was, _)) = before {
                    *sources.entry(was).or_default() += 1;
                    if was != l {
                        old.insert(was);
                    }
                }
            }
            let count = u32::try_from(items.len()).unwrap_or(u32::MAX);
            match self.rows.get(&l) {
                None => {
                    let from = sources
                        .iter()
                        .max_by_key(|&(&id, &n)| (n, std::cmp::Reverse(id)))
                        .map(|(&id, _)| SeriesId(id as i64));
                    upkeep.push(SeriesUpkeep {
                        id: SeriesId(l as i64),
                        members: count,
                        merged_into: None,
                        split_from: from,
                        inherit: !touched.curated.contains(&l),
                    });
                }
                Some(&n) if n != count => upkeep.push(SeriesUpkeep {
                    id: SeriesId(l as i64),
                    members: count,
                    merged_into: None,
                    split_from: None,
                    inherit: false,
                }),
                Some(_) => {}
            }
        }
        for &item in &touched.removed {
            if engine.series_of(item).is_some() {
                continue; // removed and added again
            }
            if let Some(&(was, _)) = self.written.get(&item) {
                old.insert(was);
                members.push((ContentId(item as i64), None));
            }
        }
        let live: HashSet<u64> = live.into_iter().collect();
        let mut old: Vec<u64> = old.into_iter().filter(|o| !live.contains(o)).collect();
        old.sort_unstable();
        for o in old {
            if !self.rows.contains_key(&o) {
                continue;
            }
            let (members, merged_into) = match engine.resolve(series::SeriesId(o)) {
                Some(into) if into.0 != o => (0, Some(SeriesId::of_engine(into))),
                Some(_) => (
                    engine
                        .series_len(series::SeriesId(o))
                        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                    None,
                ),
                None => (0, None),
            };
            upkeep.push(SeriesUpkeep {
                id: SeriesId(o as i64),
                members,
                merged_into,
                split_from: None,
                inherit: false,
            });
        }
        let links = engine.curated_links();
        let (next_series, next_label) = engine.counters();
        SeriesSave {
            cursor,
            next_series,
            next_label,
            members,
            series: upkeep,
            links: (links != self.links).then(|| {
                links
                    .iter()
                    .map(|&(a, b)| (ContentId(a as i64), ContentId(b as i64)))
                    .collect()
            }),
            decisions: touched.decisions,
        }
    }

    /// Takes in what a save wrote.
    fn saved(&mut self, save: &SeriesSave, version: i64) {
        for (content, series) in &save.members {
            let item = content.0 as u64;
            match series {
                Some((series, label)) => {
                    self.written.insert(item, (series.0 as u64, *label));
                }
                None => {
                    self.written.remove(&item);
                }
            }
        }
        for u in &save.series {
            let id = u.id.0 as u64;
            if u.members > 0 && u.merged_into.is_none() {
                self.rows.insert(id, u.members);
            } else {
                self.rows.remove(&id);
            }
        }
        if let Some(links) = &save.links {
            self.links = links
                .iter()
                .map(|&(a, b)| (a.0 as u64, b.0 as u64))
                .collect();
        }
        self.cursor = save.cursor;
        self.version = version;
    }
}

/// An item as the feed has it.
#[derive(Debug)]
struct Candidate {
    signal: i64,
    signature: Signature,
    eligible: bool,
}

/// The banks whose content may form series.
async fn standard_banks(store: &impl Store) -> Result<HashSet<BankId>, StoreError> {
    Ok(store
        .banks()
        .await?
        .into_iter()
        .filter(|bank| bank.kind == BankKind::Standard)
        .map(|bank| bank.id)
        .collect())
}

/// Whether a feed entry is of a kind that makes its content an item.
fn is_item_signal(change: &SignalChange) -> bool {
    matches!(change.kind, SignalKind::Pdq | SignalKind::Vpdq)
}

/// A feed entry's PDQ hash or vPDQ, parsed; `None` for other signals and for a value that no
/// longer parses (it was validated when stored).
fn signature(change: &SignalChange) -> Option<Signature> {
    let signal_type = match change.kind {
        SignalKind::Pdq => SignalType::Pdq,
        SignalKind::Vpdq => SignalType::Vpdq,
        _ => return None,
    };
    match Signal::parse(signal_type, &change.value) {
        Ok(Signal::Pdq(hash)) => Some(Signature::Image(hash)),
        Ok(Signal::Vpdq(vpdq)) => Some(Signature::Video(vpdq)),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(signal = change.signal.0, %error, "stored signal does not parse");
            None
        }
    }
}
