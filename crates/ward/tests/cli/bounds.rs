//! No client can exhaust a node: a real `ward serve` process on a loopback port, attacked as
//! issue 17's probe attacked it, with short limits so that each test ends within seconds.
//!
//! - Text over its maximum, JSON bodies over their limit and a record longer than 16 MiB in
//!   every streamed format are refused, and the node's peak memory (`VmHWM` in
//!   `/proc/PID/status`) grows by less than a stated bound.
//! - Clients that trickle a head, stay silent, idle or send a body at 10 bytes a second are
//!   closed within their timeouts while `/healthz` keeps answering.
//! - With the open-file limit at 256, 300 half-sent requests leave room for health checks
//!   and an authenticated client: the cap closes the longest-waiting connections, and says
//!   so in the log once.
//! - Concurrent large uploads and decompression bombs stay within the hashing memory.
//! - Every route answers 413 to a body over its limit.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve::http1;
use crate::ward_in;

const MIB: u64 = 1 << 20;
const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const PDQ_OTHER: &str = "07070f311f0b57b0f9c8f5ddfc709c0f4c81d12a699de1e2cc314c61b1636cdd";

/// A running `ward serve`, killed when dropped, with what it logged.
struct Server {
    child: Child,
    address: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `ward serve` on the store in `dir` with `args`; under an open-file limit (soft
    /// and hard) when `open_files` is given.
    fn start(dir: &Path, args: &[&str], open_files: Option<u64>) -> Server {
        use std::io::BufRead as _;
        let ward = env!("CARGO_BIN_EXE_ward");
        let mut command = match open_files {
            Some(files) => {
                let mut command = Command::new("prlimit");
                command.arg(format!("--nofile={files}:{files}")).arg(ward);
                command
            }
            None => Command::new(ward),
        };
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(["--intake-interval", "0", "--sync-interval", "0"])
            .args(["--notice-interval", "0", "--series-interval", "0"])
            .args(args)
            .env("RUST_LOG", "warn")
            // The memory these tests bound is what the node holds. Its allocator (mimalloc)
            // keeps a freed block's pages for a moment before returning them, so that a peak
            // would also count buffers of requests already answered (111 MiB instead of
            // under 96 in the test of fields and records); here it returns them at once.
            .env("MIMALLOC_PURGE_DELAY", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("cannot start ward serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut sender = Some(sender);
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.strip_prefix("ward: serving on http://")
                    && let Some(sender) = sender.take()
                {
                    let address = rest.split_whitespace().next().unwrap_or_default();
                    let _ = sender.send(address.to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let address = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("ward serve did not start: {:?}", log.lock().unwrap()));
        Server {
            child,
            address,
            log,
        }
    }

    /// The node's resident memory now and at its peak so far, in bytes.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the node's /proc status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{name} in {status}"))
                * 1024
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        stream
    }

    /// One request with `body` (given as it is, or streamed by `body` when it is a
    /// `Stream`); returns the status, the headers (lower case) and the body as JSON (or a
    /// JSON string).
    fn request(&self, method: &str, path: &str, key: Option<&str>, body: Body) -> Answer {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.address
        );
        if let Some(key) = key {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        let stream = self.connect();
        match body {
            Body::Empty => head.push_str("Content-Length: 0\r\n\r\n"),
            Body::Bytes(ref content_type, ref bytes) => head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                bytes.len()
            )),
            Body::HeadOnly(ref content_type, length) => head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
            )),
            Body::Chunked(ref content_type, _) => head.push_str(&format!(
                "Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
            )),
        }
        let mut writer = stream.try_clone().unwrap();
        writer.write_all(head.as_bytes()).unwrap();
        // The body goes from its own thread while the answer is read: a node may answer (and
        // close) before it has read all of a body it refuses.
        let sending = std::thread::spawn(move || match body {
            Body::Empty | Body::HeadOnly(..) => {}
            Body::Bytes(_, bytes) => {
                let _ = writer.write_all(&bytes);
            }
            Body::Chunked(_, chunks) => {
                for chunk in chunks {
                    let head = format!("{:x}\r\n", chunk.len());
                    let sent = writer
                        .write_all(head.as_bytes())
                        .and_then(|()| writer.write_all(&chunk))
                        .and_then(|()| writer.write_all(b"\r\n"));
                    if sent.is_err() {
                        return;
                    }
                }
                let _ = writer.write_all(b"0\r\n\r\n");
            }
        });
        let answer = read_answer(stream);
        let _ = sending.join();
        answer
    }

    fn json(&self, method: &str, path: &str, key: Option<&str>, body: Value) -> Answer {
        let body = if body.is_null() {
            Body::Empty
        } else {
            Body::Bytes("application/json".into(), body.to_string().into_bytes())
        };
        self.request(method, path, key, body)
    }

    /// A value of `/metrics`.
    fn metric(&self, name: &str) -> f64 {
        let answer = self.request("GET", "/metrics", None, Body::Empty);
        let text = answer.body.as_str().unwrap_or_default().to_owned();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /metrics:\n{text}"))
    }

    fn logged(&self, text: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.iter().filter(|l| l.contains(text)).count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request body.
enum Body {
    Empty,
    Bytes(String, Vec<u8>),
    /// Only a `Content-Length` header: the body is never sent.
    HeadOnly(String, u64),
    /// Chunks, made as they are sent (never held whole).
    Chunked(String, Box<dyn Iterator<Item = Vec<u8>> + Send>),
}

/// `count` chunks of `size` bytes of `byte`, then `tail`.
fn chunks(
    byte: u8,
    size: usize,
    count: usize,
    tail: &[u8],
) -> Box<dyn Iterator<Item = Vec<u8>> + Send> {
    let tail = tail.to_vec();
    Box::new(std::iter::repeat_n(vec![byte; size], count).chain((!tail.is_empty()).then_some(tail)))
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: String,
    body: Value,
}

/// Reads an answer to its end (the node closes the connection); a reset after the head has
/// arrived still gives the answer.
fn read_answer(mut stream: TcpStream) -> Answer {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 64 << 10];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            Err(e) if !bytes.is_empty() && e.kind() != std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("no answer: {e}"),
        }
    }
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no whole head in {:?}", String::from_utf8_lossy(&bytes)));
    let headers = String::from_utf8_lossy(&bytes[..split]).to_ascii_lowercase();
    let (status, body) = if headers.contains("transfer-encoding: chunked") {
        http1::parse_response(&bytes)
    } else {
        let status = headers
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status");
        (status, bytes[split + 4..].to_vec())
    };
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    Answer {
        status,
        headers,
        body,
    }
}

