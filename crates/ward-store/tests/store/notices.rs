//! Notices: contacts per host or domain, notices opened for URLs assessed as abuse (by an
//! analyst or by a bank's hash) on every channel of the covering contact, claimed, sent and
//! sent again, and closed when a re-check finds the URL clean.

use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, operator, pdq, setup};

pub async fn notices_until_removal(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let actor = operator();
    // Contacts.
    let contact = store
        .set_host_contact(&actor, "Example.ORG.", Some("abuse@example.org"), None)
        .await
        .unwrap();
    assert_eq!(contact.pattern, "example.org");
    let contact = store
        .set_host_contact(
            &actor,
            "example.org",
            Some("abuse@example.org"),
            Some("https://hooks.example.org/ward"),
        )
        .await
        .unwrap();
    assert_eq!(
        contact.webhook.as_deref(),
        Some("https://hooks.example.org/ward")
    );
    assert_eq!(store.host_contacts().await.unwrap(), vec![contact.clone()]);
    assert_fails!(
        store
            .set_host_contact(&actor, "example.net", None, None)
            .await,
        StoreError::Invalid(_)
    );
    // An e-mail address that looks like one; a webhook that is an http(s) URL with a host.
    for (email, webhook) in [
        (Some("abuse"), None),
        (Some("abuse@localhost"), None),
        (Some("ab use@example.net"), None),
        (None, Some("ftp://example.net/hook")),
        (None, Some("https://")),
        (None, Some("https:///hook")),
        (None, Some("https://:443/hook")),
        (None, Some("https://user@example.net/hook")),
        (None, Some("https://example.net/a hook")),
    ] {
        assert_fails!(
            store
                .set_host_contact(&actor, "example.net", email, webhook)
                .await,
            StoreError::Invalid(_)
        );
    }
    for webhook in ["http://127.0.0.1:8080/hook", "https://example.net?x=1"] {
        store
            .set_host_contact(&actor, "example.net", None, Some(webhook))
            .await
            .unwrap();
    }
    store
        .remove_host_contact(&actor, "example.net")
        .await
        .unwrap();
    assert_fails!(
        store.remove_host_contact(&actor, "nowhere.test").await,
        StoreError::NotFound { .. }
    );

    // Three URLs: one assessed by an analyst (under example.org), one known by its hash (a
    // host without a contact yet), one still queued.
    let known = store
        .add_content(&s.actor, s.bank.id, &[item(vec![pdq(1)])])
        .await
        .unwrap()[0];
    let filed = store
        .file_report(&NewReport {
            country: String::new(),
            language: "en".into(),
            content_kind: ContentKind::Images,
            urls: vec![
                "https://cdn.example.org/a.jpg".into(),
                "https://other.test/b.jpg".into(),
                "https://cdn.example.org/c.jpg".into(),
            ],
            description: String::new(),
            email: None,
        })
        .await
        .unwrap();
    let urls = filed.urls.clone();
    let fetched = |matched| FetchOutcome::Fetched {
        media_type: "image/jpeg".into(),
        sha256: "00".repeat(32),
        signals: vec![pdq(50)],
        matched,
        related: None,
        evidence: None,
    };
    let intake = Actor::intake();
    store
        .record_fetch(&intake, urls[0], &fetched(None))
        .await
        .unwrap();
    store
        .record_fetch(&intake, urls[1], &fetched(Some((known, None))))
        .await
        .unwrap();
    store
        .record_fetch(&intake, urls[2], &fetched(None))
        .await
        .unwrap();
    let analyst = store
        .create_user(
            &actor,
            &NewUser {
                name: "amina".into(),
                org: s.org.id,
                role: Role::Analyst,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
        )
        .await
        .unwrap();
    let assessment = Assessment {
        age_group: AgeGroup::Prepubescent,
        activity: Activity::OtherIndecent,
    };
    store
        .assess_url(
            &Actor::user(&analyst),
            urls[0],
            analyst.id,
            &Decision::Abuse {
                assessment,
                bank: None,
            },
        )
        .await
        .unwrap();

    let t = |ms: i64| Timestamp(2_000_000_000_000 + ms);
    // The assessed URL gets a notice on each channel; the known one waits for a contact.
    assert_eq!(store.open_notices(t(0)).await.unwrap(), 2);
    assert_eq!(store.open_notices(t(0)).await.unwrap(), 0);
    store
        .set_host_contact(&actor, "other.test", Some("abuse@other.test"), None)
        .await
        .unwrap();
    assert_eq!(store.open_notices(t(0)).await.unwrap(), 1);
    assert!(
        store.notices(urls[2]).await.unwrap().is_empty(),
        "not assessed"
    );

    // Claimed once, sent, sent again when due.
    let claimed = store.claim_notices(t(0), t(60_000), 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(
        store
            .claim_notices(t(1), t(60_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let (email, url) = claimed
        .iter()
        .find(|(n, _)| n.url == urls[0] && n.channel == NoticeChannel::Email)
        .unwrap();
    assert_eq!(email.address, "abuse@example.org");
    assert_eq!(url.assessment, Some(assessment));
    let day = 86_400_000;
    for (notice, _) in &claimed {
        store
            .record_notice(
                &intake,
                notice.id,
                &NoticeOutcome::Sent {
                    next_due_at: t(day),
                    check_at: t(3_600_000),
                },
            )
            .await
            .unwrap();
    }
    let sent = &store.notices(urls[0]).await.unwrap()[0];
    assert_eq!((sent.sends, sent.first_sent_at.is_some()), (1, true));
    let noticed = store.reported_url(urls[0]).await.unwrap().unwrap();
    assert_eq!(noticed.state, UrlState::Noticed);
    assert_eq!(
        store.reported_url(urls[1]).await.unwrap().unwrap().state,
        UrlState::Noticed
    );
    assert!(
        store
            .claim_notices(t(day - 1), t(day), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_notices(t(day), t(day + 60_000), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 3);
    // A failed send is tried again at the time given.
    let (failing, _) = &again[0];
    store
        .record_notice(
            &intake,
            failing.id,
            &NoticeOutcome::Failed {
                error: "relay refused".into(),
                retry_at: t(day + 600_000),
            },
        )
        .await
        .unwrap();
    let failed = store
        .notices(failing.url)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.id == failing.id)
        .unwrap();
    assert_eq!(failed.last_error.as_deref(), Some("relay refused"));
    assert_eq!(failed.sends, 1);

    // Re-checks: still there, then gone.
    assert!(
        store
            .claim_rechecks(t(0), t(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store
        .claim_rechecks(t(3_600_000), t(3_700_000), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 2);
    let state = store
        .record_recheck(&intake, urls[0], t(3_600_000), false, t(7_200_000))
        .await
        .unwrap();
    assert_eq!(state, UrlState::Noticed);
    let state = store
        .record_recheck(&intake, urls[1], t(3_600_000), true, t(0))
        .await
        .unwrap();
    assert_eq!(state, UrlState::Removed);
    let removed = store.reported_url(urls[1]).await.unwrap().unwrap();
    assert_eq!(removed.removed_at, Some(t(3_600_000)));
    assert!(
        store
            .notices(urls[1])
            .await
            .unwrap()
            .iter()
            .all(|n| n.closed_at == Some(t(3_600_000)))
    );
    // Closed notices are not sent again; the other URL's are.
    let later = store
        .claim_notices(t(3 * day), t(3 * day + 1), 10)
        .await
        .unwrap();
    assert!(later.iter().all(|(n, _)| n.url == urls[0]), "{later:?}");
    assert_eq!(later.len(), 2);
    let due = store
        .claim_rechecks(t(7_200_000), t(7_300_000), 10)
        .await
        .unwrap();
    assert_eq!(due.iter().map(|u| u.id).collect::<Vec<_>>(), [urls[0]]);

    store
        .remove_host_contact(&actor, "other.test")
        .await
        .unwrap();
    let actions: Vec<String> = store
        .audit_log(&AuditQuery {
            target: Some(format!("url:{}", urls[1])),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["url.fetch", "notice.send", "url.recheck"]);
}

/// The hotline's figures: reports by place (received, actioned), URLs by state, notices,
/// and times from first notice to removal.
pub async fn statistics_of_a_period(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let actor = operator();
    let known = store
        .add_content(&s.actor, s.bank.id, &[item(vec![pdq(1)])])
        .await
        .unwrap()[0];
    let file = |country: &str, language: &str, url: &str| NewReport {
        country: country.into(),
        language: language.into(),
        content_kind: ContentKind::Images,
        urls: vec![url.into()],
        description: String::new(),
        email: None,
    };
    let start = Timestamp::now();
    let a = store
        .file_report(&file("gb", "en", "https://a.example/1"))
        .await
        .unwrap()
        .urls[0];
    let b = store
        .file_report(&file("gb", "en", "https://b.example/2"))
        .await
        .unwrap()
        .urls[0];
    let c = store
        .file_report(&file("fr", "fr", "https://c.example/3"))
        .await
        .unwrap()
        .urls[0];
    let fetched = |matched| FetchOutcome::Fetched {
        media_type: "image/jpeg".into(),
        sha256: "00".repeat(32),
        signals: vec![pdq(9)],
        matched,
        related: None,
        evidence: None,
    };
    let intake = Actor::intake();
    store
        .record_fetch(&intake, a, &fetched(Some((known, None))))
        .await
        .unwrap();
    store
        .record_fetch(&intake, b, &fetched(None))
        .await
        .unwrap();
    store
        .record_fetch(&intake, c, &fetched(Some((known, None))))
        .await
        .unwrap();
    store
        .set_host_contact(&actor, "c.example", Some("abuse@c.example"), None)
        .await
        .unwrap();
    let now = Timestamp::now();
    assert_eq!(store.open_notices(now).await.unwrap(), 1);
    let (notice, _) = store
        .claim_notices(now, Timestamp(now.0 + 60_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    store
        .record_notice(
            &intake,
            notice.id,
            &NoticeOutcome::Sent {
                next_due_at: Timestamp(now.0 + 86_400_000),
                check_at: now,
            },
        )
        .await
        .unwrap();
    let first_sent = store.notices(c).await.unwrap()[0].first_sent_at.unwrap();
    let removed_at = Timestamp(first_sent.0 + 2 * 3_600_000);
    store
        .record_recheck(&intake, c, removed_at, true, removed_at)
        .await
        .unwrap();

    let figures = store
        .statistics(Timestamp(start.0 - 1), Timestamp(start.0 + 86_400_000))
        .await
        .unwrap();
    assert_eq!(
        figures.reports,
        [
            PlaceFigures {
                country: "fr".into(),
                language: "fr".into(),
                received: 1,
                actioned: 1
            },
            PlaceFigures {
                country: "gb".into(),
                language: "en".into(),
                received: 2,
                actioned: 1
            },
        ]
    );
    assert_eq!(figures.urls["known"], 1);
    assert_eq!(figures.urls["queued"], 1);
    assert_eq!(figures.urls["removed"], 1);
    assert_eq!(figures.urls["received"], 0);
    assert_eq!((figures.notices_opened, figures.notices_sent), (1, 1));
    let removal = &figures.removal;
    assert_eq!((removal.noticed, removal.removed), (1, 1));
    assert_eq!(removal.median_seconds, Some(7200.0));
    assert_eq!(removal.p90_seconds, Some(7200.0));
    assert_eq!(
        (removal.within_24h, removal.within_7d, removal.within_42d),
        (Some(1.0), Some(1.0), Some(1.0))
    );
    // Another period: nothing.
    let before = store
        .statistics(Timestamp(0), Timestamp(start.0 - 1))
        .await
        .unwrap();
    assert!(before.reports.is_empty());
    assert_eq!(before.removal.noticed, 0);
    assert_eq!(before.urls.values().sum::<u64>(), 0);
}
