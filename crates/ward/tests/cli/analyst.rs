//! The analyst's side with the real binary: `ward admin user` (passwords from standard
//! input, never printed), and an analyst working the queue in a real headless Chromium
//! against a real `ward serve`, whose intake fetched the reported media from a stand-in host
//! on loopback (benign generated pictures and the repository's test video), and whose
//! notice of the assessed picture reaches a test SMTP sink.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use ward_store::{
    Actor, AnyStore, AuditQuery, BankKind, ContentKind, NewBank, NewContent, NewReport, Sharing,
    Signal, SignalKind, Store as _, UrlState,
};

use crate::{browser, testdata, ward_admin};

const PASSWORD: &str = "browser test passphrase";

/// Two PDQ hashes far apart (and far from the walk's picture): two series in the bank
/// before the walk, so that its keys have series to move between.
const SEEDS: [&str; 2] = [
    "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "07070f311f0b57b0f9c8f5ddfc709c0f4c91d12a699de1e2cc194c63b16364dd",
];

#[test]
fn admin_makes_users_with_passwords_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    assert_eq!(
        ward_admin(dir, &["org", "create", "Hotline"], None).code,
        Some(0)
    );
    let create = |name: &str, role: &str, password: &[u8]| {
        ward_admin(
            dir,
            &[
                "user", "create", "--name", name, "--org", "Hotline", "--role", role,
            ],
            Some(password),
        )
    };
    // Empty, short and missing passwords are refused, and nothing is made.
    for password in [&b""[..], b"\n", b"short\n", b"   \n"] {
        let run = create("ana", "analyst", password);
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(run.stderr.contains("password"), "{}", run.stderr);
    }
    let run = create("ana", "pilot", b"a long enough passphrase\n");
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("unknown role"), "{}", run.stderr);
    assert_eq!(ward_admin(dir, &["user", "list"], None).stdout, "");

    let run = create("ana", "analyst", b"a long enough passphrase\r\n");
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout.trim(), "1");
    assert!(!run.stdout.contains("passphrase") && !run.stderr.contains("passphrase"));
    let run = create("ana", "curator", b"another long passphrase\n");
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("exists"), "{}", run.stderr);
    let run = create("aud", "auditor", b"another long passphrase\n");
    assert_eq!(run.code, Some(0));

    let list = ward_admin(dir, &["user", "list"], None);
    let lines: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(&lines[0][..4], ["1", "ana", "Hotline", "analyst"]);
    assert_eq!(lines[0][5], "", "not disabled");
    assert!(!list.stdout.contains("argon2"), "no hash is listed");

    let run = ward_admin(dir, &["user", "password", "ana"], Some(b"tiny\n"));
    assert_eq!(run.code, Some(2));
    let run = ward_admin(
        dir,
        &["user", "password", "ana"],
        Some(b"a brand new passphrase\n"),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(!run.stderr.contains("brand new"));
    let run = ward_admin(dir, &["user", "disable", "ana"], None);
    assert_eq!(run.code, Some(0));
    let run = ward_admin(dir, &["user", "disable", "nobody"], None);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("no user named"), "{}", run.stderr);
    let list = ward_admin(dir, &["user", "list"], None);
    let first: Vec<&str> = list.stdout.lines().next().unwrap().split('\t').collect();
    assert!(first[5].ends_with('Z'), "disabled at a time: {first:?}");
}

/// A stand-in for a public host, on loopback: serves a generated picture and the test video.
fn stand_in_host() -> SocketAddr {
    let picture = {
        let image = image::RgbImage::from_fn(120, 80, |x, y| {
            image::Rgb([
                (x * 2) as u8,
                (y * 3) as u8,
                if (x / 10 + y / 10) % 2 == 0 { 200 } else { 40 },
            ])
        });
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
        bytes.into_inner()
    };
    let video = std::fs::read(testdata().join("video/gen-clip5s.mp4")).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let (status, body): (&str, &[u8]) = match request.split(' ').nth(1) {
                Some("/picture.png") => ("200 OK", &picture),
                Some("/clip.mp4") => ("200 OK", &video),
                _ => ("404 Not Found", b""),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        }
    });
    address
}

/// A minimal SMTP server on loopback (no TLS, no authentication): each message's data is
/// sent down the channel.
fn smtp_sink() -> (SocketAddr, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let sender = sender.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let mut write = stream.try_clone().unwrap();
                let mut lines = BufReader::new(stream).lines();
                let _ = write.write_all(b"220 sink.test ESMTP\r\n");
                while let Some(Ok(line)) = lines.next() {
                    let upper = line.to_ascii_uppercase();
                    if upper == "DATA" {
                        let _ = write.write_all(b"354 go on\r\n");
                        let mut data = String::new();
                        for line in lines.by_ref().map_while(Result::ok) {
                            if line == "." {
                                break;
                            }
                            data += &line;
                            data.push('\n');
                        }
                        let _ = sender.send(data);
                        let _ = write.write_all(b"250 kept\r\n");
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n");
                        return;
                    } else if upper.starts_with("EHLO") {
                        let _ = write.write_all(b"250-sink.test\r\n250 8BITMIME\r\n");
                    } else {
                        let _ = write.write_all(b"250 OK\r\n");
                    }
                }
            });
        }
    });
    (address, receiver)
}

