//! Fetching StopNCII's `FetchHashes` from a fake of it on loopback that speaks it as
//! EXCHANGES.md §3 describes: the two key headers, `startTimestamp` sent again with each
//! `nextPageToken`, `hasMoreRecords`, `nextSetTimestamp`, withdrawn hashes, feedbacks; and on
//! demand 429s, 5xxs, broken pages, a record that does not read, tokens that expire, a
//! `nextSetTimestamp` that goes back and slow pages.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use ward_store::Store as _;

use super::super::stopncii::{Checkpoint, Credentials, Paging};
use super::super::{Credentials as AnyCredentials, ExchangeError, FetchReport, now_s};
use super::{Bench, pdq_of};

/// A hash of the fake's feed.
#[derive(Clone, Debug)]
struct Hash {
    signal_type: &'static str,
    value: String,
    status: &'static str,
    modified: i64,
}

/// What the fake answers a request with instead of the page, or does first.
#[derive(Clone, Debug)]
enum Trouble {
    Status(u16),
    Broken,
    /// A record of the page that does not read (an unknown feedback value).
    BadRecord,
    /// Tokens given so far stop being valid.
    Expire,
    /// The page's `nextSetTimestamp` is 5.
    Backwards,
    Slow(Duration),
}

#[derive(Default)]
struct Feed {
    hashes: BTreeMap<String, Hash>,
    page: usize,
    /// Tokens name their generation: an older one is refused.
    generation: u32,
    troubles: VecDeque<Trouble>,
    /// Every request's query, in order.
    asked: Vec<BTreeMap<String, String>>,
    /// Statuses `SubmitFeedback` answers instead of taking the feedback, in order.
    feedback_troubles: VecDeque<u16>,
    /// Feedback taken: each hash's value and feedback value.
    feedback: Vec<(String, String)>,
}

type Fake = Arc<Mutex<Feed>>;

async fn fake_stopncii(hashes: Vec<Hash>, page: usize) -> (Fake, String) {
    let fake: Fake = Arc::new(Mutex::new(Feed {
        hashes: hashes.into_iter().map(|h| (h.value.clone(), h)).collect(),
        page,
        ..Feed::default()
    }));
    let app = Router::new()
        .route("/v1/FetchHashes", get(fetch_hashes))
        .route("/v1/SubmitFeedback", axum::routing::post(submit_feedback))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, format!("http://{address}/v1"))
}

fn record(hash: &Hash) -> Value {
    let mut record = json!({
        "lastModtimestamp": hash.modified,
        "signalType": hash.signal_type,
        "hashValue": hash.value,
        "hashStatus": hash.status,
        "caseNumbers": {"11111111-2222-3333-4444-555555555555": hash.status},
        "hashRegions": ["UK"],
    });
    if hash.modified % 2 == 0 {
        record["CSPFeedbacks"] =
            json!([{"source": "ExamplePlatform", "feedbackValue": "Blocked", "tags": ["Nude"]}]);
    }
    record
}