/// An organisation and a key of `role` made with `ward admin`.
fn key(dir: &Path, org: &str, role: &str) -> String {
    let orgs = ward_in(dir, &["admin", "org", "list"]);
    if !orgs
        .stdout
        .lines()
        .any(|l| l.split('\t').nth(1) == Some(org))
    {
        let made = ward_in(dir, &["admin", "org", "create", org]);
        assert_eq!(made.code, Some(0), "{made:?}");
    }
    let made = ward_in(
        dir,
        &["admin", "key", "create", "--org", org, "--role", role],
    );
    assert_eq!(made.code, Some(0), "{made:?}");
    made.stdout.trim().to_owned()
}

/// A PNG of `width` by `height` black RGB pixels: a few hundred kilobytes that decode to
/// three bytes a pixel. Its rows are streamed through the encoder, never held whole.
fn black_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().unwrap();
    let mut rows = writer.stream_writer().unwrap();
    let row = vec![0u8; width as usize * 3];
    for _ in 0..height {
        rows.write_all(&row).unwrap();
    }
    rows.finish().unwrap();
    writer.finish().unwrap();
    out
}

/// A multipart body of one file part named `name`.
fn multipart(name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "wardboundsboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn fields_and_records_over_their_maxima_are_refused_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let curator = key(dir.path(), "NGO", "curator");
    let server = Server::start(dir.path(), &[], None);
    let (status, bank) = {
        let a = server.json("POST", "/v1/banks", Some(&curator), json!({"name": "B"}));
        (a.status, a.body)
    };
    assert_eq!(status, 201, "{bank}");
    let id = bank["id"].as_i64().unwrap();
    let (before, _) = server.memory();

    // A text field over its maximum, in a body within the JSON limit: 400, naming it.
    let long = "d".repeat(1_000_000);
    for (method, path, body) in [
        (
            "POST",
            "/v1/banks".to_owned(),
            json!({"name": "C", "description": long}),
        ),
        (
            "PATCH",
            format!("/v1/banks/{id}"),
            json!({"description": long}),
        ),
        (
            "POST",
            "/v1/banks".to_owned(),
            json!({"name": "n".repeat(101)}),
        ),
        (
            "POST",
            format!("/v1/banks/{id}/content"),
            json!({"signals": [{"signal_type": "pdq", "signal": PDQ}], "source": "s".repeat(201)}),
        ),
    ] {
        let answer = server.json(method, &path, Some(&curator), body);
        assert_eq!(answer.status, 400, "{method} {path}: {answer:?}");
        assert!(
            answer.body.to_string().contains("at most"),
            "{method} {path}: {answer:?}"
        );
    }
    // The probe's 200 MiB description, streamed: refused at the JSON limit (2 MiB).
    let answer = server.request(
        "POST",
        "/v1/banks",
        Some(&curator),
        Body::Chunked(
            "application/json".into(),
            Box::new(
                std::iter::once(br#"{"name":"D","description":""#.to_vec()).chain(chunks(
                    b'd',
                    1 << 20,
                    200,
                    br#""}"#,
                )),
            ),
        ),
    );
    assert_eq!(answer.status, 413, "{answer:?}");

    // One line of 48 MiB without a line feed in every streamed format: read past, reported,
    // and the line after it imported.
    let huge = || chunks(b'x', 1 << 20, 48, b"\n");
    let valid_after = |line: &str| -> Box<dyn Iterator<Item = Vec<u8>> + Send> {
        Box::new(huge().chain(std::iter::once(format!("{line}\n").into_bytes())))
    };
    let ndjson = format!(r#"{{"signal_type":"pdq","signal":"{PDQ}"}}"#);
    let answer = server.request(
        "POST",
        &format!("/v1/banks/{id}/signals"),
        Some(&curator),
        Body::Chunked("application/x-ndjson".into(), valid_after(&ndjson)),
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        (&answer.body["added"], &answer.body["malformed"]),
        (&json!(1), &json!(1)),
        "{answer:?}"
    );
    assert_eq!(answer.body["errors"][0]["reason"], "longer than 16 MiB");
    let answer = server.request(
        "POST",
        &format!("/v1/banks/{id}/signals"),
        Some(&curator),
        // Another hash: the bank holds the first already (a plain list's entry for it would
        // add nothing).
        Body::Chunked("text/plain".into(), valid_after(PDQ_OTHER)),
    );
    assert_eq!(
        (
            answer.status,
            &answer.body["added"],
            &answer.body["malformed"]
        ),
        (200, &json!(1), &json!(1)),
        "{answer:?}"
    );
    let hma = format!(r#"{{"id":7,"signals":{{"pdq":"{PDQ}"}}}}"#);
    for (format, line) in [("hma", hma.as_str()), ("csv", PDQ)] {
        let answer = server.request(
            "POST",
            &format!("/v1/banks/{id}/import?format={format}"),
            Some(&curator),
            Body::Chunked("application/octet-stream".into(), valid_after(line)),
        );
        assert_eq!(answer.status, 200, "{format}: {answer:?}");
        assert_eq!(answer.body["malformed"], 1, "{format}: {answer:?}");
        assert_eq!(answer.body["records"], 1, "{format}: {answer:?}");
    }

    // Nothing of it was stored: the bank list stays small.
    let answer = server.request("GET", "/v1/banks", Some(&curator), Body::Empty);
    assert_eq!(answer.status, 200);
    assert!(answer.body.to_string().len() < 2048, "{answer:?}");
    // 3 x 48 MiB lines, a 200 MiB body: the node held at most a record's buffer at a time.
    let (_, peak) = server.memory();
    let growth = peak.saturating_sub(before);
    eprintln!("bounds: peak memory grew by {} MiB", growth / MIB);
    assert!(
        growth < 96 * MIB,
        "peak memory grew by {} MiB",
        growth / MIB
    );
}

#[test]
fn ward_import_skips_a_line_longer_than_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.jsonl");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&list).unwrap());
        let mega = vec![b'x'; 1 << 20];
        for _ in 0..20 {
            file.write_all(&mega).unwrap();
        }
        writeln!(file).unwrap();
        writeln!(file, r#"{{"id":1,"signals":{{"pdq":"{PDQ}"}}}}"#).unwrap();
    }
    let run = ward_in(
        dir.path(),
        &[
            "import",
            "--bank",
            "L",
            "--format",
            "hma",
            list.to_str().unwrap(),
        ],
    );
    assert!(run.stderr.contains("longer than 16 MiB"), "{run:?}");
    assert!(run.stderr.contains("added=1"), "{run:?}");
}

