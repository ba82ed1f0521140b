//! Reports that cross borders, with three real `ward serve` processes on loopback standing
//! for hotlines in three countries (A, B covering Belgium, C covering the Netherlands). A
//! test MaxMind database, written here, places stand-in hosts on loopback addresses in
//! those countries (and one in Germany, which no partner covers). A's bank knows the
//! pictures, so what A is told of is assessed by its hash and forwarded where a partner
//! covers, as is what A's analyst assesses in Chromium; B works what it is sent in its
//! analysts' pages (real Chromium), notices the host, sees it removed, and A hears it; B's
//! decline gives a report back to A; B, killed while it reads, resumes with nothing lost or
//! doubled; pages altered or replayed on the way to C are refused.

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::Child;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ward_store::{
    AnyStore, ContentKind, ForwardDirection, ForwardState, NewReport, Store as _, UrlId, UrlState,
};

use crate::serve::{admin_key, sqlite, sync};
use crate::{browser, ward_admin};

#[path = "../../src/hosting/mmdb_writer.rs"]
#[allow(dead_code)]
mod mmdb_writer;

const PASSWORD: &str = "forwarding walk passphrase";

/// Waits (at most `limit`) until `check` holds, polling; panics saying `what` otherwise.
fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A benign picture of its own for each path (a pattern seeded by the path), as PNG.
fn picture(path: &str) -> Vec<u8> {
    let seed = path
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let image = image::RgbImage::from_fn(96, 64, |x, y| {
        let cell = (x / (4 + seed % 7) + y / (3 + seed % 5) + seed) % 3;
        image::Rgb([
            (x * 2 + seed % 97) as u8,
            (y * 3 + (seed >> 3) % 89) as u8,
            [30, 140, 240][cell as usize],
        ])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// A stand-in host on `ip`: serves `picture(path)` for every path until the path is
/// removed, then 404.
struct Host {
    address: SocketAddr,
    removed: Arc<Mutex<HashSet<String>>>,
}

impl Host {
    fn start(ip: &str) -> Host {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let address = listener.local_addr().unwrap();
        let removed: Arc<Mutex<HashSet<String>>> = Arc::default();
        let gone = Arc::clone(&removed);
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
                let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
                let body = if gone.lock().unwrap().contains(&path) {
                    None
                } else {
                    Some(picture(&path))
                };
                let (status, body) = match &body {
                    Some(body) => ("200 OK\r\nContent-Type: image/png", body.as_slice()),
                    None => ("404 Not Found", &b""[..]),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body);
            }
        });
        Host { address, removed }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn remove(&self, path: &str) {
        self.removed.lock().unwrap().insert(path.to_owned());
    }
}

/// An abuse desk's webhook on loopback: answers 200 to every notice, and counts them.
fn webhook_sink() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // The head, then the body its Content-Length gives.
            loop {
                let n = stream.read(&mut buffer).unwrap_or(0);
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
            }
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (address, count)
}

/// What the proxy in front of A does to the pages C reads.
const PASS: u8 = 0;
const ALTER: u8 = 1;
const REPLAY: u8 = 2;

/// A proxy on loopback in front of `target` (which may change: a hotline started again
/// listens elsewhere), one request per connection: passes answers on, or (by `mode`) alters
/// one byte of the body, or answers with the last page it passed on that held messages.
fn proxy(target: Arc<Mutex<String>>, mode: Arc<AtomicU8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut kept: Option<Vec<u8>> = None;
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let to = target.lock().unwrap().clone();
            let Ok(mut answer) = crate::serve::pass_on(&mut client, &to) else {
                continue;
            };
            let answer = match mode.load(Ordering::SeqCst) {
                ALTER => {
                    let marker = b"\"to\":\"";
                    if let Some(at) = answer.windows(marker.len()).position(|w| w == marker) {
                        let digit = &mut answer[at + marker.len()];
                        *digit = if *digit == b'0' { b'1' } else { b'0' };
                    }
                    answer
                }
                REPLAY => kept.clone().unwrap_or(answer),
                _ => {
                    let held = b"\"messages\":[{";
                    if answer.windows(held.len()).any(|w| w == held) {
                        kept = Some(answer.clone());
                    }
                    answer
                }
            };
            let _ = client.write_all(&answer);
        }
    });
    address
}

