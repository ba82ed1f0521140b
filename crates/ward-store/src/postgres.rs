//! The PostgreSQL backend, for several `ward serve` nodes sharing one database. Transactions
//! that give `Seq`s hold one advisory lock from before they read the last `Seq` until they
//! commit, so they commit in `Seq` order and a reader of the index feed never skips a change.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, Postgres, Transaction};
use ward_core::categories::Assessment;

use crate::audit::Event;
use crate::error::{Result, StoreError, database, is_unique_violation, migration};
use crate::exchanges::*;
use crate::model::*;
use crate::nodes::Node;
use crate::rows::{
    self, AuditRow, BankRow, ChangeRow, ContentRow, KeyRow, OpinionRow, OrgRow, PartnerRow,
    SignalRow, columns,
};
use crate::series::*;
use crate::{Store, rules, secret};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Connections per node.
const CONNECTIONS: u32 = 16;
/// How long a request waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Rows per INSERT of arrays (`UNNEST`); bounds the size of one message.
const ROWS_PER_INSERT: usize = 100_000;
/// The advisory lock that transactions giving `Seq`s hold (`ward` in ASCII).
const FEED_LOCK: i64 = 0x7761_7264;

/// The store on PostgreSQL.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
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
        let mut tx = self.write_feed().await?;
        require_live_bank(&mut tx, bank).await?;
        // The items the batch's external ids name.
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT c.id, c.external_id, s.kind, s.value FROM content c \
             JOIN signals s ON s.content_id = c.id WHERE c.bank_id = $1 AND c.removed_at IS NULL \
             AND c.external_id = ANY($2) ORDER BY c.id, s.id",
        )
        .bind(bank.0)
        .bind(&plan.keys)
        .fetch_all(&mut *tx)
        .await
        .map_err(database)?;
        let existing = crate::import::existing(rows);
        // The items the batch's plain entries name.
        let plain_keys: Vec<String> = plan.plain_keys().map(|k| k.text().into_owned()).collect();
        let held: Vec<crate::import::HeldRow> = if plain_keys.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT id, plain_key, {} FROM content WHERE bank_id = $1 \
                 AND plain_key = ANY($2) AND removed_at IS NULL",
                crate::import::SAID_COLUMNS
            )))
            .bind(bank.0)
            .bind(&plain_keys)
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?
        };
        let steps = plan.steps(&existing, &plan.held_by_text(&crate::import::held(held)));
        // (A batch of new items only, as a bulk list is, skips all this.)
        if !steps.removed.is_empty() {
            sqlx::query("UPDATE content SET removed_at = $2 WHERE id = ANY($1)")
                .bind(&steps.removed)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
        }
        update_in_place(&mut tx, &steps.updates).await?;
        if !(steps.removed.is_empty() && steps.updates.is_empty()) {
            let changed: Vec<i64> = steps
                .removed
                .iter()
                .chain(steps.updates.iter().map(|(id, _)| id))
                .copied()
                .collect();
            resequence(&mut tx, RESEQUENCE_CONTENTS, &changed).await?;
        }
        let added = insert_content(&mut tx, actor, bank, &steps.inserts, now).await?;
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
        let version = save_fenced_page(&mut tx, fence, &counts).await?;
        tx.commit().await.map_err(database)?;
        Ok((counts, version))
    }

    /// Connects to the database at `url` (`postgres://user@host:port/database`) and brings
    /// its schema up to date. Migrations take an advisory lock, so nodes that start together
    /// do not run them twice.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Invalid(format!("malformed database URL: {e}")))?;
        PgStore::connect_with(options).await
    }

    /// Another store on the same database, as another node would open it (for tests).
    #[doc(hidden)]
    pub async fn another(&self) -> Result<PgStore> {
        PgStore::connect_with((*self.pool.connect_options()).clone()).await
    }

    async fn connect_with(options: PgConnectOptions) -> Result<PgStore> {
        // One connection first, for the migrations: an unreachable server fails at once,
        // where a pool would retry until its timeout. The URL is not repeated in errors: it
        // may hold a password.
        let mut first = PgConnection::connect_with(&options)
            .await
            .map_err(|e| StoreError::Database(format!("cannot connect to PostgreSQL: {e}")))?;
        MIGRATOR.run(&mut first).await.map_err(migration)?;
        first.close().await.map_err(database)?;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        fill_plain_keys(&pool).await?;
        Ok(PgStore { pool })
    }

    /// Closes every connection (waiting for those in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool, for tests that check what the schema itself refuses.
    #[doc(hidden)]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction that gives no `Seq`.
    async fn write(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(database)
    }

    /// A write transaction that may give `Seq`s: it holds the feed lock until it ends, so
    /// such transactions run one at a time and each commits before the next reads the last
    /// `Seq`.
    async fn write_feed(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.write().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FEED_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        Ok(tx)
    }

    /// A read transaction: several statements that see one state of the database.
    /// The pool single reads go to.
    fn reads(&self) -> &PgPool {
        &self.pool
    }

    async fn read(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(database)
    }
}

impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
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
        .fetch_optional(&self.pool)
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
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        Ok(row.map(rows::org))
    }

    async fn orgs(&self) -> Result<Vec<Organisation>> {
        let rows: Vec<OrgRow> =
            sqlx::query_as(concat!("SELECT ", columns!(org), " FROM orgs ORDER BY id"))
                .fetch_all(&self.pool)
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
        .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
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
        .fetch_all(self.reads())
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
        // Locked, so that of two revocations at once the second sees the first.
        let row: Option<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(key),
            " FROM api_keys WHERE id = $1 FOR UPDATE"
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
            // One revocation at a time, so that they commit in the order of their seqs.
            sqlx::query("LOCK TABLE key_revocations IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .map_err(database)?;
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
        .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
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
        .fetch_all(&self.pool)
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
        let mut tx = self.write_feed().await?;
        let before = live_bank(&mut tx, id).await?;
        if let Some(orgs) = &shared_with {
            share(&mut tx, id, orgs).await?;
        }
        // updated_at moves forward even when two changes fall in one millisecond.
        let row: Option<BankRow> = sqlx::query_as(concat!(
            "UPDATE banks SET name = COALESCE($2, name), distance = COALESCE($3, distance), \
             enabled = COALESCE($4, enabled), sharing = COALESCE($5, sharing), \
             description = COALESCE($6, description), updated_at = GREATEST($7, updated_at + 1), \
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
        let mut tx = self.write_feed().await?;
        let deleted = sqlx::query(
            "UPDATE banks SET deleted_at = $2, updated_at = GREATEST($2, updated_at + 1) \
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
        let signals = resequence(&mut tx, RESEQUENCE_BANK, id.0).await?;
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
        let mut tx = self.write_feed().await?;
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
        let contents = complete(&mut tx, row.into_iter().collect()).await?;
        Ok(contents.into_iter().next())
    }

    async fn contents(&self, ids: &[ContentId]) -> Result<Vec<Content>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.read().await?;
        let rows: Vec<ContentRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(content),
            " FROM content WHERE id = ANY($1) AND removed_at IS NULL"
        ))
        .bind(ids.iter().map(|id| id.0).collect::<Vec<i64>>())
        .fetch_all(&mut *tx)
        .await
        .map_err(database)?;
        let found = complete(&mut tx, rows).await?;
        Ok(rows::in_order_asked(found, ids))
    }

    async fn match_summaries(&self, ids: &[ContentId]) -> Result<Vec<MatchSummary>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<rows::MatchSummaryRow> = sqlx::query_as(
            "SELECT c.id, c.age_group, c.activity, c.added_by, c.added_by_key, c.added_by_org, \
             c.source, c.added_at, \
             (SELECT bool_or(o.kind = 'dispute') FROM opinions o WHERE o.content_id = c.id), \
             s.id, s.victim_identified, s.offender_identified, s.referred_to IS NOT NULL \
             FROM content c \
             LEFT JOIN content_series cs ON cs.content_id = c.id \
             LEFT JOIN series s ON s.id = cs.series_id \
             WHERE c.id = ANY($1) AND c.removed_at IS NULL",
        )
        .bind(ids.iter().map(|id| id.0).collect::<Vec<i64>>())
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
        complete(&mut tx, rows).await
    }

    async fn set_content_enabled(&self, actor: &Actor, id: ContentId, enabled: bool) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.write_feed().await?;
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
        let mut tx = self.write_feed().await?;
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
        let mut tx = self.write_feed().await?;
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
        let mut tx = self.write_feed().await?;
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
        let rows: Vec<ChangeRow> = sqlx::query_as(
            "SELECT s.seq, s.id, s.content_id, c.bank_id, s.kind, s.value, \
             (c.enabled AND c.removed_at IS NULL AND b.deleted_at IS NULL) AS active \
             FROM signals s JOIN content c ON c.id = s.content_id JOIN banks b ON b.id = c.bank_id \
             WHERE s.seq > $1 ORDER BY s.seq LIMIT $2",
        )
        .bind(after.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        rows.into_iter().map(rows::change).collect()
    }

    async fn last_seq(&self) -> Result<Seq> {
        let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM signals")
            .fetch_one(&self.pool)
            .await
            .map_err(database)?;
        Ok(Seq(seq))
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

/// Adds content items, in a write transaction holding the feed lock on a live bank; returns
/// their ids, given in the order of `items`.
async fn insert_content(
    tx: &mut PgConnection,
    actor: &Actor,
    bank: BankId,
    items: &[&NewContent],
    now: Timestamp,
) -> Result<Vec<ContentId>> {
    let signal_count: usize = items.iter().map(|i| i.signals.len()).sum();
    let content_first = reserve_ids(tx, "content", items.len()).await?;
    let signal_first = reserve_ids(tx, "signals", signal_count).await?;
    // The feed lock is held: the seqs after the last one are ours to give.
    let seq_base: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM signals")
        .fetch_one(&mut *tx)
        .await
        .map_err(database)?;
    let ids: Vec<i64> = (0..).map(|i| content_first + i).take(items.len()).collect();

    // Content rows as arrays; the bank, the provenance and the time once.
    for (chunk, chunk_ids) in items
        .chunks(ROWS_PER_INSERT)
        .zip(ids.chunks(ROWS_PER_INSERT))
    {
        let assessments: Vec<_> = chunk
            .iter()
            .map(|i| rows::assessment_columns(i.assessment))
            .collect();
        let age_groups: Vec<Option<&str>> = assessments.iter().map(|a| a.0).collect();
        let activities: Vec<Option<&str>> = assessments.iter().map(|a| a.1).collect();
        let sources: Vec<&str> = chunk.iter().map(|i| i.source.as_str()).collect();
        let exchange: Vec<_> = chunk.iter().map(|i| rows::exchange_columns(i)).collect();
        let external_ids: Vec<Option<&str>> = exchange.iter().map(|e| e.0).collect();
        let schemes: Vec<Option<&str>> = exchange.iter().map(|e| e.1).collect();
        let profiles: Vec<Option<&str>> = exchange.iter().map(|e| e.2).collect();
        let labels: Vec<Option<&str>> = exchange.iter().map(|e| e.3).collect();
        let attributes: Vec<Option<&str>> = exchange.iter().map(|e| e.4.as_deref()).collect();
        let plain_keys: Vec<Option<String>> = chunk
            .iter()
            .map(|i| crate::import::stored_plain_key(i))
            .collect();
        sqlx::query(
            "INSERT INTO content (id, bank_id, enabled, age_group, activity, added_by, \
             added_by_key, added_by_org, source, added_at, external_id, label_scheme, \
             label_profile, label, attributes, plain_key) \
             SELECT u.id, $2, TRUE, u.age_group, u.activity, $3, $4, $5, u.source, $6, \
             u.external_id, u.label_scheme, u.label_profile, u.label, u.attributes, u.plain_key \
             FROM UNNEST($1::BIGINT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], \
             $11::TEXT[], $12::TEXT[], $13::TEXT[], $14::TEXT[], $15::TEXT[]) \
             AS u (id, age_group, activity, source, external_id, label_scheme, \
             label_profile, label, attributes, plain_key)",
        )
        .bind(chunk_ids)
        .bind(bank.0)
        .bind(&actor.label)
        .bind(actor.key.map(|k| k.0))
        .bind(actor.org.map(|o| o.0))
        .bind(now.0)
        .bind(age_groups)
        .bind(activities)
        .bind(sources)
        .bind(external_ids)
        .bind(schemes)
        .bind(profiles)
        .bind(labels)
        .bind(attributes)
        .bind(plain_keys)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("an external id is given twice in the bank".into())
            } else {
                database(e)
            }
        })?;
    }

    // Signal rows, numbered (ids and seqs) in the order given.
    let signals: Vec<(i64, &Signal)> = items
        .iter()
        .zip(&ids)
        .flat_map(|(item, id)| item.signals.iter().map(move |s| (*id, s)))
        .collect();
    for (chunk_index, chunk) in signals.chunks(ROWS_PER_INSERT).enumerate() {
        let offset = (chunk_index * ROWS_PER_INSERT) as i64;
        let contents: Vec<i64> = chunk.iter().map(|(c, _)| *c).collect();
        let kinds: Vec<&str> = chunk.iter().map(|(_, s)| s.kind.name()).collect();
        let values: Vec<&str> = chunk.iter().map(|(_, s)| s.value.as_str()).collect();
        sqlx::query(
            "INSERT INTO signals (id, content_id, kind, value, seq) \
             SELECT $4 + u.n - 1, u.content_id, u.kind, u.value, $5 + u.n \
             FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[]) WITH ORDINALITY \
             AS u (content_id, kind, value, n)",
        )
        .bind(contents)
        .bind(kinds)
        .bind(values)
        .bind(signal_first + offset)
        .bind(seq_base + offset)
        .execute(&mut *tx)
        .await
        .map_err(database)?;
    }

    Ok(ids.into_iter().map(ContentId).collect())
}