async fn fetch_hashes(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("ocp-apim-subscription-key") != Some("sub-key")
        || header("x-functions-key") != Some("fetch-key")
    {
        return (StatusCode::UNAUTHORIZED, "Access denied").into_response();
    }
    let trouble = {
        let mut feed = fake.lock().unwrap();
        feed.asked.push(query.clone());
        feed.troubles.pop_front()
    };
    match trouble {
        Some(Trouble::Status(status)) => {
            return (
                StatusCode::from_u16(status).unwrap(),
                [("retry-after", "0")],
                "busy",
            )
                .into_response();
        }
        Some(Trouble::Broken) => return r#"{"count": 3, "hashRecords": [{"signal"#.into_response(),
        Some(Trouble::Slow(wait)) => tokio::time::sleep(wait).await,
        Some(Trouble::Expire) => fake.lock().unwrap().generation += 1,
        _ => {}
    }
    let feed = fake.lock().unwrap();
    let Some(start) = query
        .get("startTimestamp")
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let size: usize = query
        .get("pageSize")
        .and_then(|s| s.parse().ok())
        .unwrap_or(800)
        .min(feed.page);
    let offset = match query.get("nextPageToken") {
        None => 0,
        Some(token) => {
            let parsed = token
                .strip_prefix(&format!("g{}-", feed.generation))
                .and_then(|o| o.parse::<usize>().ok());
            match parsed {
                Some(offset) => offset,
                None => {
                    return (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"message": "nextPageToken is not valid"})),
                    )
                        .into_response();
                }
            }
        }
    };
    // In time order, from `startTimestamp` on (inclusive).
    let mut chosen: Vec<&Hash> = feed
        .hashes
        .values()
        .filter(|h| h.modified >= start)
        .collect();
    chosen.sort_by_key(|h| (h.modified, h.value.clone()));
    let page: Vec<&&Hash> = chosen.iter().skip(offset).take(size).collect();
    let mut records: Vec<Value> = page.iter().map(|h| record(h)).collect();
    if matches!(trouble, Some(Trouble::BadRecord)) {
        records.insert(
            1.min(records.len()),
            json!({"lastModtimestamp": 1, "signalType": "ImagePDQ", "hashValue": "zz",
                   "hashStatus": "Active", "caseNumbers": {}}),
        );
    }
    let more = offset + size < chosen.len();
    let next_set = if matches!(trouble, Some(Trouble::Backwards)) {
        5
    } else {
        page.last().map_or(start, |h| h.modified)
    };
    let mut answer = json!({
        "count": records.len(),
        "nextSetTimestamp": next_set,
        "hasMoreRecords": more,
        "hashRecords": records,
    });
    if more {
        answer["nextPageToken"] = json!(format!("g{}-{}", feed.generation, offset + size));
    }
    axum::Json(answer).into_response()
}

/// Takes feedback as EXCHANGES.md §3.5 describes it: the subscription key and
/// SubmitFeedback's own function key; `count` and `hashFeedbacks` of known hashes.
async fn submit_feedback(
    State(fake): State<Fake>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("ocp-apim-subscription-key") != Some("sub-key")
        || header("x-functions-key") != Some("feedback-key")
    {
        return (StatusCode::UNAUTHORIZED, "Access denied").into_response();
    }
    let mut feed = fake.lock().unwrap();
    if let Some(status) = feed.feedback_troubles.pop_front() {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    let Some(items) = body["hashFeedbacks"].as_array() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if body["count"].as_u64() != Some(items.len() as u64) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let mut taken = Vec::new();
    for item in items {
        let (Some(hash), Some(value), Some(_tags)) = (
            item["hashValue"].as_str(),
            item["feedbackValue"].as_str(),
            item["tags"].as_array(),
        ) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        if !feed.hashes.contains_key(hash) || !matches!(value, "Blocked" | "NotBlocked") {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"message": "unknown hash"})),
            )
                .into_response();
        }
        taken.push((hash.to_owned(), value.to_owned()));
    }
    feed.feedback.extend(taken);
    axum::Json(json!({"count": items.len()})).into_response()
}

struct Rig {
    fake: Fake,
    bench: Bench,
    /// The fake's base URL, given as the credentials' override (as HMA keeps it).
    base_url: String,
}

impl std::ops::Deref for Rig {
    type Target = Bench;

    fn deref(&self) -> &Bench {
        &self.bench
    }
}

fn md5_of(n: u32) -> String {
    format!("{:032x}", u128::from(n) * 0x517c_c1b7_2722_0a95 + 3)
}

/// 25 hashes: PDQs, video MD5s every fifth, two withdrawn or deleted, one of a type Ward
/// does not hold (VideoTMK).
fn hashes() -> Vec<Hash> {
    (0..25)
        .map(|n| Hash {
            signal_type: match n {
                _ if n == 12 => "VideoTMK",
                _ if n % 5 == 0 => "VideoMD5",
                _ => "ImagePDQ",
            },
            value: if n % 5 == 0 { md5_of(n) } else { pdq_of(n) },
            status: match n {
                3 => "Withdrawn",
                7 => "Deleted",
                _ if n % 2 == 0 => "Active",
                _ => "Received",
            },
            modified: 1_700_000_000 + i64::from(n / 2) * 100,
        })
        .collect()
}

impl Rig {
    async fn new(hashes: Vec<Hash>, page: usize) -> Rig {
        let (fake, base_url) = fake_stopncii(hashes, page).await;
        let bench = Bench::new("stop_ncii", "STOPNCII_TEST", json!({})).await;
        Rig {
            fake,
            bench,
            base_url,
        }
    }

