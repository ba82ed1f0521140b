//! `ward exchange` end to end: an NCMEC exchange set up, its credentials kept sealed, and a
//! fetch from a fake of NCMEC's API on loopback (one range, two pages, a tombstone); then
//! StopNCII and ThreatExchange exchanges set up with `--base-url`, credentials read from
//! `--from`, and fetched from one-page fakes of their APIs; a `file` exchange (a CSV list
//! at a URL) fetched with no credentials, then again unchanged (a 304); and a fetch killed
//! by SIGKILL mid-feed, run again; and a curator's opinions given back to NCMEC's fake by a
//! running `ward serve`, once each.

use std::ffi::OsStr;

use axum::Json;
use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{ward, ward_with_env};

const PDQ_A: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const MD5_B: &str = "00112233445566778899aabbccddeeff";

/// Two pages: an image and a video, then a tombstone of an entry never sent.
async fn entries(
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    // Basic hotline:s3cret-pass
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some("Basic aG90bGluZTpzM2NyZXQtcGFzcw==")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let body = if query.contains_key("start") {
        "<queryResult><images count=\"1\"><deletedImage><member id=\"7\">M</member>\
         <id>gone</id><timestamp>2024-01-01T00:00:00Z</timestamp></deletedImage></images>\
         </queryResult>"
            .to_owned()
    } else {
        format!(
            "<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">\
             <images count=\"1\"><image><member id=\"7\">M</member><id>a</id>\
             <classification>A1</classification><fingerprints><pdq>{PDQ_A}</pdq>\
             </fingerprints></image></images><videos count=\"1\"><video>\
             <member id=\"9\">N</member><id>b</id><fingerprints><md5>{MD5_B}</md5>\
             </fingerprints></video></videos><paging><next>/v2/entries?from=x&amp;to=y\
             &amp;start=3&amp;size=2&amp;max=3</next></paging></queryResult>"
        )
    };
    body.into_response()
}

/// The votes NCMEC's fake took: `member-id/TYPE` and the body.
static VOTES: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Takes a vote on one fingerprint of one entry (`PUT /v2/entries/{member}/{id}/{TYPE}/feedback`).
async fn vote(
    headers: HeaderMap,
    axum::extract::Path((member, id, kind)): axum::extract::Path<(String, String, String)>,
    body: String,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some("Basic aG90bGluZTpzM2NyZXQtcGFzcw==")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    VOTES
        .lock()
        .unwrap()
        .push((format!("{member}-{id}/{kind}"), body));
    "<submissionResult/>".into_response()
}

