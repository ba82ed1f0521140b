//! The transparency page in a real headless Chromium against a real `ward serve`: figures
//! that are not zero (hashes added through the API and pulled from a partner, a dispute,
//! reports, exposure, and a platform's match queries made over HTTP), shown in the page's
//! month table and compared figure by figure with its CSV export by
//! `browser-tests/transparency.mjs`, which also saves screenshots and runs axe-core.

use ward_store::{
    Actor, AnyStore, BankKind, ContentKind, NewBank, NewContent, NewReport, OpinionKind, Role,
    Sharing, Signal, SignalKind, Store as _, Timestamp,
};

use crate::{Server, browser, ward_admin};

const PASSWORD: &str = "browser test passphrase";
const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

fn bank(name: &str, org: ward_store::OrgId) -> NewBank {
    NewBank {
        name: name.into(),
        org,
        kind: BankKind::Standard,
        distance: 31,
        enabled: true,
        sharing: Sharing::Members,
        shared_with: Vec::new(),
        dispute_limit: Some(3),
        description: String::new(),
    }
}

fn item(kind: SignalKind, value: &str, source: &str) -> NewContent {
    NewContent {
        signals: vec![Signal {
            kind,
            value: value.into(),
        }],
        source: source.into(),
        ..NewContent::default()
    }
}

#[test]
fn the_transparency_page_shows_the_csv_figures_in_a_real_browser() {
    // The packages first: nothing is set up for a walk that cannot run.
    browser::scripts();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    for org in ["Hotline", "Platform"] {
        assert_eq!(
            ward_admin(data, &["org", "create", org], None).code,
            Some(0)
        );
    }
    let made = ward_admin(
        data,
        &[
            "user", "create", "--name", "ada", "--org", "Hotline", "--role", "admin",
        ],
        Some(format!("{PASSWORD}\n").as_bytes()),
    );
    assert_eq!(made.code, Some(0), "{made:?}");

    // The data, straight in the store before the service starts.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(AnyStore::open(data, None)).unwrap();
    let operator = Actor::operator("test");
    let key = runtime.block_on(async {
        let hotline = store.org_by_name("Hotline").await.unwrap().unwrap();
        let platform = store.org_by_name("Platform").await.unwrap().unwrap();
        let confirmed = store
            .create_bank(&operator, &bank("CONFIRMED", hotline.id))
            .await
            .unwrap();
        let east = store
            .create_bank(&operator, &bank("EAST_FEED", hotline.id))
            .await
            .unwrap();
        let added = store
            .add_content(
                &operator,
                confirmed.id,
                &[item(SignalKind::Pdq, PDQ, "api")],
            )
            .await
            .unwrap();
        store
            .add_content(
                &operator,
                east.id,
                &[
                    item(SignalKind::Md5, &format!("{:032x}", 1), "sync:east"),
                    item(SignalKind::Md5, &format!("{:032x}", 2), "sync:east"),
                ],
            )
            .await
            .unwrap();
        let key = store
            .create_key(&operator, platform.id, Role::Platform, "matcher")
            .await
            .unwrap();
        store
            .set_opinion(
                &Actor::key(&key.key),
                added[0],
                platform.id,
                Some(OpinionKind::Dispute),
            )
            .await
            .unwrap();
        for (country, language, url) in [
            ("gb", "en", "https://a.example/1.jpg"),
            ("", "fr", "https://b.example/2.jpg"),
        ] {
            store
                .file_report(&NewReport {
                    country: country.into(),
                    language: language.into(),
                    content_kind: ContentKind::Images,
                    urls: vec![url.into()],
                    description: String::new(),
                    email: None,
                })
                .await
                .unwrap();
        }
        let ada = store.user_by_name("ada").await.unwrap().unwrap();
        store
            .add_exposure(ada.id, &Timestamp::now().day(), 1800)
            .await
            .unwrap();
        key.secret
    });

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
    let artefacts = browser::artefacts("transparency");
    let stdout = browser::walk(
        "transparency.mjs",
        &format!("http://{address}"),
        &artefacts,
        &[
            ("WARD_ANALYST_NAME", &"ada"),
            ("WARD_ANALYST_PASSWORD", &PASSWORD),
            ("WARD_MATCH_KEY", &key),
            ("WARD_PDQ", &PDQ),
        ],
    );
    assert!(stdout.contains("every figure on the page equals the CSV's"));
    let screenshots = std::fs::read_dir(&artefacts)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert!(
        screenshots >= 2,
        "{screenshots} screenshots in {}",
        artefacts.display()
    );
    drop(server);
    runtime.block_on(store.close());
}
