//! Content: added with its signals and provenance, read back by id, by list and by bank page,
//! enabled, disabled, removed and assessed.

use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::*;

use crate::assert_fails;
use crate::harness::{RawSql, item, md5, new_bank, operator, pdq, setup};

pub async fn content_round_trip(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let assessment = Assessment {
        age_group: AgeGroup::Pubescent,
        activity: Activity::NonPenetrative,
    };
    let vpdq = Signal {
        kind: SignalKind::Vpdq,
        value: r#"[{"frame":0,"quality":100,"hash":"00","timestamp":0.0}]"#.to_owned(),
    };
    let photodna = Signal {
        kind: SignalKind::Photodna,
        value: "AAEC...as received".to_owned(),
    };
    let items = vec![
        NewContent {
            signals: vec![pdq(1), md5(1), vpdq.clone()],
            assessment: Some(assessment),
            source: "import:ncmec-2026-11.xml".to_owned(),
            ..NewContent::default()
        },
        NewContent {
            signals: vec![photodna.clone()],
            assessment: None,
            source: "api".to_owned(),
            ..NewContent::default()
        },
        NewContent {
            signals: vec![],
            assessment: None,
            source: String::new(),
            ..NewContent::default()
        },
    ];
    let before = Timestamp::now();
    let ids = store
        .add_content(&s.actor, s.bank.id, &items)
        .await
        .unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids[0] < ids[1] && ids[1] < ids[2]);

    let first = store.content(ids[0]).await.unwrap().unwrap();
    assert_eq!(first.id, ids[0]);
    assert_eq!(first.bank, s.bank.id);
    assert!(first.enabled);
    assert_eq!(first.assessment, Some(assessment));
    let signals: Vec<Signal> = first
        .signals
        .iter()
        .map(|s| Signal {
            kind: s.kind,
            value: s.value.clone(),
        })
        .collect();
    assert_eq!(signals, vec![pdq(1), md5(1), vpdq]);
    assert!(first.signals.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(first.provenance.added_by, s.actor.label);
    assert_eq!(first.provenance.added_by_key, Some(s.key.id));
    assert_eq!(first.provenance.added_by_org, Some(s.org.id));
    assert_eq!(first.provenance.source, "import:ncmec-2026-11.xml");
    assert!(first.provenance.added_at >= before);
    assert!(first.opinions.is_empty());
    assert_eq!(first.opinion_status(), OpinionStatus::Unreviewed);

    let second = store.content(ids[1]).await.unwrap().unwrap();
    assert_eq!(second.signals.len(), 1);
    assert_eq!(second.signals[0].value, photodna.value);
    assert_eq!(second.assessment, None);
    assert_eq!(second.provenance.source, "api");
    let third = store.content(ids[2]).await.unwrap().unwrap();
    assert!(third.signals.is_empty());

    // Signal ids are unique across content items.
    let mut signal_ids: Vec<SignalId> = [&first, &second]
        .iter()
        .flat_map(|c| c.signals.iter().map(|s| s.id))
        .collect();
    signal_ids.dedup();
    assert_eq!(signal_ids.len(), 4);

    // An operator's additions have no key or organisation.
    let by_operator = store
        .add_content(&operator(), s.bank.id, &[item(vec![pdq(9)])])
        .await
        .unwrap();
    let content = store.content(by_operator[0]).await.unwrap().unwrap();
    assert_eq!(content.provenance.added_by, "cli:test");
    assert_eq!(content.provenance.added_by_key, None);
    assert_eq!(content.provenance.added_by_org, None);

    assert_eq!(store.content(ContentId(9999)).await.unwrap(), None);
    assert_eq!(
        store.add_content(&s.actor, s.bank.id, &[]).await.unwrap(),
        Vec::new()
    );
}

pub async fn contents_in_order_asked(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let items: Vec<NewContent> = (0..5).map(|n| item(vec![pdq(n)])).collect();
    let ids = store
        .add_content(&s.actor, s.bank.id, &items)
        .await
        .unwrap();
    store.remove_content(&s.actor, ids[3]).await.unwrap();

    // (asked, found): unknown and removed ids are left out; an id asked twice is listed
    // twice.
    let cases: Vec<(Vec<ContentId>, Vec<ContentId>)> = vec![
        (vec![], vec![]),
        (ids.clone(), vec![ids[0], ids[1], ids[2], ids[4]]),
        (vec![ids[4], ids[0], ids[2]], vec![ids[4], ids[0], ids[2]]),
        (
            vec![ContentId(9999), ids[1], ids[3], ids[1]],
            vec![ids[1], ids[1]],
        ),
    ];
    for (asked, expected) in cases {
        let found: Vec<ContentId> = store
            .contents(&asked)
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(found, expected, "asked {asked:?}");
    }
    let both = store.contents(&[ids[2], ids[0]]).await.unwrap();
    assert_eq!(both[0], store.content(ids[2]).await.unwrap().unwrap());
    assert_eq!(both[1].signals[0].value, pdq(0).value);
}