#[test]
fn an_ncmec_exchange_is_set_up_and_fetched() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let app = Router::new().route("/hs/v2/entries", get(entries)).route(
            "/hs/v2/entries/{member}/{id}/{kind}/feedback",
            axum::routing::put(vote),
        );
        axum::serve(listener, app).await
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let config = format!(
        r#"{{"environment":"https://exttest.cybertip.org/hashsharing","base_url":"http://{address}/hs"}}"#
    );
    let added = ward([
        "exchange",
        "add",
        "--data-dir",
        &data,
        "NCMEC_TEST",
        "--org",
        "Hotline",
        "--config",
        &config,
    ]);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    // Settings the type does not take are refused.
    let refused = ward([
        "exchange",
        "add",
        "--data-dir",
        &data,
        "OTHER",
        "--config",
        r#"{"environment":"https://x","nope":1}"#,
    ]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    // A fetch without credentials says what to do.
    let bare = ward(["exchange", "fetch", "--data-dir", &data, "NCMEC_TEST"]);
    assert_eq!(bare.code, Some(2));
    assert!(
        bare.stderr.contains("ward exchange credentials"),
        "{}",
        bare.stderr
    );
    let secret = OsStr::new("hotline:s3cret-pass");
    let kept = ward_with_env(
        [
            "exchange",
            "credentials",
            "--data-dir",
            &data,
            "--org",
            "Hotline",
            "ncmec",
        ],
        &[("TX_NCMEC_CREDENTIALS", secret)],
    );
    assert_eq!(kept.code, Some(0), "{}", kept.stderr);
    let fetched = ward(["exchange", "fetch", "--data-dir", &data, "NCMEC_TEST"]);
    assert_eq!(fetched.code, Some(0), "{}", fetched.stderr);
    let report = &fetched.records()[0];
    assert_eq!(
        (&report["pages"], &report["added"], &report["up_to_date"]),
        (
            &serde_json::json!(2),
            &serde_json::json!(2),
            &serde_json::json!(true)
        ),
        "{report}"
    );
    let listed = ward(["exchange", "list", "--data-dir", &data]);
    let listed = &listed.records()[0];
    assert_eq!(listed["name"], "NCMEC_TEST");
    assert_eq!(listed["status"]["fetched_items"], 2, "{listed}");
    assert_eq!(listed["status"]["last_fetch_succeeded"], true);
    // The entries, keyed on member and id, are in the bank.
    let exported = ward([
        "export",
        "--data-dir",
        &data,
        "--bank",
        "NCMEC_TEST",
        "--org",
        "Hotline",
        "--format",
        "csv",
    ]);
    assert_eq!(exported.code, Some(0), "{}", exported.stderr);
    assert!(exported.stdout.contains(PDQ_A) && exported.stdout.contains(MD5_B));
    assert!(
        exported.stdout.contains("7-a") && exported.stdout.contains("9-b"),
        "{}",
        exported.stdout
    );
    // The password is nowhere in the store in clear.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(11).any(|w| w == b"s3cret-pass"));
    }

    // A running node gives NCMEC the curator's opinions, once each.
    let store = crate::serve::sqlite(dir.path());
    let curator = crate::serve::admin_key(&store, "Hotline", "curator");
    let node = crate::serve::Node::start(&store);
    let (status, found) = node.json(
        "GET",
        &format!("/v1/match?signal_type=pdq&signal={PDQ_A}"),
        Some(&curator),
        serde_json::Value::Null,
    );
    assert_eq!(status, 200, "{found}");
    let id = found["matches"][0]["content_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{found}"));
    let opinion = |opinion: &str| {
        node.json(
            "PUT",
            &format!("/v1/content/{id}/opinion"),
            Some(&curator),
            serde_json::json!({ "opinion": opinion }),
        )
    };
    let (status, item) = opinion("confirm");
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["feedback"][0]["state"], "pending", "{item}");
    // Said again before it went: still one vote owed.
    opinion("confirm");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let item = loop {
        let (_, item) = node.json(
            "GET",
            &format!("/v1/content/{id}"),
            Some(&curator),
            serde_json::Value::Null,
        );
        if item["feedback"][0]["state"] == "sent" || std::time::Instant::now() > deadline {
            break item;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    assert_eq!(item["feedback"][0]["state"], "sent", "{item}");
    assert_eq!(item["feedback"][0]["parts"], serde_json::json!(["PDQ"]));
    // Given some more seconds to repeat itself, the node does not.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let votes = VOTES.lock().unwrap().clone();
    assert_eq!(votes.len(), 1, "{votes:?}");
    assert_eq!(votes[0].0, "7-a/PDQ");
    assert!(votes[0].1.contains("<affirmative/>"), "{}", votes[0].1);
    let (_, metrics) = node.json("GET", "/metrics", None, serde_json::Value::Null);
    assert!(
        metrics
            .as_str()
            .unwrap_or_default()
            .contains("ward_exchange_feedback_total{outcome=\"sent\"} 1"),
        "{metrics}"
    );
}

/// The ThreatExchange token the fake takes.
const TOKEN: &str = "1000000000000001|Cli_Secret-abcdefghijklmnop";

/// One StopNCII page: a PDQ, and a withdrawn hash never sent.
async fn fetch_hashes(headers: HeaderMap) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("ocp-apim-subscription-key") != Some("sub") || header("x-functions-key") != Some("fk")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(serde_json::json!({
        "count": 2, "nextSetTimestamp": 1_700_000_100, "hasMoreRecords": false,
        "hashRecords": [
            {"lastModtimestamp": 1_700_000_000, "signalType": "ImagePDQ", "hashValue": PDQ_A,
             "hashStatus": "Active", "caseNumbers": {}},
            {"lastModtimestamp": 1_700_000_100, "signalType": "VideoMD5", "hashValue": MD5_B,
             "hashStatus": "Withdrawn", "caseNumbers": {}},
        ],
    }))
    .into_response()
}

