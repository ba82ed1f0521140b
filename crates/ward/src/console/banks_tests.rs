//! The console's bank and content pages through the router: who sees which bank and which
//! controls, what a form changes (read back from the store), the import's report, the
//! searches by hash and by label and their bounds, and the export's download.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tower::ServiceExt as _;
use ward_store::{
    Actor, AnyStore, BankId, BankKind, ContentId, NewBank, NewContent, OrgId, Role, Sharing,
    Signal, SignalKind, Store as _,
};

use crate::analyst::session::{SESSION_COOKIE, SESSION_FORMS, Secret};
use crate::serve::{Config, SharedState, router, start};

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
/// `PDQ` with 2 bits flipped.
const PDQ_NEAR: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b21";
const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// Who signs in: a role of organisation A, or B's curator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Who {
    A(Role),
    OtherCurator,
}

struct Console {
    state: SharedState,
    _dir: tempfile::TempDir,
    a: OrgId,
    b: OrgId,
    /// Session cookie and CSRF token of each person.
    sessions: HashMap<Who, (String, String)>,
}

/// An answer: status, `Location`, headers, body text.
struct Answer {
    status: StatusCode,
    location: String,
    disposition: String,
    text: String,
}

impl Console {
    async fn new() -> Console {
        let dir = tempfile::tempdir().unwrap();
        let store = AnyStore::open(dir.path(), None).await.unwrap();
        let operator = Actor::operator("test");
        let a = store.create_org(&operator, "NGO A").await.unwrap().id;
        let b = store.create_org(&operator, "Platform B").await.unwrap().id;
        let mut people = vec![(Who::OtherCurator, b, Role::Curator)];
        for role in [
            Role::Admin,
            Role::OrgAdmin,
            Role::Curator,
            Role::Analyst,
            Role::Auditor,
        ] {
            people.push((Who::A(role), a, role));
        }
        let mut sessions = HashMap::new();
        for (who, org, role) in people {
            let user = store
                .create_user(
                    &operator,
                    &ward_store::NewUser {
                        name: format!("{who:?}"),
                        org,
                        role,
                        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
                            .into(),
                    },
                )
                .await
                .unwrap();
            let secret = Secret::random().unwrap();
            let expires = ward_store::Timestamp(ward_store::Timestamp::now().0 + 3_600_000);
            store
                .create_session(user.id, &secret.digest(), expires)
                .await
                .unwrap();
            sessions.insert(
                who,
                (
                    format!("{SESSION_COOKIE}={}", secret.as_str()),
                    secret.csrf_token(SESSION_FORMS),
                ),
            );
        }
        let state = start(store, Config::default()).await.unwrap();
        Console {
            state,
            _dir: dir,
            a,
            b,
            sessions,
        }
    }

    /// A bank of `org` with `sharing`, holding an item per signal.
    async fn bank(&self, name: &str, org: OrgId, sharing: Sharing, signals: &[Signal]) -> i64 {
        let actor = Actor::operator("test");
        let bank = self
            .state
            .store
            .create_bank(
                &actor,
                &NewBank {
                    name: name.into(),
                    org,
                    kind: BankKind::Standard,
                    distance: 31,
                    enabled: true,
                    sharing,
                    shared_with: Vec::new(),
                    dispute_limit: None,
                    description: String::new(),
                },
            )
            .await
            .unwrap();
        let items: Vec<NewContent> = signals
            .iter()
            .map(|s| NewContent {
                signals: vec![s.clone()],
                source: format!("list:{name}"),
                ..NewContent::default()
            })
            .collect();
        if !items.is_empty() {
            self.state
                .store
                .add_content(&actor, bank.id, &items)
                .await
                .unwrap();
        }
        self.state.caught_up().await;
        bank.id.0
    }

