//! Public reports: filing (URLs merged across reports, references), what a reporter may look
//! up, intake claims (oldest first, never two nodes at once, retries), fetch outcomes, and
//! evidence kept until its retention passes.

use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, pdq, setup};

fn report(urls: &[&str]) -> NewReport {
    NewReport {
        country: "fr".into(),
        language: "fr".into(),
        content_kind: ContentKind::Images,
        urls: urls.iter().map(|u| u.to_string()).collect(),
        description: "vu sur un forum".into(),
        email: Some("reporter@example.org".into()),
    }
}

pub async fn reports_merge_urls_and_give_references(store: &impl Store) {
    let first = store
        .file_report(&report(&[
            "https://a.example/1.jpg",
            "https://b.example/x",
            "https://a.example/1.jpg",
        ]))
        .await
        .unwrap();
    assert_eq!(first.urls.len(), 2, "a URL named twice counts once");
    assert!(first.reference.starts_with("R-") && first.reference.len() == 16);
    let second = store
        .file_report(&NewReport {
            email: None,
            ..report(&["https://c.example/", "https://a.example/1.jpg"])
        })
        .await
        .unwrap();
    assert_ne!(first.reference, second.reference);
    assert_eq!(
        second.urls[1], first.urls[0],
        "merged with the earlier report"
    );
    let merged = store.reported_url(first.urls[0]).await.unwrap().unwrap();
    assert_eq!(merged.reports, 2);
    assert_eq!(merged.state, UrlState::Received);
    assert_eq!(merged.host, "a.example");
    assert!(merged.last_reported_at >= merged.first_reported_at);
    assert_eq!(
        store
            .reported_url(first.urls[1])
            .await
            .unwrap()
            .unwrap()
            .reports,
        1
    );

    // What the reporter sees, however the reference is typed.
    let status = store
        .report_status(&first.reference.to_lowercase().replace('-', ""))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.reference, first.reference);
    assert_eq!(
        status.urls,
        [
            ("https://a.example/1.jpg".to_owned(), UrlState::Received),
            ("https://b.example/x".to_owned(), UrlState::Received)
        ]
    );
    assert_eq!(store.report_status("R-0000-0000-0000").await.unwrap(), None);
    assert_eq!(store.report_status("nonsense").await.unwrap(), None);

    // A bad report is refused whole.
    assert_fails!(
        store
            .file_report(&report(&["https://d.example/", "javascript:alert(1)"]))
            .await,
        StoreError::Invalid(_)
    );
    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let filed: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.action == "report.create")
        .collect();
    assert_eq!(filed.len(), 2);
    assert!(
        filed
            .iter()
            .all(|e| e.actor == "public" && e.actor_org.is_none())
    );
    let logged = serde_json::to_string(&events).unwrap();
    assert!(
        !logged.contains("reporter@example.org"),
        "the e-mail is never logged"
    );
    assert!(
        !logged.contains("d.example"),
        "nothing of the refused report"
    );
}

