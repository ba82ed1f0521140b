//! Opinions: one per organisation and content item, replaced or cleared, adding up to a
//! status in which a dispute wins.

use serde_json::json;
use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, operator, pdq, setup};

pub async fn opinions(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let platform = store.create_org(&operator(), "Platform").await.unwrap();
    let ids = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[item(vec![pdq(1)]), item(vec![pdq(2)])],
        )
        .await
        .unwrap();
    let id = ids[0];
    let status = |content: Option<Content>| {
        let content = content.unwrap();
        let kinds: Vec<(OrgId, OpinionKind)> =
            content.opinions.iter().map(|o| (o.org, o.kind)).collect();
        (content.opinion_status(), kinds)
    };
    use OpinionKind::*;
    use OpinionStatus::*;

    // Given in the order platform, hotline; listed by organisation id.
    store
        .set_opinion(&s.actor, id, platform.id, Some(Confirm))
        .await
        .unwrap();
    assert_eq!(
        status(store.content(id).await.unwrap()),
        (Confirmed, vec![(platform.id, Confirm)])
    );
    store
        .set_opinion(&s.actor, id, s.org.id, Some(Dispute))
        .await
        .unwrap();
    assert_eq!(
        status(store.content(id).await.unwrap()),
        (Disputed, vec![(s.org.id, Dispute), (platform.id, Confirm)])
    );
    // An organisation's new opinion replaces its old one.
    store
        .set_opinion(&s.actor, id, s.org.id, Some(Confirm))
        .await
        .unwrap();
    assert_eq!(
        status(store.content(id).await.unwrap()),
        (Confirmed, vec![(s.org.id, Confirm), (platform.id, Confirm)])
    );
    store
        .set_opinion(&s.actor, id, platform.id, Some(Dispute))
        .await
        .unwrap();
    let content = store.content(id).await.unwrap().unwrap();
    assert_eq!(content.opinion_status(), Disputed);
    assert!(content.opinions.iter().all(|o| o.at.0 > 0));
    // The other item is untouched; lists and pages carry opinions too.
    assert_eq!(
        status(store.content(ids[1]).await.unwrap()),
        (Unreviewed, vec![])
    );
    let listed = store.contents(&[id]).await.unwrap();
    assert_eq!(listed[0].opinions, content.opinions);
    let page = store.bank_contents(s.bank.id, None, 1).await.unwrap();
    assert_eq!(page[0].opinions, content.opinions);

    // Clearing.
    store
        .set_opinion(&s.actor, id, platform.id, None)
        .await
        .unwrap();
    assert_eq!(
        status(store.content(id).await.unwrap()),
        (Confirmed, vec![(s.org.id, Confirm)])
    );
    // Clearing what is not there is not an error, nor a change the feed tells.
    let seq = store.last_seq().await.unwrap();
    store
        .set_opinion(&s.actor, id, platform.id, None)
        .await
        .unwrap();
    assert_eq!(store.last_seq().await.unwrap(), seq);
    // Neither is an opinion given again (as a partner's feedback may be).
    store
        .set_opinion(&s.actor, id, s.org.id, Some(Confirm))
        .await
        .unwrap();
    assert_eq!(store.last_seq().await.unwrap(), seq);
    store
        .set_opinion(&s.actor, id, s.org.id, None)
        .await
        .unwrap();
    assert_eq!(
        status(store.content(id).await.unwrap()),
        (Unreviewed, vec![])
    );

    assert_fails!(
        store
            .set_opinion(&s.actor, id, OrgId(9999), Some(Confirm))
            .await,
        StoreError::NotFound { .. }
    );
    assert_fails!(
        store
            .set_opinion(&s.actor, ContentId(9999), s.org.id, Some(Confirm))
            .await,
        StoreError::NotFound { .. }
    );

    let actions: Vec<(String, serde_json::Value)> = store
        .audit_log(&AuditQuery {
            target: Some(format!("content:{id}")),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.detail))
        .collect();
    let (hotline, other) = (s.org.id, platform.id);
    let set = |org: OrgId, opinion: &str| {
        (
            "opinion.set".to_owned(),
            json!({ "org": org, "opinion": opinion }),
        )
    };
    let clear = |org: OrgId| ("opinion.clear".to_owned(), json!({ "org": org }));
    assert_eq!(
        actions,
        vec![
            set(other, "confirm"),
            set(hotline, "dispute"),
            set(hotline, "confirm"),
            set(other, "dispute"),
            clear(other),
            clear(other),
            set(hotline, "confirm"),
            clear(hotline),
        ]
    );
}
