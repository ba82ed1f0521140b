//! House rules checked by a test rather than by review.

use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_doc_line() {
    let mut files = Vec::new();
    rust_files(&repository().join("crates"), &mut files);
    assert!(files.len() > 10);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//! "),
            "{} does not start with a `//!` line",
            file.display()
        );
    }
}

#[test]
fn no_dumping_ground_modules() {
    let mut files = Vec::new();
    rust_files(&repository().join("crates"), &mut files);
    for file in files {
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        assert!(
            !["utils", "util", "helpers", "misc", "common"].contains(&stem.as_str()),
            "{} is a dumping ground; name it for what it does",
            file.display()
        );
    }
}

#[test]
fn core_stays_pure() {
    let manifest =
        std::fs::read_to_string(repository().join("crates/ward-core/Cargo.toml")).unwrap();
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for forbidden in ["tokio", "sqlx", "axum", "hyper", "reqwest", "tower"] {
        assert!(
            !dependencies
                .lines()
                .any(|l| l.trim_start().starts_with(forbidden)),
            "ward-core must not depend on {forbidden}"
        );
    }
}
