//! Self-reports: a case opens with its files' hashes in a self-report bank, takes more with
//! its number and code, and its withdrawal leaves tombstones in the feed; nothing else adds
//! to a self-report bank; the figures count cases, hashes and platforms' matches.

use ward_store::*;

use crate::assert_fails;
use crate::harness::{new_bank, operator, setup, whole_feed};

fn file(n: u64, pdq: bool) -> SelfReportFile {
    SelfReportFile {
        md5: format!("{n:032x}"),
        pdq: pdq.then(|| format!("{:064x}", n * 7 + 1)),
    }
}

pub async fn self_report_cases(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let bank = store
        .create_bank(
            &s.actor,
            &NewBank {
                kind: BankKind::SelfReport,
                ..new_bank("Self-reports", s.org.id)
            },
        )
        .await
        .unwrap();
    assert_eq!(bank.kind, BankKind::SelfReport);

    // Opened: one item per file, unassessed, with the source and the country only.
    let opened = store
        .open_self_report(&NewSelfReport {
            bank: bank.id,
            country: "ma".into(),
            files: vec![file(1, true), file(2, false)],
        })
        .await
        .unwrap();
    let case = opened.case.clone();
    assert!(case.number.starts_with("S-"), "{}", case.number);
    assert_eq!(
        normalise_case_code(&opened.code).as_deref(),
        Some(opened.code.as_str())
    );
    assert_eq!(
        (case.files, case.withdrawn_at, case.bank),
        (2, None, bank.id)
    );
    let items = store.bank_contents(bank.id, None, 10).await.unwrap();
    assert_eq!(items.len(), 2);
    for item in &items {
        assert_eq!(item.provenance.source, "self-report:ma");
        assert_eq!(item.provenance.added_by, "public");
        assert_eq!(item.attributes, [("country".to_owned(), "MA".to_owned())]);
        assert!(item.assessment.is_none() && item.external_id.is_none());
    }
    assert_eq!(items[0].signals.len(), 2);
    assert_eq!(items[1].signals.len(), 1);
    let feed = whole_feed(store, 100).await;
    assert_eq!(
        feed.iter()
            .filter(|c| c.bank == bank.id && c.active)
            .count(),
        3
    );

    // Read back with the number and the code as typed; a wrong code is an unknown case.
    let typed_number = case.number.to_lowercase().replace('-', " ");
    let typed_code = opened.code.to_lowercase().replace('-', "");
    assert_eq!(
        store.self_report(&typed_number, &typed_code).await.unwrap(),
        Some(case.clone())
    );
    let wrong = if opened.code.starts_with('A') {
        "BBBB-BBBB"
    } else {
        "AAAA-AAAA"
    };
    for (number, code) in [
        (case.number.as_str(), wrong),
        (case.number.as_str(), ""),
        ("S-0000-0000-0000", opened.code.as_str()),
        ("nonsense", opened.code.as_str()),
    ] {
        assert_eq!(
            store.self_report(number, code).await.unwrap(),
            None,
            "{number} {code}"
        );
        assert_fails!(
            store
                .add_to_self_report(number, code, &[file(9, true)])
                .await,
            StoreError::NotFound { .. }
        );
        assert_fails!(
            store.withdraw_self_report(number, code).await,
            StoreError::NotFound { .. }
        );
    }

    // More files: up to the case's limit, all or nothing.
    let added = store
        .add_to_self_report(&case.number, &opened.code, &[file(3, true)])
        .await
        .unwrap();
    assert_eq!(added.files, 3);
    assert_fails!(
        store
            .add_to_self_report(&case.number, &opened.code, &[])
            .await,
        StoreError::Invalid(_)
    );
    let too_many = vec![file(4, false); SELF_REPORT_SEND_MAX + 1];
    assert_fails!(
        store
            .add_to_self_report(&case.number, &opened.code, &too_many)
            .await,
        StoreError::Invalid(_)
    );
    let fifty = vec![file(5, false); SELF_REPORT_SEND_MAX];
    let mut files = 3;
    while files + SELF_REPORT_SEND_MAX <= SELF_REPORT_FILES_MAX {
        files = store
            .add_to_self_report(&case.number, &opened.code, &fifty)
            .await
            .unwrap()
            .files as usize;
    }
    assert_fails!(
        store
            .add_to_self_report(&case.number, &opened.code, &fifty)
            .await,
        StoreError::Invalid(_)
    );
    assert_eq!(
        store
            .self_report(&case.number, &opened.code)
            .await
            .unwrap()
            .unwrap()
            .files as usize,
        files
    );

    // A second case in the same bank is its own.
    let other = store
        .open_self_report(&NewSelfReport {
            bank: bank.id,
            country: "fr".into(),
            files: vec![file(1, true)],
        })
        .await
        .unwrap();
    assert_ne!(other.case.number, case.number);

    // An analyst removed one item already; the withdrawal removes the rest.
    store.remove_content(&s.actor, items[1].id).await.unwrap();
    let before = store.last_seq().await.unwrap();
    let withdrawn = store
        .withdraw_self_report(&case.number, &opened.code)
        .await
        .unwrap();
    assert!(withdrawn.withdrawn_at.is_some());
    let tombstones = store.signal_changes(before, 10_000).await.unwrap();
    assert!(!tombstones.is_empty());
    assert!(tombstones.iter().all(|c| !c.active && c.bank == bank.id));
    let left = whole_feed(store, 500).await;
    let active: Vec<&SignalChange> = left
        .iter()
        .filter(|c| c.active && c.bank == bank.id)
        .collect();
    // Only the other case's item is matched now.
    assert_eq!(active.len(), 2);
    assert!(
        active
            .iter()
            .all(|c| c.value == file(1, true).md5 || Some(&c.value) == file(1, true).pdq.as_ref())
    );
    assert_eq!(
        store
            .self_report(&case.number, &opened.code)
            .await
            .unwrap()
            .unwrap()
            .withdrawn_at,
        withdrawn.withdrawn_at
    );
    assert_fails!(
        store.withdraw_self_report(&case.number, &opened.code).await,
        StoreError::Conflict(_)
    );
    assert_fails!(
        store
            .add_to_self_report(&case.number, &opened.code, &[file(6, true)])
            .await,
        StoreError::Conflict(_)
    );

    // Only self-reports add to a self-report bank, and they add to nothing else.
    let item = NewContent {
        signals: vec![Signal {
            kind: SignalKind::Md5,
            value: format!("{:032x}", 77),
        }],
        source: "api".into(),
        ..NewContent::default()
    };
    assert_fails!(
        store
            .add_content(&s.actor, bank.id, std::slice::from_ref(&item))
            .await,
        StoreError::Invalid(_)
    );
    assert_fails!(
        store
            .import_content(&s.actor, bank.id, &[ImportChange::Upsert(item.clone())])
            .await,
        StoreError::Invalid(_)
    );
    assert_fails!(
        store
            .open_self_report(&NewSelfReport {
                bank: s.bank.id,
                country: "ma".into(),
                files: vec![file(8, true)],
            })
            .await,
        StoreError::Invalid(_)
    );
    assert_fails!(
        store
            .open_self_report(&NewSelfReport {
                bank: bank.id,
                country: "MA".into(),
                files: vec![file(8, true)],
            })
            .await,
        StoreError::Invalid(_)
    );

    // The log names the cases, never a person; the code is nowhere.
    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e.action.starts_with("self_report."))
        .map(|e| e.action.as_str())
        .collect();
    assert!(actions.contains(&"self_report.open"));
    assert!(actions.contains(&"self_report.add"));
    assert!(actions.contains(&"self_report.withdraw"));
    for event in &events {
        let text = format!("{event:?}");
        assert!(!text.contains(&opened.code), "{text}");
        if event.action.starts_with("self_report.") {
            assert_eq!(event.actor, "public");
            assert!(event.target.starts_with("self_report:"), "{text}");
            assert_eq!(event.org, Some(s.org.id), "the hotline's auditors see it");
        }
    }

    // The figures: cases opened and withdrawn by country, hashes by type, and platforms'
    // matches in the self-report bank.
    let platform = store.create_org(&operator(), "Platform").await.unwrap();
    let today = Timestamp::now().day();
    store
        .add_match_counts(&[MatchCounts {
            day: today.clone(),
            org: platform.id,
            banks: [(bank.id, 4), (s.bank.id, 1)].into_iter().collect(),
            known: 5,
            near: 0,
            novel: 0,
        }])
        .await
        .unwrap();
    let month = Month::of(Timestamp::now());
    for org in [Some(s.org.id), None] {
        let figures = store.transparency(org, month, month).await.unwrap();
        let total = |figure: &str, key: &str| figures.totals(figure).get(key).copied();
        assert_eq!(total("self_reports_opened", "ma"), Some(1.0), "{org:?}");
        assert_eq!(total("self_reports_opened", "fr"), Some(1.0));
        assert_eq!(total("self_reports_withdrawn", "ma"), Some(1.0));
        assert_eq!(total("self_reports_withdrawn", "fr"), None);
        // Pictures: an MD5 and a PDQ each; files 1 and 3 of the first case, 1 of the other.
        assert_eq!(total("self_report_hashes", "pdq"), Some(3.0));
        assert_eq!(total("self_report_hashes", "md5"), Some(files as f64 + 1.0));
        assert_eq!(total("self_report_matches", "Self-reports"), Some(4.0));
        assert_eq!(total("self_report_matches", "Hotline_BANK"), None);
    }
    let platforms = store
        .transparency(Some(platform.id), month, month)
        .await
        .unwrap();
    assert!(platforms.totals("self_reports_opened").is_empty());
    assert!(platforms.totals("self_report_matches").is_empty());
}
