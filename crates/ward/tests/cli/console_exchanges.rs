//! The console's exchanges, audit log and contacts in a real headless Chromium against a
//! real `ward serve`: `browser-tests/console-exchanges.mjs` walks them as a curator (a
//! `file` exchange made, fetched from a list this test serves on a loopback port, fetched
//! again at once, disabled), an admin with JavaScript off (contacts, the audit log and its
//! CSV) and an auditor (reading, refused when posting), checking each result through the
//! API with an admin's key, and saves screenshots.

use axum::Router;
use axum::routing::get;

use crate::{Server, browser, ward_admin};

const PASSWORD: &str = "browser test passphrase";

/// Three benign test hashes (MD5s of nothing in particular), as a CSV list.
const LIST: &str = "signal_type,signal,id\n\
    md5,00000000000000000000000000000001,one\n\
    md5,00000000000000000000000000000002,two\n\
    md5,00000000000000000000000000000003,three\n";

#[test]
fn exchanges_audit_and_contacts_are_managed_in_a_real_browser() {
    // The packages first: nothing is set up for a walk that cannot run.
    browser::scripts();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let lists = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let app = Router::new().route("/lists/hashes.csv", get(|| async { LIST }));
        axum::serve(listener, app).await
    });

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert_eq!(
        ward_admin(data, &["org", "create", "Hotline"], None).code,
        Some(0)
    );
    for (name, role) in [("ada", "admin"), ("cora", "curator"), ("audrey", "auditor")] {
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
        &["key", "create", "--org", "Hotline", "--role", "admin"],
        None,
    );
    assert_eq!(key.code, Some(0), "{key:?}");
    let key = key.stdout.trim().to_owned();

    let (child, address) = crate::start_serve([
        "--data-dir".to_owned(),
        data.display().to_string(),
        "--exchange-interval".into(),
        "1".into(),
        "--intake-interval".into(),
        "0".into(),
        "--notice-interval".into(),
        "0".into(),
    ]);
    let server = Server(child);
    let artefacts = browser::artefacts("console-exchanges");
    let list_url = format!("http://{lists}/lists/hashes.csv");
    let stdout = browser::walk(
        "console-exchanges.mjs",
        &format!("http://{address}"),
        &artefacts,
        &[
            ("WARD_PASSWORD", &PASSWORD),
            ("WARD_ADMIN", &"ada"),
            ("WARD_CURATOR", &"cora"),
            ("WARD_AUDITOR", &"audrey"),
            ("WARD_LIST_URL", &list_url),
            ("WARD_LIST_ITEMS", &"3"),
            ("WARD_ADMIN_KEY", &key),
        ],
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
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
