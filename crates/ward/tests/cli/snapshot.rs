//! `ward serve`'s index snapshot: a node stopped gracefully writes it, and a restart reads it
//! and the store's changes made since by another node, answering exactly as a node that read
//! the whole feed; a damaged snapshot, another deployment's, or one ahead of a store restored
//! from a backup is refused with its reason logged, and the feed read whole instead. On
//! PostgreSQL, a node restarts from its own file with what other nodes changed meanwhile.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::serve::{Node, admin_key, sqlite};

/// Far apart from each other (random), so that each matches only itself.
const PDQS: [&str; 4] = [
    "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "3b1ad2c5e6f70812a4b6c8d0e2f41628a3c5e7f90b1d2f4152637485960a1b2c",
    "9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b",
    "c0ffee00deadbeef0123456789abcdeffedcba98765432100f0f0f0ff0f0f0f0",
];
const MD5S: [&str; 2] = [
    "d41d8cd98f00b204e9800998ecf8427e",
    "0cc175b9c0f1b6a831c399e269772661",
];

/// A node whose log lines (at `info`) are kept.
struct Logged {
    node: Node,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Logged {
    fn start(store: &[String], extra: &[&str]) -> Logged {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(store)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start ward serve");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let kept = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.strip_prefix("ward: serving on http://") {
                    let address = rest.split_whitespace().next().unwrap_or_default();
                    let _ = sender.send(address.to_owned());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let address = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("ward serve did not start: {:?}", lines.lock().unwrap()));
        Logged {
            node: Node::adopt(child, address),
            lines,
        }
    }

    /// The log line that contains `text`.
    fn logged(&self, text: &str) -> Option<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .find(|line| line.contains(text))
            .cloned()
    }

    fn metric(&self, name: &str) -> String {
        let (_, metrics) = self.node.request("GET", "/metrics", None, b"", "");
        metrics
            .as_str()
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_default()
            .to_owned()
    }

    fn started_from_snapshot(&self) -> bool {
        self.metric("ward_index_from_snapshot") == "1"
    }
}

/// Each query hash with the content id, bank and distance of each of its matches.
type Answers = Vec<(String, Vec<(i64, i64, i64)>)>;

/// What the node matches for every PDQ and MD5 above (and a hash far from all).
fn answers(node: &Node, key: &str) -> Answers {
    let far = "0".repeat(64);
    let queries = PDQS
        .iter()
        .map(|h| ("pdq", *h))
        .chain(MD5S.iter().map(|h| ("md5", *h)))
        .chain([("pdq", far.as_str())]);
    queries
        .map(|(kind, hash)| {
            let (status, found) = node.json(
                "GET",
                &format!("/v1/match?signal_type={kind}&signal={hash}"),
                Some(key),
                Value::Null,
            );
            assert_eq!(status, 200, "{found}");
            let mut matches: Vec<(i64, i64, i64)> = found["matches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["content_id"].as_i64().unwrap(),
                        m["bank"]["id"].as_i64().unwrap(),
                        m["distance"].as_i64().unwrap_or(-1),
                    )
                })
                .collect();
            matches.sort_unstable();
            (hash.to_owned(), matches)
        })
        .collect()
}

/// Adds signals to a bank as CSV; returns how many were added.
fn add(node: &Node, key: &str, bank: i64, signals: &[(&str, &str)]) -> u64 {
    let mut csv = String::from("signal_type,signal\n");
    for (kind, hash) in signals {
        csv.push_str(&format!("{kind},{hash}\n"));
    }
    let (status, report) = node.request(
        "POST",
        &format!("/v1/banks/{bank}/signals"),
        Some(key),
        csv.as_bytes(),
        "text/csv",
    );
    assert_eq!(status, 200, "{report}");
    report["added"].as_u64().unwrap()
}

