//! Accounts, password links and organisations through the router: what an organisation's
//! administrator may make (its own organisation's accounts, never an admin's), a password
//! link that works once and expires, a reset that ends sessions and the old password, and
//! the console's people page offering only what the API would let its viewer do. (Here
//! rather than beside the console's code: the fixture is the service tests'.)

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use ward_store::{Actor, NewUser, OrgId, Role, Store as _, Timestamp, UserId};

use super::router;
use super::tests::Fixture;
use crate::analyst::session::{SESSION_COOKIE, SESSION_FORMS, Secret};

/// An answer: status, `Location`, `Set-Cookie` values and body.
struct Answer {
    status: StatusCode,
    location: String,
    cookies: Vec<String>,
    body: String,
}

async fn send(
    f: &Fixture,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Answer {
    let mut request = Request::builder().method(method.clone()).uri(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let body = if method == Method::GET {
        Body::empty()
    } else {
        request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        Body::from(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        )
    };
    let response = router(f.state.clone())
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    Answer {
        status,
        location: headers
            .get(header::LOCATION)
            .map_or_else(String::new, |v| v.to_str().unwrap().to_owned()),
        cookies: headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The `name=value` of a `Set-Cookie` value.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The value of the hidden CSRF field of the first form of a page.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + 64].to_owned()
}

/// A console session of a new account of `org` with `role`: its cookie and CSRF token.
async fn signed_in(f: &Fixture, name: &str, org: OrgId, role: Role) -> (UserId, String, String) {
    let user = f
        .state
        .store
        .create_user(
            &Actor::operator("test"),
            &NewUser {
                name: name.into(),
                org,
                role,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
            },
        )
        .await
        .unwrap();
    let secret = Secret::random().unwrap();
    let expires = Timestamp(Timestamp::now().0 + 3_600_000);
    f.state
        .store
        .create_session(user.id, &secret.digest(), expires)
        .await
        .unwrap();
    (
        user.id,
        format!("{SESSION_COOKIE}={}", secret.as_str()),
        secret.csrf_token(SESSION_FORMS),
    )
}

/// `POST /v1/users` and `/v1/users/{id}/password-link`, case by case: who may make which
/// account, and reset whose password.
#[tokio::test]
async fn organisation_administrators_make_accounts_of_their_own_organisation_only() {
    let f = Fixture::new().await;
    let store = &f.state.store;
    let a = store.org_by_name("NGO A").await.unwrap().unwrap().id;
    let b = store.org_by_name("Platform B").await.unwrap().unwrap().id;
    let admin = f.key(Role::Admin).to_owned();
    let org_admin = f.key(Role::OrgAdmin).to_owned();
    let curator = f.key(Role::Curator).to_owned();
    let cases: Vec<(&str, &str, Value, StatusCode)> = vec![
        (
            "org_admin",
            &org_admin,
            json!({"name": "ana", "role": "analyst"}),
            StatusCode::CREATED,
        ),
        (
            "org_admin",
            &org_admin,
            json!({"name": "oa", "role": "org_admin", "org": a.0}),
            StatusCode::CREATED,
        ),
        (
            "org_admin",
            &org_admin,
            json!({"name": "bea", "role": "analyst", "org": b.0}),
            StatusCode::FORBIDDEN,
        ),
        (
            "org_admin",
            &org_admin,
            json!({"name": "root", "role": "admin"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "org_admin",
            &org_admin,
            json!({"name": "ana", "role": "curator"}),
            StatusCode::CONFLICT,
        ),
        (
            "org_admin",
            &org_admin,
            json!({"name": "pl", "role": "platform"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "org_admin",
            &org_admin,
            json!({"name": "x", "role": "chief"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "org_admin",
            &org_admin,
            json!({"name": "", "role": "analyst"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "curator",
            &curator,
            json!({"name": "cu", "role": "analyst"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "admin",
            &admin,
            json!({"name": "bob", "role": "analyst", "org": b.0}),
            StatusCode::CREATED,
        ),
        (
            "admin",
            &admin,
            json!({"name": "root", "role": "admin"}),
            StatusCode::CREATED,
        ),
        (
            "admin",
            &admin,
            json!({"name": "nowhere", "role": "analyst", "org": 9999}),
            StatusCode::NOT_FOUND,
        ),
    ];
    let mut made = std::collections::HashMap::new();
    for (who, key, body, expected) in cases {
        let (status, answer) = f
            .json(Method::POST, "/v1/users", Some(key), body.clone())
            .await;
        assert_eq!(status, expected, "{who} {body}: {answer}");
        if status == StatusCode::CREATED {
            let link = answer["password_link"].as_str().unwrap();
            assert!(link.starts_with("/admin/welcome/"), "{answer}");
            assert_eq!(link.len(), "/admin/welcome/".len() + 64);
            assert_eq!(answer["password_set"], json!(false));
            assert!(answer["password_link_expires_at"].is_string());
            made.insert(
                answer["name"].as_str().unwrap().to_owned(),
                answer["id"].as_i64().unwrap(),
            );
        }
    }
    // The link is in the answer only: the list never shows it.
    let (_, listed) = f
        .json(Method::GET, "/v1/users", Some(&admin), Value::Null)
        .await;
    assert!(!listed.to_string().contains("/admin/welcome/"), "{listed}");

    // Resets: its own organisation's accounts, not another's (not found), not an admin's.
    let reset = |id: i64| format!("/v1/users/{id}/password-link");
    for (name, key, expected) in [
        ("ana", &org_admin, StatusCode::CREATED),
        ("bob", &org_admin, StatusCode::NOT_FOUND),
        ("root", &org_admin, StatusCode::FORBIDDEN),
        ("ana", &curator, StatusCode::FORBIDDEN),
        ("bob", &admin, StatusCode::CREATED),
        ("root", &admin, StatusCode::CREATED),
    ] {
        let (status, answer) = f
            .json(Method::POST, &reset(made[name]), Some(key), Value::Null)
            .await;
        assert_eq!(status, expected, "{name}: {answer}");
    }
    let (status, _) = f
        .json(Method::POST, &reset(99_999), Some(&admin), Value::Null)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every change is in the audit log under the key that made it.
    let events = store
        .audit_log(&ward_store::AuditQuery::deployment())
        .await
        .unwrap();
    let ana = format!("user:{}", made["ana"]);
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e.target == ana)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        ["user.create", "user.password_link", "user.password_link"]
    );
}

/// `/v1/orgs`: admins list and make organisations; nobody else does.
#[tokio::test]
async fn admins_list_and_make_organisations() {
    let f = Fixture::new().await;
    let admin = f.key(Role::Admin).to_owned();
    let (status, made) = f
        .json(
            Method::POST,
            "/v1/orgs",
            Some(&admin),
            json!({"name": "Hotline C"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["name"], "Hotline C");
    let (status, _) = f
        .json(
            Method::POST,
            "/v1/orgs",
            Some(&admin),
            json!({"name": "Hotline C"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, listed) = f
        .json(Method::GET, "/v1/orgs", Some(&admin), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    let a = listed["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "NGO A")
        .unwrap()
        .clone();
    // The fixture's keys of A, one per role.
    assert_eq!(a["keys"], json!(Role::ALL.len()), "{a}");
    assert_eq!(a["users"], json!(0), "{a}");
    for role in [Role::OrgAdmin, Role::Curator, Role::Auditor] {
        let (status, _) = f
            .json(Method::GET, "/v1/orgs", Some(f.key(role)), Value::Null)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
}

/// A password link opens its account's page, sets the password once, and then (or once
/// replaced or expired, or for a link nobody has) answers one and the same refusal; the
/// account cannot sign in before.
#[tokio::test]
async fn a_password_link_works_once_and_expires() {
    let f = Fixture::new().await;
    let admin = f.key(Role::Admin).to_owned();
    let (_, made) = f
        .json(
            Method::POST,
            "/v1/users",
            Some(&admin),
            json!({"name": "wren", "role": "curator"}),
        )
        .await;
    let link = made["password_link"].as_str().unwrap().to_owned();
    let id = UserId(made["id"].as_i64().unwrap());
    let sign_in = |password: &'static str| {
        let f = &f;
        async move {
            let form = send(f, Method::GET, "/admin/login", None, &[]).await;
            let cookie = cookie_pair(&form.cookies[0]);
            let csrf = csrf_of(&form.body);
            send(
                f,
                Method::POST,
                "/admin/login",
                Some(&cookie),
                &[("csrf", &csrf), ("name", "wren"), ("password", password)],
            )
            .await
        }
    };
    // No password yet: nothing signs in, not even an empty one.
    for password in ["", "correct horse battery"] {
        assert_eq!(sign_in(password).await.status, StatusCode::UNAUTHORIZED);
    }

    let page = send(&f, Method::GET, &link, None, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<strong id=\"account\">wren</strong>"),
        "{}",
        page.body
    );
    let cookie = cookie_pair(&page.cookies[0]);
    let csrf = csrf_of(&page.body);
    let post = |cookie: Option<String>, fields: Vec<(&'static str, String)>| {
        let (f, link) = (&f, link.clone());
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(f, Method::POST, &link, cookie.as_deref(), &fields).await
        }
    };
    let fields = |password: &str, repeat: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("password", password.to_owned()),
            ("repeat", repeat.to_owned()),
        ]
    };
    // Refused before anything: another browser's form, or none.
    let other = post(
        None,
        fields("correct horse battery", "correct horse battery"),
    )
    .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // The rules of passwords, and the same one twice.
    for (password, repeat, why) in [
        ("Zq9pwd", "Zq9pwd", "at least 12"),
        (
            "correct horse battery",
            "correct horse batterY",
            "not the same",
        ),
    ] {
        let refused = post(Some(cookie.clone()), fields(password, repeat)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert!(refused.body.contains(why), "{}", refused.body);
        assert!(!refused.body.contains(password), "never shown back");
    }
    let set = post(
        Some(cookie.clone()),
        fields("correct horse battery", "correct horse battery"),
    )
    .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    assert_eq!(set.location, "/admin/login?done=password");
    let login = send(&f, Method::GET, &set.location, None, &[]).await;
    assert!(
        login.body.contains("Your password is set"),
        "{}",
        login.body
    );
    let signed = sign_in("correct horse battery").await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.location, "/admin");

    // Used: the page and its form refuse it as they refuse a link nobody has.
    let unknown = format!("/admin/welcome/{}", "ab".repeat(32));
    let refusal = send(&f, Method::GET, &unknown, None, &[]).await;
    assert_eq!(refusal.status, StatusCode::NOT_FOUND);
    assert!(!refusal.body.contains("wren"));
    for uri in [link.as_str(), "/admin/welcome/not-hex", "/admin/welcome/AB"] {
        let again = send(&f, Method::GET, uri, None, &[]).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(again.body, refusal.body, "{uri}: the same answer");
    }
    let again = post(
        Some(cookie.clone()),
        fields("another password here", "another password here"),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.body, refusal.body);
    assert_eq!(
        sign_in("correct horse battery").await.status,
        StatusCode::SEE_OTHER
    );

    // Expired: the same refusal.
    let secret = Secret::random().unwrap();
    f.state
        .store
        .set_password_link(
            &Actor::operator("test"),
            id,
            &secret.digest(),
            Timestamp(Timestamp::now().0 - 1),
        )
        .await
        .unwrap();
    let expired = send(
        &f,
        Method::GET,
        &format!("/admin/welcome/{}", secret.as_str()),
        None,
        &[],
    )
    .await;
    assert_eq!(expired.status, StatusCode::NOT_FOUND);
    assert_eq!(expired.body, refusal.body);
}

/// A reset (a new password link) ends the account's sessions and its old password at once.
#[tokio::test]
async fn a_reset_ends_sessions_and_the_old_password() {
    let f = Fixture::new().await;
    let a = f
        .state
        .store
        .org_by_name("NGO A")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (id, cookie, _) = signed_in(&f, "kai", a, Role::Curator).await;
    let before = send(&f, Method::GET, "/admin", Some(&cookie), &[]).await;
    assert_eq!(before.status, StatusCode::OK);
    let (status, answer) = f
        .json(
            Method::POST,
            &format!("/v1/users/{id}/password-link"),
            Some(f.key(Role::OrgAdmin)),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let after = send(&f, Method::GET, "/admin", Some(&cookie), &[]).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "signed out");
    let user = f.state.store.user(id).await.unwrap().unwrap();
    assert!(!user.has_password(), "the old password stopped working");
}

/// The people page offers each viewer what the API lets it do: no admin role and no
/// control over an admin's account for an organisation's administrator; a key's secret
/// and a password link appear on the answer to the form that made them, never on the page.
#[tokio::test]
async fn the_people_page_shows_only_what_its_viewer_may_do() {
    let f = Fixture::new().await;
    let a = f
        .state
        .store
        .org_by_name("NGO A")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (_, admin, admin_csrf) = signed_in(&f, "ada", a, Role::Admin).await;
    let (_, org_admin, csrf) = signed_in(&f, "oda", a, Role::OrgAdmin).await;
    let admin_page = send(&f, Method::GET, "/admin/people", Some(&admin), &[]).await;
    assert_eq!(admin_page.status, StatusCode::OK);
    assert!(
        admin_page
            .body
            .contains("<option value=\"admin\">admin</option>")
    );
    assert!(admin_page.body.contains("Disable oda"));
    assert!(
        admin_page.body.contains("id=\"user-org\""),
        "admins pick the organisation"
    );
    let page = send(&f, Method::GET, "/admin/people", Some(&org_admin), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        !page.body.contains("<option value=\"admin\""),
        "no admin role offered"
    );
    assert!(
        !page.body.contains("Disable ada"),
        "no control over an admin's account"
    );
    assert!(!page.body.contains("id=\"user-org\""));
    assert!(page.body.contains("id=\"key-"), "each key row is an anchor");
    // Not its own either: nobody locks themself out from here.
    assert!(!page.body.contains("Disable oda"));

    let made = send(
        &f,
        Method::POST,
        "/admin/people/keys",
        Some(&org_admin),
        &[("csrf", &csrf), ("role", "platform"), ("label", "uploader")],
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let at = made.body.find("<output id=\"secret\">").unwrap() + 20;
    let secret = made.body[at..at + 45].to_owned();
    assert!(secret.starts_with("ward_"), "{secret}");
    let page = send(&f, Method::GET, "/admin/people", Some(&org_admin), &[]).await;
    assert!(!page.body.contains(&secret), "shown once");
    assert!(page.body.contains(&secret[..13]), "its prefix is listed");

    let made = send(
        &f,
        Method::POST,
        "/admin/people/users",
        Some(&org_admin),
        &[("csrf", &csrf), ("role", "analyst"), ("name", "lee")],
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(made.body.contains("/admin/welcome/"), "{}", made.body);
    let page = send(&f, Method::GET, "/admin/people", Some(&org_admin), &[]).await;
    assert!(!page.body.contains("/admin/welcome/"));
    assert!(page.body.contains("waiting for its password"));
    // The API's refusals come through as pages with their status.
    for (form, status) in [
        (
            vec![("role", "admin"), ("name", "boss")],
            StatusCode::FORBIDDEN,
        ),
        (
            vec![("role", "analyst"), ("name", "lee")],
            StatusCode::CONFLICT,
        ),
        (
            vec![("role", "analyst"), ("name", "far"), ("org", "99999")],
            StatusCode::FORBIDDEN,
        ),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form.iter().copied());
        let refused = send(
            &f,
            Method::POST,
            "/admin/people/users",
            Some(&org_admin),
            &fields,
        )
        .await;
        assert_eq!(refused.status, status, "{form:?}: {}", refused.body);
    }
    // An admin makes an organisation, then its people.
    let made = send(
        &f,
        Method::POST,
        "/admin/orgs",
        Some(&admin),
        &[("csrf", &admin_csrf), ("name", "Hotline C")],
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let orgs = send(&f, Method::GET, &made.location, Some(&admin), &[]).await;
    assert!(orgs.body.contains("Hotline C"));
    assert!(orgs.body.contains("The organisation is made"));
}
