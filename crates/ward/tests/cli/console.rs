//! The console's overview and match tester in a real headless Chromium against a real
//! `ward serve`: as the deployment's admin, a curator and an auditor of the operating
//! hotline, with JavaScript on and off (`browser-tests/console.mjs`), each result checked
//! through the API with a key.

use ward_store::{
    Actor, AnyStore, BankKind, NewBank, NewContent, Role, Sharing, Signal, SignalKind, Store as _,
};

use crate::{Server, browser, repo_file, ward_admin};

const PASSWORD: &str = "browser test passphrase";
const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

#[test]
fn the_console_overview_and_match_tester_in_a_real_browser() {
    browser::scripts();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    for org in ["Hotline", "Platform"] {
        assert_eq!(
            ward_admin(data, &["org", "create", org], None).code,
            Some(0)
        );
    }
    assert_eq!(
        ward_admin(data, &["org", "operator", "Hotline"], None).code,
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
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(AnyStore::open(data, None)).unwrap();
    let operator = Actor::operator("test");
    let key = runtime.block_on(async {
        let hotline = store.org_by_name("Hotline").await.unwrap().unwrap();
        let bank = store
            .create_bank(
                &operator,
                &NewBank {
                    name: "CONFIRMED".into(),
                    org: hotline.id,
                    kind: BankKind::Standard,
                    distance: 31,
                    enabled: true,
                    sharing: Sharing::Members,
                    shared_with: Vec::new(),
                    dispute_limit: None,
                    description: String::new(),
                },
            )
            .await
            .unwrap();
        store
            .add_content(
                &operator,
                bank.id,
                &[NewContent {
                    signals: vec![Signal {
                        kind: SignalKind::Pdq,
                        value: PDQ.into(),
                    }],
                    source: "api".into(),
                    ..NewContent::default()
                }],
            )
            .await
            .unwrap();
        store
            .create_key(&operator, hotline.id, Role::Curator, "checks")
            .await
            .unwrap()
            .secret
    });
    runtime.block_on(store.close());

    let (child, address) = crate::start_serve([
        "--data-dir".to_owned(),
        data.display().to_string(),
        "--intake-interval".into(),
        "0".into(),
        "--notice-interval".into(),
        "0".into(),
    ]);
    let server = Server(child);
    let artefacts = browser::artefacts("console");
    let picture = repo_file("testdata/threatexchange/pdq/data/misc-images/c.png");
    let stdout = browser::walk(
        "console.mjs",
        &format!("http://{address}"),
        &artefacts,
        &[
            ("WARD_CONSOLE_PASSWORD", &PASSWORD),
            ("WARD_API_KEY", &key),
            ("WARD_PDQ", &PDQ),
            ("WARD_PICTURE", &picture),
        ],
    );
    assert!(
        stdout.contains("the tester's answer is the API's"),
        "{stdout}"
    );
    drop(server);
}
