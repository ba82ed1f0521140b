//! Opening stores: where the SQLite file goes, which URLs choose PostgreSQL, reopening an
//! existing database, and the migration folders of both backends.

use std::path::Path;

use ward_store::*;

use crate::assert_fails;
use crate::harness::{Backend, Fresh, operator};

#[tokio::test]
async fn sqlite_is_a_file_in_the_data_directory() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = folder.path().join("not").join("there yet");
    let store = AnyStore::open(&data_dir, None).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    store.ping().await.unwrap();
    assert!(data_dir.join(SQLITE_FILE).is_file());
    assert_eq!(SQLITE_FILE, "ward.db");
    let org = store.create_org(&operator(), "Hotline").await.unwrap();
    store.close().await;

    // Reopened, with migrations already applied, it has what it had.
    let again = AnyStore::open(&data_dir, None).await.unwrap();
    assert_eq!(again.orgs().await.unwrap(), vec![org]);
    again.close().await;

    let direct = SqliteStore::open(&data_dir.join(SQLITE_FILE))
        .await
        .unwrap();
    assert_eq!(direct.orgs().await.unwrap().len(), 1);
    direct.close().await;
}

#[tokio::test]
async fn postgres_urls_choose_postgres() {
    let fresh = Fresh::new(Backend::Postgres).await;
    assert_eq!(fresh.store.backend(), "postgres");
    fresh.store.ping().await.unwrap();
    fresh.remove().await;
}

#[tokio::test]
async fn other_urls_are_refused() {
    let folder = tempfile::tempdir().unwrap();
    for url in [
        "mysql://root@127.0.0.1/ward",
        "sqlite://ward.db",
        "postgres:/missing-slashes",
        "",
    ] {
        assert_fails!(
            AnyStore::open(folder.path(), Some(url)).await,
            StoreError::Invalid(_)
        );
    }
    // Refusing a URL does not repeat its password.
    let error = AnyStore::open(folder.path(), Some("mysql://user:hunter2@host/db"))
        .await
        .unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
    // Nothing was created for them.
    assert!(!folder.path().join(SQLITE_FILE).exists());
}

#[tokio::test]
async fn unreachable_postgres_is_a_database_error() {
    // Port 1 on loopback: nothing listens there.
    let result = PgStore::connect("postgres://postgres@127.0.0.1:1/ward").await;
    assert_fails!(result, StoreError::Database(_));
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |backend: &str| {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}
