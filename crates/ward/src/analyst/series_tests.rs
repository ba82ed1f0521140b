//! The series pages through the router: the list and its filter and pages, a series with its
//! members, and curators' changes (name, flags, referral, merge, split) with their refusals
//! (other roles, forms without the session's token, unknown series, bad input). Series form
//! from benign PDQ hashes added to the fixture's bank.

use axum::http::{Method, StatusCode};
use ward_store::{
    Actor, ContentId, NewContent, SeriesChange, SeriesId, SeriesQuery, Signal, SignalKind,
    Store as _, Timestamp,
};

use super::super::session::{SESSION_COOKIE, Secret};
use super::Fixture;

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

/// `PDQ` with the bits `first..first + distance` flipped (bit 0: the lowest bit of the last
/// hex digit).
fn away(first: usize, distance: usize) -> String {
    let mut digits: Vec<u8> = PDQ.chars().map(|c| c.to_digit(16).unwrap() as u8).collect();
    for bit in first..first + distance {
        let at = digits.len() - 1 - bit / 4;
        digits[at] ^= 1 << (bit % 4);
    }
    digits
        .iter()
        .map(|d| char::from_digit(u32::from(*d), 16).unwrap())
        .collect()
}

/// Two series in the fixture's bank: `[a, b, c]` and `[d, e]`, with their ids.
struct Families {
    one: SeriesId,
    two: SeriesId,
    a: i64,
    c: i64,
    d: i64,
}

async fn families(f: &Fixture) -> Families {
    let hashes = [
        PDQ.to_owned(),
        away(0, 1),
        away(0, 11),
        away(100, 100),
        away(101, 100),
    ];
    let items: Vec<NewContent> = hashes
        .iter()
        .map(|hash| NewContent {
            signals: vec![Signal {
                kind: SignalKind::Pdq,
                value: hash.clone(),
            }],
            source: "test".into(),
            ..NewContent::default()
        })
        .collect();
    let ids = f
        .state
        .store
        .add_content(&Actor::operator("test"), f.bank, &items)
        .await
        .unwrap();
    keep(f).await;
    let one = series_of(f, ids[0].0).await.expect("a is in a series");
    let two = series_of(f, ids[3].0).await.expect("d is in a series");
    assert_ne!(one, two);
    assert_eq!(series_of(f, ids[2].0).await, Some(one));
    Families {
        one,
        two,
        a: ids[0].0,
        c: ids[2].0,
        d: ids[3].0,
    }
}

async fn keep(f: &Fixture) {
    f.state.index.follow(&f.state.store).await.unwrap();
    let report = f.state.keep_series().await.expect("a keeper step");
    assert!(report.keeping, "the only node keeps the series");
}

async fn series_of(f: &Fixture, content: i64) -> Option<SeriesId> {
    f.state
        .store
        .content_series(&[ContentId(content)])
        .await
        .unwrap()
        .first()
        .map(|(_, s)| s.id)
}

async fn live(f: &Fixture) -> Vec<SeriesId> {
    let query = SeriesQuery {
        scope: ward_store::BankScope::All,
        victim_identified: None,
        after: None,
        limit: 100,
    };
    let list = f.state.store.series_list(&query).await.unwrap();
    list.iter().map(|s| s.id).collect()
}

