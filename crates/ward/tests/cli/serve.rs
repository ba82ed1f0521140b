//! `ward serve` as a real process on a loopback port: `ward admin` makes the keys, requests go
//! over TCP, SIGTERM stops it gracefully; three nodes on one PostgreSQL see each other's
//! changes (signals, and what matches say about their content) within 2 seconds; a node
//! killed during a bulk import loses nothing it acknowledged.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::ward;

#[path = "../../src/serve/http1.rs"]
pub(crate) mod http1;

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

/// A running `ward serve`, killed when dropped.
pub(crate) struct Node {
    child: Child,
    pub(crate) address: String,
}

impl Node {
    /// Starts a node on a free loopback port and waits until it says where it listens.
    pub(crate) fn start(store: &[String]) -> Node {
        let (child, address) = crate::start_serve(store);
        Node { child, address }
    }

    /// One HTTP/1.1 request; returns the status and the body as JSON (or a JSON string).
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: &[u8],
        content_type: &str,
    ) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        if let Some(key) = key {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        if !content_type.is_empty() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        parse_response(&response)
    }

    pub(crate) fn json(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let bytes = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        self.request(
            method,
            path,
            key,
            &bytes,
            if body.is_null() {
                ""
            } else {
                "application/json"
            },
        )
    }

    fn signal(&self, signal: libc_signal::Signal) {
        libc_signal::send(self.child.id(), signal);
    }

    /// A node started by the caller (`child` listening at `address`).
    pub(crate) fn adopt(child: Child, address: String) -> Node {
        Node { child, address }
    }

    /// Stops the node with SIGTERM (a graceful shutdown) and waits for it (60 s at most);
    /// returns whether it exited with success.
    pub(crate) fn stop(mut self) -> bool {
        self.signal(libc_signal::Signal::Term);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "ward serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signals by the `kill` program (no libc binding needed in the tests).
mod libc_signal {
    #[derive(Clone, Copy, Debug)]
    pub enum Signal {
        Term,
        Kill,
    }

    pub fn send(pid: u32, signal: Signal) {
        let name = match signal {
            Signal::Term => "-TERM",
            Signal::Kill => "-KILL",
        };
        let status = std::process::Command::new("kill")
            .args([name, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// Status and JSON body of a raw HTTP/1.1 response (chunked bodies included).
fn parse_response(response: &[u8]) -> (u16, Value) {
    let (status, body) = http1::parse_response(response);
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, value)
}

/// Makes an organisation and a key of `role` with `ward admin`; returns the key.
pub(crate) fn admin_key(store: &[String], org: &str, role: &str) -> String {
    let orgs = ward(
        ["admin"]
            .iter()
            .map(|s| s.to_string())
            .chain(store.iter().cloned())
            .chain(["org", "list"].map(String::from)),
    );
    if !orgs
        .stdout
        .lines()
        .any(|l| l.split('\t').nth(1) == Some(org))
    {
        let run = ward(
            ["admin"]
                .iter()
                .map(|s| s.to_string())
                .chain(store.iter().cloned())
                .chain(["org", "create", org].map(String::from)),
        );
        assert_eq!(run.code, Some(0), "{run:?}");
    }
    let run = ward(
        ["admin"]
            .iter()
            .map(|s| s.to_string())
            .chain(store.iter().cloned())
            .chain(["key", "create", "--org", org, "--role", role].map(String::from)),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let key = run.stdout.trim().to_string();
    assert!(
        key.starts_with("ward_") && !key.contains('\n'),
        "only the key on stdout: {run:?}"
    );
    key
}

pub(crate) fn sqlite(dir: &Path) -> Vec<String> {
    vec!["--data-dir".into(), dir.display().to_string()]
}

#[test]
fn serves_over_tcp_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let curator = admin_key(&store, "NGO", "curator");
    let platform = admin_key(&store, "NGO", "platform");
    let node = Node::start(&store);

    assert_eq!(node.json("GET", "/healthz", None, Value::Null).0, 200);
    assert_eq!(node.json("GET", "/readyz", None, Value::Null).0, 200);
    assert_eq!(node.json("GET", "/v1/banks", None, Value::Null).0, 401);
    let (status, bank) = node.json("POST", "/v1/banks", Some(&curator), json!({"name": "TCP"}));
    assert_eq!(status, 201, "{bank}");
    let path = format!("/v1/banks/{}/signals", bank["id"]);
    let csv = format!("signal_type,signal\npdq,{PDQ}\n");
    let (status, report) = node.request("POST", &path, Some(&curator), csv.as_bytes(), "text/csv");
    assert_eq!(
        (status, report["added"].as_u64()),
        (200, Some(1)),
        "{report}"
    );
    let (status, found) = node.json(
        "GET",
        &format!("/v1/match?signal_type=pdq&signal={PDQ}"),
        Some(&platform),
        Value::Null,
    );
    assert_eq!(status, 200);
    assert_eq!(found["matches"][0]["bank"]["name"], "TCP", "{found}");
    let (_, metrics) = node.request("GET", "/metrics", None, b"", "");
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("ward_index_signals{signal_type=\"pdq\"} 1"),
        "{metrics}"
    );

    // The key list shows prefixes, never secrets.
    let list = ward(
        ["admin".to_string()]
            .into_iter()
            .chain(store.clone())
            .chain(["key".into(), "list".into()]),
    );
    assert!(
        list.stdout.contains(&curator[..13]) && !list.stdout.contains(&curator),
        "{list:?}"
    );

    let mut node = node;
    node.signal(libc_signal::Signal::Term);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "ward serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

/// A fresh PostgreSQL database for one test, dropped at the end (best effort), and the
/// evidence key file its nodes share.
pub(crate) struct PgDatabase {
    name: String,
    keys: tempfile::TempDir,
}

impl PgDatabase {
    pub(crate) fn create() -> PgDatabase {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("ward_serve_test_{}_{nanos}", std::process::id());
        psql(&format!("CREATE DATABASE {name}"));
        PgDatabase {
            name,
            keys: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn args(&self) -> Vec<String> {
        vec![
            "--database-url".into(),
            format!("postgres://postgres@127.0.0.1:5432/{}", self.name),
        ]
    }

    /// The arguments of `ward serve` nodes on it: the same evidence key for every node, and
    /// no index snapshot (the nodes share the working directory, where it would go).
    pub(crate) fn serve_args(&self) -> Vec<String> {
        let mut args = self.node_args();
        args.push("--index-snapshot-interval".into());
        args.push("0".into());
        args
    }

    /// The arguments of a `ward serve` node on it, but for its index snapshot.
    pub(crate) fn node_args(&self) -> Vec<String> {
        let mut args = self.args();
        args.push("--evidence-key".into());
        args.push(self.keys.path().join("evidence.key").display().to_string());
        args
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-q",
                "-c",
            ])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

fn psql(sql: &str) {
    let output = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql must be installed and PostgreSQL running at 127.0.0.1:5432 (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)");
    assert!(
        output.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until `check` holds, at most `limit`; returns how long it took.
fn within(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn three_nodes_on_one_postgresql_see_each_others_changes_within_two_seconds() {
    let database = PgDatabase::create();
    let store = database.args();
    let curator = admin_key(&store, "NGO", "curator");
    let platform = admin_key(&store, "Platform", "platform");
    let nodes: Vec<Node> = (0..3)
        .map(|_| Node::start(&database.serve_args()))
        .collect();
    let (a, others) = nodes.split_first().unwrap();

    let (status, bank) = a.json(
        "POST",
        "/v1/banks",
        Some(&curator),
        json!({"name": "SHARED", "sharing": "members"}),
    );
    assert_eq!(status, 201, "{bank}");
    let csv = format!("signal_type,signal\npdq,{PDQ}\nmd5,d41d8cd98f00b204e9800998ecf8427e\n");
    let (status, report) = a.request(
        "POST",
        &format!("/v1/banks/{}/signals", bank["id"]),
        Some(&curator),
        csv.as_bytes(),
        "text/csv",
    );
    assert_eq!(
        (status, report["added"].as_u64()),
        (200, Some(2)),
        "{report}"
    );
    let query = format!("/v1/match?signal_type=pdq&signal={PDQ}");
    for (i, node) in others.iter().enumerate() {
        let took = within(Duration::from_secs(2), || {
            node.json("GET", &query, Some(&platform), Value::Null).1["matches"]
                .as_array()
                .is_some_and(|m| m.len() == 1)
        });
        eprintln!("node {}: matched after {took:?}", i + 1);
        assert!(took.is_some(), "node {} did not match within 2 s", i + 1);
    }

    // Disputed through node C: every node's match answer says so within 2 s (each node
    // keeps the content's summary in memory after the first match, and forgets it when the
    // feed says the content changed).
    let (_, found) = a.json("GET", &query, Some(&platform), Value::Null);
    assert_eq!(
        found["matches"][0]["opinion_status"], "unreviewed",
        "{found}"
    );
    let content = found["matches"][0]["content_id"].as_i64().unwrap();
    let (status, _) = others[1].json(
        "PUT",
        &format!("/v1/content/{content}/opinion"),
        Some(&curator),
        json!({"opinion": "dispute"}),
    );
    assert_eq!(status, 200);
    for (i, node) in nodes.iter().enumerate() {
        let took = within(Duration::from_secs(2), || {
            node.json("GET", &query, Some(&platform), Value::Null).1["matches"][0]["opinion_status"]
                == "disputed"
        });
        eprintln!("node {i}: showed the dispute after {took:?}");
        assert!(
            took.is_some(),
            "node {i} did not show the dispute within 2 s"
        );
    }

    // Disabled through node B: no node matches it within 2 s.
    let (status, _) = others[0].json(
        "PATCH",
        &format!("/v1/content/{content}"),
        Some(&curator),
        json!({"enabled": false}),
    );
    assert_eq!(status, 200);
    for (i, node) in nodes.iter().enumerate() {
        let took = within(Duration::from_secs(2), || {
            node.json("GET", &query, Some(&platform), Value::Null).1["matches"]
                .as_array()
                .is_some_and(|m| m.is_empty())
        });
        assert!(
            took.is_some(),
            "node {i} still matched a disabled signal after 2 s"
        );
    }
}

#[test]
fn a_node_killed_during_a_bulk_import_keeps_what_it_acknowledged() {
    let database = PgDatabase::create();
    let store = database.args();
    let curator = admin_key(&store, "NGO", "curator");
    let node = Node::start(&database.serve_args());
    let (_, bank) = node.json("POST", "/v1/banks", Some(&curator), json!({"name": "BULK"}));
    let path = format!("/v1/banks/{}/signals", bank["id"]);

    // An acknowledged import of 20,000 hashes.
    let mut csv = String::from("signal_type,signal\n");
    for i in 0..20_000u32 {
        csv.push_str(&format!("md5,{i:032x}\n"));
    }
    let (status, report) = node.request("POST", &path, Some(&curator), csv.as_bytes(), "text/csv");
    assert_eq!(
        (status, report["added"].as_u64()),
        (200, Some(20_000)),
        "{report}"
    );

    // A second, large import, killed mid-way: the node dies with SIGKILL while it streams.
    let mut big = String::from("signal_type,signal\n");
    for i in 0..400_000u32 {
        big.push_str(&format!("sha1,{i:040x}\n"));
    }
    let address = node.address.clone();
    let key = curator.clone();
    let sender = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&address).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Bearer {key}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
            big.len()
        );
        let _ = stream.write_all(head.as_bytes());
        for chunk in big.as_bytes().chunks(64 << 10) {
            if stream.write_all(chunk).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    });
    std::thread::sleep(Duration::from_millis(400));
    let mut node = node;
    node.signal(libc_signal::Signal::Kill);
    let _ = node.child.wait();
    let _ = sender.join();

    // Restarted, it still has every acknowledged hash.
    let node = Node::start(&database.serve_args());
    let platform = admin_key(&store, "NGO", "platform");
    for i in [0u32, 9_999, 19_999] {
        let (status, found) = node.json(
            "GET",
            &format!("/v1/match?signal_type=md5&signal={i:032x}"),
            Some(&platform),
            Value::Null,
        );
        assert_eq!(status, 200);
        assert_eq!(
            found["matches"].as_array().unwrap().len(),
            1,
            "md5 {i} lost: {found}"
        );
    }
    let (_, metrics) = node.request("GET", "/metrics", None, b"", "");
    let md5 = metrics
        .as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("ward_index_signals{signal_type=\"md5\"} "))
        .map(|n| n.parse::<u64>().unwrap());
    assert_eq!(md5, Some(20_000));
}

/// What the test proxy does to the answers it passes on.
#[derive(Clone, Copy, PartialEq)]
enum Meddling {
    /// Changes one hex digit of the first signal in each answer.
    Alter,
    /// Answers every request with the first answer it got (an old page, replayed).
    Replay,
    /// Takes the signature header out of each answer.
    Unsign,
}

/// Reads one request's head (a GET: no body) from `client` and passes it on to `target` with
/// `Connection: close`; answers what the target answered, whole.
pub(crate) fn pass_on(client: &mut TcpStream, target: &str) -> std::io::Result<Vec<u8>> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).unwrap_or(0) == 0 {
            break;
        }
        request.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&request).into_owned();
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<&str> = lines
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let mut upstream = TcpStream::connect(target)?;
    write!(
        upstream,
        "{line}\r\nConnection: close\r\n{}\r\n\r\n",
        headers.join("\r\n")
    )?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    Ok(answer)
}

/// A proxy on a loopback port in front of `target`: one request per connection, passed on
/// with `Connection: close`, the answer meddled with. Runs until the test ends.
fn meddling_proxy(target: String, meddling: Meddling) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut first: Option<Vec<u8>> = None;
        for client in listener.incoming().take(50) {
            let Ok(mut client) = client else { continue };
            let mut answer = pass_on(&mut client, &target).unwrap();
            let answer = match meddling {
                Meddling::Alter => {
                    let marker = b"\"signal\":\"";
                    if let Some(at) = answer.windows(marker.len()).position(|w| w == marker) {
                        let digit = &mut answer[at + marker.len()];
                        *digit = if *digit == b'0' { b'1' } else { b'0' };
                    }
                    answer
                }
                Meddling::Replay => first.get_or_insert(answer).clone(),
                Meddling::Unsign => {
                    let text = String::from_utf8_lossy(&answer).into_owned();
                    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
                    let head: Vec<&str> = head
                        .split("\r\n")
                        .filter(|l| !l.to_ascii_lowercase().starts_with("x-ward-signature:"))
                        .collect();
                    format!("{}\r\n\r\n{body}", head.join("\r\n")).into_bytes()
                }
            };
            let _ = client.write_all(&answer);
        }
    });
    address
}

