//! HMA 2's request sequences through a real listening server, on SQLite and PostgreSQL:
//! a bank created, content added by upload, by hash and by URL (with notes and metadata),
//! read, changed, disabled (for good and until a time), deleted; lookups with the coin
//! flip, raw lookups with and without distances and banks, compare, the index's state,
//! signal types, the site map, the OpenAPI document, and an exchange set up and watched.
//! The answers are those EXCHANGES.md §6 gives for HMA, exactly where HMA's are
//! deterministic, and the errors HMA gives (`{"message": …}`, 422 arrays where HMA's
//! declared models refuse a request).

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use ward_core::digest::FileDigests;
use ward_core::pdq::{self, Pipeline};
use ward_store::{Role, Store as _};

use super::Config;
use super::tests::{Fixture, PgDatabase};

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
/// 2 bits from `PDQ`.
const PDQ_NEAR: &str = "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22";

/// A benign picture of random grey blocks (from `seed`): detailed enough for PDQ.
fn photo(seed: u32) -> Vec<u8> {
    let mut state = seed | 1;
    let mut levels = [0u8; 64];
    for level in &mut levels {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *level = (state >> 24) as u8;
    }
    let image = image::RgbImage::from_fn(128, 128, |x, y| {
        let v = levels[((y / 16) * 8 + x / 16) as usize];
        image::Rgb([v, v / 2, 255 - v])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

fn pdq_of(bytes: &[u8]) -> String {
    let picture = ward_core::decode::decode(bytes, &Default::default()).unwrap();
    pdq::hash(&picture, Pipeline::Full).hash.to_string()
}

/// A loopback server of files, standing in for the web: a photo, a "video" that is no
/// video, a page, and a redirect into the private network.
async fn files() -> SocketAddr {
    let app = axum::Router::new()
        .route(
            "/photo.png",
            get(|| async { ([(header::CONTENT_TYPE, "image/png")], photo(7)).into_response() }),
        )
        .route(
            "/clip.mp4",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "video/mp4")],
                    b"not a video at all".to_vec(),
                )
                    .into_response()
            }),
        )
        .route(
            "/page.html",
            get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<p>hi</p>").into_response() }),
        )
        .route(
            "/inside",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://10.1.2.3/secret.png")],
                )
                    .into_response()
            }),
        )
        .route(
            "/gone.png",
            get(|| async { StatusCode::NOT_FOUND.into_response() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// A listening fixture whose `url=` fetches may reach the loopback `files` server.
async fn fixture(database: Option<PgDatabase>, files: SocketAddr) -> Fixture {
    let mut fetch = Config::default().hma_fetch.expect("fetching on by default");
    fetch.allow = vec![files];
    let config = Config {
        hma_fetch: Some(fetch),
        ..Config::default()
    };
    Fixture::configured(database, config).await.listen().await
}

/// A multipart body: files (`name`, bytes) and plain fields (`name`, text).
fn form(files: &[(&str, &[u8])], fields: &[(&str, &str)]) -> (Body, String) {
    let boundary = "hmaresourceboundary";
    let mut body = Vec::new();
    for (name, text) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{text}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"upload\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (
        Body::from(body),
        format!("multipart/form-data; boundary={boundary}"),
    )
}

impl Fixture {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        role: Role,
        body: Value,
    ) -> (StatusCode, Value) {
        self.json(method, uri, Some(self.key(role)), body).await
    }

    async fn upload(
        &self,
        uri: &str,
        role: Role,
        files: &[(&str, &[u8])],
        fields: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let (body, content_type) = form(files, fields);
        self.send(Method::POST, uri, Some(self.key(role)), body, &content_type)
            .await
    }

    async fn get_ok(&self, uri: &str, role: Role) -> Value {
        let (status, answer) = self.call(Method::GET, uri, role, Value::Null).await;
        assert_eq!(status, StatusCode::OK, "GET {uri}: {answer}");
        answer
    }
}

fn now_s() -> i64 {
    ward_store::Timestamp::now().0 / 1000
}

#[tokio::test]
async fn hma_request_sequences_on_sqlite() {
    let files = files().await;
    hma_request_sequences(fixture(None, files).await, files).await;
}

#[tokio::test]
async fn hma_request_sequences_on_postgres() {
    let files = files().await;
    hma_request_sequences(fixture(Some(PgDatabase::create()), files).await, files).await;
}

async fn hma_request_sequences(f: Fixture, files: SocketAddr) {
    use Role::{Admin, Analyst, Curator, Platform};
    // A bank.
    let (status, bank) = f
        .call(
            Method::POST,
            "/c/banks",
            Curator,
            json!({"name": "SEQ_BANK"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bank}");
    assert_eq!(
        bank,
        json!({"name": "SEQ_BANK", "matching_enabled_ratio": 1.0})
    );
    let bank_json = json!({"name": "SEQ_BANK", "matching_enabled_ratio": 1.0});

    // Content by upload, with a note and metadata as form fields.
    let uploaded = photo(3);
    let (status, added) = f
        .upload(
            "/c/bank/SEQ_BANK/content",
            Curator,
            &[("photo", &uploaded)],
            &[
                ("note", "from the upload"),
                (
                    "metadata",
                    r#"{"content_id": "platform-17", "json": {"queue": "a"}, "collab": {"X": ["y"]}}"#,
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let by_upload = added["id"].as_i64().unwrap();
    assert_eq!(added["signals"], json!({"pdq": pdq_of(&uploaded)}));

    // By hash, with a note.
    let (status, added) = f
        .call(
            Method::POST,
            "/c/bank/SEQ_BANK/signal",
            Curator,
            json!({"pdq": PDQ, "note": "by hash"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let by_hash = added["id"].as_i64().unwrap();
    assert_eq!(added, json!({"id": by_hash, "signals": {"pdq": PDQ}}));

    // By URL (fetched from the loopback server), with a JSON body.
    let url = format!("http://{files}/photo.png");
    let (status, added) = f
        .call(
            Method::POST,
            &format!("/c/bank/SEQ_BANK/content?url={url}"),
            Curator,
            json!({"note": "by url", "metadata": {"content_uri": url}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let by_url = added["id"].as_i64().unwrap();
    assert_eq!(added["signals"], json!({"pdq": pdq_of(&photo(7))}));

    // Read: HMA's BankContentResponse.
    let item = |id: i64, query: &str| format!("/c/bank/SEQ_BANK/content/{id}{query}");
    assert_eq!(
        f.get_ok(&item(by_hash, ""), Analyst).await,
        json!({"id": by_hash, "disable_until_ts": 1, "original_media_uri": null,
               "bank": bank_json, "note": "by hash"})
    );
    assert_eq!(
        f.get_ok(&item(by_upload, "?include_signals=true"), Curator)
            .await,
        json!({"id": by_upload, "disable_until_ts": 1, "original_media_uri": null,
               "bank": bank_json, "signals": {"pdq": pdq_of(&uploaded)},
               "metadata": {"content_id": "platform-17", "content_uri": null,
                            "json": {"queue": "a"}, "collab": null},
               "note": "from the upload"})
    );
    let read = f
        .get_ok(&item(by_url, "?include_metadata=false"), Curator)
        .await;
    assert!(read.get("metadata").is_none(), "{read}");
    assert_eq!(
        f.get_ok(&item(by_url, ""), Curator).await["metadata"]["content_uri"],
        json!(url)
    );

    // Lookups find it; platforms cannot read content.
    let lookup = format!("/m/lookup?signal_type=pdq&signal={PDQ}");
    let found = json!({"SEQ_BANK": [{"bank_content_id": by_hash, "distance": "0"}]});
    assert_eq!(f.get_ok(&lookup, Platform).await, found);
    let (status, _) = f
        .call(Method::GET, &item(by_hash, ""), Platform, Value::Null)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Disabled for good, then until a time, then enabled again.
    let by_hash_uri = item(by_hash, "");
    let update = |body: Value| f.call(Method::PUT, &by_hash_uri, Curator, body);
    let (status, changed) = update(json!({"disable_until_ts": 0})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed,
        json!({"id": by_hash, "disable_until_ts": 0, "collab_metadata": {},
               "original_media_uri": null, "bank": bank_json, "user_metadata": null,
               "note": "by hash"})
    );
    assert_eq!(f.get_ok(&lookup, Platform).await, json!({}));
    let later = now_s() + 3600;
    let (_, changed) = update(json!({"disable_until_ts": later.to_string()})).await;
    assert_eq!(changed["disable_until_ts"], json!(later));
    assert_eq!(
        f.get_ok(&item(by_hash, ""), Curator).await["disable_until_ts"],
        json!(later)
    );
    assert_eq!(f.get_ok(&lookup, Platform).await, json!({}));
    let (_, changed) = update(json!({"disable_until_ts": 1, "note": ""})).await;
    assert_eq!(changed["disable_until_ts"], json!(1));
    assert_eq!(changed["note"], Value::Null);
    assert!(
        f.get_ok(&item(by_hash, ""), Curator)
            .await
            .get("note")
            .is_none()
    );
    assert_eq!(f.get_ok(&lookup, Platform).await, found);
    // Until a second from now: enabled again once its time has come.
    update(json!({"disable_until_ts": now_s() + 1})).await;
    assert_eq!(f.get_ok(&lookup, Platform).await, json!({}));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let enabled = super::hma_content::enable_due_content(&f.state.store)
        .await
        .unwrap();
    assert_eq!(enabled, 1);
    f.follow().await;
    assert_eq!(f.get_ok(&lookup, Platform).await, found);
    assert_eq!(
        f.get_ok(&item(by_hash, ""), Curator).await["disable_until_ts"],
        json!(1)
    );

    // Errors of the content routes.
    let bad: [(Value, &str); 6] = [
        (
            json!({"disable_until_ts": -1}),
            "disable_until_ts must be a non-negative integer",
        ),
        (json!({"disable_until_ts": "soon"}), "Invalid int: 'soon'"),
        (
            json!({"disable_until_ts": now_s() + 6 * 365 * 86400}),
            "disable_until_ts must be less than 5 years in the future",
        ),
        (
            json!({"note": "n".repeat(256)}),
            "note must be at most 255 characters",
        ),
        (json!({"note": 7}), "note should be a string"),
        (json!([1]), "this endpoint expects a json object payload"),
    ];
    for (body, message) in bad {
        let (status, error) = update(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error, json!({"message": message}), "{body}");
    }
    let (status, error) = f
        .call(
            Method::POST,
            "/c/bank/SEQ_BANK/signal",
            Curator,
            json!({"pdq": PDQ_NEAR, "metadata": {"owner": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid metadata"),
        "{error}"
    );
    let (status, error) = f
        .upload(
            "/c/bank/SEQ_BANK/content",
            Curator,
            &[("photo", &uploaded)],
            &[("metadata", "{not json")],
        )
        .await;
    assert_eq!(
        (status, error),
        (
            StatusCode::BAD_REQUEST,
            json!({"message": "metadata form field must be valid JSON"})
        )
    );
    let (status, error) = f
        .call(Method::GET, &item(999_999, ""), Curator, Value::Null)
        .await;
    assert_eq!(
        (status, error),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "content '999999' not found"})
        )
    );
    let (status, error) = f
        .call(
            Method::GET,
            "/c/bank/NO_BANK/content/1",
            Curator,
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, error),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "bank 'NO_BANK' not found"})
        )
    );
    // Another bank's path does not reach this bank's items (HMA's would).
    f.call(
        Method::POST,
        "/c/banks",
        Curator,
        json!({"name": "SEQ_OTHER"}),
    )
    .await;
    let (status, _) = f
        .call(
            Method::GET,
            &format!("/c/bank/SEQ_OTHER/content/{by_hash}"),
            Curator,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, deleted) = f
        .call(
            Method::DELETE,
            &format!("/c/bank/SEQ_OTHER/content/{by_hash}"),
            Curator,
            Value::Null,
        )
        .await;
    assert_eq!(deleted, json!({"deleted": 0}));

    // Raw lookups, with and without distances and banks.
    let near = format!("/m/raw_lookup?signal_type=pdq&signal={PDQ_NEAR}");
    assert_eq!(
        f.get_ok(&near, Platform).await,
        json!({"matches": [by_hash]})
    );
    assert_eq!(
        f.get_ok(&format!("{near}&include_distance=true"), Platform)
            .await,
        json!({"matches": [{"bank_content_id": by_hash, "distance": "2"}]})
    );
    assert_eq!(
        f.get_ok(&format!("{near}&banks=SEQ_BANK"), Platform).await,
        json!({"matches": [by_hash]})
    );
    assert_eq!(
        f.get_ok(&format!("{near}&banks=SEQ_OTHER,NO_BANK"), Platform)
            .await,
        json!({"matches": []})
    );
    // Compare.
    let (status, compared) = f
        .call(
            Method::POST,
            "/m/compare",
            Platform,
            json!({"pdq": [PDQ, PDQ_NEAR]}),
        )
        .await;
    assert_eq!(
        (status, compared),
        (StatusCode::OK, json!({"pdq": [true, {"distance": 2}]}))
    );

    // The coin flip: at a ratio of 0.5, seed "1" draws 0.478 (the bank takes part) and
    // seed "abc" 0.772 (it does not), as CPython draws them; bypassing draws 0.
    let (_, bank) = f
        .call(
            Method::PUT,
            "/c/bank/SEQ_BANK",
            Curator,
            json!({"enabled_ratio": 0.5}),
        )
        .await;
    assert_eq!(bank["matching_enabled_ratio"], json!(0.5));
    assert_eq!(f.get_ok(&format!("{lookup}&seed=1"), Platform).await, found);
    assert_eq!(
        f.get_ok(&format!("{lookup}&seed=abc"), Platform).await,
        json!({})
    );
    assert_eq!(
        f.get_ok(&format!("{lookup}&seed=abc&bypass_coinflip=true"), Platform)
            .await,
        found
    );
    let (status, answer) = f
        .upload("/m/lookup?seed=1", Platform, &[("photo", &uploaded)], &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({"pdq": {"SEQ_BANK": [{"bank_content_id": by_upload, "distance": "0"}]}})
    );
    let (_, answer) = f
        .upload("/m/lookup?seed=abc", Platform, &[("photo", &uploaded)], &[])
        .await;
    assert_eq!(answer, json!({"pdq": {}}));
    // Raw lookups ignore ratios; a ratio of 0 takes part only when bypassed.
    assert_eq!(
        f.get_ok(&format!("{near}&seed=abc"), Platform).await,
        json!({"matches": [by_hash]})
    );
    f.call(
        Method::PUT,
        "/c/bank/SEQ_BANK",
        Curator,
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(
        f.get_ok(&format!("{lookup}&seed=1"), Platform).await,
        json!({})
    );
    assert_eq!(
        f.get_ok(&format!("{lookup}&bypass_coinflip=true"), Platform)
            .await,
        found
    );
    // /v1 banks have the same ratio, and /v1/match the same draw.
    let (_, banks) = f.call(Method::GET, "/v1/banks", Curator, Value::Null).await;
    let seq = banks["banks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "SEQ_BANK")
        .unwrap()
        .clone();
    assert_eq!(seq["enabled_ratio"], json!(0.0));
    let v1 = format!("/v1/match?signal_type=pdq&signal={PDQ}");
    assert_eq!(f.get_ok(&v1, Platform).await["matches"], json!([]));
    assert_eq!(
        f.get_ok(&format!("{v1}&bypass_enabled_ratio=true"), Platform)
            .await["matches"][0]["content_id"],
        json!(by_hash)
    );
    let (_, bank) = f
        .call(
            Method::PATCH,
            &format!("/v1/banks/{}", seq["id"]),
            Curator,
            json!({"enabled_ratio": 0.5}),
        )
        .await;
    assert_eq!(bank["enabled_ratio"], json!(0.5));
    assert_eq!(
        f.get_ok(&format!("{v1}&seed=1"), Platform).await["matches"][0]["content_id"],
        json!(by_hash)
    );
    f.call(
        Method::PUT,
        "/c/bank/SEQ_BANK",
        Curator,
        json!({"enabled_ratio": 1}),
    )
    .await;

    // Delete: 1, then 0; the item is gone.
    let (status, deleted) = f
        .call(Method::DELETE, &item(by_url, ""), Curator, Value::Null)
        .await;
    assert_eq!((status, deleted), (StatusCode::OK, json!({"deleted": 1})));
    let (_, deleted) = f
        .call(Method::DELETE, &item(by_url, ""), Curator, Value::Null)
        .await;
    assert_eq!(deleted, json!({"deleted": 0}));
    let (status, _) = f
        .call(Method::GET, &item(by_url, ""), Curator, Value::Null)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The index's state, and the signal types.
    f.follow().await;
    let status_of = f.get_ok("/m/index/status", Platform).await;
    assert_eq!(status_of["pdq"]["present"], json!(true));
    assert_eq!(status_of["pdq"]["size"], json!(2));
    assert!(status_of["pdq"]["built_to"].as_i64().unwrap() >= now_s() - 60);
    assert_eq!(
        f.get_ok("/m/index/status?signal_type=video_md5", Platform)
            .await,
        json!({"video_md5": {"present": true, "built_to": status_of["video_md5"]["built_to"], "size": 0}})
    );
    let index = f
        .get_ok("/c/signal_type/index?signal_type=pdq", Curator)
        .await;
    assert_eq!(index["pdq"]["db_size"], json!(2));
    assert_eq!(index["pdq"]["index_size"], json!(2));
    assert_eq!(index["pdq"]["index_out_of_date"], json!(false));
    let (status, error) = f
        .call(
            Method::GET,
            "/m/index/status?signal_type=tmk",
            Platform,
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, error),
        (
            StatusCode::BAD_REQUEST,
            json!({"message": "No such signal type 'tmk'"})
        )
    );
    assert_eq!(
        f.get_ok("/c/signal_type", Platform).await,
        json!([{"name": "pdq", "enabled_ratio": 1.0},
               {"name": "video_md5", "enabled_ratio": 1.0},
               {"name": "vpdq", "enabled_ratio": 1.0}])
    );
    let (status, answer) = f
        .call(
            Method::PUT,
            "/c/signal_type/pdq",
            Admin,
            json!({"enabled_ratio": "0.5"}),
        )
        .await;
    assert_eq!(
        (status, answer),
        (StatusCode::NO_CONTENT, Value::String(String::new()))
    );
    assert_eq!(
        f.get_ok("/c/signal_type", Platform).await[0]["enabled_ratio"],
        json!(0.5)
    );
    for (body, message) in [
        (json!({}), "enabled_ratio is required"),
        (
            json!({"enabled_ratio": "half"}),
            "Invalid float: '\"half\"'",
        ),
    ] {
        let (status, error) = f.call(Method::PUT, "/c/signal_type/pdq", Admin, body).await;
        assert_eq!(
            (status, error),
            (StatusCode::BAD_REQUEST, json!({"message": message}))
        );
    }

    // The site map and the OpenAPI document, without a key.
    let (status, map) = f.json(Method::GET, "/site-map", None, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let map: Vec<&str> = map
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(map.windows(2).all(|w| w[0] < w[1]), "{map:?}");
    for path in [
        "/c/bank/<bank_name>/content/<int:content_id>",
        "/m/index/status",
        "/status",
    ] {
        assert!(map.contains(&path), "{path}: {map:?}");
    }
    let (status, document) = f
        .json(Method::GET, "/openapi/openapi.json", None, Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["info"]["title"], "Open Media Match API");
    let operations = &document["paths"]["/c/bank/{bank_name}/content/{content_id}"];
    for method in ["get", "put", "delete"] {
        assert!(operations[method].is_object(), "{method}: {operations}");
    }

    // An exchange set up, and its status before any fetch.
    let (status, created) = f
        .call(
            Method::POST,
            "/c/exchanges",
            Curator,
            json!({"bank": "SEQ_NCMEC", "api": "ncmec",
                   "api_json": {"environment": "https://exttest.cybertip.org/hashsharing"}}),
        )
        .await;
    assert_eq!(
        (status, created),
        (
            StatusCode::CREATED,
            json!({"message": "Created successfully"})
        )
    );
    let status_of = f.get_ok("/c/exchange/SEQ_NCMEC/status", Analyst).await;
    for (field, value) in [
        ("checkpoint_ts", Value::Null),
        ("running_fetch_start_ts", Value::Null),
        ("last_fetch_complete_ts", Value::Null),
        ("last_fetch_succeeded", Value::Null),
        ("up_to_date", json!(false)),
        ("fetched_items", json!(0)),
    ] {
        assert_eq!(status_of[field], value, "{field}: {status_of}");
    }
    assert!(
        f.get_ok("/c/exchanges", Platform)
            .await
            .as_array()
            .unwrap()
            .contains(&json!("SEQ_NCMEC"))
    );

    // Every route of the site map is served (and nothing is served twice under it).
    for route in super::hma_types::HMA_ROUTES {
        let uri = route
            .path
            .replace("<bank_name>", "SEQ_BANK")
            .replace("<int:content_id>", "1")
            .replace("<signal_type_name>", "pdq")
            .replace("<api_name>", "ncmec")
            .replace("<exchange_name>", "SEQ_NCMEC");
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let (status, answer) = f
            .call(method.clone(), &uri, Role::Auditor, Value::Null)
            .await;
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED
                && !(status == StatusCode::NOT_FOUND && answer.get("message").is_none()),
            "{method} {uri} is in the site map but not served: {status} {answer}"
        );
    }
}

/// URLs: fetched from a public host (the loopback server, allowed for the test), refused
/// inside the network, their content type from the server, their failures in HMA's words.
#[tokio::test]
async fn urls_are_fetched_through_the_guard() {
    let files = files().await;
    let f = fixture(None, files).await;
    let f = &f;
    let get =
        |uri: String| async move { f.call(Method::GET, &uri, Role::Platform, Value::Null).await };
    let (status, hashed) = get(format!("/h/hash?url=http://{files}/photo.png")).await;
    assert_eq!(
        (status, hashed),
        (StatusCode::OK, json!({"pdq": pdq_of(&photo(7))}))
    );
    // A "video" that is none: its MD5, as HMA gives it, and no vPDQ.
    let md5 = FileDigests::of(b"not a video at all").md5.to_string();
    let (status, hashed) = get(format!("/h/hash?url=http://{files}/clip.mp4")).await;
    assert_eq!(
        (status, hashed),
        (StatusCode::OK, json!({"video_md5": md5}))
    );
    let (status, looked_up) = get(format!(
        "/m/lookup?url=http://{files}/photo.png&signal_type=pdq"
    ))
    .await;
    assert_eq!((status, looked_up), (StatusCode::OK, json!({})));
    let (status, looked_up) = get(format!("/m/lookup?url=http://{files}/photo.png")).await;
    assert_eq!((status, looked_up), (StatusCode::OK, json!({"pdq": {}})));
    let failures = [
        (
            format!("/h/hash?url=http://{files}/page.html"),
            "unsupported url ContentType",
        ),
        (
            format!("/h/hash?url=http://{files}/gone.png"),
            "Failed to fetch URL: HTTP 404",
        ),
        (
            format!("/h/hash?url=http://{files}/inside"),
            "Invalid or unsafe URL provided",
        ),
        (
            "/h/hash?url=gopher://example.org/a".into(),
            "Invalid or unsafe URL provided",
        ),
    ];
    for (uri, message) in failures {
        let (status, error) = get(uri.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {error}");
        assert!(
            error["message"].as_str().unwrap().starts_with(message),
            "{uri}: {error}"
        );
    }
    // A deployment that turns fetching off refuses, saying how else to send the file.
    let off = Fixture::configured(
        None,
        Config {
            hma_fetch: None,
            ..Config::default()
        },
    )
    .await;
    let (status, error) = off
        .call(
            Method::GET,
            &format!("/h/hash?url=http://{files}/photo.png"),
            Role::Platform,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("--no-hma-url-fetch"),
        "{error}"
    );
}

/// A file in the part `video` that is no video: its MD5 (HMA's `video_md5`), never an
/// error, and never a decode.
#[tokio::test]
async fn a_video_part_that_is_no_video_gives_its_md5() {
    let f = Fixture::new().await;
    let bytes = photo(11);
    let md5 = FileDigests::of(&bytes).md5.to_string();
    let (status, hashed) = f
        .upload("/h/hash", Role::Platform, &[("video", &bytes)], &[])
        .await;
    assert_eq!(
        (status, hashed),
        (StatusCode::OK, json!({"video_md5": md5}))
    );
    // A broken MP4 (a container's first bytes, then nothing): its MD5 too.
    let mut broken = vec![0, 0, 0, 0x18];
    broken.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    let md5 = FileDigests::of(&broken).md5.to_string();
    let (status, hashed) = f
        .upload("/h/hash", Role::Platform, &[("video", &broken)], &[])
        .await;
    assert_eq!(
        (status, hashed),
        (StatusCode::OK, json!({"video_md5": md5}))
    );
    let (status, added) = f
        .upload(
            "/c/bank/VIDEOS/content",
            Role::Curator,
            &[("video", &bytes)],
            &[],
        )
        .await;
    // No such bank yet: HMA's 404.
    assert_eq!(status, StatusCode::NOT_FOUND, "{added}");
    f.call(
        Method::POST,
        "/c/banks",
        Role::Curator,
        json!({"name": "VIDEOS"}),
    )
    .await;
    let (status, added) = f
        .upload(
            "/c/bank/VIDEOS/content",
            Role::Curator,
            &[("video", &bytes)],
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(
        added["signals"],
        json!({"video_md5": FileDigests::of(&bytes).md5.to_string()})
    );
}

/// Where HMA's declared models refuse a request: 422 with pydantic's list of failures.
#[tokio::test]
async fn declared_models_refuse_with_422_arrays() {
    let f = Fixture::new().await;
    let cases = [
        (Method::GET, "/h/hash", Value::Null, "query", "url"),
        (
            Method::GET,
            "/m/raw_lookup?signal_type=pdq",
            Value::Null,
            "query",
            "signal",
        ),
        (
            Method::GET,
            "/m/raw_lookup?signal=00",
            Value::Null,
            "query",
            "signal_type",
        ),
        (
            Method::POST,
            "/c/banks",
            json!({"enabled": true}),
            "body",
            "name",
        ),
    ];
    for (method, uri, body, location, field) in cases {
        let role = if method == Method::POST {
            Role::Curator
        } else {
            Role::Platform
        };
        let (status, error) = f.call(method.clone(), uri, role, body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {uri}: {error}"
        );
        let failures = error.as_array().unwrap_or_else(|| panic!("{error}"));
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0]["type"], "missing");
        assert_eq!(failures[0]["loc"], json!([location, field]));
        assert_eq!(failures[0]["msg"], "Field required");
    }
}

/// Fields of the wrong type where HMA's declared models read them: 422 with pydantic's
/// failure; what pydantic's lax mode takes is taken.
#[tokio::test]
async fn declared_models_refuse_wrong_types_with_422_arrays() {
    let f = Fixture::new().await;
    f.call(
        Method::POST,
        "/c/banks",
        Role::Curator,
        json!({"name": "TYPED"}),
    )
    .await;
    f.call(
        Method::POST,
        "/c/exchanges",
        Role::Curator,
        json!({"bank": "TYPED_EXCHANGE", "api": "ncmec",
               "api_json": {"environment": "https://exttest.cybertip.org/hashsharing"}}),
    )
    .await;
    let cases = [
        (
            Method::POST,
            "/c/banks",
            json!({"name": "T2", "enabled": "maybe"}),
            "body",
            "enabled",
            "bool_parsing",
        ),
        (
            Method::POST,
            "/c/banks",
            json!({"name": "T2", "enabled": [true]}),
            "body",
            "enabled",
            "bool_type",
        ),
        (
            Method::POST,
            "/c/banks",
            json!({"name": "T2", "enabled_ratio": "half"}),
            "body",
            "enabled_ratio",
            "float_parsing",
        ),
        (
            Method::PUT,
            "/c/bank/TYPED",
            json!({"enabled_ratio": {"x": 1}}),
            "body",
            "enabled_ratio",
            "float_type",
        ),
        (
            Method::PUT,
            "/c/bank/TYPED",
            json!({"enabled": 2}),
            "body",
            "enabled",
            "bool_parsing",
        ),
        (
            Method::PUT,
            "/c/exchange/TYPED_EXCHANGE",
            json!({"enabled": "sometimes"}),
            "body",
            "enabled",
            "bool_parsing",
        ),
        (
            Method::PUT,
            "/c/exchange/TYPED_EXCHANGE",
            json!({"enabled": {}}),
            "body",
            "enabled",
            "bool_type",
        ),
        (
            Method::GET,
            "/m/raw_lookup?signal_type=pdq&signal=00&include_distance=perhaps",
            Value::Null,
            "query",
            "include_distance",
            "bool_parsing",
        ),
    ];
    for (method, uri, body, location, field, kind) in cases {
        let role = if method == Method::GET {
            Role::Platform
        } else {
            Role::Curator
        };
        let (status, error) = f.call(method.clone(), uri, role, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {uri} {body}: {error}"
        );
        let failures = error.as_array().unwrap_or_else(|| panic!("{error}"));
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0]["type"], kind, "{error}");
        assert_eq!(failures[0]["loc"], json!([location, field]));
    }
    // Lax values are taken: "off" and 0 are false, "0.5" is a half.
    for (uri, body) in [
        ("/c/exchange/TYPED_EXCHANGE", json!({"enabled": "off"})),
        ("/c/bank/TYPED", json!({"enabled": 0})),
        ("/c/bank/TYPED", json!({"enabled_ratio": "0.5"})),
    ] {
        let (status, answer) = f.call(Method::PUT, uri, Role::Curator, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{uri} {body}: {answer}");
    }
    let (_, exchange) = f
        .call(
            Method::GET,
            "/c/exchange/TYPED_EXCHANGE",
            Role::Curator,
            Value::Null,
        )
        .await;
    assert_eq!(exchange["enabled"], false);
    let (_, bank) = f
        .call(Method::GET, "/c/bank/TYPED", Role::Curator, Value::Null)
        .await;
    assert_eq!(bank["matching_enabled_ratio"], 0.5);
    // A ratio of the right type out of range is Ward's refusal (HMA keeps it): 400.
    let (status, _) = f
        .call(
            Method::PUT,
            "/c/bank/TYPED",
            Role::Curator,
            json!({"enabled_ratio": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// `--hma-network-role`: keyless HMA requests from a granted network act as the grant's key
/// (its role, its organisation), are counted, and reach nothing but HMA's routes.
#[tokio::test]
async fn a_granted_network_acts_as_its_key() {
    use super::tests::over_tcp;
    let grant = "127.0.0.0/8=platform@NGO A".parse().unwrap();
    let config = Config {
        network_roles: vec![grant],
        ..Config::default()
    };
    let f = Fixture::configured(None, config).await;
    // Ward's own connection layer gives each request its peer's address.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(super::connections::serve(
        listener,
        super::router(f.state.clone()),
        super::connections::ConnectionLimits::default(),
        64,
        std::sync::Arc::clone(&f.state.connections),
        std::future::pending(),
    ));
    f.call(
        Method::POST,
        "/c/banks",
        Role::Curator,
        json!({"name": "NET_BANK"}),
    )
    .await;
    let id = f
        .call(
            Method::POST,
            "/c/bank/NET_BANK/signal",
            Role::Curator,
            json!({"pdq": PDQ}),
        )
        .await
        .1["id"]
        .as_i64()
        .unwrap();
    let keyless = |method: Method, uri: String| async move {
        let (status, body) = over_tcp(address, &method, &uri, None, b"", "").await;
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    let (status, body) = keyless(
        Method::GET,
        format!("/m/lookup?signal_type=pdq&signal={PDQ}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let found: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        found,
        json!({"NET_BANK": [{"bank_content_id": id, "distance": "0"}]})
    );
    // The grant's role: a platform changes no bank.
    let (status, _) = keyless(Method::DELETE, "/c/bank/NET_BANK".into()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // HMA's routes only.
    let (status, _) = keyless(
        Method::GET,
        format!("/v1/match?signal_type=pdq&signal={PDQ}"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Counted, and attributed to the grant's key in the audit log.
    let (_, metrics) = keyless(Method::GET, "/metrics".into()).await;
    assert!(
        metrics.contains("ward_network_role_requests_total 2"),
        "{metrics}"
    );
    let keys = f.state.store.keys().await.unwrap();
    let key = keys
        .iter()
        .find(|k| k.label == "network 127.0.0.0/8")
        .unwrap();
    assert_eq!(key.role, Role::Platform);
    // A request with a key is the key's, wherever it comes from.
    let (status, _) = over_tcp(
        address,
        &Method::DELETE,
        "/c/bank/NET_BANK",
        Some(f.key(Role::Curator)),
        b"",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Without the grant (the router alone has no peer), keyless is refused.
    let (status, _) = f
        .json(
            Method::GET,
            &format!("/m/lookup?signal_type=pdq&signal={PDQ}"),
            None,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
