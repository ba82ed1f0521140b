//! Fetching NCMEC's API from a fake of it on loopback that speaks the API as EXCHANGES.md
//! describes it: ranges, pages linked by `next`, entries out of time order, tombstones,
//! Basic credentials, and on demand 429s, 5xxs, broken pages and slow pages; the [`Bench`]
//! every type's tests share (StopNCII's and ThreatExchange's fakes are in `tests/`, and
//! feedback given to NCMEC's in `tests/feedback.rs`); and the
//! fetch's own parts (types, credentials, backoff, URLs in errors).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ward_store::{
    Actor, AnyStore, BankKind, Exchange, ExchangeLease, NewBank, NewExchange, Sharing, Store,
    Timestamp,
};

use super::ncmec::{Checkpoint, Credentials};
use super::*;

mod feedback;
mod file;
mod stopncii;
mod threatexchange;

/// One entry of the fake's feed.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    member: u32,
    id: String,
    video: bool,
    deleted: bool,
    /// `YYYY-MM-DDTHH:MM:SSZ`: compared as text, which orders it as time.
    timestamp: String,
    md5: String,
    pdq: Option<String>,
}

/// What the fake answers a request with instead of the page.
#[derive(Clone, Debug)]
enum Trouble {
    Status(u16),
    Broken,
    Slow(Duration),
    OffSiteLink,
}

#[derive(Default)]
pub(crate) struct Feed {
    entries: BTreeMap<(u32, String), Entry>,
    page: usize,
    troubles: VecDeque<Trouble>,
    /// Every request's query, in order.
    asked: Vec<String>,
    /// The negative-feedback reasons offered for every fingerprint type: (guid, name).
    reasons: Vec<(String, String)>,
    /// What feedback requests meet, in order: a status instead of taking it, or `None`
    /// (taken).
    feedback_troubles: VecDeque<Option<u16>>,
    /// Feedback taken: `member-id/TYPE` and the vote (`affirmative`, or the reason's guid).
    feedback: Vec<(String, String)>,
}

pub(crate) type Fake = Arc<Mutex<Feed>>;

/// Starts a fake NCMEC API of `entries` in pages of `page` on a loopback port; answers it
/// and the base URL to give an exchange (`http://ADDRESS/ws`).
pub(crate) async fn fake_ncmec(entries: Vec<Entry>, page: usize) -> (Fake, String) {
    let fake: Fake = Arc::new(Mutex::new(Feed {
        entries: entries
            .into_iter()
            .map(|e| ((e.member, e.id.clone()), e))
            .collect(),
        page,
        ..Feed::default()
    }));
    let app = Router::new()
        .route("/ws/v2/entries", get(serve_entries))
        .route("/ws/v2/feedback/{kind}/reasons", get(serve_reasons))
        .route(
            "/ws/v2/entries/{member}/{id}/{kind}/feedback",
            axum::routing::put(take_feedback),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, format!("http://{address}/ws"))
}

fn md5_of(n: u32) -> String {
    format!("{:032x}", u128::from(n) * 0x9e37_79b9_7f4a_7c15 + 1)
}

pub(crate) fn pdq_of(n: u32) -> String {
    format!("{:064x}", u128::from(n) * 0x1234_5678_9abc_def1_2345 + 7)
}

pub(crate) fn image(member: u32, n: u32, timestamp: &str) -> Entry {
    Entry {
        member,
        id: format!("img-{n}"),
        video: false,
        deleted: false,
        timestamp: timestamp.into(),
        md5: md5_of(n),
        pdq: Some(pdq_of(n)),
    }
}

fn render(entry: &Entry) -> String {
    let tag = match (entry.video, entry.deleted) {
        (false, false) => "image",
        (false, true) => "deletedImage",
        (true, false) => "video",
        (true, true) => "deletedVideo",
    };
    let mut xml = format!(
        "<{tag}><member id=\"{}\">Member {}</member><timestamp>{}</timestamp><id>{}</id>",
        entry.member, entry.member, entry.timestamp, entry.id
    );
    if !entry.deleted {
        xml.push_str("<classification>A1</classification><fingerprints>");
        xml.push_str(&format!("<md5>{}</md5>", entry.md5));
        if let Some(pdq) = &entry.pdq {
            xml.push_str(&format!("<pdq>{pdq}</pdq>"));
        }
        xml.push_str("<tmk-pdqf rel=\"self\" href=\"/v2/large\"/></fingerprints>");
    }
    xml.push_str(&format!("</{tag}>"));
    xml
}

