//! The console's organisations, people and keys in a real headless Chromium against a real
//! `ward serve` (`browser-tests/console-people.mjs`): an admin makes an organisation and its
//! administrator's account, whose holder sets their password through the one-time link in a
//! browser of their own and signs in; they make an analyst's account and a key (its secret
//! shown once), revoke the key and disable the analyst; with JavaScript off an admin makes
//! another organisation and enables the analyst again; an auditor finds no way in. Each
//! result is checked through the API with a key made by `ward admin key create`.

use crate::{Server, browser, ward_admin};

const PASSWORD: &str = "browser test passphrase";

#[test]
fn organisations_people_and_keys_are_managed_in_a_real_browser() {
    // The packages first: nothing is set up for a walk that cannot run.
    browser::scripts();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert_eq!(
        ward_admin(data, &["org", "create", "Hotline"], None).code,
        Some(0)
    );
    for (name, role) in [("ada", "admin"), ("aud", "auditor")] {
        let made = ward_admin(
            data,
            &[
                "user", "create", "--name", name, "--org", "Hotline", "--role", role,
            ],
            Some(format!("{PASSWORD}\n").as_bytes()),
        );
        assert_eq!(made.code, Some(0), "{made:?}");
    }
    let key = ward_admin(
        data,
        &[
            "key", "create", "--org", "Hotline", "--role", "admin", "--label", "checks",
        ],
        None,
    );
    assert_eq!(key.code, Some(0), "{key:?}");
    let key = key.stdout.trim().to_owned();

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
    let artefacts = browser::artefacts("console-people");
    let stdout = browser::walk(
        "console-people.mjs",
        &format!("http://{address}"),
        &artefacts,
        &[
            ("WARD_ADMIN_NAME", &"ada"),
            ("WARD_AUDITOR_NAME", &"aud"),
            ("WARD_PASSWORD", &PASSWORD),
            ("WARD_API_KEY", &key),
        ],
    );
    assert!(
        stdout.contains("every result checked through the API"),
        "{stdout}"
    );
    let screenshots = std::fs::read_dir(&artefacts)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert!(
        screenshots >= 10,
        "{screenshots} screenshots in {}",
        artefacts.display()
    );
    drop(server);
}