/// Runs `ward sync ARGS` against the store `store`.
pub(crate) fn sync(store: &[String], args: &[&str]) -> crate::Run {
    let (command, rest) = args.split_first().unwrap();
    ward(
        ["sync".to_string(), command.to_string()]
            .into_iter()
            .chain(store.iter().cloned())
            .chain(rest.iter().map(|s| s.to_string())),
    )
}

/// The MD5s in a bank, from `ward export` as CSV.
pub(crate) fn exported_md5s(store: &[String], bank: &str) -> Vec<String> {
    let run = ward(
        ["export".to_string(), "--bank".into(), bank.into()]
            .into_iter()
            .chain(store.iter().cloned()),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let mut md5s: Vec<String> = run
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.strip_prefix("md5,"))
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    md5s.sort();
    md5s
}

/// Two instances on loopback: A shares a bank with B's organisation there; B pulls it
/// with `ward sync`; an update, a tombstone and a dispute each arrive within one sync; a
/// pull killed part-way and run again loses and duplicates nothing; pages altered or
/// replayed in transit are refused and nothing of them is stored.
#[test]
fn two_instances_share_a_bank_over_signed_feeds() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (sqlite(dir_a.path()), sqlite(dir_b.path()));
    let curator = admin_key(&a, "Hotline A", "curator");
    let partner_key = admin_key(&a, "Ward B", "analyst");
    // Given to B in a file: a key never goes on a command line.
    let partner_key_file = dir_b.path().join("partner-a.key");
    std::fs::write(&partner_key_file, format!("{partner_key}\n")).unwrap();
    let partner_key_path = partner_key_file.display().to_string();
    let mut args_a = a.clone();
    args_a.extend(["--sync-interval".into(), "0".into()]);
    let node = Node::start(&args_a);
    let url = format!("http://{}", node.address);

    let bank = |name: &str, sharing: &str| -> i64 {
        let (status, bank) = node.json(
            "POST",
            "/v1/banks",
            Some(&curator),
            json!({"name": name, "sharing": sharing}),
        );
        assert_eq!(status, 201, "{bank}");
        bank["id"].as_i64().unwrap()
    };
    let import = |bank: i64, from: u32, to: u32| {
        let mut csv = "signal_type,signal\n".to_owned();
        for n in from..to {
            csv += &format!("md5,{n:032x}\n");
        }
        let (status, report) = node.request(
            "POST",
            &format!("/v1/banks/{bank}/signals"),
            Some(&curator),
            csv.as_bytes(),
            "text/csv",
        );
        assert_eq!(status, 200, "{report}");
    };
    let shared = bank("SHARED", "members");
    let private = bank("PRIVATE", "private");
    import(shared, 0, 2500);
    import(private, 100_000, 100_010);

    // B adds A (pinning A's published key) and pulls: three pages of the shared bank only.
    let run = sync(
        &b,
        &[
            "add",
            "A",
            &url,
            "--key-from",
            &partner_key_path,
            "--bank",
            "FROM_A",
        ],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = sync(&b, &["run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("pages=3 added=2500"), "{run:?}");
    let expected: Vec<String> = (0..2500u32).map(|n| format!("{n:032x}")).collect();
    assert_eq!(exported_md5s(&b, "FROM_A"), expected);

    // An update (a new item), a tombstone (an item removed), a withdrawal (disabled) and a
    // dispute on A: all arrive within one sync.
    let (_, contents) = node.json(
        "GET",
        &format!("/v1/banks/{shared}/content?limit=3"),
        Some(&curator),
        Value::Null,
    );
    let ids: Vec<i64> = contents["content"]
        .as_array()
        .unwrap_or_else(|| panic!("{contents}"))
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    import(shared, 5000, 5001);
    let (status, _) = node.json(
        "DELETE",
        &format!("/v1/content/{}", ids[0]),
        Some(&curator),
        Value::Null,
    );
    assert_eq!(status, 204);
    let (status, _) = node.json(
        "PATCH",
        &format!("/v1/content/{}", ids[1]),
        Some(&curator),
        json!({"enabled": false}),
    );
    assert_eq!(status, 200);
    let (status, _) = node.json(
        "PUT",
        &format!("/v1/content/{}/opinion", ids[2]),
        Some(&curator),
        json!({"opinion": "dispute"}),
    );
    assert_eq!(status, 200);
    let run = sync(&b, &["run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("pages=1 added=1 "), "{run:?}");
    let mut expected: Vec<String> = (2..2500u32)
        .chain([5000])
        .map(|n| format!("{n:032x}"))
        .collect();
    expected.sort();
    assert_eq!(exported_md5s(&b, "FROM_A"), expected);
    let hma = ward(
        ["export", "--bank", "FROM_A", "--format", "hma"]
            .map(String::from)
            .into_iter()
            .chain(b.iter().cloned()),
    );
    assert!(
        hma.stdout.contains("disputed"),
        "the dispute arrives: {hma:?}"
    );
    assert!(hma.stdout.contains("origin_instance"), "{hma:?}");

    // Feedback: an analyst on B disputes a pulled item; the next sync sends the dispute to
    // A, where the item shows as disputed (by B's organisation there).
    let b_analyst = admin_key(&b, "local", "analyst");
    let mut args_b = b.clone();
    args_b.extend(["--sync-interval".into(), "0".into()]);
    let node_b = Node::start(&args_b);
    // The first match of the item with MD5 n, or null.
    let lookup_md5 = |node: &Node, key: &str, n: u32| -> Value {
        let (status, found) = node.json(
            "GET",
            &format!("/v1/match?signal_type=md5&signal={n:032x}"),
            Some(key),
            Value::Null,
        );
        assert_eq!(status, 200, "{found}");
        found["matches"][0].clone()
    };
    let lookup = |node: &Node, key: &str| lookup_md5(node, key, 7);
    assert_eq!(lookup(&node, &curator)["opinion_status"], "unreviewed");
    let pulled = lookup(&node_b, &b_analyst);
    let (status, answer) = node_b.json(
        "PUT",
        &format!("/v1/content/{}/opinion", pulled["content_id"]),
        Some(&b_analyst),
        json!({"opinion": "dispute"}),
    );
    assert_eq!(status, 200, "{answer}");
    drop(node_b);
    let run = sync(&b, &["run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("opinions_sent=1"), "{run:?}");
    assert_eq!(lookup(&node, &curator)["opinion_status"], "disputed");

    // A's dispute policy: with a limit of one organisation, B's dispute of another item
    // disables it on A, and the same sync withdraws it from B.
    let (status, answer) = node.json(
        "PATCH",
        &format!("/v1/banks/{shared}"),
        Some(&curator),
        json!({"dispute_limit": 1}),
    );
    assert_eq!(status, 200, "{answer}");
    let node_b = Node::start(&args_b);
    // B's copy of item 7 came back changed (A's opinion status) in the last sync, and kept
    // its id and B's own dispute: a pulled item is updated in place.
    let copy = lookup(&node_b, &b_analyst);
    assert_eq!(copy["content_id"], pulled["content_id"], "{copy}");
    assert_eq!(copy["opinion_status"], "disputed", "{copy}");
    let eight = lookup_md5(&node_b, &b_analyst, 8);
    let (status, answer) = node_b.json(
        "PUT",
        &format!("/v1/content/{}/opinion", eight["content_id"]),
        Some(&b_analyst),
        json!({"opinion": "dispute"}),
    );
    assert_eq!(status, 200, "{answer}");
    drop(node_b);
    let run = sync(&b, &["run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    // Item 8's dispute only: item 7's was given once, and a copy changed by what came back
    // from A owes nothing more (an opinion is given when it changes).
    assert!(
        run.stderr
            .contains("removed=1 up_to_date=true opinions_sent=1"),
        "{run:?}"
    );
    assert!(lookup_md5(&node, &curator, 8).is_null(), "disabled on A");
    expected.retain(|md5| *md5 != format!("{:032x}", 8));
    assert_eq!(exported_md5s(&b, "FROM_A"), expected);
    let run = sync(&b, &["run"]);
    assert!(run.stderr.contains("opinions_sent=0"), "settled: {run:?}");

    // A pull killed part-way, then run again (taking over the lease the killed run held):
    // nothing lost, nothing twice.
    import(shared, 10_000, 30_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["sync", "run"])
        .args(&b)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let _ = child.kill();
    let _ = child.wait();
    let partial = exported_md5s(&b, "FROM_A").len();
    eprintln!("the pull was killed with {partial} items in the bank (of 22,499)");
    let run = sync(&b, &["run", "--take-over"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    expected.extend((10_000..30_000u32).map(|n| format!("{n:032x}")));
    expected.sort();
    assert_eq!(exported_md5s(&b, "FROM_A"), expected);

    // Through a proxy that alters a digit, or replays the first page: refused, nothing kept.
    for (name, meddling) in [("ALTERED", Meddling::Alter), ("REPLAYED", Meddling::Replay)] {
        let proxy = meddling_proxy(node.address.clone(), meddling);
        let public_key = {
            let (_, instance) = node.json("GET", "/v1/instance", None, Value::Null);
            instance["public_key"].as_str().unwrap().to_owned()
        };
        let bank = format!("FROM_A_{name}");
        let run = sync(
            &b,
            &[
                "add",
                name,
                &format!("http://{proxy}"),
                "--key-from",
                &partner_key_path,
                "--bank",
                &bank,
                "--public-key",
                &public_key,
            ],
        );
        assert_eq!(run.code, Some(0), "{run:?}");
        let run = sync(&b, &["run", name]);
        assert_eq!(run.code, Some(1), "{name}: {run:?}");
        assert!(run.stderr.contains("refused"), "{name}: {run:?}");
        let kept = exported_md5s(&b, &bank);
        match meddling {
            // The first page is altered (or unsigned): nothing is stored.
            Meddling::Alter | Meddling::Unsign => assert!(kept.is_empty(), "{kept:?}"),
            // The first page is genuine; its replay in place of the second is refused.
            Meddling::Replay => assert_eq!(kept.len(), 1000),
        }
    }
    // A partner pinned to another instance's key: its genuine pages are refused too.
    let run = sync(
        &b,
        &[
            "add",
            "IMPOSTOR",
            &url,
            "--key-from",
            &partner_key_path,
            "--bank",
            "FROM_IMPOSTOR",
            "--public-key",
            &"ab".repeat(32),
        ],
    );
    assert!(
        run.code == Some(0) || run.stderr.contains("Ed25519"),
        "{run:?}"
    );
    if run.code == Some(0) {
        let run = sync(&b, &["run", "IMPOSTOR"]);
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(exported_md5s(&b, "FROM_IMPOSTOR").is_empty());
    }
    let list = sync(&b, &["list"]);
    assert!(
        !list.stdout.contains(&partner_key),
        "keys are never listed: {list:?}"
    );
}

/// `ward admin contact`: set (a pattern normalised, replaced when set again), list, remove;
/// bad contacts refused with a clear message.
/// Nodes on one PostgreSQL must share the key that evidence is sealed with: a node given
/// none refuses to start rather than make its own.
#[test]
fn nodes_on_postgresql_need_the_shared_evidence_key() {
    let database = PgDatabase::create();
    let run = ward(["serve".to_string()].into_iter().chain(database.args()));
    assert_eq!(run.code, Some(2), "a usage error: {run:?}");
    assert!(run.stderr.contains("--evidence-key"), "{run:?}");
}

#[test]
fn admin_sets_lists_and_removes_host_contacts() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let admin = |args: &[&str]| {
        ward(
            ["admin"]
                .iter()
                .map(|s| s.to_string())
                .chain(store.iter().cloned())
                .chain(args.iter().map(|s| s.to_string())),
        )
    };
    let run = admin(&[
        "contact",
        "set",
        "Example.ORG.",
        "--email",
        "abuse@example.org",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = admin(&[
        "contact",
        "set",
        "example.org",
        "--email",
        "abuse@example.org",
        "--webhook",
        "https://hooks.example.org/ward",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = admin(&[
        "contact",
        "set",
        "cdn.example.net",
        "--webhook",
        "https://h.example.net/",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let list = admin(&["contact", "list"]);
    assert_eq!(
        list.stdout,
        "cdn.example.net\t\thttps://h.example.net/\n\
         example.org\tabuse@example.org\thttps://hooks.example.org/ward\n"
    );
    let run = admin(&["contact", "set", "example.com"]);
    assert_eq!(run.code, Some(2), "bad input: {run:?}");
    assert!(
        run.stderr.contains("e-mail address or a webhook"),
        "{run:?}"
    );
    let run = admin(&["contact", "remove", "cdn.example.net"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = admin(&["contact", "remove", "cdn.example.net"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("not found"), "{run:?}");
    assert_eq!(admin(&["contact", "list"]).stdout.lines().count(), 1);
}

/// A partner as a `ward` exchange, set up without `ward sync`: through `ward exchange add`
/// and `credentials` (fetched by `ward exchange fetch`), and through HMA's `POST
/// /c/exchanges` on a running node (fetched by its scheduler). Each fills its bank with
/// exactly what the partner shares; a fetch resumes from its checkpoint; a page altered in
/// transit is refused with nothing applied; no route or command answers the partner's key.
/// A partner of an older deployment becomes a `ward` exchange, and goes on from its cursor.
#[test]
fn partners_are_ward_exchanges_set_up_as_any_exchange() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (sqlite(dir_a.path()), sqlite(dir_b.path()));
    let curator = admin_key(&a, "Hotline A", "curator");
    let partner_key = admin_key(&a, "Ward B", "analyst");
    let node = Node::start(&a);
    let url = format!("http://{}", node.address);
    let (_, instance) = node.json("GET", "/v1/instance", None, Value::Null);
    let public_key = instance["public_key"].as_str().unwrap().to_owned();
    let (status, bank) = node.json(
        "POST",
        "/v1/banks",
        Some(&curator),
        json!({"name": "SHARED", "sharing": "members"}),
    );
    assert_eq!(status, 201, "{bank}");
    let shared = bank["id"].as_i64().unwrap();
    let import = |from: u32, to: u32| {
        let mut csv = "signal_type,signal\n".to_owned();
        for n in from..to {
            csv += &format!("md5,{n:032x}\n");
        }
        let (status, report) = node.request(
            "POST",
            &format!("/v1/banks/{shared}/signals"),
            Some(&curator),
            csv.as_bytes(),
            "text/csv",
        );
        assert_eq!(status, 200, "{report}");
    };
    import(0, 1500);
    let md5s = |range: std::ops::Range<u32>| -> Vec<String> {
        range.map(|n| format!("{n:032x}")).collect()
    };
    let exchange = |args: &[&str]| {
        let (command, rest) = args.split_first().unwrap();
        ward(
            ["exchange".to_string(), command.to_string()]
                .into_iter()
                .chain(b.iter().cloned())
                .chain(rest.iter().map(|s| s.to_string())),
        )
    };

    // Through `ward exchange`: the settings, then the key (from a file only), then a fetch.
    let config = json!({"url": url, "public_key": public_key}).to_string();
    let run = exchange(&["add", "FROM_A", "--api", "ward", "--config", &config]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = exchange(&["credentials", "ward", "--exchange", "FROM_A"]);
    assert_ne!(run.code, Some(0), "a ward key only from --from: {run:?}");
    let key_file = dir_b.path().join("partner.key");
    std::fs::write(&key_file, &partner_key).unwrap();
    let key_path = key_file.display().to_string();
    let run = exchange(&["fetch", "FROM_A"]);
    assert_ne!(run.code, Some(0), "no key yet: {run:?}");
    let run = exchange(&[
        "credentials",
        "ward",
        "--exchange",
        "FROM_A",
        "--from",
        &key_path,
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = exchange(&["fetch", "FROM_A"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let report: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        (&report["pages"], &report["added"]),
        (&json!(2), &json!(1500)),
        "{report}"
    );
    assert_eq!(exported_md5s(&b, "FROM_A"), md5s(0..1500));
    // Where it got to, as `ward sync list` shows a partner's cursor.
    let run = sync(&b, &["list"]);
    let cursor = run
        .stdout
        .lines()
        .find(|l| l.split('\t').nth(1) == Some("FROM_A"))
        .and_then(|l| l.split('\t').nth(5))
        .unwrap_or_else(|| panic!("{run:?}"))
        .to_owned();
    assert!(cursor.parse::<u64>().is_ok(), "{run:?}");

    // Resumed from its checkpoint: only what is new is read.
    import(1500, 1600);
    let run = exchange(&["fetch", "FROM_A"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let report: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        (&report["pages"], &report["added"], &report["replaced"]),
        (&json!(1), &json!(100), &json!(0)),
        "{report}"
    );
    assert_eq!(exported_md5s(&b, "FROM_A"), md5s(0..1600));

    // Through a proxy that alters a digit, or takes the signature out: refused, nothing
    // applied, the error kept in the status.
    for (name, meddling) in [("ALTERED", Meddling::Alter), ("UNSIGNED", Meddling::Unsign)] {
        let proxy = meddling_proxy(node.address.clone(), meddling);
        let config = json!({"url": url, "public_key": public_key,
                            "base_url": format!("http://{proxy}")})
        .to_string();
        let run = exchange(&["add", name, "--api", "ward", "--config", &config]);
        assert_eq!(run.code, Some(0), "{run:?}");
        let run = exchange(&[
            "credentials",
            "ward",
            "--exchange",
            name,
            "--from",
            &key_path,
        ]);
        assert_eq!(run.code, Some(0), "{run:?}");
        let run = exchange(&["fetch", name]);
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(run.stderr.contains("refused"), "{name}: {run:?}");
        assert!(exported_md5s(&b, name).is_empty(), "{name}");
        let listed = exchange(&["list"]);
        let status = listed
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|e| e["name"] == name)
            .unwrap()["status"]
            .clone();
        assert_eq!(status["last_fetch_succeeded"], json!(false), "{status}");
        assert_eq!(status["fetched_items"], json!(0), "{status}");
        assert!(
            status["last_error"].as_str().unwrap().contains("refused"),
            "{status}"
        );
    }

    // A partner of an older deployment (a `partners` row with its cursor): made a ward
    // exchange by the next command holding the key, it goes on from its cursor.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use ward_store::Store as _;
        let store = ward_store::AnyStore::open(dir_b.path(), None)
            .await
            .unwrap();
        let actor = ward_store::Actor::operator("test");
        let org = store.org_by_name("local").await.unwrap().unwrap();
        let bank = store
            .create_bank(
                &actor,
                &ward_store::NewBank {
                    name: "OLD_PARTNER".into(),
                    org: org.id,
                    kind: ward_store::BankKind::Standard,
                    distance: 31,
                    enabled: true,
                    sharing: ward_store::Sharing::Private,
                    shared_with: Vec::new(),
                    dispute_limit: None,
                    description: String::new(),
                },
            )
            .await
            .unwrap();
        let partner = store
            .add_partner(
                &actor,
                &ward_store::NewPartner {
                    name: "OLD".into(),
                    url: url.clone(),
                    api_key: partner_key.clone(),
                    public_key: public_key.clone(),
                    bank: bank.id,
                },
            )
            .await
            .unwrap();
        // As if it had pulled the first 1,500 items (their import left out: only what
        // comes after the cursor may arrive).
        store.set_partner_cursor(partner.id, &cursor).await.unwrap();
        store.close().await;
    });
    let run = sync(&b, &["list"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("made ward exchanges"), "{run:?}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.split('\t').nth(1) == Some("OLD")),
        "{run:?}"
    );
    let run = sync(&b, &["run", "OLD"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(exported_md5s(&b, "OLD_PARTNER"), md5s(1500..1600));
    let run = sync(&b, &["list"]);
    assert!(!run.stderr.contains("made ward exchanges"), "once: {run:?}");

    // Through HMA's routes on B's node, fetched by its scheduler.
    let b_curator = admin_key(&b, "local", "curator");
    let mut args_b = b.clone();
    args_b.extend(["--exchange-interval".into(), "1".into()]);
    let node_b = Node::start(&args_b);
    let (status, created) = node_b.json(
        "POST",
        "/c/exchanges",
        Some(&b_curator),
        json!({"bank": "VIA_HMA", "api": "ward",
               "api_json": {"url": url, "public_key": public_key, "api_key": partner_key}}),
    );
    assert_eq!(status, 201, "{created}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, status) = node_b.json(
            "GET",
            "/c/exchange/VIA_HMA/status",
            Some(&b_curator),
            Value::Null,
        );
        if status["last_fetch_succeeded"] == json!(true) && status["up_to_date"] == json!(true) {
            break;
        }
        assert!(Instant::now() < deadline, "not fetched: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(exported_md5s(&b, "VIA_HMA"), md5s(0..1600));
    let (status, api) = node_b.json(
        "GET",
        "/c/exchanges/api/ward",
        Some(&b_curator),
        Value::Null,
    );
    assert_eq!(status, 200);
    assert_eq!(api["has_set_authentification"], json!(true), "{api}");
    // A key alone fits no exchange in particular.
    let (status, _) = node_b.json(
        "POST",
        "/c/exchanges/api/ward",
        Some(&b_curator),
        json!({"credential_json": {"api_key": "another"}}),
    );
    assert_eq!(status, 400);
    let (status, _) = node_b.json(
        "POST",
        "/c/exchanges/api/ward",
        Some(&b_curator),
        json!({"credential_json": {"exchange": "VIA_HMA", "api_key": partner_key}}),
    );
    assert_eq!(status, 200);

    // The key is never answered: not by the routes, nor by the commands that list.
    for path in [
        "/c/exchanges",
        "/c/exchange/VIA_HMA",
        "/c/exchange/VIA_HMA/status",
        "/c/exchange/FROM_A",
        "/c/exchanges/api/ward",
        "/c/exchanges/api/ward/schema",
        "/v1/audit?limit=1000",
    ] {
        let (_, answer) = node_b.json("GET", path, Some(&b_curator), Value::Null);
        assert!(
            !answer.to_string().contains(&partner_key),
            "{path}: {answer}"
        );
    }
    for run in [exchange(&["list"]), sync(&b, &["list"])] {
        assert_eq!(run.code, Some(0), "{run:?}");
        assert!(!run.stdout.contains(&partner_key), "{run:?}");
        assert!(!run.stderr.contains(&partner_key), "{run:?}");
    }
}