/// One ThreatExchange page: a video's MD5 with an opinion.
async fn threat_updates(
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if query.get("access_token").map(String::as_str) != Some(TOKEN) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    Json(serde_json::json!({"data": [
        {"id": "1", "indicator": MD5_B, "type": "HASH_VIDEO_MD5", "last_updated": 1_700_000_000,
         "should_delete": false, "descriptors": {"data": [
             {"id": "2", "owner": {"id": "3"}, "status": "MALICIOUS", "tags": ["x"]}]}},
    ]}))
    .into_response()
}

#[test]
fn stopncii_and_threatexchange_exchanges_are_set_up_and_fetched() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let app = Router::new()
            .route("/sn/v1/FetchHashes", get(fetch_hashes))
            .route("/graph/42/threat_updates/", get(threat_updates));
        axum::serve(listener, app).await
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let add = |name: &str, api: &str, config: &str, base: &str| {
        ward([
            "exchange",
            "add",
            "--data-dir",
            &data,
            name,
            "--org",
            "Hotline",
            "--api",
            api,
            "--config",
            config,
            "--base-url",
            base,
        ])
    };
    let sn_base = format!("http://{address}/sn/v1");
    let tx_base = format!("http://{address}/graph");
    let added = add("STOPNCII", "stop_ncii", "{}", &sn_base);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    let added = add(
        "TX_GROUP",
        "fb_threatexchange",
        r#"{"privacy_group":42}"#,
        &tx_base,
    );
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    // A ThreatExchange exchange needs its privacy group; a type Ward does not fetch is named.
    let refused = add("TX_OTHER", "fb_threatexchange", "{}", &tx_base);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("privacy_group"),
        "{}",
        refused.stderr
    );
    let refused = add("OTHER", "tat", "{}", &tx_base);
    assert!(refused.stderr.contains("stop_ncii"), "{}", refused.stderr);

    // Credentials from a file (as the environment variable would hold them), refused with
    // what they should be when they are not the type's, never echoed.
    let keys = dir.path().join("keys.txt");
    let credentials = |api: &str, text: &str| {
        std::fs::write(&keys, text).unwrap();
        let keys = keys.display().to_string();
        ward([
            "exchange",
            "credentials",
            "--data-dir",
            &data,
            "--org",
            "Hotline",
            api,
            "--from",
            &keys,
        ])
    };
    let wrong = credentials("fb_threatexchange", "1|Cli_Secret");
    assert_eq!(wrong.code, Some(2), "{}", wrong.stderr);
    assert!(wrong.stderr.contains("APPID|SECRET"), "{}", wrong.stderr);
    assert!(!wrong.stderr.contains("Cli_Secret"), "{}", wrong.stderr);
    let kept = credentials("fb_threatexchange", &format!("{TOKEN}\n"));
    assert_eq!(kept.code, Some(0), "{}", kept.stderr);
    let kept = credentials("stop_ncii", "fk,sub");
    assert_eq!(kept.code, Some(0), "{}", kept.stderr);
    std::fs::remove_file(&keys).unwrap();

    for (name, added) in [("STOPNCII", 1), ("TX_GROUP", 1)] {
        let fetched = ward(["exchange", "fetch", "--data-dir", &data, name]);
        assert_eq!(fetched.code, Some(0), "{name}: {}", fetched.stderr);
        let report = &fetched.records()[0];
        assert_eq!(report["added"], added, "{name}: {report}");
        assert_eq!(report["up_to_date"], true, "{name}: {report}");
    }
    let listed = ward(["exchange", "list", "--data-dir", &data]);
    for listed in listed.records() {
        assert_eq!(listed["status"]["last_fetch_succeeded"], true, "{listed}");
        assert_eq!(listed["status"]["fetched_items"], 1, "{listed}");
    }
    // The token is nowhere in the store in clear.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(10).any(|w| w == b"Cli_Secret"));
    }
}

