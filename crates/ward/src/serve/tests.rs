//! The service through its router, and through a real listening server
//! (`Fixture::listening`: a loopback port and a minimal HTTP/1.1 client, which the role
//! matrix in `tenancy_tests.rs` runs on too); bank visibility across organisations,
//! matching rules (per-bank distance, disabled banks and content, negative banks), bulk
//! imports and match answers after content changes run through the router.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use ward_store::{Actor, AnyStore, OrgId, Role, Store};

use super::{Config, SharedState, router, start};

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
/// PDQ with 1 bit flipped.
const PDQ_NEAR: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23";
const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

pub(crate) struct Fixture {
    pub(crate) state: SharedState,
    /// Where a real listening server answers; `None`: requests go through the router alone.
    listening: Option<std::net::SocketAddr>,
    /// Dropped after the state's store (fields drop in order).
    _database: Option<PgDatabase>,
    _dir: tempfile::TempDir,
    /// Keys of organisation A, by role.
    keys: Vec<(Role, String)>,
    /// A curator of organisation B.
    pub(crate) other_curator: String,
}

impl Fixture {
    pub(crate) async fn new() -> Fixture {
        Fixture::on(None).await
    }

    /// The same on a fresh PostgreSQL database of its own, dropped with the fixture.
    pub(crate) async fn on_postgres() -> Fixture {
        Fixture::on(Some(PgDatabase::create())).await
    }

    async fn on(database: Option<PgDatabase>) -> Fixture {
        Fixture::configured(database, Config::default()).await
    }

