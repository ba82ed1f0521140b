//! The analysts' side: accounts (argon2 hashes only), sessions that end when they expire,
//! when the password changes or the user is disabled; exposure per day; the queue (novel
//! content only, oldest first) and decisions, with a confirmed item's signals added to a
//! bank in the same step.

use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, operator, pdq, setup};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn new_user(name: &str, org: OrgId) -> NewUser {
    NewUser {
        name: name.into(),
        org,
        role: Role::Analyst,
        password_hash: HASH.into(),
    }
}

pub async fn users_sessions_and_exposure(store: &impl Store) {
    let actor = operator();
    let org = store.create_org(&actor, "Hotline").await.unwrap();
    let amina = store
        .create_user(&actor, &new_user("amina", org.id))
        .await
        .unwrap();
    assert_eq!(amina.role, Role::Analyst);
    assert_eq!(amina.password_hash, HASH);
    assert_eq!(store.user(amina.id).await.unwrap(), Some(amina.clone()));
    assert_eq!(
        store.user_by_name(" amina ").await.unwrap(),
        Some(amina.clone())
    );
    assert_eq!(store.user_by_name("nobody").await.unwrap(), None);
    assert_fails!(
        store.create_user(&actor, &new_user("amina", org.id)).await,
        StoreError::Conflict(_)
    );
    assert_fails!(
        store
            .create_user(
                &actor,
                &NewUser {
                    password_hash: "plain text".into(),
                    ..new_user("bo", org.id)
                }
            )
            .await,
        StoreError::Invalid(_)
    );
    assert_fails!(
        store
            .create_user(&actor, &new_user("bo", OrgId(9999)))
            .await,
        StoreError::NotFound { .. }
    );
    let bo = store
        .create_user(&actor, &new_user("bo", org.id))
        .await
        .unwrap();
    assert_eq!(
        store.users().await.unwrap(),
        vec![amina.clone(), bo.clone()]
    );

    // Sessions: found until they expire.
    let t = |ms: i64| Timestamp(Timestamp::now().0 + ms);
    store
        .create_session(amina.id, "s1", t(60_000))
        .await
        .unwrap();
    store.create_session(bo.id, "s2", t(60_000)).await.unwrap();
    assert_eq!(
        store.session_user("s1", t(0)).await.unwrap(),
        Some(amina.clone())
    );
    assert_eq!(store.session_user("s1", t(60_000)).await.unwrap(), None);
    assert_eq!(store.session_user("unknown", t(0)).await.unwrap(), None);
    store.end_session("s1").await.unwrap();
    assert_eq!(store.session_user("s1", t(0)).await.unwrap(), None);
    // A new password ends a user's sessions; so does disabling them.
    store
        .create_session(amina.id, "s3", t(60_000))
        .await
        .unwrap();
    let other = HASH.replace("c2FsdHNhbHQ", "b3RoZXJzYWx0");
    store.set_password(&actor, amina.id, &other).await.unwrap();
    assert_eq!(store.session_user("s3", t(0)).await.unwrap(), None);
    assert_eq!(
        store.user(amina.id).await.unwrap().unwrap().password_hash,
        other
    );
    store.set_user_disabled(&actor, bo.id, true).await.unwrap();
    assert_eq!(store.session_user("s2", t(0)).await.unwrap(), None);
    assert!(
        store
            .user(bo.id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_some()
    );
    store.create_session(bo.id, "s4", t(60_000)).await.unwrap();
    assert_eq!(
        store.session_user("s4", t(0)).await.unwrap(),
        None,
        "disabled"
    );
    store.set_user_disabled(&actor, bo.id, false).await.unwrap();
    assert!(store.session_user("s4", t(0)).await.unwrap().is_some());
    assert_fails!(
        store.set_password(&actor, UserId(9999), HASH).await,
        StoreError::NotFound { .. }
    );

    // Exposure adds up per day.
    assert_eq!(store.exposure(amina.id, "2026-11-29").await.unwrap(), 0);
    assert_eq!(
        store
            .add_exposure(amina.id, "2026-11-29", 30)
            .await
            .unwrap(),
        30
    );
    assert_eq!(
        store
            .add_exposure(amina.id, "2026-11-29", 45)
            .await
            .unwrap(),
        75
    );
    assert_eq!(
        store.add_exposure(amina.id, "2026-11-30", 5).await.unwrap(),
        5
    );
    assert_eq!(store.exposure(amina.id, "2026-11-29").await.unwrap(), 75);
    assert_eq!(store.exposure(bo.id, "2026-11-29").await.unwrap(), 0);
    assert_fails!(
        store.add_exposure(amina.id, "yesterday", 5).await,
        StoreError::Invalid(_)
    );

    let actions: Vec<String> = store
        .audit_log(&AuditQuery {
            target: Some(format!("user:{}", amina.id)),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "user.create",
            "session.start",
            "session.start",
            "user.password"
        ]
    );
    let logged =
        serde_json::to_string(&store.audit_log(&AuditQuery::deployment()).await.unwrap()).unwrap();
    assert!(!logged.contains("argon2"), "no hash in the log");
}

pub async fn the_queue_and_decisions(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let analyst = store
        .create_user(&s.actor, &new_user("amina", s.org.id))
        .await
        .unwrap();
    let actor = Actor::user(&analyst);
    let known = store
        .add_content(&s.actor, s.bank.id, &[item(vec![pdq(1)])])
        .await
        .unwrap()[0];
    let filed = store
        .file_report(&NewReport {
            country: "gb".into(),
            language: "en".into(),
            content_kind: ContentKind::Images,
            urls: (0..4).map(|n| format!("https://h{n}.example/m")).collect(),
            description: String::new(),
            email: None,
        })
        .await
        .unwrap();
    let urls = filed.urls.clone();
    let fetched =
        |n: u64, matched: Option<(ContentId, Option<Assessment>)>| FetchOutcome::Fetched {
            media_type: "image/png".into(),
            sha256: format!("{n:064x}"),
            signals: vec![pdq(100 + n)],
            matched,
            related: None,
            evidence: None,
        };
    let intake = Actor::intake();
    store
        .record_fetch(&intake, urls[0], &fetched(0, Some((known, None))))
        .await
        .unwrap();
    for (n, url) in (1..).zip(&urls[1..]) {
        store
            .record_fetch(&intake, *url, &fetched(n, None))
            .await
            .unwrap();
    }

    // Known content never reaches the queue; the rest, newest first (reported together:
    // the last filed first), in pages.
    let queue = store.queue(0, 10).await.unwrap();
    assert_eq!(
        queue.iter().map(|u| u.id).collect::<Vec<_>>(),
        [urls[3], urls[2], urls[1]]
    );
    let page = store.queue(0, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|u| u.id).collect::<Vec<_>>(),
        [urls[3], urls[2]]
    );
    let rest = store.queue(2, 2).await.unwrap();
    assert_eq!(rest.iter().map(|u| u.id).collect::<Vec<_>>(), [urls[1]]);
    assert_eq!(queue[0].reports, 1);

    // Abuse, added to the bank in the same step.
    let assessment = Assessment {
        age_group: AgeGroup::Prepubescent,
        activity: Activity::Penetrative,
    };
    let seq = store.last_seq().await.unwrap();
    let decided = store
        .assess_url(
            &actor,
            urls[1],
            analyst.id,
            &Decision::Abuse {
                assessment,
                bank: Some(s.bank.id),
            },
        )
        .await
        .unwrap();
    assert_eq!(decided.state, UrlState::Assessed);
    assert_eq!(decided.assessment, Some(assessment));
    assert_eq!(decided.assessed_by, Some(analyst.id));
    let added = decided.added_content.expect("added to the bank");
    let content = store.content(added).await.unwrap().unwrap();
    assert_eq!(content.bank, s.bank.id);
    assert_eq!(content.assessment, Some(assessment));
    assert_eq!(content.signals[0].value, pdq(101).value);
    assert_eq!(content.provenance.source, format!("report:url:{}", urls[1]));
    assert_eq!(content.provenance.added_by, format!("user:{}", analyst.id));
    let changes = store.signal_changes(seq, 10).await.unwrap();
    assert_eq!(
        changes.len(),
        1,
        "in the feed, so every node matches it at once"
    );
    assert!(changes[0].active);

    // Nothing to act on, with a note; a decision may be changed.
    let decided = store
        .assess_url(
            &actor,
            urls[2],
            analyst.id,
            &Decision::NotActionable {
                note: "adult content, out of scope".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(decided.state, UrlState::NotActionable);
    assert_eq!(
        decided.decision_note.as_deref(),
        Some("adult content, out of scope")
    );
    let changed = store
        .assess_url(
            &actor,
            urls[2],
            analyst.id,
            &Decision::Abuse {
                assessment,
                bank: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.state, changed.decision_note, changed.added_content),
        (UrlState::Assessed, None, None)
    );
    assert_eq!(
        store
            .queue(0, 10)
            .await
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        [urls[3]]
    );

    // Refused: known content (closed by its hash), unknown URLs and banks, long notes.
    let abuse = Decision::Abuse {
        assessment,
        bank: None,
    };
    assert_fails!(
        store.assess_url(&actor, urls[0], analyst.id, &abuse).await,
        StoreError::Conflict(_)
    );
    assert_fails!(
        store
            .assess_url(&actor, UrlId(9999), analyst.id, &abuse)
            .await,
        StoreError::NotFound { .. }
    );
    let to_nowhere = Decision::Abuse {
        assessment,
        bank: Some(BankId(9999)),
    };
    assert_fails!(
        store
            .assess_url(&actor, urls[3], analyst.id, &to_nowhere)
            .await,
        StoreError::NotFound { .. }
    );
    let long = Decision::NotActionable {
        note: "n".repeat(2001),
    };
    assert_fails!(
        store.assess_url(&actor, urls[3], analyst.id, &long).await,
        StoreError::Invalid(_)
    );
    assert_eq!(
        store.reported_url(urls[3]).await.unwrap().unwrap().state,
        UrlState::Queued,
        "refused decisions change nothing"
    );
    let events = store
        .audit_log(&AuditQuery {
            target: Some(format!("url:{}", urls[2])),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap();
    let decisions: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.action == "url.assess")
        .map(|e| (e.actor.as_str(), e.detail["state"].as_str().unwrap()))
        .collect();
    let by = format!("user:{}", analyst.id);
    assert_eq!(
        decisions,
        [(by.as_str(), "not_actionable"), (by.as_str(), "assessed")]
    );
}
