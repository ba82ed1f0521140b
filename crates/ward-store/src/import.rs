//! Planning an import batch, the same for both backends: which items to add, which to
//! change in place and which to remove, so that each external id ends as the batch's last
//! entry for it says, and each plain entry (one without an external id) is in the bank once.
//!
//! An upsert for an item the bank has keeps the item (its id, enabled state and the
//! opinions organisations gave on it) when its signals are the same, changing what the list
//! says of it; with other signals it replaces the item, and the new one carries the old
//! one's enabled state and opinions over.
//!
//! A plain entry is keyed by its signals within the bank ([`plain_key`]): the bank's item
//! without an external id that has the same signals is the entry's item, so a list imported
//! twice, or an import run again after it was interrupted, adds nothing the second time. An
//! entry for an item the bank holds changes it (in place) only when it says something of it
//! (an assessment, a label, other fields) that differs from what is stored; a bare hash
//! leaves the item as it is, provenance included.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher as _, BuildHasherDefault, Hash, Hasher};
use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};

use crate::error::Result;
use crate::model::{ImportChange, ImportCounts, NewContent, Signal};
use crate::rows;

/// The longest plain key kept as the signals' own text; a longer one (a vPDQ's frames) is
/// the SHA-256 of that text, so that every key fits an index entry.
const MAX_PLAIN_TEXT: usize = 200;

/// The key of an item without an external id: its signals as `kind:value`, sorted, one a
/// line (`md5:0123...` for a hash of a plain list); `sha256:` and the SHA-256 of that text in
/// hex when it is longer than 200 bytes. `None` for an item without signals, which no key
/// names (each such entry is added).
pub(crate) fn plain_key<'s>(
    signals: impl IntoIterator<Item = (&'s str, &'s str)>,
) -> Option<String> {
    let mut lines: Vec<(&str, &str)> = signals.into_iter().collect();
    match lines.as_mut_slice() {
        [] => return None,
        [(kind, value)] => {
            if kind.len() + value.len() < MAX_PLAIN_TEXT {
                return Some(format!("{kind}:{value}"));
            }
        }
        more => more.sort_unstable(),
    }
    let mut text = String::new();
    for (i, (kind, value)) in lines.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(kind);
        text.push(':');
        text.push_str(value);
    }
    if text.len() <= MAX_PLAIN_TEXT {
        return Some(text);
    }
    Some(format!(
        "sha256:{}",
        ward_core::digest::to_hex(&Sha256::digest(text.as_bytes()))
    ))
}

/// The plain key of a new item, if it has no external id (and has signals).
pub(crate) fn plain_key_of(item: &NewContent) -> Option<String> {
    if item.external_id.is_some() {
        return None;
    }
    plain_key(item.signals.iter().map(signal_text))
}

/// What an item's `plain_key` column holds: its plain key; empty for an item without signals
/// nor external id (no entry names it); NULL for an item with an external id.
pub(crate) fn stored_plain_key(item: &NewContent) -> Option<String> {
    item.external_id
        .is_none()
        .then(|| plain_key_of(item).unwrap_or_default())
}

