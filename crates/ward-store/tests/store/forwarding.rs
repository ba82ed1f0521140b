//! Reports that cross borders, between two stores standing for two hotlines: a URL hosted
//! where the partner covers is forwarded rather than noticed, taken in by the partner as a
//! URL of its own (once, however often it is forwarded or reported), its assessment, notice
//! and removal told back; a decline and a timeout give the report back to the origin; pages
//! applied twice or out of order change nothing.

use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::*;

use crate::assert_fails;
use crate::harness::{RawSql, operator};
use crate::hotlines::{self, hotline};

pub async fn forwarding_between_hotlines(store: &AnyStore) {
    let other = hotlines::beside(store).await;
    check_forwarding(store.clone(), other.store.clone()).await;
    hotlines::remove(other).await;
}

async fn check_forwarding(a_store: AnyStore, b_store: AnyStore) {
    let (a_store, b_store) = (&a_store, &b_store);
    // A covers no country for B; B covers Belgium for A.
    let a = hotline(a_store, "Hotline A", "hotline-b", &["be"]).await;
    let b = hotline(b_store, "Hotline B", "hotline-a", &[]).await;
    let abuse = Assessment {
        age_group: AgeGroup::Prepubescent,
        activity: Activity::Penetrative,
    };
    for (store, host) in [
        (a_store, "be"),
        (a_store, "fr"),
        (b_store, "be"),
        (b_store, "fr"),
    ]
    .map(|(store, country)| (store.clone(), format!("{country}.example")))
    {
        let email = format!("abuse@{host}");
        store
            .set_host_contact(&operator(), &host, Some(&email), None)
            .await
            .unwrap();
    }
    assert_fails!(
        a_store
            .set_forwarding_partner(
                &operator(),
                ExchangeId(9999),
                &NewForwardingPartner {
                    countries: vec!["NL".into()],
                    enabled: true,
                    ack_timeout_ms: 60_000,
                },
            )
            .await,
        StoreError::NotFound { .. }
    );

    // A URL hosted in Belgium is forwarded, not noticed; one in France stays with A.
    let hosted_be = "https://be.example/1.jpg";
    let be = a.reported(hosted_be, "BE").await;
    let fr = a.reported("https://fr.example/1.jpg", "FR").await;
    for id in [be, fr] {
        a.assess(
            id,
            Decision::Abuse {
                assessment: abuse,
                bank: None,
            },
        )
        .await;
    }
    let now = Timestamp::now();
    assert_eq!(
        a_store.open_notices(now).await.unwrap(),
        1,
        "France's URL only"
    );
    assert!(a_store.notices(be).await.unwrap().is_empty());
    assert_eq!(a_store.notices(fr).await.unwrap().len(), 1);
    assert!(a_store.url_forwards(fr).await.unwrap().is_empty());
    let out = a.forward(be).await;
    assert_eq!(
        (
            out.direction,
            out.state,
            out.country.as_str(),
            out.partner.as_str()
        ),
        (ForwardDirection::Out, ForwardState::Sent, "BE", "hotline-b")
    );
    assert_eq!(
        a_store.open_notices(now).await.unwrap(),
        0,
        "forwarded once"
    );

    // What the forward carries: never the reporter's e-mail or words.
    let page = a_store.forwarding_page(a.partner, 0, 500).await.unwrap();
    assert_eq!(page.len(), 1);
    let text = serde_json::to_string(&page[0].1).unwrap();
    assert!(
        !text.contains("reporter@") && !text.contains("reporter's words"),
        "{text}"
    );
    let ForwardMessage::Forward {
        url,
        country,
        origin,
        ..
    } = &page[0].1
    else {
        panic!("{:?}", page[0].1)
    };
    assert_eq!((url.as_str(), country.as_str()), (hosted_be, "BE"));
    assert_eq!(origin.reference, be.0.to_string());
    assert_eq!(
        origin.assessment.as_ref().and_then(|a| a.assessment()),
        Some(abuse)
    );
    assert_eq!(origin.assessment.as_ref().unwrap().uk.as_deref(), Some("A"));
    assert_eq!(origin.assessed_by, "analyst");
    assert_eq!(origin.signals.len(), 1);

    // B takes it in as a URL of its own, and says so; two nodes of B applying the same
    // page at once apply it once.
    let second = b_store.another().await;
    let messages: Vec<ForwardMessage> = page.iter().map(|(_, m)| m.clone()).collect();
    let cursor = page[0].0.to_string();
    let intake = Actor::intake();
    let (one, two) = tokio::join!(
        b_store.apply_forwarding_page(&intake, b.partner, "", &messages, &cursor),
        second.apply_forwarding_page(&intake, b.partner, "", &messages, &cursor),
    );
    let outcomes = [&one, &two];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(
                o,
                Ok(ForwardingApplied {
                    applied: 1,
                    skipped: 0
                })
            ))
            .count(),
        1,
        "{one:?} {two:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(StoreError::Conflict(_)))),
        "{one:?} {two:?}"
    );
    second.close().await;
    let url_b = b.url(hosted_be).await;
    assert_eq!((url_b.state, url_b.reports), (UrlState::Received, 0));
    let held = b_store.forwarding_partners().await.unwrap()[0]
        .cursor
        .clone();
    // The same page again (a replay, or another node's pull) changes nothing.
    let again = a_store.forwarding_page(a.partner, 0, 500).await.unwrap();
    let messages: Vec<ForwardMessage> = again.into_iter().map(|(_, m)| m).collect();
    assert_fails!(
        b_store
            .apply_forwarding_page(&Actor::intake(), b.partner, "", &messages, &held)
            .await,
        StoreError::Conflict(_)
    );
    assert_eq!(b.pull(&a).await, ForwardingApplied::default());
    assert_eq!(
        b_store
            .forwards(ForwardDirection::In, 0, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(a.pull(&b).await.applied, 1);
    assert_eq!(a.forward(be).await.state, ForwardState::Received);

    // B works it: assessed, noticed, removed; A hears each, and the removal closes it.
    b.fetched(url_b.id, None).await;
    b.assess(
        url_b.id,
        Decision::Abuse {
            assessment: abuse,
            bank: None,
        },
    )
    .await;
    assert_eq!(
        b_store.open_notices(now).await.unwrap(),
        1,
        "B notices the host"
    );
    let (notice, _) = b_store
        .claim_notices(now, Timestamp(now.0 + 60_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let sent = NoticeOutcome::Sent {
        next_due_at: Timestamp(now.0 + 86_400_000),
        check_at: Timestamp(now.0 + 3_600_000),
    };
    b_store
        .record_notice(&Actor::intake(), notice.id, &sent)
        .await
        .unwrap();
    // Sent again: A is told of the first notice only.
    b_store
        .record_notice(&Actor::intake(), notice.id, &sent)
        .await
        .unwrap();
    assert_eq!(a.pull(&b).await.applied, 2);
    let out = a.forward(be).await;
    assert_eq!(out.state, ForwardState::Noticed);
    assert_eq!(
        out.assessment.as_ref().and_then(|a| a.assessment()),
        Some(abuse)
    );
    assert!(out.noticed_at.is_some());
    assert_eq!(
        a_store.reported_url(be).await.unwrap().unwrap().state,
        UrlState::Noticed
    );
    let removed_at = Timestamp(now.0 + 5_000);
    b_store
        .record_recheck(&Actor::intake(), url_b.id, removed_at, true, removed_at)
        .await
        .unwrap();
    assert_eq!(a.pull(&b).await.applied, 1);
    let out = a.forward(be).await;
    assert_eq!(
        (out.state, out.removed_at),
        (ForwardState::Removed, Some(removed_at))
    );
    let a_url = a_store.reported_url(be).await.unwrap().unwrap();
    assert_eq!(
        (a_url.state, a_url.removed_at),
        (UrlState::Removed, Some(removed_at))
    );
    let in_b = b.forward(url_b.id).await;
    assert_eq!(
        (in_b.direction, in_b.state),
        (ForwardDirection::In, ForwardState::Removed)
    );
    assert_eq!(in_b.remote_id, Some(out.id));

    // B declines another: A has it back and notices the host itself.
    let declined = a.reported("https://be.example/2.jpg", "BE").await;
    a.assess(
        declined,
        Decision::Abuse {
            assessment: abuse,
            bank: None,
        },
    )
    .await;
    assert_eq!(a_store.open_notices(now).await.unwrap(), 0);
    b.pull(&a).await;
    let url_b2 = b.url("https://be.example/2.jpg").await;
    let received = b.forward(url_b2.id).await;
    assert_fails!(
        b_store.decline_forward(&operator(), received.id, " ").await,
        StoreError::Invalid(_)
    );
    let gone = b_store
        .decline_forward(&operator(), received.id, "not hosted here any more")
        .await
        .unwrap();
    assert_eq!(gone.state, ForwardState::Declined);
    assert_fails!(
        b_store
            .decline_forward(&operator(), received.id, "twice")
            .await,
        StoreError::Conflict(_)
    );
    let left = b_store.reported_url(url_b2.id).await.unwrap().unwrap();
    assert_eq!(left.state, UrlState::NotActionable, "out of B's queue");
    a.pull(&b).await;
    let out = a.forward(declined).await;
    assert_eq!(
        (out.state, out.reason.as_deref()),
        (ForwardState::Declined, Some("not hosted here any more"))
    );
    assert_eq!(a_store.open_notices(now).await.unwrap(), 1, "back with A");

    // Not acknowledged in time: A takes it back, B is told (a recall).
    let late = a.reported("https://be.example/3.jpg", "BE").await;
    a.assess(
        late,
        Decision::Abuse {
            assessment: abuse,
            bank: None,
        },
    )
    .await;
    assert_eq!(a_store.open_notices(now).await.unwrap(), 0);
    assert_eq!(
        a_store.expire_forwards(now).await.unwrap(),
        0,
        "not due yet"
    );
    assert_eq!(
        a_store
            .expire_forwards(Timestamp(now.0 + 3_600_001))
            .await
            .unwrap(),
        1
    );
    assert_eq!(a.forward(late).await.state, ForwardState::TimedOut);
    assert_eq!(a_store.open_notices(now).await.unwrap(), 1, "back with A");
    b.pull(&a).await;
    let url_b3 = b.url("https://be.example/3.jpg").await;
    assert_eq!(b.forward(url_b3.id).await.state, ForwardState::Recalled);
    // B's acknowledgement arrives late: kept, and the report stays with A.
    a.pull(&b).await;
    let out = a.forward(late).await;
    assert_eq!(out.state, ForwardState::TimedOut);
    assert!(out.acknowledged_at.is_some());

    // Duplicates: a URL B already has (reported to B directly, and assessed) is one URL
    // there, and A hears at once what B knows.
    let both = "https://be.example/4.jpg";
    let direct = b.report(both).await;
    b.fetched(direct, None).await;
    b.assess(
        direct,
        Decision::Abuse {
            assessment: abuse,
            bank: None,
        },
    )
    .await;
    let dup = a.reported(both, "BE").await;
    a.assess(
        dup,
        Decision::Abuse {
            assessment: abuse,
            bank: None,
        },
    )
    .await;
    a_store.open_notices(now).await.unwrap();
    b.pull(&a).await;
    let url_b4 = b_store.reported_url(direct).await.unwrap().unwrap();
    assert_eq!(url_b4.reports, 1, "one URL, its one report");
    assert_eq!(b.forward(direct).await.state, ForwardState::Assessed);
    a.pull(&b).await;
    assert_eq!(a.forward(dup).await.state, ForwardState::Assessed);

    // A disagreement gives the report back too.
    let disputed = a.reported("https://be.example/5.jpg", "BE").await;
    a.assess(
        disputed,
        Decision::Abuse {
            assessment: abuse,
            bank: None,
        },
    )
    .await;
    a_store.open_notices(now).await.unwrap();
    b.pull(&a).await;
    let url_b5 = b.url("https://be.example/5.jpg").await;
    b.fetched(url_b5.id, None).await;
    b.assess(
        url_b5.id,
        Decision::NotActionable {
            note: "adult".into(),
        },
    )
    .await;
    a.pull(&b).await;
    let out = a.forward(disputed).await;
    assert_eq!(
        (out.state, out.reason.as_deref()),
        (ForwardState::Disagreed, Some("adult"))
    );
    assert_eq!(a_store.open_notices(now).await.unwrap(), 1, "back with A");

    // News of a forward A never made to B is skipped, and counted.
    let stray = ForwardMessage::Removed {
        forward: 424242,
        at: now,
    };
    let held = a_store.forwarding_partners().await.unwrap()[0]
        .cursor
        .clone();
    let applied = a_store
        .apply_forwarding_page(&Actor::intake(), a.partner, &held, &[stray], &held)
        .await
        .unwrap();
    assert_eq!(
        applied,
        ForwardingApplied {
            applied: 0,
            skipped: 1
        }
    );

    // The audit log tells the story on both sides.
    let actions =
        |events: Vec<AuditEvent>| events.into_iter().map(|e| e.action).collect::<Vec<_>>();
    let query = AuditQuery {
        limit: 1000,
        ..AuditQuery::deployment()
    };
    let a_log = actions(a_store.audit_log(&query).await.unwrap());
    for action in [
        "forwarding.set",
        "forward.send",
        "forward.received",
        "forward.removed",
        "forward.declined",
        "forward.timeout",
    ] {
        assert!(a_log.iter().any(|a| a == action), "{action} in {a_log:?}");
    }
    let b_log = actions(b_store.audit_log(&query).await.unwrap());
    for action in ["forward.receive", "forward.decline"] {
        assert!(b_log.iter().any(|a| a == action), "{action} in {b_log:?}");
    }

    // Removing a partner stops forwarding to it: what it still had comes back.
    let pending = a.reported("https://be.example/6.jpg", "BE").await;
    a.assess(
        pending,
        Decision::Abuse {
            assessment: abuse,
            bank: None,
        },
    )
    .await;
    a_store.open_notices(now).await.unwrap();
    assert_eq!(a.forward(pending).await.state, ForwardState::Sent);
    a_store
        .remove_forwarding_partner(&operator(), a.partner)
        .await
        .unwrap();
    assert_eq!(a.forward(pending).await.state, ForwardState::Withdrawn);
    assert_eq!(
        a.forward(be).await.state,
        ForwardState::Removed,
        "done ones stay"
    );
    assert_eq!(
        a.forward(dup).await.state,
        ForwardState::Withdrawn,
        "B had it"
    );
    assert_eq!(
        a_store.open_notices(now).await.unwrap(),
        2,
        "both back with A"
    );
    assert!(a_store.forwarding_partners().await.unwrap().is_empty());
    assert_fails!(
        a_store
            .remove_forwarding_partner(&operator(), a.partner)
            .await,
        StoreError::NotFound { .. }
    );
}
