//! The SQLite backend: one database file in WAL mode. Writes go through one connection and
//! `BEGIN IMMEDIATE`, so they are serialised (within the process and across processes) and
//! commit in `Seq` order; reads use a pool of read-only connections beside it.
//!
//! Every commit is on the disk before it is acknowledged (`synchronous=FULL`: the WAL is
//! synced at each commit), so what Ward has acknowledged survives a power loss, not only a
//! crash; imports write 65,536 entries a transaction, so that costs them one sync a batch. A
//! damaged file is refused at open when it can be seen cheaply (the header; the whole file
//! checked when it is small) and is [`StoreError::Damaged`], naming the file, wherever it
//! is met later.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Sqlite, SqliteConnection, SqlitePool, Transaction};
use ward_core::categories::Assessment;

use crate::audit::Event;
use crate::error::{Result, StoreError, is_unique_violation};
use crate::exchanges::*;
use crate::model::*;
use crate::nodes::Node;
use crate::rows::{
    self, AuditRow, BankRow, ChangeRow, ContentRow, KeyRow, OpinionRow, OrgRow, PartnerRow,
    SignalRow, columns,
};
use crate::series::*;
use crate::{Store, rules, secret};

mod blocks;
mod held;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// Read-only connections beside the one writer.
const READERS: u32 = 4;
/// How much of the file each reader maps (SQLite's largest, 2 GiB; the rest is read).
const READER_MMAP_BYTES: u64 = 0x7fff_0000;
/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Files up to this size are checked whole (`PRAGMA quick_check`) when opened: about half a
/// second here at this size. Larger ones have their header checked, and damage elsewhere is
/// found where it is read (`ward serve` reads every bank's content as it starts).
const CHECKED_WHOLE: u64 = 256 << 20;
/// SQLite's result codes for a damaged file: `SQLITE_CORRUPT`, `SQLITE_NOTADB` (primary
/// codes), and `SQLITE_IOERR_SHORT_READ` (a file shorter than its pages).
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_NOTADB: i32 = 26;
const SQLITE_IOERR_SHORT_READ: i32 = 10 | (2 << 8);