pub async fn intake_claims_fetches_and_keeps_evidence(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let known = store
        .add_content(&s.actor, s.bank.id, &[item(vec![pdq(1)])])
        .await
        .unwrap()[0];
    let mut urls: Vec<UrlId> = Vec::new();
    let mut references = Vec::new();
    for n in 0..5 {
        let filed = store
            .file_report(&report(&[&format!("https://host{n}.example/m")]))
            .await
            .unwrap();
        urls.extend(filed.urls);
        references.push(filed.reference);
    }
    let t = |ms: i64| Timestamp(2_000_000_000_000 + ms);

    // Oldest first, each claimed once until its claim lapses.
    let claimed = store.claim_urls(2, t(0), t(60_000)).await.unwrap();
    assert_eq!(ids(&claimed), urls[..2]);
    assert!(claimed.iter().all(|u| u.attempts == 1));
    let more = store.claim_urls(10, t(1), t(60_000)).await.unwrap();
    assert_eq!(ids(&more), urls[2..]);
    assert!(
        store
            .claim_urls(10, t(2), t(60_000))
            .await
            .unwrap()
            .is_empty()
    );
    // A node that stopped: its claims lapse and are taken again.
    let again = store.claim_urls(10, t(60_000), t(120_000)).await.unwrap();
    assert_eq!(ids(&again), urls);
    assert!(again.iter().all(|u| u.attempts == 2));

    let assessment = Assessment {
        age_group: AgeGroup::Prepubescent,
        activity: Activity::NonPenetrative,
    };
    let hashed =
        |matched: Option<(ContentId, Option<Assessment>)>, evidence: bool| FetchOutcome::Fetched {
            media_type: "image/jpeg".into(),
            sha256: "ab".repeat(32),
            signals: vec![pdq(1)],
            matched,
            related: None,
            evidence: evidence.then(|| Evidence {
                media_type: "image/jpeg".into(),
                nonce: vec![7; 24],
                ciphertext: vec![1, 2, 3],
                stored_at: t(0),
                delete_after: t(86_400_000),
            }),
        };
    let intake = Actor::intake();
    // Known content: assessed by the bank's, never queued.
    let state = store
        .record_fetch(
            &intake,
            urls[0],
            &hashed(Some((known, Some(assessment))), false),
        )
        .await
        .unwrap();
    assert_eq!(state, UrlState::Known);
    let url = store.reported_url(urls[0]).await.unwrap().unwrap();
    assert_eq!(
        (url.matched, url.assessment, url.signals.clone()),
        (Some(known), Some(assessment), vec![pdq(1)])
    );
    assert!(url.fetched_at.is_some() && url.assessed_at.is_some());
    // Novel content: queued, with its evidence.
    let state = store
        .record_fetch(&intake, urls[1], &hashed(None, true))
        .await
        .unwrap();
    assert_eq!(state, UrlState::Queued);
    let evidence = store.evidence(urls[1]).await.unwrap().unwrap();
    assert_eq!(evidence.ciphertext, [1, 2, 3]);
    assert_eq!(evidence.nonce, [7; 24]);
    assert_eq!(store.evidence(urls[0]).await.unwrap(), None);
    // A host that did not answer: retried at the time given, not before.
    let failed = FetchOutcome::Failed {
        error: "connection refused".into(),
        refused: false,
        retry_at: Some(t(300_000)),
    };
    let state = store.record_fetch(&intake, urls[2], &failed).await.unwrap();
    assert_eq!(state, UrlState::Unreachable);
    // A URL the guard refuses: never tried again.
    let refused = FetchOutcome::Failed {
        error: "10.0.0.1 is not a public address".into(),
        refused: true,
        retry_at: None,
    };
    let state = store
        .record_fetch(&intake, urls[3], &refused)
        .await
        .unwrap();
    assert_eq!(state, UrlState::Refused);
    let url = store.reported_url(urls[2]).await.unwrap().unwrap();
    assert_eq!(url.fetch_error.as_deref(), Some("connection refused"));
    // urls[4]'s claim lapses at 120 s; urls[2] is due at 300 s.
    let due = store.claim_urls(10, t(130_000), t(200_000)).await.unwrap();
    assert_eq!(ids(&due), [urls[4]]);
    // (urls[4] again too: its node did not report back by 200 s.)
    let due = store.claim_urls(10, t(300_000), t(400_000)).await.unwrap();
    assert_eq!(ids(&due), [urls[2], urls[4]]);
    // Attempts run out.
    let mut now = 400_000;
    loop {
        let failed = FetchOutcome::Failed {
            error: "timed out".into(),
            refused: false,
            retry_at: Some(t(now)),
        };
        store.record_fetch(&intake, urls[2], &failed).await.unwrap();
        let due = store.claim_urls(10, t(now), t(now + 1)).await.unwrap();
        if due.is_empty() {
            break;
        }
        assert!(due[0].attempts <= 5);
        now += 10;
    }
    let url = store.reported_url(urls[2]).await.unwrap().unwrap();
    assert_eq!((url.attempts, url.state), (5, UrlState::Unreachable));

    // Evidence goes when its retention has passed, and not before.
    assert_eq!(store.purge_evidence(t(86_399_999)).await.unwrap(), 0);
    assert_eq!(store.purge_evidence(t(86_400_000)).await.unwrap(), 1);
    assert_eq!(store.evidence(urls[1]).await.unwrap(), None);
    assert_fails!(
        store.record_fetch(&intake, UrlId(9999), &failed).await,
        StoreError::NotFound { .. }
    );
    // The reporter sees where each URL stands.
    let status = store.report_status(&references[1]).await.unwrap().unwrap();
    assert_eq!(status.urls[0].1, UrlState::Queued);
    let status = store.report_status(&references[3]).await.unwrap().unwrap();
    assert_eq!(status.urls[0].1, UrlState::Refused);
}

