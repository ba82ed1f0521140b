//! Series through the service: the keeper forms them from the banks' content as it arrives
//! and leaves, match answers carry them (and say known, near or novel), curators name, flag,
//! merge and split them through `/v1/series`, and their decisions stick when content
//! arrives and when another keeper reloads from the store.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use ward_core::series::SeriesOptions;
use ward_store::{ContentId, Role, SeriesId, Store};

use super::series::Keeper;
use super::tests::Fixture;

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

/// `PDQ` with the given bits flipped (bit 0: the lowest bit of the last hex digit).
fn flipped(bits: &[usize]) -> String {
    let mut digits: Vec<u8> = PDQ.chars().map(|c| c.to_digit(16).unwrap() as u8).collect();
    for &bit in bits {
        let at = digits.len() - 1 - bit / 4;
        digits[at] ^= 1 << (bit % 4);
    }
    digits
        .iter()
        .map(|d| char::from_digit(u32::from(*d), 16).unwrap())
        .collect()
}

/// A hash `distance` bits from `PDQ`, the bits starting at `first`.
fn away(first: usize, distance: usize) -> String {
    flipped(&(first..first + distance).collect::<Vec<_>>())
}

async fn series_of(f: &Fixture, content: i64) -> Option<SeriesId> {
    f.state
        .store
        .content_series(&[ContentId(content)])
        .await
        .unwrap()
        .first()
        .map(|(_, s)| s.id)
}

async fn keep(f: &Fixture) {
    f.follow().await;
    let report = f.state.keep_series().await.expect("a keeper step");
    assert!(report.keeping, "the only node keeps the series");
}

