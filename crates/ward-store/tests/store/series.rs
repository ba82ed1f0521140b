//! Series in the store: the keeper's lease and fenced saves, the state it reloads from,
//! what a series' row carries over merges and splits, curators' requests, and the
//! analysts' queue in triage order (novel first, then series whose victim is not
//! identified, then the rest; the newest report first within each).

use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_core::series::SeriesId as Engine;
use ward_store::*;

use crate::assert_fails;
use crate::harness::{item, operator, pdq, setup};
use std::collections::HashMap;

fn upkeep(id: i64, members: u32) -> SeriesUpkeep {
    SeriesUpkeep {
        id: SeriesId(id),
        members,
        merged_into: None,
        split_from: None,
        inherit: false,
    }
}

fn save(cursor: i64) -> SeriesSave {
    SeriesSave {
        cursor: Seq(cursor),
        next_series: 0,
        next_label: 1,
        members: Vec::new(),
        series: Vec::new(),
        links: None,
        decisions: Vec::new(),
    }
}

pub async fn keeper_lease_and_fenced_saves(store: &impl Store) {
    let at = |ms: i64| Timestamp(1_800_000_000_000 + ms);
    let a = store
        .claim_series_keeper("node-a", at(0), at(30_000))
        .await
        .unwrap()
        .expect("a free lease is taken");
    assert_eq!(
        store
            .claim_series_keeper("node-b", at(1_000), at(31_000))
            .await
            .unwrap(),
        None,
        "held by another"
    );
    // Renewed by its holder; saves move the version on.
    assert_eq!(
        store
            .claim_series_keeper("node-a", at(20_000), at(50_000))
            .await
            .unwrap(),
        Some(a)
    );
    let epoch = store.series_epoch().await.unwrap();
    let a1 = store.save_series("node-a", a, &save(7)).await.unwrap();
    assert_eq!(a1, a + 1);
    // Nodes holding series in memory see that they changed.
    let saved_epoch = store.series_epoch().await.unwrap();
    assert!(saved_epoch > epoch);
    assert_fails!(
        store.save_series("node-a", a, &save(8)).await,
        StoreError::Conflict(_)
    );
    assert_fails!(
        store.save_series("node-b", a1, &save(8)).await,
        StoreError::Conflict(_)
    );
    // A lapsed lease is taken over; the old holder can no longer save.
    let b = store
        .claim_series_keeper("node-b", at(50_000), at(80_000))
        .await
        .unwrap()
        .expect("a lapsed lease is taken");
    assert_eq!(b, a1);
    assert_fails!(
        store.save_series("node-a", a1, &save(9)).await,
        StoreError::Conflict(_)
    );
    // Failed saves changed nothing nodes hold.
    assert_eq!(store.series_epoch().await.unwrap(), saved_epoch);
    store.save_series("node-b", b, &save(9)).await.unwrap();
    assert!(store.series_epoch().await.unwrap() > saved_epoch);
    let keeping = store.series_keeping().await.unwrap();
    assert_eq!((keeping.cursor, keeping.version), (Seq(9), b + 1));
}

/// Holds the lease for a check and saves through it.
struct Holder {
    version: i64,
}

impl Holder {
    async fn take(store: &impl Store) -> Holder {
        let now = Timestamp::now();
        let version = store
            .claim_series_keeper("check", now, Timestamp(now.0 + 600_000))
            .await
            .unwrap()
            .expect("the lease");
        Holder { version }
    }

    async fn save(&mut self, store: &impl Store, save: &SeriesSave) {
        self.version = store
            .save_series("check", self.version, save)
            .await
            .unwrap();
    }
}

