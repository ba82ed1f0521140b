//! Notices end to end on loopback: a stand-in host serves a picture a bank knows; intake
//! closes it as known; a test SMTP sink and a webhook receiver get the notice and the
//! re-notices; when the host stops serving the URL, a re-check marks it removed, the
//! notices stop, and the time of removal falls between the stop and the check.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::{Actor, AnyStore, ContentKind, NewReport, Store, Timestamp, UrlState};

use super::*;
use crate::fetch::FetchConfig;
use crate::serve::intake::IntakeConfig;
use crate::serve::{Config, start};

/// One message an SMTP client delivered: envelope sender, recipients, data.
#[derive(Clone, Debug)]
struct Delivered {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server (no TLS, no authentication) that keeps what it is sent.
async fn smtp_sink() -> (SocketAddr, Arc<Mutex<Vec<Delivered>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&inbox);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let kept = Arc::clone(&kept);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
                let (mut from, mut to) = (String::new(), Vec::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink.test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        from = line[10..].trim().to_owned();
                        b"250 OK\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to.push(line[8..].trim().to_owned());
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        let _ = write.write_all(b"354 go on\r\n").await;
                        let mut data = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push_str(&line);
                            data.push('\n');
                        }
                        kept.lock().unwrap().push(Delivered {
                            from: from.clone(),
                            to: std::mem::take(&mut to),
                            data,
                        });
                        b"250 kept\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (address, inbox)
}

