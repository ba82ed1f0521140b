//! Exchanges in the store: live sources of hashes (NCMEC's hash sharing, StopNCII,
//! ThreatExchange, another Ward instance, a list at a URL) that each fill a bank of their
//! own, with where their fetch has got to and how it went.
//!
//! One node at a time fetches an exchange: it holds the exchange's lease (`holder`,
//! `lease_until`, as the series keeper holds its own), and every save names the version of
//! the row it started from, so a node that lost the lease cannot overwrite another's
//! progress. A page of records and the checkpoint after it are saved in one transaction
//! ([`crate::Store::import_exchange_page`]): a fetch stopped at any point resumes from the
//! last page saved, and nothing is applied twice or lost.
//!
//! Credentials are kept per organisation and exchange type (HMA keeps them per type, which
//! in a deployment of several organisations would let one fetch with another's), and only
//! sealed: the store holds bytes the binary sealed under a key kept outside the database,
//! and nothing here ever reads them in clear. A `ward` exchange's credentials are its own
//! (every partner instance gives its own API key), kept under the name `ward:BANK` (its
//! bank's id, which is never reused, unlike a name), and deleted with the exchange:
//! [`credentials_name`].
//!
//! Partners of older deployments (the `partners` table, whose API keys are in clear) become
//! `ward` exchanges once, through [`crate::Store::convert_partner`], which the binary calls
//! with their keys sealed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{BankId, OrgId, PartnerId, Timestamp};

/// An exchange's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExchangeId(pub i64);

impl fmt::Display for ExchangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An exchange to add, filling a bank made for it first, whose name it goes by (HMA names
/// both alike).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewExchange {
    /// Its type: `ncmec`, `stop_ncii`, `fb_threatexchange`, `ward` or `file`.
    pub api: String,
    /// The bank it fills, which its organisation owns.
    pub bank: BankId,
    /// The type's settings as JSON (never credentials).
    pub config: String,
    pub enabled: bool,
}

/// An exchange and how its fetching goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub id: ExchangeId,
    /// Its bank's name.
    pub name: String,
    pub api: String,
    pub bank: BankId,
    pub org: OrgId,
    pub config: String,
    /// Whether it is fetched (matching its bank is the bank's own setting).
    pub enabled: bool,
    pub created_at: Timestamp,
    pub status: FetchStatus,
    /// The row's version, moved on by every save of progress.
    pub version: i64,
}

/// Where an exchange's fetch has got to and how the last went (HMA's six fields, the last
/// error and the failures since the last success).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FetchStatus {
    /// The type's own checkpoint (JSON): where the next fetch resumes. `None`: from the start.
    pub checkpoint: Option<String>,
    /// The checkpoint's progress time (seconds since the Unix epoch).
    pub checkpoint_ts: Option<i64>,
    /// When the fetch under way started.
    pub running_fetch_start_ts: Option<Timestamp>,
    pub last_fetch_complete_ts: Option<Timestamp>,
    /// `None` before the first fetch ended.
    pub last_fetch_succeeded: Option<bool>,
    /// Whether the last fetch read everything the exchange had.
    pub up_to_date: bool,
    /// Records fetched and held (upserts less deletions).
    pub fetched_items: i64,
    pub last_error: Option<String>,
    /// Failed fetches since the last that succeeded (the backoff grows with them).
    pub failures: i64,
    /// When someone asked for a fetch at once ("fetch now"): the exchange is due until a
    /// fetch claims it after that time, whatever its interval or backoff.
    pub fetch_requested_at: Option<Timestamp>,
}

/// What a fetch saves with a page, or when it starts or ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchProgress {
    /// The checkpoint after the page (`None`: unchanged).
    pub checkpoint: Option<(String, Option<i64>)>,
    /// Set when a fetch starts; cleared when it ends.
    pub running: Option<Timestamp>,
    /// Set when a fetch ends: when, whether it succeeded, whether it read everything.
    pub ended: Option<FetchEnd>,
    /// Records the page added (less those it deleted).
    pub fetched_delta: i64,
}

/// How a fetch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchEnd {
    pub at: Timestamp,
    /// `None`: it succeeded; else why not (kept as the last error, without credentials).
    pub error: Option<String>,
    pub up_to_date: bool,
}

