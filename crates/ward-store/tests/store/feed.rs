//! The index feed: every change gives a signal the next `Seq`, each signal appears once in
//! its latest state, and a reader following it with a cursor misses nothing, even while
//! several writers commit at once.

use std::collections::BTreeMap;
use std::time::Duration;

use ward_store::*;

use crate::harness::{item, md5, new_bank, pdq, setup, whole_feed};

/// The feed as a map from signal to (content, bank, active).
fn state(changes: &[SignalChange]) -> BTreeMap<SignalId, (ContentId, BankId, bool)> {
    changes
        .iter()
        .map(|c| (c.signal, (c.content, c.bank, c.active)))
        .collect()
}

/// Seqs strictly increase, and no signal appears twice.
fn assert_well_formed(changes: &[SignalChange]) {
    assert!(
        changes.windows(2).all(|w| w[0].seq < w[1].seq),
        "seqs out of order"
    );
    assert_eq!(state(changes).len(), changes.len(), "a signal listed twice");
}

pub async fn feed_order_and_latest_state(store: &impl Store) {
    assert_eq!(store.last_seq().await.unwrap(), Seq(0));
    assert!(store.signal_changes(Seq(0), 10).await.unwrap().is_empty());

    let s = setup(store, "Hotline").await;
    let other = store
        .create_bank(&s.actor, &new_bank("OTHER", s.org.id))
        .await
        .unwrap();
    let ids = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[
                item(vec![pdq(1), md5(1)]),
                item(vec![pdq(2)]),
                item(vec![pdq(3)]),
                item(vec![pdq(4)]),
            ],
        )
        .await
        .unwrap();
    let in_other = store
        .add_content(&s.actor, other.id, &[item(vec![pdq(5), md5(5)])])
        .await
        .unwrap();

    let added = store.signal_changes(Seq(0), 100).await.unwrap();
    assert_well_formed(&added);
    assert_eq!(added.len(), 7);
    assert!(added.iter().all(|c| c.active));
    // Seqs and signals follow the order in which they were given.
    let values: Vec<&str> = added.iter().map(|c| c.value.as_str()).collect();
    let expected = [pdq(1), md5(1), pdq(2), pdq(3), pdq(4), pdq(5), md5(5)];
    assert_eq!(
        values,
        expected
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(added[1].kind, SignalKind::Md5);
    assert_eq!(added[0].content, ids[0]);
    assert_eq!(added[5].bank, other.id);
    assert_eq!(store.last_seq().await.unwrap(), added[6].seq);
    let after_adding = store.last_seq().await.unwrap();

    // Changes: content 0 disabled, content 1 removed, content 2 disabled then enabled, the
    // other bank deleted; content 3 is untouched.
    store
        .set_content_enabled(&s.actor, ids[0], false)
        .await
        .unwrap();
    store.remove_content(&s.actor, ids[1]).await.unwrap();
    store
        .set_content_enabled(&s.actor, ids[2], false)
        .await
        .unwrap();
    store
        .set_content_enabled(&s.actor, ids[2], true)
        .await
        .unwrap();
    store.delete_bank(&s.actor, other.id).await.unwrap();
    // Changes that touch no signal's state give no seq.
    store
        .set_content_enabled(&s.actor, ids[3], true)
        .await
        .unwrap();
    store
        .update_bank(
            &s.actor,
            s.bank.id,
            &BankUpdate {
                enabled: Some(false),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();

    let all = store.signal_changes(Seq(0), 100).await.unwrap();
    assert_well_formed(&all);
    assert_eq!(all.len(), 7, "every signal ever stored, once");
    let active: Vec<(&str, bool)> = all.iter().map(|c| (c.value.as_str(), c.active)).collect();
    assert_eq!(
        active,
        vec![
            // Untouched first, then in the order of the changes.
            (pdq(4).value.as_str(), true),
            (pdq(1).value.as_str(), false),
            (md5(1).value.as_str(), false),
            (pdq(2).value.as_str(), false),
            (pdq(3).value.as_str(), true),
            (pdq(5).value.as_str(), false),
            (md5(5).value.as_str(), false),
        ]
    );
    assert_eq!(all[5].content, in_other[0]);
    // A bank's own `enabled` flag is applied at match time, not in the feed.
    assert!(all[0].active);

    // Each change took the next seqs: 2 + 1 + 1 + 1 + 2 signals after the adds.
    assert_eq!(store.last_seq().await.unwrap(), Seq(after_adding.0 + 7));
    assert_eq!(store.last_seq().await.unwrap(), all[6].seq);
    let since = store.signal_changes(after_adding, 100).await.unwrap();
    assert_eq!(since.len(), 6);
    assert_eq!(since, all[1..]);
    assert!(
        store
            .signal_changes(store.last_seq().await.unwrap(), 100)
            .await
            .unwrap()
            .is_empty()
    );

    // Any page size reads the same feed.
    for page in [1, 2, 3, 7, 1000] {
        assert_eq!(whole_feed(store, page).await, all, "pages of {page}");
    }
    assert!(store.signal_changes(Seq(0), 0).await.unwrap().is_empty());

    // An assessment or an opinion changes what a match says about the content: its signals
    // come again, still active, so that every node learns of it.
    let before = store.last_seq().await.unwrap();
    store.set_assessment(&s.actor, ids[3], None).await.unwrap();
    store
        .set_opinion(&s.actor, ids[3], s.org.id, Some(OpinionKind::Dispute))
        .await
        .unwrap();
    let since = store.signal_changes(before, 100).await.unwrap();
    assert_eq!(since.len(), 1, "one signal, in its latest state");
    assert_eq!(
        (since[0].value.as_str(), since[0].content, since[0].active),
        (pdq(4).value.as_str(), ids[3], true)
    );
    assert_eq!(store.last_seq().await.unwrap(), Seq(before.0 + 2));
}

/// Reads the feed after `cursor` until it is exhausted, applying each change to `seen` and
/// moving the cursor.
async fn follow(
    store: &impl Store,
    seen: &mut BTreeMap<SignalId, (ContentId, BankId, bool)>,
    cursor: &mut Seq,
) {
    loop {
        let changes = store.signal_changes(*cursor, 50).await.unwrap();
        assert!(changes.iter().all(|c| c.seq > *cursor));
        assert_well_formed(&changes);
        let Some(last) = changes.last() else {
            return;
        };
        *cursor = last.seq;
        seen.extend(state(&changes));
    }
}

/// Several writers add, disable and enable content at once while a reader follows the feed
/// with a cursor. Seqs are given in one transaction and committed in another order unless
/// the store serialises them; a reader would then skip the smaller seq committed last.
pub async fn feed_follows_concurrent_writers<S: Store + Clone>(store: &S) {
    const WRITERS: u64 = 4;
    const ROUNDS: u64 = 40;

    let s = setup(store, "Hotline").await;
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let (store, actor, bank) = (store.clone(), s.actor.clone(), s.bank.id);
        writers.spawn(async move {
            for round in 0..ROUNDS {
                let n = (writer * ROUNDS + round) * 10;
                let items: Vec<NewContent> = (n..n + 1 + round % 5)
                    .map(|n| item(vec![pdq(n), md5(n)]))
                    .collect();
                let ids = store.add_content(&actor, bank, &items).await.unwrap();
                if round % 3 == 0 {
                    store
                        .set_content_enabled(&actor, ids[0], false)
                        .await
                        .unwrap();
                }
                if round % 6 == 0 {
                    store
                        .set_content_enabled(&actor, ids[0], true)
                        .await
                        .unwrap();
                }
                if round % 7 == 0 {
                    store
                        .remove_content(&actor, ids[ids.len() - 1])
                        .await
                        .unwrap();
                }
            }
        });
    }

    // The reader: applies each change it sees to its map and moves its cursor.
    let mut seen = BTreeMap::new();
    let mut cursor = Seq(0);
    let mut polls = 0;
    while !writers.is_empty() {
        follow(store, &mut seen, &mut cursor).await;
        polls += 1;
        while let Some(done) = writers.try_join_next() {
            done.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    follow(store, &mut seen, &mut cursor).await;

    let everything = whole_feed(store, 10_000).await;
    assert_well_formed(&everything);
    assert_eq!(cursor, store.last_seq().await.unwrap());
    let expected_signals: u64 = (0..ROUNDS).map(|round| 2 * (1 + round % 5)).sum();
    assert_eq!(everything.len() as u64, WRITERS * expected_signals);
    assert_eq!(seen, state(&everything), "the reader missed a change");
    assert!(polls > 1, "the reader only read once");
}
