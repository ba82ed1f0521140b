//! Planning an import batch, the same for both backends: which items to add, which to
//! change in place and which to remove, so that each external id ends as the batch's last
//! entry for it says.
//!
//! An upsert for an item the bank has keeps the item (its id, enabled state and the
//! opinions organisations gave on it) when its signals are the same, changing what the list
//! says of it; with other signals it replaces the item, and the new one carries the old
//! one's enabled state and opinions over.

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::model::{ImportChange, ImportCounts, NewContent};

/// An import batch, planned.
#[derive(Debug, Default)]
pub(crate) struct Plan<'a> {
    /// The items to add, in the batch's order.
    pub inserts: Vec<&'a NewContent>,
    /// Every external id the batch names, once each: the bank's items with these ids are
    /// removed before the inserts.
    pub keys: Vec<&'a str>,
    /// What the batch ends with for each external id: `true` for an upsert.
    last: HashMap<&'a str, bool>,
    /// Items without an external id.
    unkeyed: u64,
}

/// An item of the bank that the batch names by its external id.
#[derive(Debug)]
pub(crate) struct Existing {
    pub id: i64,
    pub external_id: String,
    /// Its signals as stored: `(kind, value)`.
    pub signals: Vec<(String, String)>,
}

/// The bank's items a batch names, from rows of `(content id, external id, signal kind,
/// signal value)` in content id order.
pub(crate) fn existing(rows: Vec<(i64, String, String, String)>) -> Vec<Existing> {
    let mut items: Vec<Existing> = Vec::new();
    for (id, external_id, kind, value) in rows {
        match items.last_mut() {
            Some(last) if last.id == id => last.signals.push((kind, value)),
            _ => items.push(Existing {
                id,
                external_id,
                signals: vec![(kind, value)],
            }),
        }
    }
    items
}

/// What a planned batch does to the bank's items.
#[derive(Debug, Default)]
pub(crate) struct Steps<'a> {
    /// Items that stay, with what the list now says of them (same signals).
    pub updates: Vec<(i64, &'a NewContent)>,
    /// Items removed: tombstoned, or replaced by an item with other signals.
    pub removed: Vec<i64>,
    /// Items to add, in the batch's order.
    pub inserts: Vec<&'a NewContent>,
    /// `(old item, index in inserts)`: a replaced item and the one that replaces it, which
    /// takes its enabled state and opinions.
    pub carried: Vec<(i64, usize)>,
}

impl<'a> Plan<'a> {
    pub fn new(changes: &'a [ImportChange]) -> Result<Plan<'a>> {
        // Every item and tombstone within the rules before anything is planned.
        crate::rules::changes(changes)?;
        let mut plan = Plan::default();
        // Where each external id's last entry is: only that one is applied.
        let mut last_at: HashMap<&str, usize> = HashMap::new();
        for (at, change) in changes.iter().enumerate() {
            let key = match change {
                ImportChange::Upsert(item) => item.external_id.as_deref(),
                ImportChange::Delete { external_id } => Some(external_id.as_str()),
            };
            if let Some(key) = key
                && last_at.insert(key, at).is_none()
            {
                plan.keys.push(key);
            }
        }
        for (at, change) in changes.iter().enumerate() {
            match change {
                ImportChange::Upsert(item) => match item.external_id.as_deref() {
                    None => {
                        plan.unkeyed += 1;
                        plan.inserts.push(item);
                    }
                    Some(key) if last_at[key] == at => {
                        plan.last.insert(key, true);
                        plan.inserts.push(item);
                    }
                    Some(_) => {}
                },
                ImportChange::Delete { external_id } if last_at[external_id.as_str()] == at => {
                    plan.last.insert(external_id, false);
                }
                ImportChange::Delete { .. } => {}
            }
        }
        Ok(plan)
    }

    /// The steps, given the bank's items that the batch's external ids name.
    pub fn steps(&self, existing: &[Existing]) -> Steps<'a> {
        let by_key: HashMap<&str, &Existing> = existing
            .iter()
            .map(|item| (item.external_id.as_str(), item))
            .collect();
        let mut steps = Steps::default();
        for item in &self.inserts {
            let Some(old) = item.external_id.as_deref().and_then(|k| by_key.get(k)) else {
                steps.inserts.push(item);
                continue;
            };
            let mut new: Vec<(&str, &str)> = item
                .signals
                .iter()
                .map(|s| (s.kind.name(), s.value.as_str()))
                .collect();
            let mut had: Vec<(&str, &str)> = old
                .signals
                .iter()
                .map(|(kind, value)| (kind.as_str(), value.as_str()))
                .collect();
            new.sort_unstable();
            had.sort_unstable();
            if new == had {
                steps.updates.push((old.id, item));
            } else {
                steps.removed.push(old.id);
                steps.carried.push((old.id, steps.inserts.len()));
                steps.inserts.push(item);
            }
        }
        // Tombstoned.
        for (key, upsert) in &self.last {
            if let (false, Some(old)) = (upsert, by_key.get(key)) {
                steps.removed.push(old.id);
            }
        }
        steps.removed.sort_unstable();
        steps
    }