/// The content a query matches first.
fn content_of(node: &Node, key: &str, kind: &str, hash: &str) -> i64 {
    let (_, found) = node.json(
        "GET",
        &format!("/v1/match?signal_type={kind}&signal={hash}"),
        Some(key),
        Value::Null,
    );
    found["matches"][0]["content_id"].as_i64().expect("a match")
}

/// The store's files (SQLite's database and its logs).
fn store_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ward.db"))
        })
        .collect()
}

const NO_SNAPSHOT: [&str; 2] = ["--index-snapshot-interval", "0"];

/// What [`restart_with_changes_behind_its_back`] leaves.
struct Restarted {
    curator: String,
    platform: String,
    bank: i64,
    /// The answers of a node that read the whole feed.
    full: Answers,
}

/// A node with a bank of three signals stops gracefully (writing its snapshot); another node
/// without one adds two and disables one; the first restarts from its snapshot and answers
/// as the node that read everything. `admin` is the store for `ward admin`, `node` a node's
/// arguments (the store), `snapshot` the first node's file.
fn restart_with_changes_behind_its_back(
    admin: &[String],
    node: &[String],
    snapshot: &Path,
) -> Restarted {
    let curator = admin_key(admin, "NGO", "curator");
    let platform = admin_key(admin, "NGO", "platform");
    let mut with_snapshot = node.to_vec();
    with_snapshot.extend(["--index-snapshot".into(), snapshot.display().to_string()]);

    let first = Logged::start(&with_snapshot, &[]);
    assert!(!first.started_from_snapshot(), "no snapshot yet");
    let (status, bank) =
        first
            .node
            .json("POST", "/v1/banks", Some(&curator), json!({"name": "SNAP"}));
    assert_eq!(status, 201, "{bank}");
    let bank = bank["id"].as_i64().unwrap();
    let added = add(
        &first.node,
        &curator,
        bank,
        &[("pdq", PDQS[0]), ("pdq", PDQS[1]), ("md5", MD5S[0])],
    );
    assert_eq!(added, 3);
    let second_pdq = content_of(&first.node, &platform, "pdq", PDQS[1]);
    let before = answers(&first.node, &platform);
    assert!(first.node.stop());
    assert!(snapshot.is_file(), "a graceful stop writes the snapshot");

    // Behind its back, another node (without a snapshot) adds two and disables one.
    let other = Logged::start(node, &NO_SNAPSHOT);
    assert_eq!(
        add(
            &other.node,
            &curator,
            bank,
            &[("pdq", PDQS[2]), ("md5", MD5S[1])]
        ),
        2
    );
    let (status, _) = other.node.json(
        "PATCH",
        &format!("/v1/content/{second_pdq}"),
        Some(&curator),
        json!({"enabled": false}),
    );
    assert_eq!(status, 200);
    let full = answers(&other.node, &platform);
    drop(other);

    // The restart starts from the snapshot and answers as the node that read everything.
    let restarted = Logged::start(&with_snapshot, &[]);
    assert!(restarted.started_from_snapshot(), "{:?}", restarted.lines);
    let after = answers(&restarted.node, &platform);
    assert_eq!(after, full);
    let matched =
        |answers: &Answers, hash: &str| answers.iter().any(|(h, m)| h == hash && !m.is_empty());
    assert!(
        matched(&after, PDQS[0]) && matched(&after, MD5S[0]),
        "{after:?}"
    );
    assert!(
        matched(&after, PDQS[2]) && matched(&after, MD5S[1]),
        "added behind its back: {after:?}"
    );
    assert!(
        !matched(&after, PDQS[1]),
        "disabled behind its back: {after:?}"
    );
    assert!(matched(&before, PDQS[1]));
    assert!(!matched(&after, PDQS[3]) && !matched(&after, &"0".repeat(64)));
    // Stopped again: the snapshot is written anew at the position it reached.
    assert!(restarted.node.stop());
    let restarted = Logged::start(&with_snapshot, &[]);
    assert!(restarted.started_from_snapshot());
    assert_eq!(answers(&restarted.node, &platform), full);
    Restarted {
        curator,
        platform,
        bank,
        full,
    }
}

