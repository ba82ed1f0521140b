//! Fetching a ThreatExchange privacy group's `/threat_updates` from a fake Graph API on
//! loopback that speaks it as EXCHANGES.md §4 describes: the token as `access_token`,
//! `start_time`, `limit`, absolute `paging.next` links carrying the token and a cursor,
//! a last page with no `data`, `should_delete` and missing descriptors as deletions,
//! opinions and tags; and on demand 429s, 5xxs, broken pages, an update that does not
//! read, cursors that expire, a `paging.next` to another host and slow pages.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use ward_store::Store as _;

use super::super::threatexchange::Credentials;
use super::super::{Credentials as AnyCredentials, ExchangeError, FetchReport, now_s};
use super::{Bench, pdq_of};

/// The app's token the fake takes.
const TOKEN: &str = "100000000001|Secret_Token-abcdefghijklmnop";
/// The privacy group.
const GROUP: u64 = 4_000_000_000_000_001;

/// An indicator of the fake's group.
#[derive(Clone, Debug)]
struct Indicator {
    id: u64,
    kind: &'static str,
    indicator: String,
    updated: i64,
    deleted: bool,
    /// Tags of its one descriptor (`None`: no descriptors at all).
    tags: Option<Vec<&'static str>>,
}

/// What the fake answers a request with instead of the page, or does first.
#[derive(Clone, Debug)]
enum Trouble {
    Status(u16),
    Broken,
    /// An update of the page that does not read.
    BadUpdate,
    /// Cursors given so far stop being valid.
    Expire,
    /// The page's `paging.next` names another host.
    OffSiteLink,
    Slow(Duration),
}

#[derive(Default)]
struct Feed {
    indicators: BTreeMap<(String, String), Indicator>,
    page: usize,
    generation: u32,
    troubles: VecDeque<Trouble>,
    asked: Vec<BTreeMap<String, String>>,
    base: String,
    /// Reactions taken: descriptor and reaction.
    reactions: Vec<(String, String)>,
}

type Fake = Arc<Mutex<Feed>>;

async fn fake_graph(indicators: Vec<Indicator>, page: usize) -> (Fake, String) {
    let fake: Fake = Arc::new(Mutex::new(Feed {
        indicators: indicators
            .into_iter()
            .map(|i| ((i.kind.to_owned(), i.indicator.clone()), i))
            .collect(),
        page,
        ..Feed::default()
    }));
    let app = Router::new()
        .route("/graph/v21.0/{group}/threat_updates/", get(threat_updates))
        .route("/graph/v21.0/{descriptor}/", axum::routing::post(react))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{address}/graph/v21.0");
    fake.lock().unwrap().base = base.clone();
    (fake, base)
}

fn graph_error(code: i64, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(
            json!({"error": {"message": message, "type": "OAuthException",
                                    "code": code, "fbtrace_id": "x"}}),
        ),
    )
        .into_response()
}

fn update(indicator: &Indicator) -> Value {
    let mut update = json!({
        "id": indicator.id.to_string(),
        "indicator": indicator.indicator,
        "type": indicator.kind,
        "last_updated": indicator.updated,
        "should_delete": indicator.deleted,
    });
    if let (Some(tags), false) = (&indicator.tags, indicator.deleted) {
        update["descriptors"] = json!({"data": [{
            "id": format!("2{}", indicator.id),
            "owner": {"id": "3000000000000001"},
            "status": "MALICIOUS",
            "tags": tags,
            "added_on": "2023-11-14T22:00:00+0000",
            "reactions": [{"key": "HELPFUL", "value": "3000000000000002"}],
        }]});
    }
    update
}