/// Entries of the killed fetch's fake: twenty pages of five images each.
const KILL_PAGES: usize = 20;
const KILL_PAGE: usize = 5;

fn kill_pdq(n: usize) -> String {
    format!("{:064x}", 0xabc0_0000_u64 + n as u64)
}

/// A fake NCMEC whose pages after the first come slowly, counting the pages asked for.
async fn slow_entries(
    axum::extract::State(asked): axum::extract::State<
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    >,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    // Every entry is in the first range (from the epoch); later ranges have none.
    let first_range = query.contains_key("start")
        || query
            .get("from")
            .is_some_and(|from| from.starts_with("1970"));
    if !first_range {
        return "<queryResult><images count=\"0\"/></queryResult>".into_response();
    }
    let start: usize = query.get("start").and_then(|s| s.parse().ok()).unwrap_or(1);
    if start > 1 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let first = start - 1;
    let mut body = String::from("<queryResult><images count=\"5\">");
    for n in first..first + KILL_PAGE {
        body.push_str(&format!(
            "<image><member id=\"3\">M</member><id>e{n}</id><fingerprints><pdq>{}</pdq>\
             </fingerprints></image>",
            kill_pdq(n)
        ));
    }
    body.push_str("</images>");
    let next = first + KILL_PAGE + 1;
    if next <= KILL_PAGES * KILL_PAGE {
        body.push_str(&format!(
            "<paging><next>/v2/entries?from=a&amp;to=b&amp;start={next}&amp;size={KILL_PAGE}\
             &amp;max={}</next></paging>",
            KILL_PAGES * KILL_PAGE
        ));
    }
    body.push_str("</queryResult>");
    body.into_response()
}