/// Turns off SQLite's memory statistics for the process, once, before its first connection.
/// With them on (SQLite's default), every allocation SQLite makes takes one process-wide
/// mutex to count it; the reading connections, copying each value of the rows they return,
/// then wait on each other (measured at ten million items: 4 to 7% of a node's time under
/// first-time match lookups went to waking the waiters).
/// Ward never reads those statistics. Once SQLite has started in the process (another
/// library opened a database first), the setting is refused and nothing changes.
fn without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` with `SQLITE_CONFIG_MEMSTATUS` takes one int; before
        // `sqlite3_initialize` it only sets a flag, and after it returns `SQLITE_MISUSE`
        // without changing anything. No connection is open yet in this call.
        let _ = unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            )
        };
    });
}

/// Rows per multi-row INSERT: 15 parameters a content row, 5 a signal row, well below
/// SQLite's 32766 parameters a statement.
const ROWS_PER_INSERT: usize = 1000;

/// The store on SQLite.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// One connection: every change goes through it, in a `BEGIN IMMEDIATE` transaction.
    writer: SqlitePool,
    /// Read-only connections; WAL lets them read while the writer writes.
    reader: SqlitePool,
    /// The plain items of the banks being imported into, by their keys.
    held: held::HeldKeys,
    /// The database file.
    path: Arc<Path>,
}

impl SqliteStore {
    /// Applies an import batch in one transaction (see `Store::import_content`), and with
    /// `fence`, saves an exchange's progress in the same transaction if its lease holds
    /// (else nothing is applied): the counts, and the exchange's new version.
    async fn import_batch(
        &self,
        actor: &Actor,
        bank: BankId,
        changes: &[ImportChange],
        fence: Option<(&ExchangeLease, &FetchProgress)>,
    ) -> Result<(ImportCounts, Option<i64>)> {
        let plan = crate::import::Plan::new(changes)?;
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        require_live_bank(&mut tx, bank).await?;
        // The items the batch's external ids name (content with an external id is never in
        // a block).
        let mut rows: Vec<(i64, String, String, String)> = Vec::new();
        if !plan.keys.is_empty() {
            let keys = serde_json::to_string(&plan.keys)
                .map_err(|e| StoreError::Database(e.to_string()))?;
            // By the keyed items' own index: without statistics SQLite's planner prefers
            // the bank's (bank_id, id) index for the ORDER BY and reads every item of the
            // bank, per batch (a fetch of 1M keyed entries slowed with each page).
            rows = sqlx::query_as(
                "SELECT c.id, c.external_id, s.kind, s.value \
                 FROM content c INDEXED BY content_external \
                 JOIN signals s ON s.content_id = c.id WHERE c.bank_id = $1 \
                 AND c.removed_at IS NULL AND c.external_id IS NOT NULL \
                 AND c.external_id IN (SELECT value FROM json_each($2)) \
                 ORDER BY c.id, s.id",
            )
            .bind(bank.0)
            .bind(&keys)
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?;
        }
        let existing = crate::import::existing(rows);
        // The items the batch's plain entries name, rows and block items alike.
        let mut keys = self.held.take(bank);
        keys.catch_up(&mut tx, bank).await?;
        let held = keys.find(&mut tx, &plan.plain).await?;
        let steps = plan.steps(&existing, &held);
        // (A batch of new items only, as a bulk list is, skips all this.)
        for id in &steps.unblock {
            blocks::materialise(&mut tx, ContentId(*id)).await?;
        }
        if !steps.removed.is_empty() {
            let removed = id_list(steps.removed.iter().copied());
            sqlx::query(
                "UPDATE content SET removed_at = $2 WHERE id IN (SELECT value FROM json_each($1))",
            )
            .bind(&removed)
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        }
        update_in_place(&mut tx, &steps.updates).await?;
        if !(steps.removed.is_empty() && steps.updates.is_empty()) {
            let changed = id_list(
                steps
                    .removed
                    .iter()
                    .chain(steps.updates.iter().map(|(id, _)| id))
                    .copied(),
            );
            resequence(&mut tx, RESEQUENCE_CONTENTS, &changed).await?;
        }
        let (added, blocks) =
            insert_content_in_blocks(&mut tx, actor, bank, &steps.inserts, now).await?;
        carry_over(&mut tx, &steps.carried, &added).await?;
        let counts = plan.counts(
            &existing.into_iter().map(|e| e.external_id).collect(),
            &steps,
        );
        log(
            &mut tx,
            actor,
            now,
            Event::content_import(bank, counts, &steps.removed),
        )
        .await?;
        // The blocks added join the bank's keys while the commit is written and synced (a
        // failed commit drops the keys: the next batch reads them again); rows are read at
        // the next batch.
        let added_blocks: Vec<held::AddedBlock> = blocks
            .into_iter()
            .map(|(id, first_content, items)| held::AddedBlock {
                id,
                first_content,
                hashes: items
                    .map(|i| {
                        let key = plan.plain[steps.insert_at[i]].as_ref();
                        key.map_or(0, crate::import::PlainKey::hash)
                    })
                    .collect(),
            })
            .collect();
        let version = save_fenced_page(&mut tx, fence, &counts).await?;
        let (committed, ()) = tokio::join!(tx.commit(), async { keys.added(added_blocks) });
        committed.map_err(database)?;
        self.held.put(bank, keys);
        Ok((counts, version))
    }

    /// Opens the database at `path`, creating the file (and its folder) if missing, and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        SqliteStore::open_file(path)
            .await
            .map_err(|e| e.in_file(path))
    }

    async fn open_file(path: &Path) -> Result<SqliteStore> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| {
                StoreError::Database(format!("cannot create {}: {e}", folder.display()))
            })?;
        }
        let size = check_header(path)?;
        without_memory_statistics();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Every commit is synced before it is acknowledged: FULL survives a power loss,
            // NORMAL (with WAL) only a crash of the process.
            .synchronous(SqliteSynchronous::Full)
            // Pages read are checked for impossible cell sizes, so that damage is an error
            // rather than values read from the wrong place.
            .pragma("cell_size_check", "ON")
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| match damage(&e) {
                Some(detail) => StoreError::Damaged { file: None, detail },
                None => StoreError::Database(format!("cannot open {}: {e}", path.display())),
            })?;
        if size <= CHECKED_WHOLE {
            check_whole(&writer).await?;
        }
        MIGRATOR.run(&writer).await.map_err(migration)?;
        // Readers map the file: a read of a page not in SQLite's own small cache is then a
        // memory access to the kernel's page cache instead of a read call and a copy (match
        // answers of content seen for the first time read a few pages each; with a 32 MiB
        // cache a reader instead of the map, such lookups at ten million items ran at 0.8x).
        // The writer checks every page it reads for impossible cell sizes, so that damage is
        // an error before anything is written over it; readers leave that to SQLite's other
        // checks, which still find damage where it is met. A reader initialises a mapped page
        // anew at every visit, and checking every cell each time cost first-time lookups at
        // ten million items a tenth of their speed (6,109 against 6,797 a second).
        let reader_options = options
            .read_only(true)
            .pragma("cell_size_check", "OFF")
            .pragma("mmap_size", READER_MMAP_BYTES.to_string());
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(reader_options)
            .await
            .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", path.display())))?;
        let store = SqliteStore {
            writer,
            reader,
            held: held::HeldKeys::default(),
            path: path.into(),
        };
        fill_plain_keys(&store.writer).await?;
        Ok(store)
    }

    /// Closes every connection (waiting for those in use to be returned).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// The writer's pool, for tests that check what the schema itself refuses.
    #[doc(hidden)]
    pub fn pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The readers' pool, for tests of how connections are set up.
    #[doc(hidden)]
    pub fn readers(&self) -> &SqlitePool {
        &self.reader
    }

    /// Another store on the same file, as another process would open it (for tests).
    #[doc(hidden)]
    pub async fn another(&self) -> Result<SqliteStore> {
        SqliteStore::open(&self.path).await
    }

    /// A write transaction. `BEGIN IMMEDIATE` takes the write lock at once, so a transaction
    /// never fails to upgrade a read lock (SQLITE_BUSY) half-way.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(database)
    }

    /// A read transaction: several statements that see one state of the database.
    async fn read(&self) -> Result<Transaction<'static, Sqlite>> {
        self.reader.begin().await.map_err(database)
    }

    /// A write transaction for a change to the index feed: SQLite's one writer already
    /// orders them (PostgreSQL takes a lock here).
    async fn write_feed(&self) -> Result<Transaction<'static, Sqlite>> {
        self.write().await
    }

    /// The pool single reads go to.
    fn reads(&self) -> &SqlitePool {
        &self.reader
    }
}

impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(database)?;
        Ok(())
    }

    async fn create_org(&self, actor: &Actor, name: &str) -> Result<Organisation> {
        let name = rules::name("organisation", name)?;
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let id =
            sqlx::query_scalar("INSERT INTO orgs (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(&name)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!(
                            "an organisation named {name:?} exists already"
                        ))
                    } else {
                        database(e)
                    }
                })?;
        let org = Organisation {
            id: OrgId(id),
            name,
            operator: false,
            created_at: now,
        };
        log(&mut tx, actor, now, Event::org_create(&org)).await?;
        tx.commit().await.map_err(database)?;
        Ok(org)
    }

    async fn org(&self, id: OrgId) -> Result<Option<Organisation>> {
        let row: Option<OrgRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(org),
            " FROM orgs WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(database)?;
        Ok(row.map(rows::org))
    }

    async fn org_by_name(&self, name: &str) -> Result<Option<Organisation>> {
        let row: Option<OrgRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(org),
            " FROM orgs WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.reader)
        .await
        .map_err(database)?;
        Ok(row.map(rows::org))
    }

    async fn orgs(&self) -> Result<Vec<Organisation>> {
        let rows: Vec<OrgRow> =
            sqlx::query_as(concat!("SELECT ", columns!(org), " FROM orgs ORDER BY id"))
                .fetch_all(&self.reader)
                .await
                .map_err(database)?;
        Ok(rows.into_iter().map(rows::org).collect())
    }

    async fn set_operator(&self, actor: &Actor, org: Option<OrgId>) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        if let Some(org) = org {
            require_org(&mut tx, org).await?;
        }
        let before: Option<i64> = sqlx::query_scalar("SELECT id FROM orgs WHERE operator")
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
        let before = before.map(OrgId);
        sqlx::query("UPDATE orgs SET operator = FALSE WHERE operator")
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        let event = match (org, before) {
            (Some(org), _) => {
                sqlx::query("UPDATE orgs SET operator = TRUE WHERE id = $1")
                    .bind(org.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                Event::org_operator(org, true, before.filter(|b| *b != org))
            }
            (None, Some(before)) => Event::org_operator(before, false, None),
            (None, None) => {
                tx.commit().await.map_err(database)?;
                return Ok(());
            }
        };
        log(&mut tx, actor, now, event).await?;
        tx.commit().await.map_err(database)?;
        Ok(())
    }

    async fn create_key(
        &self,
        actor: &Actor,
        org: OrgId,
        role: Role,
        label: &str,
    ) -> Result<NewApiKey> {
        let label = rules::label(label)?;
        let secret = secret::generate()?;
        let prefix = secret::visible_prefix(&secret);
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        require_org(&mut tx, org).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO api_keys (org_id, role, label, prefix, secret_sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(org.0)
        .bind(role.name())
        .bind(label)
        .bind(&prefix)
        .bind(secret::digest(&secret))
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(database)?;
        let key = ApiKey {
            id: KeyId(id),
            org,
            role,
            label: label.to_owned(),
            prefix,
            created_at: now,
            revoked_at: None,
            last_used_at: None,
        };
        log(&mut tx, actor, now, Event::key_create(&key)).await?;
        tx.commit().await.map_err(database)?;
        Ok(NewApiKey { key, secret })
    }

    async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>> {
        let row: Option<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(key),
            " FROM api_keys WHERE secret_sha256 = $1 AND revoked_at IS NULL"
        ))
        .bind(secret::digest(secret))
        .fetch_optional(&self.reader)
        .await
        .map_err(database)?;
        row.map(rows::key).transpose()
    }

    async fn keys(&self) -> Result<Vec<ApiKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(key),
            " FROM api_keys ORDER BY id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(database)?;
        rows.into_iter().map(rows::key).collect()
    }

    async fn key_revocations(&self, after: i64, limit: u32) -> Result<Vec<KeyRevocation>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT seq, key_id FROM key_revocations WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(database)?;
        Ok(rows
            .into_iter()
            .map(|(seq, key)| KeyRevocation {
                seq,
                key: KeyId(key),
            })
            .collect())
    }

    async fn revoke_key(&self, actor: &Actor, id: KeyId) -> Result<ApiKey> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let row: Option<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(key),
            " FROM api_keys WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(database)?;
        let mut key = rows::key(row.ok_or_else(|| not_found("key", id))?)?;
        let already_revoked = key.revoked_at.is_some();
        if !already_revoked {
            sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            key.revoked_at = Some(now);
            sqlx::query(
                "INSERT INTO key_revocations (seq, key_id, at) \
                 SELECT COALESCE(MAX(seq), 0) + 1, $1, $2 FROM key_revocations",
            )
            .bind(id.0)
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        }
        log(
            &mut tx,
            actor,
            now,
            Event::key_revoke(&key, already_revoked),
        )
        .await?;
        tx.commit().await.map_err(database)?;
        Ok(key)
    }

    async fn create_bank(&self, actor: &Actor, bank: &NewBank) -> Result<Bank> {
        let name = rules::name("bank", &bank.name)?;
        let distance = rules::distance(bank.distance)?;
        let shared_with = rules::shared_with(&bank.shared_with)?;
        let dispute_limit = rules::dispute_limit(bank.dispute_limit)?;
        rules::description(&bank.description)?;
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        require_org(&mut tx, bank.org).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO banks (name, org_id, kind, distance, enabled, sharing, description, \
             created_at, updated_at, dispute_limit) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) \
             RETURNING id",
        )
        .bind(&name)
        .bind(bank.org.0)
        .bind(bank.kind.name())
        .bind(distance)
        .bind(bank.enabled)
        .bind(bank.sharing.name())
        .bind(&bank.description)
        .bind(now.0)
        .bind(dispute_limit)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| bank_name_conflict(e, &name))?;
        share(&mut tx, BankId(id), &shared_with).await?;
        let bank = Bank {
            id: BankId(id),
            name,
            org: bank.org,
            kind: bank.kind,
            distance: bank.distance,
            enabled: bank.enabled,
            enabled_ratio: Ratio::ONE,
            sharing: bank.sharing,
            shared_with,
            dispute_limit: bank.dispute_limit,
            reshared: (Seq(0), Seq(0)),
            description: bank.description.clone(),
            created_at: now,
            updated_at: now,
        };
        log(&mut tx, actor, now, Event::bank_create(&bank)).await?;
        tx.commit().await.map_err(database)?;
        Ok(bank)
    }

    async fn bank(&self, id: BankId) -> Result<Option<Bank>> {
        let row: Option<BankRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(bank),
            " FROM banks WHERE id = $1 AND deleted_at IS NULL"
        ))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(database)?;
        row.map(rows::bank).transpose()
    }

    async fn banks_named(&self, name: &str) -> Result<Vec<Bank>> {
        let rows: Vec<BankRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(bank),
            " FROM banks WHERE name = $1 AND deleted_at IS NULL ORDER BY id"
        ))
        .bind(name)
        .fetch_all(&self.reader)
        .await
        .map_err(database)?;
        rows.into_iter().map(rows::bank).collect()
    }

    async fn banks(&self) -> Result<Vec<Bank>> {
        let rows: Vec<BankRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(bank),
            " FROM banks WHERE deleted_at IS NULL ORDER BY id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(database)?;
        rows.into_iter().map(rows::bank).collect()
    }

    async fn update_bank(&self, actor: &Actor, id: BankId, update: &BankUpdate) -> Result<Bank> {
        let name = update
            .name
            .as_deref()
            .map(|n| rules::name("bank", n))
            .transpose()?;
        let distance = update.distance.map(rules::distance).transpose()?;
        let shared_with = update
            .shared_with
            .as_deref()
            .map(rules::shared_with)
            .transpose()?;
        let dispute_limit = update.dispute_limit.map(rules::dispute_limit).transpose()?;
        update
            .description
            .as_deref()
            .map(rules::description)
            .transpose()?;
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let before = live_bank(&mut tx, id).await?;
        if let Some(orgs) = &shared_with {
            share(&mut tx, id, orgs).await?;
        }
        // updated_at moves forward even when two changes fall in one millisecond.
        let row: Option<BankRow> = sqlx::query_as(concat!(
            "UPDATE banks SET name = COALESCE($2, name), distance = COALESCE($3, distance), \
             enabled = COALESCE($4, enabled), sharing = COALESCE($5, sharing), \
             description = COALESCE($6, description), updated_at = MAX($7, updated_at + 1), \
             dispute_limit = CASE WHEN $8 THEN $9 ELSE dispute_limit END, \
             enabled_ratio = COALESCE($10, enabled_ratio) \
             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            columns!(bank)
        ))
        .bind(id.0)
        .bind(name.as_deref())
        .bind(distance)
        .bind(update.enabled)
        .bind(update.sharing.map(Sharing::name))
        .bind(update.description.as_deref())
        .bind(now.0)
        .bind(dispute_limit.is_some())
        .bind(dispute_limit.flatten())
        .bind(update.enabled_ratio.map(Ratio::get))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| bank_name_conflict(e, name.as_deref().unwrap_or_default()))?;
        let mut bank = rows::found_bank(row, id)?;
        if (before.sharing, &before.shared_with) != (bank.sharing, &bank.shared_with) {
            // Who may see the bank changed: its live items go through the feed again.
            let after = last_seq(&mut tx).await?;
            resequence(&mut tx, RESEQUENCE_LIVE_BANK, id.0).await?;
            let last = last_seq(&mut tx).await?;
            blocks::resequence_bank(&mut tx, id, last).await?;
            let until = last_seq(&mut tx).await?;
            sqlx::query("UPDATE banks SET reshared_after = $2, reshared_until = $3 WHERE id = $1")
                .bind(id.0)
                .bind(after)
                .bind(until)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            bank.reshared = (Seq(after), Seq(until));
        }
        log(
            &mut tx,
            actor,
            now,
            Event::bank_update(id, update, name.as_deref()),
        )
        .await?;
        tx.commit().await.map_err(database)?;
        Ok(bank)
    }

    async fn delete_bank(&self, actor: &Actor, id: BankId) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let deleted = sqlx::query(
            "UPDATE banks SET deleted_at = $2, updated_at = MAX($2, updated_at + 1) \
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id.0)
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        if deleted.rows_affected() == 0 {
            return Err(not_found("bank", id));
        }
        let mut signals = resequence(&mut tx, RESEQUENCE_BANK, id.0).await?;
        let last = last_seq(&mut tx).await?;
        signals += blocks::resequence_bank(&mut tx, id, last).await?;
        log(&mut tx, actor, now, Event::bank_delete(id, signals)).await?;
        tx.commit().await.map_err(database)?;
        Ok(())
    }

    async fn add_content(
        &self,
        actor: &Actor,
        bank: BankId,
        items: &[NewContent],
    ) -> Result<Vec<ContentId>> {
        items.iter().try_for_each(rules::content)?;
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        require_live_bank(&mut tx, bank).await?;
        let items: Vec<&NewContent> = items.iter().collect();
        let ids = insert_content(&mut tx, actor, bank, &items, now).await?;
        let signals = items.iter().map(|i| i.signals.len()).sum();
        log(
            &mut tx,
            actor,
            now,
            Event::content_add(bank, items.len(), signals),
        )
        .await?;
        tx.commit().await.map_err(database)?;
        Ok(ids)
    }

    async fn import_content(
        &self,
        actor: &Actor,
        bank: BankId,
        changes: &[ImportChange],
    ) -> Result<ImportCounts> {
        Ok(self.import_batch(actor, bank, changes, None).await?.0)
    }

    async fn content(&self, id: ContentId) -> Result<Option<Content>> {
        let mut tx = self.read().await?;
        let row: Option<ContentRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(content),
            " FROM content WHERE id = $1 AND removed_at IS NULL"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(database)?;
        if row.is_some() {
            let contents = complete(&mut tx, row.into_iter().collect()).await?;
            return Ok(contents.into_iter().next());
        }
        if !blocks::materialised(&mut tx, id).await? {
            return Ok(blocks::contents(&mut tx, &[id.0]).await?.pop());
        }
        Ok(None)
    }

    async fn contents(&self, ids: &[ContentId]) -> Result<Vec<Content>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.read().await?;
        let asked = id_list(ids.iter().map(|id| id.0));
        let rows: Vec<ContentRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(content),
            " FROM content WHERE id IN (SELECT value FROM json_each($1)) AND removed_at IS NULL"
        ))
        .bind(&asked)
        .fetch_all(&mut *tx)
        .await
        .map_err(database)?;
        // Ids without a row (removed or not) may be items of blocks.
        let with_rows: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM content WHERE id IN (SELECT value FROM json_each($1))",
        )
        .bind(&asked)
        .fetch_all(&mut *tx)
        .await
        .map_err(database)?;
        let with_rows: std::collections::HashSet<i64> = with_rows.into_iter().collect();
        let mut rest: Vec<i64> = ids
            .iter()
            .map(|id| id.0)
            .filter(|id| !with_rows.contains(id))
            .collect();
        rest.sort_unstable();
        rest.dedup();
        let mut found = complete(&mut tx, rows).await?;
        found.extend(blocks::contents(&mut tx, &rest).await?);
        Ok(rows::in_order_asked(found, ids))
    }

    async fn match_summaries(&self, ids: &[ContentId]) -> Result<Vec<MatchSummary>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement: an item has its row, or else lies in the block that starts
        // nearest before it (whose digests are not read: a summary needs none).
        let rows: Vec<rows::MatchSummaryRow> = sqlx::query_as(
            "SELECT a.value, c.age_group, c.activity, COALESCE(c.added_by, b.added_by), \
             CASE WHEN c.id IS NULL THEN b.added_by_key ELSE c.added_by_key END, \
             CASE WHEN c.id IS NULL THEN b.added_by_org ELSE c.added_by_org END, \
             COALESCE(c.source, b.source), COALESCE(c.added_at, b.added_at), \
             (SELECT MAX(o.kind = 'dispute') FROM opinions o WHERE o.content_id = a.value), \
             s.id, s.victim_identified, s.offender_identified, s.referred_to IS NOT NULL \
             FROM json_each($1) a \
             LEFT JOIN content c ON c.id = a.value \
             LEFT JOIN content_blocks b ON c.id IS NULL AND b.first_content = \
               (SELECT MAX(x.first_content) FROM content_blocks x WHERE x.first_content <= a.value) \
             LEFT JOIN content_series cs ON cs.content_id = a.value \
             LEFT JOIN series s ON s.id = cs.series_id \
             WHERE (c.id IS NOT NULL AND c.removed_at IS NULL) \
                OR (c.id IS NULL AND a.value < b.first_content + b.count)",
        )
        .bind(id_list(ids.iter().map(|id| id.0)))
        .fetch_all(self.reads())
        .await
        .map_err(database)?;
        rows.into_iter().map(rows::match_summary).collect()
    }

    async fn bank_contents(
        &self,
        bank: BankId,
        after: Option<ContentId>,
        limit: u32,
    ) -> Result<Vec<Content>> {
        let mut tx = self.read().await?;
        let rows: Vec<ContentRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(content),
            " FROM content WHERE bank_id = $1 AND id > $2 AND removed_at IS NULL \
             ORDER BY id LIMIT $3"
        ))
        .bind(bank.0)
        .bind(after.map_or(0, |a| a.0))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(database)?;
        let mut found = complete(&mut tx, rows).await?;
        found.extend(blocks::bank_contents(&mut tx, bank, after.map_or(0, |a| a.0), limit).await?);
        found.sort_by_key(|c| c.id);
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn set_content_enabled(&self, actor: &Actor, id: ContentId, enabled: bool) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        blocks::materialise(&mut tx, id).await?;
        let current: Option<bool> =
            sqlx::query_scalar("SELECT enabled FROM content WHERE id = $1 AND removed_at IS NULL")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(database)?;
        if current.ok_or_else(|| not_found("content", id))? != enabled {
            sqlx::query("UPDATE content SET enabled = $2 WHERE id = $1")
                .bind(id.0)
                .bind(enabled)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            resequence(&mut tx, RESEQUENCE_CONTENT, id.0).await?;
        }
        log(&mut tx, actor, now, Event::content_enabled(id, enabled)).await?;
        tx.commit().await.map_err(database)?;
        Ok(())
    }

    async fn remove_content(&self, actor: &Actor, id: ContentId) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        if !remove_live_content(&mut tx, id, now).await? {
            return Err(not_found("content", id));
        }
        log(&mut tx, actor, now, Event::content_remove(id)).await?;
        tx.commit().await.map_err(database)?;
        Ok(())
    }

    async fn set_assessment(
        &self,
        actor: &Actor,
        id: ContentId,
        assessment: Option<Assessment>,
    ) -> Result<()> {
        let now = Timestamp::now();
        let (age_group, activity) = rows::assessment_columns(assessment);
        let mut tx = self.write().await?;
        blocks::materialise(&mut tx, id).await?;
        let updated = sqlx::query(
            "UPDATE content SET age_group = $2, activity = $3 WHERE id = $1 AND removed_at IS NULL",
        )
        .bind(id.0)
        .bind(age_group)
        .bind(activity)
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        if updated.rows_affected() == 0 {
            return Err(not_found("content", id));
        }
        // Nodes show a content item's categories with its matches: they learn of the change
        // through the feed, as of any other change to the content.
        resequence(&mut tx, RESEQUENCE_CONTENT, id.0).await?;
        log(&mut tx, actor, now, Event::content_assess(id, assessment)).await?;
        tx.commit().await.map_err(database)?;
        Ok(())
    }

    async fn set_opinion(
        &self,
        actor: &Actor,
        content: ContentId,
        org: OrgId,
        opinion: Option<OpinionKind>,
    ) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        blocks::materialise(&mut tx, content).await?;
        require_live_content(&mut tx, content).await?;
        require_org(&mut tx, org).await?;
        let had: Option<String> =
            sqlx::query_scalar("SELECT kind FROM opinions WHERE content_id = $1 AND org_id = $2")
                .bind(content.0)
                .bind(org.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(database)?;
        let unchanged = had.as_deref() == opinion.map(OpinionKind::name);
        match opinion {
            Some(kind) => sqlx::query(
                "INSERT INTO opinions (content_id, org_id, kind, at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (content_id, org_id) DO UPDATE SET kind = excluded.kind, at = excluded.at",
            )
            .bind(content.0)
            .bind(org.0)
            .bind(kind.name())
            .bind(now.0),
            None => sqlx::query("DELETE FROM opinions WHERE content_id = $1 AND org_id = $2")
                .bind(content.0)
                .bind(org.0),
        }
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        log(&mut tx, actor, now, Event::opinion(content, org, opinion)).await?;
        if !unchanged {
            owe_feedback(&mut tx, content, org, opinion, now).await?;
        }
        if unchanged {
            // Said again (a partner sending the same opinion): the item has not changed, and
            // the feed does not say it has.
            tx.commit().await.map_err(database)?;
            return Ok(());
        }
        if opinion == Some(OpinionKind::Dispute) {
            // The bank's dispute policy: enough disputes disable the item.
            let (limit, enabled, disputes): (Option<i64>, bool, i64) = sqlx::query_as(
                "SELECT b.dispute_limit, c.enabled, (SELECT COUNT(*) FROM opinions o \
                 WHERE o.content_id = c.id AND o.kind = 'dispute') \
                 FROM content c JOIN banks b ON b.id = c.bank_id WHERE c.id = $1",
            )
            .bind(content.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(database)?;
            if let Some(limit) = limit.filter(|limit| enabled && disputes >= *limit) {
                sqlx::query("UPDATE content SET enabled = FALSE WHERE id = $1")
                    .bind(content.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                let event = Event::disabled_by_disputes(content, disputes, limit);
                log(&mut tx, &Actor::policy(), now, event).await?;
            }
        }
        // The opinion status shows with every match of the content: see set_assessment.
        resequence(&mut tx, RESEQUENCE_CONTENT, content.0).await?;
        tx.commit().await.map_err(database)?;
        Ok(())
    }

    async fn signal_changes(&self, after: Seq, limit: u32) -> Result<Vec<SignalChange>> {
        // Rows and block items, each in seq order, merged: one read transaction sees both
        // at one state of the database.
        let mut tx = self.read().await?;
        let rows: Vec<ChangeRow> = sqlx::query_as(
            "SELECT s.seq, s.id, s.content_id, c.bank_id, s.kind, s.value, \
             (c.enabled AND c.removed_at IS NULL AND b.deleted_at IS NULL) AS active \
             FROM signals s JOIN content c ON c.id = s.content_id JOIN banks b ON b.id = c.bank_id \
             WHERE s.seq > $1 ORDER BY s.seq LIMIT $2",
        )
        .bind(after.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(database)?;
        let mut changes = rows
            .into_iter()
            .map(rows::change)
            .collect::<Result<Vec<_>>>()?;
        changes.extend(blocks::changes_after(&mut tx, after, limit).await?);
        changes.sort_by_key(|c| c.seq);
        changes.truncate(limit as usize);
        Ok(changes)
    }

    async fn last_seq(&self) -> Result<Seq> {
        let mut tx = self.read().await?;
        Ok(Seq(last_seq(&mut tx).await?))
    }

    crate::portable::portable_methods!();
    crate::series::series_methods!();
    crate::exchanges::exchange_methods!();

    crate::notes::notes_methods!();
    crate::feedback::feedback_methods!();
    crate::key_use::key_use_methods!();
    crate::nodes::nodes_methods!();
    crate::password_links::password_links_methods!();
    crate::self_report::self_report_methods!();
    crate::forward::forward_methods!();

    async fn record_read(&self, actor: &Actor, action: &str, target: &str) -> Result<()> {
        let action = rules::read_action(action)?;
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        log(&mut tx, actor, now, Event::read(action, target)).await?;
        tx.commit().await.map_err(database)?;
        Ok(())
    }
}

/// Writes an audit event in the transaction of the change it records.
/// The organisation the event concerns is found in the same statement, from what it is
/// about.
async fn log(
    conn: &mut SqliteConnection,
    actor: &Actor,
    at: Timestamp,
    event: Event,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO audit_log (at, actor, actor_key, actor_org, action, target, detail, org_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, {})",
        event.about.org_sql(CONTENT_BANK)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(at.0)
        .bind(&actor.label)
        .bind(actor.key.map(|k| k.0))
        .bind(actor.org.map(|o| o.0))
        .bind(&event.action)
        .bind(&event.target)
        .bind(event.detail_text())
        .bind(event.about.bound())
        .execute(conn)
        .await
        .map_err(database)?;
    Ok(())
}

/// The bank of the content item `{id}` (an SQL expression): its row's, else its block's.
const CONTENT_BANK: &str = "COALESCE((SELECT bank_id FROM content WHERE id = {id}), \
     (SELECT b.bank_id FROM content_blocks b WHERE b.first_content = \
      (SELECT first_content FROM content_blocks WHERE first_content <= {id} \
       ORDER BY first_content DESC LIMIT 1) AND {id} < b.first_content + b.count))";

/// Gives each signal of a content item the next `Seq` after `$2`, in signal order.
const RESEQUENCE_CONTENT: &str = "UPDATE signals SET seq = $2 + r.n \
     FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM signals WHERE content_id = $1) AS r \
     WHERE signals.id = r.id";

/// Gives each signal of a bank the next `Seq` after `$2`, in signal order.
const RESEQUENCE_BANK: &str = "UPDATE signals SET seq = $2 + r.n \
     FROM (SELECT s.id, ROW_NUMBER() OVER (ORDER BY s.id) AS n FROM signals s \
           JOIN content c ON c.id = s.content_id WHERE c.bank_id = $1) AS r \
     WHERE signals.id = r.id";

/// Gives each signal of a bank's live content items the next `Seq` after `$2`, in signal
/// order.
const RESEQUENCE_LIVE_BANK: &str = "UPDATE signals SET seq = $2 + r.n \
     FROM (SELECT s.id, ROW_NUMBER() OVER (ORDER BY s.id) AS n FROM signals s \
           JOIN content c ON c.id = s.content_id WHERE c.bank_id = $1 AND c.removed_at IS NULL) AS r \
     WHERE signals.id = r.id";

/// Gives each signal of several content items (a JSON list of ids) the next `Seq` after
/// `$2`, in signal order.
const RESEQUENCE_CONTENTS: &str = "UPDATE signals SET seq = $2 + r.n \
     FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM signals \
           WHERE content_id IN (SELECT value FROM json_each($1))) AS r \
     WHERE signals.id = r.id";

/// The latest seq given, to rows or to blocks.
async fn last_seq(conn: &mut SqliteConnection) -> Result<i64> {
    let rows: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM signals")
        .fetch_one(&mut *conn)
        .await
        .map_err(database)?;
    Ok(rows.max(blocks::last_ids(conn).await?.2))
}

/// Runs one of the `RESEQUENCE_*` statements for the content item or bank `id` (or a JSON
/// list of content ids), in a write transaction; returns how many signals changed.
async fn resequence<'q>(
    conn: &mut SqliteConnection,
    sql: &'static str,
    id: impl sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + Send + 'q,
) -> Result<u64> {
    let last = last_seq(conn).await?;
    let done = sqlx::query(sql)
        .bind(id)
        .bind(last)
        .execute(conn)
        .await
        .map_err(database)?;
    Ok(done.rows_affected())
}

/// The blocks an insert made: `(block id, first content id, the items' places in the
/// insert)`.
type InsertedBlocks = Vec<(i64, i64, std::ops::Range<usize>)>;

/// Adds content items (in a write transaction on a live bank): runs of at least
/// [`blocks::MIN_BLOCK`] plain items as blocks (of at most [`blocks::MAX_BLOCK`]), the
/// others as rows. Content ids, signal ids
/// and seqs are given in the order of `items`; returns the content ids.
async fn insert_content(
    tx: &mut SqliteConnection,
    actor: &Actor,
    bank: BankId,
    items: &[&NewContent],
    now: Timestamp,
) -> Result<Vec<ContentId>> {
    Ok(insert_content_in_blocks(tx, actor, bank, items, now)
        .await?
        .0)
}

/// [`insert_content`], returning the blocks made as well.
async fn insert_content_in_blocks(
    tx: &mut SqliteConnection,
    actor: &Actor,
    bank: BankId,
    items: &[&NewContent],
    now: Timestamp,
) -> Result<(Vec<ContentId>, InsertedBlocks)> {
    // The write lock is held, so the next ids and seqs are ours to give.
    let (content_rows, signal_rows): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM content), \
         (SELECT COALESCE(MAX(id), 0) FROM signals)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(database)?;
    let (content_blocks, signal_blocks, _) = blocks::last_ids(tx).await?;
    let content_base = content_rows.max(content_blocks);
    let signal_base = signal_rows.max(signal_blocks);
    let seq_base = last_seq(tx).await?;

    // Each item's place: its content id, and the number of its first signal (from 0).
    let mut first_signal = Vec::with_capacity(items.len());
    let mut n = 0;
    for item in items {
        first_signal.push(n);
        n += item.signals.len() as i64;
    }
    let content_id = |i: usize| content_base + 1 + i as i64;

    // Runs of plain items of one kind become blocks; the rest, rows.
    let plain: Vec<Option<(SignalKind, [u8; 32], usize)>> = items
        .iter()
        .map(|item| blocks::plain_digest(item))
        .collect();
    let mut in_block = vec![false; items.len()];
    let mut made: InsertedBlocks = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let Some((kind, _, _)) = &plain[start] else {
            start += 1;
            continue;
        };
        let same = |i: &usize| matches!(&plain[*i], Some((k, _, _)) if k == kind);
        let limit = items.len().min(start + blocks::MAX_BLOCK);
        let end = (start..limit).find(|i| !same(i)).unwrap_or(limit);
        if end - start >= blocks::MIN_BLOCK
            && items[start..end]
                .iter()
                .all(|i| i.source == items[start].source)
        {
            let mut digests = Vec::with_capacity((end - start) * 32);
            for (_, digest, len) in plain[start..end].iter().flatten() {
                digests.extend_from_slice(&digest[..*len]);
            }
            let block = blocks::NewBlock {
                first_content: content_id(start),
                first_signal: signal_base + 1 + first_signal[start],
                first_seq: seq_base + 1 + first_signal[start],
                kind: *kind,
                digest_len: digests.len() / (end - start),
                digests,
                count: end - start,
            };
            let id = blocks::insert(tx, actor, bank, &items[start].source, now, &block).await?;
            made.push((id, block.first_content, start..end));
            in_block[start..end].fill(true);
        }
        start = end;
    }

    let rows: Vec<usize> = (0..items.len()).filter(|i| !in_block[*i]).collect();
    let content_insert = |rows| {
        insert_sql(
            "INSERT INTO content (id, bank_id, enabled, age_group, activity, added_by, \
             added_by_key, added_by_org, source, added_at, external_id, label_scheme, \
             label_profile, label, attributes, plain_key) VALUES ",
            "(?, ?, TRUE, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    };
    let full = content_insert(ROWS_PER_INSERT);
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = if chunk.len() == ROWS_PER_INSERT {
            full.clone()
        } else {
            content_insert(chunk.len())
        };
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for &i in chunk {
            let item = items[i];
            let (age_group, activity) = rows::assessment_columns(item.assessment);
            let (external_id, scheme, profile, label, attributes) = rows::exchange_columns(item);
            query = query
                .bind(content_id(i))
                .bind(bank.0)
                .bind(age_group)
                .bind(activity)
                .bind(&actor.label)
                .bind(actor.key.map(|k| k.0))
                .bind(actor.org.map(|o| o.0))
                .bind(&item.source)
                .bind(now.0)
                .bind(external_id)
                .bind(scheme)
                .bind(profile)
                .bind(label)
                .bind(attributes)
                .bind(crate::import::stored_plain_key(item));
        }
        query.execute(&mut *tx).await.map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("an external id is given twice in the bank".into())
            } else {
                database(e)
            }
        })?;
    }

    // Signal rows, numbered (ids and seqs) in the order given.
    let signals: Vec<(i64, i64, &Signal)> = rows
        .iter()
        .flat_map(|&i| {
            items[i]
                .signals
                .iter()
                .zip(first_signal[i] + 1..)
                .map(move |(s, n)| (content_id(i), n, s))
        })
        .collect();
    let signal_insert = |rows| {
        insert_sql(
            "INSERT INTO signals (id, content_id, kind, value, seq) VALUES ",
            "(?, ?, ?, ?, ?)",
            rows,
        )
    };
    let full = signal_insert(ROWS_PER_INSERT);
    for chunk in signals.chunks(ROWS_PER_INSERT) {
        let sql = if chunk.len() == ROWS_PER_INSERT {
            full.clone()
        } else {
            signal_insert(chunk.len())
        };
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (content, n, signal) in chunk {
            query = query
                .bind(signal_base + n)
                .bind(*content)
                .bind(signal.kind.name())
                .bind(&signal.value)
                .bind(seq_base + n);
        }
        query.execute(&mut *tx).await.map_err(database)?;
    }
    let ids = (0..items.len()).map(|i| ContentId(content_id(i))).collect();
    Ok((ids, made))
}

