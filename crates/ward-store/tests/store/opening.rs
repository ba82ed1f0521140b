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

#[tokio::test]
async fn every_sqlite_connection_syncs_each_commit() {
    let folder = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&folder.path().join(SQLITE_FILE))
        .await
        .unwrap();
    // The writer, and every reader at once (so that none is the same connection twice).
    let mut connections = vec![store.pool().acquire().await.unwrap()];
    for _ in 0..4 {
        connections.push(store.readers().acquire().await.unwrap());
    }
    for connection in &mut connections {
        let (synchronous,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&mut **connection)
            .await
            .unwrap();
        assert_eq!(synchronous, 2, "FULL");
        let (journal,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(&mut **connection)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
    }
    drop(connections);
    store.close().await;
}

/// A store with some of everything, closed (its log written back into the file); returns
/// the file and its bytes.
async fn written_store(folder: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let store = AnyStore::open(folder, None).await.unwrap();
    let s = crate::harness::setup(&store, "Unmistakable Hotline Name").await;
    let items: Vec<NewContent> = (0..300)
        .map(|n| crate::harness::item(vec![crate::harness::md5(n)]))
        .collect();
    store
        .add_content(&s.actor, s.bank.id, &items)
        .await
        .unwrap();
    store.close().await;
    let file = folder.join(SQLITE_FILE);
    let wal = folder.join(format!("{SQLITE_FILE}-wal"));
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the log is written back on close"
    );
    let bytes = std::fs::read(&file).unwrap();
    (file, bytes)
}

/// The damage `error` reports, with the file it names.
fn damage(error: StoreError, file: &Path) -> String {
    let message = error.to_string();
    match error {
        StoreError::Damaged {
            file: Some(named), ..
        } if named == file => {}
        other => panic!("expected damage to {}, got {other:?}", file.display()),
    }
    assert!(
        message.contains("is damaged") && message.contains(&file.display().to_string()),
        "{message}"
    );
    message
}

#[tokio::test]
async fn a_damaged_sqlite_file_is_refused_naming_the_file() {
    let folder = tempfile::tempdir().unwrap();
    let (file, good) = written_store(folder.path()).await;
    let page_size = match u16::from_be_bytes([good[16], good[17]]) {
        1 => 65_536,
        n => usize::from(n),
    };
    let page_of = |needle: &[u8]| {
        let at = good
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("the text is in the file");
        at / page_size * page_size
    };
    let opened = |bytes: Vec<u8>| {
        let file = file.clone();
        async move {
            std::fs::write(&file, bytes).unwrap();
            AnyStore::open(file.parent().unwrap(), None).await
        }
    };

    // The header overwritten.
    let mut bytes = good.clone();
    bytes[..16].fill(0xa5);
    let message = damage(opened(bytes).await.unwrap_err(), &file);
    assert!(message.contains("header"), "{message}");

    // A page of table data overwritten where its cells are described (the organisation's
    // row): found by the whole-file check at open.
    let mut bytes = good.clone();
    let page = page_of(b"Unmistakable Hotline Name");
    bytes[page..page + 64].fill(0xa5);
    damage(opened(bytes).await.unwrap_err(), &file);

    // The file cut short by a page.
    let mut bytes = good.clone();
    bytes.truncate(bytes.len() - page_size);
    let message = damage(opened(bytes).await.unwrap_err(), &file);
    assert!(message.contains("pages"), "{message}");

    // A text value overwritten in place, the page's structure intact (so the file opens):
    // the read that meets it says the file is damaged, not that a column did not decode.
    let mut bytes = good.clone();
    let at = good
        .windows(25)
        .position(|w| w == b"Unmistakable Hotline Name")
        .unwrap();
    bytes[at..at + 4].fill(0xff);
    let store = opened(bytes).await.unwrap();
    let message = damage(store.orgs().await.unwrap_err(), &file);
    assert!(!message.contains("decoding"), "{message}");
    store.close().await;

    // The file as it was opens and reads.
    let store = opened(good).await.unwrap();
    assert_eq!(store.orgs().await.unwrap().len(), 1);
    store.close().await;
}