/// The keys of stored items from rows of `(content id, signal kind, signal value)` in content
/// id order (kind and value `None` for an item without signals, whose key is empty).
pub(crate) fn plain_keys_of(
    rows: Vec<(i64, Option<String>, Option<String>)>,
) -> Vec<(i64, String)> {
    let mut items: Vec<(i64, Vec<(String, String)>)> = Vec::new();
    for (id, kind, value) in rows {
        if items.last().is_none_or(|(last, _)| *last != id) {
            items.push((id, Vec::new()));
        }
        if let (Some(kind), Some(value), Some((_, signals))) = (kind, value, items.last_mut()) {
            signals.push((kind, value));
        }
    }
    items
        .into_iter()
        .map(|(id, signals)| {
            let key = plain_key(signals.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            (id, key.unwrap_or_default())
        })
        .collect()
}

/// Items without a plain key (stored before there were any) that one round of
/// `fill_plain_keys` keys.
pub(crate) const UNKEYED_ROUND: i64 = 1000;

/// The hash of the plain key `kind:value` (SipHash with this process's random keys, so that
/// no list can be made to collide): the hash of the text of [`plain_key`], without making it.
pub(crate) fn plain_hash(kind: &str, value: &str) -> u64 {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    let mut hasher = KEYS.get_or_init(RandomState::new).build_hasher();
    hasher.write(kind.as_bytes());
    hasher.write(b":");
    hasher.write(value.as_bytes());
    hasher.finish()
}

/// The hash of a plain key's text ([`plain_hash`] of its parts).
pub(crate) fn text_hash(text: &str) -> u64 {
    let (kind, value) = text.split_once(':').unwrap_or((text, ""));
    plain_hash(kind, value)
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map by hash.
pub(crate) type ByHash<K, V> = HashMap<K, V, BuildHasherDefault<Prehashed>>;

/// A plain entry's key as an import batch holds it: its one signal, borrowed (a plain list's
/// hash), or the text of [`plain_key`]; with its hash.
#[derive(Clone, Debug)]
pub(crate) struct PlainKey<'a> {
    hash: u64,
    text: KeyText<'a>,
}

#[derive(Clone, Debug)]
enum KeyText<'a> {
    Signal(&'a Signal),
    Text(Box<str>),
}

impl<'a> PlainKey<'a> {
    /// The key of an entry without an external id (and with signals).
    pub fn of(item: &'a NewContent) -> Option<PlainKey<'a>> {
        if item.external_id.is_some() {
            return None;
        }
        if let [signal] = item.signals.as_slice() {
            let (kind, value) = signal_text(signal);
            if kind.len() + value.len() < MAX_PLAIN_TEXT {
                return Some(PlainKey {
                    hash: plain_hash(kind, value),
                    text: KeyText::Signal(signal),
                });
            }
        }
        let text = plain_key(item.signals.iter().map(signal_text))?;
        Some(PlainKey {
            hash: text_hash(&text),
            text: KeyText::Text(text.into()),
        })
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The key as stored.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.text {
            KeyText::Signal(signal) => {
                let (kind, value) = signal_text(signal);
                Cow::Owned(format!("{kind}:{value}"))
            }
            KeyText::Text(text) => Cow::Borrowed(text),
        }
    }

    /// Whether `stored` (a key as stored) is this key.
    pub fn is(&self, stored: &str) -> bool {
        match &self.text {
            KeyText::Signal(signal) => {
                let (kind, value) = signal_text(signal);
                stored.len() == kind.len() + 1 + value.len()
                    && stored.starts_with(kind)
                    && stored.as_bytes()[kind.len()] == b':'
                    && stored.ends_with(value)
            }
            KeyText::Text(text) => **text == *stored,
        }
    }

    /// Whether a block item (one digest of `kind`, written in lower-case hex) has this key.
    pub fn is_digest(&self, kind: &str, digest: &[u8]) -> bool {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let KeyText::Signal(signal) = &self.text else {
            return false;
        };
        let (own, value) = signal_text(signal);
        own == kind
            && value.len() == 2 * digest.len()
            && value
                .as_bytes()
                .chunks_exact(2)
                .zip(digest)
                .all(|(hex, byte)| {
                    hex == [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]
                })
    }
}

impl PartialEq for PlainKey<'_> {
    fn eq(&self, other: &PlainKey<'_>) -> bool {
        self.hash == other.hash
            && match (&self.text, &other.text) {
                (KeyText::Signal(a), KeyText::Signal(b)) => signal_text(a) == signal_text(b),
                (KeyText::Text(a), KeyText::Text(b)) => a == b,
                _ => self.text() == other.text(),
            }
    }
}

impl Eq for PlainKey<'_> {}

impl Hash for PlainKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

fn signal_text(signal: &Signal) -> (&str, &str) {
    (signal.kind.name(), signal.value.as_str())
}

/// What an entry says of an item besides its signals and provenance, as stored: the
/// assessment, the list's label and its other fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Said {
    pub age_group: Option<String>,
    pub activity: Option<String>,
    pub label_scheme: Option<String>,
    pub label_profile: Option<String>,
    pub label: Option<String>,
    pub attributes: Option<String>,
}

/// The columns of content that [`Said`] is read from, after the id and the plain key.
pub(crate) const SAID_COLUMNS: &str =
    "age_group, activity, label_scheme, label_profile, label, attributes";

/// A row of `id, plain_key, ` [`SAID_COLUMNS`].
pub(crate) type HeldRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Said {
    pub fn of(item: &NewContent) -> Said {
        let (age_group, activity) = rows::assessment_columns(item.assessment);
        let (_, scheme, profile, label, attributes) = rows::exchange_columns(item);
        Said {
            age_group: age_group.map(str::to_owned),
            activity: activity.map(str::to_owned),
            label_scheme: scheme.map(str::to_owned),
            label_profile: profile.map(str::to_owned),
            label: label.map(str::to_owned),
            attributes,
        }
    }

    fn is_empty(&self) -> bool {
        *self == Said::default()
    }
}

