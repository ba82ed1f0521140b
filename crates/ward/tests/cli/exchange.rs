//! `ward import` and `ward export`: every format into a bank and back out, re-imported to
//! the same records; tombstones and updates from later pages; broken files reported with
//! their positions while their good records are kept; a plain list's import killed and run
//! again adds each hash once.

use std::collections::BTreeSet;
use std::path::Path;

use crate::{Run, testdata, ward_admin, ward_in, ward_with_stdin};

fn sample(path: &str) -> String {
    testdata().join("exchange").join(path).display().to_string()
}

/// `ward import --data-dir DIR --bank BANK --format FORMAT FILE...`
fn import(dir: &Path, bank: &str, format: &str, files: &[&str]) -> Run {
    let mut args = vec!["import", "--bank", bank, "--format", format];
    args.extend(files);
    ward_in(dir, &args)
}

/// `ward export ...` to standard output.
fn export(dir: &Path, bank: &str, format: &str) -> Run {
    ward_in(dir, &["export", "--bank", bank, "--format", format])
}

/// A bank's content as HMA lines (signals, label and attributes, sorted, ids dropped).
fn content_of(dir: &Path, bank: &str) -> BTreeSet<String> {
    let run = export(dir, bank, "hma");
    assert_eq!(run.code, Some(0), "{run:?}");
    run.stdout
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            value.as_object_mut().unwrap().remove("id");
            value.to_string()
        })
        .collect()
}

fn summary_field(run: &Run, field: &str) -> u64 {
    let line = run
        .stderr
        .lines()
        .rfind(|l| l.starts_with("ward: import: ") && l.contains(" records="))
        .unwrap_or_else(|| panic!("no summary: {run:?}"));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{field}=")))
        .unwrap_or_else(|| panic!("no {field} in {line}"))
        .parse()
        .unwrap()
}

#[test]
fn every_format_imports_and_exports_to_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (bank, format, file) in [
        ("CSV", "csv", "csv/list.csv"),
        ("HMA", "hma", "hma/bank.jsonl"),
        ("VICS", "vics", "vics/media.json"),
        ("VICS_CASES", "vics", "vics/cases.json"),
        ("NCMEC", "ncmec", "ncmec/page.xml"),
        ("STOPNCII", "stopncii", "stopncii/page.json"),
    ] {
        let run = import(d, bank, format, &[&sample(file)]);
        // The StopNCII sample has records of types Ward does not hold, and a bad hash.
        let malformed = if format == "stopncii" { 2 } else { 0 };
        assert_eq!(
            summary_field(&run, "malformed"),
            malformed,
            "{file}: {run:?}"
        );
        assert_eq!(run.code, Some(i32::from(malformed > 0)), "{file}: {run:?}");
        assert!(summary_field(&run, "added") > 0, "{run:?}");
        let original = content_of(d, bank);
        assert!(!original.is_empty());

        // Out in each format that can hold the bank, and back in: the same content.
        for out in ["csv", "hma", "vics"] {
            let exported = export(d, bank, out);
            if exported.code != Some(0) {
                // VICS holds no PDQ or vPDQ; CSV holds one signal a line. Say so, and skip.
                assert!(
                    exported.stderr.contains("skipped"),
                    "{bank} as {out}: {exported:?}"
                );
                continue;
            }
            if out == "csv" {
                assert!(
                    exported.stdout.starts_with("signal_type,signal"),
                    "{exported:?}"
                );
            }
            let copy = format!("{bank}_FROM_{}", out.to_uppercase());
            let file = d.join(format!("{copy}.{out}"));
            std::fs::write(&file, &exported.stdout).unwrap();
            let run = import(d, &copy, out, &[&file.display().to_string()]);
            assert_eq!(run.code, Some(0), "{copy}: {run:?}");
            if out == "hma" {
                assert_eq!(content_of(d, &copy), original, "{bank} through {out}");
            } else {
                // CSV and VICS hold less than HMA (no attributes in CSV): compare signals.
                // CSV leaves PhotoDNA out (Ward's lists cannot load it).
                let signals = |set: &BTreeSet<String>| -> BTreeSet<String> {
                    set.iter()
                        .map(|l| {
                            let mut item: serde_json::Value = serde_json::from_str(l).unwrap();
                            let signals = item["signals"].as_object_mut().unwrap();
                            if out == "csv" {
                                signals.remove("photodna");
                            }
                            item["signals"].to_string()
                        })
                        .filter(|s| s != "{}")
                        .collect()
                };
                assert_eq!(
                    signals(&content_of(d, &copy)),
                    signals(&original),
                    "{bank} through {out}"
                );
            }
        }
    }
}

