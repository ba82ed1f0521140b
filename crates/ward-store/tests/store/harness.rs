//! Fresh stores for each check (a SQLite file in a temporary folder, a PostgreSQL database
//! of its own), raw SQL for what only the schema can be asked, and data that checks share.

use std::future::Future;
use std::panic::resume_unwind;

use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use tempfile::TempDir;
use ward_store::*;

/// The PostgreSQL server that tests create their databases on, unless
/// `WARD_TEST_DATABASE_URL` names another (its database is only used to connect).
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const START_POSTGRES: &str =
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";

/// Which backend a check runs against.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `check` against a fresh store of `backend`, then removes the store (also when the
/// check panics, whose panic is then passed on).
pub async fn run<F, Fut>(backend: Backend, check: F)
where
    F: FnOnce(AnyStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let fresh = Fresh::new(backend).await;
    let outcome = tokio::spawn(check(fresh.store.clone())).await;
    fresh.remove().await;
    if let Err(error) = outcome {
        if error.is_panic() {
            resume_unwind(error.into_panic());
        }
        panic!("the check was cancelled: {error}");
    }
}

/// A store made for one check.
pub struct Fresh {
    pub store: AnyStore,
    /// The SQLite store's folder, removed when dropped.
    _folder: TempDir,
    /// The PostgreSQL database made for the check, and the server's admin URL.
    database: Option<(String, String)>,
}

impl Fresh {
    pub async fn new(backend: Backend) -> Fresh {
        let folder = tempfile::tempdir().expect("a temporary folder");
        match backend {
            Backend::Sqlite => {
                let store = AnyStore::open(folder.path(), None)
                    .await
                    .expect("open a SQLite store");
                Fresh {
                    store,
                    _folder: folder,
                    database: None,
                }
            }
            Backend::Postgres => {
                let admin_url = admin_url();
                let mut admin = admin_connection(&admin_url).await;
                let name = format!("ward_test_{}", random_hex());
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create a test database");
                admin.close().await.ok();
                let store = AnyStore::open(folder.path(), Some(&database_url(&admin_url, &name)))
                    .await
                    .expect("open a PostgreSQL store");
                Fresh {
                    store,
                    _folder: folder,
                    database: Some((admin_url, name)),
                }
            }
        }
    }

    /// A store whose database was first brought only to migration `version` and given
    /// `sql` (rows as a deployment of that version held them), then opened as usual, which
    /// runs the migrations after `version` over those rows.
    pub async fn after_migration(backend: Backend, version: i64, sql: &str) -> Fresh {
        use sqlx::migrate::Migrator;
        let folder = tempfile::tempdir().expect("a temporary folder");
        let migrations = |name: &str| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(name)
        };
        let sql = AssertSqlSafe(sql.to_owned());
        match backend {
            Backend::Sqlite => {
                let file = folder.path().join(SQLITE_FILE);
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&file)
                    .create_if_missing(true);
                let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
                let migrator = Migrator::new(migrations("sqlite")).await.unwrap();
                migrator.run_to(version, &pool).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
                let store = AnyStore::open(folder.path(), None).await.unwrap();
                Fresh {
                    store,
                    _folder: folder,
                    database: None,
                }
            }
            Backend::Postgres => {
                let admin_url = admin_url();
                let mut admin = admin_connection(&admin_url).await;
                let name = format!("ward_test_{}", random_hex());
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create a test database");
                admin.close().await.ok();
                let url = database_url(&admin_url, &name);
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                let migrator = Migrator::new(migrations("postgres")).await.unwrap();
                migrator.run_to(version, &pool).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
                let store = AnyStore::open(folder.path(), Some(&url)).await.unwrap();
                Fresh {
                    store,
                    _folder: folder,
                    database: Some((admin_url, name)),
                }
            }
        }
    }

    /// Closes the store and drops its database (best effort).
    pub async fn remove(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = &self.database
            && let Ok(mut admin) = PgConnection::connect(admin_url).await
        {
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            if let Err(e) = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut admin).await {
                eprintln!("could not drop the test database {name}: {e}");
            }
            admin.close().await.ok();
        }
    }
}

