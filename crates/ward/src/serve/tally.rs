//! The node's count of matches for the transparency figures: per UTC day and querying
//! organisation, matches per bank and match queries by outcome (known, near, novel), kept
//! in memory and added to the store every few seconds, at graceful shutdown and before the
//! figures are read (`Store::add_match_counts`: nodes add, so the store holds the sum).
//!
//! A query's outcome is its answer's placement (`matching::Placement`: *known* when a match
//! is the same content, *near* when its matches are only near, *novel* without a match).
//! Matches that a negative bank suppressed do not count. What the service matches for itself (intake) is
//! not tallied: its outcome is kept on the reported URL.

use std::collections::HashMap;
use std::mem;
use std::sync::{Mutex, Weak};
use std::time::Duration;

use ward_store::{MatchCounts, OrgId, Store, StoreError, Timestamp};

use super::AppState;
use super::matching::MatchAnswer;

/// How often a node adds its tally to the store.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Counts not yet added to the store, by day and organisation.
#[derive(Debug, Default)]
pub struct Tally {
    counts: Mutex<HashMap<(String, OrgId), MatchCounts>>,
}

/// How a query's matches are counted: its answer's placement.
pub use super::matching::Placement as Outcome;

impl Tally {
    /// Counts one match answer given to `org` (nothing for the service's own queries).
    pub fn record(&self, org: Option<OrgId>, answer: &MatchAnswer) {
        let Some(org) = org else { return };
        let outcome = answer.placement;
        let banks = answer.matches.iter().map(|m| m.bank.id);
        self.add(&Timestamp::now().day(), org, banks, outcome);
    }

    /// Counts a query with `outcome` and a match in each of `banks` (a bank once per match).
    pub fn add(
        &self,
        day: &str,
        org: OrgId,
        banks: impl Iterator<Item = ward_store::BankId>,
        outcome: Outcome,
    ) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let entry = counts
            .entry((day.to_owned(), org))
            .or_insert_with(|| MatchCounts::new(day, org));
        for bank in banks {
            *entry.banks.entry(bank).or_insert(0) += 1;
        }
        match outcome {
            Outcome::Known => entry.known += 1,
            Outcome::Near => entry.near += 1,
            Outcome::Novel => entry.novel += 1,
        }
    }

    /// Whether nothing is counted and not yet added to the store.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Adds what was counted to the store and starts again from zero; on failure the counts
    /// are kept for the next try.
    pub async fn flush(&self, store: &impl Store) -> Result<(), StoreError> {
        let taken = mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()));
        if taken.is_empty() {
            return Ok(());
        }
        let counts: Vec<MatchCounts> = taken.values().cloned().collect();
        if let Err(error) = store.add_match_counts(&counts).await {
            let mut kept = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            for (key, count) in taken {
                let entry = kept
                    .entry(key)
                    .or_insert_with(|| MatchCounts::new(&count.day, count.org));
                for (bank, n) in count.banks {
                    *entry.banks.entry(bank).or_insert(0) += n;
                }
                entry.known += count.known;
                entry.near += count.near;
                entry.novel += count.novel;
            }
            return Err(error);
        }
        Ok(())
    }
}

/// Adds the node's tally to the store every `FLUSH_INTERVAL`, while the service runs.
pub async fn run(state: Weak<AppState>) {
    loop {
        tokio::time::sleep(FLUSH_INTERVAL).await;
        let Some(state) = state.upgrade() else { return };
        if let Err(error) = state.tally.flush(&state.store).await {
            tracing::warn!(%error, "adding the match tally to the store failed; retrying");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_store::{AnyStore, BankId, Month};

    #[tokio::test]
    async fn flushes_add_to_the_store() {
        let folder = tempfile::tempdir().unwrap();
        let store = AnyStore::open(folder.path(), None).await.unwrap();
        let operator = ward_store::Actor::operator("test");
        let org = store.create_org(&operator, "North").await.unwrap().id;
        let bank = store
            .create_bank(
                &operator,
                &ward_store::NewBank {
                    name: "NORTH".into(),
                    org,
                    kind: ward_store::BankKind::Standard,
                    distance: 31,
                    enabled: true,
                    sharing: ward_store::Sharing::Members,
                    shared_with: Vec::new(),
                    dispute_limit: None,
                    description: String::new(),
                },
            )
            .await
            .unwrap()
            .id;
        let month: Month = "2026-03".parse().unwrap();
        let figure = |t: &ward_store::Transparency, name: &str, key: &str| {
            t.figures
                .iter()
                .find(|f| f.figure == name && f.key == key)
                .map(|f| f.value)
        };
        // Two nodes' tallies.
        let (one, two) = (Tally::default(), Tally::default());
        one.add("2026-03-02", org, [bank, bank].into_iter(), Outcome::Known);
        one.add(
            "2026-03-02",
            org,
            std::iter::empty::<BankId>(),
            Outcome::Novel,
        );
        one.flush(&store).await.unwrap();
        let first = store.transparency(Some(org), month, month).await.unwrap();
        assert_eq!(figure(&first, "matches", "NORTH"), Some(2.0));
        one.flush(&store).await.unwrap(); // nothing new: nothing added
        one.add("2026-03-02", org, [bank].into_iter(), Outcome::Near);
        two.add("2026-03-09", org, [bank].into_iter(), Outcome::Known);
        let (a, b) = tokio::join!(one.flush(&store), two.flush(&store));
        a.unwrap();
        b.unwrap();
        let summed = store.transparency(Some(org), month, month).await.unwrap();
        assert_eq!(figure(&summed, "matches", "NORTH"), Some(4.0));
        assert_eq!(figure(&summed, "queries", "known"), Some(2.0));
        assert_eq!(figure(&summed, "queries", "near"), Some(1.0));
        assert_eq!(figure(&summed, "queries", "novel"), Some(1.0));
        assert_eq!(figure(&summed, "novel_share", ""), Some(0.25));
    }
}
