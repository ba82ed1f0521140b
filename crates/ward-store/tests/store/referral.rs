//! Referrals: what a referral of content gathers (signals of every type, bank, assessment and
//! label, provenance, related URLs with their reports, first and last seen), for items with
//! rows and for items added in bulk (SQLite's blocks), and the audit event that records who
//! exported what.

use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, md5, operator, pdq, setup};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn report(country: &str, urls: &[&str]) -> NewReport {
    NewReport {
        country: country.into(),
        language: "en".into(),
        content_kind: ContentKind::Images,
        urls: urls.iter().map(|u| u.to_string()).collect(),
        description: "seen on a forum".into(),
        email: Some("reporter@example.org".into()),
    }
}

pub async fn referrals_gather_items_urls_and_reports(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let assessment = Assessment {
        age_group: AgeGroup::Prepubescent,
        activity: Activity::NonPenetrative,
    };
    let sha1 = Signal {
        kind: SignalKind::Sha1,
        value: "da39a3ee5e6b4b0d3255bfef95601890afd80709".into(),
    };
    let vpdq = Signal {
        kind: SignalKind::Vpdq,
        value: format!("[\"{},100,0.000\"]", "ab".repeat(32)),
    };
    let labelled = NewContent {
        signals: vec![pdq(1), md5(1), sha1.clone()],
        assessment: Some(assessment),
        source: "import:list.json".into(),
        external_id: Some("m-1".into()),
        label: Some(ListLabel {
            scheme: "vics".into(),
            profile: Some("US".into()),
            label: "1".into(),
        }),
        attributes: vec![("Series".into(), "benign test series".into())],
    };
    let added = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[labelled, item(vec![vpdq.clone()]), item(vec![pdq(3)])],
        )
        .await
        .unwrap();
    let (image, video, unrelated) = (added[0], added[1], added[2]);
    // Twenty plain items in one call: SQLite keeps them in a block.
    let bulk: Vec<NewContent> = (100..120).map(|n| item(vec![md5(n)])).collect();
    let bulk = store.add_content(&s.actor, s.bank.id, &bulk).await.unwrap();
    let in_block = bulk[5];

    // Reports: one URL matches the image at intake, reported twice; another serves the
    // block item; a third is queued and added by an analyst as new content; a fourth is
    // never fetched.
    let first = store
        .file_report(&report(
            "gb",
            &["https://a.example/1.jpg", "https://b.example/2.jpg"],
        ))
        .await
        .unwrap();
    let second = store
        .file_report(&report(
            "fr",
            &[
                "https://a.example/1.jpg",
                "https://c.example/3.png",
                "https://d.example/",
            ],
        ))
        .await
        .unwrap();
    let (a, b, c) = (first.urls[0], first.urls[1], second.urls[1]);
    let fetched = |signals: Vec<Signal>, matched: Option<ContentId>| FetchOutcome::Fetched {
        media_type: "image/jpeg".into(),
        sha256: "cd".repeat(32),
        signals,
        matched: matched.map(|m| (m, Some(assessment))),
        related: None,
        evidence: None,
    };
    let intake = Actor::intake();
    store
        .record_fetch(&intake, a, &fetched(vec![pdq(1)], Some(image)))
        .await
        .unwrap();
    store
        .record_fetch(&intake, b, &fetched(vec![md5(105)], Some(in_block)))
        .await
        .unwrap();
    store
        .record_fetch(&intake, c, &fetched(vec![pdq(9)], None))
        .await
        .unwrap();
    let analyst = store
        .create_user(
            &operator(),
            &NewUser {
                name: "amina".into(),
                org: s.org.id,
                role: Role::Analyst,
                password_hash: HASH.into(),
            },
        )
        .await
        .unwrap();
    let decided = store
        .assess_url(
            &Actor::user(&analyst),
            c,
            analyst.id,
            &Decision::Abuse {
                assessment,
                bank: Some(s.bank.id),
            },
        )
        .await
        .unwrap();
    let from_report = decided.added_content.unwrap();

    let asked = [image, in_block, video, from_report, image];
    let referral = store
        .referral(&s.actor, &asked, "content:referral-test")
        .await
        .unwrap();
    assert_eq!(referral.subject, "content:referral-test");
    assert_eq!(referral.exported_by, s.actor.label);
    let ids: Vec<ContentId> = referral.items.iter().map(|i| i.content.id).collect();
    assert_eq!(
        ids,
        [image, in_block, video, from_report],
        "in the order asked, each once"
    );
    for item in &referral.items {
        assert_eq!(item.bank_name, "Hotline_BANK");
        assert_eq!(
            Some(&item.content),
            store.content(item.content.id).await.unwrap().as_ref(),
            "the item as stored"
        );
    }

    // The image: its signals, label and assessment, and the URL that matched it with its
    // two reports (never the reporter's e-mail or description).
    let [image_item, block_item, video_item, reported_item] = &referral.items[..] else {
        panic!("four items");
    };
    let kinds: Vec<SignalKind> = image_item.content.signals.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [SignalKind::Pdq, SignalKind::Md5, SignalKind::Sha1]);
    assert_eq!(image_item.content.assessment, Some(assessment));
    assert_eq!(
        image_item.content.label.as_ref().map(|l| l.label.as_str()),
        Some("1")
    );
    assert_eq!(image_item.urls.len(), 1);
    let url = &image_item.urls[0];
    assert_eq!(url.url.id, a);
    assert_eq!(url.url.url, "https://a.example/1.jpg");
    assert_eq!(url.url.host, "a.example");
    assert_eq!(url.url.state, UrlState::Known);
    assert_eq!(url.url.signals, [pdq(1)]);
    assert_eq!(url.url.reports, 2);
    let reports: Vec<(&str, &str, &str)> = url
        .reports
        .iter()
        .map(|r| {
            (
                r.reference.as_str(),
                r.country.as_str(),
                r.language.as_str(),
            )
        })
        .collect();
    assert_eq!(
        reports,
        [
            (first.reference.as_str(), "gb", "en"),
            (second.reference.as_str(), "fr", "en")
        ]
    );
    assert_eq!(url.reports[0].content_kind, ContentKind::Images);
    assert_eq!(url.reports[0].filed_at, first.created_at);
    assert_eq!(url.reports[1].filed_at, second.created_at);
    // First seen: added before any report; last seen: the latest report or fetch.
    let fetched_at = url.url.fetched_at.unwrap();
    assert_eq!(
        image_item.first_seen,
        image_item.content.provenance.added_at
    );
    assert_eq!(
        image_item.last_seen,
        fetched_at.max(url.url.last_reported_at)
    );

    // The block item, by the URL that served it.
    assert_eq!(block_item.content.signals[0].value, md5(105).value);
    assert_eq!(
        block_item.urls.iter().map(|u| u.url.id).collect::<Vec<_>>(),
        [b]
    );
    assert_eq!(block_item.urls[0].reports[0].reference, first.reference);
    // The video: its vPDQ, no URL, seen only when added.
    assert_eq!(video_item.content.signals[0].value, vpdq.value);
    assert!(video_item.urls.is_empty());
    assert_eq!(
        video_item.first_seen,
        video_item.content.provenance.added_at
    );
    assert_eq!(video_item.last_seen, video_item.content.provenance.added_at);
    // Content added from a report: reported before it was added.
    assert_eq!(reported_item.urls.len(), 1);
    let url = &reported_item.urls[0];
    assert_eq!(
        (url.url.id, url.url.added_content, url.url.state),
        (c, Some(from_report), UrlState::Assessed)
    );
    assert_eq!(reported_item.first_seen, second.created_at);
    assert_eq!(url.reports.len(), 1);
    assert_eq!(url.reports[0].country, "fr");

    // Who exported what, in the log.
    let events = store
        .audit_log(&AuditQuery {
            target: Some("content:referral-test".into()),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.action, "export.referral");
    assert_eq!(event.actor, s.actor.label);
    assert_eq!(event.actor_key, Some(s.key.id));
    assert_eq!(event.actor_org, Some(s.org.id));
    assert_eq!(event.at, referral.exported_at);
    assert_eq!(
        event.detail,
        serde_json::json!({
            "content": [image.0, in_block.0, video.0, from_report.0],
            "urls": 3,
        })
    );
    let logged = serde_json::to_string(&event).unwrap();
    assert!(!logged.contains("reporter@example.org"));

    // An item with nothing reported: no URL.
    let alone = store
        .referral(&operator(), &[unrelated], "series:7")
        .await
        .unwrap();
    assert!(alone.items[0].urls.is_empty());
    assert_eq!(alone.exported_by, "cli:test");
}

