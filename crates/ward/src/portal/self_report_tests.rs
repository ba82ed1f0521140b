//! Self-reports through the router: the pages in every country's languages (and only when a
//! self-report bank takes them), a case opened, added to and withdrawn with its number and
//! code, its items in the bank and its tombstones in the feed, and what guards the forms
//! (CSRF, the media type, the hashes' lines and their bound, the rate limit); nothing about
//! the client is kept.

use axum::http::StatusCode;
use ward_store::{
    Actor, BankKind, NewBank, SELF_REPORT_SEND_MAX, Seq, Sharing, Store as _, normalise_case_code,
};

use super::language;
use super::tests::{Fixture, html_tag, text_of, title};

const MD5: &str = "0123456789abcdef0123456789abcdef";
const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

/// Makes the hotline's self-report bank; returns its id.
async fn self_report_bank(f: &Fixture) -> ward_store::BankId {
    let store = &f.state.store;
    let actor = Actor::operator("test");
    let org = store.create_org(&actor, "Hotline").await.unwrap();
    store
        .create_bank(
            &actor,
            &NewBank {
                name: "SELF_REPORTS".into(),
                org: org.id,
                kind: BankKind::SelfReport,
                distance: 31,
                enabled: true,
                sharing: Sharing::Members,
                shared_with: Vec::new(),
                dispute_limit: None,
                description: String::new(),
            },
        )
        .await
        .unwrap()
        .id
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        form.append_pair(name, value);
    }
    form.finish()
}