/// Sends `head` and then one byte of `rest` every `every`, until the node closes the
/// connection; returns how long that took.
fn trickle(server: &Server, head: &[u8], rest: &[u8], every: Duration) -> Duration {
    let mut stream = server.connect();
    stream
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let started = Instant::now();
    stream.write_all(head).unwrap();
    let mut answer = Vec::new();
    for byte in rest.iter().cycle() {
        if stream.write_all(&[*byte]).is_err() {
            break;
        }
        let mut buffer = [0u8; 4096];
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never closed");
        std::thread::sleep(every);
    }
    started.elapsed()
}

#[test]
fn slow_and_silent_clients_are_closed_within_their_timeouts_while_healthz_answers() {
    let dir = tempfile::tempdir().unwrap();
    let curator = key(dir.path(), "NGO", "curator");
    let server = Arc::new(Server::start(
        dir.path(),
        &[
            "--header-timeout",
            "2",
            "--idle-timeout",
            "2",
            "--body-timeout",
            "2",
        ],
        None,
    ));
    let limit = Duration::from_secs(2);
    // Generous: the timeout plus the watchdog's and the machine's delays.
    let within = |took: Duration, what: &str| {
        assert!(
            took >= limit - Duration::from_millis(300) && took < limit * 3,
            "{what}: closed after {took:?}"
        );
    };
    let mut clients = Vec::new();
    // Headers trickled a byte every 200 ms.
    clients.push(std::thread::spawn({
        let server = Arc::clone(&server);
        move || {
            let took = trickle(
                &server,
                b"GET /healthz HTTP/1.1\r\n",
                b"X-Slow: a\r\n",
                Duration::from_millis(200),
            );
            ("trickled head", took)
        }
    }));
    // Silent from the start.
    clients.push(std::thread::spawn({
        let server = Arc::clone(&server);
        move || {
            let mut stream = server.connect();
            let started = Instant::now();
            let mut buffer = [0u8; 16];
            let _ = stream.read(&mut buffer);
            ("silent", started.elapsed())
        }
    }));
    // Idle after one request on a kept-alive connection.
    clients.push(std::thread::spawn({
        let server = Arc::clone(&server);
        move || {
            let mut stream = server.connect();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut buffer = [0u8; 4096];
            let n = stream.read(&mut buffer).unwrap();
            assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
            let started = Instant::now();
            let _ = stream.read(&mut buffer);
            ("idle", started.elapsed())
        }
    }));
    // A JSON body and an upload at 10 bytes a second.
    for (path, content_type, length) in [
        ("/v1/banks", "application/json", 1000),
        ("/v1/hash", "multipart/form-data; boundary=x", 100_000),
    ] {
        let server = Arc::clone(&server);
        let curator = curator.clone();
        clients.push(std::thread::spawn(move || {
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {curator}\r\n\
                 Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
            );
            let took = trickle(&server, head.as_bytes(), b"{", Duration::from_millis(100));
            ("slow body", took)
        }));
    }
    // Meanwhile the node answers health checks at once.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let asked = Instant::now();
        let answer = server.request("GET", "/healthz", None, Body::Empty);
        assert_eq!(answer.status, 200);
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "{:?}",
            asked.elapsed()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    for client in clients {
        let (what, took) = client.join().unwrap();
        within(took, what);
    }
    assert!(server.metric("ward_connections_closed_total{reason=\"header_timeout\"}") >= 2.0);
    assert!(server.metric("ward_connections_closed_total{reason=\"idle_timeout\"}") >= 1.0);
    assert!(server.metric("ward_connections_closed_total{reason=\"body_timeout\"}") >= 2.0);
}

