//! Transparency figures: signals contributed and consumed, matches tallied by nodes (added,
//! never set), opinions sent and received, reports, notices and re-notices, times to
//! removal and exposure, by month, for each organisation and for the deployment, from known
//! inputs with exact expected figures.

use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::*;

use crate::harness::{RawSql, md5, operator, pdq, setup};

/// `YYYY-MM-DD` at noon UTC, in milliseconds.
fn noon(day: &str) -> i64 {
    Timestamp::of_day(day).unwrap().0 + 12 * 3_600_000
}

fn month(text: &str) -> Month {
    text.parse().unwrap()
}

/// The value of one figure, `None` when the figures do not have it.
fn value(t: &Transparency, month: &str, figure: &str, key: &str) -> Option<f64> {
    t.figures
        .iter()
        .find(|f| f.month.to_string() == month && f.figure == figure && f.key == key)
        .map(|f| f.value)
}

fn counts(day: &str, org: OrgId, banks: &[(BankId, u64)], known: u64, novel: u64) -> MatchCounts {
    MatchCounts {
        day: day.into(),
        org,
        banks: banks.iter().copied().collect(),
        known,
        near: 0,
        novel,
    }
}

/// Tallies add up: a flush adds, a second flush (or another node's) adds to it.
pub async fn match_counts_add_up(store: &impl RawSql) {
    let a = setup(store, "North").await;
    let b = setup(store, "South").await;
    let day = "2025-03-05";
    store
        .add_match_counts(&[counts(day, a.org.id, &[(a.bank.id, 2)], 1, 1)])
        .await
        .unwrap();
    let once = store
        .transparency(Some(a.org.id), month("2025-03"), month("2025-03"))
        .await
        .unwrap();
    assert_eq!(value(&once, "2025-03", "matches", "North_BANK"), Some(2.0));
    assert_eq!(value(&once, "2025-03", "queries", "known"), Some(1.0));
    assert_eq!(value(&once, "2025-03", "novel_share", ""), Some(0.5));

    // Two nodes flushing at once: every count is added.
    let node_one = [
        counts(day, a.org.id, &[(a.bank.id, 3), (b.bank.id, 1)], 1, 0),
        counts("2025-04-30", b.org.id, &[(a.bank.id, 7)], 0, 2),
    ];
    let node_two = [counts(day, a.org.id, &[(a.bank.id, 5)], 0, 1)];
    let (first, second) = tokio::join!(
        store.add_match_counts(&node_one),
        store.add_match_counts(&node_two),
    );
    first.unwrap();
    second.unwrap();
    store.add_match_counts(&[]).await.unwrap();
    let north = store
        .transparency(Some(a.org.id), month("2025-03"), month("2025-04"))
        .await
        .unwrap();
    assert_eq!(
        value(&north, "2025-03", "matches", "North_BANK"),
        Some(10.0)
    );
    assert_eq!(value(&north, "2025-03", "matches", "South_BANK"), Some(1.0));
    assert_eq!(value(&north, "2025-03", "queries", "known"), Some(2.0));
    assert_eq!(value(&north, "2025-03", "queries", "novel"), Some(2.0));
    assert_eq!(value(&north, "2025-03", "novel_share", ""), Some(0.5));
    assert_eq!(value(&north, "2025-04", "matches", "North_BANK"), None);
    let all = store
        .transparency(None, month("2025-03"), month("2025-04"))
        .await
        .unwrap();
    assert_eq!(value(&all, "2025-04", "matches", "North_BANK"), Some(7.0));
    assert_eq!(value(&all, "2025-04", "novel_share", ""), Some(1.0));
    assert_eq!(all.months, [month("2025-03"), month("2025-04")]);
}

