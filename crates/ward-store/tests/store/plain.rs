//! Plain lists (entries without an external id) keyed by their signals within the bank: a
//! list imported twice, or an interrupted import run again, adds nothing twice, whether the
//! bank keeps the items as rows or (SQLite) in blocks, whoever wrote them.

use std::collections::BTreeMap;

use ward_store::*;

use crate::harness::{RawSql, item, md5, pdq, setup, whole_feed};

/// An entry of a plain list: one hash and nothing else.
fn bare(signal: Signal) -> ImportChange {
    ImportChange::Upsert(NewContent {
        source: "import:list.csv".into(),
        ..item(vec![signal])
    })
}

/// An entry of a plain CSV list with a label column.
fn labelled(signal: Signal, label: &str) -> ImportChange {
    ImportChange::Upsert(NewContent {
        label: Some(ListLabel {
            scheme: "uk".into(),
            profile: None,
            label: label.into(),
        }),
        source: "import:labelled.csv".into(),
        ..item(vec![signal])
    })
}

/// The bank's live items, by their first signal's value.
async fn items(store: &impl Store, bank: BankId) -> BTreeMap<String, Content> {
    let mut all = BTreeMap::new();
    let mut after = None;
    loop {
        let page = store.bank_contents(bank, after, 500).await.unwrap();
        let Some(last) = page.last() else {
            return all;
        };
        after = Some(last.id);
        for content in page {
            let key = content.signals[0].value.clone();
            assert!(
                all.insert(key.clone(), content).is_none(),
                "{key} is in the bank twice"
            );
        }
    }
}

/// Imports `list` in batches of `batch` entries; the counts summed.
async fn import(
    store: &impl Store,
    actor: &Actor,
    bank: BankId,
    list: &[ImportChange],
    batch: usize,
) -> ImportCounts {
    let mut counts = ImportCounts::default();
    for changes in list.chunks(batch) {
        counts.add(store.import_content(actor, bank, changes).await.unwrap());
    }
    counts
}

pub async fn plain_lists_are_keyed_by_their_signals(store: &impl RawSql) {
    let s = setup(store, "Hotline").await;
    let bank = s.bank.id;
    // 300 bare MD5s (runs long enough to be blocks on SQLite), 5 labelled PDQs (rows), and
    // the first MD5 again at the end (a list that names a hash twice).
    let mut list: Vec<ImportChange> = (0..300).map(|n| bare(md5(n))).collect();
    list.extend((0..5).map(|n| labelled(pdq(n), "A")));
    list.push(bare(md5(0)));

    // An import stopped after two batches of 100, then run again from the start.
    let first = import(store, &s.actor, bank, &list[..200], 100).await;
    assert_eq!(first.added, 200);
    let again = import(store, &s.actor, bank, &list, 100).await;
    assert_eq!(
        again,
        ImportCounts {
            added: 105,
            unchanged: 201,
            ..ImportCounts::default()
        }
    );
    let held = items(store, bank).await;
    assert_eq!(held.len(), 305, "one item for each distinct signal");

    // The same list once more, in other batches: nothing changes, not even the feed.
    let seq = store.last_seq().await.unwrap();
    let third = import(store, &s.actor, bank, &list, 77).await;
    assert_eq!((third.added, third.unchanged), (0, 306));
    assert_eq!(store.last_seq().await.unwrap(), seq);
    assert_eq!(items(store, bank).await, held);

    // What the list says of an item wins: a new label changes it in place (a block item
    // included), and a bare hash leaves a labelled item as it is.
    let changes = [labelled(md5(7), "B"), labelled(pdq(1), "C"), bare(pdq(2))];
    let counts = store
        .import_content(&s.actor, bank, &changes)
        .await
        .unwrap();
    assert_eq!((counts.replaced, counts.unchanged, counts.added), (2, 1, 0));
    let now = items(store, bank).await;
    assert_eq!(now.len(), 305);
    assert_eq!(now[&md5(7).value].id, held[&md5(7).value].id, "in place");
    assert_eq!(now[&md5(7).value].label.as_ref().unwrap().label, "B");
    assert_eq!(now[&pdq(1).value].label.as_ref().unwrap().label, "C");
    assert_eq!(now[&pdq(2).value].label.as_ref().unwrap().label, "A");
    let moved: Vec<ContentId> = store
        .signal_changes(seq, 100)
        .await
        .unwrap()
        .iter()
        .map(|c| c.content)
        .collect();
    assert_eq!(
        moved,
        [now[&md5(7).value].id, now[&pdq(1).value].id],
        "the feed tells the changed items, and only them"
    );

    // A disabled item stays disabled and single; a removed one is added again.
    let (disabled, removed) = (now[&md5(8).value].id, now[&md5(9).value].id);
    store
        .set_content_enabled(&s.actor, disabled, false)
        .await
        .unwrap();
    store.remove_content(&s.actor, removed).await.unwrap();
    let counts = import(store, &s.actor, bank, &list, 1000).await;
    // (The list labels the PDQ A again.)
    assert_eq!(
        (counts.added, counts.replaced, counts.unchanged),
        (1, 1, 303)
    );
    let now = items(store, bank).await;
    assert_eq!(now.len(), 305);
    assert_eq!(now[&pdq(1).value].label.as_ref().unwrap().label, "A");
    assert!(!now[&md5(8).value].enabled);
    assert_ne!(now[&md5(9).value].id, removed, "a new item");

    // Content added by other means is held too (a bulk add, blocks on SQLite), and so are
    // items of other kinds of entry: several signals, or one too long for a block.
    let added: Vec<NewContent> = (1000..1040).map(|n| item(vec![md5(n)])).collect();
    store.add_content(&s.actor, bank, &added).await.unwrap();
    let video = Signal {
        kind: SignalKind::Vpdq,
        value: format!("[{}]", "1".repeat(400)),
    };
    let several = ImportChange::Upsert(item(vec![md5(2000), pdq(2000)]));
    let several_reordered = ImportChange::Upsert(item(vec![pdq(2000), md5(2000)]));
    let first = store
        .import_content(&s.actor, bank, &[bare(video.clone()), several])
        .await
        .unwrap();
    assert_eq!(first.added, 2);
    let mut list: Vec<ImportChange> = (1000..1040).map(|n| bare(md5(n))).collect();
    list.extend([bare(video), several_reordered]);
    let counts = store.import_content(&s.actor, bank, &list).await.unwrap();
    assert_eq!((counts.added, counts.unchanged), (0, 42));

    // An external id is another key: an entry with one is its own item.
    let keyed = ImportChange::Upsert(NewContent {
        external_id: Some("M1".into()),
        ..item(vec![md5(3)])
    });
    let counts = store
        .import_content(&s.actor, bank, &[keyed])
        .await
        .unwrap();
    assert_eq!(counts.added, 1);
    let all = store.bank_contents(bank, None, 10_000).await.unwrap();
    let with_md5_3 = all
        .iter()
        .filter(|c| c.signals.iter().any(|x| x.value == md5(3).value))
        .count();
    assert_eq!(with_md5_3, 2);
    // Nothing is in the feed twice as live either.
    let mut live: BTreeMap<(ContentId, String), bool> = BTreeMap::new();
    for change in whole_feed(store, 1000).await {
        live.insert((change.content, change.value), change.active);
    }
    let enabled: usize = all
        .iter()
        .filter(|c| c.enabled)
        .map(|c| c.signals.len())
        .sum();
    assert_eq!(live.values().filter(|a| **a).count(), enabled);
}

