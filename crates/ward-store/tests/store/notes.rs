//! HMA's content notes and ratios: a bank's enabled ratio, an item's note, metadata and
//! `disabled_until`, and the signal types' ratios, with the bounds the store holds them to.

use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, pdq, setup};

pub async fn bank_enabled_ratios(store: &impl Store) {
    let s = setup(store, "Ratios").await;
    assert_eq!(s.bank.enabled_ratio, Ratio::ONE);
    let update = BankUpdate {
        enabled_ratio: Some(Ratio::new(0.25).unwrap()),
        ..BankUpdate::default()
    };
    let bank = store
        .update_bank(&s.actor, s.bank.id, &update)
        .await
        .unwrap();
    assert_eq!(bank.enabled_ratio.get(), 0.25);
    assert!(
        bank.enabled,
        "a ratio leaves the bank's enabled flag as it is"
    );
    assert_eq!(store.bank(s.bank.id).await.unwrap().unwrap(), bank);
    // Other changes leave the ratio as it is.
    let renamed = BankUpdate {
        name: Some("RATIOS_RENAMED".into()),
        ..BankUpdate::default()
    };
    let bank = store
        .update_bank(&s.actor, s.bank.id, &renamed)
        .await
        .unwrap();
    assert_eq!(bank.enabled_ratio.get(), 0.25);
    for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
        assert_fails!(Ratio::new(bad), StoreError::Invalid(_));
    }
    assert_eq!(Ratio::new(-0.0).unwrap(), Ratio::ZERO);
    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "bank.update" && e.detail["enabled_ratio"] == 0.25),
        "{events:?}"
    );
}

pub async fn content_notes(store: &impl Store) {
    let s = setup(store, "Notes").await;
    let ids = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[item(vec![pdq(1)]), item(vec![pdq(2)])],
        )
        .await
        .unwrap();
    assert_eq!(
        store.content_notes(ids[0]).await.unwrap(),
        ContentNotes::default()
    );
    let notes = ContentNotes {
        note: Some("é".repeat(rules::CONTENT_NOTE_MAX)),
        metadata: Some(r#"{"content_id": "abc", "json": {"k": [1, 2]}}"#.into()),
        disabled_until: Some(Timestamp(5_000)),
    };
    store
        .set_content_notes(&s.actor, ids[0], &notes)
        .await
        .unwrap();
    assert_eq!(store.content_notes(ids[0]).await.unwrap(), notes);
    assert_eq!(
        store.content_notes(ids[1]).await.unwrap(),
        ContentNotes::default()
    );
    // Replaced whole; empty clears.
    let note_only = ContentNotes {
        note: Some("checked".into()),
        ..ContentNotes::default()
    };
    store
        .set_content_notes(&s.actor, ids[0], &note_only)
        .await
        .unwrap();
    assert_eq!(store.content_notes(ids[0]).await.unwrap(), note_only);
    store
        .set_content_notes(&s.actor, ids[0], &ContentNotes::default())
        .await
        .unwrap();
    assert_eq!(
        store.content_notes(ids[0]).await.unwrap(),
        ContentNotes::default()
    );

    let refused = [
        ContentNotes {
            note: Some("n".repeat(rules::CONTENT_NOTE_MAX + 1)),
            ..ContentNotes::default()
        },
        ContentNotes {
            note: Some(String::new()),
            ..ContentNotes::default()
        },
        ContentNotes {
            metadata: Some("[1, 2]".into()),
            ..ContentNotes::default()
        },
        ContentNotes {
            metadata: Some("{broken".into()),
            ..ContentNotes::default()
        },
        ContentNotes {
            metadata: Some(format!(
                r#"{{"json": "{}"}}"#,
                "m".repeat(rules::CONTENT_METADATA_MAX)
            )),
            ..ContentNotes::default()
        },
    ];
    for notes in &refused {
        assert_fails!(
            store.set_content_notes(&s.actor, ids[1], notes).await,
            StoreError::Invalid(_)
        );
    }
    assert_eq!(
        store.content_notes(ids[1]).await.unwrap(),
        ContentNotes::default()
    );
    assert_fails!(
        store
            .set_content_notes(&s.actor, ContentId(999_999), &note_only)
            .await,
        StoreError::NotFound { .. }
    );
    store.remove_content(&s.actor, ids[1]).await.unwrap();
    assert_fails!(
        store.set_content_notes(&s.actor, ids[1], &note_only).await,
        StoreError::NotFound { .. }
    );
    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let logged: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.action == "content.notes")
        .collect();
    assert_eq!(logged.len(), 3, "{logged:?}");
    assert_eq!(logged[0].org, Some(s.org.id));
}

pub async fn content_due(store: &impl Store) {
    let s = setup(store, "Due").await;
    let ids = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[item(vec![pdq(1)]), item(vec![pdq(2)]), item(vec![pdq(3)])],
        )
        .await
        .unwrap();
    for (id, until) in [(ids[0], 3_000), (ids[1], 1_000), (ids[2], 9_000)] {
        let notes = ContentNotes {
            disabled_until: Some(Timestamp(until)),
            ..ContentNotes::default()
        };
        store.set_content_notes(&s.actor, id, &notes).await.unwrap();
    }
    assert_eq!(store.content_due(Timestamp(999), 10).await.unwrap(), []);
    assert_eq!(
        store.content_due(Timestamp(5_000), 10).await.unwrap(),
        [ids[1], ids[0]]
    );
    assert_eq!(
        store.content_due(Timestamp(10_000), 1).await.unwrap(),
        [ids[1]]
    );
}

pub async fn signal_type_ratios(store: &impl Store) {
    let actor = crate::harness::operator();
    assert_eq!(store.signal_type_ratios().await.unwrap(), []);
    store
        .set_signal_type_ratio(&actor, "pdq", Ratio::new(0.5).unwrap())
        .await
        .unwrap();
    store
        .set_signal_type_ratio(&actor, "video_md5", Ratio::ONE)
        .await
        .unwrap();
    store
        .set_signal_type_ratio(&actor, "pdq", Ratio::ZERO)
        .await
        .unwrap();
    assert_eq!(
        store.signal_type_ratios().await.unwrap(),
        [
            ("pdq".to_string(), Ratio::ZERO),
            ("video_md5".to_string(), Ratio::ONE)
        ]
    );
    for bad in [
        "",
        "PDQ",
        "pdq;",
        &"x".repeat(rules::SIGNAL_TYPE_NAME_MAX + 1),
    ] {
        assert_fails!(
            store.set_signal_type_ratio(&actor, bad, Ratio::ONE).await,
            StoreError::Invalid(_)
        );
    }
}
