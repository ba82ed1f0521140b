//! Ward's PDQ against Meta's reference outputs.

use std::collections::HashMap;

use ward_core::decode::{DecodeOptions, decode};
use ward_core::pdq::{PdqDct, PdqHash, Pipeline};

use crate::{read_csv, testdata};

struct Outcome {
    path: String,
    distance: u32,
    detail: String,
}

fn hash_file(relative: &str, pipeline: Pipeline, options: &DecodeOptions) -> PdqDct {
    let bytes = std::fs::read(testdata().join("..").join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    let picture = decode(&bytes, options).unwrap_or_else(|e| panic!("{relative}: {e}"));
    PdqDct::compute(&picture, pipeline)
}

fn parse(hex: &str) -> PdqHash {
    hex.parse().unwrap_or_else(|e| panic!("{hex}: {e}"))
}

/// Prints every non-exact outcome, then checks the share that is exact and the worst distance.
fn check_outcomes(name: &str, outcomes: &[Outcome], min_exact: usize, max_distance: u32) {
    let exact = outcomes.iter().filter(|o| o.distance == 0).count();
    for o in outcomes.iter().filter(|o| o.distance != 0) {
        eprintln!("{name}: {} at distance {} {}", o.path, o.distance, o.detail);
    }
    eprintln!("{name}: {exact} of {} exact", outcomes.len());
    assert!(
        exact >= min_exact,
        "{name}: only {exact} of {} exact (need {min_exact})",
        outcomes.len()
    );
    let worst = outcomes.iter().map(|o| o.distance).max().unwrap_or(0);
    assert!(
        worst <= max_distance,
        "{name}: worst distance {worst} > {max_distance}"
    );
}

/// The image rows of Meta's WASM test data, reproduced by the `cli512` pipeline.
#[test]
fn cli512_reproduces_meta_wasm_expectations() {
    let rows =
        read_csv(&testdata().join("threatexchange/pdq/wasm/test/TestData/PDQMD5TestData.csv"));
    let mut outcomes = Vec::new();
    for row in rows.iter().filter(|r| !r["FilePath"].ends_with(".mp4")) {
        let relative = row["FilePath"].trim_start_matches("../").to_string();
        let relative = format!("testdata/threatexchange/pdq/{relative}");
        let file = testdata().join("..").join(&relative);
        if !file.exists() {
            // b.jpg is cited by the CSV but not in Meta's repository.
            assert!(
                relative.ends_with("misc-images/b.jpg"),
                "{relative} missing"
            );
            continue;
        }
        let hash = hash_file(&relative, Pipeline::Cli512, &DecodeOptions::default()).hash();
        let expected = parse(&row["Hash"]);
        outcomes.push(Outcome {
            distance: hash.distance(&expected),
            path: relative,
            detail: String::new(),
        });
    }
    assert_eq!(outcomes.len(), 15);
    check_outcomes("cli512", &outcomes, 14, 2);
}

/// python-threatexchange's own test resources, with the qualities its tests assert.
#[test]
fn full_pipeline_reproduces_python_threatexchange() {
    let rows = read_csv(&testdata().join("threatexchange/expected/pdq_expected_hashes.csv"));
    let mut checked = 0;
    for row in rows
        .iter()
        .filter(|r| r["pipeline"].starts_with("pytx pdqhash binding"))
    {
        let relative = format!("testdata/threatexchange/{}", row["path"]);
        let dct = hash_file(&relative, Pipeline::Full, &DecodeOptions::default());
        assert_eq!(dct.hash(), parse(&row["hash_hex"]), "{relative}");
        if let Ok(quality) = row["quality"].parse::<u8>() {
            assert_eq!(dct.quality().get(), quality, "{relative}");
        }
        checked += 1;
    }
    assert_eq!(checked, 18);
}

/// Every image in testdata, against the `pdqhash` binding (goldens.csv, see
/// testdata/pdq/generate_goldens.py): hash, quality, the eight dihedral hashes, and the
/// EXIF-oriented hash.
#[test]
fn full_pipeline_matches_pdqhash_goldens() {
    let rows = read_csv(&testdata().join("pdq/goldens.csv"));
    assert!(rows.len() >= 80, "goldens.csv has {} rows", rows.len());
    let mut hashes = Vec::new();
    let mut dihedrals = Vec::new();
    let mut oriented = Vec::new();
    let mut qualities: HashMap<String, (u8, u8)> = HashMap::new();
    for row in &rows {
        let path = row["path"].clone();
        let dct = hash_file(&path, Pipeline::Full, &DecodeOptions::default());
        let expected_quality: u8 = row["quality"].parse().unwrap();
        qualities.insert(path.clone(), (dct.quality().get(), expected_quality));
        hashes.push(Outcome {
            distance: dct.hash().distance(&parse(&row["pdq"])),
            detail: format!("quality {} vs {expected_quality}", dct.quality()),
            path: path.clone(),
        });
        let expected: Vec<PdqHash> = row["dihedral"].split(' ').map(parse).collect();
        for (i, (actual, expected)) in dct.dihedral().iter().zip(&expected).enumerate() {
            dihedrals.push(Outcome {
                distance: actual.distance(expected),
                path: format!("{path}[{}]", ward_core::pdq::DIHEDRAL_NAMES[i]),
                detail: String::new(),
            });
        }
        if !row["oriented_pdq"].is_empty() {
            let options = DecodeOptions {
                exif_orient: true,
                ..DecodeOptions::default()
            };
            let upright = hash_file(&path, Pipeline::Full, &options).hash();
            oriented.push(Outcome {
                distance: upright.distance(&parse(&row["oriented_pdq"])),
                path: path.clone(),
                detail: String::new(),
            });
        }
    }
    let min_exact = |n: usize| (n * 95).div_ceil(100);
    check_outcomes("full", &hashes, min_exact(hashes.len()), 2);
    check_outcomes("dihedral", &dihedrals, min_exact(dihedrals.len()), 2);
    check_outcomes("exif-oriented", &oriented, oriented.len(), 0);
    assert!(!oriented.is_empty());
    for (path, (actual, expected)) in &qualities {
        assert!(
            actual.abs_diff(*expected) <= 1,
            "{path}: quality {actual} vs {expected}"
        );
    }
}