fn admin_url() -> String {
    std::env::var("WARD_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A connection to the admin database; without one the PostgreSQL half of the suite cannot
/// run, which is a failure, not a skip.
async fn admin_connection(url: &str) -> PgConnection {
    match PgConnection::connect(url).await {
        Ok(connection) => connection,
        Err(e) => panic!(
            "PostgreSQL is not reachable at {url} ({e}). The conformance suite runs every check \
             on PostgreSQL too: start the server with `{START_POSTGRES}`, or point \
             WARD_TEST_DATABASE_URL at another one"
        ),
    }
}

/// `admin_url` with its database replaced by `database`.
fn database_url(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let (scheme, rest) = base.split_once("://").expect("a URL with a scheme");
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    let mut url = format!("{scheme}://{authority}/{database}");
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the checks ask of the schema itself, beside the `Store` API.
pub trait RawSql: Store + Clone {
    /// Which backend this is, for SQL that only one of them has.
    fn dialect(&self) -> Backend;
    /// Runs `sql`; `Err` with the database's message if it refuses.
    fn execute(&self, sql: &str) -> impl Future<Output = Result<u64, String>> + Send;
    /// Every value of every column of every table of the store (not sqlx's own), as text.
    fn every_value(&self) -> impl Future<Output = Vec<String>> + Send;
    /// Makes the database refuse to insert a signal whose value is `value`, as a failure
    /// half-way through an `add_content` would.
    fn refuse_signal(&self, value: &str) -> impl Future<Output = ()> + Send;
    /// A second store on the same database, as another process or node opens it.
    fn another(&self) -> impl Future<Output = AnyStore> + Send;
}

impl RawSql for AnyStore {
    fn dialect(&self) -> Backend {
        match self {
            AnyStore::Sqlite(_) => Backend::Sqlite,
            AnyStore::Postgres(_) => Backend::Postgres,
        }
    }

    async fn execute(&self, sql: &str) -> Result<u64, String> {
        let sql = AssertSqlSafe(sql.to_owned());
        let done = match self {
            AnyStore::Sqlite(store) => sqlx::raw_sql(sql)
                .execute(store.pool())
                .await
                .map(|d| d.rows_affected()),
            AnyStore::Postgres(store) => sqlx::raw_sql(sql)
                .execute(store.pool())
                .await
                .map(|d| d.rows_affected()),
        };
        done.map_err(|e| e.to_string())
    }

    async fn every_value(&self) -> Vec<String> {
        let mut values = Vec::new();
        match self {
            AnyStore::Sqlite(store) => {
                let columns: Vec<(String, String)> = sqlx::query_as(
                    "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c \
                     WHERE m.type = 'table' AND m.name <> '_sqlx_migrations'",
                )
                .fetch_all(store.pool())
                .await
                .unwrap();
                assert!(columns.iter().any(|(t, _)| t == "api_keys"));
                for (table, column) in columns {
                    let sql = format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\"");
                    let rows = sqlx::query(AssertSqlSafe(sql))
                        .fetch_all(store.pool())
                        .await
                        .unwrap();
                    values.extend(rows.iter().filter_map(|r| r.get::<Option<String>, _>(0)));
                }
            }
            AnyStore::Postgres(store) => {
                let columns: Vec<(String, String)> = sqlx::query_as(
                    "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
                )
                .fetch_all(store.pool())
                .await
                .unwrap();
                assert!(columns.iter().any(|(t, _)| t == "api_keys"));
                for (table, column) in columns {
                    let sql = format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\"");
                    let rows = sqlx::query(AssertSqlSafe(sql))
                        .fetch_all(store.pool())
                        .await
                        .unwrap();
                    values.extend(rows.iter().filter_map(|r| r.get::<Option<String>, _>(0)));
                }
            }
        }
        values
    }

    async fn another(&self) -> AnyStore {
        match self {
            AnyStore::Sqlite(store) => AnyStore::Sqlite(store.another().await.unwrap()),
            // Connecting runs the migrations through sqlx's, whose future is not `Send`.
            AnyStore::Postgres(store) => {
                let (store, runtime) = (store.clone(), tokio::runtime::Handle::current());
                let another =
                    tokio::task::spawn_blocking(move || runtime.block_on(store.another()));
                AnyStore::Postgres(another.await.unwrap().unwrap())
            }
        }
    }

    async fn refuse_signal(&self, value: &str) {
        assert!(value.chars().all(|c| c.is_ascii_alphanumeric()));
        let sql = match self {
            AnyStore::Sqlite(_) => format!(
                "CREATE TRIGGER refuse_signal BEFORE INSERT ON signals \
                 WHEN NEW.value = '{value}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            ),
            AnyStore::Postgres(_) => format!(
                "CREATE FUNCTION refuse_signal() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF NEW.value = '{value}' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END $$; \
                 CREATE TRIGGER refuse_signal BEFORE INSERT ON signals \
                 FOR EACH ROW EXECUTE FUNCTION refuse_signal()"
            ),
        };
        self.execute(&sql).await.expect("install the trigger");
    }
}

// Data the checks share.

/// The operator who sets a check up.
pub fn operator() -> Actor {
    Actor::operator("test")
}

pub fn new_bank(name: &str, org: OrgId) -> NewBank {
    NewBank {
        name: name.to_owned(),
        org,
        kind: BankKind::Standard,
        distance: 31,
        enabled: true,
        sharing: Sharing::Members,
        shared_with: Vec::new(),
        dispute_limit: None,
        description: String::new(),
    }
}

/// A PDQ-looking signal, distinct for each `n`.
pub fn pdq(n: u64) -> Signal {
    Signal {
        kind: SignalKind::Pdq,
        value: format!("{n:064x}"),
    }
}

/// An MD5-looking signal, distinct for each `n`.
pub fn md5(n: u64) -> Signal {
    Signal {
        kind: SignalKind::Md5,
        value: format!("{n:032x}"),
    }
}

pub fn item(signals: Vec<Signal>) -> NewContent {
    NewContent {
        signals,
        assessment: None,
        source: "test".to_owned(),
        ..NewContent::default()
    }
}

/// An organisation, a key of it (as the actor of what follows) and a bank of it.
pub struct Setup {
    pub org: Organisation,
    pub key: ApiKey,
    pub actor: Actor,
    pub bank: Bank,
}

pub async fn setup(store: &impl Store, name: &str) -> Setup {
    let org = store.create_org(&operator(), name).await.unwrap();
    let key = store
        .create_key(&operator(), org.id, Role::Curator, "curator")
        .await
        .unwrap()
        .key;
    let actor = Actor::key(&key);
    let bank = store
        .create_bank(&actor, &new_bank(&format!("{name}_BANK"), org.id))
        .await
        .unwrap();
    Setup {
        org,
        key,
        actor,
        bank,
    }
}

/// Every signal of the feed from `Seq(0)`, read in pages of `page`.
pub async fn whole_feed(store: &impl Store, page: u32) -> Vec<SignalChange> {
    let mut all = Vec::new();
    let mut after = Seq(0);
    loop {
        let changes = store.signal_changes(after, page).await.unwrap();
        let Some(last) = changes.last() else {
            return all;
        };
        after = last.seq;
        all.extend(changes);
    }
}

/// Asserts that `result` failed with the variant `pattern`.
#[macro_export]
macro_rules! assert_fails {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!(
                "expected {}, got {:?}",
                stringify!($pattern),
                other.map(|_| "a success")
            ),
        }
    };
}