#[tokio::test]
async fn the_pages_are_offered_only_with_a_self_report_bank() {
    let f = Fixture::new().await;
    let page = f.get("/report/gb/self", &[]).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(title(&page.body).starts_with("This service is not offered here yet"));
    assert!(!page.body.contains("self-form"));
    let country = f.get("/report/gb", &[]).await;
    assert!(!country.body.contains("id=\"self-link\""));
    self_report_bank(&f).await;
    let page = f.get("/report/gb/self", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let country = f.get("/report/gb", &[]).await;
    assert!(
        country.body.contains("href=\"/report/gb/self?lang=en\""),
        "{}",
        country.body
    );
    let international = f.get("/report", &[]).await;
    assert!(
        international
            .body
            .contains("href=\"/report/ma/self?lang=en\"")
    );
    // Per country only: the international page has none of its own.
    assert_eq!(
        f.get("/report/self", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        f.get("/report/zz/self", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_language_renders_the_self_report_pages() {
    let f = Fixture::new().await;
    self_report_bank(&f).await;
    for (country, tag) in [
        ("gb", "en"),
        ("us", "es"),
        ("fr", "fr"),
        ("ma", "ar"),
        ("ma", "fr"),
        ("eg", "en"),
        ("br", "pt"),
    ] {
        let language = language::find(tag).unwrap();
        for path in ["self", "self/case"] {
            let page = f
                .get(&format!("/report/{country}/{path}?lang={tag}"), &[])
                .await;
            assert_eq!(page.status, StatusCode::OK, "{country} {tag} {path}");
            assert_eq!(
                html_tag(&page.body),
                format!("<html lang=\"{tag}\" dir=\"{}\">", language.dir())
            );
            // The hashing needs the page's script; without it the page says so.
            assert!(page.body.contains("<noscript>"), "{country} {tag} {path}");
            assert!(page.body.contains("src=\"/static/selfreport.js?v="));
            assert!(
                page.body.contains("src=\"/static/portal.js?v="),
                "the quick exit's script too"
            );
            // A chooser without a name (never sent), hidden until the script shows it.
            assert!(page.body.contains("type=\"file\""));
            assert!(!page.body.contains("type=\"file\" name="));
            assert!(!page.body.contains("multipart"));
            // Every word in the page's language.
            for id in ["self-choose-label", "self-noscript"] {
                assert!(
                    page.body.contains(&language.t(id).replace('\'', "&#39;")),
                    "{tag} {id}"
                );
            }
        }
        let page = f
            .get(&format!("/report/{country}/self?lang={tag}"), &[])
            .await;
        assert!(page.body.contains("id=\"self-form\"") && page.body.contains(" hidden "));
        assert!(
            page.body
                .contains(&language.t("self-who-body").replace('\'', "&#39;")),
            "{tag}"
        );
    }
    let script = f.get("/static/selfreport.js", &[]).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.header("content-type").starts_with("text/javascript"));
    for part in [
        "WardMd5",
        "WardPng",
        "WardGif",
        "WardPdq",
        "WardSelfHash",
        "self-hashes",
    ] {
        assert!(script.body.contains(part), "{part}");
    }
}

/// The number and code a case's page shows.
fn opened(body: &str) -> (String, String) {
    let number = text_of(body, "self-number")
        .expect("a case number")
        .to_owned();
    let code = text_of(body, "self-code").expect("a code").to_owned();
    (number, code)
}

#[tokio::test]
async fn a_case_is_opened_added_to_and_withdrawn() {
    let f = Fixture::new().await;
    let bank = self_report_bank(&f).await;
    let store = &f.state.store;
    let token = f.token("/report/ma/self").await;
    let peer = "203.0.113.9:4000";
    let hashes = format!("md5:{MD5} pdq:{PDQ}\nmd5:{}", "a".repeat(32));
    let reply = f
        .post(
            "/report/ma/self?lang=fr",
            form(&[("csrf", &token), ("hashes", &hashes)]),
            Some(&token),
            peer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.header("cache-control"),
        "no-store",
        "the code is never cached"
    );
    let (number, code) = opened(&reply.body);
    assert!(number.starts_with("S-"));
    assert_eq!(normalise_case_code(&code).as_deref(), Some(code.as_str()));
    assert!(reply.body.contains("lang=\"fr\""));
    let case = store.self_report(&number, &code).await.unwrap().unwrap();
    assert_eq!(
        (case.files, case.country.as_str(), case.bank),
        (2, "ma", bank)
    );
    let items = store.bank_contents(bank, None, 10).await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].provenance.source, "self-report:ma");
    assert_eq!(items[0].signals.len(), 2);

    // Added to with the number and code as typed.
    let case_page = "/report/ma/self/case?lang=fr";
    let more = format!("md5:{}", "b".repeat(32));
    let reply = f
        .post(
            case_page,
            form(&[
                ("csrf", &token),
                ("case", &number.to_lowercase()),
                ("code", &code.replace('-', "")),
                ("action", "add"),
                ("hashes", &more),
            ]),
            Some(&token),
            peer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let done = text_of(&reply.body, "self-done").unwrap();
    assert!(done.contains('1') && done.contains('3'), "{done}");
    assert_eq!(
        store
            .self_report(&number, &code)
            .await
            .unwrap()
            .unwrap()
            .files,
        3
    );

    // A wrong code, an unknown number, nothing typed.
    for (case, code_typed, status) in [
        (number.as_str(), "AAAA-AAAA", StatusCode::NOT_FOUND),
        ("S-0000-0000-0000", code.as_str(), StatusCode::NOT_FOUND),
        ("", "", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        if code_typed == code && case == number {
            continue;
        }
        let reply = f
            .post(
                "/report/gb/self/case",
                form(&[
                    ("csrf", &token),
                    ("case", case),
                    ("code", code_typed),
                    ("action", "withdraw"),
                ]),
                Some(&token),
                peer,
            )
            .await;
        assert_eq!(reply.status, status, "{case} {code_typed}");
        assert!(title(&reply.body).starts_with("Error:"));
        assert!(text_of(&reply.body, "self-problem").is_some());
    }
    assert_eq!(
        store
            .self_report(&number, &code)
            .await
            .unwrap()
            .unwrap()
            .withdrawn_at,
        None
    );

    // Withdrawn: every item's signals become tombstones in the feed.
    let before = store.last_seq().await.unwrap();
    let reply = f
        .post(
            case_page,
            form(&[
                ("csrf", &token),
                ("case", &number),
                ("code", &code),
                ("action", "withdraw"),
            ]),
            Some(&token),
            peer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(text_of(&reply.body, "self-done").is_some());
    let changes = store.signal_changes(before, 100).await.unwrap();
    assert_eq!(changes.len(), 4);
    assert!(changes.iter().all(|c| !c.active && c.bank == bank));
    assert!(
        store
            .bank_contents(bank, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Nothing more once withdrawn.
    for action in ["withdraw", "add"] {
        let reply = f
            .post(
                case_page,
                form(&[
                    ("csrf", &token),
                    ("case", &number),
                    ("code", &code),
                    ("action", action),
                    ("hashes", &more),
                ]),
                Some(&token),
                peer,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{action}");
    }
    assert!(store.last_seq().await.unwrap() > before);
    assert!(
        store
            .signal_changes(Seq(0), 100)
            .await
            .unwrap()
            .iter()
            .all(|c| !c.active),
        "nothing of the case is matched"
    );

    // Nothing about the client is kept: its address is nowhere in the store's files.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(f.dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(path).unwrap());
        }
    }
    assert!(!stored.is_empty());
    assert!(!stored.windows(11).any(|w| w == b"203.0.113.9"));
}

#[tokio::test]
async fn the_forms_are_guarded() {
    let f = Fixture::new().await;
    self_report_bank(&f).await;
    let token = f.token("/report/gb/self").await;
    let peer = "198.51.100.20:1000";
    let good = format!("md5:{MD5}");
    // Without the CSRF pair: refused, the page again with a notice, nothing stored.
    let reply = f
        .post(
            "/report/gb/self",
            form(&[("csrf", "forged"), ("hashes", &good)]),
            Some(&token),
            peer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("For your security"));
    let reply = f
        .post(
            "/report/gb/self/case",
            form(&[
                ("case", "S-0000-0000-0000"),
                ("code", "AAAA-AAAA"),
                ("action", "withdraw"),
            ]),
            None,
            peer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // A file, or any other body than a form's: never read.
    let reply = f
        .post_as(
            "/report/gb/self",
            "--x\r\n".into(),
            "multipart/form-data; boundary=x",
            Some(&token),
            peer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Lines that are not hashes, or too many of them.
    let many = vec![good.as_str(); SELF_REPORT_SEND_MAX + 1].join("\n");
    for (hashes, message) in [
        ("", "Choose at least one picture or video"),
        ("md5:xyz", "Something went wrong while making the hashes"),
        (
            &format!("md5:{MD5} name:holiday.jpg") as &str,
            "Something went wrong",
        ),
        (&many, "up to 50 files at once"),
    ] {
        let reply = f
            .post(
                "/report/gb/self",
                form(&[("csrf", &token), ("hashes", hashes)]),
                Some(&token),
                "198.51.100.21:1000",
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{hashes:.40}"
        );
        assert!(reply.body.contains(message), "{message}");
        assert!(title(&reply.body).starts_with("Error:"));
    }
    assert!(
        f.state
            .store
            .signal_changes(Seq(0), 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
    // The rate limit counts every post, whatever becomes of it.
    let burst = f.state.portal.limiter.limits().burst;
    let client = "198.51.100.22:1000";
    // Guessing codes: each guess is a post, and the limit stops the guessing.
    let guess = form(&[
        ("csrf", &token),
        ("case", "S-0000-0000-0000"),
        ("code", "AAAA-AAAA"),
        ("action", "withdraw"),
    ]);
    let mut statuses = Vec::new();
    for _ in 0..=burst {
        let reply = f
            .post("/report/gb/self/case", guess.clone(), Some(&token), client)
            .await;
        statuses.push(reply.status);
    }
    let reply = f
        .post("/report/gb/self/case", guess, Some(&token), client)
        .await;
    assert!(
        statuses[..burst as usize]
            .iter()
            .all(|s| *s == StatusCode::NOT_FOUND)
    );
    assert_eq!(statuses[burst as usize], StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.header("retry-after").parse::<u64>().is_ok());
    let reply = f
        .post(
            "/report/gb/self",
            form(&[("csrf", &token), ("hashes", &good)]),
            Some(&token),
            client,
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}
