//! The fetcher against hostile URLs (every one refused before any connection) and against a
//! loopback server that stands in for a public host, reachable only through the
//! configuration's explicit allow entry: redirects, cookies, size and time limits.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::*;

/// A resolver with fixed answers (names that resolve to private addresses, as a hostile
/// DNS zone or a rebinding service would make them); other names do not resolve.
struct Zone(HashMap<&'static str, Vec<IpAddr>>);

impl Resolve for Zone {
    fn resolve<'a>(&'a self, host: &'a str, _port: u16) -> Resolving<'a> {
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        let answer = self.0.get(name.as_str()).cloned();
        Box::pin(async move {
            answer.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such name"))
        })
    }
}

fn zone() -> Arc<Zone> {
    let ip = |text: &str| text.parse::<IpAddr>().unwrap();
    Arc::new(Zone(HashMap::from([
        ("localhost", vec![ip("127.0.0.1"), ip("::1")]),
        ("internal.example", vec![ip("10.0.0.5")]),
        ("mixed.example", vec![ip("93.184.215.14"), ip("127.0.0.1")]),
        ("metadata.example", vec![ip("169.254.169.254")]),
        ("v6private.example", vec![ip("fd12:3456::1")]),
        ("127.0.0.1.nip.io", vec![ip("127.0.0.1")]),
        ("router.example", vec![ip("192.168.1.1")]),
        ("cgnat.example", vec![ip("100.64.12.1")]),
        ("mapped.example", vec![ip("::ffff:10.1.2.3")]),
    ])))
}

fn quick() -> FetchConfig {
    FetchConfig {
        max_bytes: 1 << 16,
        timeout: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(1),
        max_redirects: 3,
        allow: Vec::new(),
    }
}

/// URLs a reporter (or an attacker posing as one) may submit to make the hotline's fetcher
/// reach inside its own network. Every one must be refused by the guard.
const HOSTILE: &[&str] = &[
    // Loopback, in every form the URL parser accepts.
    "http://127.0.0.1/",
    "http://127.1/",
    "http://127.0.0.1:8080/admin",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://0177.0000.0000.0001/",
    "http://0x7f.0x0.0x0.0x1/",
    "http://%31%32%37.0.0.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::127.0.0.1]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://127.0.0.1.nip.io/",
    // Private networks.
    "http://10.0.0.1/",
    "http://10.255.255.254/",
    "http://012.0.0.1/",
    "http://167772161/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.0.1/",
    "https://192.168.1.254:8443/",
    "http://3232235777/",
    "http://[fc00::1]/",
    "http://[fd00:ec2::254]/",
    "http://internal.example/",
    "http://router.example/",
    "http://v6private.example/",
    "http://mapped.example/",
    // A name with one private address among public ones.
    "http://mixed.example/",
    // Cloud metadata and link-local.
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://metadata.example/computeMetadata/v1/",
    "http://[fe80::1]/",
    // Unspecified, shared, multicast, broadcast, reserved, documentation, benchmarking.
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://100.64.0.1/",
    "http://cgnat.example/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "https://192.0.2.1/",
    "http://198.18.0.1/",
    // IPv6 forms that carry a private IPv4 address.
    "http://[64:ff9b::a00:1]/",
    "http://[2002:c0a8:101::]/",
    // Other schemes, credentials, not URLs.
    "file:///etc/passwd",
    "ftp://example.org/",
    "gopher://127.0.0.1:6379/_INFO",
    "javascript:alert(1)",
    "data:text/plain,hello",
    "http://user:pass@example.org/",
    "http://@127.0.0.1/",
    "not a url",
    "http://",
];

#[tokio::test]
async fn every_hostile_url_is_refused() {
    assert!(HOSTILE.len() >= 40);
    let fetcher = Fetcher::with_resolver(quick(), zone());
    for url in HOSTILE {
        match fetcher.fetch(url).await {
            Err(error) if error.is_refusal() => {}
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_system_resolver_is_checked_too() {
    let fetcher = Fetcher::new(quick());
    for url in [
        "http://localhost/",
        "http://localhost:1/x",
        "http://ip6-localhost/",
    ] {
        match fetcher.fetch(url).await {
            // (ip6-localhost may not be in this machine's hosts file: then it does not
            // resolve, which refuses it as well.)
            Err(FetchError::NotPublic { .. } | FetchError::Unresolved { .. }) => {}
            other => panic!("{url}: {other:?}"),
        }
    }
}

/// A loopback HTTP server standing in for a public host: the answer for each path, and the
/// requests it was sent.
struct Host {
    address: SocketAddr,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Host {
    async fn start() -> Host {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let request = String::from_utf8_lossy(&request).into_owned();
                    seen.lock().unwrap().push(request.clone());
                    let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
                    let answer = answer(&path, address, &request);
                    if let Some(answer) = answer {
                        let _ = socket.write_all(&answer).await;
                    } else {
                        // Never answers.
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                });
            }
        });
        Host { address, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn allowed(&self) -> FetchConfig {
        FetchConfig {
            allow: vec![self.address],
            ..quick()
        }
    }
}

fn response(status: &str, headers: &[(&str, String)], body: &[u8]) -> Option<Vec<u8>> {
    let mut text = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        text += &format!("{name}: {value}\r\n");
    }
    text += "Connection: close\r\n\r\n";
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    Some(bytes)
}

fn answer(path: &str, own: SocketAddr, request: &str) -> Option<Vec<u8>> {
    let redirect = |to: String| response("302 Found", &[("Location", to)], b"");
    match path {
        "/image.png" => response(
            "200 OK",
            &[("Content-Type", "image/png".into())],
            b"\x89PNG not really",
        ),
        "/moved" => redirect("/image.png".into()),
        "/to-private" => redirect("http://10.0.0.1/".into()),
        "/to-metadata" => redirect("http://169.254.169.254/latest/meta-data/".into()),
        "/to-loopback-v6" => redirect(format!("http://[::1]:{}/image.png", own.port())),
        "/to-other-loopback" => redirect(format!("http://127.0.0.2:{}/image.png", own.port())),
        "/to-internal-name" => redirect("http://internal.example/".into()),
        "/to-file" => redirect("file:///etc/passwd".into()),
        "/loop" => redirect("/loop".into()),
        "/set-cookie" => response(
            "302 Found",
            &[
                ("Location", "/echo-cookie".into()),
                ("Set-Cookie", "session=secret; Path=/".into()),
            ],
            b"",
        ),
        "/echo-cookie" => {
            let cookie = request
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("cookie:"))
                .unwrap_or("none");
            response("200 OK", &[], cookie.as_bytes())
        }
        "/big" => response("200 OK", &[], &vec![b'x'; 1 << 17]),
        "/gone" => response("404 Not Found", &[], b"gone"),
        "/slow" => None,
        _ => response("404 Not Found", &[], b""),
    }
}

#[tokio::test]
async fn the_stand_in_host_is_reached_only_through_the_allow_entry() {
    let host = Host::start().await;
    let refused = Fetcher::with_resolver(quick(), zone())
        .fetch(&host.url("/image.png"))
        .await;
    assert!(
        matches!(refused, Err(FetchError::NotPublic { .. })),
        "{refused:?}"
    );
    assert!(host.requests.lock().unwrap().is_empty(), "never connected");
    // Another loopback address, or the same one on another port, is still refused.
    let other_port = FetchConfig {
        allow: vec![SocketAddr::new(host.address.ip(), host.address.port() + 1)],
        ..quick()
    };
    let refused = Fetcher::with_resolver(other_port, zone())
        .fetch(&host.url("/image.png"))
        .await;
    assert!(matches!(refused, Err(FetchError::NotPublic { .. })));

    let fetcher = Fetcher::with_resolver(host.allowed(), zone());
    let fetched = fetcher.fetch(&host.url("/image.png")).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.content_type.as_deref(), Some("image/png"));
    assert_eq!(fetched.body, b"\x89PNG not really");
    let moved = fetcher.fetch(&host.url("/moved")).await.unwrap();
    assert_eq!(moved.url.path(), "/image.png");
    assert_eq!(moved.redirects.len(), 1);
    let gone = fetcher.fetch(&host.url("/gone")).await.unwrap();
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn redirects_are_checked_like_the_first_url() {
    let host = Host::start().await;
    let fetcher = Fetcher::with_resolver(host.allowed(), zone());
    for path in [
        "/to-private",
        "/to-metadata",
        "/to-loopback-v6",
        "/to-other-loopback",
        "/to-internal-name",
        "/to-file",
    ] {
        match fetcher.fetch(&host.url(path)).await {
            Err(error) if error.is_refusal() => {}
            other => panic!("{path}: {other:?}"),
        }
    }
    assert!(matches!(
        fetcher.fetch(&host.url("/loop")).await,
        Err(FetchError::TooManyRedirects(3))
    ));
}

#[tokio::test]
async fn no_cookies_and_bounded_in_size_and_time() {
    let host = Host::start().await;
    let fetcher = Fetcher::with_resolver(host.allowed(), zone());
    let echoed = fetcher.fetch(&host.url("/set-cookie")).await.unwrap();
    assert_eq!(echoed.body, b"none", "a cookie was sent back");
    assert!(matches!(
        fetcher.fetch(&host.url("/big")).await,
        Err(FetchError::TooLarge(65536))
    ));
    assert!(matches!(
        fetcher.fetch(&host.url("/slow")).await,
        Err(FetchError::TimedOut(_))
    ));
}
