//! The analyst's pages through the router: signing in and out, sessions that expire, roles
//! and CSRF tokens refused, the queue, the decrypted preview and the keyframes of a video,
//! decisions (with a bank, and nothing to act on), exposure, and the security headers.
//! Reported URLs are taken in through the store's own intake calls, their bytes sealed with
//! the evidence key as intake seals them; the media are benign generated pictures and the
//! repository's generated test video.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use tower::ServiceExt as _;
use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_core::digest::FileDigests;
use ward_store::{
    Actor, AnyStore, AuditQuery, BankId, BankKind, ContentKind, Evidence, FetchOutcome, NewBank,
    NewContent, NewReport, NewUser, OrgId, Role, Sharing, Signal, SignalKind, Store as _,
    Timestamp, UrlId, UrlState,
};

use super::CONTENT_SECURITY_POLICY;
use super::passwords::Password;
use super::session::{SESSION_COOKIE, Secret};
use crate::serve::evidence::EvidenceKey;
use crate::serve::intake::IntakeConfig;
use crate::serve::{Config, SharedState, router, start};

#[path = "reveal_tests.rs"]
mod reveal_tests;
#[path = "series_tests.rs"]
mod series_tests;

const PASSWORD: &str = "a long enough passphrase";

/// A benign generated picture: a gradient with a checkerboard.
fn picture(seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(96, 64, |x, y| {
        let on = ((x / 8) + (y / 8)) % 2 == 0;
        let base = (x * 2) as u8 ^ seed;
        image::Rgb(if on { [base, 120, 200] } else { [20, base, 60] })
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

fn clip() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/video/gen-clip5s.mp4"
    );
    std::fs::read(path).unwrap()
}

/// What a request answered.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }

    /// The value a `Set-Cookie` gives `name` (empty when it removes it).
    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookie(name)
            .map(|c| c.split(';').next().unwrap()[name.len() + 1..].to_owned())
    }

    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let text = self.text();
        let at = text.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
        text[at..at + 64].to_owned()
    }
}

/// What a URL served: its media type and bytes.
type Served<'a> = (&'a str, Vec<u8>);

