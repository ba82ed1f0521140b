//! API keys: made with a secret shown once, found by it until revoked, and never stored.

use ward_store::*;

use crate::assert_fails;
use crate::harness::{RawSql, operator};

pub async fn keys(store: &impl Store) {
    let actor = operator();
    let org = store.create_org(&actor, "Hotline").await.unwrap();
    let curator = store
        .create_key(&actor, org.id, Role::Curator, "curation team")
        .await
        .unwrap();
    let platform = store
        .create_key(&actor, org.id, Role::Platform, "")
        .await
        .unwrap();

    let secret = &curator.secret;
    assert_eq!(secret.len(), 45, "{secret}");
    assert!(secret.starts_with("ward_"));
    assert!(secret[5..].chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(curator.key.prefix, secret[..13]);
    assert_ne!(curator.secret, platform.secret);
    assert_eq!(curator.key.org, org.id);
    assert_eq!(curator.key.role, Role::Curator);
    assert_eq!(curator.key.label, "curation team");
    assert_eq!(curator.key.revoked_at, None);

    let found = store.authenticate(secret).await.unwrap();
    assert_eq!(found, Some(curator.key.clone()));
    assert_eq!(
        store.authenticate(&platform.secret).await.unwrap(),
        Some(platform.key.clone())
    );
    for wrong in [
        "",
        "ward_",
        &curator.key.prefix,
        &secret[..44],
        &format!("{secret}x"),
    ] {
        assert_eq!(store.authenticate(wrong).await.unwrap(), None, "{wrong:?}");
    }
    assert_eq!(
        store.keys().await.unwrap(),
        vec![curator.key.clone(), platform.key.clone()]
    );

    let revoked = store.revoke_key(&actor, curator.key.id).await.unwrap();
    let revoked_at = revoked.revoked_at.expect("a revocation time");
    assert_eq!(store.authenticate(secret).await.unwrap(), None);
    assert!(
        store
            .authenticate(&platform.secret)
            .await
            .unwrap()
            .is_some()
    );
    // Revoking twice is not an error, and keeps the first time.
    let again = store.revoke_key(&actor, curator.key.id).await.unwrap();
    assert_eq!(again.revoked_at, Some(revoked_at));
    let keys = store.keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].revoked_at, Some(revoked_at));
    assert_fails!(
        store.revoke_key(&actor, KeyId(9999)).await,
        StoreError::NotFound { .. }
    );
}

pub async fn secrets_are_never_stored(store: &impl RawSql) {
    let actor = operator();
    let org = store.create_org(&actor, "Hotline").await.unwrap();
    let new = store
        .create_key(&actor, org.id, Role::Admin, "admin")
        .await
        .unwrap();
    let values = store.every_value().await;
    assert!(
        values.iter().any(|v| v == &new.key.prefix),
        "the prefix is stored"
    );
    // Not the secret, nor anything but its prefix (13 characters) of it.
    let longer_than_prefix = &new.secret[..14];
    for value in &values {
        assert!(
            !value.contains(longer_than_prefix),
            "{value:?} holds the secret"
        );
        assert!(
            !value.contains(&new.secret[20..]),
            "{value:?} holds the secret"
        );
    }
}

pub async fn key_checks(store: &impl Store) {
    let actor = operator();
    let org = store.create_org(&actor, "Hotline").await.unwrap();
    assert_fails!(
        store.create_key(&actor, OrgId(9999), Role::Admin, "").await,
        StoreError::NotFound { .. }
    );
    assert!(
        store
            .create_key(&actor, org.id, Role::Auditor, &"l".repeat(200))
            .await
            .is_ok()
    );
    assert_fails!(
        store
            .create_key(&actor, org.id, Role::Auditor, &"l".repeat(201))
            .await,
        StoreError::Invalid(_)
    );
    assert_eq!(store.keys().await.unwrap().len(), 1);
    for &role in Role::ALL {
        let new = store.create_key(&actor, org.id, role, "").await.unwrap();
        assert_eq!(
            store.authenticate(&new.secret).await.unwrap().unwrap().role,
            role
        );
    }
}