/// Signals and opinions for content rows, assembled in the rows' order.
async fn complete(conn: &mut SqliteConnection, rows: Vec<ContentRow>) -> Result<Vec<Content>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids = id_list(rows.iter().map(|r| r.0));
    let signals: Vec<SignalRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(signal),
        " FROM signals WHERE content_id IN (SELECT value FROM json_each($1))"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(database)?;
    let opinions: Vec<OpinionRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(opinion),
        " FROM opinions WHERE content_id IN (SELECT value FROM json_each($1))"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(database)?;
    rows::contents(rows, signals, opinions)
}

async fn require_org(conn: &mut SqliteConnection, id: OrgId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM orgs WHERE id = $1")
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(database)?;
    found.map(drop).ok_or_else(|| not_found("organisation", id))
}

/// A live bank, in a transaction.
async fn live_bank(conn: &mut SqliteConnection, id: BankId) -> Result<Bank> {
    let row: Option<BankRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(bank),
        " FROM banks WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(database)?;
    rows::found_bank(row, id)
}

/// Makes `orgs` (checked, each existing) the organisations a bank is shared with by name.
async fn share(conn: &mut SqliteConnection, bank: BankId, orgs: &[OrgId]) -> Result<()> {
    sqlx::query("DELETE FROM bank_shares WHERE bank_id = $1")
        .bind(bank.0)
        .execute(&mut *conn)
        .await
        .map_err(database)?;
    for org in orgs {
        require_org(conn, *org).await?;
        sqlx::query("INSERT INTO bank_shares (bank_id, org_id) VALUES ($1, $2)")
            .bind(bank.0)
            .bind(org.0)
            .execute(&mut *conn)
            .await
            .map_err(database)?;
    }
    Ok(())
}