struct Fixture {
    state: SharedState,
    key: Arc<EvidenceKey>,
    org: OrgId,
    /// Organisation A's standard bank, its negative bank, and another organisation's bank.
    bank: BankId,
    negative_bank: BankId,
    other_bank: BankId,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with(false).await
    }

    /// With `secure_cookies`: the deployment is reached over HTTPS.
    async fn with(secure_cookies: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = AnyStore::open(dir.path(), None).await.unwrap();
        let key = Arc::new(EvidenceKey::from_bytes(&[7; 32]));
        let config = Config {
            intake: IntakeConfig {
                interval: None,
                evidence: Some(Arc::clone(&key)),
                ..IntakeConfig::default()
            },
            secure_cookies,
            ..Config::default()
        };
        let state = start(store, config).await.unwrap();
        let operator = Actor::operator("test");
        let org = state.store.create_org(&operator, "Hotline").await.unwrap();
        let other = state
            .store
            .create_org(&operator, "Elsewhere")
            .await
            .unwrap();
        let hash = Password::new(PASSWORD.into()).unwrap().hash().unwrap();
        for (name, org, role) in [
            ("ana", org.id, Role::Analyst),
            ("cora", org.id, Role::Curator),
            ("adam", org.id, Role::Admin),
            ("audrey", org.id, Role::Auditor),
            ("pat", org.id, Role::Platform),
            ("otto", other.id, Role::Analyst),
        ] {
            state
                .store
                .create_user(
                    &operator,
                    &NewUser {
                        name: name.into(),
                        org,
                        role,
                        password_hash: hash.clone(),
                    },
                )
                .await
                .unwrap();
        }
        let bank = |name: &str, org: OrgId, kind: BankKind| NewBank {
            name: name.into(),
            org,
            kind,
            distance: 31,
            enabled: true,
            sharing: Sharing::Private,
            shared_with: Vec::new(),
            dispute_limit: None,
            description: String::new(),
        };
        let store = &state.store;
        let standard = store
            .create_bank(&operator, &bank("CONFIRMED", org.id, BankKind::Standard))
            .await
            .unwrap();
        let negative = store
            .create_bank(&operator, &bank("BENIGN", org.id, BankKind::Negative))
            .await
            .unwrap();
        let foreign = store
            .create_bank(&operator, &bank("THEIRS", other.id, BankKind::Standard))
            .await
            .unwrap();
        Fixture {
            state,
            key,
            org: org.id,
            bank: standard.id,
            negative_bank: negative.id,
            other_bank: foreign.id,
            _dir: dir,
        }
    }

    /// Reports `urls` (all in one report) and returns their ids.
    async fn report(&self, urls: &[&str]) -> Vec<UrlId> {
        self.state
            .store
            .file_report(&NewReport {
                country: "gb".into(),
                language: "en".into(),
                content_kind: ContentKind::Unsure,
                urls: urls.iter().map(|u| (*u).to_owned()).collect(),
                description: String::new(),
                email: None,
            })
            .await
            .unwrap()
            .urls
    }

    /// Takes the URLs reported so far through intake's store calls: each gets what `served`
    /// says it served (media type and bytes, sealed as intake seals them), or is refused.
    async fn take_in(&self, served: &[(UrlId, Option<Served<'_>>)]) {
        let now = Timestamp::now();
        let claimed = self
            .state
            .store
            .claim_urls(100, now, Timestamp(now.0 + 60_000))
            .await
            .unwrap();
        for url in claimed {
            let Some((_, what)) = served.iter().find(|(id, _)| *id == url.id) else {
                continue;
            };
            let outcome = match what {
                Some((media_type, bytes)) => {
                    let digests = FileDigests::of(bytes);
                    let (nonce, ciphertext) = self.key.seal(url.id, bytes).unwrap();
                    FetchOutcome::Fetched {
                        media_type: (*media_type).to_owned(),
                        sha256: digests.sha256.to_string(),
                        signals: vec![
                            Signal {
                                kind: SignalKind::Sha256,
                                value: digests.sha256.to_string(),
                            },
                            Signal {
                                kind: SignalKind::Md5,
                                value: digests.md5.to_string(),
                            },
                        ],
                        matched: None,
                        related: None,
                        evidence: Some(Evidence {
                            media_type: (*media_type).to_owned(),
                            nonce,
                            ciphertext,
                            stored_at: now,
                            delete_after: Timestamp(now.0 + 86_400_000),
                        }),
                    }
                }
                None => FetchOutcome::Failed {
                    error: "not a public address".into(),
                    refused: true,
                    retry_at: None,
                },
            };
            self.state
                .store
                .record_fetch(&Actor::intake(), url.id, &outcome)
                .await
                .unwrap();
        }
    }

    /// Two queued pictures and a queued video.
    async fn queued(&self) -> [UrlId; 3] {
        let ids = self
            .report(&[
                "https://host.example/a.png",
                "https://host.example/b.png",
                "https://video.example/c.mp4",
            ])
            .await;
        self.take_in(&[
            (ids[0], Some(("image/png", picture(1)))),
            (ids[1], Some(("image/png", picture(2)))),
            (ids[2], Some(("video/mp4", clip()))),
        ])
        .await;
        [ids[0], ids[1], ids[2]]
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        cookies: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if !cookies.is_empty() {
            let cookie: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header(header::COOKIE, cookie.join("; "));
        }
        let body = if form.is_empty() {
            Body::empty()
        } else {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            let encoded: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            Body::from(encoded)
        };
        let response = router(self.state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 26)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Signs in through the login form; returns the answer to the POST.
    async fn try_sign_in(&self, name: &str, password: &str) -> Answer {
        let form = self.send(Method::GET, "/analyst/login", &[], &[]).await;
        assert_eq!(form.status, StatusCode::OK);
        let login = form.cookie("ward_login").unwrap();
        let csrf = form.csrf();
        self.send(
            Method::POST,
            "/analyst/login",
            &[("ward_login", &login)],
            &[("csrf", &csrf), ("name", name), ("password", password)],
        )
        .await
    }

    /// Signs in; returns the session's cookie value.
    async fn sign_in(&self, name: &str) -> Session {
        let answer = self.try_sign_in(name, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
        assert_eq!(answer.location(), "/analyst/queue");
        let secret = answer.cookie(SESSION_COOKIE).unwrap();
        let page = self
            .send(
                Method::GET,
                "/analyst/queue",
                &[(SESSION_COOKIE, &secret)],
                &[],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        Session {
            csrf: page.csrf(),
            secret,
        }
    }

    async fn get(&self, session: &Session, uri: &str) -> Answer {
        self.send(Method::GET, uri, &[(SESSION_COOKIE, &session.secret)], &[])
            .await
    }

    /// POSTs a form with the session's CSRF token.
    async fn post(&self, session: &Session, uri: &str, form: &[(&str, &str)]) -> Answer {
        let mut fields = vec![("csrf", session.csrf.as_str())];
        fields.extend_from_slice(form);
        self.send(
            Method::POST,
            uri,
            &[(SESSION_COOKIE, &session.secret)],
            &fields,
        )
        .await
    }

    async fn user(&self, name: &str) -> ward_store::User {
        self.state.store.user_by_name(name).await.unwrap().unwrap()
    }
}

/// The reads of `target` in the audit log.
async fn reads(f: &Fixture, target: String) -> Vec<String> {
    let query = AuditQuery {
        target: Some(target),
        ..AuditQuery::deployment()
    };
    let log = f.state.store.audit_log(&query).await.unwrap();
    log.into_iter()
        .filter(|e| e.action.starts_with("read."))
        .map(|e| e.action)
        .collect()
}

struct Session {
    secret: String,
    csrf: String,
}

#[tokio::test]
async fn analyst_signs_in_and_failures_answer_alike() {
    let f = Fixture::new().await;
    let answer = f.try_sign_in("ana", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let cookie = answer.set_cookie(SESSION_COOKIE).unwrap();
    assert!(
        cookie.ends_with("; Max-Age=14400; Path=/analyst; HttpOnly; SameSite=Strict"),
        "{cookie}"
    );
    // The store keeps only the secret's digest: the secret itself finds no session.
    let secret = answer.cookie(SESSION_COOKIE).unwrap();
    let store = &f.state.store;
    let digest = Secret::parse(&secret).unwrap().digest();
    let now = Timestamp::now();
    assert_eq!(
        store
            .session_user(&digest, now)
            .await
            .unwrap()
            .unwrap()
            .name,
        "ana"
    );
    assert!(store.session_user(&secret, now).await.unwrap().is_none());

    // An unknown name, a wrong password and a disabled account get the same answer.
    let operator = Actor::operator("test");
    store
        .set_user_disabled(&operator, f.user("cora").await.id, true)
        .await
        .unwrap();
    let failures = [
        f.try_sign_in("nobody", PASSWORD).await,
        f.try_sign_in("ana", "a wrong passphrase!").await,
        f.try_sign_in("cora", PASSWORD).await,
        f.try_sign_in("", "").await,
    ];
    let without_token = |answer: &Answer| answer.text().replace(&answer.csrf(), "");
    for failure in &failures {
        assert_eq!(failure.status, StatusCode::UNAUTHORIZED);
        assert!(failure.set_cookie(SESSION_COOKIE).is_none());
        assert!(
            failure
                .text()
                .contains("The name or the password is not right."),
            "{}",
            failure.text()
        );
    }
    let (unknown, wrong) = (without_token(&failures[0]), without_token(&failures[1]));
    assert_eq!(unknown.replace("nobody", "ana"), wrong);
    assert_eq!(without_token(&failures[2]).replace("cora", "ana"), wrong);
    // The password is never sent back.
    assert!(!wrong.contains("a wrong passphrase"));
}

#[tokio::test]
async fn login_forms_need_their_own_cookie_and_token() {
    let f = Fixture::new().await;
    let form = f.send(Method::GET, "/analyst/login", &[], &[]).await;
    let login = form.cookie("ward_login").unwrap();
    let csrf = form.csrf();
    let other = f.send(Method::GET, "/analyst/login", &[], &[]).await;
    let fields = |token: &str| {
        vec![
            ("csrf", token.to_owned()),
            ("name", "ana".to_owned()),
            ("password", PASSWORD.to_owned()),
        ]
    };
    for (cookies, token) in [
        (vec![], csrf.clone()),
        (vec![("ward_login", login.as_str())], String::new()),
        (vec![("ward_login", login.as_str())], other.csrf()),
    ] {
        let fields = fields(&token);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = f
            .send(Method::POST, "/analyst/login", &cookies, &fields)
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text());
        assert!(answer.set_cookie(SESSION_COOKIE).is_none());
    }
}

#[tokio::test]
async fn secure_deployments_mark_cookies_secure() {
    let f = Fixture::with(true).await;
    let form = f.send(Method::GET, "/analyst/login", &[], &[]).await;
    assert!(form.set_cookie("ward_login").unwrap().ends_with("; Secure"));
    let answer = f.try_sign_in("ana", PASSWORD).await;
    assert!(
        answer
            .set_cookie(SESSION_COOKIE)
            .unwrap()
            .ends_with("; HttpOnly; SameSite=Strict; Secure")
    );
}

#[tokio::test]
async fn sessions_expire_and_end_at_logout() {
    let f = Fixture::new().await;
    // A session whose time has passed.
    let expired = Secret::random().unwrap();
    let ana = f.user("ana").await;
    let past = Timestamp(Timestamp::now().0 - 1000);
    f.state
        .store
        .create_session(ana.id, &expired.digest(), past)
        .await
        .unwrap();
    let answer = f
        .send(
            Method::GET,
            "/analyst/queue",
            &[(SESSION_COOKIE, expired.as_str())],
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/analyst/login");
    // No cookie, or one that is not a secret, is sent to sign in too.
    for cookies in [vec![], vec![(SESSION_COOKIE, "forged")]] {
        let answer = f.send(Method::GET, "/analyst/queue", &cookies, &[]).await;
        assert_eq!(answer.location(), "/analyst/login");
    }

    let session = f.sign_in("ana").await;
    // Logging out needs the token too.
    let refused = f
        .send(
            Method::POST,
            "/analyst/logout",
            &[(SESSION_COOKIE, &session.secret)],
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        f.get(&session, "/analyst/queue").await.status,
        StatusCode::OK
    );
    let out = f.post(&session, "/analyst/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/analyst/login");
    assert_eq!(out.cookie(SESSION_COOKIE).as_deref(), Some(""));
    let after = f.get(&session, "/analyst/queue").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), "/analyst/login");

    // A new password ends the sessions started with the old one.
    let session = f.sign_in("ana").await;
    let hash = Password::new("another long passphrase".into())
        .unwrap()
        .hash()
        .unwrap();
    f.state
        .store
        .set_password(&Actor::operator("test"), ana.id, &hash)
        .await
        .unwrap();
    assert_eq!(
        f.get(&session, "/analyst/queue").await.location(),
        "/analyst/login"
    );
}

#[tokio::test]
async fn only_analysts_curators_and_admins_work_the_queue() {
    let f = Fixture::new().await;
    let [image, ..] = f.queued().await;
    for name in ["ana", "cora", "adam"] {
        let session = f.sign_in(name).await;
        let page = f.get(&session, &format!("/analyst/url/{image}")).await;
        assert_eq!(page.status, StatusCode::OK, "{name}");
    }
    for name in ["audrey", "pat"] {
        // Their passwords are right, but no session starts.
        let answer = f.try_sign_in(name, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{name}");
        assert!(answer.set_cookie(SESSION_COOKIE).is_none());
        assert!(answer.text().contains("do not work the analysts"));
        // A session they hold anyway opens nothing.
        let secret = Secret::random().unwrap();
        let user = f.user(name).await;
        let later = Timestamp(Timestamp::now().0 + 60_000);
        f.state
            .store
            .create_session(user.id, &secret.digest(), later)
            .await
            .unwrap();
        let cookies = [(SESSION_COOKIE, secret.as_str())];
        for uri in [
            "/analyst/queue".to_owned(),
            format!("/analyst/url/{image}"),
            format!("/analyst/url/{image}/media"),
        ] {
            let answer = f.send(Method::GET, &uri, &cookies, &[]).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{name} {uri}");
            assert!(!answer.body.starts_with(b"\x89PNG"));
        }
    }
}

#[tokio::test]
async fn forms_without_the_sessions_token_are_refused() {
    let f = Fixture::new().await;
    let [image, ..] = f.queued().await;
    let ana = f.sign_in("ana").await;
    let otto = f.sign_in("otto").await;
    let uri = format!("/analyst/url/{image}");
    let decision = [
        ("decision", "not_actionable"),
        ("note", "a test of the token"),
    ];
    for token in ["", "00", otto.csrf.as_str(), &"0".repeat(64)] {
        let mut fields = vec![("csrf", token)];
        fields.extend_from_slice(&decision);
        let answer = f
            .send(
                Method::POST,
                &uri,
                &[(SESSION_COOKIE, &ana.secret)],
                &fields,
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{token}");
        let answer = f
            .send(
                Method::POST,
                "/analyst/exposure",
                &[(SESSION_COOKIE, &ana.secret)],
                &[("csrf", token), ("seconds", "5")],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{token}");
    }
    let url = f.state.store.reported_url(image).await.unwrap().unwrap();
    assert_eq!(url.state, UrlState::Queued);
    let ana_id = f.user("ana").await.id;
    let today = super::session::today();
    assert_eq!(f.state.store.exposure(ana_id, &today).await.unwrap(), 0);
    // Forms are small: a large body is refused before it is read.
    let large = "x".repeat(100 << 10);
    let answer = f
        .post(
            &ana,
            "/analyst/exposure",
            &[("seconds", "5"), ("pad", &large)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Without a session at all, a form is not a page: 401.
    let answer = f
        .send(Method::POST, &uri, &[], &[("decision", "abuse")])
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_queue_lists_only_queued_items_with_age_reports_and_match_state() {
    let f = Fixture::new().await;
    let [a, b, video] = f.queued().await;
    // Reported again: two reports.
    f.report(&["https://host.example/b.png"]).await;
    let refused = f.report(&["http://10.0.0.1/x.png"]).await[0];
    let received = f.report(&["https://later.example/d.png"]).await[0];
    f.take_in(&[(refused, None)]).await;
    let _ = received; // left as received: not fetched yet
    let session = f.sign_in("ana").await;
    let page = f.get(&session, "/analyst/queue").await;
    let text = page.text();
    for id in [a, b, video] {
        assert!(
            text.contains(&format!("href=\"/analyst/url/{id}\"")),
            "{id}"
        );
    }
    assert!(!text.contains("10.0.0.1"));
    assert!(!text.contains("later.example"));
    assert_eq!(text.matches("<tr data-id=").count(), 3);
    let row = |id: UrlId| {
        let start = text.find(&format!("<tr data-id=\"{id}\"")).unwrap();
        let end = start + text[start..].find("</tr>").unwrap();
        text[start..end].to_owned()
    };
    let b_row = row(b);
    assert!(b_row.contains("<td class=\"number\">2</td>"), "{b_row}");
    assert!(b_row.contains("match-novel\">novel<"), "{b_row}");
    assert!(
        b_row.contains(">0 s<") || b_row.contains(" s</time>"),
        "{b_row}"
    );
    assert!(row(a).contains("<td class=\"number\">1</td>"));
    assert!(row(video).contains("<td>video/mp4</td>"));
    assert!(row(a).contains("<td>image/png</td>"));
    // The header shows who is signed in and their exposure today.
    assert!(text.contains("id=\"exposure-today\" data-seconds=\"0\">0 s</strong>"));

    // An item's page says where it is hosted: not known until intake placed it.
    let page = f.get(&session, &format!("/analyst/url/{a}")).await.text();
    assert!(page.contains("<dd id=\"hosting\">not known</dd>"), "{page}");
    let places = [
        ward_store::HostingPlace {
            address: "192.0.2.7".into(),
            country: Some("NL".into()),
            asn: Some(64_500),
            network: Some("Example <Hosting>".into()),
        },
        ward_store::HostingPlace {
            address: "2001:db8::7".into(),
            country: None,
            asn: None,
            network: None,
        },
    ];
    f.state.store.set_url_hosting(a, &places).await.unwrap();
    let page = f.get(&session, &format!("/analyst/url/{a}")).await.text();
    assert!(
        page.contains("<li>NL, AS64500 (Example &#60;Hosting&#62;) – 192.0.2.7</li>"),
        "{page}"
    );
    assert!(page.contains("<li>unknown – 2001:db8::7</li>"), "{page}");
}

#[tokio::test]
async fn previews_are_decrypted_only_for_a_session_and_every_view_is_logged() {
    let f = Fixture::new().await;
    let [image, ..] = f.queued().await;
    let uri = format!("/analyst/url/{image}/media");
    let refused = f.send(Method::GET, &uri, &[], &[]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(!refused.body.starts_with(b"\x89PNG"));

    let session = f.sign_in("ana").await;
    let answer = f.get(&session, &uri).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, picture(1));
    assert_eq!(answer.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    let ana = f.user("ana").await;
    let log = f
        .state
        .store
        .audit_log(&AuditQuery {
            target: Some(format!("url:{image}")),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap();
    let reads: Vec<_> = log.iter().filter(|e| e.action == "read.evidence").collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].actor, format!("user:{}", ana.id));

    // The item page shows it blurred, with the reveal control and the facts.
    let page = f.get(&session, &format!("/analyst/url/{image}")).await;
    let text = page.text();
    assert!(text.contains("class=\"reveal-toggle scripted\""));
    assert!(text.contains(&format!("src=\"/analyst/url/{image}/media\"")));
    assert!(text.contains("class=\"shield\""));
    // A URL nobody reported is not found.
    assert_eq!(
        f.get(&session, "/analyst/url/999999/media").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_video_shows_a_keyframe_grid_and_a_muted_player() {
    let f = Fixture::new().await;
    let [image, _, video] = f.queued().await;
    let session = f.sign_in("ana").await;
    let page = f.get(&session, &format!("/analyst/url/{video}")).await;
    let text = page.text();
    assert!(text.contains(&format!("src=\"/analyst/url/{video}/keyframes\"")));
    assert!(text.contains("muted controls preload=\"none\""));
    let grid = f
        .get(&session, &format!("/analyst/url/{video}/keyframes"))
        .await;
    assert_eq!(grid.status, StatusCode::OK, "{}", grid.text());
    assert_eq!(grid.headers[header::CONTENT_TYPE], "image/png");
    let picture = ward_core::decode::decode(&grid.body, &Default::default()).unwrap();
    assert_eq!((picture.width(), picture.height()), (480, 270));
    // A picture has no keyframes (and asking is no view of it).
    let none = f
        .get(&session, &format!("/analyst/url/{image}/keyframes"))
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reads(&f, format!("url:{video}")).await,
        ["read.evidence.keyframes"]
    );
    assert!(reads(&f, format!("url:{image}")).await.is_empty());
}

#[tokio::test]
async fn an_assessment_adds_the_content_to_a_bank_and_moves_on() {
    let f = Fixture::new().await;
    let [first, _, newest] = f.queued().await;
    let session = f.sign_in("ana").await;
    let page = f.get(&session, &format!("/analyst/url/{first}")).await;
    let text = page.text();
    // The organisation's standard banks only.
    assert!(text.contains(&format!("<option value=\"{}\">CONFIRMED</option>", f.bank)));
    assert!(!text.contains("BENIGN"));
    assert!(!text.contains("THEIRS"));
    // Each activity shows its UK label, and the industry table comes from the core's.
    assert!(text.contains("data-uk=\"A\" data-industry-prepubescent=\"A1\""));
    assert!(text.contains("name=\"age_group\" value=\"prepubescent\" data-key=\"1\""));

    let uri = format!("/analyst/url/{first}");
    for bank in [f.other_bank, f.negative_bank] {
        let bank = bank.to_string();
        let answer = f
            .post(
                &session,
                &uri,
                &[
                    ("decision", "abuse"),
                    ("age_group", "pubescent"),
                    ("activity", "lascivious_exhibition"),
                    ("bank", &bank),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{bank}");
    }
    let missing = f
        .post(
            &session,
            &uri,
            &[("decision", "abuse"), ("activity", "sadism")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);

    let bank = f.bank.to_string();
    let answer = f
        .post(
            &session,
            &uri,
            &[
                ("decision", "abuse"),
                ("age_group", "pubescent"),
                ("activity", "lascivious_exhibition"),
                ("bank", &bank),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(
        answer.location(),
        format!("/analyst/url/{newest}?previous={first}")
    );
    let url = f.state.store.reported_url(first).await.unwrap().unwrap();
    let assessment = Assessment {
        age_group: AgeGroup::Pubescent,
        activity: Activity::LasciviousExhibition,
    };
    assert_eq!(url.state, UrlState::Assessed);
    assert_eq!(url.assessment, Some(assessment));
    assert_eq!(url.assessed_by, Some(f.user("ana").await.id));
    let content = f
        .state
        .store
        .content(url.added_content.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content.bank, f.bank);
    assert_eq!(content.assessment, Some(assessment));
    assert_eq!(content.provenance.added_by_org, Some(f.org));
    let mut signals: Vec<_> = content.signals.iter().map(|s| s.value.clone()).collect();
    let mut expected: Vec<_> = url.signals.iter().map(|s| s.value.clone()).collect();
    signals.sort();
    expected.sort();
    assert_eq!(signals, expected);
    // It is no longer in the queue, and the next page says what was recorded.
    let queue = f.get(&session, "/analyst/queue").await.text();
    assert!(!queue.contains(&format!("href=\"/analyst/url/{first}\"")));
    let next = f.get(&session, answer.location()).await.text();
    assert!(next.contains(&format!("Decision on <a href=\"/analyst/url/{first}\">")));
    // The decision shows with its derived labels, and can be changed.
    let again = f.get(&session, &uri).await.text();
    assert!(again.contains("(UK C, industry B2)"), "{again}");
    assert!(again.contains("value=\"pubescent\" data-key=\"2\" required checked"));
    let changed = f
        .post(
            &session,
            &uri,
            &[("decision", "not_actionable"), ("note", "adult, on review")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    let url = f.state.store.reported_url(first).await.unwrap().unwrap();
    assert_eq!(url.state, UrlState::NotActionable);
}

#[tokio::test]
async fn nothing_to_act_on_needs_a_note() {
    let f = Fixture::new().await;
    let ids = f.report(&["https://host.example/only.png"]).await;
    f.take_in(&[(ids[0], Some(("image/png", picture(9))))])
        .await;
    let session = f.sign_in("cora").await;
    let uri = format!("/analyst/url/{}", ids[0]);
    let empty = f
        .post(
            &session,
            &uri,
            &[("decision", "not_actionable"), ("note", "   ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let answer = f
        .post(
            &session,
            &uri,
            &[
                ("decision", "not_actionable"),
                ("note", "a holiday photo, out of scope"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    // The queue is empty now.
    assert_eq!(answer.location(), "/analyst/queue");
    let url = f.state.store.reported_url(ids[0]).await.unwrap().unwrap();
    assert_eq!(url.state, UrlState::NotActionable);
    assert_eq!(
        url.decision_note.as_deref(),
        Some("a holiday photo, out of scope")
    );
    assert_eq!(url.added_content, None);
    let queue = f.get(&session, "/analyst/queue").await.text();
    assert!(queue.contains("id=\"queue-empty\""));
}

#[tokio::test]
async fn exposure_adds_up_and_shows_on_every_page() {
    let f = Fixture::new().await;
    let session = f.sign_in("ana").await;
    let other = f.sign_in("otto").await;
    for (seconds, total) in [("5", 5), ("7", 12), ("60", 72)] {
        let answer = f
            .post(&session, "/analyst/exposure", &[("seconds", seconds)])
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(json["seconds"], total);
    }
    for bad in ["0", "61", "-1", "x", ""] {
        let answer = f
            .post(&session, "/analyst/exposure", &[("seconds", bad)])
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let page = f.get(&session, "/analyst/queue").await.text();
    assert!(
        page.contains("data-seconds=\"72\">1 min 12 s</strong>"),
        "{page}"
    );
    // Someone else's exposure is theirs.
    let page = f.get(&other, "/analyst/queue").await.text();
    assert!(page.contains("data-seconds=\"0\">0 s</strong>"));
    // Without a session: 401.
    let answer = f
        .send(Method::POST, "/analyst/exposure", &[], &[("seconds", "5")])
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let f = Fixture::new().await;
    let [image, ..] = f.queued().await;
    let session = f.sign_in("ana").await;
    let answers = [
        f.send(Method::GET, "/analyst/login", &[], &[]).await,
        f.send(Method::GET, "/analyst/queue", &[], &[]).await,
        f.get(&session, "/analyst/queue").await,
        f.get(&session, &format!("/analyst/url/{image}")).await,
        f.get(&session, &format!("/analyst/url/{image}/media"))
            .await,
        f.get(&session, "/analyst/url/424242").await,
        f.get(&session, "/analyst/static/analyst.css").await,
        f.get(&session, "/analyst/static/analyst.js").await,
    ];
    for answer in &answers {
        let h = &answer.headers;
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h["x-robots-tag"], "noindex, nofollow, noarchive");
        // The same set as the portal's (`page_headers`).
        assert_eq!(h["cross-origin-opener-policy"], "same-origin");
        assert_eq!(h["cross-origin-resource-policy"], "same-origin");
        assert_eq!(
            h["permissions-policy"],
            "camera=(), microphone=(), geolocation=()"
        );
    }
    assert!(
        CONTENT_SECURITY_POLICY.starts_with("default-src 'none'; img-src 'self' blob:; media-src 'self'; style-src 'self'; script-src 'self';")
    );
    assert_eq!(answers[5].status, StatusCode::NOT_FOUND);
    assert_eq!(
        answers[6].headers[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    // No inline script or style on any page: everything comes from the two static files.
    for answer in &answers[..4] {
        let text = answer.text();
        assert!(!text.contains("<script>"), "inline script");
        assert!(!text.contains("<style"), "inline style");
        assert!(!text.contains(" style="), "inline style attribute");
        assert!(!text.contains(" onclick="), "inline handler");
    }
}

#[tokio::test]
async fn the_figures_page_shows_charts_beside_tables_and_downloads_csv() {
    let f = Fixture::new().await;
    f.queued().await;
    let session = f.sign_in("ana").await;
    let page = f.get(&session, "/analyst/statistics").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let text = page.text();
    // Three reports today from the fixture's country and language, three URLs queued.
    for expected in [
        "<h1>Figures</h1>",
        "id=\"reports-table\"",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"",
        "Reports by country and language",
        "<td>queued</td><td class=\"number\">3</td>",
        "href=\"/analyst/statistics.csv?from=",
        // Nothing forwarded across borders in the fixture: the table says so.
        "id=\"forwards-table\"",
        "<th scope=\"row\">Forwarded to partners</th><td class=\"number\">0</td>",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert_eq!(text.matches("<svg ").count(), 3);
    // Each chart is named by its own title and description.
    for chart in ["reports-chart", "urls-chart", "removal-chart"] {
        assert_eq!(
            text.matches(&format!("aria-labelledby=\"{chart}-title {chart}-desc\""))
                .count(),
            1,
            "{chart}"
        );
        assert_eq!(text.matches(&format!("id=\"{chart}-title\"")).count(), 1);
    }
    assert!(!text.contains(" style="), "inline style");
    let csv = f
        .get(
            &session,
            "/analyst/statistics.csv?from=2026-01-01&to=2100-01-01",
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("ward-figures-2026-01-01-2100-01-01.csv")
    );
    assert!(csv.text().contains("urls,queued,3\n"), "{}", csv.text());
    assert!(csv.text().contains("forwards,out,0\n"), "{}", csv.text());
    let bad = f.get(&session, "/analyst/statistics?from=someday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Without a session: to the sign-in page.
    let answer = f.send(Method::GET, "/analyst/statistics", &[], &[]).await;
    assert_ne!(answer.status, StatusCode::OK);
}

/// Guessing passwords is slowed: a client has 10 tries at once, then a few a minute, and a
/// refused try says when to come back; the right password is refused too until then.
#[tokio::test]
async fn sign_in_tries_are_limited_per_client() {
    let f = Fixture::new().await;
    let limits = crate::serve::SIGN_IN_LIMITS;
    for _ in 0..limits.burst {
        let answer = f.try_sign_in("ana", "a wrong passphrase!").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let refused = f.try_sign_in("ana", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.set_cookie(SESSION_COOKIE).is_none());
    let wait: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        refused.text().contains("Too many sign-in attempts"),
        "{}",
        refused.text()
    );
}

#[tokio::test]
async fn the_queue_puts_novel_content_first_and_shows_series() {
    let f = Fixture::new().await;
    let novel = f.queued().await;
    // Bank content without an assessment (a list's hash), in a series once kept.
    let operator = Actor::operator("test");
    let listed = f
        .state
        .store
        .add_content(
            &operator,
            f.bank,
            &[NewContent {
                signals: vec![Signal {
                    kind: SignalKind::Pdq,
                    value: "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
                        .into(),
                }],
                source: "list".into(),
                ..NewContent::default()
            }],
        )
        .await
        .unwrap()[0];
    f.state.index.follow(&f.state.store).await.unwrap();
    f.state.keep_series().await.expect("a keeper step");
    let series = f.state.store.content_series(&[listed]).await.unwrap()[0]
        .1
        .id;
    // A URL reported after the others that matched it: queued with its series.
    let related = f.report(&["https://later.example/d.png"]).await[0];
    let now = Timestamp::now();
    f.state
        .store
        .claim_urls(100, now, Timestamp(now.0 + 60_000))
        .await
        .unwrap();
    f.state
        .store
        .record_fetch(
            &Actor::intake(),
            related,
            &FetchOutcome::Fetched {
                media_type: "image/png".into(),
                sha256: "ab".repeat(32),
                signals: Vec::new(),
                matched: None,
                related: Some(listed),
                evidence: None,
            },
        )
        .await
        .unwrap();

    let session = f.sign_in("ana").await;
    let page = f.get(&session, "/analyst/queue").await;
    let text = page.text();
    let at = |id: UrlId| {
        text.find(&format!("data-id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id} not in the queue"))
    };
    // Novel first (the newest report first), then the match of a series without an
    // identified victim, even though it was reported last.
    assert!(at(novel[2]) < at(novel[1]) && at(novel[1]) < at(novel[0]));
    assert!(at(novel[0]) < at(related));
    // Numbered from 1 on screen, linked by its id.
    assert!(
        text.contains(&format!(
            "href=\"/analyst/series/{series}\">#{}",
            series.0 + 1
        )),
        "the series is shown"
    );
    assert!(text.contains("victim not identified"));
    assert!(text.contains("matched, not assessed"));
    let item = f.get(&session, &format!("/analyst/url/{related}")).await;
    assert!(item.text().contains("id=\"series\""));
}

/// One sign-in opens the analyst's pages and the console (its cookie is set for each, and
/// for nothing else); each area lets in its own roles, and signing out of one ends both.
#[tokio::test]
async fn one_sign_in_opens_both_areas() {
    let f = Fixture::new().await;
    let form = f.send(Method::GET, "/admin/login", &[], &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.text().contains("action=\"/admin/login\""),
        "{}",
        form.text()
    );
    let login = form.set_cookie("ward_login").unwrap();
    assert!(login.contains("; Path=/admin;"), "{login}");
    let (f, form) = (&f, &form);
    let sign_in = |name: &'static str| async move {
        f.send(
            Method::POST,
            "/admin/login",
            &[("ward_login", &form.cookie("ward_login").unwrap())],
            &[
                ("csrf", &form.csrf()),
                ("name", name),
                ("password", PASSWORD),
            ],
        )
        .await
    };
    let answer = sign_in("audrey").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(answer.location(), "/admin");
    let paths: Vec<String> = answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|c| c.starts_with("ward_analyst="))
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].contains("; Path=/analyst;") && paths[1].contains("; Path=/admin;"));
    let secret = answer.cookie(SESSION_COOKIE).unwrap();
    let cookies = [(SESSION_COOKIE, secret.as_str())];
    // An auditor opens the console's overview, and its audit log in the navigation, but not
    // the queue.
    let overview = f.send(Method::GET, "/admin", &cookies, &[]).await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.text());
    let text = overview.text();
    assert!(text.contains("href=\"/admin/audit\""), "{text}");
    assert!(!text.contains("href=\"/admin/people\""), "{text}");
    let queue = f.send(Method::GET, "/analyst/queue", &cookies, &[]).await;
    assert_eq!(queue.status, StatusCode::FORBIDDEN);

    // A platform's account opens neither.
    let refused = sign_in("pat").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert!(refused.set_cookie(SESSION_COOKIE).is_none());
    assert!(
        refused.text().contains("Back to the console"),
        "{}",
        refused.text()
    );

    // An analyst signed in at the analyst's pages opens the console too.
    let ana = f.sign_in("ana").await;
    let cookies = [(SESSION_COOKIE, ana.secret.as_str())];
    let page = f.send(Method::GET, "/admin", &cookies, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains("href=\"/admin/audit\""));
    // Signing out of the console without the form's token is refused; with it, it ends the
    // session everywhere.
    let out = f.send(Method::POST, "/admin/logout", &cookies, &[]).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    let csrf = page.csrf();
    let out = f
        .send(Method::POST, "/admin/logout", &cookies, &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/admin/login");
    let after = f.send(Method::GET, "/analyst/queue", &cookies, &[]).await;
    assert_eq!(after.location(), "/analyst/login");
    let after = f.send(Method::GET, "/admin", &cookies, &[]).await;
    assert_eq!(after.location(), "/admin/login");
}
