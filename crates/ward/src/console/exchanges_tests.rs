//! The console's exchanges, audit log and contacts through the router: a curator runs a
//! `file` exchange (made, fetched at once, credentials kept but never shown, disabled,
//! deleted), each role sees only the controls it may use and is refused what it may not
//! post; the audit log searched and downloaded as CSV with formulas made inert; hosts'
//! contacts set, refused when malformed, and removed.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use tower::ServiceExt as _;
use ward_store::{Actor, AnyStore, AuditQuery, NewUser, OrgId, Role, Store as _, Timestamp};

use crate::analyst::session::{SESSION_COOKIE, SESSION_FORMS, Secret};
use crate::serve::{Config, SharedState, router, start};

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }
}

/// A deployment with one person of each role in organisation "Hotline", and a curator of
/// "Elsewhere", each signed in.
struct Console {
    state: SharedState,
    /// By name: the session's secret and its forms' CSRF token.
    sessions: HashMap<&'static str, (String, String)>,
    org: OrgId,
    _dir: tempfile::TempDir,
}

impl Console {
    async fn new() -> Console {
        let dir = tempfile::tempdir().unwrap();
        let store = AnyStore::open(dir.path(), None).await.unwrap();
        let config = Config {
            secrets: Some(std::sync::Arc::new(
                crate::serve::evidence::EvidenceKey::from_bytes(&[7; 32]),
            )),
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
        let mut sessions = HashMap::new();
        for (name, org, role) in [
            ("adam", org.id, Role::Admin),
            ("olga", org.id, Role::OrgAdmin),
            ("cora", org.id, Role::Curator),
            ("ana", org.id, Role::Analyst),
            ("audrey", org.id, Role::Auditor),
            ("otto", other.id, Role::Curator),
        ] {
            let user = state
                .store
                .create_user(
                    &operator,
                    &NewUser {
                        name: name.into(),
                        org,
                        role,
                        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
                            .into(),
                    },
                )
                .await
                .unwrap();
            let secret = Secret::random().unwrap();
            let expires = Timestamp(Timestamp::now().0 + 3_600_000);
            state
                .store
                .create_session(user.id, &secret.digest(), expires)
                .await
                .unwrap();
            sessions.insert(
                name,
                (secret.as_str().to_owned(), secret.csrf_token(SESSION_FORMS)),
            );
        }
        Console {
            state,
            sessions,
            org: org.id,
            _dir: dir,
        }
    }

    async fn send(&self, method: Method, uri: &str, who: &str, form: &[(&str, &str)]) -> Answer {
        let (secret, csrf) = &self.sessions[who];
        let mut request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::COOKIE, format!("{SESSION_COOKIE}={secret}"));
        let body = if method == Method::GET {
            Body::empty()
        } else {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            let mut fields = url::form_urlencoded::Serializer::new(String::new());
            fields.append_pair("csrf", csrf);
            fields.extend_pairs(form);
            Body::from(fields.finish())
        };
        let response = router(self.state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, uri: &str, who: &str) -> Answer {
        self.send(Method::GET, uri, who, &[]).await
    }

    async fn post(&self, uri: &str, who: &str, form: &[(&str, &str)]) -> Answer {
        self.send(Method::POST, uri, who, form).await
    }

    async fn exchange(&self, name: &str) -> Option<ward_store::Exchange> {
        self.state
            .store
            .exchanges()
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.name == name)
    }
}