#[test]
fn later_pages_update_and_withdraw_items() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let page = |text: &str| {
        let file = d.join("page.csv");
        std::fs::write(&file, text).unwrap();
        import(d, "LIST", "csv", &[&file.display().to_string()])
    };
    let md5 = |n: u8| format!("{n:032x}");
    let first = page(&format!(
        "signal_type,signal,id,label\nmd5,{},a,industry:A1\nmd5,{},b,industry:B2\n",
        md5(1),
        md5(2)
    ));
    assert_eq!(summary_field(&first, "added"), 2, "{first:?}");
    let second = page(&format!(
        "signal_type,signal,id,label\nmd5,{},a,industry:A2\n",
        md5(3)
    ));
    assert_eq!(
        (
            summary_field(&second, "replaced"),
            summary_field(&second, "added")
        ),
        (1, 0)
    );
    let list = export(d, "LIST", "csv");
    assert!(
        list.stdout.contains(&md5(3)) && !list.stdout.contains(&md5(1)),
        "{list:?}"
    );
    assert!(list.stdout.contains("industry:A2"), "{list:?}");

    // StopNCII withdraws what it had listed: the entry goes.
    let run = import(d, "NCII", "stopncii", &[&sample("stopncii/page.json")]);
    assert_eq!(run.code, Some(1), "two records are malformed: {run:?}");
    let removed = summary_field(&run, "removed") + summary_field(&run, "missing");
    assert!(removed > 0, "the sample has withdrawn records: {run:?}");

    // Standard input, as `-`.
    let stdin = format!("{}\n{}\n", md5(7), md5(8));
    let run = ward_with_stdin(
        [
            "import",
            "--data-dir",
            &d.display().to_string(),
            "--bank",
            "STDIN",
            "-",
        ],
        Some(stdin.as_bytes()),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(summary_field(&run, "added"), 2);
}

#[test]
fn broken_files_are_reported_with_positions_and_their_good_records_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (format, file) in [
        ("csv", "csv/bad.csv"),
        ("hma", "hma/bad.jsonl"),
        ("vics", "vics/bad-record.json"),
        ("vics", "vics/truncated.json"),
        ("ncmec", "ncmec/bad-hex.xml"),
        ("ncmec", "ncmec/truncated.xml"),
    ] {
        let bank = file.replace(['/', '.', '-'], "_").to_uppercase();
        let run = import(d, &bank, format, &[&sample(file)]);
        assert_eq!(run.code, Some(1), "{file}: {run:?}");
        assert!(
            run.stderr.contains(&format!("{}:record ", sample(file))),
            "{file}: positions: {run:?}"
        );
        assert!(run.stderr.contains("(line "), "{file}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{file}: {run:?}");
        let kept = export(d, &bank, "hma");
        assert!(
            !kept.stdout.is_empty(),
            "{file}: the good records are kept: {run:?}"
        );
    }

    // Not the format it claims, or not there at all.
    let run = import(d, "WRONG", "ncmec", &[&sample("vics/media.json")]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let run = import(d, "MISSING", "csv", &["/nonexistent/list.csv"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("/nonexistent/list.csv"), "{run:?}");
    let run = import(d, "FORMAT", "xml", &[&sample("csv/list.csv")]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("stopncii"),
        "lists the formats: {run:?}"
    );
    let run = export(d, "NO_SUCH_BANK", "csv");
    assert_eq!(run.code, Some(2), "{run:?}");
}

/// Bank names are each organisation's own: `ward import` acting for another `--org` makes
/// that organisation a bank of the same name rather than writing into the first one's, and
/// `ward export` reads the bank of the organisation it acts for; a name that only other
/// organisations' banks have, several of which it sees, is refused asking for the id.
#[test]
fn import_and_export_act_for_their_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let list = |hashes: &[&str]| {
        let path = d.join(format!("list-{}.txt", hashes.len()));
        std::fs::write(&path, hashes.join("\n") + "\n").unwrap();
        path.display().to_string()
    };
    let a_list = list(&["0123456789abcdef0123456789abcdef"]);
    let b_list = list(&[
        "00112233445566778899aabbccddeeff",
        "ffeeddccbbaa99887766554433221100",
    ]);
    for (org, file) in [("NGO A", &a_list), ("Platform B", &b_list)] {
        let run = ward_in(d, &["import", "--bank", "LIST", "--org", org, file]);
        assert_eq!(run.code, Some(0), "{run:?}");
        assert!(run.stderr.contains("created the bank \"LIST\""), "{run:?}");
    }
    let exported = |org: &str| {
        let run = ward_in(d, &["export", "--bank", "LIST", "--org", org]);
        assert_eq!(run.code, Some(0), "{run:?}");
        run.stdout.lines().count() - 1
    };
    assert_eq!((exported("NGO A"), exported("Platform B")), (1, 2));
    // A third organisation sees neither (both private): no such bank, for it.
    ward_admin(d, &["org", "create", "Hotline C"], None);
    let run = ward_in(d, &["export", "--bank", "LIST", "--org", "Hotline C"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("no bank named \"LIST\""), "{run:?}");
    assert!(!run.stderr.contains("NGO A"), "{run:?}");
    // The operator: marked, listed, audited; one at a time.
    for org in ["NGO A", "Hotline C"] {
        let run = ward_admin(d, &["org", "operator", org], None);
        assert_eq!(run.code, Some(0), "{run:?}");
    }
    let orgs = ward_admin(d, &["org", "list"], None).stdout;
    let kinds: Vec<(&str, &str)> = orgs
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            (fields[1], fields[2])
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("NGO A", "member"),
            ("Platform B", "member"),
            ("Hotline C", "operator")
        ]
    );
    let run = ward_admin(d, &["org", "operator", "--none"], None);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        !ward_admin(d, &["org", "list"], None)
            .stdout
            .contains("operator")
    );
    let run = ward_admin(d, &["org", "operator"], None);
    assert_eq!(run.code, Some(2), "a name or --none: {run:?}");
}