/// Two nodes claiming at once never get the same URL.
pub async fn concurrent_claims_are_disjoint(store: &impl Store) {
    for n in 0..40 {
        store
            .file_report(&report(&[&format!("https://host{n}.example/")]))
            .await
            .unwrap();
    }
    let now = Timestamp(2_000_000_000_000);
    let until = Timestamp(now.0 + 60_000);
    let mut taken: Vec<UrlId> = Vec::new();
    for _ in 0..4 {
        let (a, b) = tokio::join!(
            store.claim_urls(7, now, until),
            store.claim_urls(7, now, until)
        );
        taken.extend(ids(&a.unwrap()));
        taken.extend(ids(&b.unwrap()));
    }
    let count = taken.len();
    taken.sort_unstable();
    taken.dedup();
    assert_eq!(taken.len(), count, "a URL claimed twice");
    assert_eq!(count, 40);
}

fn ids(urls: &[ReportedUrl]) -> Vec<UrlId> {
    urls.iter().map(|u| u.id).collect()
}

/// Where a reported URL is hosted: kept as given (several places, several countries),
/// replaced by the next fetch's, bounded and checked.
pub async fn where_a_url_is_hosted(store: &impl Store) {
    let filed = store
        .file_report(&report(&["https://hosted.example/a.jpg"]))
        .await
        .unwrap();
    let id = filed.urls[0];
    assert!(
        store
            .reported_url(id)
            .await
            .unwrap()
            .unwrap()
            .hosting
            .is_empty()
    );
    let place = |address: &str, country: Option<&str>, asn: Option<u32>| HostingPlace {
        address: address.into(),
        country: country.map(Into::into),
        asn,
        network: asn.map(|n| format!("AS {n} Hosting")),
    };
    let places = vec![
        place("192.0.2.7", Some("NL"), Some(64_500)),
        place("2001:db8::7", Some("DE"), None),
        place("198.51.100.1", None, None),
    ];
    store.set_url_hosting(id, &places).await.unwrap();
    assert_eq!(
        store.reported_url(id).await.unwrap().unwrap().hosting,
        places
    );
    store.set_url_hosting(id, &places[..1]).await.unwrap();
    assert_eq!(
        store.reported_url(id).await.unwrap().unwrap().hosting,
        places[..1]
    );
    for bad in [
        vec![place("not-an-address", None, None)],
        vec![place("192.0.2.7", Some("nl"), None)],
        vec![place("192.0.2.7", Some("NLD"), None)],
        vec![place("192.0.2.7", None, None); HOSTING_PLACES_MAX + 1],
    ] {
        assert_fails!(
            store.set_url_hosting(id, &bad).await,
            StoreError::Invalid(_)
        );
    }
    assert_fails!(
        store.set_url_hosting(UrlId(999_999), &places).await,
        StoreError::NotFound { .. }
    );
    assert_eq!(
        store.reported_url(id).await.unwrap().unwrap().hosting,
        places[..1]
    );
}
