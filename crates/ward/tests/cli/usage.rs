//! How the command line reads: options that say where the store is are accepted anywhere
//! after the command, as a newcomer types them.

use crate::ward;

/// `--data-dir` before and after a nested subcommand reach the same store.
#[test]
fn store_options_are_accepted_anywhere_on_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let data = data.to_str().unwrap();
    let after = ward([
        "admin",
        "org",
        "create",
        "After Hotline",
        "--data-dir",
        data,
    ]);
    assert_eq!(after.code, Some(0), "{after:?}");
    let between = ward(["admin", "org", "--data-dir", data, "create", "Between NGO"]);
    assert_eq!(between.code, Some(0), "{between:?}");
    let before = ward(["admin", "--data-dir", data, "org", "list"]);
    assert_eq!(before.code, Some(0), "{before:?}");
    assert!(before.stdout.contains("After Hotline"), "{before:?}");
    assert!(before.stdout.contains("Between NGO"), "{before:?}");
    // Read with the option last, the same store.
    let listed = ward(["admin", "org", "list", "--data-dir", data]);
    assert_eq!(listed.stdout, before.stdout);
    // And a key made with the option last works with the option first.
    let key = ward([
        "admin",
        "key",
        "create",
        "--org",
        "After Hotline",
        "--role",
        "curator",
        "--data-dir",
        data,
    ]);
    assert_eq!(key.code, Some(0), "{key:?}");
    assert!(key.stdout.trim().starts_with("ward_"), "{key:?}");
}
