//! What Ward has stored stays stored, and is refused when it is damaged: a store whose file
//! is damaged (its header, a page of its tables) stops `ward serve` and `ward admin` at
//! start with a message that names the damage and the file. And what is taken back is taken
//! back everywhere at once: a key revoked, a user disabled or a password changed (with
//! `ward admin`, on neither node) is refused by a second node within a second.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve::{PgDatabase, http1};
use crate::{Run, ward_admin, ward_in, ward_with_stdin};

/// A store with an organisation, a key and a bank of 300 hashes; returns its file's bytes.
fn written_store(dir: &Path) -> Vec<u8> {
    let run = ward_admin(dir, &["org", "create", "Unmistakable Hotline Name"], None);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = ward_admin(
        dir,
        &[
            "key",
            "create",
            "--org",
            "Unmistakable Hotline Name",
            "--role",
            "curator",
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let list: String = (0..300u32).map(|i| format!("{i:032x}\n")).collect();
    let file = dir.join("list.txt");
    std::fs::write(&file, list).unwrap();
    let run = ward_in(dir, &["import", "--bank", "LIST", file.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let wal = dir.join("ward.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "each command writes its log back into the file when it ends"
    );
    std::fs::read(dir.join("ward.db")).unwrap()
}

/// `ward serve` on the store in `dir`, which must end by itself within 60 s.
fn serve_to_its_end(dir: &Path) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "ward serve started on a damaged store: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Both commands refuse the store, saying that its file is damaged.
fn refused(dir: &Path) {
    let file = dir.join("ward.db").display().to_string();
    for run in [
        ward_admin(dir, &["org", "list"], None),
        serve_to_its_end(dir),
    ] {
        assert_ne!(run.code, Some(0), "{run:?}");
        assert!(
            run.stderr
                .contains(&format!("the store's file {file} is damaged")),
            "{run:?}"
        );
        assert!(!run.stderr.contains("panicked"), "{run:?}");
    }
}

#[test]
fn a_damaged_store_stops_serve_and_admin_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = written_store(d);
    let page_size = match u16::from_be_bytes([good[16], good[17]]) {
        1 => 65_536,
        n => usize::from(n),
    };

    // The header overwritten.
    let mut bytes = good.clone();
    bytes[..16].fill(0xa5);
    std::fs::write(d.join("ward.db"), bytes).unwrap();
    refused(d);

    // A page of table data (the one holding the organisation's row) overwritten from its
    // start.
    let at = good
        .windows(25)
        .position(|w| w == b"Unmistakable Hotline Name")
        .unwrap();
    let page = at / page_size * page_size;
    let mut bytes = good.clone();
    bytes[page..page + 64].fill(0xa5);
    std::fs::write(d.join("ward.db"), bytes).unwrap();
    refused(d);

    // Put back as it was, the store serves again.
    std::fs::write(d.join("ward.db"), &good).unwrap();
    let run = ward_admin(d, &["org", "list"], None);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("Unmistakable Hotline Name"), "{run:?}");
}

/// A `ward serve` node, killed when dropped.
struct Node {
    child: std::process::Child,
    address: String,
}

impl Node {
    fn start(args: &[String]) -> Node {
        let (child, address) = crate::start_serve(args);
        Node { child, address }
    }

    /// One request (`headers` as `Name: value` lines); the status, the `Set-Cookie` values
    /// and the body as text.
    fn request(&self, method: &str, path: &str, headers: &[String], body: &str) -> Answer {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let cookies = String::from_utf8_lossy(&response[..end])
            .lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("set-cookie").then(|| {
                    value
                        .trim()
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                })
            })
            .collect();
        let (status, body) = http1::parse_response(&response);
        Answer {
            status,
            cookies,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Answer {
    status: u16,
    /// `name=value` of each cookie set.
    cookies: Vec<String>,
    body: String,
}

impl Answer {
    fn cookie(&self, name: &str) -> String {
        self.cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie in {:?}", self.cookies))
            .clone()
    }

    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a CSRF field")
            + 19;
        self.body[at..at + 64].to_owned()
    }
}

/// `ward admin ARGS` on the store `store` (its options); standard output.
fn admin(store: &[String], args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut all = vec!["admin".to_owned()];
    all.extend(store.iter().cloned());
    all.extend(args.iter().map(|a| a.to_string()));
    let run = ward_with_stdin(all, stdin);
    assert_eq!(run.code, Some(0), "{run:?}");
    run.stdout
}

/// Signs `name` in on `node`; returns the session's `Cookie` header.
fn sign_in(node: &Node, name: &str, password: &str) -> String {
    let form = node.request("GET", "/analyst/login", &[], "");
    let login = form.cookie("ward_login");
    let body = format!("csrf={}&name={name}&password={password}", form.csrf());
    let signed = node.request(
        "POST",
        "/analyst/login",
        &[
            format!("Cookie: {login}"),
            "Content-Type: application/x-www-form-urlencoded".into(),
        ],
        &body,
    );
    assert_eq!(signed.status, 303, "{}", signed.body);
    format!("Cookie: {}", signed.cookie("ward_analyst"))
}

/// How long until `refused` holds, polled every 10 ms for at most 5 s.
fn until(mut refused: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !refused() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still accepted after 5 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    started.elapsed()
}

#[test]
fn revoked_keys_disabled_users_and_changed_passwords_are_refused_by_a_second_node_within_a_second()
{
    let database = PgDatabase::create();
    let store = database.args();
    admin(&store, &["org", "create", "Hotline"], None);
    let key = admin(
        &store,
        &["key", "create", "--org", "Hotline", "--role", "platform"],
        None,
    )
    .trim()
    .to_owned();
    let id = admin(&store, &["key", "list"], None)
        .lines()
        .find(|l| key.starts_with(l.split('\t').nth(1).unwrap()))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_owned();
    for name in ["disabled-analyst", "renamed-analyst"] {
        admin(
            &store,
            &[
                "user", "create", "--org", "Hotline", "--role", "analyst", "--name", name,
            ],
            Some(b"correct horse battery staple\n"),
        );
    }
    let (a, b) = (
        Node::start(&database.serve_args()),
        Node::start(&database.serve_args()),
    );
    let bearer = format!("Authorization: Bearer {key}");
    let matched = |node: &Node| {
        let path = format!("/v1/match?signal_type=md5&signal={:032x}", 1);
        node.request("GET", &path, std::slice::from_ref(&bearer), "")
            .status
    };
    // Used on both nodes, so that both have it in memory.
    for _ in 0..3 {
        assert_eq!((matched(&a), matched(&b)), (200, 200));
    }
    admin(&store, &["key", "revoke", &id], None);
    let took = until(|| matched(&b) == 401);
    eprintln!("the revoked key was refused by the second node after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(until(|| matched(&a) == 401) < Duration::from_secs(1));

    // Sessions: signed in on one node, used on the other.
    let queue = |node: &Node, session: &str| {
        node.request("GET", "/analyst/queue", &[session.to_owned()], "")
            .status
    };
    let disabled = sign_in(&a, "disabled-analyst", "correct horse battery staple");
    let renamed = sign_in(&a, "renamed-analyst", "correct horse battery staple");
    assert_eq!((queue(&b, &disabled), queue(&b, &renamed)), (200, 200));
    admin(&store, &["user", "disable", "disabled-analyst"], None);
    let took = until(|| queue(&b, &disabled) == 303);
    eprintln!("the disabled user's session was refused after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    admin(
        &store,
        &["user", "password", "renamed-analyst"],
        Some(b"another long enough password\n"),
    );
    let took = until(|| queue(&b, &renamed) == 303);
    eprintln!("the session of the changed password was refused after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // The new password signs in.
    let again = sign_in(&b, "renamed-analyst", "another long enough password");
    assert_eq!(queue(&a, &again), 200);
}