    async fn send(&self, who: Who, method: Method, uri: &str, body: Body, kind: &str) -> Answer {
        let (cookie, _) = &self.sessions[&who];
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("cookie", cookie);
        if !kind.is_empty() {
            request = request.header("content-type", kind);
        }
        let response = router(self.state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map_or_else(String::new, |v| v.to_str().unwrap().to_owned())
        };
        let (status, location, disposition) = (
            response.status(),
            header("location"),
            header("content-disposition"),
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        Answer {
            status,
            location,
            disposition,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, who: Who, uri: &str) -> Answer {
        self.send(who, Method::GET, uri, Body::empty(), "").await
    }

    /// Posts a form with the person's CSRF token.
    async fn post(&self, who: Who, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let token = self.sessions[&who].1.clone();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &token)
            .extend_pairs(fields)
            .finish();
        self.send(
            who,
            Method::POST,
            uri,
            Body::from(body),
            "application/x-www-form-urlencoded",
        )
        .await
    }

    /// Posts the import form: the CSRF token (unless `csrf` is false), the format, a file.
    async fn import(&self, who: Who, bank: i64, format: &str, file: &str, csrf: bool) -> Answer {
        let boundary = "ward-console-test";
        let mut body = String::new();
        if csrf {
            let token = &self.sessions[&who].1;
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\n{format}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
        ));
        self.send(
            who,
            Method::POST,
            &format!("/admin/banks/{bank}/import"),
            Body::from(body),
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .await
    }

    async fn stored(&self, bank: i64) -> ward_store::Bank {
        self.state.store.bank(BankId(bank)).await.unwrap().unwrap()
    }
}

fn pdq(value: &str) -> Signal {
    Signal {
        kind: SignalKind::Pdq,
        value: value.into(),
    }
}

fn md5(value: &str) -> Signal {
    Signal {
        kind: SignalKind::Md5,
        value: value.into(),
    }
}

/// A page as a person opens it: status, what it shows, what it does not.
type Case<'a> = (Who, &'a str, StatusCode, &'a [&'a str], &'a [&'a str]);

/// A form posted on an item's page: its action, its fields, the `done=` it leads to.
type Step<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

