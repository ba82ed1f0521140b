//! A bulk import: 100,000 signals in batches, all stored and all in the feed. The time is
//! printed, never asserted.

use std::time::Instant;

use ward_store::*;

use crate::harness::{RawSql, item, md5, pdq, setup, whole_feed};

const SIGNALS: u64 = 100_000;
const ITEMS_PER_BATCH: u64 = 10_000;

pub async fn bulk_add(store: &impl RawSql) {
    let s = setup(store, "Importer").await;
    let start = Instant::now();
    let mut ids = Vec::new();
    // Items of one PDQ and one MD5 each.
    for batch in 0..SIGNALS / 2 / ITEMS_PER_BATCH {
        let first = batch * ITEMS_PER_BATCH;
        let items: Vec<NewContent> = (first..first + ITEMS_PER_BATCH)
            .map(|n| item(vec![pdq(n), md5(n)]))
            .collect();
        ids.extend(
            store
                .add_content(&s.actor, s.bank.id, &items)
                .await
                .unwrap(),
        );
    }
    let elapsed = start.elapsed();
    eprintln!(
        "bulk add on {:?}: {SIGNALS} signals ({} items in batches of {ITEMS_PER_BATCH}) in {:.2} s",
        store.dialect(),
        ids.len(),
        elapsed.as_secs_f64()
    );

    assert_eq!(ids.len() as u64, SIGNALS / 2);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(store.last_seq().await.unwrap(), Seq(SIGNALS as i64));
    let start = Instant::now();
    let feed = whole_feed(store, 10_000).await;
    eprintln!(
        "feed read on {:?}: {} signals in {:.2} s",
        store.dialect(),
        feed.len(),
        start.elapsed().as_secs_f64()
    );
    assert_eq!(feed.len() as u64, SIGNALS);
    assert!(feed.iter().all(|c| c.active && c.bank == s.bank.id));
    for (n, pair) in feed.chunks(2).enumerate() {
        assert_eq!(pair[0].value, pdq(n as u64).value);
        assert_eq!(pair[1].value, md5(n as u64).value);
        assert_eq!(pair[0].content, ids[n]);
        assert_eq!(pair[1].content, ids[n]);
    }
    let last = store.content(ids[ids.len() - 1]).await.unwrap().unwrap();
    assert_eq!(last.signals.len(), 2);
    let events = store
        .audit_log(&AuditQuery {
            target: Some(format!("bank:{}", s.bank.id)),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap();
    let adds = events.iter().filter(|e| e.action == "content.add").count() as u64;
    assert_eq!(adds, SIGNALS / 2 / ITEMS_PER_BATCH, "one event per call");
}