#[test]
fn on_postgresql_each_node_restarts_from_its_own_snapshot() {
    let database = crate::serve::PgDatabase::create();
    let files = tempfile::tempdir().unwrap();
    restart_with_changes_behind_its_back(
        &database.args(),
        &database.node_args(),
        &files.path().join("node-a.snapshot"),
    );
}

#[test]
fn a_restart_reads_the_snapshot_and_the_changes_since_and_refuses_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let snapshot = dir.path().join("index.snapshot");
    let Restarted {
        curator,
        platform,
        bank,
        full,
    } = restart_with_changes_behind_its_back(&store, &store, &snapshot);

    // Damaged (one byte changed in the middle): refused, the feed read whole.
    let good = std::fs::read(&snapshot).unwrap();
    for at in [good.len() / 3, good.len() - 10, 5] {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        std::fs::write(&snapshot, &bad).unwrap();
        let node = Logged::start(&store, &[]);
        assert!(!node.started_from_snapshot(), "byte {at} of {}", good.len());
        let refusal = node
            .logged("index snapshot refused")
            .unwrap_or_else(|| panic!("byte {at}: no refusal logged: {:?}", node.lines));
        assert!(refusal.contains("damaged"), "{refusal}");
        assert_eq!(answers(&node.node, &platform), full);
    }
    // Cut short.
    std::fs::write(&snapshot, &good[..good.len() / 2]).unwrap();
    let node = Logged::start(&store, &[]);
    assert!(!node.started_from_snapshot());
    assert!(node.logged("index snapshot refused").is_some());
    assert_eq!(answers(&node.node, &platform), full);
    drop(node);

    // Another deployment's snapshot: refused.
    let foreign_dir = tempfile::tempdir().unwrap();
    let foreign_store = sqlite(foreign_dir.path());
    let foreign_curator = admin_key(&foreign_store, "Other", "curator");
    let foreign = Logged::start(&foreign_store, &[]);
    let (_, foreign_bank) = foreign.node.json(
        "POST",
        "/v1/banks",
        Some(&foreign_curator),
        json!({"name": "ELSEWHERE"}),
    );
    add(
        &foreign.node,
        &foreign_curator,
        foreign_bank["id"].as_i64().unwrap(),
        &[("pdq", PDQS[3])],
    );
    assert!(foreign.node.stop());
    std::fs::copy(foreign_dir.path().join("index.snapshot"), &snapshot).unwrap();
    let node = Logged::start(&store, &[]);
    assert!(!node.started_from_snapshot());
    let refusal = node
        .logged("index snapshot refused")
        .expect("refusal logged");
    assert!(refusal.contains("another deployment"), "{refusal}");
    assert_eq!(answers(&node.node, &platform), full);
    // Stopped, it writes its own again.
    assert!(node.node.stop());
    let node = Logged::start(&store, &[]);
    assert!(node.started_from_snapshot());
    drop(node);

    // The store restored from a backup older than the snapshot: refused.
    let backup = tempfile::tempdir().unwrap();
    for file in store_files(dir.path()) {
        std::fs::copy(&file, backup.path().join(file.file_name().unwrap())).unwrap();
    }
    let node = Logged::start(&store, &[]);
    assert_eq!(add(&node.node, &curator, bank, &[("pdq", PDQS[3])]), 1);
    assert!(node.node.stop());
    for file in store_files(dir.path()) {
        std::fs::remove_file(file).unwrap();
    }
    for file in store_files(backup.path()) {
        std::fs::copy(&file, dir.path().join(file.file_name().unwrap())).unwrap();
    }
    let node = Logged::start(&store, &[]);
    assert!(!node.started_from_snapshot());
    let refusal = node
        .logged("index snapshot refused")
        .expect("refusal logged");
    assert!(refusal.contains("backup"), "{refusal}");
    assert_eq!(answers(&node.node, &platform), full);
}
