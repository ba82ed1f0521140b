//! Exchanges in the store: made for a bank of their own, leased to one node at a time,
//! progress and pages saved together and fenced by the lease, credentials kept only as
//! given (sealed by the caller) and never in the audit log.

use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, operator, pdq, setup};

fn upsert(key: &str, n: u64) -> ImportChange {
    ImportChange::Upsert(NewContent {
        external_id: Some(key.into()),
        ..item(vec![pdq(n)])
    })
}

pub async fn exchanges_fetch_under_a_lease(store: &impl Store) {
    let s = setup(store, "Exchanges").await;
    let config = r#"{"environment":"https://exttest.cybertip.org/hashsharing"}"#;
    let new = NewExchange {
        api: "ncmec".into(),
        bank: s.bank.id,
        config: config.into(),
        enabled: true,
    };
    let exchange = store.create_exchange(&s.actor, &new).await.unwrap();
    assert_eq!(
        (exchange.name.as_str(), exchange.api.as_str(), exchange.org),
        (s.bank.name.as_str(), "ncmec", s.org.id)
    );
    assert_eq!(exchange.status, FetchStatus::default(), "never fetched");
    // One exchange a bank; known types and JSON settings only.
    assert_fails!(
        store.create_exchange(&s.actor, &new).await,
        StoreError::Conflict(_)
    );
    for (api, config) in [("nope", "{}"), ("ncmec", "[1]"), ("ncmec", "not json")] {
        let bad = NewExchange {
            api: api.into(),
            config: config.into(),
            ..new.clone()
        };
        assert_fails!(
            store.create_exchange(&s.actor, &bad).await,
            StoreError::Invalid(_)
        );
    }
    let huge = NewExchange {
        config: format!(r#"{{"x":"{}"}}"#, "a".repeat(20_000)),
        ..new.clone()
    };
    assert_fails!(
        store.create_exchange(&s.actor, &huge).await,
        StoreError::Invalid(_)
    );
    assert_eq!(
        store.exchanges().await.unwrap(),
        std::slice::from_ref(&exchange)
    );

    // One node at a time.
    let at = |ms: i64| Timestamp(1_800_000_000_000 + ms);
    let lease = store
        .claim_exchange(exchange.id, "node-a", at(0), at(60_000))
        .await
        .unwrap()
        .expect("a free lease");
    assert_eq!(lease.bank, s.bank.id);
    assert_eq!(
        store
            .claim_exchange(exchange.id, "node-b", at(1_000), at(61_000))
            .await
            .unwrap(),
        None
    );
    let started = FetchProgress {
        running: Some(at(1_000)),
        ..FetchProgress::default()
    };
    let version = store
        .save_exchange_progress(&lease, &started)
        .await
        .unwrap();
    let lease = ExchangeLease { version, ..lease };

    // A page and its checkpoint, together.
    let page = [upsert("7-a", 1), upsert("7-b", 2), upsert("7-c", 3)];
    let progress = FetchProgress {
        checkpoint: Some((r#"{"get_entries_max_ts":100}"#.into(), Some(100))),
        ..FetchProgress::default()
    };
    let (counts, version) = store
        .import_exchange_page(&s.actor, &lease, &page, &progress)
        .await
        .unwrap();
    assert_eq!(counts.added, 3);
    let stale = lease.clone();
    let lease = ExchangeLease { version, ..lease };
    // A save under an old version (another node's, or this one's before it lost the
    // lease) applies nothing at all.
    let refused = [
        upsert("7-d", 4),
        ImportChange::Delete {
            external_id: "7-a".into(),
        },
    ];
    assert_fails!(
        store
            .import_exchange_page(&s.actor, &stale, &refused, &progress)
            .await,
        StoreError::Conflict(_)
    );
    assert_eq!(
        store
            .bank_contents(s.bank.id, None, 100)
            .await
            .unwrap()
            .len(),
        3
    );
    // The same page again (a fetch killed before it saved, resumed): the same items, in
    // place, nothing twice.
    let before: Vec<ContentId> = store
        .bank_contents(s.bank.id, None, 100)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    let (again, version) = store
        .import_exchange_page(&s.actor, &lease, &page, &FetchProgress::default())
        .await
        .unwrap();
    assert_eq!(again.added, 0, "{again:?}");
    let after: Vec<ContentId> = store
        .bank_contents(s.bank.id, None, 100)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(after, before);
    let lease = ExchangeLease { version, ..lease };
    let deleted = [ImportChange::Delete {
        external_id: "7-b".into(),
    }];
    let ended = FetchProgress {
        checkpoint: Some((r#"{"get_entries_max_ts":200}"#.into(), Some(200))),
        ended: Some(FetchEnd {
            at: at(5_000),
            error: None,
            up_to_date: true,
        }),
        ..FetchProgress::default()
    };
    let (counts, version) = store
        .import_exchange_page(&s.actor, &lease, &deleted, &ended)
        .await
        .unwrap();
    assert_eq!(counts.removed, 1);
    let status = store.exchange(exchange.id).await.unwrap().unwrap().status;
    assert_eq!(
        status,
        FetchStatus {
            checkpoint: Some(r#"{"get_entries_max_ts":200}"#.into()),
            checkpoint_ts: Some(200),
            running_fetch_start_ts: None,
            last_fetch_complete_ts: Some(at(5_000)),
            last_fetch_succeeded: Some(true),
            up_to_date: true,
            fetched_items: 2,
            last_error: None,
            failures: 0,
            fetch_requested_at: None,
        }
    );
    // A failed fetch keeps the checkpoint, says why, and counts.
    let lease = ExchangeLease { version, ..lease };
    let failed = FetchProgress {
        ended: Some(FetchEnd {
            at: at(9_000),
            error: Some("HTTP 503 from the exchange: ".to_owned() + &"é".repeat(3_000)),
            up_to_date: false,
        }),
        ..FetchProgress::default()
    };
    store.save_exchange_progress(&lease, &failed).await.unwrap();
    let status = store.exchange(exchange.id).await.unwrap().unwrap().status;
    assert_eq!(status.checkpoint_ts, Some(200));
    assert_eq!(status.last_fetch_succeeded, Some(false));
    assert_eq!(status.failures, 1);
    let error = status.last_error.unwrap();
    assert!(
        error.starts_with("HTTP 503") && error.len() <= 2_000,
        "{}",
        error.len()
    );

    // A fetch that ended let go of its lease: another node takes it at once.
    let b = store
        .claim_exchange(exchange.id, "node-b", at(9_500), at(120_000))
        .await
        .unwrap()
        .expect("a released lease is taken");
    assert_eq!(
        store
            .claim_exchange(exchange.id, "node-a", at(10_000), at(120_000))
            .await
            .unwrap(),
        None,
        "held by node-b now"
    );
    assert_fails!(
        store.save_exchange_progress(&lease, &started).await,
        StoreError::Conflict(_)
    );
    store.save_exchange_progress(&b, &started).await.unwrap();

    // Turned off and its settings changed, audited.
    let off = store
        .update_exchange(
            &s.actor,
            exchange.id,
            Some(false),
            Some(r#"{"only_esp_ids":[7]}"#),
        )
        .await
        .unwrap();
    assert!(!off.enabled);
    assert_eq!(off.config, r#"{"only_esp_ids":[7]}"#);
    assert_fails!(
        store
            .update_exchange(&s.actor, ExchangeId(999), Some(true), None)
            .await,
        StoreError::NotFound { .. }
    );

    // Credentials per type, as sealed by the caller; the audit log says only that they were
    // set.
    assert_eq!(
        store.exchange_credentials(s.org.id, "ncmec").await.unwrap(),
        None
    );
    store
        .set_exchange_credentials(&operator(), s.org.id, "ncmec", Some(b"sealed-bytes"))
        .await
        .unwrap();
    assert_eq!(
        store
            .exchange_credentials(s.org.id, "ncmec")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"sealed-bytes"[..])
    );
    // Each organisation's are its own.
    let other = store.create_org(&operator(), "Other").await.unwrap();
    assert_eq!(
        store.exchange_credentials(other.id, "ncmec").await.unwrap(),
        None
    );
    assert_fails!(
        store
            .set_exchange_credentials(&operator(), OrgId(999), "ncmec", Some(b"x"))
            .await,
        StoreError::NotFound { .. }
    );
    assert_fails!(
        store
            .set_exchange_credentials(&operator(), s.org.id, "nope", Some(b"x"))
            .await,
        StoreError::Invalid(_)
    );
    let audit = store
        .audit_log(&AuditQuery {
            limit: 1_000,
            ..AuditQuery::deployment()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in ["exchange.create", "exchange.update", "exchange.credentials"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert!(!format!("{audit:?}").contains("sealed-bytes"));
    store
        .set_exchange_credentials(&operator(), s.org.id, "ncmec", None)
        .await
        .unwrap();
    assert_eq!(
        store.exchange_credentials(s.org.id, "ncmec").await.unwrap(),
        None
    );

    // Deleted: gone from the list; its bank stays until deleted itself.
    store.delete_exchange(&s.actor, exchange.id).await.unwrap();
    assert!(store.exchanges().await.unwrap().is_empty());
    assert_fails!(
        store.delete_exchange(&s.actor, exchange.id).await,
        StoreError::NotFound { .. }
    );
    assert!(store.bank(s.bank.id).await.unwrap().is_some());
}

/// "Fetch now": a request any node's fetch loop sees, spent by the next claim of the
/// exchange's lease made after it (not by one made before), logged, and refused for what
/// is not there.
pub async fn a_fetch_is_asked_for_at_once(store: &impl Store) {
    let s = setup(store, "FetchNow").await;
    let new = NewExchange {
        api: "file".into(),
        bank: s.bank.id,
        config: r#"{"url":"https://example.org/list.csv","format":"csv"}"#.into(),
        enabled: true,
    };
    let exchange = store.create_exchange(&s.actor, &new).await.unwrap();
    assert_eq!(exchange.status.fetch_requested_at, None);
    let asked = store.request_fetch(&s.actor, exchange.id).await.unwrap();
    let at = asked.status.fetch_requested_at.expect("a request");
    assert_eq!(
        store.exchanges().await.unwrap()[0]
            .status
            .fetch_requested_at,
        Some(at)
    );
    let events = store
        .audit_log(&AuditQuery {
            action: Some("exchange.fetch".into()),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].target, format!("exchange:{}", exchange.id));
    assert_eq!(events[0].org, Some(s.org.id));

    // A claim from before the request leaves it; one after spends it.
    let before = Timestamp(at.0 - 1);
    store
        .claim_exchange(exchange.id, "node-a", before, before)
        .await
        .unwrap()
        .expect("a free lease");
    assert_eq!(store_status(store, exchange.id).await, Some(at));
    store
        .claim_exchange(exchange.id, "node-b", at, Timestamp(at.0 + 1))
        .await
        .unwrap()
        .expect("the lease ended");
    assert_eq!(store_status(store, exchange.id).await, None);

    assert_fails!(
        store.request_fetch(&s.actor, ExchangeId(9_999)).await,
        StoreError::NotFound { .. }
    );
    // A disabled exchange is fetched by no node: asking is refused, not left pending.
    store
        .update_exchange(&s.actor, exchange.id, Some(false), None)
        .await
        .unwrap();
    assert_fails!(
        store.request_fetch(&s.actor, exchange.id).await,
        StoreError::Conflict(_)
    );
    assert_eq!(store_status(store, exchange.id).await, None);
    store
        .update_exchange(&s.actor, exchange.id, Some(true), None)
        .await
        .unwrap();
    store.delete_bank(&s.actor, s.bank.id).await.unwrap();
    assert_fails!(
        store.request_fetch(&s.actor, exchange.id).await,
        StoreError::NotFound { .. }
    );
}

async fn store_status(store: &impl Store, id: ExchangeId) -> Option<Timestamp> {
    store
        .exchange(id)
        .await
        .unwrap()
        .expect("the exchange")
        .status
        .fetch_requested_at
}
