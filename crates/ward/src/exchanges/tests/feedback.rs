//! Feedback written back to NCMEC's fake (`PUT …/feedback`, reasons for disputes) once per
//! opinion and fingerprint type, through failures, refusals and wrong credentials; and to a
//! list at a URL, which takes none. StopNCII's and ThreatExchange's are beside their fakes.

use std::time::Duration;

use ward_store::OpinionKind::{Confirm, Dispute};
use ward_store::{Actor, AuditQuery, Store};

use super::super::feedback::FeedbackReport;
use super::super::ncmec::Credentials;
use super::{Rig, image};

/// Later than any backoff of the first tries.
const LATER: Duration = Duration::from_secs(7 * 3600);

pub(crate) fn report(sent: u64, refused: u64, unsent: u64, failed: u64) -> FeedbackReport {
    FeedbackReport {
        sent,
        refused,
        unsent,
        failed,
    }
}

/// Four entries fetched (one a video with an MD5 only), NCMEC's credentials kept, one
/// reason offered for disputes.
async fn rig() -> Rig {
    let stamp = "2024-03-01T10:00:00Z";
    let mut video = image(7, 3, stamp);
    video.pdq = None;
    let entries = vec![
        image(7, 1, stamp),
        image(7, 2, stamp),
        video,
        image(8, 4, stamp),
    ];
    let rig = Rig::new(entries, 10).await;
    rig.fetch().await.unwrap();
    rig.keep_credentials(&credentials("secret")).await;
    rig.fake.lock().unwrap().reasons = vec![("g-1".into(), "Not CSAM".into())];
    rig
}

fn credentials(password: &str) -> super::super::Credentials {
    super::super::Credentials::Ncmec(Credentials {
        user: "user".into(),
        password: password.into(),
    })
}

/// The votes the fake took, sorted.
fn taken(rig: &Rig) -> Vec<(String, String)> {
    let mut taken = rig.fake.lock().unwrap().feedback.clone();
    taken.sort();
    taken
}

fn votes(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut votes: Vec<(String, String)> = list
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    votes.sort();
    votes
}

fn parts(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| (*p).to_owned()).collect()
}

#[tokio::test]
async fn feedback_reaches_ncmec_once_per_opinion() {
    let rig = rig().await;
    let second = rig.opinion("7-img-2", Some(Dispute)).await;
    let video = rig.opinion("7-img-3", Some(Confirm)).await;
    rig.opinion("7-img-1", Some(Confirm)).await;
    assert_eq!(rig.send_feedback(Duration::ZERO).await, report(3, 0, 0, 0));
    assert_eq!(
        taken(&rig),
        votes(&[
            ("7-img-1/MD5", "affirmative"),
            ("7-img-1/PDQ", "affirmative"),
            ("7-img-2/MD5", "g-1"),
            ("7-img-2/PDQ", "g-1"),
            ("7-img-3/MD5", "affirmative"),
        ])
    );
    assert_eq!(
        rig.feedback_of(second).await,
        [("dispute", "sent", parts(&["MD5", "PDQ"]))]
    );
    assert_eq!(
        rig.feedback_of(video).await,
        [("confirm", "sent", parts(&["MD5"]))]
    );
    // Nothing more is owed: not later, not for an opinion said again.
    rig.opinion("7-img-1", Some(Confirm)).await;
    assert_eq!(rig.send_feedback(LATER).await, report(0, 0, 0, 0));
    assert_eq!(taken(&rig).len(), 5);
    // A changed opinion is given, once.
    rig.opinion("7-img-1", Some(Dispute)).await;
    assert_eq!(rig.send_feedback(Duration::ZERO).await, report(1, 0, 0, 0));
    assert_eq!(rig.send_feedback(LATER).await, report(0, 0, 0, 0));
    let of_first: Vec<_> = taken(&rig)
        .into_iter()
        .filter(|(key, _)| key.starts_with("7-img-1/"))
        .collect();
    assert_eq!(
        of_first,
        votes(&[
            ("7-img-1/MD5", "affirmative"),
            ("7-img-1/MD5", "g-1"),
            ("7-img-1/PDQ", "affirmative"),
            ("7-img-1/PDQ", "g-1"),
        ])
    );
    // A confirmation withdrawn before it was sent is not sent.
    rig.opinion("8-img-4", Some(Confirm)).await;
    rig.opinion("8-img-4", None).await;
    assert_eq!(rig.send_feedback(LATER).await, report(0, 0, 0, 0));
    assert_eq!(taken(&rig).len(), 7);
}