/// The bank's live item without an external id that a plain entry's key names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    pub id: i64,
    /// What is stored of it (nothing, for an item of a SQLite block).
    pub said: Said,
    /// It is an item of a SQLite block, to be given rows before it is changed.
    pub in_block: bool,
}

impl Held {
    /// An item as read from a row of `id, plain_key, ` [`SAID_COLUMNS`], with its key.
    pub fn of_row(row: HeldRow) -> (String, Held) {
        let (id, key, age_group, activity, label_scheme, label_profile, label, attributes) = row;
        let said = Said {
            age_group,
            activity,
            label_scheme,
            label_profile,
            label,
            attributes,
        };
        let held = Held {
            id,
            said,
            in_block: false,
        };
        (key, held)
    }
}

/// The bank's items that plain keys name, from rows of `id, plain_key, ` [`SAID_COLUMNS`]
/// (the oldest item for a key, should there be several).
pub(crate) fn held(rows: Vec<HeldRow>) -> HashMap<String, Held> {
    let mut held: HashMap<String, Held> = HashMap::with_capacity(rows.len());
    for row in rows {
        let (key, item) = Held::of_row(row);
        match held.get(&key) {
            Some(other) if other.id < item.id => {}
            _ => {
                held.insert(key, item);
            }
        }
    }
    held
}

/// An import batch, planned.
#[derive(Debug, Default)]
pub(crate) struct Plan<'a> {
    /// The items to add or change, in the batch's order: the last entry for each external id
    /// and for each plain key, and every entry without signals or external id.
    pub inserts: Vec<&'a NewContent>,
    /// The plain key of each of `inserts` (`None` for those with an external id or without
    /// signals).
    pub plain: Vec<Option<PlainKey<'a>>>,
    /// Every external id the batch names, once each: the bank's items with these ids are
    /// removed before the inserts.
    pub keys: Vec<&'a str>,
    /// What the batch ends with for each external id: `true` for an upsert.
    last: HashMap<&'a str, bool>,
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
    /// Items of SQLite blocks among `updates`, to be given rows first.
    pub unblock: Vec<i64>,
    /// Items removed: tombstoned, or replaced by an item with other signals.
    pub removed: Vec<i64>,
    /// Items to add, in the batch's order.
    pub inserts: Vec<&'a NewContent>,
    /// The place of each of `inserts` in the plan's `inserts` (and `plain`).
    pub insert_at: Vec<usize>,
    /// `(old item, index in inserts)`: a replaced item and the one that replaces it, which
    /// takes its enabled state and opinions.
    pub carried: Vec<(i64, usize)>,
    /// Plain entries for items the bank holds, changed in place.
    plain_changed: u64,
    /// Plain entries for items the bank holds that say nothing new of them.
    plain_unchanged: u64,
    /// Plain entries added.
    plain_added: u64,
}