/// The longest settings an exchange may have (JSON).
pub(crate) const CONFIG_MAX: usize = 16 << 10;
/// The longest sealed credentials kept.
pub(crate) const CREDENTIALS_MAX: usize = 16 << 10;
/// The longest checkpoint kept (JSON: NCMEC's paging URL is the longest part).
pub(crate) const CHECKPOINT_MAX: usize = 16 << 10;
/// The longest error kept.
pub(crate) const ERROR_MAX: usize = 2_000;

/// The exchange types Ward knows.
pub const EXCHANGE_APIS: [&str; 5] = ["ncmec", "stop_ncii", "fb_threatexchange", "ward", "file"];

/// The name an exchange's credentials are kept under: its type's name, whose credentials
/// are an organisation's for all its exchanges of the type, except `ward`, whose every
/// exchange has its own (`ward:BANK`, the bank it fills; bank ids are never reused).
pub fn credentials_name(api: &str, bank: BankId) -> String {
    if api == "ward" {
        format!("ward:{bank}")
    } else {
        api.to_owned()
    }
}

/// Whether credentials may be kept under `name` ([`credentials_name`]).
pub(crate) fn credentials_name_known(name: &str) -> bool {
    EXCHANGE_APIS.contains(&name)
        || name
            .strip_prefix("ward:")
            .is_some_and(|bank| bank.parse::<i64>().is_ok_and(|id| id > 0))
}

/// A partner of an older deployment as the `ward` exchange that replaces it, filling the
/// partner's bank: settings, checkpoint (the partner's cursors) and its API key sealed for
/// [`credentials_name`]`("ward", bank)`. `sealed` is `None` for a partner whose bank is
/// deleted: its row goes (with its key in clear) and no exchange is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertedPartner {
    pub partner: PartnerId,
    pub config: String,
    pub checkpoint: String,
    pub sealed: Option<Vec<u8>>,
}

pub(crate) const EXCHANGE_COLUMNS: &str = "e.id, b.name, e.api, e.bank_id, b.org_id, e.config, \
     e.enabled, e.created_at, e.checkpoint, e.checkpoint_ts, e.running_since, e.completed_at, \
     e.succeeded, e.up_to_date, e.fetched_items, e.last_error, e.failures, e.version, \
     e.fetch_requested_at";

/// Checks a new exchange's fields.
pub(crate) fn check_new(exchange: &NewExchange) -> crate::Result<()> {
    if !EXCHANGE_APIS.contains(&exchange.api.as_str()) {
        return Err(crate::StoreError::Invalid(format!(
            "no exchange type {:?} (types: {})",
            exchange.api,
            EXCHANGE_APIS.join(", ")
        )));
    }
    check_config(&exchange.config)
}

pub(crate) fn check_config(config: &str) -> crate::Result<()> {
    if config.len() > CONFIG_MAX {
        return Err(crate::StoreError::Invalid(format!(
            "an exchange's settings take {} bytes (at most {CONFIG_MAX})",
            config.len()
        )));
    }
    match serde_json::from_str::<serde_json::Value>(config) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(crate::StoreError::Invalid(
            "an exchange's settings are a JSON object".into(),
        )),
    }
}

/// Checks what a save of progress writes.
pub(crate) fn check_progress(progress: &FetchProgress) -> crate::Result<()> {
    if let Some((checkpoint, _)) = &progress.checkpoint
        && checkpoint.len() > CHECKPOINT_MAX
    {
        return Err(crate::StoreError::Invalid(format!(
            "a checkpoint of {} bytes (at most {CHECKPOINT_MAX})",
            checkpoint.len()
        )));
    }
    Ok(())
}

/// An error as kept: at most [`ERROR_MAX`] bytes, cut at a character.
pub(crate) fn kept_error(error: &str) -> String {
    let mut end = error.len().min(ERROR_MAX);
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    error[..end].to_string()
}

/// Keeps sealed credentials (binds: organisation, the name they are kept under, the sealed
/// bytes, the time), replacing any kept under that name.
pub(crate) const KEEP_CREDENTIALS: &str = "INSERT INTO exchange_credentials \
     (org_id, api, sealed, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, api) \
     DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at";