#[test]
fn half_open_connections_past_the_cap_leave_room_for_health_checks_and_clients() {
    let dir = tempfile::tempdir().unwrap();
    let curator = key(dir.path(), "NGO", "curator");
    // 256 open files: the cap is 256 less 128 kept for the rest of the node.
    let server = Server::start(dir.path(), &["--header-timeout", "120"], Some(256));
    assert_eq!(server.metric("ward_connections_limit"), 128.0);
    let mut half_open = Vec::new();
    for _ in 0..300 {
        let mut stream = server.connect();
        stream.write_all(b"GET /v1/banks HTT").unwrap();
        half_open.push(stream);
        std::thread::sleep(Duration::from_millis(2));
    }
    for _ in 0..10 {
        let answer = server.request("GET", "/healthz", None, Body::Empty);
        assert_eq!(answer.status, 200);
        let answer = server.request("GET", "/v1/banks", Some(&curator), Body::Empty);
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    assert!(server.metric("ward_connections") <= 128.0);
    assert!(server.metric("ward_connections_closed_total{reason=\"evicted\"}") >= 172.0);
    // The oldest half-open connections were closed by the node.
    let mut closed = 0;
    for stream in &mut half_open {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buffer = [0u8; 16];
        match stream.read(&mut buffer) {
            Ok(0) => closed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            _ => {}
        }
    }
    assert!(closed >= 172, "{closed} closed");
    // Hitting the cap is logged once (once a minute at most), not once per connection.
    assert_eq!(server.logged("connection cap reached"), 1);
}

#[test]
fn concurrent_uploads_and_decompression_bombs_stay_within_the_hashing_memory() {
    let dir = tempfile::tempdir().unwrap();
    let platform = key(dir.path(), "Platform", "platform");
    let server = Arc::new(Server::start(
        dir.path(),
        &[
            "--hash-memory",
            "128",
            "--body-limit",
            "64",
            "--hash-wait",
            "120",
        ],
        None,
    ));
    let (before, _) = server.memory();
    let upload = |path: &str, part: &str, file: Arc<Vec<u8>>| {
        let server = Arc::clone(&server);
        let (path, part, platform) = (path.to_owned(), part.to_owned(), platform.clone());
        std::thread::spawn(move || {
            let (content_type, body) = multipart(&part, &file);
            server.request(
                "POST",
                &path,
                Some(&platform),
                Body::Bytes(content_type, body),
            )
        })
    };
    // Six uploads of 48 MiB at once (a small picture and 48 MiB after it): 288 MiB
    // together, twice the budget.
    let mut padded = black_png(64, 64);
    padded.resize(48 << 20, 0);
    let padded = Arc::new(padded);
    let uploads: Vec<_> = (0..6)
        .map(|_| upload("/v1/hash", "file", Arc::clone(&padded)))
        .collect();
    for answer in uploads {
        let answer = answer.join().unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
        assert!(answer.body["pdq"].is_string(), "{answer:?}");
    }
    assert!(server.metric("ward_hash_memory_waits_total") >= 1.0);
    // Decompression bombs: a 6000x6000 picture in a file of a few hundred KiB decodes to
    // 108 MB. Three at once would need 324 MB; the budget lets one through at a time.
    let bomb = Arc::new(black_png(6000, 6000));
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let bombs: Vec<_> = (0..3)
        .map(|i| match i {
            0 => upload("/v1/hash", "file", Arc::clone(&bomb)),
            1 => upload("/h/hash", "photo", Arc::clone(&bomb)),
            _ => upload("/v1/match", "file", Arc::clone(&bomb)),
        })
        .collect();
    for answer in bombs {
        let answer = answer.join().unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    // One that needs more than the whole budget (192 MB) is refused before it is decoded.
    let answer = upload("/v1/hash", "file", Arc::new(black_png(8000, 8000)))
        .join()
        .unwrap();
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(
        answer.body.to_string().contains("--hash-memory"),
        "{answer:?}"
    );
    assert_eq!(server.metric("ward_hash_memory_bytes"), 0.0);

    let (_, peak) = server.memory();
    let growth = peak.saturating_sub(before);
    eprintln!("bounds: peak memory grew by {} MiB", growth / MIB);
    // The budget (128 MiB) and what serving takes besides it.
    assert!(
        growth < 192 * MIB,
        "peak memory grew by {} MiB",
        growth / MIB
    );
}

#[test]
fn a_request_without_room_gets_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let platform = key(dir.path(), "Platform", "platform");
    let server = Arc::new(Server::start(
        dir.path(),
        &["--hash-memory", "16", "--hash-wait", "0"],
        None,
    ));
    // The first upload holds 12 MiB while its body trickles in; the second finds no room.
    let mut holding = server.connect();
    let (content_type, body) = multipart("file", &vec![0u8; 12 << 20]);
    holding
        .write_all(
            format!(
                "POST /v1/hash HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {platform}\r\n\
                 Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    holding.write_all(&body[..1024]).unwrap();
    let started = Instant::now();
    while server.metric("ward_hash_memory_bytes") == 0.0 {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    let (content_type, body) = multipart("file", &vec![0u8; 8 << 20]);
    let answer = server.request(
        "POST",
        "/v1/hash",
        Some(&platform),
        Body::Bytes(content_type, body),
    );
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(
        answer.headers.contains("retry-after: 5"),
        "{}",
        answer.headers
    );
    assert!(server.metric("ward_hash_memory_refused_total") >= 1.0);
}

#[test]
fn every_route_answers_413_to_a_body_over_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let curator = key(dir.path(), "NGO", "curator");
    let server = Server::start(
        dir.path(),
        &["--json-limit", "64", "--body-limit", "1"],
        None,
    );
    let answer = server.json(
        "POST",
        "/c/banks",
        Some(&curator),
        json!({"name": "HMA_BANK"}),
    );
    assert!(answer.status < 300, "{answer:?}");
    // Bodies of 80 KiB on routes with the JSON limit (64 KiB); forms with their own.
    let json = |size: usize| Body::Bytes("application/json".into(), vec![b' '; size]);
    let form =
        |size: usize| Body::Bytes("application/x-www-form-urlencoded".into(), vec![b'a'; size]);
    let cases: Vec<(&str, &str, Body)> = vec![
        ("POST", "/v1/banks", json(80 << 10)),
        ("PATCH", "/v1/banks/1", json(80 << 10)),
        ("POST", "/v1/banks/1/content", json(80 << 10)),
        ("PATCH", "/v1/content/1", json(80 << 10)),
        ("PUT", "/v1/content/1/opinion", json(80 << 10)),
        ("POST", "/v1/referrals", json(80 << 10)),
        ("POST", "/v1/match", json(80 << 10)),
        ("PATCH", "/v1/series/1", json(80 << 10)),
        ("POST", "/v1/series/1/merge", json(80 << 10)),
        ("POST", "/v1/series/1/split", json(80 << 10)),
        ("POST", "/c/banks", json(80 << 10)),
        ("PUT", "/c/bank/HMA_BANK", json(80 << 10)),
        ("POST", "/c/bank/HMA_BANK/signal", json(80 << 10)),
        ("POST", "/m/compare", json(80 << 10)),
        ("POST", "/report", form(300 << 10)),
        ("POST", "/analyst/login", form(80 << 10)),
    ];
    for (method, path, body) in cases {
        let answer = server.request(method, path, Some(&curator), body);
        assert_eq!(answer.status, 413, "{method} {path}: {answer:?}");
    }
    // Uploads over the upload limit (1 MiB): refused from their declared length before a
    // byte of the body is read, and when a body without one passes the limit.
    let (content_type, _) = multipart("file", b"");
    for (path, part) in [
        ("/v1/hash", "file"),
        ("/v1/match", "file"),
        ("/h/hash", "photo"),
        ("/m/lookup", "photo"),
        ("/c/bank/HMA_BANK/content", "photo"),
    ] {
        let answer = server.request(
            "POST",
            path,
            Some(&curator),
            Body::HeadOnly(content_type.clone(), 2 << 20),
        );
        assert_eq!(answer.status, 413, "{path} (declared): {answer:?}");
        let (content_type, body) = multipart(part, &vec![0u8; 3 << 20]);
        let answer = server.request(
            "POST",
            path,
            Some(&curator),
            Body::Chunked(
                content_type,
                Box::new(
                    body.chunks(64 << 10)
                        .map(<[u8]>::to_vec)
                        .collect::<Vec<_>>()
                        .into_iter(),
                ),
            ),
        );
        assert_eq!(answer.status, 413, "{path} (streamed): {answer:?}");
    }
}

#[test]
fn a_client_that_does_not_read_its_answer_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let curator = key(dir.path(), "NGO", "curator");
    let server = Server::start(dir.path(), &["--body-timeout", "2"], None);
    let answer = server.json("POST", "/v1/banks", Some(&curator), json!({"name": "BIG"}));
    let id = answer.body["id"].as_i64().unwrap();
    // 200,000 hashes: an export of some 16 MB, far more than the sockets' buffers.
    let hashes: Vec<u8> = (0..200_000u64)
        .flat_map(|n| format!("{:064x}\n", n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1).into_bytes())
        .collect();
    let answer = server.request(
        "POST",
        &format!("/v1/banks/{id}/signals"),
        Some(&curator),
        Body::Bytes("text/plain".into(), hashes),
    );
    assert_eq!(answer.body["added"], 200_000, "{answer:?}");
    let path = format!("/v1/banks/{id}/export?format=csv");
    let whole = server.request("GET", &path, Some(&curator), Body::Empty);
    let whole = whole.body.as_str().unwrap().len();
    assert!(whole > 10_000_000, "{whole} bytes");
    let mut stream = server.connect();
    stream
        .write_all(
            format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {curator}\r\n\
                 Connection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    // Nothing is read for three times the timeout: the node gives up on the client.
    std::thread::sleep(Duration::from_secs(6));
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    assert!(
        received.len() < whole,
        "{} of {whole} bytes: the whole export",
        received.len()
    );
    assert!(server.metric("ward_connections_closed_total{reason=\"body_timeout\"}") >= 1.0);
}