    async fn fetch_as(&self, subscription_key: &str) -> Result<FetchReport, ExchangeError> {
        self.fetch_with(self.credentials(subscription_key)).await
    }

    fn credentials(&self, subscription_key: &str) -> AnyCredentials {
        AnyCredentials::StopNcii(Credentials {
            fetch_function_key: "fetch-key".into(),
            subscription_key: subscription_key.into(),
            base_url_override: Some(self.base_url.clone()),
            submit_feedback_function_key: None,
        })
    }

    async fn fetch(&self) -> Result<FetchReport, ExchangeError> {
        self.fetch_as("sub-key").await
    }

    /// What the bank should hold: the fake's live hashes of the types Ward holds.
    fn expected(&self) -> BTreeMap<String, Vec<String>> {
        let feed = self.fake.lock().unwrap();
        feed.hashes
            .values()
            .filter(|h| !matches!(h.status, "Withdrawn" | "Deleted"))
            .filter_map(|h| {
                let kind = match h.signal_type {
                    "ImagePDQ" => "pdq",
                    "VideoMD5" => "md5",
                    _ => return None,
                };
                Some((h.value.clone(), vec![format!("{kind}:{}", h.value)]))
            })
            .collect()
    }

    fn trouble(&self, troubles: impl IntoIterator<Item = Trouble>) {
        self.fake.lock().unwrap().troubles.extend(troubles);
    }

    fn asked(&self) -> Vec<BTreeMap<String, String>> {
        self.fake.lock().unwrap().asked.clone()
    }
}

#[tokio::test]
async fn a_fetch_ends_with_exactly_the_feeds_set() {
    let rig = Rig::new(hashes(), 10).await;
    let report = rig.fetch().await.unwrap();
    assert_eq!(
        (
            report.pages,
            report.added,
            report.malformed,
            report.up_to_date
        ),
        (3, 22, 1, true),
        "{report:?}"
    );
    assert_eq!(rig.held().await, rig.expected());
    // The same startTimestamp with every token; the page size asked.
    let asked = rig.asked();
    assert!(
        asked.iter().all(|q| q["startTimestamp"] == "10"),
        "{asked:?}"
    );
    assert_eq!(asked[0]["pageSize"], "800");
    assert_eq!(asked[1]["nextPageToken"], "g0-10");
    // Feedbacks and cases are kept as the reader keeps them.
    let contents = rig.contents().await;
    let attributes: Vec<&str> = contents
        .iter()
        .flat_map(|c| c.attributes.iter().map(|(name, _)| name.as_str()))
        .collect();
    for name in [
        "CSPFeedbacks",
        "caseNumbers",
        "hashStatus",
        "lastModtimestamp",
    ] {
        assert!(attributes.contains(&name), "{name}: {attributes:?}");
    }
    let status = rig.status().await;
    assert_eq!(status.last_fetch_succeeded, Some(true));
    assert!(status.up_to_date && status.running_fetch_start_ts.is_none());
    assert_eq!(status.fetched_items, 22);
    // HMA's checkpoint, and nothing else once the run is over.
    let checkpoint = rig.checkpoint().await;
    let last = 1_700_000_000 + 12 * 100;
    assert_eq!(checkpoint["update_time"], last);
    assert_eq!(
        checkpoint.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["last_fetch_time", "update_time"]
    );
    assert_eq!(status.checkpoint_ts, Some(last));

    // Later: two withdrawn, one new, one of them deleted as StopNCII words it.
    {
        let mut feed = rig.fake.lock().unwrap();
        for n in [1, 10] {
            let value = if n % 5 == 0 { md5_of(n) } else { pdq_of(n) };
            let hash = feed.hashes.get_mut(&value).unwrap();
            hash.status = if n == 1 { "Withdrawn" } else { "Deleted" };
            hash.modified = last + 50;
        }
        feed.hashes.insert(
            pdq_of(99),
            Hash {
                signal_type: "ImagePDQ",
                value: pdq_of(99),
                status: "Active",
                modified: last + 60,
            },
        );
    }
    let before = rig.asked().len();
    let report = rig.fetch().await.unwrap();
    assert_eq!((report.removed, report.added), (2, 1), "{report:?}");
    assert_eq!(rig.asked()[before]["startTimestamp"], last.to_string());
    assert_eq!(rig.held().await, rig.expected());
    assert_eq!(rig.status().await.fetched_items, 21);
    assert_eq!(rig.checkpoint().await["update_time"], last + 60);
}