/// The fenced update of an exchange's progress (binds: id, holder, version, then
/// [`progress_binds`]); answers the new version, or nothing when the lease or version moved.
/// A fetch that ends lets go of its lease, so that another node or `ward exchange fetch`
/// may take it at once.
pub(crate) const SAVE_PROGRESS: &str = "UPDATE exchanges SET \
     checkpoint = CASE WHEN $4 THEN $5 ELSE checkpoint END, \
     checkpoint_ts = CASE WHEN $4 THEN $6 ELSE checkpoint_ts END, \
     running_since = CASE WHEN $7 IS NOT NULL THEN $7 WHEN $8 IS NOT NULL THEN NULL \
       ELSE running_since END, \
     completed_at = COALESCE($8, completed_at), \
     succeeded = CASE WHEN $8 IS NULL THEN succeeded ELSE $9 END, \
     up_to_date = CASE WHEN $8 IS NULL THEN up_to_date ELSE $10 END, \
     last_error = CASE WHEN $8 IS NULL THEN last_error ELSE $11 END, \
     failures = CASE WHEN $8 IS NULL THEN failures WHEN $9 THEN 0 ELSE failures + 1 END, \
     fetched_items = fetched_items + $12, \
     lease_until = CASE WHEN $8 IS NULL THEN lease_until ELSE 0 END, \
     version = version + 1 \
     WHERE id = $1 AND holder = $2 AND version = $3 RETURNING version";

/// The binds of [`SAVE_PROGRESS`] after the first three, in order.
#[allow(clippy::type_complexity)]
pub(crate) fn progress_binds(
    progress: &FetchProgress,
) -> (
    bool,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    bool,
    bool,
    Option<String>,
    i64,
) {
    let (has_checkpoint, checkpoint, checkpoint_ts) = match &progress.checkpoint {
        Some((text, ts)) => (true, Some(text.clone()), *ts),
        None => (false, None, None),
    };
    let ended = progress.ended.as_ref();
    (
        has_checkpoint,
        checkpoint,
        checkpoint_ts,
        progress.running.map(|t| t.0),
        ended.map(|e| e.at.0),
        ended.is_some_and(|e| e.error.is_none()),
        ended.is_some_and(|e| e.up_to_date),
        ended.and_then(|e| e.error.as_deref().map(kept_error)),
        progress.fetched_delta,
    )
}

/// A node's hold on an exchange: what a save names to be fenced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeLease {
    pub exchange: ExchangeId,
    pub bank: BankId,
    pub holder: String,
    /// The exchange row's version the next save must find.
    pub version: i64,
}

