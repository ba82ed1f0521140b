//! Transparency figures: signals contributed and consumed, matches tallied by nodes (added,
//! never set), opinions sent and received, reports, notices and re-notices, times to
//! removal and exposure, reports forwarded across borders (made, received, given back,
//! removed, and the times from first report to removal), by month, for each organisation
//! and for the deployment, from known inputs with exact expected figures; and two hotlines
//! that forward to each other, each counting a forward once in its own role.

use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::*;

use crate::harness::{RawSql, md5, operator, pdq, setup};
use crate::hotlines::{self, Hotline, hotline};

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

/// An analyst of `org`.
async fn analyst(store: &impl Store, name: &str, org: OrgId) -> User {
    store
        .create_user(
            &operator(),
            &NewUser {
                name: name.into(),
                org,
                role: Role::Analyst,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
        )
        .await
        .unwrap()
}

/// A URL reported once.
async fn reported(store: &impl Store, url: &str) -> UrlId {
    store
        .file_report(&NewReport {
            country: "gb".into(),
            language: "en".into(),
            content_kind: ContentKind::Images,
            urls: vec![url.into()],
            description: String::new(),
            email: None,
        })
        .await
        .unwrap()
        .urls[0]
}

/// What an origin tells of a URL it forwards, first reported at `first_reported_at`.
fn origin_text(first_reported_at: i64) -> String {
    serde_json::to_string(&ForwardOrigin {
        reference: "17".into(),
        assessment: None,
        assessed_by: "analyst".into(),
        signals: Vec::new(),
        sha256: None,
        media_type: None,
        first_reported_at: Timestamp(first_reported_at),
        assessed_at: None,
    })
    .unwrap()
}

/// One forward as a row of `url_forwards`, its times chosen (days of 2025, `MM-DD`, at
/// noon).
struct Row {
    /// Who assessed the URL (`None`: nobody yet, or a bank's hash).
    assessed_by: Option<UserId>,
    /// When it was first reported here.
    first_reported: &'static str,
    direction: &'static str,
    state: &'static str,
    country: &'static str,
    /// An `in` forward's origin: when the origin first had it reported.
    origin_first_reported: Option<&'static str>,
    created: &'static str,
    /// When it was removed (state `removed`) or given back (any other), if it was.
    ended: &'static str,
}

/// Forwards with chosen times, made and received, in June and July 2025: counted by month
/// and key, for the deployment and for each organisation (by who assessed the URL), timed
/// from the first report (an `in` forward's from the origin's, not from its arrival), and
/// in the period's statistics.
pub async fn forwarding_figures(store: &impl RawSql) {
    let north = setup(store, "North").await;
    let south = setup(store, "South").await;
    let n = Some(analyst(store, "nadia", north.org.id).await.id);
    let s = Some(analyst(store, "samir", south.org.id).await.id);
    let out = |assessed_by, first_reported, state, country, created, ended| Row {
        assessed_by,
        first_reported,
        direction: "out",
        state,
        country,
        origin_first_reported: None,
        created,
        ended,
    };
    let received = |assessed_by, first_reported, state, origin, created, ended| Row {
        assessed_by,
        first_reported,
        direction: "in",
        state,
        country: "DE",
        origin_first_reported: Some(origin),
        created,
        ended,
    };
    let rows = [
        // Removed after 9, 19 and 1 days from the first report here.
        out(n, "06-01", "removed", "BE", "06-02", "06-10"),
        out(n, "06-01", "removed", "BE", "06-03", "06-20"),
        out(n, "06-04", "removed", "NL", "06-04", "06-05"),
        out(s, "06-05", "declined", "FR", "06-05", "06-06"),
        out(n, "06-27", "timed_out", "BE", "06-28", "07-01"),
        // Known by a bank's hash: the deployment's.
        out(None, "06-06", "disagreed", "BE", "06-07", "06-08"),
        // Received here two days and four days after the origin's first report, removed a
        // day later and the same day: 3 and 4 days from the first report anywhere.
        received(n, "07-02", "removed", "06-30", "07-02", "07-03"),
        received(s, "07-05", "removed", "07-01", "07-05", "07-05"),
        // Not assessed yet: the deployment's.
        received(None, "07-06", "received", "07-01", "07-06", ""),
        // Recalled by the origin: received all the same, not given back by this hotline.
        received(n, "07-06", "recalled", "07-02", "07-06", "07-07"),
    ];
    let at = |day: &str| noon(&format!("2025-{day}"));
    for (i, row) in rows.iter().enumerate() {
        let url = reported(store, &format!("https://host{i}.example/a.jpg")).await;
        let assessed_by = row
            .assessed_by
            .map_or("NULL".to_owned(), |u| u.0.to_string());
        store
            .execute(&format!(
                "UPDATE reported_urls SET assessed_by = {assessed_by}, first_reported_at = {} \
                 WHERE id = {}",
                at(row.first_reported),
                url.0
            ))
            .await
            .unwrap();
        let origin = row
            .origin_first_reported
            .map_or("NULL".to_owned(), |d| format!("'{}'", origin_text(at(d))));
        let ended = if row.ended.is_empty() {
            "NULL".to_owned()
        } else {
            at(row.ended).to_string()
        };
        let (removed, returned) = if row.state == "removed" {
            (ended, "NULL".to_owned())
        } else {
            ("NULL".to_owned(), ended)
        };
        let remote = if row.direction == "in" {
            i.to_string()
        } else {
            "NULL".into()
        };
        store
            .execute(&format!(
                "INSERT INTO url_forwards (url_id, exchange_id, direction, remote_id, state, \
                 country, origin, created_at, removed_at, returned_at) \
                 VALUES ({}, 1, '{}', {remote}, '{}', '{}', {origin}, {}, {removed}, {returned})",
                url.0,
                row.direction,
                row.state,
                row.country,
                at(row.created),
            ))
            .await
            .unwrap();
    }

    let summer = |org| store.transparency(org, month("2025-06"), month("2025-07"));
    let all = summer(None).await.unwrap();
    let n = summer(Some(north.org.id)).await.unwrap();
    let s = summer(Some(south.org.id)).await.unwrap();
    const DAY: f64 = 86_400.0;
    let expected: &[(&Transparency, &str, &str, &str, Option<f64>)] = &[
        // Made, by the hosting country and the month made.
        (&all, "2025-06", "forwards_out", "BE", Some(4.0)),
        (&all, "2025-06", "forwards_out", "NL", Some(1.0)),
        (&all, "2025-06", "forwards_out", "FR", Some(1.0)),
        (&all, "2025-07", "forwards_out", "BE", None),
        (&n, "2025-06", "forwards_out", "BE", Some(3.0)),
        (&n, "2025-06", "forwards_out", "FR", None),
        (&s, "2025-06", "forwards_out", "FR", Some(1.0)),
        (&s, "2025-06", "forwards_out", "BE", None),
        // Received, never counted as made (nor the other way).
        (&all, "2025-07", "forwards_received", "DE", Some(4.0)),
        (&all, "2025-06", "forwards_received", "BE", None),
        (&n, "2025-07", "forwards_received", "DE", Some(2.0)),
        (&s, "2025-07", "forwards_received", "DE", Some(1.0)),
        (&all, "2025-07", "forwards_out", "DE", None),
        // Given back, by why and the month it came back; a recall is not this hotline's.
        (&all, "2025-06", "forwards_returned", "declined", Some(1.0)),
        (&all, "2025-06", "forwards_returned", "disagreed", Some(1.0)),
        (&all, "2025-06", "forwards_returned", "timed_out", None),
        (&all, "2025-07", "forwards_returned", "timed_out", Some(1.0)),
        (&all, "2025-07", "forwards_returned", "recalled", None),
        (&n, "2025-07", "forwards_returned", "timed_out", Some(1.0)),
        (&n, "2025-06", "forwards_returned", "declined", None),
        (&n, "2025-06", "forwards_returned", "disagreed", None),
        (&s, "2025-06", "forwards_returned", "declined", Some(1.0)),
        // Removed, by direction and the month removed.
        (&all, "2025-06", "forward_removals", "out", Some(3.0)),
        (&all, "2025-06", "forward_removals", "in", None),
        (&all, "2025-07", "forward_removals", "in", Some(2.0)),
        (&all, "2025-07", "forward_removals", "out", None),
        (&n, "2025-07", "forward_removals", "in", Some(1.0)),
        (&s, "2025-06", "forward_removals", "out", None),
        // Out: 1, 9 and 19 days from the first report here.
        (
            &all,
            "2025-06",
            "forward_removal_median_seconds",
            "out",
            Some(9.0 * DAY),
        ),
        (
            &all,
            "2025-06",
            "forward_removal_p90_seconds",
            "out",
            Some(17.0 * DAY),
        ),
        (
            &n,
            "2025-06",
            "forward_removal_median_seconds",
            "out",
            Some(9.0 * DAY),
        ),
        // In: 3 and 4 days from the origin's first report.
        (
            &all,
            "2025-07",
            "forward_removal_median_seconds",
            "in",
            Some(3.5 * DAY),
        ),
        (
            &all,
            "2025-07",
            "forward_removal_p90_seconds",
            "in",
            Some(336_960.0),
        ),
        (
            &n,
            "2025-07",
            "forward_removal_median_seconds",
            "in",
            Some(3.0 * DAY),
        ),
        (
            &s,
            "2025-07",
            "forward_removal_p90_seconds",
            "in",
            Some(4.0 * DAY),
        ),
        (&s, "2025-07", "forward_removal_median_seconds", "out", None),
    ];
    for (t, month, figure, key, expected) in expected {
        let whose = t.org.map_or("the deployment".to_owned(), |o| o.to_string());
        assert_eq!(
            value(t, month, figure, key),
            *expected,
            "{figure} {key} in {month} for {whose}"
        );
    }
    // Every forward is counted once, made or received.
    assert_eq!(all.totals("forwards_out").values().sum::<f64>(), 6.0);
    assert_eq!(all.totals("forwards_received").values().sum::<f64>(), 4.0);

    // The hotline's statistics of June, then of July.
    let day = |text: &str| Timestamp::of_day(text).unwrap();
    let june = store
        .statistics(day("2025-06-01"), day("2025-07-01"))
        .await
        .unwrap();
    let counts = |f: &ForwardFigures| (f.out, f.received, f.returned, f.removed_out, f.removed_in);
    assert_eq!(counts(&june.forwards), (6, 0, 2, 3, 0));
    let july = store
        .statistics(day("2025-07-01"), day("2025-08-01"))
        .await
        .unwrap();
    assert_eq!(counts(&july.forwards), (0, 4, 1, 0, 2));
}

/// Two hotlines, A forwarding what is hosted in Belgium to B: A counts each forward made,
/// given back and removed; B each forward received and removed; both time the removal from
/// A's first report.
pub async fn forwarding_figures_of_both_hotlines(store: &AnyStore) {
    let other = hotlines::beside(store).await;
    check_both_hotlines(store, &other.store).await;
    hotlines::remove(other).await;
}

/// What an analyst decides of every report here: abuse.
fn abuse() -> Decision {
    Decision::Abuse {
        assessment: Assessment {
            age_group: AgeGroup::Prepubescent,
            activity: Activity::Penetrative,
        },
        bank: None,
    }
}

/// A report of `url` to `hotline`, fetched and hosted in `country`, assessed as abuse, and
/// what `open_notices` does with it.
async fn report_abuse(hotline: &Hotline, url: &str, country: &str) -> UrlId {
    let id = reported(&hotline.store, url).await;
    hotline.fetched(id, None).await;
    hotline.hosted(id, country).await;
    hotline.assess(id, abuse()).await;
    hotline.store.open_notices(Timestamp::now()).await.unwrap();
    id
}

/// The figures of last month to next month (a check run at the turn of a month counts all
/// the same), for the organisation or the deployment.
async fn figures(hotline: &Hotline, org: Option<OrgId>) -> Transparency {
    let this = Month::of(Timestamp::now());
    hotline
        .store
        .transparency(org, this.before(1).unwrap(), this.next())
        .await
        .unwrap()
}

/// A figure's values over the period (only one month of it has them here), by key.
fn values(t: &Transparency, figure: &str) -> Vec<(String, f64)> {
    t.figure(figure).map(|f| (f.key.clone(), f.value)).collect()
}

/// A count's sums over the period, by key.
fn sums(t: &Transparency, figure: &str) -> Vec<(String, f64)> {
    t.totals(figure).into_iter().collect()
}

async fn check_both_hotlines(a_store: &AnyStore, b_store: &AnyStore) {
    let a = hotline(a_store, "Hotline A", "hotline-b", &["be"]).await;
    let b = hotline(b_store, "Hotline B", "hotline-a", &[]).await;
    for store in [a_store, b_store] {
        store
            .set_host_contact(&operator(), "be.example", Some("abuse@be.example"), None)
            .await
            .unwrap();
    }
    // A first had the report two days ago: the forward carries that time, B its own arrival.
    let first_reported = Timestamp::now().0 - 2 * 86_400_000;
    let gone = "https://be.example/gone.jpg";
    let removed = reported(a_store, gone).await;
    a_store
        .execute(&format!(
            "UPDATE reported_urls SET first_reported_at = {first_reported} WHERE id = {}",
            removed.0
        ))
        .await
        .unwrap();
    a.fetched(removed, None).await;
    a.hosted(removed, "BE").await;
    a.assess(removed, abuse()).await;
    a_store.open_notices(Timestamp::now()).await.unwrap();
    let declined = "https://be.example/declined.jpg";
    report_abuse(&a, declined, "BE").await;
    // B takes in both and acknowledges them.
    b.pull(&a).await;
    a.pull(&b).await;
    // A third is not acknowledged in time: A takes it back, B hears of it and its recall.
    let late = "https://be.example/late.jpg";
    let late_id = report_abuse(&a, late, "BE").await;
    assert_eq!(a_store.url_forwards(late_id).await.unwrap().len(), 1);
    assert_eq!(
        a_store
            .expire_forwards(Timestamp(Timestamp::now().0 + 3_600_001))
            .await
            .unwrap(),
        1
    );
    b.pull(&a).await;
    assert_eq!(b.received(late).await.state, ForwardState::Recalled);
    // B works the first, assessed and found removed an hour after it arrived, and declines
    // the second.
    let arrived = b.received(gone).await;
    b.fetched(arrived.url, None).await;
    b.assess(arrived.url, abuse()).await;
    let removed_at = Timestamp(arrived.created_at.0 + 3_600_000);
    b_store
        .record_recheck(&Actor::intake(), arrived.url, removed_at, true, removed_at)
        .await
        .unwrap();
    b_store
        .decline_forward(&operator(), b.received(declined).await.id, "not ours")
        .await
        .unwrap();
    a.pull(&b).await;
    let out = a_store.url_forwards(removed).await.unwrap();
    assert_eq!(
        (out[0].state, out[0].removed_at),
        (ForwardState::Removed, Some(removed_at))
    );

    let seconds = (removed_at.0 - first_reported) as f64 / 1000.0;
    let a_all = figures(&a, None).await;
    let a_org = figures(&a, Some(a.org)).await;
    for t in [&a_all, &a_org] {
        assert_eq!(sums(t, "forwards_out"), [("BE".to_owned(), 3.0)]);
        assert_eq!(sums(t, "forwards_received"), []);
        assert_eq!(
            sums(t, "forwards_returned"),
            [("declined".to_owned(), 1.0), ("timed_out".to_owned(), 1.0)]
        );
        assert_eq!(sums(t, "forward_removals"), [("out".to_owned(), 1.0)]);
        for figure in [
            "forward_removal_median_seconds",
            "forward_removal_p90_seconds",
        ] {
            assert_eq!(values(t, figure), [("out".to_owned(), seconds)], "{figure}");
        }
    }
    let b_all = figures(&b, None).await;
    assert_eq!(sums(&b_all, "forwards_received"), [("BE".to_owned(), 3.0)]);
    assert_eq!(sums(&b_all, "forwards_out"), []);
    // B declined one and had one recalled: neither is B's to count as given back.
    assert_eq!(sums(&b_all, "forwards_returned"), []);
    // B's organisation: only the URL its analyst assessed.
    let b_org = figures(&b, Some(b.org)).await;
    assert_eq!(sums(&b_org, "forwards_received"), [("BE".to_owned(), 1.0)]);
    for t in [&b_all, &b_org] {
        assert_eq!(sums(t, "forward_removals"), [("in".to_owned(), 1.0)]);
        // From A's first report, not from the arrival an hour before the removal.
        for figure in [
            "forward_removal_median_seconds",
            "forward_removal_p90_seconds",
        ] {
            assert_eq!(values(t, figure), [("in".to_owned(), seconds)], "{figure}");
        }
    }
    // A's other organisations see none of it.
    let elsewhere = a_store.create_org(&operator(), "Elsewhere").await.unwrap();
    let none = figures(&a, Some(elsewhere.id)).await;
    assert!(none.figure("forwards_out").next().is_none());
    assert!(none.figure("forward_removals").next().is_none());
}
