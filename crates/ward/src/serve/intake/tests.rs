//! Intake end to end on loopback: a stand-in host (reachable through the fetcher's allow
//! entries only) serves a known picture, a new one, a video, a page and a missing file;
//! reported URLs come out known (with the bank's assessment), queued (media with sealed
//! evidence, a page without), unreachable (retried later), or refused.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::{AnyStore, ContentKind, NewReport, SignalKind, Store, UrlState};

use super::*;
use crate::serve::{Config, start};

fn checkerboard_png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 64, |x, y| {
        let on = ((x / 8) + (y / 8)) % 2 == 0;
        image::Rgb(if on { [240, 240, 240] } else { [20, 40, 60] })
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

/// The stand-in host, on a loopback port.
async fn host() -> SocketAddr {
    let known = crate::serve::tests::png();
    let novel = checkerboard_png();
    let video = clip();
    let app = Router::new()
        .route("/known.png", get(move || async move { known.clone() }))
        .route("/novel", get(move || async move { novel.clone() }))
        .route("/clip.mp4", get(move || async move { video.clone() }))
        .route(
            "/page.html",
            get(|| async { ([("content-type", "text/html")], "<p>a page</p>") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_urls_come_out_known_queued_unreachable_or_refused() {
    let address = host().await;
    // A port nothing listens on (allowed, so that it is the host that fails, not the guard).
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = AnyStore::open(dir.path(), None).await.unwrap();
    let key = Arc::new(EvidenceKey::from_bytes(&[9; 32]));
    // Loopback stands for a network in Belgium.
    let countries = dir.path().join("countries.mmdb");
    std::fs::write(
        &countries,
        crate::hosting::mmdb_writer::database(&[crate::hosting::mmdb_writer::Network {
            address: "127.0.0.0".parse().unwrap(),
            prefix: 8,
            country: "BE",
            asn: Some((64_500, "Loopback Hosting")),
        }]),
    )
    .unwrap();
    let config = Config {
        intake: IntakeConfig {
            interval: None,
            batch: 20,
            fetch: FetchConfig {
                allow: vec![address, closed],
                ..FetchConfig::default()
            },
            evidence: Some(Arc::clone(&key)),
            hosting: Arc::new(crate::hosting::HostingDatabases::open(&[countries]).unwrap()),
            ..IntakeConfig::default()
        },
        ..Config::default()
    };
    let state = start(store, config).await.unwrap();

    // The bank holds the known picture, assessed.
    let assessment = Assessment {
        age_group: AgeGroup::Pubescent,
        activity: Activity::LasciviousExhibition,
    };
    let (_, known) =
        crate::serve::tests::bank_that_knows(&state, crate::serve::tests::png(), assessment).await;

    let base = format!("http://{address}");
    let urls = [
        format!("{base}/known.png"),
        format!("{base}/novel"),
        format!("{base}/clip.mp4"),
        format!("{base}/page.html"),
        format!("{base}/missing.png"),
        "http://10.0.0.1/private.png".to_owned(),
        format!("http://{closed}/closed.png"),
    ];
    let report = state
        .store
        .file_report(&NewReport {
            country: "gb".into(),
            language: "en".into(),
            content_kind: ContentKind::Both,
            urls: urls.to_vec(),
            description: String::new(),
            email: None,
        })
        .await
        .unwrap();
    assert_eq!(run_once(&state).await.unwrap(), urls.len());

    let url = |n: usize| {
        let store = state.store.clone();
        let id = report.urls[n];
        async move { store.reported_url(id).await.unwrap().unwrap() }
    };
    // Known: the bank's content and assessment, nothing kept.
    let taken = url(0).await;
    assert_eq!(taken.state, UrlState::Known);
    assert_eq!(taken.matched, Some(known));
    assert_eq!(taken.assessment, Some(assessment));
    assert_eq!(taken.media_type.as_deref(), Some("image/png"));
    assert!(state.store.evidence(taken.id).await.unwrap().is_none());
    // Where it is hosted: the address the host stood for, placed by the database.
    assert_eq!(
        taken.hosting,
        [ward_store::HostingPlace {
            address: "127.0.0.1".into(),
            country: Some("BE".into()),
            asn: Some(64_500),
            network: Some("Loopback Hosting".into()),
        }]
    );
    // Novel picture: queued, hashed, its bytes sealed (the host said nothing of its type).
    let taken = url(1).await;
    assert_eq!(taken.state, UrlState::Queued, "{taken:?}");
    let kinds: Vec<SignalKind> = taken.signals.iter().map(|s| s.kind).collect();
    for kind in [
        SignalKind::Pdq,
        SignalKind::Md5,
        SignalKind::Sha1,
        SignalKind::Sha256,
    ] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    let sealed = state.store.evidence(taken.id).await.unwrap().unwrap();
    assert_ne!(sealed.ciphertext, checkerboard_png());
    assert_eq!(
        key.open(taken.id, &sealed.nonce, &sealed.ciphertext)
            .unwrap(),
        checkerboard_png()
    );
    assert_eq!(
        sealed.delete_after.0 - sealed.stored_at.0,
        30 * 86_400_000,
        "kept for the retention"
    );
    // Video: queued with its vPDQ.
    let taken = url(2).await;
    assert_eq!(taken.state, UrlState::Queued, "{taken:?}");
    assert_eq!(taken.media_type.as_deref(), Some("video/mp4"));
    assert!(taken.signals.iter().any(|s| s.kind == SignalKind::Vpdq));
    // A page: queued for an analyst, with nothing hashed or kept.
    let taken = url(3).await;
    assert_eq!(taken.state, UrlState::Queued, "{taken:?}");
    assert_eq!(taken.media_type.as_deref(), Some("text/html"));
    assert!(taken.signals.is_empty());
    assert!(state.store.evidence(taken.id).await.unwrap().is_none());

    // Missing and closed: tried again later.
    for n in [4, 6] {
        let taken = url(n).await;
        assert_eq!(taken.state, UrlState::Unreachable, "{taken:?}");
        assert_eq!(taken.attempts, 1);
    }
    assert!(url(4).await.fetch_error.unwrap().contains("404"));
    // The host that answered 404 is hosted somewhere too; a host never reached is not
    // placed.
    assert_eq!(url(4).await.hosting[0].country.as_deref(), Some("BE"));
    assert!(url(6).await.hosting.is_empty());
    // A private address: refused by the guard, and not placed.
    let taken = url(5).await;
    assert_eq!(taken.state, UrlState::Refused);
    assert!(taken.fetch_error.unwrap().contains("not a public address"));
    assert!(taken.hosting.is_empty());

    // Nothing is due again yet; the reporter sees where each URL stands.
    assert_eq!(run_once(&state).await.unwrap(), 0);
    let status = state
        .store
        .report_status(&report.reference)
        .await
        .unwrap()
        .unwrap();
    let states: Vec<UrlState> = status.urls.iter().map(|(_, s)| *s).collect();
    use UrlState::*;
    assert_eq!(
        states,
        [
            Known,
            Queued,
            Queued,
            Queued,
            Unreachable,
            Refused,
            Unreachable
        ]
    );
}

#[test]
fn retries_wait_longer_each_time_up_to_six_hours() {
    let minutes = |attempts| retry_wait(attempts).as_secs() / 60;
    assert_eq!(minutes(0), 5);
    assert_eq!(minutes(1), 5);
    assert_eq!(minutes(2), 10);
    assert_eq!(minutes(3), 20);
    assert_eq!(minutes(7), 320);
    assert_eq!(minutes(8), 360);
    assert_eq!(minutes(40), 360);
}

#[test]
fn a_page_keeps_its_declared_type_but_never_passes_for_media() {
    let cases: &[(Option<&str>, &str)] = &[
        (Some("text/html; charset=utf-8"), "text/html"),
        (Some("Application/JSON"), "application/json"),
        (Some("image/png"), "application/octet-stream"),
        (Some("video/mp4"), "application/octet-stream"),
        (Some("text/html<script>"), "application/octet-stream"),
        (Some("nonsense"), "application/octet-stream"),
        (None, "application/octet-stream"),
    ];
    for (declared, expected) in cases {
        assert_eq!(declared_type(*declared), *expected, "{declared:?}");
    }
}

#[test]
fn media_types_come_from_the_bytes() {
    assert_eq!(
        media_type(&crate::serve::tests::png()).as_deref(),
        Some("image/png")
    );
    assert_eq!(media_type(&clip()).as_deref(), Some("video/mp4"));
    assert_eq!(media_type(b"<html>"), None);
    assert_eq!(media_type(b""), None);
}