pub async fn bank_contents_pages(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let other = store
        .create_bank(&s.actor, &crate::harness::new_bank("OTHER", s.org.id))
        .await
        .unwrap();
    let items: Vec<NewContent> = (0..7).map(|n| item(vec![pdq(n), md5(n)])).collect();
    let ids = store
        .add_content(&s.actor, s.bank.id, &items)
        .await
        .unwrap();
    store
        .add_content(&s.actor, other.id, &[item(vec![pdq(100)])])
        .await
        .unwrap();
    store.remove_content(&s.actor, ids[2]).await.unwrap();
    store
        .set_content_enabled(&s.actor, ids[4], false)
        .await
        .unwrap();

    // (after, limit, expected positions in ids)
    let cases: &[(Option<usize>, u32, &[usize])] = &[
        (None, 100, &[0, 1, 3, 4, 5, 6]),
        (None, 3, &[0, 1, 3]),
        (Some(1), 3, &[3, 4, 5]),
        (Some(5), 3, &[6]),
        (Some(6), 3, &[]),
        (None, 0, &[]),
    ];
    for (after, limit, expected) in cases {
        let page = store
            .bank_contents(s.bank.id, after.map(|i| ids[i]), *limit)
            .await
            .unwrap();
        let found: Vec<ContentId> = page.iter().map(|c| c.id).collect();
        let expected: Vec<ContentId> = expected.iter().map(|&i| ids[i]).collect();
        assert_eq!(found, expected, "after {after:?}, limit {limit}");
        assert!(page.iter().all(|c| c.signals.len() == 2));
    }
    let disabled = store
        .bank_contents(s.bank.id, Some(ids[3]), 1)
        .await
        .unwrap();
    assert!(!disabled[0].enabled);
    assert!(
        store
            .bank_contents(BankId(9999), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn add_is_all_or_nothing(store: &impl RawSql) {
    let s = setup(store, "Hotline").await;
    store
        .add_content(&s.actor, s.bank.id, &[item(vec![pdq(1)])])
        .await
        .unwrap();
    let seq = store.last_seq().await.unwrap();
    let events = store
        .audit_log(&AuditQuery::deployment())
        .await
        .unwrap()
        .len();
    let contents = store.bank_contents(s.bank.id, None, 100).await.unwrap();

    // The database refuses the last signal of the last item: nothing of the call stays.
    store.refuse_signal("refused").await;
    let mut items: Vec<NewContent> = (10..20).map(|n| item(vec![pdq(n), md5(n)])).collect();
    items.push(item(vec![
        pdq(20),
        Signal {
            kind: SignalKind::Md5,
            value: "refused".to_owned(),
        },
    ]));
    assert_fails!(
        store.add_content(&s.actor, s.bank.id, &items).await,
        StoreError::Database(_)
    );
    // A missing bank is refused before anything is written.
    assert_fails!(
        store.add_content(&s.actor, BankId(9999), &items[..1]).await,
        StoreError::NotFound { .. }
    );
    assert_eq!(store.last_seq().await.unwrap(), seq);
    assert_eq!(
        store
            .audit_log(&AuditQuery::deployment())
            .await
            .unwrap()
            .len(),
        events
    );
    assert_eq!(
        store.bank_contents(s.bank.id, None, 100).await.unwrap(),
        contents
    );
    assert_eq!(store.signal_changes(Seq(0), 100).await.unwrap().len(), 1);

    // The store goes on as before, and the failed call's ids are not in the way.
    let ids = store
        .add_content(&s.actor, s.bank.id, &items[..10])
        .await
        .unwrap();
    assert_eq!(ids.len(), 10);
    assert_eq!(store.signal_changes(seq, 100).await.unwrap().len(), 20);
}

pub async fn enable_disable_remove(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let ids = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[item(vec![pdq(1), md5(1)]), item(vec![pdq(2)])],
        )
        .await
        .unwrap();
    let (one, two) = (ids[0], ids[1]);

    store
        .set_content_enabled(&s.actor, one, false)
        .await
        .unwrap();
    assert!(!store.content(one).await.unwrap().unwrap().enabled);
    // Disabling twice is not an error.
    store
        .set_content_enabled(&s.actor, one, false)
        .await
        .unwrap();
    store
        .set_content_enabled(&s.actor, one, true)
        .await
        .unwrap();
    assert!(store.content(one).await.unwrap().unwrap().enabled);

    store.remove_content(&s.actor, two).await.unwrap();
    assert_eq!(store.content(two).await.unwrap(), None);
    assert_eq!(store.contents(&[one, two]).await.unwrap().len(), 1);
    assert_eq!(
        store
            .bank_contents(s.bank.id, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // Removed and unknown content cannot be changed.
    let assessment = Some(Assessment {
        age_group: AgeGroup::Unknown,
        activity: Activity::OtherIndecent,
    });
    for id in [two, ContentId(9999)] {
        assert_fails!(
            store.set_content_enabled(&s.actor, id, true).await,
            StoreError::NotFound { .. }
        );
        assert_fails!(
            store.remove_content(&s.actor, id).await,
            StoreError::NotFound { .. }
        );
        assert_fails!(
            store.set_assessment(&s.actor, id, assessment).await,
            StoreError::NotFound { .. }
        );
        assert_fails!(
            store
                .set_opinion(&s.actor, id, s.org.id, Some(OpinionKind::Confirm))
                .await,
            StoreError::NotFound { .. }
        );
    }
}

pub async fn assessments(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let ids = store
        .add_content(&s.actor, s.bank.id, &[item(vec![pdq(1)])])
        .await
        .unwrap();
    let id = ids[0];
    assert_eq!(store.content(id).await.unwrap().unwrap().assessment, None);
    for &age_group in AgeGroup::ALL {
        for &activity in Activity::ALL {
            let assessment = Assessment {
                age_group,
                activity,
            };
            store
                .set_assessment(&s.actor, id, Some(assessment))
                .await
                .unwrap();
            let stored = store.content(id).await.unwrap().unwrap().assessment;
            assert_eq!(stored, Some(assessment));

            // The same, given when the content is added.
            let added = store
                .add_content(
                    &s.actor,
                    s.bank.id,
                    &[NewContent {
                        assessment: Some(assessment),
                        ..item(vec![])
                    }],
                )
                .await
                .unwrap();
            let stored = store.content(added[0]).await.unwrap().unwrap().assessment;
            assert_eq!(stored, Some(assessment));
        }
    }
    store.set_assessment(&s.actor, id, None).await.unwrap();
    assert_eq!(store.content(id).await.unwrap().unwrap().assessment, None);
}

/// Text over its maximum is refused by both backends on every path in (a bank, its update,
/// content added or imported, a partner), and nothing of it is stored.
pub async fn text_over_its_maximum_is_refused(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let long = "d".repeat(rules::DESCRIPTION_MAX + 1);
    let bank = NewBank {
        description: long.clone(),
        ..new_bank("LONG", s.org.id)
    };
    assert_fails!(
        store.create_bank(&s.actor, &bank).await,
        StoreError::Invalid(_)
    );
    let update = BankUpdate {
        description: Some(long),
        ..BankUpdate::default()
    };
    assert_fails!(
        store.update_bank(&s.actor, s.bank.id, &update).await,
        StoreError::Invalid(_)
    );
    let bad = NewContent {
        attributes: vec![("Notes".into(), "v".repeat(rules::ATTRIBUTE_VALUE_MAX + 1))],
        ..item(vec![pdq(1)])
    };
    assert_fails!(
        store
            .add_content(&s.actor, s.bank.id, &[item(vec![pdq(2)]), bad.clone()])
            .await,
        StoreError::Invalid(_)
    );
    let keyed = NewContent {
        external_id: Some("x".repeat(rules::EXTERNAL_ID_MAX + 1)),
        ..item(vec![pdq(3)])
    };
    for change in [ImportChange::Upsert(bad), ImportChange::Upsert(keyed)] {
        assert_fails!(
            store.import_content(&s.actor, s.bank.id, &[change]).await,
            StoreError::Invalid(_)
        );
    }
    let partner = NewPartner {
        name: "P".into(),
        url: format!("https://{}", "u".repeat(rules::URL_MAX)),
        api_key: "ward_k".into(),
        public_key: "ab".repeat(32),
        bank: s.bank.id,
    };
    assert_fails!(
        store.add_partner(&s.actor, &partner).await,
        StoreError::Invalid(_)
    );
    // Nothing of it was stored.
    assert!(
        store
            .bank_contents(s.bank.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let banks = store.banks().await.unwrap();
    assert_eq!(banks.len(), 1);
    assert_eq!(banks[0].description, "");
    assert!(store.partners().await.unwrap().is_empty());
    // At their maxima, they are taken.
    let bank = NewBank {
        description: "é".repeat(rules::DESCRIPTION_MAX),
        ..new_bank("AT_MAX", s.org.id)
    };
    let made = store.create_bank(&s.actor, &bank).await.unwrap();
    assert_eq!(made.description.chars().count(), rules::DESCRIPTION_MAX);
    let full = NewContent {
        attributes: vec![("Notes".into(), "v".repeat(rules::ATTRIBUTE_VALUE_MAX))],
        external_id: Some("x".repeat(rules::EXTERNAL_ID_MAX)),
        ..item(vec![pdq(4)])
    };
    let counts = store
        .import_content(&s.actor, s.bank.id, &[ImportChange::Upsert(full)])
        .await
        .unwrap();
    assert_eq!(counts.added, 1);
}