#[tokio::test]
async fn a_curator_runs_a_file_exchange() {
    let c = Console::new().await;
    // The type's settings, from its schema.
    let form = c.get("/admin/exchanges?new=file", "cora").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    for field in [
        "name=\"cfg.url\"",
        "name=\"cfg.format\"",
        "<option value=\"vics\">",
    ] {
        assert!(form.text.contains(field), "{field}");
    }
    let made = c
        .post(
            "/admin/exchanges",
            "cora",
            &[
                ("api", "file"),
                ("bank", "LIST_A"),
                ("cfg.url", "https://lists.example.org/a.csv"),
                ("cfg.format", "csv"),
                ("cfg.page_size", ""),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let exchange = c.exchange("LIST_A").await.expect("made");
    let page_uri = format!("/admin/exchanges/{}", exchange.bank);
    assert_eq!(made.location(), format!("{page_uri}?done=created"));
    assert_eq!(exchange.org, c.org);
    assert!(exchange.enabled);
    assert!(exchange.config.contains("https://lists.example.org/a.csv"));

    let page = c.get(&format!("{page_uri}?done=created"), "cora").await;
    for shown in [
        "The exchange was created",
        "not fetched yet",
        "No credentials are set.",
        "id=\"fetch-now\"",
        "id=\"disable\"",
        "id=\"delete\"",
        "name=\"cred.bearer\"",
    ] {
        assert!(page.text.contains(shown), "{shown}: {}", page.text);
    }

    // Fetch now: the request is in the store, for every node's fetcher.
    let fetched = c.post(&format!("{page_uri}/fetch"), "cora", &[]).await;
    assert_eq!(fetched.location(), format!("{page_uri}?done=fetch"));
    let asked = c.exchange("LIST_A").await.unwrap();
    assert!(asked.status.fetch_requested_at.is_some());
    let page = c.get(&page_uri, "cora").await;
    assert!(page.text.contains("a fetch at once was asked for"));

    // Credentials are kept sealed and never shown again.
    let kept = c
        .post(
            &format!("{page_uri}/credentials"),
            "cora",
            &[("cred.bearer", "SECRET-BEARER-TOKEN")],
        )
        .await;
    assert_eq!(kept.location(), format!("{page_uri}?done=credentials"));
    let page = c.get(&page_uri, "cora").await;
    assert!(page.text.contains("Credentials are set."));
    assert!(!page.text.contains("SECRET-BEARER-TOKEN"));
    let empty = c
        .post(
            &format!("{page_uri}/credentials"),
            "cora",
            &[("cred.bearer", " ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);

    // Who sees which controls, and who is refused what it posts.
    let listed = c.get("/admin/exchanges", "ana").await;
    assert!(listed.text.contains("LIST_A"));
    assert!(!listed.text.contains("New exchange"));
    let read_only = c.get(&page_uri, "ana").await;
    assert_eq!(read_only.status, StatusCode::OK);
    for control in ["id=\"fetch-now\"", "id=\"delete\"", "cred.", "Credentials"] {
        assert!(!read_only.text.contains(control), "{control}");
    }
    for (who, expected) in [
        ("ana", StatusCode::FORBIDDEN),
        ("audrey", StatusCode::FORBIDDEN),
        ("otto", StatusCode::NOT_FOUND),
    ] {
        let refused = c.post(&format!("{page_uri}/fetch"), who, &[]).await;
        assert_eq!(refused.status, expected, "{who}: {}", refused.text);
    }
    assert_eq!(c.get(&page_uri, "otto").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        c.get("/admin/exchanges", "audrey").await.status,
        StatusCode::FORBIDDEN
    );
    for who in ["olga", "adam"] {
        let page = c.get(&page_uri, who).await;
        assert!(page.text.contains("id=\"fetch-now\""), "{who}");
    }

    // Off, then deleted with its bank.
    let off = c
        .post(
            &format!("{page_uri}/enabled"),
            "cora",
            &[("enabled", "false")],
        )
        .await;
    assert_eq!(off.location(), format!("{page_uri}?done=disabled"));
    assert!(!c.exchange("LIST_A").await.unwrap().enabled);
    let page = c.get(&page_uri, "cora").await;
    assert!(page.text.contains("id=\"enable\""));
    let gone = c.post(&format!("{page_uri}/delete"), "cora", &[]).await;
    assert_eq!(gone.location(), "/admin/exchanges?done=deleted");
    assert!(c.exchange("LIST_A").await.is_none());
    assert_eq!(c.get(&page_uri, "cora").await.status, StatusCode::NOT_FOUND);

    // What is refused before anything is made.
    for (form, expected) in [
        (
            vec![("api", "nope"), ("bank", "X")],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![
                ("api", "file"),
                ("bank", "lower"),
                ("cfg.url", "https://a.example/l"),
                ("cfg.format", "csv"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("api", "ncmec"), ("bank", "N"), ("cfg.only_esp_ids", "1,x")],
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let refused = c.post("/admin/exchanges", "cora", &form).await;
        assert_eq!(refused.status, expected, "{form:?}: {}", refused.text);
    }
}

#[tokio::test]
async fn fixed_messages_only() {
    let c = Console::new().await;
    for (uri, shown) in [
        ("/admin/contacts?done=set", Some("The contact was saved.")),
        (
            "/admin/contacts?done=removed",
            Some("The contact was removed."),
        ),
        ("/admin/contacts?done=%3Cscript%3E", None),
        ("/admin/exchanges?done=fetch", Some("A fetch was asked for")),
        ("/admin/exchanges?done=%3Cb%3Ehi", None),
    ] {
        let page = c.get(uri, "adam").await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        match shown {
            Some(text) => assert!(page.text.contains(text), "{uri}"),
            None => {
                assert!(!page.text.contains("id=\"done\""), "{uri}");
                assert!(!page.text.contains("<script>") && !page.text.contains("<b>hi"));
            }
        }
    }
}

#[tokio::test]
async fn the_audit_log_searched_and_downloaded() {
    let c = Console::new().await;
    let set = c
        .post(
            "/admin/contacts",
            "adam",
            &[("pattern", "example.org"), ("email", "abuse@example.org")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text);
    // An event whose target a spreadsheet would run.
    c.state
        .store
        .record_read(&Actor::operator("test"), "read.bank", "=1+2")
        .await
        .unwrap();
    let adam = c
        .state
        .store
        .audit_log(&AuditQuery {
            action: Some("contact.set".into()),
            ..AuditQuery::deployment()
        })
        .await
        .unwrap()[0]
        .actor
        .clone();
    let today = Timestamp::now().day();
    // Audrey audits her organisation (not the deployment's operator): what its members did
    // and what is about what it owns; Adam, an admin, the whole deployment.
    for (who, query, expected, absent) in [
        (
            "audrey",
            format!("actor={adam}&action=contact."),
            vec!["contact.set"],
            vec!["user.create"],
        ),
        (
            "audrey",
            "action=user.create".to_owned(),
            vec!["user.create"],
            vec!["contact.set"],
        ),
        (
            "audrey",
            format!("from={today}&to={today}&action=contact"),
            vec!["contact.set"],
            vec![],
        ),
        (
            "audrey",
            "from=2000-01-01&to=2000-01-02".to_owned(),
            vec!["No event matches."],
            vec!["contact.set"],
        ),
        (
            "audrey",
            "target=%3D1%2B2".to_owned(),
            vec!["No event matches."],
            vec!["read.bank"],
        ),
        (
            "adam",
            "target=%3D1%2B2".to_owned(),
            vec!["read.bank"],
            vec!["contact.set"],
        ),
    ] {
        let page = c.get(&format!("/admin/audit?{query}"), who).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.text);
        for text in expected {
            assert!(page.text.contains(text), "{query}: {text}");
        }
        for text in absent {
            assert!(
                !page.text.contains(&format!("<td>{text}</td>")),
                "{query}: {text}"
            );
        }
    }
    let bad = c.get("/admin/audit?from=yesterday", "audrey").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Newest first, paged.
    let page = c.get("/admin/audit", "adam").await;
    let first = page.text.find("read.bank").unwrap();
    let older = page.text.find("org.create").unwrap();
    assert!(first < older, "newest first");

    let csv = c.get("/admin/audit.csv?action=read.", "adam").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "id,at,actor,action,target,detail");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[1].contains(",cli:test,read.bank,'=1+2,"),
        "{}",
        lines[1]
    );
    // Only auditors and admins.
    for who in ["cora", "olga", "ana"] {
        assert_eq!(
            c.get("/admin/audit", who).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            c.get("/admin/audit.csv", who).await.status,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn hosts_contacts_set_refused_and_removed() {
    let c = Console::new().await;
    for (form, expected) in [
        (
            vec![("pattern", "example.org"), ("email", "abuse@example.org")],
            StatusCode::SEE_OTHER,
        ),
        (
            vec![
                ("pattern", "hooks.example.net"),
                ("webhook", "https://hooks.example.net/ward"),
            ],
            StatusCode::SEE_OTHER,
        ),
        (vec![("pattern", "example.com")], StatusCode::BAD_REQUEST),
        (
            vec![("pattern", "example.com"), ("email", "abuse")],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("pattern", "example.com"), ("webhook", "https://")],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![
                ("pattern", "example.com"),
                ("webhook", "ftp://example.com/x"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("pattern", "not a host"), ("email", "abuse@example.org")],
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let answer = c.post("/admin/contacts", "adam", &form).await;
        assert_eq!(answer.status, expected, "{form:?}: {}", answer.text);
    }
    let page = c.get("/admin/contacts", "adam").await;
    for shown in [
        "example.org",
        "abuse@example.org",
        "https://hooks.example.net/ward",
    ] {
        assert!(page.text.contains(shown), "{shown}");
    }
    assert!(!page.text.contains("example.com"));
    let removed = c
        .post("/admin/contacts/example.org/remove", "adam", &[])
        .await;
    assert_eq!(removed.location(), "/admin/contacts?done=removed");
    let patterns: Vec<String> = c
        .state
        .store
        .host_contacts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.pattern)
        .collect();
    assert_eq!(patterns, ["hooks.example.net"]);
    assert_eq!(
        c.post("/admin/contacts/example.org/remove", "adam", &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for who in ["olga", "cora", "audrey"] {
        assert_eq!(
            c.get("/admin/contacts", who).await.status,
            StatusCode::FORBIDDEN
        );
        let refused = c
            .post(
                "/admin/contacts",
                who,
                &[("pattern", "x.example"), ("email", "a@x.example")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who}");
        let page = c.get("/admin", who).await;
        assert!(!page.text.contains("href=\"/admin/contacts\""), "{who}");
    }
}

#[tokio::test]
async fn partners_are_listed_with_their_pinned_keys() {
    let c = Console::new().await;
    let operator = Actor::operator("test");
    let bank = c
        .state
        .store
        .create_bank(
            &operator,
            &ward_store::NewBank {
                name: "FROM_EAST".into(),
                org: c.org,
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
    let key = "ab".repeat(32);
    c.state
        .store
        .create_exchange(
            &operator,
            &ward_store::NewExchange {
                api: "ward".into(),
                bank: bank.id,
                config: format!(
                    r#"{{"url":"https://east.example","public_key":"{key}","partner":"east"}}"#
                ),
                enabled: true,
            },
        )
        .await
        .unwrap();
    let page = c.get("/admin/exchanges", "ana").await;
    let partners = &page.text[page.text.find("id=\"partners\"").expect("a partners table")..];
    for shown in ["east", "https://east.example", key.as_str(), "never"] {
        assert!(partners.contains(shown), "{shown}");
    }
    // Its key is its own credential: not set yet, said only to those who manage it.
    let page = c
        .get(&format!("/admin/exchanges/{}", bank.id), "cora")
        .await;
    assert!(page.text.contains("No credentials are set."));
    assert!(page.text.contains("name=\"cred.api_key\""));
    let kept = c
        .post(
            &format!("/admin/exchanges/{}/credentials", bank.id),
            "cora",
            &[("cred.api_key", "PARTNER-KEY-VALUE")],
        )
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.text);
    let page = c
        .get(&format!("/admin/exchanges/{}", bank.id), "cora")
        .await;
    assert!(page.text.contains("Credentials are set."));
    assert!(!page.text.contains("PARTNER-KEY-VALUE"));
    // Elsewhere's curator does not see the private bank's exchange.
    let elsewhere = c.get("/admin/exchanges", "otto").await;
    assert!(!elsewhere.text.contains("FROM_EAST"));
}