#[tokio::test]
async fn failed_feedback_is_retried_part_by_part_until_taken() {
    let rig = rig().await;
    let item = rig.opinion("7-img-1", Some(Confirm)).await;
    // Votes go in type order: the MD5 vote is taken, the PDQ vote meets a 503.
    rig.fake
        .lock()
        .unwrap()
        .feedback_troubles
        .extend([None, Some(503)]);
    assert_eq!(rig.send_feedback(Duration::ZERO).await, report(0, 0, 0, 1));
    assert_eq!(taken(&rig), votes(&[("7-img-1/MD5", "affirmative")]));
    let owed = rig.store.content_feedback(item).await.unwrap();
    assert_eq!(
        (owed[0].state.name(), owed[0].tries, &owed[0].parts_done),
        ("pending", 1, &parts(&["MD5"]))
    );
    assert!(
        owed[0].last_error.as_deref().unwrap().contains("HTTP 503"),
        "{owed:?}"
    );
    // Not due again before its backoff; then only the PDQ vote is sent.
    assert_eq!(rig.send_feedback(Duration::ZERO).await, report(0, 0, 0, 0));
    assert_eq!(rig.send_feedback(LATER).await, report(1, 0, 0, 0));
    assert_eq!(
        taken(&rig),
        votes(&[
            ("7-img-1/MD5", "affirmative"),
            ("7-img-1/PDQ", "affirmative")
        ])
    );
    assert_eq!(
        rig.feedback_of(item).await,
        [("confirm", "sent", parts(&["MD5", "PDQ"]))]
    );

    // Wrong credentials: retried until they are right, and never shown.
    rig.keep_credentials(&credentials("wrong-password")).await;
    let other = rig.opinion("7-img-2", Some(Confirm)).await;
    assert_eq!(rig.send_feedback(Duration::ZERO).await, report(0, 0, 0, 1));
    let owed = rig.store.content_feedback(other).await.unwrap();
    let error = owed[0].last_error.clone().unwrap();
    assert!(
        error.contains("refused the credentials (HTTP 401)"),
        "{error}"
    );
    assert!(!error.contains("wrong-password"));
    rig.keep_credentials(&credentials("secret")).await;
    assert_eq!(rig.send_feedback(LATER).await, report(1, 0, 0, 0));

    // Several reasons and none chosen: the dispute waits until one is.
    rig.fake.lock().unwrap().reasons = vec![
        ("g-1".into(), "Not CSAM".into()),
        ("g-2".into(), "Wrong category".into()),
    ];
    let disputed = rig.opinion("7-img-3", Some(Dispute)).await;
    assert_eq!(rig.send_feedback(Duration::ZERO).await, report(0, 0, 0, 1));
    let error = rig.store.content_feedback(disputed).await.unwrap()[0]
        .last_error
        .clone()
        .unwrap();
    assert!(
        error.contains("dispute_reason") && error.contains("Wrong category"),
        "{error}"
    );
    let mut config: serde_json::Value = serde_json::from_str(&rig.exchange.config).unwrap();
    config["dispute_reason"] = "wrong category".into();
    rig.store
        .update_exchange(
            &Actor::operator("test"),
            rig.exchange.id,
            None,
            Some(&config.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(rig.send_feedback(LATER).await, report(1, 0, 0, 0));
    assert!(taken(&rig).contains(&("7-img-3/MD5".to_owned(), "g-2".to_owned())));

    // An entry NCMEC no longer has: refused for good, not tried again.
    rig.fake
        .lock()
        .unwrap()
        .entries
        .get_mut(&(8, "img-4".to_owned()))
        .unwrap()
        .deleted = true;
    let gone = rig.opinion("8-img-4", Some(Confirm)).await;
    assert_eq!(rig.send_feedback(Duration::ZERO).await, report(0, 1, 0, 0));
    assert_eq!(rig.send_feedback(LATER).await, report(0, 0, 0, 0));
    let refused = &rig.store.content_feedback(gone).await.unwrap()[0];
    assert_eq!(refused.state.name(), "refused");
    assert!(
        refused.last_error.as_deref().unwrap().contains("HTTP 404"),
        "{refused:?}"
    );

    // Every attempt is in the audit log, about its item.
    let events = rig
        .store
        .audit_log(&AuditQuery::deployment())
        .await
        .unwrap();
    let outcomes: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.action == "exchange.feedback")
        .map(|e| {
            (
                e.target.clone(),
                e.detail["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let about =
        |id: ward_store::ContentId, outcome: &str| (format!("content:{id}"), outcome.to_owned());
    assert_eq!(
        outcomes,
        [
            about(item, "failed"),
            about(item, "sent"),
            about(other, "failed"),
            about(other, "sent"),
            about(disputed, "failed"),
            about(disputed, "sent"),
            about(gone, "refused"),
        ]
    );
}

#[tokio::test]
async fn a_list_at_a_url_takes_no_feedback() {
    let bench = super::Bench::new(
        "file",
        "LIST_TEST",
        serde_json::json!({"url": "https://lists.example/list.csv", "format": "csv"}),
    )
    .await;
    let actor = Actor::operator("test");
    let item = ward_store::NewContent {
        external_id: Some("a-1".into()),
        signals: vec![ward_store::Signal {
            kind: ward_store::SignalKind::Pdq,
            value: super::pdq_of(1),
        }],
        source: "list".into(),
        ..ward_store::NewContent::default()
    };
    bench
        .store
        .import_content(
            &actor,
            bench.exchange.bank,
            &[ward_store::ImportChange::Upsert(item)],
        )
        .await
        .unwrap();
    let id = bench.opinion("a-1", Some(Confirm)).await;
    assert_eq!(
        bench.send_feedback(Duration::ZERO).await,
        report(0, 0, 1, 0)
    );
    let f = &bench.store.content_feedback(id).await.unwrap()[0];
    assert_eq!(
        (f.state.name(), f.last_error.as_deref()),
        ("unsent", Some("a list at a URL takes no feedback"))
    );
}
