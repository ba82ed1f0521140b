//! Series in the store: near-duplicate content grouped together, with what the hotline knows
//! of each group (a name; whether the victim and the offender are identified; where it was
//! referred), curators' requests to merge and split, and what the keeper needs to rebuild
//! ward-core's series engine under the same ids.
//!
//! The groups are derived state. One node at a time, the **keeper** (the node holding the
//! lease in `series_keeper`), runs [`ward_core::series::SeriesIndex`] over the index feed
//! and saves, in one transaction per step ([`crate::Store::save_series`]): the items whose
//! series or partition label changed, the series rows (their member counts, what they were
//! merged into or split from), the curators' explicit links when they changed, the engine's
//! counters, the feed position all this reflects, and the outcome of the decisions it
//! applied. A save names the version of the keeper's row it started from, so a node that
//! lost the lease to another cannot overwrite the other's work. Every other node reads the
//! rows.
//!
//! What a series' row says stays with the series as it changes: a series merged into another
//! gives the survivor its name when the survivor has none, its flags (a victim identified in
//! either is identified in both) and its referral; a part split off by the removal of the
//! content that held a series together keeps the name, flags and referral of the series it
//! came from, while a part a curator split off starts without them (the curator split it
//! because it is not the same).

use std::fmt;

use serde::{Deserialize, Serialize};
use ward_core::series::SeriesState;

use crate::model::{BankScope, ContentId, Seq, Timestamp};

/// A series' id: the engine's [`ward_core::series::SeriesId`], stored. Ids are never reused,
/// and the smaller of two is the older.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SeriesId(pub i64);

/// A curator's request to merge or split series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DecisionId(pub i64);

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl SeriesId {
    /// The engine's id for this one.
    pub fn engine(self) -> ward_core::series::SeriesId {
        ward_core::series::SeriesId(self.0 as u64)
    }

    pub fn of_engine(id: ward_core::series::SeriesId) -> SeriesId {
        SeriesId(id.0 as i64)
    }
}

/// A series as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Series {
    pub id: SeriesId,
    /// The hotline's name for it, when it has one.
    pub name: Option<String>,
    /// Whether the child shown has been identified (and safeguarding is under way).
    pub victim_identified: bool,
    pub offender_identified: bool,
    /// Where it was referred (a law-enforcement agency, a hotline) and when.
    pub referred_to: Option<String>,
    pub referred_at: Option<Timestamp>,
    /// Its items now; 0 once it has ended or been merged.
    pub members: u32,
    /// The series it joined, when it was merged.
    pub merged_into: Option<SeriesId>,
    /// The series it was split from, when it was.
    pub split_from: Option<SeriesId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A change to a series' row: each field that is `Some` is set (`Some(None)` clears).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesChange {
    pub name: Option<Option<String>>,
    pub victim_identified: Option<bool>,
    pub offender_identified: Option<bool>,
    /// Referred to whom, and when.
    pub referral: Option<Option<(String, Timestamp)>>,
}

/// What a curator asks of a series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeriesRequest {
    /// Join it with another series: they are the same.
    Merge { with: SeriesId },
    /// Separate these items from the rest of it for good: they are not the same.
    Split { members: Vec<ContentId> },
}

/// A curator's request and, once the keeper applied it, its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeriesDecision {
    pub id: DecisionId,
    pub series: SeriesId,
    pub request: SeriesRequest,
    /// The actor's label, as the audit log names it.
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub applied_at: Option<Timestamp>,
    /// The series the items concerned are in afterwards (a merge: the one they form; a
    /// split: the one that kept the id first).
    pub outcome: Option<Vec<SeriesId>>,
    /// Why it could not be applied.
    pub error: Option<String>,
}

/// Which series to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesQuery {
    /// Whose eyes: only series with a member in a bank it sees, counting those members.
    pub scope: BankScope,
    /// Only those whose victim is (or is not) identified.
    pub victim_identified: Option<bool>,
    /// After this id (a page's last).
    pub after: Option<SeriesId>,
    pub limit: u32,
}

/// What the keeper reloads its engine from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesKeeping {
    /// The feed position the state reflects.
    pub cursor: Seq,
    /// The keeper row's version (see [`crate::Store::save_series`]).
    pub version: i64,
    pub state: SeriesState,
}

/// One step of the keeper, saved at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesSave {
    pub cursor: Seq,
    pub next_series: u64,
    pub next_label: u32,
    /// Items whose series or label changed (`None`: no longer in a series).
    pub members: Vec<(ContentId, Option<(SeriesId, u32)>)>,
    /// Series whose row changed.
    pub series: Vec<SeriesUpkeep>,
    /// The curators' explicit links, when they changed (smaller id first).
    pub links: Option<Vec<(ContentId, ContentId)>>,
    /// Decisions applied: the series concerned afterwards, or why not.
    pub decisions: Vec<(DecisionId, std::result::Result<Vec<SeriesId>, String>)>,
}