/// Removes a content item that is not removed yet (in a write transaction holding the
/// feed): its signals leave the feed as tombstones. `false` when it was removed already.
async fn remove_live_content(
    conn: &mut SqliteConnection,
    id: ContentId,
    now: Timestamp,
) -> Result<bool> {
    blocks::materialise(&mut *conn, id).await?;
    let removed =
        sqlx::query("UPDATE content SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL")
            .bind(id.0)
            .bind(now.0)
            .execute(&mut *conn)
            .await
            .map_err(database)?;
    if removed.rows_affected() == 0 {
        return Ok(false);
    }
    resequence(&mut *conn, RESEQUENCE_CONTENT, id.0).await?;
    Ok(true)
}

async fn require_live_content(conn: &mut SqliteConnection, id: ContentId) -> Result<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM content WHERE id = $1 AND removed_at IS NULL")
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(database)?;
    found.map(drop).ok_or_else(|| not_found("content", id))
}

/// Ids as a JSON array, for `IN (SELECT value FROM json_each($n))`: one parameter however
/// many ids.
fn id_list(ids: impl Iterator<Item = i64>) -> String {
    let ids: Vec<i64> = ids.collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned())
}

/// A multi-row INSERT: `head`, then `rows` copies of `tuple`.
///
/// The parameters are anonymous (`?`), bound by position: SQLite looks the name of each
/// named parameter up in a list as long as the statement's, which made binding thousands of
/// `$n` parameters quadratic.
fn insert_sql(head: &str, tuple: &str, rows: usize) -> Arc<str> {
    let mut sql = String::with_capacity(head.len() + rows * (tuple.len() + 2));
    sql.push_str(head);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(tuple);
    }
    sql.into()
}