async fn threat_updates(
    State(fake): State<Fake>,
    Path(group): Path<u64>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if query.get("access_token").map(String::as_str) != Some(TOKEN) {
        return graph_error(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    if group != GROUP {
        return graph_error(100, "Unsupported get request");
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
        Some(Trouble::Broken) => return r#"{"data": [{"id": "1", "indic"#.into_response(),
        Some(Trouble::Slow(wait)) => tokio::time::sleep(wait).await,
        Some(Trouble::Expire) => fake.lock().unwrap().generation += 1,
        _ => {}
    }
    let feed = fake.lock().unwrap();
    let start: i64 = query
        .get("start_time")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|s| s.parse().ok())
        .unwrap_or(25)
        .min(feed.page);
    if !query
        .get("fields")
        .is_some_and(|f| f.contains("descriptors{"))
    {
        return graph_error(100, "fields are required");
    }
    let offset = match query.get("after") {
        None => 0,
        Some(cursor) => match cursor
            .strip_prefix(&format!("g{}-", feed.generation))
            .and_then(|o| o.parse::<usize>().ok())
        {
            Some(offset) => offset,
            None => return graph_error(100, "Invalid cursor"),
        },
    };
    // In time order, from start_time on (inclusive).
    let mut chosen: Vec<&Indicator> = feed
        .indicators
        .values()
        .filter(|i| i.updated >= start)
        .collect();
    chosen.sort_by_key(|i| (i.updated, i.id));
    let mut data: Vec<Value> = chosen
        .iter()
        .skip(offset)
        .take(limit)
        .map(|i| update(i))
        .collect();
    if matches!(trouble, Some(Trouble::BadUpdate)) {
        data.insert(
            1.min(data.len()),
            json!({"id": "9", "type": "HASH_PDQ", "indicator": "not hex", "last_updated": 1,
                   "descriptors": {"data": [{"owner": {"id": "1"}, "status": "MALICIOUS"}]}}),
        );
    }
    // Graph gives a next link with every page that has data; the page after the last has
    // none, and no link.
    let mut answer = json!({"data": data});
    if offset < chosen.len() {
        let host = match trouble {
            Some(Trouble::OffSiteLink) => "https://elsewhere.example/graph/v21.0".to_owned(),
            _ => feed.base.clone(),
        };
        let mut next = url::Url::parse(&format!("{host}/{group}/threat_updates/")).unwrap();
        next.query_pairs_mut()
            .append_pair("access_token", TOKEN)
            .append_pair("limit", &limit.to_string())
            .append_pair("fields", &query["fields"])
            .append_pair("start_time", &start.to_string())
            .append_pair("after", &format!("g{}-{}", feed.generation, offset + limit));
        answer["paging"] = json!({"cursors": {"after": "x"}, "next": next.as_str()});
    }
    axum::Json(answer).into_response()
}

/// Takes a reaction to a descriptor of the group as Graph does: the token and `reactions`
/// in the query; a descriptor it does not know is a 400 (Graph's code 100).
async fn react(
    State(fake): State<Fake>,
    Path(descriptor): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if query.get("access_token").map(String::as_str) != Some(TOKEN) {
        return graph_error(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    let Some(reaction) = query.get("reactions") else {
        return graph_error(100, "reactions is required");
    };
    let mut feed = fake.lock().unwrap();
    let known = feed
        .indicators
        .values()
        .any(|i| i.tags.is_some() && !i.deleted && format!("2{}", i.id) == descriptor);
    if !known {
        return graph_error(100, "Unsupported post request");
    }
    feed.reactions.push((descriptor, reaction.clone()));
    axum::Json(json!({"success": true})).into_response()
}

fn md5_of(n: u32) -> String {
    format!("{:032x}", u128::from(n) * 0x2545_f491_4f6c_dd1d + 11)
}

/// 25 updates: PDQs; video MD5s; MD5s tagged `media_type_video` (a video's) and not (not
/// held); a URL (a type Ward does not hold); one deleted, one without descriptors.
fn indicators() -> Vec<Indicator> {
    (0..25u32)
        .map(|n| {
            let (kind, indicator, tags) = match n % 6 {
                1 => ("HASH_VIDEO_MD5", md5_of(n), vec!["csam"]),
                2 => ("HASH_MD5", md5_of(n), vec!["media_type_video"]),
                3 if n == 3 => ("HASH_MD5", md5_of(n), vec!["media", "media_type_photo"]),
                4 if n == 4 => ("URI", format!("https://example.org/{n}"), vec![]),
                _ => ("HASH_PDQ", pdq_of(n), vec!["example_label"]),
            };
            Indicator {
                id: 1_000_000 + u64::from(n),
                kind,
                indicator,
                updated: 1_700_000_000 + i64::from(n / 2) * 100,
                deleted: n == 7,
                tags: if n == 11 { None } else { Some(tags) },
            }
        })
        .collect()
}

struct Rig {
    fake: Fake,
    bench: Bench,
}

impl std::ops::Deref for Rig {
    type Target = Bench;

    fn deref(&self) -> &Bench {
        &self.bench
    }
}

impl Rig {
    async fn new(indicators: Vec<Indicator>, page: usize) -> Rig {
        let (fake, base_url) = fake_graph(indicators, page).await;
        let config = json!({"privacy_group": GROUP, "base_url": base_url, "page_size": page});
        let bench = Bench::new("fb_threatexchange", "TX_TEST", config).await;
        Rig { fake, bench }
    }

    async fn fetch_as(&self, token: &str) -> Result<FetchReport, ExchangeError> {
        self.fetch_with(credentials(token)).await
    }

    async fn fetch(&self) -> Result<FetchReport, ExchangeError> {
        self.fetch_as(TOKEN).await
    }

    /// What the bank should hold: the fake's live PDQs and videos' MD5s.
    fn expected(&self) -> BTreeMap<String, Vec<String>> {
        let feed = self.fake.lock().unwrap();
        feed.indicators
            .values()
            .filter(|i| !i.deleted && i.tags.is_some())
            .filter_map(|i| {
                let tags = i.tags.as_ref().unwrap();
                let kind = match i.kind {
                    "HASH_PDQ" => "pdq",
                    "HASH_VIDEO_MD5" => "md5",
                    "HASH_MD5" if tags.contains(&"media_type_video") => "md5",
                    _ => return None,
                };
                Some((
                    format!("{}:{}", i.kind, i.indicator),
                    vec![format!("{kind}:{}", i.indicator)],
                ))
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

fn credentials(token: &str) -> AnyCredentials {
    AnyCredentials::ThreatExchange(Credentials {
        api_token: token.into(),
    })
}

#[tokio::test]
async fn a_fetch_ends_with_exactly_the_groups_set() {
    let rig = Rig::new(indicators(), 10).await;
    let report = rig.fetch().await.unwrap();
    let expected = rig.expected();
    assert_eq!(expected.len(), 21);
    assert_eq!(
        (
            report.pages,
            report.added,
            report.unsupported,
            report.malformed
        ),
        (4, 21, 1, 0),
        "{report:?}"
    );
    assert!(report.up_to_date);
    assert_eq!(rig.held().await, expected);
    // The first request has no start_time; each next link is followed with the token.
    let asked = rig.asked();
    assert!(!asked[0].contains_key("start_time"), "{asked:?}");
    assert_eq!(asked[0]["limit"], "10");
    assert_eq!(asked[1]["after"], "g0-10");
    // Opinions are kept: the descriptor's and the reaction's.
    let contents = rig.contents().await;
    let opinions = contents[0]
        .attributes
        .iter()
        .find(|(name, _)| name == "opinions")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(opinions.contains("3000000000000002"), "{opinions}");
    let status = rig.status().await;
    assert_eq!(status.last_fetch_succeeded, Some(true));
    assert_eq!(status.fetched_items, 21);
    let last = 1_700_000_000 + 12 * 100;
    let checkpoint = rig.checkpoint().await;
    assert_eq!(checkpoint["update_time"], last);
    assert_eq!(
        checkpoint.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["last_fetch_time", "update_time"],
        "HMA's checkpoint, never a cursor"
    );
    assert_eq!(status.checkpoint_ts, Some(last));

    // Later: one deleted, one losing its descriptors, one no longer a video's, one new.
    {
        let mut feed = rig.fake.lock().unwrap();
        let mut change = |kind: &str, indicator: String, how: &dyn Fn(&mut Indicator)| {
            let found = feed
                .indicators
                .get_mut(&(kind.to_owned(), indicator))
                .unwrap();
            how(found);
            found.updated = last + 50;
        };
        change("HASH_PDQ", pdq_of(0), &|i| i.deleted = true);
        change("HASH_PDQ", pdq_of(5), &|i| i.tags = None);
        change("HASH_MD5", md5_of(2), &|i| i.tags = Some(vec!["media"]));
        feed.indicators.insert(
            ("HASH_PDQ".into(), pdq_of(99)),
            Indicator {
                id: 1_000_099,
                kind: "HASH_PDQ",
                indicator: pdq_of(99),
                updated: last + 60,
                deleted: false,
                tags: Some(vec![]),
            },
        );
    }
    let before = rig.asked().len();
    let report = rig.fetch().await.unwrap();
    assert_eq!((report.removed, report.added), (3, 1), "{report:?}");
    assert_eq!(rig.asked()[before]["start_time"], last.to_string());
    assert_eq!(rig.held().await, rig.expected());
    assert_eq!(rig.status().await.fetched_items, 19);
    assert_eq!(rig.checkpoint().await["update_time"], last + 60);
}

#[tokio::test]
async fn failures_are_retried_reported_and_resumed_without_loss() {
    // Busy answers are tried again within the fetch.
    let rig = Rig::new(indicators(), 10).await;
    rig.trouble([Trouble::Status(503), Trouble::Status(429)]);
    rig.fetch().await.unwrap();
    assert_eq!(rig.asked().len(), 6, "two retries and four pages");
    assert_eq!(rig.held().await, rig.expected());

    // An update that does not read is skipped and counted; the rest of its page is kept.
    let rig = Rig::new(indicators(), 10).await;
    rig.trouble([Trouble::BadUpdate]);
    let report = rig.fetch().await.unwrap();
    assert_eq!(report.malformed, 1);
    assert_eq!(rig.held().await, rig.expected());

    // A broken second page ends the fetch, says why, and keeps the first page; the next
    // fetch reads again from the checkpoint and ends with the group's set.
    let rig = Rig::new(indicators(), 10).await;
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
    assert_eq!(rig.held().await.len(), 7, "the first page is kept");
    let before = rig.asked().len();
    rig.fetch().await.unwrap();
    assert_eq!(rig.asked()[before]["start_time"], "1700000400");
    assert_eq!(rig.held().await, rig.expected());
    let status = rig.status().await;
    assert_eq!(
        (status.last_fetch_succeeded, status.failures),
        (Some(true), 0)
    );

    // A wrong token is Graph's error 190: the credentials, and nothing applied.
    let rig = Rig::new(indicators(), 10).await;
    let wrong = "100000000001|Wrong_Token-abcdefghijklmnop";
    let error = rig.fetch_as(wrong).await.unwrap_err();
    assert!(matches!(error, ExchangeError::Credentials(400)), "{error}");
    assert_eq!(rig.held().await.len(), 0);

    // A next link to another host is not followed, and its page is not applied.
    rig.trouble([Trouble::OffSiteLink]);
    let error = rig.fetch().await.unwrap_err();
    assert!(error.to_string().contains("off the API"), "{error}");
    assert_eq!(rig.held().await.len(), 0);
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, rig.expected());
}

#[tokio::test]
async fn the_token_is_never_in_an_error_or_the_status() {
    for trouble in [
        vec![Trouble::Status(500); 5],
        vec![Trouble::Status(404)],
        vec![Trouble::Broken],
        vec![Trouble::OffSiteLink],
        [Trouble::Slow(Duration::ZERO), Trouble::Expire]
            .into_iter()
            .chain(vec![Trouble::Status(500); 5])
            .collect(),
    ] {
        let rig = Rig::new(indicators(), 10).await;
        rig.trouble(trouble.clone());
        let error = rig.fetch().await.unwrap_err();
        let status = rig.status().await;
        for shown in [
            error.to_string(),
            format!("{error:?}"),
            status.last_error.clone().unwrap(),
            status.checkpoint.clone().unwrap_or_default(),
        ] {
            assert!(!shown.contains("Secret_Token"), "{trouble:?}: {shown}");
            assert!(!shown.contains("access_token"), "{trouble:?}: {shown}");
        }
    }
    let shown = format!("{:?}", credentials(TOKEN));
    assert!(!shown.contains("Secret_Token"), "{shown}");
}

#[tokio::test]
async fn an_expired_cursor_starts_again_from_the_checkpoint() {
    let rig = Rig::new(indicators(), 10).await;
    // The second request's cursor has expired: refused, then read again from update_time.
    rig.trouble([Trouble::Slow(Duration::ZERO), Trouble::Expire]);
    let report = rig.fetch().await.unwrap();
    assert!(report.up_to_date);
    let asked = rig.asked();
    assert_eq!(asked[1]["after"], "g0-10");
    assert!(!asked[2].contains_key("after"), "{asked:?}");
    assert_eq!(asked[2]["start_time"], "1700000400");
    assert_eq!(rig.held().await, rig.expected());

    // A checkpoint not fetched for 85 days starts from scratch.
    let rig = Rig::new(indicators(), 10).await;
    let stale = json!({"update_time": 1_700_000_500, "last_fetch_time": now_s() - 86 * 86_400});
    rig.set_checkpoint(&stale, 1_700_000_500).await;
    rig.fetch().await.unwrap();
    assert!(!rig.asked()[0].contains_key("start_time"));
    assert_eq!(rig.held().await, rig.expected());
}

#[tokio::test]
async fn a_fetch_killed_mid_way_resumes_without_loss_or_duplicates() {
    let rig = Rig::new(indicators(), 10).await;
    rig.trouble([
        Trouble::Slow(Duration::ZERO),
        Trouble::Slow(Duration::from_secs(30)),
    ]);
    // The first page's ten updates hold seven items (a URL, a photo's MD5 and a deletion
    // are not held).
    rig.fetch_killed_after(credentials(TOKEN), 7).await;
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, rig.expected());
    assert_eq!(rig.status().await.fetched_items, 21);
}

#[tokio::test]
async fn feedback_reaches_threatexchange_once_per_opinion() {
    use ward_store::OpinionKind::{Confirm, Dispute};
    let rig = Rig::new(indicators(), 10).await;
    rig.fetch().await.unwrap();
    rig.keep_credentials(&credentials("100000000001|Wrong_Token-abcdefghijklmnop"))
        .await;
    let pdq = format!("HASH_PDQ:{}", pdq_of(0));
    let video = format!("HASH_VIDEO_MD5:{}", md5_of(1));
    let confirmed = rig.opinion(&pdq, Some(Confirm)).await;
    rig.opinion(&video, Some(Dispute)).await;
    // Graph answers a bad token with a 400: the feedback waits for a good one.
    let waiting = rig.send_feedback(Duration::ZERO).await;
    assert_eq!((waiting.failed, waiting.refused), (2, 0), "{waiting:?}");
    let error = rig.store.content_feedback(confirmed).await.unwrap()[0]
        .last_error
        .clone()
        .unwrap();
    assert!(
        error.contains("credentials") && !error.contains("Wrong_Token"),
        "{error}"
    );
    rig.keep_credentials(&credentials(TOKEN)).await;
    let sent = rig.send_feedback(Duration::from_secs(3600)).await;
    assert_eq!((sent.sent, sent.failed), (2, 0), "{sent:?}");
    assert_eq!(
        rig.send_feedback(Duration::from_secs(7 * 3600)).await,
        Default::default()
    );
    let mut reactions = rig.fake.lock().unwrap().reactions.clone();
    reactions.sort();
    assert_eq!(
        reactions,
        [
            ("21000000".to_owned(), "HELPFUL".to_owned()),
            ("21000001".to_owned(), "NOT_HELPFUL".to_owned()),
        ],
        "one reaction per opinion, on the other app's descriptor"
    );
    assert_eq!(
        rig.feedback_of(confirmed).await,
        [("confirm", "sent", vec!["21000000".to_owned()])]
    );
}