    /// The counts, given which of the batch's external ids the bank had.
    pub fn counts(&self, existing: &HashSet<String>) -> ImportCounts {
        let mut counts = ImportCounts {
            added: self.unkeyed,
            ..ImportCounts::default()
        };
        for (key, upsert) in &self.last {
            let had = existing.contains(*key);
            match (upsert, had) {
                (true, true) => counts.replaced += 1,
                (true, false) => counts.added += 1,
                (false, true) => counts.removed += 1,
                (false, false) => counts.missing += 1,
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(key: Option<&str>, source: &str) -> ImportChange {
        ImportChange::Upsert(NewContent {
            external_id: key.map(str::to_owned),
            source: source.to_owned(),
            ..NewContent::default()
        })
    }

    fn delete(key: &str) -> ImportChange {
        ImportChange::Delete {
            external_id: key.to_owned(),
        }
    }

    #[test]
    fn the_last_entry_for_an_external_id_wins() {
        let changes = [
            upsert(Some("a"), "1"),
            upsert(None, "2"),
            upsert(Some("a"), "3"),
            delete("b"),
            upsert(Some("b"), "4"),
            upsert(Some("c"), "5"),
            delete("c"),
            delete("d"),
            upsert(None, "6"),
        ];
        let plan = Plan::new(&changes).unwrap();
        let sources: Vec<&str> = plan.inserts.iter().map(|i| i.source.as_str()).collect();
        assert_eq!(sources, ["2", "3", "4", "6"]);
        assert_eq!(plan.keys, ["a", "b", "c", "d"]);
        let existing: HashSet<String> = ["a", "c"].map(String::from).into();
        assert_eq!(
            plan.counts(&existing),
            ImportCounts {
                added: 3, // the two without an id, and b
                replaced: 1,
                removed: 1,
                missing: 1,
            }
        );
    }

    #[test]
    fn same_signals_update_in_place_and_others_replace() {
        let with = |key: &str, value: &str| {
            ImportChange::Upsert(NewContent {
                external_id: Some(key.to_owned()),
                signals: vec![crate::model::Signal {
                    kind: crate::model::SignalKind::Md5,
                    value: value.to_owned(),
                }],
                ..NewContent::default()
            })
        };
        let existing = |id: i64, key: &str, value: &str| Existing {
            id,
            external_id: key.to_owned(),
            signals: vec![("md5".to_owned(), value.to_owned())],
        };
        let changes = [
            with("same", "aa"),
            with("other", "bb"),
            with("new", "cc"),
            delete("gone"),
            delete("never"),
            upsert(None, "unkeyed"),
        ];
        let plan = Plan::new(&changes).unwrap();
        let steps = plan.steps(&[
            existing(10, "same", "aa"),
            existing(11, "other", "00"),
            existing(12, "gone", "dd"),
        ]);
        let keys = |items: &[&NewContent]| -> Vec<Option<String>> {
            items.iter().map(|i| i.external_id.clone()).collect()
        };
        assert_eq!(
            steps.updates.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            [10]
        );
        assert_eq!(steps.removed, [11, 12]);
        assert_eq!(
            keys(&steps.inserts),
            [Some("other".into()), Some("new".into()), None]
        );
        assert_eq!(steps.carried, [(11, 0)]);
    }

    #[test]
    fn external_ids_are_checked() {
        for bad in ["", "a\nb", &"x".repeat(201)] {
            assert!(Plan::new(&[delete(bad)]).is_err(), "{bad:?}");
        }
        assert!(Plan::new(&[delete(&"x".repeat(200))]).is_ok());
    }
}