impl SeriesSave {
    /// Whether saving it would change anything but the cursor.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
            && self.series.is_empty()
            && self.links.is_none()
            && self.decisions.is_empty()
    }
}

/// A series' row as the keeper sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesUpkeep {
    pub id: SeriesId,
    pub members: u32,
    pub merged_into: Option<SeriesId>,
    /// For a new series: the one it was split from ...
    pub split_from: Option<SeriesId>,
    /// ... and whether it keeps that one's name, flags and referral (a split caused by a
    /// removal) or starts without (a curator's split).
    pub inherit: bool,
}

pub(crate) const SERIES_COLUMNS: &str = "id, name, victim_identified, offender_identified, \
     referred_to, referred_at, members, merged_into, split_from, created_at, updated_at";

pub(crate) type SeriesRow = (
    i64,
    Option<String>,
    bool,
    bool,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
);

pub(crate) fn series_of_row(row: SeriesRow) -> Series {
    let (
        id,
        name,
        victim_identified,
        offender_identified,
        referred_to,
        referred_at,
        members,
        merged_into,
        split_from,
        created_at,
        updated_at,
    ) = row;
    Series {
        id: SeriesId(id),
        name,
        victim_identified,
        offender_identified,
        referred_to,
        referred_at: referred_at.map(Timestamp),
        members: u32::try_from(members).unwrap_or(u32::MAX),
        merged_into: merged_into.map(SeriesId),
        split_from: split_from.map(SeriesId),
        created_at: Timestamp(created_at),
        updated_at: Timestamp(updated_at),
    }
}

pub(crate) const DECISION_COLUMNS: &str = "id, kind, series_id, other_series, members, \
     requested_by, requested_at, applied_at, outcome, error";

pub(crate) type DecisionRow = (
    i64,
    String,
    i64,
    Option<i64>,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// Ids as stored in a text column: comma-separated.
/// How long the series log keeps an entry at least (it keeps it at most twice as long).
pub(crate) const LOG_KEPT_MS: i64 = 10 * 60 * 1000;

/// Logs a series' flags as its row now has them (bind: the series id).
pub(crate) const LOG_FLAGS: &str = "INSERT INTO series_log (series_id, flags) SELECT id, \
     (CASE WHEN victim_identified THEN 1 ELSE 0 END) \
     + (CASE WHEN offender_identified THEN 2 ELSE 0 END) \
     + (CASE WHEN referred_to IS NULL THEN 0 ELSE 4 END) FROM series WHERE id = $1";

/// The statement that logs the moves of `members` (ids are the store's own integers, written
/// into the text).
pub(crate) fn log_members(members: &[(ContentId, Option<(SeriesId, u32)>)]) -> String {
    let values = members
        .iter()
        .map(|(content, series)| match series {
            Some((series, _)) => format!("({},{})", content.0, series.0),
            None => format!("({},NULL)", content.0),
        })
        .collect::<Vec<_>>()
        .join(",");
    format!("INSERT INTO series_log (content_id, series_id) VALUES {values}")
}

pub(crate) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_ids(text: &str) -> crate::Result<Vec<i64>> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| crate::StoreError::Database(format!("a stored id list: {text:?}")))
        })
        .collect()
}

pub(crate) fn decision_of_row(row: DecisionRow) -> crate::Result<SeriesDecision> {
    let (id, kind, series, other, members, requested_by, requested_at, applied_at, outcome, error) =
        row;
    let request = match (kind.as_str(), other) {
        ("merge", Some(other)) => SeriesRequest::Merge {
            with: SeriesId(other),
        },
        ("split", _) => SeriesRequest::Split {
            members: parse_ids(&members)?.into_iter().map(ContentId).collect(),
        },
        _ => {
            return Err(crate::StoreError::Database(format!(
                "series decision {id}: kind {kind:?}"
            )));
        }
    };
    Ok(SeriesDecision {
        id: DecisionId(id),
        series: SeriesId(series),
        request,
        requested_by,
        requested_at: Timestamp(requested_at),
        applied_at: applied_at.map(Timestamp),
        outcome: outcome
            .map(|text| parse_ids(&text))
            .transpose()?
            .map(|ids| ids.into_iter().map(SeriesId).collect()),
        error,
    })
}

/// A referral's recipient, as stored: trimmed, 1 to 100 characters.
pub(crate) fn referred_to(text: &str) -> crate::Result<String> {
    crate::rules::name("referral recipient", text)
}

/// The SQL condition that keeps rows whose `column` is a bank `scope` sees (bank ids are
/// integers written into the statement); `None` when it sees no bank.
pub(crate) fn bank_condition(scope: &BankScope, column: &str) -> Option<String> {
    match scope {
        BankScope::All => Some("1 = 1".to_owned()),
        BankScope::Only(banks) if banks.is_empty() => None,
        BankScope::Only(banks) => Some(format!(
            "{column} IN ({})",
            id_list(banks.iter().map(|b| b.0))
        )),
    }
}