/// A webhook receiver that keeps the JSON bodies it is posted.
async fn webhook_receiver() -> (SocketAddr, Arc<Mutex<Vec<serde_json::Value>>>) {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&kept);
    let app = Router::new().route(
        "/notices",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let store = Arc::clone(&store);
            async move {
                store.lock().unwrap().push(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, kept)
}

/// The stand-in host: serves the picture until `serving` is cleared, then 404.
async fn host(serving: Arc<AtomicBool>) -> SocketAddr {
    let picture = crate::serve::tests::png();
    let app = Router::new().route(
        "/img.png",
        get(move || {
            let picture = picture.clone();
            let serving = Arc::clone(&serving);
            async move {
                if serving.load(Ordering::SeqCst) {
                    (StatusCode::OK, picture)
                } else {
                    (StatusCode::NOT_FOUND, Vec::new())
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_go_out_again_until_a_recheck_finds_the_url_removed() {
    let serving = Arc::new(AtomicBool::new(true));
    let address = host(Arc::clone(&serving)).await;
    let (smtp, inbox) = smtp_sink().await;
    let (hook, posted) = webhook_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let store = AnyStore::open(dir.path(), None).await.unwrap();
    let config = Config {
        intake: IntakeConfig {
            interval: None,
            fetch: FetchConfig {
                allow: vec![address],
                ..FetchConfig::default()
            },
            ..IntakeConfig::default()
        },
        notices: NoticeConfig {
            interval: None,
            smtp: Some(format!("smtp://{smtp}")),
            from: "Test Hotline <notices@hotline.test>".into(),
            hotline: "Test Hotline".into(),
            // Due again at once, so that the test need not wait a day.
            renotice: Duration::ZERO,
            recheck: Duration::ZERO,
            ..NoticeConfig::default()
        },
        ..Config::default()
    };
    let state = start(store, config).await.unwrap();
    let operator = Actor::operator("test");

    // A bank knows the picture.
    let assessment = Assessment {
        age_group: AgeGroup::Prepubescent,
        activity: Activity::NonPenetrative,
    };
    let hashed = super::super::matching::hash_bytes(
        crate::serve::tests::png().into(),
        &mut state.hashing.empty(),
        state.config.video.clone(),
        super::super::budget::Patience::Request,
    )
    .await
    .unwrap();
    let (org, _) =
        crate::serve::tests::bank_that_knows(&state, crate::serve::tests::png(), assessment).await;
    state
        .store
        .set_host_contact(
            &operator,
            "127.0.0.1",
            Some("abuse@host.test"),
            Some(&format!("http://{hook}/notices")),
        )
        .await
        .unwrap();
    let url = format!("http://{address}/img.png");
    let report = state
        .store
        .file_report(&NewReport {
            country: "gb".into(),
            language: "en".into(),
            content_kind: ContentKind::Images,
            urls: vec![url.clone()],
            description: String::new(),
            email: None,
        })
        .await
        .unwrap();
    let id = report.urls[0];
    crate::serve::intake::run_once(&state).await.unwrap();
    assert_eq!(
        state.store.reported_url(id).await.unwrap().unwrap().state,
        UrlState::Known
    );

    // The notice, by e-mail and webhook.
    let round = run_once(&state).await.unwrap();
    assert_eq!(
        (round.opened, round.sent, round.failed),
        (2, 2, 0),
        "{round:?}"
    );
    let mail = inbox.lock().unwrap()[0].clone();
    assert!(mail.from.contains("notices@hotline.test"), "{mail:?}");
    assert_eq!(mail.to, ["<abuse@host.test>"]);
    let sha256 = hashed.digests.sha256.to_string();
    for expected in [
        url.as_str(),
        "Assessed (UTC): 20",
        sha256.as_str(),
        "non penetrative",
        "industry classification A1",
        "Please remove the material",
        "Preserve the material",
        "To dispute this notice",
    ] {
        assert!(
            mail.data.contains(expected),
            "{expected:?} in {}",
            mail.data
        );
    }
    let hooked = posted.lock().unwrap()[0].clone();
    assert_eq!(hooked["url"], url);
    assert_eq!(hooked["category"]["industry"], "A1");
    assert!(
        hooked["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["signal"] == sha256.as_str()),
        "{hooked}"
    );
    let url_state = state.store.reported_url(id).await.unwrap().unwrap();
    assert_eq!(url_state.state, UrlState::Noticed);

    // Still there: noticed again, re-checked, not removed.
    let round = run_once(&state).await.unwrap();
    assert_eq!(
        (round.sent, round.checked, round.removed),
        (2, 1, 0),
        "{round:?}"
    );
    assert_eq!(inbox.lock().unwrap().len(), 2);
    assert!(
        inbox.lock().unwrap()[1]
            .data
            .contains("sent 1 time(s) before")
    );

    // The host takes it down: the next re-check finds it gone.
    let stopped = Timestamp::now();
    serving.store(false, Ordering::SeqCst);
    let round = run_once(&state).await.unwrap();
    assert_eq!((round.checked, round.removed), (1, 1), "{round:?}");
    let removed = state.store.reported_url(id).await.unwrap().unwrap();
    assert_eq!(removed.state, UrlState::Removed);
    let removed_at = removed.removed_at.unwrap();
    assert!(stopped <= removed_at && removed_at <= Timestamp::now());
    let notices = state.store.notices(id).await.unwrap();
    assert!(notices.iter().all(|n| n.closed_at == Some(removed_at)));
    let first_sent = notices
        .iter()
        .filter_map(|n| n.first_sent_at)
        .min()
        .unwrap();
    assert!(
        first_sent <= stopped,
        "time to removal counts from the first notice"
    );
    let sent_before = (inbox.lock().unwrap().len(), posted.lock().unwrap().len());

    // Nothing more goes out.
    let round = run_once(&state).await.unwrap();
    assert_eq!(round, Round::default());
    assert_eq!(
        (inbox.lock().unwrap().len(), posted.lock().unwrap().len()),
        sent_before
    );
    let status = state
        .store
        .report_status(&report.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.urls[0].1, UrlState::Removed);

    // The figures say so, through the API, as JSON and as CSV.
    let auditor = state
        .store
        .create_key(&operator, org.id, ward_store::Role::Auditor, "figures")
        .await
        .unwrap()
        .secret;
    let get = |uri: String| {
        let request = axum::http::Request::builder()
            .uri(uri)
            .header("authorization", format!("Bearer {auditor}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let app = crate::serve::router(Arc::clone(&state));
        async move {
            use tower::ServiceExt as _;
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, String::from_utf8(bytes.to_vec()).unwrap())
        }
    };
    let (status, body) = get("/v1/statistics".into()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let figures: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(figures["reports"][0]["country"], "gb");
    assert_eq!(figures["reports"][0]["actioned"], 1);
    assert_eq!(figures["urls"]["removed"], 1);
    assert_eq!(figures["removal"]["removed"], 1);
    let seconds = figures["removal"]["median_seconds"].as_f64().unwrap();
    let expected = (removed_at.0 - first_sent.0) as f64 / 1000.0;
    assert_eq!(seconds, expected, "time to removal from the first notice");
    assert_eq!(figures["removal"]["within_24h"], 1.0);
    let (status, csv) = get("/v1/statistics?format=csv".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("reports,gb,en,1,1\n"), "{csv}");
    let (status, svg) = get("/v1/statistics/removal.svg".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(svg.contains("1 URLs noticed, 1 removed"), "{svg}");
}

#[tokio::test]
async fn relay_urls_choose_the_transport() {
    let error = transport("gopher://x").unwrap_err().to_string();
    assert!(error.contains("unsupported"), "{error}");
    assert!(transport("smtp://relay.test:2525").is_ok());
    assert!(transport("smtp://user:p%40ss@relay.test?tls=starttls").is_ok());
    assert!(transport("smtps://relay.test").is_ok());
    assert_eq!(
        redact("smtp://user:secret@relay.test:587"),
        "smtp://user@relay.test:587"
    );
    assert_eq!(percent_decode("p%40ss"), "p@ss");
}
