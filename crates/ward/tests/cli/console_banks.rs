//! The console's bank pages in a real headless Chromium against a real `ward serve`, with
//! accounts and a key made by `ward admin`: `browser-tests/console-banks.mjs` walks them as
//! a curator, an admin (with JavaScript off) and an auditor, and reads each result back
//! through the API.

use crate::{Server, browser, ward_admin};

const PASSWORD: &str = "browser test passphrase";
const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

#[test]
fn banks_are_managed_in_the_console_in_a_real_browser() {
    browser::scripts();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    for org in ["Hotline", "Platform"] {
        let made = ward_admin(data, &["org", "create", org], None);
        assert_eq!(made.code, Some(0), "{made:?}");
    }
    for (name, role) in [("cora", "curator"), ("ada", "admin"), ("otto", "auditor")] {
        let made = ward_admin(
            data,
            &[
                "user", "create", "--name", name, "--org", "Hotline", "--role", role,
            ],
            Some(format!("{PASSWORD}\n").as_bytes()),
        );
        assert_eq!(made.code, Some(0), "{made:?}");
    }
    let made = ward_admin(
        data,
        &["key", "create", "--org", "Hotline", "--role", "admin"],
        None,
    );
    assert_eq!(made.code, Some(0), "{made:?}");
    let key = made.stdout.trim().to_owned();
    let orgs = ward_admin(data, &["org", "list"], None).stdout;
    let platform = orgs
        .lines()
        .find(|l| l.split('\t').nth(1) == Some("Platform"))
        .and_then(|l| l.split('\t').next())
        .expect("the platform's organisation is listed")
        .to_owned();

    let (child, address) = crate::start_serve([
        "--data-dir".to_owned(),
        data.display().to_string(),
        "--intake-interval".into(),
        "0".into(),
        "--sync-interval".into(),
        "0".into(),
        "--notice-interval".into(),
        "0".into(),
    ]);
    let server = Server(child);
    let artefacts = browser::artefacts("console-banks");
    let stdout = browser::walk(
        "console-banks.mjs",
        &format!("http://{address}"),
        &artefacts,
        &[
            ("WARD_PASSWORD", &PASSWORD),
            ("WARD_CURATOR", &"cora"),
            ("WARD_ADMIN", &"ada"),
            ("WARD_AUDITOR", &"otto"),
            ("WARD_KEY", &key),
            ("WARD_PLATFORM_ORG", &platform),
            ("WARD_PDQ", &PDQ),
        ],
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    drop(server);
}
