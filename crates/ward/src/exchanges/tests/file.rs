//! Fetching a hash list at a URL from a fake server on loopback that serves one list with an
//! `ETag` (answering 304 to `If-None-Match`), and on demand 5xxs, a token it requires and a
//! slow answer: a list applied gives exactly its set, a changed one the new set, an unchanged
//! one nothing; records that do not read are skipped and counted; a broken or empty list
//! removes nothing; a fetch stopped or killed mid-way resumes with nothing lost or doubled.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use ward_store::Store as _;

use super::super::file::{Checkpoint, Credentials, Phase};
use super::super::{Credentials as AnyCredentials, ExchangeError, FetchReport, fetch};
use super::Bench;

#[derive(Default)]
struct Served {
    body: Vec<u8>,
    /// Moves with every new body.
    version: u32,
    /// Statuses answered instead of the list, in order.
    troubles: VecDeque<u16>,
    /// How long to wait before answering.
    slow: Duration,
    /// The token the list requires, if any.
    bearer: Option<String>,
    /// Every request's `If-None-Match`.
    asked: Vec<Option<String>>,
}

type Fake = Arc<Mutex<Served>>;

async fn serve_list(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    let slow = fake.lock().unwrap().slow;
    tokio::time::sleep(slow).await;
    let mut served = fake.lock().unwrap();
    let asked = headers
        .get(header::IF_NONE_MATCH)
        .map(|v| v.to_str().unwrap().to_owned());
    served.asked.push(asked.clone());
    if let Some(status) = served.troubles.pop_front() {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    if let Some(token) = &served.bearer {
        let given = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap());
        if given != Some(&format!("Bearer {token}")) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    let etag = format!("\"v{}\"", served.version);
    if asked.as_deref() == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    ([(header::ETAG, etag)], served.body.clone()).into_response()
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
    /// A list exchange of `format` in pages of `page`, serving `body`.
    async fn new(format: &str, page: u32, body: Vec<u8>) -> Rig {
        let fake: Fake = Arc::new(Mutex::new(Served {
            body,
            ..Served::default()
        }));
        let app = Router::new()
            .route("/lists/hashes", get(serve_list))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let config = json!({
            "url": format!("http://{address}/lists/hashes"),
            "format": format,
            "page_size": page,
        });
        let bench = Bench::new("file", "LIST_TEST", config).await;
        Rig { fake, bench }
    }

    /// Serves `body` from now on, under a new `ETag`.
    fn serve(&self, body: Vec<u8>) {
        let mut served = self.fake.lock().unwrap();
        served.body = body;
        served.version += 1;
    }

    async fn fetch(&self) -> Result<FetchReport, ExchangeError> {
        self.fetch_with(AnyCredentials::File(Credentials::default()))
            .await
    }

    /// A fetch given `budget`.
    async fn fetch_for(&self, budget: Duration) -> FetchReport {
        let exchange = self
            .store
            .exchange(self.exchange.id)
            .await
            .unwrap()
            .unwrap();
        let credentials = AnyCredentials::File(Credentials::default());
        let lease = self.lease().await;
        fetch(
            &self.store,
            &self.http,
            &exchange,
            lease,
            credentials,
            budget,
        )
        .await
        .unwrap()
    }

    fn asked(&self) -> Vec<Option<String>> {
        self.fake.lock().unwrap().asked.clone()
    }

    async fn saved(&self) -> Checkpoint {
        serde_json::from_value(self.checkpoint().await).unwrap()
    }
}

fn md5_of(n: u32) -> String {
    format!("{:032x}", u128::from(n) * 0x9e37_79b9_7f4a_7c15 + 11)
}

/// A CSV list of the MD5s of `items`, without ids (so keyed by signal).
fn csv(items: impl IntoIterator<Item = u32>) -> Vec<u8> {
    let mut list = String::from("signal_type,signal\n");
    for n in items {
        list.push_str(&format!("md5,{}\n", md5_of(n)));
    }
    list.into_bytes()
}

/// What the bank should hold for a CSV list of `items`.
fn csv_set(items: impl IntoIterator<Item = u32>) -> BTreeMap<String, Vec<String>> {
    items
        .into_iter()
        .map(|n| {
            let signal = format!("md5:{}", md5_of(n));
            (signal.clone(), vec![signal])
        })
        .collect()
}

/// A VICS `#Media` list of `items`, keyed by `MediaID`.
fn vics(items: impl IntoIterator<Item = u32>) -> Vec<u8> {
    let media: Vec<_> = items
        .into_iter()
        .map(|n| json!({"MediaID": n, "Category": 1, "MD5": md5_of(n).to_uppercase()}))
        .collect();
    serde_json::to_vec_pretty(&json!({
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
        "value": media,
    }))
    .unwrap()
}

fn vics_set(items: impl IntoIterator<Item = u32>) -> BTreeMap<String, Vec<String>> {
    items
        .into_iter()
        .map(|n| (n.to_string(), vec![format!("md5:{}", md5_of(n))]))
        .collect()
}

#[tokio::test]
async fn a_list_applied_changed_and_unchanged_gives_exactly_its_set() {
    let rig = Rig::new("csv", 10, csv(0..25)).await;
    let report = rig.fetch().await.unwrap();
    // Three pages of upserts, one of removals.
    assert_eq!(
        (
            report.pages,
            report.added,
            report.removed,
            report.up_to_date
        ),
        (4, 25, 0, true),
        "{report:?}"
    );
    assert_eq!(rig.held().await, csv_set(0..25));
    let status = rig.status().await;
    assert_eq!(status.last_fetch_succeeded, Some(true));
    assert!(status.up_to_date);
    assert_eq!(status.fetched_items, 25);
    let saved = rig.saved().await;
    assert_eq!(saved.etag.as_deref(), Some("\"v0\""));
    assert!(saved.sha256.is_some() && saved.pending.is_none());

    // Unchanged: asked with the ETag, answered 304, nothing applied.
    let report = rig.fetch().await.unwrap();
    assert_eq!(
        report,
        FetchReport {
            up_to_date: true,
            ..FetchReport::default()
        }
    );
    assert_eq!(rig.asked().last().unwrap().as_deref(), Some("\"v0\""));
    assert_eq!(rig.status().await.last_fetch_succeeded, Some(true));

    // The same bytes under a new ETag: nothing applied, the new ETag kept.
    rig.serve(csv(0..25));
    let report = rig.fetch().await.unwrap();
    assert_eq!((report.added, report.removed, report.pages), (0, 0, 1));
    assert_eq!(rig.saved().await.etag.as_deref(), Some("\"v1\""));

    // One item gone, one new: exactly the new set.
    let changed = || (0..25).filter(|n| *n != 3).chain([99]);
    rig.serve(csv(changed()));
    let report = rig.fetch().await.unwrap();
    assert_eq!((report.added, report.removed), (1, 1), "{report:?}");
    assert_eq!(rig.held().await, csv_set(changed()));
    assert_eq!(rig.status().await.fetched_items, 25);
}

#[tokio::test]
async fn failures_are_retried_and_reported_and_records_that_do_not_read_skipped() {
    let rig = Rig::new("csv", 10, csv(0..5)).await;
    rig.fake.lock().unwrap().troubles.extend([503, 502]);
    rig.fetch().await.unwrap();
    assert_eq!(rig.asked().len(), 3, "two retries");
    assert_eq!(rig.held().await, csv_set(0..5));

    // A 5xx that lasts ends the fetch, says so, and changes nothing.
    rig.serve(csv(0..2));
    rig.fake.lock().unwrap().troubles.extend([500; 5]);
    let error = rig.fetch().await.unwrap_err();
    assert!(
        matches!(error, ExchangeError::Status { status: 500, .. }),
        "{error}"
    );
    let status = rig.status().await;
    assert_eq!(
        (status.last_fetch_succeeded, status.failures),
        (Some(false), 1)
    );
    assert!(status.last_error.unwrap().contains("HTTP 500"));
    assert_eq!(rig.held().await, csv_set(0..5));

    // A record that does not read is skipped and counted; the rest is the set.
    let mut list = csv(0..3);
    list.extend_from_slice(b"md5,not-a-hash\n");
    list.extend_from_slice(&csv(3..4)[b"signal_type,signal\n".len()..]);
    rig.serve(list);
    let report = rig.fetch().await.unwrap();
    assert_eq!((report.malformed, report.removed), (1, 1), "{report:?}");
    assert_eq!(rig.held().await, csv_set(0..4));
}

#[tokio::test]
async fn a_list_broken_midway_or_empty_removes_nothing() {
    let rig = Rig::new("vics", 4, vics(0..10)).await;
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, vics_set(0..10));

    // Truncated JSON: the fetch fails, nothing is applied or removed.
    let whole = vics(5..20);
    rig.serve(whole[..whole.len() / 2].to_vec());
    let error = rig.fetch().await.unwrap_err();
    assert!(
        matches!(error, ExchangeError::MalformedPage { .. }),
        "{error}"
    );
    assert_eq!(rig.held().await, vics_set(0..10));
    assert!(rig.saved().await.pending.is_none());

    // A list with no items is taken as a mistake.
    rig.serve(vics(0..0));
    let error = rig.fetch().await.unwrap_err();
    assert!(error.to_string().contains("without items"), "{error}");
    assert_eq!(rig.held().await, vics_set(0..10));

    // Whole again, it applies.
    rig.serve(whole);
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, vics_set(5..20));
}