async fn serve_entries(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let trouble = {
        let mut feed = fake.lock().unwrap();
        feed.asked.push(format!("{query:?}"));
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
        Some(Trouble::Broken) => return "<queryResult><images><image><id>x".into_response(),
        Some(Trouble::Slow(wait)) => tokio::time::sleep(wait).await,
        _ => {}
    }
    let feed = fake.lock().unwrap();
    let (Some(from), Some(to)) = (query.get("from"), query.get("to")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    // The server's own links carry milliseconds; the client's first request does not.
    let cut = |t: &str| t.replace(".000Z", "Z");
    let (from, to) = (cut(from), cut(to));
    // Not in time order: by member and id.
    let chosen: Vec<&Entry> = feed
        .entries
        .values()
        .filter(|e| e.timestamp > from && e.timestamp <= to)
        .collect();
    let start: usize = query.get("start").and_then(|s| s.parse().ok()).unwrap_or(1);
    let page: Vec<&&Entry> = chosen.iter().skip(start - 1).take(feed.page).collect();
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">",
    );
    for (list, video) in [("images", false), ("videos", true)] {
        xml.push_str(&format!("<{list} count=\"0\">"));
        for entry in page.iter().filter(|e| e.video == video) {
            xml.push_str(&render(entry));
        }
        xml.push_str(&format!("</{list}>"));
    }
    let next = start + feed.page;
    if next <= chosen.len() {
        let encode = |t: &str| t.replace(':', "%3A").replace('Z', ".000Z");
        let link = match trouble {
            Some(Trouble::OffSiteLink) => "https://elsewhere.example/v2/entries?x".to_owned(),
            _ => format!(
                "/v2/entries?from={}&amp;to={}&amp;start={next}&amp;size={}&amp;max={}",
                encode(&from),
                encode(&to),
                feed.page,
                chosen.len()
            ),
        };
        xml.push_str(&format!("<paging><next>{link}</next></paging>"));
    }
    xml.push_str("</queryResult>");
    xml.into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    // Basic user:secret.
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Basic dXNlcjpzZWNyZXQ=")
}

async fn serve_reasons(
    State(fake): State<Fake>,
    headers: HeaderMap,
    axum::extract::Path(kind): axum::extract::Path<String>,
) -> Response {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let feed = fake.lock().unwrap();
    // NCMEC's sample: the list is the root.
    let mut xml = String::from(
        "<availableFeedbackReasons xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">",
    );
    for (guid, name) in &feed.reasons {
        let kind = kind.to_lowercase();
        xml.push_str(&format!(
            "<reason guid=\"{guid}\" name=\"{name}\" type=\"{kind}\"/>"
        ));
    }
    xml.push_str("</availableFeedbackReasons>");
    xml.into_response()
}