/// Banks per statement when live series are listed bank by bank.
pub(crate) const BANKS_PER_LIST: usize = 50;

/// The statement listing, for each of `banks`, the first `$3` live series after `$1` with a
/// member in it (of those whose victim is identified or not, as `$2` says): each bank's
/// series are read in order through `series_banks_bank` and only as far as the page, so
/// that a listing reads about a page per bank, never the whole deployment's series.
pub(crate) fn series_of_banks(banks: &[crate::BankId]) -> String {
    banks
        .iter()
        .enumerate()
        .map(|(n, bank)| {
            format!(
                "SELECT id FROM (SELECT sb.series_id AS id FROM series_banks sb \
                 JOIN series s ON s.id = sb.series_id WHERE sb.bank_id = {bank} \
                 AND sb.series_id > $1 AND s.members > 0 \
                 AND ($2 = 0 OR s.victim_identified = ($2 = 2)) \
                 ORDER BY sb.series_id LIMIT $3) AS b{n}"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ")
}

/// Helpers of `series_methods!` that take a connection, expanded at each backend's top level
/// (`series_helpers!(Connection)`), where `CONTENT_BANK` is the backend's expression of a
/// content item's bank.
macro_rules! series_helpers {
    ($conn:ty) => {
        /// A series' row as stored.
        async fn series_row(conn: &mut $conn, id: SeriesId) -> Result<Option<Series>> {
            let row: Option<crate::series::SeriesRow> = sqlx::query_as(sqlx::AssertSqlSafe(
                format!("SELECT {} FROM series WHERE id = $1", crate::series::SERIES_COLUMNS),
            ))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?;
            Ok(row.map(crate::series::series_of_row))
        }

        /// The live series `id` stands for: itself, or the series it joined (following
        /// merges); `None` for an id never given out.
        async fn live_series(conn: &mut $conn, id: SeriesId) -> Result<Option<Series>> {
            let mut next = id;
            for _ in 0..64 {
                let Some(row) = series_row(&mut *conn, next).await? else {
                    return Ok(None);
                };
                match row.merged_into {
                    Some(into) => next = into,
                    None => return Ok(Some(row)),
                }
            }
            Err(StoreError::Database(format!(
                "series {id}: merged more than 64 times over"
            )))
        }

        /// How many members of each of `ids` are in the banks `scope` sees (series with none
        /// are left out).
        async fn seen_members(
            conn: &mut $conn,
            ids: &[i64],
            scope: &BankScope,
        ) -> Result<std::collections::HashMap<i64, u32>> {
            let mut seen = std::collections::HashMap::new();
            let Some(banks) = crate::series::bank_condition(scope, "bank_id") else {
                return Ok(seen);
            };
            for chunk in ids.chunks(500) {
                let rows: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT series_id, CAST(SUM(members) AS BIGINT) FROM series_banks                      WHERE series_id IN ({}) AND {banks} GROUP BY series_id",
                    crate::series::id_list(chunk.iter().copied())
                )))
                .fetch_all(&mut *conn)
                .await
                .map_err(database)?;
                for (series, members) in rows.into_iter().filter(|(_, n)| *n > 0) {
                    seen.insert(series, u32::try_from(members).unwrap_or(u32::MAX));
                }
            }
            Ok(seen)
        }

        /// Series `id` as `scope` sees it (see `Store::series`).
        async fn seen_series(
            conn: &mut $conn,
            id: SeriesId,
            scope: &BankScope,
        ) -> Result<Option<Series>> {
            let Some(mut row) = series_row(&mut *conn, id).await? else {
                return Ok(None);
            };
            if *scope == BankScope::All {
                return Ok(Some(row));
            }
            let Some(live) = live_series(&mut *conn, id).await? else {
                return Ok(None);
            };
            let seen = seen_members(&mut *conn, &[row.id.0, live.id.0], scope).await?;
            if !seen.contains_key(&live.id.0) {
                return Ok(None);
            }
            row.members = seen.get(&row.id.0).copied().unwrap_or(0);
            Ok(Some(row))
        }

        /// The banks of content items (`None` for an id that is no content).
        async fn content_banks(
            conn: &mut $conn,
            ids: &[i64],
        ) -> Result<std::collections::HashMap<i64, Option<i64>>> {
            let mut banks = std::collections::HashMap::new();
            for chunk in ids.chunks(500) {
                let values = chunk
                    .iter()
                    .map(|id| format!("({id})"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "WITH asked (id) AS (VALUES {values})                      SELECT CAST(asked.id AS BIGINT), CAST({} AS BIGINT) FROM asked",
                    CONTENT_BANK.replace("{id}", "asked.id")
                )))
                .fetch_all(&mut *conn)
                .await
                .map_err(database)?;
                banks.extend(rows);
            }
            Ok(banks)
        }
    };
}
pub(crate) use series_helpers;