/// Gives the items stored before plain items were keyed (migration 0011) their key, a round
/// at a time; nothing once they all have one.
async fn fill_plain_keys(pool: &PgPool) -> Result<()> {
    loop {
        let mut tx = pool.begin().await.map_err(database)?;
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
        let (ids, keys): (Vec<i64>, Vec<String>) =
            crate::import::plain_keys_of(rows).into_iter().unzip();
        sqlx::query(
            "UPDATE content SET plain_key = u.key FROM UNNEST($1::BIGINT[], $2::TEXT[]) \
             AS u (id, key) WHERE content.id = u.id",
        )
        .bind(ids)
        .bind(keys)
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
    }
}

/// Writes an audit event in the transaction of the change it records.
/// The organisation the event concerns is found in the same statement, from what it is
/// about.
async fn log(conn: &mut PgConnection, actor: &Actor, at: Timestamp, event: Event) -> Result<()> {
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

/// The bank of the content item `{id}` (an SQL expression).
const CONTENT_BANK: &str = "(SELECT bank_id FROM content WHERE id = {id})";

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

/// Gives each signal of several content items (`$1`, an array of ids) the next `Seq` after
/// `$2`, in signal order.
const RESEQUENCE_CONTENTS: &str = "UPDATE signals SET seq = $2 + r.n \
     FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM signals \
           WHERE content_id = ANY($1)) AS r \
     WHERE signals.id = r.id";

/// The latest seq given (in a transaction holding the feed lock, the latest there is).
async fn last_seq(conn: &mut PgConnection) -> Result<i64> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM signals")
        .fetch_one(conn)
        .await
        .map_err(database)
}