/// One hotline: its data folder, store arguments, admin key, and its `ward serve`.
struct Hotline {
    name: &'static str,
    dir: tempfile::TempDir,
    store: Vec<String>,
    admin: String,
    serve_args: Vec<String>,
    child: Option<Child>,
    address: String,
}

impl Hotline {
    fn new(name: &'static str, serve_args: Vec<String>) -> Hotline {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(dir.path());
        let admin = admin_key(&store, name, "admin");
        let made = ward_admin(
            dir.path(),
            &[
                "user", "create", "--name", "ana", "--org", name, "--role", "analyst",
            ],
            Some(format!("{PASSWORD}\n").as_bytes()),
        );
        assert_eq!(made.code, Some(0), "{made:?}");
        let mut hotline = Hotline {
            name,
            dir,
            store,
            admin,
            serve_args,
            child: None,
            address: String::new(),
        };
        hotline.start();
        hotline
    }

    fn start(&mut self) {
        let mut args = self.store.clone();
        args.extend(self.serve_args.iter().cloned());
        let (child, address) = crate::start_serve(&args);
        self.child = Some(child);
        self.address = address;
    }

    /// Kills the process at once (SIGKILL): nothing is finished or flushed.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.address)
    }

    fn json(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let mut stream = TcpStream::connect(&self.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.address,
            self.admin,
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let (status, body) = crate::serve::http1::parse_response(&response);
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
        (status, value)
    }

    /// Adds `partner` as a `ward` partner (`ward sync add`, its key pinned from its
    /// `/v1/instance`), reached at `url`, and makes it a forwarding partner covering
    /// `countries` through the API.
    fn add_partner(&self, partner: &Hotline, name: &str, url: &str, countries: &[&str]) {
        let key = admin_key(&partner.store, &format!("Ward {}", self.name), "analyst");
        let key_file = self.dir.path().join(format!("{name}.key"));
        std::fs::write(&key_file, format!("{key}\n")).unwrap();
        let (status, instance) = partner.json("GET", "/v1/instance", Value::Null);
        assert_eq!(status, 200);
        let run = sync(
            &self.store,
            &[
                "add",
                name,
                url,
                "--key-from",
                key_file.to_str().unwrap(),
                "--bank",
                name,
                "--public-key",
                instance["public_key"].as_str().unwrap(),
            ],
        );
        assert_eq!(run.code, Some(0), "{run:?}");
        let (status, set) = self.json(
            "PUT",
            &format!("/v1/forwarding/partners/{name}"),
            json!({"countries": countries, "ack_timeout_seconds": 3600}),
        );
        assert_eq!(status, 200, "{set}");
        let kept: Vec<String> = countries.iter().map(|c| c.to_ascii_uppercase()).collect();
        assert_eq!(set["countries"], json!(kept), "{set}");
    }

    fn forwards(&self, direction: &str) -> Vec<Value> {
        let (status, answer) = self.json(
            "GET",
            &format!("/v1/forwards?direction={direction}&limit=500"),
            Value::Null,
        );
        assert_eq!(status, 200, "{answer}");
        answer["forwards"].as_array().unwrap().clone()
    }

    fn partner_error(&self) -> Option<String> {
        let (_, answer) = self.json("GET", "/v1/forwarding/partners", Value::Null);
        answer["partners"][0]["last_error"]
            .as_str()
            .map(str::to_owned)
    }

    fn open_store(&self, runtime: &tokio::runtime::Runtime) -> AnyStore {
        runtime
            .block_on(AnyStore::open(self.dir.path(), None))
            .unwrap()
    }
}

impl Drop for Hotline {
    fn drop(&mut self) {
        self.kill();
    }
}

fn state_of(forwards: &[Value], url: &str) -> Option<String> {
    forwards
        .iter()
        .find(|f| f["url"] == url)
        .and_then(|f| f["state"].as_str())
        .map(str::to_owned)
}

