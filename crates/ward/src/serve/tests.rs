//! The service through its router, and through a real listening server
//! (`Fixture::listening`: a loopback port and a minimal HTTP/1.1 client). The authorisation
//! matrix of every route and role runs on both; bank visibility across organisations,
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

pub(super) struct Fixture {
    pub(super) state: SharedState,
    /// Where a real listening server answers; `None`: requests go through the router alone.
    listening: Option<std::net::SocketAddr>,
    _dir: tempfile::TempDir,
    /// Keys of organisation A, by role.
    keys: Vec<(Role, String)>,
    /// A curator of organisation B.
    pub(super) other_curator: String,
}

impl Fixture {
    pub(super) async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = AnyStore::open(dir.path(), None).await.unwrap();
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
        let state = start(store, Config::default()).await.unwrap();
        Fixture {
            state,
            listening: None,
            _dir: dir,
            keys,
            other_curator: other.secret,
        }
    }

    /// The same, with the service listening on a loopback port and every request sent to
    /// it over TCP.
    pub(super) async fn listening() -> Fixture {
        let mut f = Fixture::new().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        f.listening = Some(listener.local_addr().unwrap());
        let app = router(f.state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        f
    }

    pub(super) fn key(&self, role: Role) -> &str {
        &self.keys.iter().find(|(r, _)| *r == role).unwrap().1
    }

    /// Sends a request; `body` is JSON, or raw bytes with their content type.
    pub(super) async fn send(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Body,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let (status, bytes) = match self.listening {
            Some(address) => {
                let body = axum::body::to_bytes(body, 1 << 24).await.unwrap();
                over_tcp(address, &method, uri, key, &body, content_type).await
            }
            None => {
                let mut request = Request::builder().method(method).uri(uri);
                if let Some(key) = key {
                    request = request.header("authorization", format!("Bearer {key}"));
                }
                if !content_type.is_empty() {
                    request = request.header("content-type", content_type);
                }
                let response = router(self.state.clone())
                    .oneshot(request.body(body).unwrap())
                    .await
                    .unwrap();
                let status = response.status();
                let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
                    .await
                    .unwrap();
                (status, bytes.to_vec())
            }
        };
        let value = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    pub(super) async fn json(
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
    pub(super) async fn bank(&self, name: &str, extra: Value) -> i64 {
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
    pub(super) async fn content(&self, bank: i64, signal_type: &str, signal: &str) -> i64 {
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

    pub(super) async fn follow(&self) {
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

/// One HTTP/1.1 request on a fresh connection to `address` (closed after the answer): the
/// status and the body, de-chunked.
async fn over_tcp(
    address: std::net::SocketAddr,
    method: &Method,
    uri: &str,
    key: Option<&str>,
    body: &[u8],
    content_type: &str,
) -> (StatusCode, Vec<u8>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut head = format!(
        "{method} {uri} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(key) = key {
        head.push_str(&format!("authorization: Bearer {key}\r\n"));
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
pub(super) fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

fn multipart(bytes: &[u8]) -> (Body, String) {
    let boundary = "wardtestboundary";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        Body::from(body),
        format!("multipart/form-data; boundary={boundary}"),
    )
}

/// Every route, every role: what each may do, what each is refused (403), and 401 without
/// a key or with a wrong one.
/// Every `/v1` route for every role (and without a key, and with a wrong one), through the
/// router.
#[tokio::test]
async fn authorisation_matrix() {
    authorisation_matrix_of(Fixture::new().await).await;
}

/// The same matrix against a real listening server, over TCP.
#[tokio::test]
async fn authorisation_matrix_over_tcp() {
    authorisation_matrix_of(Fixture::listening().await).await;
}

async fn authorisation_matrix_of(f: Fixture) {
    use Role::*;
    let bank = f.bank("MATRIX", json!({})).await;
    let content = f.content(bank, "pdq", PDQ).await;
    let png = png();

    // (method, path, body, roles allowed, status when allowed). Routes that consume what
    // they act on get a fresh target per role through `{target}`.
    enum Body_ {
        None,
        Json(Value),
        Csv(&'static str),
        Media,
    }
    let all = &[Admin, Curator, Analyst, Platform, Auditor][..];
    let cases: Vec<(Method, String, Body_, &[Role], StatusCode)> = vec![
        (
            Method::GET,
            "/v1/banks".into(),
            Body_::None,
            all,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/banks".into(),
            Body_::Json(json!({"name": "NEW_{role}"})),
            &[Admin, Curator],
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/v1/banks/{bank}"),
            Body_::None,
            all,
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/v1/banks/{bank}"),
            Body_::Json(json!({"distance": 30})),
            &[Admin, Curator],
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            "/v1/banks/{bank_target}".into(),
            Body_::None,
            &[Admin, Curator],
            StatusCode::NO_CONTENT,
        ),
        (
            Method::GET,
            format!("/v1/banks/{bank}/content"),
            Body_::None,
            &[Admin, Curator, Analyst],
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/v1/banks/{bank}/content"),
            Body_::Json(json!({"signals": [{"signal_type": "md5", "signal": MD5}]})),
            &[Admin, Curator],
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            format!("/v1/banks/{bank}/signals"),
            Body_::Csv("signal_type,signal\nmd5,0123456789abcdef0123456789abcdef\n"),
            &[Admin, Curator],
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v1/content/{content}"),
            Body_::None,
            &[Admin, Curator, Analyst],
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/v1/content/{content}"),
            Body_::Json(json!({"enabled": true})),
            &[Admin, Curator],
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/v1/content/{content}"),
            Body_::Json(
                json!({"categories": {"age_group": "pubescent", "activity": "lascivious_exhibition"}}),
            ),
            &[Admin, Curator, Analyst],
            StatusCode::OK,
        ),
        (
            Method::PUT,
            format!("/v1/content/{content}/opinion"),
            Body_::Json(json!({"opinion": "confirm"})),
            &[Admin, Curator, Analyst],
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            "/v1/content/{content_target}".into(),
            Body_::None,
            &[Admin, Curator],
            StatusCode::NO_CONTENT,
        ),
        (
            Method::POST,
            "/v1/hash".into(),
            Body_::Media,
            &[Admin, Curator, Analyst, Platform],
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v1/match?signal_type=pdq&signal={PDQ}"),
            Body_::None,
            &[Admin, Curator, Analyst, Platform],
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/match".into(),
            Body_::Json(json!({"signals": [{"signal_type": "md5", "signal": MD5}]})),
            &[Admin, Curator, Analyst, Platform],
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/match".into(),
            Body_::Media,
            &[Admin, Curator, Analyst, Platform],
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/audit".into(),
            Body_::None,
            &[Admin, Auditor],
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/feed?limit=10".into(),
            Body_::None,
            &[Admin, Curator, Analyst],
            StatusCode::OK,
        ),
    ];
    let mut checked = 0;
    for (method, path, body, allowed, ok) in &cases {
        for &role in all {
            let mut path = path.replace("{role}", role.name());
            if path.contains("{bank_target}") {
                let target = f.bank(&format!("DELETE_ME_{role}"), json!({})).await;
                path = path.replace("{bank_target}", &target.to_string());
            }
            if path.contains("{content_target}") {
                let target = f
                    .content(bank, "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")
                    .await;
                path = path.replace("{content_target}", &target.to_string());
            }
            let make = || match body {
                Body_::None => (Body::empty(), String::new()),
                Body_::Json(v) => (
                    Body::from(v.to_string().replace("{role}", role.name())),
                    "application/json".into(),
                ),
                Body_::Csv(text) => (Body::from(*text), "text/csv".into()),
                Body_::Media => multipart(&png),
            };
            let (request_body, content_type) = make();
            let (status, answer) = f
                .send(
                    method.clone(),
                    &path,
                    Some(f.key(role)),
                    request_body,
                    &content_type,
                )
                .await;
            let expected = if allowed.contains(&role) {
                *ok
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{method} {path} as {role}: {answer}");
            checked += 1;
            if role == Admin {
                // Without a key, and with a wrong one.
                for key in [None, Some("ward_not_a_key")] {
                    let (request_body, content_type) = make();
                    let (status, _) = f
                        .send(method.clone(), &path, key, request_body, &content_type)
                        .await;
                    assert_eq!(
                        status,
                        StatusCode::UNAUTHORIZED,
                        "{method} {path} with {key:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    eprintln!("authorisation matrix: {checked} requests checked");
    // Health and metrics need no key.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let (status, _) = f.json(Method::GET, path, None, Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
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
/// by line number, and the imported hashes matched.
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
            Body::from(csv),
            "text/csv",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["added"], 12_001);
    assert_eq!(report["malformed"], 1);
    assert_eq!(report["errors"][0]["line"], 12_002);

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
    let (held, from_memory, from_store) = f.state.index.summaries().stats();
    assert_eq!((held, from_memory, from_store), (1, 1, 1));

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
    assert_eq!(f.state.index.summaries().stats().0, 0);
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
    let f = Fixture::new().await;
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