pub async fn referrals_refuse_what_is_not_there(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let ids = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[item(vec![pdq(1)]), item(vec![pdq(2)])],
        )
        .await
        .unwrap();
    store.remove_content(&s.actor, ids[1]).await.unwrap();
    let before = store
        .audit_log(&AuditQuery::deployment())
        .await
        .unwrap()
        .len();
    assert_fails!(
        store
            .referral(&s.actor, &[ids[0], ContentId(9999)], "content:x")
            .await,
        StoreError::NotFound { .. }
    );
    assert_fails!(
        store.referral(&s.actor, &[ids[1]], "content:x").await,
        StoreError::NotFound { .. }
    );
    assert_fails!(
        store.referral(&s.actor, &[], "content:").await,
        StoreError::Invalid(_)
    );
    assert_fails!(
        store.referral(&s.actor, &[ids[0]], "  ").await,
        StoreError::Invalid(_)
    );
    let too_many: Vec<ContentId> = (1..=MAX_REFERRAL_ITEMS as i64 + 1).map(ContentId).collect();
    assert_fails!(
        store.referral(&s.actor, &too_many, "content:many").await,
        StoreError::Invalid(_)
    );
    assert_eq!(
        store
            .audit_log(&AuditQuery::deployment())
            .await
            .unwrap()
            .len(),
        before,
        "nothing logged for a referral refused"
    );
}