pub async fn saves_round_trip_and_rows_carry_over(store: &impl Store) {
    let actor = operator();
    let mut keeper = Holder::take(store).await;
    // Two series: 0 = {10, 11, 12}, 1 = {20, 21} with 21 split off by label 2; a link.
    let mut step = save(5);
    step.next_series = 3;
    step.next_label = 3;
    step.members = vec![
        (ContentId(10), Some((SeriesId(0), 0))),
        (ContentId(11), Some((SeriesId(0), 0))),
        (ContentId(12), Some((SeriesId(0), 0))),
        (ContentId(20), Some((SeriesId(1), 0))),
        (ContentId(21), Some((SeriesId(1), 2))),
    ];
    step.series = vec![upkeep(0, 3), upkeep(1, 2)];
    step.links = Some(vec![(ContentId(21), ContentId(20))]);
    keeper.save(store, &step).await;

    let keeping = store.series_keeping().await.unwrap();
    assert_eq!(keeping.cursor, Seq(5));
    assert_eq!(keeping.version, keeper.version);
    let state = &keeping.state;
    assert_eq!(
        state.series,
        [
            (10, Engine(0)),
            (11, Engine(0)),
            (12, Engine(0)),
            (20, Engine(1)),
            (21, Engine(1))
        ]
    );
    assert_eq!(state.labels, [(21, 2)]);
    assert_eq!(state.links, [(20, 21)], "smaller id first");
    assert!(state.merged.is_empty());
    assert_eq!((state.next_series, state.next_label), (3, 3));

    assert_eq!(
        store
            .series_members(SeriesId(0), &BankScope::All)
            .await
            .unwrap(),
        [ContentId(10), ContentId(11), ContentId(12)]
    );
    let found = store
        .content_series(&[ContentId(12), ContentId(99), ContentId(20)])
        .await
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|(c, s)| (c.0, s.id.0, s.members))
            .collect::<Vec<_>>(),
        [(12, 0, 3), (20, 1, 2)]
    );

    // Names and flags, audited; a merged series' row hands them on. Every change moves
    // the series epoch, a refused one does not.
    let epoch = store.series_epoch().await.unwrap();
    let named = store
        .update_series(
            &actor,
            SeriesId(1),
            &SeriesChange {
                name: Some(Some("  Garden  ".into())),
                victim_identified: Some(true),
                referral: Some(Some(("Police Scotland".into(), Timestamp(1_000)))),
                ..SeriesChange::default()
            },
            &BankScope::All,
        )
        .await
        .unwrap();
    assert_eq!(named.name.as_deref(), Some("Garden"));
    assert!(named.victim_identified && !named.offender_identified);
    assert_eq!(named.referred_to.as_deref(), Some("Police Scotland"));
    let named_epoch = store.series_epoch().await.unwrap();
    assert!(named_epoch > epoch);
    assert_fails!(
        store
            .update_series(
                &actor,
                SeriesId(1),
                &SeriesChange {
                    name: Some(Some(" ".into())),
                    ..SeriesChange::default()
                },
                &BankScope::All
            )
            .await,
        StoreError::Invalid(_)
    );
    assert_fails!(
        store
            .update_series(
                &actor,
                SeriesId(77),
                &SeriesChange::default(),
                &BankScope::All
            )
            .await,
        StoreError::NotFound { .. }
    );
    assert_eq!(store.series_epoch().await.unwrap(), named_epoch);

    // 1 merges into 0: 0, which has no name, takes 1's, with 1's flags and referral.
    let mut step = save(6);
    step.next_series = 3;
    step.next_label = 3;
    step.members = vec![
        (ContentId(20), Some((SeriesId(0), 0))),
        (ContentId(21), Some((SeriesId(0), 2))),
    ];
    step.series = vec![
        SeriesUpkeep {
            merged_into: Some(SeriesId(0)),
            ..upkeep(1, 0)
        },
        upkeep(0, 5),
    ];
    keeper.save(store, &step).await;
    let merged = store
        .series(SeriesId(0), &BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(merged.members, 5);
    assert_eq!(merged.name.as_deref(), Some("Garden"));
    assert!(merged.victim_identified);
    assert_eq!(merged.referred_to.as_deref(), Some("Police Scotland"));
    assert_eq!(merged.referred_at, Some(Timestamp(1_000)));
    let gone = store
        .series(SeriesId(1), &BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((gone.members, gone.merged_into), (0, Some(SeriesId(0))));
    assert_eq!(
        store.series_keeping().await.unwrap().state.merged,
        [(Engine(1), Engine(0))]
    );
    // A change to a merged series changes the series it joined.
    let via = store
        .update_series(
            &actor,
            SeriesId(1),
            &SeriesChange {
                offender_identified: Some(true),
                ..SeriesChange::default()
            },
            &BankScope::All,
        )
        .await
        .unwrap();
    assert_eq!(via.id, SeriesId(0));
    assert!(
        store
            .series(SeriesId(0), &BankScope::All)
            .await
            .unwrap()
            .unwrap()
            .offender_identified
    );

    // Parts: one from a removal keeps what the row says; one from a curator's split does not.
    let mut step = save(7);
    step.next_series = 5;
    step.next_label = 3;
    step.members = vec![
        (ContentId(12), Some((SeriesId(3), 0))),
        (ContentId(20), Some((SeriesId(4), 0))),
        (ContentId(21), None),
    ];
    step.series = vec![
        upkeep(0, 2),
        SeriesUpkeep {
            split_from: Some(SeriesId(0)),
            inherit: true,
            ..upkeep(3, 1)
        },
        SeriesUpkeep {
            split_from: Some(SeriesId(0)),
            inherit: false,
            ..upkeep(4, 1)
        },
    ];
    step.links = Some(Vec::new());
    keeper.save(store, &step).await;
    let inherited = store
        .series(SeriesId(3), &BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inherited.name.as_deref(), Some("Garden"));
    assert!(inherited.victim_identified && inherited.offender_identified);
    assert_eq!(inherited.split_from, Some(SeriesId(0)));
    let fresh = store
        .series(SeriesId(4), &BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fresh.name, None);
    assert!(!fresh.victim_identified && !fresh.offender_identified);
    assert_eq!(fresh.split_from, Some(SeriesId(0)));
    let state = store.series_keeping().await.unwrap().state;
    assert!(state.links.is_empty());
    assert!(!state.series.iter().any(|(item, _)| *item == 21));

    // Listing: live series only, by id, filtered by the victim flag.
    let list = |victim_identified| SeriesQuery {
        scope: BankScope::All,
        victim_identified,
        after: None,
        limit: 10,
    };
    let ids = |series: Vec<Series>| series.iter().map(|s| s.id.0).collect::<Vec<_>>();
    assert_eq!(
        ids(store.series_list(&list(None)).await.unwrap()),
        [0, 3, 4]
    );
    assert_eq!(
        ids(store.series_list(&list(Some(false))).await.unwrap()),
        [4]
    );
    assert_eq!(
        ids(store.series_list(&list(Some(true))).await.unwrap()),
        [0, 3]
    );
    assert_eq!(
        ids(store
            .series_list(&SeriesQuery {
                after: Some(SeriesId(0)),
                ..list(None)
            })
            .await
            .unwrap()),
        [3, 4]
    );
    let actions: Vec<String> = store
        .audit_log(&AuditQuery {
            target: Some("series:1".into()),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["series.update"]);
}

pub async fn curators_requests(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let mut keeper = Holder::take(store).await;
    let mut step = save(1);
    step.next_series = 2;
    step.members = vec![
        (ContentId(1), Some((SeriesId(0), 0))),
        (ContentId(2), Some((SeriesId(1), 0))),
    ];
    step.series = vec![upkeep(0, 1), upkeep(1, 1)];
    keeper.save(store, &step).await;

    assert_fails!(
        store
            .request_series_decision(
                &s.actor,
                SeriesId(0),
                &SeriesRequest::Merge { with: SeriesId(0) },
                &BankScope::All
            )
            .await,
        StoreError::Invalid(_)
    );
    assert_fails!(
        store
            .request_series_decision(
                &s.actor,
                SeriesId(0),
                &SeriesRequest::Merge { with: SeriesId(9) },
                &BankScope::All
            )
            .await,
        StoreError::NotFound { .. }
    );
    assert_fails!(
        store
            .request_series_decision(
                &s.actor,
                SeriesId(9),
                &SeriesRequest::Split {
                    members: vec![ContentId(1)]
                },
                &BankScope::All
            )
            .await,
        StoreError::NotFound { .. }
    );
    assert_fails!(
        store
            .request_series_decision(
                &s.actor,
                SeriesId(0),
                &SeriesRequest::Split {
                    members: Vec::new()
                },
                &BankScope::All
            )
            .await,
        StoreError::Invalid(_)
    );
    let merge = store
        .request_series_decision(
            &s.actor,
            SeriesId(0),
            &SeriesRequest::Merge { with: SeriesId(1) },
            &BankScope::All,
        )
        .await
        .unwrap();
    let split = store
        .request_series_decision(
            &s.actor,
            SeriesId(0),
            &SeriesRequest::Split {
                members: vec![ContentId(2), ContentId(1), ContentId(2)],
            },
            &BankScope::All,
        )
        .await
        .unwrap();
    let pending = store.pending_series_decisions(10).await.unwrap();
    assert_eq!(
        pending.iter().map(|d| d.id).collect::<Vec<_>>(),
        [merge.id, split.id]
    );
    assert_eq!(
        pending[1].request,
        SeriesRequest::Split {
            members: vec![ContentId(1), ContentId(2)]
        },
        "each item once, in order"
    );
    assert_eq!(pending[0].requested_by, s.actor.label);

    let mut step = save(2);
    step.next_series = 2;
    step.decisions = vec![
        (merge.id, Ok(vec![SeriesId(0)])),
        (split.id, Err("every member of series 0 chosen".into())),
    ];
    keeper.save(store, &step).await;
    assert!(store.pending_series_decisions(10).await.unwrap().is_empty());
    let applied = store
        .series_decision(merge.id, &BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert!(applied.applied_at.is_some());
    assert_eq!(
        (applied.outcome, applied.error),
        (Some(vec![SeriesId(0)]), None)
    );
    let refused = store
        .series_decision(split.id, &BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refused.outcome, None);
    assert_eq!(
        refused.error.as_deref(),
        Some("every member of series 0 chosen")
    );
    assert_eq!(
        store
            .series_decision(DecisionId(999), &BankScope::All)
            .await
            .unwrap(),
        None
    );
    let actions: Vec<String> = store
        .audit_log(&AuditQuery {
            target: Some("series:0".into()),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["series.merge", "series.split"]);
}

pub async fn the_queue_in_triage_order(store: &impl Store) {
    let s = setup(store, "Hotline").await;
    let intake = Actor::intake();
    // Bank content without an assessment: in series 0 (victim identified) and 1 (not), and
    // one item in no series yet.
    let ids = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[item(vec![pdq(1)]), item(vec![pdq(2)]), item(vec![pdq(3)])],
        )
        .await
        .unwrap();
    let (identified, unidentified, unseries) = (ids[0], ids[1], ids[2]);
    let mut keeper = Holder::take(store).await;
    let mut step = save(0);
    step.next_series = 2;
    step.members = vec![
        (identified, Some((SeriesId(0), 0))),
        (unidentified, Some((SeriesId(1), 0))),
    ];
    step.series = vec![upkeep(0, 1), upkeep(1, 1)];
    keeper.save(store, &step).await;
    store
        .update_series(
            &s.actor,
            SeriesId(0),
            &SeriesChange {
                victim_identified: Some(true),
                ..SeriesChange::default()
            },
            &BankScope::All,
        )
        .await
        .unwrap();
    // One report per URL, a millisecond apart at least, so "newest" is well defined.
    let mut urls = Vec::new();
    for n in 0..7 {
        let filed = store
            .file_report(&NewReport {
                country: "gb".into(),
                language: "en".into(),
                content_kind: ContentKind::Images,
                urls: vec![format!("https://h{n}.example/m")],
                description: String::new(),
                email: None,
            })
            .await
            .unwrap();
        urls.push(filed.urls[0]);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let fetched = |n: u64, related: Option<ContentId>| FetchOutcome::Fetched {
        media_type: "image/png".into(),
        sha256: format!("{n:064x}"),
        signals: vec![pdq(100 + n)],
        matched: None,
        related,
        evidence: None,
    };
    // urls: 0 novel, 1 identified, 2 unidentified, 3 novel, 4 identified, 5 unseries,
    // 6 known (matched with an assessment: never queued).
    let relations = [
        None,
        Some(identified),
        Some(unidentified),
        None,
        Some(identified),
        Some(unseries),
    ];
    for (n, related) in relations.iter().enumerate() {
        store
            .record_fetch(&intake, urls[n], &fetched(n as u64, *related))
            .await
            .unwrap();
    }
    let known = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[NewContent {
                assessment: Some(Assessment {
                    age_group: AgeGroup::Pubescent,
                    activity: Activity::NonPenetrative,
                }),
                ..item(vec![pdq(4)])
            }],
        )
        .await
        .unwrap()[0];
    let state = store
        .record_fetch(
            &intake,
            urls[6],
            &FetchOutcome::Fetched {
                media_type: "image/png".into(),
                sha256: format!("{:064x}", 6),
                signals: vec![pdq(106)],
                matched: Some((
                    known,
                    Some(Assessment {
                        age_group: AgeGroup::Pubescent,
                        activity: Activity::NonPenetrative,
                    }),
                )),
                related: None,
                evidence: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(state, UrlState::Known);

    let queue = store.queue(0, 50).await.unwrap();
    let order: Vec<UrlId> = queue.iter().map(|u| u.id).collect();
    assert_eq!(
        order,
        [urls[3], urls[0], urls[5], urls[2], urls[4], urls[1]],
        "novel, then no identified victim (or no series), then the rest; newest first"
    );
    let by_id = |id: UrlId| queue.iter().find(|u| u.id == id).unwrap();
    assert_eq!(by_id(urls[2]).related, Some(unidentified));
    let series = by_id(urls[2]).series.as_ref().expect("its series");
    assert_eq!((series.id, series.victim_identified), (SeriesId(1), false));
    assert!(by_id(urls[4]).series.as_ref().unwrap().victim_identified);
    assert_eq!(by_id(urls[5]).series, None);
    assert_eq!(by_id(urls[0]).series, None);
    // Paged from a position.
    let rest = store.queue(4, 50).await.unwrap();
    assert_eq!(
        rest.iter().map(|u| u.id).collect::<Vec<_>>(),
        [urls[4], urls[1]]
    );
}

/// What match answers show of content, read in one go, is what the content and its series
/// say, for items with rows (assessed, confirmed, disputed) and items added in bulk
/// (SQLite's blocks), with removed and unknown items left out.
pub async fn match_summaries_agree_with_content_and_series(store: &impl Store) {
    let s = setup(store, "Summaries").await;
    let other = store.create_org(&operator(), "Other org").await.unwrap();
    let bulk: Vec<NewContent> = (0..40).map(|n| item(vec![pdq(n)])).collect();
    let mut ids = store.add_content(&s.actor, s.bank.id, &bulk).await.unwrap();
    let mut assessed = item(vec![pdq(100), crate::harness::md5(100)]);
    assessed.assessment = Some(Assessment {
        age_group: AgeGroup::Pubescent,
        activity: Activity::LasciviousExhibition,
    });
    let rows = store
        .add_content(
            &s.actor,
            s.bank.id,
            &[assessed, item(vec![pdq(101)]), item(vec![pdq(102)])],
        )
        .await
        .unwrap();
    ids.extend(&rows);
    store
        .set_opinion(&s.actor, rows[1], s.org.id, Some(OpinionKind::Confirm))
        .await
        .unwrap();
    store
        .set_opinion(&s.actor, rows[2], s.org.id, Some(OpinionKind::Confirm))
        .await
        .unwrap();
    store
        .set_opinion(&s.actor, rows[2], other.id, Some(OpinionKind::Dispute))
        .await
        .unwrap();
    // A bulk item given an opinion (and so rows of its own), and one removed.
    store
        .set_opinion(&s.actor, ids[7], other.id, Some(OpinionKind::Dispute))
        .await
        .unwrap();
    store.remove_content(&s.actor, ids[8]).await.unwrap();
    // Series: {0, 1, 40 (assessed)} flagged and referred, {2} plain.
    let mut keeper = Holder::take(store).await;
    let mut step = save(1);
    step.next_series = 2;
    step.members = vec![
        (ids[0], Some((SeriesId(0), 0))),
        (ids[1], Some((SeriesId(0), 0))),
        (rows[0], Some((SeriesId(0), 0))),
        (ids[2], Some((SeriesId(1), 0))),
    ];
    step.series = vec![upkeep(0, 3), upkeep(1, 1)];
    keeper.save(store, &step).await;
    store
        .update_series(
            &s.actor,
            SeriesId(0),
            &SeriesChange {
                victim_identified: Some(true),
                referral: Some(Some(("NCA".into(), Timestamp(1_000)))),
                ..SeriesChange::default()
            },
            &BankScope::All,
        )
        .await
        .unwrap();

    let mut asked = ids.clone();
    asked.push(ContentId(999_999));
    let mut summaries = store.match_summaries(&asked).await.unwrap();
    summaries.sort_by_key(|m| m.id);
    let series: HashMap<ContentId, Series> = store
        .content_series(&asked)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected: Vec<MatchSummary> = store
        .contents(&asked)
        .await
        .unwrap()
        .into_iter()
        .map(|content| MatchSummary {
            id: content.id,
            assessment: content.assessment,
            opinion_status: content.opinion_status(),
            series: series.get(&content.id).map(|s| SeriesBadge {
                id: s.id,
                offender_identified: s.offender_identified,
                referred: s.referred_to.is_some(),
                victim_identified: s.victim_identified,
            }),
            provenance: content.provenance,
        })
        .collect();
    assert_eq!(summaries, expected);
    assert_eq!(summaries.len(), 42, "all but the removed and the unknown");
    let by_id = |id: ContentId| summaries.iter().find(|m| m.id == id).unwrap();
    assert_eq!(by_id(rows[2]).opinion_status, OpinionStatus::Disputed);
    assert_eq!(by_id(rows[1]).opinion_status, OpinionStatus::Confirmed);
    assert_eq!(by_id(ids[7]).opinion_status, OpinionStatus::Disputed);
    assert_eq!(by_id(ids[3]).opinion_status, OpinionStatus::Unreviewed);
    let flagged = by_id(ids[1]).series.unwrap();
    assert!(flagged.victim_identified && flagged.referred && !flagged.offender_identified);
    assert_eq!(by_id(ids[2]).series.map(|s| s.id), Some(SeriesId(1)));
    assert_eq!(by_id(ids[3]).series, None);
    assert_eq!(by_id(ids[3]).provenance.added_by_key, Some(s.key.id));
}

/// The series log says every move and every change of flags in order; with the
/// memberships read after its `last`, a reader holds every item's series.
pub async fn the_series_log_follows_every_change(store: &impl Store) {
    let actor = operator();
    let mut keeper = Holder::take(store).await;
    let start = store.series_log(0, 0).await.unwrap();
    assert!(start.entries.is_empty(), "a page of 0 entries");
    assert!(start.last >= start.pruned);
    let mut step = save(5);
    step.next_series = 2;
    step.members = vec![
        (ContentId(10), Some((SeriesId(0), 0))),
        (ContentId(11), Some((SeriesId(0), 0))),
        (ContentId(20), Some((SeriesId(1), 0))),
    ];
    step.series = vec![upkeep(0, 2), upkeep(1, 1)];
    keeper.save(store, &step).await;
    let badge = |id: i64, flags: i64| SeriesBadge::of_flags(SeriesId(id), flags);
    let member = |content: i64, series: Option<i64>| SeriesLogEntry::Member {
        content: ContentId(content),
        series: series.map(SeriesId),
    };
    let entries = |page: &SeriesLogPage| page.entries.iter().map(|(_, e)| *e).collect::<Vec<_>>();
    let page = store.series_log(start.last, 100).await.unwrap();
    assert_eq!(
        entries(&page),
        [
            member(10, Some(0)),
            member(11, Some(0)),
            member(20, Some(1))
        ]
    );
    assert!(
        page.entries.windows(2).all(|w| w[0].0 < w[1].0),
        "positions grow"
    );
    assert_eq!(page.last, page.entries.last().unwrap().0);
    // Paged by position and by content id.
    let first = store.series_log(start.last, 2).await.unwrap();
    assert_eq!(first.entries.len(), 2);
    let rest = store.series_log(first.entries[1].0, 2).await.unwrap();
    assert_eq!(entries(&rest), [member(20, Some(1))]);
    assert_eq!(
        store.series_memberships(ContentId(0), 2).await.unwrap(),
        [(ContentId(10), badge(0, 0)), (ContentId(11), badge(0, 0))]
    );
    assert_eq!(
        store.series_memberships(ContentId(11), 2).await.unwrap(),
        [(ContentId(20), badge(1, 0))]
    );

    // A curator's flags and referral; a refused change logs nothing.
    store
        .update_series(
            &actor,
            SeriesId(1),
            &SeriesChange {
                victim_identified: Some(true),
                referral: Some(Some(("Police".into(), Timestamp(1_000)))),
                ..SeriesChange::default()
            },
            &BankScope::All,
        )
        .await
        .unwrap();
    assert_fails!(
        store
            .update_series(
                &actor,
                SeriesId(77),
                &SeriesChange::default(),
                &BankScope::All
            )
            .await,
        StoreError::NotFound { .. }
    );
    let flagged = store.series_log(page.last, 100).await.unwrap();
    assert_eq!(entries(&flagged), [SeriesLogEntry::Flags(badge(1, 1 | 4))]);
    assert_eq!(
        store.series_memberships(ContentId(11), 10).await.unwrap(),
        [(ContentId(20), badge(1, 5))]
    );

    // 11 leaves; 1 merges into 0, which takes its flags.
    let mut step = save(6);
    step.next_series = 2;
    step.members = vec![
        (ContentId(11), None),
        (ContentId(20), Some((SeriesId(0), 0))),
    ];
    step.series = vec![
        SeriesUpkeep {
            merged_into: Some(SeriesId(0)),
            ..upkeep(1, 0)
        },
        upkeep(0, 2),
    ];
    keeper.save(store, &step).await;
    let merged = store.series_log(flagged.last, 100).await.unwrap();
    assert_eq!(
        entries(&merged),
        [
            member(11, None),
            member(20, Some(0)),
            SeriesLogEntry::Flags(badge(0, 5))
        ]
    );
    assert_eq!(
        store.series_memberships(ContentId(0), 10).await.unwrap(),
        [(ContentId(10), badge(0, 5)), (ContentId(20), badge(0, 5))]
    );
    // A save refused by the fence logs nothing.
    assert_fails!(
        store
            .save_series("check", keeper.version - 1, &save(7))
            .await,
        StoreError::Conflict(_)
    );
    let after = store.series_log(merged.last, 100).await.unwrap();
    assert!(after.entries.is_empty());
    assert_eq!(after.last, merged.last);
    assert_eq!(after.pruned, start.pruned, "nothing is old enough to go");

    // A large step (a bulk import's first grouping) is logged whole, in order.
    let mut step = save(8);
    step.next_series = 3;
    step.members = (1_000..2_200)
        .map(|c| (ContentId(c), Some((SeriesId(2), 0))))
        .collect();
    step.series = vec![upkeep(2, 1_200)];
    keeper.save(store, &step).await;
    let large = store.series_log(merged.last, 5_000).await.unwrap();
    assert_eq!(
        entries(&large),
        (1_000..2_200)
            .map(|c| member(c, Some(2)))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        store
            .series_memberships(ContentId(999), 5_000)
            .await
            .unwrap()
            .len(),
        1_200
    );
}

/// Items that the index feed puts in one summary group show the same in a match answer
/// (their ids aside), and an item that gets something of its own leaves its group.
pub async fn summary_groups_share_a_summary(store: &impl Store) {
    let s = setup(store, "Groups").await;
    let bulk: Vec<NewContent> = (0..40).map(|n| item(vec![pdq(n)])).collect();
    let ids = store.add_content(&s.actor, s.bank.id, &bulk).await.unwrap();
    let changes = store.signal_changes(Seq(0), 1000).await.unwrap();
    let mut groups: HashMap<i64, Vec<ContentId>> = HashMap::new();
    for change in changes.iter().filter(|c| ids.contains(&c.content)) {
        if let Some(group) = change.summary_group {
            groups.entry(group).or_default().push(change.content);
        }
    }
    for members in groups.values() {
        let summaries = store.match_summaries(members).await.unwrap();
        assert_eq!(summaries.len(), members.len());
        for summary in &summaries {
            assert_eq!(summary.assessment, None);
            assert_eq!(summary.opinion_status, summaries[0].opinion_status);
            assert_eq!(summary.provenance, summaries[0].provenance);
        }
    }
    let Some(member) = groups.values().next().map(|m| m[0]) else {
        return; // A store without groups (PostgreSQL keeps a row per item).
    };
    let last = changes.last().unwrap().seq;
    store
        .set_opinion(&s.actor, member, s.org.id, Some(OpinionKind::Dispute))
        .await
        .unwrap();
    let moved = store.signal_changes(last, 1000).await.unwrap();
    let mine: Vec<&SignalChange> = moved.iter().filter(|c| c.content == member).collect();
    assert!(!mine.is_empty(), "the item's change is in the feed");
    assert!(mine.iter().all(|c| c.summary_group.is_none()));
}