#[tokio::test]
async fn the_list_shows_live_series_with_a_filter_and_pages() {
    let f = Fixture::new().await;
    let ana = f.sign_in("ana").await;
    let empty = f.get(&ana, "/analyst/series").await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text());
    assert!(empty.text().contains("id=\"series-empty\""));

    let s = families(&f).await;
    f.state
        .store
        .update_series(
            &Actor::operator("test"),
            s.one,
            &SeriesChange {
                name: Some(Some("Lighthouse".into())),
                victim_identified: Some(true),
                ..SeriesChange::default()
            },
            &ward_store::BankScope::All,
        )
        .await
        .unwrap();
    let page = f.get(&ana, "/analyst/series").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(
        text.contains("<a href=\"/analyst/series\">Series</a>"),
        "{text}"
    );
    for id in [s.one, s.two] {
        assert!(
            text.contains(&format!("href=\"/analyst/series/{id}\"")),
            "{text}"
        );
    }
    assert!(text.contains("Lighthouse"));
    assert!(text.contains("<td class=\"number\">3</td>"));
    assert!(text.contains("<td class=\"number\">2</td>"));

    let filtered = f.get(&ana, "/analyst/series?unidentified=1").await.text();
    assert!(!filtered.contains(&format!("href=\"/analyst/series/{}\"", s.one)));
    assert!(filtered.contains(&format!("href=\"/analyst/series/{}\"", s.two)));
    assert!(filtered.contains(" checked>"), "the filter stays ticked");

    let next = f
        .get(&ana, &format!("/analyst/series?after={}", s.one))
        .await
        .text();
    assert!(!next.contains(&format!("href=\"/analyst/series/{}\"", s.one)));
    assert!(next.contains(&format!("href=\"/analyst/series/{}\"", s.two)));
    assert!(next.contains("First page"));

    let bad = f.get(&ana, "/analyst/series?after=abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("must be a number"), "{}", bad.text());
    // Auditors do not work the analysts' pages, even with a session.
    let secret = Secret::random().unwrap();
    let audrey = f.user("audrey").await;
    let later = Timestamp(Timestamp::now().0 + 60_000);
    f.state
        .store
        .create_session(audrey.id, &secret.digest(), later)
        .await
        .unwrap();
    let cookies = [(SESSION_COOKIE, secret.as_str())];
    let refused = f
        .send(
            Method::GET,
            &format!("/analyst/series/{}", s.one),
            &cookies,
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn analysts_see_a_series_and_only_curators_change_it() {
    let f = Fixture::new().await;
    let s = families(&f).await;
    let ana = f.sign_in("ana").await;
    let uri = format!("/analyst/series/{}", s.one);
    let page = f.get(&ana, &uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let text = page.text();
    assert!(
        text.contains(&format!("<tr data-id=\"{}\">", s.a)),
        "{text}"
    );
    assert!(text.contains("CONFIRMED"));
    assert!(text.contains("Members shown: 3"));
    assert!(!text.contains("id=\"change\""), "no forms for analysts");
    assert!(!text.contains("id=\"split\""));

    let name = [("name", "Nope")];
    // The form takes the number the pages show (`#1` for series 0).
    let with = (s.two.0 + 1).to_string();
    let c = s.c.to_string();
    for (path, form) in [
        (uri.clone(), &name[..]),
        (format!("{uri}/merge"), &[("with", with.as_str())][..]),
        (format!("{uri}/split"), &[("content", c.as_str())][..]),
    ] {
        let answer = f.post(&ana, &path, form).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
    }
    let cora = f.sign_in("cora").await;
    let otto = f.sign_in("otto").await;
    for token in ["", "00", otto.csrf.as_str()] {
        let answer = f
            .send(
                Method::POST,
                &uri,
                &[(SESSION_COOKIE, &cora.secret)],
                &[("csrf", token), ("name", "Nope")],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{token}");
        let answer = f
            .send(
                Method::POST,
                &format!("{uri}/merge"),
                &[(SESSION_COOKIE, &cora.secret)],
                &[("csrf", token), ("with", &with)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{token}");
    }
    let row = f
        .state
        .store
        .series(s.one, &ward_store::BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.name, None);
    assert_eq!(live(&f).await, [s.one, s.two]);
    // Without a session, a form is refused (401) and a page sends the browser to sign in.
    let answer = f.send(Method::POST, &uri, &[], &[("name", "Nope")]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    for missing in ["/analyst/series/999999", "/analyst/series/-1"] {
        let answer = f.get(&cora, missing).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{missing}");
        let answer = f.post(&cora, missing, &[("name", "x")]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{missing}");
    }
    let answer = f.get(&cora, "/analyst/series/abc").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = f.get(&cora, &format!("{uri}?decision=x")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn curators_name_flag_merge_and_split() {
    let f = Fixture::new().await;
    let s = families(&f).await;
    let cora = f.sign_in("cora").await;
    let uri = format!("/analyst/series/{}", s.one);
    let page = f.get(&cora, &uri).await.text();
    assert!(page.contains("id=\"change\""), "{page}");
    assert!(page.contains("id=\"merge\""));
    assert!(page.contains(&format!("name=\"content\" value=\"{}\"", s.c)));

    // Name, flags and referral.
    let answer = f
        .post(
            &cora,
            &uri,
            &[
                ("name", "  Lighthouse "),
                ("victim_identified", "1"),
                ("referred_to", "NCA CEOP"),
                ("referred_on", "2026-11-02"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(answer.location(), format!("{uri}?notice=saved"));
    let row = f
        .state
        .store
        .series(s.one, &ward_store::BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.name.as_deref(), Some("Lighthouse"));
    assert!(row.victim_identified);
    assert!(!row.offender_identified);
    assert_eq!(row.referred_to.as_deref(), Some("NCA CEOP"));
    let page = f.get(&cora, answer.location()).await.text();
    assert!(page.contains("Saved."));
    assert!(
        page.contains("to NCA CEOP on <time datetime=\"2026-11-02\">"),
        "{page}"
    );
    // Bad input is refused with a message, and changes nothing.
    for (form, message) in [
        (
            &[("referred_to", "NCA"), ("referred_on", "2026-13-40")][..],
            "not a date",
        ),
        (&[("referred_on", "2026-11-02")][..], "to whom"),
    ] {
        let answer = f.post(&cora, &uri, form).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(answer.text().contains(message), "{}", answer.text());
    }
    let answer = f
        .post(&cora, &format!("{uri}/merge"), &[("with", "x")])
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = f.post(&cora, &format!("{uri}/split"), &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let self_merge = f
        .post(
            &cora,
            &format!("{uri}/merge"),
            &[("with", &(s.one.0 + 1).to_string())],
        )
        .await;
    assert_eq!(self_merge.status, StatusCode::BAD_REQUEST);
    assert!(self_merge.text().contains("itself"));
    let row = f
        .state
        .store
        .series(s.one, &ward_store::BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.referred_to.as_deref(), Some("NCA CEOP"));

    // Merge: one series is left, and the page says so.
    let answer = f
        .post(
            &cora,
            &format!("{uri}/merge"),
            &[("with", &(s.two.0 + 1).to_string())],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let merged = live(&f).await;
    assert_eq!(merged.len(), 1, "{merged:?}");
    let survivor = merged[0];
    assert!(
        answer
            .location()
            .starts_with(&format!("/analyst/series/{survivor}?decision=")),
        "{}",
        answer.location()
    );
    let page = f.get(&cora, answer.location()).await.text();
    assert!(page.contains("was applied"), "{page}");
    assert!(page.contains("Members shown: 5"), "{page}");
    assert_eq!(series_of(&f, s.d).await, Some(survivor));
    let gone = if survivor == s.one { s.two } else { s.one };
    let page = f
        .get(&cora, &format!("/analyst/series/{gone}"))
        .await
        .text();
    assert!(
        page.contains(&format!(
            "merged into <a href=\"/analyst/series/{survivor}\""
        )),
        "{page}"
    );
    assert!(
        !page.contains("id=\"change\""),
        "a merged series is changed where it went"
    );

    // Split: the ticked member lands in a series of its own.
    let answer = f
        .post(
            &cora,
            &format!("/analyst/series/{survivor}/split"),
            &[("content", &s.c.to_string())],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let page = f.get(&cora, answer.location()).await.text();
    assert!(page.contains("was applied"), "{page}");
    let apart = series_of(&f, s.c).await.expect("c is in a series");
    assert_ne!(apart, survivor);
    assert_eq!(series_of(&f, s.a).await, Some(survivor));
    let row = f
        .state
        .store
        .series(apart, &ward_store::BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.members, 1);
    assert!(
        page.contains(&format!("href=\"/analyst/series/{apart}\"")),
        "{page}"
    );
    let page = f
        .get(&cora, &format!("/analyst/series/{apart}"))
        .await
        .text();
    assert!(page.contains("id=\"split-from\""), "{page}");
    // Every change is in the audit log, by the curator.
    let cora_id = f.user("cora").await.id;
    let log = f
        .state
        .store
        .audit_log(&ward_store::AuditQuery::deployment())
        .await
        .unwrap();
    for action in ["series.update", "series.merge", "series.split"] {
        assert!(
            log.iter()
                .any(|e| e.action == action && e.actor == format!("user:{cora_id}")),
            "{action}"
        );
    }
}

/// Another organisation's people see series on these pages as `/v1/series` shows them, by
/// the same rule: not at all when they see none of a series' members (a 404 page, and
/// changes refused as for a series that does not exist), and only their own members, and
/// counts of them, in a series that holds both organisations' content.
#[tokio::test]
async fn series_of_content_a_user_does_not_see_do_not_exist_for_them() {
    let f = Fixture::new().await;
    let s = families(&f).await;
    // Elsewhere's private item, two bits from `d`: it joins series two.
    let theirs = f
        .state
        .store
        .add_content(
            &Actor::operator("test"),
            f.other_bank,
            &[NewContent {
                signals: vec![Signal {
                    kind: SignalKind::Pdq,
                    value: away(102, 100),
                }],
                source: "test".into(),
                ..NewContent::default()
            }],
        )
        .await
        .unwrap()[0];
    keep(&f).await;
    assert_eq!(series_of(&f, theirs.0).await, Some(s.two));
    let elsewhere = f.state.store.bank(f.other_bank).await.unwrap().unwrap().org;
    let hash = super::super::passwords::Password::new(super::PASSWORD.into())
        .unwrap()
        .hash()
        .unwrap();
    f.state
        .store
        .create_user(
            &Actor::operator("test"),
            &ward_store::NewUser {
                name: "elle".into(),
                org: elsewhere,
                role: ward_store::Role::Curator,
                password_hash: hash,
            },
        )
        .await
        .unwrap();
    let (otto, elle) = (f.sign_in("otto").await, f.sign_in("elle").await);

    // The list: series two, counting Elsewhere's one member; series one is not there.
    let list = f.get(&otto, "/analyst/series").await.text();
    let link = |id: SeriesId| format!("href=\"/analyst/series/{id}\"");
    assert!(list.contains(&link(s.two)), "{list}");
    assert!(!list.contains(&link(s.one)), "{list}");
    let row = &list[list.find(&link(s.two)).unwrap()..];
    assert!(
        row.contains("<td class=\"number\">1</td>"),
        "one member seen: {row:.400}"
    );
    // Series one does not exist for them; series two shows their member only.
    for who in [&otto, &elle] {
        let page = f.get(who, &format!("/analyst/series/{}", s.one)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.text());
    }
    let page = f.get(&otto, &format!("/analyst/series/{}", s.two)).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(
        text.contains("THEIRS") && !text.contains("CONFIRMED"),
        "{text}"
    );
    assert!(!text.contains(&format!("value=\"{}\"", s.d)), "{text}");

    // Their curator changes nothing of series one, nor splits Hotline's item off two.
    let refused = [
        (
            format!("/analyst/series/{}", s.one),
            vec![("name", "Ours now")],
        ),
        (
            format!("/analyst/series/{}/merge", s.one),
            vec![("with", "0")],
        ),
        (
            format!("/analyst/series/{}/merge", s.two),
            vec![("with", "0")],
        ),
        (
            format!("/analyst/series/{}/split", s.two),
            vec![("content", "0")],
        ),
    ];
    for (uri, form) in refused {
        let form: Vec<(&str, String)> = form
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    // The number series one is shown with.
                    "0" if k == "with" => (s.one.0 + 1).to_string(),
                    "0" => s.d.to_string(),
                    v => v.to_owned(),
                };
                (k, v)
            })
            .collect();
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = f.post(&elle, &uri, &form).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{uri}: {}",
            answer.text()
        );
    }
    let one = f
        .state
        .store
        .series(s.one, &ward_store::BankScope::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((one.name, one.merged_into), (None, None));
    assert_eq!(series_of(&f, s.d).await, Some(s.two));
}