/// The `Store` methods for exchanges that read and write nothing but their own rows, with
/// one text for both backends (expanded inside each backend's `impl Store`).
macro_rules! exchange_methods {
    () => {
        async fn create_exchange(
            &self,
            actor: &Actor,
            exchange: &NewExchange,
        ) -> Result<Exchange> {
            crate::exchanges::check_new(exchange)?;
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            require_live_bank(&mut tx, exchange.bank).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO exchanges (api, bank_id, config, enabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&exchange.api)
            .bind(exchange.bank.0)
            .bind(&exchange.config)
            .bind(exchange.enabled)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!(
                        "bank {} is filled by an exchange already",
                        exchange.bank
                    ))
                } else {
                    database(e)
                }
            })?;
            let created = read_exchange(&mut tx, ExchangeId(id))
                .await?
                .ok_or_else(|| not_found("exchange", id))?;
            log(&mut tx, actor, now, Event::exchange_create(&created)).await?;
            tx.commit().await.map_err(database)?;
            Ok(created)
        }

        async fn exchanges(&self) -> Result<Vec<Exchange>> {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {} FROM exchanges e JOIN banks b ON b.id = e.bank_id \
                 WHERE b.deleted_at IS NULL ORDER BY e.id",
                crate::exchanges::EXCHANGE_COLUMNS
            )))
            .fetch_all(self.reads())
            .await
            .map_err(database)?;
            rows.iter().map(exchange_of_row).collect()
        }

        async fn import_exchange_page(
            &self,
            actor: &Actor,
            lease: &ExchangeLease,
            changes: &[ImportChange],
            progress: &FetchProgress,
        ) -> Result<(ImportCounts, i64)> {
            crate::exchanges::check_progress(progress)?;
            let (counts, version) = self
                .import_batch(actor, lease.bank, changes, Some((lease, progress)))
                .await?;
            Ok((counts, version.unwrap_or(lease.version)))
        }

        async fn exchange(&self, id: ExchangeId) -> Result<Option<Exchange>> {
            let mut tx = self.read().await?;
            read_exchange(&mut tx, id).await
        }

        async fn update_exchange(
            &self,
            actor: &Actor,
            id: ExchangeId,
            enabled: Option<bool>,
            config: Option<&str>,
        ) -> Result<Exchange> {
            if let Some(config) = config {
                crate::exchanges::check_config(config)?;
            }
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            let changed = sqlx::query(
                "UPDATE exchanges SET enabled = COALESCE($2, enabled), \
                 config = COALESCE($3, config) WHERE id = $1",
            )
            .bind(id.0)
            .bind(enabled)
            .bind(config)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            if changed.rows_affected() == 0 {
                return Err(not_found("exchange", id));
            }
            let updated = read_exchange(&mut tx, id)
                .await?
                .ok_or_else(|| not_found("exchange", id))?;
            log(&mut tx, actor, now, Event::exchange_update(&updated)).await?;
            tx.commit().await.map_err(database)?;
            Ok(updated)
        }

        async fn request_fetch(&self, actor: &Actor, id: ExchangeId) -> Result<Exchange> {
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            // No node fetches a disabled exchange: a request would stand unspent.
            if read_exchange(&mut tx, id).await?.is_some_and(|e| !e.enabled) {
                return Err(StoreError::Conflict(format!(
                    "exchange {id} is disabled: enable it to fetch"
                )));
            }
            let changed = sqlx::query(
                "UPDATE exchanges SET fetch_requested_at = $2 WHERE id = $1 \
                 AND bank_id IN (SELECT id FROM banks WHERE deleted_at IS NULL)",
            )
            .bind(id.0)
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            if changed.rows_affected() == 0 {
                return Err(not_found("exchange", id));
            }
            let requested = read_exchange(&mut tx, id)
                .await?
                .ok_or_else(|| not_found("exchange", id))?;
            log(&mut tx, actor, now, Event::exchange_fetch(&requested)).await?;
            tx.commit().await.map_err(database)?;
            Ok(requested)
        }

        async fn delete_exchange(&self, actor: &Actor, id: ExchangeId) -> Result<Exchange> {
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            let gone = read_exchange(&mut tx, id)
                .await?
                .ok_or_else(|| not_found("exchange", id))?;
            withdraw_forwards(&mut tx, id, now).await?;
            sqlx::query("DELETE FROM forwarding_partners WHERE exchange_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            sqlx::query("DELETE FROM exchanges WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            if gone.api == "ward" {
                // Its own credentials go with it.
                sqlx::query("DELETE FROM exchange_credentials WHERE org_id = $1 AND api = $2")
                    .bind(gone.org.0)
                    .bind(crate::exchanges::credentials_name(&gone.api, gone.bank))
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
            }
            log(&mut tx, actor, now, Event::exchange_delete(&gone)).await?;
            tx.commit().await.map_err(database)?;
            Ok(gone)
        }

        async fn claim_exchange(
            &self,
            id: ExchangeId,
            holder: &str,
            now: Timestamp,
            until: Timestamp,
        ) -> Result<Option<ExchangeLease>> {
            let mut tx = self.write().await?;
            let claimed: Option<(i64, i64)> = sqlx::query_as(
                "UPDATE exchanges SET holder = $2, lease_until = $4, \
                 fetch_requested_at = CASE WHEN fetch_requested_at <= $3 THEN NULL \
                   ELSE fetch_requested_at END \
                 WHERE id = $1 AND (holder = $2 OR lease_until <= $3) RETURNING version, bank_id",
            )
            .bind(id.0)
            .bind(holder)
            .bind(now.0)
            .bind(until.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
            tx.commit().await.map_err(database)?;
            Ok(claimed.map(|(version, bank)| ExchangeLease {
                exchange: id,
                bank: BankId(bank),
                holder: holder.to_owned(),
                version,
            }))
        }

        async fn save_exchange_progress(
            &self,
            lease: &ExchangeLease,
            progress: &FetchProgress,
        ) -> Result<i64> {
            crate::exchanges::check_progress(progress)?;
            let mut tx = self.write().await?;
            let version = save_exchange_progress_in(&mut tx, lease, progress).await?;
            tx.commit().await.map_err(database)?;
            Ok(version)
        }

        async fn set_exchange_credentials(
            &self,
            actor: &Actor,
            org: OrgId,
            api: &str,
            sealed: Option<&[u8]>,
        ) -> Result<()> {
            if !crate::exchanges::credentials_name_known(api) {
                return Err(StoreError::Invalid(format!("no exchange type {api:?}")));
            }
            if sealed.is_some_and(|s| s.len() > crate::exchanges::CREDENTIALS_MAX) {
                return Err(StoreError::Invalid("credentials too long".into()));
            }
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            require_org(&mut tx, org).await?;
            match sealed {
                Some(sealed) => sqlx::query(crate::exchanges::KEEP_CREDENTIALS)
                .bind(org.0)
                .bind(api)
                .bind(sealed)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?,
                None => sqlx::query("DELETE FROM exchange_credentials WHERE org_id = $1 AND api = $2")
                    .bind(org.0)
                    .bind(api)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?,
            };
            log(
                &mut tx,
                actor,
                now,
                Event::exchange_credentials(org, api, sealed.is_some()),
            )
            .await?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }

        async fn convert_partner(
            &self,
            actor: &Actor,
            converted: &crate::exchanges::ConvertedPartner,
        ) -> Result<Option<Exchange>> {
            crate::exchanges::check_config(&converted.config)?;
            crate::exchanges::check_progress(&crate::exchanges::FetchProgress {
                checkpoint: Some((converted.checkpoint.clone(), None)),
                ..Default::default()
            })?;
            if converted
                .sealed
                .as_ref()
                .is_some_and(|s| s.len() > crate::exchanges::CREDENTIALS_MAX)
            {
                return Err(StoreError::Invalid("credentials too long".into()));
            }
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            let partner: Option<(String, i64, i64)> = sqlx::query_as(
                "SELECT p.name, p.bank_id, b.org_id FROM partners p \
                 JOIN banks b ON b.id = p.bank_id WHERE p.id = $1",
            )
            .bind(converted.partner.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
            let (name, bank, org) =
                partner.ok_or_else(|| not_found("partner", converted.partner))?;
            let mut made = None;
            if let Some(sealed) = &converted.sealed {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO exchanges (api, bank_id, config, enabled, created_at, \
                     checkpoint, checkpoint_ts) VALUES ('ward', $1, $2, TRUE, $3, $4, $5) \
                     RETURNING id",
                )
                .bind(bank)
                .bind(&converted.config)
                .bind(now.0)
                .bind(&converted.checkpoint)
                .bind(now.0 / 1000)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!(
                            "bank {bank} is filled by an exchange already"
                        ))
                    } else {
                        database(e)
                    }
                })?;
                sqlx::query(crate::exchanges::KEEP_CREDENTIALS)
                .bind(org)
                .bind(crate::exchanges::credentials_name("ward", BankId(bank)))
                .bind(sealed)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
                made = Some(crate::exchanges::ExchangeId(id));
            }
            sqlx::query("DELETE FROM partners WHERE id = $1")
                .bind(converted.partner.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            log(
                &mut tx,
                actor,
                now,
                Event::partner_convert(converted.partner, &name, BankId(bank), made),
            )
            .await?;
            let exchange = match made {
                Some(id) => read_exchange(&mut tx, id).await?,
                None => None,
            };
            tx.commit().await.map_err(database)?;
            Ok(exchange)
        }

        async fn exchange_credentials(&self, org: OrgId, api: &str) -> Result<Option<Vec<u8>>> {
            sqlx::query_scalar(
                "SELECT sealed FROM exchange_credentials WHERE org_id = $1 AND api = $2",
            )
            .bind(org.0)
            .bind(api)
                .fetch_optional(self.reads())
                .await
                .map_err(database)
        }
    };
}
pub(crate) use exchange_methods;