/// The `Store` methods for series, with one text for both backends (expanded inside each
/// backend's `impl Store`, like `portable_methods!`).
macro_rules! series_methods {
    () => {
        async fn series(&self, id: SeriesId, scope: &BankScope) -> Result<Option<Series>> {
            let mut tx = self.read().await?;
            seen_series(&mut tx, id, scope).await
        }

        async fn series_list(&self, query: &SeriesQuery) -> Result<Vec<Series>> {
            let which = match query.victim_identified {
                None => 0_i64,
                Some(false) => 1,
                Some(true) => 2,
            };
            let after = query.after.map_or(-1, |a| a.0);
            let limit = query.limit.min(crate::rules::SERIES_PAGE_MAX);
            let banks = match &query.scope {
                BankScope::All => {
                    let rows: Vec<crate::series::SeriesRow> =
                        sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT {} FROM series WHERE members > 0 AND id > $1 \
                             AND ($2 = 0 OR victim_identified = ($2 = 2)) ORDER BY id LIMIT $3",
                            crate::series::SERIES_COLUMNS
                        )))
                        .bind(after)
                        .bind(which)
                        .bind(i64::from(limit))
                        .fetch_all(self.reads())
                        .await
                        .map_err(database)?;
                    return Ok(rows.into_iter().map(crate::series::series_of_row).collect());
                }
                BankScope::Only(banks) => banks,
            };
            let mut tx = self.read().await?;
            let mut ids: Vec<i64> = Vec::new();
            for chunk in banks.chunks(crate::series::BANKS_PER_LIST) {
                let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(
                    crate::series::series_of_banks(chunk),
                ))
                .bind(after)
                .bind(which)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(database)?;
                ids.extend(found);
            }
            ids.sort_unstable();
            ids.dedup();
            ids.truncate(limit as usize);
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let rows: Vec<crate::series::SeriesRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM series WHERE id IN ({}) ORDER BY id",
                crate::series::SERIES_COLUMNS,
                crate::series::id_list(ids.iter().copied())
            )))
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?;
            let seen = seen_members(&mut tx, &ids, &query.scope).await?;
            Ok(rows
                .into_iter()
                .map(crate::series::series_of_row)
                .filter_map(|mut series| {
                    series.members = *seen.get(&series.id.0)?;
                    Some(series)
                })
                .collect())
        }

        async fn series_epoch(&self) -> Result<i64> {
            sqlx::query_scalar("SELECT epoch FROM series_keeper WHERE id = 1")
                .fetch_one(self.reads())
                .await
                .map_err(database)
        }

        async fn series_log(&self, after: i64, limit: u32) -> Result<SeriesLogPage> {
            let rows: Vec<(i64, Option<i64>, Option<i64>, i64)> = sqlx::query_as(
                "SELECT id, content_id, series_id, flags FROM series_log WHERE id > $1 \
                 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.reads())
            .await
            .map_err(database)?;
            // Read after the entries: entries deleted before they were read show here.
            let (pruned, last): (i64, i64) = sqlx::query_as(
                "SELECT log_pruned, (SELECT COALESCE(MAX(id), 0) FROM series_log) \
                 FROM series_keeper WHERE id = 1",
            )
            .fetch_one(self.reads())
            .await
            .map_err(database)?;
            let entries = rows
                .into_iter()
                .map(|(id, content, series, flags)| {
                    let entry = match (content, series) {
                        (Some(content), series) => SeriesLogEntry::Member {
                            content: ContentId(content),
                            series: series.map(SeriesId),
                        },
                        (None, Some(series)) => {
                            SeriesLogEntry::Flags(SeriesBadge::of_flags(SeriesId(series), flags))
                        }
                        (None, None) => {
                            return Err(StoreError::Database(format!(
                                "series log entry {id} names neither an item nor a series"
                            )));
                        }
                    };
                    Ok((id, entry))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(SeriesLogPage {
                entries,
                last: last.max(pruned),
                pruned,
            })
        }

        async fn series_memberships(
            &self,
            after: ContentId,
            limit: u32,
        ) -> Result<Vec<(ContentId, SeriesBadge)>> {
            let rows: Vec<(i64, i64, bool, bool, bool)> = sqlx::query_as(
                "SELECT c.content_id, s.id, s.victim_identified, s.offender_identified, \
                 s.referred_to IS NOT NULL FROM content_series c JOIN series s \
                 ON s.id = c.series_id WHERE c.content_id > $1 ORDER BY c.content_id LIMIT $2",
            )
            .bind(after.0)
            .bind(i64::from(limit))
            .fetch_all(self.reads())
            .await
            .map_err(database)?;
            Ok(rows
                .into_iter()
                .map(|(content, series, victim, offender, referred)| {
                    (
                        ContentId(content),
                        SeriesBadge {
                            id: SeriesId(series),
                            victim_identified: victim,
                            offender_identified: offender,
                            referred,
                        },
                    )
                })
                .collect())
        }

        async fn series_members(&self, id: SeriesId, scope: &BankScope) -> Result<Vec<ContentId>> {
            let Some(banks) = crate::series::bank_condition(scope, "bank_id") else {
                return Ok(Vec::new());
            };
            let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT content_id FROM content_series WHERE series_id = $1 AND {banks} \
                 ORDER BY content_id"
            )))
            .bind(id.0)
            .fetch_all(self.reads())
            .await
            .map_err(database)?;
            Ok(ids.into_iter().map(ContentId).collect())
        }

        async fn content_series(&self, ids: &[ContentId]) -> Result<Vec<(ContentId, Series)>> {
            let mut found = Vec::new();
            for chunk in ids.chunks(500) {
                let placeholders = (1..=chunk.len())
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let columns = crate::series::SERIES_COLUMNS
                    .split(", ")
                    .map(|c| format!("s.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "SELECT c.content_id, {columns} FROM content_series c \
                     JOIN series s ON s.id = c.series_id WHERE c.content_id IN ({placeholders}) \
                     ORDER BY c.content_id"
                );
                let mut query = sqlx::query_as::<_, (i64, i64, Option<String>, bool, bool,
                    Option<String>, Option<i64>, i64, Option<i64>, Option<i64>, i64, i64)>(
                    sqlx::AssertSqlSafe(sql),
                );
                for id in chunk {
                    query = query.bind(id.0);
                }
                let rows = query.fetch_all(self.reads()).await.map_err(database)?;
                for (content, a, b, c, d, e, f, g, h, i, j, k) in rows {
                    let series = crate::series::series_of_row((a, b, c, d, e, f, g, h, i, j, k));
                    found.push((ContentId(content), series));
                }
            }
            Ok(found)
        }

        async fn update_series(
            &self,
            actor: &Actor,
            id: SeriesId,
            change: &SeriesChange,
            scope: &BankScope,
        ) -> Result<Series> {
            let name = match &change.name {
                Some(Some(name)) => Some(Some(rules::name("series", name)?)),
                other => other.clone(),
            };
            let referral = match &change.referral {
                Some(Some((to, at))) => Some(Some((crate::series::referred_to(to)?, *at))),
                other => other.clone(),
            };
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            if seen_series(&mut tx, id, scope).await?.is_none() {
                return Err(not_found("series", id));
            }
            let sql = format!(
                "SELECT {} FROM series WHERE id = $1",
                crate::series::SERIES_COLUMNS
            );
            // A merged series' row is the one it joined.
            let mut live = id;
            let mut series = None;
            for _ in 0..64 {
                let row: Option<crate::series::SeriesRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(live.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(database)?;
                let found = crate::series::series_of_row(
                    row.ok_or_else(|| not_found("series", id))?,
                );
                match found.merged_into {
                    Some(next) => live = next,
                    None => {
                        series = Some(found);
                        break;
                    }
                }
            }
            let mut series = series.ok_or_else(|| {
                StoreError::Database(format!("series {id}: merged more than 64 times over"))
            })?;
            if let Some(name) = name {
                series.name = name;
            }
            if let Some(flag) = change.victim_identified {
                series.victim_identified = flag;
            }
            if let Some(flag) = change.offender_identified {
                series.offender_identified = flag;
            }
            if let Some(referral) = referral {
                (series.referred_to, series.referred_at) = match referral {
                    Some((to, at)) => (Some(to), Some(at)),
                    None => (None, None),
                };
            }
            series.updated_at = now;
            // What matches show of a series changed: the epoch moves on (nodes that hold
            // series in the older way forget them) and the log says so. The keeper's row
            // first, as every writer of the log takes it: one writer at a time, ids in
            // commit order, and no two writers waiting on each other's rows.
            sqlx::query("UPDATE series_keeper SET epoch = epoch + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            sqlx::query(
                "UPDATE series SET name = $2, victim_identified = $3, offender_identified = $4, \
                 referred_to = $5, referred_at = $6, updated_at = $7 WHERE id = $1",
            )
            .bind(series.id.0)
            .bind(&series.name)
            .bind(series.victim_identified)
            .bind(series.offender_identified)
            .bind(&series.referred_to)
            .bind(series.referred_at.map(|t| t.0))
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            sqlx::query(crate::series::LOG_FLAGS)
                .bind(series.id.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            log(&mut tx, actor, now, Event::series_update(&series)).await?;
            if *scope != BankScope::All {
                let seen = seen_members(&mut tx, &[series.id.0], scope).await?;
                series.members = seen.get(&series.id.0).copied().unwrap_or(0);
            }
            tx.commit().await.map_err(database)?;
            Ok(series)
        }

        async fn request_series_decision(
            &self,
            actor: &Actor,
            series: SeriesId,
            request: &SeriesRequest,
            scope: &BankScope,
        ) -> Result<SeriesDecision> {
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            seen_series(&mut tx, series, scope)
                .await?
                .ok_or_else(|| not_found("series", series))?;
            let (kind, other, members) = match request {
                SeriesRequest::Merge { with } => {
                    if *with == series {
                        return Err(StoreError::Invalid(format!(
                            "series {series} cannot be merged with itself"
                        )));
                    }
                    seen_series(&mut tx, *with, scope)
                        .await?
                        .ok_or_else(|| not_found("series", with))?;
                    ("merge", Some(with.0), String::new())
                }
                SeriesRequest::Split { members } => {
                    if members.is_empty() || members.len() > crate::rules::SPLIT_MAX {
                        return Err(StoreError::Invalid(format!(
                            "a split names 1 to {} items, not {}",
                            crate::rules::SPLIT_MAX,
                            members.len()
                        )));
                    }
                    let mut ids: Vec<i64> = members.iter().map(|c| c.0).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    if let Some(banks) = crate::series::bank_condition(scope, "bank_id")
                        .filter(|_| *scope != BankScope::All)
                    {
                        // Only members the caller sees may be split off: anything else is
                        // not in the series, for it.
                        let live = live_series(&mut tx, series)
                            .await?
                            .ok_or_else(|| not_found("series", series))?;
                        let mut seen = std::collections::HashSet::new();
                        for chunk in ids.chunks(500) {
                            let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                                "SELECT content_id FROM content_series WHERE series_id = $1 \
                                 AND {banks} AND content_id IN ({})",
                                crate::series::id_list(chunk.iter().copied())
                            )))
                            .bind(live.id.0)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(database)?;
                            seen.extend(found);
                        }
                        if let Some(missing) = ids.iter().find(|id| !seen.contains(id)) {
                            return Err(not_found(
                                "member",
                                format!("{missing} of series {series}"),
                            ));
                        }
                    }
                    ("split", None, crate::series::id_list(ids))
                }
            };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO series_decisions (kind, series_id, other_series, members, \
                 requested_by, requested_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(kind)
            .bind(series.0)
            .bind(other)
            .bind(&members)
            .bind(&actor.label)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(database)?;
            let decision = SeriesDecision {
                id: DecisionId(id),
                series,
                request: request.clone(),
                requested_by: actor.label.clone(),
                requested_at: now,
                applied_at: None,
                outcome: None,
                error: None,
            };
            log(&mut tx, actor, now, Event::series_decision(&decision)).await?;
            tx.commit().await.map_err(database)?;
            Ok(decision)
        }

        async fn series_decision(
            &self,
            id: DecisionId,
            scope: &BankScope,
        ) -> Result<Option<SeriesDecision>> {
            let mut tx = self.read().await?;
            let row: Option<crate::series::DecisionRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM series_decisions WHERE id = $1",
                    crate::series::DECISION_COLUMNS
                )))
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(database)?;
            let Some(decision) = row.map(crate::series::decision_of_row).transpose()? else {
                return Ok(None);
            };
            // Seen through the series it named or, once applied, one it led to (a split
            // may leave the series named without any member the caller sees).
            let led_to = decision.outcome.iter().flatten().copied();
            for series in std::iter::once(decision.series).chain(led_to) {
                if seen_series(&mut tx, series, scope).await?.is_some() {
                    return Ok(Some(decision));
                }
            }
            Ok(None)
        }

        async fn pending_series_decisions(&self, limit: u32) -> Result<Vec<SeriesDecision>> {
            let rows: Vec<crate::series::DecisionRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM series_decisions WHERE applied_at IS NULL ORDER BY id LIMIT $1",
                    crate::series::DECISION_COLUMNS
                )))
                .bind(i64::from(limit))
                .fetch_all(self.reads())
                .await
                .map_err(database)?;
            rows.into_iter().map(crate::series::decision_of_row).collect()
        }

        async fn claim_series_keeper(
            &self,
            holder: &str,
            now: Timestamp,
            until: Timestamp,
        ) -> Result<Option<i64>> {
            let mut tx = self.write().await?;
            let version: Option<i64> = sqlx::query_scalar(
                "UPDATE series_keeper SET holder = $1, lease_until = $3 \
                 WHERE id = 1 AND (holder = $1 OR lease_until <= $2) RETURNING version",
            )
            .bind(holder)
            .bind(now.0)
            .bind(until.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
            tx.commit().await.map_err(database)?;
            Ok(version)
        }

        async fn series_keeping(&self) -> Result<SeriesKeeping> {
            use ward_core::series::SeriesId as Engine;
            let mut tx = self.read().await?;
            let (cursor, version, next_series, next_label): (i64, i64, i64, i64) =
                sqlx::query_as(
                    "SELECT cursor, version, next_series, next_label FROM series_keeper WHERE id = 1",
                )
                .fetch_one(&mut *tx)
                .await
                .map_err(database)?;
            let members: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT content_id, series_id, label FROM content_series ORDER BY content_id",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?;
            let links: Vec<(i64, i64)> = sqlx::query_as("SELECT a, b FROM series_links ORDER BY a, b")
                .fetch_all(&mut *tx)
                .await
                .map_err(database)?;
            let merged: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT id, merged_into FROM series WHERE merged_into IS NOT NULL ORDER BY id",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?;
            let unsigned = |n: i64| {
                u64::try_from(n)
                    .map_err(|_| StoreError::Database(format!("a negative series id: {n}")))
            };
            let mut state = ward_core::series::SeriesState {
                next_series: unsigned(next_series)?,
                next_label: u32::try_from(next_label)
                    .map_err(|_| StoreError::Database(format!("series label {next_label}")))?,
                ..Default::default()
            };
            for (content, series, label) in members {
                state.series.push((unsigned(content)?, Engine(unsigned(series)?)));
                if label != 0 {
                    let label = u32::try_from(label)
                        .map_err(|_| StoreError::Database(format!("series label {label}")))?;
                    state.labels.push((unsigned(content)?, label));
                }
            }
            for (a, b) in links {
                state.links.push((unsigned(a)?, unsigned(b)?));
            }
            for (from, into) in merged {
                state.merged.push((Engine(unsigned(from)?), Engine(unsigned(into)?)));
            }
            Ok(SeriesKeeping {
                cursor: Seq(cursor),
                version,
                state,
            })
        }

        async fn save_series(&self, holder: &str, version: i64, save: &SeriesSave) -> Result<i64> {
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            let saved: Option<i64> = sqlx::query_scalar(
                "UPDATE series_keeper SET cursor = $3, next_series = $4, next_label = $5, \
                 version = version + 1, epoch = epoch + 1 \
                 WHERE id = 1 AND holder = $1 AND version = $2 RETURNING version",
            )
            .bind(holder)
            .bind(version)
            .bind(save.cursor.0)
            .bind(i64::try_from(save.next_series).unwrap_or(i64::MAX))
            .bind(i64::from(save.next_label))
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
            let saved = saved.ok_or_else(|| {
                StoreError::Conflict(
                    "the series keeper's lease or version has moved on: reload".into(),
                )
            })?;
            // Each member's series and bank before this step, and the banks of new members,
            // so that the member counts per series and bank move with them.
            let asked: Vec<i64> = save.members.iter().map(|(c, _)| c.0).collect();
            let mut current: std::collections::HashMap<i64, (i64, Option<i64>)> =
                std::collections::HashMap::new();
            for chunk in asked.chunks(500) {
                let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(
                    format!(
                        "SELECT content_id, series_id, bank_id FROM content_series \
                         WHERE content_id IN ({})",
                        crate::series::id_list(chunk.iter().copied())
                    ),
                ))
                .fetch_all(&mut *tx)
                .await
                .map_err(database)?;
                current.extend(rows.into_iter().map(|(c, s, b)| (c, (s, b))));
            }
            let joining: Vec<i64> = asked
                .iter()
                .copied()
                .filter(|id| !current.contains_key(id))
                .collect();
            let banks = content_banks(&mut tx, &joining).await?;
            let mut counts: std::collections::HashMap<(i64, i64), i64> =
                std::collections::HashMap::new();
            for (content, series) in &save.members {
                let before = current.get(&content.0).copied();
                let bank = match before {
                    Some((_, bank)) => bank,
                    None => banks.get(&content.0).copied().flatten(),
                };
                if let (Some((old, _)), Some(bank)) = (before, bank) {
                    *counts.entry((old, bank)).or_default() -= 1;
                }
                match series {
                    Some((series, label)) => {
                        sqlx::query(
                            "INSERT INTO content_series (content_id, series_id, label, bank_id) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (content_id) DO UPDATE SET \
                             series_id = excluded.series_id, label = excluded.label",
                        )
                        .bind(content.0)
                        .bind(series.0)
                        .bind(i64::from(*label))
                        .bind(bank)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                        if let Some(bank) = bank {
                            *counts.entry((series.0, bank)).or_default() += 1;
                        }
                        current.insert(content.0, (series.0, bank));
                    }
                    None => {
                        sqlx::query("DELETE FROM content_series WHERE content_id = $1")
                            .bind(content.0)
                            .execute(&mut *tx)
                            .await
                            .map_err(database)?;
                        current.remove(&content.0);
                    }
                }
            }
            for chunk in save.members.chunks(500) {
                sqlx::query(sqlx::AssertSqlSafe(crate::series::log_members(chunk)))
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
            }
            let mut touched: Vec<i64> = Vec::new();
            for ((series, bank), delta) in counts.into_iter().filter(|(_, d)| *d != 0) {
                sqlx::query(
                    "INSERT INTO series_banks (series_id, bank_id, members) VALUES ($1, $2, $3) \
                     ON CONFLICT (series_id, bank_id) DO UPDATE SET \
                     members = series_banks.members + excluded.members",
                )
                .bind(series)
                .bind(bank)
                .bind(delta)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
                touched.push(series);
            }
            touched.sort_unstable();
            touched.dedup();
            for chunk in touched.chunks(500) {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM series_banks WHERE members <= 0 AND series_id IN ({})",
                    crate::series::id_list(chunk.iter().copied())
                )))
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            }
            let select = format!(
                "SELECT {} FROM series WHERE id = $1",
                crate::series::SERIES_COLUMNS
            );
            // Survivors first, so that a merge finds the row it joins.
            let mut upkeep: Vec<&SeriesUpkeep> = save.series.iter().collect();
            upkeep.sort_by_key(|u| (u.merged_into.is_some(), u.id));
            for u in upkeep {
                let old: Option<crate::series::SeriesRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                        .bind(u.id.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(database)?;
                let old = old.map(crate::series::series_of_row);
                sqlx::query(
                    "INSERT INTO series (id, members, merged_into, split_from, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO UPDATE SET \
                     members = excluded.members, merged_into = excluded.merged_into, \
                     updated_at = excluded.updated_at",
                )
                .bind(u.id.0)
                .bind(i64::from(u.members))
                .bind(u.merged_into.map(|s| s.0))
                .bind(u.split_from.map(|s| s.0))
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
                // What the row says passes on: from the series a part came from, or into
                // the series a merged one joined.
                let (from, into) = match (&old, u.split_from, u.merged_into) {
                    (None, Some(parent), _) if u.inherit => (parent, u.id),
                    (Some(old), _, Some(into)) if old.merged_into.is_none() => (u.id, into),
                    _ => continue,
                };
                let source: Option<crate::series::SeriesRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                        .bind(from.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(database)?;
                let Some(source) = source.map(crate::series::series_of_row) else {
                    continue;
                };
                sqlx::query(
                    "UPDATE series SET name = COALESCE(name, $2), \
                     victim_identified = (victim_identified OR $3), \
                     offender_identified = (offender_identified OR $4), \
                     referred_at = CASE WHEN referred_to IS NULL THEN $6 ELSE referred_at END, \
                     referred_to = COALESCE(referred_to, $5) WHERE id = $1",
                )
                .bind(into.0)
                .bind(&source.name)
                .bind(source.victim_identified)
                .bind(source.offender_identified)
                .bind(&source.referred_to)
                .bind(source.referred_at.map(|t| t.0))
                .execute(&mut *tx)
                .await
                .map_err(database)?;
                sqlx::query(crate::series::LOG_FLAGS)
                    .bind(into.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
            }
            // The log keeps what was written in the last ten minutes or more: entries up to
            // the mark set ten minutes ago go, and a new mark is set.
            let (mark, mark_at): (i64, i64) =
                sqlx::query_as("SELECT log_mark, log_mark_at FROM series_keeper WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(database)?;
            if now.0.saturating_sub(mark_at) >= crate::series::LOG_KEPT_MS {
                sqlx::query("DELETE FROM series_log WHERE id <= $1")
                    .bind(mark)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                sqlx::query(
                    "UPDATE series_keeper SET log_pruned = $1, log_mark = \
                     (SELECT COALESCE(MAX(id), 0) FROM series_log), log_mark_at = $2 WHERE id = 1",
                )
                .bind(mark)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            }
            if let Some(links) = &save.links {
                sqlx::query("DELETE FROM series_links")
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                for (a, b) in links {
                    sqlx::query("INSERT INTO series_links (a, b) VALUES ($1, $2)")
                        .bind(a.0.min(b.0))
                        .bind(a.0.max(b.0))
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                }
            }
            for (id, outcome) in &save.decisions {
                let (outcome, error) = match outcome {
                    Ok(series) => (
                        Some(crate::series::id_list(series.iter().map(|s| s.0))),
                        None,
                    ),
                    Err(error) => (None, Some(error.clone())),
                };
                sqlx::query(
                    "UPDATE series_decisions SET applied_at = $2, outcome = $3, error = $4 \
                     WHERE id = $1",
                )
                .bind(id.0)
                .bind(now.0)
                .bind(outcome)
                .bind(error)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            }
            tx.commit().await.map_err(database)?;
            Ok(saved)
        }
    };
}
pub(crate) use series_methods;
