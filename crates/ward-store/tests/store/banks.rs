//! Banks: creation, lookups, updates, deletion, and the names and distances accepted.

use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, new_bank, operator, pdq, setup};

pub async fn banks(store: &impl Store) {
    let actor = operator();
    let org = store.create_org(&actor, "Hotline").await.unwrap();
    let mut wanted = NewBank {
        name: "NCMEC_HASHES".to_owned(),
        org: org.id,
        kind: BankKind::Negative,
        distance: 12,
        enabled: false,
        sharing: Sharing::Public,
        shared_with: Vec::new(),
        dispute_limit: None,
        description: "known false positives".to_owned(),
    };
    let first = store.create_bank(&actor, &wanted).await.unwrap();
    assert_eq!(first.name, wanted.name);
    assert_eq!(first.org, org.id);
    assert_eq!(first.kind, BankKind::Negative);
    assert_eq!(first.distance, 12);
    assert!(!first.enabled);
    assert_eq!(first.sharing, Sharing::Public);
    assert_eq!(first.description, "known false positives");
    assert_eq!(first.created_at, first.updated_at);

    wanted.name = "IWF_HASHES".to_owned();
    wanted.kind = BankKind::Standard;
    let second = store.create_bank(&actor, &wanted).await.unwrap();

    assert_eq!(store.bank(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(
        store.banks_named("IWF_HASHES").await.unwrap().pop(),
        Some(second.clone())
    );
    assert_eq!(store.bank(BankId(9999)).await.unwrap(), None);
    assert_eq!(store.banks_named("iwf_hashes").await.unwrap().pop(), None);
    assert_eq!(store.banks().await.unwrap(), vec![first.clone(), second]);

    assert_fails!(
        store.create_bank(&actor, &wanted).await,
        StoreError::Conflict(_)
    );
    assert_fails!(
        store
            .create_bank(&actor, &new_bank("ORPHAN", OrgId(9999)))
            .await,
        StoreError::NotFound { .. }
    );
}

pub async fn bank_names_and_distances(store: &impl Store) {
    let actor = operator();
    let org = store.create_org(&actor, "Hotline").await.unwrap();
    let long = "B".repeat(100);
    let too_long = "B".repeat(101);
    // (name, distance, the stored name or None for Invalid)
    let cases: &[(&str, u32, Option<&str>)] = &[
        ("ZERO", 0, Some("ZERO")),
        ("MAX", 255, Some("MAX")),
        ("DEFAULT", 31, Some("DEFAULT")),
        (" TRIMMED ", 31, Some("TRIMMED")),
        ("spaces inside ok", 31, Some("spaces inside ok")),
        (&long, 31, Some(&long)),
        ("TOO_FAR", 256, None),
        ("FAR_TOO_FAR", u32::MAX, None),
        (&too_long, 31, None),
        ("", 31, None),
        ("\t", 31, None),
        ("TAB\tINSIDE", 31, None),
    ];
    for (name, distance, stored) in cases {
        let bank = NewBank {
            distance: *distance,
            ..new_bank(name, org.id)
        };
        let result = store.create_bank(&actor, &bank).await;
        match stored {
            Some(stored) => {
                let bank = result.unwrap();
                assert_eq!((bank.name.as_str(), bank.distance), (*stored, *distance));
            }
            None => assert_fails!(result, StoreError::Invalid(_)),
        }
    }
    assert_eq!(store.banks().await.unwrap().len(), 6);
}

/// An update, and whether its error is the one expected.
type Refusal = (BankUpdate, fn(&StoreError) -> bool);

pub async fn bank_updates(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let other = store
        .create_bank(&s.actor, &new_bank("OTHER", s.org.id))
        .await
        .unwrap();
    let before = s.bank.clone();

    let renamed = store
        .update_bank(
            &s.actor,
            before.id,
            &BankUpdate {
                name: Some(" RENAMED ".to_owned()),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "RENAMED");
    assert!(renamed.updated_at > before.updated_at);
    assert_eq!(
        (
            renamed.distance,
            renamed.enabled,
            renamed.sharing,
            &renamed.description
        ),
        (
            before.distance,
            before.enabled,
            before.sharing,
            &before.description
        )
    );
    assert_eq!(renamed.created_at, before.created_at);

    let everything = store
        .update_bank(
            &s.actor,
            before.id,
            &BankUpdate {
                name: None,
                distance: Some(0),
                enabled: Some(false),
                sharing: Some(Sharing::Private),
                description: Some("now private".to_owned()),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(everything.name, "RENAMED");
    assert_eq!(everything.distance, 0);
    assert!(!everything.enabled);
    assert_eq!(everything.sharing, Sharing::Private);
    assert_eq!(everything.description, "now private");
    assert!(everything.updated_at > renamed.updated_at);
    assert_eq!((everything.kind, everything.org), (before.kind, before.org));
    assert_eq!(
        store.bank(before.id).await.unwrap(),
        Some(everything.clone())
    );
    assert_eq!(store.banks_named(&before.name).await.unwrap().pop(), None);

    // Nothing to change still counts as an update.
    let untouched = store
        .update_bank(&s.actor, before.id, &BankUpdate::default())
        .await
        .unwrap();
    assert!(untouched.updated_at > everything.updated_at);

    let refused: &[Refusal] = &[
        (
            BankUpdate {
                name: Some("OTHER".to_owned()),
                ..BankUpdate::default()
            },
            |e| matches!(e, StoreError::Conflict(_)),
        ),
        (
            BankUpdate {
                name: Some(String::new()),
                ..BankUpdate::default()
            },
            |e| matches!(e, StoreError::Invalid(_)),
        ),
        (
            BankUpdate {
                distance: Some(256),
                ..BankUpdate::default()
            },
            |e| matches!(e, StoreError::Invalid(_)),
        ),
    ];
    for (update, expected) in refused {
        let error = store
            .update_bank(&s.actor, before.id, update)
            .await
            .unwrap_err();
        assert!(expected(&error), "{update:?}: {error}");
    }
    // Refused updates changed nothing.
    assert_eq!(store.bank(before.id).await.unwrap(), Some(untouched));
    assert_eq!(store.bank(other.id).await.unwrap(), Some(other));
    assert_fails!(
        store
            .update_bank(&s.actor, BankId(9999), &BankUpdate::default())
            .await,
        StoreError::NotFound { .. }
    );
}

pub async fn bank_deletion(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let ids = store
        .add_content(&s.actor, s.bank.id, &[item(vec![pdq(1), pdq(2)])])
        .await
        .unwrap();

    store.delete_bank(&s.actor, s.bank.id).await.unwrap();
    assert_eq!(store.bank(s.bank.id).await.unwrap(), None);
    assert_eq!(store.banks_named(&s.bank.name).await.unwrap().pop(), None);
    assert!(store.banks().await.unwrap().is_empty());
    assert_fails!(
        store.delete_bank(&s.actor, s.bank.id).await,
        StoreError::NotFound { .. }
    );
    assert_fails!(
        store
            .update_bank(&s.actor, s.bank.id, &BankUpdate::default())
            .await,
        StoreError::NotFound { .. }
    );
    assert_fails!(
        store
            .add_content(&s.actor, s.bank.id, &[item(vec![pdq(3)])])
            .await,
        StoreError::NotFound { .. }
    );
    // Its content's signals are inactive in the feed.
    let feed = store.signal_changes(Seq(0), 100).await.unwrap();
    assert_eq!(feed.len(), 2);
    assert!(feed.iter().all(|c| !c.active && c.content == ids[0]));

    // The name is free again, and the new bank is another bank.
    let reborn = store
        .create_bank(&s.actor, &new_bank(&s.bank.name, s.org.id))
        .await
        .unwrap();
    assert_ne!(reborn.id, s.bank.id);
    assert_eq!(
        store.banks_named(&s.bank.name).await.unwrap().pop(),
        Some(reborn.clone())
    );
    // A deleted bank's name may be reused again after the new one is deleted too.
    store.delete_bank(&s.actor, reborn.id).await.unwrap();
    store
        .create_bank(&s.actor, &new_bank(&s.bank.name, s.org.id))
        .await
        .unwrap();
    assert_fails!(
        store.delete_bank(&s.actor, BankId(9999)).await,
        StoreError::NotFound { .. }
    );
}