/// Revocations are a feed in the order made, which revoking twice does not lengthen, also
/// when several writers revoke at once.
pub async fn revocations_are_a_feed(store: &impl RawSql) {
    let actor = operator();
    let org = store.create_org(&actor, "Hotline").await.unwrap();
    let mut keys = Vec::new();
    for n in 0..6 {
        let made = store
            .create_key(&actor, org.id, Role::Platform, &format!("k{n}"))
            .await
            .unwrap();
        keys.push(made.key.id);
    }
    assert_eq!(store.key_revocations(0, 100).await.unwrap(), []);
    store.revoke_key(&actor, keys[3]).await.unwrap();
    store.revoke_key(&actor, keys[1]).await.unwrap();
    store.revoke_key(&actor, keys[3]).await.unwrap(); // again: nothing new
    let all = store.key_revocations(0, 100).await.unwrap();
    assert_eq!(
        all,
        [
            KeyRevocation {
                seq: 1,
                key: keys[3]
            },
            KeyRevocation {
                seq: 2,
                key: keys[1]
            },
        ]
    );
    assert_eq!(store.key_revocations(1, 100).await.unwrap(), all[1..]);
    assert_eq!(store.key_revocations(0, 1).await.unwrap(), all[..1]);

    // Four at once, from another store on the same database as well: four more, in order.
    let other = store.another().await;
    let (a, b, c, d) = tokio::join!(
        store.revoke_key(&actor, keys[0]),
        other.revoke_key(&actor, keys[2]),
        store.revoke_key(&actor, keys[4]),
        other.revoke_key(&actor, keys[5]),
    );
    for done in [a, b, c, d] {
        done.unwrap();
    }
    let all = store.key_revocations(0, 100).await.unwrap();
    let seqs: Vec<i64> = all.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    let mut revoked: Vec<KeyId> = all.iter().map(|r| r.key).collect();
    revoked.sort();
    assert_eq!(revoked, keys);
    other.close().await;
}

pub async fn key_use_is_recorded(store: &impl Store) {
    let org = store.create_org(&operator(), "Key use").await.unwrap();
    let made = store
        .create_key(&operator(), org.id, Role::Platform, "uploads")
        .await
        .unwrap()
        .key;
    let idle = store
        .create_key(&operator(), org.id, Role::Platform, "idle")
        .await
        .unwrap()
        .key;
    assert_eq!(made.last_used_at, None);
    let last_used = |id: KeyId| async move {
        store
            .keys()
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.id == id)
            .unwrap()
            .last_used_at
    };
    store.keys_used(&[], Timestamp(5)).await.unwrap();
    store.keys_used(&[made.id], Timestamp(2_000)).await.unwrap();
    assert_eq!(last_used(made.id).await, Some(Timestamp(2_000)));
    // A late report of an earlier use moves nothing back; an unknown key changes nothing.
    store
        .keys_used(&[made.id, KeyId(987_654)], Timestamp(1_000))
        .await
        .unwrap();
    assert_eq!(last_used(made.id).await, Some(Timestamp(2_000)));
    assert_eq!(last_used(idle.id).await, None);
    // Not a change: nothing in the audit log.
    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    assert!(!events.iter().any(|e| e.action.contains("used")));
}

/// Nodes report themselves: a report replaces the node's last, the list gives those seen
/// since a time (the last seen first), a week-old node is forgotten by the next report, and
/// over-long texts are cut.
pub async fn nodes_report_themselves(store: &impl Store) {
    let day = 86_400_000;
    let node = |id: &str, seen: i64, seq: i64| Node {
        id: id.to_owned(),
        host: "host-a".to_owned(),
        version: "1.0.0".to_owned(),
        started_at: Timestamp(1_000),
        seen_at: Timestamp(seen),
        index_ready: seq > 0,
        index_seq: seq,
        index_signals: seq * 2,
        caught_up_at: Timestamp(seen - 100),
    };
    store.note_node(&node("a", 10 * day, 0)).await.unwrap();
    store.note_node(&node("b", 10 * day + 5, 7)).await.unwrap();
    store.note_node(&node("a", 10 * day + 9, 12)).await.unwrap();
    let seen = store.nodes(Timestamp(0)).await.unwrap();
    assert_eq!(
        seen,
        vec![node("a", 10 * day + 9, 12), node("b", 10 * day + 5, 7)]
    );
    assert_eq!(
        store.nodes(Timestamp(10 * day + 6)).await.unwrap(),
        vec![node("a", 10 * day + 9, 12)]
    );
    // A week later, "b" (not seen since) is forgotten; "a" reports again and stays.
    store.note_node(&node("a", 17 * day + 6, 20)).await.unwrap();
    let ids: Vec<String> = store
        .nodes(Timestamp(0))
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(ids, ["a"]);
    let long = Node {
        host: "é".repeat(150),
        ..node(&"n".repeat(300), 17 * day, 1)
    };
    store.note_node(&long).await.unwrap();
    let kept = store.nodes(Timestamp(0)).await.unwrap();
    let kept = kept.iter().find(|n| n.id.starts_with('n')).unwrap();
    assert_eq!(kept.id.len(), MAX_NODE_TEXT);
    assert_eq!(kept.host, "é".repeat(100));
}
