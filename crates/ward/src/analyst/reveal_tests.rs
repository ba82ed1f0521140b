//! The reveal without script through the router: a form of the session asks for it, the
//! whole reveal is counted as exposure at once, and the signed link it leads to shows the
//! preview unblurred (with a page that goes back to the blurred one by itself) to that
//! session, for that item, until it ends; never to another session or item, never after.

use axum::http::{Method, StatusCode};
use ward_store::{Store as _, Timestamp};

use super::super::reveal::purpose;
use super::super::session::{SESSION_COOKIE, Secret, today};
use super::Fixture;

/// A reveal link for `id` ending at `until`, signed with a session's secret as the server
/// signs it.
fn link(secret: &str, id: i64, until: i64) -> String {
    let sig = Secret::parse(secret)
        .unwrap()
        .csrf_token(&purpose(id, until));
    format!("/analyst/url/{id}/reveal?until={until}&sig={sig}")
}

#[tokio::test]
async fn a_reveal_without_script_is_this_sessions_for_its_seconds_and_counted() {
    let f = Fixture::new().await;
    let [image, other, _] = f.queued().await;
    let ana = f.sign_in("ana").await;
    let otto = f.sign_in("otto").await;
    let ana_id = f.user("ana").await.id;
    let exposure = || async { f.state.store.exposure(ana_id, &today()).await.unwrap() };

    // The blurred page offers the reveal as a form of this session; the keys are shown
    // only by the script.
    let page = f.get(&ana, &format!("/analyst/url/{image}")).await.text();
    assert!(page.contains(&format!(
        "<form method=\"post\" action=\"/analyst/url/{image}/reveal\""
    )));
    assert!(page.contains("<p class=\"keys scripted\">Keys:"), "{page}");
    assert!(!page.contains("reblur-"));
    assert!(!page.contains("shield-open"));

    // Asking for it counts the whole reveal and leads to the signed link.
    let started = f
        .post(&ana, &format!("/analyst/url/{image}/reveal"), &[])
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text());
    let revealed_at = Timestamp::now().0;
    let location = started.location().to_owned();
    assert!(
        location.starts_with(&format!("/analyst/url/{image}/reveal?until=")),
        "{location}"
    );
    assert_eq!(exposure().await, 20);

    // The link shows the preview unblurred, with the header's exposure counted, and the
    // page blurs it again by itself when the reveal ends (its style sheet, at the seconds
    // left; no timed reload).
    let revealed = f.get(&ana, &location).await;
    assert_eq!(revealed.status, StatusCode::OK, "{}", revealed.text());
    let text = revealed.text();
    assert!(text.contains("class=\"shield shield-open\""), "{text}");
    assert!(!text.contains("http-equiv"), "{text}");
    let left: u64 = text
        .split("class=\"preview reblur-")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|seconds| seconds.parse().ok())
        .expect("the seconds left, for the style sheet to blur it again");
    assert!((1..=20).contains(&left), "{left}");
    assert!(text.contains("id=\"reblurred\""));
    // The style sheet has a delay for every number of seconds a reveal can have left.
    let css = include_str!("static/analyst.css");
    for n in 1..=super::super::item::REVEAL_SECONDS {
        assert!(
            css.contains(&format!(".reblur-{n} .shield img, "))
                && css.contains(&format!("animation-delay: {n}s;")),
            "no re-blur rule for {n} s"
        );
    }
    assert!(text.contains("data-seconds=\"20\">20 s</strong>"));
    assert!(!text.contains("id=\"reveal-form\""));
    // Nothing can be typed there that the page's change would lose.
    assert!(!text.contains("id=\"assessment\"") && text.contains("id=\"assess-later\""));
    // Seeing it again within the reveal adds nothing: the whole reveal is counted.
    assert_eq!(f.get(&ana, &location).await.status, StatusCode::OK);
    assert_eq!(exposure().await, 20);

    // Another session, another item, a changed end: refused, nothing shown.
    let until: i64 = location
        .split("until=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .and_then(|until| until.parse().ok())
        .unwrap();
    assert!(until > revealed_at && until <= revealed_at + 20_000);
    let sig = location.split("sig=").nth(1).unwrap();
    for (who, uri) in [
        (&otto, location.clone()),
        (
            &ana,
            format!("/analyst/url/{other}/reveal?until={until}&sig={sig}"),
        ),
        (
            &ana,
            format!(
                "/analyst/url/{image}/reveal?until={}&sig={sig}",
                until + 60_000
            ),
        ),
        (
            &ana,
            format!("/analyst/url/{image}/reveal?until={until}&sig=00"),
        ),
    ] {
        let answer = f.get(who, &uri).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(!answer.text().contains("shield-open"));
    }

    // Once it has ended, the link leads to the blurred page, and counts nothing.
    let ended = Timestamp::now().0 - 1;
    let answer = f.get(&ana, &link(&ana.secret, image.0, ended)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), format!("/analyst/url/{image}"));
    // Without an end or signature: the blurred page.
    let answer = f.get(&ana, &format!("/analyst/url/{image}/reveal")).await;
    assert_eq!(answer.location(), format!("/analyst/url/{image}"));
    assert_eq!(exposure().await, 20);

    // Without a session: the sign-in page, and a form is refused; with another session's
    // token, refused; an item without a preview has nothing to reveal.
    let answer = f.send(Method::GET, &location, &[], &[]).await;
    assert_eq!(answer.location(), "/analyst/login");
    let answer = f
        .send(
            Method::POST,
            &format!("/analyst/url/{image}/reveal"),
            &[],
            &[("csrf", &ana.csrf)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let answer = f
        .send(
            Method::POST,
            &format!("/analyst/url/{image}/reveal"),
            &[(SESSION_COOKIE, &ana.secret)],
            &[("csrf", &otto.csrf)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = f.post(&ana, "/analyst/url/424242/reveal", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(exposure().await, 20);
    // Otto's own reveal is his.
    let answer = f
        .post(&otto, &format!("/analyst/url/{image}/reveal"), &[])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(exposure().await, 20);
    assert_eq!(f.get(&otto, answer.location()).await.status, StatusCode::OK);
}
