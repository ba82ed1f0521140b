//! `ward exchange` end to end: an NCMEC exchange set up, its credentials kept sealed, and a
//! fetch from a fake of NCMEC's API on loopback (one range, two pages, a tombstone).

use std::ffi::OsStr;

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

#[test]
fn an_ncmec_exchange_is_set_up_and_fetched() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let app = Router::new().route("/hs/v2/entries", get(entries));
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
}