/// A running `ward serve`, killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(dir: &Path, host: SocketAddr, smtp: SocketAddr) -> Server {
        let (child, address) = crate::start_serve([
            "--data-dir".to_owned(),
            dir.display().to_string(),
            "--intake-interval".into(),
            "1".into(),
            "--sync-interval".into(),
            "0".into(),
            "--fetch-allow".into(),
            host.to_string(),
            "--notice-interval".into(),
            "1".into(),
            "--smtp-url".into(),
            format!("smtp://{smtp}"),
            "--notice-from".into(),
            "Test Hotline <notices@hotline.test>".into(),
        ]);
        Server { child, address }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_analyst_works_the_queue_in_a_real_browser() {
    // The packages first: nothing is set up for a walk that cannot run.
    browser::scripts();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert_eq!(
        ward_admin(data, &["org", "create", "Hotline"], None).code,
        Some(0)
    );
    let made = ward_admin(
        data,
        &[
            "user", "create", "--name", "ana", "--org", "Hotline", "--role", "analyst",
        ],
        Some(format!("{PASSWORD}\n").as_bytes()),
    );
    assert_eq!(made.code, Some(0), "{made:?}");

    // The bank and the report, straight in the store before the service starts.
    let host = stand_in_host();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(AnyStore::open(data, None)).unwrap();
    let operator = Actor::operator("test");
    let (bank, urls) = runtime.block_on(async {
        let org = store.org_by_name("Hotline").await.unwrap().unwrap();
        let bank = store
            .create_bank(
                &operator,
                &NewBank {
                    name: "CONFIRMED".into(),
                    org: org.id,
                    kind: BankKind::Standard,
                    distance: 31,
                    enabled: true,
                    sharing: Sharing::Private,
                    shared_with: Vec::new(),
                    dispute_limit: None,
                    description: String::new(),
                },
            )
            .await
            .unwrap();
        let seeds: Vec<NewContent> = SEEDS
            .iter()
            .map(|pdq| NewContent {
                signals: vec![Signal {
                    kind: SignalKind::Pdq,
                    value: (*pdq).into(),
                }],
                source: "seed".into(),
                ..NewContent::default()
            })
            .collect();
        store.add_content(&operator, bank.id, &seeds).await.unwrap();
        let report = store
            .file_report(&NewReport {
                country: "gb".into(),
                language: "en".into(),
                content_kind: ContentKind::Both,
                // The clip first: the queue shows the newest report first, so the
                // picture comes first.
                urls: vec![
                    format!("http://{host}/clip.mp4"),
                    format!("http://{host}/picture.png"),
                ],
                description: String::new(),
                email: None,
            })
            .await
            .unwrap();
        (bank.id, vec![report.urls[1], report.urls[0]])
    });

    // The stand-in host's abuse desk is reached by e-mail.
    let (smtp, mail) = smtp_sink();
    let contact = ward_admin(
        data,
        &["contact", "set", "127.0.0.1", "--email", "abuse@host.test"],
        None,
    );
    assert_eq!(contact.code, Some(0), "{contact:?}");
    let server = Server::start(data, host, smtp);
    // Intake takes both in (bounded wait: it runs every second).
    let started = Instant::now();
    loop {
        let queued = runtime.block_on(store.queue(0, 10)).unwrap();
        if queued.len() == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "intake did not queue both URLs: {queued:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let artefacts = browser::artefacts("analyst");
    browser::walk(
        "analyst.mjs",
        &format!("http://{}", server.address),
        &artefacts,
        &[
            ("WARD_ANALYST_NAME", &"ana"),
            ("WARD_ANALYST_PASSWORD", &PASSWORD),
            ("WARD_SEEDED_SERIES", &SEEDS.len().to_string()),
        ],
    );

    // What the browser did is in the store.
    runtime.block_on(async {
        let picture = store.reported_url(urls[0]).await.unwrap().unwrap();
        assert!(
            matches!(picture.state, UrlState::Assessed | UrlState::Noticed),
            "{picture:?}"
        );
        let content = store
            .content(picture.added_content.expect("added to the bank"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(content.bank, bank);
        let video = store.reported_url(urls[1]).await.unwrap().unwrap();
        assert_eq!(video.state, UrlState::NotActionable);
        assert_eq!(
            video.decision_note.as_deref(),
            Some("test video: nothing to act on")
        );
        let ana = store.user_by_name("ana").await.unwrap().unwrap();
        let today = &ward_store::Timestamp::now().to_rfc3339()[..10];
        // The reveal without script counted its 20 s, the script's heartbeat more.
        let exposure = store.exposure(ana.id, today).await.unwrap();
        assert!(exposure > 20, "{exposure} s of exposure");
        for url in &urls {
            let log = store
                .audit_log(&AuditQuery {
                    target: Some(format!("url:{url}")),
                    ..AuditQuery::deployment()
                })
                .await
                .unwrap();
            assert!(
                log.iter().any(|e| e.action.starts_with("read.evidence")),
                "every view is logged: {log:?}"
            );
        }
    });
    // The assessed picture is noticed to its host (within a bounded wait: notices go out
    // every second); the dismissed video is not.
    let notice = mail
        .recv_timeout(Duration::from_secs(60))
        .expect("no notice reached the SMTP sink within 60 s");
    assert!(
        notice.contains(&format!("http://{host}/picture.png")),
        "{notice}"
    );
    assert!(notice.contains("Please remove the material"), "{notice}");
    assert!(!notice.contains("clip.mp4"), "{notice}");
    runtime.block_on(async {
        let started = Instant::now();
        loop {
            let notices = store.notices(urls[0]).await.unwrap();
            if notices.iter().any(|n| n.sends >= 1) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{notices:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let picture = store.reported_url(urls[0]).await.unwrap().unwrap();
        assert_eq!(picture.state, UrlState::Noticed);
        assert!(store.notices(urls[1]).await.unwrap().is_empty());
        store.close().await;
    });
    let screenshots = std::fs::read_dir(&artefacts)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert!(
        screenshots >= 20,
        "{screenshots} screenshots in {}",
        artefacts.display()
    );
    drop(server);
}