/// A plain list of `lines` distinct MD5s (no id column).
fn plain_list(lines: u32) -> String {
    let mut list = String::with_capacity(lines as usize * 33);
    for i in 0..lines {
        list.push_str(&format!("{:032x}\n", u64::from(i) * 7_919 + 13));
    }
    list
}

/// `ward import` of a plain list killed with SIGKILL once batches of it are committed (its
/// standard input held open after two thirds of the list), then run again on the whole
/// list, and once more: the bank ends with exactly one item a hash, on `store` (the store
/// options).
fn killed_plain_import_runs_again_without_duplicates(store: &[String]) {
    use std::io::Write as _;
    use ward_store::Store as _;

    const LINES: u32 = 300_000;
    // Batches hold 65,536 entries or 16 MiB of them, whichever is first.
    const SENT: usize = 200_000;
    const AWAITED: i64 = 100_000;
    let list = plain_list(LINES);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let open = || {
        let (data_dir, url) = match store {
            [flag, dir] if flag == "--data-dir" => (Path::new(dir), None),
            [flag, url] if flag == "--database-url" => (Path::new("."), Some(url.as_str())),
            _ => panic!("store options {store:?}"),
        };
        runtime
            .block_on(ward_store::AnyStore::open(data_dir, url))
            .unwrap()
    };
    let import_args = |file: &str| -> Vec<String> {
        let mut args = vec!["import".to_owned()];
        args.extend(store.iter().cloned());
        args.extend(["--bank", "PLAIN", file].map(String::from));
        args
    };

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(import_args("-"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Some batches and part of another, which waits for lines that never come.
    let head: usize = list.lines().take(SENT).map(|l| l.len() + 1).sum();
    stdin.write_all(&list.as_bytes()[..head]).unwrap();
    stdin.flush().unwrap();
    let watcher = open();
    let started = std::time::Instant::now();
    while runtime.block_on(watcher.last_seq()).unwrap().0 < AWAITED {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "{AWAITED} entries were not committed within 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(stdin);
    // Each committed entry took one seq.
    let committed = runtime.block_on(watcher.last_seq()).unwrap().0 as u64;
    assert!(
        (AWAITED as u64..SENT as u64).contains(&committed),
        "{committed} committed"
    );

    // Run again on the whole list, then once more.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("list.txt");
    std::fs::write(&file, &list).unwrap();
    let file = file.display().to_string();
    let again = crate::ward(import_args(&file));
    assert_eq!(again.code, Some(0), "{again:?}");
    assert_eq!(
        (
            summary_field(&again, "added"),
            summary_field(&again, "unchanged")
        ),
        (u64::from(LINES) - committed, committed),
        "{again:?}"
    );
    let third = crate::ward(import_args(&file));
    assert_eq!(
        (
            summary_field(&third, "added"),
            summary_field(&third, "unchanged")
        ),
        (0, u64::from(LINES)),
        "{third:?}"
    );

    // Exactly one item a hash: counted in the store, page by page.
    let bank = runtime
        .block_on(watcher.banks_named("PLAIN"))
        .unwrap()
        .pop()
        .expect("the bank the import made");
    let mut values = BTreeSet::new();
    let mut items = 0;
    let mut after = None;
    loop {
        let page = runtime
            .block_on(watcher.bank_contents(bank.id, after, 10_000))
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        items += page.len();
        values.extend(page.into_iter().map(|c| c.signals[0].value.clone()));
    }
    assert_eq!((items, values.len()), (LINES as usize, LINES as usize));
    assert_eq!(
        runtime.block_on(watcher.last_seq()).unwrap().0,
        i64::from(LINES)
    );
    runtime.block_on(watcher.close());
}

#[test]
fn a_killed_plain_import_run_again_adds_each_hash_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    killed_plain_import_runs_again_without_duplicates(&[
        "--data-dir".into(),
        dir.path().display().to_string(),
    ]);
}

#[test]
fn a_killed_plain_import_run_again_adds_each_hash_once_on_postgresql() {
    let database = crate::serve::PgDatabase::create();
    killed_plain_import_runs_again_without_duplicates(&database.args());
}
