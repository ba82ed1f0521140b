//! Feedback owed to exchanges: owed once per changed opinion of the exchange's own
//! organisation on an item the exchange keyed, superseded by a later opinion, claimed by
//! one sender at a time, retried when due, and finished once, in the audit log.

use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, operator, pdq, setup};

fn keyed(key: &str, n: u64) -> ImportChange {
    ImportChange::Upsert(NewContent {
        external_id: Some(key.into()),
        ..item(vec![pdq(n)])
    })
}

pub async fn feedback_is_owed_once_per_opinion(store: &impl Store) {
    let s = setup(store, "Feedback").await;
    let exchange = store
        .create_exchange(
            &s.actor,
            &NewExchange {
                api: "ncmec".into(),
                bank: s.bank.id,
                config: r#"{"environment":"https://exttest.cybertip.org/hashsharing"}"#.into(),
                enabled: true,
            },
        )
        .await
        .unwrap();
    store
        .import_content(&s.actor, s.bank.id, &[keyed("7-1", 1), keyed("7-2", 2)])
        .await
        .unwrap();
    let unkeyed = store
        .add_content(&s.actor, s.bank.id, &[item(vec![pdq(3)])])
        .await
        .unwrap()[0];
    let held = store.bank_contents(s.bank.id, None, 10).await.unwrap();
    let id_of = |key: &str| {
        held.iter()
            .find(|c| c.external_id.as_deref() == Some(key))
            .map(|c| c.id)
            .unwrap()
    };
    let (first, second) = (id_of("7-1"), id_of("7-2"));
    let other = store
        .create_org(&operator(), "Feedback elsewhere")
        .await
        .unwrap();
    let plain = setup(store, "Feedback plain").await;
    let plain_item = store
        .add_content(&plain.actor, plain.bank.id, &[item(vec![pdq(4)])])
        .await
        .unwrap()[0];

    let confirm = Some(OpinionKind::Confirm);
    let dispute = Some(OpinionKind::Dispute);
    store
        .set_opinion(&s.actor, first, s.org.id, confirm)
        .await
        .unwrap();
    // Said again: owes nothing more.
    store
        .set_opinion(&s.actor, first, s.org.id, confirm)
        .await
        .unwrap();
    // Owed by nothing: an item the exchange did not key, another organisation's opinion, a
    // bank no exchange fills.
    store
        .set_opinion(&s.actor, unkeyed, s.org.id, confirm)
        .await
        .unwrap();
    store
        .set_opinion(&s.actor, second, other.id, dispute)
        .await
        .unwrap();
    store
        .set_opinion(&plain.actor, plain_item, plain.org.id, confirm)
        .await
        .unwrap();
    for id in [unkeyed, second, plain_item] {
        assert_eq!(store.content_feedback(id).await.unwrap(), vec![], "{id}");
    }
    let owed = store.content_feedback(first).await.unwrap();
    assert_eq!(owed.len(), 1, "{owed:?}");
    let f = &owed[0];
    assert_eq!(
        (f.exchange, f.content, f.org, f.opinion, f.state, f.tries),
        (
            exchange.id,
            first,
            s.org.id,
            OpinionKind::Confirm,
            FeedbackState::Pending,
            0
        )
    );
    assert_eq!((f.done_at, f.last_error.as_deref()), (None, None));

    // A dispute before the confirmation was sent replaces it.
    store
        .set_opinion(&s.actor, first, s.org.id, dispute)
        .await
        .unwrap();
    let owed = store.content_feedback(first).await.unwrap();
    let states: Vec<_> = owed.iter().map(|f| (f.opinion, f.state)).collect();
    assert_eq!(
        states,
        [
            (OpinionKind::Confirm, FeedbackState::Superseded),
            (OpinionKind::Dispute, FeedbackState::Pending)
        ]
    );
    let id = owed[1].id;

    // Claimed by one sender at a time, until the claim runs out.
    let now = Timestamp::now();
    let later = Timestamp(now.0 + 60_000);
    // Only another exchange's: none.
    let elsewhere = Some(ExchangeId(exchange.id.0 + 1_000));
    assert_eq!(
        store
            .claim_feedback(now, later, 10, elsewhere)
            .await
            .unwrap(),
        vec![]
    );
    let claimed = store
        .claim_feedback(now, later, 10, Some(exchange.id))
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|f| f.id).collect::<Vec<_>>(), [id]);
    assert_eq!(
        store.claim_feedback(now, later, 10, None).await.unwrap(),
        vec![]
    );
    let expired = store
        .claim_feedback(later, Timestamp(later.0 + 1), 10, None)
        .await
        .unwrap();
    assert_eq!(expired.len(), 1, "a claim that ran out is claimed again");

    // Parts accepted are kept once each.
    store.feedback_part_done(id, "MD5").await.unwrap();
    store.feedback_part_done(id, "MD5").await.unwrap();
    store.feedback_part_done(id, "PDQ").await.unwrap();
    for bad in ["", "a,b", &"x".repeat(MAX_FEEDBACK_PART + 1)] {
        assert_fails!(
            store.feedback_part_done(id, bad).await,
            StoreError::Invalid(_)
        );
    }
    assert_fails!(
        store.feedback_part_done(-1, "MD5").await,
        StoreError::NotFound { .. }
    );

    // A failure is due again when it says, with its reason cut to the bound.
    let retry_at = Timestamp(later.0 + 60_000);
    let failed = FeedbackOutcome::Failed {
        error: "é".repeat(MAX_FEEDBACK_ERROR),
        retry_at,
    };
    let exchange_actor = Actor::operator("exchange:FEEDBACK_BANK");
    store
        .finish_feedback(&exchange_actor, id, &failed)
        .await
        .unwrap();
    let f = &store.content_feedback(first).await.unwrap()[1];
    assert_eq!(
        (f.state, f.tries, f.next_try_at),
        (FeedbackState::Pending, 1, retry_at)
    );
    assert_eq!(f.parts_done, ["MD5", "PDQ"]);
    assert!(f.last_error.as_ref().unwrap().len() <= MAX_FEEDBACK_ERROR);
    assert_eq!(
        store
            .claim_feedback(later, retry_at, 10, None)
            .await
            .unwrap(),
        vec![]
    );
    let again = store
        .claim_feedback(retry_at, Timestamp(retry_at.0 + 1), 10, None)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    store
        .finish_feedback(&exchange_actor, id, &FeedbackOutcome::Sent)
        .await
        .unwrap();
    let f = &store.content_feedback(first).await.unwrap()[1];
    assert_eq!(
        (f.state, f.tries, f.last_error.as_deref()),
        (FeedbackState::Sent, 2, None)
    );
    assert!(f.done_at.is_some());
    // Finished once.
    assert_fails!(
        store
            .finish_feedback(&exchange_actor, id, &FeedbackOutcome::Sent)
            .await,
        StoreError::Conflict(_)
    );
    assert_eq!(
        store
            .claim_feedback(Timestamp(i64::MAX / 2), Timestamp(i64::MAX / 2), 10, None)
            .await
            .unwrap(),
        vec![]
    );

    // Withdrawn before it was sent: superseded, nothing owed. Sent on its way all the same:
    // recorded as sent.
    store
        .set_opinion(&s.actor, second, s.org.id, confirm)
        .await
        .unwrap();
    let on_its_way = store
        .claim_feedback(Timestamp::now(), later, 10, None)
        .await
        .unwrap();
    assert_eq!(on_its_way.len(), 1);
    store
        .set_opinion(&s.actor, second, s.org.id, None)
        .await
        .unwrap();
    let f = &store.content_feedback(second).await.unwrap()[0];
    assert_eq!(f.state, FeedbackState::Superseded);
    let gone = FeedbackOutcome::Failed {
        error: "HTTP 503".into(),
        retry_at,
    };
    assert_fails!(
        store.finish_feedback(&exchange_actor, f.id, &gone).await,
        StoreError::Conflict(_)
    );
    store
        .finish_feedback(&exchange_actor, f.id, &FeedbackOutcome::Sent)
        .await
        .unwrap();
    assert_eq!(
        store.content_feedback(second).await.unwrap()[0].state,
        FeedbackState::Sent
    );

    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let outcomes: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.action == "exchange.feedback")
        .map(|e| {
            (
                e.target.as_str(),
                e.detail["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let (a, b) = (format!("content:{first}"), format!("content:{second}"));
    assert_eq!(
        outcomes,
        [
            (a.as_str(), "failed"),
            (a.as_str(), "sent"),
            (b.as_str(), "sent")
        ]
    );
}