#[tokio::test]
async fn failures_are_retried_reported_and_resumed_without_loss() {
    // Busy answers are tried again within the fetch.
    let rig = Rig::new(hashes(), 10).await;
    rig.trouble([Trouble::Status(503), Trouble::Status(429)]);
    rig.fetch().await.unwrap();
    assert_eq!(rig.asked().len(), 5, "two retries and three pages");
    assert_eq!(rig.held().await, rig.expected());

    // A record that does not read is skipped and counted; the rest of its page is kept.
    let rig = Rig::new(hashes(), 10).await;
    rig.trouble([Trouble::BadRecord]);
    let report = rig.fetch().await.unwrap();
    assert_eq!(report.malformed, 2, "the bad record and the TMK");
    assert_eq!(rig.held().await, rig.expected());

    // A broken second page ends the fetch, says why, and keeps the first page and its
    // token; the next fetch goes on from there and ends with the feed's set.
    let rig = Rig::new(hashes(), 10).await;
    rig.trouble([Trouble::Slow(Duration::ZERO), Trouble::Broken]);
    let error = rig.fetch().await.unwrap_err();
    assert!(
        matches!(error, ExchangeError::MalformedPage { .. }),
        "{error}"
    );
    let status = rig.status().await;
    assert_eq!(
        (status.last_fetch_succeeded, status.failures),
        (Some(false), 1)
    );
    assert!(status.last_error.unwrap().contains("cannot be read"));
    assert_eq!(rig.held().await.len(), 8, "the first page is kept");
    assert_eq!(rig.checkpoint().await["paging"]["next_page_token"], "g0-10");
    let before = rig.asked().len();
    rig.fetch().await.unwrap();
    assert_eq!(rig.asked()[before]["nextPageToken"], "g0-10");
    assert_eq!(rig.held().await, rig.expected());
    let status = rig.status().await;
    assert_eq!(
        (status.last_fetch_succeeded, status.failures),
        (Some(true), 0)
    );

    // Refused keys end a fetch with what went wrong, and nothing applied.
    let rig = Rig::new(hashes(), 10).await;
    let error = rig.fetch_as("wrong-key").await.unwrap_err();
    assert!(matches!(error, ExchangeError::Credentials(401)), "{error}");
    let status = rig.status().await;
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("credentials")
    );
    assert!(!status.last_error.unwrap().contains("key"));
    assert_eq!(rig.held().await.len(), 0);
}

#[tokio::test]
async fn an_expired_token_starts_again_from_the_checkpoint() {
    let rig = Rig::new(hashes(), 10).await;
    // A token the API no longer takes, given a minute ago: refused, then read again from
    // update_time without it.
    rig.trouble([Trouble::Expire]);
    let now = now_s();
    let checkpoint = Checkpoint {
        update_time: 1_700_000_300,
        last_fetch_time: now - 60,
        paging: Some(Paging {
            next_page_token: "g0-10".into(),
            start_timestamp: 10,
            token_ts: now - 60,
        }),
    };
    rig.set_checkpoint(&checkpoint, checkpoint.update_time)
        .await;
    rig.fetch().await.unwrap();
    let asked = rig.asked();
    assert_eq!(asked[0]["nextPageToken"], "g0-10");
    assert!(!asked[1].contains_key("nextPageToken"), "{asked:?}");
    assert_eq!(asked[1]["startTimestamp"], "1700000300");
    // Hashes changed before update_time are not sent again: only those after it are held.
    let held = rig.held().await;
    let expected: BTreeMap<_, _> = rig
        .expected()
        .into_iter()
        .filter(|(value, _)| rig.fake.lock().unwrap().hashes[value].modified >= 1_700_000_300)
        .collect();
    assert_eq!(held, expected);

    // A token older than an hour is not even tried; a checkpoint not fetched for 30 days
    // starts from scratch.
    let rig = Rig::new(hashes(), 10).await;
    let mut old = checkpoint.clone();
    old.paging.as_mut().unwrap().token_ts = now - 2 * 3600;
    rig.set_checkpoint(&old, old.update_time).await;
    rig.fetch().await.unwrap();
    assert!(!rig.asked()[0].contains_key("nextPageToken"));
    let rig = Rig::new(hashes(), 10).await;
    let stale = Checkpoint {
        last_fetch_time: now - 31 * 86_400,
        paging: None,
        ..checkpoint
    };
    rig.set_checkpoint(&stale, stale.update_time).await;
    rig.fetch().await.unwrap();
    assert_eq!(rig.asked()[0]["startTimestamp"], "10");
    assert_eq!(rig.held().await, rig.expected());
}