#[test]
fn reports_cross_borders_between_three_hotlines() {
    browser::scripts();
    // Stand-in hosts: Belgium, Germany (no partner), the Netherlands.
    let (be, de, nl) = (
        Host::start("127.0.0.2"),
        Host::start("127.0.0.3"),
        Host::start("127.0.0.4"),
    );
    let work = tempfile::tempdir().unwrap();
    let geoip = work.path().join("countries.mmdb");
    let network = |ip: &str, country| mmdb_writer::Network {
        address: ip.parse::<IpAddr>().unwrap(),
        prefix: 32,
        country,
        asn: Some((64500, "Stand-in Hosting")),
    };
    std::fs::write(
        &geoip,
        mmdb_writer::database(&[
            network("127.0.0.2", "BE"),
            network("127.0.0.3", "DE"),
            network("127.0.0.4", "NL"),
        ]),
    )
    .unwrap();
    let (sink, notices) = webhook_sink();
    let serve_args = |page: u32| -> Vec<String> {
        let mut args: Vec<String> = [
            "--geoip-db",
            geoip.to_str().unwrap(),
            "--intake-interval",
            "1",
            "--notice-interval",
            "1",
            "--forwarding-interval",
            "1",
            "--recheck-seconds",
            "1",
            "--exchange-interval",
            "0",
            "--sync-interval",
            "0",
        ]
        .map(String::from)
        .to_vec();
        args.extend(["--forwarding-page".into(), page.to_string()]);
        for host in [&be, &de, &nl] {
            args.extend(["--fetch-allow".into(), host.address.to_string()]);
        }
        args
    };
    let a = Hotline::new("Hotline A", serve_args(100));
    let mut b = Hotline::new("Hotline B", serve_args(2));
    let c = Hotline::new("Hotline C", serve_args(100));
    // C reads A through a proxy that can alter or replay what passes.
    let mode = Arc::new(AtomicU8::new(PASS));
    let a_for_c = format!(
        "http://{}",
        proxy(Arc::new(Mutex::new(a.address.clone())), Arc::clone(&mode))
    );
    // A reads B through one that passes everything on, to wherever B listens.
    let b_listens = Arc::new(Mutex::new(b.address.clone()));
    let b_for_a = format!(
        "http://{}",
        proxy(Arc::clone(&b_listens), Arc::new(AtomicU8::new(PASS)))
    );
    a.add_partner(&b, "hotline-b", &b_for_a, &["BE"]);
    a.add_partner(&c, "hotline-c", &c.base(), &["nl"]);
    b.add_partner(&a, "hotline-a", &a.base(), &[]);
    c.add_partner(&a, "hotline-a", &a_for_c, &[]);
    // `ward admin forwarding` lists what the API set.
    let list = ward_admin(a.dir.path(), &["forwarding", "list"], None);
    assert_eq!(list.code, Some(0), "{list:?}");
    assert!(list.stdout.contains("hotline-b\tBE\ttrue\t1\t"), "{list:?}");
    assert!(list.stdout.contains("hotline-c\tNL\ttrue\t1\t"), "{list:?}");
    for hotline in [&a, &b, &c] {
        for host in [&be, &de, &nl] {
            let run = ward_admin(
                hotline.dir.path(),
                &[
                    "contact",
                    "set",
                    &host.address.ip().to_string(),
                    "--webhook",
                    &format!("http://{sink}/notices"),
                ],
                None,
            );
            assert_eq!(run.code, Some(0), "{run:?}");
        }
    }

    // A's bank knows every picture its reporters will name, with an assessment.
    let (status, bank) = a.json(
        "POST",
        "/v1/banks",
        json!({"name": "KNOWN", "sharing": "private"}),
    );
    assert_eq!(status, 201, "{bank}");
    let bank = bank["id"].as_i64().unwrap();
    // (Not /be/3.png: A's analyst assesses that one.)
    let nl_paths: Vec<String> = (0..4).map(|n| format!("/nl/{n}.png")).collect();
    let be_paths: Vec<String> = (0..8).map(|n| format!("/be/more/{n}.png")).collect();
    let mut known: Vec<String> = vec!["/be/1.png".into(), "/be/2.png".into(), "/de/1.png".into()];
    known.extend(nl_paths.iter().cloned());
    known.extend(be_paths.iter().cloned());
    for path in &known {
        let md5 = ward_core::digest::FileDigests::of(&picture(path)).md5;
        let (status, answer) = a.json(
            "POST",
            &format!("/v1/banks/{bank}/content"),
            json!({
                "signals": [{"signal_type": "md5", "signal": md5.to_string()}],
                "categories": {"age_group": "prepubescent", "activity": "penetrative"},
            }),
        );
        assert_eq!(status, 201, "{answer}");
    }

    // Reports to A: three pictures hosted in Belgium (one its bank does not know), one in
    // Germany.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store_a = a.open_store(&runtime);
    let (be1, be2, de1, be3) = (
        be.url("/be/1.png"),
        be.url("/be/2.png"),
        de.url("/de/1.png"),
        be.url("/be/3.png"),
    );
    let file = |urls: Vec<String>| -> Vec<UrlId> {
        runtime
            .block_on(store_a.file_report(&NewReport {
                country: "gb".into(),
                language: "en".into(),
                content_kind: ContentKind::Images,
                urls,
                description: "what the reporter wrote".into(),
                email: Some("reporter@example.org".into()),
            }))
            .unwrap()
            .urls
    };
    let ids = file(vec![be1.clone(), be2.clone(), de1.clone(), be3.clone()]);
    // Known by A's bank: Belgium's go to B, Germany's stays with A and is noticed by A.
    wait_for(
        "A to forward Belgium's two URLs to B",
        Duration::from_secs(60),
        || {
            let sent = a.forwards("out");
            sent.len() == 2 && sent.iter().all(|f| f["partner"] == "hotline-b")
        },
    );
    wait_for(
        "A to notice Germany's URL itself",
        Duration::from_secs(60),
        || {
            runtime
                .block_on(store_a.notices(ids[2]))
                .is_ok_and(|n| n.iter().any(|n| n.first_sent_at.is_some()))
        },
    );
    assert!(
        runtime
            .block_on(store_a.notices(ids[0]))
            .unwrap()
            .is_empty()
    );
    let de_url = runtime
        .block_on(store_a.reported_url(ids[2]))
        .unwrap()
        .unwrap();
    assert_eq!(de_url.state, UrlState::Noticed);
    assert_eq!(de_url.hosting[0].country.as_deref(), Some("DE"));
    assert!(
        runtime
            .block_on(store_a.url_forwards(ids[2]))
            .unwrap()
            .is_empty()
    );

    // The one A's bank does not know waits in A's queue; A's analyst assesses it in
    // Chromium, and A forwards it too.
    wait_for(
        "A to queue the unknown picture",
        Duration::from_secs(60),
        || {
            runtime
                .block_on(store_a.queue(0, 10))
                .is_ok_and(|q| q.len() == 1 && q[0].id == ids[3])
        },
    );
    let artefacts = browser::artefacts("forwarding");
    browser::walk(
        "forwarding.mjs",
        &a.base(),
        &artefacts.join("a-assess"),
        &[
            ("WARD_PHASE", &"origin-assess"),
            ("WARD_ANALYST_NAME", &"ana"),
            ("WARD_ANALYST_PASSWORD", &PASSWORD),
            ("WARD_ASSESS", &ids[3].0.to_string()),
        ],
    );
    wait_for(
        "A to forward the assessed one to B",
        Duration::from_secs(60),
        || a.forwards("out").len() == 3,
    );

    // B takes them in, fetches them itself and queues them for its analysts, marked as
    // forwarded; A hears they arrived.
    wait_for(
        "B to queue the three forwarded URLs",
        Duration::from_secs(60),
        || {
            let store_b = b.open_store(&runtime);
            let queued = runtime.block_on(store_b.queue(0, 10)).unwrap();
            runtime.block_on(store_b.close());
            queued.len() == 3
        },
    );
    let received = b.forwards("in");
    assert_eq!(received.len(), 3, "{received:?}");
    for forward in &received {
        assert_eq!(forward["origin"]["assessment"]["age_group"], "prepubescent");
        assert_eq!(forward["origin"]["assessment"]["uk"], "A");
        let by = if forward["url"] == be3 {
            "analyst"
        } else {
            "hash"
        };
        assert_eq!(forward["origin"]["assessed_by"], by, "{forward}");
        let text = forward.to_string();
        assert!(
            !text.contains("reporter@") && !text.contains("what the reporter wrote"),
            "{text}"
        );
    }
    wait_for("A to hear B received them", Duration::from_secs(30), || {
        a.forwards("out").iter().all(|f| f["state"] == "received")
    });

    // B's analyst, in Chromium: the queue marks both as forwarded; one is assessed as
    // abuse, the other declined.
    let url_id = |hotline: &Hotline, url: &str| -> i64 {
        hotline
            .forwards(if hotline.name == "Hotline A" {
                "out"
            } else {
                "in"
            })
            .iter()
            .find(|f| f["url"] == url)
            .unwrap()["url_id"]
            .as_i64()
            .unwrap()
    };
    browser::walk(
        "forwarding.mjs",
        &b.base(),
        &artefacts.join("b"),
        &[
            ("WARD_PHASE", &"partner"),
            ("WARD_ANALYST_NAME", &"ana"),
            ("WARD_ANALYST_PASSWORD", &PASSWORD),
            ("WARD_ASSESS", &url_id(&b, &be1).to_string()),
            ("WARD_DECLINE", &url_id(&b, &be2).to_string()),
        ],
    );
    // B notices the host of the one it assessed; the host takes it down; B's re-check sees
    // it gone; A hears each step, and the removal closes the report at A.
    wait_for(
        "A to hear B noticed the host",
        Duration::from_secs(60),
        || state_of(&a.forwards("out"), &be1).as_deref() == Some("noticed"),
    );
    let noticed = notices.load(Ordering::SeqCst);
    assert!(
        noticed >= 2,
        "A's notice of Germany's URL and B's of Belgium's: {noticed}"
    );
    be.remove("/be/1.png");
    wait_for("A to hear the removal", Duration::from_secs(60), || {
        state_of(&a.forwards("out"), &be1).as_deref() == Some("removed")
    });
    let removed = runtime
        .block_on(store_a.reported_url(ids[0]))
        .unwrap()
        .unwrap();
    assert_eq!(removed.state, UrlState::Removed);
    let out = runtime.block_on(store_a.url_forwards(ids[0])).unwrap();
    assert_eq!(out[0].removed_at, removed.removed_at);
    assert!(out[0].noticed_at.is_some() && out[0].assessed_at.is_some());
    // The declined one is back with A, which notices the host itself.
    wait_for(
        "A to notice the declined URL itself",
        Duration::from_secs(60),
        || {
            runtime
                .block_on(store_a.notices(ids[1]))
                .is_ok_and(|n| n.iter().any(|n| n.first_sent_at.is_some()))
        },
    );
    let declined = runtime.block_on(store_a.url_forwards(ids[1])).unwrap();
    assert_eq!(declined[0].state, ForwardState::Declined);
    assert_eq!(
        declined[0].reason.as_deref(),
        Some("hosted outside Belgium now")
    );

    // The same URL reported to B directly, and forwarded again by nobody: one URL at B.
    let store_b = b.open_store(&runtime);
    let again = runtime
        .block_on(store_b.file_report(&NewReport {
            country: "be".into(),
            language: "fr".into(),
            content_kind: ContentKind::Images,
            urls: vec![be1.clone()],
            description: String::new(),
            email: None,
        }))
        .unwrap();
    assert_eq!(again.urls[0].0, url_id(&b, &be1), "one URL at B");

    // C, through the proxy: an altered page is refused and nothing of it kept.
    mode.store(ALTER, Ordering::SeqCst);
    let nl_urls: Vec<String> = nl_paths.iter().map(|p| nl.url(p)).collect();
    let nl_ids = file(nl_urls.clone());
    wait_for(
        "A to forward four URLs to C",
        Duration::from_secs(60),
        || {
            a.forwards("out")
                .iter()
                .filter(|f| f["partner"] == "hotline-c")
                .count()
                == 4
        },
    );
    wait_for(
        "C to refuse an altered page",
        Duration::from_secs(30),
        || c.partner_error().is_some_and(|e| e.contains("refused")),
    );
    assert!(
        c.forwards("in").is_empty(),
        "nothing of an altered page is kept"
    );
    // Passed on unaltered, C reads the page; then a replay of that
    // page is refused.
    mode.store(PASS, Ordering::SeqCst);
    wait_for("C to read A's pages", Duration::from_secs(30), || {
        c.forwards("in").len() == 4
    });
    mode.store(REPLAY, Ordering::SeqCst);
    wait_for(
        "C to refuse a replayed page",
        Duration::from_secs(30),
        || c.partner_error().is_some_and(|e| e.contains("replayed")),
    );
    assert_eq!(
        c.forwards("in").len(),
        4,
        "nothing of a replayed page is kept"
    );
    mode.store(PASS, Ordering::SeqCst);

    // B killed while it reads eight more, two a page: started again (listening
    // elsewhere, which the proxy in front of it follows), it has each once.
    let already = b.forwards("in").len();
    let be_urls: Vec<String> = be_paths.iter().map(|p| be.url(p)).collect();
    let more = file(be_urls.clone());
    wait_for(
        "A to forward eight more to B",
        Duration::from_secs(60),
        || {
            a.forwards("out")
                .iter()
                .filter(|f| f["partner"] == "hotline-b")
                .count()
                == already + 8
        },
    );
    wait_for("B to start reading them", Duration::from_secs(30), || {
        b.forwards("in").len() > already
    });
    b.kill();
    let before = {
        let store_b = b.open_store(&runtime);
        let n = runtime
            .block_on(store_b.forwards(ForwardDirection::In, 0, 500))
            .unwrap()
            .len();
        runtime.block_on(store_b.close());
        n
    };
    b.start();
    *b_listens.lock().unwrap() = b.address.clone();
    wait_for(
        "B to have all eight after its restart",
        Duration::from_secs(60),
        || b.forwards("in").len() >= already + 8,
    );
    let received = b.forwards("in");
    println!(
        "forwarding: B held {} of the 8 when killed, 8 after its restart",
        before - already
    );
    let urls: HashSet<&str> = received.iter().filter_map(|f| f["url"].as_str()).collect();
    assert_eq!(
        (received.len(), urls.len()),
        (already + 8, already + 8),
        "each once: {before} before the kill"
    );
    assert!(be_urls.iter().all(|u| urls.contains(u.as_str())));
    wait_for(
        "A to hear B received all eight",
        Duration::from_secs(30),
        || {
            a.forwards("out")
                .iter()
                .filter(|f| f["partner"] == "hotline-b")
                .all(|f| f["state"] != "sent")
        },
    );
    assert_eq!((nl_ids.len(), more.len()), (4, 8));

    // A's analyst, in Chromium: where each report went and how it ended.
    browser::walk(
        "forwarding.mjs",
        &a.base(),
        &artefacts.join("a"),
        &[
            ("WARD_PHASE", &"origin"),
            ("WARD_ANALYST_NAME", &"ana"),
            ("WARD_ANALYST_PASSWORD", &PASSWORD),
            ("WARD_REMOVED", &ids[0].0.to_string()),
            ("WARD_DECLINED", &ids[1].0.to_string()),
            ("WARD_STAYED", &ids[2].0.to_string()),
            ("WARD_ANALYST_ASSESSED", &ids[3].0.to_string()),
        ],
    );

    // Each hotline counts the reports once, in its own role.
    let figure = |hotline: &Hotline, name: &str, key: &str| -> f64 {
        let (status, answer) = hotline.json("GET", "/v1/transparency", Value::Null);
        assert_eq!(status, 200, "{answer}");
        answer["figures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["figure"] == name && f["key"] == key)
            .filter_map(|f| f["value"].as_f64())
            .sum()
    };
    assert_eq!(figure(&a, "forwards_out", "BE"), 11.0);
    assert_eq!(figure(&a, "forwards_out", "NL"), 4.0);
    assert_eq!(figure(&a, "forwards_returned", "declined"), 1.0);
    assert_eq!(figure(&a, "forward_removals", "out"), 1.0);
    assert!(figure(&a, "forward_removal_median_seconds", "out") > 0.0);
    assert_eq!(figure(&b, "forwards_received", "BE"), 11.0);
    assert_eq!(figure(&b, "forward_removals", "in"), 1.0);
    assert_eq!(figure(&b, "forwards_out", "BE"), 0.0);
    assert_eq!(figure(&c, "forwards_received", "NL"), 4.0);
    runtime.block_on(store_a.close());
    runtime.block_on(store_b.close());
}
