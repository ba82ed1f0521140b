//! `ward referral`: content referred as VICS and imported again with `ward import --format
//! vics` into a new bank, which then holds the same signals and categories; as Ward's
//! referral JSON; and what it refuses.

use std::collections::BTreeSet;
use std::path::Path;

use crate::{testdata, ward_in};

/// A bank's items as their signals and label (from its HMA export), sorted.
fn signals_and_labels(dir: &Path, bank: &str) -> BTreeSet<String> {
    let run = ward_in(dir, &["export", "--bank", bank, "--format", "hma"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    run.stdout
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            serde_json::json!({
                "signals": value["signals"],
                "label": value["metadata"]["json"]["label"],
            })
            .to_string()
        })
        .collect()
}

#[test]
fn a_referral_as_vics_imports_into_a_bank_with_the_same_signals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let list = testdata().join("exchange/vics/media.json");
    let imported = ward_in(
        d,
        &[
            "import",
            "--bank",
            "SOURCE",
            "--format",
            "vics",
            &list.display().to_string(),
        ],
    );
    assert_eq!(imported.code, Some(0), "{imported:?}");
    let source = signals_and_labels(d, "SOURCE");
    assert!(source.len() >= 2, "{source:?}");
    // A fresh store numbers content from 1.
    let ids: Vec<String> = (1..=source.len()).map(|n| n.to_string()).collect();
    let ids = ids.join(",");

    let referral = d.join("referral.json");
    let exported = ward_in(
        d,
        &[
            "referral",
            "--content",
            &ids,
            "--format",
            "vics",
            "--output",
            &referral.display().to_string(),
        ],
    );
    assert_eq!(exported.code, Some(0), "{exported:?}");
    assert!(
        exported.stderr.contains(&format!(
            "ward: referral: content:{ids}: written={} omitted=0",
            source.len()
        )),
        "{exported:?}"
    );
    let copied = ward_in(
        d,
        &[
            "import",
            "--bank",
            "COPY",
            "--format",
            "vics",
            &referral.display().to_string(),
        ],
    );
    assert_eq!(copied.code, Some(0), "{copied:?}");
    assert_eq!(signals_and_labels(d, "COPY"), source);

    // As Ward's referral JSON, on standard output.
    let json = ward_in(d, &["referral", "--content", "2,1", "--format", "json"]);
    assert_eq!(json.code, Some(0), "{json:?}");
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["format"], "ward-referral");
    assert_eq!(document["target"], "content:2,1");
    assert_eq!(document["exported_by"], "cli:ward referral");
    let referred: Vec<i64> = document["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["content_id"].as_i64().unwrap())
        .collect();
    assert_eq!(referred, [2, 1]);
    assert_eq!(document["items"][0]["bank"], "SOURCE");
}

#[test]
fn a_referral_of_nothing_there_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = ward_in(d, &["referral", "--content", "999"]);
    assert_eq!(missing.code, Some(2), "{missing:?}");
    assert!(
        missing.stderr.contains("content 999 not found"),
        "{missing:?}"
    );
    let format = ward_in(d, &["referral", "--content", "1", "--format", "csv"]);
    assert_eq!(format.code, Some(2), "{format:?}");
    assert!(
        format.stderr.contains("expected json or vics"),
        "{format:?}"
    );
    let not_a_number = ward_in(d, &["referral", "--content", "1,x"]);
    assert_eq!(not_a_number.code, Some(2), "{not_a_number:?}");
}