/// Runs one of the `RESEQUENCE_*` statements for the content item or bank `id` (or an array
/// of content ids), in a write transaction; returns how many signals changed.
async fn resequence<'q>(
    conn: &mut PgConnection,
    sql: &'static str,
    id: impl sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send + 'q,
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

/// Signals and opinions for content rows, assembled in the rows' order.
async fn complete(conn: &mut PgConnection, rows: Vec<ContentRow>) -> Result<Vec<Content>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let signals: Vec<SignalRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(signal),
        " FROM signals WHERE content_id = ANY($1)"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(database)?;
    let opinions: Vec<OpinionRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(opinion),
        " FROM opinions WHERE content_id = ANY($1)"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(database)?;
    rows::contents(rows, signals, opinions)
}

async fn require_org(conn: &mut PgConnection, id: OrgId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM orgs WHERE id = $1")
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(database)?;
    found.map(drop).ok_or_else(|| not_found("organisation", id))
}

/// A live bank, in a transaction.
async fn live_bank(conn: &mut PgConnection, id: BankId) -> Result<Bank> {
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
async fn share(conn: &mut PgConnection, bank: BankId, orgs: &[OrgId]) -> Result<()> {
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
    conn: &mut PgConnection,
    id: ContentId,
    now: Timestamp,
) -> Result<bool> {
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

async fn require_live_content(conn: &mut PgConnection, id: ContentId) -> Result<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM content WHERE id = $1 AND removed_at IS NULL")
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(database)?;
    found.map(drop).ok_or_else(|| not_found("content", id))
}

/// Takes `count` consecutive ids from the identity sequence of `table` (`content` or
/// `signals`) and returns the first. Only called under the feed lock, and nothing else takes
/// ids from these sequences, so the range is ours.
async fn reserve_ids(conn: &mut PgConnection, table: &'static str, count: usize) -> Result<i64> {
    if count == 0 {
        return Ok(0);
    }
    let count = i64::try_from(count)
        .map_err(|_| StoreError::Invalid(format!("{count} rows are too many for one call")))?;
    let last: i64 = sqlx::query_scalar(
        "SELECT setval(pg_get_serial_sequence($1, 'id')::regclass, \
         nextval(pg_get_serial_sequence($1, 'id')::regclass) + $2 - 1)",
    )
    .bind(table)
    .bind(count)
    .fetch_one(conn)
    .await
    .map_err(database)?;
    Ok(last - count + 1)
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

crate::series::series_helpers!(PgConnection);
crate::exchanges::exchange_helpers!(PgConnection, sqlx::postgres::PgRow);
crate::feedback::feedback_helpers!(PgConnection, sqlx::postgres::PgRow);

crate::portable::portable_helpers!(PgConnection, PgPool);
crate::self_report::self_report_helpers!(PgConnection);
crate::forward::forward_helpers!(PgConnection);

/// Signals added, by day, type and source, for the transparency figures.
const SIGNALS_ADDED: &str = crate::transparency::SIGNALS_ADDED;

/// The URLs a fetcher takes, skipping rows another node's transaction holds.
const CLAIM_URLS: &str = "SELECT id FROM reported_urls \
     WHERE state IN ('received', 'unreachable') AND claimed_until <= $1 AND attempts < $2 \
     ORDER BY first_reported_at, id LIMIT $3 FOR UPDATE SKIP LOCKED";

/// The notices and re-checks a node takes, skipping rows another node's transaction holds.
const CLAIM_NOTICES: &str = "SELECT id FROM notices \
     WHERE closed_at IS NULL AND next_due_at <= $1 AND claimed_until <= $1 \
     ORDER BY next_due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED";
const CLAIM_RECHECKS: &str = "SELECT id FROM reported_urls u \
     WHERE state IN ('assessed', 'known', 'noticed') AND next_check_at <= $1 \
     AND claimed_until <= $1 \
     AND NOT EXISTS (SELECT 1 FROM url_forwards f WHERE f.url_id = u.id AND f.direction = 'out' \
     AND f.state IN ('sent', 'received', 'assessed', 'noticed')) \
     ORDER BY next_check_at, id LIMIT $2 FOR UPDATE OF u SKIP LOCKED";
