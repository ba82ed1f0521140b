//! Imports from exchanged lists: upserts and tombstones keyed on the list's ids, labels and
//! attributes kept as given; and content added in bulk (which SQLite keeps in blocks)
//! behaving item by item exactly like any other content.

use std::collections::BTreeMap;

use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, md5, pdq, setup, whole_feed};

fn listed(id: &str, signal: Signal, label: &str) -> NewContent {
    NewContent {
        signals: vec![signal],
        source: "import:ncmec-page-1.xml".into(),
        external_id: Some(id.into()),
        label: Some(ListLabel {
            scheme: "industry".into(),
            profile: None,
            label: label.into(),
        }),
        attributes: vec![("fileName".into(), format!("{id}.jpg"))],
        ..NewContent::default()
    }
}

/// The bank's live content by external id.
async fn by_external_id(store: &impl Store, bank: BankId) -> BTreeMap<String, Content> {
    store
        .bank_contents(bank, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| Some((c.external_id.clone()?, c)))
        .collect()
}

pub async fn imports_upsert_and_tombstone(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let bank = s.bank.id;
    let first = [
        ImportChange::Upsert(listed("1", md5(1), "A1")),
        ImportChange::Upsert(listed("2", md5(2), "B2")),
        ImportChange::Upsert(item(vec![pdq(3)])),
        ImportChange::Delete {
            external_id: "9".into(),
        },
    ];
    let counts = store.import_content(&s.actor, bank, &first).await.unwrap();
    assert_eq!(
        counts,
        ImportCounts {
            added: 3,
            replaced: 0,
            removed: 0,
            missing: 1,
            unchanged: 0,
        }
    );
    let items = by_external_id(store, bank).await;
    let one = &items["1"];
    assert_eq!(
        one.label,
        Some(ListLabel {
            scheme: "industry".into(),
            profile: None,
            label: "A1".into()
        })
    );
    assert_eq!(one.attributes, [("fileName".into(), "1.jpg".into())]);
    assert_eq!(one.provenance.source, "import:ncmec-page-1.xml");
    assert_eq!(
        one.assessment, None,
        "a list's label is never turned into facts"
    );
    let seq = store.last_seq().await.unwrap();

    // A later page: 1 is updated, 2 withdrawn, 4 new and then changed within the page.
    let second = [
        ImportChange::Upsert(listed("1", md5(11), "A2")),
        ImportChange::Delete {
            external_id: "2".into(),
        },
        ImportChange::Upsert(listed("4", md5(4), "B1")),
        ImportChange::Upsert(listed("4", md5(44), "B2")),
    ];
    let counts = store.import_content(&s.actor, bank, &second).await.unwrap();
    assert_eq!(
        counts,
        ImportCounts {
            added: 1,
            replaced: 1,
            removed: 1,
            missing: 0,
            unchanged: 0,
        }
    );
    let items = by_external_id(store, bank).await;
    assert_eq!(items.keys().collect::<Vec<_>>(), ["1", "4"]);
    assert_eq!(items["1"].signals[0].value, md5(11).value);
    assert_eq!(items["1"].label.as_ref().unwrap().label, "A2");
    assert_eq!(items["4"].signals[0].value, md5(44).value);
    assert_ne!(items["1"].id, one.id, "replaced, not changed in place");
    assert!(store.content(one.id).await.unwrap().is_none());

    // The feed says what changed: the old 1 and 2 inactive, the new 1 and 4 active.
    let changes = store.signal_changes(seq, 100).await.unwrap();
    let state: BTreeMap<String, bool> = changes
        .iter()
        .map(|c| (c.value.clone(), c.active))
        .collect();
    let expected: BTreeMap<String, bool> = [
        (md5(1).value, false),
        (md5(2).value, false),
        (md5(11).value, true),
        (md5(44).value, true),
    ]
    .into();
    assert_eq!(state, expected);

    // The same page again keeps the items as they are: an import is idempotent.
    let before = by_external_id(store, bank).await;
    let again = store.import_content(&s.actor, bank, &second).await.unwrap();
    assert_eq!((again.replaced, again.missing), (2, 1));
    assert_eq!(by_external_id(store, bank).await, before);

    // Each batch is logged with what it removed.
    let events = store
        .audit_log(&AuditQuery {
            target: Some(format!("bank:{bank}")),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap();
    let imports: Vec<_> = events
        .iter()
        .filter(|e| e.action == "content.import")
        .collect();
    assert_eq!(imports.len(), 3);
    assert_eq!(
        imports[1].detail["removed_content"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Bad external ids are refused before anything is written; so is a missing bank.
    let bad = [ImportChange::Delete {
        external_id: "a\u{0}b".into(),
    }];
    assert_fails!(
        store.import_content(&s.actor, bank, &bad).await,
        StoreError::Invalid(_)
    );
    assert_fails!(
        store.import_content(&s.actor, BankId(9999), &second).await,
        StoreError::NotFound { .. }
    );
    // Adding an item with an external id the bank has is a conflict; importing replaces.
    assert_fails!(
        store
            .add_content(&s.actor, bank, &[listed("1", md5(5), "A1")])
            .await,
        StoreError::Conflict(_)
    );
}

/// What organisations said of an item (opinions) and whether it is enabled are the local
/// instance's: an upsert from the list keeps them, in place when the signals are the same
/// and carried to the new item when they are not.
pub async fn upserts_keep_local_opinions(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let platform = store.create_org(&s.actor, "Platform").await.unwrap();
    let bank = s.bank.id;
    let page = [
        ImportChange::Upsert(listed("1", md5(1), "A1")),
        ImportChange::Upsert(listed("2", md5(2), "A1")),
        ImportChange::Upsert(listed("3", md5(3), "A1")),
    ];
    store.import_content(&s.actor, bank, &page).await.unwrap();
    let first = by_external_id(store, bank).await;
    use OpinionKind::*;
    store
        .set_opinion(&s.actor, first["1"].id, platform.id, Some(Dispute))
        .await
        .unwrap();
    store
        .set_opinion(&s.actor, first["2"].id, s.org.id, Some(Confirm))
        .await
        .unwrap();
    store
        .set_content_enabled(&s.actor, first["2"].id, false)
        .await
        .unwrap();
    let seq = store.last_seq().await.unwrap();

    // 1: the same signal, a new label; 2: a new signal; 3: unchanged.
    let mut relabelled = listed("1", md5(1), "B2");
    relabelled.attributes = vec![("series".into(), "x".into())];
    let later = [
        ImportChange::Upsert(relabelled),
        ImportChange::Upsert(listed("2", md5(22), "A1")),
        ImportChange::Upsert(listed("3", md5(3), "A1")),
    ];
    let counts = store.import_content(&s.actor, bank, &later).await.unwrap();
    assert_eq!((counts.replaced, counts.added), (3, 0));
    let now = by_external_id(store, bank).await;
    let opinions = |c: &Content| -> Vec<(OrgId, OpinionKind)> {
        c.opinions.iter().map(|o| (o.org, o.kind)).collect()
    };
    // In place: the id and the opinion stay, the list's words change.
    assert_eq!(now["1"].id, first["1"].id);
    assert_eq!(opinions(&now["1"]), [(platform.id, Dispute)]);
    assert_eq!(now["1"].label.as_ref().unwrap().label, "B2");
    assert_eq!(now["1"].attributes, [("series".into(), "x".into())]);
    assert_eq!(now["1"].opinion_status(), OpinionStatus::Disputed);
    // Replaced: a new item with the new signal, the old one's opinion and enabled state.
    assert_ne!(now["2"].id, first["2"].id);
    assert_eq!(now["2"].signals[0].value, md5(22).value);
    assert_eq!(opinions(&now["2"]), [(s.org.id, Confirm)]);
    assert!(!now["2"].enabled);
    assert!(store.content(first["2"].id).await.unwrap().is_none());
    assert_eq!(now["3"], first["3"]);

    // The feed: 1 again (changed), the old 2 withdrawn, the new 2 (disabled, so inactive);
    // 3 too, as an upsert may have changed it.
    let changes = store.signal_changes(seq, 100).await.unwrap();
    let state: BTreeMap<String, bool> = changes
        .iter()
        .map(|c| (c.value.clone(), c.active))
        .collect();
    let expected: BTreeMap<String, bool> = [
        (md5(1).value, true),
        (md5(2).value, false),
        (md5(22).value, false),
        (md5(3).value, true),
    ]
    .into();
    assert_eq!(state, expected);
}

/// 100 items of one hash each (a bulk add), changed one by one.
pub async fn bulk_items_are_content_like_any_other(store: &impl Store) {
    let s = setup(store, "Importer").await;
    let other = store
        .create_bank(&s.actor, &crate::harness::new_bank("OTHER", s.org.id))
        .await
        .unwrap();
    let items: Vec<NewContent> = (0..100).map(|n| item(vec![pdq(n)])).collect();
    let ids = store
        .add_content(&s.actor, s.bank.id, &items)
        .await
        .unwrap();
    // And a run of MD5s, and one PDQ alone, in the other bank.
    let md5s: Vec<NewContent> = (0..40).map(|n| item(vec![md5(n)])).collect();
    let md5_ids = store.add_content(&s.actor, other.id, &md5s).await.unwrap();
    store
        .add_content(&s.actor, other.id, &[item(vec![pdq(1000)])])
        .await
        .unwrap();
    assert_eq!(store.last_seq().await.unwrap(), Seq(141));

    let feed = whole_feed(store, 7).await;
    assert_eq!(feed.len(), 141);
    assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(feed.iter().all(|c| c.active));
    for (n, change) in feed[..100].iter().enumerate() {
        assert_eq!(
            (change.content, &change.value, change.kind),
            (ids[n], &pdq(n as u64).value, SignalKind::Pdq)
        );
    }
    assert_eq!(feed[100].value, md5(0).value);

    let read = store.content(ids[42]).await.unwrap().unwrap();
    assert_eq!(read.signals.len(), 1);
    assert_eq!(read.signals[0].value, pdq(42).value);
    assert_eq!(read.signals[0].id, feed[42].signal);
    assert_eq!(read.provenance.added_by_key, Some(s.key.id));
    let asked = [ids[99], md5_ids[3], ids[0], ContentId(99_999)];
    let found: Vec<ContentId> = store
        .contents(&asked)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(found, asked[..3]);

    // Changes to single items: each shows in the feed as that item's latest state, once.
    let seq = store.last_seq().await.unwrap();
    store
        .set_content_enabled(&s.actor, ids[10], false)
        .await
        .unwrap();
    store.remove_content(&s.actor, ids[11]).await.unwrap();
    store
        .set_opinion(&s.actor, ids[12], s.org.id, Some(OpinionKind::Dispute))
        .await
        .unwrap();
    let changes = store.signal_changes(seq, 100).await.unwrap();
    let changed: Vec<(ContentId, bool)> = changes.iter().map(|c| (c.content, c.active)).collect();
    assert_eq!(
        changed,
        [(ids[10], false), (ids[11], false), (ids[12], true)]
    );
    let feed = whole_feed(store, 1000).await;
    assert_eq!(feed.len(), 141, "each signal once, in its latest state");
    assert!(store.content(ids[11]).await.unwrap().is_none());
    let disputed = store.content(ids[12]).await.unwrap().unwrap();
    assert_eq!(disputed.opinion_status(), OpinionStatus::Disputed);
    assert_eq!(disputed.signals[0].value, pdq(12).value);
    assert!(!store.content(ids[10]).await.unwrap().unwrap().enabled);

    // Pages of a bank's content skip the removed item and keep id order.
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = store.bank_contents(s.bank.id, after, 9).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        listed.extend(page.into_iter().map(|c| c.id));
    }
    let mut expected = ids.clone();
    expected.remove(11);
    assert_eq!(listed, expected);

    // Deleting the bank makes all its items inactive, after everything else.
    let seq = store.last_seq().await.unwrap();
    store.delete_bank(&s.actor, s.bank.id).await.unwrap();
    let changes = store.signal_changes(seq, 1000).await.unwrap();
    assert_eq!(changes.len(), 100, "every item, the removed one too");
    assert!(changes.iter().all(|c| !c.active && c.bank == s.bank.id));
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    let feed = whole_feed(store, 13).await;
    assert_eq!(feed.len(), 141);
    assert_eq!(feed.iter().filter(|c| c.active).count(), 41);

    // Added after the deletion: the ids and seqs go on from the largest given.
    let more = store
        .add_content(&s.actor, other.id, &md5s[..20])
        .await
        .unwrap();
    assert!(more[0] > ids[99]);
    assert_eq!(whole_feed(store, 1000).await.len(), 161);
}

/// The instance's signing key is made once and kept; partners are kept with their cursor.
/// A bulk add longer than a block (SQLite keeps at most 1,024 items in one): every item
/// reads back, alone, in a batch that spans blocks, in pages and in the feed.
pub async fn a_long_bulk_add_reads_back_item_by_item(store: &impl Store) {
    let s = setup(store, "Long run").await;
    let items: Vec<NewContent> = (0..2500).map(|n| item(vec![pdq(n)])).collect();
    let ids = store
        .add_content(&s.actor, s.bank.id, &items)
        .await
        .unwrap();
    let feed = whole_feed(store, 700).await;
    assert_eq!(feed.len(), 2500);
    for (n, change) in feed.iter().enumerate() {
        assert_eq!(
            (change.content, &change.value),
            (ids[n], &pdq(n as u64).value)
        );
    }
    let asked: Vec<ContentId> = [2499, 0, 1023, 1024, 2048, 1500, 2047]
        .iter()
        .map(|&n| ids[n])
        .collect();
    let found = store.contents(&asked).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), asked);
    for content in &found {
        let n = ids.iter().position(|id| *id == content.id).unwrap();
        assert_eq!(content.signals[0].value, pdq(n as u64).value);
        assert_eq!(content.signals[0].id, feed[n].signal);
    }
    let mut listed = Vec::new();
    let mut after = None;
    while let Some(last) = {
        let page = store.bank_contents(s.bank.id, after, 999).await.unwrap();
        let last = page.last().map(|c| c.id);
        listed.extend(page.into_iter().map(|c| c.id));
        last
    } {
        after = Some(last);
    }
    assert_eq!(listed, ids);
}

pub async fn instance_key_and_partners(store: &impl Store) {
    let key = store.signing_key().await.unwrap();
    assert_ne!(key, [0; 32]);
    assert_eq!(store.signing_key().await.unwrap(), key, "made once");

    let s = setup(store, "Puller").await;
    let partner = NewPartner {
        name: "Hotline A".into(),
        url: "https://a.example".into(),
        api_key: "ward_partner_key".into(),
        public_key: "ab".repeat(32),
        bank: s.bank.id,
    };
    let added = store.add_partner(&s.actor, &partner).await.unwrap();
    assert_eq!((added.cursor.as_str(), added.synced_at), ("", None));
    assert_fails!(
        store.add_partner(&s.actor, &partner).await,
        StoreError::Conflict(_)
    );
    assert_fails!(
        store
            .add_partner(
                &s.actor,
                &NewPartner {
                    name: "B".into(),
                    bank: BankId(9999),
                    ..partner.clone()
                }
            )
            .await,
        StoreError::NotFound { .. }
    );
    store.set_partner_cursor(added.id, "42").await.unwrap();
    store
        .set_partner_feedback_cursor(added.id, "7")
        .await
        .unwrap();
    let partners = store.partners().await.unwrap();
    assert_eq!(partners.len(), 1);
    assert_eq!(partners[0].cursor, "42");
    assert_eq!(partners[0].feedback_cursor, "7");
    assert!(partners[0].synced_at.is_some());
    assert_eq!(partners[0].api_key, "ward_partner_key");
    assert_fails!(
        store.set_partner_cursor(PartnerId(9999), "1").await,
        StoreError::NotFound { .. }
    );
    // The audit log names the partner, never its key.
    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let add = events.iter().find(|e| e.action == "partner.add").unwrap();
    assert!(!add.detail.to_string().contains("ward_partner_key"));

    // Made a `ward` exchange once: its bank, settings, checkpoint and sealed key kept under
    // the exchange's own name, the row (and its key in clear) gone, audited.
    let converted = ConvertedPartner {
        partner: added.id,
        config: r#"{"url":"https://a.example","partner":"Hotline A"}"#.into(),
        checkpoint: r#"{"cursor":"42","feedback_cursor":"7"}"#.into(),
        sealed: Some(b"sealed".to_vec()),
    };
    let exchange = store
        .convert_partner(&s.actor, &converted)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (exchange.api.as_str(), exchange.bank, exchange.enabled),
        ("ward", s.bank.id, true)
    );
    assert_eq!(exchange.config, converted.config);
    assert_eq!(
        exchange.status.checkpoint,
        Some(converted.checkpoint.clone())
    );
    let kept_as = credentials_name("ward", s.bank.id);
    assert_eq!(kept_as, format!("ward:{}", s.bank.id));
    let sealed = store
        .exchange_credentials(exchange.org, &kept_as)
        .await
        .unwrap();
    assert_eq!(sealed.as_deref(), Some(&b"sealed"[..]));
    assert!(store.partners().await.unwrap().is_empty());
    assert_fails!(
        store.convert_partner(&s.actor, &converted).await,
        StoreError::NotFound { .. }
    );
    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let convert = events
        .iter()
        .find(|e| e.action == "partner.convert")
        .unwrap();
    assert_eq!(convert.detail["exchange"], exchange.id.0);
    // A ward exchange's own credentials go with it; no other name is taken.
    store.delete_exchange(&s.actor, exchange.id).await.unwrap();
    let gone = store
        .exchange_credentials(exchange.org, &kept_as)
        .await
        .unwrap();
    assert!(gone.is_none());
    assert_fails!(
        store
            .set_exchange_credentials(&s.actor, exchange.org, "ward:x", Some(b"s"))
            .await,
        StoreError::Invalid(_)
    );
}