impl<'a> Plan<'a> {
    pub fn new(changes: &'a [ImportChange]) -> Result<Plan<'a>> {
        // Every item and tombstone within the rules before anything is planned.
        crate::rules::changes(changes)?;
        let mut plan = Plan::default();
        // Where each external id's and each plain key's last entry is: only that one is
        // applied.
        let mut last_at: HashMap<&str, usize> = HashMap::new();
        let mut plain_keys: Vec<Option<PlainKey<'a>>> = Vec::with_capacity(changes.len());
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
            plain_keys.push(match change {
                ImportChange::Upsert(item) => PlainKey::of(item),
                ImportChange::Delete { .. } => None,
            });
        }
        // An entry is the last for its key when no later one has it: seen from the end, the
        // first of each key.
        let mut later: HashSet<&PlainKey, BuildHasherDefault<Prehashed>> = HashSet::default();
        later.reserve(changes.len());
        let mut last_plain = vec![true; changes.len()];
        for (at, key) in plain_keys.iter().enumerate().rev() {
            if let Some(key) = key {
                last_plain[at] = later.insert(key);
            }
        }
        drop(later);
        plan.inserts.reserve(changes.len());
        plan.plain.reserve(changes.len());
        for (at, change) in changes.iter().enumerate() {
            match change {
                ImportChange::Upsert(item) => match item.external_id.as_deref() {
                    None => {
                        if last_plain[at] {
                            plan.inserts.push(item);
                            plan.plain.push(plain_keys[at].take());
                        }
                    }
                    Some(key) if last_at[key] == at => {
                        plan.last.insert(key, true);
                        plan.inserts.push(item);
                        plan.plain.push(None);
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

    /// The plain keys of the batch, each once.
    pub fn plain_keys(&self) -> impl Iterator<Item = &PlainKey<'a>> {
        self.plain.iter().flatten()
    }

    /// The bank's items that the batch's plain keys name, for [`Plan::steps`], from the
    /// items found for the keys' text.
    pub fn held_by_text(&self, found: &HashMap<String, Held>) -> Vec<Option<Held>> {
        if found.is_empty() {
            return vec![None; self.plain.len()];
        }
        self.plain
            .iter()
            .map(|key| found.get(key.as_ref()?.text().as_ref()).cloned())
            .collect()
    }

    /// The steps, given the bank's items that the batch's external ids name and those that
    /// its plain keys name (`held`, one for each of `inserts`).
    pub fn steps(&self, existing: &[Existing], held: &[Option<Held>]) -> Steps<'a> {
        let by_key: HashMap<&str, &Existing> = existing
            .iter()
            .map(|item| (item.external_id.as_str(), item))
            .collect();
        let mut steps = Steps::default();
        for (at, (item, plain)) in self.inserts.iter().zip(&self.plain).enumerate() {
            if let Some(old) = held.get(at).and_then(Option::as_ref) {
                let said = Said::of(item);
                if said.is_empty() || said == old.said {
                    steps.plain_unchanged += 1;
                } else {
                    if old.in_block {
                        steps.unblock.push(old.id);
                    }
                    steps.updates.push((old.id, item));
                    steps.plain_changed += 1;
                }
                continue;
            }
            let Some(old) = item.external_id.as_deref().and_then(|k| by_key.get(k)) else {
                if plain.is_some() {
                    steps.plain_added += 1;
                }
                steps.inserts.push(item);
                steps.insert_at.push(at);
                continue;
            };
            let mut new: Vec<(&str, &str)> = item.signals.iter().map(signal_text).collect();
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
                steps.insert_at.push(at);
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

    /// The counts, given which of the batch's external ids the bank had and the steps.
    pub fn counts(&self, existing: &HashSet<String>, steps: &Steps) -> ImportCounts {
        let unkeyed = self
            .inserts
            .iter()
            .zip(&self.plain)
            .filter(|(item, plain)| item.external_id.is_none() && plain.is_none())
            .count() as u64;
        let mut counts = ImportCounts {
            added: unkeyed + steps.plain_added,
            replaced: steps.plain_changed,
            unchanged: steps.plain_unchanged,
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
        let steps = plan.steps(&[], &[]);
        assert_eq!(
            plan.counts(&existing, &steps),
            ImportCounts {
                added: 3, // the two without an id (nor signals), and b
                replaced: 1,
                removed: 1,
                missing: 1,
                unchanged: 0,
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
        let steps = plan.steps(
            &[
                existing(10, "same", "aa"),
                existing(11, "other", "00"),
                existing(12, "gone", "dd"),
            ],
            &[],
        );
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

    fn plain(value: &str, label: Option<&str>) -> ImportChange {
        ImportChange::Upsert(NewContent {
            signals: vec![Signal {
                kind: crate::model::SignalKind::Md5,
                value: value.to_owned(),
            }],
            label: label.map(|label| crate::model::ListLabel {
                scheme: "uk".into(),
                profile: None,
                label: label.into(),
            }),
            ..NewContent::default()
        })
    }

    #[test]
    fn plain_keys_are_the_signals() {
        let check = |signals: &[(&str, &str)], expected: Option<&str>| {
            assert_eq!(
                plain_key(signals.iter().copied()).as_deref(),
                expected,
                "{signals:?}"
            )
        };
        check(&[], None);
        check(&[("md5", "aa")], Some("md5:aa"));
        check(&[("sha1", "bb"), ("md5", "aa")], Some("md5:aa\nsha1:bb"));
        check(&[("md5", "aa"), ("sha1", "bb")], Some("md5:aa\nsha1:bb"));
        let long = "f".repeat(300);
        let key = plain_key([("vpdq", long.as_str())]).unwrap();
        assert_eq!(key.len(), "sha256:".len() + 64, "{key}");
        assert_ne!(key, plain_key([("vpdq", &long[1..])]).unwrap());
        // Items with an external id have none.
        let ImportChange::Upsert(mut item) = plain("aa", None) else {
            unreachable!()
        };
        assert_eq!(plain_key_of(&item).as_deref(), Some("md5:aa"));
        item.external_id = Some("1".into());
        assert_eq!(plain_key_of(&item), None);
    }

    #[test]
    fn plain_entries_are_keyed_by_their_signals() {
        let changes = [
            plain("aa", None),
            plain("bb", Some("A")),
            plain("aa", Some("B")), // the last entry for aa wins
            plain("cc", None),
            plain("dd", Some("C")),
            plain("ee", Some("D")),
            plain("ff", None),
        ];
        let plan = Plan::new(&changes).unwrap();
        assert_eq!(
            plan.plain_keys().map(|k| k.text()).collect::<Vec<_>>(),
            ["md5:bb", "md5:aa", "md5:cc", "md5:dd", "md5:ee", "md5:ff"]
        );
        let held_as = |id: i64, label: Option<&str>, in_block: bool| Held {
            id,
            said: Said {
                label_scheme: label.map(|_| "uk".into()),
                label: label.map(String::from),
                ..Said::default()
            },
            in_block,
        };
        let held: HashMap<String, Held> = [
            ("md5:aa".to_owned(), held_as(1, None, true)), // changed: now labelled B
            ("md5:cc".to_owned(), held_as(2, Some("X"), false)), // a bare hash: unchanged
            ("md5:dd".to_owned(), held_as(3, Some("C"), false)), // the same label: unchanged
            ("md5:ee".to_owned(), held_as(4, Some("X"), false)), // changed: now D
        ]
        .into();
        let steps = plan.steps(&[], &plan.held_by_text(&held));
        let updated: Vec<i64> = steps.updates.iter().map(|(id, _)| *id).collect();
        assert_eq!(updated, [1, 4]);
        assert_eq!(steps.unblock, [1]);
        let added: Vec<&str> = steps
            .inserts
            .iter()
            .map(|i| i.signals[0].value.as_str())
            .collect();
        assert_eq!(added, ["bb", "ff"]);
        assert_eq!(
            plan.counts(&HashSet::new(), &steps),
            ImportCounts {
                added: 2,
                replaced: 2,
                unchanged: 2,
                ..ImportCounts::default()
            }
        );
    }

    #[test]
    fn keys_in_a_batch_are_the_keys_as_stored() {
        let items: Vec<NewContent> = [
            plain("ab12", None),
            plain("AB12", None),
            ImportChange::Upsert(NewContent {
                signals: vec![
                    Signal {
                        kind: crate::model::SignalKind::Sha1,
                        value: "cd".into(),
                    },
                    Signal {
                        kind: crate::model::SignalKind::Md5,
                        value: "ab12".into(),
                    },
                ],
                ..NewContent::default()
            }),
        ]
        .into_iter()
        .map(|change| match change {
            ImportChange::Upsert(item) => item,
            ImportChange::Delete { .. } => unreachable!(),
        })
        .collect();
        let keys: Vec<PlainKey> = items.iter().map(|i| PlainKey::of(i).unwrap()).collect();
        for (key, item) in keys.iter().zip(&items) {
            let stored = plain_key_of(item).unwrap();
            assert_eq!(key.text(), stored);
            assert!(key.is(&stored));
            assert_eq!(key.hash(), text_hash(&stored), "{stored}");
        }
        assert!(!keys[0].is("md5:ab1") && !keys[0].is("md5:ab123") && !keys[0].is("md5;ab12"));
        assert!(keys[0].is_digest("md5", &[0xab, 0x12]));
        assert!(
            !keys[1].is_digest("md5", &[0xab, 0x12]),
            "blocks hold lower case"
        );
        assert!(!keys[0].is_digest("sha1", &[0xab, 0x12]));
        assert!(!keys[2].is_digest("md5", &[0xab, 0x12]));
        assert_ne!(keys[0], keys[1]);
        assert_eq!(keys[0], PlainKey::of(&items[0]).unwrap());
    }

    #[test]
    fn the_oldest_held_item_is_the_one_a_key_names() {
        let row = |id: i64, key: &str| (id, key.to_owned(), None, None, None, None, None, None);
        let held = held(vec![row(7, "md5:aa"), row(3, "md5:aa"), row(5, "md5:bb")]);
        assert_eq!((held["md5:aa"].id, held["md5:bb"].id), (3, 5));
    }

    #[test]
    fn external_ids_are_checked() {
        for bad in ["", "a\nb", &"x".repeat(201)] {
            assert!(Plan::new(&[delete(bad)]).is_err(), "{bad:?}");
        }
        assert!(Plan::new(&[delete(&"x".repeat(200))]).is_ok());
    }
}
