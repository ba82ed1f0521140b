//! The console's overview and match tester through the router, signed in as people of
//! organisation A ("NGO A") of the serve tests' fixture: what each role is shown, the
//! nodes' and banks' figures, and matches as a platform would get them (bank rules, the
//! enabled ratio bypassed or not, a file hashed first).

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use ward_store::{Actor, NewUser, Role, Store as _, Timestamp};

use crate::analyst::session::{SESSION_COOKIE, SESSION_FORMS, Secret};
use crate::serve::tests::{Fixture, png};

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
/// One bit from `PDQ`.
const PDQ_NEAR: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23";

/// A person of organisation A signed in: the cookie and the forms' CSRF token.
struct Person {
    cookie: String,
    csrf: String,
}

async fn person(f: &Fixture, name: &str, role: Role) -> Person {
    let store = &f.state.store;
    let org = store.org_by_name("NGO A").await.unwrap().unwrap();
    let user = store
        .create_user(
            &Actor::operator("test"),
            &NewUser {
                name: name.to_owned(),
                org: org.id,
                role,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
            },
        )
        .await
        .unwrap();
    let secret = Secret::random().unwrap();
    store
        .create_session(
            user.id,
            &secret.digest(),
            Timestamp(Timestamp::now().0 + 3_600_000),
        )
        .await
        .unwrap();
    Person {
        cookie: format!("{SESSION_COOKIE}={}", secret.as_str()),
        csrf: secret.csrf_token(SESSION_FORMS),
    }
}

async fn page(f: &Fixture, who: &Person, uri: &str) -> (StatusCode, String) {
    let headers = [("cookie", who.cookie.clone())];
    let (status, _, body) = f
        .send_headers(Method::GET, uri, &headers, Body::empty(), "")
        .await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A multipart form of text fields and, optionally, a file part named `file`.
fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> (Body, String) {
    let boundary = "consoletestboundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(bytes) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; \
                 filename=\"a.png\"\r\ncontent-type: image/png\r\n\r\n"
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

async fn test(
    f: &Fixture,
    who: &Person,
    fields: &[(&str, &str)],
    file: Option<&[u8]>,
) -> (StatusCode, String) {
    let mut all = vec![("csrf", who.csrf.as_str())];
    all.extend_from_slice(fields);
    let (body, content_type) = multipart(&all, file);
    let headers = [("cookie", who.cookie.clone())];
    let (status, _, body) = f
        .send_headers(Method::POST, "/admin/match", &headers, body, &content_type)
        .await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn the_match_tester_matches_as_a_platform_would() {
    let f = Fixture::new().await;
    let always = f.bank("ALWAYS", json!({})).await;
    let never = f.bank("NEVER_DRAWN", json!({"enabled_ratio": 0.0})).await;
    let item = f.content(always, "pdq", PDQ).await;
    f.content(never, "pdq", PDQ).await;
    f.follow().await;
    let cora = person(&f, "cora", Role::Curator).await;

    // A near hash, pasted bare: matched in the bank drawn, at its distance; the bank whose
    // ratio is 0 takes no part unless the ratio is bypassed.
    let (status, text) = test(
        &f,
        &cora,
        &[("hashes", PDQ_NEAR), ("signal_type", "pdq")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("id=\"placement\">near<"), "{text}");
    assert!(
        text.contains(&format!("href=\"/admin/content/{item}\"")),
        "{text}"
    );
    assert!(text.contains("distance 1"), "{text}");
    assert!(!text.contains("NEVER_DRAWN"), "{text}");
    let (_, text) = test(
        &f,
        &cora,
        &[("hashes", &format!("pdq {PDQ}")), ("bypass", "1")],
        None,
    )
    .await;
    assert!(text.contains("id=\"placement\">known<"), "{text}");
    assert!(text.contains("NEVER_DRAWN"), "{text}");
    // The API's own answer is on the page.
    assert!(
        text.contains("&#34;placement&#34;: &#34;known&#34;"),
        "{text}"
    );

    // A file: its hashes shown, and matched (nothing here knows this picture).
    let (status, text) = test(&f, &cora, &[("hashes", "")], Some(&png())).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("id=\"file-hashes\""), "{text}");
    assert!(text.contains("id=\"placement\">novel<"), "{text}");

    // Bad lines are refused, naming the line; nothing pasted and no file is refused.
    for (fields, says) in [
        (vec![("hashes", format!("{PDQ}\nmd5 nothex"))], "line 2"),
        (vec![("hashes", "  ".to_owned())], "paste at least one hash"),
        (
            vec![
                ("hashes", PDQ.to_owned()),
                ("signal_type", "tmk".to_owned()),
            ],
            "the signal type is one of",
        ),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, text) = test(&f, &cora, &fields, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.to_lowercase().contains(says), "{says}: {text}");
    }

    // A test is not a platform's match: nothing is counted for the figures (as the same
    // query through the API is).
    assert!(f.state.tally.is_empty());
    let (status, _) = f
        .json(
            Method::GET,
            &format!("/v1/match?signal_type=pdq&signal={PDQ}"),
            Some(f.key(Role::Curator)),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!f.state.tally.is_empty());

    // An auditor does not open the tester.
    let audrey = person(&f, "audrey", Role::Auditor).await;
    let (status, _) = page(&f, &audrey, "/admin/match").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = test(&f, &audrey, &[("hashes", PDQ)], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_overview_shows_each_role_its_part() {
    let f = Fixture::new().await;
    let bank = f.bank("SIZES", json!({})).await;
    f.content(bank, "pdq", PDQ).await;
    f.content(bank, "md5", "d41d8cd98f00b204e9800998ecf8427e")
        .await;
    let disabled = f.content(bank, "pdq", PDQ_NEAR).await;
    f.follow().await;
    let (status, _) = f
        .json(
            Method::PATCH,
            &format!("/v1/content/{disabled}"),
            Some(f.key(Role::Curator)),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    f.follow().await;
    crate::serve::report_node_now(&f.state).await.unwrap();

    let adam = person(&f, "adam", Role::Admin).await;
    let (status, text) = page(&f, &adam, "/admin").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // This node, current, and the bank's active signals by type: one PDQ (the other is
    // disabled), one MD5.
    assert!(
        text.contains(&format!(
            "<code>{}</code> (this page&#39;s)",
            f.state.node.id
        )) || text.contains(&format!("<code>{}</code> (this page's)", f.state.node.id)),
        "{text}"
    );
    assert!(text.contains("current"), "{text}");
    let row = text
        .split("<tr>")
        .find(|row| row.contains(">SIZES<"))
        .expect("the bank's row");
    let numbers: Vec<&str> = row
        .split("<td class=\"number\">")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap())
        .collect();
    assert_eq!(numbers, ["1", "1", "0", "0", "0"], "{row}");
    assert!(text.contains("id=\"idle-keys\"") || text.contains("Every live key was used"));

    // A curator: no nodes, no idle keys; an auditor of a non-operator organisation: no
    // nodes, no queue.
    let cora = person(&f, "cora", Role::Curator).await;
    let (_, text) = page(&f, &cora, "/admin").await;
    assert!(text.contains(">SIZES<"));
    assert!(!text.contains("id=\"nodes\"") && !text.contains("id=\"idle-count\""));
    assert!(text.contains("id=\"queue-count\""));
    let audrey = person(&f, "audrey", Role::Auditor).await;
    let (_, text) = page(&f, &audrey, "/admin").await;
    assert!(!text.contains("id=\"nodes\"") && !text.contains("id=\"queue-count\""));
    assert!(!text.contains("href=\"/admin/match\""), "{text}");
}