/// Functions the exchange methods share, defined in each backend's module
/// (`exchange_helpers!(Connection)`).
macro_rules! exchange_helpers {
    ($conn:ty, $row:ty) => {
        /// An exchange from a row of [`crate::exchanges::EXCHANGE_COLUMNS`].
        fn exchange_of_row(row: &$row) -> Result<crate::exchanges::Exchange> {
            use sqlx::Row as _;
            let get = |e: sqlx::Error| database(e);
            let timestamp = |t: Option<i64>| t.map(Timestamp);
            Ok(crate::exchanges::Exchange {
                id: crate::exchanges::ExchangeId(row.try_get(0).map_err(get)?),
                name: row.try_get(1).map_err(get)?,
                api: row.try_get(2).map_err(get)?,
                bank: BankId(row.try_get(3).map_err(get)?),
                org: OrgId(row.try_get(4).map_err(get)?),
                config: row.try_get(5).map_err(get)?,
                enabled: row.try_get(6).map_err(get)?,
                created_at: Timestamp(row.try_get(7).map_err(get)?),
                status: crate::exchanges::FetchStatus {
                    checkpoint: row.try_get(8).map_err(get)?,
                    checkpoint_ts: row.try_get(9).map_err(get)?,
                    running_fetch_start_ts: timestamp(row.try_get(10).map_err(get)?),
                    last_fetch_complete_ts: timestamp(row.try_get(11).map_err(get)?),
                    last_fetch_succeeded: row.try_get(12).map_err(get)?,
                    up_to_date: row.try_get(13).map_err(get)?,
                    fetched_items: row.try_get(14).map_err(get)?,
                    last_error: row.try_get(15).map_err(get)?,
                    failures: row.try_get(16).map_err(get)?,
                    fetch_requested_at: timestamp(row.try_get(18).map_err(get)?),
                },
                version: row.try_get(17).map_err(get)?,
            })
        }

        /// An exchange whose bank is not deleted.
        async fn read_exchange(
            conn: &mut $conn,
            id: crate::exchanges::ExchangeId,
        ) -> Result<Option<crate::exchanges::Exchange>> {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {} FROM exchanges e JOIN banks b ON b.id = e.bank_id \
                 WHERE e.id = $1 AND b.deleted_at IS NULL",
                crate::exchanges::EXCHANGE_COLUMNS
            )))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?;
            row.as_ref().map(exchange_of_row).transpose()
        }

        /// The last step of an import batch with `fence` (see `import_batch`): the
        /// exchange's progress saved in the batch's transaction, its held items moved by
        /// what the batch added and removed; the new version (`None` without a fence).
        async fn save_fenced_page(
            conn: &mut $conn,
            fence: Option<(
                &crate::exchanges::ExchangeLease,
                &crate::exchanges::FetchProgress,
            )>,
            counts: &crate::ImportCounts,
        ) -> Result<Option<i64>> {
            let Some((lease, progress)) = fence else {
                return Ok(None);
            };
            let progress = crate::exchanges::FetchProgress {
                fetched_delta: progress.fetched_delta + counts.added as i64 - counts.removed as i64,
                ..progress.clone()
            };
            save_exchange_progress_in(conn, lease, &progress)
                .await
                .map(Some)
        }

        /// Saves an exchange's progress if `lease` still holds it; its new version.
        async fn save_exchange_progress_in(
            conn: &mut $conn,
            lease: &crate::exchanges::ExchangeLease,
            progress: &crate::exchanges::FetchProgress,
        ) -> Result<i64> {
            let (
                has,
                checkpoint,
                checkpoint_ts,
                running,
                ended,
                succeeded,
                up_to_date,
                error,
                delta,
            ) = crate::exchanges::progress_binds(progress);
            let version: Option<i64> = sqlx::query_scalar(crate::exchanges::SAVE_PROGRESS)
                .bind(lease.exchange.0)
                .bind(&lease.holder)
                .bind(lease.version)
                .bind(has)
                .bind(checkpoint)
                .bind(checkpoint_ts)
                .bind(running)
                .bind(ended)
                .bind(succeeded)
                .bind(up_to_date)
                .bind(error)
                .bind(delta)
                .fetch_optional(&mut *conn)
                .await
                .map_err(database)?;
            version.ok_or_else(|| {
                StoreError::Conflict(format!(
                    "exchange {}: the lease or version has moved on",
                    lease.exchange
                ))
            })
        }
    };
}
pub(crate) use exchange_helpers;
