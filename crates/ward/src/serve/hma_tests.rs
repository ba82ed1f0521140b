//! The HMA-compatible routes, over TCP to a real listening server as HMA's clients send
//! them: the request sequences of HMA's own API docs and tests with the answers HMA gives (exact JSON where HMA's is deterministic),
//! Ward's bank rules under HMA's lookups, errors in HMA's shape, and uploads.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use ward_core::pdq::{self, Pipeline, Quality};
use ward_store::Role;

use super::tests::Fixture;

/// `PdqSignal.get_examples()` of python-threatexchange, which HMA's end-to-end test banks:
/// twelve variants of one photo, two other photos, two logos.
const PDQ_EXAMPLES: [&str; 16] = [
    "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22",
    "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22",
    "f8f8f0cee0f4a84f06370a2a068f67f0b36e26d596621e1d33e6339c4e9c9b22",
    "f8f8f0cee0f4a84f06370a22038f67f0b36e2ed596221e1d33e6b39c4e9c9b22",
    "f8f8f0cee0f4a84f0e370a22038f67f0b36e2ed596221e1d33e6b39c4a9c9b22",
    "d8f8f0cec0f4a84f8e370a22038f67f0b36a2ed597231e1d72e6b39c4a9c9b22",
    "f8f8f0cee0f4a84f06370a22038f67f0b36e2ed596621e1d33e6339c4e9c9b22",
    "d0f8f1ccc0f4a84d0a370a3a228f67f0b36e2ed5b6623e1d33e6339c4e9c9b22",
    "d8f8f1eec0f4a84f0e37022a078f63f0b36e2ed596621e1d33e6239c4e9c9b22",
    "d8f8f0cec4f4a84f0637022a078f67f0b36e2ee5b6621e1d33e6239c4e9c9b22",
    "d8f8f0cec0f4a84f0637022a278f67f0b36e2ed596621e1d33e6339c4e9c9b22",
    "e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064",
    "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d",
    "c186f9619659658c4b6916daf934496985f4259c72c39676ab9edb631c3c349c",
    "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c",
];
/// The two hashes of HMA's `test_compare_hashes`, 9 bits apart.
const SPECIMEN_1: &str = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318";
const SPECIMEN_2: &str = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318";
/// `VideoMD5Signal.get_examples()[1]`: the MD5 of nothing.
const VIDEO_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// A benign synthetic photo with enough detail for a PDQ quality of at least 50.
fn photo() -> Vec<u8> {
    let image = image::RgbImage::from_fn(128, 96, |x, y| {
        let v = ((x / 8 + y / 8) % 2) as u8 * 160 + ((x * 3 + y * 7) % 64) as u8;
        image::Rgb([v, (x * 2) as u8, (y * 2) as u8])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// A benign uniform grey picture: too little detail for a PDQ quality of 50.
fn flat_photo() -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |_, _| image::Rgb([90, 90, 90]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// Ward's PDQ hash and quality of a picture.
fn pdq_of(bytes: &[u8]) -> (String, Quality) {
    let picture = ward_core::decode::decode(bytes, &Default::default()).unwrap();
    let signal = pdq::hash(&picture, Pipeline::Full);
    (signal.hash.to_string(), signal.quality)
}

/// One part of a multipart upload: its name and the file's bytes.
type Part<'a> = (&'a str, &'a [u8]);

/// A multipart body with one part per `(part name, bytes)`, each a file as `curl --form
/// photo=@file` sends it.
fn form(parts: &[Part]) -> (Body, String) {
    let boundary = "hmatestboundary";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"upload.png\"\r\nContent-Type: application/octet-stream\r\n\r\n"
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
    /// A request with a JSON body (or none for `Value::Null`) as `role`.
    async fn hma(&self, method: Method, uri: &str, role: Role, body: Value) -> (StatusCode, Value) {
        self.json(method, uri, Some(self.key(role)), body).await
    }

    /// A multipart upload as `role`.
    async fn hma_upload(&self, uri: &str, role: Role, parts: &[Part<'_>]) -> (StatusCode, Value) {
        let (body, content_type) = form(parts);
        self.send(Method::POST, uri, Some(self.key(role)), body, &content_type)
            .await
    }

    /// HMA's `create_bank` test helper: 201 and exactly HMA's answer.
    async fn hma_bank(&self, name: &str) {
        let (status, bank) = self
            .hma(
                Method::POST,
                "/c/banks",
                Role::Curator,
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bank}");
        assert_eq!(bank, json!({"matching_enabled_ratio": 1.0, "name": name}));
    }

    /// Banks one signal through `/c/bank/{name}/signal`; returns the content id.
    async fn hma_signal(&self, bank: &str, signal_type: &str, signal: &str) -> i64 {
        let (status, added) = self
            .hma(
                Method::POST,
                &format!("/c/bank/{bank}/signal"),
                Role::Curator,
                json!({ signal_type: signal }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{added}");
        let id = added["id"].as_i64().unwrap();
        assert_eq!(added, json!({"id": id, "signals": { signal_type: signal }}));
        id
    }

    /// `GET` as a platform, after the index has caught up; expects 200.
    async fn hma_get(&self, uri: &str) -> Value {
        self.follow().await;
        let (status, body) = self
            .hma(Method::GET, uri, Role::Platform, Value::Null)
            .await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        body
    }
}

/// HMA's `test_banks_create`, `test_banks_update` and `test_banks_delete`, with one
/// difference: a fractional enabled ratio reads back as 1.0 (Ward's banks are enabled or not).
#[tokio::test]
async fn banks_are_created_updated_and_deleted_as_in_hma() {
    let f = Fixture::listening().await;
    let (status, banks) = f
        .hma(Method::GET, "/c/banks", Role::Curator, Value::Null)
        .await;
    assert_eq!((status, banks), (StatusCode::OK, json!([])));

    // Names must not start with a digit nor hold lower case.
    for name in ["01_TEST_BANK", "my_test_bank", "", "BANK-1"] {
        let (status, error) = f
            .hma(
                Method::POST,
                "/c/banks",
                Role::Curator,
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}: {error}");
        assert_eq!(
            error,
            json!({"message": "Bank names must be UPPER_WITH_UNDERSCORE"})
        );
    }
    f.hma_bank("MY_TEST_BANK_01").await;
    let (_, banks) = f
        .hma(Method::GET, "/c/banks", Role::Platform, Value::Null)
        .await;
    assert_eq!(
        banks,
        json!([{"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"}])
    );
    let (status, error) = f
        .hma(
            Method::POST,
            "/c/banks",
            Role::Curator,
            json!({"name": "MY_TEST_BANK_01"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error, json!({"message": "Bank already exists"}));
    let (status, bank) = f
        .hma(
            Method::POST,
            "/c/banks",
            Role::Curator,
            json!({"name": "OFF_BANK", "enabled_ratio": 0.0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(bank["matching_enabled_ratio"], json!(0.0));

    let update = |body: Value| f.hma(Method::PUT, "/c/bank/MY_TEST_BANK_01", Role::Curator, body);
    let (status, _) = update(json!({"name": "1_invalid_name"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, bank) = update(json!({"name": "MY_TEST_BANK_RENAMED"})).await;
    assert_eq!(status, StatusCode::OK, "{bank}");
    assert_eq!(bank["name"], "MY_TEST_BANK_RENAMED");
    let renamed = |body: Value| {
        f.hma(
            Method::PUT,
            "/c/bank/MY_TEST_BANK_RENAMED",
            Role::Curator,
            body,
        )
    };
    let (status, bank) = renamed(json!({"enabled": false})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bank["matching_enabled_ratio"], json!(0.0));
    let (status, bank) = renamed(json!({"enabled_ratio": 0.5})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bank["matching_enabled_ratio"], json!(0.5));
    // A ratio is from 0 to 1 (HMA stores any number); one that is not a number is refused
    // by HMA's model (422).
    for bad in [json!(1.5), json!(-0.1)] {
        let (status, error) = renamed(json!({ "enabled_ratio": bad })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
    }
    let (status, error) = renamed(json!({ "enabled_ratio": "x" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, error) = renamed(json!({"name": "OFF_BANK"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error, json!({"message": "Bank name already exists"}));
    let (status, bank) = f
        .hma(
            Method::GET,
            "/c/bank/MY_TEST_BANK_RENAMED",
            Role::Analyst,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        bank,
        json!({"name": "MY_TEST_BANK_RENAMED", "matching_enabled_ratio": 0.5})
    );

    // Deleting succeeds, and deleting again (a bank that does not exist) too.
    for _ in 0..2 {
        let (status, done) = f
            .hma(
                Method::DELETE,
                "/c/bank/MY_TEST_BANK_RENAMED",
                Role::Curator,
                Value::Null,
            )
            .await;
        assert_eq!((status, done), (StatusCode::OK, json!({"message": "Done"})));
    }
    let (_, banks) = f
        .hma(Method::GET, "/c/banks", Role::Curator, Value::Null)
        .await;
    assert_eq!(
        banks,
        json!([{"matching_enabled_ratio": 0.0, "name": "OFF_BANK"}])
    );
}

/// HMA's end-to-end workflow (`test_e2e_workflow.py`) and its API docs: the sixteen PDQ
/// examples banked one by one through `/c/bank/TEST_BANK/signal`, then looked up, raw and
/// with distances. HMA answers content 16 for the last example, at distance "0".
#[tokio::test]
async fn signals_banked_then_looked_up_as_in_hma_e2e() {
    let f = Fixture::listening().await;
    f.hma_bank("TEST_BANK").await;
    let mut ids = Vec::new();
    for pdq in PDQ_EXAMPLES {
        ids.push(f.hma_signal("TEST_BANK", "pdq", pdq).await);
    }
    let last = ids[15];

    let found = f
        .hma_get(&format!(
            "/m/lookup?signal_type=pdq&signal={}",
            PDQ_EXAMPLES[15]
        ))
        .await;
    assert_eq!(
        found,
        json!({"TEST_BANK": [{"bank_content_id": last, "distance": "0"}]})
    );
    let none = f
        .hma_get(&format!(
            "/m/lookup?signal_type=pdq&signal={}",
            "5".repeat(64)
        ))
        .await;
    assert_eq!(none, json!({}));

    let raw = f
        .hma_get(&format!(
            "/m/raw_lookup?signal_type=pdq&signal={}",
            PDQ_EXAMPLES[15]
        ))
        .await;
    assert_eq!(raw, json!({"matches": [last]}));
    let raw = f
        .hma_get(&format!(
            "/m/raw_lookup?signal_type=pdq&include_distance=true&signal={}",
            PDQ_EXAMPLES[15]
        ))
        .await;
    assert_eq!(
        raw,
        json!({"matches": [{"bank_content_id": last, "distance": "0"}]})
    );

    // The first example finds its variants within 31 bits, each with its distance, by id.
    let query: ward_core::pdq::PdqHash = PDQ_EXAMPLES[0].parse().unwrap();
    let expected: Vec<Value> = PDQ_EXAMPLES
        .iter()
        .zip(&ids)
        .filter_map(|(pdq, id)| {
            let distance = query.distance(&pdq.parse().unwrap());
            (distance <= 31)
                .then(|| json!({"bank_content_id": id, "distance": distance.to_string()}))
        })
        .collect();
    assert!(expected.len() >= 12, "{expected:?}");
    let found = f
        .hma_get(&format!(
            "/m/lookup?signal_type=pdq&signal={}",
            PDQ_EXAMPLES[0]
        ))
        .await;
    assert_eq!(found, json!({ "TEST_BANK": expected }));

    // A video MD5 banked and found; exact-match types print HMA's "-" for the distance.
    let md5 = f.hma_signal("TEST_BANK", "video_md5", VIDEO_MD5).await;
    let found = f
        .hma_get(&format!(
            "/m/lookup?signal_type=video_md5&signal={VIDEO_MD5}"
        ))
        .await;
    assert_eq!(
        found,
        json!({"TEST_BANK": [{"bank_content_id": md5, "distance": "-"}]})
    );
}

/// HMA's `test_raw_lookup_with_bank_filter` and `test_lookup_with_bank_filter`: the same
/// hash in three banks, restricted with `banks=`.
#[tokio::test]
async fn lookups_restricted_to_banks_as_in_hma() {
    let f = Fixture::listening().await;
    for bank in ["BANK_A", "BANK_B", "BANK_C"] {
        f.hma_bank(bank).await;
        f.hma_signal(bank, "pdq", PDQ_EXAMPLES[0]).await;
    }
    let query = format!("signal_type=pdq&signal={}", PDQ_EXAMPLES[0]);
    for (banks, expected) in [
        ("", vec!["BANK_A", "BANK_B", "BANK_C"]),
        ("&banks=BANK_A", vec!["BANK_A"]),
        ("&banks=BANK_A,BANK_C", vec!["BANK_A", "BANK_C"]),
        ("&banks=NON_EXISTENT_BANK", vec![]),
    ] {
        let raw = f.hma_get(&format!("/m/raw_lookup?{query}{banks}")).await;
        assert_eq!(
            raw["matches"].as_array().unwrap().len(),
            expected.len(),
            "{banks}"
        );
        let with_distance = f
            .hma_get(&format!("/m/raw_lookup?{query}{banks}&include_distance=1"))
            .await;
        for found in with_distance["matches"].as_array().unwrap() {
            assert_eq!(found["distance"], "0", "{found}");
            assert!(found["bank_content_id"].is_i64(), "{found}");
        }
        let found = f.hma_get(&format!("/m/lookup?{query}{banks}")).await;
        let mut names: Vec<&str> = found
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        assert_eq!(names, expected, "{banks}");
    }
}

/// HMA's `test_compare_hashes`: the happy path exactly, and every malformed input a 400.
#[tokio::test]
async fn compare_as_in_hma() {
    let f = Fixture::listening().await;
    let compare = |body: Value| f.hma(Method::POST, "/m/compare", Role::Platform, body);
    let (status, result) = compare(json!({"pdq": [SPECIMEN_1, SPECIMEN_2]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result, json!({"pdq": [true, {"distance": 9}]}));
    let (_, result) = compare(json!({"pdq": [SPECIMEN_1, "5".repeat(64)]})).await;
    assert_eq!(result["pdq"][0], false, "{result}");
    let (_, result) = compare(json!({"video_md5": [VIDEO_MD5, VIDEO_MD5.to_uppercase()]})).await;
    assert_eq!(result, json!({"video_md5": [true, {}]}));

    for (bad, message) in [
        (json!(["banana"]), "Request input was not a dict"),
        (
            json!({"pdq": "banana"}),
            "Comparison hashes for pdq was not a list",
        ),
        (
            json!({"pdq": []}),
            "Comparison hash list length must be exactly 2",
        ),
        (json!({"pdq": ["banana", "banana"]}), "Invalid pdq hash: "),
        (
            json!({"pdq": [SPECIMEN_1, SPECIMEN_2, SPECIMEN_1]}),
            "Comparison hash list length must be exactly 2",
        ),
        (
            json!({"tmk": [SPECIMEN_1, SPECIMEN_2]}),
            "No such SignalType 'tmk'",
        ),
    ] {
        let (status, error) = compare(bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let text = error["message"].as_str().unwrap();
        assert!(text.starts_with(message), "{bad}: {error}");
    }
}

/// Ward's bank rules hold under HMA's lookups as under `/v1/match`: a disabled bank, a
/// private bank of another organisation, a bank's own distance, and a negative bank.
#[tokio::test]
async fn hma_lookups_follow_ward_bank_rules() {
    let f = Fixture::listening().await;
    f.hma_bank("RULES").await;
    let content = f.hma_signal("RULES", "pdq", SPECIMEN_1).await;
    let lookup = |signal: &str| format!("/m/lookup?signal_type=pdq&signal={signal}");
    let expected = json!({"RULES": [{"bank_content_id": content, "distance": "9"}]});
    assert_eq!(f.hma_get(&lookup(SPECIMEN_2)).await, expected);

    // HMA's enabled flag (a ratio of 0): no match in lookups; raw lookups ignore ratios,
    // as HMA's do.
    f.hma(
        Method::PUT,
        "/c/bank/RULES",
        Role::Curator,
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(f.hma_get(&lookup(SPECIMEN_2)).await, json!({}));
    let raw = format!("/m/raw_lookup?signal_type=pdq&signal={SPECIMEN_2}");
    assert_eq!(f.hma_get(&raw).await, json!({"matches": [content]}));
    f.hma(
        Method::PUT,
        "/c/bank/RULES",
        Role::Curator,
        json!({"enabled_ratio": 1}),
    )
    .await;
    assert_eq!(f.hma_get(&lookup(SPECIMEN_2)).await, expected);

    // Another organisation neither sees the private bank nor matches against it.
    let other = Some(f.other_curator.as_str());
    f.follow().await;
    let (status, found) = f
        .json(Method::GET, &lookup(SPECIMEN_2), other, Value::Null)
        .await;
    assert_eq!((status, found), (StatusCode::OK, json!({})));
    let (status, error) = f
        .json(Method::GET, "/c/bank/RULES", other, Value::Null)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error, json!({"message": "bank 'RULES' not found"}));
    let (_, banks) = f.json(Method::GET, "/c/banks", other, Value::Null).await;
    assert_eq!(banks, json!([]));

    // A bank's own distance: 5 bits admit the exact hash, not one 9 bits away.
    f.bank("STRICT", json!({"distance": 5})).await;
    let near = f.hma_signal("STRICT", "pdq", SPECIMEN_1).await;
    let found = f.hma_get(&lookup(SPECIMEN_1)).await;
    assert_eq!(
        found,
        json!({
            "RULES": [{"bank_content_id": content, "distance": "0"}],
            "STRICT": [{"bank_content_id": near, "distance": "0"}],
        })
    );
    assert_eq!(f.hma_get(&lookup(SPECIMEN_2)).await, expected);

    // A negative bank holding the hash: its matches are suppressed, and it is not reported.
    f.bank("KNOWN_FALSE_POSITIVES", json!({"kind": "negative"}))
        .await;
    f.hma_signal("KNOWN_FALSE_POSITIVES", "pdq", SPECIMEN_2)
        .await;
    assert_eq!(f.hma_get(&lookup(SPECIMEN_2)).await, json!({}));
}

/// Uploads, as HMA's POST forms take them: one file in a part named `photo` (or `video`).
#[tokio::test]
async fn uploads_hash_bank_and_look_up_as_in_hma() {
    let f = Fixture::listening().await;
    let photo = photo();
    let (pdq, quality) = pdq_of(&photo);
    assert!(quality >= Quality::MATCHABLE, "quality {}", quality.get());

    let (status, hashed) = f
        .hma_upload("/h/hash", Role::Platform, &[("photo", &photo)])
        .await;
    assert_eq!(status, StatusCode::OK, "{hashed}");
    assert_eq!(hashed, json!({"pdq": pdq}));
    let (status, hashed) = f
        .hma_upload("/h/hash?types=pdq", Role::Analyst, &[("photo", &photo)])
        .await;
    assert_eq!((status, hashed), (StatusCode::OK, json!({"pdq": pdq})));

    f.hma_bank("UPLOADS").await;
    let (status, added) = f
        .hma_upload(
            "/c/bank/UPLOADS/content",
            Role::Curator,
            &[("photo", &photo)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let id = added["id"].as_i64().unwrap();
    assert_eq!(added, json!({"id": id, "signals": {"pdq": pdq}}));

    f.follow().await;
    let (status, found) = f
        .hma_upload("/m/lookup", Role::Platform, &[("photo", &photo)])
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found,
        json!({"pdq": {"UPLOADS": [{"bank_content_id": id, "distance": "0"}]}})
    );
    let (_, found) = f
        .hma_upload(
            "/m/lookup?banks=ELSEWHERE",
            Role::Platform,
            &[("photo", &photo)],
        )
        .await;
    assert_eq!(found, json!({"pdq": {}}));

    // A photo with too little detail: HMA's empty PDQ hash, not matched, not banked.
    let flat = flat_photo();
    let (_, flat_quality) = pdq_of(&flat);
    assert!(flat_quality < Quality::MATCHABLE);
    let (_, hashed) = f
        .hma_upload("/h/hash", Role::Platform, &[("photo", &flat)])
        .await;
    assert_eq!(hashed, json!({"pdq": ""}));
    let (_, found) = f
        .hma_upload("/m/lookup", Role::Platform, &[("photo", &flat)])
        .await;
    assert_eq!(found, json!({"pdq": {}}));
    let (status, error) = f
        .hma_upload(
            "/c/bank/UPLOADS/content",
            Role::Curator,
            &[("photo", &flat)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid pdq signal: "),
        "{error}"
    );

    // Malformed uploads, with HMA's messages.
    let cases: Vec<(&str, Vec<Part>, &str)> = vec![
        (
            "/h/hash",
            vec![("file", &photo)],
            "no such content_type: 'file'",
        ),
        (
            "/h/hash",
            vec![("photo", &photo), ("photo", &photo)],
            "Only one file allowed per request",
        ),
        ("/h/hash", vec![], "Missing multipart/form-data file upload"),
        (
            "/h/hash?types=video_md5",
            vec![("photo", &photo)],
            "signal type 'video_md5' doesn't exist or is disabled",
        ),
        (
            "/h/hash?types=,",
            vec![("photo", &photo)],
            "empty signal type selection",
        ),
    ];
    for (uri, parts, message) in cases {
        let (status, error) = f.hma_upload(uri, Role::Platform, &parts).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {error}");
        assert!(
            error["message"].as_str().unwrap().starts_with(message),
            "{uri}: {error}"
        );
    }
    let (status, error) = f
        .hma(
            Method::POST,
            "/h/hash",
            Role::Platform,
            json!({"photo": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error,
        json!({"message": "Missing multipart/form-data file upload"})
    );
    let (status, error) = f
        .hma(
            Method::POST,
            "/c/bank/UPLOADS/content",
            Role::Curator,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error,
        json!({"message": "Neither `url` nor multipart file upload was received"})
    );
}

/// Errors in HMA's shape: unknown bank 404, bad signal 400, missing parameters 400, URLs
/// refused with a pointer to uploads, no key 401, wrong role 403; `/status` is public.
#[tokio::test]
async fn hma_errors() {
    let f = Fixture::listening().await;
    f.hma_bank("ERRORS").await;
    let message = |body: &Value| body["message"].as_str().unwrap_or_default().to_string();

    // Unknown bank.
    for (method, uri, body) in [
        (Method::GET, "/c/bank/NOPE", Value::Null),
        (
            Method::POST,
            "/c/bank/NOPE/signal",
            json!({"pdq": PDQ_EXAMPLES[0]}),
        ),
    ] {
        let (status, error) = f.hma(method, uri, Role::Curator, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(error, json!({"message": "bank 'NOPE' not found"}));
    }
    let (status, error) = f
        .hma(
            Method::PUT,
            "/c/bank/NOPE",
            Role::Curator,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(
        (status, error),
        (StatusCode::NOT_FOUND, json!({"message": "Bank not found"}))
    );

    // Bad signals and types.
    let bad: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/c/bank/ERRORS/signal".into(),
            json!({"pdq": "banana"}),
            "Invalid pdq signal: ",
        ),
        (
            Method::POST,
            "/c/bank/ERRORS/signal".into(),
            json!({"tmk": "banana"}),
            "No such signal type tmk",
        ),
        (
            Method::POST,
            "/c/bank/ERRORS/signal".into(),
            json!({}),
            "No signals given",
        ),
        (
            Method::POST,
            "/c/bank/ERRORS/signal".into(),
            json!(["pdq"]),
            "this endpoint expects a json object payload",
        ),
        (
            Method::GET,
            "/m/lookup?signal_type=pdq&signal=xyz".into(),
            Value::Null,
            "invalid signal: ",
        ),
        (
            Method::GET,
            format!("/m/raw_lookup?signal_type=tmk&signal={}", PDQ_EXAMPLES[0]),
            Value::Null,
            "No such SignalType 'tmk'",
        ),
        // Missing parameters (that no declared model requires: HMA's own 400).
        (
            Method::GET,
            "/m/lookup?signal_type=pdq".into(),
            Value::Null,
            "Either url or both signal and signal_type are required",
        ),
        // URLs that reach inside the network, or are no web URL, are refused unfetched.
        (
            Method::GET,
            "/h/hash?url=http://127.0.0.1:9/a.jpg".into(),
            Value::Null,
            "Invalid or unsafe URL provided",
        ),
        (
            Method::GET,
            "/m/lookup?url=http://[::1]/a.jpg".into(),
            Value::Null,
            "Invalid or unsafe URL provided",
        ),
        (
            Method::POST,
            "/c/bank/ERRORS/content?url=http://10.0.0.1/a.jpg&content_type=photo".into(),
            Value::Null,
            "Invalid or unsafe URL provided",
        ),
        (
            Method::GET,
            "/h/hash?url=file:///etc/passwd".into(),
            Value::Null,
            "Invalid or unsafe URL provided",
        ),
        (
            Method::GET,
            "/h/hash?url=http://169.254.169.254/latest/meta-data&content_type=photo".into(),
            Value::Null,
            "Invalid or unsafe URL provided",
        ),
        (
            Method::GET,
            "/h/hash?url=http://127.0.0.1:9/a.jpg&content_type=film".into(),
            Value::Null,
            "no such content_type: 'film'",
        ),
    ];
    for (method, uri, body, expected) in bad {
        let role = if method == Method::GET {
            Role::Platform
        } else {
            Role::Curator
        };
        let (status, error) = f.hma(method.clone(), &uri, role, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {uri}: {error}");
        assert!(
            message(&error).starts_with(expected),
            "{method} {uri}: {error}"
        );
    }

    // No key, or a wrong one: 401 in HMA's shape, on every authenticated route.
    let routes = [
        (Method::GET, "/h/hash?url=x"),
        (Method::POST, "/h/hash"),
        (Method::GET, "/m/lookup?signal_type=pdq&signal=x"),
        (Method::POST, "/m/lookup"),
        (Method::GET, "/m/raw_lookup?signal_type=pdq&signal=x"),
        (Method::POST, "/m/compare"),
        (Method::GET, "/c/banks"),
        (Method::POST, "/c/banks"),
        (Method::GET, "/c/bank/ERRORS"),
        (Method::PUT, "/c/bank/ERRORS"),
        (Method::DELETE, "/c/bank/ERRORS"),
        (Method::POST, "/c/bank/ERRORS/content"),
        (Method::POST, "/c/bank/ERRORS/signal"),
    ];
    for (method, uri) in &routes {
        for key in [None, Some("ward_not_a_key")] {
            let (status, error) = f.json(method.clone(), uri, key, Value::Null).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
            assert!(
                message(&error).contains("API key"),
                "{method} {uri}: {error}"
            );
        }
    }

    // Wrong roles: 403 before anything else is looked at.
    let forbidden = [
        (
            Role::Auditor,
            Method::GET,
            "/m/lookup?signal_type=pdq&signal=x".to_string(),
        ),
        (Role::Auditor, Method::POST, "/m/compare".into()),
        (Role::Auditor, Method::GET, "/h/hash?url=x".into()),
        (Role::Platform, Method::POST, "/c/banks".into()),
        (Role::Analyst, Method::POST, "/c/bank/ERRORS/signal".into()),
        (Role::Platform, Method::PUT, "/c/bank/ERRORS".into()),
        (Role::Analyst, Method::DELETE, "/c/bank/ERRORS".into()),
        (
            Role::Platform,
            Method::POST,
            "/c/bank/ERRORS/content".into(),
        ),
    ];
    for (role, method, uri) in forbidden {
        let (status, error) = f
            .hma(method.clone(), &uri, role, json!({"pdq": PDQ_EXAMPLES[0]}))
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{role} {method} {uri}: {error}"
        );
        assert!(!message(&error).is_empty(), "{error}");
    }
    // Another organisation's curator sees no private bank to change.
    let other = Some(f.other_curator.as_str());
    let (status, _) = f
        .json(
            Method::POST,
            "/c/bank/ERRORS/signal",
            other,
            json!({"pdq": PDQ_EXAMPLES[0]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // `/status` and `/status/live` need no key and answer as HMA does.
    for uri in ["/status", "/status/live"] {
        let (status, body) = f.json(Method::GET, uri, None, Value::Null).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!("I-AM-ALIVE")),
            "{uri}"
        );
    }
    let (status, types) = f
        .hma(Method::GET, "/c/content_type", Role::Platform, Value::Null)
        .await;
    assert_eq!(
        (status, types),
        (
            StatusCode::OK,
            json!([{"name": "photo", "enabled": true}, {"name": "video", "enabled": true}])
        )
    );
}

/// HMA's exchange set-up and status routes, as its UI and clients call them, and a fetch of
/// a fake NCMEC API whose entries the lookup then finds.
#[tokio::test]
async fn exchanges_are_set_up_fetched_and_watched_as_in_hma() {
    use crate::exchanges::tests::{day_of_entries, fake_ncmec, pdq_of};
    use ward_store::Store as _;
    let f = Fixture::listening().await;
    let (_fake, base_url) = fake_ncmec(day_of_entries(), 10).await;

    let (status, apis) = curator(&f, Method::GET, "/c/exchanges/apis", Value::Null).await;
    assert_eq!(
        (status, apis),
        (
            StatusCode::OK,
            json!(["ncmec", "stop_ncii", "fb_threatexchange", "file", "ward"])
        )
    );
    let (status, error) = curator(&f, Method::GET, "/c/exchanges/api/nope", Value::Null).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, json!({"message": "no such Exchange API 'nope'"}));
    let (status, error) =
        curator(&f, Method::GET, "/c/exchanges/api/nope/schema", Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error, json!({"message": "Exchange API 'nope' not found"}));
    let (_, schema) = curator(
        &f,
        Method::GET,
        "/c/exchanges/api/ncmec/schema",
        Value::Null,
    )
    .await;
    let fields = |part: &str| -> Vec<String> {
        schema[part]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        fields("config_schema"),
        ["environment", "only_esp_ids", "base_url"]
    );
    assert_eq!(fields("credentials_schema"), ["user", "password"]);

    // Credentials: not set, set (never answered), refused when they are not NCMEC's.
    let unset = json!({"supports_authentification": true, "has_set_authentification": false});
    let set = json!({"supports_authentification": true, "has_set_authentification": true});
    let (_, state) = curator(&f, Method::GET, "/c/exchanges/api/ncmec", Value::Null).await;
    assert_eq!(state, unset);
    let (status, error) = curator(
        &f,
        Method::POST,
        "/c/exchanges/api/ncmec",
        json!({"credential_json": {"api_token": "x"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (status, answer) = curator(
        &f,
        Method::POST,
        "/c/exchanges/api/ncmec",
        json!({"credential_json": {"user": "user", "password": "secret"}}),
    )
    .await;
    assert_eq!((status, &answer), (StatusCode::OK, &set));
    assert!(!answer.to_string().contains("secret"));
    let (_, kept) = curator(&f, Method::POST, "/c/exchanges/api/ncmec", json!({})).await;
    assert_eq!(kept, set, "absent leaves them");

    // Creating: HMA's errors, then the exchange and its bank.
    let environment = "https://exttest.cybertip.org/hashsharing";
    for (body, message) in [
        (json!({"api": "ncmec"}), "bank is required"),
        (
            json!({"bank": "bad-name", "api": "ncmec"}),
            "Field `bank` must match /^[A-Z0-9_]+$/",
        ),
        (
            json!({"bank": "NCMEC_X", "api": "ncmec", "api_json": [1]}),
            "Field `api_json` must be object",
        ),
        (json!({"bank": "NCMEC_X"}), "Field `api_type` is required"),
        (
            json!({"bank": "NCMEC_X", "api": "sample"}),
            "No such exchange type 'sample'",
        ),
    ] {
        let (status, error) = curator(&f, Method::POST, "/c/exchanges", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error, json!({"message": message}), "{body}");
    }
    let (status, error) = curator(
        &f,
        Method::POST,
        "/c/exchanges",
        json!({"bank": "NCMEC_X", "api": "ncmec", "api_json": {"nope": 1}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed to parse `api_json` - ")
    );
    let create = json!({"bank": "NCMEC_TEST", "api": "ncmec",
        "api_json": {"environment": environment, "base_url": base_url}});
    let (status, created) = curator(&f, Method::POST, "/c/exchanges", create.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created, json!({"message": "Created successfully"}));
    let (status, _) = curator(&f, Method::POST, "/c/exchanges", create).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, names) = curator(&f, Method::GET, "/c/exchanges", Value::Null).await;
    assert_eq!(names, json!(["NCMEC_TEST"]));
    let (_, banks) = curator(&f, Method::GET, "/c/banks", Value::Null).await;
    assert!(
        banks.to_string().contains("NCMEC_TEST"),
        "its bank: {banks}"
    );
    let (_, config) = curator(&f, Method::GET, "/c/exchange/NCMEC_TEST", Value::Null).await;
    assert_eq!(
        config,
        json!({"name": "NCMEC_TEST", "api": "ncmec", "enabled": true,
            "environment": environment, "only_esp_ids": [], "base_url": base_url})
    );
    let (_, status_before) = curator(
        &f,
        Method::GET,
        "/c/exchange/NCMEC_TEST/status",
        Value::Null,
    )
    .await;
    assert_eq!(
        status_before,
        json!({"checkpoint_ts": null, "running_fetch_start_ts": null,
            "last_fetch_complete_ts": null, "last_fetch_succeeded": null, "up_to_date": false,
            "fetched_items": 0, "last_error": null, "failures": 0})
    );
    let (status, error) = curator(&f, Method::GET, "/c/exchange/NOPE", Value::Null).await;
    assert_eq!(
        (status, error),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "Exchange 'NOPE' not found"})
        )
    );

    // A fetch (as the node's scheduler makes it), then its status and the entries matched.
    let exchange = f.state.store.exchanges().await.unwrap().remove(0);
    let key = f.state.config.secrets.as_ref().unwrap();
    let credentials = crate::exchanges::open_credentials(&f.state.store, key, &exchange)
        .await
        .unwrap();
    let now = ward_store::Timestamp::now();
    let lease = f
        .state
        .store
        .claim_exchange(
            exchange.id,
            "test",
            now,
            ward_store::Timestamp(now.0 + 60_000),
        )
        .await
        .unwrap()
        .unwrap();
    let http = crate::exchanges::Http::new().unwrap();
    let report = crate::exchanges::fetch(
        &f.state.store,
        &http,
        &exchange,
        lease,
        credentials,
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(report.added, 25);
    let (_, fetched) = curator(
        &f,
        Method::GET,
        "/c/exchange/NCMEC_TEST/status",
        Value::Null,
    )
    .await;
    assert_eq!(fetched["fetched_items"], 25, "{fetched}");
    assert_eq!(fetched["last_fetch_succeeded"], true);
    assert_eq!(fetched["up_to_date"], true);
    assert!(fetched["checkpoint_ts"].as_i64().unwrap() > 1_700_000_000);
    let found = f
        .hma_get(&format!("/m/lookup?signal_type=pdq&signal={}", pdq_of(1)))
        .await;
    assert_eq!(found["NCMEC_TEST"][0]["distance"], "0", "{found}");

    // Turned off, then deleted with its bank; a second delete is answered alike.
    let (status, off) = curator(
        &f,
        Method::PUT,
        "/c/exchange/NCMEC_TEST",
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(off["enabled"], false);
    for _ in 0..2 {
        let (status, gone) =
            curator(&f, Method::DELETE, "/c/exchange/NCMEC_TEST", Value::Null).await;
        assert_eq!(
            (status, gone),
            (StatusCode::OK, json!({"message": "Exchange deleted"}))
        );
    }
    let (_, names) = curator(&f, Method::GET, "/c/exchanges", Value::Null).await;
    assert_eq!(names, json!([]));
    let (status, _) = curator(&f, Method::GET, "/c/bank/NCMEC_TEST", Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A request as organisation A's curator.
/// StopNCII's and ThreatExchange's exchanges through HMA's routes: their schemas (HMA's
/// fields, then Ward's), their credentials checked as their own, their settings checked
/// and shown as HMA shows them.
#[tokio::test]
async fn stopncii_and_threatexchange_are_set_up_as_in_hma() {
    let f = Fixture::listening().await;
    let names = |schema: &Value, part: &str| -> Vec<String> {
        schema[part]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, schema) = curator(
        &f,
        Method::GET,
        "/c/exchanges/api/stop_ncii/schema",
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&schema, "config_schema"), ["base_url", "page_size"]);
    assert_eq!(
        names(&schema, "credentials_schema"),
        [
            "fetch_function_key",
            "subscription_key",
            "base_url_override"
        ]
    );
    let required: Vec<bool> = schema["credentials_schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["required"].as_bool().unwrap())
        .collect();
    assert_eq!(required, [true, true, false]);
    assert_eq!(
        schema["credentials_schema"]["fields"][2]["default"],
        Value::Null
    );
    let (_, schema) = curator(
        &f,
        Method::GET,
        "/c/exchanges/api/fb_threatexchange/schema",
        Value::Null,
    )
    .await;
    assert_eq!(
        names(&schema, "config_schema"),
        ["privacy_group", "base_url", "page_size"]
    );
    assert_eq!(schema["config_schema"]["fields"][0]["type"], "number");
    assert_eq!(schema["config_schema"]["fields"][0]["required"], true);
    assert_eq!(names(&schema, "credentials_schema"), ["api_token"]);

    // Credentials: each type takes only its own, whole.
    let set = json!({"supports_authentification": true, "has_set_authentification": true});
    let token = "1000000000000001|abcdefghijklmnopqrstuvwx";
    for (api, credentials, ok) in [
        (
            "stop_ncii",
            json!({"fetch_function_key": "f", "subscription_key": "s"}),
            true,
        ),
        (
            "stop_ncii",
            json!({"fetch_function_key": "f", "subscription_key": "s",
                   "base_url_override": "http://127.0.0.1:9"}),
            true,
        ),
        ("stop_ncii", json!({"fetch_function_key": "f"}), false),
        ("stop_ncii", json!({"user": "u", "password": "p"}), false),
        (
            "fb_threatexchange",
            json!({"api_token": "not-a-token"}),
            false,
        ),
        (
            "fb_threatexchange",
            json!({"api_token": token, "x": 1}),
            false,
        ),
        ("fb_threatexchange", json!({"api_token": token}), true),
    ] {
        let uri = format!("/c/exchanges/api/{api}");
        let body = json!({"credential_json": credentials});
        let (status, answer) = curator(&f, Method::POST, &uri, body).await;
        if ok {
            assert_eq!(
                (status, &answer),
                (StatusCode::OK, &set),
                "{api} {credentials}"
            );
        } else {
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{api} {credentials}: {answer}"
            );
            assert!(!answer.to_string().contains("abcdefghij"), "{answer}");
        }
    }
    let (_, state) = curator(&f, Method::GET, "/c/exchanges/api/stop_ncii", Value::Null).await;
    assert_eq!(state, set);

    // Settings: checked as the type's, shown as HMA shows them.
    for (body, message) in [
        (
            json!({"bank": "TX_X", "api": "fb_threatexchange", "api_json": {}}),
            "Failed to parse `api_json` - missing field `privacy_group`",
        ),
        (
            json!({"bank": "TX_X", "api": "fb_threatexchange",
                   "api_json": {"privacy_group": "one"}}),
            "Failed to parse `api_json` - invalid type: string \"one\", expected u64",
        ),
        (
            json!({"bank": "SN_X", "api": "stop_ncii", "api_json": {"environment": "x"}}),
            "Failed to parse `api_json` - unknown field `environment`, expected `base_url` or `page_size`",
        ),
    ] {
        let (status, error) = curator(&f, Method::POST, "/c/exchanges", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error, json!({"message": message}), "{body}");
    }
    for (body, shown) in [
        (
            json!({"bank": "TX_GROUP", "api": "fb_threatexchange",
                   "api_json": {"privacy_group": 1012185296055235_u64}}),
            json!({"name": "TX_GROUP", "api": "fb_threatexchange", "enabled": true,
                   "privacy_group": 1012185296055235_u64}),
        ),
        (
            json!({"bank": "STOPNCII", "api": "stop_ncii", "api_json": {"enabled": false}}),
            json!({"name": "STOPNCII", "api": "stop_ncii", "enabled": false}),
        ),
    ] {
        let (status, created) = curator(&f, Method::POST, "/c/exchanges", body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}: {created}");
        let name = shown["name"].as_str().unwrap();
        let (_, config) =
            curator(&f, Method::GET, &format!("/c/exchange/{name}"), Value::Null).await;
        assert_eq!(config, shown);
    }
    // The credentials are kept sealed for the exchange's organisation, and open as the
    // type's.
    use ward_store::Store as _;
    let exchange = f.state.store.exchanges().await.unwrap().remove(0);
    let key = f.state.config.secrets.as_ref().unwrap();
    let opened = crate::exchanges::open_credentials(&f.state.store, key, &exchange)
        .await
        .unwrap();
    assert_eq!(opened.api().name(), "fb_threatexchange");
    assert!(!format!("{opened:?}").contains("abcdefghij"));
}

/// A list at a URL through HMA's routes: its schema (`url` and `format` required, the
/// formats as choices), its optional bearer token, its settings checked (https, or http to
/// loopback) and shown as given.
#[tokio::test]
async fn a_list_exchange_is_set_up_as_in_hma() {
    let f = Fixture::listening().await;
    let (status, schema) =
        curator(&f, Method::GET, "/c/exchanges/api/file/schema", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let fields = |part: &str| -> Vec<(String, String, bool)> {
        schema[part]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_owned(),
                    f["type"].as_str().unwrap().to_owned(),
                    f["required"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let owned = |name: &str, kind: &str, required| (name.to_owned(), kind.to_owned(), required);
    assert_eq!(
        fields("config_schema"),
        [
            owned("url", "string", true),
            owned("format", "enum", true),
            owned("page_size", "number", false),
        ]
    );
    assert_eq!(
        schema["config_schema"]["fields"][1]["choices"],
        json!(["csv", "hma", "vics"])
    );
    assert_eq!(
        fields("credentials_schema"),
        [owned("bearer", "string", false)]
    );

    let set = |has| json!({"supports_authentification": true, "has_set_authentification": has});
    for (credentials, answer) in [
        (json!({"bearer": "t0ken"}), Some(set(true))),
        (json!({}), Some(set(false))),
        (json!({"bearer": ""}), None),
        (json!({"user": "u", "password": "p"}), None),
    ] {
        let body = json!({"credential_json": credentials});
        let (status, got) = curator(&f, Method::POST, "/c/exchanges/api/file", body).await;
        match answer {
            Some(answer) => assert_eq!((status, got), (StatusCode::OK, answer), "{credentials}"),
            None => assert_eq!(status, StatusCode::BAD_REQUEST, "{credentials}: {got}"),
        }
    }

    for (api_json, message) in [
        (
            json!({"format": "csv"}),
            "Failed to parse `api_json` - missing field `url`",
        ),
        (
            json!({"url": "https://lists.example/h.csv"}),
            "Failed to parse `api_json` - missing field `format`",
        ),
        (
            json!({"url": "https://lists.example/h.csv", "format": "ncmec"}),
            "Failed to parse `api_json` - unknown variant `ncmec`, expected one of `csv`, `hma`, `vics`",
        ),
        (
            json!({"url": "http://lists.example/h.csv", "format": "csv"}),
            "Failed to parse `api_json` - the exchange's settings: url \"http://lists.example/h.csv\": an https URL (http only to a loopback address)",
        ),
        (
            json!({"url": "https://lists.example/h.csv", "format": "csv", "base_url": "x"}),
            "Failed to parse `api_json` - unknown field `base_url`, expected one of `url`, `format`, `page_size`",
        ),
    ] {
        let body = json!({"bank": "LIST", "api": "file", "api_json": api_json});
        let (status, error) = curator(&f, Method::POST, "/c/exchanges", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{api_json}: {error}");
        assert_eq!(error, json!({"message": message}), "{api_json}");
    }
    let body = json!({"bank": "LIST", "api": "file",
                      "api_json": {"url": "https://lists.example/h.vics", "format": "vics"}});
    let (status, created) = curator(&f, Method::POST, "/c/exchanges", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, config) = curator(&f, Method::GET, "/c/exchange/LIST", Value::Null).await;
    assert_eq!(
        config,
        json!({"name": "LIST", "api": "file", "enabled": true,
               "url": "https://lists.example/h.vics", "format": "vics"})
    );
}

async fn curator(f: &Fixture, method: Method, uri: &str, body: Value) -> (StatusCode, Value) {
    f.hma(method, uri, Role::Curator, body).await
}