fn not_found(what: &'static str, id: impl std::fmt::Display) -> StoreError {
    StoreError::NotFound {
        what,
        id: id.to_string(),
    }
}

fn bank_name_conflict(error: sqlx::Error, name: &str) -> StoreError {
    if is_unique_violation(&error) {
        StoreError::Conflict(format!(
            "the organisation has a bank named {name:?} already"
        ))
    } else {
        database(error)
    }
}

crate::series::series_helpers!(SqliteConnection);
crate::exchanges::exchange_helpers!(SqliteConnection, sqlx::sqlite::SqliteRow);
crate::feedback::feedback_helpers!(SqliteConnection, sqlx::sqlite::SqliteRow);
/// A database error as the SQLite store reports it: damage to the file as
/// [`StoreError::Damaged`] (whose file the caller names), the rest as the backends do.
fn database(error: sqlx::Error) -> StoreError {
    match damage(&error) {
        Some(detail) => StoreError::Damaged { file: None, detail },
        None => crate::error::database(error),
    }
}

/// A failed migration, or damage met while migrating.
fn migration(error: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match error {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) if damage(&e).is_some() => {
            database(e)
        }
        other => crate::error::migration(other),
    }
}

/// What is damaged, if `error` says that the file is: SQLite found a page that is not what
/// it wrote, or a header that is not its own, or a file shorter than its pages; or a value
/// read is not what Ward writes (text that is not UTF-8, a number where text was written).
fn damage(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(e) => {
            let code: i32 = e.code()?.parse().ok()?;
            let damaged = matches!(code & 0xff, SQLITE_CORRUPT | SQLITE_NOTADB)
                || code == SQLITE_IOERR_SHORT_READ;
            damaged.then(|| e.message().to_owned())
        }
        sqlx::Error::ColumnDecode { index, source } => Some(format!(
            "column {index} of a row holds a value Ward does not write: {source}"
        )),
        sqlx::Error::Decode(source) => Some(format!("a value Ward does not write: {source}")),
        _ => None,
    }
}