/// Takes a vote on one fingerprint of one entry, as NCMEC's API does: the entry must exist
/// with that fingerprint, and the body must be a `feedbackSubmission`.
async fn take_feedback(
    State(fake): State<Fake>,
    headers: HeaderMap,
    axum::extract::Path((member, id, kind)): axum::extract::Path<(u32, String, String)>,
    body: String,
) -> Response {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let xml_body = headers.get("content-type").and_then(|v| v.to_str().ok())
        == Some("application/xml; charset=utf-8");
    let mut feed = fake.lock().unwrap();
    if let Some(Some(status)) = feed.feedback_troubles.pop_front() {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    let has = match feed.entries.get(&(member, id.clone())) {
        Some(entry) if !entry.deleted => match kind.as_str() {
            "MD5" => true,
            "PDQ" => entry.pdq.is_some(),
            _ => false,
        },
        _ => false,
    };
    if !has {
        return (StatusCode::NOT_FOUND, "<error>no such entry</error>").into_response();
    }
    let vote = if body.contains("<affirmative/>") {
        "affirmative".to_owned()
    } else if let Some(guid) = body
        .split_once("<negative><reasonIds><guid>")
        .and_then(|(_, rest)| rest.split_once("</guid>"))
        .map(|(guid, _)| guid.to_owned())
    {
        guid
    } else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if !xml_body
        || !body
            .contains("<feedbackSubmission xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">")
    {
        return StatusCode::BAD_REQUEST.into_response();
    }
    feed.feedback.push((format!("{member}-{id}/{kind}"), vote));
    "<submissionResult/>".into_response()
}

/// The key credentials are sealed with in tests.
const SECRETS: [u8; 32] = [7; 32];

/// A store with an exchange of a type, its bank, and the HTTP client to fetch it with: what
/// every type's tests share.
pub(crate) struct Bench {
    pub(crate) store: AnyStore,
    pub(crate) exchange: Exchange,
    pub(crate) http: Http,
    _dir: tempfile::TempDir,
}

impl Bench {
    /// An exchange `api` with settings `config`, filling bank `name`.
    pub(crate) async fn new(api: &str, name: &str, config: serde_json::Value) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let store = AnyStore::open(dir.path(), None).await.unwrap();
        let operator = Actor::operator("test");
        let org = store.create_org(&operator, "Hotline").await.unwrap();
        let bank = store
            .create_bank(
                &operator,
                &NewBank {
                    name: name.into(),
                    org: org.id,
                    kind: BankKind::Standard,
                    distance: 31,
                    enabled: true,
                    sharing: Sharing::Members,
                    shared_with: Vec::new(),
                    dispute_limit: None,
                    description: String::new(),
                },
            )
            .await
            .unwrap();
        let exchange = store
            .create_exchange(
                &operator,
                &NewExchange {
                    api: api.into(),
                    bank: bank.id,
                    config: config.to_string(),
                    enabled: true,
                },
            )
            .await
            .unwrap();
        let http = Http::new().unwrap().with_backoff(Duration::from_millis(5));
        Bench {
            store,
            exchange,
            http,
            _dir: dir,
        }
    }

    pub(crate) async fn lease(&self) -> ExchangeLease {
        let now = Timestamp::now();
        self.store
            .claim_exchange(self.exchange.id, "test", now, Timestamp(now.0 + 600_000))
            .await
            .unwrap()
            .expect("the lease")
    }

    /// A fetch with `credentials`, as the node's scheduler makes it.
    pub(crate) async fn fetch_with(
        &self,
        credentials: super::Credentials,
    ) -> Result<FetchReport, ExchangeError> {
        let exchange = self
            .store
            .exchange(self.exchange.id)
            .await
            .unwrap()
            .unwrap();
        let lease = self.lease().await;
        fetch(
            &self.store,
            &self.http,
            &exchange,
            lease,
            credentials,
            Duration::from_secs(60),
        )
        .await
    }

    /// A fetch with `credentials` in a task of its own, killed once its first page (of
    /// `first` items) is saved while it waits for the second; the status still says a
    /// fetch runs.
    pub(crate) async fn fetch_killed_after(&self, credentials: super::Credentials, first: usize) {
        let store = self.store.clone();
        let http = self.http.clone();
        let exchange = self.exchange.clone();
        let lease = self.lease().await;
        let fetch = tokio::spawn(async move {
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
        for _ in 0..200 {
            if self.held().await.len() == first {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        fetch.abort();
        assert!(fetch.await.unwrap_err().is_cancelled());
        assert_eq!(self.held().await.len(), first);
        assert!(self.status().await.running_fetch_start_ts.is_some());
    }

    /// Keeps `credentials` as the exchange's organisation's, sealed as the node seals them.
    pub(crate) async fn keep_credentials(&self, credentials: &super::Credentials) {
        let api = ward_store::credentials_name(credentials.api().name(), self.exchange.bank);
        let api = api.as_str();
        let key = crate::serve::evidence::EvidenceKey::from_bytes(&SECRETS);
        let sealed = key
            .seal_secret(
                &credentials_context(self.exchange.org, api),
                &credentials.to_json(),
            )
            .unwrap();
        self.store
            .set_exchange_credentials(
                &Actor::operator("test"),
                self.exchange.org,
                api,
                Some(&sealed),
            )
            .await
            .unwrap();
    }

    /// The exchange's organisation's opinion of the item keyed `external_id`; its id.
    pub(crate) async fn opinion(
        &self,
        external_id: &str,
        opinion: Option<ward_store::OpinionKind>,
    ) -> ward_store::ContentId {
        let id = self
            .contents()
            .await
            .iter()
            .find(|c| c.external_id.as_deref() == Some(external_id))
            .map(|c| c.id)
            .unwrap_or_else(|| panic!("no item {external_id}"));
        self.store
            .set_opinion(&Actor::operator("test"), id, self.exchange.org, opinion)
            .await
            .unwrap();
        id
    }

    /// Gives the feedback due `later` than now, as the node's sender does.
    pub(crate) async fn send_feedback(
        &self,
        later: Duration,
    ) -> crate::exchanges::feedback::FeedbackReport {
        let key = crate::serve::evidence::EvidenceKey::from_bytes(&SECRETS);
        let at = Timestamp(Timestamp::now().0 + later.as_millis() as i64);
        crate::exchanges::feedback::send_due(&self.store, &self.http, Some(&key), at, None)
            .await
            .unwrap()
    }

    /// The feedback of an item: opinion, state, parts done.
    pub(crate) async fn feedback_of(
        &self,
        id: ward_store::ContentId,
    ) -> Vec<(&'static str, &'static str, Vec<String>)> {
        self.store
            .content_feedback(id)
            .await
            .unwrap()
            .into_iter()
            .map(|f| (f.opinion.name(), f.state.name(), f.parts_done))
            .collect()
    }

    /// Saves `checkpoint` as the exchange's, at progress `ts`.
    pub(crate) async fn set_checkpoint(&self, checkpoint: &impl serde::Serialize, ts: i64) {
        self.store
            .save_exchange_progress(
                &self.lease().await,
                &FetchProgress {
                    checkpoint: Some((serde_json::to_string(checkpoint).unwrap(), Some(ts))),
                    ..FetchProgress::default()
                },
            )
            .await
            .unwrap();
    }

    /// The bank's items: external id, and its signals as `kind:value`.
    pub(crate) async fn held(&self) -> BTreeMap<String, Vec<String>> {
        let mut held = BTreeMap::new();
        for content in self.contents().await {
            let mut signals: Vec<String> = content
                .signals
                .iter()
                .map(|s| format!("{}:{}", s.kind, s.value))
                .collect();
            signals.sort();
            let key = content.external_id.clone().unwrap();
            assert!(held.insert(key, signals).is_none(), "an item held twice");
        }
        held
    }

    /// The bank's items.
    pub(crate) async fn contents(&self) -> Vec<ward_store::Content> {
        let mut contents = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .bank_contents(self.exchange.bank, after, 500)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            contents.extend(page);
        }
        contents
    }

    pub(crate) async fn status(&self) -> ward_store::FetchStatus {
        self.store
            .exchange(self.exchange.id)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    /// The saved checkpoint as JSON.
    pub(crate) async fn checkpoint(&self) -> serde_json::Value {
        serde_json::from_str(self.status().await.checkpoint.as_deref().unwrap()).unwrap()
    }
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
    async fn new(entries: Vec<Entry>, page: usize) -> Rig {
        let (fake, base_url) = fake_ncmec(entries, page).await;
        let config = serde_json::json!({
            "environment": "https://exttest.cybertip.org/hashsharing",
            "base_url": base_url,
        });
        let bench = Bench::new("ncmec", "NCMEC_TEST", config).await;
        Rig { fake, bench }
    }

    async fn fetch_as(&self, user: &str, password: &str) -> Result<FetchReport, ExchangeError> {
        let credentials = super::Credentials::Ncmec(Credentials {
            user: user.into(),
            password: password.into(),
        });
        self.fetch_with(credentials).await
    }

    async fn fetch(&self) -> Result<FetchReport, ExchangeError> {
        self.fetch_as("user", "secret").await
    }

    /// What the bank should hold: the fake's live entries.
    fn expected(&self) -> BTreeMap<String, Vec<String>> {
        let feed = self.fake.lock().unwrap();
        feed.entries
            .values()
            .filter(|e| !e.deleted)
            .map(|e| {
                let mut signals = vec![format!("md5:{}", e.md5)];
                signals.extend(e.pdq.iter().map(|p| format!("pdq:{p}")));
                signals.sort();
                (format!("{}-{}", e.member, e.id), signals)
            })
            .collect()
    }

    fn trouble(&self, troubles: impl IntoIterator<Item = Trouble>) {
        self.fake.lock().unwrap().troubles.extend(troubles);
    }

    fn asked(&self) -> Vec<String> {
        self.fake.lock().unwrap().asked.clone()
    }
}

/// 25 entries of two members over a day, ids not in time order.
pub(crate) fn day_of_entries() -> Vec<Entry> {
    (0..25)
        .map(|n| {
            let mut entry = image(
                7 + n % 2,
                n,
                &format!("2024-03-01T{:02}:00:00Z", 23 - n % 24),
            );
            if n % 5 == 0 {
                entry.video = true;
                entry.pdq = None;
            }
            entry
        })
        .collect()
}

#[tokio::test]
async fn a_fetch_ends_with_exactly_the_feeds_set() {
    let rig = Rig::new(day_of_entries(), 10).await;
    let report = rig.fetch().await.unwrap();
    // Three pages of ten; a range ends five seconds before now, so when the clock passes a
    // second during the fetch (a busy machine) one more range, empty, is read.
    assert!(matches!(report.pages, 3 | 4), "{} pages", report.pages);
    assert_eq!((report.added, report.up_to_date), (25, true));
    assert_eq!(rig.held().await, rig.expected());
    let status = rig.status().await;
    assert_eq!(status.last_fetch_succeeded, Some(true));
    assert!(status.up_to_date && status.running_fetch_start_ts.is_none());
    assert_eq!(status.fetched_items, 25);
    let checkpoint: Checkpoint =
        serde_json::from_str(status.checkpoint.as_deref().unwrap()).unwrap();
    assert!(checkpoint.paging_info.is_none());
    assert!(checkpoint.get_entries_max_ts > now_s() - 60);
    assert_eq!(status.checkpoint_ts, Some(checkpoint.get_entries_max_ts));

    // Later: two deleted, one changed, one new, all stamped after the checkpoint.
    let later = ward_store::Timestamp::now().0 / 1000 - 30;
    let stamp = ncmec::utc(later);
    {
        let mut feed = rig.fake.lock().unwrap();
        for key in [(7, "img-0".to_owned()), (8, "img-3".to_owned())] {
            let entry = feed.entries.get_mut(&key).unwrap();
            entry.deleted = true;
            entry.timestamp = stamp.clone();
        }
        let changed = feed.entries.get_mut(&(7, "img-2".to_owned())).unwrap();
        changed.pdq = Some(pdq_of(1_000));
        changed.timestamp = stamp.clone();
        feed.entries
            .insert((9, "img-99".into()), image(9, 99, &stamp));
    }
    // The checkpoint is before those stamps only if the last range ended before them.
    rig.store
        .save_exchange_progress(
            &rig.lease().await,
            &FetchProgress {
                checkpoint: Some((
                    serde_json::to_string(&Checkpoint {
                        get_entries_max_ts: later - 60,
                        paging_info: None,
                    })
                    .unwrap(),
                    Some(later - 60),
                )),
                ..FetchProgress::default()
            },
        )
        .await
        .unwrap();
    let report = rig.fetch().await.unwrap();
    assert_eq!((report.removed, report.added), (2, 1), "{report:?}");
    assert_eq!(rig.held().await, rig.expected());
    assert_eq!(rig.status().await.fetched_items, 24);
}

#[tokio::test]
async fn failures_are_retried_reported_and_resumed_without_loss() {
    let rig = Rig::new(day_of_entries(), 10).await;
    // Busy answers are tried again within the fetch.
    rig.trouble([Trouble::Status(503), Trouble::Status(429)]);
    rig.fetch().await.unwrap();
    assert_eq!(rig.asked().len(), 5, "two retries and three pages");
    assert_eq!(rig.held().await, rig.expected());

    // A broken second page ends the fetch, says why, and keeps the first page and where it
    // stopped; the next fetch starts from that page, and ends with the feed's set.
    let rig = Rig::new(day_of_entries(), 10).await;
    rig.trouble([Trouble::Slow(Duration::ZERO), Trouble::Broken]);
    let error = rig.fetch().await.unwrap_err();
    assert!(
        matches!(error, ExchangeError::MalformedPage { .. }),
        "{error}"
    );
    let status = rig.status().await;
    assert_eq!(status.last_fetch_succeeded, Some(false));
    assert_eq!(status.failures, 1);
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("cannot be read")
    );
    assert_eq!(rig.held().await.len(), 10, "the first page is kept");
    let checkpoint: Checkpoint =
        serde_json::from_str(status.checkpoint.as_deref().unwrap()).unwrap();
    let resumed_at = checkpoint.paging_info.expect("inside the range").paging_url;
    assert!(resumed_at.contains("start=11"), "{resumed_at}");
    let before = rig.asked().len();
    rig.fetch().await.unwrap();
    let asked = rig.asked();
    assert!(
        asked[before].contains("\"start\": \"11\""),
        "{:?}",
        &asked[before..]
    );
    assert_eq!(rig.held().await, rig.expected());
    let status = rig.status().await;
    assert_eq!(
        (status.last_fetch_succeeded, status.failures),
        (Some(true), 0)
    );

    // Refused credentials, and a link off the API, end a fetch with what went wrong.
    let rig = Rig::new(day_of_entries(), 10).await;
    let error = rig.fetch_as("user", "wrong").await.unwrap_err();
    assert!(matches!(error, ExchangeError::Credentials(401)), "{error}");
    assert!(!rig.status().await.last_error.unwrap().contains("wrong"));
    rig.trouble([Trouble::OffSiteLink]);
    let error = rig.fetch().await.unwrap_err();
    assert!(
        error.to_string().contains("not a path of the API"),
        "{error}"
    );
    // A page whose link leads off the API is not trusted at all: nothing of it is applied.
    assert_eq!(rig.held().await.len(), 0);
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, rig.expected());
}

#[tokio::test]
async fn a_fetch_killed_mid_way_resumes_without_loss_or_duplicates() {
    let rig = Rig::new(day_of_entries(), 10).await;
    rig.trouble([
        Trouble::Slow(Duration::ZERO),
        Trouble::Slow(Duration::from_secs(30)),
    ]);
    let store = rig.store.clone();
    let http = rig.http.clone();
    let exchange = rig.exchange.clone();
    let lease = rig.lease().await;
    let fetch = tokio::spawn(async move {
        let credentials = super::Credentials::Ncmec(Credentials {
            user: "user".into(),
            password: "secret".into(),
        });
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
    // Killed once its first page is saved, while it waits for the second.
    for _ in 0..200 {
        if rig.held().await.len() == 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    fetch.abort();
    assert!(fetch.await.unwrap_err().is_cancelled());
    assert_eq!(rig.held().await.len(), 10);
    // The status still says a fetch was running; the next fetch takes over.
    assert!(rig.status().await.running_fetch_start_ts.is_some());
    rig.fetch().await.unwrap();
    assert_eq!(rig.held().await, rig.expected());
    assert_eq!(rig.status().await.fetched_items, 25);
}

#[tokio::test]
async fn an_expired_link_starts_its_range_again() {
    let rig = Rig::new(day_of_entries(), 10).await;
    let stale = Checkpoint {
        get_entries_max_ts: 0,
        paging_info: Some(ncmec::Paging {
            paging_url: "/v2/entries?from=x&to=y&start=21&size=10&max=25".into(),
            paging_end_ts: 1,
            paging_url_ts: now_s() - 13 * 3600,
        }),
    };
    rig.store
        .save_exchange_progress(
            &rig.lease().await,
            &FetchProgress {
                checkpoint: Some((serde_json::to_string(&stale).unwrap(), Some(0))),
                ..FetchProgress::default()
            },
        )
        .await
        .unwrap();
    rig.fetch().await.unwrap();
    let asked = rig.asked();
    assert!(!asked[0].contains("start"), "a fresh range: {asked:?}");
    assert_eq!(rig.held().await, rig.expected());
}

/// A `ward` exchange's settings: URLs http or https with a host (kept without a trailing
/// `/`), a key that is an Ed25519 public key (kept in lower case), never an API key.
#[test]
fn ward_settings_are_checked_and_kept_without_the_key() {
    let key = crate::sync::Identity::from_seed(&[7; 32]).public_key();
    let check = |given: serde_json::Value| Api::Ward.settings(given).map_err(|_| ());
    assert_eq!(
        check(serde_json::json!({"url": "https://w.example/", "public_key": key.to_uppercase()})),
        Ok(format!(
            r#"{{"url":"https://w.example","public_key":"{key}"}}"#
        ))
    );
    assert_eq!(
        check(
            serde_json::json!({"url": "https://w.example", "public_key": key,
                                 "base_url": "http://127.0.0.1:9/", "partner": "A"})
        ),
        Ok(format!(
            r#"{{"url":"https://w.example","public_key":"{key}","base_url":"http://127.0.0.1:9","partner":"A"}}"#
        ))
    );
    for bad in [
        serde_json::json!({"url": "https://w.example"}),
        serde_json::json!({"url": "https://w.example", "public_key": "ab"}),
        serde_json::json!({"url": "https://w.example", "public_key": "zz".repeat(32)}),
        serde_json::json!({"url": "ftp://w.example", "public_key": key}),
        serde_json::json!({"url": "https://w.example", "public_key": key, "base_url": "x"}),
        serde_json::json!({"url": "https://w.example", "public_key": key, "partner": " "}),
        serde_json::json!({"url": "https://w.example", "public_key": key, "api_key": "k"}),
    ] {
        assert_eq!(check(bad.clone()), Err(()), "{bad}");
    }
    assert_eq!(Api::Ward.credentials_sources(), None, "its key is its own");
}

#[test]
fn backoff_grows_and_is_bounded() {
    assert_eq!(backoff(0), Duration::from_secs(60));
    assert_eq!(backoff(1), Duration::from_secs(60));
    assert_eq!(backoff(3), Duration::from_secs(240));
    assert_eq!(backoff(50), Duration::from_secs(6 * 3600));
}

#[test]
fn urls_in_errors_carry_no_query_nor_user() {
    for (url, expected) in [
        (
            "https://graph.example/v21.0/1/threat_updates/?access_token=1|s&after=x",
            "https://graph.example/v21.0/1/threat_updates/",
        ),
        ("http://user:pw@127.0.0.1:8/a#f", "http://127.0.0.1:8/a"),
        ("not a url?access_token=s", "not a url"),
        ("u:p@host/x?y", "host/x"),
    ] {
        assert_eq!(shown(url), expected, "{url}");
    }
}

#[test]
fn types_are_listed_once_and_take_their_own_settings_and_credentials() {
    for api in Api::ALL {
        assert_eq!(Api::named(api.name()), Some(api));
    }
    assert_eq!(Api::named("hma"), None);
    let settings = |api: Api, json: serde_json::Value| api.settings(json);
    let token = "12345678|abcdefghijklmnopqrstuvwxyz";
    for (api, given, expected) in [
        (Api::StopNcii, serde_json::json!({}), Ok("{}")),
        (
            Api::StopNcii,
            serde_json::json!({"base_url": "http://x"}),
            Ok(r#"{"base_url":"http://x"}"#),
        ),
        (
            Api::StopNcii,
            serde_json::json!({"privacy_group": 1}),
            Err(()),
        ),
        (
            Api::ThreatExchange,
            serde_json::json!({"privacy_group": 1012185296055235_u64}),
            Ok(r#"{"privacy_group":1012185296055235}"#),
        ),
        (Api::ThreatExchange, serde_json::json!({}), Err(())),
        (
            Api::ThreatExchange,
            serde_json::json!({"privacy_group": "x"}),
            Err(()),
        ),
        (Api::Ncmec, serde_json::json!({"privacy_group": 1}), Err(())),
        (
            Api::File,
            serde_json::json!({"format": "vics", "url": "https://l.example/h.json"}),
            Ok(r#"{"url":"https://l.example/h.json","format":"vics"}"#),
        ),
        (
            Api::File,
            serde_json::json!({"format": "csv", "url": "http://l.example/h.csv"}),
            Err(()),
        ),
        (
            Api::File,
            serde_json::json!({"format": "stopncii", "url": "https://l.example/h"}),
            Err(()),
        ),
        (
            Api::File,
            serde_json::json!({"format": "csv", "url": "https://l.example/h", "base_url": "x"}),
            Err(()),
        ),
        (Api::File, serde_json::json!({"format": "csv"}), Err(())),
    ] {
        let got = settings(api, given.clone());
        assert_eq!(got.as_deref().map_err(|_| ()), expected, "{api:?} {given}");
    }
    for (api, given, ok) in [
        (
            Api::Ncmec,
            serde_json::json!({"user": "u", "password": "p"}),
            true,
        ),
        (
            Api::Ncmec,
            serde_json::json!({"user": "u", "password": ""}),
            false,
        ),
        (
            Api::StopNcii,
            serde_json::json!({"fetch_function_key": "f", "subscription_key": "s"}),
            true,
        ),
        (
            Api::StopNcii,
            serde_json::json!({"fetch_function_key": "f", "subscription_key": "s",
                               "base_url_override": null}),
            true,
        ),
        (
            Api::StopNcii,
            serde_json::json!({"fetch_function_key": "f"}),
            false,
        ),
        (
            Api::ThreatExchange,
            serde_json::json!({"api_token": token}),
            true,
        ),
        (
            Api::ThreatExchange,
            serde_json::json!({"api_token": "1|x"}),
            false,
        ),
        (
            Api::ThreatExchange,
            serde_json::json!({"user": "u", "password": "p"}),
            false,
        ),
        (Api::File, serde_json::json!({}), true),
        (Api::File, serde_json::json!({"bearer": "s"}), true),
        (Api::File, serde_json::json!({"bearer": " "}), false),
        (Api::File, serde_json::json!({"token": "s"}), false),
        (Api::Ward, serde_json::json!({"api_key": "s"}), true),
        (Api::Ward, serde_json::json!({"api_key": " "}), false),
        (Api::Ward, serde_json::json!({}), false),
    ] {
        let got = api.credentials(given.clone());
        assert_eq!(got.is_ok(), ok, "{api:?} {given}");
        if let Ok(credentials) = got {
            // Their Debug shows no secret.
            let shown = format!("{credentials:?}");
            for secret in ["\"p\"", "\"f\"", "\"s\"", "abcdefghij"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert_eq!(credentials.api(), api);
        }
    }
    for (api, text, ok) in [
        (Api::Ncmec, "user:pass\n", true),
        (Api::Ncmec, "user", false),
        (Api::StopNcii, "f,s", true),
        (Api::StopNcii, "f,s,http://proxy", true),
        (Api::StopNcii, "f", false),
        (Api::ThreatExchange, token, true),
        (Api::ThreatExchange, "token", false),
        (Api::File, "a-bearer-token\n", true),
        (Api::File, "\n", false),
        (Api::Ward, "a-partner-key\n", true),
        (Api::Ward, "\n", false),
    ] {
        assert_eq!(
            api.credentials_from_text(text).is_ok(),
            ok,
            "{api:?} {text}"
        );
    }
}