pub async fn plain_keys_hold_across_writers(store: &impl RawSql) {
    let s = setup(store, "Hotline").await;
    let bank = s.bank.id;
    let other = store.another().await;
    let list: Vec<ImportChange> = (0..200).map(|n| bare(pdq(n))).collect();

    // This store learns of the bank's items, then the other one adds some and removes one.
    assert_eq!(
        import(store, &s.actor, bank, &list[..50], 50).await.added,
        50
    );
    assert_eq!(
        import(&other, &s.actor, bank, &list[..120], 50).await.added,
        70
    );
    let removed = items(&other, bank).await[&pdq(10).value].id;
    other.remove_content(&s.actor, removed).await.unwrap();
    let labelled_there = labelled(pdq(11), "B");
    other
        .import_content(&s.actor, bank, &[labelled_there])
        .await
        .unwrap();

    // This store sees all of it: only what is missing is added.
    let counts = import(store, &s.actor, bank, &list, 64).await;
    assert_eq!((counts.added, counts.unchanged), (81, 119));
    let held = items(store, bank).await;
    assert_eq!(held.len(), 200);
    assert_eq!(held[&pdq(11).value].label.as_ref().unwrap().label, "B");

    // And the other store sees what this one did.
    let counts = import(&other, &s.actor, bank, &list, 64).await;
    assert_eq!((counts.added, counts.unchanged), (0, 200));
    other.close().await;
}

pub async fn items_stored_before_keys_are_keyed_at_open(store: &impl RawSql) {
    let s = setup(store, "Hotline").await;
    let bank = s.bank.id;
    let list: Vec<ImportChange> = (0..20)
        .map(|n| labelled(md5(n), "A"))
        .chain((20..60).map(|n| bare(md5(n))))
        .collect();
    import(store, &s.actor, bank, &list, 1000).await;
    // As a store written before plain items had keys: none has one.
    let unkeyed = store
        .execute("UPDATE content SET plain_key = NULL WHERE external_id IS NULL")
        .await
        .unwrap();
    assert!(unkeyed >= 20, "{unkeyed}");
    let reopened = store.another().await;
    let still = reopened
        .execute(
            "UPDATE content SET plain_key = plain_key WHERE plain_key IS NULL \
             AND external_id IS NULL",
        )
        .await
        .unwrap();
    assert_eq!(still, 0, "every item has its key once the store is opened");
    let counts = import(&reopened, &s.actor, bank, &list, 1000).await;
    assert_eq!((counts.added, counts.unchanged), (0, 60));
    assert_eq!(items(&reopened, bank).await.len(), 60);
    reopened.close().await;
}