#[tokio::test]
async fn a_fetch_stopped_or_killed_mid_way_resumes_without_loss_or_duplicates() {
    let rig = Rig::new("csv", 10, csv(0..25)).await;
    // A slow answer and a short budget: the time is up after the first page.
    rig.fake.lock().unwrap().slow = Duration::from_millis(400);
    let report = rig.fetch_for(Duration::from_millis(200)).await;
    assert_eq!((report.pages, report.up_to_date), (1, false), "{report:?}");
    assert_eq!(rig.held().await.len(), 10);
    let pending = rig.saved().await.pending.expect("a snapshot under way");
    assert_eq!(pending.phase, Phase::Upserts { records: 10 });
    // The next fetch downloads the list again, unconditionally, and goes on from there.
    rig.fake.lock().unwrap().slow = Duration::ZERO;
    let report = rig.fetch().await.unwrap();
    assert_eq!((report.added, report.removed), (15, 0), "{report:?}");
    assert_eq!(rig.asked().last().unwrap(), &None);
    assert_eq!(rig.held().await, csv_set(0..25));
    assert_eq!(rig.status().await.fetched_items, 25);

    // Stopped again mid-way through a new list, which changes before the fetch resumes: the
    // newest list's upserts all go in before anything is removed, and the end is its set.
    rig.serve(csv(20..45));
    rig.fake.lock().unwrap().slow = Duration::from_millis(400);
    rig.fetch_for(Duration::from_millis(200)).await;
    rig.fake.lock().unwrap().slow = Duration::ZERO;
    rig.serve(csv(30..50));
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, csv_set(30..50));
    assert_eq!(rig.status().await.fetched_items, 20);

    // Killed while the list downloads: nothing applied, and the next fetch completes it.
    rig.serve(csv(0..12));
    rig.fake.lock().unwrap().slow = Duration::from_secs(30);
    let store = rig.store.clone();
    let http = rig.http.clone();
    let exchange = rig.exchange.clone();
    let lease = rig.lease().await;
    let killed = tokio::spawn(async move {
        let credentials = AnyCredentials::File(Credentials::default());
        fetch(
            &store,
            &http,
            &exchange,
            lease,
            credentials,
            Duration::from_secs(60),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    killed.abort();
    assert!(killed.await.unwrap_err().is_cancelled());
    assert_eq!(rig.held().await, csv_set(30..50));
    assert!(rig.status().await.running_fetch_start_ts.is_some());
    rig.fake.lock().unwrap().slow = Duration::ZERO;
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, csv_set(0..12));
    assert_eq!(rig.status().await.fetched_items, 12);
}

#[tokio::test]
async fn a_token_goes_as_a_bearer_and_none_is_refused_where_one_is_needed() {
    let rig = Rig::new("csv", 10, csv(0..3)).await;
    rig.fake.lock().unwrap().bearer = Some("s3cret".into());
    let error = rig.fetch().await.unwrap_err();
    assert!(matches!(error, ExchangeError::Credentials(401)), "{error}");
    assert!(rig.held().await.is_empty());
    let credentials = AnyCredentials::File(Credentials {
        bearer: Some("s3cret".into()),
    });
    assert!(!format!("{credentials:?}").contains("s3cret"));
    rig.fetch_with(credentials).await.unwrap();
    assert_eq!(rig.held().await, csv_set(0..3));
}

/// An HMA list of `(id, n)`: content `id` with the MD5 of `n`.
fn hma(items: &[(u32, u32)]) -> Vec<u8> {
    let mut list = String::new();
    for (id, n) in items {
        list.push_str(&json!({"id": id, "signals": {"md5": md5_of(*n)}}).to_string());
        list.push('\n');
    }
    list.into_bytes()
}

#[tokio::test]
async fn an_hma_list_is_keyed_by_its_content_ids() {
    let rig = Rig::new("hma", 2, hma(&[(1, 1), (2, 2), (3, 3)])).await;
    rig.fetch().await.unwrap();
    let set = |items: &[(u32, u32)]| -> BTreeMap<String, Vec<String>> {
        items
            .iter()
            .map(|(id, n)| (id.to_string(), vec![format!("md5:{}", md5_of(*n))]))
            .collect()
    };
    assert_eq!(rig.held().await, set(&[(1, 1), (2, 2), (3, 3)]));
    // Content 2's signal changes (the same item, replaced), content 3 goes. A changed list
    // is applied whole: content 1, the same, is upserted again (in place, counted replaced).
    rig.serve(hma(&[(1, 1), (2, 20)]));
    let report = rig.fetch().await.unwrap();
    assert_eq!(
        (report.added, report.replaced, report.removed),
        (0, 2, 1),
        "{report:?}"
    );
    assert_eq!(rig.held().await, set(&[(1, 1), (2, 20)]));
}