/// `ward exchange fetch` SIGKILLed after some pages are saved, then run again (taking over
/// the dead process's lease): the bank ends with exactly the feed's entries, each once.
#[test]
fn a_fetch_killed_with_sigkill_resumes_without_loss_or_duplicates() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/hs/v2/entries", get(slow_entries))
        .with_state(Arc::clone(&asked));
    runtime.spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let config = format!(
        r#"{{"environment":"https://exttest.cybertip.org/hashsharing","base_url":"http://{address}/hs"}}"#
    );
    let added = ward([
        "exchange",
        "add",
        "--data-dir",
        &data,
        "KILLED",
        "--org",
        "Hotline",
        "--config",
        &config,
    ]);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    let kept = ward_with_env(
        [
            "exchange",
            "credentials",
            "--data-dir",
            &data,
            "--org",
            "Hotline",
            "ncmec",
        ],
        &[("TX_NCMEC_CREDENTIALS", OsStr::new("user:pass"))],
    );
    assert_eq!(kept.code, Some(0), "{}", kept.stderr);

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["exchange", "fetch", "--data-dir", &data, "KILLED"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The fifth page asked for: the first four are saved (a page is asked for once the one
    // before it is).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while asked.load(Ordering::SeqCst) < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the fetch did not get going"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let pages_before = asked.load(Ordering::SeqCst);
    assert!(
        pages_before < KILL_PAGES,
        "killed before the end: {pages_before}"
    );

    // The dead process still holds the lease: a plain fetch is told so, and one that takes
    // over goes on from the last page saved.
    let refused = ward(["exchange", "fetch", "--data-dir", &data, "KILLED"]);
    assert_ne!(refused.code, Some(0));
    assert!(refused.stderr.contains("--take-over"), "{}", refused.stderr);
    let resumed = ward([
        "exchange",
        "fetch",
        "--data-dir",
        &data,
        "--take-over",
        "KILLED",
    ]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    let report = &resumed.records()[0];
    assert_eq!(report["up_to_date"], true, "{report}");
    // It resumed where the killed one stopped: not from the first page.
    assert!(
        asked.load(Ordering::SeqCst) - pages_before < KILL_PAGES,
        "resumed from the start"
    );

    let exported = ward([
        "export",
        "--data-dir",
        &data,
        "--bank",
        "KILLED",
        "--org",
        "Hotline",
        "--format",
        "csv",
    ]);
    assert_eq!(exported.code, Some(0), "{}", exported.stderr);
    let mut held: Vec<&str> = exported
        .stdout
        .lines()
        .filter(|line| line.contains("3-e"))
        .collect();
    held.sort_unstable();
    assert_eq!(held.len(), KILL_PAGES * KILL_PAGE, "{}", exported.stdout);
    held.dedup();
    assert_eq!(held.len(), KILL_PAGES * KILL_PAGE, "an entry held twice");
    for n in 0..KILL_PAGES * KILL_PAGE {
        assert!(exported.stdout.contains(&kill_pdq(n)), "entry {n} lost");
    }
    let listed = ward(["exchange", "list", "--data-dir", &data]);
    assert_eq!(
        listed.records()[0]["status"]["fetched_items"],
        (KILL_PAGES * KILL_PAGE) as u64
    );
}

/// A CSV list of two items under one `ETag`, answered 304 when asked with it.
async fn list(headers: HeaderMap) -> Response {
    if headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some("\"l1\"") {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let body = format!("signal_type,signal,id\npdq,{PDQ_A},a\nmd5,{MD5_B},b\n");
    ([("etag", "\"l1\"")], body).into_response()
}

#[test]
fn a_list_exchange_is_set_up_and_fetched_without_credentials() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let app = Router::new().route("/lists/hashes.csv", get(list));
        axum::serve(listener, app).await
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let add = |config: &str| {
        ward([
            "exchange",
            "add",
            "--data-dir",
            &data,
            "LIST",
            "--org",
            "Hotline",
            "--api",
            "file",
            "--config",
            config,
        ])
    };
    // Plain http only to loopback; the format is one Ward reads back.
    let refused = add(r#"{"url": "http://lists.example/h.csv", "format": "csv"}"#);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("https"), "{}", refused.stderr);
    let refused = add(r#"{"url": "https://lists.example/h.csv", "format": "ncmec"}"#);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    let config = format!(r#"{{"url": "http://{address}/lists/hashes.csv", "format": "csv"}}"#);
    let added = add(&config);
    assert_eq!(added.code, Some(0), "{}", added.stderr);

    let fetched = ward(["exchange", "fetch", "--data-dir", &data, "LIST"]);
    assert_eq!(fetched.code, Some(0), "{}", fetched.stderr);
    let report = &fetched.records()[0];
    assert_eq!(
        (&report["added"], &report["up_to_date"]),
        (&2.into(), &true.into()),
        "{report}"
    );
    let fetched = ward(["exchange", "fetch", "--data-dir", &data, "LIST"]);
    assert_eq!(fetched.code, Some(0), "{}", fetched.stderr);
    let report = &fetched.records()[0];
    assert_eq!(
        (&report["pages"], &report["up_to_date"]),
        (&0.into(), &true.into()),
        "{report}"
    );
    let listed = &ward(["exchange", "list", "--data-dir", &data]).records()[0];
    assert_eq!(listed["api"], "file");
    assert_eq!(listed["status"]["fetched_items"], 2, "{listed}");
    assert_eq!(listed["status"]["last_fetch_succeeded"], true, "{listed}");
}