async fn match_pdq(f: &Fixture, hash: &str) -> Value {
    let uri = format!("/v1/match?signal_type=pdq&signal={hash}");
    let (status, body) = f
        .json(Method::GET, &uri, Some(f.key(Role::Platform)), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn series_form_show_on_matches_and_keep_curators_decisions() {
    series_through_the_service(Fixture::new().await).await;
}

/// The same with the store on PostgreSQL (a fresh database).
#[tokio::test]
async fn series_form_show_on_matches_and_keep_curators_decisions_on_postgres() {
    series_through_the_service(Fixture::on_postgres().await).await;
}

async fn series_through_the_service(f: Fixture) {
    let bank = f.bank("SERIES", json!({})).await;
    let negative = f.bank("FALSE_POSITIVES", json!({"kind": "negative"})).await;
    // Family one: a, b (1 bit apart), c (10 bits from b, 11 from a). Family two: d, e,
    // about 100 bits from the first.
    let a = f.content(bank, "pdq", PDQ).await;
    let b = f.content(bank, "pdq", &flipped(&[0])).await;
    let c = f.content(bank, "pdq", &away(0, 11)).await;
    let d = f.content(bank, "pdq", &away(100, 100)).await;
    let e = f.content(bank, "pdq", &away(101, 100)).await;
    // Only digests, or in a negative bank: no series.
    let digest = f
        .content(bank, "md5", "d41d8cd98f00b204e9800998ecf8427e")
        .await;
    let benign = f.content(negative, "pdq", &away(200, 40)).await;
    keep(&f).await;

    let one = series_of(&f, a).await.expect("a is in a series");
    let two = series_of(&f, d).await.expect("d is in a series");
    assert_ne!(one, two);
    for (item, series) in [(b, one), (c, one), (e, two)] {
        assert_eq!(series_of(&f, item).await, Some(series));
    }
    assert_eq!(series_of(&f, digest).await, None);
    assert_eq!(series_of(&f, benign).await, None);

    // Listing and reading, as hotline staff.
    let (status, list) = f
        .json(
            Method::GET,
            "/v1/series",
            Some(f.key(Role::Analyst)),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed: Vec<(i64, i64)> = list["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_i64().unwrap(), s["members"].as_i64().unwrap()))
        .collect();
    assert_eq!(listed, [(one.0, 3), (two.0, 2)]);
    let (status, shown) = f
        .json(
            Method::GET,
            &format!("/v1/series/{one}"),
            Some(f.key(Role::Auditor)),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["content"], json!([a, b, c]));
    assert_eq!(shown["victim_identified"], json!(false));
    assert_eq!(shown["content_not_listed"], json!(0));
    // Another organisation, which sees none of its content, is not told of the series.
    let (status, hidden) = f
        .json(
            Method::GET,
            &format!("/v1/series/{one}"),
            Some(&f.other_curator),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{hidden}");

    // Match answers: known, near (with the series), novel.
    let known = match_pdq(&f, PDQ).await;
    assert_eq!(known["placement"], json!("known"), "{known}");
    let near = match_pdq(&f, &away(50, 3)).await;
    assert_eq!(near["placement"], json!("near"), "{near}");
    assert!(
        near["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["series"]["id"] == json!(one.0)
                && m["series"]["victim_identified"] == json!(false)),
        "{near}"
    );
    let novel = match_pdq(&f, &away(0, 128)).await;
    assert_eq!(novel["placement"], json!("novel"), "{novel}");
    assert_eq!(novel["matches"], json!([]));

    // Curators name and flag; an analyst may not.
    let change = json!({"name": "Garden", "victim_identified": true, "referred_to": "NCA", "referred_on": "2026-11-20"});
    let (status, _) = f
        .json(
            Method::PATCH,
            &format!("/v1/series/{one}"),
            Some(f.key(Role::Analyst)),
            change.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, named) = f
        .json(
            Method::PATCH,
            &format!("/v1/series/{one}"),
            Some(f.key(Role::Curator)),
            change,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{named}");
    assert_eq!(named["name"], json!("Garden"));
    assert_eq!(named["referred_at"], json!("2026-11-20T00:00:00.000Z"));
    let (status, bad) = f
        .json(
            Method::PATCH,
            &format!("/v1/series/{one}"),
            Some(f.key(Role::Curator)),
            json!({"referred_on": "yesterday"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, _) = f
        .json(
            Method::PATCH,
            "/v1/series/9999",
            Some(f.key(Role::Curator)),
            json!({"name": "nowhere"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let flagged = match_pdq(&f, PDQ).await;
    assert_eq!(
        flagged["matches"][0]["series"],
        json!({"id": one.0, "offender_identified": false, "referred": true, "victim_identified": true})
    );

    // The series is referred with its name and flags, in JSON and in VICS (which the VICS
    // importer reads back), and the audit log says who referred it.
    let (status, _, body) = f
        .raw(
            Method::GET,
            &format!("/v1/series/{one}/referral"),
            f.key(Role::Analyst),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let referral: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(referral["subject"]["name"], json!("Garden"), "{referral}");
    assert_eq!(referral["subject"]["victim_identified"], json!(true));
    let mut referred: Vec<i64> = referral["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["content_id"].as_i64().unwrap())
        .collect();
    referred.sort_unstable();
    assert_eq!(referred, [a, b, c]);
    let (status, _, body) = f
        .raw(
            Method::GET,
            &format!("/v1/series/{one}/referral?format=vics"),
            f.key(Role::Curator),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut hashes = Vec::new();
    let summary = ward_core::exchange::vics::read(body.as_slice(), &mut |record| {
        if let ward_core::exchange::Change::Upsert(item) = record.unwrap().change {
            hashes.extend(item.signals.into_iter().map(|s| s.value));
        }
        std::ops::ControlFlow::Continue(())
    });
    assert_eq!(summary.records, 3);
    hashes.sort();
    let mut expected = vec![PDQ.to_owned(), flipped(&[0]), away(0, 11)];
    expected.sort();
    assert_eq!(hashes, expected);
    assert_eq!(
        f.audited(&format!("series:{one}")).await,
        ["series.update", "export.referral", "export.referral"]
    );
    let (status, _, _) = f
        .raw(
            Method::GET,
            &format!("/v1/series/{one}/referral"),
            f.key(Role::Platform),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A curator merges the two (they are the same scene): one series under the older id,
    // with the flags.
    let (status, merged) = f
        .json(
            Method::POST,
            &format!("/v1/series/{two}/merge"),
            Some(f.key(Role::Curator)),
            json!({"with": one.0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["outcome"], json!([one.0.min(two.0)]));
    let joined = SeriesId(one.0.min(two.0));
    for item in [a, b, c, d, e] {
        assert_eq!(series_of(&f, item).await, Some(joined));
    }
    let row = f
        .state
        .store
        .series(joined, &ward_store::BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert!(row.victim_identified);
    assert_eq!(row.name.as_deref(), Some("Garden"));

    // And splits c off (not the same child after all): c alone, the rest together.
    let (status, split) = f
        .json(
            Method::POST,
            &format!("/v1/series/{joined}/split"),
            Some(f.key(Role::Curator)),
            json!({"content": [c]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{split}");
    let apart = series_of(&f, c).await.unwrap();
    assert_ne!(apart, joined);
    assert_eq!(series_of(&f, a).await, Some(joined));
    let fresh = f
        .state
        .store
        .series(apart, &ward_store::BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !fresh.victim_identified,
        "a curator's split starts unflagged"
    );
    assert_eq!(fresh.split_from, Some(joined));
    // Refused decisions are answered 409 with the reason; a bad request 400 or 404.
    let (status, refused) = f
        .json(
            Method::POST,
            &format!("/v1/series/{apart}/split"),
            Some(f.key(Role::Curator)),
            json!({"content": [c]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("every member"));
    let (status, _) = f
        .json(
            Method::POST,
            "/v1/series/9999/merge",
            Some(f.key(Role::Curator)),
            json!({"with": joined.0}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f
        .json(
            Method::POST,
            &format!("/v1/series/{joined}/merge"),
            Some(f.key(Role::Analyst)),
            json!({"with": apart.0}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Decisions are curators' to read (an auditor reads the audit log instead).
    let decision = refused["id"].as_i64().unwrap();
    let uri = format!("/v1/series/decisions/{decision}");
    let (status, read) = f
        .json(Method::GET, &uri, Some(f.key(Role::Curator)), Value::Null)
        .await;
    assert_eq!(
        (status, read["id"].clone()),
        (StatusCode::OK, json!(decision))
    );
    for role in [Role::Auditor, Role::Analyst] {
        let (status, _) = f
            .json(Method::GET, &uri, Some(f.key(role)), Value::Null)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }

    // New content between c and a stays on a's side of the split (its nearest neighbour);
    // new content next to c joins c.
    let between = f.content(bank, "pdq", &away(0, 2)).await;
    let by_c = f.content(bank, "pdq", &away(0, 12)).await;
    keep(&f).await;
    assert_eq!(series_of(&f, between).await, Some(joined));
    assert_eq!(series_of(&f, by_c).await, Some(apart));

    // Removing content takes it out; disabling too; enabling puts it back.
    let (status, _) = f
        .json(
            Method::DELETE,
            &format!("/v1/content/{b}"),
            Some(f.key(Role::Curator)),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = f
        .json(
            Method::PATCH,
            &format!("/v1/content/{e}"),
            Some(f.key(Role::Curator)),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    keep(&f).await;
    assert_eq!(series_of(&f, b).await, None);
    assert_eq!(series_of(&f, e).await, None);
    assert_eq!(
        f.state
            .store
            .series(joined, &ward_store::BankScope::All)
            .await
            .unwrap()
            .unwrap()
            .members,
        3,
        "a, d and the new item"
    );

    // Another keeper (a restart) rebuilds the same series from the store alone.
    let before = memberships(&f).await;
    let holder = f.state.series.lock().await.holder().to_owned();
    let mut restarted = Keeper::new(holder, SeriesOptions::default());
    let report = restarted.step(&f.state.store).await.unwrap();
    assert!(report.loaded && report.keeping);
    assert_eq!(memberships(&f).await, before);
    let engine: BTreeSet<(u64, u64)> = restarted
        .engine()
        .unwrap()
        .items()
        .map(|(item, series)| (item, series.0))
        .collect();
    let stored: BTreeSet<(u64, u64)> = before
        .iter()
        .map(|&(item, series)| (item as u64, series as u64))
        .collect();
    assert_eq!(engine, stored);
    // The split still holds in the reloaded engine.
    let near_c = f.content(bank, "pdq", &away(0, 13)).await;
    f.follow().await;
    restarted.step(&f.state.store).await.unwrap();
    assert_eq!(series_of(&f, near_c).await, Some(apart));
}

/// Every item with its series, as the store has them.
async fn memberships(f: &Fixture) -> Vec<(i64, i64)> {
    let list = f
        .state
        .store
        .series_list(&ward_store::SeriesQuery {
            scope: ward_store::BankScope::All,
            victim_identified: None,
            after: None,
            limit: 1000,
        })
        .await
        .unwrap();
    let mut all = Vec::new();
    for series in list {
        for item in f
            .state
            .store
            .series_members(series.id, &ward_store::BankScope::All)
            .await
            .unwrap()
        {
            all.push((item.0, series.id.0));
        }
    }
    all.sort_unstable();
    all
}

#[tokio::test]
async fn one_keeper_at_a_time() {
    let f = Fixture::new().await;
    let bank = f.bank("SERIES", json!({})).await;
    f.content(bank, "pdq", PDQ).await;
    keep(&f).await;
    // Another node's keeper finds the lease held and does nothing.
    let mut other = Keeper::new("another-node".into(), SeriesOptions::default());
    let report = other.step(&f.state.store).await.unwrap();
    assert!(!report.keeping);
    assert!(other.engine().is_none());
}

/// A save of more members than a part (the first after a bulk import holds every item) is
/// written in several transactions, leaving SQLite's one writer free between them, and ends
/// in the same store as one save would: a keeper reloading from it finds what was kept.
#[tokio::test]
async fn a_large_save_is_written_in_parts() {
    let f = Fixture::new().await;
    let bank = f.bank("SERIES", json!({})).await;
    // Five items near each other (one series), and two far from them and each other.
    let mut items = Vec::new();
    for k in 0..5 {
        items.push(f.content(bank, "pdq", &away(2 * k, 4)).await);
    }
    items.push(f.content(bank, "pdq", &away(100, 90)).await);
    items.push(f.content(bank, "pdq", &away(10, 120)).await);
    f.follow().await;
    let store = &f.state.store;
    let before = store.series_keeping().await.unwrap().version;
    let mut keeper =
        Keeper::new("parts-node".into(), SeriesOptions::default()).with_save_members(2);
    let report = keeper.step(store).await.unwrap();
    assert!(report.keeping && report.saved, "{report:?}");
    let after = store.series_keeping().await.unwrap().version;
    let members = memberships(&f).await;
    assert_eq!(members.len(), items.len(), "{members:?}");
    // Seven members in parts of two: four transactions.
    assert_eq!(after - before, 4, "{members:?}");
    let near: BTreeSet<i64> = members
        .iter()
        .filter(|(item, _)| items[..5].contains(item))
        .map(|&(_, series)| series)
        .collect();
    assert_eq!(near.len(), 1, "the near items are one series: {members:?}");

    // The engine and the store agree, and a keeper loading the store anew finds the same.
    let kept: BTreeSet<(i64, i64)> = keeper
        .engine()
        .unwrap()
        .items()
        .map(|(item, series)| (item as i64, series.0 as i64))
        .collect();
    assert_eq!(kept, members.iter().copied().collect());
    let mut reloaded = Keeper::new("parts-node".into(), SeriesOptions::default());
    let report = reloaded.step(store).await.unwrap();
    assert!(report.loaded && report.keeping, "{report:?}");
    assert_eq!(memberships(&f).await, members);
}