    /// A fixture on SQLite (or a fresh PostgreSQL database) with its own settings (the
    /// secrets key is the fixture's).
    pub(crate) async fn configured(database: Option<PgDatabase>, config: Config) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = database.as_ref().map(PgDatabase::url);
        let store = AnyStore::open(dir.path(), url.as_deref()).await.unwrap();
        let operator = Actor::operator("test");
        let a = store.create_org(&operator, "NGO A").await.unwrap();
        let b = store.create_org(&operator, "Platform B").await.unwrap();
        let mut keys = Vec::new();
        for &role in Role::ALL {
            let key = store
                .create_key(&operator, a.id, role, "test")
                .await
                .unwrap();
            keys.push((role, key.secret));
        }
        let other = store
            .create_key(&operator, b.id, Role::Curator, "other")
            .await
            .unwrap();
        let config = Config {
            secrets: Some(std::sync::Arc::new(
                super::evidence::EvidenceKey::from_bytes(&[7; 32]),
            )),
            ..config
        };
        let state = start(store, config).await.unwrap();
        Fixture {
            state,
            listening: None,
            _database: database,
            _dir: dir,
            keys,
            other_curator: other.secret,
        }
    }

    /// The same, with the service listening on a loopback port and every request sent to
    /// it over TCP.
    pub(crate) async fn listening() -> Fixture {
        Fixture::new().await.listen().await
    }

    /// This fixture with the service listening on a loopback port, every request sent to it
    /// over TCP.
    pub(crate) async fn listen(mut self) -> Fixture {
        let f = &mut self;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        f.listening = Some(listener.local_addr().unwrap());
        let app = router(f.state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        self
    }

    pub(crate) fn key(&self, role: Role) -> &str {
        &self.keys.iter().find(|(r, _)| *r == role).unwrap().1
    }

    /// Sends a request; `body` is JSON, or raw bytes with their content type.
    pub(crate) async fn send(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Body,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let headers: Vec<(&str, String)> = key
            .map(|key| ("authorization", format!("Bearer {key}")))
            .into_iter()
            .collect();
        let (status, _, bytes) = self
            .send_headers(method, uri, &headers, body, content_type)
            .await;
        let value = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    /// Sends a request with these headers; answers the status, the `Location` header and
    /// the body.
    pub(crate) async fn send_headers(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, String)],
        body: Body,
        content_type: &str,
    ) -> (StatusCode, String, Vec<u8>) {
        match self.listening {
            Some(address) => {
                let body = axum::body::to_bytes(body, 1 << 24).await.unwrap();
                let (status, bytes) =
                    over_tcp_with(address, &method, uri, headers, &body, content_type).await;
                (status, String::new(), bytes)
            }
            None => {
                let mut request = Request::builder().method(method).uri(uri);
                for (name, value) in headers {
                    request = request.header(*name, value);
                }
                if !content_type.is_empty() {
                    request = request.header("content-type", content_type);
                }
                let response = router(self.state.clone())
                    .oneshot(request.body(body).unwrap())
                    .await
                    .unwrap();
                let status = response.status();
                let location = response
                    .headers()
                    .get("location")
                    .map_or_else(String::new, |v| v.to_str().unwrap().to_owned());
                let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
                    .await
                    .unwrap();
                (status, location, bytes.to_vec())
            }
        }
    }

    pub(crate) async fn json(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let (body, content_type) = if body.is_null() {
            (Body::empty(), "")
        } else {
            (Body::from(body.to_string()), "application/json")
        };
        self.send(method, uri, key, body, content_type).await
    }

    /// Creates a bank as organisation A's curator; returns its id.
    pub(crate) async fn bank(&self, name: &str, extra: Value) -> i64 {
        let mut body = json!({"name": name});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, bank) = self
            .json(
                Method::POST,
                "/v1/banks",
                Some(self.key(Role::Curator)),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bank}");
        bank["id"].as_i64().unwrap()
    }

    /// Adds a content item with one signal; returns its id.
    pub(crate) async fn content(&self, bank: i64, signal_type: &str, signal: &str) -> i64 {
        let body = json!({"signals": [{"signal_type": signal_type, "signal": signal}]});
        let (status, content) = self
            .json(
                Method::POST,
                &format!("/v1/banks/{bank}/content"),
                Some(self.key(Role::Curator)),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{content}");
        content["id"].as_i64().unwrap()
    }

    pub(crate) async fn follow(&self) {
        self.state.index.follow(&self.state.store).await.unwrap();
    }

    async fn matches(&self, role: Role, signal_type: &str, signal: &str) -> Value {
        self.follow().await;
        let uri = format!("/v1/match?signal_type={signal_type}&signal={signal}");
        let (status, body) = self
            .json(Method::GET, &uri, Some(self.key(role)), Value::Null)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// A PostgreSQL database made for one test on the local server (127.0.0.1:5432, trust
/// authentication), dropped when the test ends.
pub(crate) struct PgDatabase {
    name: String,
}

impl PgDatabase {
    pub(crate) fn create() -> PgDatabase {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("ward_unit_{}_{nanos}", std::process::id());
        PgDatabase::psql(&format!("CREATE DATABASE {name}"));
        PgDatabase { name }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    fn psql(sql: &str) -> std::process::ExitStatus {
        std::process::Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-q",
                "-c",
                sql,
            ])
            .status()
            .expect("psql (PostgreSQL must be running: see README.md)")
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = PgDatabase::psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// One HTTP/1.1 request on a fresh connection to `address` (closed after the answer): the
/// status and the body, de-chunked.
pub(crate) async fn over_tcp(
    address: std::net::SocketAddr,
    method: &Method,
    uri: &str,
    key: Option<&str>,
    body: &[u8],
    content_type: &str,
) -> (StatusCode, Vec<u8>) {
    let headers: Vec<(&str, String)> = key
        .map(|key| ("authorization", format!("Bearer {key}")))
        .into_iter()
        .collect();
    over_tcp_with(address, method, uri, &headers, body, content_type).await
}

/// A request over TCP with these headers.
pub(crate) async fn over_tcp_with(
    address: std::net::SocketAddr,
    method: &Method,
    uri: &str,
    headers: &[(&str, String)],
    body: &[u8],
    content_type: &str,
) -> (StatusCode, Vec<u8>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut head = format!(
        "{method} {uri} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !content_type.is_empty() {
        head.push_str(&format!("content-type: {content_type}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let (status, body) = super::http1::parse_response(&response);
    (StatusCode::from_u16(status).unwrap(), body)
}

/// A small PNG (benign: a gradient), for the hashing routes.
pub(crate) fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// A private bank of a new organisation ("Hotline") that holds `bytes`'s signals with
/// `assessment`; returns the organisation and the content's id.
pub(crate) async fn bank_that_knows(
    state: &SharedState,
    bytes: Vec<u8>,
    assessment: ward_core::categories::Assessment,
) -> (ward_store::Organisation, ward_store::ContentId) {
    let operator = Actor::operator("test");
    let org = state.store.create_org(&operator, "Hotline").await.unwrap();
    let bank = state
        .store
        .create_bank(
            &operator,
            &ward_store::NewBank {
                name: "CONFIRMED".into(),
                org: org.id,
                kind: ward_store::BankKind::Standard,
                distance: 31,
                enabled: true,
                sharing: ward_store::Sharing::Private,
                shared_with: Vec::new(),
                dispute_limit: None,
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let hashed = super::matching::hash_bytes(
        bytes.into(),
        &mut state.hashing.empty(),
        state.config.video.clone(),
        super::budget::Patience::Request,
    )
    .await
    .unwrap();
    let signals = hashed
        .signals(ward_core::pdq::Quality::MATCHABLE)
        .iter()
        .map(|(s, _)| super::api::store_signal(s))
        .collect();
    let item = ward_store::NewContent {
        signals,
        assessment: Some(assessment),
        source: "test".into(),
        ..ward_store::NewContent::default()
    };
    let known = state
        .store
        .add_content(&operator, bank.id, &[item])
        .await
        .unwrap()[0];
    state.index.follow(&state.store).await.unwrap();
    (org, known)
}

/// A multipart body with one PNG part named `file` (the `/v1` routes' name).
fn multipart(bytes: &[u8]) -> (Body, String) {
    multipart_named(bytes, "file")
}

/// A multipart body with one PNG part named `field` (HMA's routes take `photo`).
pub(crate) fn multipart_named(bytes: &[u8], field: &str) -> (Body, String) {
    let boundary = "wardtestboundary";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        Body::from(body),
        format!("multipart/form-data; boundary={boundary}"),
    )
}

/// A private bank is invisible to other organisations (404, not 403); a shared one is seen
/// and matched by them but changed only by its owner's curators.
#[tokio::test]
async fn banks_are_private_or_shared_across_organisations() {
    let f = Fixture::new().await;
    let private = f.bank("PRIVATE", json!({"sharing": "private"})).await;
    let shared = f.bank("SHARED", json!({"sharing": "members"})).await;
    f.content(private, "pdq", PDQ).await;
    f.content(shared, "md5", MD5).await;
    let other = Some(f.other_curator.as_str());

    let (_, banks) = f.json(Method::GET, "/v1/banks", other, Value::Null).await;
    let names: Vec<&str> = banks["banks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["SHARED"]);
    let (status, _) = f
        .json(
            Method::GET,
            &format!("/v1/banks/{private}"),
            other,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f
        .json(
            Method::PATCH,
            &format!("/v1/banks/{shared}"),
            other,
            json!({"distance": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    f.follow().await;
    let (_, found) = f
        .json(
            Method::GET,
            &format!("/v1/match?signal_type=pdq&signal={PDQ}"),
            other,
            Value::Null,
        )
        .await;
    assert_eq!(
        found["matches"],
        json!([]),
        "a private bank's match leaks: {found}"
    );
    let (_, found) = f
        .json(
            Method::GET,
            &format!("/v1/match?signal_type=md5&signal={MD5}"),
            other,
            Value::Null,
        )
        .await;
    assert_eq!(found["matches"].as_array().unwrap().len(), 1, "{found}");
    // Bad input is a clear 400.
    let (status, error) = f
        .json(
            Method::GET,
            "/v1/match?signal_type=pdq&signal=xyz",
            other,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error"]["message"].as_str().unwrap().contains("hex"),
        "{error}"
    );
}

/// Per-bank distance, disabled banks and content, removal, categories and opinions in the
/// match, and a negative bank suppressing the match of a known false positive.
#[tokio::test]
async fn matches_follow_bank_rules() {
    let f = Fixture::new().await;
    let bank = f.bank("RULES", json!({"distance": 0})).await;
    let content = f.content(bank, "pdq", PDQ).await;

    // Distance 0: the exact hash matches, one bit off does not.
    let exact = f.matches(Role::Platform, "pdq", PDQ).await;
    assert_eq!(exact["matches"][0]["distance"], 0, "{exact}");
    assert_eq!(exact["matches"][0]["content_id"], content);
    assert_eq!(exact["matches"][0]["bank"]["name"], "RULES");
    assert_eq!(exact["matches"][0]["provenance"]["source"], "api");
    assert_eq!(
        f.matches(Role::Platform, "pdq", PDQ_NEAR).await["matches"],
        json!([])
    );
    let curator = Some(f.key(Role::Curator));
    f.json(
        Method::PATCH,
        &format!("/v1/banks/{bank}"),
        curator,
        json!({"distance": 31}),
    )
    .await;
    assert_eq!(
        f.matches(Role::Platform, "pdq", PDQ_NEAR).await["matches"][0]["distance"],
        1
    );

    // Categories and opinions travel with the match.
    let analyst = Some(f.key(Role::Analyst));
    let (status, _) = f
        .json(Method::PATCH, &format!("/v1/content/{content}"), analyst, json!({"categories": {"age_group": "prepubescent", "activity": "lascivious_exhibition"}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    f.json(
        Method::PUT,
        &format!("/v1/content/{content}/opinion"),
        analyst,
        json!({"opinion": "confirm"}),
    )
    .await;
    let found = f.matches(Role::Platform, "pdq", PDQ).await;
    assert_eq!(
        found["matches"][0]["categories"],
        json!({"age_group": "prepubescent", "activity": "lascivious_exhibition", "uk": "C", "industry": "A2"})
    );
    assert_eq!(found["matches"][0]["opinion_status"], "confirmed");
    let other = Some(f.other_curator.as_str());
    // Organisation B cannot see the private bank's content to dispute it.
    let (status, _) = f
        .json(
            Method::PUT,
            &format!("/v1/content/{content}/opinion"),
            other,
            json!({"opinion": "dispute"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A disabled bank and disabled content match nothing; enabled again, they do.
    f.json(
        Method::PATCH,
        &format!("/v1/banks/{bank}"),
        curator,
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(
        f.matches(Role::Platform, "pdq", PDQ).await["matches"],
        json!([])
    );
    f.json(
        Method::PATCH,
        &format!("/v1/banks/{bank}"),
        curator,
        json!({"enabled": true}),
    )
    .await;
    f.json(
        Method::PATCH,
        &format!("/v1/content/{content}"),
        curator,
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(
        f.matches(Role::Platform, "pdq", PDQ).await["matches"],
        json!([])
    );
    f.json(
        Method::PATCH,
        &format!("/v1/content/{content}"),
        curator,
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(
        f.matches(Role::Platform, "pdq", PDQ).await["matches"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A negative bank holding the same hash: the match is suppressed, and says by what.
    let negative = f
        .bank("KNOWN_FALSE_POSITIVES", json!({"kind": "negative"}))
        .await;
    let fp = f.content(negative, "pdq", PDQ_NEAR).await;
    let found = f.matches(Role::Platform, "pdq", PDQ).await;
    assert_eq!(found["matches"], json!([]), "{found}");
    assert_eq!(found["suppressed"][0]["content_id"], content);
    assert_eq!(found["suppressed"][0]["suppressed_by"], json!([fp]));

    // Removed content is gone from matching and reading.
    let (status, _) = f
        .json(
            Method::DELETE,
            &format!("/v1/content/{fp}"),
            curator,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        f.matches(Role::Platform, "pdq", PDQ).await["matches"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, _) = f
        .json(
            Method::GET,
            &format!("/v1/content/{fp}"),
            curator,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every change above is in the audit log, with who made it.
    let (_, audit) = f
        .json(
            Method::GET,
            "/v1/audit?limit=1000",
            Some(f.key(Role::Auditor)),
            Value::Null,
        )
        .await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "bank.create",
        "bank.update",
        "content.add",
        "content.assess",
        "opinion.set",
        "content.disable",
        "content.enable",
        "content.remove",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

/// A bulk import streams CSV or JSON lines into a bank: good lines added, bad ones reported
/// by line number, and the imported hashes matched; the same list sent again adds nothing.
#[tokio::test]
async fn bulk_imports_add_what_parses_and_report_the_rest() {
    let f = Fixture::new().await;
    let bank = f.bank("BULK", json!({})).await;
    let curator = Some(f.key(Role::Curator));
    let mut csv = String::from("signal_type,signal\n");
    for i in 0..12_000u32 {
        csv.push_str(&format!("md5,{i:032x}\n"));
    }
    csv.push_str("md5,nothex\npdq,");
    csv.push_str(PDQ);
    csv.push('\n');
    let (status, report) = f
        .send(
            Method::POST,
            &format!("/v1/banks/{bank}/signals"),
            curator,
            Body::from(csv.clone()),
            "text/csv",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["added"], 12_001);
    assert_eq!(report["unchanged"], 0);
    assert_eq!(report["malformed"], 1);
    assert_eq!(report["errors"][0]["line"], 12_002);
    // Sent again (a client retrying after a lost answer): every hash is held already.
    let (status, report) = f
        .send(
            Method::POST,
            &format!("/v1/banks/{bank}/signals"),
            curator,
            Body::from(csv.clone()),
            "text/csv",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (&report["added"], &report["unchanged"]),
        (&json!(0), &json!(12_001))
    );
    // And so through the list import, as a plain CSV.
    let (status, report) = f.import_list(bank, "csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (&report["added"], &report["unchanged"]),
        (&json!(0), &json!(12_001))
    );
    let mut held = 0;
    let mut after = 0;
    loop {
        let (_, page) = f
            .json(
                Method::GET,
                &format!("/v1/banks/{bank}/content?after={after}&limit=1000"),
                curator,
                Value::Null,
            )
            .await;
        let items = page["content"].as_array().unwrap().clone();
        let Some(last) = items.last() else { break };
        after = last["id"].as_i64().unwrap();
        held += items.len();
    }
    assert_eq!(held, 12_001, "one item a hash");

    let lines = format!(
        "{{\"signal_type\":\"sha256\",\"signal\":\"{}\"}}\n{{\"signal_type\":\"photodna\",\"signal\":\"opaque-value\"}}\nnot json\n",
        "ab".repeat(32)
    );
    let (status, report) = f
        .send(
            Method::POST,
            &format!("/v1/banks/{bank}/signals"),
            curator,
            Body::from(lines),
            "application/x-ndjson",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["added"].as_u64(), report["malformed"].as_u64()),
        (Some(2), Some(1)),
        "{report}"
    );

    let found = f
        .matches(Role::Platform, "md5", &format!("{:032x}", 11_999))
        .await;
    assert_eq!(found["matches"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["matches"][0]["provenance"]["source"], "api:import");
    let found = f.matches(Role::Platform, "sha256", &"AB".repeat(32)).await;
    assert_eq!(found["matches"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        f.state.store.last_seq().await.unwrap(),
        f.state.index.cursor()
    );
    let _ = OrgId(0);
}

/// Media in, signals out; and hashed and matched in one call.
#[tokio::test]
async fn hashing_and_matching_media_in_one_call() {
    let f = Fixture::new().await;
    let png = png();
    let (body, content_type) = multipart(&png);
    let (status, hashed) = f
        .send(
            Method::POST,
            "/v1/hash",
            Some(f.key(Role::Platform)),
            body,
            &content_type,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hashed}");
    assert_eq!(hashed["media"], "image");
    let pdq = hashed["pdq"].as_str().unwrap().to_string();
    let picture = ward_core::decode::decode(&png, &Default::default()).unwrap();
    assert_eq!(
        pdq,
        ward_core::pdq::hash(&picture, ward_core::pdq::Pipeline::Full)
            .hash
            .to_string()
    );

    let bank = f.bank("MEDIA", json!({})).await;
    f.content(bank, "sha256", hashed["sha256"].as_str().unwrap())
        .await;
    f.follow().await;
    let (body, content_type) = multipart(&png);
    let (status, found) = f
        .send(
            Method::POST,
            "/v1/match",
            Some(f.key(Role::Platform)),
            body,
            &content_type,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["hashes"]["pdq"], pdq);
    assert_eq!(found["matches"][0]["signal_type"], "sha256");
    // Not an image: a clear 422.
    let (body, content_type) = multipart(b"plain text, not media");
    let (status, error) = f
        .send(
            Method::POST,
            "/v1/hash",
            Some(f.key(Role::Platform)),
            body,
            &content_type,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
}

/// The OpenAPI document describes routes the router serves (each answers 401 without a key,
/// not 404 or 405), and is itself served.
#[tokio::test]
async fn the_openapi_document_describes_served_routes() {
    let f = Fixture::new().await;
    let (status, document) = f
        .json(Method::GET, "/openapi.json", None, Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    // The public routes answer without a key.
    for path in ["/healthz", "/openapi.json", "/v1/instance"] {
        assert!(document["paths"][path]["get"].is_object(), "{path}");
        let (status, _) = f.json(Method::GET, path, None, Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let paths = super::openapi::paths();
    assert!(paths.len() >= 16);
    for (method, path) in paths {
        let path = path.replace("{id}", "1");
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let (status, body) = f.json(method.clone(), &path, None, Value::Null).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert!(
            document["paths"][path.replace("/1", "/{id}")][method.as_str().to_ascii_lowercase()]
                .is_object()
        );
    }
}

/// Every error of `/v1` has the one JSON shape, including those the framework answers before
/// a handler runs, through the router and through a real listening server.
#[tokio::test]
async fn every_v1_error_is_the_same_json_shape() {
    for f in [Fixture::new().await, Fixture::listening().await] {
        let key = f.key(Role::Curator).to_owned();
        // (method, path, with a key, body, its content type, status, code)
        let json = "application/json";
        let cases = [
            // Not JSON at all.
            (
                Method::POST,
                "/v1/banks",
                true,
                &b"{not json"[..],
                json,
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            // JSON of the wrong shape.
            (
                Method::POST,
                "/v1/banks",
                true,
                br#"{"name": 7}"#,
                json,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            // Not declared as JSON.
            (
                Method::POST,
                "/v1/banks",
                true,
                br#"{"name": "x"}"#,
                "text/plain",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            // No such route, and a method the route does not take.
            (
                Method::GET,
                "/v1/no-such-route",
                true,
                b"",
                "",
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                Method::DELETE,
                "/v1/banks",
                true,
                b"",
                "",
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            ),
            // A path parameter that is not a number.
            (
                Method::GET,
                "/v1/banks/seven",
                true,
                b"",
                "",
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            // A handler's own error keeps its code.
            (
                Method::GET,
                "/v1/banks",
                false,
                b"",
                "",
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            ),
        ];
        for (method, uri, with_key, body, content_type, status, code) in cases {
            let key = with_key.then_some(key.as_str());
            let (got, value) = f
                .send(
                    method.clone(),
                    uri,
                    key,
                    Body::from(body.to_vec()),
                    content_type,
                )
                .await;
            assert_eq!(got, status, "{method} {uri}: {value}");
            assert_eq!(value["error"]["code"], code, "{method} {uri}: {value}");
            let message = value["error"]["message"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "{method} {uri}: {value}");
            assert_eq!(
                value.as_object().map(|o| o.len()),
                Some(1),
                "only the error: {value}"
            );
        }
    }
    // The document describes the shape every route answers with.
    let document = super::openapi::document();
    let error = &document["components"]["schemas"]["Error"];
    assert_eq!(error["required"], json!(["error"]));
    assert_eq!(
        error["properties"]["error"]["required"],
        json!(["code", "message"])
    );
}

/// Content added in bulk is answered from its group's summary, read once for the group: a
/// first-time match of any other item of the group reads nothing. An item that changes
/// leaves its group, through this node at once and through another once the feed is read.
#[tokio::test]
async fn bulk_content_is_answered_from_its_group() {
    let f = Fixture::new().await;
    let bank = f.bank("GROUPED", json!({})).await;
    // Far-apart hashes, so that each query matches its own item only.
    let hashes: Vec<String> = (0..40u64)
        .map(|i| {
            (0..4u64)
                .map(|part| {
                    let mut x = (i * 4 + part + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    x ^= x >> 31;
                    format!("{:016x}", x.wrapping_mul(0xbf58_476d_1ce4_e5b9))
                })
                .collect()
        })
        .collect();
    let mut csv = String::from("signal_type,signal\n");
    for hash in &hashes {
        csv.push_str(&format!("pdq,{hash}\n"));
    }
    let (status, report) = f
        .send(
            Method::POST,
            &format!("/v1/banks/{bank}/signals"),
            Some(f.key(Role::Curator)),
            Body::from(csv),
            "text/csv",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["added"], 40);
    let platform = Some(f.key(Role::Platform));
    let ask = |hash: &str| format!("/v1/match?signal_type=pdq&signal={hash}");
    f.follow().await;
    let mut answers = Vec::new();
    for hash in &hashes[..10] {
        let (status, answer) = f.json(Method::GET, &ask(hash), platform, Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["matches"].as_array().unwrap().len(), 1, "{answer}");
        answers.push(answer["matches"][0].clone());
    }
    let stats = f.state.index.summaries().stats();
    assert_eq!(stats.misses, 1, "the group's summary is read once");
    assert_eq!((stats.group_hits, stats.groups, stats.held), (9, 1, 0));
    // Each answer is the item's own, with the group's provenance.
    let ids: std::collections::HashSet<i64> = answers
        .iter()
        .map(|m| m["content_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 10, "{answers:?}");
    for answer in &answers {
        assert_eq!(answer["opinion_status"], "unreviewed");
        assert_eq!(answer["categories"], Value::Null);
        assert_eq!(answer["provenance"], answers[0]["provenance"]);
    }

    // Disputed through this node: shown at once; the rest of its group unchanged.
    let disputed = answers[3]["content_id"].as_i64().unwrap();
    let (status, _) = f
        .json(
            Method::PUT,
            &format!("/v1/content/{disputed}/opinion"),
            Some(f.key(Role::Analyst)),
            json!({"opinion": "dispute"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, now) = f
        .json(Method::GET, &ask(&hashes[3]), platform, Value::Null)
        .await;
    assert_eq!(now["matches"][0]["opinion_status"], "disputed", "{now}");
    let (_, other) = f
        .json(Method::GET, &ask(&hashes[4]), platform, Value::Null)
        .await;
    assert_eq!(
        other["matches"][0]["opinion_status"], "unreviewed",
        "{other}"
    );

    // Assessed elsewhere (straight in the store, as another node would): shown once this
    // node has read the feed.
    let assessed = answers[5]["content_id"].as_i64().unwrap();
    f.state
        .store
        .set_assessment(
            &Actor::operator("elsewhere"),
            ward_store::ContentId(assessed),
            Some(ward_core::categories::Assessment {
                age_group: ward_core::categories::AgeGroup::Unknown,
                activity: ward_core::categories::Activity::Penetrative,
            }),
        )
        .await
        .unwrap();
    f.follow().await;
    let (_, now) = f
        .json(Method::GET, &ask(&hashes[5]), platform, Value::Null)
        .await;
    assert_eq!(now["matches"][0]["categories"]["uk"], "A", "{now}");
    let (_, other) = f
        .json(Method::GET, &ask(&hashes[6]), platform, Value::Null)
        .await;
    assert_eq!(other["matches"][0]["categories"], Value::Null, "{other}");
}

/// Match answers show a content item's categories and opinion status from the node's
/// memory: a change made through this node shows in its next answer, one made elsewhere (here
/// straight in the store, as another node would) once the feed has been followed.
#[tokio::test]
async fn match_answers_show_content_changes() {
    let f = Fixture::new().await;
    let bank = f.bank("SUMMARIES", json!({})).await;
    let content = f.content(bank, "pdq", PDQ).await;
    let platform = Some(f.key(Role::Platform));
    let uri = format!("/v1/match?signal_type=pdq&signal={PDQ}");
    let first = f.matches(Role::Platform, "pdq", PDQ).await;
    assert_eq!(
        first["matches"][0]["opinion_status"], "unreviewed",
        "{first}"
    );
    assert_eq!(first["matches"][0]["categories"], Value::Null);
    // Asked again: from memory, the same answer.
    let (_, again) = f.json(Method::GET, &uri, platform, Value::Null).await;
    assert_eq!(again, first);
    let stats = f.state.index.summaries().stats();
    assert_eq!((stats.held, stats.hits, stats.misses), (1, 1, 1));
    // Its series came from the node's memory both times (every item's series is held, and
    // kept by following the store's series log).
    assert!(stats.facts.series_held);
    assert_eq!(stats.series_misses, 0);

    // Through this node: shown at once, without waiting for the feed.
    let analyst = Some(f.key(Role::Analyst));
    let (status, _) = f
        .json(
            Method::PUT,
            &format!("/v1/content/{content}/opinion"),
            analyst,
            json!({"opinion": "dispute"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, disputed) = f.json(Method::GET, &uri, platform, Value::Null).await;
    assert_eq!(
        disputed["matches"][0]["opinion_status"], "disputed",
        "{disputed}"
    );

    // Through another node: shown once this node has read the feed.
    let assessment = ward_core::categories::Assessment {
        age_group: ward_core::categories::AgeGroup::Unknown,
        activity: ward_core::categories::Activity::Penetrative,
    };
    f.state
        .store
        .set_assessment(
            &Actor::operator("elsewhere"),
            ward_store::ContentId(content),
            Some(assessment),
        )
        .await
        .unwrap();
    f.follow().await;
    let (_, assessed) = f.json(Method::GET, &uri, platform, Value::Null).await;
    assert_eq!(
        assessed["matches"][0]["categories"]["uk"], "A",
        "{assessed}"
    );
    assert_eq!(assessed["matches"][0]["categories"]["age_group"], "unknown");
    assert_eq!(assessed["matches"][0]["opinion_status"], "disputed");

    // Its series, flagged elsewhere: shown once this node has read the store's series
    // epoch with the feed.
    f.state.keep_series().await.expect("a series keeper step");
    let (_, in_series) = f.json(Method::GET, &uri, platform, Value::Null).await;
    let series = &in_series["matches"][0]["series"];
    assert_eq!(series["victim_identified"], false, "{in_series}");
    let series_id = ward_store::SeriesId(series["id"].as_i64().unwrap());
    let flag = ward_store::SeriesChange {
        victim_identified: Some(true),
        ..ward_store::SeriesChange::default()
    };
    f.state
        .store
        .update_series(
            &Actor::operator("elsewhere"),
            series_id,
            &flag,
            &ward_store::BankScope::All,
        )
        .await
        .unwrap();
    f.follow().await;
    let (_, flagged) = f.json(Method::GET, &uri, platform, Value::Null).await;
    assert_eq!(
        flagged["matches"][0]["series"]["victim_identified"], true,
        "{flagged}"
    );

    // Disabled, disputed no more, and enabled again elsewhere: the answer shows it all.
    let elsewhere = Actor::operator("elsewhere");
    let id = ward_store::ContentId(content);
    let store = &f.state.store;
    store
        .set_content_enabled(&elsewhere, id, false)
        .await
        .unwrap();
    f.follow().await;
    let (_, hidden) = f.json(Method::GET, &uri, platform, Value::Null).await;
    assert_eq!(hidden["matches"], json!([]), "{hidden}");
    let analyst_key = store.authenticate(f.key(Role::Analyst)).await.unwrap();
    let org = analyst_key.unwrap().org;
    store.set_opinion(&elsewhere, id, org, None).await.unwrap();
    store
        .set_content_enabled(&elsewhere, id, true)
        .await
        .unwrap();
    f.follow().await;
    let (_, back) = f.json(Method::GET, &uri, platform, Value::Null).await;
    assert_eq!(back["matches"][0]["opinion_status"], "unreviewed", "{back}");

    // Removed content is no longer matched, and its summary is gone.
    let curator = Some(f.key(Role::Curator));
    let (status, _) = f
        .json(
            Method::DELETE,
            &format!("/v1/content/{content}"),
            curator,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        f.matches(Role::Platform, "pdq", PDQ).await["matches"],
        json!([])
    );
    assert_eq!(f.state.index.summaries().stats().held, 0);
}

/// Reads the whole feed as `key`, `limit` entries a page, calling `between` after each page
/// (to write while a client pages); returns every entry.
async fn read_feed(
    f: &Fixture,
    key: &str,
    limit: u32,
    mut between: impl AsyncFnMut(usize),
) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor = String::new();
    for page in 0.. {
        let (status, body) = f
            .json(
                Method::GET,
                &format!("/v1/feed?cursor={cursor}&limit={limit}"),
                Some(key),
                Value::Null,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let got = body["entries"].as_array().unwrap().clone();
        assert!(got.len() <= limit as usize + 64, "{body}");
        let next = body["cursor"].as_str().unwrap().to_owned();
        let more = body["more"].as_bool().unwrap();
        if !more && got.is_empty() && next == cursor {
            break;
        }
        entries.extend(got);
        cursor = next;
        between(page).await;
        assert!(page < 10_000, "the feed does not end");
    }
    entries
}

/// The state a client builds by applying feed entries in order: content id -> signals.
fn replay(entries: &[Value]) -> BTreeMap<i64, Vec<String>> {
    let mut state = BTreeMap::new();
    for entry in entries {
        let id = entry["content_id"].as_i64().unwrap();
        match entry["op"].as_str().unwrap() {
            "upsert" => {
                let signals = entry["signals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["signal"].as_str().unwrap().to_owned())
                    .collect();
                state.insert(id, signals);
            }
            "delete" => {
                state.remove(&id);
            }
            other => panic!("op {other}"),
        }
    }
    state
}

/// What the store holds: every live item of the banks `key` sees, with its signals.
async fn holdings(f: &Fixture, banks: &[i64]) -> BTreeMap<i64, Vec<String>> {
    let mut state = BTreeMap::new();
    for bank in banks {
        let Some(bank) = f.state.store.bank(ward_store::BankId(*bank)).await.unwrap() else {
            continue;
        };
        for content in f
            .state
            .store
            .bank_contents(bank.id, None, 100_000)
            .await
            .unwrap()
        {
            if content.enabled {
                let signals = content.signals.iter().map(|s| s.value.clone()).collect();
                state.insert(content.id.0, signals);
            }
        }
    }
    state
}

/// The feed in pages while items are added, changed, withdrawn and deleted between pages:
/// replaying it gives exactly what the store holds, entries come in seq order, and an item
/// appears again only after a change made after it was delivered. Another organisation
/// sees the shared bank and not the private one.
#[tokio::test]
async fn the_feed_resumes_exactly_while_writes_happen() {
    the_feed_resumes_exactly_while_writes_happen_on(Fixture::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_resumes_exactly_while_writes_happen_on_postgres() {
    the_feed_resumes_exactly_while_writes_happen_on(Fixture::on_postgres().await).await;
}

async fn the_feed_resumes_exactly_while_writes_happen_on(f: Fixture) {
    let shared = f.bank("SHARED", json!({"sharing": "members"})).await;
    let private = f.bank("PRIVATE", json!({})).await;
    let csv = |from: u32, to: u32| -> String {
        let mut text = "signal_type,signal\n".to_owned();
        for n in from..to {
            text += &format!("md5,{n:032x}\n");
        }
        text
    };
    let import = async |bank: i64, text: String| {
        let (status, body) = f
            .send(
                Method::POST,
                &format!("/v1/banks/{bank}/signals"),
                Some(f.key(Role::Curator)),
                Body::from(text),
                "text/csv",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    };
    import(shared, csv(0, 300)).await;
    import(private, csv(1000, 1050)).await;
    let items = f
        .state
        .store
        .bank_contents(ward_store::BankId(shared), None, 1000)
        .await
        .unwrap();
    let curator = f.key(Role::Curator).to_owned();

    let written = std::cell::Cell::new(0);
    let entries = read_feed(&f, &curator, 37, async |page| {
        // Between pages: more items, one disabled, one removed, one given an opinion,
        // and (once) a whole bank deleted.
        let n = written.get();
        if n >= 6 {
            return;
        }
        written.set(n + 1);
        import(shared, csv(2000 + 10 * n, 2010 + 10 * n)).await;
        let target = items[(page * 40) % items.len()].id.0;
        let uri = format!("/v1/content/{target}");
        let _ = f
            .json(
                Method::PATCH,
                &uri,
                Some(&curator),
                json!({"enabled": false}),
            )
            .await;
        let removed = items[(page * 40 + 1) % items.len()].id.0;
        let _ = f
            .json(
                Method::DELETE,
                &format!("/v1/content/{removed}"),
                Some(&curator),
                Value::Null,
            )
            .await;
        let opinion = items[(page * 40 + 2) % items.len()].id.0;
        let _ = f
            .json(
                Method::PUT,
                &format!("/v1/content/{opinion}/opinion"),
                Some(&curator),
                json!({"opinion": "dispute"}),
            )
            .await;
        if n == 3 {
            let doomed = f.bank("DOOMED", json!({"sharing": "members"})).await;
            import(doomed, csv(3000, 3020)).await;
            let (status, _) = f
                .json(
                    Method::DELETE,
                    &format!("/v1/banks/{doomed}"),
                    Some(&curator),
                    Value::Null,
                )
                .await;
            assert_eq!(status, StatusCode::NO_CONTENT);
        }
    })
    .await;

    let seqs: Vec<i64> = entries
        .iter()
        .map(|e| e["seq"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in seq order, none twice"
    );
    let banks: Vec<i64> = (1..=10).collect();
    assert_eq!(replay(&entries), holdings(&f, &banks).await);
    let upserts = entries.iter().filter(|e| e["op"] == "upsert").count();
    let deletes = entries.iter().filter(|e| e["op"] == "delete").count();
    assert!(
        deletes >= 6 && upserts >= 350,
        "{upserts} upserts, {deletes} deletes"
    );
    let sample = entries.iter().find(|e| e["op"] == "upsert").unwrap();
    for field in [
        "provenance",
        "categories",
        "label",
        "external_id",
        "opinion_status",
        "bank",
    ] {
        assert!(sample.get(field).is_some(), "{field} in {sample}");
    }

    // Organisation B sees the shared bank's items, not the private bank's.
    let other = f.other_curator.clone();
    let seen = replay(&read_feed(&f, &other, 500, async |_| {}).await);
    assert_eq!(seen, holdings(&f, &[shared]).await);

    // A cursor that is not one is refused; a platform may not read the feed.
    let (status, _) = f
        .json(
            Method::GET,
            "/v1/feed?cursor=abc",
            Some(&curator),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = f
        .json(
            Method::GET,
            "/v1/feed",
            Some(f.key(Role::Platform)),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A bank shared with named organisations: they match against it and read it in the feed,
/// others do not; naming others instead withdraws it from the first through tombstones in
/// their feed and gives it to the new ones, and matching follows at once.
#[tokio::test]
async fn sharing_with_named_organisations_decides_matching_and_the_feed() {
    let f = Fixture::new().await;
    let operator = Actor::operator("test");
    let store = &f.state.store;
    let b = store.org_by_name("Platform B").await.unwrap().unwrap().id;
    let c = store.create_org(&operator, "Hotline C").await.unwrap().id;
    let c_curator = store
        .create_key(&operator, c, Role::Curator, "c")
        .await
        .unwrap()
        .secret;
    let b_curator = f.other_curator.clone();
    let bank = f
        .bank(
            "NAMED",
            json!({"sharing": "organisations", "shared_with": [b.0]}),
        )
        .await;
    f.content(bank, "md5", MD5).await;
    f.content(bank, "pdq", PDQ).await;
    let everything = holdings(&f, &[bank]).await;
    assert_eq!(everything.len(), 2);

    let matches = async |key: &str| {
        f.follow().await;
        let uri = format!("/v1/match?signal_type=md5&signal={MD5}");
        let (status, body) = f.json(Method::GET, &uri, Some(key), Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["matches"].as_array().unwrap().len()
    };
    let bank_status = async |key: &str| {
        let uri = format!("/v1/banks/{bank}");
        f.json(Method::GET, &uri, Some(key), Value::Null).await
    };
    assert_eq!(matches(&b_curator).await, 1);
    assert_eq!(matches(&c_curator).await, 0);
    let (status, seen_by_b) = bank_status(&b_curator).await;
    assert_eq!(status, StatusCode::OK);
    // Whom else a bank is shared with is for its owner to know.
    assert!(seen_by_b.get("shared_with").is_none(), "{seen_by_b}");
    let (_, seen_by_owner) = bank_status(f.key(Role::Curator)).await;
    assert_eq!(seen_by_owner["sharing"], "organisations");
    assert_eq!(seen_by_owner["shared_with"], json!([b.0]));
    assert_eq!(bank_status(&c_curator).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        replay(&read_feed(&f, &b_curator, 100, async |_| {}).await),
        everything
    );
    assert!(
        read_feed(&f, &c_curator, 100, async |_| {})
            .await
            .is_empty()
    );

    // Shared with C instead of B.
    let (status, changed) = f
        .json(
            Method::PATCH,
            &format!("/v1/banks/{bank}"),
            Some(f.key(Role::Curator)),
            json!({"shared_with": [c.0]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(matches(&b_curator).await, 0);
    assert_eq!(matches(&c_curator).await, 1);
    assert_eq!(bank_status(&b_curator).await.0, StatusCode::NOT_FOUND);
    let b_feed = read_feed(&f, &b_curator, 100, async |_| {}).await;
    assert!(replay(&b_feed).is_empty(), "withdrawn from B: {b_feed:?}");
    let tombstones: Vec<&Value> = b_feed.iter().filter(|e| e["op"] == "delete").collect();
    assert_eq!(tombstones.len(), 2);
    assert!(
        tombstones.iter().all(|e| e["bank"]["name"].is_null()),
        "{tombstones:?}"
    );
    assert_eq!(
        replay(&read_feed(&f, &c_curator, 100, async |_| {}).await),
        everything
    );
    // Organisation A's own view is unchanged.
    assert_eq!(
        replay(&read_feed(&f, f.key(Role::Curator), 100, async |_| {}).await),
        everything
    );

    // Refused: an unknown organisation, a sharing that is none of the four, and a change by
    // a curator who does not own the bank.
    for (body, key, expected) in [
        (
            json!({"shared_with": [9999]}),
            f.key(Role::Curator),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"sharing": "friends"}),
            f.key(Role::Curator),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"shared_with": [b.0]}),
            c_curator.as_str(),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let uri = format!("/v1/banks/{bank}");
        let (status, answer) = f.json(Method::PATCH, &uri, Some(key), body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    let (_, unchanged) = bank_status(f.key(Role::Curator)).await;
    assert_eq!(unchanged["shared_with"], json!([c.0]));
}

/// A sample of `testdata/exchange/` (benign, made-up lists).
fn exchange_sample(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/{path}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/exchange")
    );
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

impl Fixture {
    /// A request through the router alone, with extra headers: the status, the answer's
    /// Content-Type and its body.
    pub(crate) async fn raw(
        &self,
        method: Method,
        uri: &str,
        key: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, String, Vec<u8>) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {key}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = router(self.state.clone())
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 26)
            .await
            .unwrap();
        (status, content_type, bytes.to_vec())
    }

    /// Imports a list through `POST /v1/banks/{bank}/import` as organisation A's curator.
    async fn import_list(&self, bank: i64, format: &str, list: Vec<u8>) -> (StatusCode, Value) {
        self.send(
            Method::POST,
            &format!("/v1/banks/{bank}/import?format={format}"),
            Some(self.key(Role::Curator)),
            Body::from(list),
            "application/octet-stream",
        )
        .await
    }

    /// A bank's export as `role`: the Content-Type and the text.
    async fn export(&self, bank: i64, format: &str, role: Role) -> (String, String) {
        let (status, content_type, body) = self
            .raw(
                Method::GET,
                &format!("/v1/banks/{bank}/export?format={format}"),
                self.key(role),
                &[],
                Vec::new(),
            )
            .await;
        let text = String::from_utf8(body).unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
        (content_type, text)
    }

    /// The actions of the audit log whose target is `target`.
    pub(crate) async fn audited(&self, target: &str) -> Vec<String> {
        let (status, audit) = self
            .json(
                Method::GET,
                &format!("/v1/audit?limit=10000&target={target}"),
                Some(self.key(Role::Auditor)),
                Value::Null,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{audit}");
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// An import's answer with nothing malformed and nothing replaced or removed.
fn clean_import(records: u64, added: u64, missing: u64) -> Value {
    json!({
        "records": records, "added": added, "replaced": 0, "removed": 0, "missing": missing,
        "unchanged": 0, "malformed": 0, "errors": [], "fatal": null,
    })
}

/// Every format's sample imported through the API, counted as the readers read it; upserts
/// replace by the list's ids and tombstones remove; provenance from `X-Ward-Source`,
/// `source=` or the format.
#[tokio::test]
async fn lists_in_every_format_import_through_the_api() {
    let f = Fixture::new().await;
    let stopncii = json!({
        "records": 4, "added": 2, "replaced": 0, "removed": 0, "missing": 2, "unchanged": 0,
        "malformed": 2,
        "errors": [
            {"record": 4, "line": 44, "reason": "StopNCII signal type \"URL\" is not one Ward holds (ImagePDQ, VideoMD5)"},
            {"record": 6, "line": 56, "reason": "invalid pdq: expected 64 hex digits, got 63"},
        ],
        "fatal": null,
    });
    let mut banks = BTreeMap::new();
    for (path, format, expected) in [
        ("csv/list.csv", "csv", clean_import(5, 5, 0)),
        ("hma/bank.jsonl", "hma", clean_import(3, 3, 0)),
        ("vics/media.json", "vics", clean_import(4, 4, 0)),
        ("vics/cases.json", "VICS", clean_import(3, 3, 0)),
        ("ncmec/page.xml", "ncmec", clean_import(5, 3, 2)),
        ("stopncii/page.json", "stopncii", stopncii),
    ] {
        let bank = f.bank(&path.replace(['/', '.'], "_"), json!({})).await;
        banks.insert(path, bank);
        let (status, report) = f.import_list(bank, format, exchange_sample(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {report}");
        assert_eq!(report, expected, "{path}");
    }

    // The items are stored with their ids, labels and the default source, and are matched.
    let ncmec = banks["ncmec/page.xml"];
    let (_, page) = f
        .json(
            Method::GET,
            &format!("/v1/banks/{ncmec}/content"),
            Some(f.key(Role::Curator)),
            Value::Null,
        )
        .await;
    let items = page["content"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{page}");
    assert_eq!(items[0]["provenance"]["source"], "api:import:ncmec");
    let found = f
        .matches(Role::Platform, "md5", "0f1e2d3c4b5a69788796a5b4c3d2e1f0")
        .await;
    let banks_found: Vec<&Value> = found["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["bank"]["name"])
        .collect();
    assert!(banks_found.contains(&&json!("ncmec_page_xml")), "{found}");

    // The same page again replaces by id; the tombstones are still of items never held.
    let (_, again) = f
        .import_list(ncmec, "ncmec", exchange_sample("ncmec/page.xml"))
        .await;
    assert_eq!(
        (&again["added"], &again["replaced"], &again["missing"]),
        (&json!(0), &json!(3), &json!(2)),
        "{again}"
    );
    // A tombstone of an item held removes it; the provenance is the one asked for.
    let tombstone = b"<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">\
        <images><deletedImage><id>image1</id></deletedImage></images></queryResult>"
        .to_vec();
    let (status, _, body) = f
        .raw(
            Method::POST,
            &format!("/v1/banks/{ncmec}/import?format=ncmec&source=query-source"),
            f.key(Role::Curator),
            &[("x-ward-source", "ncmec:2024-05-01")],
            tombstone,
        )
        .await;
    let report: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report,
        json!({
            "records": 1, "added": 0, "replaced": 0, "removed": 1, "missing": 0,
            "unchanged": 0, "malformed": 0, "errors": [], "fatal": null,
        })
    );
    let csv = b"signal_type,signal,id\nmd5,abababababababababababababababab,q-1\n".to_vec();
    let (status, _) = f
        .send(
            Method::POST,
            &format!("/v1/banks/{ncmec}/import?format=csv&source=query-source"),
            Some(f.key(Role::Curator)),
            Body::from(csv),
            "text/csv",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = f
        .json(
            Method::GET,
            &format!("/v1/banks/{ncmec}/content"),
            Some(f.key(Role::Curator)),
            Value::Null,
        )
        .await;
    let sources: Vec<&str> = page["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["provenance"]["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        ["api:import:ncmec", "api:import:ncmec", "query-source"]
    );
    // Answered once the node's index has the changes.
    assert_eq!(
        f.state.store.last_seq().await.unwrap(),
        f.state.index.cursor()
    );
}

/// Broken lists: malformed records reported by record and line and the good ones kept; a
/// list cut short keeps what came before and says where it stopped; a format that is not
/// one is a 400 that names the formats.
#[tokio::test]
async fn broken_lists_keep_the_good_records_and_say_where_the_rest_went_wrong() {
    let f = Fixture::new().await;
    let bank = f.bank("BROKEN", json!({})).await;
    let (status, report) = f
        .import_list(bank, "ncmec", exchange_sample("ncmec/truncated.xml"))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report,
        json!({
            "records": 2, "added": 2, "replaced": 0, "removed": 0, "missing": 0,
            "unchanged": 0, "malformed": 0, "errors": [],
            "fatal": "record 3 (line 30): the input ends inside <member>: a truncated page",
        })
    );

    let (status, report) = f
        .import_list(bank, "vics", exchange_sample("vics/bad-record.json"))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report,
        json!({
            "records": 2, "added": 2, "replaced": 0, "removed": 0, "missing": 0, "unchanged": 0,
            "malformed": 5,
            "errors": [
                {"record": 2, "line": 5, "reason": "MD5: invalid md5: not hexadecimal: \"FFEEDDCCBBAA998877665544332211ZZ\""},
                {"record": 3, "line": 7, "reason": "no hash (MD5, SHA1, SHA256 or PhotoDNA)"},
                {"record": 4, "line": 8, "reason": "SHA1: invalid sha1: expected 40 hex digits, got 39"},
                {"record": 5, "line": 9, "reason": "expected a media object, found a string"},
                {"record": 6, "line": 10, "reason": "MD5: expected a string, found 12345"},
            ],
            "fatal": null,
        })
    );
    // The good record after the bad ones is stored and matched.
    let found = f
        .matches(Role::Platform, "md5", "0f1e2d3c4b5a69788796a5b4c3d2e1f0")
        .await;
    assert_eq!(found["matches"].as_array().unwrap().len(), 1, "{found}");

    for (path, format, records, malformed) in [
        ("hma/bad.jsonl", "hma", 2, 6),
        ("csv/bad.csv", "csv", 2, 3),
        ("vics/truncated.json", "vics", 2, 0),
    ] {
        let (status, report) = f.import_list(bank, format, exchange_sample(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {report}");
        assert_eq!(
            (&report["records"], &report["malformed"]),
            (&json!(records), &json!(malformed)),
            "{path}: {report}"
        );
        assert_eq!(
            report["errors"].as_array().unwrap().len(),
            malformed,
            "{report}"
        );
        assert!(
            report["errors"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["record"].as_u64().unwrap() > 0 && e["line"].as_u64().unwrap() > 0)
        );
    }
    // Not a list of the format at all: nothing stored, and why.
    let (status, report) = f
        .import_list(bank, "vics", b"this is not JSON".to_vec())
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["records"], 0);
    assert!(
        report["fatal"]
            .as_str()
            .unwrap()
            .starts_with("record 0 (line 1)"),
        "{report}"
    );

    // Only the first 100 malformed records are listed; all are counted.
    let mut many = String::from("signal_type,signal,id\n");
    for n in 0..150 {
        many += &format!("md5,not-hex-{n},bad-{n}\n");
    }
    many += "md5,cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd,good\n";
    let (_, report) = f.import_list(bank, "csv", many.into_bytes()).await;
    assert_eq!(
        (&report["records"], &report["malformed"]),
        (&json!(1), &json!(150))
    );
    assert_eq!(report["errors"].as_array().unwrap().len(), 100);
    assert_eq!(report["errors"][99]["line"], 101);

    // Formats that are not ones: a clear 400.
    for uri in [
        format!("/v1/banks/{bank}/import?format=xml"),
        format!("/v1/banks/{bank}/import"),
    ] {
        let (status, error) = f
            .send(
                Method::POST,
                &uri,
                Some(f.key(Role::Curator)),
                Body::from("md5\n"),
                "text/csv",
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("csv, hma, vics, ncmec, stopncii"),
            "{message}"
        );
    }
    for format in ["ncmec", "xml", ""] {
        let (status, error) = f
            .json(
                Method::GET,
                &format!("/v1/banks/{bank}/export?format={format}"),
                Some(f.key(Role::Curator)),
                Value::Null,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{format}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("csv") && message.contains("vics"),
            "{message}"
        );
    }
    // Another organisation neither imports into the private bank nor exports it.
    let other = Some(f.other_curator.as_str());
    let (status, _) = f
        .send(
            Method::POST,
            &format!("/v1/banks/{bank}/import?format=csv"),
            other,
            Body::from("md5\n"),
            "text/csv",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f
        .json(
            Method::GET,
            &format!("/v1/banks/{bank}/export?format=csv"),
            other,
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An HMA export imported into another bank exports the same again (ids aside); CSV and
/// VICS exports have their types and read back; a bank of several pages streams whole; each
/// export is audited.
#[tokio::test]
async fn exports_round_trip_through_the_api() {
    let f = Fixture::new().await;
    let first = f.bank("FIRST", json!({})).await;
    let (_, report) = f
        .import_list(first, "hma", exchange_sample("hma/bank.jsonl"))
        .await;
    assert_eq!(report, clean_import(3, 3, 0));
    let (content_type, exported) = f.export(first, "hma", Role::Analyst).await;
    assert_eq!(content_type, "application/x-ndjson");

    let second = f.bank("SECOND", json!({})).await;
    let (_, report) = f
        .import_list(second, "hma", exported.clone().into_bytes())
        .await;
    assert_eq!(report, clean_import(3, 3, 0));
    let (_, again) = f.export(second, "hma", Role::Curator).await;
    let without_ids = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|line| {
                let mut item: Value = serde_json::from_str(line).unwrap();
                item.as_object_mut().unwrap().remove("id");
                item
            })
            .collect()
    };
    assert_eq!(without_ids(&exported).len(), 3, "{exported}");
    assert_eq!(without_ids(&again), without_ids(&exported));
    assert!(exported.contains("\"label\":\"B1\""), "{exported}");

    // CSV: PhotoDNA left out, the rest read back as the same three items.
    let (content_type, csv) = f.export(first, "csv", Role::Admin).await;
    assert_eq!(content_type, "text/csv");
    assert!(csv.starts_with("signal_type,signal,id,label\n"), "{csv}");
    let third = f.bank("THIRD", json!({})).await;
    let (_, report) = f.import_list(third, "csv", csv.into_bytes()).await;
    assert_eq!(report, clean_import(3, 3, 0));
    // VICS: the vPDQ item cannot be held, and is left out.
    let (content_type, vics) = f.export(first, "vics", Role::Curator).await;
    assert_eq!(content_type, "application/json");
    let document: Value = serde_json::from_str(&vics).unwrap();
    assert_eq!(document["value"].as_array().unwrap().len(), 2, "{vics}");
    let fourth = f.bank("FOURTH", json!({})).await;
    let (_, report) = f.import_list(fourth, "vics", vics.into_bytes()).await;
    assert_eq!(report, clean_import(2, 2, 0));
    let audited = f.audited(&format!("bank:{first}")).await;
    assert_eq!(
        audited.iter().filter(|a| *a == "read.export").count(),
        3,
        "{audited:?}"
    );

    // Several pages of the bank, streamed: every item once, in order.
    let big = f.bank("BIG", json!({})).await;
    let mut list = String::from("signal_type,signal,id\n");
    for n in 0..2_500u32 {
        list += &format!("md5,{n:032x},n-{n}\n");
    }
    let (_, report) = f.import_list(big, "csv", list.into_bytes()).await;
    assert_eq!(report, clean_import(2_500, 2_500, 0));
    let (_, csv) = f.export(big, "csv", Role::Analyst).await;
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2_500);
    assert_eq!(rows[0], format!("md5,{:032x},n-0,", 0));
    assert_eq!(rows[2_499], format!("md5,{:032x},n-2499,", 2_499));
    // Written as the client reads it: a chunk per page of the bank, not one body.
    let request = Request::builder()
        .uri(format!("/v1/banks/{big}/export?format=csv"))
        .header("authorization", format!("Bearer {}", f.key(Role::Curator)))
        .body(Body::empty())
        .unwrap();
    let response = router(f.state.clone()).oneshot(request).await.unwrap();
    assert!(response.headers().get("content-length").is_none());
    let mut chunks = response.into_body().into_data_stream();
    let mut sizes = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut chunks).await {
        sizes.push(chunk.unwrap().len());
    }
    assert!(sizes.len() >= 3, "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), csv.len());
    // Over a real socket, the streamed answer arrives whole too.
    let tcp = Fixture::listening().await;
    let bank = tcp.bank("OVER_TCP", json!({})).await;
    let (_, report) = tcp
        .import_list(bank, "hma", exchange_sample("hma/bank.jsonl"))
        .await;
    assert_eq!(report, clean_import(3, 3, 0));
    let (status, text) = tcp
        .json(
            Method::GET,
            &format!("/v1/banks/{bank}/export?format=hma"),
            Some(tcp.key(Role::Curator)),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        without_ids(text.as_str().unwrap()),
        without_ids(&exported),
        "{text}"
    );
}

/// A CyberTipline draft for a matched item: its hashes (the MD5 among them), its
/// classification (the analyst's over the list's), the reporter and URL as given (escaped,
/// never fetched); audited; only for content the caller sees.
#[tokio::test]
async fn a_cybertipline_draft_describes_a_matched_item() {
    let f = Fixture::new().await;
    let bank = f.bank("NCMEC", json!({})).await;
    let (_, report) = f
        .import_list(bank, "ncmec", exchange_sample("ncmec/page.xml"))
        .await;
    assert_eq!(report, clean_import(5, 3, 2));
    let md5 = "00112233445566778899aabbccddeeff";
    let found = f.matches(Role::Platform, "md5", md5).await;
    let content = found["matches"][0]["content_id"].as_i64().unwrap();

    let draft = async |role: Role, query: &str| -> (StatusCode, String, String) {
        let (status, content_type, body) = f
            .raw(
                Method::GET,
                &format!("/v1/content/{content}/cybertip{query}"),
                f.key(role),
                &[],
                Vec::new(),
            )
            .await;
        (status, content_type, String::from_utf8(body).unwrap())
    };
    let (status, content_type, xml) = draft(
        Role::Platform,
        "?first_name=Ada&last_name=Example&email=ada%40example.invalid\
         &url=https%3A%2F%2Fexample.invalid%2Fp%3Fa%3D1%26b%3D%3C2%3E",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_eq!(content_type, "application/xml");
    for expected in [
        format!("<originalFileHash hashType=\"MD5\">{md5}</originalFileHash>"),
        "<originalFileHash hashType=\"SHA1\">0123456789abcdef0123456789abcdef01234567</originalFileHash>".into(),
        "<originalFileHash hashType=\"PhotoDNA\">".into(),
        "<industryClassification>A1</industryClassification>".into(),
        "<url>https://example.invalid/p?a=1&amp;b=&lt;2&gt;</url>".into(),
        "<firstName>Ada</firstName>".into(),
        "<lastName>Example</lastName>".into(),
        "<email>ada@example.invalid</email>".into(),
    ] {
        assert!(xml.contains(&expected), "{expected} not in {xml}");
    }
    let time = xml
        .split("<incidentDateTime>")
        .nth(1)
        .and_then(|rest| rest.split("</incidentDateTime>").next())
        .unwrap();
    assert!(time.len() == 24 && time.ends_with('Z'), "{time}");

    // The analyst's assessment takes over from the list's label.
    let (status, _) = f
        .json(
            Method::PATCH,
            &format!("/v1/content/{content}"),
            Some(f.key(Role::Analyst)),
            json!({"categories": {"age_group": "prepubescent", "activity": "lascivious_exhibition"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, xml) = draft(Role::Curator, "").await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(
        xml.contains("<industryClassification>A2</industryClassification>"),
        "{xml}"
    );
    // No URL given: left for the platform to fill in.
    assert!(xml.contains("Fill in where the content was"), "{xml}");
    assert!(!xml.contains("<url>"), "{xml}");

    // An item of no classification drafts none.
    let found = f
        .matches(Role::Platform, "md5", "ffeeddccbbaa99887766554433221100")
        .await;
    let unclassified = found["matches"][0]["content_id"].as_i64().unwrap();
    let (status, _, xml) = f
        .raw(
            Method::GET,
            &format!("/v1/content/{unclassified}/cybertip"),
            f.key(Role::Analyst),
            &[],
            Vec::new(),
        )
        .await;
    let xml = String::from_utf8(xml).unwrap();
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(!xml.contains("industryClassification"), "{xml}");
    assert!(xml.contains("<originalFileHash hashType=\"PDQ\">"), "{xml}");

    // Audited; refused to auditors, hidden from other organisations, 404 for no item, 400
    // for a field too long to be one.
    assert_eq!(
        f.audited(&format!("content:{content}"))
            .await
            .iter()
            .filter(|a| *a == "read.cybertip")
            .count(),
        2
    );
    let (status, _, _) = draft(Role::Auditor, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let uri = format!("/v1/content/{content}/cybertip");
    let (status, _) = f
        .json(
            Method::GET,
            &uri,
            Some(f.other_curator.as_str()),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f
        .json(
            Method::GET,
            "/v1/content/999999/cybertip",
            Some(f.key(Role::Platform)),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = draft(Role::Platform, &format!("?url={}", "a".repeat(3000))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A store failure part way through an import (here, the bank deleted while the list is
/// still arriving) answers an error that says how many records were stored before it.
#[tokio::test]
async fn an_import_stopped_by_the_store_says_what_was_stored() {
    let f = Fixture::new().await;
    let bank = f.bank("GOING", json!({})).await;
    let (chunks, receiver) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/banks/{bank}/import?format=csv"))
        .header("authorization", format!("Bearer {}", f.key(Role::Curator)))
        .body(Body::from_stream(body))
        .unwrap();
    let answer = tokio::spawn(router(f.state.clone()).oneshot(request));
    let rows = |from: usize, to: usize| {
        let text: String = (from..to).map(|n| format!("md5,{n:032x}\n")).collect();
        Ok(bytes::Bytes::from(text))
    };
    chunks
        .send(Ok(bytes::Bytes::from("signal_type,signal\n")))
        .await
        .unwrap();
    let store = &f.state.store;
    let before = store.last_seq().await.unwrap();
    let batch = crate::exchange::BATCH;
    for start in (0..batch).step_by(8_192) {
        chunks.send(rows(start, start + 8_192)).await.unwrap();
    }
    // The first batch is stored once a record after it has been read.
    chunks.send(rows(batch, batch + 1)).await.unwrap();
    for _ in 0..12_000 {
        if store.last_seq().await.unwrap() > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(store.last_seq().await.unwrap() > before, "no batch stored");
    let stored = store
        .bank_contents(ward_store::BankId(bank), None, 100_000)
        .await
        .unwrap()
        .len();
    assert!(stored > 0 && stored <= batch, "{stored}");
    store
        .delete_bank(&Actor::operator("test"), ward_store::BankId(bank))
        .await
        .unwrap();
    chunks.send(rows(batch + 1, batch + 10)).await.unwrap();
    drop(chunks);
    let response = answer.await.unwrap().unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with(&format!("{stored} records were stored before)")),
        "{message}"
    );
}