/// Who sees which bank, and which controls, page by page: A's private bank is not found by
/// B's curator; a bank shared with members is seen by B but changed only by A; an analyst
/// reads content without the settings' form; an auditor sees the banks without any control
/// and without their content.
#[tokio::test]
async fn each_person_sees_the_banks_and_controls_their_role_opens() {
    use Role::*;
    use Who::*;
    let c = Console::new().await;
    let private = c
        .bank("PRIVATE_A", c.a, Sharing::Private, &[pdq(PDQ)])
        .await;
    let shared = c.bank("SHARED_A", c.a, Sharing::Members, &[md5(MD5)]).await;
    let item = c
        .state
        .store
        .bank_contents(BankId(private), None, 1)
        .await
        .unwrap()[0]
        .id
        .0;
    let bank_page = format!("/admin/banks/{private}");
    let shared_page = format!("/admin/banks/{shared}");
    let item_page = format!("/admin/content/{item}");
    // (who, page, status, what it shows, what it does not).
    let cases: Vec<Case> = vec![
        (
            A(Curator),
            "/admin/banks",
            StatusCode::OK,
            &["PRIVATE_A", "id=\"create-bank\""],
            &[],
        ),
        (
            A(OrgAdmin),
            "/admin/banks",
            StatusCode::OK,
            &["PRIVATE_A", "id=\"create-bank\""],
            &["id=\"c-org\""],
        ),
        (
            A(Admin),
            "/admin/banks",
            StatusCode::OK,
            &["PRIVATE_A", "id=\"create-bank\"", "id=\"c-org\""],
            &[],
        ),
        (
            A(Analyst),
            "/admin/banks",
            StatusCode::OK,
            &["PRIVATE_A"],
            &["id=\"create-bank\""],
        ),
        (
            A(Auditor),
            "/admin/banks",
            StatusCode::OK,
            &["PRIVATE_A", "SHARED_A"],
            &[
                "id=\"create-bank\"",
                "<form method=\"post\" action=\"/admin/banks\"",
            ],
        ),
        (
            OtherCurator,
            "/admin/banks",
            StatusCode::OK,
            &["SHARED_A"],
            &["PRIVATE_A"],
        ),
        (
            A(Curator),
            &bank_page,
            StatusCode::OK,
            &[
                "id=\"edit-bank\"",
                "id=\"delete-bank\"",
                "id=\"import\"",
                "id=\"content\"",
                "id=\"exports\"",
            ],
            &[],
        ),
        (
            A(Analyst),
            &bank_page,
            StatusCode::OK,
            &["id=\"content\"", "id=\"exports\""],
            &["id=\"edit-bank\"", "id=\"delete-bank\"", "id=\"import\""],
        ),
        (
            A(Auditor),
            &bank_page,
            StatusCode::OK,
            &["id=\"no-content-role\""],
            &[
                "id=\"edit-bank\"",
                "id=\"import\"",
                "id=\"content\"",
                "id=\"exports\"",
            ],
        ),
        (
            OtherCurator,
            &bank_page,
            StatusCode::NOT_FOUND,
            &[],
            &["PRIVATE_A"],
        ),
        (
            OtherCurator,
            &shared_page,
            StatusCode::OK,
            &["SHARED_A", "id=\"content\""],
            &["id=\"edit-bank\"", "id=\"import\""],
        ),
        (
            A(Curator),
            &item_page,
            StatusCode::OK,
            &[
                "id=\"toggle\"",
                "id=\"remove\"",
                "id=\"assess\"",
                "id=\"opinion\"",
            ],
            &["id=\"audit\""],
        ),
        (
            A(Analyst),
            &item_page,
            StatusCode::OK,
            &["id=\"assess\"", "id=\"opinion\""],
            &["id=\"toggle\"", "id=\"remove\""],
        ),
        (
            A(Admin),
            &item_page,
            StatusCode::OK,
            &["id=\"toggle\"", "id=\"remove\"", "Audit trail"],
            &[],
        ),
        (A(Auditor), &item_page, StatusCode::FORBIDDEN, &[], &[]),
        (OtherCurator, &item_page, StatusCode::NOT_FOUND, &[], &[PDQ]),
    ];
    for (who, uri, status, shows, hides) in cases {
        let answer = c.get(who, uri).await;
        assert_eq!(answer.status, status, "{who:?} {uri}: {:.400}", answer.text);
        for text in shows {
            assert!(answer.text.contains(text), "{who:?} {uri} lacks {text}");
        }
        for text in hides {
            assert!(!answer.text.contains(text), "{who:?} {uri} shows {text}");
        }
    }
    // B's curator sees A's shared bank but may not change it, nor its content.
    let shared_item = c
        .state
        .store
        .bank_contents(BankId(shared), None, 1)
        .await
        .unwrap()[0]
        .id
        .0;
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            shared_page.clone(),
            vec![("name", "TAKEN"), ("distance", "10")],
        ),
        (format!("{shared_page}/delete"), vec![]),
        (
            format!("/admin/content/{shared_item}/enabled"),
            vec![("enabled", "false")],
        ),
        (format!("/admin/content/{shared_item}/remove"), vec![]),
    ];
    for (uri, fields) in posts {
        let answer = c.post(OtherCurator, &uri, &fields).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{uri}: {:.300}",
            answer.text
        );
    }
    assert_eq!(c.stored(shared).await.name, "SHARED_A");
    // ... and gets 404 for the private one, and an import into it.
    let answer = c.post(OtherCurator, &bank_page, &[("name", "TAKEN")]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = c
        .import(OtherCurator, private, "csv", "signal_type,signal\n", true)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    // An analyst may not import either (403), and nobody without the form's token.
    let answer = c
        .import(A(Analyst), private, "csv", "signal_type,signal\n", true)
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = c
        .import(A(Curator), private, "csv", "signal_type,signal\n", false)
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.text.contains("Form expired"));
}