/// Every figure of a period with known inputs, for each organisation and the deployment.
pub async fn transparency_figures(store: &impl RawSql) {
    let a = setup(store, "North").await;
    let b = setup(store, "South").await;
    let actor = operator();

    // Contributed by North in March 2025: a PDQ and an MD5 through the API, a PDQ imported.
    let item = |signals: Vec<Signal>, source: &str| NewContent {
        signals,
        source: source.into(),
        ..NewContent::default()
    };
    let north = store
        .add_content(
            &a.actor,
            a.bank.id,
            &[
                item(vec![pdq(1), md5(1)], "api"),
                item(vec![pdq(2)], "import:list.csv"),
            ],
        )
        .await
        .unwrap();
    // Consumed by South in April 2025: 20 MD5s pulled from a partner (a bulk run, which
    // SQLite keeps in a block).
    let pulled: Vec<NewContent> = (100..120)
        .map(|n| item(vec![md5(n)], "sync:east"))
        .collect();
    let south = store
        .add_content(&b.actor, b.bank.id, &pulled)
        .await
        .unwrap();
    store
        .execute(&format!(
            "UPDATE content SET added_at = {} WHERE bank_id = {}",
            noon("2025-03-10"),
            a.bank.id
        ))
        .await
        .unwrap();
    let april = noon("2025-04-02");
    store
        .execute(&format!(
            "UPDATE content SET added_at = {april} WHERE bank_id = {}",
            b.bank.id
        ))
        .await
        .unwrap();
    if matches!(store.dialect(), crate::harness::Backend::Sqlite) {
        store
            .execute(&format!(
                "UPDATE content_blocks SET added_at = {april} WHERE bank_id = {}",
                b.bank.id
            ))
            .await
            .unwrap();
    }

    // Opinions in April: North disputes a pulled item (which gives it rows of its own on
    // SQLite), South confirms North's first item.
    store
        .set_opinion(&a.actor, south[3], a.org.id, Some(OpinionKind::Dispute))
        .await
        .unwrap();
    store
        .set_opinion(&b.actor, north[0], b.org.id, Some(OpinionKind::Confirm))
        .await
        .unwrap();
    store
        .execute(&format!("UPDATE opinions SET at = {}", noon("2025-04-15")))
        .await
        .unwrap();

    // Exposure of North's analyst.
    let analyst = store
        .create_user(
            &actor,
            &NewUser {
                name: "amina".into(),
                org: a.org.id,
                role: Role::Analyst,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
        )
        .await
        .unwrap();
    store
        .add_exposure(analyst.id, "2025-04-20", 3600)
        .await
        .unwrap();
    store
        .add_exposure(analyst.id, "2025-04-21", 1800)
        .await
        .unwrap();

    let spring = |org| store.transparency(org, month("2025-03"), month("2025-04"));
    let all = spring(None).await.unwrap();
    let n = spring(Some(a.org.id)).await.unwrap();
    let s = spring(Some(b.org.id)).await.unwrap();
    assert_eq!(value(&n, "2025-03", "contributed", "pdq/api"), Some(1.0));
    assert_eq!(value(&n, "2025-03", "contributed", "md5/api"), Some(1.0));
    assert_eq!(value(&n, "2025-03", "contributed", "pdq/import"), Some(1.0));
    assert_eq!(value(&n, "2025-04", "consumed", "md5/east"), None);
    assert_eq!(value(&s, "2025-04", "consumed", "md5/east"), Some(20.0));
    assert_eq!(value(&s, "2025-03", "contributed", "pdq/api"), None);
    assert_eq!(value(&all, "2025-04", "consumed", "md5/east"), Some(20.0));
    assert_eq!(all.totals("contributed").values().sum::<f64>(), 3.0);

    assert_eq!(value(&n, "2025-04", "opinions_sent", "dispute"), Some(1.0));
    assert_eq!(value(&n, "2025-04", "opinions_sent", "confirm"), None);
    assert_eq!(
        value(&n, "2025-04", "opinions_received", "confirm"),
        Some(1.0)
    );
    assert_eq!(value(&s, "2025-04", "opinions_sent", "confirm"), Some(1.0));
    assert_eq!(
        value(&s, "2025-04", "opinions_received", "dispute"),
        Some(1.0)
    );
    assert_eq!(
        value(&all, "2025-04", "opinions_sent", "dispute"),
        Some(1.0)
    );
    assert_eq!(
        value(&all, "2025-04", "opinions_received", "confirm"),
        Some(1.0)
    );

    assert_eq!(value(&n, "2025-04", "exposure_hours", ""), Some(1.5));
    assert_eq!(value(&n, "2025-03", "exposure_hours", ""), Some(0.0));
    assert_eq!(value(&s, "2025-04", "exposure_hours", ""), Some(0.0));
    assert_eq!(value(&all, "2025-04", "exposure_hours", ""), Some(1.5));
    assert_eq!(value(&all, "2025-04", "notices_sent", ""), Some(0.0));

    // Reports, notices and a removal, now: two reports, one URL assessed by North's
    // analyst, noticed, noticed again and removed a second after the first notice.
    let filed = |country: &str, url: &str| NewReport {
        country: country.into(),
        language: "en".into(),
        content_kind: ContentKind::Images,
        urls: vec![url.into()],
        description: String::new(),
        email: None,
    };
    let u1 = store
        .file_report(&filed("gb", "https://a.example/1.jpg"))
        .await
        .unwrap()
        .urls[0];
    store
        .file_report(&filed("", "https://b.example/2.jpg"))
        .await
        .unwrap();
    let intake = Actor::intake();
    store
        .record_fetch(
            &intake,
            u1,
            &FetchOutcome::Fetched {
                media_type: "image/jpeg".into(),
                sha256: "00".repeat(32),
                signals: vec![pdq(9)],
                matched: None,
                related: None,
                evidence: None,
            },
        )
        .await
        .unwrap();
    store
        .assess_url(
            &Actor::user(&analyst),
            u1,
            analyst.id,
            &Decision::Abuse {
                assessment: Assessment {
                    age_group: AgeGroup::Prepubescent,
                    activity: Activity::OtherIndecent,
                },
                bank: None,
            },
        )
        .await
        .unwrap();
    store
        .set_host_contact(&actor, "a.example", Some("abuse@a.example"), None)
        .await
        .unwrap();
    let now = Timestamp::now();
    assert_eq!(store.open_notices(now).await.unwrap(), 1);
    for _ in 0..2 {
        let claimed = store
            .claim_notices(
                Timestamp(now.0 + 86_400_000 * 2),
                Timestamp(now.0 + 86_400_000 * 3),
                10,
            )
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        store
            .record_notice(
                &intake,
                claimed[0].0.id,
                &NoticeOutcome::Sent {
                    next_due_at: now,
                    check_at: now,
                },
            )
            .await
            .unwrap();
    }
    store
        .record_recheck(&intake, u1, Timestamp::now(), true, Timestamp::now())
        .await
        .unwrap();
    // The first notice a second before the removal (in the same month but for a second a
    // month).
    store
        .execute(&format!(
            "UPDATE notices SET first_sent_at = (SELECT removed_at FROM reported_urls \
             WHERE id = {u1}) - 1000",
            u1 = u1.0
        ))
        .await
        .unwrap();
    let this = Month::of(Timestamp::now());
    let key = this.to_string();
    let now_figures = |org| store.transparency(org, this, this);
    let all = now_figures(None).await.unwrap();
    let n = now_figures(Some(a.org.id)).await.unwrap();
    let s = now_figures(Some(b.org.id)).await.unwrap();
    assert_eq!(value(&all, &key, "reports_received", "gb/en"), Some(1.0));
    assert_eq!(value(&all, &key, "reports_actioned", "gb/en"), Some(1.0));
    assert_eq!(
        value(&all, &key, "reports_received", "international/en"),
        Some(1.0)
    );
    assert_eq!(
        value(&all, &key, "reports_actioned", "international/en"),
        Some(0.0)
    );
    assert_eq!(value(&n, &key, "reports_received", "gb/en"), Some(1.0));
    assert_eq!(
        value(&n, &key, "reports_received", "international/en"),
        None
    );
    assert_eq!(value(&s, &key, "reports_received", "gb/en"), None);
    for t in [&all, &n] {
        assert_eq!(value(t, &key, "notices_sent", ""), Some(1.0));
        assert_eq!(value(t, &key, "renotices", ""), Some(1.0));
        assert_eq!(value(t, &key, "removals", ""), Some(1.0));
        assert_eq!(value(t, &key, "removal_median_seconds", ""), Some(1.0));
        assert_eq!(value(t, &key, "removal_p90_seconds", ""), Some(1.0));
    }
    assert_eq!(value(&s, &key, "notices_sent", ""), Some(0.0));
    assert_eq!(value(&s, &key, "removals", ""), Some(0.0));
    assert_eq!(value(&s, &key, "removal_median_seconds", ""), None);

    // Bad periods.
    assert!(matches!(
        store
            .transparency(None, month("2025-05"), month("2025-04"))
            .await,
        Err(StoreError::Invalid(_))
    ));
}