#[tokio::test]
async fn a_next_set_timestamp_that_goes_back_is_kept_and_nothing_is_skipped() {
    let rig = Rig::new(hashes(), 10).await;
    rig.trouble([Trouble::Slow(Duration::ZERO), Trouble::Slow(Duration::ZERO)]);
    rig.trouble([Trouble::Backwards]);
    let report = rig.fetch().await.unwrap();
    assert!(report.up_to_date);
    // The last page said 5: the next run reads from the start again, adding nothing.
    assert_eq!(rig.checkpoint().await["update_time"], 5);
    let report = rig.fetch().await.unwrap();
    assert_eq!((report.added, report.removed), (0, 0), "{report:?}");
    assert_eq!(rig.held().await, rig.expected());
}

#[tokio::test]
async fn a_fetch_killed_mid_way_resumes_without_loss_or_duplicates() {
    let rig = Rig::new(hashes(), 10).await;
    rig.trouble([
        Trouble::Slow(Duration::ZERO),
        Trouble::Slow(Duration::from_secs(30)),
    ]);
    rig.fetch_killed_after(rig.credentials("sub-key"), 8).await;
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, rig.expected());
    assert_eq!(rig.status().await.fetched_items, 22);
}

#[tokio::test]
async fn the_settings_base_url_wins_over_the_credentials() {
    let (fake, base_url) = fake_stopncii(hashes(), 10).await;
    let bench = Bench::new("stop_ncii", "STOPNCII_TEST", json!({"base_url": base_url})).await;
    let rig = Rig {
        fake,
        bench,
        base_url: "http://127.0.0.1:9/nowhere".into(),
    };
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, rig.expected());
}

#[tokio::test]
async fn feedback_reaches_stopncii_once_per_opinion() {
    let rig = Rig::new(hashes(), 10).await;
    rig.fetch().await.unwrap();
    // HMA's credentials have no SubmitFeedback key: feedback waits for one.
    let fetch_only = rig.credentials("sub-key");
    rig.keep_credentials(&fetch_only).await;
    let (blocked, not_blocked) = (pdq_of(1), pdq_of(2));
    let first = rig
        .opinion(&blocked, Some(ward_store::OpinionKind::Confirm))
        .await;
    rig.opinion(&not_blocked, Some(ward_store::OpinionKind::Dispute))
        .await;
    let waiting = rig.send_feedback(Duration::ZERO).await;
    assert_eq!(waiting.failed, 2, "{waiting:?}");
    let error = rig.store.content_feedback(first).await.unwrap()[0]
        .last_error
        .clone()
        .unwrap();
    assert!(error.contains("submit_feedback_function_key"), "{error}");
    let AnyCredentials::StopNcii(mut with_key) = fetch_only else {
        unreachable!()
    };
    with_key.submit_feedback_function_key = Some("feedback-key".into());
    rig.keep_credentials(&AnyCredentials::StopNcii(with_key))
        .await;
    // A 500 is tried again later.
    rig.fake.lock().unwrap().feedback_troubles.push_back(500);
    let later = Duration::from_secs(3600);
    let first_try = rig.send_feedback(later).await;
    assert_eq!((first_try.sent, first_try.failed), (1, 1), "{first_try:?}");
    let second_try = rig.send_feedback(later * 7).await;
    assert_eq!(
        (second_try.sent, second_try.failed),
        (1, 0),
        "{second_try:?}"
    );
    assert_eq!(rig.send_feedback(later * 24).await, Default::default());
    let mut taken = rig.fake.lock().unwrap().feedback.clone();
    taken.sort();
    let mut expected = vec![
        (blocked.clone(), "Blocked".to_owned()),
        (not_blocked, "NotBlocked".to_owned()),
    ];
    expected.sort();
    assert_eq!(taken, expected, "once per opinion");
    assert_eq!(
        rig.feedback_of(first).await,
        [("confirm", "sent", vec!["SubmitFeedback".to_owned()])]
    );
}