/// Checks the file's header, if the file exists: SQLite's own, with a valid page size, and,
/// when no write-ahead log holds pages beyond it, as long as the pages it counts. Returns
/// the file's size.
fn check_header(path: &Path) -> Result<u64> {
    use std::io::Read as _;
    let damaged = |detail: String| StoreError::Damaged { file: None, detail };
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(StoreError::Database(format!(
                "cannot open {}: {e}",
                path.display()
            )));
        }
    };
    let size = file
        .metadata()
        .map_err(|e| StoreError::Database(format!("cannot read {}: {e}", path.display())))?
        .len();
    if size == 0 {
        return Ok(0); // made, never written: SQLite writes it
    }
    let mut header = [0u8; 100];
    if file.read_exact(&mut header).is_err() {
        return Err(damaged(format!(
            "{size} bytes, shorter than SQLite's header"
        )));
    }
    if &header[..16] != b"SQLite format 3\0" {
        return Err(damaged("its header is not SQLite's".into()));
    }
    let page_size = match u32::from(u16::from_be_bytes([header[16], header[17]])) {
        1 => 65_536,
        n if n >= 512 && n.is_power_of_two() && n <= 32_768 => n,
        n => return Err(damaged(format!("its header gives the page size {n}"))),
    };
    let word = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_empty = std::fs::metadata(&wal).map_or(true, |m| m.len() == 0);
    // The page count is valid when written with the change counter it names.
    let (pages, valid) = (word(28), word(92) == word(24));
    if wal_empty && valid && pages > 0 {
        let expected = u64::from(pages) * u64::from(page_size);
        if size < expected {
            return Err(damaged(format!(
                "its header counts {pages} pages of {page_size} bytes, the file holds {size} bytes"
            )));
        }
    }
    Ok(size)
}

