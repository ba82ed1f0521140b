//! Sharing and the dispute policy: banks shared with named organisations, the feed range a
//! change of sharing gives the bank's live items, and items disabled by enough disputes.

use serde_json::json;
use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, new_bank, operator, pdq};

pub async fn sharing_with_named_organisations(store: &impl Store) {
    let actor = operator();
    let hotline = store.create_org(&actor, "Hotline").await.unwrap();
    let platform = store.create_org(&actor, "Platform").await.unwrap();
    let ngo = store.create_org(&actor, "NGO").await.unwrap();
    let outsider = store.create_org(&actor, "Outsider").await.unwrap();
    let bank = store
        .create_bank(
            &actor,
            &NewBank {
                sharing: Sharing::Organisations,
                shared_with: vec![ngo.id, platform.id, ngo.id],
                ..new_bank("NAMED", hotline.id)
            },
        )
        .await
        .unwrap();
    // In id order, each once.
    assert_eq!(bank.shared_with, vec![platform.id, ngo.id]);
    assert_eq!(bank.reshared, (Seq(0), Seq(0)));
    assert_eq!(store.bank(bank.id).await.unwrap(), Some(bank.clone()));
    // (organisation, whether it sees the bank)
    let sees = |bank: &Bank| {
        [hotline.id, platform.id, ngo.id, outsider.id].map(|org| bank.shared_with_org(org))
    };
    assert_eq!(sees(&bank), [true, true, true, false]);

    // Some items: one removed, and (on SQLite) a bulk run kept as a block.
    let mut items: Vec<NewContent> = (0..20).map(|n| item(vec![pdq(n)])).collect();
    items.push(item(vec![pdq(100), pdq(101)]));
    let ids = store.add_content(&actor, bank.id, &items).await.unwrap();
    store.remove_content(&actor, ids[0]).await.unwrap();
    let live: Vec<ContentId> = ids[1..].to_vec();

    // A change that is not to the sharing leaves the range alone.
    let described = store
        .update_bank(
            &actor,
            bank.id,
            &BankUpdate {
                description: Some("for the platform and the NGO".into()),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(described.reshared, (Seq(0), Seq(0)));
    // Neither does naming the same organisations again.
    let same = store
        .update_bank(
            &actor,
            bank.id,
            &BankUpdate {
                shared_with: Some(vec![ngo.id, platform.id]),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(same.reshared, (Seq(0), Seq(0)));

    // Narrowed to the platform: every live item, and only those, takes a seq in the range.
    let before = store.last_seq().await.unwrap();
    let narrowed = store
        .update_bank(
            &actor,
            bank.id,
            &BankUpdate {
                shared_with: Some(vec![platform.id]),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(narrowed.shared_with, vec![platform.id]);
    assert_eq!(sees(&narrowed), [true, true, false, false]);
    let (after, until) = narrowed.reshared;
    assert_eq!(after, before);
    assert_eq!(until, store.last_seq().await.unwrap());
    let changes = store.signal_changes(after, 1000).await.unwrap();
    assert_eq!(changes.len(), 21, "20 live items, one with two signals");
    assert!(changes.iter().all(|c| c.seq <= until && c.active));
    // (In any order: on SQLite, rows come before blocks.)
    let mut seen: Vec<ContentId> = changes.iter().map(|c| c.content).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, live);
    assert_eq!(store.bank(bank.id).await.unwrap(), Some(narrowed.clone()));

    // Widened to every member: a new range, after the first.
    let widened = store
        .update_bank(
            &actor,
            bank.id,
            &BankUpdate {
                sharing: Some(Sharing::Members),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(widened.reshared.0, until);
    let again = store.signal_changes(until, 1000).await.unwrap();
    assert_eq!(again.len(), 21);
    assert!(again.iter().all(|c| c.seq <= widened.reshared.1));
    assert_eq!(sees(&widened), [true; 4]);
    // The list is kept under other settings, and applies again when named.
    assert_eq!(widened.shared_with, vec![platform.id]);
    let private = store
        .update_bank(
            &actor,
            bank.id,
            &BankUpdate {
                sharing: Some(Sharing::Private),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sees(&private), [true, false, false, false]);

    // An unknown organisation is refused and changes nothing.
    assert_fails!(
        store
            .update_bank(
                &actor,
                bank.id,
                &BankUpdate {
                    sharing: Some(Sharing::Organisations),
                    shared_with: Some(vec![ngo.id, OrgId(9999)]),
                    ..BankUpdate::default()
                },
            )
            .await,
        StoreError::NotFound { .. }
    );
    assert_eq!(store.bank(bank.id).await.unwrap(), Some(private));
    assert_fails!(
        store
            .create_bank(
                &actor,
                &NewBank {
                    shared_with: vec![OrgId(9999)],
                    ..new_bank("NOBODY", hotline.id)
                },
            )
            .await,
        StoreError::NotFound { .. }
    );
    assert_eq!(store.banks_named("NOBODY").await.unwrap().pop(), None);

    // The change is in the audit log.
    let events = store
        .audit_log(&AuditQuery {
            target: Some(format!("bank:{}", bank.id)),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "bank.update" && e.detail["shared_with"] == json!([platform.id])),
        "{events:?}"
    );
}

pub async fn dispute_policy(store: &impl Store) {
    let actor = operator();
    let hotline = store.create_org(&actor, "Hotline").await.unwrap();
    let orgs = [
        store.create_org(&actor, "Platform").await.unwrap().id,
        store.create_org(&actor, "NGO").await.unwrap().id,
        store.create_org(&actor, "Partner").await.unwrap().id,
    ];
    let bank = store
        .create_bank(
            &actor,
            &NewBank {
                dispute_limit: Some(2),
                ..new_bank("POLICY", hotline.id)
            },
        )
        .await
        .unwrap();
    assert_eq!(bank.dispute_limit, Some(2));
    let items: Vec<NewContent> = (0..20).map(|n| item(vec![pdq(n)])).collect();
    let ids = store.add_content(&actor, bank.id, &items).await.unwrap();
    let enabled = |id: ContentId| async move { store.content(id).await.unwrap().unwrap().enabled };
    use OpinionKind::*;

    // Confirmations do not count; one dispute is below the limit; a second organisation's
    // dispute reaches it.
    let id = ids[3];
    store
        .set_opinion(&actor, id, orgs[0], Some(Confirm))
        .await
        .unwrap();
    store
        .set_opinion(&actor, id, orgs[1], Some(Dispute))
        .await
        .unwrap();
    assert!(enabled(id).await);
    // The same organisation again is still one dispute.
    store
        .set_opinion(&actor, id, orgs[1], Some(Dispute))
        .await
        .unwrap();
    assert!(enabled(id).await);
    let before = store.last_seq().await.unwrap();
    store
        .set_opinion(&actor, id, orgs[0], Some(Dispute))
        .await
        .unwrap();
    assert!(!enabled(id).await);
    // Disabled in the feed, so nodes and partners withdraw it.
    let changes = store.signal_changes(before, 10).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].content, changes[0].active), (id, false));
    let events = store
        .audit_log(&AuditQuery {
            target: Some(format!("content:{id}")),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap();
    let disabled = events
        .iter()
        .find(|e| e.action == "content.disable")
        .expect("the policy's event");
    assert_eq!(disabled.actor, "policy:disputes");
    assert_eq!(
        disabled.detail,
        json!({"policy": "disputes", "disputes": 2, "limit": 2})
    );
    // Re-enabled by hand, it stays enabled until another dispute is given.
    store.set_content_enabled(&actor, id, true).await.unwrap();
    assert!(enabled(id).await);
    store
        .set_opinion(&actor, id, orgs[2], Some(Dispute))
        .await
        .unwrap();
    assert!(!enabled(id).await);

    // Without a policy, disputes never disable.
    let off = store
        .update_bank(
            &actor,
            bank.id,
            &BankUpdate {
                dispute_limit: Some(None),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(off.dispute_limit, None);
    for org in orgs {
        store
            .set_opinion(&actor, ids[5], org, Some(Dispute))
            .await
            .unwrap();
    }
    assert!(enabled(ids[5]).await);
    // A limit of one: the first dispute disables (an item kept in a block, on SQLite).
    let one = store
        .update_bank(
            &actor,
            bank.id,
            &BankUpdate {
                dispute_limit: Some(Some(1)),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(one.dispute_limit, Some(1));
    store
        .set_opinion(&actor, ids[9], orgs[2], Some(Dispute))
        .await
        .unwrap();
    assert!(!enabled(ids[9]).await);
    assert!(enabled(ids[10]).await);
    assert_fails!(
        store
            .update_bank(
                &actor,
                bank.id,
                &BankUpdate {
                    dispute_limit: Some(Some(0)),
                    ..BankUpdate::default()
                },
            )
            .await,
        StoreError::Invalid(_)
    );
    assert_eq!(store.bank(bank.id).await.unwrap(), Some(one));
}
