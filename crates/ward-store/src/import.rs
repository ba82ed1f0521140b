//! Planning an import batch, the same for both backends: which items to add, and which
//! external ids' items to remove first, so that each external id ends as the batch's last
//! entry for it says.

use std::collections::{HashMap, HashSet};

use crate::error::{Result, StoreError};
use crate::model::{ImportChange, ImportCounts, NewContent};

/// The longest external id kept.
const MAX_EXTERNAL_ID: usize = 200;

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

impl<'a> Plan<'a> {
    pub fn new(changes: &'a [ImportChange]) -> Result<Plan<'a>> {
        let mut plan = Plan::default();
        // Where each external id's last entry is: only that one is applied.
        let mut last_at: HashMap<&str, usize> = HashMap::new();
        for (at, change) in changes.iter().enumerate() {
            let key = match change {
                ImportChange::Upsert(item) => item.external_id.as_deref(),
                ImportChange::Delete { external_id } => Some(external_id.as_str()),
            };
            if let Some(key) = key {
                check_external_id(key)?;
                if last_at.insert(key, at).is_none() {
                    plan.keys.push(key);
                }
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

/// An external id is 1 to 200 characters, without control characters.
pub(crate) fn check_external_id(id: &str) -> Result<()> {
    if id.is_empty() || id.chars().count() > MAX_EXTERNAL_ID || id.chars().any(char::is_control) {
        let shown: String = id.chars().take(40).collect();
        return Err(StoreError::Invalid(format!(
            "an external id must be 1 to {MAX_EXTERNAL_ID} characters without control \
             characters: {shown:?}"
        )));
    }
    Ok(())
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
    fn external_ids_are_checked() {
        for bad in ["", "a\nb", &"x".repeat(201)] {
            assert!(Plan::new(&[delete(bad)]).is_err(), "{bad:?}");
        }
        assert!(Plan::new(&[delete(&"x".repeat(200))]).is_ok());
    }
}