/// Checks every page of the file (`PRAGMA quick_check`): b-tree structure, cell sizes,
/// overflow chains, free pages.
async fn check_whole(pool: &SqlitePool) -> Result<()> {
    let found: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(10)")
        .fetch_all(pool)
        .await
        .map_err(database)?;
    if found.iter().all(|line| line == "ok") {
        return Ok(());
    }
    Err(StoreError::Damaged {
        file: None,
        detail: found.join("; "),
    })
}

/// Gives the items stored before plain items were keyed (migration 0011) their key, a round
/// at a time; nothing once they all have one.
async fn fill_plain_keys(pool: &SqlitePool) -> Result<()> {
    loop {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(database)?;
        let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT c.id, s.kind, s.value FROM (SELECT id FROM content \
             WHERE plain_key IS NULL AND external_id IS NULL ORDER BY id LIMIT $1) AS c \
             LEFT JOIN signals s ON s.content_id = c.id ORDER BY c.id, s.id",
        )
        .bind(crate::import::UNKEYED_ROUND)
        .fetch_all(&mut *tx)
        .await
        .map_err(database)?;
        if rows.is_empty() {
            return tx.commit().await.map_err(database);
        }
        for (id, key) in crate::import::plain_keys_of(rows) {
            sqlx::query("UPDATE content SET plain_key = $2 WHERE id = $1")
                .bind(id)
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
        }
        tx.commit().await.map_err(database)?;
    }
}

crate::portable::portable_helpers!(SqliteConnection, SqlitePool);
crate::self_report::self_report_helpers!(SqliteConnection);
crate::forward::forward_helpers!(SqliteConnection);

/// Signals added, by day, type and source, for the transparency figures.
const SIGNALS_ADDED: &str = crate::transparency::SIGNALS_ADDED_WITH_BLOCKS;

/// The URLs a fetcher takes (SQLite has one writer at a time: no row locks needed).
const CLAIM_URLS: &str = crate::report::CLAIMABLE;

/// The notices and re-checks a node takes (one writer at a time: no row locks needed).
const CLAIM_NOTICES: &str = crate::notice::DUE_NOTICES;
const CLAIM_RECHECKS: &str = crate::notice::DUE_RECHECKS;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_inserts() {
        let check = |rows: usize, expected: &str| {
            assert_eq!(
                &*insert_sql("INSERT INTO t VALUES ", "(?, ?)", rows),
                expected
            )
        };
        check(1, "INSERT INTO t VALUES (?, ?)");
        check(3, "INSERT INTO t VALUES (?, ?), (?, ?), (?, ?)");
    }
}