/// A curator's work on a bank through its forms, each change read back from the store.
#[tokio::test]
async fn a_curator_creates_changes_imports_and_exports_a_bank() {
    let c = Console::new().await;
    let curator = Who::A(Role::Curator);
    let created = c
        .post(
            curator,
            "/admin/banks",
            &[
                ("name", "NEW BANK"),
                ("kind", "negative"),
                ("distance", "20"),
                ("enabled", "true"),
                ("enabled_ratio", "0.5"),
                ("sharing", "organisations"),
                ("shared_with", &c.b.0.to_string()),
                ("dispute_limit", "2"),
                ("description", "made in the console"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let id: i64 = created
        .location
        .strip_prefix("/admin/banks/")
        .and_then(|l| l.strip_suffix("?done=created"))
        .unwrap()
        .parse()
        .unwrap();
    let bank = c.stored(id).await;
    assert_eq!(
        (
            bank.kind,
            bank.distance,
            bank.enabled_ratio.get(),
            bank.sharing,
            bank.shared_with.clone(),
            bank.dispute_limit
        ),
        (
            BankKind::Negative,
            20,
            0.5,
            Sharing::Organisations,
            vec![c.b],
            Some(2)
        ),
    );
    assert_eq!(bank.org, c.a);
    let page = c.get(curator, &created.location).await;
    assert!(page.text.contains("The bank was created."), "{}", page.text);

    // Its settings changed: distance, sharing, matching off, no dispute limit.
    let saved = c
        .post(
            curator,
            &format!("/admin/banks/{id}"),
            &[
                ("name", "RENAMED"),
                ("distance", "12"),
                ("enabled_ratio", "1"),
                ("sharing", "members"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(saved.location, format!("/admin/banks/{id}?done=saved"));
    let bank = c.stored(id).await;
    assert_eq!(
        (
            bank.name.as_str(),
            bank.distance,
            bank.enabled,
            bank.sharing,
            bank.dispute_limit
        ),
        ("RENAMED", 12, false, Sharing::Members, None)
    );
    // What the API refuses, the page says with the API's status.
    let refused = c
        .post(
            curator,
            &format!("/admin/banks/{id}"),
            &[("name", "RENAMED"), ("enabled_ratio", "2")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);

    // A list with one bad line: the good ones are stored, the bad one reported by line.
    let list = format!("signal_type,signal\npdq,{PDQ}\npdq,not-a-hash\nmd5,{MD5}\n");
    let report = c.import(curator, id, "csv", &list, true).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert!(
        report.text.contains("id=\"import-errors\""),
        "{}",
        report.text
    );
    assert!(report.text.contains("2 added"), "{}", report.text);
    assert!(report.text.contains("1 malformed"), "{}", report.text);
    let items = c
        .state
        .store
        .bank_contents(BankId(id), None, 10)
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].provenance.source, "console:import:list.csv");

    // The export, as a download named for the bank.
    let export = c
        .get(curator, &format!("/admin/banks/{id}/export?format=csv"))
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(
        export.disposition,
        format!("attachment; filename=\"bank-{id}.csv\"")
    );
    assert!(
        export.text.contains(PDQ) && export.text.contains(MD5),
        "{}",
        export.text
    );
    let bad = c
        .get(curator, &format!("/admin/banks/{id}/export?format=xml"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The item disabled, assessed, confirmed, then removed.
    let item = items[0].id.0;
    let item_page = format!("/admin/content/{item}");
    let steps: Vec<Step> = vec![
        ("enabled", vec![("enabled", "false")], "disabled"),
        (
            "categories",
            vec![("age_group", "pubescent"), ("activity", "other_indecent")],
            "assessed",
        ),
        ("opinion", vec![("opinion", "confirm")], "opinion"),
    ];
    for (action, fields, done) in steps {
        let answer = c
            .post(curator, &format!("{item_page}/{action}"), &fields)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            answer.text
        );
        assert_eq!(answer.location, format!("{item_page}?done={done}"));
    }
    let stored = c
        .state
        .store
        .content(ContentId(item))
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.enabled);
    assert_eq!(stored.assessment.unwrap().age_group.name(), "pubescent");
    assert_eq!(stored.opinions.len(), 1);
    let page = c.get(curator, &item_page).await;
    assert!(
        page.text.contains("opinion: <strong>confirm</strong>"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("pubescent") && page.text.contains(">Enable<"),
        "{}",
        page.text
    );
    let removed = c.post(curator, &format!("{item_page}/remove"), &[]).await;
    assert_eq!(removed.location, format!("/admin/banks/{id}?done=removed"));
    assert!(
        c.state
            .store
            .content(ContentId(item))
            .await
            .unwrap()
            .is_none()
    );

    // And the bank deleted.
    let deleted = c
        .post(curator, &format!("/admin/banks/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.location, "/admin/banks?done=deleted");
    assert!(c.state.store.bank(BankId(id)).await.unwrap().is_none());
}

/// The bank page's searches: by hash (digests exactly, PDQ exactly or within the distance
/// asked, 0 to 255, this bank only) and by label (the list's label and fields, the source).
#[tokio::test]
async fn a_bank_is_searched_by_hash_and_by_label() {
    let c = Console::new().await;
    let analyst = Who::A(Role::Analyst);
    let id = c
        .bank("SEARCHED", c.a, Sharing::Private, &[pdq(PDQ), md5(MD5)])
        .await;
    // The same hash in another bank is not this bank's.
    c.bank("ELSEWHERE", c.a, Sharing::Private, &[pdq(PDQ_NEAR)])
        .await;
    let labelled = NewContent {
        signals: vec![md5("0cc175b9c0f1b6a831c399e269772661")],
        source: "vics:case-7".into(),
        attributes: vec![("Series".into(), "Blue Kite".into())],
        ..NewContent::default()
    };
    c.state
        .store
        .add_content(&Actor::operator("test"), BankId(id), &[labelled])
        .await
        .unwrap();
    c.state.caught_up().await;
    let rows = |text: &str| text.matches("<a href=\"/admin/content/").count();
    // (query, status, rows listed).
    let cases: [(String, StatusCode, usize); 10] = [
        (String::new(), StatusCode::OK, 3),
        (format!("signal_type=pdq&signal={PDQ}"), StatusCode::OK, 1),
        (
            format!("signal_type=pdq&signal={PDQ_NEAR}"),
            StatusCode::OK,
            0,
        ),
        (
            format!("signal_type=pdq&signal={PDQ_NEAR}&distance=2"),
            StatusCode::OK,
            1,
        ),
        (
            format!("signal_type=pdq&signal={PDQ_NEAR}&distance=255"),
            StatusCode::OK,
            1,
        ),
        (
            format!("signal_type=pdq&signal={PDQ}&distance=256"),
            StatusCode::BAD_REQUEST,
            0,
        ),
        (
            format!("signal_type=md5&signal={}", MD5.to_uppercase()),
            StatusCode::OK,
            1,
        ),
        (
            format!("signal_type=md5&signal={MD5}&distance=3"),
            StatusCode::BAD_REQUEST,
            0,
        ),
        ("label=blue+KITE".to_owned(), StatusCode::OK, 1),
        ("label=list%3ASEARCHED".to_owned(), StatusCode::OK, 2),
    ];
    for (query, status, listed) in cases {
        let answer = c.get(analyst, &format!("/admin/banks/{id}?{query}")).await;
        assert_eq!(answer.status, status, "{query}: {:.300}", answer.text);
        if status == StatusCode::OK {
            assert_eq!(rows(&answer.text), listed, "{query}");
        }
    }
    let near = c
        .get(
            analyst,
            &format!("/admin/banks/{id}?signal_type=pdq&signal={PDQ_NEAR}&distance=2"),
        )
        .await;
    assert!(
        near.text.contains("<td class=\"number\">2</td>"),
        "{}",
        near.text
    );
}
