//! What Ward has stored stays stored, and is refused when it is damaged: a store whose file
//! is damaged (its header, a page of its tables) stops `ward serve` and `ward admin` at
//! start with a message that names the damage and the file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Run, ward_admin, ward_in};

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
